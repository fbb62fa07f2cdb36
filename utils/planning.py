"""Dates, "today", monthly chunks, plan windows and call/time estimates.

Why separate from the backfill: ``--check-status`` and ``backfill_all --dry-run`` must say what a run
would cost without touching the API or the database, and they must agree with what the backfill
really does. Both use these functions.

"Today" is the UK's date (Europe/London), whatever the machine's time zone: the API's days are UK
days, and its plan windows (racecards up to 7 days ahead, results for the last 365 days) count from
the UK's today. A server in Asia or on UTC+14 is a day ahead for part of every day, one in America a
day behind; ``uk_today()`` is the one place the code asks for the date.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

from utils.errors import ConfigError

RACECARD_HISTORY_START = date(2023, 1, 23)   # racecards/pro has no earlier history
RACECARD_DAYS_AHEAD = 7                      # future cards are published about a week ahead
RESULTS_FREE_WINDOW_DAYS = 365               # older results need the historical add-on
RESULTS_PAGE_SIZE = 100                      # the API's maximum page for /v1/results
SPEC_RATE_LIMITS = {"regions": 1.0, "courses": 1.0, "racecards": 2.0, "results": 5.0, "horses": 5.0}


UK_TIME_ZONE = "Europe/London"
# Pins the clock that "today" is read from: an ISO 8601 instant with an offset, such as
# 2026-03-10T12:30:00+00:00. For tests and for re-running a past day's cron job as it ran then.
CLOCK_ENV = "DARKHORSES_NOW"


def now_utc() -> datetime:
    """The current instant (tz-aware, UTC), or the one ``DARKHORSES_NOW`` pins."""
    pinned = os.environ.get(CLOCK_ENV, "").strip()
    if not pinned:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(pinned)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ConfigError(f"{CLOCK_ENV}={pinned!r} is not an instant with a time zone offset, "
                          f"e.g. 2026-03-10T12:30:00+00:00 (unset it to use the real clock)")
    return value.astimezone(UTC)


def _last_sunday_1am_utc(year: int, month: int) -> datetime:
    last = date(year, month + 1, 1) - timedelta(days=1)
    last -= timedelta(days=(last.weekday() + 1) % 7)
    return datetime(last.year, last.month, last.day, 1, tzinfo=UTC)


def _uk_offset_by_rule(instant: datetime) -> timedelta:
    """GMT, or BST from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
    October (the rule since 1996), for machines without a time-zone database (e.g. Windows
    without the ``tzdata`` package)."""
    summer = _last_sunday_1am_utc(instant.year, 3) <= instant < _last_sunday_1am_utc(instant.year, 10)
    return timedelta(hours=1 if summer else 0)


def uk_now(instant: datetime | None = None, *, use_tz_database: bool = True) -> datetime:
    """``instant`` (default: now) as the UK's wall-clock time (tz-aware)."""
    instant = (instant or now_utc()).astimezone(UTC)
    if use_tz_database:
        try:
            from zoneinfo import ZoneInfo

            return instant.astimezone(ZoneInfo(UK_TIME_ZONE))
        except (ImportError, LookupError, ValueError, OSError):   # no time-zone database
            pass
    offset = _uk_offset_by_rule(instant)
    return instant.astimezone(timezone(offset, "BST" if offset else "GMT"))


def uk_today(instant: datetime | None = None, *, use_tz_database: bool = True) -> date:
    """The UK's date at ``instant`` (default: now): "today" for every range, window and report."""
    return uk_now(instant, use_tz_database=use_tz_database).date()


def days_between(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


@dataclass(frozen=True)
class Chunk:
    """A calendar month (or the partial first/last month) of the range."""

    index: int   # 1-based
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start} to {self.end}"

    def days(self) -> list[date]:
        return list(days_between(self.start, self.end))


def month_chunks(start: date, end: date) -> list[Chunk]:
    chunks: list[Chunk] = []
    chunk_start = start
    while chunk_start <= end:
        next_month = (chunk_start.replace(day=1) + timedelta(days=32)).replace(day=1)
        chunk_end = min(end, next_month - timedelta(days=1))
        chunks.append(Chunk(len(chunks) + 1, chunk_start, chunk_end))
        chunk_start = chunk_end + timedelta(days=1)
    return chunks


def chunk_of(day: date, chunks: Iterable[Chunk]) -> Chunk:
    for chunk in chunks:
        if chunk.start <= day <= chunk.end:
            return chunk
    raise ValueError(f"{day} is outside the planned range")


def racecards_servable(day: date, today: date) -> bool:
    """Whether /v1/racecards/pro can have a card for ``day`` (no call is made otherwise)."""
    return RACECARD_HISTORY_START <= day <= today + timedelta(days=RACECARD_DAYS_AHEAD)


def results_servable(day: date, today: date) -> bool:
    """Results exist only for days that have happened."""
    return day <= today


def results_need_addon(day: date, today: date) -> bool:
    return day < today - timedelta(days=RESULTS_FREE_WINDOW_DAYS)


def expected_races(day: date) -> float:
    """GB+IRE races expected on a day, from the volumes in the API notes (for estimates only)."""
    if day.month == 12 and day.day in (24, 25):
        return 0.0
    by_weekday = (28, 28, 33, 36, 38, 58, 30)  # Monday .. Sunday
    summer = 1.15 if 5 <= day.month <= 8 else 1.0
    return by_weekday[day.weekday()] * summer


@dataclass
class Estimate:
    days: int
    results_calls: int
    racecard_calls: int
    racecard_days_skipped: int
    per_day: list[tuple[int, int]] = field(default_factory=list)   # (results pages, racecard calls)

    def seconds(self, limits: dict[str, float] = SPEC_RATE_LIMITS) -> float:
        """Wall time at the rate limits: the floor ``max(results calls / 5, racecard calls / 2)``.
        Each endpoint has its own budget, and with several days in flight (results-only days
        interleaved with racecard days) both are kept busy, so the slower budget sets the pace."""
        return max(self.results_calls / limits["results"], self.racecard_calls / limits["racecards"])


def estimate(days: Iterable[date], today: date, *, results: bool = True,
             racecards: bool = True, pages_per_day: int | None = None) -> Estimate:
    """Calls needed for ``days``: one results call per 100 races, one racecard call per servable day."""
    day_list = list(days)
    per_day: list[tuple[int, int]] = []
    skipped = 0
    for day in day_list:
        pages = cards = 0
        if results and results_servable(day, today):
            pages = pages_per_day or max(1, math.ceil(expected_races(day) / RESULTS_PAGE_SIZE))
        if racecards:
            if racecards_servable(day, today):
                cards = 1
            else:
                skipped += 1
        per_day.append((pages, cards))
    return Estimate(len(day_list), sum(p for p, _ in per_day), sum(c for _, c in per_day), skipped,
                    per_day)


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
