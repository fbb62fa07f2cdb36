"""The events backfill: days -> API -> rows -> one committed write unit per day, with its mark.

Why a day is the unit: it is the API's natural query (the spec recommends one results query per
date), it is small enough that a crash repeats little, and it is the unit the database records.
A day's results (all pages) and racecards are fetched concurrently (each endpoint has its own rate
limit), transformed, and written in one transaction with the entities they reference and the
day's committed mark (``ra_backfill_days``). The database is the truth about which days are done
(``committed_days``): resuming into another database loads what that database lacks. The JSON
checkpoint is a mirror, written after each commit, in the guide's format.

Errors: a day whose calls fail after all retries is written to the error log and the run goes on;
critical errors (authentication, plan window, database loss) stop the run with the checkpoint as
it was after the last committed day.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from utils import planning
from utils.errors import DarkHorsesError, StoreError
from utils.ingest.entities import extract_entities
from utils.ingest.rows import racecard_to_rows, result_to_rows
from utils.pipeline.checkpoint import Checkpoint, ErrorLog
from utils.pipeline.memory import release_freed_memory, use_one_malloc_arena
from utils.pipeline.stop import StopFlag
from utils.schema import WRITE_ORDER
from utils.stores.base import DayMark, Store

if TYPE_CHECKING:
    from utils.api.client import RacingAPIClient

log = logging.getLogger("darkhorses.backfill")


@dataclass(frozen=True)
class EventsRequest:
    """What to backfill; its ``params()`` are what a checkpoint must match to be resumed."""

    start: date
    end: date
    regions: tuple[str, ...] = ("gb", "ire")
    racecards: bool = True
    results: bool = True

    def params(self) -> dict[str, Any]:
        return {"start_date": self.start.isoformat(), "end_date": self.end.isoformat(),
                "region_codes": list(self.regions), "racecards": self.racecards,
                "results": self.results}

    def sources(self, day: date, today: date) -> tuple[str, ...]:
        """The endpoints this request needs for ``day``: those asked for that the API serves."""
        wanted = []
        if self.results and planning.results_servable(day, today):
            wanted.append("results")
        if self.racecards and planning.racecards_servable(day, today):
            wanted.append("racecards")
        return tuple(wanted)


def committed_days(store: Store, request: EventsRequest, today: date) -> set[date]:
    """Days of the range the database holds for this request: a mark for the same regions or
    more, carrying every source the day needs (a day committed for gb only is not done for gb
    ire; a racecard-only future day is not done once its results exist)."""
    wanted = set(request.regions)
    carried: dict[date, set[str]] = {}
    for row in store.read("committed_days", start=request.start, end=request.end):
        if wanted <= set(str(row["regions"]).split()):
            day = date.fromisoformat(str(row["day"])[:10])
            sources = carried.setdefault(day, set())
            sources.update(s for s in ("results", "racecards") if row[f"{s}_done"])
    return {day for day, sources in carried.items() if set(request.sources(day, today)) <= sources}


@dataclass
class DayData:
    day: date
    results: list[dict] = field(default_factory=list)
    racecards: list[dict] = field(default_factory=list)
    sources: tuple[str, ...] = ()       # the endpoints fetched (what the day's mark records)


@dataclass
class DayOutcome:
    day: date
    races: int
    runners: int
    entities: dict[str, int]


class DayFailed(Exception):
    """A non-critical failure of one endpoint for one day (after the client's retries)."""

    def __init__(self, endpoint: str, error: BaseException):
        super().__init__(f"{endpoint}: {error}")
        self.endpoint = endpoint
        self.error = error


class Progress(Protocol):
    def chunk_started(self, chunk: planning.Chunk, total_chunks: int) -> None: ...
    def day_done(self, outcome: DayOutcome) -> None: ...
    def day_failed(self, day: date, failure: DayFailed) -> None: ...
    def chunk_finished(self, chunk: planning.Chunk, totals: dict[str, int]) -> None: ...


class DayFetcher:
    """Fetches one day's results and racecards concurrently, each only when the API can serve it."""

    def __init__(self, client: RacingAPIClient, request: EventsRequest, today: date, pool: ThreadPoolExecutor):
        self.client = client
        self.request = request
        self.today = today
        self.pool = pool

    def fetch(self, day: date) -> DayData:
        regions = list(self.request.regions)
        calls = {"results": self.client.results, "racecards": self.client.racecards_pro}
        jobs: dict[str, Future] = {source: self.pool.submit(calls[source], day, regions)
                                   for source in self.request.sources(day, self.today)}
        data = DayData(day, sources=tuple(jobs))
        failure: DayFailed | None = None
        for endpoint, job in jobs.items():
            try:
                setattr(data, endpoint, job.result())
            except DarkHorsesError as exc:
                if exc.critical:
                    raise
                failure = failure or DayFailed(endpoint, exc)
        if failure:
            raise failure
        return data


def build_write_unit(data: DayData, fetched_at: datetime) -> dict[str, list[dict]]:
    """Rows for one day: entities first, then races and runners (racecards first, results last,
    so that when the store merges duplicates within the unit the result values win)."""
    races: list[dict] = []
    runners: list[dict] = []
    for card in data.racecards:
        race, card_runners = racecard_to_rows(card)
        races.append(race)
        runners.extend(card_runners)
    for result in data.results:
        race, result_runners = result_to_rows(result, fetched_at=fetched_at)
        races.append(race)
        runners.extend(result_runners)
    unit: dict[str, list[dict]] = {t: [] for t in WRITE_ORDER}
    for table, rows in extract_entities(data.racecards, data.results).items():
        unit[table].extend(rows)
    unit["ra_races"] = races
    unit["ra_runners"] = runners
    return {t: rows for t, rows in unit.items() if rows}


def _count_distinct(rows: Iterable[dict], *key: str) -> int:
    return len({tuple(r.get(k) for k in key) for r in rows})


def _outcome(day: date, unit: dict[str, list[dict]]) -> DayOutcome:
    return DayOutcome(
        day=day,
        races=_count_distinct(unit.get("ra_races", []), "id"),
        runners=_count_distinct(unit.get("ra_runners", []), "race_id", "horse_id"),
        entities={t: len(rows) for t, rows in unit.items() if t not in ("ra_races", "ra_runners")})


DEFAULT_DAYS_IN_FLIGHT = 4


def work_order(days: list[date], request: EventsRequest, today: date) -> list[date]:
    """The order in which days start, so both endpoint budgets stay busy across eras.

    Each endpoint has its own budget (results 5/s, racecards 2/s), so the floor of a range is
    ``max(results calls / 5, racecard calls / 2)``. Racecard-era days alone leave the results
    budget mostly idle; results-only days (before 2023-01-23, or ``--no-racecards``) alone leave
    the racecards budget idle. Greedily, a results-only day is started whenever the results
    budget's booked time stays within the racecards budget's; otherwise the next racecard day.
    Each era keeps its own date order."""
    limits = planning.SPEC_RATE_LIMITS
    cards = [d for d in days if "racecards" in request.sources(d, today)]
    carded = set(cards)
    others = [d for d in days if d not in carded]
    if not cards or not others:
        return list(days)

    def pages(day: date) -> float:
        if "results" not in request.sources(day, today):
            return 0.0
        return max(1, -(-int(planning.expected_races(day)) // planning.RESULTS_PAGE_SIZE)) / limits["results"]

    order: list[date] = []
    busy_results = busy_cards = 0.0
    i = j = 0
    while i < len(cards) or j < len(others):
        take_other = i >= len(cards) or (j < len(others) and busy_results + pages(others[j]) <= busy_cards)
        if take_other:
            busy_results += pages(others[j])
            order.append(others[j])
            j += 1
        else:
            busy_results += pages(cards[i])
            busy_cards += 1 / limits["racecards"]
            order.append(cards[i])
            i += 1
    return order


class _ChunkState:
    """One chunk's totals and how many of its started days are still open."""

    def __init__(self, chunk: planning.Chunk, pending: int):
        self.chunk = chunk
        self.open = pending
        self.started = False
        self.totals = {"races": 0, "runners": 0, "failed_days": 0, "entities": 0}


class _Tally:
    """Run totals and one chunk's totals, kept together."""

    def __init__(self, totals: dict[str, int], chunk: dict[str, int]):
        self.totals = totals
        self.chunk = chunk

    def add(self, outcome: DayOutcome) -> None:
        self.totals["days"] += 1
        for counts in (self.totals, self.chunk):
            counts["races"] += outcome.races
            counts["runners"] += outcome.runners
        self.chunk["entities"] += sum(outcome.entities.values())

    def failed(self) -> None:
        self.totals["failed_days"] += 1
        self.chunk["failed_days"] += 1


class EventsBackfill:
    """Runs the pending days with several in flight, committing each day with its mark in the
    database as soon as it is complete (out of order if need be: the merge is order-independent).

    Why days in flight: each day waits for its slowest call, and every call waits for its
    latency; with ``days_in_flight`` days fetched at once, each endpoint's requests are paced by
    start time at its own limit (the client's limiter) and their latencies overlap, so a run
    costs about ``max(results calls / 5, racecard calls / 2)``. A kill repeats at most the days
    in flight; the committed ones are exact, because their marks are in the database.
    """

    def __init__(self, *, client: RacingAPIClient, store: Store, request: EventsRequest, checkpoint: Checkpoint,
                 errors: ErrorLog, progress: Progress, today: date,
                 stop: StopFlag | None = None, clock: Callable[[], datetime] | None = None,
                 resume: bool = False, days_in_flight: int = DEFAULT_DAYS_IN_FLIGHT,
                 on_commit: Callable[[date], None] | None = None, committed: set[date] | None = None):
        """``resume``: skip the days the database already holds for this request (a fresh run,
        or an incremental one, fetches every day of its range again); ``committed`` is that set
        when the caller has just read it (``committed_days``), so it is not read twice."""
        self.resume = resume
        self.committed = committed
        self.on_commit = on_commit
        self.days_in_flight = max(1, int(days_in_flight))
        self.client = client
        self.store = store
        self.request = request
        self.checkpoint = checkpoint
        self.errors = errors
        self.progress = progress
        self.today = today
        self.stop = stop or StopFlag()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.db_seconds = 0.0             # time spent in the store's write call
        self.chunks = planning.month_chunks(request.start, request.end)

    def pending_days(self) -> list[date]:
        """Days the database does not hold yet, in the order they start: days that failed before
        come first, then the rest in ``work_order``."""
        all_days = set(planning.days_between(self.request.start, self.request.end))
        pending = all_days - self.checkpoint.completed
        failed = [d for d in self.errors.failed_dates() if d in pending]
        rest = sorted(pending - set(failed))
        return failed + work_order(rest, self.request, self.today)

    def run(self) -> dict[str, int]:
        """Process every pending day; returns run totals. Raises critical errors unchanged (after
        the days in flight have settled)."""
        totals = {"days": 0, "failed_days": 0, "races": 0, "runners": 0}
        if not self.resume:
            self.checkpoint.completed = set()
        else:
            self.checkpoint.completed = (self.committed if self.committed is not None
                                         else committed_days(self.store, self.request, self.today))
        self._init_stats()
        self.checkpoint.save()   # proves the checkpoint is writable before any data is written
        use_one_malloc_arena()   # before the fetch threads start (see utils/pipeline/memory.py)
        order = self.pending_days()
        states = self._chunk_states(order)
        n = self.days_in_flight
        with ThreadPoolExecutor(max_workers=2 * n, thread_name_prefix="fetch") as calls, \
                ThreadPoolExecutor(max_workers=n, thread_name_prefix="day") as days:
            fetcher = DayFetcher(self.client, self.request, self.today, calls)
            self._drive(order, states, fetcher, days, totals)
        return totals

    def _chunk_states(self, order: list[date]) -> dict[planning.Chunk, _ChunkState]:
        counts: dict[planning.Chunk, int] = {}
        for day in order:
            chunk = planning.chunk_of(day, self.chunks)
            counts[chunk] = counts.get(chunk, 0) + 1
        return {chunk: _ChunkState(chunk, n) for chunk, n in counts.items()}

    def _drive(self, order: list[date], states: dict, fetcher: DayFetcher, pool: ThreadPoolExecutor,
               totals: dict[str, int]) -> None:
        """Keep ``days_in_flight`` days fetching; write each as it completes. A critical error
        stops new days, lets the ones in flight settle (their writes still commit), then raises."""
        waiting = iter(order)
        in_flight: dict[Future, date] = {}
        critical: BaseException | None = None
        while True:
            while critical is None and not self.stop.requested and len(in_flight) < self.days_in_flight:
                day = next(waiting, None)
                if day is None:
                    break
                self._start_chunk(states[planning.chunk_of(day, self.chunks)])
                in_flight[pool.submit(self._prepare, day, fetcher)] = day
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for job in sorted(done, key=in_flight.get):
                day = in_flight.pop(job)
                state = states[planning.chunk_of(day, self.chunks)]
                tally = _Tally(totals, state.totals)
                try:
                    self._write_day(day, job.result(), tally)
                except DayFailed as failure:
                    self._record_failure(state.chunk, day, failure, tally)
                except DarkHorsesError as exc:    # critical: no new day; the rest settle first
                    critical = critical or exc
                    continue
                self._settle_chunk(state)
        if critical is not None:
            raise critical

    def _start_chunk(self, state: _ChunkState) -> None:
        if not state.started:
            state.started = True
            self.progress.chunk_started(state.chunk, len(self.chunks))

    def _settle_chunk(self, state: _ChunkState) -> None:
        """A chunk is done when all its started days are settled (committed or failed)."""
        state.open -= 1
        if state.open:
            return
        if set(state.chunk.days()) <= self.checkpoint.completed:
            self.checkpoint.stats["chunks_processed"] = sum(
                1 for c in self.chunks if set(c.days()) <= self.checkpoint.completed)
            self.checkpoint.save()
        self.progress.chunk_finished(state.chunk, state.totals)

    def _prepare(self, day: date, fetcher: DayFetcher) -> tuple[dict[str, list[dict]], DayMark]:
        """Fetch and transform one day (on a day thread); the payloads are freed on return."""
        data = fetcher.fetch(day)
        mark = DayMark(day, self.request.regions, data.sources)
        try:
            return build_write_unit(data, self.clock()), mark
        except DarkHorsesError as exc:
            if exc.critical:
                raise
            raise DayFailed("transform", exc) from None   # a payload we cannot store (no race id)

    def _write_day(self, day: date, prepared: tuple[dict[str, list[dict]], DayMark],
                   tally: _Tally) -> None:
        """Write the day with its mark in one transaction (on the run's thread)."""
        unit, mark = prepared
        outcome = _outcome(day, unit)
        started = time.perf_counter()
        try:
            self.store.write_unit(unit, mark)          # one transaction; all or nothing
        except DarkHorsesError as exc:
            if exc.critical:
                raise
            raise DayFailed("database" if isinstance(exc, StoreError) else "transform", exc) from None
        finally:
            self.db_seconds += time.perf_counter() - started
        self._commit_day(day, outcome)
        self.progress.day_done(outcome)
        tally.add(outcome)

    def _record_failure(self, chunk: planning.Chunk, day: date, failure: DayFailed, tally: _Tally) -> None:
        self.errors.record(chunk=chunk.label, day=day, endpoint=failure.endpoint, error=str(failure.error))
        self.progress.day_failed(day, failure)
        tally.failed()

    def _commit_day(self, day: date, outcome: DayOutcome) -> None:
        """Mirror the database's commit into the JSON checkpoint (the guide's format)."""
        self.checkpoint.completed.add(day)
        stats = self.checkpoint.stats
        stats["total_races"] = stats.get("total_races", 0) + outcome.races
        stats["total_runners"] = stats.get("total_runners", 0) + outcome.runners
        stats["days_committed"] = len(self.checkpoint.completed)
        self.checkpoint.save()
        self.errors.clear(day)
        if self.on_commit:
            self.on_commit(day)
        release_freed_memory()           # keeps peak RSS bounded by one day, not by the range

    def _init_stats(self) -> None:
        stats = self.checkpoint.stats
        stats["total_chunks"] = len(self.chunks)
        stats.setdefault("chunks_processed", 0)
        stats.setdefault("total_races", 0)
        stats.setdefault("total_runners", 0)
        stats["total_days"] = (self.request.end - self.request.start).days + 1
        stats["days_committed"] = len(self.checkpoint.completed)
