"""Value parsers: one API value (almost always a string) -> one typed column value, or ``None``.

Why they never raise: the API sends ``""``, ``null`` or ``"-"`` for "nothing", and real-shaped data
holds every currency symbol, non-finish code and margin word of NOTES.md, not only the simulator's.
Each parser returns ``None`` for anything it cannot read with confidence, so the column is left out of
the row and a stored value is never replaced by a gap (``utils/merge.py``). ``utils/ingest/rows.py``
maps payload fields onto columns with these parsers.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

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
