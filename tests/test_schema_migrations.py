"""Migrations: idempotent, checked at start-up, and both databases match utils.schema exactly."""
from __future__ import annotations

import pytest

from pg_databases import fresh_postgres_db  # noqa: F401 (fixture)
from utils import migrations
from utils.errors import SchemaOutOfDateError
from utils.schema import AUDIT_COLUMNS, MIGRATIONS_TABLE, TABLES, render_postgres_ddl


@pytest.fixture(params=["sqlite", "postgres"])
def empty_store(request, tmp_path):
    if request.param == "sqlite":
        from utils.stores.sqlite_store import SqliteStore

        store = SqliteStore(tmp_path / "schema.db")
    else:
        from utils.stores.postgres_store import PostgresStore

        store = PostgresStore(request.getfixturevalue("fresh_postgres_db"))
    yield store
    store.close()


def columns(store) -> dict[str, list[str]]:
    if store.kind == "sqlite":
        names = [r[0] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%'")]
        return {n: [r[1] for r in store.query(f"PRAGMA table_info({n})")] for n in names}
    rows = store.query("SELECT table_name, column_name FROM information_schema.columns "
                       "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position")
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def test_check_schema_on_an_empty_database_names_init_db(empty_store):
    with pytest.raises(SchemaOutOfDateError) as info:
        empty_store.check_schema()
    assert "python3 scripts/init_db.py" in str(info.value)
    assert migrations.migration_names()[0] in str(info.value)


def test_apply_twice_is_a_no_op(empty_store):
    names = migrations.migration_names()
    assert empty_store.apply_migrations() == names
    before = columns(empty_store)
    assert empty_store.apply_migrations() == []
    assert empty_store.pending_migrations() == []
    assert columns(empty_store) == before
    assert sorted(r[0] for r in empty_store.query(f"SELECT name FROM {MIGRATIONS_TABLE}")) == names
    empty_store.check_schema()   # no error once applied


def test_tables_and_columns_match_the_schema_exactly(empty_store):
    empty_store.apply_migrations()
    expected = {name: t.data_columns + list(AUDIT_COLUMNS) for name, t in TABLES.items()}
    actual = columns(empty_store)
    migrations_table = actual.pop(MIGRATIONS_TABLE)
    assert migrations_table == ["name", "applied_at"]
    assert actual == expected


def test_dropped_table_is_reported(empty_store):
    empty_store.apply_migrations()
    if empty_store.kind == "sqlite":
        empty_store.conn.execute("PRAGMA foreign_keys=OFF")
        empty_store.conn.execute("DROP TABLE ra_runners")
    else:
        with empty_store.conn.transaction():
            empty_store.conn.execute("DROP TABLE ra_runners")
    with pytest.raises(SchemaOutOfDateError, match="ra_runners"):
        empty_store.check_schema()


def test_committed_initial_migration_is_the_rendered_schema():
    path = migrations.MIGRATIONS_DIR / f"{migrations.INITIAL_MIGRATION}.sql"
    assert path.read_text(encoding="utf-8") == render_postgres_ddl()
    assert migrations.migration_names()[0] == migrations.INITIAL_MIGRATION
