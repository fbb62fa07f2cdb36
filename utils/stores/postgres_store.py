"""``PostgresStore``: PostgreSQL or Supabase's direct/pooler connection, through psycopg 3.

Why COPY + staging: a day of racing is a few hundred runner rows; sending them row by row costs a
round trip each. COPY streams the batch into a temporary staging table, then one
``INSERT … SELECT … ON CONFLICT DO UPDATE`` merges it (never replacing a value with NULL, only
touching rows that change), in the same transaction as the rest of the write unit.
``prepare_threshold=None`` keeps it working through Supabase's transaction pooler (port 6543).
"""
from __future__ import annotations

import psycopg
from psycopg import errors as pg_errors

from utils.db_target import mask_url
from utils.errors import StoreAuthError, StoreConnectionError, StoreError
from utils.schema import MIGRATIONS_TABLE, PG_TYPES, Table
from utils.stores.base import Store, WriteCounts, columns_of, upsert_sql

AUTH_SQLSTATES = ("28000", "28P01")        # invalid authorization / invalid password
RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)
WRITE_ATTEMPTS = 3                         # concurrent writers on the same rows may deadlock


def _connection_error(exc: BaseException, url: str) -> StoreError:
    """Map a psycopg failure to a typed, password-free error."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate in AUTH_SQLSTATES or "password authentication failed" in text:
        return StoreAuthError(f"PostgreSQL refused the credentials for {mask_url(url)}: {text}")
    return StoreConnectionError(f"PostgreSQL connection lost or refused ({mask_url(url)}): {text}")


class PostgresStore(Store):
    kind = "postgres"

    def __init__(self, url: str, display: str | None = None):
        self.url = url
        self.display = display or f"PostgreSQL {mask_url(url)}"
        try:
            self.conn = psycopg.connect(url, autocommit=False, prepare_threshold=None,
                                        connect_timeout=15, application_name="darkhorses")
        except psycopg.Error as exc:
            raise _connection_error(exc, url) from None
        self._staged: set[str] = set()

    # --- writes ---------------------------------------------------------------------------------
    def _write_prepared(self, prepared: list[tuple[Table, list[dict]]]) -> dict[str, WriteCounts]:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                with self.conn.transaction():
                    return {table.name: self._upsert(table, rows) for table, rows in prepared}
            except RETRYABLE:
                if attempt == WRITE_ATTEMPTS:
                    raise StoreError("write unit kept deadlocking with another writer; rolled back") from None
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                raise _connection_error(exc, self.url) from None
            except psycopg.Error as exc:
                if self.conn.closed or self.conn.broken:
                    raise _connection_error(exc, self.url) from None
                raise StoreError(f"PostgreSQL write failed ({str(exc).splitlines()[0]}); "
                                 f"nothing of this unit was written") from None
        raise AssertionError("unreachable")

    def _staging(self, table: Table) -> str:
        """A temporary twin of the table without constraints, emptied at every commit."""
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
            cur.execute(f"TRUNCATE {staging}")
            with cur.copy(f"COPY {staging} ({col_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row.get(c) for c in columns])
            source = f"SELECT {col_list} FROM {staging} ORDER BY {', '.join(table.key)}"
            cur.execute(upsert_sql(table, columns, source=source, distinct_op="IS DISTINCT FROM",
                                   touch=None) + " RETURNING (xmax = 0)")
            flags = [r[0] for r in cur.fetchall()]
        inserted = sum(1 for f in flags if f)
        updated = len(flags) - inserted
        return WriteCounts(inserted, updated, len(rows) - len(flags))

    # --- reads, migrations ----------------------------------------------------------------------
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        if params:
            sql = sql.replace("%", "%%").replace("?", "%s")
        try:
            with self.conn.transaction():
                return [tuple(r) for r in self.conn.execute(sql, tuple(params) or None).fetchall()]
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise _connection_error(exc, self.url) from None
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL query failed: {str(exc).splitlines()[0]}") from None

    def run_migration(self, name: str, sql: str) -> None:
        try:
            with self.conn.transaction():
                self._ensure_migrations_table()
                self.conn.execute(sql)
                self.conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES (%s)", (name,))
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise _connection_error(exc, self.url) from None
        except psycopg.Error as exc:
            raise StoreError(f"migration {name} failed on PostgreSQL: {str(exc).splitlines()[0]}") from None
        self._staged.clear()

    def _ensure_migrations_table(self) -> None:
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name text PRIMARY KEY, "
                          f"applied_at timestamptz NOT NULL DEFAULT now())")

    def applied_migrations(self) -> set[str]:
        rows = self.query("SELECT to_regclass(?)::text", (MIGRATIONS_TABLE,))
        if not rows or rows[0][0] is None:
            return set()
        return {r[0] for r in self.query(f"SELECT name FROM {MIGRATIONS_TABLE}")}

    def close(self) -> None:
        try:
            self.conn.close()
        except psycopg.Error:
            pass
