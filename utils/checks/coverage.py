"""Coverage: how complete the backfill is, day by day and per year and region, read from a database.

Why a module beside ``verification``: verification answers "is anything broken" (PASS/FAIL);
coverage answers "how complete is the backfill" — which days hold races, results, runners, which are
thin against the volumes the real calendar leads one to expect. All figures come from aggregate
reads (``utils/stores/reads.py``: ``report_days``, ``report_people`` and a few scalars), which every
store runs — over REST as database functions — so nothing loads a table into Python and it stays
fast on 1.5 million runners. ``utils/commands/report.py`` renders these figures (summary.md,
summary.json, coverage.png); the days of the error log are handed in, so this module reads only
the database.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from utils.checks.verification import NO_RACING_DAYS, date_ranges
from utils.planning import days_between
from utils.stores.base import Store

# Races a full calendar year holds in the real calendar (about 13,000 GB+IRE); a year covered only
# in part is expected to hold the same share, so an incomplete backfill shows as a low percentage.
EXPECTED_RACES_PER_YEAR = {"gb": 10_000, "ire": 2_900}

# Day statuses, most alarming first: a day shows the first that applies.
ERROR = "in the error log"
NO_RUNNERS = "results without runners"
RACECARD_ONLY = "racecards, no results"
NO_DATA = "no data"
STORED = "stored"


# --- the figures ---------------------------------------------------------------------------------
@dataclass
class DayRow:
    """One calendar day of the range, all regions together."""

    day: date
    races: int = 0
    results: int = 0
    racecard_only: int = 0
    results_without_runners: int = 0
    in_error_log: bool = False
    past: bool = True   # before "today": a racecard-only race is then a gap, not a pending result

    @property
    def status(self) -> str:
        if self.in_error_log:
            return ERROR
        if self.results_without_runners:
            return NO_RUNNERS
        if self.racecard_only and self.past:
            return RACECARD_ONLY
        return STORED if self.races else NO_DATA


@dataclass
class YearRegionRow:
    """The summary table's row for one year and region."""

    year: int
    region: str
    expected_races: float | None = None
    races: int = 0
    races_with_results: int = 0
    racecard_only_races: int = 0
    runners: int = 0
    races_with_runners: int = 0
    horses: int = 0
    jockeys: int = 0
    trainers: int = 0
    owners: int = 0
    horses_enriched: int = 0
    horses_not_found: int = 0
    horses_pending: int = 0

    @property
    def avg_field_size(self) -> float | None:
        """Runners per race that has runners (a race stored without runners is a gap, not a walkover)."""
        return self.runners / self.races_with_runners if self.races_with_runners else None

    @property
    def pct_of_expected(self) -> float | None:
        return 100.0 * self.races / self.expected_races if self.expected_races else None


ADDITIVE = ("races", "races_with_results", "racecard_only_races", "runners", "races_with_runners")


@dataclass
class ReportData:
    start: date
    end: date
    today: date
    days: list[DayRow]
    rows: list[YearRegionRow]
    last_day_with_results: date | None
    yesterday_has_results: bool
    error_log: str | None = None
    database: str | None = None
    totals: YearRegionRow = field(init=False)

    def __post_init__(self) -> None:
        total = YearRegionRow(0, "all", expected_races=sum(r.expected_races or 0 for r in self.rows) or None)
        for name in ADDITIVE:
            setattr(total, name, sum(getattr(r, name) for r in self.rows))
        self.totals = total

    @property
    def years(self) -> list[int]:
        return list(range(self.start.year, self.end.year + 1))

    def days_with(self, status: str) -> list[DayRow]:
        return [d for d in self.days if d.status == status]

    def missing_days(self) -> list[date]:
        """Days with no race at all; Christmas Eve and Day have no racing, so they are never a gap."""
        return [d.day for d in self.days_with(NO_DATA) if (d.day.month, d.day.day) not in NO_RACING_DAYS]

    def missing_day_ranges(self) -> list[str]:
        return date_ranges(self.missing_days())


# --- collecting ----------------------------------------------------------------------------------
def default_range(store: Store, today: date) -> tuple[date, date]:
    """First stored day to the later of yesterday and the last stored day (so a stalled backfill's
    missing recent days show as gaps)."""
    span = store.read("date_span")[0]
    first, last = span["first"], span["last"]
    yesterday = today - timedelta(days=1)
    if not first:
        return yesterday, yesterday
    return _day(first), max(_day(last), yesterday)


def collect(store: Store, start: date, end: date, *, today: date, failed_days: Iterable[date] = (),
            error_log: str | None = None) -> ReportData:
    """Every figure of the report for ``start``..``end`` from any store (its named reads);
    ``failed_days`` are the days the events backfill's error log ``error_log`` holds."""
    day_rows = [_values(r, _DAY_COLUMNS) for r in store.read("report_days", start=start, end=end)]
    people_rows = [_values(r, _PEOPLE_COLUMNS) for r in store.read("report_people", start=start, end=end)]
    failed = {d for d in failed_days if start <= d <= end}
    yesterday = today - timedelta(days=1)
    last = store.read("last_result_day")[0]["day"]
    return ReportData(
        start=start, end=end, today=today,
        days=_days(day_rows, start, end, today, failed),
        rows=_year_region_rows(day_rows, people_rows, start, end),
        last_day_with_results=_day(last) if last else None,
        yesterday_has_results=_int(store.read("results_on_day", day=yesterday)[0]["n"]) > 0,
        error_log=error_log, database=store.display)


_DAY_COLUMNS = ("day", "region", "races", "results", "racecard_only", "results_without_runners")
_PEOPLE_COLUMNS = ("year", "region", "runners", "races_with_runners", "horses", "jockeys", "trainers",
                   "owners", "horses_enriched", "horses_not_found", "horses_pending")


def _values(row: dict, columns: tuple[str, ...]) -> tuple:
    """A read's row as the tuple the figures below unpack (the read's column order)."""
    return tuple(row[c] for c in columns)


def _day(value: Any) -> date:
    return date.fromisoformat(str(value)[:10])


def _int(value: Any) -> int:
    return int(value or 0)


def _days(day_rows: list[tuple], start: date, end: date, today: date, failed: set[date]) -> list[DayRow]:
    days = {d: DayRow(d, in_error_log=d in failed, past=d < today) for d in days_between(start, end)}
    for day_text, _region, races, results, card_only, no_runners in day_rows:
        row = days[_day(day_text)]
        row.races += _int(races)
        row.results += _int(results)
        row.racecard_only += _int(card_only)
        row.results_without_runners += _int(no_runners)
    return list(days.values())


def _year_region_rows(day_rows: list[tuple], people_rows: list[tuple],
                      start: date, end: date) -> list[YearRegionRow]:
    rows: dict[tuple[int, str], YearRegionRow] = {}

    def row(year: int, region: str) -> YearRegionRow:
        if (year, region) not in rows:
            rows[(year, region)] = YearRegionRow(year, region, _expected(region, year, start, end))
        return rows[(year, region)]

    for year in range(start.year, end.year + 1):
        for region in EXPECTED_RACES_PER_YEAR:
            row(year, region)
    for day_text, region, races, results, card_only, _no_runners in day_rows:
        r = row(_day(day_text).year, str(region))
        r.races += _int(races)
        r.races_with_results += _int(results)
        r.racecard_only_races += _int(card_only)
    for year, region, *figures in people_rows:
        r = row(int(year), str(region))
        (r.runners, r.races_with_runners, r.horses, r.jockeys, r.trainers, r.owners,
         r.horses_enriched, r.horses_not_found, r.horses_pending) = (_int(v) for v in figures)
    return [rows[k] for k in sorted(rows)]


def _expected(region: str, year: int, start: date, end: date) -> float | None:
    """The region's yearly volume, scaled by the share of ``year`` that the range covers."""
    per_year = EXPECTED_RACES_PER_YEAR.get(region)
    if per_year is None:
        return None
    first, last = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
    covered = (last - first).days + 1
    return per_year * covered / ((date(year, 12, 31) - date(year, 1, 1)).days + 1)
