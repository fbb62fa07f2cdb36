"""Runners -> the people and horses they reference: jockeys, trainers, owners, horses, sires, dams,
damsires and one pedigree row per horse.

Why from both sources: results-only eras (before racecards, which start 2023-01-23) must still get
complete masters, and results runners carry sire/dam/damsire ids and names too; racecards add what
only they know (dob, sex word, colour, breeder, trainer location, breeding regions). Rows follow the
row-dict rule — a key is present only with a value — so merging a racecard's and a result's view of
the same horse never loses anything (a gap never erases a value). Every row carries its race's
observation (``schema.OBSERVED``), so the newest observation wins whatever the load order.

Names are kept exactly as the API writes them, breeding suffix included (``"Galileo (IRE)"``): that is
how both sources and the horse profiles spell them, so a name never flips between two spellings.
The suffix is *also* parsed into ``region`` (lower case) unless the racecard states the region.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

from utils.errors import BadResponseError
from utils.ingest.parsers import colour_fields, lower, parse_date, parse_off_dt, region_from_name, sex_fields, text
from utils.ingest.rows import breeding_rows, compact, pedigree_row, runners_of
from utils.merge import merge_row
from utils.schema import OBSERVED, TABLES

ENTITY_TABLES = ("ra_mst_jockeys", "ra_mst_trainers", "ra_mst_owners", "ra_mst_sires", "ra_mst_dams",
                 "ra_mst_damsires", "ra_mst_horses", "ra_horse_pedigree")


# (table, id field, ((column, field), …)) for the people a runner names.
_PEOPLE = (("ra_mst_jockeys", "jockey_id", (("name", "jockey"),)),
           ("ra_mst_trainers", "trainer_id", (("name", "trainer"), ("location", "trainer_location"))),
           ("ra_mst_owners", "owner_id", (("name", "owner"),)))


def _person_rows(runner: dict) -> dict[str, dict]:
    """Jockey, trainer and owner rows of one runner (each only when the runner gives its id)."""
    rows = {}
    for table, id_field, fields in _PEOPLE:
        entity_id = text(runner.get(id_field))
        if entity_id:
            row = {"id": entity_id}
            for column, field in fields:
                value = text(runner.get(field))
                if value is not None:          # text() never returns "": None is the only gap
                    row[column] = value
            rows[table] = row
    return rows


def _horse_row(runner: dict, horse_id: str) -> dict[str, Any]:
    """The horse as one runner describes it. Region: the racecard's ``region``, else the suffix."""
    name = text(runner.get("horse"))
    return compact({
        "id": horse_id, "name": name,
        "region": lower(runner.get("region")) or region_from_name(name),
        "dob": parse_date(runner.get("dob")), "breeder": text(runner.get("breeder")),
        "sire_id": text(runner.get("sire_id")), "dam_id": text(runner.get("dam_id")),
        "damsire_id": text(runner.get("damsire_id")),
        **sex_fields(runner.get("sex")), **sex_fields(runner.get("sex_code")),
        **colour_fields(runner.get("colour")),
    })


def runner_entities(runner: dict) -> dict[str, dict]:
    """Every entity row one runner implies; a missing id just means no row for that entity."""
    rows = {**_person_rows(runner), **breeding_rows(runner)}
    horse_id = text(runner.get("horse_id"))
    if horse_id:
        rows["ra_mst_horses"] = _horse_row(runner, horse_id)
        pedigree = pedigree_row(runner, rows["ra_mst_horses"])
        if pedigree:
            rows["ra_horse_pedigree"] = pedigree
    return rows


_KEYS = {name: table.key for name, table in TABLES.items()}
SOURCE_RANK = {"results": "r", "racecards": "c"}   # on a tie, results are the newer observation


def observation(race: dict, source: str) -> str | None:
    """When this race saw its runners' people and horses: ``<off, UTC>|<race id>|<r or c>``.

    Text order is time order (UTC, fixed width), then race id, then results before racecards,
    so "newest observation" is the same whatever order the days are loaded in. A race without a
    date gives no observation (its rows then never outrank a dated one)."""
    off = parse_off_dt(race.get("off_dt"))
    if off is not None:
        when = off.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    else:
        day = parse_date(race.get("date"))
        if day is None:
            return None
        when = f"{day.isoformat()}T"
    return f"{when}|{text(race.get('race_id')) or ''}|{SOURCE_RANK[source]}"


class _Collector:
    """Rows per table, deduplicated by the table's key; a later row's keys merge over earlier ones."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[tuple, dict]] = {}

    def add(self, table: str, row: dict) -> None:
        self.add_compact(table, compact(row))

    def add_compact(self, table: str, row: dict) -> None:
        """``row`` already follows the row-dict rule (no empty values) and is not shared."""
        bucket = self.tables.get(table)
        if bucket is None:
            bucket = self.tables[table] = {}
        key = tuple(map(row.get, _KEYS[table]))
        previous = bucket.get(key)
        bucket[key] = merge_row(TABLES[table], previous, row) if previous else row

    def unit(self) -> dict[str, list[dict]]:
        return {table: list(rows.values()) for table, rows in self.tables.items() if rows}


def extract_entities(racecards: Iterable[dict] = (), results: Iterable[dict] = ()) -> dict[str, list[dict]]:
    """Deduplicated entity rows from the runners of racecards and results (results merge last).

    Malformed races are skipped here: ``racecard_to_rows``/``result_to_rows`` reject them loudly.
    """
    collector = _Collector()
    for source, races in (("racecards", racecards), ("results", results)):
        for race in races:
            seen = observation(race, source) if isinstance(race, dict) else None
            for runner in _safe_runners(race):
                for table, row in runner_entities(runner).items():
                    if seen is not None:
                        row[OBSERVED] = seen
                    collector.add_compact(table, row)
    return collector.unit()


def _safe_runners(race: Any) -> list[dict]:
    try:
        return runners_of(race)
    except BadResponseError:  # the transform reports the bad shape loudly; extraction skips it
        return []


def merge_units(*units: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Combine write units (e.g. a day's racecard and result units) into one, deduplicating every
    table by its key. Later units win per column, but never with a gap — so pass results last.
    (The stores' authority rule for ``has_result``/``result_updated_at`` still applies on write.)"""
    collector = _Collector()
    for unit in units:
        for table, rows in unit.items():
            for row in rows:
                collector.add(table, row)
    return collector.unit()
