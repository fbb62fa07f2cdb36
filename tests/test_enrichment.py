"""Horse enrichment from /horses/{id}/pro and the daily incremental mode, against the simulator."""
from __future__ import annotations

import signal
import time
from datetime import date, timedelta

from helpers import (
    REPO,
    assert_matches_truth,
    expected_tables,
    ground_truth,
    make_client,
    open_fresh_store,
    run_events_inprocess,
    run_events_script,
)
from utils.pipeline.enrichment import HorseEnricher, count_pending, pending_horses

TODAY = date.today()


def _results_only(store, sim, tmp_path, start: date, end: date) -> None:
    argv = ["--start-date", start.isoformat(), "--end-date", end.isoformat(), "--no-racecards",
            "--checkpoint-file", str(tmp_path / "cp.json")]
    assert run_events_inprocess(store, sim, argv) == 0


def test_enrichment_fills_exactly_the_profiles_and_remembers_404s(simulator, tmp_path):
    store = open_fresh_store(f"sqlite:///{tmp_path}/e.db")
    try:
        _results_only(store, simulator, tmp_path, TODAY - timedelta(days=60), TODAY - timedelta(days=52))
        horses = pending_horses(store)
        assert len(horses) >= 2000
        horses = horses[:2000]
        result = HorseEnricher(make_client(simulator), store).run(horses)
        assert result.calls == 2000 and not result.failed
        expected_missing = {h for h in horses if simulator.dataset.horse_pro(h) is None}
        assert result.not_found == len(expected_missing) > 0
        rows = {r[0]: r[1:] for r in store.query(
            "SELECT id, profile_status, CAST(dob AS TEXT), breeder, sex_code, colour_code, sire_id, "
            "dam_id, damsire_id, enriched_at FROM ra_mst_horses")}
        for horse_id in horses:
            status, dob, breeder, sex_code, colour_code, sire, dam, damsire, enriched_at = rows[horse_id]
            profile = simulator.dataset.horse_pro(horse_id)
            assert enriched_at is not None
            if profile is None:
                assert status == "not_found"
                continue
            assert status == "ok"
            assert (dob[:10], breeder, sex_code, colour_code) == (
                profile["dob"], profile["breeder"], profile["sex_code"], profile["colour_code"])
            assert (sire, dam, damsire) == (profile["sire_id"], profile["dam_id"], profile["damsire_id"])
        calls_before = len(simulator.calls("horses"))
        again = HorseEnricher(make_client(simulator), store).run(
            [h for h in pending_horses(store) if h in set(horses)])
        assert again.calls == 0 and len(simulator.calls("horses")) == calls_before
    finally:
        store.close()


def test_racecard_horses_are_skipped_unless_refresh(simulator, tmp_path):
    store = open_fresh_store(f"sqlite:///{tmp_path}/rc.db")
    try:
        day = TODAY - timedelta(days=20)
        argv = ["--start-date", day.isoformat(), "--end-date", day.isoformat(),
                "--checkpoint-file", str(tmp_path / "cp.json")]
        assert run_events_inprocess(store, simulator, argv) == 0
        total = store.table_count("ra_mst_horses")
        assert count_pending(store) == 0            # racecards gave dob/colour/breeder
        assert count_pending(store, refresh=True) == total
    finally:
        store.close()


def test_check_status_and_the_report_count_pending_horses_one_way(simulator, tmp_path):
    """Issue 16 item 4: --check-status said 0 while the report listed every horse as Pending. One
    definition now: "N horses without a profile: M need a call, K already have their details"."""
    import json
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path}/pending.db"
    store = open_fresh_store(db)
    try:
        cards = TODAY - timedelta(days=20)                      # racecard era: details known
        _results_only(store, simulator, tmp_path, TODAY - timedelta(days=30), TODAY - timedelta(days=30))
        assert run_events_inprocess(store, simulator, [
            "--start-date", cards.isoformat(), "--end-date", cards.isoformat(),
            "--checkpoint-file", str(tmp_path / "cp2.json")]) == 0
        row = store.read("pending_horse_counts", since=None)[0]
        without, need = int(row["without_profile"]), int(row["need_call"])
    finally:
        store.close()
    assert 0 < need < without
    status = subprocess.run([sys.executable, str(REPO / "scripts" / "enrich_horses.py"), "--database-url", db,
                             "--check-status"], capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stderr
    text = status.stdout + status.stderr
    assert (f"{without:,} horses without a profile: {need:,} need a call, {without - need:,} already "
            f"have their details from racecards") in text
    report = subprocess.run([sys.executable, str(REPO / "scripts" / "backfill_report.py"), "--database-url", db,
                             "--out", str(tmp_path / "rep"), "--quiet"], capture_output=True, text=True,
                            timeout=120)
    assert report.returncode == 0, report.stderr
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    # the report's "Pending" is "without a profile" (per year and region: a horse that ran in both
    # regions counts in each), never the smaller "need a call"
    assert sum(r["horses_pending"] for r in summary["rows"]) >= without > need


def test_killed_enrichment_never_repeats_a_committed_horse(simulator, tmp_path):
    db = f"sqlite:///{tmp_path}/k.db"
    store = open_fresh_store(db)
    try:
        _results_only(store, simulator, tmp_path, TODAY - timedelta(days=60), TODAY - timedelta(days=57))
        pending = set(pending_horses(store))
        script = REPO / "scripts" / "enrich_horses.py"
        proc = run_events_script(["--database-url", db], simulator, script=script,
                                 env_overrides={"RACING_API_RATE_SCALE": "10"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if store.query("SELECT count(*) FROM ra_mst_horses WHERE enriched_at IS NOT NULL")[0][0] >= 200:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        done = {r[0] for r in store.query("SELECT id FROM ra_mst_horses WHERE enriched_at IS NOT NULL")}
        assert 0 < len(done) < len(pending)
        simulator.reset_calls()
        rerun = run_events_script(["--database-url", db, "--quiet"], simulator, script=script)
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err
        asked = {c.path.split("/")[3] for c in simulator.calls("horses")}
        assert asked and not (asked & done)                  # no committed horse asked again
        assert asked | done == pending
        assert count_pending(store) == 0
    finally:
        store.close()


def _incremental(store, sim, tmp_path, today: date) -> int:
    sim.today = today
    return run_events_inprocess(store, sim, ["--incremental", "--checkpoint-file",
                                             str(tmp_path / f"inc_{today}.json")], today=today)


def test_three_incremental_days_give_the_ground_truth_and_pick_up_late_results(simulator, tmp_path):
    """A base backfill, then three daily incremental runs (the first of which misses its day's
    results): the database ends as the ground truth of the whole span as served on the last day,
    every column of every row, and so does one plain backfill of the same span."""
    day0 = TODAY - timedelta(days=30)
    daily = open_fresh_store(f"sqlite:///{tmp_path}/daily.db")
    single = open_fresh_store(f"sqlite:///{tmp_path}/single.db")
    try:
        simulator.today = day0
        base = ["--start-date", (day0 - timedelta(days=5)).isoformat(), "--end-date", day0.isoformat(),
                "--checkpoint-file", str(tmp_path / "base.json")]
        assert run_events_inprocess(daily, simulator, base, today=day0) == 0
        late = day0 + timedelta(days=1)
        simulator.fail_date(late, endpoint="results", kind="5xx")   # day 1's results come late
        assert _incremental(daily, simulator, tmp_path, late) == 1
        simulator.clear_failures()
        for offset in (2, 3):
            simulator.reset_calls()
            assert _incremental(daily, simulator, tmp_path, day0 + timedelta(days=offset)) == 0
            results_days = {c.params["start_date"][0] for c in simulator.calls("results")}
            assert late.isoformat() in results_days     # the overlap re-reads the late day
        final = day0 + timedelta(days=3)
        simulator.today = final
        one = ["--start-date", (day0 - timedelta(days=5)).isoformat(),
               "--end-date", (final + timedelta(days=7)).isoformat(),
               "--checkpoint-file", str(tmp_path / "one.json")]
        assert run_events_inprocess(single, simulator, one, today=final) == 0
        expected = expected_tables(ground_truth(simulator, day0 - timedelta(days=5),
                                                final + timedelta(days=7), today=final))
        assert_matches_truth(daily, expected)
        assert_matches_truth(single, expected)
        assert daily.query("SELECT count(*) FROM ra_races WHERE date = ? AND has_result",
                           (late.isoformat(),))[0][0] > 0
    finally:
        simulator.today = None
        daily.close()
        single.close()


def test_incremental_with_nothing_new_makes_the_minimum_calls(simulator, tmp_path):
    store = open_fresh_store(f"sqlite:///{tmp_path}/min.db")
    try:
        simulator.today = TODAY
        assert run_events_inprocess(store, simulator, [
            "--start-date", (TODAY - timedelta(days=3)).isoformat(), "--end-date", TODAY.isoformat(),
            "--checkpoint-file", str(tmp_path / "b.json")]) == 0
        simulator.reset_calls()
        assert _incremental(store, simulator, tmp_path, TODAY) == 0
        # overlap of 2 days + today for results, today + 7 days ahead for racecards
        assert len(simulator.calls("results")) == 3
        assert len(simulator.calls("racecards")) == 3 + 7
    finally:
        simulator.today = None
        store.close()
