"""Payloads -> rows (utils/ingest/rows.py): racecard_to_rows, result_to_rows, horse_profile_to_rows.

Why one suite: the row builders are the contract between the API and the stores (CLAUDE.md "Row
dicts"), so each payload shape is checked here end to end, while the value formats themselves are
pinned once in tests/test_parsers.py (and the entity rows in tests/test_entities.py). Two sets of
sample payloads, both written the way real responses write them (strings, "" and "-" for nothing,
12-hour ``off``): the spec samples carry every property of RacecardOddsPro/RunnerOddsPro,
ResultStandard/RunnerStandard and HorsePro (checked against openapi.yml), and the Kempton race
rac_11745210 as both racecard and result. Expected values follow the rules of NOTES.md / SCHEMA.md,
not the code's output: region lower case, off_time from off_dt, 1m3f = 1760 + 3 * 220 yards,
"8-10" = 122 lbs, "1:43.25" = 103.25 s, nk = 0.3 lengths, a non-finisher has no position but keeps
position_raw, currency from the symbol else from the region. A simulator day and fuzzed payloads
then check that any input gives rows that keep the row contract, or a BadResponseError.
"""
from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from spec_files import OPENAPI  # docs/api/openapi.yml
from test_parsers import WEIRD  # any value a parser may meet
from utils.errors import BadResponseError
from utils.ingest.entities import extract_entities
from utils.ingest.parsers import text
from utils.ingest.rows import horse_profile_to_rows, racecard_to_rows, result_to_rows
from utils.schema import TABLES

D = Decimal
FETCHED = datetime(2025, 10, 8, 6, 0, tzinfo=UTC)
BST = timezone(timedelta(hours=1))
RESULT_ONLY_RUNNER_COLUMNS = {"position", "position_raw", "btn", "ovr_btn", "sp", "sp_dec", "bsp",
                              "finishing_time", "finishing_time_s", "prize_won", "race_comment",
                              "result_updated_at", "weight_st_lbs", "jockey_claim_lbs"}


# --- spec samples: every property of openapi.yml's schemas ----------------------------------------
def card_runner(**over) -> dict:
    runner = {
        "horse_id": "hrs_30429137", "horse": "Create (IRE)", "dob": "2021-03-14", "age": "4",
        "sex": "gelding", "sex_code": "G", "colour": "b", "region": "IRE", "breeder": "Dáiríre Stud",
        "dam": "Zoë (FR)", "dam_id": "dam_5052413", "dam_region": "FR",
        "sire": "Sea The Stars (IRE)", "sire_id": "sir_3722383", "sire_region": "IRE",
        "damsire": "Galileo (IRE)", "damsire_id": "dsi_2289321", "damsire_region": "",
        "trainer": "Joseph Patrick O'Brien", "trainer_id": "trn_1234",
        "trainer_location": "Owning Hill, Co Kilkenny",
        "trainer_14_days": {"runs": "25", "wins": "5", "percent": "20"},
        "owner": "Robert'); DROP TABLE ra_runners;--", "owner_id": "own_998",
        "prev_trainers": [{"trainer": "A Trainer", "trainer_id": "trn_1", "change_date": "2024-01-01"}],
        "prev_owners": [], "comment": "Shaped well last time.", "spotlight": "Respected.",
        "quotes": [], "stable_tour": [], "medical": [{"date": "2024-05-01", "type": "Wind Surgery"}],
        "number": "3", "draw": "5", "headgear": "p", "headgear_run": "1", "wind_surgery": "1",
        "wind_surgery_run": "2", "past_results_flags": ["C", "D"], "lbs": "122", "ofr": "-",
        "rpr": "88", "ts": "71", "jockey": "Ó Dubhghaill", "jockey_id": "jky_77",
        "silk_url": "https://www.rp-assets.com/svg/9/9/8/998.svg", "last_run": "21", "form": "1234-5",
        "trainer_rtf": "45",
        "odds": [{"bookmaker": "Bet365", "fractional": "9/4", "decimal": "3.25", "ew_places": "3",
                  "ew_denom": "5", "updated": "2025-10-07 18:31:00", "history": []}],
    }
    runner.update(over)
    return runner


def racecard(**over) -> dict:
    race = {
        "race_id": "rac_11223344", "course": "Kempton (AW)", "course_id": "crs_2592", "date": "2025-10-07",
        "off_time": "8:30", "off_dt": "2025-10-07T20:30:00+01:00",
        "race_name": "Unibet Handicap (Class 4)", "distance_round": "1m3f", "distance": "1m3f",
        "distance_f": "11.0", "region": "GB", "pattern": "", "sex_restriction": "",
        "race_class": "Class 4", "type": "Flat", "age_band": "3yo+", "rating_band": "0-80",
        "prize": "£12,851", "field_size": "8", "going_detailed": "Standard To Slow",
        "rail_movements": "", "stalls": "Inside", "weather": "Dry", "going": "Standard",
        "surface": "AW", "jumps": "", "runners": [card_runner()], "big_race": False,
        "is_abandoned": False, "tip": "Create", "verdict": "Create (IRE) can land this.",
        "betting_forecast": "9/4 Create, 7/2 Zoë", "race_status": "",
    }
    race.update(over)
    return race


def result_runner(**over) -> dict:
    runner = {
        "horse_id": "hrs_30429137", "horse": "Create (IRE)", "sp": "13/8F", "sp_dec": "2.62",
        "bsp": "2.74", "number": "3", "position": "1", "draw": "5", "btn": "0", "ovr_btn": "0",
        "age": "4", "sex": "G", "weight": "8-10", "weight_lbs": "122", "headgear": "p",
        "time": "1:43.25", "or": "78", "rpr": "91", "tsr": "74", "prize": "€7,824.60",
        "jockey": "Ó Dubhghaill", "jockey_claim_lbs": "3", "jockey_id": "jky_77",
        "trainer": "Joseph Patrick O'Brien", "trainer_id": "trn_1234", "owner": "Robert'); DROP TABLE ra_runners;--",
        "owner_id": "own_998", "sire": "Sea The Stars (IRE)", "sire_id": "sir_3722383",
        "dam": "Zoë (FR)", "dam_id": "dam_5052413", "damsire": "Galileo (IRE)",
        "damsire_id": "dsi_2289321", "comment": "Led, ridden clear over 1f out, kept on well",
        "silk_url": "https://www.rp-assets.com/svg/9/9/8/998.svg",
    }
    runner.update(over)
    return runner


def result(**over) -> dict:
    race = {
        "race_id": "rac_55667788", "date": "2025-10-07", "region": "IRE", "course": "Dundalk (AW)",
        "course_id": "crs_1138", "off": "8:30", "off_dt": "2025-10-07T20:30:00+01:00",
        "race_name": "Irish Stallion Farms EBF Handicap", "type": "Flat", "class": "", "pattern": "",
        "rating_band": "0-80", "age_band": "3yo+", "sex_rest": "", "dist": "1m", "dist_y": "1774",
        "dist_m": "1622", "dist_f": "8f", "going": "Standard", "surface": "AW", "jumps": "",
        "runners": [
            result_runner(),
            result_runner(horse_id="hrs_2", horse="Dáiríre (GB)", position="2", btn="nk", ovr_btn="nk",
                          sp="Evs", sp_dec="2.00", weight="9-0", weight_lbs="", prize="€2,608.20",
                          time="1:43.31", **{"or": "-"}, sex="F"),
            result_runner(horse_id="hrs_3", horse="Zoë Star (FR)", position="PU", btn="", ovr_btn="",
                          sp="50/1", sp_dec="51.00", bsp="", time="-", prize="", rpr="-", tsr="",
                          jockey_claim_lbs="0", comment="Pulled up before 2 out"),
        ],
        "winning_time_detail": "1m 43.25s (slow by 5.55s)", "comments": "",
        "non_runners": "Caoimhe (FR) (vet's certificate)", "tote_win": "€3.25",
        "tote_pl": "€1.70 €1.20 €4.10", "tote_ex": "€12.40", "tote_csf": "€8.47", "tote_tricast": "",
        "tote_trifecta": "€1,578.42",
    }
    race.update(over)
    return race


def horse_pro(**over) -> dict:
    profile = {"id": "hrs_30429137", "name": "Create (IRE)", "sire": "Sea The Stars (IRE)",
               "sire_id": "sir_3722383", "dam": "Zoë (FR)", "dam_id": "dam_5052413",
               "damsire": "Galileo (IRE)", "damsire_id": "dsi_2289321", "sex": "gelding",
               "sex_code": "G", "colour": "bay", "colour_code": "B", "breeder": "Dáiríre Stud",
               "dob": "2021-03-14"}
    profile.update(over)
    return profile


# --- the Kempton race rac_11745210, as racecard and as result -------------------------------------
def kempton_card_runner(**over) -> dict:
    runner = {
        "horse_id": "hrs_30218531", "horse": "Dáiríre (IRE)", "dob": "2021-03-14", "age": "4",
        "sex": "gelding", "sex_code": "G", "colour": "b", "region": "IRE", "breeder": "Ballylinch Stud",
        "dam": "Lady Of The Lake (GB)", "dam_id": "dam_5321", "dam_region": "GB",
        "sire": "Sea The Stars (IRE)", "sire_id": "sir_3722", "sire_region": "IRE",
        "damsire": "Galileo (IRE)", "damsire_id": "dsi_1011", "damsire_region": "IRE",
        "trainer": "Joseph Patrick O'Brien", "trainer_id": "trn_1234", "trainer_location": "Owning Hill, Co Kilkenny",
        "trainer_14_days": {"runs": "20", "wins": "4", "percent": "20"},
        "owner": "Robert'); DROP TABLE ra_runners;--", "owner_id": "own_9",
        "prev_trainers": [{"trainer": "A N Other", "trainer_id": "trn_1", "change_date": "2024-01-01"}],
        "prev_owners": [], "comment": "Ran well last time", "spotlight": "Has claims.", "quotes": [],
        "stable_tour": [], "medical": [], "number": "3", "draw": "7", "headgear": "t",
        "headgear_run": "1", "wind_surgery": "", "wind_surgery_run": "", "past_results_flags": ["C", "D"],
        "lbs": "133", "ofr": "-", "rpr": "101", "ts": "88", "jockey": "Ó Dubhghaill", "jockey_id": "jky_77",
        "silk_url": "https://silks.example/own_9.svg", "last_run": "12", "form": "1-2P3", "trainer_rtf": "45%",
        "odds": [{"bookmaker": "Bet365", "fractional": "9/4", "decimal": "3.25", "ew_places": "3",
                  "ew_denom": "5", "updated": "2025-10-07 18:00:00", "history": []}],
    }
    runner.update(over)
    return runner


def kempton_racecard(**over) -> dict:
    card = {
        "race_id": "rac_11745210", "course": "Kempton (AW)", "course_id": "crs_28054", "date": "2025-10-07",
        "off_time": "8:30", "off_dt": "2025-10-07T20:30:00+01:00", "race_name": "Unibet Handicap",
        "distance_round": "1m3f", "distance": "1m3f", "distance_f": "11.0", "region": "GB", "pattern": "",
        "sex_restriction": "", "race_class": "Class 4", "type": "Flat", "age_band": "3yo+",
        "rating_band": "0-85", "prize": "£12,851", "field_size": "8", "going_detailed": "Standard",
        "rail_movements": "", "stalls": "Inside", "weather": "Dry", "going": "Standard", "surface": "AW",
        "jumps": "", "runners": [kempton_card_runner()], "big_race": False, "is_abandoned": "false",
        "tip": "Dáiríre",
        "verdict": "Dáiríre can win.", "betting_forecast": "9/4 Dáiríre", "race_status": "",
    }
    card.update(over)
    return card


def kempton_result_runner(**over) -> dict:
    runner = {
        "horse_id": "hrs_30218531", "horse": "Dáiríre (IRE)", "sp": "9/4F", "sp_dec": "3.25", "bsp": "3.61",
        "number": "3", "position": "1", "draw": "7", "btn": "0", "ovr_btn": "0", "age": "4", "sex": "G",
        "weight": "9-7", "weight_lbs": "133", "headgear": "t", "time": "2:21.45", "or": "85", "rpr": "104",
        "tsr": "90", "prize": "£7,426.50", "jockey": "Ó Dubhghaill", "jockey_claim_lbs": "0", "jockey_id": "jky_77",
        "trainer": "Joseph Patrick O'Brien", "trainer_id": "trn_1234", "owner": "Robert'); DROP TABLE ra_runners;--",
        "owner_id": "own_9", "sire": "Sea The Stars (IRE)", "sire_id": "sir_3722", "dam": "Lady Of The Lake (GB)",
        "dam_id": "dam_5321", "damsire": "Galileo (IRE)", "damsire_id": "dsi_1011",
        "comment": "Held up, led inside final furlong, ran on", "silk_url": "https://silks.example/own_9.svg",
    }
    runner.update(over)
    return runner


def kempton_result(**over) -> dict:
    race = {
        "race_id": "rac_11745210", "date": "2025-10-07", "region": "GB", "course": "Kempton (AW)",
        "course_id": "crs_28054", "off": "8:30", "off_dt": "2025-10-07T20:30:00+01:00",
        "race_name": "Unibet Handicap", "type": "Flat", "class": "Class 4", "pattern": "",
        "rating_band": "0-85", "age_band": "3yo+", "sex_rest": "", "dist": "1m3f", "dist_y": "2443",
        "dist_m": "2234", "dist_f": "11f", "going": "Standard", "surface": "AW", "jumps": "",
        "runners": [kempton_result_runner(),
                    kempton_result_runner(horse_id="hrs_2", horse="Second Best", position="2", btn="nk",
                                          ovr_btn="nk", prize="£2,228", sp="5/1", sp_dec="6.00", bsp="",
                                          time="2:21.50", sex="M", weight="9-0", weight_lbs="",
                                          jockey_claim_lbs="3"),
                    kempton_result_runner(horse_id="hrs_3", horse="Faller (FR)", position="PU", btn="",
                                          ovr_btn="", prize="", time="", sp="Evs", sp_dec="2.00", bsp="-",
                                          **{"or": "-"})],
        "winning_time_detail": "2m 21.45s (slow by 1.05s)", "comments": "", "non_runners": "Absent (vet's certificate)",
        "tote_win": "£3.25", "tote_pl": "£1.70 £1.20", "tote_ex": "£12.10", "tote_csf": "£9.87",
        "tote_tricast": "", "tote_trifecta": "£40.10",
    }
    race.update(over)
    return race


EXPECTED_CARD_RACE = {
    "id": "rac_11745210", "date": date(2025, 10, 7), "region": "gb", "course_id": "crs_28054",
    "course_name": "Kempton (AW)", "off_time": time(20, 30),
    "off_dt": datetime(2025, 10, 7, 20, 30, tzinfo=BST), "race_name": "Unibet Handicap", "type": "Flat",
    "race_class": "Class 4", "age_band": "3yo+", "rating_band": "0-85", "distance": "1m3f",
    "distance_round": "1m3f", "distance_f": D("11.0"), "distance_y": 2420, "distance_m": 2213,
    "going": "Standard", "going_detailed": "Standard", "surface": "AW", "prize": D(12851),
    "currency": "GBP", "field_size": 8, "stalls": "Inside", "weather": "Dry", "is_big_race": False,
    "is_abandoned": False, "tip": "Dáiríre", "verdict": "Dáiríre can win.", "betting_forecast": "9/4 Dáiríre",
    "has_racecard": True,
}
EXPECTED_CARD_RUNNER = {
    "race_id": "rac_11745210", "horse_id": "hrs_30218531", "horse_name": "Dáiríre (IRE)", "number": 3,
    "draw": 7, "age": 4, "sex": "gelding", "sex_code": "G", "colour": "b", "dob": date(2021, 3, 14),
    "jockey_id": "jky_77", "jockey_name": "Ó Dubhghaill", "trainer_id": "trn_1234",
    "trainer_name": "Joseph Patrick O'Brien", "trainer_location": "Owning Hill, Co Kilkenny",
    "trainer_14_days_runs": 20, "trainer_14_days_wins": 4, "trainer_14_days_percent": D(20),
    "owner_id": "own_9", "owner_name": "Robert'); DROP TABLE ra_runners;--", "sire_id": "sir_3722",
    "dam_id": "dam_5321", "damsire_id": "dsi_1011", "weight_lbs": 133, "headgear": "t", "headgear_run": "1",
    "rpr": 101, "topspeed": 88, "form": "1-2P3", "last_run": 12, "spotlight": "Has claims.",
    "trainer_rtf": D(45), "comment": "Ran well last time", "past_results_flags": "C,D",
    "silk_url": "https://silks.example/own_9.svg",
}
EXPECTED_RESULT_RACE = {
    "id": "rac_11745210", "date": date(2025, 10, 7), "region": "gb", "course_id": "crs_28054",
    "course_name": "Kempton (AW)", "off_time": time(20, 30), "off_dt": datetime(2025, 10, 7, 20, 30, tzinfo=BST),
    "race_name": "Unibet Handicap", "type": "Flat", "race_class": "Class 4", "age_band": "3yo+",
    "rating_band": "0-85", "distance": "1m3f", "distance_f": D(11), "distance_y": 2443, "distance_m": 2234,
    "going": "Standard", "surface": "AW", "currency": "GBP", "field_size": 3, "has_result": True,
    "winning_time_detail": "2m 21.45s (slow by 1.05s)", "non_runners": "Absent (vet's certificate)",
    "tote_win": "£3.25", "tote_pl": "£1.70 £1.20", "tote_ex": "£12.10", "tote_csf": "£9.87",
    "tote_trifecta": "£40.10",
}
EXPECTED_WINNER = {
    "race_id": "rac_11745210", "horse_id": "hrs_30218531", "horse_name": "Dáiríre (IRE)", "number": 3, "draw": 7,
    "age": 4, "sex_code": "G", "jockey_id": "jky_77", "jockey_name": "Ó Dubhghaill", "jockey_claim_lbs": 0,
    "trainer_id": "trn_1234", "trainer_name": "Joseph Patrick O'Brien", "owner_id": "own_9",
    "owner_name": "Robert'); DROP TABLE ra_runners;--", "sire_id": "sir_3722", "dam_id": "dam_5321",
    "damsire_id": "dsi_1011", "weight_lbs": 133, "weight_st_lbs": "9-7", "headgear": "t", "official_rating": 85,
    "rpr": 104, "topspeed": 90, "silk_url": "https://silks.example/own_9.svg", "position": 1, "position_raw": "1",
    "btn": D(0), "ovr_btn": D(0), "sp": "9/4F", "sp_dec": D("3.25"), "bsp": D("3.61"),
    "finishing_time": "2:21.45", "finishing_time_s": D("141.45"), "prize_won": D("7426.50"),
    "race_comment": "Held up, led inside final furlong, ran on", "result_updated_at": FETCHED,
}


# --- the row contract -----------------------------------------------------------------------------
def check_row(table: str, row: dict) -> None:
    """Keys are columns of the table (never audit columns); values are typed, never None or ""."""
    columns = TABLES[table].columns
    assert set(row) <= set(columns), f"{table}: unknown columns {set(row) - set(columns)}"
    for column, value in row.items():
        kind = columns[column]
        assert value is not None and value != "", f"{table}.{column} holds an empty value"
        if kind == "text":
            assert isinstance(value, str) and value == value.strip(), (column, value)
            assert "\x00" not in value
        elif kind == "int":
            assert type(value) is int and -(2**31) <= value < 2**31, (column, value)
        elif kind == "num":
            assert isinstance(value, Decimal) and value.is_finite(), (column, value)
        elif kind == "bool":
            assert type(value) is bool, (column, value)
        elif kind == "date":
            assert type(value) is date, (column, value)
        elif kind == "time":
            assert type(value) is time and value.tzinfo is None, (column, value)
        elif kind == "ts":
            assert isinstance(value, datetime) and value.tzinfo is not None, (column, value)


def check_unit(unit: dict) -> None:
    for table, rows in unit.items():
        for row in rows:
            check_row(table, row)
            assert all(row.get(k) for k in TABLES[table].key)


def schema_properties(name: str) -> set[str]:
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    return set(spec["components"]["schemas"][name]["properties"])


@pytest.mark.skipif(not OPENAPI.exists(), reason=f"{OPENAPI} is absent: cannot hold samples to the spec")
@pytest.mark.parametrize("schema, payload", [
    ("RacecardOddsPro", racecard()), ("RunnerOddsPro", card_runner()), ("ResultStandard", result()),
    ("RunnerStandard", result_runner()), ("HorsePro", horse_pro()),
])
def test_samples_carry_every_property_of_the_spec(schema, payload):
    assert set(payload) == schema_properties(schema)


# --- racecards ------------------------------------------------------------------------------------
def test_racecard_race_row():
    race, _ = racecard_to_rows(racecard())
    check_row("ra_races", race)
    off_dt = datetime(2025, 10, 7, 20, 30, tzinfo=BST)
    yards = 1760 + 3 * 220
    assert race == {
        "id": "rac_11223344", "date": date(2025, 10, 7), "region": "gb", "course_id": "crs_2592",
        "course_name": "Kempton (AW)", "off_time": time(20, 30), "off_dt": off_dt,
        "race_name": "Unibet Handicap (Class 4)", "type": "Flat", "race_class": "Class 4",
        "age_band": "3yo+", "rating_band": "0-80", "distance": "1m3f", "distance_round": "1m3f",
        "distance_f": D(11), "distance_y": yards, "distance_m": round(yards * 0.9144),
        "going": "Standard", "going_detailed": "Standard To Slow", "surface": "AW", "prize": D(12851),
        "currency": "GBP", "field_size": 8, "stalls": "Inside", "weather": "Dry",
        "is_big_race": False, "is_abandoned": False, "tip": "Create",
        "verdict": "Create (IRE) can land this.", "betting_forecast": "9/4 Create, 7/2 Zoë",
        "has_racecard": True,
    }
    assert race["off_dt"] == off_dt and race["off_dt"].utcoffset() == timedelta(hours=1)


def test_racecard_runner_row():
    _, runners = racecard_to_rows(racecard())
    assert len(runners) == 1
    row = runners[0]
    check_row("ra_runners", row)
    assert row == {
        "race_id": "rac_11223344", "horse_id": "hrs_30429137", "horse_name": "Create (IRE)",
        "number": 3, "draw": 5, "age": 4, "sex": "gelding", "sex_code": "G", "colour": "b",
        "dob": date(2021, 3, 14), "jockey_id": "jky_77", "jockey_name": "Ó Dubhghaill",
        "trainer_id": "trn_1234", "trainer_name": "Joseph Patrick O'Brien",
        "trainer_location": "Owning Hill, Co Kilkenny", "trainer_14_days_runs": 25,
        "trainer_14_days_wins": 5, "trainer_14_days_percent": D(20), "owner_id": "own_998",
        "owner_name": "Robert'); DROP TABLE ra_runners;--", "sire_id": "sir_3722383",
        "dam_id": "dam_5052413", "damsire_id": "dsi_2289321", "weight_lbs": 122, "headgear": "p",
        "headgear_run": "1", "wind_surgery": "1", "wind_surgery_run": "2", "rpr": 88, "topspeed": 71,
        "form": "1234-5", "last_run": 21, "spotlight": "Respected.", "trainer_rtf": D(45),
        "comment": "Shaped well last time.", "past_results_flags": "C,D",
        "silk_url": "https://www.rp-assets.com/svg/9/9/8/998.svg",
    }
    assert "official_rating" not in row  # ofr "-"


def test_racecard_never_carries_result_columns():
    race, runners = racecard_to_rows(racecard())
    assert "has_result" not in race
    for row in runners:
        assert not RESULT_ONLY_RUNNER_COLUMNS & set(row)


@pytest.mark.parametrize("off_dt, day, local", [
    ("2025-03-30T15:10:00+01:00", "2025-03-30", time(15, 10)),   # spring clock change
    ("2025-10-26T14:05:00+00:00", "2025-10-26", time(14, 5)),    # autumn clock change
    ("2025-06-01T00:15:00+01:00", "2025-06-01", time(0, 15)),    # 23:15 UTC the day before
    ("2025-12-26T23:40:00+00:00", "2025-12-26", time(23, 40)),
])
def test_off_time_from_off_dt_never_from_the_12_hour_clock(off_dt, day, local):
    race, _ = racecard_to_rows(racecard(off_dt=off_dt, date=day, off_time="3:10"))
    assert race["off_time"] == local and race["date"] == date.fromisoformat(day)
    res, _ = result_to_rows(result(off_dt=off_dt, date=day, off="3:10"), fetched_at=FETCHED)
    assert res["off_time"] == local and res["date"] == date.fromisoformat(day)


def test_off_time_absent_without_off_dt():
    race, _ = racecard_to_rows(racecard(off_dt=""))
    assert "off_time" not in race and "off_dt" not in race


def test_racecard_fallbacks():
    race, _ = racecard_to_rows(racecard(prize="44129", region="IRE", field_size="", distance="",
                                        distance_f="17.0",
                                        runners=[card_runner(), card_runner(horse_id="hrs_2")]))
    assert race["currency"] == "EUR" and race["prize"] == D(44129)
    assert race["field_size"] == 2
    assert race["distance_y"] == 17 * 220
    race, _ = racecard_to_rows(racecard(prize="€44,129", region="GB"))
    assert race["currency"] == "EUR"       # the symbol beats the region


def test_racecard_to_rows_full_sample():
    race, runners = racecard_to_rows(kempton_racecard())
    assert race == EXPECTED_CARD_RACE
    assert runners == [EXPECTED_CARD_RUNNER]


def test_result_to_rows_full_sample():
    race, runners = result_to_rows(kempton_result(), fetched_at=FETCHED)
    assert race == EXPECTED_RESULT_RACE
    assert runners[0] == EXPECTED_WINNER
    second, faller = runners[1], runners[2]
    assert (second["btn"], second["weight_lbs"], second["sex_code"], second["jockey_claim_lbs"]) == (
        D("0.3"), 126, "M", 3)
    assert "bsp" not in second and second["prize_won"] == D(2228)
    assert faller["position_raw"] == "PU" and "position" not in faller
    for column in ("btn", "ovr_btn", "finishing_time", "finishing_time_s", "prize_won", "official_rating", "bsp"):
        assert column not in faller


def test_rows_hold_only_schema_columns_and_no_audit_or_empty_values():
    card_race, card_runners = racecard_to_rows(kempton_racecard())
    res_race, res_runners = result_to_rows(kempton_result(), fetched_at=FETCHED)
    for table, rows in (("ra_races", [card_race, res_race]), ("ra_runners", card_runners + res_runners)):
        for row in rows:
            assert set(row) <= set(TABLES[table].columns), set(row) - set(TABLES[table].columns)
            assert all(v is not None and v != "" for v in row.values())


def test_racecard_never_sets_result_columns_and_result_never_racecard_columns():
    race, runners = racecard_to_rows(kempton_racecard())
    assert "has_result" not in race and not {"position", "position_raw", "result_updated_at"} & set(runners[0])
    race, runners = result_to_rows(kempton_result(), fetched_at=FETCHED)
    assert "has_racecard" not in race and "comment" not in runners[0] and "race_comment" in runners[0]


def test_empty_values_leave_keys_out():
    blank_runner = {field: "" for field in kempton_card_runner()} | {"horse_id": "hrs_1", "trainer_14_days": {}}
    race, runners = racecard_to_rows({field: "" for field in kempton_racecard()}
                                     | {"race_id": "rac_1", "runners": [blank_runner]})
    assert race == {"id": "rac_1", "has_racecard": True, "field_size": 1}
    assert runners == [{"race_id": "rac_1", "horse_id": "hrs_1"}]
    race, runners = result_to_rows({"race_id": "rac_2", "runners": []}, fetched_at=FETCHED)
    assert race == {"id": "rac_2", "has_result": True}


def test_racecard_derives_distances_from_the_distance_text_first():
    race, _ = racecard_to_rows(kempton_racecard(distance="1m3f211y", distance_f="12.0"))
    assert (race["distance_y"], race["distance_m"], race["distance_f"]) == (2631, 2406, D("12.0"))
    race, _ = racecard_to_rows(kempton_racecard(distance="", distance_f="8.0"))
    assert (race["distance_y"], race["distance_m"]) == (1760, 1609)


def test_racecard_field_size_falls_back_to_runner_count_and_currency_to_region():
    race, _ = racecard_to_rows(kempton_racecard(field_size="", prize="", region="IRE",
                                                runners=[kempton_card_runner(), kempton_card_runner(horse_id="hrs_2")]))
    assert race["field_size"] == 2 and race["currency"] == "EUR" and "prize" not in race


def test_irish_result_currency_from_runner_prize():
    race, runners = result_to_rows(kempton_result(region="IRE", runners=[kempton_result_runner(prize="€7,824.60")]),
                                   fetched_at=FETCHED)
    assert race["currency"] == "EUR" and runners[0]["prize_won"] == D("7824.60")


def test_big_race_strings():
    race, _ = racecard_to_rows(kempton_racecard(big_race="true", is_abandoned=True))
    assert race["is_big_race"] is True and race["is_abandoned"] is True


# --- results --------------------------------------------------------------------------------------
def test_result_race_row():
    race, _ = result_to_rows(result(), fetched_at=FETCHED)
    check_row("ra_races", race)
    assert race == {
        "id": "rac_55667788", "date": date(2025, 10, 7), "region": "ire", "course_id": "crs_1138",
        "course_name": "Dundalk (AW)", "off_time": time(20, 30),
        "off_dt": datetime(2025, 10, 7, 20, 30, tzinfo=BST),
        "race_name": "Irish Stallion Farms EBF Handicap", "type": "Flat", "rating_band": "0-80",
        "age_band": "3yo+", "distance": "1m", "distance_y": 1774, "distance_m": 1622,
        "distance_f": D(8), "going": "Standard", "surface": "AW", "currency": "EUR", "field_size": 3,
        "has_result": True, "winning_time_detail": "1m 43.25s (slow by 5.55s)",
        "non_runners": "Caoimhe (FR) (vet's certificate)", "tote_win": "€3.25",
        "tote_pl": "€1.70 €1.20 €4.10", "tote_ex": "€12.40", "tote_csf": "€8.47",
        "tote_trifecta": "€1,578.42",
    }


def test_result_runner_rows():
    _, runners = result_to_rows(result(), fetched_at=FETCHED)
    for row in runners:
        check_row("ra_runners", row)
        assert row["result_updated_at"] == FETCHED
        assert "sex" not in row and "comment" not in row  # results give the sex *code*
    winner, second, pulled_up = runners
    assert winner == {
        "race_id": "rac_55667788", "horse_id": "hrs_30429137", "horse_name": "Create (IRE)",
        "number": 3, "draw": 5, "age": 4, "sex_code": "G", "jockey_id": "jky_77",
        "jockey_name": "Ó Dubhghaill", "jockey_claim_lbs": 3, "trainer_id": "trn_1234",
        "trainer_name": "Joseph Patrick O'Brien", "owner_id": "own_998",
        "owner_name": "Robert'); DROP TABLE ra_runners;--", "sire_id": "sir_3722383",
        "dam_id": "dam_5052413", "damsire_id": "dsi_2289321", "weight_lbs": 122,
        "weight_st_lbs": "8-10", "headgear": "p", "official_rating": 78, "rpr": 91, "topspeed": 74,
        "silk_url": "https://www.rp-assets.com/svg/9/9/8/998.svg", "position": 1, "position_raw": "1",
        "btn": D(0), "ovr_btn": D(0), "sp": "13/8F", "sp_dec": D("2.62"), "bsp": D("2.74"),
        "finishing_time": "1:43.25", "finishing_time_s": D("103.25"), "prize_won": D("7824.60"),
        "race_comment": "Led, ridden clear over 1f out, kept on well", "result_updated_at": FETCHED,
    }
    assert second["btn"] == second["ovr_btn"] == D("0.3")
    assert second["sp"] == "Evs" and second["sp_dec"] == D(2)
    assert second["weight_lbs"] == 9 * 14 and second["weight_st_lbs"] == "9-0"
    assert "official_rating" not in second and second["sex_code"] == "F"
    assert pulled_up["position_raw"] == "PU" and "position" not in pulled_up
    for gone in ("btn", "ovr_btn", "bsp", "finishing_time", "finishing_time_s", "prize_won", "rpr",
                 "topspeed"):
        assert gone not in pulled_up, gone
    assert pulled_up["jockey_claim_lbs"] == 0


@pytest.mark.parametrize("code", ["PU", "F", "UR", "BD", "RO", "SU", "RR", "DSQ", "VOI", "REF", "LFT",
                                  "CO", "DNF", "PO", "0"])
def test_every_non_finish_code(code):
    _, (row,) = result_to_rows(result(runners=[result_runner(position=code)]), fetched_at=FETCHED)
    assert row["position_raw"] == code and "position" not in row


@pytest.mark.parametrize("raw, number", [("1=", 1), ("=2", 2), ("dh1", 1), ("12th", 12)])
def test_dead_heats_keep_their_number(raw, number):
    _, (row,) = result_to_rows(result(runners=[result_runner(position=raw, btn="dht")]), fetched_at=FETCHED)
    assert row["position"] == number and row["position_raw"] == raw and row["btn"] == 0


def test_given_weight_lbs_wins_over_the_stones_pounds():
    """weight_lbs is given by the API; "weight" only fills it when it is missing."""
    _, (row,) = result_to_rows(result(runners=[result_runner(weight="8-10", weight_lbs="125")]),
                               fetched_at=FETCHED)
    assert row["weight_lbs"] == 125 and row["weight_st_lbs"] == "8-10"


@pytest.mark.parametrize("prize, region, currency", [
    ("£3,245.08", "GB", "GBP"), ("3245.08", "GB", "GBP"), ("3245.08", "IRE", "EUR"), ("€100", "GB", "EUR"),
])
def test_result_currency_from_prize_symbol_else_region(prize, region, currency):
    race, (row,) = result_to_rows(result(region=region, runners=[result_runner(prize=prize)]),
                                  fetched_at=FETCHED)
    assert race["currency"] == currency
    assert row["prize_won"] == (D(100) if prize == "€100" else D("3245.08"))


# --- bad responses --------------------------------------------------------------------------------
@pytest.mark.parametrize("build, field", [
    (lambda: racecard(race_id=""), "race_id"), (lambda: racecard(race_id=None), "race_id"),
    (lambda: racecard(race_id="-"), "race_id"),
    (lambda: racecard(runners=[card_runner(horse_id="")]), "horse_id"),
    (lambda: racecard(runners=[card_runner(horse_id=None)]), "horse_id"),
])
def test_racecard_without_keys_is_a_bad_response(build, field):
    """Refused for the key that is missing, and the message names it."""
    with pytest.raises(BadResponseError, match=rf"without '{field}'"):
        racecard_to_rows(build())


@pytest.mark.parametrize("payload", [
    result(race_id=""), result(race_id=None), result(runners=[result_runner(horse_id="")]),
    result(runners=[result_runner(horse_id=None)]), {k: v for k, v in result().items() if k != "race_id"},
    result(runners=["not a runner"]), result(runners="garbage"), result(runners=5), [], "x", None,
])
def test_result_without_keys_or_shape_is_a_bad_response(payload):
    with pytest.raises(BadResponseError):
        result_to_rows(payload, fetched_at=FETCHED)


def test_profile_without_id_is_a_bad_response():
    with pytest.raises(BadResponseError):
        horse_profile_to_rows(horse_pro(id=""), fetched_at=FETCHED)


@pytest.mark.parametrize("payload, message", [
    ({"runners": []}, "race_id"), ({"race_id": "", "runners": []}, "race_id"),
    ({"race_id": "-"}, "race_id"), ("not a dict", "object"),
    ({"race_id": "rac_1", "runners": [{"horse": "No Id"}]}, "horse_id"),
    ({"race_id": "rac_1", "runners": ["x"]}, "runners"), ({"race_id": "rac_1", "runners": "x"}, "runners"),
])
def test_missing_keys_raise_bad_response(payload, message):
    with pytest.raises(BadResponseError, match=message):
        racecard_to_rows(payload)
    with pytest.raises(BadResponseError, match=message):
        result_to_rows(payload, fetched_at=FETCHED)


# --- a simulator day ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_day():
    from utils.simulator.server import RacingAPISimulator, SimulatorConfig

    dataset = RacingAPISimulator(SimulatorConfig(seed=42)).dataset
    day = date.today() - timedelta(days=3)
    return dataset, dataset.racecards_for(day), dataset.results_for(day)


def test_simulator_day_rows_follow_the_rules(sim_day):
    _, cards, results = sim_day
    assert cards and results
    for card in cards:
        race, runners = racecard_to_rows(card)
        check_row("ra_races", race)
        assert race["region"] == card["region"].lower() and "has_result" not in race
        if card.get("off_dt"):
            assert race["off_time"] == datetime.fromisoformat(card["off_dt"]).time()
        for row, raw in zip(runners, card["runners"]):
            check_row("ra_runners", row)
            assert not RESULT_ONLY_RUNNER_COLUMNS & set(row)
            assert row["horse_id"] == raw["horse_id"]
    for res in results:
        race, runners = result_to_rows(res, fetched_at=FETCHED)
        check_row("ra_races", race)
        assert race["has_result"] is True and race["field_size"] == len(res["runners"])
        assert race["currency"] == {"gb": "GBP", "ire": "EUR"}[race["region"]]
        for row, raw in zip(runners, res["runners"]):
            check_row("ra_runners", row)
            assert row["position_raw"] == raw["position"]
            assert ("position" in row) == raw["position"].isdigit()
            if raw["weight"]:
                stones, pounds = map(int, raw["weight"].split("-"))
                assert row["weight_lbs"] == stones * 14 + pounds
            if raw["time"] and ":" in raw["time"]:
                minutes, seconds = raw["time"].split(":")
                assert row["finishing_time_s"] == int(minutes) * 60 + D(seconds)
            if raw["btn"] in ("nk", "hd", "shd", "nse", "dht"):
                assert row["btn"] == {"nk": D("0.3"), "hd": D("0.2"), "shd": D("0.1"), "nse": D("0.05"),
                                      "dht": D(0)}[raw["btn"]]


def test_simulator_day_entities_and_profiles(sim_day):
    dataset, cards, results = sim_day
    unit = extract_entities(cards, results)
    check_unit(unit)
    for table in ("ra_mst_jockeys", "ra_mst_trainers", "ra_mst_owners", "ra_mst_horses", "ra_mst_sires",
                  "ra_mst_dams", "ra_mst_damsires", "ra_horse_pedigree"):
        keys = [row.get("id", row.get("horse_id")) for row in unit[table]]
        assert len(keys) == len(set(keys)), f"{table} holds a key twice"
    horse_id = cards[0]["runners"][0]["horse_id"]
    profile_unit = horse_profile_to_rows(dataset.horse_pro(horse_id), fetched_at=FETCHED)
    check_unit(profile_unit)


# --- horse profiles -------------------------------------------------------------------------------
def test_horse_profile_rows():
    unit = horse_profile_to_rows(horse_pro(), fetched_at=FETCHED)
    check_unit(unit)
    (horse,) = unit["ra_mst_horses"]
    assert horse == {"id": "hrs_30429137", "name": "Create (IRE)", "region": "ire", "sex": "gelding",
                     "sex_code": "G", "dob": date(2021, 3, 14), "colour": "bay", "colour_code": "B",
                     "breeder": "Dáiríre Stud", "sire_id": "sir_3722383", "dam_id": "dam_5052413",
                     "damsire_id": "dsi_2289321", "enriched_at": FETCHED, "profile_status": "ok"}
    assert unit["ra_horse_pedigree"] == [{
        "horse_id": "hrs_30429137", "sire_id": "sir_3722383", "sire": "Sea The Stars (IRE)",
        "dam_id": "dam_5052413", "dam": "Zoë (FR)", "damsire_id": "dsi_2289321",
        "damsire": "Galileo (IRE)", "breeder": "Dáiríre Stud", "region": "ire"}]
    assert unit["ra_mst_sires"] == [{"id": "sir_3722383", "name": "Sea The Stars (IRE)", "region": "ire"}]
    assert unit["ra_mst_dams"] == [{"id": "dam_5052413", "name": "Zoë (FR)", "region": "fr"}]


def test_sparse_horse_profile_still_stamps_enrichment():
    unit = horse_profile_to_rows({"id": "hrs_9", "name": "", "sire": None, "colour": "-"}, fetched_at=FETCHED)
    assert unit["ra_mst_horses"] == [{"id": "hrs_9", "enriched_at": FETCHED, "profile_status": "ok"}]
    check_unit(unit)


def test_horse_profile_to_rows():
    profile = {"id": "hrs_30218531", "name": "Dáiríre (IRE)", "dob": "2021-03-14", "sex": "gelding",
               "sex_code": "G", "colour": "bay", "colour_code": "b", "breeder": "Ballylinch Stud",
               "sire": "Sea The Stars (IRE)", "sire_id": "sir_3722", "dam": "Lady Of The Lake (GB)",
               "dam_id": "dam_5321", "damsire": "Galileo (IRE)", "damsire_id": "dsi_1011"}
    unit = horse_profile_to_rows(profile, fetched_at=FETCHED)
    assert unit["ra_mst_horses"] == [{
        "id": "hrs_30218531", "name": "Dáiríre (IRE)", "region": "ire", "dob": date(2021, 3, 14),
        "sex": "gelding", "sex_code": "G", "colour": "bay", "colour_code": "B", "breeder": "Ballylinch Stud",
        "sire_id": "sir_3722", "dam_id": "dam_5321", "damsire_id": "dsi_1011", "enriched_at": FETCHED,
        "profile_status": "ok"}]
    assert unit["ra_mst_sires"] == [{"id": "sir_3722", "name": "Sea The Stars (IRE)", "region": "ire"}]
    assert unit["ra_mst_dams"] == [{"id": "dam_5321", "name": "Lady Of The Lake (GB)", "region": "gb"}]
    assert unit["ra_mst_damsires"] == [{"id": "dsi_1011", "name": "Galileo (IRE)", "region": "ire"}]
    assert unit["ra_horse_pedigree"] == [{
        "horse_id": "hrs_30218531", "sire_id": "sir_3722", "sire": "Sea The Stars (IRE)", "dam_id": "dam_5321",
        "dam": "Lady Of The Lake (GB)", "damsire_id": "dsi_1011", "damsire": "Galileo (IRE)",
        "breeder": "Ballylinch Stud", "region": "ire"}]
    for table, rows in unit.items():
        assert set(rows[0]) <= set(TABLES[table].columns)


def test_sparse_horse_profile():
    unit = horse_profile_to_rows({"id": "hrs_1", "name": "", "sire": "", "sire_id": None}, fetched_at=FETCHED)
    assert unit == {"ra_mst_horses": [{"id": "hrs_1", "enriched_at": FETCHED, "profile_status": "ok"}]}
    with pytest.raises(BadResponseError, match="id"):
        horse_profile_to_rows({"name": "No Id"}, fetched_at=FETCHED)


# --- fuzz: any value in any field -> rows or BadResponseError, nothing else -----------------------
FIELD_VALUES = st.one_of(
    st.none(), st.booleans(), st.text(max_size=40), st.integers(), st.integers(min_value=10**12, max_value=10**40),
    st.floats(), st.sampled_from(["", "-", "null", "9" * 300, "'; DROP TABLE ra_races; --", "Ó Dubhghaill",
                                  "£1.70 £1.20", "1=", "PU", "8-14", "1:75.00", "nk", "\x00", "\ud800",
                                  "2025-10-26T01:30:00+01:00", "13/8F", "Evs", "1.234,56 €"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
)


def _fuzzed(draw, payload: dict) -> dict:
    """The payload with a random subset of its fields (not "runners") set to random values."""
    out = copy.deepcopy(payload)
    for key in draw(st.lists(st.sampled_from(sorted(payload)), max_size=len(payload), unique=True)):
        if key != "runners":
            out[key] = draw(FIELD_VALUES)
    return out


@st.composite
def fuzzed_racecard(draw):
    race = _fuzzed(draw, racecard())
    race["runners"] = [_fuzzed(draw, card_runner()) for _ in range(draw(st.integers(0, 2)))]
    return race


@st.composite
def fuzzed_result(draw):
    race = _fuzzed(draw, result())
    race["runners"] = [_fuzzed(draw, result_runner()) for _ in range(draw(st.integers(0, 2)))]
    return race


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fuzzed_racecard(), fuzzed_result())
def test_random_payloads_give_rows_or_bad_response(card, res):
    for convert, payload in ((racecard_to_rows, card),
                             (lambda p: result_to_rows(p, fetched_at=FETCHED), res)):
        try:
            race, runners = convert(payload)
        except BadResponseError:
            continue
        check_row("ra_races", race)
        for row in runners:
            check_row("ra_runners", row)
    check_unit(extract_entities([card], [res]))


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({}, optional={k: FIELD_VALUES for k in horse_pro()}))
def test_random_profiles_give_rows_or_bad_response(profile):
    try:
        unit = horse_profile_to_rows(profile, fetched_at=FETCHED)
    except BadResponseError:
        return
    check_unit(unit)
    assert unit["ra_mst_horses"][0]["profile_status"] == "ok"


def _fuzzed_in_order(base: dict, values: list) -> dict:
    """The payload with every field but "runners" replaced, in sorted field order, by ``values``."""
    fuzzed = copy.deepcopy(base)
    for field, value in zip(sorted(k for k in base if k not in ("runners",)), values):
        fuzzed[field] = value
    return fuzzed


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(race_values=st.lists(WEIRD, min_size=40, max_size=40), runner_values=st.lists(WEIRD, min_size=60, max_size=60))
def test_transforms_never_raise_except_bad_response(race_values, runner_values):
    cases = [
        (racecard_to_rows, kempton_racecard, kempton_card_runner, {}),
        (result_to_rows, kempton_result, kempton_result_runner, {"fetched_at": FETCHED}),
    ]
    for transform, race_of, runner_of, kwargs in cases:
        payload = _fuzzed_in_order(race_of(runners=[]), race_values)
        payload["runners"] = [_fuzzed_in_order(runner_of(), runner_values)]
        try:
            race, runners = transform(payload, **kwargs)
        except BadResponseError:
            assert text(payload.get("race_id")) is None or text(payload["runners"][0].get("horse_id")) is None
            continue
        for table, rows in (("ra_races", [race]), ("ra_runners", runners)):
            for row in rows:
                assert set(row) <= set(TABLES[table].columns)
                assert all(v is not None and v != "" for v in row.values())
