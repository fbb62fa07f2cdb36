"""Scenario 6: bad input, fuzzed — CLI dates and ranges, environment values, API payload fields.

Usage errors end with exit 2 and one line, never a traceback. Payload fields go through
``build_write_unit`` and both stores: the only exceptions allowed are the typed
``BadResponseError`` / ``StoreError``; a unit is written whole or not at all; every table survives
and SQL-looking text is stored verbatim.
"""
from __future__ import annotations

import copy
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import (
    CAPTURED_TEXT,
    EVENTS_SCRIPT,
    STATS,
    database_checksum,
    exit_code_of,
    one_line,
    open_fresh_store,
    run_script,
)
from utils.errors import BadResponseError, StoreError
from utils.pipeline.events import DayData, build_write_unit
from utils.schema import TABLES

TODAY = date.today()
SQL = "Robert'); DROP TABLE ra_runners;--"
sys.path.insert(0, str(EVENTS_SCRIPT.parent))
import backfill_events  # noqa: E402  (scripts/backfill_events.py)

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
_tried: dict[str, int] = {}


def _count(kind: str) -> None:
    _tried[kind] = _tried.get(kind, 0) + 1


@pytest.fixture(autouse=True)
def _record(request):
    yield
    for kind, n in _tried.items():
        STATS.add(request.node.nodeid, f"bad_inputs:{kind}", n)
    _tried.clear()


# --- CLI dates and ranges --------------------------------------------------------------------------
date_text = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.text(max_size=20),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}\Z"),
    st.sampled_from(["", " ", "2024-02-30", "2023-02-29", "1987-12-31", "2024/01/01", "01-01-2024",
                     "20240101", "yesterday", "-1", SQL, "２０２４-01-01", "2024-01-01T00:00"]))


@FUZZ
@given(start=date_text, end=st.one_of(st.none(), date_text))
def test_fuzzed_cli_dates_exit_0_or_2_with_one_line(start, end, tmp_path_factory, capsys, simulator):
    folder = tmp_path_factory.getbasetemp() / "cli_fuzz"
    if not folder.exists():
        folder.mkdir()
        open_fresh_store(f"sqlite:///{folder}/cli.db").close()
    argv = [f"--start-date={start}", "--check-status", "--quiet", "--database-url",
            f"sqlite:///{folder}/cli.db", "--checkpoint-file", str(folder / "cli.json")]
    if end is not None:
        argv.append(f"--end-date={end}")
    _count("cli_dates")
    code, err = exit_code_of(lambda: backfill_events.main(argv), capsys)
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        one_line(err)
    assert simulator.calls() == []


@pytest.mark.parametrize("start, end", [
    ("2024-05-02", "2024-05-01"),                                   # end before start
    ("1987-12-31", "1988-01-05"),                                   # before 1988
    ((TODAY + timedelta(days=30)).isoformat(), (TODAY + timedelta(days=31)).isoformat()),  # far future
    ("2024-01-01", "9999-12-31"),
])
def test_impossible_ranges_exit_2_one_line_in_a_real_process(start, end, simulator, tmp_path):
    code, out, err = run_script(["--start-date", start, "--end-date", end, "--database-url",
                                 f"sqlite:///{tmp_path}/r.db", "--checkpoint-file", str(tmp_path / "r.json")],
                                simulator)
    _count("cli_ranges")
    assert code == 2, (out, err)
    assert one_line(err).startswith("error:")
    assert simulator.calls() == []


def test_malformed_date_is_one_line_in_a_real_process(simulator, tmp_path):
    code, out, err = run_script(["--start-date", "2024-13-01", "--database-url", f"sqlite:///{tmp_path}/m.db"],
                                simulator)
    assert code == 2
    one_line(err)


def test_date_with_a_newline_gives_a_one_line_message(capsys, tmp_path):
    code, err = exit_code_of(lambda: backfill_events.main(["--start-date=2024-01-01", "--end-date=\n",
                                                           "--database-url", f"sqlite:///{tmp_path}/n.db"]),
                             capsys)
    assert code == 2
    assert len([line for line in err.split("\n") if "error:" in line or "date in the form" in line]) == 1 \
        and "date in the form" in [line for line in err.split("\n") if "error:" in line][0]


# --- environment values --------------------------------------------------------------------------------
BAD_ENV = [
    {"DATABASE_URL": "mysql://user:pw@host/db"},
    {"DATABASE_URL": "postgresql://"},
    {"DATABASE_URL": "postgresql://postgres:pw@127.0.0.1:notaport/db"},
    {"DATABASE_URL": "sqlite:///"},
    {"SUPABASE_URL": "ftp://example.invalid"},
    {"RACING_API_PASSWORD": ""},
    {"RACING_API_PASSWORD": "   "},
    {"RACING_API_USERNAME": ""},
    {"RACING_API_BASE_URL": "not a url"},
    {"RACING_API_BASE_URL": "ftp://api.example"},
    {"RACING_API_BASE_URL": "https://user:pw@api.example"},
    {"RACING_API_MAX_RPS": "fast"},
    {"RACING_API_MAX_RPS": "-3"},
    {"RACING_API_TIMEOUT": "soon"},
    {"RACING_API_RATE_SCALE": "0"},
]


@pytest.mark.parametrize("env", BAD_ENV, ids=lambda e: "-".join(f"{k}={v}" for k, v in e.items()))
def test_bad_environment_exits_2_with_one_line(env, simulator, tmp_path):
    argv = ["--start-date", (TODAY - timedelta(days=20)).isoformat(), "--end-date",
            (TODAY - timedelta(days=19)).isoformat(), "--checkpoint-file", str(tmp_path / "e.json")]
    if "DATABASE_URL" not in env and "SUPABASE_URL" not in env:
        argv += ["--database-url", f"sqlite:///{tmp_path}/e.db"]
        open_fresh_store(f"sqlite:///{tmp_path}/e.db").close()
    code, out, err = run_script(argv, simulator, env_overrides=env)
    _count("environment")
    assert code == 2, (env, out, err)
    assert one_line(err).startswith("error:")
    assert simulator.calls() == []


def test_nan_max_rps_is_refused(simulator, tmp_path):
    open_fresh_store(f"sqlite:///{tmp_path}/n.db").close()
    code, out, err = run_script(["--start-date", (TODAY - timedelta(days=20)).isoformat(), "--end-date",
                                 (TODAY - timedelta(days=20)).isoformat(), "--database-url",
                                 f"sqlite:///{tmp_path}/n.db", "--checkpoint-file", str(tmp_path / "n.json")],
                                simulator, env_overrides={"RACING_API_MAX_RPS": "nan"}, timeout=60)
    assert code == 2, (out, err)


# --- API payload fields through build_write_unit and both stores --------------------------------------
nasty = st.one_of(
    st.text(max_size=40), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.sampled_from([SQL, "", " ", "\x00", "٣", "½", "9" * 400, "1e309", "-0", "NaN", "2024-02-30",
                     "25:61", "😀🐎", "\u202e", "1/0", "evs", "—"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _sample_day(sim):
    day = TODAY - timedelta(days=33)
    results, cards = sim.dataset.results_for(day), sim.dataset.racecards_for(day)
    assert results and cards
    return day, results[:2], cards[:2]


@st.composite
def mutated_day(draw, base):
    day, results, cards = base
    results, cards = copy.deepcopy(results), copy.deepcopy(cards)
    sql_runner = results[0]["runners"][0]
    sql_runner["horse"] = SQL                                     # always some SQL-looking text
    for _ in range(draw(st.integers(1, 6))):
        payload = draw(st.sampled_from(results + cards))
        runners = payload.get("runners")
        runners = [r for r in runners if isinstance(r, dict)] if isinstance(runners, list) else []
        target = payload if draw(st.booleans()) or not runners else draw(st.sampled_from(runners))
        field = draw(st.sampled_from(sorted(target)))
        if target is sql_runner and field == "horse":
            continue          # the name the final check looks for: a later example must not rename it
        target[field] = draw(nasty)
    return DayData(day, results=results, racecards=cards)


def _write_fuzz(store, sim, kind: str):
    base = _sample_day(sim)
    all_tables = set(TABLES)

    @FUZZ
    @given(data=mutated_day(base))
    def check(data):
        _count(kind)
        try:
            unit = build_write_unit(data, datetime.now(UTC))
        except BadResponseError:
            return
        before = database_checksum(store)
        try:
            store.write_unit(unit)
        except StoreError as exc:
            CAPTURED_TEXT.append(str(exc))
            assert database_checksum(store) == before, "a failed unit left rows behind"
            _count(kind + ":rejected_whole")
        else:
            for race in unit.get("ra_races", []):
                assert store.query("SELECT 1 FROM ra_races WHERE id = ?", (race["id"],)), race["id"]
            for runner in unit.get("ra_runners", []):
                assert store.query("SELECT 1 FROM ra_runners WHERE race_id = ? AND horse_id = ?",
                                   (runner["race_id"], runner["horse_id"]))
            _count(kind + ":written_whole")
        assert store.table_names() >= all_tables

    check()
    names = {r[0] for r in store.query("SELECT horse_name FROM ra_runners WHERE horse_name = ?", (SQL,))}
    assert names == {SQL}, "SQL-looking text was not stored verbatim"
    assert store.table_names() >= all_tables


def test_fuzzed_payloads_sqlite(simulator, tmp_path):
    store = open_fresh_store(f"sqlite:///{tmp_path}/fuzz.db")
    try:
        _write_fuzz(store, simulator, "payload_sqlite")
    finally:
        store.close()


def test_fuzzed_payloads_postgres(pg_url, simulator):
    store = open_fresh_store(pg_url)
    try:
        _write_fuzz(store, simulator, "payload_postgres")
    finally:
        store.close()
