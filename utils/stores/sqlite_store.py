"""``SqliteStore``: the embedded default (stdlib sqlite3, WAL, one transaction per write unit).

Why WAL and ``BEGIN IMMEDIATE``: a report or ``--check-status`` may read while a backfill writes,
and a second writer must wait for the lock (busy timeout) instead of failing half-way. Values are
stored as ISO text for dates/times, numeric affinity for Decimals, 0/1 for booleans.
"""
from __future__ import annotations

import sqlite3
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from utils.errors import StoreConnectionError, StoreError
from utils.schema import MIGRATIONS_TABLE, Table, render_sqlite_ddl
from utils.stores.base import Store, WriteCounts, columns_of, upsert_sql

sqlite3.register_adapter(Decimal, lambda d: format(d, "f"))
sqlite3.register_adapter(date, lambda d: d.isoformat())
sqlite3.register_adapter(time, lambda t: t.isoformat())
sqlite3.register_adapter(datetime, lambda t: t.isoformat())

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
KEY_CHUNK = 500   # keys per "which of these exist?" query (SQLite's variable limit is 32766)


class SqliteStore(Store):
    kind = "sqlite"

    def __init__(self, path: Path, display: str | None = None):
        self.path = Path(path)
        self.display = display or f"SQLite {self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0,
                                        check_same_thread=False)
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL",
                           "busy_timeout=30000"):
                self.conn.execute(f"PRAGMA {pragma}")
        except (OSError, sqlite3.Error) as exc:
            raise StoreConnectionError(f"cannot open SQLite database {self.path}: {exc}") from None
        self._sql_cache: dict[tuple[str, tuple[str, ...]], str] = {}

    # --- writes ---------------------------------------------------------------------------------
    def _write_prepared(self, prepared: list[tuple[Table, list[dict]]]) -> dict[str, WriteCounts]:
        counts: dict[str, WriteCounts] = {}
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for table, rows in prepared:
                    counts[table.name] = self._upsert(table, rows)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise StoreConnectionError(f"SQLite write failed ({exc}); nothing of this unit was written") from None
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite write failed ({exc}); nothing of this unit was written") from None
        return counts

    def _upsert(self, table: Table, rows: list[dict]) -> WriteCounts:
        columns = columns_of(table, rows)
        existing = self._existing_keys(table, rows)
        before = self.conn.total_changes
        self.conn.executemany(self._statement(table, columns),
                              [tuple(row.get(c) for c in columns) for row in rows])
        changed = self.conn.total_changes - before
        inserted = len(rows) - existing
        updated = changed - inserted
        return WriteCounts(inserted, updated, len(rows) - inserted - updated)

    def _statement(self, table: Table, columns: list[str]) -> str:
        key = (table.name, tuple(columns))
        if key not in self._sql_cache:
            values = f"VALUES ({', '.join('?' for _ in columns)})"
            self._sql_cache[key] = upsert_sql(table, columns, source=values, distinct_op="IS NOT",
                                              touch=NOW)
        return self._sql_cache[key]

    def _existing_keys(self, table: Table, rows: list[dict]) -> int:
        found = 0
        if len(table.key) == 1:
            col = table.key[0]
            for i in range(0, len(rows), KEY_CHUNK):
                part = [r[col] for r in rows[i:i + KEY_CHUNK]]
                found += self.conn.execute(
                    f"SELECT count(*) FROM {table.name} WHERE {col} IN ({', '.join('?' * len(part))})",
                    part).fetchone()[0]
            return found
        where = " AND ".join(f"{k} = ?" for k in table.key)
        sql = f"SELECT 1 FROM {table.name} WHERE {where}"
        for row in rows:
            found += self.conn.execute(sql, [row[k] for k in table.key]).fetchone() is not None
        return found

    # --- reads, migrations ----------------------------------------------------------------------
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        try:
            return [tuple(r) for r in self.conn.execute(sql, tuple(params)).fetchall()]
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite query failed: {exc}") from None

    def migration_sql(self, name: str, postgres_sql: str) -> str:
        from utils.migrations import INITIAL_MIGRATION, sqlite_sibling

        if name == INITIAL_MIGRATION:
            return render_sqlite_ddl()
        return sqlite_sibling(name)

    def run_migration(self, name: str, sql: str) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self._ensure_migrations_table()
                for statement in _split_statements(sql):
                    self.conn.execute(statement)
                self.conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES (?)", (name,))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"migration {name} failed on SQLite: {exc}") from None

    def _ensure_migrations_table(self) -> None:
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, "
                          f"applied_at TEXT NOT NULL DEFAULT ({NOW}))")

    def applied_migrations(self) -> set[str]:
        exists = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                   (MIGRATIONS_TABLE,)).fetchone()
        if not exists:
            return set()
        return {r[0] for r in self.conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass


def _split_statements(sql: str) -> list[str]:
    """Split a DDL script into statements (sqlite3.execute takes one at a time inside our
    explicit transaction; executescript would commit on its own)."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
