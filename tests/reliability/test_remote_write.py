"""The write call of a remote database: a connection dropped INSIDE ``ra_apply_day`` on the direct
path, and the Supabase REST store under gateway faults and an outage.

Why these: the day's rows and its committed mark travel in one call now, so the one place a fault
can land mid-day is inside that call. The database must then hold either the whole day with its mark
or nothing of it, the run must say so (exit 3 for a lost database), and ``--resume`` must complete
the range to the simulator's ground truth, on both paths.
"""
from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import psycopg
import pytest

from helpers import (
    PG_SERVER,
    SUPABASE_KEY,
    check_truth,
    finish,
    one_line,
    open_fresh_store,
    races_by_day,
    start_script,
    truth_for,
    wait_for_committed,
)
from postgrest_fake import PostgrestFake
from utils.stores.postgres import PostgresStore

TODAY = date.today()


def _argv(start, end, checkpoint, *extra):
    return ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
            "--checkpoint-file", str(checkpoint), "--quiet", *extra]


def _wait_for_committed(checkpoint, n: int, proc) -> None:
    assert wait_for_committed(checkpoint, n, proc, timeout=120), \
        f"the run did not commit {n} days (exit {proc.poll()})"


def _assert_days_whole_or_absent(store, races_by_truth_day, start, end) -> set[str]:
    """Every marked day holds exactly its races; no day holds races without its mark."""
    marked = {d["day"] for d in store.read("committed_days", start=start, end=end)}
    stored = races_by_day(store)
    for day in marked:
        assert stored.get(day, set()) == races_by_truth_day.get(day, set()), f"{day} marked but not whole"
    unmarked = {d for d in stored if start.isoformat() <= d <= end.isoformat()} - marked
    assert not unmarked, f"rows without their day's mark: {sorted(unmarked)}"
    return marked


@pytest.mark.reliability
def test_connection_dropped_inside_the_write_call_leaves_nothing_of_the_day(
        pg_url, simulator, tmp_path, stats):
    start, end = TODAY - timedelta(days=90), TODAY - timedelta(days=61)
    expected, _, by_day = truth_for(simulator, start, end, TODAY)
    store = open_fresh_store(pg_url)
    checkpoint = tmp_path / "drop.json"
    argv = [*_argv(start, end, checkpoint), "--database-url", pg_url]
    dbname = pg_url.rsplit("/", 1)[1]
    try:
        proc = start_script(argv, simulator)
        _wait_for_committed(checkpoint, 3, proc)
        with psycopg.connect(f"{PG_SERVER}/{dbname}") as locker:
            locker.execute("LOCK TABLE ra_runners IN ACCESS EXCLUSIVE MODE")   # the next write waits inside
            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
                pid = None
                for _ in range(1000):
                    row = admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
                        "AND application_name = 'darkhorses' AND query LIKE '%%ra_apply_day%%'",
                        (dbname,)).fetchone()
                    if row:
                        pid = row[0]
                        break
                    time.sleep(0.01)
                assert pid, "no write call blocked inside ra_apply_day"
                assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
            locker.rollback()
        code, out, err = finish(proc, timeout=120)
        assert code == 3, (out, err)
        assert one_line(err).startswith("critical:") and "connection" in err.lower()
        marked = _assert_days_whole_or_absent(store, by_day, start, end)
        assert 3 <= len(marked) < (end - start).days + 1
        code, out, err = finish(start_script(["--resume", *argv[4:]], simulator), timeout=600)
        assert code == 0, err
        stats.add("write_calls_dropped", 1)
        _assert_days_whole_or_absent(store, by_day, start, end)
        check_truth(stats, store, expected)
    finally:
        store.close()


def _rest_env(fake) -> dict:
    return {"SUPABASE_URL": fake.url, "SUPABASE_SERVICE_KEY": SUPABASE_KEY}


@pytest.mark.reliability
def test_rest_store_under_gateway_faults_and_an_outage_gives_the_ground_truth(
        pg_url, simulator, tmp_path, stats):
    start, end = TODAY - timedelta(days=75), TODAY - timedelta(days=46)
    expected, _, by_day = truth_for(simulator, start, end, TODAY)
    open_fresh_store(pg_url).close()
    checkpoint = tmp_path / "rest.json"
    argv = _argv(start, end, checkpoint)
    with PostgrestFake(pg_url, key=SUPABASE_KEY) as fake, PostgresStore(pg_url) as store:
        stop = threading.Event()

        def flaky():          # a transient 502/503 now and then: retried, never a lost day
            seen = 0
            while not stop.is_set():
                if len(fake.requests) > seen + 2 and not fake._fail:     # one at a time
                    seen = len(fake.requests)
                    fake.fail_next(1, 502 if seen % 2 else 503)
                time.sleep(0.01)

        noise = threading.Thread(target=flaky, daemon=True)
        noise.start()
        proc = start_script(argv, simulator, _rest_env(fake))
        _wait_for_committed(checkpoint, 5, proc)
        stop.set()
        noise.join()
        fake.fail_next(100_000, 503)              # the gateway goes down
        code, out, err = finish(proc, timeout=300)
        assert code == 3, (out, err)
        assert "Supabase REST unavailable" in one_line(err)
        injected = sum(1 for r in fake.requests if r.status in (502, 503))
        marked = _assert_days_whole_or_absent(store, by_day, start, end)
        assert 5 <= len(marked) < (end - start).days + 1
        fake.reset()                               # back up
        code, out, err = finish(start_script(["--resume", *argv[4:]], simulator, _rest_env(fake)),
                                timeout=600)
        assert code == 0, err
        applied = [r for r in fake.requests if r.function == "ra_apply_day"]
        assert len(applied) == (end - start).days + 1 - len(marked)    # one request per missing day
        stats.add("rest_faults_injected", injected)
        _assert_days_whole_or_absent(store, by_day, start, end)
        check_truth(stats, store, expected)
