"""Scenario 1 (crash anywhere) and the atomic-write half of scenario 5.

Real processes (``scripts/backfill_events.py``) are SIGKILLed at random moments and resumed; the
final tables must equal the simulator's ground truth row by row, every column; the checkpoint must
parse after every kill and name only days the database holds; no checkpoint temp file may be left
once the runs end; and the API calls across all attempts may exceed the ideal by at most one day
(3 calls) per kill. Checkpoint writes themselves are killed at three deterministic points.

Not here: a kill exactly between a day's database commit and its checkpoint write. The day's mark
is moving into the database, written in the same transaction as its rows, which removes that
window; the test belongs with that change.
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

from helpers import (
    CAPTURED_TEXT,
    check_truth,
    finish,
    open_fresh_store,
    races_by_day,
    read_json,
    start_script,
    truth_for,
)
from utils.pipeline.checkpoint import Checkpoint

TODAY = date.today()


def _completed(checkpoint) -> int:
    try:
        return len(read_json(checkpoint)["completed_dates"])
    except (OSError, ValueError, KeyError):
        return 0


def _temp_files(checkpoint) -> list:
    return list(checkpoint.parent.glob(f".{checkpoint.name}.*.tmp"))


def _kill_and_resume(store_url, sim, tmp_path, start, end, kills_wanted, seed, stats,
                     max_advance: int = 6):
    expected, ideal, expected_by_day = truth_for(sim, start, end, TODAY)
    store = open_fresh_store(store_url)
    checkpoint = tmp_path / "kill.json"
    argv = ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
            "--database-url", store_url, "--checkpoint-file", str(checkpoint), "--quiet"]
    resume = ["--resume", *argv[4:]]
    rng = random.Random(seed)
    sim.reset_calls()
    kills = attempts = parsed_after_kill = 0
    try:
        while kills < kills_wanted:
            attempts += 1
            assert attempts <= kills_wanted * 2, "the run kept finishing before it could be killed"
            # killed before the first save: start again
            proc = start_script(resume if checkpoint.exists() else argv, sim)
            target = _completed(checkpoint) + rng.randint(0, max_advance)
            deadline = time.monotonic() + 60
            while proc.poll() is None and _completed(checkpoint) < target and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0, 0.25))      # anywhere: fetching, writing, saving the checkpoint
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            code, _, err = finish(proc, timeout=120)
            assert code in (0, -signal.SIGKILL), err
            if killed and checkpoint.exists():
                saved = Checkpoint.load(checkpoint)          # never torn: parses after every kill
                stored = races_by_day(store)
                whole = all(stored.get(d.isoformat(), set()) == expected_by_day.get(d.isoformat(), set())
                            for d in saved.completed)        # checkpointed => fully in the database
                parsed_after_kill += whole
                assert whole, sorted(saved.completed)
            elif killed:
                parsed_after_kill += 1                       # killed before its first save: nothing to parse
            if code == 0:
                break
        code, _, err = finish(start_script(resume, sim), timeout=600)
        assert code == 0, err
        assert kills == kills_wanted
        calls = len(sim.calls())
        leftovers = _temp_files(checkpoint)
        stats.add("kills", kills)
        stats.add("process_starts", attempts + 1)
        stats.add("checkpoint_parsed_after_kill", parsed_after_kill)
        stats.add("checkpoint_temp_files_left", len(leftovers))
        stats.add("api_calls", calls)
        stats.add("api_calls_ideal", ideal)
        check_truth(stats, store, expected)                  # every row, every column
        assert leftovers == []
        from utils.pipeline.events import DEFAULT_DAYS_IN_FLIGHT

        # a kill repeats at most the days in flight, each at most 3 calls (2 result pages + 1 card)
        stats.add("api_calls_repeated", calls - ideal)
        assert calls <= ideal + 3 * DEFAULT_DAYS_IN_FLIGHT * kills, (calls, ideal, kills)
    finally:
        store.close()


def test_five_kills_over_one_month_sqlite(simulator, tmp_path, stats):
    start = TODAY - timedelta(days=75)
    _kill_and_resume(f"sqlite:///{tmp_path}/k.db", simulator, tmp_path, start, start + timedelta(days=29),
                     5, 11, stats, max_advance=3)


@pytest.mark.reliability
def test_thirty_kills_over_six_months(any_url, simulator, tmp_path, stats):
    start = TODAY - timedelta(days=200)
    _kill_and_resume(any_url, simulator, tmp_path, start, start + timedelta(days=181), 30,
                     2026 if any_url.startswith("sqlite") else 4242, stats)


# A process that writes the checkpoint over and over with utils.pipeline.checkpoint.atomic_write_json, and
# stops for good at one chosen point of one chosen write (printing "paused"), so the test kills it
# exactly there: "mid-write" (half the document in the temp file), "before-rename" (the temp file
# complete and synced), "after-rename" (renamed, the folder not yet synced). "none": three writes.
WRITER = r"""
import itertools, json, os, sys, time
sys.path.insert(0, sys.argv[1])
from utils.pipeline import checkpoint
target, pause_at, phase = sys.argv[2], int(sys.argv[3]), sys.argv[4]
write = {"n": -1}
real_dump, real_replace = json.dump, os.replace

def pause():
    print("paused", phase, write["n"], flush=True)
    time.sleep(600)

def dump(obj, fp, **kw):
    if write["n"] == pause_at and phase == "mid-write":
        text = json.dumps(obj, **kw)
        fp.write(text[: len(text) // 2])
        fp.flush()
        os.fsync(fp.fileno())
        pause()
    return real_dump(obj, fp, **kw)

def replace(src, dst):
    if write["n"] == pause_at and phase == "before-rename":
        pause()
    real_replace(src, dst)
    if write["n"] == pause_at and phase == "after-rename":
        pause()

json.dump, os.replace = dump, replace
for i in itertools.count() if phase != "none" else range(3):
    write["n"] = i
    checkpoint.atomic_write_json(
        target, {"n": i, "completed_dates": ["2024-01-%02d" % (d % 28 + 1) for d in range(i * 50)]})
"""
PHASES = ("mid-write", "before-rename", "after-rename")


def _writer(target, pause_at: int, phase: str) -> subprocess.Popen:
    from helpers import REPO

    return subprocess.Popen([sys.executable, "-c", WRITER, str(REPO), str(target), str(pause_at), phase],
                            stdout=subprocess.PIPE, text=True)


def test_checkpoint_writes_are_atomic_under_sigkill(tmp_path, stats):
    """Twenty SIGKILLs, each at a known point inside a checkpoint write: the file always parses and
    holds the last completed write; a write killed before its rename leaves exactly its own temp
    file, which the next write removes; none is left at the end."""
    target = tmp_path / "atomic.json"
    rng = random.Random(5)
    kills = parsed = 0
    for k in range(20):
        phase, pause_at = PHASES[k % 3], rng.randint(1, 12)
        proc = _writer(target, pause_at, phase)
        marker = proc.stdout.readline().split()            # blocks until the writer is at the point
        assert marker == ["paused", phase, str(pause_at)], marker
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        kills += 1
        data = json.loads(target.read_text())              # always a whole document ...
        completed = pause_at if phase == "after-rename" else pause_at - 1
        assert data["n"] == completed and len(data["completed_dates"]) == completed * 50, (phase, data["n"])
        parsed += 1                                        # ... the last one completed
        temps = list(tmp_path.glob(".atomic.json.*.tmp"))
        assert len(temps) == (0 if phase == "after-rename" else 1), (phase, temps)
    final = _writer(target, -1, "none")
    assert final.wait(timeout=60) == 0
    final.stdout.close()
    leftovers = list(tmp_path.glob(".atomic.json.*.tmp"))
    stats.add("atomic_write_kills", kills)
    stats.add("checkpoint_parsed_after_kill", parsed)
    stats.add("checkpoint_temp_files_left", len(leftovers))
    assert leftovers == []
    assert json.loads(target.read_text())["n"] == 2
    CAPTURED_TEXT.append(target.read_text())


# A backfill that stops for good right after the database committed its third day and before the
# JSON mirror records it (printing "paused"), so the test kills it exactly in that window.
BETWEEN_COMMIT_AND_MIRROR = r"""
import runpy, sys, time
sys.path.insert(0, sys.argv[1])
from utils.pipeline import events as backfill
real = backfill.EventsBackfill._commit_day
seen = {"n": 0}

def commit_day(self, day, outcome):
    seen["n"] += 1
    if seen["n"] == 3:
        print("paused", day.isoformat(), flush=True)
        time.sleep(600)
    real(self, day, outcome)

backfill.EventsBackfill._commit_day = commit_day
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_kill_between_the_database_commit_and_the_mirror_then_resume(simulator, tmp_path, stats):
    """The day the database committed is done, whatever the JSON mirror says: --resume never
    fetches it again, and the tables are the ground truth."""
    from helpers import REPO, script_env

    start, end = TODAY - timedelta(days=40), TODAY - timedelta(days=31)
    expected, _, _ = truth_for(simulator, start, end, TODAY)
    db = f"sqlite:///{tmp_path}/between.db"
    checkpoint = tmp_path / "between.json"
    argv = ["--start-date", start.isoformat(), "--end-date", end.isoformat(), "--database-url", db,
            "--checkpoint-file", str(checkpoint), "--days-in-flight", "1", "--quiet"]
    store = open_fresh_store(db)
    try:
        proc = subprocess.Popen([sys.executable, "-c", BETWEEN_COMMIT_AND_MIRROR, str(REPO),
                                 str(REPO / "scripts" / "backfill_events.py"), *argv],
                                env=script_env(simulator, {"RACING_API_RATE_SCALE": "400"}),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        marker = proc.stdout.readline().split()          # blocks until the window is reached
        assert marker[0] == "paused", marker
        paused_day = marker[1]
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        mirrored = {d for d in read_json(checkpoint)["completed_dates"]}
        assert paused_day not in mirrored and len(mirrored) == 2
        marked = {d["day"] for d in store.read("committed_days", start=start, end=end)}
        assert paused_day in marked and len(marked) == 3      # the database has it: committed
        calls_before = len(simulator.calls())
        code, out, err = finish(start_script(["--resume", *argv[4:]], simulator), timeout=300)
        assert code == 0, err
        resumed = simulator.calls()[calls_before:]
        assert not [c for c in resumed if paused_day in str(c.params)], "a committed day was fetched again"
        assert paused_day in read_json(checkpoint)["completed_dates"]     # the mirror caught up
        stats.add("kills_between_commit_and_mirror", 1)
        check_truth(stats, store, expected)
    finally:
        store.close()
