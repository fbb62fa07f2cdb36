"""Master tables that do not come from racecards/results: regions, courses and bookmakers.

Why bookmakers live here as data: the API names bookmakers inside racecard odds but offers no list
endpoint, so the UK/Irish list is kept in one place in the code and upserted like any other master.
Regions and courses come from the API (all regions it lists; courses for the requested regions).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from utils.stores.base import Store

if TYPE_CHECKING:
    from utils.api.client import RacingAPIClient

log = logging.getLogger("darkhorses.masters")

# (code, display name, type) — the UK/Irish bookmakers and exchanges racing data refers to.
BOOKMAKERS: tuple[tuple[str, str, str], ...] = (
    ("bet365", "Bet365", "online"),
    ("william_hill", "William Hill", "online"),
    ("ladbrokes", "Ladbrokes", "online"),
    ("coral", "Coral", "online"),
    ("paddy_power", "Paddy Power", "online"),
    ("betfair", "Betfair Exchange", "exchange"),
    ("betfair_sportsbook", "Betfair Sportsbook", "online"),
    ("skybet", "Sky Bet", "online"),
    ("betvictor", "BetVictor", "online"),
    ("betfred", "Betfred", "online"),
    ("888sport", "888sport", "online"),
    ("unibet", "Unibet", "online"),
    ("betway", "Betway", "online"),
    ("boylesports", "BoyleSports", "online"),
    ("betdaq", "Betdaq", "exchange"),
    ("matchbook", "Matchbook", "exchange"),
    ("smarkets", "Smarkets", "exchange"),
    ("spreadex", "Spreadex", "spread"),
    ("sporting_index", "Sporting Index", "spread"),
    ("betmgm", "BetMGM", "online"),
    ("virgin_bet", "Virgin Bet", "online"),
    ("livescore_bet", "LiveScore Bet", "online"),
    ("midnite", "Midnite", "online"),
    ("kwiff", "Kwiff", "online"),
    ("tote", "Tote", "online"),
)


def bookmaker_rows() -> list[dict]:
    return [{"code": code, "name": name, "type": kind, "is_active": True}
            for code, name, kind in BOOKMAKERS]


def region_rows(regions: Iterable[dict]) -> list[dict]:
    return [{"code": r["region_code"].strip().lower(), "name": r.get("region") or None}
            for r in regions if (r.get("region_code") or "").strip()]


def course_rows(courses: Iterable[dict]) -> list[dict]:
    rows = []
    for course in courses:
        if not (course.get("id") or "").strip():
            continue
        row = {"id": course["id"].strip(), "name": course.get("course"),
               "region_code": (course.get("region_code") or "").strip().lower() or None,
               "region": course.get("region")}
        rows.append({k: v for k, v in row.items() if v not in (None, "")})
    return rows


def masters_unit(client: RacingAPIClient, region_codes: Iterable[str]) -> dict[str, list[dict]]:
    """Fetch regions (all) and courses (requested regions) and add the static bookmakers."""
    regions = client.regions()
    courses = client.courses(list(region_codes))
    return {"ra_mst_regions": region_rows(regions), "ra_mst_courses": course_rows(courses),
            "ra_mst_bookmakers": bookmaker_rows()}


def run_masters(client: RacingAPIClient, store: Store, region_codes: Iterable[str]) -> dict[str, Any]:
    """Upsert the masters in one write unit; logs inserted/updated per table and the seconds taken."""
    started = time.monotonic()
    counts = store.write_unit(masters_unit(client, region_codes))
    elapsed = time.monotonic() - started
    for table, c in counts.items():
        log.info("%-18s %5d inserted, %5d updated, %5d unchanged", table, c.inserted, c.updated,
                 c.unchanged)
    log.info("Masters done in %.1f s", elapsed)
    return {"counts": counts, "seconds": elapsed}
