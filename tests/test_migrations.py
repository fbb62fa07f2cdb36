"""Migrations: idempotent, recorded, checked at start-up, and the same tables everywhere.

Why introspect the live databases: the schema module is the single source of truth, so SQLite's
PRAGMA table_info and PostgreSQL's information_schema must list exactly its tables and columns,
and the committed migration file must be its rendering.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from pg_databases import fresh_postgres_db  # noqa: F401  (fixture)
from postgrest_fake import PostgrestFake
from utils.errors import ConfigError, SchemaOutOfDateError
from utils.schema import AUDIT_COLUMNS, BACKFILL_DAYS, MIGRATIONS_TABLE, TABLES
from utils.stores.migrations import (
    INITIAL_MIGRATION,
    MIGRATIONS,
    MIGRATIONS_DIR,
    check_schema,
    migration_names,
    rendered_migrations,
)
from utils.stores.postgres import PostgresStore
from utils.stores.rest import SupabaseReferenceClient
from utils.stores.sqlite import SqliteStore

REST_KEY = "sb_secret_test_key_0123456789"
REPO = Path(__file__).resolve().parents[1]
EXPECTED = {name: set(t.columns) | set(AUDIT_COLUMNS) for name, t in TABLES.items()}
EXPECTED[BACKFILL_DAYS.name] = set(BACKFILL_DAYS.columns)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_store(request, tmp_path):
    if request.param == "sqlite":
        store = SqliteStore(tmp_path / "m.db")
    else:
        store = PostgresStore(request.getfixturevalue("fresh_postgres_db"))
    yield store
    store.close()


def test_migrations_are_discovered_in_order():
    assert MIGRATIONS == migration_names() == sorted(MIGRATIONS)
    assert MIGRATIONS[0] == INITIAL_MIGRATION


def test_apply_twice_is_a_no_op(fresh_store):
    assert fresh_store.pending_migrations() == MIGRATIONS
    assert fresh_store.apply_migrations() == MIGRATIONS
    assert fresh_store.apply_migrations() == []
    assert fresh_store.pending_migrations() == []
    fresh_store.check_schema()
    recorded = fresh_store.query(f"SELECT name FROM {MIGRATIONS_TABLE}")
    assert sorted(r[0] for r in recorded) == MIGRATIONS


def test_schema_check_names_the_command(fresh_store):
    with pytest.raises(SchemaOutOfDateError) as info:
        check_schema(fresh_store)
    message = str(info.value)
    assert "Database schema is behind" in message and INITIAL_MIGRATION in message
    assert "python3 scripts/init_db.py" in message


def test_a_dropped_table_is_reported(fresh_store):
    fresh_store.apply_migrations()
    fresh_store.conn.execute("DROP TABLE ra_horse_pedigree")
    with pytest.raises(SchemaOutOfDateError, match="table ra_horse_pedigree"):
        fresh_store.check_schema()


def _columns(store) -> dict[str, set[str]]:
    if store.kind == "sqlite":
        return {t: {r[1] for r in store.query(f"PRAGMA table_info({t})")} for t in store.table_names()}
    rows = store.query("SELECT table_name, column_name FROM information_schema.columns "
                       "WHERE table_schema = current_schema()")
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    return found


def test_tables_and_columns_equal_the_schema_module(fresh_store):
    fresh_store.apply_migrations()
    columns = _columns(fresh_store)
    assert columns.pop(MIGRATIONS_TABLE) == {"name", "applied_at"}
    columns.pop("sqlite_stat1", None)
    if fresh_store.kind == "postgres":       # where a day sent in parts waits for its final call
        assert columns.pop("ra_apply_parts") == {"batch", "part", "payload", "staged_at"}
    assert columns == EXPECTED


@pytest.mark.parametrize("name", sorted(rendered_migrations()))
def test_committed_migration_is_the_rendering(name):
    committed = (MIGRATIONS_DIR / f"{name}.sql").read_text(encoding="utf-8")
    assert committed == rendered_migrations()[name]


def test_the_migrations_folder_holds_postgresql_only_one_file_per_version():
    versions = [p.name.split("_", 1)[0] for p in MIGRATIONS_DIR.iterdir()]
    assert len(versions) == len(set(versions)) == len(MIGRATIONS)
    assert all(p.suffix == ".sql" and p.name.count(".") == 1 for p in MIGRATIONS_DIR.iterdir())


def test_a_migration_records_itself_whoever_applies_it(fresh_postgres_db):
    """Applied with plain psql-like execution (as the Supabase CLI does), the merge migration
    leaves its own row in ra_schema_migrations."""
    with psycopg.connect(fresh_postgres_db, autocommit=True) as conn:
        for name in MIGRATIONS:
            conn.execute((MIGRATIONS_DIR / f"{name}.sql").read_text(encoding="utf-8"))
        recorded = {r[0] for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}
    assert MIGRATIONS[-1] in recorded


def test_cli_version_records_count_as_applied(fresh_postgres_db):
    with psycopg.connect(fresh_postgres_db, autocommit=True) as conn:
        for name in MIGRATIONS:
            conn.execute((MIGRATIONS_DIR / f"{name}.sql").read_text(encoding="utf-8"))
        conn.execute(f"DELETE FROM {MIGRATIONS_TABLE}")
        conn.execute("CREATE SCHEMA supabase_migrations")
        conn.execute("CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY)")
        for name in MIGRATIONS:
            conn.execute("INSERT INTO supabase_migrations.schema_migrations VALUES (%s)",
                         (name.split("_", 1)[0],))
    with PostgresStore(fresh_postgres_db) as store:
        assert store.pending_migrations() == []
        store.check_schema()


def test_postgres_enforces_exactly_the_schema_references(fresh_postgres_db):
    """After every migration, each table's foreign-key constraints are its declared references
    minus the ones deliberately left to the writers and the verifier (``Table.unenforced``)."""
    with PostgresStore(fresh_postgres_db) as store:
        store.apply_migrations()
        rows = store.query(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text "
            "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
            "AND a.attnum = c.conkey[1] WHERE c.contype = 'f'")
    enforced = {(table, column, ref) for table, column, ref in rows}
    expected = {(t.name, column, ref) for t in TABLES.values()
                for column, ref in t.foreign_keys.items() if column not in t.unenforced}
    assert enforced == expected
    assert ("ra_runners", "race_id", "ra_races") in enforced
    assert not {c for t, c, _ in enforced if t == "ra_runners"} & {"jockey_id", "trainer_id", "owner_id"}


def test_postgres_trigger_protects_created_at(fresh_postgres_db):
    with PostgresStore(fresh_postgres_db) as store:
        store.apply_migrations()
    with psycopg.connect(fresh_postgres_db, autocommit=True) as conn:
        conn.execute("INSERT INTO ra_mst_jockeys (id, name) VALUES ('j', 'a')")
        created = conn.execute("SELECT created_at FROM ra_mst_jockeys").fetchone()[0]
        conn.execute("UPDATE ra_mst_jockeys SET name = 'b', created_at = now() + interval '1 day'")
        assert conn.execute("SELECT created_at FROM ra_mst_jockeys").fetchone()[0] == created


# --- REST: no DDL, the schema state function -----------------------------------------------
def test_rest_cannot_apply_migrations_and_says_how(fresh_postgres_db):
    with PostgrestFake(fresh_postgres_db, REST_KEY) as fake:
        with pytest.raises(ConfigError, match="supabase db push"):
            SupabaseReferenceClient(fake.url, REST_KEY).apply_migrations()


def test_rest_schema_check_reads_the_state_function(fresh_postgres_db):
    with PostgresStore(fresh_postgres_db) as direct:
        direct.apply_migrations()
    with PostgrestFake(fresh_postgres_db, REST_KEY) as fake:
        SupabaseReferenceClient(fake.url, REST_KEY).check_schema()      # complete: no error
        with psycopg.connect(fresh_postgres_db, autocommit=True) as conn:
            conn.execute("DROP TABLE ra_horse_pedigree")
        with pytest.raises(SchemaOutOfDateError, match="table ra_horse_pedigree.*supabase db push"):
            SupabaseReferenceClient(fake.url, REST_KEY).check_schema()
        assert {r.function for r in fake.requests} == {"ra_schema_state"}


# --- scripts/init_db.py ---------------------------------------------------------------------------
def init_db(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "init_db.py"), *args],
                          capture_output=True, text=True, timeout=120, cwd="/",
                          env={"PATH": "/usr/bin:/bin", **(env or {})})


def test_init_db_script_applies_then_is_a_no_op(tmp_path):
    url = f"sqlite:///{tmp_path}/init.db"
    first, second = init_db("--database-url", url), init_db("--database-url", url)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.startswith(f"Database: SQLite {tmp_path}/init.db")
    assert "applied now  " + INITIAL_MIGRATION in first.stdout
    assert "already done " + INITIAL_MIGRATION in second.stdout


def test_init_db_script_errors_are_one_line_with_exit_codes():
    bad = init_db("--database-url", "mysql://u:Secret99@h/db")
    assert bad.returncode == 2 and "Secret99" not in bad.stderr and len(bad.stderr.splitlines()) == 1
    down = init_db("--database-url", "postgresql://u:Secret99@127.0.0.1:1/db")
    assert down.returncode == 3 and "Secret99" not in down.stderr + down.stdout
    assert "Traceback" not in down.stderr and len(down.stderr.splitlines()) == 1
    assert init_db("--check-rendered").returncode == 0


def test_a_database_without_the_merge_function_is_schema_behind_exit_3(fresh_postgres_db):
    """A database migrated before the merge migration (no ra_apply_day): every command stops with
    exit 3 and says what to run, before any API call."""
    with psycopg.connect(fresh_postgres_db, autocommit=True) as conn:
        for name in MIGRATIONS[:-1]:
            conn.execute((MIGRATIONS_DIR / f"{name}.sql").read_text(encoding="utf-8"))
    with PostgresStore(fresh_postgres_db) as store:
        store.run_migration(MIGRATIONS[0], "SELECT 1")        # records the older ones only
        store.run_migration(MIGRATIONS[1], "SELECT 1")
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "backfill_events.py"),
                          "--database-url", fresh_postgres_db, "--start-date", "2025-01-01",
                          "--end-date", "2025-01-02"], capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "RACING_API_USERNAME": "u",
                              "RACING_API_PASSWORD": "p", "RACING_API_BASE_URL": "http://127.0.0.1:9"})
    assert run.returncode == 3, run.stderr
    assert "schema is behind" in run.stderr and MIGRATIONS[-1] in run.stderr
    assert "init_db.py" in run.stderr and "supabase db push" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
