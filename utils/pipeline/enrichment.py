"""Horse enrichment from ``/v1/horses/{id}/pro``: dob, sex, colour, breeder and pedigree per horse.

Why resumable from the database itself: this is the dominant cost of a full backfill (100,000+
calls, hours at 5 req/s). Each batch of profiles is committed in one write unit that also stamps
``enriched_at`` / ``profile_status``; the next run simply asks the database which horses are still
pending, so no checkpoint file can disagree with the data and no committed horse is asked twice.
A 404 is stored as ``profile_status = 'not_found'`` and never asked again.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from utils.errors import DarkHorsesError, NotFoundError
from utils.ingest.entities import merge_units
from utils.ingest.rows import horse_profile_to_rows
from utils.planning import SPEC_RATE_LIMITS, format_duration
from utils.stores.base import Store

if TYPE_CHECKING:
    from utils.api.client import RacingAPIClient

log = logging.getLogger("darkhorses.enrich")

BATCH_SIZE = 100


@dataclass
class EnrichmentResult:
    fetched: int = 0
    not_found: int = 0
    failed: list[str] = field(default_factory=list)
    calls: int = 0


def pending_horses(store: Store, *, since: date | None = None, refresh: bool = False,
                   limit: int | None = None) -> list[str]:
    """Horses that still need a profile call (one definition: ``utils.stores.reads``)."""
    rows = store.read("pending_horses", since=since, refresh=refresh,
                      lim=NO_LIMIT if limit is None else int(limit))
    return [str(r["id"]) for r in rows]


def pending_counts(store: Store, *, since: date | None = None) -> tuple[int, int]:
    """(horses without a profile, those of them that need a call): the rest already carry their
    details from racecards and are fetched only with ``refresh``."""
    row = store.read("pending_horse_counts", since=since)[0]
    return int(row["without_profile"] or 0), int(row["need_call"] or 0)


def count_pending(store: Store, *, since: date | None = None, refresh: bool = False) -> int:
    without_profile, need_call = pending_counts(store, since=since)
    return without_profile if refresh else need_call


NO_LIMIT = 2 ** 62          # "all of them" as a LIMIT both SQLite and PostgreSQL accept


def eta_seconds(horses: int, rate: float = SPEC_RATE_LIMITS["horses"]) -> float:
    return horses / rate


def _not_found_row(horse_id: str, fetched_at: datetime) -> dict[str, list[dict]]:
    return {"ra_mst_horses": [{"id": horse_id, "profile_status": "not_found", "enriched_at": fetched_at}]}


class HorseEnricher:
    """Fetches profiles for pending horses in batches, committing each batch."""

    def __init__(self, client: RacingAPIClient, store: Store, *, workers: int = 4,
                 clock: Callable[[], datetime] | None = None,
                 should_stop: Callable[[], bool] = lambda: False,
                 on_batch: Callable[[EnrichmentResult], None] | None = None,
                 on_horse: Callable[[EnrichmentResult], None] | None = None):
        """``on_horse`` is called (in this thread) as each horse's call completes, ``on_batch``
        after each batch is committed: progress counts horses, commits stay per batch."""
        self.client = client
        self.store = store
        self.workers = workers
        self.clock = clock or (lambda: datetime.now(UTC))
        self.should_stop = should_stop
        self.on_batch = on_batch
        self.on_horse = on_horse

    def run(self, horse_ids: list[str]) -> EnrichmentResult:
        result = EnrichmentResult()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="horse") as pool:
            for start in range(0, len(horse_ids), BATCH_SIZE):
                if self.should_stop():
                    break
                batch = horse_ids[start:start + BATCH_SIZE]
                jobs = {pool.submit(self._fetch_one, horse_id): horse_id for horse_id in batch}
                outcomes: dict[str, tuple[str, Any]] = {}
                try:
                    for job in as_completed(jobs):
                        outcomes[jobs[job]] = job.result()      # a critical error propagates
                        self._tally(result, jobs[job], outcomes[jobs[job]][0])
                        if self.on_horse:
                            self.on_horse(result)
                except BaseException:
                    for job in jobs:
                        job.cancel()              # nothing of this batch is written
                    raise
                unit = merge_units(*(outcomes[h][1] for h in batch if outcomes[h][1]))
                if unit:
                    self.store.write_unit(unit)   # one transaction per batch
                if self.on_batch:
                    self.on_batch(result)
        return result

    @staticmethod
    def _tally(result: EnrichmentResult, horse_id: str, status: str) -> None:
        result.calls += 1
        if status == "ok":
            result.fetched += 1
        elif status == "not_found":
            result.not_found += 1
        else:
            result.failed.append(horse_id)

    def _fetch_one(self, horse_id: str) -> tuple[str, dict[str, list[dict]] | None]:
        """One profile -> (status, rows). Critical errors propagate; others leave it pending."""
        try:
            profile = self.client.horse_pro(horse_id)
        except NotFoundError:
            return "not_found", _not_found_row(horse_id, self.clock())
        except DarkHorsesError as exc:
            if exc.critical:
                raise
            log.warning("%s: profile fetch failed (%s); it stays pending", horse_id, exc)
            return "failed", None
        return "ok", horse_profile_to_rows(profile, fetched_at=self.clock())


def describe_status(without_profile: int, need_call: int, *, refresh: bool = False) -> str:
    """One line with all three figures when they differ (the report counts every horse without a
    profile as pending; only some of them need a call)."""
    calls = without_profile if refresh else need_call
    eta = f"{calls:,} calls, about {format_duration(eta_seconds(calls))} at 5 req/s"
    if without_profile == calls:
        return f"{without_profile:,} horses without a profile: {eta}"
    return (f"{without_profile:,} horses without a profile: {need_call:,} need a call, "
            f"{without_profile - need_call:,} already have their details from racecards "
            f"(fetched only with --refresh); {eta}")
