"""``backfill_all --enrich-horses`` fetches horse profiles WHILE the events backfill runs (on the
horses budget, for horses of days already committed), through its own database connection, and
leaves no horse of the range pending.
"""
from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, date, datetime, time

import pytest

from helpers import (
    FIXED_TODAY,
    REPO,
    SIM_PASSWORD,
    SIM_USER,
    create_database,
    drop_database,
    open_fresh_store,
    script_env,
    wait_for_committed,
)
from utils.simulator.server import RacingAPISimulator, SimulatorConfig

START, END = date(2022, 12, 1), date(2022, 12, 10)       # results-only days: horses need profiles


@pytest.fixture(scope="module")
def addon_sim():
    sim = RacingAPISimulator(SimulatorConfig(seed=42, username=SIM_USER, password=SIM_PASSWORD,
                                             rate_limits=False, historical_addon=True,
                                             today=FIXED_TODAY)).start()
    yield sim
    sim.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/along.db"
        return
    made = create_database("dh_along")
    yield made
    drop_database(made)


def test_profiles_are_fetched_alongside_the_events_and_none_is_left(addon_sim, url, tmp_path):
    open_fresh_store(url).close()
    addon_sim.reset_calls()
    now = datetime.combine(FIXED_TODAY, time(12), tzinfo=UTC).isoformat()
    env = script_env(addon_sim, {"DARKHORSES_NOW": now, "RACING_API_RATE_SCALE": "100"})
    checkpoint = tmp_path / "cp.json"
    proc = subprocess.Popen([sys.executable, str(REPO / "scripts" / "backfill_all.py"),
                             "--start-date", START.isoformat(), "--end-date", END.isoformat(),
                             "--database-url", url, "--checkpoint-file", str(checkpoint),
                             "--days-in-flight", "1", "--enrich-horses", "--skip-masters"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    # hold the events after their first committed day until a profile call arrives: the profiles
    # must start while the events still run, whatever the machine's speed
    assert wait_for_committed(checkpoint, 1, proc, timeout=120)
    gate = addon_sim.hold("results")
    try:
        for _ in range(3000):
            if any(c.endpoint == "horses" for c in addon_sim.calls()):
                break
            threading.Event().wait(0.01)
    finally:
        addon_sim.release_holds()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "ETA for the whole job (events and profiles)" in out + err      # one ETA for both
    assert gate is not None
    calls = addon_sim.calls()
    results = [c.at for c in calls if c.endpoint == "results"]
    horses = [c.at for c in calls if c.endpoint == "horses"]
    assert results and horses
    assert min(horses) < max(results), "no profile was fetched before the events ended"
    store = open_fresh_store(url)
    try:
        assert store.read("pending_horse_counts", since=START)[0]["without_profile"] == 0
        enriched = store.query("SELECT count(*) FROM ra_mst_horses WHERE enriched_at IS NOT NULL")[0][0]
        assert enriched == len(horses)              # one call per horse, none repeated
        assert len(store.read("committed_days", start=START, end=END)) == (END - START).days + 1
    finally:
        store.close()
