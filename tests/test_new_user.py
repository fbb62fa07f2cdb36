"""What a new user hits (issue 16): the UK date, unknown region codes, read-only commands that
must create nothing, logs that must not pile up, and log lines that must not break a progress bar.

Every test here runs the real scripts (or the real logging/progress plumbing) the way a user does.
"""
from __future__ import annotations

import io
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from helpers import REPO, open_fresh_store, run_events_script

SCRIPTS = REPO / "scripts"
README = REPO / "README.md"


def run(script: str, argv: list[str], *, sim=None, env: dict | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess:
    """A script as a user runs it (``python3 scripts/<script>.py …``), optionally pointed at the
    simulator; the environment never names a database, so only ``--database-url`` does."""
    proc = start(script, argv, sim=sim, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def pinned(utc: datetime, tz: str) -> dict:
    """Environment for a run on a machine in ``tz`` at the instant ``utc``."""
    return {"TZ": tz, "DARKHORSES_NOW": utc.isoformat()}


def fresh_db(tmp_path: Path, name: str = "db.db") -> str:
    url = f"sqlite:///{tmp_path / name}"
    open_fresh_store(url).close()
    return url


# --- 1. "today" is the UK's date ---------------------------------------------------------------------
# A pinned instant (DARKHORSES_NOW) far from the real date, so that a script that reads the machine's
# clock cannot pass by luck. 2026-03-10 12:30 UTC is 02:30 on the 11th on Kiritimati (UTC+14);
# 03:00 UTC is 20:00 on the 9th in Los Angeles (PDT from 8 March). Both are the 10th in the UK.
UK_DAY = date(2026, 3, 10)
KIRITIMATI_NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
LOS_ANGELES_NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("instant, uk", [
    ("2026-03-29T00:30:00+00:00", "2026-03-29"),    # 00:30 GMT, just before the spring change
    ("2026-03-28T23:30:00+00:00", "2026-03-28"),    # 23:30 GMT
    ("2026-06-30T23:30:00+00:00", "2026-07-01"),    # 00:30 BST: already tomorrow in the UK
    ("2026-10-24T23:00:00+00:00", "2026-10-25"),    # 00:00 BST on the night of the autumn change
    ("2026-10-25T23:30:00+00:00", "2026-10-25"),    # 23:30 GMT after it
    ("2026-03-10T12:30:00+14:00", "2026-03-09"),    # Kiritimati's morning is the UK's evening before
    ("2026-03-10T20:00:00-08:00", "2026-03-11"),    # Los Angeles' evening is the UK's next morning
])
def test_uk_today_is_the_london_date_of_the_instant(instant, uk):
    from utils import planning

    moment = datetime.fromisoformat(instant)
    assert planning.uk_today(moment) == date.fromisoformat(uk)
    # the same answer without a time-zone database (the built-in GMT/BST rule)
    assert planning.uk_today(moment, use_tz_database=False) == date.fromisoformat(uk)


def test_the_built_in_uk_rule_agrees_with_the_time_zone_database_every_half_hour_of_two_years():
    from utils import planning

    moment = datetime(2025, 1, 1, tzinfo=UTC)
    while moment.year < 2027:
        assert planning.uk_today(moment, use_tz_database=False) == planning.uk_today(moment), moment
        moment += timedelta(minutes=30)


def test_a_pinned_clock_that_is_not_an_instant_is_a_usage_error(tmp_path):
    out = run("backfill_all", ["--dry-run", "--start-date", "2026-01-01"],
              env={"DARKHORSES_NOW": "yesterday"})
    assert out.returncode == 2, out.stderr
    assert "DARKHORSES_NOW" in out.stderr and "Traceback" not in out.stderr


def test_incremental_on_a_server_ahead_of_the_uk_asks_only_for_days_the_api_serves(simulator, tmp_path):
    """On Kiritimati the machine's date is already tomorrow; "today + 7" by the machine's clock is
    refused by the API (422), so the run used to stop with exit 3 every hour for half the day."""
    uk = UK_DAY
    simulator.today = uk                       # the API's day is the UK's
    url = fresh_db(tmp_path)
    out = run("backfill_events", ["--incremental", "--start-date", (uk - timedelta(days=1)).isoformat(),
                                  "--no-results", "--database-url", url,
                                  "--checkpoint-file", str(tmp_path / "inc.json")],
              sim=simulator, env=pinned(KIRITIMATI_NOW, "Pacific/Kiritimati"))
    assert out.returncode == 0, out.stdout[-1500:] + out.stderr[-1500:]
    assert f"{uk - timedelta(days=1)} to {uk + timedelta(days=7)}" in out.stdout
    asked = {c.params["date"][0] for c in simulator.calls("racecards")}
    assert max(asked) == (uk + timedelta(days=7)).isoformat()


def test_end_date_defaults_to_the_uk_date_on_a_server_behind_the_uk(tmp_path):
    """In Los Angeles it is still yesterday evening: the default --end-date must be the UK's today."""
    url = fresh_db(tmp_path)
    start = (UK_DAY - timedelta(days=3)).isoformat()
    out = run("backfill_events", ["--start-date", start, "--check-status", "--database-url", url,
                                  "--checkpoint-file", str(tmp_path / "s.json")],
              env=pinned(LOS_ANGELES_NOW, "America/Los_Angeles"))
    assert out.returncode == 0, out.stderr
    assert f"Range {start} to {UK_DAY}:" in out.stdout


@pytest.mark.parametrize("tz, instant", [("Pacific/Kiritimati", KIRITIMATI_NOW),
                                         ("America/Los_Angeles", LOS_ANGELES_NOW)])
def test_the_plan_of_backfill_all_ends_on_the_uk_date(tz, instant):
    start = (UK_DAY - timedelta(days=3)).isoformat()
    out = run("backfill_all", ["--dry-run", "--start-date", start], env=pinned(instant, tz))
    assert out.returncode == 0, out.stderr
    assert f"events {start} to {UK_DAY}:" in out.stdout


@pytest.mark.parametrize("tz, instant", [("Pacific/Kiritimati", KIRITIMATI_NOW),
                                         ("America/Los_Angeles", LOS_ANGELES_NOW)])
def test_the_report_s_today_and_yesterday_are_the_uk_s(tmp_path, tz, instant):
    url = fresh_db(tmp_path)
    out = run("backfill_report", ["--database-url", url, "--format", "json", "--out", str(tmp_path / "r")],
              env=pinned(instant, tz))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["today"] == UK_DAY.isoformat()


def _zone_on_another_date_than_the_uk() -> tuple[str, date]:
    """A named zone whose date differs from the UK's right now (one always does: Kiritimati is
    ahead once it is past 10:00 in London, Pago Pago behind until 11:00), not near a midnight."""
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    uk = now.astimezone(ZoneInfo("Europe/London"))
    for name in ("Pacific/Kiritimati", "America/Los_Angeles", "Pacific/Pago_Pago"):
        local = now.astimezone(ZoneInfo(name))
        near_midnight = any(abs((t.hour * 60 + t.minute) - m) < 5 for t in (local, uk) for m in (0, 1440))
        if local.date() != uk.date() and not near_midnight:
            return name, uk.date()
    pytest.skip("every candidate zone is within minutes of a midnight; run again in five minutes")


def test_with_the_real_clock_the_default_end_date_is_the_uk_s_date(tmp_path):
    zone, uk = _zone_on_another_date_than_the_uk()
    url = fresh_db(tmp_path)
    start = (uk - timedelta(days=3)).isoformat()
    out = run("backfill_events", ["--start-date", start, "--check-status", "--database-url", url,
                                  "--checkpoint-file", str(tmp_path / "s.json")], env={"TZ": zone})
    assert out.returncode == 0, out.stderr
    assert f"Range {start} to {uk}:" in out.stdout, (zone, out.stdout)


# Files that still call date.today() and are being changed by their owner (each needs one line:
# ``planning.uk_today()`` instead of ``date.today()``); remove a file from here once it is done.
PENDING_TODAY: set[str] = set()


def test_no_code_takes_today_from_the_machine_s_clock():
    offenders = set()
    for folder in ("utils", "scripts"):
        for path in (REPO / folder).rglob("*.py"):
            if re.search(r"\bdate\.today\(\)", path.read_text(encoding="utf-8")):
                offenders.add(str(path.relative_to(REPO)))
    assert offenders <= PENDING_TODAY, sorted(offenders - PENDING_TODAY)


# --- 2. unknown region codes are refused before any work -----------------------------------------------
@pytest.mark.parametrize("script, extra", [
    ("backfill_events", ["--start-date", "2026-01-01", "--end-date", "2026-01-02"]),
    ("backfill_masters", []),
    ("backfill_all", ["--start-date", "2026-01-01", "--end-date", "2026-01-02"]),
    ("backfill_all", ["--start-date", "2026-01-01", "--end-date", "2026-01-02", "--dry-run"]),
])
def test_an_unknown_region_code_is_refused_with_the_valid_ones(script, extra, simulator, tmp_path):
    db = tmp_path / "x.db"
    out = run(script, [*extra, "--region-codes", "gb", "xx", "--database-url", f"sqlite:///{db}",
                       "--checkpoint-file", str(tmp_path / "c.json")] if script != "backfill_masters"
              else [*extra, "--region-codes", "gb", "xx", "--database-url", f"sqlite:///{db}"],
              sim=simulator)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "'xx'" in out.stderr and "gb, ire, fr" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not db.exists() and simulator.calls() == []


def test_region_codes_in_any_case_are_accepted_and_normalised(simulator, tmp_path):
    url = fresh_db(tmp_path)
    out = run("backfill_masters", ["--region-codes", "GB", "Ire", "--database-url", url], sim=simulator)
    assert out.returncode == 0, out.stderr
    assert simulator.calls("courses")[0].params["region_codes"] == ["gb", "ire"]
    store = open_fresh_store(url)
    try:
        assert {r[0] for r in store.query("SELECT DISTINCT region_code FROM ra_mst_courses")} == {"gb", "ire"}
    finally:
        store.close()


def test_the_built_in_region_list_is_the_api_s_and_is_documented():
    from utils.commands.cli import API_REGIONS, region_code
    from utils.simulator.dataset import REGIONS

    assert dict(API_REGIONS) == {code: name for name, code in REGIONS}
    assert region_code(" FR ") == "fr"
    readme = README.read_text(encoding="utf-8")
    section = readme[readme.index("Region codes"):]
    for code in dict(API_REGIONS):
        assert f"`{code}`" in section, code


# --- 5. read-only commands create nothing ---------------------------------------------------------------
READ_ONLY = [
    ("verify_backfill", []),
    ("backfill_report", ["--out", "{tmp}/out"]),
    ("backfill_events", ["--start-date", "2026-01-01", "--end-date", "2026-01-02", "--check-status",
                         "--checkpoint-file", "{tmp}/c.json"]),
    ("enrich_horses", ["--check-status"]),
]


@pytest.mark.parametrize("script, extra", READ_ONLY)
@pytest.mark.parametrize("where", ["missing_dir", "missing_file"])
def test_a_read_only_command_on_a_missing_database_creates_nothing(script, extra, where, tmp_path):
    db = tmp_path / "nonexistent" / "dir" / "x.db" if where == "missing_dir" else tmp_path / "x.db"
    before = sorted(tmp_path.rglob("*"))
    out = run(script, [*(a.replace("{tmp}", str(tmp_path)) for a in extra),
                       "--database-url", f"sqlite:///{db}"])
    assert out.returncode == 2, out.stdout + out.stderr
    assert (f"no database at {db}; create it with python3 scripts/init_db.py "
            f"--database-url sqlite:///{db}") in out.stderr
    assert "Traceback" not in out.stderr
    assert sorted(tmp_path.rglob("*")) == before          # no file, no directory


@pytest.mark.parametrize("script, extra", [
    ("init_db", []),
    ("backfill_events", ["--start-date", "2026-01-01", "--end-date", "2026-01-02",
                         "--checkpoint-file", "{tmp}/c.json"]),
    ("backfill_masters", []),
    ("enrich_horses", []),
])
def test_a_write_command_refuses_a_missing_directory(script, extra, simulator, tmp_path):
    db = tmp_path / "no" / "such" / "x.db"
    out = run(script, [*(a.replace("{tmp}", str(tmp_path)) for a in extra), "--database-url", f"sqlite:///{db}"],
              sim=simulator)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"{tmp_path / 'no' / 'such'} does not exist" in out.stderr and "mkdir -p" in out.stderr
    assert not (tmp_path / "no").exists() and simulator.calls() == []


def test_init_db_creates_a_missing_file_in_an_existing_directory(tmp_path):
    db = tmp_path / "new.db"
    out = run("init_db", ["--database-url", f"sqlite:///{db}"])
    assert out.returncode == 0, out.stderr
    assert db.is_file()
    out = run("verify_backfill", ["--database-url", f"sqlite:///{db}"])
    assert "no database at" not in out.stderr


def test_the_default_data_directory_may_be_created():
    from utils.stores.target import REPO_ROOT, check_sqlite_location, resolve_database

    target = resolve_database(f"sqlite:///{REPO_ROOT}/data/never-created-by-this-test.db", {})
    check_sqlite_location(target, must_exist=False)                       # no error
    with pytest.raises(Exception, match="no database at"):
        check_sqlite_location(target, must_exist=True)
    assert not target.sqlite_path.exists()
    other = resolve_database("sqlite:////nonexistent-darkhorses-dir/x.db", {})
    with pytest.raises(Exception, match="does not exist"):
        check_sqlite_location(other, must_exist=False)
    rest = resolve_database(None, {"SUPABASE_URL": "https://x.supabase.co", "SUPABASE_SERVICE_KEY": "k" * 8})
    check_sqlite_location(rest, must_exist=True)                          # not a file: nothing to check


# --- 6. one log file per script per day, with retention -------------------------------------------------
@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def test_one_log_file_per_script_per_day_appended_and_old_ones_deleted(tmp_path, restore_logging, monkeypatch):
    from utils.commands.cli import setup_logging

    monkeypatch.delenv("DARKHORSES_LOG_RETENTION_DAYS", raising=False)
    today = datetime.now().date()
    old = [tmp_path / "myscript_20000101.log", tmp_path / "myscript_20000101_101010.log",
           tmp_path / f"myscript_{today - timedelta(days=31):%Y%m%d}.log"]
    kept = [tmp_path / f"myscript_{today - timedelta(days=29):%Y%m%d}.log",
            tmp_path / "other_20000101.log", tmp_path / "myscript_checkpoint.json",
            tmp_path / "cron.log"]
    for path in old + kept:
        path.write_text("x\n")
    first = setup_logging("myscript", log_dir=tmp_path)
    logging.getLogger("darkhorses").info("first run line")
    second = setup_logging("myscript", log_dir=tmp_path)
    logging.getLogger("darkhorses").info("second run line")
    logging.getLogger().handlers[-1].flush()
    assert first == second == tmp_path / f"myscript_{today:%Y%m%d}.log"
    text = first.read_text()
    assert "first run line" in text and "second run line" in text
    assert [p for p in old if p.exists()] == []
    assert all(p.exists() for p in kept)


def test_log_retention_is_a_setting(tmp_path, restore_logging, monkeypatch):
    from utils.commands.cli import setup_logging
    from utils.errors import ConfigError

    ancient = tmp_path / "myscript_20000101.log"
    ancient.write_text("x\n")
    monkeypatch.setenv("DARKHORSES_LOG_RETENTION_DAYS", "0")      # 0 keeps every file
    setup_logging("myscript", log_dir=tmp_path)
    assert ancient.exists()
    monkeypatch.setenv("DARKHORSES_LOG_RETENTION_DAYS", "10000")
    setup_logging("myscript", log_dir=tmp_path)
    assert ancient.exists()
    monkeypatch.setenv("DARKHORSES_LOG_RETENTION_DAYS", "7")
    setup_logging("myscript", log_dir=tmp_path)
    assert not ancient.exists()
    monkeypatch.setenv("DARKHORSES_LOG_RETENTION_DAYS", "a week")
    with pytest.raises(ConfigError, match="DARKHORSES_LOG_RETENTION_DAYS"):
        setup_logging("myscript", log_dir=tmp_path)


def _readme_block(lang: str, after: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"```{lang}\n", text.index(after)) + len(lang) + 4
    return text[start:text.index("```", start)]


def test_the_readme_s_cron_and_logrotate_examples_match_and_work(tmp_path):
    readme = README.read_text(encoding="utf-8")
    assert "logs/<script>_YYYYMMDD.log" in readme and "DARKHORSES_LOG_RETENTION_DAYS" in readme
    assert "_YYYYMMDD_HHMMSS" not in readme
    cron = [line for line in _readme_block("cron", "Daily updates from cron").splitlines()
            if line and not line.startswith("#")]
    assert cron
    appended = set()
    for line in cron:
        command = line.split(None, 5)[5]
        assert command.startswith("cd /opt/darkhorses && .venv/bin/python scripts/"), command
        script_argv = command.split("&& .venv/bin/python ", 1)[1].split(" >>")[0].split()
        assert (REPO / script_argv[0]).is_file(), script_argv[0]
        help_text = subprocess.run([sys.executable, str(REPO / script_argv[0]), "--help"],
                                   capture_output=True, text=True, timeout=60).stdout
        for option in script_argv[1:]:
            assert option in help_text, (script_argv[0], option)
        appended |= set(re.findall(r">> (\S+)", command))
    config = _readme_block("", "/etc/logrotate.d/darkhorses")
    paths = [p for header in re.findall(r"^(/[^{]+)\{", config, re.M) for p in header.split()]
    assert paths
    assert {p.replace("/opt/darkhorses/", "") for p in paths} >= appended
    # What the scripts prune themselves must not also be rotated by logrotate.
    for pattern in paths:
        assert not Path("/opt/darkhorses/logs/backfill_events_20260101.log").match(pattern), pattern
    if not shutil.which("logrotate"):
        pytest.skip("logrotate is not installed: the README's snippet was checked but not run")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "cron.log").write_text("an hour of cron output\n" * 10)
    daily = logs / "backfill_events_20260101.log"
    daily.write_text("a run\n")
    conf = tmp_path / "darkhorses.conf"
    conf.write_text(config.replace("/opt/darkhorses", str(tmp_path)))
    conf.chmod(0o644)
    done = subprocess.run([shutil.which("logrotate"), "-f", "-s", str(tmp_path / "state"), str(conf)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (logs / "cron.log").stat().st_size == 0                     # truncated in place
    assert any(p.name.startswith("cron.log.1") for p in logs.iterdir())
    assert daily.read_text() == "a run\n" and not any(p.name.startswith(daily.name + ".") for p in logs.iterdir())


# --- 7. a log line during a progress bar does not break the bar's line ----------------------------------
def _screen(raw: str) -> list[str]:
    """What a terminal shows for ``raw``: a carriage return moves back to column 0 and the text after
    it overwrites the line; ``ESC[A`` (tqdm moving up) is ignored."""
    lines = []
    for physical in re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw).split("\n"):
        shown: list[str] = []
        col = 0
        for part in re.split(r"(\r)", physical):
            if part == "\r":
                col = 0
                continue
            for ch in part:
                if col < len(shown):
                    shown[col] = ch
                else:
                    shown.append(ch)
                col += 1
        lines.append("".join(shown).rstrip())
    return lines


@pytest.mark.parametrize("kind", ["events", "count"])
def test_a_warning_printed_during_a_bar_gets_a_line_of_its_own(kind, monkeypatch, restore_logging):
    """A terminal shows stdout (log lines) and stderr (the bar) on one screen."""
    from utils.commands.cli import setup_logging
    from utils.commands.progress import ConsoleProgress, CountProgress

    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(sys, "stderr", terminal)
    setup_logging("bar_test", log_dir=None)
    warning = "results 2026-01-02: HTTP 503, retrying in 2.0 s (attempt 1/5)"
    if kind == "events":
        from types import SimpleNamespace

        progress = ConsoleProgress(3, show_bar=True)
        progress.day_done(SimpleNamespace(day=date(2026, 1, 1), races=30, runners=7367))
        logging.getLogger("darkhorses.api").warning(warning)
        progress.day_done(SimpleNamespace(day=date(2026, 1, 2), races=31, runners=280))
    else:
        progress = CountProgress(300, "horses", show_bar=True)
        progress.advance_to(100, "enriched=100")
        logging.getLogger("darkhorses.api").warning(warning)
        progress.advance_to(200, "enriched=200")
    progress.close()
    logging.getLogger("darkhorses").info("after the bar")
    shown = _screen(terminal.getvalue())
    assert warning in shown, shown                # the whole line, nothing of the bar before it
    assert "after the bar" in shown, shown


# --- fixtures for the items below ------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """A fresh, migrated database: SQLite in tmp_path, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield fresh_db(tmp_path)
        return
    from pg_databases import _admin, temporary_database

    _admin().close()                   # a loud skip (or a failure with REQUIRE_POSTGRES=1)
    with temporary_database("dh_new_user") as url:
        open_fresh_store(url).close()
        yield url


def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def load(url: str, sim, start: date, end: date, tmp_path: Path, *extra: str, name: str = "load") -> None:
    """A plain backfill of ``start``..``end`` into ``url`` (its own checkpoint under tmp_path)."""
    out = run("backfill_events", ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
                                  "--database-url", url, "--checkpoint-file", str(tmp_path / f"{name}.json"),
                                  "--quiet", *extra], sim=sim)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


# --- 8. an impossible date in the right form says why -------------------------------------------------------
@pytest.mark.parametrize("text, why", [
    ("2026-02-30", "2026-02-30 is not a valid date (February has 28 days in 2026)"),
    ("2024-02-30", "2024-02-30 is not a valid date (February has 29 days in 2024)"),
    ("2025-04-31", "2025-04-31 is not a valid date (April has 30 days)"),
    ("2025-13-01", "2025-13-01 is not a valid date (there is no month 13)"),
    ("2025-00-10", "2025-00-10 is not a valid date (there is no month 0)"),
    ("2025-01-00", "2025-01-00 is not a valid date (days start at 1)"),
])
def test_an_impossible_date_in_the_right_form_says_what_is_wrong(text, why, tmp_path):
    out = run("backfill_events", ["--start-date", text, "--check-status", "--database-url", fresh_db(tmp_path),
                                  "--checkpoint-file", str(tmp_path / "c.json")])
    assert out.returncode == 2, out.stderr
    line = one_line(out.stderr)
    assert why in line and "in the form" not in line, line


@pytest.mark.parametrize("text", ["2026/02/01", "20260201", "yesterday", "2026-2-1"])
def test_a_date_in_another_form_is_still_asked_for_in_the_form_yyyy_mm_dd(text, tmp_path):
    out = run("verify_backfill", ["--start-date", text, "--database-url", fresh_db(tmp_path)])
    assert out.returncode == 2, out.stderr
    assert f"{text!r} is not a date in the form YYYY-MM-DD" in one_line(out.stderr)


# --- 9. a wrong-shape checkpoint names the field ------------------------------------------------------------
GOOD_PARAMS = {"start_date": "2026-01-01", "end_date": "2026-01-05", "region_codes": ["gb", "ire"],
               "racecards": True, "results": True}
GOOD_CHECKPOINT = {"version": 1, "params": GOOD_PARAMS, "stats": {}, "completed_dates": []}


@pytest.mark.parametrize("change, field", [
    ({"params": None}, "'params' is missing"),
    ({"params": ["2026-01-01"]}, "'params' must be an object"),
    ({"params": {k: v for k, v in GOOD_PARAMS.items() if k != "end_date"}}, "'params.end_date' is missing"),
    ({"params": {**GOOD_PARAMS, "start_date": "2026-02-30"}}, "'params.start_date' must be a date YYYY-MM-DD"),
    ({"params": {**GOOD_PARAMS, "region_codes": "gb"}}, "'params.region_codes' must be a list of region codes"),
    ({"params": {**GOOD_PARAMS, "racecards": "yes"}}, "'params.racecards' must be true or false"),
    ({"completed_dates": None}, "'completed_dates' is missing"),
    ({"completed_dates": "2026-01-01"}, "'completed_dates' must be a list of dates YYYY-MM-DD"),
    ({"completed_dates": ["2026-01-01", "x"]}, "'completed_dates' must be a list of dates YYYY-MM-DD"),
    ({"stats": ["x"]}, "'stats' must be an object of whole numbers"),
    ({"version": 7}, "'version' is 7; this code reads version 1"),
])
def test_a_wrong_shape_checkpoint_names_the_field(change, field, simulator, tmp_path):
    data = {**GOOD_CHECKPOINT, **change}
    data = {k: v for k, v in data.items() if v is not None}
    checkpoint = tmp_path / "cp.json"
    checkpoint.write_text(json.dumps(data))
    out = run("backfill_events", ["--resume", "--database-url", fresh_db(tmp_path),
                                  "--checkpoint-file", str(checkpoint)], sim=simulator)
    assert out.returncode == 3, out.stdout + out.stderr
    line = one_line(out.stderr)
    assert field in line and str(checkpoint) in line and "move it aside" in line, line
    assert "Traceback" not in out.stderr and simulator.calls() == []


def test_a_checkpoint_that_is_not_an_object_says_so(simulator, tmp_path):
    checkpoint = tmp_path / "cp.json"
    checkpoint.write_text("[1, 2]")
    out = run("backfill_events", ["--resume", "--database-url", fresh_db(tmp_path),
                                  "--checkpoint-file", str(checkpoint)], sim=simulator)
    assert out.returncode == 3
    assert "must be a JSON object" in one_line(out.stderr)


# --- 16. the report's files get the same permissions -------------------------------------------------------
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_the_report_s_files_get_the_same_permissions(umask, mode, sim, tmp_path):
    url = fresh_db(tmp_path)
    load(url, sim, date(2025, 1, 2), date(2025, 1, 3), tmp_path)
    out_dir = tmp_path / "reports"
    previous = os.umask(umask)          # the child inherits it
    try:
        out = run("backfill_report", ["--database-url", url, "--out", str(out_dir), "--quiet"])
    finally:
        os.umask(previous)
    assert out.returncode == 0, out.stderr
    modes = {p.name: p.stat().st_mode & 0o777 for p in out_dir.iterdir()}
    assert modes == {"coverage.png": mode, "summary.md": mode, "summary.json": mode}, \
        {k: oct(v) for k, v in modes.items()}


# --- 17. the simulator's --help shows the account it accepts ------------------------------------------------
def test_the_simulator_s_help_shows_its_default_username_and_password():
    from utils.commands.demo import DEMO_PASSWORD, DEMO_USERNAME

    out = subprocess.run([sys.executable, str(SCRIPTS / "racing_api_simulator.py"), "--help"],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "80"})
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())                    # argparse wraps the help lines
    assert f"(default: {DEMO_USERNAME})" in text and f"(default: {DEMO_PASSWORD})" in text, text
    assert "(default: 127.0.0.1)" in text and "(default: 8000)" in text


# --- 18. verify_backfill checks the range the database holds -------------------------------------------------
def test_verify_defaults_to_the_range_the_database_holds(db_url, sim, tmp_path):
    start, end = date(2024, 12, 2), date(2024, 12, 8)        # a month before the simulator's today
    load(db_url, sim, start, end, tmp_path)
    out = run("verify_backfill", ["--database-url", db_url])
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"Checking {start} to {end}: the days the database holds" in out.stdout, out.stdout
    assert "[PASS] days in the range with no races: 0 days" in out.stdout, out.stdout
    assert f"Verification passed ({start} to {end})" in out.stdout
    # a range that is given is checked as given, and said so
    out = run("verify_backfill", ["--database-url", db_url, "--start-date", start.isoformat(),
                                  "--end-date", (end + timedelta(days=2)).isoformat()])
    assert f"Checking {start} to {end + timedelta(days=2)}: as given" in out.stdout, out.stdout
    assert "[WARN] days in the range with no races: 2 days" in out.stdout
    # only one end given: the other is the database's
    out = run("verify_backfill", ["--database-url", db_url, "--start-date", (start + timedelta(days=3)).isoformat()])
    assert f"Checking {start + timedelta(days=3)} to {end}:" in out.stdout, out.stdout


def test_verify_on_an_empty_database_says_there_is_nothing_to_check(tmp_path):
    out = run("verify_backfill", ["--database-url", fresh_db(tmp_path)])
    assert out.returncode == 0, out.stderr
    assert "the database holds no races yet" in out.stdout, out.stdout


# helpers for the runs below: a real script as a process, and its checkpoint as it fills
def start(script: str, argv: list[str], *, sim=None, env: dict | None = None, **popen) -> subprocess.Popen:
    """The one launcher (``helpers.run_events_script``) for any script of this suite."""
    return run_events_script(argv, sim, env_overrides=env, script=SCRIPTS / f"{script}.py", **popen)


def wait_for_committed(checkpoint: Path, n: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if len(json.loads(checkpoint.read_text())["completed_dates"]) >= n:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"{checkpoint} never held {n} days (exit {proc.poll()})")


RECENT_START, RECENT_END = date.today() - timedelta(days=60), date.today() - timedelta(days=31)


# --- 10. a second Ctrl+C prints the whole resume command ---------------------------------------------------
def test_a_second_ctrl_c_prints_the_full_resume_command_and_it_works(db_url, simulator, tmp_path):
    checkpoint = tmp_path / "twice.json"
    argv = ["--start-date", RECENT_START.isoformat(), "--end-date", RECENT_END.isoformat(),
            "--database-url", db_url, "--checkpoint-file", str(checkpoint), "--quiet"]
    proc = start("backfill_events", argv, sim=simulator)
    try:
        wait_for_committed(checkpoint, 2, proc)
        held = simulator.hold("results")             # the run is now inside a day, waiting
        assert held.wait_for(1, timeout=30)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
    finally:
        simulator.release_holds()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    line = [l for l in err.splitlines() if "Resume with:" in l]
    assert len(line) == 1, err
    command = line[0].split("Resume with: ", 1)[1].strip()
    assert command.startswith("python3 scripts/backfill_events.py --resume"), command
    assert f"--checkpoint-file {checkpoint}" in command and f"--database-url '{db_url}'" in command, command
    # the command works as printed (python3 is the interpreter running these tests)
    resumed = run("backfill_events", shlex.split(command)[2:] + ["--quiet"], sim=simulator)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    store = open_fresh_store(db_url)
    try:
        marks = store.read("committed_days", start=RECENT_START, end=RECENT_END)
        assert {str(r["day"])[:10] for r in marks} == {d.isoformat() for d in
                                                       (RECENT_START + timedelta(days=i) for i in range(30))}
    finally:
        store.close()


def test_a_second_ctrl_c_of_the_enrichment_says_how_to_continue(simulator, tmp_path):
    url = fresh_db(tmp_path)
    load(url, simulator, RECENT_START, RECENT_START + timedelta(days=1), tmp_path)
    proc = start("enrich_horses", ["--database-url", url, "--max-horses", "300", "--refresh"], sim=simulator)
    try:
        held = simulator.hold("horses")
        assert held.wait_for(1, timeout=30)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
    finally:
        simulator.release_holds()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert f"Continue with: python3 scripts/enrich_horses.py --database-url '{url}' --refresh" in err, err
    assert "--resume" not in err                    # enrich_horses has no --resume


# --- 11. a read-only logs/ says what works ----------------------------------------------------------------
def _without_root_override() -> list[str]:
    """A prefix that makes root obey file permissions (it would write into a 0555 folder)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without setpriv: a read-only folder cannot be simulated")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]


@pytest.fixture
def repo_copy(tmp_path):
    root = tmp_path / "repo"
    for name in ("scripts", "utils", "supabase"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_a_read_only_logs_folder_says_to_use_checkpoint_file_elsewhere(repo_copy, simulator, tmp_path):
    url = fresh_db(tmp_path)
    logs = repo_copy / "logs"
    logs.mkdir(mode=0o555)
    logs.chmod(0o555)
    env = script_env_for(simulator)
    argv = [sys.executable, str(repo_copy / "scripts" / "backfill_events.py"), "--start-date",
            RECENT_START.isoformat(), "--end-date", (RECENT_START + timedelta(days=1)).isoformat(),
            "--database-url", url]
    out = subprocess.run(_without_root_override() + argv, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stdout + out.stderr
    line = one_line(out.stderr)
    assert f"{logs} is not writable" in line and "--checkpoint-file" in line, line
    assert "cannot create lock file" not in line and simulator.calls() == []
    # the advice works
    writable = tmp_path / "elsewhere"
    writable.mkdir()
    done = subprocess.run(_without_root_override() + argv + ["--checkpoint-file", str(writable / "cp.json")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (writable / "cp.json").is_file() and list(logs.iterdir()) == []


def script_env_for(sim) -> dict:
    from helpers import script_env

    return script_env(sim, {"DARKHORSES_NOW": None})


# --- 12. outside the virtualenv: what to install ----------------------------------------------------------
@pytest.mark.parametrize("script, argv", [
    ("backfill_events", ["--start-date", "2026-01-01", "--end-date", "2026-01-02"]),
    ("backfill_all", ["--start-date", "2026-01-01", "--end-date", "2026-01-02", "--dry-run"]),
    ("backfill_masters", []),
    ("enrich_horses", ["--check-status"]),
    ("verify_backfill", []),
    ("backfill_report", []),
    ("init_db", []),
])
def test_without_the_dependencies_a_script_says_to_run_make_venv(script, argv, tmp_path):
    """``python -S`` leaves out the virtualenv's site-packages: the interpreter a user gets with a
    bare ``python3`` on a machine where only .venv has the dependencies."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL")}
    out = subprocess.run([sys.executable, "-S", str(SCRIPTS / f"{script}.py"), *argv,
                          "--database-url", f"sqlite:///{tmp_path}/x.db"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    line = one_line(out.stderr)
    assert line.startswith("error: dependencies missing: run make venv (or pip install -r requirements.txt)"), line
    assert ".venv/bin/python" in line and "No module named" in line


def test_the_readme_says_once_how_to_get_the_dependencies():
    readme = README.read_text(encoding="utf-8")
    section = readme[readme.index("## Using your own account"):]
    first_step = section[:section.index("\n1. ")]
    assert "source .venv/bin/activate" in first_step and "make venv" in first_step, first_step
    assert readme.count("source .venv/bin/activate") == 1


# --- 13. make demo: one count table, thousands separators -------------------------------------------------
def test_backfill_all_with_verify_prints_one_count_table_and_thousands_separators(simulator, tmp_path):
    url = fresh_db(tmp_path)
    out = run("backfill_all", ["--start-date", RECENT_START.isoformat(),
                               "--end-date", (RECENT_START + timedelta(days=9)).isoformat(), "--verify",
                               "--database-url", url, "--checkpoint-file", str(tmp_path / "all.json")],
              sim=simulator)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    tables = [l for l in out.stdout.splitlines() if re.fullmatch(r"\s+runners\s+[\d,]+", l)]
    assert len(tables) == 1, out.stdout
    assert out.stdout.count("Summary:") + out.stdout.count("Record counts:") == 1, out.stdout
    done = re.search(r"Done: ([\d,]+) days committed this run, ([\d,]+) races, ([\d,]+) runners; "
                     r"([\d,]+) days failed", out.stdout)
    assert done, out.stdout
    numbers = [int(g.replace(",", "")) for g in done.groups()]
    assert numbers[2] >= 1000
    assert list(done.groups()) == [f"{n:,}" for n in numbers]


# --- 14. the enrichment's progress counts horses, not batches ----------------------------------------------
def _run_on_a_terminal(argv: list[str], env: dict) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (so the progress bar shows); returns (exit, screen bytes)."""
    import fcntl
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    proc.communicate(timeout=180)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


def test_the_enrichment_bar_moves_with_each_horse(simulator, tmp_path):
    from helpers import script_env
    from utils.pipeline.enrichment import BATCH_SIZE
    from utils.simulator.faults import FaultConfig

    url = fresh_db(tmp_path)
    load(url, simulator, RECENT_START, RECENT_START + timedelta(days=2), tmp_path)
    simulator.set_faults(FaultConfig(latency_ms=25))        # about 160 profiles a second with 4 workers
    total = BATCH_SIZE + BATCH_SIZE // 2
    code, screen = _run_on_a_terminal(
        [sys.executable, str(SCRIPTS / "enrich_horses.py"), "--database-url", url, "--max-horses", str(total),
         "--refresh"],
        script_env(simulator))
    assert code == 0, screen[-2000:]
    shown = [int(n) for n in re.findall(rf"\b(\d+)/{total} \[", screen)]
    assert shown and max(shown) == total, screen[-2000:]
    moving = [n for n in shown if 0 < n < BATCH_SIZE]
    assert moving, f"the bar showed only {sorted(set(shown))}: it counts batches, not horses"


def test_without_a_terminal_the_enrichment_writes_a_line_as_soon_as_a_horse_is_done(simulator, tmp_path):
    url = fresh_db(tmp_path)
    load(url, simulator, RECENT_START, RECENT_START + timedelta(days=1), tmp_path)
    out = run("enrich_horses", ["--database-url", url, "--max-horses", "150", "--refresh"], sim=simulator)
    assert out.returncode == 0, out.stderr
    counts = [int(n.replace(",", "")) for n in re.findall(r"^([\d,]+)/150 horses", out.stdout, re.M)]
    assert counts and counts[0] < 100 and counts[-1] == 150, out.stdout


# --- 15. --log-format json: a chunk banner is one structured event --------------------------------------------
def test_json_logs_carry_chunks_as_events_not_banner_lines(simulator, tmp_path):
    url = fresh_db(tmp_path)
    # two days, two monthly chunks: the last day of a month two months back and the next day
    first = (date.today().replace(day=1) - timedelta(days=40)).replace(day=1) - timedelta(days=1)
    last = first + timedelta(days=1)
    out = run("backfill_events", ["--start-date", first.isoformat(), "--end-date", last.isoformat(),
                                  "--database-url", url, "--checkpoint-file", str(tmp_path / "j.json"),
                                  "--log-format", "json"], sim=simulator)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]        # every line is JSON
    assert not [e for e in events if set(e["msg"]) <= {"=", " "}], "a banner line logged as a message"
    chunks = [e for e in events if e.get("event") == "chunk"]
    assert [(c["n"], c["of"], c["start"], c["end"]) for c in chunks] == [
        (1, 2, first.isoformat(), first.isoformat()), (2, 2, last.isoformat(), last.isoformat())]
    assert chunks[0]["msg"] == f"CHUNK 1/2: {first} to {first}"
    # the log file of the day carries the same events
    log_file = REPO / "logs" / f"backfill_events_{datetime.now():%Y%m%d}.log"
    file_events = [json.loads(l) for l in log_file.read_text().splitlines() if l.startswith("{")]
    assert any(e.get("event") == "chunk" and e.get("start") == first.isoformat() for e in file_events)
    # text mode keeps the banner for the eye
    out = run("backfill_events", ["--start-date", first.isoformat(), "--end-date", first.isoformat(),
                                  "--database-url", url, "--checkpoint-file", str(tmp_path / "t.json")],
              sim=simulator)
    lines = out.stdout.splitlines()
    at = lines.index(f"CHUNK 1/1: {first} to {first}")
    assert lines[at - 1] == lines[at + 1] == "=" * 70


# --- 3. conflicting options are refused, saying which wins and what to run instead --------------------------
def _refused(out: subprocess.CompletedProcess, *needles: str) -> str:
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
    line = one_line(out.stderr)
    assert line.startswith("error: ") and "Traceback" not in out.stderr
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def _suggested(line: str) -> list[str]:
    """The command a refusal suggests (after "run: " / "start a run of its own: "), as argv."""
    command = re.search(r"(python3 scripts/\S+\.py [^;]*?)(?:\.?$|;| \(|\. )", line).group(1)
    return shlex.split(command)


def test_resume_with_other_regions_is_refused_and_says_what_to_run(sim, tmp_path):
    url = fresh_db(tmp_path)
    checkpoint = tmp_path / "cp.json"
    first, last = date(2025, 1, 2), date(2025, 1, 3)
    out = run("backfill_events", ["--start-date", first.isoformat(), "--end-date", last.isoformat(),
                                  "--database-url", url, "--checkpoint-file", str(checkpoint), "--quiet"], sim=sim)
    assert out.returncode == 0, out.stderr
    sim.reset_calls()
    line = _refused(run("backfill_events", ["--resume", "--region-codes", "gb", "--database-url", url,
                                            "--checkpoint-file", str(checkpoint)], sim=sim),
                    "--region-codes gb", "regions gb ire", str(checkpoint), "drop --region-codes")
    assert "--resume wins" in line or "the checkpoint wins" in line, line
    assert sim.calls() == []
    suggested = _suggested(line)
    assert suggested[:2] == ["python3", "scripts/backfill_events.py"], suggested
    assert ["--region-codes", "gb"] == suggested[suggested.index("--region-codes"):][:2]
    assert suggested[suggested.index("--start-date") + 1] == first.isoformat()
    assert suggested[suggested.index("--end-date") + 1] == last.isoformat()
    other = Path(suggested[suggested.index("--checkpoint-file") + 1])
    assert other != checkpoint                      # the gb ire run stays resumable
    # the suggestion runs as printed, and leaves the first run's checkpoint alone
    before = checkpoint.read_text()
    done = run("backfill_events", suggested[2:] + ["--quiet"], sim=sim)
    assert done.returncode == 0, done.stderr
    assert checkpoint.read_text() == before and json.loads(other.read_text())["params"]["region_codes"] == ["gb"]
    # the same regions, in another order or case, are no conflict
    same = run("backfill_events", ["--resume", "--region-codes", "IRE", "gb", "--database-url", url,
                                   "--checkpoint-file", str(checkpoint), "--quiet"], sim=sim)
    assert same.returncode == 0, same.stderr


@pytest.mark.parametrize("extra, needles", [
    (["--start-date", "2025-01-01"], ["--start-date 2025-01-01", "2025-01-02 to 2025-01-03",
                                      "drop --start-date/--end-date"]),
    (["--end-date", "2025-01-05"], ["--end-date 2025-01-05", "2025-01-02 to 2025-01-03"]),
    (["--start-date", "2025-01-02", "--end-date", "2025-01-04"], ["--end-date 2025-01-04"]),
    (["--no-racecards"], ["--no-racecards", "with racecards", "drop --no-racecards"]),
])
def test_resume_with_another_range_or_sources_is_refused_with_exit_2(extra, needles, sim, tmp_path):
    url = fresh_db(tmp_path)
    checkpoint = tmp_path / "cp.json"
    out = run("backfill_events", ["--start-date", "2025-01-02", "--end-date", "2025-01-03", "--database-url", url,
                                  "--checkpoint-file", str(checkpoint), "--quiet"], sim=sim)
    assert out.returncode == 0, out.stderr
    sim.reset_calls()
    line = _refused(run("backfill_events", ["--resume", *extra, "--database-url", url,
                                            "--checkpoint-file", str(checkpoint)], sim=sim), *needles)
    assert "--resume wins" in line or "the checkpoint wins" in line, line
    assert "python3 scripts/backfill_events.py" in line and "--checkpoint-file" in line, line
    assert sim.calls() == []
    # the options the checkpoint holds anyway are no conflict
    same = run("backfill_events", ["--resume", "--start-date", "2025-01-02", "--end-date", "2025-01-03",
                                   "--database-url", url, "--checkpoint-file", str(checkpoint), "--quiet"], sim=sim)
    assert same.returncode == 0, same.stderr


def test_backfill_all_resume_with_other_regions_is_refused_before_the_masters(sim, tmp_path):
    url = fresh_db(tmp_path)
    checkpoint = tmp_path / "all.json"
    out = run("backfill_all", ["--start-date", "2025-01-02", "--end-date", "2025-01-02", "--database-url", url,
                               "--checkpoint-file", str(checkpoint), "--quiet"], sim=sim)
    assert out.returncode == 0, out.stderr
    sim.reset_calls()
    _refused(run("backfill_all", ["--resume", "--region-codes", "ire", "--database-url", url,
                                  "--checkpoint-file", str(checkpoint)], sim=sim), "--region-codes ire", "gb ire")
    assert sim.calls() == []                         # not even the masters
    _refused(run("backfill_all", ["--resume", "--region-codes", "ire", "--database-url", url, "--dry-run",
                                  "--checkpoint-file", str(checkpoint)], sim=sim), "--region-codes ire")


PINNED_TODAY = {"DARKHORSES_NOW": "2025-01-10T12:00:00+00:00"}      # the ``sim`` fixture's today


def test_incremental_with_a_start_date_it_would_skip_is_refused(db_url, sim, tmp_path):
    """--start-date is where --incremental starts a database without results; once the database has
    results, it starts at the last result day minus 2, and a --start-date before that which the
    database does not hold is refused (it would be skipped), with the command that loads it."""
    loaded_from, loaded_to = date(2025, 1, 2), date(2025, 1, 8)
    out = run("backfill_events", ["--start-date", loaded_from.isoformat(), "--end-date", loaded_to.isoformat(),
                                  "--database-url", db_url, "--checkpoint-file", str(tmp_path / "b.json"),
                                  "--quiet"], sim=sim, env=PINNED_TODAY)
    assert out.returncode == 0, out.stderr
    inc = ["--incremental", "--database-url", db_url, "--checkpoint-file", str(tmp_path / "inc.json")]
    sim.reset_calls()
    line = _refused(run("backfill_events", [*inc, "--start-date", "2024-12-20"], sim=sim, env=PINNED_TODAY),
                    "--start-date 2024-12-20", "2025-01-06", "--incremental wins")
    assert sim.calls() == []
    suggested = _suggested(line)
    assert suggested[suggested.index("--start-date") + 1] == "2024-12-20"
    assert suggested[suggested.index("--end-date") + 1] == "2025-01-05"
    assert "--incremental" not in suggested
    # a start inside the incremental range, or one the database holds (a cron line that began
    # there), is no conflict: the run goes from the last result day minus 2 (the 8th, then the
    # 10th, today, once the first run has loaded today's results)
    for held, expected in ((date(2025, 1, 7), "2025-01-06"), (loaded_from, "2025-01-08")):
        ok = run("backfill_events", [*inc, "--start-date", held.isoformat()], sim=sim, env=PINNED_TODAY)
        assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-2000:]
        assert f"Events backfill {expected} to 2025-01-17" in ok.stdout, ok.stdout
    # the suggested command loads what was missing; then the same --incremental line runs
    done = run("backfill_events", suggested[2:] + ["--quiet"], sim=sim, env=PINNED_TODAY)
    assert done.returncode == 0, done.stderr
    again = run("backfill_events", [*inc, "--start-date", "2024-12-20", "--quiet"], sim=sim, env=PINNED_TODAY)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("extra, needles", [
    (["--end-date", "2025-01-12"], ["--end-date 2025-01-12", "--incremental wins", "without --incremental"]),
    (["--resume"], ["--resume", "--incremental wins", "drop --resume", "drop --incremental"]),
])
def test_incremental_with_end_date_or_resume_is_refused(extra, needles, sim, tmp_path):
    url = fresh_db(tmp_path)
    _refused(run("backfill_events", ["--incremental", *extra, "--database-url", url,
                                     "--checkpoint-file", str(tmp_path / "i.json")], sim=sim, env=PINNED_TODAY),
             *needles)
    assert sim.calls() == []
