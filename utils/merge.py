"""The rules of the data, written once: how a new observation of a row merges with what is stored.

Why one module: the same rules must hold inside one day's rows (deduped in Python before the
write), in SQLite's upsert statements and in PostgreSQL's ``ra_apply_day`` function (both generated
from ``merged_value`` below), so that any order, repetition or split of the same days gives
identical tables. The rules, per column of a stored row ``t`` and a new row ``n``:

1. **No clobber.** A gap (absent, NULL, "") never replaces a stored value.
2. **Authority.** When ``t`` carries the table's authority column and ``n`` does not (a result is
   stored and a racecard arrives; a horse profile is stored and a runner's view arrives), ``n`` only
   fills gaps. Otherwise ``n``'s values win: a later fetch of the same source replaces that
   source's values, so an amended result (a stewards' change) lands.
3. **Newest observation.** On runner-fed master tables (``Table.observed``), ``t`` keeps its values
   when its observation (``schema.OBSERVED``: race off time, race id, source) is newer than ``n``'s;
   ``n`` may then only fill gaps. The observation column itself keeps the newest.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from utils.schema import OBSERVED, Table


# --- in Python: two rows of one key inside one write unit (``new`` came later) --------------------
def merge_row(table: Table, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The row the database would hold after writing ``old`` then ``new`` (rows hold no gaps)."""
    if table.observed:
        old_seen, new_seen = old.get(OBSERVED), new.get(OBSERVED)
        if old_seen is not None and new_seen is not None and old_seen > new_seen:
            return {**new, **old}
    auth = table.authority
    if auth and old.get(auth) is not None and new.get(auth) is None:
        merged = {**new, **old}
        if OBSERVED in new:
            merged[OBSERVED] = new[OBSERVED]    # newer (checked above): the observation moves on
        return merged
    return {**old, **new}


# --- in SQL: the value a column gets on conflict ----------------------------------------------------
def old_wins(table: Table, column: str, target: str, new: str) -> list[str]:
    """SQL conditions under which the stored value is kept and the new one only fills a gap."""
    conditions = []
    auth = table.authority
    if auth and column not in (auth, OBSERVED):
        conditions.append(f"({target}.{auth} IS NOT NULL AND {new}.{auth} IS NULL)")
    if table.observed:
        conditions.append(f"({target}.{OBSERVED} > {new}.{OBSERVED})")
    return conditions


def merged_value(table: Table, column: str, target: str, new: str = "excluded") -> str:
    """SQL for the merged value of ``column`` (rules 1-3 of the module docstring). Three-valued
    logic does the NULL cases: an unknown observation never makes the stored value win."""
    keep_new = f"COALESCE({new}.{column}, {target}.{column})"
    conditions = old_wins(table, column, target, new)
    if not conditions:
        return keep_new
    keep_old = f"COALESCE({target}.{column}, {new}.{column})"
    return f"CASE WHEN {' OR '.join(conditions)} THEN {keep_old} ELSE {keep_new} END"


def upsert_sql(table: Table, columns: list[str], *, source: str, distinct_op: str,
               touch: str | None, target: str | None = None) -> str:
    """``INSERT … <source> ON CONFLICT (key) DO UPDATE`` that only rewrites rows that change.

    Only ``columns`` are touched; the WHERE clause skips rows whose merged values equal the stored
    ones, so re-running a day rewrites nothing and ``updated_at`` moves only on a real change.
    ``touch`` is the clock expression for stores without a trigger; ``target`` an alias for the
    stored row (PL/pgSQL needs one where a variable could shadow the table's name).
    """
    alias = target or table.name
    into = table.name if target is None else f"{table.name} AS {target}"
    updates = [c for c in columns if c not in table.key]
    key = ", ".join(table.key)
    if not updates:
        return f"INSERT INTO {into} ({', '.join(columns)}) {source} ON CONFLICT ({key}) DO NOTHING"
    sets = [f"{c} = {merged_value(table, c, alias)}" for c in updates]
    if touch:
        sets.append(f"updated_at = {touch}")
    compared = [c for c in updates if c not in table.stamps] or updates
    changed = " OR ".join(f"{alias}.{c} {distinct_op} {merged_value(table, c, alias)}" for c in compared)
    return (f"INSERT INTO {into} ({', '.join(columns)}) {source} ON CONFLICT ({key}) DO UPDATE SET "
            f"{', '.join(sets)} WHERE {changed}")
