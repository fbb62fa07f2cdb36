"""``PostgresStore``: PostgreSQL or Supabase's direct/pooler connection, through psycopg 3.

Why one function call per day: our users' database is remote (20-150 ms a round trip). The whole
day — its rows as JSON and its committed mark — goes to ``ra_apply_day`` (utils/stores/pg_functions.py)
in ONE statement on an autocommit connection: one round trip, one transaction, all or nothing.
The merge (dedupe, no clobber, results beat racecards, newest observation wins) runs in the
database, by the same rules as every other path. Reads are the ``ra_<read>`` functions, one round
trip each. ``prepare_threshold=None`` (no server-side prepared statements) keeps it working
through Supabase's transaction pooler (port 6543).
"""
from __future__ import annotations

from contextlib import contextmanager

import psycopg
from psycopg import errors as pg_errors

from utils.errors import StoreAuthError, StoreConnectionError, StoreError
from utils.schema import MIGRATIONS_TABLE, PG_TYPES
from utils.stores.base import UNIT_NOTE, DayMark, Prepared, Store, WriteCounts, first_line, scrub, unit_json
from utils.stores.migrations import names_of_versions
from utils.stores.pg_functions import APPLY_FUNCTION, APPLY_PARAMS, apply_counts, day_arguments
from utils.stores.target import mask_url

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
            self.conn = psycopg.connect(url, autocommit=True, prepare_threshold=None,
                                        connect_timeout=15, application_name="darkhorses")
        except psycopg.Error as exc:
            raise self._typed(exc, "connect") from None

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
    def _errors(self, what: str, note: str = ""):
        """Typed, password-free errors; a deadlock becomes ``_Retry`` (the call rolled back)."""
        try:
            yield
        except RETRYABLE:
            raise _Retry() from None
        except psycopg.Error as exc:
            raise self._typed(exc, what, note) from None

    # --- writes ---------------------------------------------------------------------------------
    def _call(self, function: str, signature, arguments: dict):
        """One round trip: ``SELECT fn(p_x => %s::type, …)`` with ``signature`` the
        ``(name, PostgreSQL type)`` of each named argument; the function's jsonb answer."""
        named = ", ".join(f"{name} => %s::{kind}" for name, kind in signature)
        return self.conn.execute(f"SELECT {function}({named})",
                                 [arguments[name] for name, _ in signature]).fetchone()[0]

    def _write_prepared(self, prepared: Prepared, mark: DayMark | None) -> dict[str, WriteCounts]:
        """One statement, one round trip: ``SELECT ra_apply_day(unit, day, regions, sources)``."""
        arguments = {"p_unit": unit_json(prepared), **day_arguments(mark)}
        for _attempt in range(WRITE_ATTEMPTS):
            try:
                with self._errors("write", UNIT_NOTE):
                    return apply_counts(self._call(APPLY_FUNCTION, APPLY_PARAMS, arguments))
            except _Retry:
                continue
        raise StoreError("write unit kept deadlocking with another writer; rolled back")

    def _read(self, read, params) -> list[dict]:
        signature = [(f"p_{name}", PG_TYPES[kind]) for name, kind in read.params]
        with self._errors(f"read {read.name}"):
            return self._call(read.function, signature, read.arguments(params))

    # --- reads, migrations ----------------------------------------------------------------------
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        if params:
            sql = sql.replace("%", "%%").replace("?", "%s")
        with self._errors("query"):
            return [tuple(r) for r in self.conn.execute(sql, tuple(params) or None).fetchall()]

    def table_names(self) -> set[str]:
        rows = self.query("SELECT table_name FROM information_schema.tables "
                          "WHERE table_schema = current_schema()")
        return {r[0] for r in rows}

    def _applied_given(self, tables: set[str]) -> set[str]:
        """Names recorded by the project, plus those the Supabase CLI recorded by version."""
        names = super()._applied_given(tables)
        cli = self.query("SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL")
        if cli[0][0]:
            versions = self.query("SELECT version FROM supabase_migrations.schema_migrations")
            names |= names_of_versions(r[0] for r in versions)
        return names

    def run_migration(self, name: str, sql: str) -> None:
        with self._errors(f"migration {name}"), self.conn.transaction():
            self._ensure_migrations_table()
            self.conn.execute(sql)
            self.conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES (%s) "
                              f"ON CONFLICT (name) DO NOTHING", (name,))

    def _ensure_migrations_table(self) -> None:
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name text PRIMARY KEY, "
                          f"applied_at timestamptz NOT NULL DEFAULT now())")

    def close(self) -> None:
        try:
            self.conn.close()
        except psycopg.Error:
            pass
