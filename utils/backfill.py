"""The events backfill: days -> API -> rows -> one committed write unit per day -> checkpoint.

Why a day is the unit: it is the API's natural query (the spec recommends one results query per
date), it is small enough that a crash repeats little, and it is the unit the checkpoint records.
A day's results (all pages) and racecards are fetched concurrently (each endpoint has its own rate
limit), transformed, and written in one transaction with the entities they reference. Only after
that transaction commits is the day added to the checkpoint.

Errors: a day whose calls fail after all retries is written to the error log and the run goes on;
critical errors (authentication, plan window, database loss) stop the run with the checkpoint as
it was after the last committed day.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Protocol

from utils import planning
from utils.checkpoint import Checkpoint, ErrorLog
from utils.entity_extractor import extract_entities
from utils.errors import DarkHorsesError, StoreError
from utils.memory import release_freed_memory, use_one_malloc_arena
from utils.schema import WRITE_ORDER
from utils.transform import racecard_to_rows, result_to_rows
from utils.write_pipeline import DaySpool, WriterProcess, dump_unit

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


@dataclass
class DayData:
    day: date
    results: list[dict] = field(default_factory=list)
    racecards: list[dict] = field(default_factory=list)


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
        self.day: date | None = None        # set when the failure surfaces after the day was handed on


class Progress(Protocol):
    def chunk_started(self, chunk: planning.Chunk, total_chunks: int) -> None: ...
    def day_done(self, outcome: DayOutcome) -> None: ...
    def day_failed(self, day: date, failure: DayFailed) -> None: ...
    def chunk_finished(self, chunk: planning.Chunk, totals: dict[str, int]) -> None: ...


class StopFlag:
    """Set by the first Ctrl+C/SIGTERM: the day in flight finishes, then the run stops cleanly."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def request(self) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()


class DayFetcher:
    """Fetches one day's results and racecards concurrently, each only when the API can serve it."""

    def __init__(self, client: Any, request: EventsRequest, today: date, pool: ThreadPoolExecutor):
        self.client = client
        self.request = request
        self.today = today
        self.pool = pool

    def fetch(self, day: date) -> DayData:
        regions = list(self.request.regions)
        jobs: dict[str, Future] = {}
        if self.request.results and planning.results_servable(day, self.today):
            jobs["results"] = self.pool.submit(self.client.results, day, regions)
        if self.request.racecards and planning.racecards_servable(day, self.today):
            jobs["racecards"] = self.pool.submit(self.client.racecards_pro, day, regions)
        data = DayData(day)
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


class _Tally:
    """Run totals and one chunk's totals, kept together."""

    def __init__(self, totals: dict[str, int]):
        self.totals = totals
        self.chunk = {"races": 0, "runners": 0, "failed_days": 0, "entities": 0}

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
    """Runs a list of days in chunk order, committing and checkpointing each day."""

    def __init__(self, *, client: Any, store: Any, request: EventsRequest, checkpoint: Checkpoint,
                 errors: ErrorLog, progress: Progress, today: date,
                 stop: StopFlag | None = None, clock: Callable[[], datetime] | None = None,
                 writer: WriterProcess | None = None, spool: DaySpool | None = None):
        """``writer``/``spool``: write each day in a child process while the next is fetched (see
        utils/write_pipeline.py); both or neither. Without them each day is written here."""
        self.client = client
        self.store = store
        self.request = request
        self.checkpoint = checkpoint
        self.errors = errors
        self.progress = progress
        self.today = today
        self.stop = stop or StopFlag()
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.writer, self.spool = writer, spool
        self._in_flight: DayOutcome | None = None
        self._write_seconds = 0.0         # in-process writes; the writer process keeps its own
        self.chunks = planning.month_chunks(request.start, request.end)

    @property
    def db_seconds(self) -> float:
        """Time spent in the store's ``write_unit`` (here, or in the writer process)."""
        return self.writer.seconds if self.writer else self._write_seconds

    def pending_days(self) -> list[date]:
        """Days not yet committed: days that failed before come first, then the rest in order."""
        all_days = set(planning.days_between(self.request.start, self.request.end))
        pending = all_days - self.checkpoint.completed
        failed = [d for d in self.errors.failed_dates() if d in pending]
        rest = sorted(pending - set(failed))
        return failed + rest

    def run(self) -> dict[str, int]:
        """Process every pending day; returns run totals. Raises critical errors unchanged."""
        totals = {"days": 0, "failed_days": 0, "races": 0, "runners": 0}
        self._init_stats()
        self.checkpoint.save()   # proves the checkpoint is writable before any data is written
        use_one_malloc_arena()   # before the fetch threads start (see utils/memory.py)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fetch") as pool:
            fetcher = DayFetcher(self.client, self.request, self.today, pool)
            for chunk, days in self._group_by_chunk(self.pending_days()):
                if self.stop.requested:
                    break
                self._run_chunk(chunk, days, fetcher, totals)
        return totals

    def _group_by_chunk(self, days: list[date]) -> list[tuple[planning.Chunk, list[date]]]:
        groups: list[tuple[planning.Chunk, list[date]]] = []
        for day in days:
            chunk = planning.chunk_of(day, self.chunks)
            if groups and groups[-1][0] == chunk:
                groups[-1][1].append(day)
            else:
                groups.append((chunk, [day]))
        return groups

    def _run_chunk(self, chunk: planning.Chunk, days: list[date], fetcher: DayFetcher,
                   totals: dict[str, int]) -> None:
        self.progress.chunk_started(chunk, len(self.chunks))
        tally = _Tally(totals)
        for day in days:
            if self.stop.requested:
                break
            try:
                self._hand_over(day, self._unit_for(day, fetcher), tally)
            except DayFailed as failure:
                self._record_failure(chunk, failure.day or day, failure, tally)
        self._settle(chunk, tally)          # a chunk ends with its last write committed
        if set(chunk.days()) <= self.checkpoint.completed:
            self.checkpoint.stats["chunks_processed"] = sum(
                1 for c in self.chunks if set(c.days()) <= self.checkpoint.completed)
            self.checkpoint.save()
        self.progress.chunk_finished(chunk, tally.chunk)

    def _unit_for(self, day: date, fetcher: DayFetcher) -> dict[str, list[dict]]:
        """The day's rows: from the spool when a killed run already fetched them, else fetched
        and transformed (the payloads are freed on return, before the write)."""
        spooled = self.spool.load(day) if self.spool else None
        if spooled is not None:
            return spooled
        data = fetcher.fetch(day)
        try:
            return build_write_unit(data, self.clock())
        except DarkHorsesError as exc:
            if exc.critical:
                raise
            raise DayFailed("transform", exc) from None   # a payload we cannot store (no race id)

    def _hand_over(self, day: date, unit: dict[str, list[dict]], tally: "_Tally") -> None:
        """Write the day here, or (with a writer process) spool it and send it to the writer once
        the previous day's write has committed; the next day's fetch then overlaps this write."""
        outcome = _outcome(day, unit)
        if self.writer is None:
            started = time.perf_counter()
            try:
                self.store.write_unit(unit)          # one transaction; all or nothing
            except DarkHorsesError as exc:
                raise _day_failure(exc, day) from None
            finally:
                self._write_seconds += time.perf_counter() - started
            self._committed(outcome, tally)
            return
        blob = dump_unit(unit)
        del unit
        earlier: DayFailed | None = None
        try:
            self._settle_in_flight(tally)
        except DayFailed as failure:        # the previous day's write was refused: record it after
            earlier = failure               # this day is on its way
        self.spool.save(day, blob)      # before the next day's calls start (see write_pipeline)
        self.writer.send(blob)
        self._in_flight = outcome
        if earlier:
            raise earlier

    def _settle(self, chunk: planning.Chunk, tally: "_Tally") -> None:
        try:
            self._settle_in_flight(tally)
        except DayFailed as failure:
            self._record_failure(chunk, failure.day, failure, tally)

    def _settle_in_flight(self, tally: "_Tally") -> None:
        """Wait for the write in flight; commit its day to the checkpoint, or report its failure
        (a DayFailed that names that day)."""
        outcome, self._in_flight = self._in_flight, None
        if outcome is None:
            return
        try:
            self.writer.wait()
        except DarkHorsesError as exc:
            failure = _day_failure(exc, outcome.day)
            self.spool.drop(outcome.day)            # refused rows are fetched afresh on --resume
            raise failure from None
        self._committed(outcome, tally)
        self.spool.drop(outcome.day)

    def _committed(self, outcome: DayOutcome, tally: "_Tally") -> None:
        self._commit_day(outcome.day, outcome)
        self.progress.day_done(outcome)
        tally.add(outcome)

    def _record_failure(self, chunk: planning.Chunk, day: date, failure: DayFailed, tally: "_Tally") -> None:
        self.errors.record(chunk=chunk.label, day=day, endpoint=failure.endpoint, error=str(failure.error))
        self.progress.day_failed(day, failure)
        tally.failed()

    def _commit_day(self, day: date, outcome: DayOutcome) -> None:
        self.checkpoint.completed.add(day)
        stats = self.checkpoint.stats
        stats["total_races"] = stats.get("total_races", 0) + outcome.races
        stats["total_runners"] = stats.get("total_runners", 0) + outcome.runners
        stats["days_committed"] = len(self.checkpoint.completed)
        self.checkpoint.save()
        self.errors.clear(day)
        release_freed_memory()           # keeps peak RSS bounded by one day, not by the range

    def _init_stats(self) -> None:
        stats = self.checkpoint.stats
        stats["total_chunks"] = len(self.chunks)
        stats.setdefault("chunks_processed", 0)
        stats.setdefault("total_races", 0)
        stats.setdefault("total_runners", 0)
        stats["total_days"] = (self.request.end - self.request.start).days + 1
        stats["days_committed"] = len(self.checkpoint.completed)


def _day_failure(exc: DarkHorsesError, day: date) -> DayFailed:
    """A unit the database refused: the day was rolled back and goes to the error log. A critical
    store error (database lost) is raised instead: it stops the run, and a spooled day stays
    spooled for ``--resume``."""
    if exc.critical:
        raise exc
    failure = DayFailed("database" if isinstance(exc, StoreError) else "transform", exc)
    failure.day = day
    return failure
