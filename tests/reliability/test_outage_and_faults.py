"""Scenarios 2 (database outage), 3 (API faults at 10 % and 30 %) and 4 (short pages)."""
from __future__ import annotations

import time
from collections import Counter
from datetime import date, timedelta

import psycopg
import pytest

from helpers import (
    PG_SERVER,
    check_truth,
    finish,
    make_client,
    one_line,
    open_fresh_store,
    races_by_day,
    read_json,
    run_events_inprocess,
    start_script,
    truth_for,
)
from utils.pipeline.checkpoint import Checkpoint
from utils.simulator import faults as simulator_module
from utils.simulator.faults import FAULT_KINDS, FaultConfig

TODAY = date.today()


def _args(start, end, checkpoint, *extra):
    return ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
            "--checkpoint-file", str(checkpoint), *extra]


def _assert_checkpoint_names_only_committed_days(store, checkpoint, expected_by_day, start, end):
    done = {d.isoformat() for d in Checkpoint.load(checkpoint).completed}
    stored = races_by_day(store)
    for day in done:
        assert stored.get(day, set()) == expected_by_day.get(day, set()), f"{day} checkpointed but not whole"
    in_range = {d for d in stored if start.isoformat() <= d <= end.isoformat()}
    assert in_range <= done, f"days with rows but not in the checkpoint: {sorted(in_range - done)}"
    return done


# --- 2. database outage ---------------------------------------------------------------------------
@pytest.mark.reliability
def test_backend_terminated_mid_run_stops_with_exit_3_then_resume_completes(
        pg_url, simulator, tmp_path, stats):
    start, end = TODAY - timedelta(days=120), TODAY - timedelta(days=61)
    truth, _, expected = truth_for(simulator, start, end, TODAY)
    store = open_fresh_store(pg_url)
    checkpoint = tmp_path / "outage.json"
    argv = [*_args(start, end, checkpoint), "--database-url", pg_url, "--quiet"]
    dbname = pg_url.rsplit("/", 1)[1]
    try:
        proc = start_script(argv, simulator)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if len(read_json(checkpoint)["completed_dates"]) >= 8:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before the outage"
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND application_name = 'darkhorses'",
                (dbname,)).fetchone()[0]
        assert killed >= 1
        code, out, err = finish(proc, timeout=120)
        assert code == 3, (out, err)
        line = one_line(err)
        assert line.startswith("critical:") and "connection" in line.lower(), line
        store.close()
        store = open_fresh_store(pg_url)          # the test's own session was terminated too
        done = _assert_checkpoint_names_only_committed_days(store, checkpoint, expected, start, end)
        assert 8 <= len(done) < (end - start).days + 1

        code, out, err = finish(start_script(["--resume", *argv[4:]], simulator), timeout=600)
        assert code == 0, err
        stats.add("db_outages", 1)
        stats.add("backends_terminated", killed)
        check_truth(stats, store, truth)                 # every row, every column
    finally:
        store.close()


def _errors(path):
    return read_json(path) if path.exists() else []


# --- 3. API faults -----------------------------------------------------------------------------------
def _faulty_backfill(url, sim, tmp_path, stats, rate, start, end, seed, monkeypatch=None):
    truth, _, expected = truth_for(sim, start, end, TODAY)
    store = open_fresh_store(url)
    checkpoint = tmp_path / f"faults_{int(rate * 100)}.json"
    errors_file = checkpoint.with_name(checkpoint.stem + "_errors.json")
    try:
        sim.set_faults(FaultConfig(rate=rate, kinds=FAULT_KINDS, timeout_s=0.6, seed=seed))
        retry_after = Counter()
        if monkeypatch is not None:            # every kind at least once, 429 with and without Retry-After
            sim.queue_faults("429", *FAULT_KINDS)
            real = simulator_module.rate_limited

            def rate_limited(with_header=True):
                with_header = with_header if sum(retry_after.values()) >= 2 else not retry_after[True]
                retry_after[with_header] += 1
                return real(with_header)

            monkeypatch.setattr(simulator_module, "rate_limited", rate_limited)
        client = make_client(sim, timeout=0.4)
        code = run_events_inprocess(store, sim, _args(start, end, checkpoint), client=client)
        runs, failed_days = 1, 0
        while code == 1:
            assert runs <= 4, "still failing after 4 --resume runs"
            errors = _errors(errors_file)
            assert errors, "exit 1 without an error-log entry"
            failed = {e["date"] for e in errors}
            failed_days += len(failed)
            done = _assert_checkpoint_names_only_committed_days(store, checkpoint, expected, start, end)
            assert not failed & done
            code = run_events_inprocess(store, sim, ["--resume", "--checkpoint-file", str(checkpoint)],
                                        client=client)
            runs += 1
            after = {e["date"] for e in _errors(errors_file)}
            assert bool(after) == (code == 1)             # exit 1 exactly when days remain logged
        assert code == 0
        assert _errors(errors_file) == []                 # the resume cleared every logged day
        counter = sim.faults_injected
        assert sum(counter.values()) > 0
        if monkeypatch is not None:
            assert set(counter) == set(FAULT_KINDS), counter
            assert retry_after[True] and retry_after[False], retry_after
            stats.add("429_with_retry_after", retry_after[True])
            stats.add("429_without_retry_after", retry_after[False])
        stats.faults(counter)
        stats.add("api_calls", len(sim.calls()))
        stats.add("runs", runs)
        stats.add("days_failed_then_recovered", failed_days)
        check_truth(stats, store, truth)                 # every row, every column
    finally:
        store.close()


def test_faults_at_ten_percent_one_week_sqlite(simulator, tmp_path, stats):
    start = TODAY - timedelta(days=60)
    _faulty_backfill(f"sqlite:///{tmp_path}/f.db", simulator, tmp_path, stats,
                     0.10, start, start + timedelta(days=6), seed=3)


@pytest.mark.reliability
@pytest.mark.parametrize("rate", [0.10, 0.30])
def test_faults_three_weeks(rate, any_url, simulator, tmp_path, stats, monkeypatch):
    start = TODAY - timedelta(days=150)
    _faulty_backfill(any_url, simulator, tmp_path, stats, rate, start,
                     start + timedelta(days=20), seed=int(rate * 100) + (0 if "sqlite" in any_url else 1),
                     monkeypatch=monkeypatch)


# --- 4. short pages -----------------------------------------------------------------------------------
def test_a_short_page_is_retried_and_never_stored_as_a_complete_day(simulator, tmp_path, stats):
    start, end = TODAY - timedelta(days=48), TODAY - timedelta(days=42)
    bad = max((start + timedelta(days=i) for i in range(7)),
              key=lambda d: len(simulator.dataset.results_for(d)))
    assert len(simulator.dataset.results_for(bad)) > 0
    store = open_fresh_store(f"sqlite:///{tmp_path}/s.db")
    checkpoint = tmp_path / "short.json"
    try:
        simulator.fail_date(bad, "results", "short_page")
        assert run_events_inprocess(store, simulator, _args(start, end, checkpoint),
                                    client=make_client(simulator)) == 1
        bad_calls = [c for c in simulator.calls("results") if c.params["start_date"][0] == bad.isoformat()]
        assert len(bad_calls) == 5                                   # detected and retried
        assert bad.isoformat() not in read_json(checkpoint)["completed_dates"]
        assert not store.query("SELECT 1 FROM ra_races WHERE date = ?", (bad.isoformat(),))
        errors = read_json(checkpoint.with_name("short_errors.json"))
        assert [(e["date"], e["endpoint"]) for e in errors] == [(bad.isoformat(), "results")]
        assert "total" in errors[0]["error"] or "fewer" in errors[0]["error"].lower() \
            or "incomplete" in errors[0]["error"].lower(), errors[0]["error"]
        stats.add("fault:short_page", len(bad_calls))

        simulator.clear_failures()
        simulator.reset_fault_counts()
        simulator.set_faults(FaultConfig(rate=0.4, kinds=("short_page",), seed=9))   # random short pages too
        assert run_events_inprocess(store, simulator, ["--resume", "--checkpoint-file", str(checkpoint)],
                                    client=make_client(simulator)) == 0
        stats.add("fault:short_page", simulator.faults_injected["short_page"])
        check_truth(stats, store, truth_for(simulator, start, end, TODAY)[0])
    finally:
        store.close()
