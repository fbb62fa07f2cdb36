"""Scenarios 7 (clock edges) and 8 (concurrency)."""
from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest

from helpers import (
    API_PASSWORD,
    API_USER,
    check_truth,
    finish,
    make_client,
    one_line,
    open_fresh_store,
    run_events_inprocess,
    start_script,
    truth_for,
)
from utils.pipeline.events import DayData, build_write_unit
from utils.simulator.server import RacingAPISimulator, SimulatorConfig

TODAY = date.today()


def _last_sunday(year: int, month: int) -> date:
    d = date(year, month + 1, 1) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() + 1) % 7)


EDGE_DAYS = [_last_sunday(2024, 3), _last_sunday(2024, 10), date(2024, 2, 29),
             _last_sunday(2023, 3), _last_sunday(2023, 10)]


def _check_races(store, sim, days, stats):
    checked = 0
    for day in days:
        raws = {r["race_id"]: r for r in sim.dataset.results_for(day) + sim.dataset.racecards_for(day)}
        rows = {r[0]: r[1:] for r in store.query(
            "SELECT id, CAST(date AS TEXT), CAST(off_time AS TEXT), off_dt FROM ra_races WHERE date = ?",
            (day.isoformat(),))}
        assert set(rows) == set(raws), day
        for race_id, raw in raws.items():
            local = datetime.fromisoformat(raw["off_dt"])
            stored_date, off_time, off_dt = rows[race_id]
            assert stored_date[:10] == local.date().isoformat() == day.isoformat()
            assert off_time[:5] == local.strftime("%H:%M"), (race_id, raw["off_dt"], off_time)
            stored_dt = off_dt if isinstance(off_dt, datetime) else datetime.fromisoformat(str(off_dt))
            assert stored_dt == local                      # the same instant
            checked += 1
    stats.add("clock_edge_races_checked", checked)
    return checked


def test_clock_changes_and_leap_day_keep_local_dates_and_times(tmp_path, stats):
    config = SimulatorConfig(seed=42, username=API_USER, password=API_PASSWORD, historical_addon=True,
                             rate_limits=False)
    with RacingAPISimulator(config) as sim:
        assert date(2024, 3, 31) in EDGE_DAYS and date(2024, 10, 27) in EDGE_DAYS
        store = open_fresh_store(f"sqlite:///{tmp_path}/clock.db")
        try:
            for i, day in enumerate(EDGE_DAYS):
                argv = ["--start-date", (day - timedelta(days=1)).isoformat(), "--end-date",
                        (day + timedelta(days=1)).isoformat(), "--checkpoint-file", str(tmp_path / f"c{i}.json")]
                assert run_events_inprocess(store, sim, argv, client=make_client(sim)) == 0
            assert _check_races(store, sim, EDGE_DAYS, stats) > 0
            summer = {r[0] for r in store.query("SELECT off_dt FROM ra_races WHERE date = '2024-03-31'")}
            assert summer
        finally:
            store.close()


@pytest.mark.parametrize("off_dt", ["2024-06-15T00:30:00+01:00",      # 23:30 UTC the day before
                                    "2024-03-31T00:45:00+00:00",      # just before the spring change
                                    "2024-03-31T03:10:00+01:00",      # just after it
                                    "2024-10-27T01:30:00+01:00",      # the repeated hour, first pass
                                    "2024-10-27T01:30:00+00:00",      # ... second pass
                                    "2024-02-29T23:59:00+00:00"])
def test_after_midnight_races_keep_their_local_date(off_dt, simulator, tmp_path, stats):
    day = TODAY - timedelta(days=33)
    result = copy.deepcopy(simulator.dataset.results_for(day)[0])
    local = datetime.fromisoformat(off_dt)
    result.update(off_dt=off_dt, date=local.date().isoformat(), off=local.strftime("%I:%M").lstrip("0"))
    unit = build_write_unit(DayData(local.date(), results=[result]), datetime.now(UTC))
    race = unit["ra_races"][0]
    assert race["date"] == local.date()
    assert race["off_time"].strftime("%H:%M") == local.strftime("%H:%M")
    store = open_fresh_store(f"sqlite:///{tmp_path}/m.db")
    try:
        store.write_unit(unit)
        stored = store.query("SELECT CAST(date AS TEXT), CAST(off_time AS TEXT) FROM ra_races")[0]
        assert stored[0][:10] == local.date().isoformat() and stored[1][:5] == local.strftime("%H:%M")
    finally:
        store.close()
    stats.add("clock_edge_races_checked", 1)


# --- 8. concurrency ---------------------------------------------------------------------------------
def test_two_runs_on_one_checkpoint_the_second_refuses(simulator, tmp_path, stats):
    """The second run starts while the first is provably mid-run: the first holds its lock and
    waits on a results call the simulator holds back (no sleep decides the overlap)."""
    db = f"sqlite:///{tmp_path}/one.db"
    open_fresh_store(db).close()
    start = TODAY - timedelta(days=80)
    argv = ["--start-date", start.isoformat(), "--end-date", (start + timedelta(days=10)).isoformat(),
            "--database-url", db, "--checkpoint-file", str(tmp_path / "same.json"), "--quiet"]
    hold = simulator.hold("results")
    first = start_script(argv, simulator, {"RACING_API_TIMEOUT": "120"})
    try:
        assert hold.wait_for(1, timeout=120), "the first run never reached its first results call"
        code_b, _, err_b = finish(start_script(argv, simulator), 300)
    finally:
        hold.release()
    code_a, _, err_a = finish(first, 300)
    assert (code_a, code_b) == (0, 3), (err_a, err_b)
    assert "another backfill" in one_line(err_b)
    stats.add("concurrent_runs", 2)


@pytest.mark.reliability
def test_two_runs_same_database_overlapping_ranges(any_url, simulator, tmp_path, stats):
    """Both runs are provably running at once: each waits on a results call the simulator holds
    back until both have arrived; then they write their overlapping days concurrently."""
    start = TODAY - timedelta(days=100)
    a_end, b_start, end = start + timedelta(days=30), start + timedelta(days=15), start + timedelta(days=45)
    expected, _, _ = truth_for(simulator, start, end, TODAY)
    open_fresh_store(any_url).close()
    hold = simulator.hold("results")
    try:
        procs = [start_script(["--start-date", s.isoformat(), "--end-date", e.isoformat(), "--database-url",
                               any_url, "--checkpoint-file", str(tmp_path / f"{n}.json"), "--quiet"],
                              simulator, {"RACING_API_TIMEOUT": "120"})
                 for n, s, e in (("a", start, a_end), ("b", b_start, end))]
        assert hold.wait_for(2, timeout=120), "the two runs were never in flight together"
    finally:
        hold.release()
    outcomes = [finish(p, 600) for p in procs]
    assert [o[0] for o in outcomes] == [0, 0], [o[2] for o in outcomes]
    store = open_fresh_store(any_url)
    try:
        stats.add("concurrent_runs", 2)
        check_truth(stats, store, expected)                # no duplicates, no lost updates
    finally:
        store.close()
