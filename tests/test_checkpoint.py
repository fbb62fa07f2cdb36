"""Checkpoint, error log and lock: atomic, validated, crash-safe."""
import json
import os
import subprocess
import sys
from datetime import date

import pytest

from utils.errors import CheckpointError, LockHeldError
from utils.pipeline.checkpoint import Checkpoint, ErrorLog, RunLock, atomic_write_json

PARAMS = {"start_date": "2024-01-01", "end_date": "2024-01-31", "region_codes": ["gb", "ire"],
          "racecards": True, "results": True}


def test_round_trip_with_guide_fields(tmp_path):
    cp = Checkpoint(tmp_path / "cp.json", dict(PARAMS), {date(2024, 1, 2), date(2024, 1, 1)},
                    {"total_chunks": 1, "chunks_processed": 0, "total_races": 70, "total_runners": 700})
    cp.save()
    raw = json.loads((tmp_path / "cp.json").read_text())
    for key in ("timestamp", "start_date", "end_date", "stats", "params", "completed_dates"):
        assert key in raw
    assert raw["completed_dates"] == ["2024-01-01", "2024-01-02"]
    assert raw["stats"]["total_runners"] == 700
    loaded = Checkpoint.load(tmp_path / "cp.json")
    assert loaded.completed == cp.completed and loaded.params == PARAMS and loaded.mismatch(PARAMS) == []


def test_missing_checkpoint_is_none(tmp_path):
    assert Checkpoint.load(tmp_path / "nope.json") is None


@pytest.mark.parametrize("content", ["{not json", "[]", '{"version": 1}', '{"version": 99, "params": {}}',
                                     '{"version": 1, "params": {}, "stats": {}, "completed_dates": ["x"]}'])
def test_corrupt_checkpoint_refused_clearly(tmp_path, content):
    path = tmp_path / "cp.json"
    path.write_text(content)
    with pytest.raises(CheckpointError, match="cp.json"):
        Checkpoint.load(path)


def test_mismatch_names_the_parameters():
    cp = Checkpoint(None, dict(PARAMS))
    assert cp.mismatch({**PARAMS, "end_date": "2024-02-29", "results": False}) == ["end_date", "results"]


def test_atomic_write_leaves_old_content_when_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "cp.json"
    atomic_write_json(path, {"a": 1})

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(CheckpointError, match="No space left"):
        atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["cp.json"]   # no temp file left behind


def test_unwritable_directory_is_a_checkpoint_error(tmp_path):
    if os.geteuid() == 0:
        target = tmp_path / "file-not-dir" / "cp.json"
        (tmp_path / "file-not-dir").write_text("x")       # root ignores mode bits; use ENOTDIR
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        target = ro / "cp.json"
    with pytest.raises(CheckpointError, match="cannot write"):
        atomic_write_json(target, {"a": 1})


def test_error_log_records_replaces_and_clears(tmp_path):
    log = ErrorLog(tmp_path / "errors.json")
    log.record(chunk="2024-01-01 to 2024-01-31", day=date(2024, 1, 5), endpoint="results", error="503")
    log.record(chunk="2024-01-01 to 2024-01-31", day=date(2024, 1, 3), endpoint="racecards", error="x")
    log.record(chunk="2024-01-01 to 2024-01-31", day=date(2024, 1, 5), endpoint="results", error="timeout")
    loaded = ErrorLog.load(tmp_path / "errors.json")
    assert loaded.failed_dates() == [date(2024, 1, 3), date(2024, 1, 5)]
    assert {e["error"] for e in loaded.entries} == {"x", "timeout"}
    assert set(loaded.entries[0]) == {"timestamp", "chunk", "date", "endpoint", "error"}
    loaded.clear(date(2024, 1, 5))
    assert ErrorLog.load(tmp_path / "errors.json").failed_dates() == [date(2024, 1, 3)]


def test_error_log_must_be_a_list(tmp_path):
    (tmp_path / "errors.json").write_text('{"date": "2024-01-01"}')
    with pytest.raises(CheckpointError):
        ErrorLog.load(tmp_path / "errors.json")


def test_lock_refuses_second_holder_and_is_freed_when_process_dies(tmp_path):
    lock_path = tmp_path / "cp.json.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, sys.argv[2]);"
        "from utils.pipeline.checkpoint import RunLock; RunLock(sys.argv[1]).acquire(); print('held', flush=True);"
        "time.sleep(60)"), str(lock_path), os.getcwd()], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeldError, match=str(holder.pid)):
            RunLock(lock_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    with RunLock(lock_path):       # SIGKILL released it: no stale lock
        pass
