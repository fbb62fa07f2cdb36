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
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import partial
from pathlib import Path

from utils.errors import StoreConnectionError, StoreError
from utils.merge import upsert_sql
from utils.schema import BACKFILL_DAYS, MIGRATIONS_TABLE, Table
from utils.stores.base import UNIT_NOTE, DayMark, Prepared, Store, WriteCounts, columns_of, first_line, now_utc


def _timestamp(value: datetime) -> str:
    return (value.astimezone(UTC) if value.tzinfo else value).isoformat()


sqlite3.register_adapter(Decimal, lambda d: format(d, "f"))
sqlite3.register_adapter(date, lambda d: d.isoformat())
sqlite3.register_adapter(time, lambda t: t.isoformat())
sqlite3.register_adapter(datetime, _timestamp)

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
KEY_CHUNK = 400     # rows per "which of these keys exist?" query (well under SQLite's variable cap)
BUSY_TIMEOUT_MS = 30_000
# WAL pages between automatic checkpoints (~40 MB; SQLite's default is 1,000): a backfill rewrites
# the same index pages day after day, and each checkpoint copies them and syncs the file once, so
# fewer, larger checkpoints cost less (measured: 60 days of writes 8% faster). The WAL is folded
# back into the database when the last connection closes.
WAL_CHECKPOINT_PAGES = 10_000
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
                           f"wal_autocheckpoint={WAL_CHECKPOINT_PAGES}", "cache_size=-4096",
                           "temp_store=MEMORY",
                           f"busy_timeout={BUSY_TIMEOUT_MS}"):
                self.conn.execute(f"PRAGMA {pragma}")
        except (OSError, sqlite3.Error) as exc:
            raise StoreConnectionError(f"cannot open SQLite database {self.path}: {first_line(exc)}") from None
        self._sql_cache: dict[tuple, str] = {}

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

    def _write_prepared(self, prepared: Prepared, mark: DayMark | None) -> dict[str, WriteCounts]:
        """Every table in write order, then the day's mark, inside one BEGIN IMMEDIATE."""
        counts: dict[str, WriteCounts] = {}
        with self._transaction("write", UNIT_NOTE):
            for table, rows in prepared:
                counts[table.name] = self._named(table, partial(self._upsert, table, rows))
            if mark is not None:
                self._named(BACKFILL_DAYS, lambda: self._upsert(
                    BACKFILL_DAYS, [mark.row(prepared, now_utc())], touch=None))
        return counts

    @staticmethod
    def _named(table: Table, write):
        """Run one table's write; a refusal names the table (as ra_apply_day's errors do)."""
        try:
            return write()
        except sqlite3.Error as exc:
            named = type(exc)(f"{table.name}: {exc}")
            named.sqlite_errorcode = getattr(exc, "sqlite_errorcode", None)   # decides "critical"
            raise named from None

    def _upsert(self, table: Table, rows: list[dict], touch: str | None = NOW) -> WriteCounts:
        """New keys go in with a plain INSERT (about twice as fast as the upsert path), stored
        keys through the no-clobber upsert; BEGIN IMMEDIATE holds the write lock, so no other
        writer can add a key in between."""
        columns = columns_of(table, rows)
        keys = [tuple(map(row.__getitem__, table.key)) for row in rows]   # once per row
        existing = self._existing_keys(table, keys)
        if existing:
            fresh = [row for row, key in zip(rows, keys) if key not in existing]
            stored = [row for row, key in zip(rows, keys) if key in existing]
        else:
            fresh, stored = rows, []
        if fresh:
            self.conn.executemany(self._statement(table, columns, plain=True),
                                  [tuple(map(r.get, columns)) for r in fresh])
        before = self.conn.total_changes
        if stored:
            self.conn.executemany(self._statement(table, columns, touch=touch),
                                  [tuple(map(r.get, columns)) for r in stored])
        updated = self.conn.total_changes - before
        return WriteCounts(len(fresh), updated, len(stored) - updated)

    def _statement(self, table: Table, columns: list[str], plain: bool = False,
                   touch: str | None = NOW) -> str:
        key = (table.name, tuple(columns), plain)
        if key not in self._sql_cache:
            values = f"VALUES ({', '.join('?' for _ in columns)})"
            self._sql_cache[key] = (
                f"INSERT INTO {table.name} ({', '.join(columns)}) {values}" if plain else
                upsert_sql(table, columns, source=values, distinct_op="IS NOT", touch=touch))
        return self._sql_cache[key]

    def _existing_keys(self, table: Table, keys: list[tuple]) -> set[tuple]:
        """Which of the batch's keys are already stored. Looked up by the key's first column with
        ``IN (?, …)`` so the primary-key index is used (a row-value ``IN (VALUES …)`` makes
        SQLite scan the table: quadratic over a backfill)."""
        lead = table.key[0]
        leads = list({key[0] for key in keys})
        found: set[tuple] = set()
        for i in range(0, len(leads), KEY_CHUNK):
            part = leads[i:i + KEY_CHUNK]
            sql = (f"SELECT {', '.join(table.key)} FROM {table.name} "
                   f"WHERE {lead} IN ({', '.join('?' * len(part))})")
            found.update(self.conn.execute(sql, part))      # rows come back as tuples
        return found.intersection(keys)

    # --- reads, migrations ----------------------------------------------------------------------
    def _read(self, read, params) -> list[dict]:
        """The read's portable SELECT, run as written (SQLite takes ``:name`` parameters)."""
        values = {k: int(v) if isinstance(v, bool) else v for k, v in params.items()}
        try:
            cursor = self.conn.execute(read.sql, values)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise _map_error(exc, f"read {read.name}") from None

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        try:
            return [tuple(r) for r in self.conn.execute(sql, tuple(params)).fetchall()]
        except sqlite3.Error as exc:
            raise _map_error(exc, "query") from None

    def table_names(self) -> set[str]:
        return {r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def migration_sql(self, name: str, postgres_sql: str) -> str:
        from utils.stores.migrations import sqlite_sql

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
