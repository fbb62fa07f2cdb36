"""What every store shares: row preparation, the no-clobber upsert rule, and write counts.

Why the rule lives here, once: "a stored value is never replaced by NULL or an empty string" and
"results win over racecards whatever the order" must hold identically in SQLite and PostgreSQL.
Both speak the same ``INSERT … ON CONFLICT … DO UPDATE SET … WHERE <changed>`` dialect, so the
SET expressions are generated here from ``utils.schema`` and only the dialect details (null-safe
comparison, clock function, placeholders) differ per store.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from utils.errors import StoreError
from utils.schema import TABLES, WRITE_ORDER, Table

EMPTY = (None, "")


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


def _clean(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(row) - set(table.columns)
    if unknown:
        raise StoreError(f"{table.name}: unknown columns {sorted(unknown)}")
    return {c: v for c, v in row.items() if v not in EMPTY}


def prepare_rows(table: Table, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Drop empty values, dedupe by key (later rows' values win, earlier ones fill the gaps) and
    sort by key, so a batch never holds a key twice and concurrent writers lock rows in one order."""
    merged: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        clean = _clean(table, row)
        key = tuple(clean.get(k) for k in table.key)
        if any(part in EMPTY for part in key):
            raise StoreError(f"{table.name}: row without its key {table.key}: {sorted(clean)[:6]}")
        merged[key] = {**merged.get(key, {}), **clean}
    return [merged[k] for k in sorted(merged, key=lambda k: tuple(str(p) for p in k))]


def prepare_unit(unit: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[tuple[Table, list[dict]]]:
    """The unit's tables in write order (entities before the rows that reference them)."""
    unknown = set(unit) - set(TABLES)
    if unknown:
        raise StoreError(f"unknown tables {sorted(unknown)}")
    prepared = []
    for name in WRITE_ORDER:
        rows = prepare_rows(TABLES[name], unit.get(name) or ())
        if rows:
            prepared.append((TABLES[name], rows))
    return prepared


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
    """``INSERT … SELECT/VALUES … ON CONFLICT (key) DO UPDATE`` that only writes changed rows."""
    target = table.name
    updates = [c for c in columns if c not in table.key]
    key = ", ".join(table.key)
    if not updates:
        return f"INSERT INTO {target} ({', '.join(columns)}) {source} ON CONFLICT ({key}) DO NOTHING"
    sets = [f"{c} = {merged_value(table, c, target)}" for c in updates]
    if touch:
        sets.append(f"updated_at = {touch}")
    changed = " OR ".join(f"{target}.{c} {distinct_op} {merged_value(table, c, target)}" for c in updates)
    return (f"INSERT INTO {target} ({', '.join(columns)}) {source} ON CONFLICT ({key}) DO UPDATE SET "
            f"{', '.join(sets)} WHERE {changed}")


def columns_of(table: Table, rows: list[dict]) -> list[str]:
    """The table's columns that at least one row provides, in table order (keys first)."""
    present = set().union(*rows)
    return [c for c in table.columns if c in present or c in table.key]


class Store(ABC):
    """One interface, several databases. See CLAUDE.md for the contract."""

    kind: str = ""
    display: str = ""

    def write_unit(self, unit: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, WriteCounts]:
        """Write every table of the unit in one transaction; all or nothing."""
        prepared = prepare_unit(unit)
        if not prepared:
            return {}
        return self._write_prepared(prepared)

    @abstractmethod
    def _write_prepared(self, prepared: list[tuple[Table, list[dict]]]) -> dict[str, WriteCounts]: ...

    @abstractmethod
    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]: ...

    @abstractmethod
    def run_migration(self, name: str, sql: str) -> None:
        """Apply one migration's SQL and record it, in one transaction."""

    @abstractmethod
    def applied_migrations(self) -> set[str]: ...

    def migration_sql(self, name: str, postgres_sql: str) -> str:
        """The SQL this store runs for a migration (PostgreSQL's as written by default)."""
        return postgres_sql

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
