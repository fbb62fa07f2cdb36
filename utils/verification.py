"""Verification checks for a backfilled database (either store), as the guide lists them.

Why SQL aggregates only: the checks must stay fast on 1.5 million runners, so nothing loads a
table into Python. All SQL here is portable between SQLite and PostgreSQL (``?`` placeholders are
translated by the stores; booleans are tested as ``col`` / ``NOT col``; dates compared as ISO text).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from utils.planning import days_between

SUMMARY_TABLES = (
    ("races", "ra_races"), ("runners", "ra_runners"), ("horses", "ra_mst_horses"),
    ("jockeys", "ra_mst_jockeys"), ("trainers", "ra_mst_trainers"), ("owners", "ra_mst_owners"),
    ("sires", "ra_mst_sires"), ("dams", "ra_mst_dams"), ("damsires", "ra_mst_damsires"),
    ("pedigree rows", "ra_horse_pedigree"), ("courses", "ra_mst_courses"),
    ("regions", "ra_mst_regions"), ("bookmakers", "ra_mst_bookmakers"),
)

# runner column -> the master table it must point at
RUNNER_REFERENCES = (("race_id", "ra_races", "id"), ("horse_id", "ra_mst_horses", "id"),
                     ("jockey_id", "ra_mst_jockeys", "id"), ("trainer_id", "ra_mst_trainers", "id"),
                     ("owner_id", "ra_mst_owners", "id"))

NO_RACING_DAYS = ((12, 24), (12, 25))   # no GB/IRE racing on Christmas Eve and Christmas Day


@dataclass
class Check:
    name: str
    status: str          # PASS / WARN / FAIL
    detail: str
    items: list[str] = field(default_factory=list)


def _scalar(store: Any, sql: str, params: tuple = ()) -> int:
    return int(store.query(sql, params)[0][0] or 0)


def record_counts(store: Any) -> dict[str, int]:
    return {label: _scalar(store, f"SELECT count(*) FROM {table}") for label, table in SUMMARY_TABLES}


def races_per_year(store: Any, start: str, end: str) -> dict[str, int]:
    rows = store.query("SELECT substr(CAST(date AS TEXT), 1, 4) AS y, count(*) FROM ra_races "
                       "WHERE date >= ? AND date <= ? GROUP BY y ORDER BY y", (start, end))
    return {str(y): int(n) for y, n in rows}


def _ranges(days: list[date]) -> list[str]:
    """[d1, d2, d3, d7] -> ["d1 to d3", "d7"] so long gaps stay readable."""
    out: list[str] = []
    run: list[date] = []
    for day in days:
        if run and day != run[-1] + timedelta(days=1):
            out.append(_label(run))
            run = []
        run.append(day)
    if run:
        out.append(_label(run))
    return out


def _label(run: list[date]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]} to {run[-1]}"


def run_checks(store: Any, start: date, end: date, *, today: date) -> list[Check]:
    s, e = start.isoformat(), end.isoformat()
    checks = [_races_without_runners(store, s, e)]
    checks += [_dangling_runners(store, col, table, key, s, e) for col, table, key in RUNNER_REFERENCES]
    checks.append(_horses_without_pedigree(store))
    checks.append(_days_without_races(store, start, end))
    checks.append(_racecard_only_days(store, s, min(end, today - timedelta(days=1)).isoformat()))
    return checks


def _races_without_runners(store: Any, s: str, e: str) -> Check:
    n = _scalar(store, "SELECT count(*) FROM ra_races r WHERE r.date >= ? AND r.date <= ? "
                       "AND (r.is_abandoned IS NULL OR NOT r.is_abandoned) AND NOT EXISTS "
                       "(SELECT 1 FROM ra_runners u WHERE u.race_id = r.id)", (s, e))
    return Check("races without runners", "FAIL" if n else "PASS", f"{n} races")


def _dangling_runners(store: Any, col: str, table: str, key: str, s: str, e: str) -> Check:
    n = _scalar(store, f"SELECT count(*) FROM ra_runners u JOIN ra_races r ON r.id = u.race_id "
                       f"WHERE r.date >= ? AND r.date <= ? AND u.{col} IS NOT NULL AND NOT EXISTS "
                       f"(SELECT 1 FROM {table} m WHERE m.{key} = u.{col})", (s, e))
    return Check(f"runners whose {col.removesuffix('_id')} is missing", "FAIL" if n else "PASS",
                 f"{n} runners")


def _horses_without_pedigree(store: Any) -> Check:
    n = _scalar(store, "SELECT count(*) FROM ra_mst_horses h WHERE NOT EXISTS "
                       "(SELECT 1 FROM ra_horse_pedigree p WHERE p.horse_id = h.id)")
    return Check("horses without pedigree", "WARN" if n else "PASS", f"{n} horses")


def _days_without_races(store: Any, start: date, end: date) -> Check:
    rows = store.query("SELECT DISTINCT CAST(date AS TEXT) FROM ra_races WHERE date >= ? AND date <= ?",
                       (start.isoformat(), end.isoformat()))
    have = {str(r[0])[:10] for r in rows}
    missing = [d for d in days_between(start, end)
               if d.isoformat() not in have and (d.month, d.day) not in NO_RACING_DAYS]
    return Check("days in the range with no races", "WARN" if missing else "PASS",
                 f"{len(missing)} days", _ranges(missing))


def _racecard_only_days(store: Any, s: str, e: str) -> Check:
    rows = store.query("SELECT CAST(date AS TEXT), count(*) FROM ra_races WHERE date >= ? AND date <= ? "
                       "AND (has_result IS NULL OR NOT has_result) "
                       "AND (is_abandoned IS NULL OR NOT is_abandoned) "
                       "GROUP BY 1 ORDER BY 1", (s, e))
    items = [f"{str(d)[:10]}: {n} races" for d, n in rows]
    return Check("results-era days with racecard-only races", "FAIL" if items else "PASS",
                 f"{len(items)} days", items)


def format_counts(counts: dict[str, int]) -> list[str]:
    width = max(len(k) for k in counts)
    return [f"  {label:<{width}}  {n:>10,}" for label, n in counts.items()]


def format_checks(checks: list[Check], *, max_items: int = 15) -> list[str]:
    lines = []
    for check in checks:
        lines.append(f"  [{check.status}] {check.name}: {check.detail}")
        lines += [f"         - {item}" for item in check.items[:max_items]]
        if len(check.items) > max_items:
            lines.append(f"         … and {len(check.items) - max_items} more")
    return lines


def verify(store: Any, start: date, end: date, *, today: date, log) -> bool:
    """Log counts, races per year and every check; True when no check failed."""
    log.info("Record counts:")
    for line in format_counts(record_counts(store)):
        log.info(line)
    log.info("Races per year (%s to %s): %s", start, end,
             ", ".join(f"{y}: {n:,}" for y, n in races_per_year(store, start.isoformat(),
                                                                 end.isoformat()).items()) or "none")
    checks = run_checks(store, start, end, today=today)
    log.info("Verification checks:")
    for line in format_checks(checks):
        log.info(line)
    failed = [c for c in checks if c.status == "FAIL"]
    log.info("Verification %s", "FAILED: " + ", ".join(c.name for c in failed) if failed else "passed")
    return not failed
