"""API payloads -> typed row dicts for ``ra_races`` and ``ra_runners`` (and horse profiles).

Why mapping tables: every API field is either mapped here to a typed column, consumed by the entity
extractor, or listed in ``DROPPED_FIELDS`` with the reason — and a test holds the three lists
against ``openapi.yml``. A row holds a key only when the source gave a usable value, so a source
that lacks a field never overwrites what another source stored (see CLAUDE.md, "Row dicts").
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from utils import parsers as p
from utils.errors import BadResponseError

Parser = Callable[[Any], Any]

# column -> (API field, parser) ---------------------------------------------------------------------
RACE_COMMON: dict[str, tuple[str, Parser]] = {
    "date": ("date", p.parse_date), "region": ("region", p.lower), "course_id": ("course_id", p.text),
    "course_name": ("course", p.text), "off_dt": ("off_dt", p.parse_datetime),
    "race_name": ("race_name", p.text), "type": ("type", p.text), "pattern": ("pattern", p.text),
    "age_band": ("age_band", p.text), "rating_band": ("rating_band", p.text),
    "going": ("going", p.text), "surface": ("surface", p.text), "jumps": ("jumps", p.text),
}
RACECARD_RACE: dict[str, tuple[str, Parser]] = {
    **RACE_COMMON, "race_class": ("race_class", p.text), "sex_restriction": ("sex_restriction", p.text),
    "distance": ("distance", p.text), "distance_round": ("distance_round", p.text),
    "distance_f": ("distance_f", p.parse_furlongs), "field_size": ("field_size", p.parse_int),
    "going_detailed": ("going_detailed", p.text), "rail_movements": ("rail_movements", p.text),
    "stalls": ("stalls", p.text), "weather": ("weather", p.text), "is_big_race": ("big_race", p.parse_bool),
    "is_abandoned": ("is_abandoned", p.parse_bool), "race_status": ("race_status", p.text),
    "tip": ("tip", p.text), "verdict": ("verdict", p.text),
    "betting_forecast": ("betting_forecast", p.text),
}
RESULT_RACE: dict[str, tuple[str, Parser]] = {
    **RACE_COMMON, "race_class": ("class", p.text), "sex_restriction": ("sex_rest", p.text),
    "distance": ("dist", p.text), "distance_f": ("dist_f", p.parse_furlongs),
    "distance_m": ("dist_m", p.parse_int), "distance_y": ("dist_y", p.parse_int),
    "winning_time_detail": ("winning_time_detail", p.text), "comments": ("comments", p.text),
    "non_runners": ("non_runners", p.text), "tote_win": ("tote_win", p.text),
    "tote_pl": ("tote_pl", p.text), "tote_ex": ("tote_ex", p.text), "tote_csf": ("tote_csf", p.text),
    "tote_tricast": ("tote_tricast", p.text), "tote_trifecta": ("tote_trifecta", p.text),
}
RUNNER_COMMON: dict[str, tuple[str, Parser]] = {
    "horse_name": ("horse", p.text), "number": ("number", p.parse_int), "draw": ("draw", p.parse_int),
    "age": ("age", p.parse_int), "jockey_id": ("jockey_id", p.text), "jockey_name": ("jockey", p.text),
    "trainer_id": ("trainer_id", p.text), "trainer_name": ("trainer", p.text),
    "owner_id": ("owner_id", p.text), "owner_name": ("owner", p.text),
    "sire_id": ("sire_id", p.text), "dam_id": ("dam_id", p.text), "damsire_id": ("damsire_id", p.text),
    "headgear": ("headgear", p.text), "rpr": ("rpr", p.parse_int), "silk_url": ("silk_url", p.text),
}
RACECARD_RUNNER: dict[str, tuple[str, Parser]] = {
    **RUNNER_COMMON, "dob": ("dob", p.parse_date), "trainer_location": ("trainer_location", p.text),
    "weight_lbs": ("lbs", p.parse_int), "official_rating": ("ofr", p.parse_int),
    "topspeed": ("ts", p.parse_int), "headgear_run": ("headgear_run", p.text),
    "wind_surgery": ("wind_surgery", p.text), "wind_surgery_run": ("wind_surgery_run", p.text),
    "form": ("form", p.text), "last_run": ("last_run", p.parse_int),
    "spotlight": ("spotlight", p.text), "trainer_rtf": ("trainer_rtf", p.parse_percent),
    "comment": ("comment", p.text), "past_results_flags": ("past_results_flags", p.joined),
}
RESULT_RUNNER: dict[str, tuple[str, Parser]] = {
    **RUNNER_COMMON, "weight_lbs": ("weight_lbs", p.parse_int), "official_rating": ("or", p.parse_int),
    "topspeed": ("tsr", p.parse_int), "jockey_claim_lbs": ("jockey_claim_lbs", p.parse_int),
    "btn": ("btn", p.parse_margin), "ovr_btn": ("ovr_btn", p.parse_margin), "sp": ("sp", p.text),
    "sp_dec": ("sp_dec", p.parse_decimal), "bsp": ("bsp", p.parse_decimal),
    "finishing_time": ("time", p.text), "finishing_time_s": ("time", p.parse_finishing_time),
    "race_comment": ("comment", p.text),
}
HORSE_PROFILE: dict[str, tuple[str, Parser]] = {
    "name": ("name", p.text), "dob": ("dob", p.parse_date), "breeder": ("breeder", p.text),
    "sire_id": ("sire_id", p.text), "dam_id": ("dam_id", p.text), "damsire_id": ("damsire_id", p.text),
    "colour": ("colour", p.lower), "colour_code": ("colour_code", p.text),
    "sex": ("sex", p.lower), "sex_code": ("sex_code", p.text),
}

# API fields read outside the maps above (derived columns, nested objects, entity extraction).
EXTRA_RACECARD_RACE = {"race_id", "off_time", "prize", "runners"}
EXTRA_RACECARD_RUNNER = {"horse_id", "sex", "sex_code", "colour", "region", "breeder", "trainer_14_days",
                         "sire", "dam", "damsire", "sire_region", "dam_region", "damsire_region"}
EXTRA_RESULT_RACE = {"race_id", "off", "runners"}
EXTRA_RESULT_RUNNER = {"horse_id", "position", "sex", "weight", "prize", "sire", "dam", "damsire"}
EXTRA_HORSE = {"id", "sire", "dam", "damsire"}


def _fields(mapping: dict[str, tuple[str, Parser]], extra: set[str]) -> frozenset[str]:
    return frozenset({field for field, _ in mapping.values()} | extra)


RACECARD_RACE_FIELDS = _fields(RACECARD_RACE, EXTRA_RACECARD_RACE)
RACECARD_RUNNER_FIELDS = _fields(RACECARD_RUNNER, EXTRA_RACECARD_RUNNER)
RESULT_RACE_FIELDS = _fields(RESULT_RACE, EXTRA_RESULT_RACE)
RESULT_RUNNER_FIELDS = _fields(RESULT_RUNNER, EXTRA_RESULT_RUNNER)
HORSE_PRO_FIELDS = _fields(HORSE_PROFILE, EXTRA_HORSE)

DROPPED_FIELDS: dict[str, str] = {
    "RacecardOddsPro.off_time": "12-hour clock without am/pm; off_time is derived from off_dt",
    "ResultStandard.off": "12-hour clock without am/pm; off_time is derived from off_dt",
    "RunnerOddsPro.odds": "per-bookmaker live prices are a market feed, not race data; SP/BSP come with results",
    "RunnerOddsPro.quotes": "press quotes (free text about other races)",
    "RunnerOddsPro.stable_tour": "stable-tour quotes (free text)",
    "RunnerOddsPro.medical": "list of veterinary events; not needed for the race record",
    "RunnerOddsPro.prev_trainers": "trainer history of the horse; the runner keeps the trainer on the day",
    "RunnerOddsPro.prev_owners": "owner history of the horse; the runner keeps the owner on the day",
}


def _map(payload: dict, mapping: dict[str, tuple[str, Parser]]) -> dict[str, Any]:
    row = {}
    for column, (field, parse) in mapping.items():
        value = parse(payload.get(field))
        if value is not None:
            row[column] = value
    return row


def _require(payload: Any, field: str, what: str) -> str:
    value = p.text(payload.get(field)) if isinstance(payload, dict) else None
    if not value:
        raise BadResponseError(f"{what} without {field}: cannot be stored")
    return value


def _race_common(payload: dict, mapping: dict[str, tuple[str, Parser]]) -> dict[str, Any]:
    race = {"id": _require(payload, "race_id", "race"), **_map(payload, mapping)}
    off_time = p.off_time_from(race.get("off_dt"))
    if off_time is not None:
        race["off_time"] = off_time
    return race


def _runner_rows(race_id: str, payload: dict, mapping, extra: Callable[[dict], dict]) -> list[dict]:
    rows = []
    for runner in payload.get("runners") or []:
        if not isinstance(runner, dict):
            raise BadResponseError(f"race {race_id}: a runner is not an object")
        row = {"race_id": race_id, "horse_id": _require(runner, "horse_id", f"runner of {race_id}"),
               **_map(runner, mapping), **extra(runner)}
        rows.append(row)
    return rows


def _card_runner_extra(runner: dict) -> dict[str, Any]:
    extra: dict[str, Any] = {**p.sex_fields(runner.get("sex")), **p.sex_fields(runner.get("sex_code"))}
    colour = p.text(runner.get("colour"))
    if colour:
        extra["colour"] = colour
    days14 = runner.get("trainer_14_days") if isinstance(runner.get("trainer_14_days"), dict) else {}
    for key, parse in (("runs", p.parse_int), ("wins", p.parse_int), ("percent", p.parse_percent)):
        value = parse(days14.get(key))
        if value is not None:
            extra[f"trainer_14_days_{key}"] = value
    return extra


def _result_runner_extra(runner: dict) -> dict[str, Any]:
    extra: dict[str, Any] = dict(p.sex_fields(runner.get("sex")))
    position, raw = p.parse_position(runner.get("position"))
    if raw is not None:
        extra["position_raw"] = raw
    if position is not None:
        extra["position"] = position
    weight_text, weight_lbs = p.parse_weight_st_lbs(runner.get("weight"))
    if weight_text:
        extra["weight_st_lbs"] = weight_text
        extra.setdefault("weight_lbs", weight_lbs)
    prize, _ = p.parse_money(runner.get("prize"))
    if prize is not None:
        extra["prize_won"] = prize
    return extra


def racecard_to_rows(racecard: dict) -> tuple[dict, list[dict]]:
    """One racecard -> (race row, runner rows). Sets ``has_racecard``; never ``has_result``."""
    race = _race_common(racecard, RACECARD_RACE)
    prize, currency = p.parse_money(racecard.get("prize"))
    if prize is not None:
        race["prize"] = prize
    race_currency = p.currency_for(currency, race.get("region"))
    if race_currency:
        race["currency"] = race_currency
    furlongs = race.get("distance_f")
    if furlongs is not None:
        yards = int(round(furlongs * 220))
        race["distance_y"] = yards
        race["distance_m"] = int(round(yards * 0.9144))
    race["has_racecard"] = True
    runners = _runner_rows(race["id"], racecard, RACECARD_RUNNER, _card_runner_extra)
    if "field_size" not in race and runners:
        race["field_size"] = len(runners)
    return race, runners


def result_to_rows(result: dict, *, fetched_at: datetime) -> tuple[dict, list[dict]]:
    """One result -> (race row, runner rows). Sets ``has_result`` and ``result_updated_at``."""
    race = _race_common(result, RESULT_RACE)
    race_currency = p.currency_for(None, race.get("region"))
    for runner in result.get("runners") or []:
        _, currency = p.parse_money(runner.get("prize") if isinstance(runner, dict) else None)
        race_currency = currency or race_currency
    if race_currency:
        race["currency"] = race_currency
    race["has_result"] = True
    runners = _runner_rows(race["id"], result, RESULT_RUNNER, _result_runner_extra)
    if runners:
        race["field_size"] = len(runners)
    for row in runners:
        row["result_updated_at"] = fetched_at
    return race, runners


def horse_profile_to_rows(profile: dict, *, fetched_at: datetime) -> dict[str, list[dict]]:
    """A ``/horses/{id}/pro`` profile -> horse (stamped enriched), pedigree and sire/dam/damsire rows."""
    horse_id = _require(profile, "id", "horse profile")
    horse = {"id": horse_id, **_map(profile, HORSE_PROFILE), "enriched_at": fetched_at,
             "profile_status": "ok"}
    region = p.region_from_name(profile.get("name"))
    if region:
        horse["region"] = region
    unit: dict[str, list[dict]] = {"ra_mst_horses": [horse]}
    pedigree = {"horse_id": horse_id}
    for role, table in (("sire", "ra_mst_sires"), ("dam", "ra_mst_dams"), ("damsire", "ra_mst_damsires")):
        entity_id, name = p.text(profile.get(f"{role}_id")), p.text(profile.get(role))
        if entity_id:
            unit[table] = [{k: v for k, v in {"id": entity_id, "name": name,
                                              "region": p.region_from_name(name)}.items() if v}]
            pedigree[f"{role}_id"] = entity_id
        if name:
            pedigree[role] = name
    for column in ("breeder",):
        if horse.get(column):
            pedigree[column] = horse[column]
    if region:
        pedigree["region"] = region
    unit["ra_horse_pedigree"] = [pedigree]
    return unit
