"""Value parsers of utils/ingest/parsers.py: one API value -> one typed column value, or ``None``.

Why one suite: every row column passes through these parsers, so each format is pinned here once, in
one table per parser (every currency, every non-finish code, every margin word), not again in the
row tests. Expected values come from the rules of ../shared/racing-api/NOTES.md and
../shared/spec/SCHEMA.md, never from running the code: weights are stones * 14 + pounds, times
minutes * 60 + seconds, margins the SCHEMA's lengths (nk 0.3, hd 0.2, shd 0.1, nse 0.05, dht 0), a
non-finish code has no position but keeps its raw value, and "", null and "-" all mean "nothing"
(checked once, for every parser, in the first section). Property tests then push random text,
unicode and huge numbers through every parser: a parser never raises and returns None or a value its
column can hold.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from utils.ingest import parsers as t

D = Decimal
BST = timezone(timedelta(hours=1))
INT32 = (-(2**31), 2**31 - 1)
MISSING_VALUES = ("", None, "-", "  ", " - ")


# --- "nothing" is nothing, in every parser -----------------------------------------------------
# The per-parser tables below leave these values out: this matrix checks them for every parser.
ALL_SCALAR_PARSERS = {
    "text": t.text, "lower": t.lower, "parse_int": t.parse_int, "parse_decimal": t.parse_decimal,
    "parse_percent": t.parse_percent, "parse_bool": t.parse_bool, "parse_date": t.parse_date,
    "parse_off_dt": t.parse_off_dt, "parse_off_time": t.parse_off_time,
    "parse_margin": t.parse_margin, "parse_finishing_time": t.parse_finishing_time,
    "parse_furlongs": t.parse_furlongs, "parse_distance_yards": t.parse_distance_yards,
    "region_from_name": t.region_from_name, "parse_amount": t.parse_amount,
}


@pytest.mark.parametrize("name", sorted(ALL_SCALAR_PARSERS))
@pytest.mark.parametrize("missing", MISSING_VALUES)
def test_null_empty_and_dash_are_all_missing(name, missing):
    assert ALL_SCALAR_PARSERS[name](missing) is None


@pytest.mark.parametrize("missing", MISSING_VALUES)
def test_pair_parsers_treat_missing_alike(missing):
    assert t.parse_money(missing) == (None, None)
    assert t.parse_position(missing) == (None, None)
    assert t.parse_weight_st_lbs(missing) == (None, None)
    assert t.sex_fields(missing) == {} and t.colour_fields(missing) == {}


# --- text: kept verbatim apart from surrounding blanks -----------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("  Create (IRE) ", "Create (IRE)"), ("null", None), ("N/A", None),
    ("a\x00b", "ab"), ("x\ud800y", "xy"), (7, "7"), ([1], None), ({"a": 1}, None),
])
def test_text(raw, expected):
    assert t.text(raw) == expected


@pytest.mark.parametrize("raw", [
    "Ó Dubhghaill", "Dáiríre", "Zoë", "Create (IRE)", "Joseph Patrick O'Brien", "Müller-Wohlfahrt",
    "Robert'); DROP TABLE ra_runners;--", "1; DELETE FROM ra_races WHERE 1=1", "\"quoted\" & <tag>",
    "漢字の馬", "😀 Emoji Star",
])
def test_text_is_kept_verbatim(raw):
    assert t.text(raw) == raw
    assert t.text(f"  {raw}\t") == raw


def test_region_codes_are_lower_case():
    assert t.lower("GB") == "gb" and t.lower("IRE") == "ire" and t.lower(" Fr ") == "fr"


def test_joined_flags():
    assert t.joined(["C", "D", "CD"]) == "C,D,CD"
    assert t.joined(["BF", "D"]) == "BF,D"
    assert t.joined([]) is None and t.joined(["", None]) is None
    assert t.joined("BF") == "BF"


# --- integers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("122", 122), (" 7 ", 7), (" 8 ", 8), ("0", 0), ("12.0", 12), ("+3", 3), ("-4", -4), (5, 5),
    (5.0, 5), (7, 7), ("1 234", 1234), ("1,234", 1234), ("1\u00a0234", 1234),
    ("12.5", None), ("abc", None), ("9/4", None), ("1e5", None), ("--5", None), ("7st", None),
    ("Infinity", None), ("NaN", None), (True, None), (float("nan"), None),
    ("2147483647", 2**31 - 1), (str(-(2**31)), -(2**31)), ("2147483648", None), ("-2147483649", None),
    ("99999999999999999999", None),
])
def test_parse_int(raw, expected):
    assert t.parse_int(raw) == expected


@pytest.mark.parametrize("raw", ["\u2013", "\u2014"])
def test_ratings_dash_is_no_rating(raw):
    """En and em dashes are no rating either ("-" is in the missing matrix above)."""
    assert t.parse_int(raw) is None


# --- decimals ----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("3.25", D("3.25")), (".5", D("0.5")), ("0", D("0")), ("13.00", D("13")), ("1,234.50", D("1234.50")),
    ("12,851", D(12851)), ("1.234,56", D("1234.56")), ("7,5", D("7.5")), ("1 234", D(1234)),
    ("1'234.5", D("1234.5")), ("1.234.567", D(1234567)), ("1.234", D("1.234")), ("\u22122", D("-2")),
    (3.25, D("3.25")), (D("2.5"), D("2.5")), ("1,23,4", None), ("1.70 1.20", None), ("12/1", None),
    ("1e3", None), ("Infinity", None), ("inf", None), ("NaN", None), ("nan", None),
    ("1" * 40, None), ("9" * 40, None), ("١٢", None), ("１２", None), (float("inf"), None),
    (float("nan"), None),
])
def test_parse_decimal(raw, expected):
    assert t.parse_decimal(raw) == expected


def test_integers_too_long_for_str_are_unreadable_not_errors():
    assert t.parse_decimal(10**5000) is None and t.parse_int(10**5000) is None and t.text(10**5000) is None


@pytest.mark.parametrize("raw, expected", [
    ("45", D(45)), ("45%", D(45)), (" 12.5 % ", D("12.5")), ("24", D(24)), ("24%", D(24)),
    (" 7.5 % ", D("7.5")), ("%", None), ("x%", None),
])
def test_parse_percent(raw, expected):
    assert t.parse_percent(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (True, True), (False, False), ("true", True), ("False", False), ("TRUE", True), ("yes", True),
    ("no", False), ("1", True), ("0", False), ("maybe", None),
])
def test_parse_bool(raw, expected):
    assert t.parse_bool(raw) is expected


# --- money (NOTES: "prize may carry £/€ and commas"; SCHEMA: currency from the symbol) ----------
@pytest.mark.parametrize("raw, amount, currency", [
    ("£12,851", D("12851"), "GBP"), ("€7824.60", D("7824.60"), "EUR"), ("£3.25", D("3.25"), "GBP"),
    ("  £0  ", D("0"), "GBP"),
    ("3245.08", D("3245.08"), None), ("12851", D("12851"), None), (12851, D("12851"), None),
    ("₿ 5", D("5"), None),          # an unknown currency sign: the amount still counts
    # every currency symbol
    ("$25,000", D("25000"), "USD"), ("$50,000", D("50000"), "USD"), ("US$25,000", D("25000"), "USD"),
    ("US$5", D("5"), "USD"), ("¥1,000,000", D("1000000"), "JPY"), ("₹500000", D("500000"), "INR"),
    ("₹5000", D("5000"), "INR"), ("₩100", D("100"), "KRW"), ("₽10", D("10"), "RUB"),
    ("₺10", D("10"), "TRY"), ("₪10", D("10"), "ILS"), ("₱10", D("10"), "PHP"), ("฿10", D("10"), "THB"),
    ("₦10", D("10"), "NGN"), ("A$150,000", D("150000"), "AUD"), ("A$5,000", D("5000"), "AUD"),
    ("AU$5", D("5"), "AUD"), ("NZ$50,000", D("50000"), "NZD"), ("NZ$5", D("5"), "NZD"),
    ("C$5", D("5"), "CAD"), ("HK$2,500,000", D("2500000"), "HKD"), ("HK$1,000", D("1000"), "HKD"),
    ("S$5", D("5"), "SGD"), ("R$5", D("5"), "BRL"), ("R 5 000", D("5000"), "ZAR"),
    ("kr 1 000", D("1000"), "SEK"), ("1 000 zł", D("1000"), "PLN"),
    # ISO codes before or after, any case
    ("GBP 1,234", D("1234"), "GBP"), ("EUR 1,234.56", D("1234.56"), "EUR"),
    ("1,234.56 EUR", D("1234.56"), "EUR"), ("1234.5 USD", D("1234.5"), "USD"), ("eur 10", D("10"), "EUR"),
    ("usd 100", D("100"), "USD"), ("AED 100,000", D("100000"), "AED"), ("CHF 5'000", D("5000"), "CHF"),
    # continental grouping
    ("€1.234,56", D("1234.56"), "EUR"), ("1.234,56 €", D("1234.56"), "EUR"),
    ("€1.234.567,89", D("1234567.89"), "EUR"), ("1 234,50 €", D("1234.50"), "EUR"),
])
def test_parse_money(raw, amount, currency):
    assert t.parse_money(raw) == (amount, currency)


@pytest.mark.parametrize("raw", [
    "£1.70 £1.20",              # tote_pl: several amounts are not one prize
    "£1.70 £1.20 £3.10", "£1.70 1.20",
    "Free entry", "Reserve", "Fr", "kr", "R", "EUR", "£",          # letters alone are no money
    "1234 EUROS", "Rs and Rs", "Group 1 Race", "1st prize", "See conditions", "about 5",
    "GBP 1,234 EUR",            # two different currencies
    "£ 5 GBP",                  # a symbol and a code at once
    "12,34,5",                  # malformed grouping
    "£-5",
    True,
])
def test_parse_money_refuses_what_is_not_one_amount(raw):
    assert t.parse_money(raw) == (None, None)


@pytest.mark.parametrize("word", ["Free", "Fred", "Rank", "kraken", "GBPX", "EURO", "R2D2"])
def test_currency_is_never_found_inside_a_word(word):
    """A 3-letter code or a letter symbol ("R", "kr", "Fr") only counts next to an amount."""
    assert t.parse_money(word)[1] is None
    assert t.parse_money(f"{word} 100")[1] is None


@pytest.mark.parametrize("prize, region, expected", [
    ("£12,851", "gb", "GBP"), ("€44,129", "ire", "EUR"), ("€20,000", "ire", "EUR"),
    ("€5,000", "gb", "EUR"), ("€5", "gb", "EUR"),
    ("12851", "gb", "GBP"), ("12851", "ire", "EUR"), ("5000", "GB", "GBP"),
    ("", "gb", "GBP"), ("", "ire", "EUR"), (None, "GB", "GBP"), (None, "fr", "EUR"), ("", "usa", "USD"),
    ("", "aus", "AUD"), ("", "hk", "HKD"), ("", "jpn", "JPY"), ("", "saf", "ZAR"), ("", "uae", "AED"),
    ("", "xyz", None), ("", "xx", None), ("", None, None),
    # a shared symbol ("$", "¥", "kr"): the region decides when its currency writes that symbol
    ("$1,000", "aus", "AUD"), ("$1,000", "usa", "USD"), ("$1,000", "gb", "USD"),
    ("¥100", "chn", "CNY"), ("kr 100", "nor", "NOK"),
])
def test_race_currency_from_symbol_else_region(prize, region, expected):
    assert t.race_currency(prize, region) == expected


# --- dates and the off ---------------------------------------------------------------------------
def test_parse_date():
    assert t.parse_date("2019-04-12") == date(2019, 4, 12)
    assert t.parse_date("2019-04-12T00:00:00") == date(2019, 4, 12)
    assert t.parse_date("2019-04-12T00:00:00+00:00") == date(2019, 4, 12)
    assert t.parse_date("2019-02-30") is None
    for bad in ("", None, "12/04/2019", "2019-13-01", "2019-04-12garbage", "2019-04-12junk", "x"):
        assert t.parse_date(bad) is None


@pytest.mark.parametrize("raw, local", [
    # NOTES: off is a 12-hour clock; off_dt carries the local offset, so 20:30, not 8:30.
    ("2025-10-07T20:30:00+01:00", time(20, 30)),
    ("2025-10-07T13:05:00+01:00", time(13, 5)),
    ("2025-12-26T13:05:00+00:00", time(13, 5)),
    ("2025-10-07 08:30:00+01:00", time(8, 30)),    # a space instead of the "T"
    ("2025-10-07T20:30:00Z", time(20, 30)),
    (datetime(2025, 10, 7, 20, 30, tzinfo=BST), time(20, 30)),   # already a datetime
    # Clock change days: last Sunday of March (2025-03-30) and October (2025-10-26).
    ("2025-03-30T00:30:00+00:00", time(0, 30)),   # before 01:00 GMT -> still GMT
    ("2025-03-30T15:10:00+01:00", time(15, 10)),  # afternoon of the change day -> BST
    ("2025-10-26T01:30:00+01:00", time(1, 30)),   # the first 01:30 (BST)
    ("2025-10-26T01:30:00+00:00", time(1, 30)),   # the repeated 01:30 (GMT)
    ("2025-10-26T16:45:00+00:00", time(16, 45)),
    # After 23:00 UTC: the local time is past midnight and the local day is the next one.
    ("2025-06-01T00:15:00+01:00", time(0, 15)),
    ("2025-12-31T23:30:00+00:00", time(23, 30)),
])
def test_off_time_is_the_local_24_hour_time_of_off_dt(raw, local):
    assert t.parse_off_time(raw) == local
    parsed = t.parse_off_dt(raw)
    assert parsed.tzinfo is not None
    assert parsed.time().replace(tzinfo=None) == local


def test_parse_off_dt_is_tz_aware():
    parsed = t.parse_off_dt("2025-10-07T20:30:00+01:00")
    assert parsed == datetime(2025, 10, 7, 19, 30, tzinfo=UTC) and parsed.tzinfo is not None
    assert t.parse_off_dt("2025-10-07T20:30:00") is None


def test_off_dt_keeps_the_instant():
    late = t.parse_off_dt("2025-06-01T00:15:00+01:00")
    assert late.astimezone(UTC) == datetime(2025, 5, 31, 23, 15, tzinfo=UTC)
    assert late.date() == date(2025, 6, 1)       # the local date, not the UTC one
    twice = [t.parse_off_dt("2025-10-26T01:30:00+01:00"), t.parse_off_dt("2025-10-26T01:30:00+00:00")]
    assert twice[1] - twice[0] == timedelta(hours=1)


@pytest.mark.parametrize("raw", ["8:30", "20:30", "2025-10-07T20:30:00", "2025-10-07", "tomorrow",
                                 "garbage", "2025-13-07T20:30:00+01:00"])
def test_off_without_an_offset_is_refused(raw):
    """A 12-hour "8:30" or a naive timestamp cannot give the local time reliably."""
    assert t.parse_off_dt(raw) is None
    assert t.parse_off_time(raw) is None


# --- positions (SCHEMA: position NULL when the horse did not finish, position_raw as given) -------
NON_FINISH = ["PU", "F", "UR", "BD", "RO", "SU", "RR", "DSQ", "VOI", "REF", "LFT", "CO", "DNF", "PO",
              "NR", "WD", "pu", "f", "ur", "Ref", "DISQ", "U", "S", "R", "C", "P", "HR", "RTR", "0"]


# The codes above come from the form book; any further code of the module's table is checked too.
@pytest.mark.parametrize("code", NON_FINISH + [code for code in t.NON_FINISH_CODES if code not in NON_FINISH])
def test_non_finish_codes_have_no_position_but_keep_the_code(code):
    assert t.parse_position(code) == (None, code)


@pytest.mark.parametrize("raw, expected", [
    ("1", (1, "1")), ("2", (2, "2")), ("10", (10, "10")), ("12th", (12, "12th")), ("1st", (1, "1st")),
    ("2nd", (2, "2nd")), ("3rd", (3, "3rd")), ("01", (1, "01")),
    # dead heats keep their number
    ("1=", (1, "1=")), ("=1", (1, "=1")), ("=2", (2, "=2")), ("=3", (3, "=3")), ("dh1", (1, "dh1")),
    ("DH1", (1, "DH1")), ("1dh", (1, "1dh")), ("2dh", (2, "2dh")), ("dh 3", (3, "dh 3")),
    ("DH 2", (2, "DH 2")), ("3rd=", (3, "3rd=")),
    # trimmed; an unreadable position keeps its raw value
    (" 12 ", (12, "12")), ("1234", (None, "1234")), ("9/2", (None, "9/2")),
])
def test_parse_position(raw, expected):
    assert t.parse_position(raw) == expected


def test_position_raw_is_trimmed_only():
    assert t.parse_position(" PU ") == (None, "PU")
    assert t.parse_position(" 4 ") == (4, "4")


# --- margins (SCHEMA: nk 0.3, hd 0.2, shd 0.1, nse 0.05, dht 0; ".5" -> 0.5) ---------------------
SCHEMA_MARGINS = {"nk": D("0.3"), "hd": D("0.2"), "shd": D("0.1"), "nse": D("0.05"), "dht": D("0")}
LONG_FORMS = {"neck": "nk", "head": "hd", "short head": "shd", "short-head": "shd", "nose": "nse",
              "dead heat": "dht", "dead-heat": "dht"}


@pytest.mark.parametrize("word, lengths", sorted(SCHEMA_MARGINS.items()))
def test_schema_margin_words_in_any_case(word, lengths):
    for spelling in (word, word.upper(), word.capitalize(), f" {word} ", f"{word}."):
        assert t.parse_margin(spelling) == lengths, spelling


@pytest.mark.parametrize("word", sorted(t.MARGIN_WORDS))
def test_every_margin_word_in_any_case(word):
    """Every word of the module's table, whatever its case or a trailing full stop."""
    assert t.parse_margin(word) == t.MARGIN_WORDS[word]
    assert t.parse_margin(word.upper()) == t.MARGIN_WORDS[word]
    assert t.parse_margin(f" {word.title()}. ") == t.MARGIN_WORDS[word]


@pytest.mark.parametrize("long_form, short", sorted(LONG_FORMS.items()))
def test_long_forms_equal_the_abbreviations(long_form, short):
    assert t.parse_margin(long_form) == SCHEMA_MARGINS[short]
    assert t.parse_margin(long_form.title()) == SCHEMA_MARGINS[short]


def test_short_neck_and_distance_sit_where_the_form_book_puts_them():
    snk = t.parse_margin("snk")
    assert SCHEMA_MARGINS["hd"] < snk < SCHEMA_MARGINS["nk"]
    assert t.parse_margin("short neck") == snk
    # "dist" = beaten a distance, i.e. more than 30 lengths: at least 30, never a small number.
    assert t.parse_margin("dist") >= 30
    assert t.parse_margin("DIST") == t.parse_margin("dist") == t.parse_margin("distance")


@pytest.mark.parametrize("raw, lengths", [
    ("0", D(0)), (".5", D("0.5")), ("0.5", D("0.5")), ("1.25", D("1.25")), ("12", D(12)), ("30", D(30)),
    ("1 1/2", D("1.5")), ("1-1/2", D("1.5")), ("1/2", D("0.5")), ("3/4", D("0.75")), ("1/3", D("0.33")),
    ("1½", D("1.5")), ("½", D("0.5")), ("¾", D("0.75")), ("2¼", D("2.25")), ("1 ¾", D("1.75")),
    ("1¾", D("1.75")),
    ("3/4L", D("0.75")), ("2L", D(2)), ("2l", D(2)), ("5L", D(5)), ("1½L", D("1.5")), ("2½L", D("2.5")),
    ("1¼l", D("1.25")), ("5 lengths", D(5)), ("3/4 lengths", D("0.75")), ("1 length", D(1)),
    ("6 lens", D(6)),
    # the words the SCHEMA does not list, with the form book's value
    ("snk", D("0.25")), ("dist", D(30)), ("DIST", D(30)),
])
def test_parse_margin(raw, lengths):
    assert t.parse_margin(raw) == lengths


@pytest.mark.parametrize("raw", [
    "abc", "xyz", "neckish", "1 1", "1 2", "1/0", "4/3", "-1", "nk hd", "2 2/2/2", "1/2/3", "½½", "1..5",
    "1e3", "1e5", "a neck", "lengths", "L", "l", "?", "nkk", "9" * 30, "9" * 50, "1/", "/2",
])
def test_odd_margins_are_none(raw):
    assert t.parse_margin(raw) is None


# --- finishing times ("1:43.25" -> 103.25 s) ----------------------------------------------------
@pytest.mark.parametrize("raw, seconds", [
    ("1:43.25", D("103.25")), ("59.87", D("59.87")), ("59.87s", D("59.87")), ("58.10", D("58.10")),
    ("0:58.10", D("58.10")), ("2:01.2", D("121.2")), ("1m 43.25s", D("103.25")), ("4:05", D(245)),
    ("4:09.13", D("249.13")), ("10:02.00", D("602")), ("10:02.5", D("602.5")),
])
def test_parse_finishing_time(raw, seconds):
    assert t.parse_finishing_time(raw) == seconds


@pytest.mark.parametrize("raw", ["0", "0:00", "0:00.00", "1:75.2", "1:75.00", "abc", "1:2:3", "1:43.25.1",
                                 "4m 9.13s (slow by 5.73s)", "9" * 50, "9" * 60, "1:" + "9" * 60])
def test_parse_finishing_time_rejects(raw):
    assert t.parse_finishing_time(raw) is None


# --- weights ("8-10" -> 122 lbs) -----------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("8-10", ("8-10", 8 * 14 + 10)), ("9-0", ("9-0", 126)), ("10-0", ("10-0", 140)), ("11-11", ("11-11", 165)),
    ("10-13", ("10-13", 153)), (" 8 - 10 ", ("8-10", 122)), (" 9 - 7 ", ("9-7", 133)),
])
def test_parse_weight_st_lbs(raw, expected):
    assert t.parse_weight_st_lbs(raw) == expected


@pytest.mark.parametrize("raw", ["8-14", "8-99", "122", "8/10", "eight-ten", "999-1"])
def test_parse_weight_st_lbs_rejects(raw):
    assert t.parse_weight_st_lbs(raw) == (None, None)


# --- distances -----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, furlongs", [
    ("11f", D(11)), ("8.0", D(8)), ("11.5f", D("11.5")), ("5½f", D("5.5")), ("½f", D("0.5")), ("16F", D(16)),
    (" 7 f", D(7)), ("17f", D(17)), ("16.5", D("16.5")),
])
def test_parse_furlongs(raw, furlongs):
    assert t.parse_furlongs(raw) == furlongs


@pytest.mark.parametrize("raw", ["f", "0", "1m3f", "-5f", "abc", "9" * 30])
def test_parse_furlongs_rejects(raw):
    assert t.parse_furlongs(raw) is None


@pytest.mark.parametrize("raw, yards", [
    # 1 mile = 8 furlongs = 1760 yards; 1 furlong = 220 yards
    ("1m", 1760), ("5f", 1100), ("7f", 1540), ("1m3f", 1760 + 3 * 220), ("1m 2f", 2200), ("2m4f", 4400),
    ("1m2f110y", 1760 + 440 + 110), ("1m3f211y", 2631), ("1m7y", 1767), ("6f110y", 1430),
    ("6f212y", 1320 + 212), ("2m½f", 2 * 1760 + 110), ("3m2½f", 5830),
    ("f", None), ("abc", None), ("1m3f211", None),
])
def test_parse_distance_yards(raw, yards):
    assert t.parse_distance_yards(raw) == yards


def test_distance_conversions():
    assert t.yards_from_furlongs(D("11")) == 2420 and t.metres_from_yards(2420) == 2213
    assert t.yards_from_furlongs(D("8.0")) == 1760 and t.metres_from_yards(1760) == 1609


# --- breeding suffixes, sex and colour ------------------------------------------------------------
@pytest.mark.parametrize("name, region", [
    ("Create (IRE)", "ire"), ("Sea The Stars (IRE)", "ire"), ("Frankel (GB)", "gb"), ("Zoë (FR)", "fr"),
    ("Dáiríre (FR)", "fr"), ("Dáiríre (GB) ", "gb"), ("American Pharoah (USA)", "usa"),
    ("Seattle Slew ( USA )", "usa"), ("Frankel", None), ("Enable", None), ("(IRE) Create", None),
    ("(IRE) Lady", None),
])
def test_region_from_name(name, region):
    assert t.region_from_name(name) == region


@pytest.mark.parametrize("raw, expected", [
    # results and racecards give the code, racecards the word too, profiles both
    ("G", {"sex_code": "G"}), ("g", {"sex_code": "G"}), ("F", {"sex_code": "F"}), ("M", {"sex_code": "M"}),
    ("C", {"sex_code": "C"}), ("H", {"sex_code": "H"}), ("R", {"sex_code": "R"}),
    ("gelding", {"sex": "gelding"}), ("mare", {"sex": "mare"}), ("filly", {"sex": "filly"}),
    ("colt", {"sex": "colt"}),
])
def test_sex_fields(raw, expected):
    assert t.sex_fields(raw) == expected


@pytest.mark.parametrize("raw, column, value", [
    ("b", "colour_code", "B"), ("ch", "colour_code", "CH"), ("br", "colour_code", "BR"),
    ("gr", "colour_code", "GR"), ("bl", "colour_code", "BL"), ("b/br", "colour_code", "B/BR"),
    ("gr/ro", "colour_code", "GR/RO"), ("B", "colour_code", "B"),
    ("bay", "colour", "bay"), ("chestnut", "colour", "chestnut"), ("grey", "colour", "grey"),
    ("brown", "colour", "brown"), ("bay/brown", "colour", "bay/brown"), ("dun", "colour", "dun"),
])
def test_colour_fields_put_a_code_and_a_word_in_their_own_columns(raw, column, value):
    fields = t.colour_fields(raw)
    assert set(fields) == {column}
    assert fields[column].lower() == value.lower()
    if column == "colour_code":
        assert fields[column] == value


def test_sex_and_colour_fields():
    assert t.sex_fields("G") == {"sex_code": "G"} and t.sex_fields("gelding") == {"sex": "gelding"}
    assert t.sex_fields("f") == {"sex_code": "F"} and t.sex_fields("") == {}
    assert t.colour_fields("b") == {"colour_code": "B"} and t.colour_fields("b/br") == {"colour_code": "B/BR"}
    assert t.colour_fields("bay") == {"colour": "bay"} and t.colour_fields("chestnut") == {"colour": "chestnut"}


# --- properties: any input, no exception, a storable value or None -------------------------------
HUGE = st.one_of(st.integers(min_value=2**31, max_value=10**40), st.integers(max_value=-(2**31) - 1,
                                                                           min_value=-(10**40)))
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.text(), st.text(alphabet="0123456789.,-+/ :£€$¥½¾¼=fmyLsdh", max_size=30),
    st.integers(), HUGE, HUGE.map(str), st.floats(), st.floats().map(str),
    st.sampled_from(["", "-", "null", "N/A", "9" * 400, "1" + "0" * 5000, "£" + "9" * 500,
                     "'; DROP TABLE ra_races; --", "Ó Dubhghaill", "\x00", "1:" + "5" * 300,
                     "2025-10-26T01:30:00+01:00", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-14:00"]),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
# Also the value of any payload field in the row fuzz tests (tests/test_rows.py, tests/test_entities.py).
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


def _check_decimal(value):
    assert value is None or (isinstance(value, Decimal) and value.is_finite() and abs(value) < D("1e12"))


def _check_int(value):
    assert value is None or (type(value) is int and INT32[0] <= value <= INT32[1])


# One property test, both value pools (400 examples each before, one_of draws from either).
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(ANY_VALUE, WEIRD))
def test_every_parser_never_raises_and_returns_a_storable_type(value):
    for parse in PARSERS:
        parse(value)
    for parse in (t.text, t.lower, t.region_from_name, t.joined):
        out = parse(value)
        assert out is None or (isinstance(out, str) and out == out.strip() and out)
    out = t.text(value)
    assert out is None or ("\x00" not in out and out.encode("utf-8"))
    number = t.parse_int(value)
    assert number is None or t.INT_MIN <= number <= t.INT_MAX
    _check_int(number)
    _check_int(t.parse_distance_yards(value))
    for amount in (t.parse_decimal(value), t.parse_margin(value), t.parse_finishing_time(value)):
        assert amount is None or (amount.is_finite() and abs(amount) < t.DECIMAL_LIMIT)
    for parse in (t.parse_decimal, t.parse_percent, t.parse_margin, t.parse_finishing_time,
                  t.parse_furlongs, t.parse_amount):
        _check_decimal(parse(value))
    margin = t.parse_margin(value)
    assert margin is None or margin >= 0
    assert t.parse_bool(value) in (None, True, False)
    assert t.parse_date(value) is None or type(t.parse_date(value)) is date
    off_dt = t.parse_off_dt(value)
    assert off_dt is None or (isinstance(off_dt, datetime) and off_dt.tzinfo is not None)
    off = t.parse_off_time(value)
    assert off is None or (type(off) is time and off.tzinfo is None)
    amount, currency = t.parse_money(value)
    _check_decimal(amount)
    assert currency is None or (len(currency) == 3 and currency.isupper())
    assert amount is None or amount >= 0
    position, raw = t.parse_position(value)
    _check_int(position)
    assert position is None or position > 0
    assert raw is None or isinstance(raw, str)
    if position is not None:
        assert raw is not None
    st_lbs, lbs = t.parse_weight_st_lbs(value)
    _check_int(lbs)
    assert (st_lbs is None) == (lbs is None)
    for fields in (t.sex_fields(value), t.colour_fields(value)):
        assert all(isinstance(v, str) and v for v in fields.values())
    currency = t.race_currency(value, "gb")
    assert currency is None or (len(currency) == 3 and currency.isupper())


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=13))
def test_weight_rule_holds_for_every_stones_pounds(stones, pounds):
    if stones == 0:
        return
    assert t.parse_weight_st_lbs(f"{stones}-{pounds}") == (f"{stones}-{pounds}", stones * 14 + pounds)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=9), st.decimals(min_value=0, max_value=D("59.99"), places=2))
def test_time_rule_holds_for_every_minutes_seconds(minutes, seconds):
    total = minutes * 60 + seconds
    text = f"{minutes}:{seconds:05.2f}"
    assert t.parse_finishing_time(text) == (total if total > 0 else None)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["£", "€", "$", "¥", "HK$", "A$"]))
def test_money_rule_holds_for_every_grouped_amount(amount, symbol):
    grouped = f"{amount:,}"
    expected_currency = {"£": "GBP", "€": "EUR", "$": "USD", "¥": "JPY", "HK$": "HKD", "A$": "AUD"}[symbol]
    assert t.parse_money(f"{symbol}{grouped}") == (D(amount), expected_currency)
    continental = grouped.replace(",", ".")
    if "." in continental:  # "1.234.567 €" groups with dots when the symbol follows
        assert t.parse_money(f"{continental},00 {symbol}")[0] == D(amount)
