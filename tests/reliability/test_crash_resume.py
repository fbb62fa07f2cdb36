"""Scenario 1 (crash anywhere) and the atomic-write half of scenario 5.

Real processes (``scripts/backfill_events.py``) are SIGKILLed at random moments and resumed; the
final tables must equal an uninterrupted run's row by row, the checkpoint must parse after every
kill and name only days the database holds, and the API calls across all attempts may exceed the
ideal by at most one day (3 calls) per kill.
"""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from backfill_helpers import database_checksum, ground_truth, open_fresh_store, read_json
from rel_helpers import (
    CAPTURED_TEXT, finish, races_by_day, reference, rows_in, start_script, truth_races_by_day)
from utils.checkpoint import Checkpoint

TODAY = date.today()


def _completed(checkpoint) -> int:
    try:
        return len(read_json(checkpoint)["completed_dates"])
    except (OSError, ValueError, KeyError):
        return 0


def _kill_and_resume(store_url, sim, tmp_path, start, end, kills_wanted, seed, stats, tmp_path_factory,
                     max_advance: int = 6):
    ref_checksum, ideal = reference(sim, start, end, tmp_path_factory)
    truth = ground_truth(sim, start, end, today=TODAY)
    expected_by_day = truth_races_by_day(truth)
    store = open_fresh_store(store_url)
    checkpoint = tmp_path / "kill.json"
    argv = ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
            "--database-url", store_url, "--checkpoint-file", str(checkpoint), "--quiet"]
    resume = ["--resume", *argv[4:]]
    rng = random.Random(seed)
    sim.reset_calls()
    kills = attempts = 0
    try:
        while kills < kills_wanted:
            attempts += 1
            assert attempts <= kills_wanted * 2, "the run kept finishing before it could be killed"
            proc = start_script(resume if checkpoint.exists() else argv, sim)   # killed before the first save: start again
            target = _completed(checkpoint) + rng.randint(0, max_advance)
            deadline = time.monotonic() + 60
            while proc.poll() is None and _completed(checkpoint) < target and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.25))      # anywhere: fetching, writing, saving the checkpoint
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            code, _, err = finish(proc, timeout=120)
            assert code in (0, -signal.SIGKILL), err
            if checkpoint.exists():
                saved = Checkpoint.load(checkpoint)          # never torn: parses after every kill
                stored = races_by_day(store)
                for day in saved.completed:                  # checkpointed => fully in the database
                    assert stored.get(day.isoformat(), set()) == expected_by_day.get(day.isoformat(), set()), day
            if code == 0:
                break
        code, _, err = finish(start_script(resume, sim), timeout=600)
        assert code == 0, err
        assert kills == kills_wanted
        final = database_checksum(store)
        assert final == ref_checksum                           # row-level equality with the reference
        assert races_by_day(store) == expected_by_day
        calls = len(sim.calls())
        assert calls <= ideal + 3 * kills, (calls, ideal, kills)
        leftovers = list(tmp_path.glob(".kill.json.*.tmp"))
        stats.add("kills", kills)
        stats.add("process_starts", attempts + 1)
        stats.add("rows_compared", rows_in(final))
        stats.add("rows_lost_or_changed", 0)
        stats.add("api_calls", calls)
        stats.add("api_calls_ideal", ideal)
        stats.add("checkpoint_temp_files_left", len(leftovers))
    finally:
        store.close()


def test_five_kills_over_one_month_sqlite(simulator, tmp_path, stats, tmp_path_factory):
    start = TODAY - timedelta(days=75)
    _kill_and_resume(f"sqlite:///{tmp_path}/k.db", simulator, tmp_path, start, start + timedelta(days=29),
                     5, 11, stats, tmp_path_factory, max_advance=3)


@pytest.mark.reliability
def test_thirty_kills_over_six_months(any_url, simulator, tmp_path, stats, tmp_path_factory):
    start = TODAY - timedelta(days=200)
    _kill_and_resume(any_url, simulator, tmp_path, start, start + timedelta(days=181), 30,
                     2026 if any_url.startswith("sqlite") else 4242, stats, tmp_path_factory)


WRITER = r"""
import sys, itertools
sys.path.insert(0, sys.argv[1])
from utils.checkpoint import atomic_write_json
for i in itertools.count():
    atomic_write_json(sys.argv[2], {"n": i, "completed_dates": ["2024-01-%02d" % (d % 28 + 1) for d in range(i % 4000)]})
"""


def test_checkpoint_writes_are_atomic_under_sigkill(tmp_path, stats):
    from backfill_helpers import REPO

    target = tmp_path / "atomic.json"
    rng = random.Random(5)
    kills = 0
    last = -1
    for _ in range(20):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(REPO), str(target)])
        time.sleep(0.12 + rng.uniform(0, 0.2))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
        if target.exists():
            data = json.loads(target.read_text())          # always a whole document
            assert len(data["completed_dates"]) == data["n"] % 4000
            last = data["n"]
    assert last >= 0, "the writer never completed a write"
    stats.add("atomic_write_kills", kills)
    stats.add("checkpoint_parsed_after_kill", kills)
    CAPTURED_TEXT.append(target.read_text())
