"""``SqliteStore``: the embedded default (stdlib sqlite3, WAL, one transaction per write unit).

Why WAL and ``BEGIN IMMEDIATE``: a report or ``--check-status`` may read while a backfill writes,
and a second writer must wait for the lock (busy timeout) instead of failing half-way. Values are
stored as ISO text for dates/times (timestamps normalised to UTC so one instant has one spelling),
numeric affinity for Decimals, 0/1 for booleans. Rows go in with ``executemany`` of one prepared
upsert per table and column set (about 100k runner rows/s).
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import date, datetime, time, timezone
from decimal import Decimal
from pathlib import Path

from utils.errors import StoreConnectionError, StoreError
from utils.schema import MIGRATIONS_TABLE, Table
from utils.stores.base import UNIT_NOTE, Store, WriteCounts, columns_of, first_line, upsert_sql


def _timestamp(value: datetime) -> str:
    return (value.astimezone(timezone.utc) if value.tzinfo else value).isoformat()


sqlite3.register_adapter(Decimal, lambda d: format(d, "f"))
sqlite3.register_adapter(date, lambda d: d.isoformat())
sqlite3.register_adapter(time, lambda t: t.isoformat())
sqlite3.register_adapter(datetime, _timestamp)

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
KEY_CHUNK = 400     # rows per "which of these keys exist?" query (well under SQLite's variable cap)
BUSY_TIMEOUT_MS = 30_000
# Primary result codes meaning the database itself is unusable (not this unit's data): critical.
_FATAL_CODES = {3: "PERM", 5: "BUSY", 6: "LOCKED", 8: "READONLY", 10: "IOERR", 11: "CORRUPT",
                13: "FULL", 14: "CANTOPEN", 26: "NOTADB"}


def _map_error(exc: sqlite3.Error, what: str, note: str = "") -> StoreError:
    """A typed error: database unusable -> StoreConnectionError (critical), else StoreError."""
    code = getattr(exc, "sqlite_errorcode", None)
    fatal = isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc)
    fatal = fatal or (code is not None and (code & 0xFF) in _FATAL_CODES)
    cls = StoreConnectionError if fatal else StoreError
    return cls(f"SQLite {what} failed: {first_line(exc)}{note}")


class SqliteStore(Store):
    kind = "sqlite"

    def __init__(self, path: Path, display: str | None = None):
        self.path = Path(path)
        self.display = display or f"SQLite {self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                                        check_same_thread=False)
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL",
                           f"busy_timeout={BUSY_TIMEOUT_MS}"):
                self.conn.execute(f"PRAGMA {pragma}")
        except (OSError, sqlite3.Error) as exc:
            raise StoreConnectionError(f"cannot open SQLite database {self.path}: {first_line(exc)}") from None
        self._sql_cache: dict[tuple[str, tuple[str, ...]], str] = {}

    # --- writes ---------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self, what: str, note: str = ""):
        """BEGIN IMMEDIATE … COMMIT; any failure rolls back and surfaces as a typed error."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _map_error(exc, what, note) from None

    def _unit_transaction(self):
        return self._transaction("write", UNIT_NOTE)

    def _upsert(self, table: Table, rows: list[dict]) -> WriteCounts:
        columns = columns_of(table, rows)
        existing = self._count_existing(table, rows)
        before = self.conn.total_changes
        self.conn.executemany(self._statement(table, columns),
                              [tuple(map(row.get, columns)) for row in rows])
        changed = self.conn.total_changes - before
        inserted = len(rows) - existing
        updated = changed - inserted
        return WriteCounts(inserted, updated, len(rows) - changed)

    def _statement(self, table: Table, columns: list[str]) -> str:
        key = (table.name, tuple(columns))
        if key not in self._sql_cache:
            values = f"VALUES ({', '.join('?' for _ in columns)})"
            self._sql_cache[key] = upsert_sql(table, columns, source=values, distinct_op="IS NOT",
                                              touch=NOW)
        return self._sql_cache[key]

    def _count_existing(self, table: Table, rows: list[dict]) -> int:
        """How many of the batch's keys are already stored (so changes split into inserts/updates)."""
        one = "(" + ", ".join("?" for _ in table.key) + ")"
        found = 0
        for i in range(0, len(rows), KEY_CHUNK):
            part = rows[i:i + KEY_CHUNK]
            params = [row[k] for row in part for k in table.key]
            # A join on the VALUES list, not "(a, b) IN (VALUES …)": SQLite answers the row-value
            # IN with a full scan of the table for a composite key (quadratic over a backfill).
            on = " AND ".join(f"t.{k} = v.column{i}" for i, k in enumerate(table.key, 1))
            sql = (f"SELECT count(*) FROM (VALUES {', '.join([one] * len(part))}) AS v "
                   f"JOIN {table.name} AS t ON {on}")
            found += self.conn.execute(sql, params).fetchone()[0]
        return found

    # --- reads, migrations ----------------------------------------------------------------------
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        try:
            return [tuple(r) for r in self.conn.execute(sql, tuple(params)).fetchall()]
        except sqlite3.Error as exc:
            raise _map_error(exc, "query") from None

    def table_names(self) -> set[str]:
        return {r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def migration_sql(self, name: str, postgres_sql: str) -> str:
        from utils.migrations import sqlite_sql

        return sqlite_sql(name)

    def run_migration(self, name: str, sql: str) -> None:
        with self._transaction(f"migration {name}"):
            self._ensure_migrations_table()
            for statement in _split_statements(sql):
                self.conn.execute(statement)
            self.conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES (?)", (name,))

    def _ensure_migrations_table(self) -> None:
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, "
                          f"applied_at TEXT NOT NULL DEFAULT ({NOW}))")

    def applied_migrations(self) -> set[str]:
        if MIGRATIONS_TABLE not in self.table_names():
            return set()
        return {r[0] for r in self.query(f"SELECT name FROM {MIGRATIONS_TABLE}")}

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
