"""What every store shares: row preparation, the no-clobber upsert rule, the write-unit loop, counts.

Why the rule lives here, once: "a stored value is never replaced by NULL or an empty string" and
"results win over racecards whatever the order" must hold identically in SQLite and PostgreSQL.
Both speak the same ``INSERT … ON CONFLICT … DO UPDATE SET … WHERE <changed>`` dialect, so the
SET expressions are generated here from ``utils.schema`` and only the dialect details (null-safe
comparison, clock function, placeholders, how a transaction is opened and how errors are mapped)
differ per store.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from utils.errors import StoreError
from utils.schema import MIGRATIONS_TABLE, TABLES, WRITE_ORDER, Table

UNIT_NOTE = "; the write unit was rolled back, nothing of it was written"
Unit = Mapping[str, Iterable[Mapping[str, Any]]]
Prepared = list[tuple[Table, list[dict[str, Any]]]]


@dataclass
class WriteCounts:
    """Rows of one table in one write unit, after dedupe. ``unchanged`` rows were not rewritten;
    ``unknown`` rows were written by a store that cannot tell (Supabase REST, return=minimal)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.unknown


# --- row preparation ----------------------------------------------------------------------------
def _without_empty(row: Mapping[str, Any]) -> Mapping[str, Any]:
    values = row.values()
    if None not in values and "" not in values:
        return row      # the common case (transforms omit empty values): no copy; rows are never mutated
    # "v or …" keeps the common truthy values cheap; 0, False and Decimal(0) are real values.
    return {c: v for c, v in row.items() if v or (v is not None and v.__class__ is not str)}


def prepare_rows(table: Table, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Drop empty values, dedupe by key (later rows' values win, earlier ones fill the gaps) and
    sort by key, so a batch never holds a key twice and concurrent writers lock rows in one order.
    Unknown columns are refused once per batch (a per-row check cost more than the rest)."""
    merged: dict[tuple, dict[str, Any]] = {}
    key_columns = table.key
    for row in rows:
        clean = _without_empty(row)
        key = tuple(map(clean.get, key_columns))
        if None in key:
            raise StoreError(f"{table.name}: row without its key {table.key}: {sorted(clean)[:6]}")
        previous = merged.get(key)
        merged[key] = {**previous, **clean} if previous else clean
    unknown = set().union(*merged.values()) - table.columns.keys()
    if unknown:
        raise StoreError(f"{table.name}: unknown columns {sorted(unknown)}")
    try:
        order = sorted(merged)
    except TypeError:    # mixed key types: any stable order will do
        order = sorted(merged, key=lambda k: tuple(str(p) for p in k))
    return [merged[k] for k in order]


def prepare_unit(unit: Unit) -> Prepared:
    """The unit's non-empty tables in write order (entities before the rows that reference them)."""
    unknown = set(unit) - set(TABLES)
    if unknown:
        raise StoreError(f"unknown tables {sorted(unknown)}")
    prepared = []
    for name in WRITE_ORDER:
        rows = prepare_rows(TABLES[name], unit.get(name) or ())
        if rows:
            prepared.append((TABLES[name], rows))
    return prepared


def columns_of(table: Table, rows: list[dict]) -> list[str]:
    """The table's columns that at least one row provides, in table order (keys always)."""
    present = set().union(*rows)
    return [c for c in table.columns if c in present or c in table.key]


# --- the upsert statement -----------------------------------------------------------------------
def merged_value(table: Table, column: str, target: str) -> str:
    """SQL for the value a column gets on conflict: keep what is stored unless the new row has a
    value; when the stored row carries the authority column (a result) and the new row does not (a
    racecard), the new row may only fill gaps."""
    keep_new = f"COALESCE(excluded.{column}, {target}.{column})"
    if not table.authority or column == table.authority:
        return keep_new
    keep_old = f"COALESCE({target}.{column}, excluded.{column})"
    auth = table.authority
    return (f"CASE WHEN {target}.{auth} IS NOT NULL AND excluded.{auth} IS NULL "
            f"THEN {keep_old} ELSE {keep_new} END")


def upsert_sql(table: Table, columns: list[str], *, source: str, distinct_op: str,
               touch: str | None) -> str:
    """``INSERT … <source> ON CONFLICT (key) DO UPDATE`` that only rewrites rows that change.

    Only ``columns`` (those the batch provides) are touched; the WHERE clause skips rows whose
    merged values equal the stored ones, so re-running a day rewrites nothing and ``updated_at``
    moves only on a real change. ``touch`` is the clock expression for stores without a trigger.
    """
    target = table.name
    updates = [c for c in columns if c not in table.key]
    key = ", ".join(table.key)
    if not updates:
        return f"INSERT INTO {target} ({', '.join(columns)}) {source} ON CONFLICT ({key}) DO NOTHING"
    sets = [f"{c} = {merged_value(table, c, target)}" for c in updates]
    if touch:
        sets.append(f"updated_at = {touch}")
    compared = [c for c in updates if c not in table.stamps] or updates
    changed = " OR ".join(f"{target}.{c} {distinct_op} {merged_value(table, c, target)}" for c in compared)
    return (f"INSERT INTO {target} ({', '.join(columns)}) {source} ON CONFLICT ({key}) DO UPDATE SET "
            f"{', '.join(sets)} WHERE {changed}")


def scrub(text: str, *secrets: str | None) -> str:
    """Remove credentials from an error text (URL passwords, ``password=`` pairs, known secrets)."""
    text = re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1****@", text)
    text = re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1****", text, flags=re.I)
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "****")
    return text


def first_line(exc: BaseException) -> str:
    """An exception as one line (driver messages often carry multi-line context)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- the interface ------------------------------------------------------------------------------
class Store(ABC):
    """One interface, several databases. See CLAUDE.md for the contract.

    ``after_table`` is a diagnostic hook called inside the write transaction after each table of a
    unit is written (tests use it to kill the connection or raise half-way through a unit).
    """

    kind: str = ""
    display: str = ""
    after_table: Callable[[str], None] | None = None

    def write_unit(self, unit: Unit) -> dict[str, WriteCounts]:
        """Write every table of the unit in one transaction; all or nothing."""
        prepared = prepare_unit(unit)
        if not prepared:
            return {}
        return self._write_prepared(prepared)

    def _write_prepared(self, prepared: Prepared) -> dict[str, WriteCounts]:
        with self._unit_transaction():
            counts = {}
            for table, rows in prepared:
                counts[table.name] = self._upsert(table, rows)
                if self.after_table:
                    self.after_table(table.name)
            return counts

    @abstractmethod
    def _unit_transaction(self) -> AbstractContextManager:
        """Open one transaction; commit on success, roll back and raise a typed StoreError else."""

    @abstractmethod
    def _upsert(self, table: Table, rows: list[dict]) -> WriteCounts: ...

    @abstractmethod
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Read-only SQL with '?' placeholders; rows as tuples."""

    # --- migrations (the SQL stores; the REST store overrides these) ----------------------------
    @abstractmethod
    def run_migration(self, name: str, sql: str) -> None:
        """Apply one migration's SQL and record it, in one transaction."""

    def applied_migrations(self) -> set[str]:
        """Names recorded in the migrations table (none when it does not exist yet)."""
        if MIGRATIONS_TABLE not in self.table_names():
            return set()
        return {r[0] for r in self.query(f"SELECT name FROM {MIGRATIONS_TABLE}")}

    def migration_sql(self, name: str, postgres_sql: str) -> str:
        """The SQL this store runs for a migration (PostgreSQL's as written by default)."""
        return postgres_sql

    def apply_migrations(self) -> list[str]:
        from utils import migrations

        return migrations.apply_migrations(self)

    def pending_migrations(self) -> list[str]:
        from utils import migrations

        return migrations.pending_migrations(self)

    def check_schema(self) -> None:
        from utils import migrations

        migrations.check_schema(self)

    def missing_tables(self) -> list[str]:
        """ra_* tables the schema defines that the database lacks (a dropped table, a wrong
        database); checked at start-up together with the recorded migrations."""
        existing = self.table_names()
        return [name for name in WRITE_ORDER if name not in existing]

    @abstractmethod
    def table_names(self) -> set[str]:
        """Names of the tables in the database (the current schema)."""

    # --- helpers --------------------------------------------------------------------------------
    def table_count(self, table: str) -> int:
        if table not in TABLES:
            raise StoreError(f"unknown table {table}")
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0])

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
