"""End to end: the events backfill against the simulator over HTTP, into real SQLite and PostgreSQL.

Ground truth comes from the simulator's raw payloads (``tests/helpers.ground_truth``), and
calls are counted from the simulator's own call log.
"""
from __future__ import annotations

import os
import random
import signal
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest

from helpers import (
    PG_SERVER,
    SIM_PASSWORD,
    assert_matches_truth,
    create_database,
    database_checksum,
    drop_database,
    expected_tables,
    ground_truth,
    make_client,
    open_fresh_store,
    postgres_available,
    read_json,
    run_events_inprocess,
    run_events_script,
    wait_for_committed,
)
from utils.ingest.parsers import parse_int
from utils.pipeline.checkpoint import RunLock
from utils.simulator.dataset import is_busy_day
from utils.simulator.faults import FaultConfig
from utils.simulator.server import RacingAPISimulator, SimulatorConfig

TODAY = date.today()
START_3M, END_3M = TODAY - timedelta(days=100), TODAY - timedelta(days=9)
START_2W, END_2W = TODAY - timedelta(days=40), TODAY - timedelta(days=27)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/e2e.db"
        return
    reason = postgres_available()
    if reason:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {reason}")
        pytest.skip(f"PostgreSQL NOT TESTED: no server at {PG_SERVER} ({reason})")
    url = create_database()
    yield url
    drop_database(url)


def _range_args(start: date, end: date, tmp_path, *extra: str) -> list[str]:
    return ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
            "--checkpoint-file", str(tmp_path / "cp.json"), *extra]


def _api_calls(sim, endpoint: str) -> int:
    return sum(1 for c in sim.calls(endpoint) if c.status == 200)


def test_three_months_match_the_ground_truth(store_url, simulator, tmp_path):
    store = open_fresh_store(store_url)
    try:
        assert run_events_inprocess(store, simulator, _range_args(START_3M, END_3M, tmp_path)) == 0
        truth = ground_truth(simulator, START_3M, END_3M, today=TODAY)
        _assert_races(store, truth)
        _assert_runners(store, truth)
        _assert_entities(store, truth)
        _assert_busy_day_complete(store, simulator, START_3M, END_3M)
        assert _api_calls(simulator, "results") == truth.results_calls
        assert _api_calls(simulator, "racecards") == truth.racecard_calls
        assert all(c.status == 200 for c in simulator.calls())
    finally:
        store.close()


def _assert_races(store, truth) -> None:
    rows = {r[0]: r for r in store.query(
        "SELECT id, CAST(date AS TEXT), region, course_id, CAST(off_time AS TEXT), has_result, "
        "has_racecard, race_name FROM ra_races")}
    assert set(rows) == truth.race_ids
    for race_id, raw in {**truth.cards, **truth.results}.items():
        _, day, region, course_id, off_time, _, _, name = rows[race_id]
        assert day[:10] == raw["date"] and region == raw["region"].lower()
        assert course_id == raw["course_id"] and name == raw["race_name"]
        assert off_time[:5] == raw["off_dt"][11:16], race_id     # 24-hour local, from off_dt
    for race_id in truth.results:
        assert rows[race_id][5], f"{race_id} has a result but has_result is not set"
    for race_id in truth.cards:
        assert rows[race_id][6]


def _assert_runners(store, truth) -> None:
    rows = {(r[0], r[1]): r for r in store.query(
        "SELECT race_id, horse_id, position_raw, position, sp, CAST(sp_dec AS TEXT), weight_lbs, "
        "jockey_id, horse_name, rpr, form FROM ra_runners")}
    assert set(rows) == truth.runner_keys
    for key, raw in truth.result_runners.items():
        _, _, position_raw, position, sp, sp_dec, weight_lbs, jockey_id, name, rpr, _ = rows[key]
        assert position_raw == raw["position"].strip()
        assert position == (int(raw["position"]) if raw["position"].strip().isdigit() else None)
        assert sp == (raw["sp"] or None)
        assert (Decimal(sp_dec) if sp_dec else None) == (Decimal(raw["sp_dec"]) if raw["sp_dec"] else None)
        assert weight_lbs == int(raw["weight_lbs"])
        assert jockey_id == raw["jockey_id"] and name == raw["horse"]
        # The result's figure wins; a result without one ("-") leaves the racecard's (or nothing).
        card = truth.card_runners.get(key, {})
        wanted = parse_int(raw["rpr"])
        assert rpr == (wanted if wanted is not None else parse_int(card.get("rpr"))), (key, raw["rpr"])
    for key, raw in truth.card_runners.items():
        assert rows[key][10] == (raw.get("form") or None)                  # racecard-only field kept


def _assert_entities(store, truth) -> None:
    for table, field in (("ra_mst_jockeys", "jockey_id"), ("ra_mst_trainers", "trainer_id"),
                         ("ra_mst_owners", "owner_id"), ("ra_mst_horses", "horse_id"),
                         ("ra_mst_sires", "sire_id"), ("ra_mst_dams", "dam_id"),
                         ("ra_mst_damsires", "damsire_id")):
        stored = {r[0] for r in store.query(f"SELECT id FROM {table}")}
        assert stored == truth.ids(field), table
    pedigree = {r[0]: r[1:] for r in store.query(
        "SELECT horse_id, sire_id, dam_id, damsire_id FROM ra_horse_pedigree")}
    assert set(pedigree) == truth.ids("horse_id")
    for raw in truth.runners():
        assert pedigree[raw["horse_id"]] == (raw["sire_id"], raw["dam_id"], raw["damsire_id"])


def _assert_busy_day_complete(store, sim, start: date, end: date) -> None:
    day = max((start + timedelta(days=i) for i in range((end - start).days + 1)),
              key=lambda d: len(sim.dataset.results_for(d)))
    expected = {r["race_id"] for r in sim.dataset.results_for(day)}
    assert len(expected) > 100, "the range should hold a day with more than 100 results"
    stored = {r[0] for r in store.query("SELECT id FROM ra_races WHERE date = ? AND has_result",
                                        (day.isoformat(),))}
    assert stored == expected


@pytest.fixture(params=["sqlite", "postgres", "rest"])
def two_stores(request, tmp_path):
    """Two fresh stores of one kind, each with a reader that can query its tables."""
    from contextlib import ExitStack

    from postgrest_fake import DEFAULT_KEY, PostgrestFake
    from utils.stores.rest import SupabaseReferenceClient

    with ExitStack() as stack:
        pairs = []
        for name in ("a", "b"):
            if request.param == "sqlite":
                store = stack.enter_context(open_fresh_store(f"sqlite:///{tmp_path}/{name}.db"))
                pairs.append((store, store))
                continue
            url = create_database("dh_order_e2e")
            stack.callback(drop_database, url)
            reader = stack.enter_context(open_fresh_store(url))
            if request.param == "postgres":
                pairs.append((reader, reader))
                continue
            fake = stack.enter_context(PostgrestFake(url))
            pairs.append((stack.enter_context(SupabaseReferenceClient(fake.url, DEFAULT_KEY)), reader))
        yield pairs


def test_racecards_then_results_equals_results_then_racecards(simulator, tmp_path, two_stores):
    """Either order of the two sources, through backfill_events, gives the ground truth, every
    column of every row, on SQLite, PostgreSQL and the Supabase REST store."""
    expected = expected_tables(ground_truth(simulator, START_2W, END_2W, today=TODAY))
    assert len(expected["ra_runners"]) > 1000
    (first, first_reader), (second, second_reader) = two_stores
    for store, order in ((first, ("--no-results", "--no-racecards")),
                         (second, ("--no-racecards", "--no-results"))):
        for i, only in enumerate(order):
            args = _range_args(START_2W, END_2W, tmp_path, only)
            args[-2] = str(tmp_path / f"{id(store)}_{i}.json")
            assert run_events_inprocess(store, simulator, args) == 0
    assert_matches_truth(first_reader, expected)
    assert_matches_truth(second_reader, expected)


def test_rerun_changes_nothing(simulator, tmp_path):
    store = open_fresh_store(f"sqlite:///{tmp_path}/r.db")
    try:
        assert run_events_inprocess(store, simulator, _range_args(START_2W, END_2W, tmp_path)) == 0
        before = database_checksum(store)
        updated_before = store.query("SELECT max(updated_at) FROM ra_runners")[0][0]
        assert run_events_inprocess(store, simulator, _range_args(START_2W, END_2W, tmp_path)) == 0
        assert database_checksum(store) == before
        assert store.query("SELECT max(updated_at) FROM ra_runners")[0][0] == updated_before
    finally:
        store.close()


def test_faults_at_ten_percent_still_give_the_ground_truth(simulator, tmp_path):
    expected = expected_tables(ground_truth(simulator, START_2W, END_2W, today=TODAY))
    faulty = open_fresh_store(f"sqlite:///{tmp_path}/faulty.db")
    try:
        simulator.set_faults(FaultConfig(rate=0.10, kinds=("5xx", "429", "reset", "timeout", "truncated",
                                                           "html200", "null_strings", "short_page"),
                                         timeout_s=1.5, seed=7))
        args = _range_args(START_2W, END_2W, tmp_path)
        assert run_events_inprocess(faulty, simulator, args, client=make_client(simulator, timeout=1.0)) == 0
        assert sum(simulator.faults_injected.values()) > 0, "no fault was injected: the test proves nothing"
        assert {c.status for c in simulator.calls()} - {200}, "no fault reached the client"
        assert_matches_truth(faulty, expected)
    finally:
        faulty.close()


def test_a_day_that_keeps_failing_is_logged_and_fetched_by_resume(simulator, tmp_path):
    store = open_fresh_store(f"sqlite:///{tmp_path}/f.db")
    bad_day = START_2W + timedelta(days=5)
    try:
        simulator.fail_date(bad_day, endpoint="results", kind="5xx")
        assert run_events_inprocess(store, simulator, _range_args(START_2W, END_2W, tmp_path)) == 1
        errors = read_json(tmp_path / "cp_errors.json")
        assert [e["date"] for e in errors] == [bad_day.isoformat()]
        assert set(errors[0]) == {"timestamp", "chunk", "date", "endpoint", "error"}
        assert bad_day.isoformat() not in read_json(tmp_path / "cp.json")["completed_dates"]
        assert not store.query("SELECT 1 FROM ra_races WHERE date = ?", (bad_day.isoformat(),))

        simulator.clear_failures()
        simulator.reset_calls()
        assert run_events_inprocess(store, simulator, ["--resume", "--checkpoint-file",
                                                       str(tmp_path / "cp.json")]) == 0
        days_called = {c.params["start_date"][0] for c in simulator.calls("results")}
        assert days_called == {bad_day.isoformat()}          # only the failed day is fetched again
        assert read_json(tmp_path / "cp_errors.json") == []
        truth = ground_truth(simulator, bad_day, bad_day, today=TODAY)
        stored = {r[0] for r in store.query("SELECT id FROM ra_races WHERE date = ?", (bad_day.isoformat(),))}
        assert stored == truth.race_ids
    finally:
        store.close()


def test_a_total_that_changes_between_pages_fails_only_its_day_and_resume_fetches_it(simulator, tmp_path):
    """A busy day whose first results page reports one race more than its second: the day goes to
    the error log with nothing of it stored (not committed with the last page's total); the other
    days commit; ``--resume`` fetches it again once the API is consistent."""
    busy = TODAY - timedelta(days=20)
    while not is_busy_day(busy):
        busy -= timedelta(days=1)
    start, end = busy - timedelta(days=2), busy + timedelta(days=2)
    store = open_fresh_store(f"sqlite:///{tmp_path}/t.db")
    try:
        simulator.fail_date(busy, endpoint="results", kind="total_changes")
        assert run_events_inprocess(store, simulator, _range_args(start, end, tmp_path)) == 1
        errors = read_json(tmp_path / "cp_errors.json")
        assert [(e["date"], e["endpoint"]) for e in errors] == [(busy.isoformat(), "results")]
        assert "total changed between pages" in errors[0]["error"], errors[0]["error"]
        assert busy.isoformat() not in read_json(tmp_path / "cp.json")["completed_dates"]
        assert not store.query("SELECT 1 FROM ra_races WHERE date = ?", (busy.isoformat(),))
        assert len(read_json(tmp_path / "cp.json")["completed_dates"]) == 4

        simulator.clear_failures()
        assert run_events_inprocess(store, simulator, ["--resume", "--checkpoint-file",
                                                       str(tmp_path / "cp.json")]) == 0
        assert_matches_truth(store, expected_tables(ground_truth(simulator, start, end, today=TODAY)))
    finally:
        store.close()


def test_no_racecard_call_before_2023_01_23_and_one_results_call_per_page(tmp_path):
    config = SimulatorConfig(seed=42, historical_addon=True, rate_limits=False)
    with RacingAPISimulator(config) as sim:
        store = open_fresh_store(f"sqlite:///{tmp_path}/h.db")
        start, end = date(2023, 1, 16), date(2023, 1, 29)
        try:
            assert run_events_inprocess(store, sim, _range_args(start, end, tmp_path)) == 0
            card_days = sorted(c.params["date"][0] for c in sim.calls("racecards"))
            assert card_days == [(date(2023, 1, 23) + timedelta(days=i)).isoformat() for i in range(7)]
            truth = ground_truth(sim, start, end, today=TODAY)
            assert len(sim.calls("results")) == truth.results_calls
            assert truth.results_calls >= 14
        finally:
            store.close()


def test_plan_window_refusal_stops_with_checkpoint_intact(simulator, tmp_path):
    from utils.errors import PlanWindowError

    store = open_fresh_store(f"sqlite:///{tmp_path}/p.db")
    old = TODAY - timedelta(days=400)
    try:
        with pytest.raises(PlanWindowError, match="add-on"):
            run_events_inprocess(store, simulator, _range_args(old, old + timedelta(days=3), tmp_path))
        assert read_json(tmp_path / "cp.json")["completed_dates"] == []
        from utils.pipeline.events import DEFAULT_DAYS_IN_FLIGHT

        # stopped at the first refusal: no day started after it, only those already in flight
        assert 1 <= len(simulator.calls("results")) <= DEFAULT_DAYS_IN_FLIGHT
    finally:
        store.close()


def test_check_status_makes_no_calls_and_no_writes(simulator, tmp_path, caplog):
    store = open_fresh_store(f"sqlite:///{tmp_path}/s.db")
    try:
        caplog.set_level("INFO")
        args = _range_args(START_2W, END_2W, tmp_path, "--check-status")
        assert run_events_inprocess(store, simulator, args) == 0
        assert simulator.calls() == []
        assert store.table_count("ra_races") == 0
        assert not (tmp_path / "cp.json").exists()
        text = caplog.text
        assert "14 days in 1 monthly chunks" in text or "14 days in 2 monthly chunks" in text
        assert "racecards 14" in text and "Time at the real rate limits" in text
    finally:
        store.close()


# --- real processes: exit codes, kill/resume, Ctrl+C, lock --------------------------------------
def test_sigkill_at_random_points_then_resume_gives_the_ground_truth(store_url, simulator, tmp_path):
    start, end = TODAY - timedelta(days=70), TODAY - timedelta(days=41)
    truth = ground_truth(simulator, start, end, today=TODAY)
    ideal = truth.results_calls + truth.racecard_calls          # an uninterrupted run's calls
    store = open_fresh_store(store_url)
    checkpoint = tmp_path / "kill.json"
    argv = ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
            "--database-url", store_url, "--checkpoint-file", str(checkpoint), "--quiet"]
    rng = random.Random(2026)
    try:
        kills = 0
        for attempt in range(3):
            proc = run_events_script(argv if attempt == 0 else ["--resume", *argv[4:]], simulator)
            wait_for_committed(checkpoint, 3 + 7 * attempt + rng.randint(0, 4), proc)
            time.sleep(rng.uniform(0, 0.15))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate(timeout=60)
        final = run_events_script(["--resume", *argv[4:]], simulator)
        out, err = final.communicate(timeout=120)
        assert final.returncode == 0, err
        assert kills >= 2
        assert_matches_truth(store, expected_tables(truth))
        from utils.pipeline.events import DEFAULT_DAYS_IN_FLIGHT

        # a kill repeats at most the days in flight (each at most 3 calls: 2 result pages + 1 card)
        assert len(simulator.calls()) <= ideal + kills * 3 * DEFAULT_DAYS_IN_FLIGHT
    finally:
        store.close()


def test_sigint_finishes_the_day_saves_and_exits_130(simulator, tmp_path):
    checkpoint = tmp_path / "int.json"
    db = f"sqlite:///{tmp_path}/int.db"
    argv = ["--start-date", START_3M.isoformat(), "--end-date", END_3M.isoformat(),
            "--database-url", db, "--checkpoint-file", str(checkpoint)]
    open_fresh_store(db).close()
    proc = run_events_script(argv, simulator)
    wait_for_committed(checkpoint, 5, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in out + err and "Traceback" not in err
    done = read_json(checkpoint)["completed_dates"]
    store = open_fresh_store(db)
    try:
        stored_days = {str(r[0])[:10] for r in store.query("SELECT DISTINCT CAST(date AS TEXT) FROM ra_races")}
        assert stored_days == set(done)               # exactly the committed days, nothing half-written
    finally:
        store.close()


def test_second_run_on_the_same_checkpoint_refuses(simulator, tmp_path):
    checkpoint = tmp_path / "locked.json"
    open_fresh_store(f"sqlite:///{tmp_path}/l.db").close()
    with RunLock(checkpoint.with_name(checkpoint.name + ".lock")):
        proc = run_events_script(["--start-date", START_2W.isoformat(), "--end-date", END_2W.isoformat(),
                                  "--database-url", f"sqlite:///{tmp_path}/l.db",
                                  "--checkpoint-file", str(checkpoint)], simulator)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert "another backfill" in err and "Traceback" not in err
    assert simulator.calls() == []


@pytest.mark.parametrize("argv, message", [
    (["--start-date", "2024-13-01"], "2024-13-01 is not a valid date (there is no month 13)"),
    (["--start-date", "2024/01/13"], "not a date in the form YYYY-MM-DD"),
    (["--start-date", "2024-05-02", "--end-date", "2024-05-01"], "before --start-date"),
    (["--start-date", "1987-12-31"], "1988-01-01"),
    (["--end-date", "2024-05-01"], "--start-date is required"),
    (["--resume"], "no checkpoint"),
])
def test_usage_errors_exit_2_with_one_line(argv, message, simulator, tmp_path):
    proc = run_events_script([*argv, "--database-url", f"sqlite:///{tmp_path}/u.db",
                              "--checkpoint-file", str(tmp_path / "u.json")], simulator)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert message in err and "Traceback" not in err


def test_wrong_password_is_critical_and_never_printed(simulator, tmp_path):
    db = f"sqlite:///{tmp_path}/w.db"
    open_fresh_store(db).close()
    proc = run_events_script(["--start-date", START_2W.isoformat(), "--end-date", START_2W.isoformat(),
                              "--database-url", db, "--checkpoint-file", str(tmp_path / "w.json")],
                             simulator, env_overrides={"RACING_API_PASSWORD": "wrong-Secret-123"})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert "credentials" in err.lower() and "Traceback" not in err
    logs = "".join(p.read_text() for p in tmp_path.glob("*.json")) + out + err
    assert "wrong-Secret-123" not in logs and SIM_PASSWORD not in logs


def test_an_unstorable_payload_fails_only_its_day(simulator, tmp_path):
    """A result without race_id cannot be stored: that day goes to the error log, nothing of it is
    written, and the other days still commit."""
    bad_day = START_2W + timedelta(days=3)

    class BrokenPayloadClient:
        def __init__(self, client):
            self.client = client

        def results(self, day, regions):
            races = self.client.results(day, regions)
            return [{**races[0], "race_id": ""}, *races[1:]] if day == bad_day else races

        def __getattr__(self, name):
            return getattr(self.client, name)

    store = open_fresh_store(f"sqlite:///{tmp_path}/b.db")
    try:
        code = run_events_inprocess(store, simulator, _range_args(START_2W, END_2W, tmp_path),
                                    client=BrokenPayloadClient(make_client(simulator)))
        assert code == 1
        errors = read_json(tmp_path / "cp_errors.json")
        assert [(e["date"], e["endpoint"]) for e in errors] == [(bad_day.isoformat(), "transform")]
        assert not store.query("SELECT 1 FROM ra_races WHERE date = ?", (bad_day.isoformat(),))
        committed = read_json(tmp_path / "cp.json")["completed_dates"]
        assert len(committed) == (END_2W - START_2W).days and bad_day.isoformat() not in committed
    finally:
        store.close()
