"""Value parsers and payload -> row transforms (utils/ingest/rows.py).

Tables of cases cover the formats in general (every currency, every non-finish code, every margin
word), full sample payloads shaped like openapi.yml check the rows end to end, and hypothesis feeds
random strings, unicode and huge numbers to every parser and both transforms.
"""
from __future__ import annotations

import copy
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utils.ingest import parsers as t, rows as r
from utils.errors import BadResponseError
from utils.schema import TABLES

D = Decimal
FETCHED = datetime(2025, 10, 8, 6, 0, tzinfo=timezone.utc)
BST = timezone(timedelta(hours=1))


# --- text ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("  Create (IRE) ", "Create (IRE)"), ("", None), (None, None), ("-", None), ("  ", None),
    ("null", None), ("N/A", None), ("Ó Dubhghaill", "Ó Dubhghaill"), ("Dáiríre", "Dáiríre"),
    ("Robert'); DROP TABLE ra_runners;--", "Robert'); DROP TABLE ra_runners;--"),
    ("a\x00b", "ab"), ("x\ud800y", "xy"), (7, "7"), ([1], None), ({"a": 1}, None),
])
def test_text(raw, expected):
    assert t.text(raw) == expected


def test_joined_flags():
    assert t.joined(["C", "D", "CD"]) == "C,D,CD"
    assert t.joined([]) is None and t.joined(["", None]) is None
    assert t.joined("BF") == "BF"


# --- numbers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("122", 122), (" 7 ", 7), ("0", 0), ("12.0", 12), ("+3", 3), ("-4", -4), (5, 5), (5.0, 5),
    ("-", None), ("", None), (None, None), ("12.5", None), ("abc", None), ("1e5", None),
    ("99999999999999999999", None), (str(2**31), None), (str(2**31 - 1), 2**31 - 1),
    (str(-(2**31)), -(2**31)), ("--5", None), (True, None), (float("nan"), None), ("7st", None),
])
def test_parse_int(raw, expected):
    assert t.parse_int(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (".5", D("0.5")), ("3.25", D("3.25")), ("0", D(0)), ("1,234.50", D("1234.50")),
    ("12,851", D(12851)), ("1.234,56", D("1234.56")), ("7,5", D("7.5")), ("1 234", D(1234)),
    ("1'234.5", D("1234.5")), ("1.234.567", D(1234567)), ("1.234", D("1.234")), ("−2", D(-2)),
    (3.25, D("3.25")), (D("2.5"), D("2.5")), ("1,23,4", None), ("1.70 1.20", None),
    ("1e3", None), ("Infinity", None), ("NaN", None), ("1" * 40, None), ("", None), ("-", None),
    ("١٢", None), ("１２", None), (float("inf"), None),
])
def test_parse_decimal(raw, expected):
    assert t.parse_decimal(raw) == expected


def test_integers_too_long_for_str_are_unreadable_not_errors():
    assert t.parse_decimal(10**5000) is None and t.parse_int(10**5000) is None and t.text(10**5000) is None


@pytest.mark.parametrize("raw, expected", [("45", D(45)), ("45%", D(45)), (" 12.5 % ", D("12.5")),
                                           ("%", None), ("", None), ("x%", None)])
def test_parse_percent(raw, expected):
    assert t.parse_percent(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (True, True), (False, False), ("true", True), ("False", False), ("TRUE", True), ("yes", True),
    ("0", False), ("1", True), ("", None), (None, None), ("maybe", None),
])
def test_parse_bool(raw, expected):
    assert t.parse_bool(raw) is expected


# --- money -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, amount, currency", [
    ("£12,851", "12851", "GBP"), ("€7824.60", "7824.60", "EUR"), ("$50,000", "50000", "USD"),
    ("¥1,000,000", "1000000", "JPY"), ("₹5000", "5000", "INR"), ("₩100", "100", "KRW"),
    ("₽10", "10", "RUB"), ("₺10", "10", "TRY"), ("₪10", "10", "ILS"), ("₱10", "10", "PHP"),
    ("฿10", "10", "THB"), ("₦10", "10", "NGN"), ("US$5", "5", "USD"), ("A$5,000", "5000", "AUD"),
    ("AU$5", "5", "AUD"), ("NZ$5", "5", "NZD"), ("C$5", "5", "CAD"), ("HK$1,000", "1000", "HKD"),
    ("S$5", "5", "SGD"), ("R$5", "5", "BRL"), ("R 5 000", "5000", "ZAR"), ("kr 1 000", "1000", "SEK"),
    ("1 000 zł", "1000", "PLN"), ("GBP 1,234", "1234", "GBP"), ("1234.5 USD", "1234.5", "USD"),
    ("eur 10", "10", "EUR"), ("AED 100,000", "100000", "AED"), ("CHF 5'000", "5000", "CHF"),
    ("€1.234,56", "1234.56", "EUR"), ("1.234,56 €", "1234.56", "EUR"), ("£3.25", "3.25", "GBP"),
    ("3245.08", "3245.08", None), ("12851", "12851", None), (12851, "12851", None),
    ("₿ 5", "5", None),          # an unknown currency sign: the amount still counts
    ("£1.70 £1.20", None, None), ("£1.70 1.20", None, None), ("about 5", None, None),
    ("£", None, None), ("", None, None), (None, None, None), ("-", None, None), ("£-5", None, None),
    ("£ 5 GBP", None, None), (True, None, None),
])
def test_parse_money(raw, amount, currency):
    assert t.parse_money(raw) == ((D(amount) if amount else None), currency)


@pytest.mark.parametrize("prize, region, expected", [
    ("£12,851", "gb", "GBP"), ("€20,000", "ire", "EUR"), ("", "gb", "GBP"), ("", "ire", "EUR"),
    (None, "fr", "EUR"), ("", "usa", "USD"), ("", "aus", "AUD"), ("", "hk", "HKD"),
    ("", "jpn", "JPY"), ("", "saf", "ZAR"), ("", "uae", "AED"), ("", "xyz", None), ("", None, None),
    ("$1,000", "aus", "AUD"), ("$1,000", "usa", "USD"), ("$1,000", "gb", "USD"),
    ("¥100", "chn", "CNY"), ("kr 100", "nor", "NOK"), ("€5", "gb", "EUR"), ("5000", "GB", "GBP"),
])
def test_race_currency(prize, region, expected):
    assert t.race_currency(prize, region) == expected


# --- dates and times -------------------------------------------------------------------------------
def test_parse_date():
    assert t.parse_date("2019-04-12") == date(2019, 4, 12)
    assert t.parse_date("2019-04-12T00:00:00") == date(2019, 4, 12)
    for bad in ("", None, "12/04/2019", "2019-13-01", "2019-04-12garbage", "x"):
        assert t.parse_date(bad) is None


@pytest.mark.parametrize("raw, expected", [
    ("2025-10-07T20:30:00+01:00", time(20, 30)), ("2025-12-26T13:05:00+00:00", time(13, 5)),
    ("2025-10-07T20:30:00Z", time(20, 30)), ("2025-10-07 08:30:00+01:00", time(8, 30)),
    ("2025-10-07T20:30:00", None), ("8:30", None), ("", None), (None, None), ("garbage", None),
    (datetime(2025, 10, 7, 20, 30, tzinfo=BST), time(20, 30)),
])
def test_parse_off_time_is_local_24_hour(raw, expected):
    assert t.parse_off_time(raw) == expected


def test_parse_off_dt_is_tz_aware():
    parsed = t.parse_off_dt("2025-10-07T20:30:00+01:00")
    assert parsed == datetime(2025, 10, 7, 19, 30, tzinfo=timezone.utc) and parsed.tzinfo is not None
    assert t.parse_off_dt("2025-10-07T20:30:00") is None


# --- positions and margins -------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("1", (1, "1")), (" 12 ", (12, "12")), ("1=", (1, "1=")), ("=3", (3, "=3")), ("dh1", (1, "dh1")),
    ("DH 2", (2, "DH 2")), ("2dh", (2, "2dh")), ("1st", (1, "1st")), ("3rd=", (3, "3rd=")),
    ("0", (None, "0")), ("", (None, None)), (None, (None, None)), ("1234", (None, "1234")),
    *[(code, (None, code)) for code in t.NON_FINISH_CODES],
    *[(code.lower(), (None, code.lower())) for code in ("pu", "f", "ur")],
    ("9/2", (None, "9/2")),
])
def test_parse_position(raw, expected):
    assert t.parse_position(raw) == expected


@pytest.mark.parametrize("word", sorted(t.MARGIN_WORDS))
def test_every_margin_word_in_any_case(word):
    assert t.parse_margin(word) == t.MARGIN_WORDS[word]
    assert t.parse_margin(word.upper()) == t.MARGIN_WORDS[word]
    assert t.parse_margin(f" {word.title()}. ") == t.MARGIN_WORDS[word]


@pytest.mark.parametrize("raw, expected", [
    ("0", "0"), (".5", "0.5"), ("1.25", "1.25"), ("12", "12"), ("1 1/2", "1.5"), ("1-1/2", "1.5"),
    ("3/4", "0.75"), ("1¾", "1.75"), ("¾", "0.75"), ("2½L", "2.5"), ("1¼l", "1.25"), ("5L", "5"),
    ("3/4 lengths", "0.75"), ("1 length", "1"), ("6 lens", "6"), ("1/3", "0.33"), ("nk", "0.3"),
    ("hd", "0.2"), ("shd", "0.1"), ("nse", "0.05"), ("dht", "0"), ("snk", "0.25"), ("dist", "30"),
    ("DIST", "30"), ("Nk", "0.3"), ("HD", "0.2"),
])
def test_parse_margin(raw, expected):
    assert t.parse_margin(raw) == D(expected)


@pytest.mark.parametrize("raw", ["", None, "-", "xyz", "neckish", "1/0", "4/3", "-1", "1 2", "l",
                                 "1e5", "9" * 30, "1/2/3", "½½", "1..5"])
def test_parse_margin_unknown_is_none(raw):
    assert t.parse_margin(raw) is None


@pytest.mark.parametrize("raw, expected", [
    ("1:43.25", "103.25"), ("58.10", "58.10"), ("2:01.2", "121.2"), ("1m 43.25s", "103.25"),
    ("4:05", "245"), ("59.87s", "59.87"), ("10:02.5", "602.5"),
])
def test_parse_finishing_time(raw, expected):
    assert t.parse_finishing_time(raw) == D(expected)


@pytest.mark.parametrize("raw", ["", None, "-", "0", "0:00", "1:75.2", "abc", "1:2:3", "9" * 50])
def test_parse_finishing_time_rejects(raw):
    assert t.parse_finishing_time(raw) is None


@pytest.mark.parametrize("raw, expected", [
    ("8-10", ("8-10", 122)), ("10-0", ("10-0", 140)), (" 9 - 7 ", ("9-7", 133)), ("8-14", (None, None)),
    ("122", (None, None)), ("", (None, None)), (None, (None, None)),
])
def test_parse_weight_st_lbs(raw, expected):
    assert t.parse_weight_st_lbs(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("11f", "11"), ("8.0", "8.0"), ("11.5f", "11.5"), ("5½f", "5.5"), ("½f", "0.5"), ("16F", "16"),
    (" 7 f", "7"), ("f", None), ("", None), ("1m3f", None), ("0", None), ("abc", None),
])
def test_parse_furlongs(raw, expected):
    assert t.parse_furlongs(raw) == (D(expected) if expected else None)


@pytest.mark.parametrize("raw, expected", [
    ("1m3f211y", 2631), ("1m", 1760), ("5f", 1100), ("2m½f", 3630), ("1m7y", 1767), ("6f110y", 1430),
    ("1m 2f", 2200), ("3m2½f", 5830), ("", None), ("f", None), ("abc", None), ("1m3f211", None),
])
def test_parse_distance_yards(raw, expected):
    assert t.parse_distance_yards(raw) == expected


def test_distance_conversions():
    assert t.yards_from_furlongs(D("11")) == 2420 and t.metres_from_yards(2420) == 2213
    assert t.yards_from_furlongs(D("8.0")) == 1760 and t.metres_from_yards(1760) == 1609


@pytest.mark.parametrize("raw, expected", [("Create (IRE)", "ire"), ("Frankel (GB)", "gb"),
                                           ("Dáiríre (FR)", "fr"), ("Enable", None), ("", None),
                                           ("Seattle Slew ( USA )", "usa"), ("(IRE) Lady", None)])
def test_region_from_name(raw, expected):
    assert t.region_from_name(raw) == expected


def test_sex_and_colour_fields():
    assert t.sex_fields("G") == {"sex_code": "G"} and t.sex_fields("gelding") == {"sex": "gelding"}
    assert t.sex_fields("f") == {"sex_code": "F"} and t.sex_fields("") == {}
    assert t.colour_fields("b") == {"colour_code": "B"} and t.colour_fields("b/br") == {"colour_code": "B/BR"}
    assert t.colour_fields("bay") == {"colour": "bay"} and t.colour_fields("chestnut") == {"colour": "chestnut"}


# --- sample payloads (shaped exactly like openapi.yml) ------------------------------------------
def card_runner(**over) -> dict:
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


def racecard(**over) -> dict:
    card = {
        "race_id": "rac_11745210", "course": "Kempton (AW)", "course_id": "crs_28054", "date": "2025-10-07",
        "off_time": "8:30", "off_dt": "2025-10-07T20:30:00+01:00", "race_name": "Unibet Handicap",
        "distance_round": "1m3f", "distance": "1m3f", "distance_f": "11.0", "region": "GB", "pattern": "",
        "sex_restriction": "", "race_class": "Class 4", "type": "Flat", "age_band": "3yo+",
        "rating_band": "0-85", "prize": "£12,851", "field_size": "8", "going_detailed": "Standard",
        "rail_movements": "", "stalls": "Inside", "weather": "Dry", "going": "Standard", "surface": "AW",
        "jumps": "", "runners": [card_runner()], "big_race": False, "is_abandoned": "false", "tip": "Dáiríre",
        "verdict": "Dáiríre can win.", "betting_forecast": "9/4 Dáiríre", "race_status": "",
    }
    card.update(over)
    return card


def result_runner(**over) -> dict:
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


def result(**over) -> dict:
    race = {
        "race_id": "rac_11745210", "date": "2025-10-07", "region": "GB", "course": "Kempton (AW)",
        "course_id": "crs_28054", "off": "8:30", "off_dt": "2025-10-07T20:30:00+01:00",
        "race_name": "Unibet Handicap", "type": "Flat", "class": "Class 4", "pattern": "",
        "rating_band": "0-85", "age_band": "3yo+", "sex_rest": "", "dist": "1m3f", "dist_y": "2443",
        "dist_m": "2234", "dist_f": "11f", "going": "Standard", "surface": "AW", "jumps": "",
        "runners": [result_runner(),
                    result_runner(horse_id="hrs_2", horse="Second Best", position="2", btn="nk", ovr_btn="nk",
                                  prize="£2,228", sp="5/1", sp_dec="6.00", bsp="", time="2:21.50", sex="M",
                                  weight="9-0", weight_lbs="", jockey_claim_lbs="3"),
                    result_runner(horse_id="hrs_3", horse="Faller (FR)", position="PU", btn="", ovr_btn="",
                                  prize="", time="", sp="Evs", sp_dec="2.00", bsp="-", **{"or": "-"})],
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


def test_racecard_to_rows_full_sample():
    race, runners = r.racecard_to_rows(racecard())
    assert race == EXPECTED_CARD_RACE
    assert runners == [EXPECTED_CARD_RUNNER]


def test_result_to_rows_full_sample():
    race, runners = r.result_to_rows(result(), fetched_at=FETCHED)
    assert race == EXPECTED_RESULT_RACE
    assert runners[0] == EXPECTED_WINNER
    second, faller = runners[1], runners[2]
    assert (second["btn"], second["weight_lbs"], second["sex_code"], second["jockey_claim_lbs"]) == (D("0.3"), 126, "M", 3)
    assert "bsp" not in second and second["prize_won"] == D(2228)
    assert faller["position_raw"] == "PU" and "position" not in faller
    for column in ("btn", "ovr_btn", "finishing_time", "finishing_time_s", "prize_won", "official_rating", "bsp"):
        assert column not in faller


def test_rows_hold_only_schema_columns_and_no_audit_or_empty_values():
    card_race, card_runners = r.racecard_to_rows(racecard())
    res_race, res_runners = r.result_to_rows(result(), fetched_at=FETCHED)
    for table, rows in (("ra_races", [card_race, res_race]), ("ra_runners", card_runners + res_runners)):
        for row in rows:
            assert set(row) <= set(TABLES[table].columns), set(row) - set(TABLES[table].columns)
            assert all(v is not None and v != "" for v in row.values())


def test_racecard_never_sets_result_columns_and_result_never_racecard_columns():
    race, runners = r.racecard_to_rows(racecard())
    assert "has_result" not in race and not {"position", "position_raw", "result_updated_at"} & set(runners[0])
    race, runners = r.result_to_rows(result(), fetched_at=FETCHED)
    assert "has_racecard" not in race and "comment" not in runners[0] and "race_comment" in runners[0]


def test_empty_values_leave_keys_out():
    blank_runner = {field: "" for field in card_runner()} | {"horse_id": "hrs_1", "trainer_14_days": {}}
    race, runners = r.racecard_to_rows({field: "" for field in racecard()} | {"race_id": "rac_1", "runners": [blank_runner]})
    assert race == {"id": "rac_1", "has_racecard": True, "field_size": 1}
    assert runners == [{"race_id": "rac_1", "horse_id": "hrs_1"}]
    race, runners = r.result_to_rows({"race_id": "rac_2", "runners": []}, fetched_at=FETCHED)
    assert race == {"id": "rac_2", "has_result": True}


def test_racecard_derives_distances_from_the_distance_text_first():
    race, _ = r.racecard_to_rows(racecard(distance="1m3f211y", distance_f="12.0"))
    assert (race["distance_y"], race["distance_m"], race["distance_f"]) == (2631, 2406, D("12.0"))
    race, _ = r.racecard_to_rows(racecard(distance="", distance_f="8.0"))
    assert (race["distance_y"], race["distance_m"]) == (1760, 1609)


def test_racecard_field_size_falls_back_to_runner_count_and_currency_to_region():
    race, _ = r.racecard_to_rows(racecard(field_size="", prize="", region="IRE",
                                          runners=[card_runner(), card_runner(horse_id="hrs_2")]))
    assert race["field_size"] == 2 and race["currency"] == "EUR" and "prize" not in race


def test_irish_result_currency_from_runner_prize():
    race, runners = r.result_to_rows(result(region="IRE", runners=[result_runner(prize="€7,824.60")]),
                                     fetched_at=FETCHED)
    assert race["currency"] == "EUR" and runners[0]["prize_won"] == D("7824.60")


def test_big_race_strings():
    race, _ = r.racecard_to_rows(racecard(big_race="true", is_abandoned=True))
    assert race["is_big_race"] is True and race["is_abandoned"] is True


@pytest.mark.parametrize("payload, message", [
    ({"runners": []}, "race_id"), ({"race_id": "", "runners": []}, "race_id"),
    ({"race_id": "-"}, "race_id"), ("not a dict", "object"),
    ({"race_id": "rac_1", "runners": [{"horse": "No Id"}]}, "horse_id"),
    ({"race_id": "rac_1", "runners": ["x"]}, "runners"), ({"race_id": "rac_1", "runners": "x"}, "runners"),
])
def test_missing_keys_raise_bad_response(payload, message):
    with pytest.raises(BadResponseError, match=message):
        r.racecard_to_rows(payload)
    with pytest.raises(BadResponseError, match=message):
        r.result_to_rows(payload, fetched_at=FETCHED)


# --- horse profiles --------------------------------------------------------------------------------
def test_horse_profile_to_rows():
    profile = {"id": "hrs_30218531", "name": "Dáiríre (IRE)", "dob": "2021-03-14", "sex": "gelding",
               "sex_code": "G", "colour": "bay", "colour_code": "b", "breeder": "Ballylinch Stud",
               "sire": "Sea The Stars (IRE)", "sire_id": "sir_3722", "dam": "Lady Of The Lake (GB)",
               "dam_id": "dam_5321", "damsire": "Galileo (IRE)", "damsire_id": "dsi_1011"}
    unit = r.horse_profile_to_rows(profile, fetched_at=FETCHED)
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
    unit = r.horse_profile_to_rows({"id": "hrs_1", "name": "", "sire": "", "sire_id": None}, fetched_at=FETCHED)
    assert unit == {"ra_mst_horses": [{"id": "hrs_1", "enriched_at": FETCHED, "profile_status": "ok"}]}
    with pytest.raises(BadResponseError, match="id"):
        r.horse_profile_to_rows({"name": "No Id"}, fetched_at=FETCHED)


# --- never raise -----------------------------------------------------------------------------------
WEIRD = st.one_of(
    st.none(), st.booleans(), st.text(), st.text(alphabet="0123456789.,-+/:½¾£€$ lLfmysth=", max_size=25),
    st.integers(), st.integers(min_value=10**18, max_value=10**60).map(str),
    st.floats(allow_nan=True, allow_infinity=True), st.floats().map(str),
    st.sampled_from(["99999999999999999999", "Robert'); DROP TABLE ra_runners;--", "\x00", "\ud800",
                     "1e999", "-0", "Ó Dubhghaill", "٣", "１２", "²", "1" * 5000, "NaN", "inf"]),
    st.lists(st.text(max_size=3), max_size=3), st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
PARSERS = [t.text, t.lower, t.upper, t.joined, t.parse_decimal, t.parse_int, t.parse_percent, t.parse_bool,
           t.parse_money, t.parse_amount, t.parse_date, t.parse_off_dt, t.parse_off_time, t.parse_position,
           t.parse_margin, t.parse_finishing_time, t.parse_weight_st_lbs, t.parse_furlongs,
           t.parse_distance_yards, t.region_from_name, t.sex_fields, t.colour_fields,
           lambda v: t.race_currency(v, "gb"), lambda v: t.race_currency("$5", v)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=WEIRD)
def test_parsers_never_raise_and_stay_in_range(value):
    for parse in PARSERS:
        parse(value)
    number = t.parse_int(value)
    assert number is None or t.INT_MIN <= number <= t.INT_MAX
    for amount in (t.parse_decimal(value), t.parse_margin(value), t.parse_finishing_time(value)):
        assert amount is None or (amount.is_finite() and abs(amount) < t.DECIMAL_LIMIT)
    out = t.text(value)
    assert out is None or ("\x00" not in out and out.encode("utf-8"))


def _fuzzed(base: dict, values: list) -> dict:
    fuzzed = copy.deepcopy(base)
    for field, value in zip(sorted(k for k in base if k not in ("runners",)), values):
        fuzzed[field] = value
    return fuzzed


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(race_values=st.lists(WEIRD, min_size=40, max_size=40), runner_values=st.lists(WEIRD, min_size=60, max_size=60))
def test_transforms_never_raise_except_bad_response(race_values, runner_values):
    cases = [
        (r.racecard_to_rows, racecard, card_runner, {}),
        (r.result_to_rows, result, result_runner, {"fetched_at": FETCHED}),
    ]
    for transform, race_of, runner_of, kwargs in cases:
        payload = _fuzzed(race_of(runners=[]), race_values)
        payload["runners"] = [_fuzzed(runner_of(), runner_values)]
        try:
            race, runners = transform(payload, **kwargs)
        except BadResponseError:
            assert t.text(payload.get("race_id")) is None or t.text(payload["runners"][0].get("horse_id")) is None
            continue
        for table, rows in (("ra_races", [race]), ("ra_runners", runners)):
            for row in rows:
                assert set(row) <= set(TABLES[table].columns)
                assert all(v is not None and v != "" for v in row.values())
