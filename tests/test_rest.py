"""Every command with only the REST settings (``SUPABASE_URL`` + ``SUPABASE_SERVICE_KEY``), against
the PostgREST fake backed by real PostgreSQL, gives the same tables and the same output as the
direct connection; ``--resume`` into a second, empty database loads every day into it.

The scripts run as real processes, as a user runs them, against the simulator over HTTP.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta

import pytest

from helpers import FIXED_TODAY, REPO, database_checksum, script_env
from pg_databases import create_database, drop_database, server_url
from postgrest_fake import DEFAULT_KEY, PostgrestFake
from utils.stores.postgres import PostgresStore

START, END = FIXED_TODAY - timedelta(days=6), FIXED_TODAY - timedelta(days=1)
DAYS = (END - START).days + 1
NOW = datetime.combine(FIXED_TODAY, time(12, 0), tzinfo=UTC).isoformat()


def run(sim, script: str, argv: list[str], env: dict) -> subprocess.CompletedProcess:
    full = script_env(sim, {"DARKHORSES_NOW": NOW, **env})
    return subprocess.run([sys.executable, str(REPO / "scripts" / f"{script}.py"), *argv], env=full,
                          capture_output=True, text=True, timeout=300, cwd=REPO)


@pytest.fixture
def databases():
    """Three fresh, migrated databases for one test."""
    names = [create_database("dh_rest_cmd") for _ in range(3)]
    urls = [server_url(n) for n in names]
    for url in urls:
        with PostgresStore(url) as store:
            store.apply_migrations()
    yield urls
    for name in names:
        drop_database(name)


def _session(sim, direct_url: str, rest_env: dict, tmp_path, label: str, fake=None) -> dict[str, object]:
    """Every command once, for one way of reaching the database; their outputs."""
    def go(script, *argv):
        where = [] if rest_env else ["--database-url", direct_url]
        return run(sim, script, [*argv, *where], rest_env)

    out = {}
    checkpoint = str(tmp_path / f"{label}_checkpoint.json")
    dates = ["--start-date", START.isoformat(), "--end-date", END.isoformat()]
    out["init"] = go("init_db")
    out["masters"] = go("backfill_masters", "--region-codes", "gb", "ire")
    before = len(fake.requests) if fake else 0
    out["events"] = go("backfill_events", *dates, "--checkpoint-file", checkpoint, "--quiet")
    if fake:
        out["events_requests"] = fake.requests[before:]
    out["status"] = go("backfill_events", *dates, "--checkpoint-file", checkpoint, "--check-status")
    out["resume"] = go("backfill_events", "--resume", "--checkpoint-file", checkpoint, "--quiet")
    out["incremental"] = go("backfill_events", "--incremental", "--quiet",
                            "--checkpoint-file", str(tmp_path / f"{label}_incr.json"))
    out["enrich_status"] = go("enrich_horses", "--check-status")
    out["enrich"] = go("enrich_horses", "--max-horses", "5", "--quiet")
    out["verify"] = go("verify_backfill", *dates)
    out["report"] = go("backfill_report", *dates, "--out", str(tmp_path / f"{label}_report"),
                       "--error-log", str(tmp_path / f"{label}_checkpoint_errors.json"), "--quiet")
    out["all"] = go("backfill_all", *dates, "--checkpoint-file", str(tmp_path / f"{label}_all.json"),
                    "--quiet")
    return out


def _messages(result: subprocess.CompletedProcess, *, drop: tuple[str, ...]) -> list[str]:
    """The log lines without timestamps and without lines that name the database."""
    lines = []
    for line in (result.stdout + result.stderr).splitlines():
        text = line.split(" | ")[-1] if " | " in line else line
        if not any(word in text for word in drop):
            lines.append(text)
    return lines


def test_every_command_over_rest_gives_the_direct_paths_tables_and_output(sim, databases, tmp_path):
    direct_url, rest_url, _ = databases
    with PostgrestFake(rest_url) as fake:
        rest_env = {"SUPABASE_URL": fake.url, "SUPABASE_SERVICE_KEY": DEFAULT_KEY}
        over_rest = _session(sim, rest_url, rest_env, tmp_path, "rest", fake)
        statuses = {r.status for r in fake.requests}
    events_requests = over_rest.pop("events_requests")
    direct = _session(sim, direct_url, {}, tmp_path, "direct")

    for name, result in over_rest.items():
        assert result.returncode in (0, 1) and "Traceback" not in result.stderr, (name, result.stderr)
        assert result.returncode == direct[name].returncode, (name, result.stderr, direct[name].stderr)
        assert DEFAULT_KEY not in result.stdout + result.stderr, name
    assert over_rest["events"].returncode == 0 and over_rest["resume"].returncode == 0
    assert "Supabase REST" in over_rest["init"].stdout + over_rest["init"].stderr
    assert statuses == {200}
    # the events run: one request per day, plus its reads (schema check, committed days)
    writes = [r for r in events_requests if r.function == "ra_apply_day"]
    assert len(writes) == DAYS and all(w.body["p_unit"].get("ra_runners") for w in writes)
    assert len(events_requests) <= DAYS + 3, [r.function for r in events_requests]

    drop = ("Database", "database", "PostgreSQL", "Supabase", "checkpoint", "Previous", "report",
            "written", "took", "s)", "ETA", "elapsed")
    for name in ("status", "verify", "enrich_status"):
        assert _messages(over_rest[name], drop=drop) == _messages(direct[name], drop=drop), name

    with PostgresStore(direct_url) as a, PostgresStore(rest_url) as b:
        assert database_checksum(a) == database_checksum(b)
        assert a.read("committed_days", start=START, end=END) and \
            [d["day"] for d in a.read("committed_days", start=START, end=END)] == \
            [d["day"] for d in b.read("committed_days", start=START, end=END)]

    rest_report = json.loads((tmp_path / "rest_report" / "summary.json").read_text())
    direct_report = json.loads((tmp_path / "direct_report" / "summary.json").read_text())
    for report in (rest_report, direct_report):
        report.pop("database", None)
        report.pop("error_log", None)
        report.pop("generated_at", None)
    assert rest_report == direct_report


def test_resume_into_a_second_empty_database_loads_every_day(sim, databases, tmp_path):
    first_url, _, second_url = databases
    checkpoint = tmp_path / "cp.json"
    dates = ["--start-date", START.isoformat(), "--end-date", END.isoformat()]
    first = run(sim, "backfill_events", [*dates, "--database-url", first_url,
                                         "--checkpoint-file", str(checkpoint), "--quiet"], {})
    assert first.returncode == 0, first.stderr
    mirror = json.loads(checkpoint.read_text())
    assert mirror["database"] and "dh_rest_cmd" in mirror["database"]
    assert len(mirror["completed_dates"]) == DAYS
    sim.reset_calls()
    second = run(sim, "backfill_events", ["--resume", "--database-url", second_url,
                                          "--checkpoint-file", str(checkpoint)], {})
    assert second.returncode == 0, second.stderr
    assert "0 already committed" in second.stdout + second.stderr
    assert len([c for c in sim.calls() if c.endpoint == "results"]) >= DAYS
    with PostgresStore(first_url) as a, PostgresStore(second_url) as b:
        assert database_checksum(a) == database_checksum(b)
        assert b.table_count("ra_runners") > 0
        assert len(b.read("committed_days", start=START, end=END)) == DAYS
    sim.reset_calls()
    again = run(sim, "backfill_events", ["--resume", "--database-url", second_url,
                                         "--checkpoint-file", str(checkpoint)], {})
    assert again.returncode == 0 and f"{DAYS} already committed" in again.stdout + again.stderr
    assert not [c for c in sim.calls() if c.endpoint in ("results", "racecards")]
