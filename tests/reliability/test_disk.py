"""Scenario 5: the checkpoint cannot be written (unwritable place, disk full) — a clear critical
stop (exit 3) before any data write that could not be checkpointed, and never a torn checkpoint."""
from __future__ import annotations

import errno
import os
from datetime import date, timedelta

from helpers import (
    check_truth,
    database_checksum,
    exit_code_of,
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
from utils.pipeline import checkpoint as checkpoint_module
from utils.pipeline.checkpoint import Checkpoint

TODAY = date.today()
START, END = TODAY - timedelta(days=30), TODAY - timedelta(days=24)


def _argv(cp, db=None):
    argv = ["--start-date", START.isoformat(), "--end-date", END.isoformat(), "--checkpoint-file", str(cp)]
    return argv + (["--database-url", db] if db else [])


def _row_total(store) -> int:
    return sum(n for n, _ in database_checksum(store).values())


def test_checkpoint_under_a_regular_file_is_critical_before_any_write(simulator, tmp_path, stats):
    db = f"sqlite:///{tmp_path}/d.db"
    open_fresh_store(db).close()
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a regular file where a folder should be")
    code, out, err = finish(start_script(_argv(blocker / "cp.json", db), simulator), timeout=60)
    assert code == 3, (out, err)
    assert one_line(err).startswith("critical:") and "not_a_dir" in err
    assert simulator.calls() == []
    store = open_fresh_store(db)
    try:
        assert _row_total(store) == 0
    finally:
        store.close()
    stats.add("disk_faults", 1)


def test_checkpoint_path_that_is_a_directory_is_critical_on_resume(simulator, tmp_path, stats):
    db = f"sqlite:///{tmp_path}/d.db"
    open_fresh_store(db).close()
    (tmp_path / "cp.json").mkdir()
    code, out, err = finish(start_script(["--resume", "--checkpoint-file", str(tmp_path / "cp.json"),
                                          "--database-url", db], simulator), timeout=60)
    assert code == 3, (out, err)
    assert one_line(err).startswith("critical:") and "cp.json" in err
    assert simulator.calls() == []
    stats.add("disk_faults", 1)


def _disk_full_after(monkeypatch, ok_writes: int):
    """os.fsync raises ENOSPC from the (ok_writes+1)-th checkpoint-module write on."""
    real = os.fsync
    seen = {"n": 0}

    def fsync(fd):
        if os.path.isdir(f"/proc/self/fd/{fd}"):          # the folder fsync after a rename
            return real(fd)
        seen["n"] += 1
        if seen["n"] > ok_writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(checkpoint_module.os, "fsync", fsync)
    return seen


def test_disk_full_at_start_stops_before_any_call_or_row(simulator, tmp_path, monkeypatch, capsys, stats):
    store = open_fresh_store(f"sqlite:///{tmp_path}/full.db")
    try:
        _disk_full_after(monkeypatch, 0)
        code, err = exit_code_of(lambda: run_events_inprocess(store, simulator, _argv(tmp_path / "cp.json"),
                                                              client=make_client(simulator)), capsys)
        assert code == 3
        assert "No space left" in one_line(err)
        assert simulator.calls() == []
        assert _row_total(store) == 0
        assert not (tmp_path / "cp.json").exists()
        assert list(tmp_path.glob(".cp.json.*")) == []          # no temp file left behind
    finally:
        store.close()
    stats.add("disk_faults", 1)


def test_disk_full_mid_run_keeps_the_checkpoint_whole_and_resume_completes(
        simulator, tmp_path, monkeypatch, capsys, stats):
    store = open_fresh_store(f"sqlite:///{tmp_path}/mid.db")
    cp = tmp_path / "cp.json"
    truth, _, expected = truth_for(simulator, START, END, TODAY)
    try:
        _disk_full_after(monkeypatch, 4)       # the initial save + 3 days, then the disk is full
        code, err = exit_code_of(lambda: run_events_inprocess(store, simulator, _argv(cp),
                                                              client=make_client(simulator)), capsys)
        assert code == 3 and "No space left" in one_line(err)
        saved = Checkpoint.load(cp)                               # parses: the old content stayed
        assert 1 <= len(saved.completed) <= 3     # (a chunk-end save may use one of the 4 writes)
        stored = races_by_day(store)
        marked = {d["day"] for d in store.read("committed_days", start=START, end=END)}
        for day in marked | {d.isoformat() for d in saved.completed}:
            assert stored.get(day, set()) == expected.get(day, set())     # every marked day whole
        assert set(stored) <= marked                     # no rows without their day's mark
        # the mirror lags the database by at most the days in flight when its save failed
        from utils.pipeline.events import DEFAULT_DAYS_IN_FLIGHT

        assert len(marked - {d.isoformat() for d in saved.completed}) <= DEFAULT_DAYS_IN_FLIGHT
        assert list(tmp_path.glob(".cp.json.*")) == []

        monkeypatch.undo()
        assert run_events_inprocess(store, simulator, ["--resume", "--checkpoint-file", str(cp)],
                                    client=make_client(simulator)) == 0
        assert races_by_day(store) == expected
        assert len(read_json(cp)["completed_dates"]) == (END - START).days + 1
        check_truth(stats, store, truth)                 # every row, every column
    finally:
        store.close()
    stats.add("disk_faults", 1)
