"""Masters, the backfill_all orchestrator (in-process, masters first, --dry-run) and verification."""
from __future__ import annotations

import logging
import subprocess
import sys
from datetime import date, timedelta

from helpers import REPO, make_client, open_fresh_store, run_events_inprocess
from utils.api.client import RacingAPIClient, RetryPolicy
from utils.checks.verification import run_checks, verify
from utils.commands.backfill_all import ALL_OPTIONS, run_all
from utils.commands.cli import build_parser
from utils.commands.context import RunContext
from utils.commands.requests import AllOptions
from utils.errors import ExitCode
from utils.pipeline.masters import BOOKMAKERS, run_masters

TODAY = date.today()
REQUIRED_BOOKMAKERS = {"bet365", "william_hill", "ladbrokes", "coral", "paddy_power", "betfair",
                       "betfair_sportsbook", "skybet", "betvictor", "betfred", "888sport", "unibet",
                       "betway", "boylesports", "betdaq", "matchbook", "smarkets", "spreadex",
                       "sporting_index"}


def test_masters_load_every_region_the_courses_asked_for_and_bookmakers_idempotently(simulator, tmp_path):
    store = open_fresh_store(f"sqlite:///{tmp_path}/m.db")
    try:
        first = run_masters(make_client(simulator), store, ["gb", "ire"])["counts"]
        regions = {r[0] for r in store.query("SELECT code FROM ra_mst_regions")}
        assert regions == {r["region_code"] for r in simulator.dataset.regions()}
        assert len(regions) > 2                                   # all regions, not a hard-coded pair
        courses = {r[0] for r in store.query("SELECT id FROM ra_mst_courses")}
        assert courses == {c["id"] for c in simulator.dataset.courses(["gb", "ire"])}
        bookmakers = dict(store.query("SELECT code, type FROM ra_mst_bookmakers"))
        assert REQUIRED_BOOKMAKERS <= set(bookmakers) and len(bookmakers) == len(BOOKMAKERS)
        assert {bookmakers[c] for c in ("betfair", "betdaq", "matchbook", "smarkets")} == {"exchange"}
        assert {bookmakers[c] for c in ("spreadex", "sporting_index")} == {"spread"}
        assert first["ra_mst_courses"].inserted == len(courses)
        second = run_masters(make_client(simulator), store, ["gb", "ire"])["counts"]
        assert all(c.inserted == 0 and c.updated == 0 for c in second.values())
    finally:
        store.close()


def _parse_all(argv: list[str]) -> AllOptions:
    return AllOptions.from_args(build_parser("backfill_all.py", "test", ALL_OPTIONS).parse_args(argv))


def test_backfill_all_runs_masters_then_events_then_verifies(simulator, tmp_path):
    store = open_fresh_store(f"sqlite:///{tmp_path}/a.db")
    start, end = TODAY - timedelta(days=30), TODAY - timedelta(days=24)
    try:
        args = _parse_all(["--start-date", start.isoformat(), "--end-date", end.isoformat(), "--verify",
                           "--checkpoint-file", str(tmp_path / "cp.json")])
        ctx = RunContext(target=None, store=store, client=make_client(simulator), today=TODAY, handle_signals=False)
        assert run_all(args, ctx) == ExitCode.OK
        calls = [c.endpoint for c in simulator.calls()]
        assert calls[:2] == ["regions", "courses"]              # masters first
        assert store.table_count("ra_mst_courses") > 0 and store.table_count("ra_races") > 0
        assert all(c.status == "PASS" for c in run_checks(store, start, end, today=TODAY))
    finally:
        store.close()


def test_masters_failure_stops_before_any_event_work(tmp_path):
    store = open_fresh_store(f"sqlite:///{tmp_path}/f.db")
    try:
        dead = RacingAPIClient("demo", "demo-password", base_url="http://127.0.0.1:9",
                               retry=RetryPolicy(attempts=2, initial=0.01, maximum=0.02, jitter=0),
                               timeout=1.0)
        args = _parse_all(["--start-date", (TODAY - timedelta(days=5)).isoformat(),
                           "--checkpoint-file", str(tmp_path / "cp.json")])
        ctx = RunContext(target=None, store=store, client=dead, today=TODAY, handle_signals=False)
        assert run_all(args, ctx) == ExitCode.CRITICAL
        assert not (tmp_path / "cp.json").exists()                # no event work started
        assert store.table_count("ra_races") == 0
    finally:
        store.close()


def test_dry_run_touches_nothing(tmp_path):
    db = tmp_path / "never.db"
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "backfill_all.py"), "--start-date",
                             "2015-01-01", "--dry-run", "--database-url", f"sqlite:///{db}",
                             "--checkpoint-file", str(tmp_path / "cp.json")],
                            capture_output=True, text=True, timeout=60, cwd="/",
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "masters" in result.stdout and "events 2015-01-01" in result.stdout
    assert "historical results add-on" in result.stdout and "SQLite" in result.stdout
    assert not db.exists() and not (tmp_path / "cp.json").exists()


def test_verification_fails_on_results_era_racecard_only_races(simulator, tmp_path, caplog):
    store = open_fresh_store(f"sqlite:///{tmp_path}/v.db")
    day = TODAY - timedelta(days=12)
    try:
        argv = ["--start-date", day.isoformat(), "--end-date", day.isoformat(), "--no-results",
                "--checkpoint-file", str(tmp_path / "cp.json")]
        assert run_events_inprocess(store, simulator, argv) == 0
        caplog.set_level(logging.INFO)
        assert not verify(store, day, day, today=TODAY, log=logging.getLogger("t"))
        failed = [c for c in run_checks(store, day, day, today=TODAY) if c.status == "FAIL"]
        assert [c.name for c in failed] == ["results-era days with racecard-only races"]
        assert failed[0].items[0].startswith(day.isoformat())
        result = subprocess.run([sys.executable, str(REPO / "scripts" / "verify_backfill.py"),
                                 "--database-url", f"sqlite:///{tmp_path}/v.db", "--start-date",
                                 day.isoformat(), "--end-date", day.isoformat()],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and "FAIL" in result.stdout
    finally:
        store.close()
