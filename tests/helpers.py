"""Helpers of every test folder and of the benchmarks, in one module: simulator clients and script
launchers, the ground truth of a backfill and the comparison with it, checksums, PostgreSQL
databases, and the reliability suite's counters, processes and distinctive secrets.

End-to-end backfill tests run the events backfill against the simulator into a real store, compute
the ground truth straight from the simulator's dataset, and compare the database with it row by row.
The ground truth is what the simulator serves (``sim.dataset``, read without HTTP, paging, retries
or the engine). ``expected_tables`` runs those payloads through the row builders
(``utils.ingest.rows``, ``utils.ingest.entities``) race by race and merges them by the table
contract, stated as an order rather than replayed (a key only with a value; results over
racecards; on runner-fed masters the newest observation wins): the rows a correct backfill must
leave, whatever order its days and sources were written in. ``compare_with_truth`` checks every
column of every row. That catches what the client, the engine and the stores do to the rows; a
bug in the row builders themselves is caught by the checks that read the raw payloads directly
(``test_events.py::test_three_months_match_the_ground_truth``, ``test_rows.py``).

One ``make_client``, one script launcher (``run_events_script``) for every test folder: both take
the credentials from the simulator they are pointed at.

The reliability suite (tests/reliability; ``make reliability`` runs the heavy scenarios, ``make
test`` the fast subset) writes what it tried and what held to ``reliability_counts.json`` under
``benchmarks/out/`` (git-ignored; ``DH_RELIABILITY_COUNTS`` names another file), merged per test
so the fast and the heavy runs add up; ``benchmarks/reliability_report.py`` renders that into
``docs/RELIABILITY.md``. The published counters are computed from what the tests compared: rows
against the simulator's ground truth (``check_truth``), checkpoints parsed after kills, temp
files found. Its simulator (tests/conftest.py's, with that folder's ``simulator_account``), API
client, processes and PostgreSQL URLs carry *distinctive* secrets (below), so
``test_secrets_scan.py`` (run last) can scan every file the runs wrote for them.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import pg_databases
from utils import planning
from utils.api.client import RacingAPIClient, RetryPolicy
from utils.commands.cli import build_parser
from utils.commands.context import RunContext
from utils.commands.events import EVENTS_OPTIONS, run_events
from utils.commands.requests import EventsOptions
from utils.ingest.entities import extract_entities
from utils.ingest.rows import racecard_to_rows, result_to_rows
from utils.schema import AUDIT_COLUMNS, OBSERVED, TABLES, WRITE_ORDER
from utils.stores import open_store
from utils.stores.migrations import apply_migrations
from utils.stores.target import resolve_database

REPO = Path(__file__).resolve().parents[1]
SIM_USER, SIM_PASSWORD = "demo", "demo-password"
FIXED_TODAY = date(2025, 1, 10)        # the ``sim`` fixture's today (tests/conftest.py)
EVENTS_SCRIPT = REPO / "scripts" / "backfill_events.py"
FAST_RETRY = RetryPolicy(attempts=5, initial=0.01, maximum=0.05, jitter=0.0)
# Columns that record *when* something was written, not *what*: excluded from checksums.
VOLATILE = set(AUDIT_COLUMNS) | {"result_updated_at", "enriched_at"}


def open_fresh_store(url: str):
    store = open_store(resolve_database(url, {}))
    apply_migrations(store)
    return store


def make_client(sim, *, username: str | None = None, password: str | None = None,
                retry: RetryPolicy = FAST_RETRY, timeout: float = 10.0, rate_scale: float = 50.0,
                **kwargs) -> RacingAPIClient:
    """A client for ``sim`` with its own credentials (or the ones given), fast retries, and pacing
    scaled up (the shared simulators enforce no limits) so tests run fast. The timeout is long
    enough that a loopback call on a busy 2-CPU machine is never cut off and retried (which adds a
    call the exact call counts would see); tests of stalls give their own short timeout."""
    return RacingAPIClient(sim.config.username if username is None else username,
                           sim.config.password if password is None else password,
                           base_url=sim.base_url, retry=retry, timeout=timeout, rate_scale=rate_scale,
                           **kwargs)


def run_events_inprocess(store, sim, argv: list[str], *, today: date | None = None,
                         client: RacingAPIClient | None = None, database_url: str | None = None) -> int:
    """Run ``backfill_events`` in this process (no signal handlers) and return its exit code.
    With ``database_url`` the run writes through a writer process, as the scripts do; without
    it, ``store`` is written in this process."""
    args = build_parser("backfill_events.py", "test", EVENTS_OPTIONS).parse_args(argv)
    target = resolve_database(database_url, {}) if database_url else None
    ctx = RunContext(target=target, store=store, client=client or make_client(sim),
                     today=today or date.today(), handle_signals=False)
    return int(run_events(EventsOptions.from_args(args), ctx))


NO_API = "http://127.0.0.1:9"      # a port nothing listens on: a script without a simulator never
                                   # reaches the real API


def script_env(sim, overrides: dict | None = None) -> dict[str, str]:
    """The environment of a script pointed at ``sim`` (or, with ``sim=None``, at no API at all):
    the simulator's credentials, fast retries, pacing scaled up, no database, Supabase, pinned
    clock or log retention settings inherited; ``overrides`` last (None removes)."""
    username, password = (sim.config.username, sim.config.password) if sim is not None else (SIM_USER, SIM_PASSWORD)
    env = {**os.environ, "RACING_API_BASE_URL": sim.base_url if sim is not None else NO_API,
           "RACING_API_USERNAME": username, "RACING_API_PASSWORD": password,
           "RACING_API_RETRY_INITIAL": "0.01", "RACING_API_RETRY_MAX": "0.05",
           "RACING_API_TIMEOUT": "3", "RACING_API_RATE_SCALE": "50"}
    for var in ("DATABASE_URL", "SUPABASE_DB_URL", "SUPABASE_URL", "SUPABASE_SERVICE_KEY",
                "DARKHORSES_NOW", "DARKHORSES_LOG_RETENTION_DAYS"):
        env.pop(var, None)
    env.update(overrides or {})
    return {k: v for k, v in env.items() if v is not None}


def run_events_script(argv: list[str], sim, *, env_overrides: dict | None = None,
                      script: Path = EVENTS_SCRIPT, **popen) -> subprocess.Popen:
    """Start a script (default ``scripts/backfill_events.py``) as a real process pointed at the
    simulator, or at no API with ``sim=None`` (``script_env``); stdout and stderr are pipes."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, str(script), *argv], env=script_env(sim, env_overrides),
                            text=True, **popen)


def wait_for_committed(checkpoint: Path, n: int, proc: subprocess.Popen, timeout: float = 60) -> bool:
    """Wait until the run's checkpoint mirror lists ``n`` committed days (True), or the run ends
    or the time is up (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if len(read_json(checkpoint)["completed_dates"]) >= n:
                return True
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    return False


# --- checksums ------------------------------------------------------------------------------
def _norm(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        text = format(Decimal(str(value)).normalize(), "f")
        return text
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def table_checksum(store, table: str) -> tuple[int, str]:
    spec = TABLES[table]
    cols = [c for c in spec.all_columns if c not in VOLATILE]
    rows = store.query(f"SELECT {', '.join(cols)} FROM {table}")
    lines = sorted("\x1f".join(_norm(v) for v in row) for row in rows)
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def database_checksum(store) -> dict[str, tuple[int, str]]:
    return {t: table_checksum(store, t) for t in WRITE_ORDER}


# --- ground truth from the raw payloads --------------------------------------------------------
@dataclass
class Truth:
    results: dict[str, dict] = field(default_factory=dict)     # race_id -> raw result
    cards: dict[str, dict] = field(default_factory=dict)       # race_id -> raw racecard
    result_runners: dict[tuple[str, str], dict] = field(default_factory=dict)
    card_runners: dict[tuple[str, str], dict] = field(default_factory=dict)
    results_calls: int = 0
    racecard_calls: int = 0

    @property
    def race_ids(self) -> set[str]:
        return set(self.results) | set(self.cards)

    @property
    def runner_keys(self) -> set[tuple[str, str]]:
        return set(self.result_runners) | set(self.card_runners)

    def runners(self):
        yield from self.card_runners.values()
        yield from self.result_runners.values()

    def ids(self, field_name: str) -> set[str]:
        return {r[field_name] for r in self.runners() if r.get(field_name)}


def ground_truth(sim, start: date, end: date, *, today: date, regions=("gb", "ire"),
                 racecards: bool = True, results: bool = True) -> Truth:
    truth = Truth()
    for day in planning.days_between(start, end):
        if results and planning.results_servable(day, today):
            day_results = sim.dataset.results_for(day, regions)
            truth.results_calls += max(1, -(-len(day_results) // 100))
            for race in day_results:
                truth.results[race["race_id"]] = race
                for runner in race["runners"]:
                    truth.result_runners[(race["race_id"], runner["horse_id"])] = runner
        if racecards and planning.racecards_servable(day, today):
            truth.racecard_calls += 1
            for card in sim.dataset.racecards_for(day, regions):
                truth.cards[card["race_id"]] = card
                for runner in card["runners"]:
                    truth.card_runners[(card["race_id"], runner["horse_id"])] = runner
    return truth


# --- the rows a correct backfill of the ground truth leaves ---------------------------------------
TRUTH_FETCHED_AT = datetime(2000, 1, 1, tzinfo=UTC)   # result_updated_at is volatile anyway


def _rank(spec, row: dict) -> tuple:
    """Where a row's values stand when they meet another row of the same key (the table contract,
    stated as an order, so no write order enters): a row without the authority column (a racecard)
    below one with it (a result); then, on runner-fed masters, the older observation below the
    newer. Values of higher rows win; lower rows fill their gaps."""
    authoritative = spec.authority is not None and row.get(spec.authority) is not None
    return authoritative, (row.get(OBSERVED) or "") if spec.observed else ""


def expected_tables(truth: Truth) -> dict[str, dict[tuple, dict]]:
    """``{table: {key: row}}``: every ground-truth race (each racecard, each result) through the row
    builders on its own, then each key's rows folded in ``_rank`` order, empty values dropped."""
    seen: dict[str, dict[tuple, list[dict]]] = {t: {} for t in WRITE_ORDER}

    def add(table: str, rows) -> None:
        key_columns = TABLES[table].key
        for row in rows:
            clean = {c: v for c, v in row.items() if v is not None and v != ""}
            seen[table].setdefault(tuple(clean[c] for c in key_columns), []).append(clean)

    for card in truth.cards.values():
        race, runners = racecard_to_rows(card)
        for table, rows in extract_entities([card], []).items():
            add(table, rows)
        add("ra_races", [race])
        add("ra_runners", runners)
    for result in truth.results.values():
        race, runners = result_to_rows(result, fetched_at=TRUTH_FETCHED_AT)
        for table, rows in extract_entities([], [result]).items():
            add(table, rows)
        add("ra_races", [race])
        add("ra_runners", runners)
    state: dict[str, dict[tuple, dict]] = {}
    for table, by_key in seen.items():
        spec = TABLES[table]
        state[table] = {}
        for key, rows in by_key.items():
            merged: dict = {}
            for row in sorted(rows, key=lambda r: _rank(spec, r)):
                merged.update(row)
            state[table][key] = merged
    return state


def _canonical(kind: str, value):
    """A stored or expected value in one comparable form per logical column type (SQLite keeps
    text and integers, PostgreSQL typed values, the row builders Python types)."""
    if value is None or value == "":
        return None
    if kind == "int":
        return int(value)
    if kind == "num":
        return format(Decimal(str(value)).normalize(), "f")
    if kind == "bool":
        return bool(int(value)) if isinstance(value, str) else bool(value)
    if kind == "date":
        return str(value)[:10]
    if kind == "time":
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if kind == "ts":
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.isoformat()
    return str(value)


@dataclass
class TruthComparison:
    """Every row of every table, database against ``expected_tables``: ``compared`` rows (the
    union of both sides' keys), of which ``lost`` (expected, absent), ``changed`` (some column
    differs) and ``extra`` (stored, not expected); ``examples`` describe the first differences."""

    compared: int = 0
    lost: int = 0
    changed: int = 0
    extra: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def rows_lost_or_changed(self) -> int:
        return self.lost + self.changed + self.extra

    def note(self, text: str) -> None:
        if len(self.examples) < 8:
            self.examples.append(text)


def compare_with_truth(store, expected: dict[str, dict[tuple, dict]]) -> TruthComparison:
    """Compare every data column (``VOLATILE`` ones excepted) of every row with the ground truth."""
    result = TruthComparison()
    for table in WRITE_ORDER:
        spec = TABLES[table]
        columns = [c for c in spec.columns if c not in VOLATILE]
        kinds = [spec.columns[c] for c in columns]
        key_at = [columns.index(c) for c in spec.key]
        stored: dict[tuple, dict] = {}
        for row in store.query(f"SELECT {', '.join(columns)} FROM {table}"):
            values = {c: _canonical(k, v) for c, k, v in zip(columns, kinds, row)}
            stored[tuple(str(row[i]) for i in key_at)] = values
        wanted = {tuple(str(k) for k in key): {c: _canonical(spec.columns[c], row.get(c)) for c in columns}
                  for key, row in expected.get(table, {}).items()}
        result.compared += len(stored.keys() | wanted.keys())
        for key, want in wanted.items():
            have = stored.get(key)
            if have is None:
                result.lost += 1
                result.note(f"{table} {key}: missing")
            elif have != want:
                result.changed += 1
                diff = {c: (have[c], want[c]) for c in columns if have[c] != want[c]}
                result.note(f"{table} {key}: stored/expected {diff}")
        for key in stored.keys() - wanted.keys():
            result.extra += 1
            result.note(f"{table} {key}: not in the ground truth")
    return result


def assert_nothing_lost(comparison: TruthComparison) -> TruthComparison:
    """Fail, naming the first differences, unless every row of the comparison matched."""
    assert comparison.rows_lost_or_changed == 0, (
        f"{comparison.lost} rows lost, {comparison.changed} changed, {comparison.extra} extra of "
        f"{comparison.compared}: " + "; ".join(comparison.examples))
    return comparison


def assert_matches_truth(store, expected: dict[str, dict[tuple, dict]]) -> TruthComparison:
    return assert_nothing_lost(compare_with_truth(store, expected))


def read_json(path: Path):
    return json.loads(Path(path).read_text())


# --- PostgreSQL (the databases themselves come from tests/pg_databases.py) ---------------------
PG_SERVER = pg_databases.SERVER


def postgres_available() -> str | None:
    """None when the local server answers; otherwise why not."""
    import psycopg

    try:
        psycopg.connect(pg_databases.server_url(), connect_timeout=3).close()
        return None
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]


def create_database(prefix: str = "dh_e2e") -> str:
    """A fresh database; returns its URL."""
    return pg_databases.server_url(pg_databases.create_database(prefix))


def drop_database(url: str) -> None:
    pg_databases.drop_database(url.rsplit("/", 1)[1])


# === the reliability suite (tests/reliability) ====================================================
# Where its counts go is benchmarks/reliability_report.py's to say (that script reads them back).
BENCHMARKS = REPO / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
from reliability_report import counts_file  # noqa: E402

# --- distinctive secrets (scanned for by test_secrets_scan.py) ---------------------------------------
API_USER = "relia-user"
API_PASSWORD = "ApiPw-R3liab1lity-9f4e2c"
SUPABASE_KEY = "sbkey-R3liab1lity-eyJhbGciOiJIUzI1NiJ9-7d1a"
PG_PASSWORD = "PgPw-R3liab1lity-c0ffee"
SECRETS = (API_PASSWORD, SUPABASE_KEY, PG_PASSWORD)
RATE_SCALE = "400"          # the simulator enforces no limits: pace the client up (env for processes)
SCRIPT_ENV = {"RACING_API_RATE_SCALE": RATE_SCALE, "SUPABASE_SERVICE_KEY": SUPABASE_KEY}

COUNTS_FILE = counts_file()
SESSION_START = time.time()
CAPTURED_TEXT: list[str] = []          # stdout/stderr/exception text of every run, scanned for secrets


# --- counts for docs/RELIABILITY.md -----------------------------------------------------------------
class Stats:
    """Per-test counters: ``stats.add("kills", 3)``; merged into the JSON at session end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_test: dict[str, dict] = {}

    def add(self, test: str, key: str, n: int = 1) -> None:
        with self._lock:
            self.by_test.setdefault(test, {"counts": {}})
            counts = self.by_test[test]["counts"]
            counts[key] = counts.get(key, 0) + int(n)

    def add_faults(self, test: str, faults: Counter) -> None:
        for kind, n in faults.items():
            self.add(test, f"fault:{kind}", n)


STATS = Stats()


class RunStats:
    def __init__(self, nodeid: str):
        self.nodeid = nodeid

    def add(self, key: str, n: int = 1) -> None:
        STATS.add(self.nodeid, key, n)

    def faults(self, counter: Counter) -> None:
        STATS.add_faults(self.nodeid, counter)


# --- processes -----------------------------------------------------------------------------------------
def start_script(argv: list[str], sim, env_overrides: dict | None = None) -> subprocess.Popen:
    """``scripts/backfill_events.py`` through the one launcher (``run_events_script``), with this
    suite's pacing and a distinctive Supabase key in the environment."""
    return run_events_script(argv, sim, env_overrides={**SCRIPT_ENV, **(env_overrides or {})})


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    CAPTURED_TEXT.extend((out, err))
    return proc.returncode, out, err


def run_script(argv, sim, env_overrides=None, timeout: float = 600) -> tuple[int, str, str]:
    return finish(start_script(argv, sim, env_overrides), timeout)


# --- PostgreSQL ----------------------------------------------------------------------------------------
def with_password(url: str) -> str:
    """The same database, reached with a (distinctive) password the trust-auth server ignores."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PG_PASSWORD}@", 1)


def need_postgres() -> None:
    reason = postgres_available()
    if reason:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {reason}")
        pytest.skip(f"PostgreSQL NOT TESTED: no server at {PG_SERVER} ({reason})")


# --- shared checks -------------------------------------------------------------------------------------
def days_with_races(store) -> set[str]:
    return {str(r[0])[:10] for r in store.query("SELECT DISTINCT CAST(date AS TEXT) FROM ra_races")}


def truth_days(truth) -> set[str]:
    """Days of the ground truth that hold at least one race."""
    return {raw["date"] for raw in {**truth.cards, **truth.results}.values()}


def races_by_day(store) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for race_id, day in store.query("SELECT id, CAST(date AS TEXT) FROM ra_races"):
        out.setdefault(str(day)[:10], set()).add(race_id)
    return out


def truth_races_by_day(truth) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for race_id, raw in {**truth.cards, **truth.results}.items():
        out.setdefault(raw["date"], set()).add(race_id)
    return out


# --- the ground truth, cached per range for the session ------------------------------------------------
_TRUTHS: dict[tuple, tuple] = {}


def truth_for(sim, start, end, today):
    """(expected tables, the calls of an uninterrupted fault-free run, races by day) of the
    simulator's ground truth for ``start..end`` as served on ``today`` (cached: a 6-month range
    takes seconds to build)."""
    key = (start, end, today)
    if key not in _TRUTHS:
        truth = ground_truth(sim, start, end, today=today)
        _TRUTHS[key] = (expected_tables(truth), truth.results_calls + truth.racecard_calls,
                        truth_races_by_day(truth))
    return _TRUTHS[key]


def check_truth(stats, store, expected) -> TruthComparison:
    """Compare every row of ``store`` with the ground truth, publish ``rows_compared`` and
    ``rows_lost_or_changed`` from that comparison, then assert that nothing was lost or changed."""
    comparison = compare_with_truth(store, expected)
    stats.add("rows_compared", comparison.compared)
    stats.add("rows_lost_or_changed", comparison.rows_lost_or_changed)
    return assert_nothing_lost(comparison)


def exit_code_of(fn, capsys) -> tuple[int, str]:
    """Run ``fn`` the way every script does (``utils.commands.cli.run_main``): (exit code, stderr)."""
    from utils.commands.cli import run_main

    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_main(fn)
    err = capsys.readouterr().err
    CAPTURED_TEXT.append(err)
    return int(stop.value.code), err


def one_line(err: str) -> str:
    lines = [line for line in err.split("\n") if line.strip()]
    assert len(lines) == 1, f"expected a one-line message, got {lines!r}"
    assert "Traceback" not in err
    return lines[0]
