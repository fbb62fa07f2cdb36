"""API payloads -> typed row dicts for ``ra_races`` and ``ra_runners`` (and horse profiles).

Why this shape: every API field is either mapped here to a typed column, consumed by the entity
extractor, or listed in ``DROPPED_FIELDS`` with the reason, and ``tests/test_field_coverage.py`` holds
those lists against ``openapi.yml``. A row holds a key only when the source gave a usable value, so a
source that lacks a field never overwrites what another source stored (CLAUDE.md, "Row dicts").

The value parsers come first. The API sends almost everything as strings, with ``""``, ``null`` or
``"-"`` for "nothing"; each parser returns ``None`` for anything it cannot read with confidence (the
column is then left out of the row) and never raises. Only a payload without its key (``race_id``,
``horse_id``, profile ``id``) is unusable and raises ``BadResponseError``.
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable

from utils.errors import BadResponseError

Parser = Callable[[Any], Any]

# --- limits of the storage types --------------------------------------------------------------------
INT_MIN, INT_MAX = -(2**31), 2**31 - 1          # PostgreSQL ``integer``
DECIMAL_LIMIT = Decimal("1e12")                  # no racing quantity comes near; bigger is garbage
MISSING = frozenset({"", "-", "--", "\u2013", "\u2014", "null", "n/a"})

# --- text ------------------------------------------------------------------------------------------


# PostgreSQL text rejects NUL, and UTF-8 cannot encode lone surrogates (JSON allows both).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_LONGEST_MISSING = max(len(m) for m in MISSING)


def text(value: Any) -> str | None:
    """A trimmed, storable string, or None for a missing value (``""``, ``null``, ``"-"`` …)."""
    if value.__class__ is str:          # the common case first: this runs ~80 times per runner
        if (len(value) > _LONGEST_MISSING and value.isascii() and "\x00" not in value
                and not value[0].isspace() and not value[-1].isspace()):
            return value                # already storable: ASCII, no NUL, trimmed, not a marker
        raw = value
    elif value is None or isinstance(value, (dict, list, tuple, set)):
        return None
    else:
        try:
            raw = str(value)
        except ValueError:  # an int beyond Python's str() digit limit
            return None
    if raw.isascii():                   # O(1) in CPython; ASCII text cannot hold a surrogate
        if "\x00" in raw:
            raw = raw.replace("\x00", "")
    elif _UNSTORABLE.search(raw):
        raw = _UNSTORABLE.sub("", raw)
    raw = raw.strip()
    if len(raw) > _LONGEST_MISSING:     # fast path: no missing-value marker is this long
        return raw
    return None if raw.lower() in MISSING else raw


def lower(value: Any) -> str | None:
    """Lower-cased text: region codes are stored lower case (``"GB"`` -> ``"gb"``)."""
    raw = text(value)
    return raw.lower() if raw else None


def upper(value: Any) -> str | None:
    """Upper-cased text: codes (``sex_code``, ``colour_code``) compare equal across sources."""
    raw = text(value)
    return raw.upper() if raw else None


def joined(value: Any) -> str | None:
    """A list of flags (``past_results_flags``) -> ``"C,CD"``; a plain string is kept as text."""
    if isinstance(value, (list, tuple)):
        items = [text(v) for v in value]
        return ",".join(i for i in items if i) or None
    return text(value)


# --- numbers ---------------------------------------------------------------------------------------
# Digits are ASCII only (re.A): "١٢" or full-width "１２" are not numbers the API writes.
_PLAIN = re.compile(r"\d+(\.\d*)?|\.\d+", re.A)
_SIGNED_PLAIN = re.compile(r"-?(\d+(\.\d*)?|\.\d+)", re.A)
_SPACE_GROUPS = re.compile(r"\d{1,3}( \d{3})+([.,]\d+)?", re.A)
_GROUP_SPACES = "\u00a0\u202f\u2009'"  # no-break/thin spaces and the Swiss apostrophe group like " "


def _grouped(number: str, thousands: str, decimal: str) -> str | None:
    """``"1,234.50"`` (thousands ",", decimal ".") -> ``"1234.50"``; None if the groups are wrong."""
    pattern = rf"\d{{1,3}}({re.escape(thousands)}\d{{3}})+({re.escape(decimal)}\d+)?"
    if not re.fullmatch(pattern, number, re.A):
        return None
    return number.replace(thousands, "").replace(decimal, ".")


def normalise_number(raw: str) -> str | None:
    """A number written the English or the continental way -> plain ``"1234.56"`` text, or None.

    Rules (documented in docs/database/SCHEMA.md): with both ``,`` and ``.`` the later one is the
    decimal point; a lone ``,`` before exactly three digits groups thousands (``"12,851"``), before
    one or two digits it is a decimal comma (``"7,5"``); a lone ``.`` is always a decimal point
    (``"1.234"`` is 1.234 — the API writes decimals with dots); several ``.`` group thousands
    (``"1.234.567"``); spaces group thousands only in groups of three (``"1 234"``), so
    ``"1.70 1.20"`` (two amounts) is not a number.
    """
    number = raw.strip()
    for space in _GROUP_SPACES:
        number = number.replace(space, " ")
    if " " in number:
        if not _SPACE_GROUPS.fullmatch(number):
            return None
        number = number.replace(" ", "")
    if "," in number and "." in number:
        comma_last = number.rfind(",") > number.rfind(".")
        return _grouped(number, ".", ",") if comma_last else _grouped(number, ",", ".")
    if "," in number:
        if re.fullmatch(r"\d*,\d{1,2}", number, re.A):
            return number.replace(",", ".")
        return _grouped(number, ",", ".")
    if number.count(".") > 1:
        return _grouped(number, ".", ",")
    return number if _PLAIN.fullmatch(number) else None


def parse_decimal(value: Any) -> Decimal | None:
    """``"3.25"``, ``".5"``, ``"1,234.50"``, ``"-2"`` -> Decimal; None when not a finite, sane number."""
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        return None
    raw = text(value)
    if raw is None:
        return None
    if _SIGNED_PLAIN.fullmatch(raw):    # the common case ("6.50", "-2"): nothing to normalise
        number = Decimal(raw)
        return number if abs(number) < DECIMAL_LIMIT else None
    raw = raw.replace("\u2212", "-")
    sign = "-" if raw[0] == "-" else ""
    digits = normalise_number(raw[1:] if raw[0] in "+-" else raw)
    if digits is None:
        return None
    try:
        number = Decimal(sign + digits)
    except InvalidOperation:
        return None
    return number if abs(number) < DECIMAL_LIMIT else None


def parse_int(value: Any) -> int | None:
    """``"122"``, ``" 7 "``, ``"12.0"`` -> int; ``"12.5"``, ``"-"``, out-of-int32 values -> None."""
    if value.__class__ is int:          # JSON integers, and below plain digit strings: no Decimal
        return value if INT_MIN <= value <= INT_MAX else None
    if value.__class__ is str and len(value) <= 10 and value.isascii() and value.isdigit():
        number = int(value)
        return number if number <= INT_MAX else None
    number = parse_decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number) if INT_MIN <= number <= INT_MAX else None


def parse_percent(value: Any) -> Decimal | None:
    """``"45"`` or ``"45%"`` -> 45 (trainer_rtf, trainer_14_days percent)."""
    raw = text(value)
    return parse_decimal(raw.removesuffix("%").strip()) if raw else None


def parse_bool(value: Any) -> bool | None:
    """JSON booleans, or the strings ``"true"``/``"false"`` (also yes/no, 1/0) the API sometimes sends."""
    if isinstance(value, bool):
        return value
    raw = (lower(value) or "")
    if raw in ("true", "t", "yes", "y", "1"):
        return True
    if raw in ("false", "f", "no", "n", "0"):
        return False
    return None


# --- money -----------------------------------------------------------------------------------------
# Symbols and prefixed symbols -> ISO code. A bare "$", "¥" or "kr" is shared by several currencies;
# the race currency then prefers the region's currency when it uses the same symbol.
CURRENCY_SYMBOLS = {
    "£": "GBP", "€": "EUR", "$": "USD", "US$": "USD", "A$": "AUD", "AU$": "AUD", "NZ$": "NZD",
    "C$": "CAD", "CA$": "CAD", "HK$": "HKD", "S$": "SGD", "R$": "BRL", "MOP$": "MOP", "¥": "JPY",
    "₹": "INR", "₩": "KRW", "₽": "RUB", "₺": "TRY", "₪": "ILS", "₱": "PHP", "฿": "THB", "₦": "NGN",
    "₴": "UAH", "₫": "VND", "﷼": "SAR", "zł": "PLN", "kr": "SEK", "kč": "CZK", "ft": "HUF",
    "fr": "CHF", "r": "ZAR", "rs": "INR", "dh": "AED",
}
ISO_CURRENCIES = frozenset({
    "GBP", "EUR", "USD", "AUD", "NZD", "HKD", "JPY", "CAD", "ZAR", "AED", "SAR", "QAR", "BHD", "OMR",
    "KWD", "CHF", "SEK", "NOK", "DKK", "SGD", "INR", "KRW", "CNY", "MOP", "BRL", "ARS", "CLP", "UYU",
    "PEN", "MXN", "TRY", "MUR", "MAD", "KES", "PLN", "CZK", "HUF", "RUB", "ILS", "PHP", "THB", "MYR",
    "NGN", "UAH", "VND", "IDR", "PKR", "RON", "BGN", "HRK", "ISK", "ZWL", "TTD", "JMD", "BBD",
})
AMBIGUOUS_SYMBOLS = {"$": {"USD", "AUD", "NZD", "CAD", "HKD", "SGD", "MOP", "MXN", "ARS", "CLP",
                           "UYU", "TTD", "JMD", "BBD"},
                     "¥": {"JPY", "CNY"}, "kr": {"SEK", "NOK", "DKK", "ISK"}}
# Racing region codes (as /v1/courses/regions gives them) -> the currency prizes are paid in.
REGION_CURRENCY = {
    "gb": "GBP", "ire": "EUR", "fr": "EUR", "ger": "EUR", "ity": "EUR", "spa": "EUR", "bel": "EUR",
    "ned": "EUR", "aut": "EUR", "gre": "EUR", "cyp": "EUR", "slo": "EUR", "svk": "EUR", "por": "EUR",
    "usa": "USD", "can": "CAD", "aus": "AUD", "nz": "NZD", "hk": "HKD", "jpn": "JPY", "saf": "ZAR",
    "uae": "AED", "ksa": "SAR", "qat": "QAR", "bah": "BHD", "omn": "OMR", "kuw": "KWD", "swi": "CHF",
    "swe": "SEK", "nor": "NOK", "den": "DKK", "sin": "SGD", "mal": "MYR", "mac": "MOP", "ind": "INR",
    "kor": "KRW", "chn": "CNY", "bra": "BRL", "arg": "ARS", "chi": "CLP", "uru": "UYU", "per": "PEN",
    "mex": "MXN", "tur": "TRY", "mor": "MAD", "mau": "MUR", "ken": "KES", "pol": "PLN", "cze": "CZK",
    "hun": "HUF", "rus": "RUB", "isr": "ILS", "phi": "PHP", "tha": "THB", "zim": "ZWL", "tri": "TTD",
    "jam": "JMD", "bar": "BBD",
}
_MONEY = re.compile(r"(?P<pre>[^\d.,]*?)\s*(?P<num>[\d.,][\d.,'\s\u00a0\u202f\u2009]*?)\s*(?P<post>[^\d.,]*)",
                    re.A)


def _currency_of(marker: str) -> tuple[str | None, bool]:
    """(ISO code, recognised) for the text around an amount: a code, a symbol, or nothing.

    An unknown single currency sign (Unicode category ``Sc``) is recognised with no code, so the
    amount is still read; any other unknown text makes the whole value unreadable.
    """
    marker = marker.strip()
    if not marker:
        return None, True
    if marker.upper() in ISO_CURRENCIES:
        return marker.upper(), True
    code = CURRENCY_SYMBOLS.get(marker) or CURRENCY_SYMBOLS.get(marker.lower())
    if code:
        return code, True
    return None, len(marker) == 1 and unicodedata.category(marker) == "Sc"


def _split_money(value: Any) -> tuple[str, str, str] | None:
    """(amount text, currency marker before, after) or None when the value is not one amount."""
    raw = text(value)
    if raw is None or isinstance(value, bool):
        return None
    match = _MONEY.fullmatch(raw)
    if not match or not any(c.isdigit() for c in match["num"]):
        return None
    return match["num"], match["pre"].strip(), match["post"].strip()


def parse_money(value: Any) -> tuple[Decimal | None, str | None]:
    """``"£12,851"`` -> (12851, "GBP"); ``"GBP 1,234"``; ``"€1.234,56"``; ``"1234.5 USD"``; ``"3245.08"``
    -> (3245.08, None). Several amounts (``tote_pl`` ``"£1.70 £1.20"``) or unknown words -> (None, None)."""
    parts = _split_money(value)
    if parts is None:
        return None, None
    number, pre, post = parts
    if pre and post:
        return None, None
    currency, recognised = _currency_of(pre or post)
    amount = parse_decimal(number) if recognised else None
    return (amount, currency) if amount is not None and amount >= 0 else (None, None)


def parse_amount(value: Any) -> Decimal | None:
    """The amount of ``parse_money`` alone (prize columns; the currency is a race attribute)."""
    return parse_money(value)[0]


def race_currency(prize: Any, region: str | None) -> str | None:
    """The race's currency: from the prize's symbol or code, else from the region (gb -> GBP …).

    A bare ``$``/``¥``/``kr`` is shared by several currencies, so a region whose currency writes the
    same symbol (``aus`` with ``$`` -> AUD) decides.
    """
    regional = REGION_CURRENCY.get(lower(region) or "")
    parts = _split_money(prize)
    marker = (parts[1] or parts[2]) if parts else ""
    if marker.lower() in AMBIGUOUS_SYMBOLS and regional in AMBIGUOUS_SYMBOLS[marker.lower()]:
        return regional
    return parse_money(prize)[1] or regional


# --- dates and times -------------------------------------------------------------------------------
def parse_date(value: Any) -> date | None:
    """``"2019-04-12"`` (or the date part of an ISO timestamp) -> date."""
    raw = text(value)
    if raw is None or (len(raw) > 10 and raw[10] not in "T "):
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        return None


def parse_off_dt(value: Any) -> datetime | None:
    """``"2025-10-07T20:30:00+01:00"`` -> tz-aware datetime; a value without offset is refused
    rather than guessed (it would be stored as the wrong instant)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    raw = text(value)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else None


def parse_off_time(off_dt: Any) -> time | None:
    """The local 24-hour time of the off, from ``off_dt`` (which carries the course's offset).

    Never from ``off``/``off_time``: those are a 12-hour clock without am/pm (``"8:30"`` = 20:30).
    """
    parsed = parse_off_dt(off_dt)
    return parsed.time().replace(tzinfo=None) if parsed else None


# --- race-specific values ------------------------------------------------------------------------
NON_FINISH_CODES = {
    "PU": "pulled up", "F": "fell", "UR": "unseated rider", "BD": "brought down", "RO": "ran out",
    "SU": "slipped up", "RR": "refused to race", "REF": "refused", "LFT": "left at the start",
    "CO": "carried out", "DSQ": "disqualified", "VOI": "void race", "DNF": "did not finish",
    "PPU": "pulled up (alt.)", "NR": "non-runner", "WD": "withdrawn",
}
_POSITION = re.compile(r"(?:dh\s*|=)?(\d{1,3})(?:st|nd|rd|th)?\s*(?:=|dh)?", re.I | re.A)


def parse_position(value: Any) -> tuple[int | None, str | None]:
    """(finishing position, position as given). Any non-numeric code (``NON_FINISH_CODES`` and any
    other) gives None with the raw code kept; dead heats (``"1="``, ``"=1"``, ``"dh1"``, ``"1dh"``)
    keep their number; ``"0"`` is not a position."""
    raw = text(value)
    if raw is None:
        return None, None
    match = _POSITION.fullmatch(raw)
    number = int(match.group(1)) if match else 0
    return (number or None), raw


# Margins in lengths (case-insensitive; the form book's abbreviations and the spelled-out words).
_MARGIN_LENGTHS = {
    "dht": "0", "dh": "0", "dead heat": "0", "nse": "0.05", "ns": "0.05", "nose": "0.05",
    "shd": "0.1", "sh": "0.1", "short head": "0.1", "hd": "0.2", "head": "0.2",
    "lhd": "0.25", "long head": "0.25", "snk": "0.25", "short neck": "0.25",
    "nk": "0.3", "neck": "0.3", "lnk": "0.4", "long neck": "0.4",
    "dist": "30", "dis": "30", "ds": "30", "distance": "30",
}
MARGIN_WORDS = {word: Decimal(lengths) for word, lengths in _MARGIN_LENGTHS.items()}
MARGIN_LIMIT = Decimal(999)
VULGAR_FRACTIONS = {"¼": "1/4", "½": "1/2", "¾": "3/4", "⅓": "1/3", "⅔": "2/3", "⅛": "1/8",
                    "⅜": "3/8", "⅝": "5/8", "⅞": "7/8", "⅕": "1/5", "⅖": "2/5", "⅗": "3/5", "⅘": "4/5",
                    "⅙": "1/6", "⅚": "5/6"}
_LENGTH_UNIT = re.compile(r"\s*(lengths?|lens?|len|l)\.?$")
_DECIMAL_LENGTHS = re.compile(r"\d+(?:\.\d+)?|\.\d+", re.A)   # "1.25", ".5", "0": most margins
_MIXED = re.compile(r"(\d+(?:\.\d+)?|\.\d+)?(?:(?:^|\s+|-)(\d{1,2})/(\d{1,2}))?", re.A)


def _lengths(number: str) -> Decimal | None:
    """``"1.25"``, ``"1 1/2"``, ``"1-1/2"``, ``"3/4"`` -> Decimal lengths (2 decimal places)."""
    match = _MIXED.fullmatch(number)
    if not match or not (match.group(1) or match.group(2)):
        return None
    whole = Decimal(match.group(1) or 0)
    if match.group(2):
        top, bottom = int(match.group(2)), int(match.group(3))
        if bottom == 0 or top >= bottom:
            return None
        whole += Decimal(top) / Decimal(bottom)
    return whole.quantize(Decimal("0.01")).normalize() if whole <= MARGIN_LIMIT else None


def parse_margin(value: Any) -> Decimal | None:
    """Lengths beaten (``btn``/``ovr_btn``): ``"0"``, ``".5"``, ``"1.25"``, ``"1 1/2"``, ``"1¾L"``,
    ``"3/4 len"``, or a word (``MARGIN_WORDS``: nk 0.3, hd 0.2, shd 0.1, nse 0.05, dht 0, snk 0.25,
    dist 30 …). Unknown words -> None."""
    raw = lower(value)
    if raw is None:
        return None
    raw = raw.rstrip(".").strip()
    if _DECIMAL_LENGTHS.fullmatch(raw):     # the common case: no word, unit or fraction to read
        return _lengths(raw)
    words = " ".join(raw.replace("-", " ").split())  # "short-head", "dead  heat" -> the word
    for candidate in (raw, _LENGTH_UNIT.sub("", raw), words):
        if candidate in MARGIN_WORDS:
            return MARGIN_WORDS[candidate]
    raw = _LENGTH_UNIT.sub("", raw)
    for symbol, fraction in VULGAR_FRACTIONS.items():
        raw = raw.replace(symbol, f" {fraction}")
    return _lengths(raw.strip())


_TIME = re.compile(r"(?:(\d{1,2})\s*(?::|m)\s*)?(\d{1,3}(?:\.\d+)?|\.\d+)\s*s?", re.A)


def parse_finishing_time(value: Any) -> Decimal | None:
    """``"1:43.25"`` -> 103.25 s; ``"58.10"`` -> 58.10; ``"2:01.2"``; ``"1m 43.25s"``. Seconds after
    minutes must be below 60; a time of zero is no time."""
    raw = lower(value)
    match = _TIME.fullmatch(raw) if raw else None
    if not match:
        return None
    minutes, seconds = match.group(1), Decimal(match.group(2))
    if minutes is not None and seconds >= 60:
        return None
    total = int(minutes or 0) * 60 + seconds
    return total if total > 0 else None


_STONES_POUNDS = re.compile(r"(\d{1,2})\s*-\s*(\d{1,2})", re.A)


def parse_weight_st_lbs(value: Any) -> tuple[str | None, int | None]:
    """``"8-10"`` (stones-pounds) -> ("8-10", 122); pounds must be below 14."""
    raw = text(value)
    match = _STONES_POUNDS.fullmatch(raw) if raw else None
    if not match or int(match.group(2)) >= 14:
        return None, None
    stones, pounds = int(match.group(1)), int(match.group(2))
    return f"{stones}-{pounds}", stones * 14 + pounds


_FURLONGS = re.compile(r"(\d+(?:\.\d+)?|\.\d+)?\s*([¼½¾])?\s*f?", re.A)
_DISTANCE_TEXT = re.compile(r"(?:(\d{1,3})\s*m)?\s*"                  # miles
                            r"(?:(\d{1,3})?\s*([¼½¾])?\s*f)?\s*"      # furlongs, maybe with a fraction
                            r"(?:(\d{1,4})\s*y(?:ds?)?)?", re.A)       # yards
YARDS_PER_FURLONG, METRES_PER_YARD = 220, Decimal("0.9144")


def parse_furlongs(value: Any) -> Decimal | None:
    """``"11f"``, ``"8.0"``, ``"11.5f"``, ``"5½f"`` -> furlongs."""
    raw = lower(value)
    match = _FURLONGS.fullmatch(raw) if raw else None
    if not match or not (match.group(1) or match.group(2)):
        return None
    furlongs = Decimal(match.group(1) or 0) + _fraction(match.group(2))
    return furlongs if 0 < furlongs < 1000 else None


def _fraction(symbol: str | None) -> Decimal:
    if not symbol:
        return Decimal(0)
    top, bottom = VULGAR_FRACTIONS[symbol].split("/")
    return Decimal(top) / Decimal(bottom)


def parse_distance_yards(value: Any) -> int | None:
    """The race distance text (``"1m3f211y"``, ``"2m½f"``, ``"5f"``, ``"1m"``) -> yards, exactly."""
    raw = lower(value)
    match = _DISTANCE_TEXT.fullmatch(raw) if raw else None
    if not match or not any(match.group(i) for i in (1, 2, 3, 4)):
        return None
    miles, furlongs, half, yards = match.groups()
    total = (int(miles or 0) * 8 + int(furlongs or 0) + _fraction(half)) * YARDS_PER_FURLONG
    total += int(yards or 0)
    return int(total) if 0 < total < 100_000 else None


def yards_from_furlongs(furlongs: Decimal) -> int:
    return int((furlongs * YARDS_PER_FURLONG).to_integral_value())


def metres_from_yards(yards: int) -> int:
    return int((yards * METRES_PER_YARD).to_integral_value())


_SUFFIX = re.compile(r"\(\s*([A-Za-z]{2,4})\s*\)$")


def region_from_name(name: Any) -> str | None:
    """The breeding-region suffix of a name: ``"Create (IRE)"`` -> ``"ire"``."""
    raw = text(name)
    match = _SUFFIX.search(raw) if raw else None
    return match.group(1).lower() if match else None


def sex_fields(value: Any) -> dict[str, str]:
    """A sex as given: a code (``"G"``, ``"F"``, ``"C"``, ``"M"``, ``"H"``, ``"R"``) goes to
    ``sex_code``, a word (``"gelding"``) to ``sex``. Results put the code in their ``sex`` field."""
    raw = text(value)
    if raw is None:
        return {}
    if len(raw) <= 2 and raw.isalpha():
        return {"sex_code": raw.upper()}
    return {"sex": raw}


_COLOUR_CODE = re.compile(r"[A-Za-z]{1,3}(/[A-Za-z]{1,3})?")


def colour_fields(value: Any) -> dict[str, str]:
    """A colour as given: an abbreviation (``"b"``, ``"ch"``, ``"b/br"``) is a ``colour_code``
    (upper case, as horse profiles write it), a word (``"bay"``) a ``colour``."""
    raw = text(value)
    if raw is None:
        return {}
    if _COLOUR_CODE.fullmatch(raw) and raw.lower() not in ("bay", "dun"):
        return {"colour_code": raw.upper()}
    return {"colour": raw}


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


# --- horses and pedigree (shared with utils/entity_extractor.py) -----------------------------------
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
