"""Runners -> the people and horses they reference: jockeys, trainers, owners, horses, sires, dams,
damsires and one pedigree row per horse.

Why from both sources: results-only eras (before racecards existed, 2023-01-23) must still get
complete masters, and results runners carry sire/dam/damsire ids and names too; racecards add what
only they know (dob, colour, breeder, trainer location, breeding regions). Rows follow the row-dict
rule: a key is present only with a value, so merging racecard and result rows never loses anything.
"""
from __future__ import annotations

from typing import Any, Iterable

from utils import parsers as p

ENTITY_TABLES = ("ra_mst_jockeys", "ra_mst_trainers", "ra_mst_owners", "ra_mst_sires", "ra_mst_dams",
                 "ra_mst_damsires", "ra_mst_horses", "ra_horse_pedigree")
KEY = {"ra_horse_pedigree": "horse_id"}
BREEDING = (("sire", "ra_mst_sires"), ("dam", "ra_mst_dams"), ("damsire", "ra_mst_damsires"))


def _compact(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def _person_rows(runner: dict) -> dict[str, dict]:
    rows = {
        "ra_mst_jockeys": {"id": p.text(runner.get("jockey_id")), "name": p.text(runner.get("jockey"))},
        "ra_mst_trainers": {"id": p.text(runner.get("trainer_id")), "name": p.text(runner.get("trainer")),
                            "location": p.text(runner.get("trainer_location"))},
        "ra_mst_owners": {"id": p.text(runner.get("owner_id")), "name": p.text(runner.get("owner"))},
    }
    return {table: _compact(row) for table, row in rows.items() if row["id"]}


def _breeding_rows(runner: dict) -> dict[str, dict]:
    rows = {}
    for role, table in BREEDING:
        entity_id, name = p.text(runner.get(f"{role}_id")), p.text(runner.get(role))
        if entity_id:
            region = p.lower(runner.get(f"{role}_region")) or p.region_from_name(name)
            rows[table] = _compact({"id": entity_id, "name": name, "region": region})
    return rows


def _horse_row(runner: dict, horse_id: str) -> dict[str, Any]:
    name = p.text(runner.get("horse"))
    horse = {"id": horse_id, "name": name,
             "region": p.lower(runner.get("region")) or p.region_from_name(name),
             "dob": p.parse_date(runner.get("dob")), "breeder": p.text(runner.get("breeder")),
             "sire_id": p.text(runner.get("sire_id")), "dam_id": p.text(runner.get("dam_id")),
             "damsire_id": p.text(runner.get("damsire_id"))}
    horse.update(p.sex_fields(runner.get("sex")))
    horse.update(p.sex_fields(runner.get("sex_code")))
    horse.update(p.colour_fields(runner.get("colour")))
    return _compact(horse)


def _pedigree_row(runner: dict, horse: dict) -> dict[str, Any]:
    row = {"horse_id": horse["id"], "breeder": horse.get("breeder"), "region": horse.get("region")}
    for role, _ in BREEDING:
        row[f"{role}_id"] = p.text(runner.get(f"{role}_id"))
        row[role] = p.text(runner.get(role))
    return _compact(row)


def _merge_into(bucket: dict[str, dict], key: str, row: dict[str, Any]) -> None:
    """Later non-empty values win; nothing already known is replaced by a gap."""
    bucket[key] = {**bucket.get(key, {}), **row}


def runner_entities(runner: dict) -> dict[str, dict]:
    """Every entity row one runner implies (its horse and pedigree only with a horse id)."""
    rows = {**_person_rows(runner), **_breeding_rows(runner)}
    horse_id = p.text(runner.get("horse_id"))
    if horse_id:
        horse = _horse_row(runner, horse_id)
        rows["ra_mst_horses"] = horse
        pedigree = _pedigree_row(runner, horse)
        if len(pedigree) > 1:
            rows["ra_horse_pedigree"] = pedigree
    return rows


def extract_entities(racecards: Iterable[dict] = (), results: Iterable[dict] = ()) -> dict[str, list[dict]]:
    """Deduplicated entity rows from the runners of racecards and results (results merge last)."""
    buckets: dict[str, dict[str, dict]] = {table: {} for table in ENTITY_TABLES}
    for race in [*racecards, *results]:
        for runner in (race.get("runners") or []) if isinstance(race, dict) else []:
            if not isinstance(runner, dict):
                continue
            for table, row in runner_entities(runner).items():
                _merge_into(buckets[table], row[KEY.get(table, "id")], row)
    return {table: list(rows.values()) for table, rows in buckets.items() if rows}
