"""What every store shares: row preparation, the day's committed mark, the interface, counts.

Why here: every store receives the same write unit, prepared the same way (gaps dropped, rows of
one key merged by ``utils.merge.merge_row``, sorted by key), and must write it with its day's
committed mark in one transaction. The merge rules themselves live in ``utils/merge.py``; SQLite
runs them as generated upserts, PostgreSQL and Supabase REST as the ``ra_apply_day`` function.
"""
from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from utils.errors import StoreError
from utils.merge import merge_row
from utils.schema import MIGRATIONS_TABLE, TABLES, WRITE_ORDER, Table
from utils.stores.reads import check_params, read_of

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
    plain = not (table.observed or table.authority)
    for row in rows:
        clean = _without_empty(row)
        key = tuple(map(clean.get, key_columns))
        if None in key:
            raise StoreError(f"{table.name}: row without its key {table.key}: {sorted(clean)[:6]}")
        previous = merged.get(key)
        if previous is None:
            merged[key] = clean
        else:
            merged[key] = {**previous, **clean} if plain else merge_row(table, previous, clean)
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


@dataclass(frozen=True)
class DayMark:
    """A backfilled day's committed mark: written in the same transaction as the day's rows, so
    the database knows what it holds (``ra_backfill_days``)."""

    day: date
    regions: tuple[str, ...]
    sources: tuple[str, ...]          # "results", "racecards": what the day's write carried

    @property
    def regions_text(self) -> str:
        return " ".join(sorted(set(self.regions)))

    def row(self, prepared: Prepared, committed_at: datetime) -> dict[str, Any]:
        """The mark as a row of ``ra_backfill_days`` (a source not carried is a gap, never False:
        a later write only adds sources). The day is ISO text, as SQLite stores and compares it."""
        counts = {table.name: len(rows) for table, rows in prepared}
        row = {"day": self.day.isoformat(), "regions": self.regions_text, "races": counts.get("ra_races", 0),
               "runners": counts.get("ra_runners", 0), "committed_at": committed_at}
        for source in self.sources:
            row[f"{source}_done"] = True
        return row


def jsonable(value: Any) -> Any:
    """A row value as JSON: numerics as exact strings, dates and times as ISO text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, time, datetime)):
        return value.isoformat()
    return value


def unit_json(prepared: Prepared) -> str:
    """The prepared unit as the JSON object ``ra_apply_day`` takes: ``{table: [row, …]}``."""
    return json.dumps({table.name: rows for table, rows in prepared}, default=jsonable,
                      separators=(",", ":"))


def columns_of(table: Table, rows: list[dict]) -> list[str]:
    """The table's columns that at least one row provides, in table order (keys always)."""
    present = set().union(*rows)
    return [c for c in table.columns if c in present or c in table.key]


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


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- the interface ------------------------------------------------------------------------------
class Store(ABC):
    """One interface, several databases. See CLAUDE.md for the contract."""

    kind: str = ""
    display: str = ""

    def write_unit(self, unit: Unit, mark: DayMark | None = None) -> dict[str, WriteCounts]:
        """Write every table of the unit, and the day's mark if given, in one transaction; all or
        nothing. Returns the counts per table."""
        prepared = prepare_unit(unit)
        if not prepared and mark is None:
            return {}
        return self._write_prepared(prepared, mark)

    @abstractmethod
    def _write_prepared(self, prepared: Prepared, mark: DayMark | None) -> dict[str, WriteCounts]:
        """One transaction: the prepared rows merged by the rules of utils/merge.py, and the mark."""

    def read(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """One of the named reads of ``utils/stores/reads.py``: rows as dicts of its aliased columns."""
        read = read_of(name)
        check_params(read, params)
        return self._read(read, {k: jsonable(v) for k, v in params.items()})

    @abstractmethod
    def _read(self, read, params: dict[str, Any]) -> list[dict[str, Any]]: ...

    @abstractmethod
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        """Read-only SQL with '?' placeholders; rows as tuples (SQL stores only: diagnostics and
        tests; the commands use ``read``)."""

    # --- migrations (the SQL stores; the REST store overrides these) ----------------------------
    @abstractmethod
    def run_migration(self, name: str, sql: str) -> None:
        """Apply one migration's SQL and record it, in one transaction."""

    def schema_state(self) -> tuple[set[str], set[str]]:
        """(applied migration names, table names): what the start-up schema check reads, in one
        look at the database (the table list is read once, not once per question)."""
        tables = self.table_names()
        return self._applied_given(tables), tables

    def _applied_given(self, tables: set[str]) -> set[str]:
        """Names recorded in the migrations table (none when it does not exist yet)."""
        if MIGRATIONS_TABLE not in tables:
            return set()
        return {r[0] for r in self.query(f"SELECT name FROM {MIGRATIONS_TABLE}")}

    def applied_migrations(self) -> set[str]:
        return self.schema_state()[0]

    def migration_sql(self, name: str, postgres_sql: str) -> str:
        """The SQL this store runs for a migration (PostgreSQL's as written by default)."""
        return postgres_sql

    def apply_migrations(self) -> list[str]:
        from utils.stores import migrations

        return migrations.apply_migrations(self)

    def pending_migrations(self) -> list[str]:
        from utils.stores import migrations

        return migrations.pending_migrations(self)

    def check_schema(self) -> None:
        from utils.stores import migrations

        migrations.check_schema(self)

    @abstractmethod
    def table_names(self) -> set[str]:
        """Names of the tables in the database (the current schema)."""

    # --- helpers --------------------------------------------------------------------------------
    def table_count(self, table: str) -> int:
        """Rows of one ra_* table (through the ``table_counts`` read, so on every store)."""
        if table not in TABLES:
            raise StoreError(f"unknown table {table}")
        return next(int(r["n"]) for r in self.read("table_counts") if r["tbl"] == table)

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
