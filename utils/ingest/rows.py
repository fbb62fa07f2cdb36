"""API payloads -> typed row dicts for ``ra_races`` and ``ra_runners`` (and horse profiles).

Why this shape: every API field is either mapped here to a typed column, consumed by the entity
extractor (``utils/ingest/entities.py``), or listed in ``DROPPED_FIELDS`` with the reason, and
``tests/test_rows_field_coverage.py`` holds those lists against ``openapi.yml``. A row holds a key only
when the source gave a usable value (the parsers of ``utils/ingest/parsers.py`` return ``None``
otherwise), so a source that lacks a field never overwrites what another source stored (CLAUDE.md,
"Row dicts"). Only a payload without its key (``race_id``, ``horse_id``, profile ``id``) is unusable
and raises ``BadResponseError``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from utils.errors import BadResponseError
from utils.ingest.parsers import (
    Parser,
    joined,
    lower,
    metres_from_yards,
    parse_amount,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_distance_yards,
    parse_finishing_time,
    parse_furlongs,
    parse_int,
    parse_margin,
    parse_money,
    parse_off_dt,
    parse_off_time,
    parse_percent,
    parse_position,
    parse_weight_st_lbs,
    race_currency,
    region_from_name,
    sex_fields,
    text,
    upper,
    yards_from_furlongs,
)

# --- field maps: column -> (API field, parser) -------------------------------------------------------
RACE_COMMON: dict[str, tuple[str, Parser]] = {
    "date": ("date", parse_date), "region": ("region", lower), "course_id": ("course_id", text),
    "course_name": ("course", text), "off_dt": ("off_dt", parse_off_dt),
    "off_time": ("off_dt", parse_off_time), "race_name": ("race_name", text), "type": ("type", text),
    "pattern": ("pattern", text), "age_band": ("age_band", text),
    "rating_band": ("rating_band", text), "going": ("going", text), "surface": ("surface", text),
    "jumps": ("jumps", text),
}
RACECARD_RACE: dict[str, tuple[str, Parser]] = {
    **RACE_COMMON, "race_class": ("race_class", text), "sex_restriction": ("sex_restriction", text),
    "distance": ("distance", text), "distance_round": ("distance_round", text),
    "distance_f": ("distance_f", parse_furlongs), "distance_y": ("distance", parse_distance_yards),
    "field_size": ("field_size", parse_int), "prize": ("prize", parse_amount),
    "going_detailed": ("going_detailed", text), "rail_movements": ("rail_movements", text),
    "stalls": ("stalls", text), "weather": ("weather", text), "is_big_race": ("big_race", parse_bool),
    "is_abandoned": ("is_abandoned", parse_bool), "race_status": ("race_status", text),
    "tip": ("tip", text), "verdict": ("verdict", text), "betting_forecast": ("betting_forecast", text),
}
RESULT_RACE: dict[str, tuple[str, Parser]] = {
    **RACE_COMMON, "race_class": ("class", text), "sex_restriction": ("sex_rest", text),
    "distance": ("dist", text), "distance_f": ("dist_f", parse_furlongs),
    "distance_y": ("dist_y", parse_int), "distance_m": ("dist_m", parse_int),
    "winning_time_detail": ("winning_time_detail", text), "comments": ("comments", text),
    "non_runners": ("non_runners", text), "tote_win": ("tote_win", text),
    "tote_pl": ("tote_pl", text), "tote_ex": ("tote_ex", text), "tote_csf": ("tote_csf", text),
    "tote_tricast": ("tote_tricast", text), "tote_trifecta": ("tote_trifecta", text),
}
RUNNER_COMMON: dict[str, tuple[str, Parser]] = {
    "horse_name": ("horse", text), "number": ("number", parse_int), "draw": ("draw", parse_int),
    "age": ("age", parse_int), "jockey_id": ("jockey_id", text), "jockey_name": ("jockey", text),
    "trainer_id": ("trainer_id", text), "trainer_name": ("trainer", text),
    "owner_id": ("owner_id", text), "owner_name": ("owner", text), "sire_id": ("sire_id", text),
    "dam_id": ("dam_id", text), "damsire_id": ("damsire_id", text), "headgear": ("headgear", text),
    "rpr": ("rpr", parse_int), "silk_url": ("silk_url", text),
}
RACECARD_RUNNER: dict[str, tuple[str, Parser]] = {
    **RUNNER_COMMON, "dob": ("dob", parse_date), "colour": ("colour", text),
    "trainer_location": ("trainer_location", text), "weight_lbs": ("lbs", parse_int),
    "official_rating": ("ofr", parse_int), "topspeed": ("ts", parse_int),
    "headgear_run": ("headgear_run", text), "wind_surgery": ("wind_surgery", text),
    "wind_surgery_run": ("wind_surgery_run", text), "form": ("form", text),
    "last_run": ("last_run", parse_int), "spotlight": ("spotlight", text),
    "trainer_rtf": ("trainer_rtf", parse_percent), "comment": ("comment", text),
    "past_results_flags": ("past_results_flags", joined),
}
RESULT_RUNNER: dict[str, tuple[str, Parser]] = {
    **RUNNER_COMMON, "weight_lbs": ("weight_lbs", parse_int),
    "weight_st_lbs": ("weight", lambda v: parse_weight_st_lbs(v)[0]),
    "official_rating": ("or", parse_int), "topspeed": ("tsr", parse_int),
    "jockey_claim_lbs": ("jockey_claim_lbs", parse_int),
    "position": ("position", lambda v: parse_position(v)[0]),
    "position_raw": ("position", lambda v: parse_position(v)[1]),
    "btn": ("btn", parse_margin), "ovr_btn": ("ovr_btn", parse_margin), "sp": ("sp", text),
    "sp_dec": ("sp_dec", parse_decimal), "bsp": ("bsp", parse_decimal),
    "finishing_time": ("time", text), "finishing_time_s": ("time", parse_finishing_time),
    "prize_won": ("prize", parse_amount), "race_comment": ("comment", text),
}
TRAINER_14_DAYS: dict[str, tuple[str, Parser]] = {
    "trainer_14_days_runs": ("runs", parse_int), "trainer_14_days_wins": ("wins", parse_int),
    "trainer_14_days_percent": ("percent", parse_percent),
}
HORSE_PROFILE: dict[str, tuple[str, Parser]] = {
    "name": ("name", text), "dob": ("dob", parse_date), "sex": ("sex", text),
    "sex_code": ("sex_code", upper), "colour": ("colour", text), "colour_code": ("colour_code", upper),
    "breeder": ("breeder", text), "sire_id": ("sire_id", text), "dam_id": ("dam_id", text),
    "damsire_id": ("damsire_id", text),
}
BREEDING_ROLES = (("sire", "ra_mst_sires"), ("dam", "ra_mst_dams"), ("damsire", "ra_mst_damsires"))

# API fields read outside the maps above: keys, derived columns, nested objects, and the fields
# only the entity extractor reads (horse region, breeder, breeding names and regions).
_BREEDING_FIELDS = {"sire", "dam", "damsire", "sire_id", "dam_id", "damsire_id"}
_EXTRA_RACECARD_RACE = {"race_id", "runners"}
_EXTRA_RACECARD_RUNNER = {"horse_id", "sex", "sex_code", "region", "breeder", "trainer_14_days",
                          "sire_region", "dam_region", "damsire_region", *_BREEDING_FIELDS}
_EXTRA_RESULT_RACE = {"race_id", "runners"}
_EXTRA_RESULT_RUNNER = {"horse_id", "sex", *_BREEDING_FIELDS}
_EXTRA_HORSE = {"id", *_BREEDING_FIELDS}


def _consumed(mapping: dict[str, tuple[str, Parser]], extra: set[str]) -> frozenset[str]:
    return frozenset({field for field, _ in mapping.values()} | extra)


RACECARD_RACE_FIELDS = _consumed(RACECARD_RACE, _EXTRA_RACECARD_RACE)
RACECARD_RUNNER_FIELDS = _consumed(RACECARD_RUNNER, _EXTRA_RACECARD_RUNNER)
RESULT_RACE_FIELDS = _consumed(RESULT_RACE, _EXTRA_RESULT_RACE)
RESULT_RUNNER_FIELDS = _consumed(RESULT_RUNNER, _EXTRA_RESULT_RUNNER)
HORSE_PRO_FIELDS = _consumed(HORSE_PROFILE, _EXTRA_HORSE)

DROPPED_FIELDS: dict[str, str] = {
    "RacecardOddsPro.off_time": "12-hour clock without am/pm (ambiguous); off_time is derived from off_dt",
    "ResultStandard.off": "12-hour clock without am/pm (ambiguous); off_time is derived from off_dt",
    "RunnerOddsPro.odds": "per-bookmaker prices are a live market feed (changing by the minute), not "
                          "race data; the starting price (sp, sp_dec, bsp) comes with the result",
    "RunnerOddsPro.quotes": "nested list of press quotes (free text, often about other races)",
    "RunnerOddsPro.stable_tour": "nested list of stable-tour quotes (free text)",
    "RunnerOddsPro.medical": "nested list of veterinary events; not part of the race record",
    "RunnerOddsPro.prev_trainers": "nested trainer history of the horse; each runner row already "
                                   "records the trainer on the day",
    "RunnerOddsPro.prev_owners": "nested owner history of the horse; each runner row already records "
                                 "the owner on the day",
}


# --- rows ------------------------------------------------------------------------------------------
def map_fields(payload: dict, mapping: dict[str, tuple[str, Parser]]) -> dict[str, Any]:
    """Apply a field map; columns whose value is missing or unreadable are left out."""
    row = {}
    get = payload.get
    for column, (field, parse) in mapping.items():
        value = get(field)
        if value is None:
            continue
        value = parse(value)
        if value is not None:
            row[column] = value
    return row


def compact(row: dict[str, Any]) -> dict[str, Any]:
    """Drop the keys without a value (the row-dict rule)."""
    return {k: v for k, v in row.items() if v is not None and v != ""}


def require_id(payload: Any, field: str, what: str) -> str:
    """The key of a row; without it nothing can be stored, which is a bad response, not a gap."""
    value = text(payload.get(field)) if isinstance(payload, dict) else None
    if not value:
        raise BadResponseError(f"{what} without {field!r}: the response cannot be stored")
    return value


def runners_of(race: Any) -> list[dict]:
    """The runner objects of a racecard or result; a wrong shape is a bad response."""
    runners = race.get("runners") if isinstance(race, dict) else None
    if runners is None:
        return []
    if not isinstance(runners, list) or not all(isinstance(r, dict) for r in runners):
        raise BadResponseError(f"race {race.get('race_id')!r}: 'runners' is not a list of objects")
    return runners


def _runner_rows(race_id: str, race: dict, mapping: dict, extra: Callable[[dict], dict]) -> list[dict]:
    return [{"race_id": race_id, "horse_id": require_id(r, "horse_id", f"a runner of race {race_id}"),
             **map_fields(r, mapping), **extra(r)} for r in runners_of(race)]


def _fill_distances(race: dict) -> None:
    """Yards from furlongs, metres from yards, where the source did not give them."""
    if "distance_y" not in race and "distance_f" in race:
        race["distance_y"] = yards_from_furlongs(race["distance_f"])
    if "distance_m" not in race and "distance_y" in race:
        race["distance_m"] = metres_from_yards(race["distance_y"])


def _card_runner_extra(runner: dict) -> dict[str, Any]:
    days14 = runner.get("trainer_14_days")
    return {**sex_fields(runner.get("sex")), **sex_fields(runner.get("sex_code")),
            **(map_fields(days14, TRAINER_14_DAYS) if isinstance(days14, dict) else {})}


def _result_runner_extra(runner: dict) -> dict[str, Any]:
    """Results write the sex *code* in ``sex``; pounds come from ``"8-10"`` when ``weight_lbs`` lacks."""
    extra = sex_fields(runner.get("sex"))
    if parse_int(runner.get("weight_lbs")) is None:
        extra.update(compact({"weight_lbs": parse_weight_st_lbs(runner.get("weight"))[1]}))
    return extra


def _race_row(payload: Any, mapping: dict, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise BadResponseError(f"{what} is not a JSON object")
    return {"id": require_id(payload, "race_id", what), **map_fields(payload, mapping)}


def racecard_to_rows(racecard: dict) -> tuple[dict, list[dict]]:
    """One ``/racecards/pro`` race -> (race row, runner rows). Sets ``has_racecard``, never
    ``has_result`` (a racecard must not reset a stored result)."""
    race = _race_row(racecard, RACECARD_RACE, "racecard")
    _fill_distances(race)
    currency = race_currency(racecard.get("prize"), race.get("region"))
    runners = _runner_rows(race["id"], racecard, RACECARD_RUNNER, _card_runner_extra)
    race.update(compact({"currency": currency, "has_racecard": True}))
    if "field_size" not in race and runners:
        race["field_size"] = len(runners)
    return race, runners


def result_to_rows(result: dict, *, fetched_at: datetime) -> tuple[dict, list[dict]]:
    """One ``/results`` race -> (race row, runner rows). Sets ``has_result``, ``field_size`` (the
    starters) and every runner's ``result_updated_at`` = ``fetched_at``."""
    race = _race_row(result, RESULT_RACE, "result")
    _fill_distances(race)
    runners = _runner_rows(race["id"], result, RESULT_RUNNER, _result_runner_extra)
    # Results carry no race prize: the runners' prize money tells the currency, else the region.
    marked = next((r.get("prize") for r in runners_of(result) if parse_money(r.get("prize"))[1]), None)
    race.update(compact({"currency": race_currency(marked, race.get("region")), "has_result": True}))
    if runners:
        race["field_size"] = len(runners)
    for row in runners:
        row["result_updated_at"] = fetched_at
    return race, runners


# --- horses and pedigree (shared with utils/ingest/entities.py) -----------------------------------
def breeding_rows(payload: dict) -> dict[str, dict]:
    """Sire, dam and damsire rows named by a runner or profile: name as given (with its suffix),
    region from ``<role>_region`` when given, else from the name's suffix."""
    rows = {}
    for role, table in BREEDING_ROLES:
        entity_id, name = text(payload.get(f"{role}_id")), text(payload.get(role))
        if entity_id:
            region = lower(payload.get(f"{role}_region")) or region_from_name(name)
            rows[table] = compact({"id": entity_id, "name": name, "region": region})
    return rows


_PEDIGREE_FROM_HORSE = ("breeder", "region", "sire_id", "dam_id", "damsire_id")


def pedigree_row(payload: dict, horse: dict) -> dict[str, Any] | None:
    """The horse's pedigree row, or None when the payload names no parent and no breeder. The
    ids, breeder and region are the horse row's own (read from the same payload fields); only
    the parents' names are read here."""
    row = {"horse_id": horse["id"]}
    for column in _PEDIGREE_FROM_HORSE:
        value = horse.get(column)
        if value is not None:
            row[column] = value
    for role, _ in BREEDING_ROLES:
        name = text(payload.get(role))
        if name is not None:
            row[role] = name
    return row if len(row) > 1 else None


def horse_profile_to_rows(profile: dict, *, fetched_at: datetime) -> dict[str, list[dict]]:
    """A ``/horses/{id}/pro`` profile -> a write unit: the horse (stamped ``enriched_at``,
    ``profile_status`` "ok"), its pedigree row and its sire/dam/damsire rows."""
    horse_id = require_id(profile, "id", "horse profile")
    horse = {"id": horse_id, **map_fields(profile, HORSE_PROFILE),
             **compact({"region": region_from_name(profile.get("name"))}),
             "enriched_at": fetched_at, "profile_status": "ok"}
    unit = {table: [row] for table, row in breeding_rows(profile).items()}
    unit["ra_mst_horses"] = [horse]
    pedigree = pedigree_row(profile, horse)
    if pedigree:
        unit["ra_horse_pedigree"] = [pedigree]
    return unit


def consumed_fields() -> dict[str, Iterable[str]]:
    """Schema name in openapi.yml -> the fields this module and the entity extractor read."""
    return {"RacecardOddsPro": RACECARD_RACE_FIELDS, "RunnerOddsPro": RACECARD_RUNNER_FIELDS,
            "ResultStandard": RESULT_RACE_FIELDS, "RunnerStandard": RESULT_RUNNER_FIELDS,
            "HorsePro": HORSE_PRO_FIELDS}
