"""The resume hint repeats the options that chose the run's database and files, so following it
resumes the same run (and never falls back to the default database or the real API)."""
from __future__ import annotations

from pathlib import Path

from utils.commands.cli import build_parser
from utils.commands.events import EVENTS_OPTIONS, resume_command, run_files
from utils.commands.requests import EventsOptions


def hint(*argv: str) -> str:
    options = EventsOptions.from_args(build_parser("backfill_events.py", "test", EVENTS_OPTIONS).parse_args(list(argv)))
    return resume_command(options, run_files(options))


def test_plain_run_resumes_with_resume_only():
    assert hint("--start-date", "2025-01-01") == "python3 scripts/backfill_events.py --resume"


def test_database_url_is_repeated_with_its_password_masked():
    text = hint("--start-date", "2025-01-01", "--database-url", "postgresql://u:S3cretPw@db.example/x")
    assert "--database-url 'postgresql://u:****@db.example/x'" in text and "S3cretPw" not in text


def test_demo_and_checkpoint_file_are_repeated(tmp_path):
    assert hint("--demo", "--start-date", "2025-01-01").endswith("--resume --demo")
    custom = tmp_path / "cp.json"
    text = hint("--start-date", "2025-01-01", "--checkpoint-file", str(custom),
                "--database-url", "sqlite:///data/x.db")
    assert f"--checkpoint-file {Path(custom).resolve()}" in text
    assert "--database-url 'sqlite:///data/x.db'" in text
