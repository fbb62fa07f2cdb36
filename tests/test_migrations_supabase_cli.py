"""The real Supabase CLI applies supabase/migrations/ to a fresh PostgreSQL database, and the result
is a database the project accepts: ``check_schema`` passes and a backfill writes to it.

README promises that ``supabase db push`` applies the very same migration files as
``scripts/init_db.py``; these tests run the pinned CLI (2.117.0) to hold that promise:

- CLI only: ``db push`` then ``migration list`` shows every migration file's version applied, and
  the project's schema check accepts the database;
- ``init_db.py`` first, then ``db push`` on the same database: the migrations are idempotent;
- a 3-day backfill into a CLI-migrated database (the simulator, as the other end-to-end tests).

The CLI is ``$SUPABASE_CLI`` or ``.tools/supabase-cli/node_modules/.bin/supabase`` (``make
supabase-cli`` / ``.ci/run`` install it). Missing or another version -> skipped with a loud reason,
but a failure when ``CI=true`` or ``REQUIRE_POSTGRES=1``.

The CLI records what it applied in ``supabase_migrations.schema_migrations`` (version text PK,
statements text[], name text), not in the project's ``ra_schema_migrations``: the project has to
read both for a CLI-migrated database to pass its check.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

import pg_databases
from helpers import run_events_script, script_env
from utils.stores import open_store
from utils.stores.target import resolve_database

REPO = Path(__file__).resolve().parents[1]
MIGRATIONS = REPO / "supabase" / "migrations"
CLI_VERSION = "2.117.0"
DEFAULT_CLI = REPO / ".tools" / "supabase-cli" / "node_modules" / ".bin" / "supabase"
TIMEOUT = 300


def _required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="module")
def cli() -> str:
    """Path of the pinned Supabase CLI, or a loud skip (a failure on CI)."""
    path = os.environ.get("SUPABASE_CLI") or str(DEFAULT_CLI)
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60,
                                 stdin=subprocess.DEVNULL, env=_cli_env()).stdout.strip()
        problem = None if version == CLI_VERSION else f"it reports version {version!r}"
    except (OSError, subprocess.SubprocessError) as exc:
        problem = f"it cannot run ({exc})"
    if problem:
        reason = (f"Supabase CLI {CLI_VERSION} NOT AVAILABLE at {path}: {problem}. Install it with "
                  f"`make supabase-cli` (npm i -E supabase@{CLI_VERSION} --prefix "
                  f".tools/supabase-cli) or point SUPABASE_CLI at it.")
        if _required():
            pytest.fail(f"{reason} Required here (CI=true or REQUIRE_POSTGRES=1).", pytrace=False)
        pytest.skip(f"{reason} Real-CLI tests SKIPPED; CI=true or REQUIRE_POSTGRES=1 makes this a "
                    f"failure.")
    return path


@pytest.fixture
def database():
    """A fresh, empty database: (name, URL for the project, URL for the CLI)."""
    name = pg_databases.create_database("dh_cli")
    url = pg_databases.server_url(name)
    try:
        yield name, url, f"{url}?sslmode=disable"
    finally:
        pg_databases.drop_database(name)


def _cli_env() -> dict[str, str]:
    """The environment without the developer's Supabase settings (a linked project, a token, a
    password), and without telemetry or the update check (CI has no internet)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SUPABASE_") and k != "DATABASE_URL"}
    env.update(DO_NOT_TRACK="1", SUPABASE_TELEMETRY_DISABLED="1", SUPABASE_NO_UPDATE_NOTIFIER="1")
    return env


def run_cli(cli: str, *args: str) -> subprocess.CompletedProcess:
    """``supabase <args> --workdir <repo>`` from the repo root, as a user runs it; never prompts."""
    return subprocess.run([cli, *args, "--workdir", str(REPO)], cwd=REPO, env=_cli_env(),
                          capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def _output(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def push(cli: str, cli_url: str) -> None:
    proc = run_cli(cli, "db", "push", "--db-url", cli_url, "--yes")
    code = proc.returncode
    assert code == 0, f"supabase db push failed:\n{_output(proc)}"


def local_versions() -> list[str]:
    """The version (the timestamp before the first ``_``) of every file the CLI reads."""
    return sorted(p.name.split("_", 1)[0] for p in MIGRATIONS.glob("*.sql"))


def assert_all_applied(cli: str, cli_url: str) -> None:
    """``supabase migration list``: every local version applied remotely, nothing else."""
    proc = run_cli(cli, "migration", "list", "--db-url", cli_url, "--output-format", "json")
    assert proc.returncode == 0, f"supabase migration list failed:\n{_output(proc)}"
    try:
        listed = json.loads(proc.stdout)["migrations"]
    except (ValueError, KeyError) as exc:
        raise AssertionError(f"unexpected `migration list` output ({exc}):\n{_output(proc)}") from None
    rows = [(m["local"], m["remote"]) for m in listed]
    assert rows == [(v, v) for v in local_versions()], (
        f"(local, remote) versions from `supabase migration list`:\n{_output(proc)}")


def recorded_by_cli(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT version FROM supabase_migrations.schema_migrations")}


def assert_project_accepts(url: str) -> None:
    store = open_store(resolve_database(url, {}))
    try:
        store.check_schema()
    finally:
        store.close()


def _script_env() -> dict[str, str]:
    """A project script's environment with no API and no database settings (the one launcher's)."""
    return script_env(None)


def test_a_database_migrated_only_by_the_cli_passes_the_schema_check(cli, database):
    _, url, cli_url = database
    push(cli, cli_url)
    assert_all_applied(cli, cli_url)
    assert recorded_by_cli(url) == set(local_versions())
    assert_project_accepts(url)


def test_cli_push_after_init_db_succeeds(cli, database):
    _, url, cli_url = database
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "init_db.py"), "--database-url", url],
                          cwd=REPO, env=_script_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, f"init_db.py failed:\n{_output(proc)}"
    push(cli, cli_url)                       # every migration runs again on top of init_db's schema
    assert_all_applied(cli, cli_url)
    assert_project_accepts(url)


def test_backfill_into_a_cli_migrated_database(cli, database, simulator, tmp_path):
    """A backfill runs into a database migrated only by the CLI, with no other step: its start-up
    schema check accepts the migrations the CLI recorded."""
    _, url, cli_url = database
    push(cli, cli_url)
    start = date.today() - timedelta(days=40)
    end = start + timedelta(days=2)                               # 3 days, all with results
    proc = run_events_script(["--database-url", url, "--start-date", start.isoformat(),
                              "--end-date", end.isoformat(),
                              "--checkpoint-file", str(tmp_path / "cp.json")], simulator)
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, f"backfill_events.py failed: exit {proc.returncode}\n{stdout}\n{stderr}"
    store = open_store(resolve_database(url, {}))
    try:
        assert store.table_count("ra_races") > 0
    finally:
        store.close()
