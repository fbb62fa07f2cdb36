"""Verification checks for a backfilled database (any store), as the guide lists them.

Why named aggregate reads only (``utils/stores/reads.py``): the checks must stay fast on 1.5 million
runners, so nothing loads a table into Python, and they must run over the Supabase REST API too,
where each read is a database function.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from utils.planning import days_between
from utils.stores.base import Store
from utils.stores.reads import RUNNER_REFERENCES, SUMMARY_TABLES

NO_RACING_DAYS = ((12, 24), (12, 25))   # no GB/IRE racing on Christmas Eve and Christmas Day


@dataclass
class Check:
    name: str
    status: str          # PASS / WARN / FAIL
    detail: str
    items: list[str] = field(default_factory=list)


def _scalar(store: Store, name: str, **params: Any) -> int:
    return int(store.read(name, **params)[0]["n"] or 0)


def record_counts(store: Store) -> dict[str, int]:
    counts = {r["tbl"]: int(r["n"]) for r in store.read("table_counts")}
    return {label: counts[table] for label, table in SUMMARY_TABLES}


def races_per_year(store: Store, start: date, end: date) -> dict[str, int]:
    return {str(r["year"]): int(r["races"]) for r in store.read("races_per_year", start=start, end=end)}


def date_ranges(days: list[date]) -> list[str]:
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


def run_checks(store: Store, start: date, end: date, *, today: date) -> list[Check]:
    checks = [_races_without_runners(store, start, end)]
    checks += _dangling_runners(store, start, end)
    checks.append(_horses_without_pedigree(store))
    checks.append(_days_without_races(store, start, end))
    checks.append(_racecard_only_days(store, start, min(end, today - timedelta(days=1))))
    return checks


def _races_without_runners(store: Store, start: date, end: date) -> Check:
    n = _scalar(store, "races_without_runners", start=start, end=end)
    return Check("races without runners", "FAIL" if n else "PASS", f"{n} races")


def _dangling_runners(store: Store, start: date, end: date) -> list[Check]:
    counts = store.read("dangling_runners", start=start, end=end)[0]
    return [Check(f"runners whose {col.removesuffix('_id')} is missing",
                  "FAIL" if counts[col] else "PASS", f"{int(counts[col] or 0)} runners")
            for col, _table, _key in RUNNER_REFERENCES]


def _horses_without_pedigree(store: Store) -> Check:
    n = _scalar(store, "horses_without_pedigree")
    return Check("horses without pedigree", "WARN" if n else "PASS", f"{n} horses")


def _days_without_races(store: Store, start: date, end: date) -> Check:
    have = {str(r["day"])[:10] for r in store.read("race_days", start=start, end=end)}
    missing = [d for d in days_between(start, end)
               if d.isoformat() not in have and (d.month, d.day) not in NO_RACING_DAYS]
    return Check("days in the range with no races", "WARN" if missing else "PASS",
                 f"{len(missing)} days", date_ranges(missing))


def _racecard_only_days(store: Store, start: date, end: date) -> Check:
    rows = store.read("racecard_only_days", start=start, end=end)
    items = [f"{str(r['day'])[:10]}: {r['races']} races" for r in rows]
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


def verify(store: Store, start: date, end: date, *, today: date, log) -> bool:
    """Log counts, races per year and every check; True when no check failed."""
    log.info("Record counts:")
    for line in format_counts(record_counts(store)):
        log.info(line)
    log.info("Races per year (%s to %s): %s", start, end,
             ", ".join(f"{y}: {n:,}" for y, n in races_per_year(store, start, end).items()) or "none")
    checks = run_checks(store, start, end, today=today)
    log.info("Verification checks:")
    for line in format_checks(checks):
        log.info(line)
    failed = [c for c in checks if c.status == "FAIL"]
    log.info("Verification %s (%s to %s)",
             "FAILED: " + ", ".join(c.name for c in failed) if failed else "passed", start, end)
    return not failed
