"""Scenario 9: no log, checkpoint, error file or exception text written by the session's runs holds
the API password, the Supabase key or the database password. Marked ``runs_last``: the folder's
conftest moves these tests after every other test, whatever the file names."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import CAPTURED_TEXT, REPO, SECRETS, SESSION_START, finish, start_script


def _files_written(tmp_root: Path) -> list[Path]:
    logs = [p for p in (REPO / "logs").rglob("*") if p.is_file() and p.stat().st_mtime >= SESSION_START - 1]
    tmp = [p for p in tmp_root.rglob("*") if p.is_file() and p.suffix not in (".db", "-wal", "-shm")
           and not p.name.endswith((".db-wal", ".db-shm"))]
    return logs + tmp


@pytest.mark.runs_last
def test_no_secret_in_any_file_or_message(simulator, tmp_path, tmp_path_factory, stats):
    _scan(simulator, tmp_path, tmp_path_factory, stats)


@pytest.mark.reliability
@pytest.mark.runs_last
def test_no_secret_after_the_heavy_scenarios(simulator, tmp_path, tmp_path_factory, stats):
    _scan(simulator, tmp_path, tmp_path_factory, stats)


def _scan(simulator, tmp_path, tmp_path_factory, stats):
    # one more run that fails on purpose with every secret in play (exception text path)
    code, out, err = finish(start_script(
        ["--start-date", "2024-01-01", "--end-date", "2024-01-02", "--checkpoint-file", str(tmp_path / "s.json")],
        simulator, env_overrides={"DATABASE_URL": f"postgresql://postgres:{SECRETS[2]}@127.0.0.1:1/nowhere"}), 120)
    assert code == 3 and "****" in err and "Traceback" not in err, err
    # ... and one that leaves a checkpoint and an error log behind (a day that keeps failing)
    from datetime import date, timedelta

    from helpers import open_fresh_store
    day = date.today() - timedelta(days=20)
    db = f"sqlite:///{tmp_path}/s.db"
    open_fresh_store(db).close()
    simulator.fail_date(day, "results", "html200")
    code, out, err = finish(start_script(
        ["--start-date", day.isoformat(), "--end-date", (day + timedelta(days=1)).isoformat(),
         "--database-url", db, "--checkpoint-file", str(tmp_path / "e.json")], simulator), 120)
    assert code == 1, err
    import json
    assert [e["date"] for e in json.loads((tmp_path / "e_errors.json").read_text())] == [day.isoformat()]
    files = _files_written(tmp_path_factory.getbasetemp())
    run_logs = [p for p in files if p.suffix == ".log"]
    assert run_logs, "no run log files were written: nothing to scan"
    assert any(p.name.endswith(".json") for p in files)
    assert len(CAPTURED_TEXT) > 1
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        for secret in SECRETS:
            assert secret not in text, f"{secret[:8]}… found in {path}"
    for text in CAPTURED_TEXT:
        for secret in SECRETS:
            assert secret not in text, f"{secret[:8]}… found in a run's output"
    stats.add("files_scanned_for_secrets", len(files))
    stats.add("outputs_scanned_for_secrets", len(CAPTURED_TEXT))
