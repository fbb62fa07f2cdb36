"""Horse enrichment from ``/v1/horses/{id}/pro``: dob, sex, colour, breeder and pedigree per horse.

Why resumable from the database itself: this is the dominant cost of a full backfill (100,000+
calls, hours at 5 req/s). Each batch of profiles is committed in one write unit that also stamps
``enriched_at`` / ``profile_status``; the next run simply asks the database which horses are still
pending, so no checkpoint file can disagree with the data and no committed horse is asked twice.
A 404 is stored as ``profile_status = 'not_found'`` and never asked again.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable

from utils.entity_extractor import merge_units
from utils.errors import DarkHorsesError, NotFoundError
from utils.planning import SPEC_RATE_LIMITS, format_duration
from utils.transform import horse_profile_to_rows

log = logging.getLogger("darkhorses.enrich")

BATCH_SIZE = 100


@dataclass
class EnrichmentResult:
    fetched: int = 0
    not_found: int = 0
    failed: list[str] = field(default_factory=list)
    calls: int = 0


def _pending_sql(since: date | None, refresh: bool) -> tuple[str, list[Any]]:
    sql = "SELECT h.id FROM ra_mst_horses h WHERE h.enriched_at IS NULL AND h.profile_status IS NULL"
    params: list[Any] = []
    if not refresh:
        # racecard-era horses already carry dob/colour/breeder: skip them unless asked to refresh
        sql += (" AND (h.dob IS NULL OR h.breeder IS NULL"
                " OR (h.colour IS NULL AND h.colour_code IS NULL))")
    if since is not None:
        sql += (" AND EXISTS (SELECT 1 FROM ra_runners u JOIN ra_races r ON r.id = u.race_id "
                "WHERE u.horse_id = h.id AND r.date >= ?)")
        params.append(since.isoformat())
    return sql, params


def pending_horses(store: Any, *, since: date | None = None, refresh: bool = False,
                   limit: int | None = None) -> list[str]:
    sql, params = _pending_sql(since, refresh)
    sql += " ORDER BY h.id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return [str(r[0]) for r in store.query(sql, tuple(params))]


def count_pending(store: Any, *, since: date | None = None, refresh: bool = False) -> int:
    sql, params = _pending_sql(since, refresh)
    return int(store.query(f"SELECT count(*) FROM ({sql}) pending", tuple(params))[0][0])


def eta_seconds(horses: int, rate: float = SPEC_RATE_LIMITS["horses"]) -> float:
    return horses / rate


def _not_found_row(horse_id: str, fetched_at: datetime) -> dict[str, list[dict]]:
    return {"ra_mst_horses": [{"id": horse_id, "profile_status": "not_found", "enriched_at": fetched_at}]}


class HorseEnricher:
    """Fetches profiles for pending horses in batches, committing each batch."""

    def __init__(self, client: Any, store: Any, *, workers: int = 4,
                 clock: Callable[[], datetime] | None = None,
                 should_stop: Callable[[], bool] = lambda: False,
                 on_batch: Callable[[EnrichmentResult], None] | None = None):
        self.client = client
        self.store = store
        self.workers = workers
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.should_stop = should_stop
        self.on_batch = on_batch

    def run(self, horse_ids: list[str]) -> EnrichmentResult:
        result = EnrichmentResult()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="horse") as pool:
            for start in range(0, len(horse_ids), BATCH_SIZE):
                if self.should_stop():
                    break
                batch = horse_ids[start:start + BATCH_SIZE]
                outcomes = list(pool.map(self._fetch_one, batch))
                self._tally(result, batch, outcomes)
                unit = merge_units(*(rows for _, rows in outcomes if rows))
                if unit:
                    self.store.write_unit(unit)   # one transaction per batch
                if self.on_batch:
                    self.on_batch(result)
        return result

    @staticmethod
    def _tally(result: EnrichmentResult, batch: list[str], outcomes: list[tuple[str, Any]]) -> None:
        result.calls += len(batch)
        for horse_id, (status, _) in zip(batch, outcomes):
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


def describe_status(pending: int) -> str:
    return (f"{pending:,} horses still need a profile: {pending:,} calls, about "
            f"{format_duration(eta_seconds(pending))} at 5 req/s")
