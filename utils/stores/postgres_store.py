"""``PostgresStore``: PostgreSQL or Supabase's direct/pooler connection, through psycopg 3.

Why COPY + staging: a day of racing is a few hundred runner rows; sending them row by row costs a
round trip each. COPY streams the batch into a temporary staging table (a constraint-free twin of
the target, created once per session, emptied at every commit), then one
``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE <changed> RETURNING (xmax = 0)`` merges it —
never replacing a value with NULL, only rewriting rows that change, and telling inserts from
updates — in the same transaction as the rest of the write unit. The migration's trigger keeps
``created_at`` and sets ``updated_at``. ``prepare_threshold=None`` (no server-side prepared
statements) keeps it working through Supabase's transaction pooler (port 6543).
"""
from __future__ import annotations

from contextlib import contextmanager

import psycopg
from psycopg import errors as pg_errors

from utils.db_target import mask_url
from utils.errors import StoreAuthError, StoreConnectionError, StoreError
from utils.schema import MIGRATIONS_TABLE, PG_TYPES, Table
from utils.stores.base import UNIT_NOTE, Store, WriteCounts, columns_of, first_line, scrub, upsert_sql

AUTH_SQLSTATES = ("28000", "28P01")                  # invalid authorization / invalid password
SHUTDOWN_SQLSTATES = ("57P01", "57P02", "57P03")     # admin/crash shutdown, cannot connect now
AUTH_TEXTS = ("password authentication failed", "no pg_hba.conf entry", "authentication failed")
RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
WRITE_ATTEMPTS = 3                                   # concurrent writers on the same rows may deadlock


class _Retry(Exception):
    """A deadlock/serialization failure: the unit was rolled back and may simply run again."""


class PostgresStore(Store):
    kind = "postgres"

    def __init__(self, url: str, display: str | None = None):
        self.url = url
        self.display = display or f"PostgreSQL {mask_url(url)}"
        try:
            self.conn = psycopg.connect(url, autocommit=False, prepare_threshold=None,
                                        connect_timeout=15, application_name="darkhorses")
        except psycopg.Error as exc:
            raise self._typed(exc, "connect") from None
        self._staged: set[str] = set()

    # --- errors ---------------------------------------------------------------------------------
    def _typed(self, exc: BaseException, what: str, note: str = "") -> StoreError:
        """Map a psycopg failure to a typed, password-free error."""
        text = scrub(first_line(exc), self.url) + note
        sqlstate = getattr(exc, "sqlstate", None) or ""
        where = mask_url(self.url)
        if sqlstate in AUTH_SQLSTATES or any(t in text for t in AUTH_TEXTS):
            return StoreAuthError(f"PostgreSQL refused the credentials for {where}: {text}")
        conn = getattr(self, "conn", None)
        lost = conn is None or conn.closed or conn.broken
        if lost or sqlstate.startswith("08") or sqlstate in SHUTDOWN_SQLSTATES \
                or isinstance(exc, psycopg.InterfaceError):
            return StoreConnectionError(f"PostgreSQL connection lost or refused during {what} "
                                        f"({where}): {text}")
        return StoreError(f"PostgreSQL {what} failed: {text}")

    @contextmanager
    def _transaction(self, what: str, note: str = ""):
        try:
            with self.conn.transaction():
                yield
        except RETRYABLE:
            self._staged.clear()
            raise _Retry() from None
        except psycopg.Error as exc:
            self._staged.clear()          # temp tables created in a rolled-back transaction are gone
            raise self._typed(exc, what, note) from None
        except BaseException:
            self._staged.clear()
            raise

    # --- writes ---------------------------------------------------------------------------------
    def _unit_transaction(self):
        return self._transaction("write", UNIT_NOTE)

    def _write_prepared(self, prepared):
        for _attempt in range(WRITE_ATTEMPTS):
            try:
                return super()._write_prepared(prepared)
            except _Retry:
                continue
        raise StoreError("write unit kept deadlocking with another writer; rolled back")

    def _staging(self, table: Table) -> str:
        """A temporary twin of the table without constraints, emptied at every commit (a unit
        names each table once, so the twin is always empty when a batch is copied in)."""
        name = f"stg_{table.name}"
        if name not in self._staged:
            cols = ", ".join(f"{c} {PG_TYPES[t]}" for c, t in table.columns.items())
            self.conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({cols}) ON COMMIT DELETE ROWS")
            self._staged.add(name)
        return name

    def _upsert(self, table: Table, rows: list[dict]) -> WriteCounts:
        columns = columns_of(table, rows)
        staging = self._staging(table)
        col_list = ", ".join(columns)
        with self.conn.cursor() as cur:
            with cur.copy(f"COPY {staging} ({col_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(list(map(row.get, columns)))
            source = f"SELECT {col_list} FROM {staging}"
            cur.execute(upsert_sql(table, columns, source=source, distinct_op="IS DISTINCT FROM",
                                   touch=None) + " RETURNING (xmax = 0)")
            flags = [r[0] for r in cur.fetchall()]
        inserted = sum(flags)
        return WriteCounts(inserted, len(flags) - inserted, len(rows) - len(flags))

    # --- reads, migrations ----------------------------------------------------------------------
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        if params:
            sql = sql.replace("%", "%%").replace("?", "%s")
        with self._transaction("query"):
            return [tuple(r) for r in self.conn.execute(sql, tuple(params) or None).fetchall()]

    def table_names(self) -> set[str]:
        rows = self.query("SELECT table_name FROM information_schema.tables "
                          "WHERE table_schema = current_schema()")
        return {r[0] for r in rows}

    def run_migration(self, name: str, sql: str) -> None:
        with self._transaction(f"migration {name}"):
            for staging in self._staged:  # staging twins must follow the new table definitions
                self.conn.execute(f"DROP TABLE IF EXISTS {staging}")
            self._ensure_migrations_table()
            self.conn.execute(sql)
            self.conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES (%s)", (name,))
        self._staged.clear()

    def _ensure_migrations_table(self) -> None:
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name text PRIMARY KEY, "
                          f"applied_at timestamptz NOT NULL DEFAULT now())")

    def close(self) -> None:
        try:
            self.conn.close()
        except psycopg.Error:
            pass
