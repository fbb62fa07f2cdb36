"""Value parsers for The Racing API's string-typed fields.

Why general rather than example-driven: real responses carry every currency symbol, every
non-finish code and every margin word the form book knows, plus ``""``, ``null`` and ``"-"`` for
missing values. Each parser returns ``None`` for anything it cannot read with confidence (the
column is then simply not written) and never raises.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

MISSING = {"", "-", "--", "n/a", "na", "none", "null", "nan", "?"}
INT_LIMIT = 2**31 - 1
DECIMAL_LIMIT = Decimal("1e12")

# Currency symbols (longest first when matching) and the ISO codes the API may use instead.
CURRENCY_SYMBOLS = {
    "HK$": "HKD", "A$": "AUD", "AU$": "AUD", "NZ$": "NZD", "C$": "CAD", "CA$": "CAD", "US$": "USD",
    "S$": "SGD", "R$": "BRL", "£": "GBP", "€": "EUR", "$": "USD", "¥": "JPY", "₹": "INR",
    "₩": "KRW", "₽": "RUB", "₺": "TRY", "₪": "ILS", "₱": "PHP", "฿": "THB", "₦": "NGN",
    "﷼": "SAR", "د.إ": "AED", "zł": "PLN", "kr": "SEK", "Kč": "CZK", "Fr": "CHF", "R": "ZAR",
}
ISO_CURRENCIES = {"GBP", "EUR", "USD", "AUD", "NZD", "HKD", "JPY", "CAD", "ZAR", "AED", "SAR", "QAR",
                  "BHD", "CHF", "SEK", "NOK", "DKK", "SGD", "INR", "KRW", "CNY", "MOP", "BRL", "ARS",
                  "CLP", "UYU", "PEN", "MXN", "TRY", "MUR", "KES", "PLN", "CZK", "HUF", "RUB", "ILS",
                  "PHP", "THB", "MYR", "NGN"}
REGION_CURRENCY = {"gb": "GBP", "ire": "EUR", "fr": "EUR", "ger": "EUR", "ity": "EUR", "spa": "EUR",
                   "bel": "EUR", "ned": "EUR", "usa": "USD", "can": "CAD", "aus": "AUD", "nz": "NZD",
                   "hk": "HKD", "jpn": "JPY", "saf": "ZAR", "uae": "AED", "ksa": "SAR", "qat": "QAR",
                   "bah": "BHD", "swi": "CHF", "swe": "SEK", "nor": "NOK", "den": "DKK", "sin": "SGD",
                   "ind": "INR", "kor": "KRW", "mac": "MOP", "bra": "BRL", "arg": "ARS", "chi": "CLP",
                   "uru": "UYU", "per": "PEN", "mex": "MXN", "tur": "TRY", "mor": "MAD", "mau": "MUR",
                   "pol": "PLN", "cze": "CZK", "hun": "HUF"}

# Winning margins in lengths (the form book's abbreviations, case-insensitive).
MARGIN_WORDS = {
    "dht": Decimal("0"), "dh": Decimal("0"), "nse": Decimal("0.05"), "ns": Decimal("0.05"),
    "shd": Decimal("0.1"), "sh": Decimal("0.1"), "hd": Decimal("0.2"), "snk": Decimal("0.25"),
    "lhd": Decimal("0.25"), "nk": Decimal("0.3"), "dist": Decimal("30"), "ds": Decimal("30"),
    "dis": Decimal("30"), "distance": Decimal("30"), "nose": Decimal("0.05"),
    "short head": Decimal("0.1"), "head": Decimal("0.2"), "short neck": Decimal("0.25"),
    "neck": Decimal("0.3"), "long head": Decimal("0.25"), "dead heat": Decimal("0"),
}
VULGAR_FRACTIONS = {"¼": "1/4", "½": "1/2", "¾": "3/4", "⅓": "1/3", "⅔": "2/3", "⅛": "1/8",
                    "⅜": "3/8", "⅝": "5/8", "⅞": "7/8", "⅕": "1/5", "⅖": "2/5", "⅗": "3/5", "⅘": "4/5"}

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_EURO_STYLE = re.compile(r"^\d{1,3}(\.\d{3})+(,\d{1,2})?$|^\d+,\d{1,2}$")
_POSITION = re.compile(r"^(?:dh|=)?\s*(\d{1,3})\s*(?:=|dh|st|nd|rd|th)?$", re.I)
_TIME = re.compile(r"(?:(\d+)[:m])?(\d+(?:\.\d+)?)s?")
_WEIGHT = re.compile(r"^(\d{1,2})\s*-\s*(\d{1,2})$")
_SUFFIX = re.compile(r"\(([A-Za-z]{2,4})\)\s*$")


def text(value) -> str | None:
    """A trimmed string, or None for missing values (``""``, ``null``, ``"-"`` …)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    out = str(value).strip()
    return None if out.lower() in MISSING else out


def parse_decimal(value) -> Decimal | None:
    raw = text(value)
    if raw is None:
        return None
    raw = raw.replace("\u2212", "-").replace(" ", "")
    if _THOUSANDS.match(raw):
        raw = raw.replace(",", "")
    if not _NUMBER.fullmatch(raw):
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    return number if number.is_finite() and abs(number) < DECIMAL_LIMIT else None


def parse_int(value) -> int | None:
    number = parse_decimal(value)
    if number is None or number != number.to_integral_value() or abs(number) > INT_LIMIT:
        return None
    return int(number)


def parse_bool(value) -> bool | None:
    if isinstance(value, bool):
        return value
    raw = (text(value) or "").lower()
    if raw in ("true", "yes", "y", "1", "t"):
        return True
    if raw in ("false", "no", "n", "0", "f"):
        return False
    return None


def parse_date(value) -> date | None:
    raw = text(value)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        return None


def parse_datetime(value) -> datetime | None:
    """ISO 8601 with offset (``off_dt``); a naive value is refused rather than guessed."""
    raw = text(value)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def off_time_from(off_dt: datetime | None) -> time | None:
    """The local 24-hour time of the off (``off_dt`` carries the course's local offset)."""
    return off_dt.time().replace(tzinfo=None) if off_dt is not None else None


def _split_currency(raw: str) -> tuple[str, str | None]:
    for code in ISO_CURRENCIES:
        if raw.upper().startswith(code) or raw.upper().endswith(code):
            return raw.upper().replace(code, "").strip(), code
    for symbol in sorted(CURRENCY_SYMBOLS, key=len, reverse=True):
        if symbol in raw:
            return raw.replace(symbol, "").strip(), CURRENCY_SYMBOLS[symbol]
    return raw, None


def parse_money(value) -> tuple[Decimal | None, str | None]:
    """``"£12,851"`` -> (12851, "GBP"); ``"€7824.60"`` -> (7824.60, "EUR"); ``"1.234,56 EUR"`` too."""
    raw = text(value)
    if raw is None:
        return None, None
    amount, currency = _split_currency(raw)
    amount = amount.replace(" ", "").replace("\u00a0", "")
    if _EURO_STYLE.match(amount) and not _THOUSANDS.match(amount):
        amount = amount.replace(".", "").replace(",", ".")
    return parse_decimal(amount), currency


def currency_for(prize_currency: str | None, region: str | None) -> str | None:
    return prize_currency or REGION_CURRENCY.get((region or "").lower())


def parse_position(value) -> tuple[int | None, str | None]:
    """(finishing position, as given). Non-finish codes (PU, F, UR, BD, RO, SU, RR, DSQ, VOI, REF,
    LFT, CO, …) keep the raw code with position None; dead heats ("1=", "dh1") keep the number."""
    raw = text(value)
    if raw is None:
        return None, None
    match = _POSITION.match(raw)
    if match:
        number = int(match.group(1))
        return (number if number > 0 else None), raw
    return None, raw


def _fraction(part: str) -> Decimal | None:
    if "/" in part:
        top, _, bottom = part.partition("/")
        top_d, bottom_d = parse_decimal(top), parse_decimal(bottom)
        if top_d is None or not bottom_d:
            return None
        return top_d / bottom_d
    return parse_decimal(part)


def parse_margin(value) -> Decimal | None:
    """Lengths beaten: ``".5"``, ``"1.25"``, ``"1 1/2"``, ``"1½"``, ``"3/4L"`` or a word (``nk``, ``hd``,
    ``shd``, ``nse``, ``dht``, ``snk``, ``dist`` …). Unknown words give None."""
    raw = text(value)
    if raw is None:
        return None
    lowered = raw.lower().strip().rstrip(".")
    if lowered in MARGIN_WORDS:
        return MARGIN_WORDS[lowered]
    for symbol, fraction in VULGAR_FRACTIONS.items():
        lowered = lowered.replace(symbol, f" {fraction}")
    lowered = re.sub(r"\s*(lengths?|lens?|l)$", "", lowered).strip()
    if lowered in MARGIN_WORDS:
        return MARGIN_WORDS[lowered]
    total = Decimal(0)
    for part in lowered.split():
        amount = _fraction(part)
        if amount is None:
            return None
        total += amount
    result = total.quantize(Decimal("0.01")).normalize() if lowered else None
    return result if result is not None and 0 <= result < 1000 else None


def parse_finishing_time(value) -> Decimal | None:
    """``"1:43.25"`` -> 103.25 s; ``"59.87"``; ``"1m 43.25s"``; ``"2:01.2"``."""
    raw = text(value)
    match = _TIME.fullmatch(raw.lower().replace(" ", "")) if raw else None
    if not match:
        return None
    total = int(match.group(1) or 0) * 60 + Decimal(match.group(2))
    return total if 0 < total < 3600 else None


def parse_weight_st_lbs(value) -> tuple[str | None, int | None]:
    """``"8-10"`` -> ("8-10", 122)."""
    raw = text(value)
    if raw is None:
        return None, None
    match = _WEIGHT.match(raw)
    if not match:
        return None, None
    stones, pounds = int(match.group(1)), int(match.group(2))
    return f"{stones}-{pounds}", stones * 14 + pounds


def parse_furlongs(value) -> Decimal | None:
    """``"11f"``, ``"8.0"``, ``"11.5f"``, ``"5½f"`` -> furlongs."""
    raw = text(value)
    if raw is None:
        return None
    raw = raw.lower().rstrip("f").strip()
    extra = Decimal(0)
    for symbol, fraction in VULGAR_FRACTIONS.items():
        if symbol in raw:
            raw = raw.replace(symbol, "").strip()
            extra += _fraction(fraction)
    base = parse_decimal(raw) if raw else Decimal(0)
    return None if base is None else base + extra


def parse_percent(value) -> Decimal | None:
    raw = text(value)
    return parse_decimal(raw.rstrip("%").strip()) if raw else None


def region_from_name(name) -> str | None:
    """The breeding-region suffix of a name: ``"Create (IRE)"`` -> ``"ire"``."""
    raw = text(name)
    match = _SUFFIX.search(raw) if raw else None
    return match.group(1).lower() if match else None


def lower(value) -> str | None:
    raw = text(value)
    return raw.lower() if raw else None


def joined(value) -> str | None:
    """A list of flags -> ``"C,CD"``; a plain string is kept."""
    if isinstance(value, list):
        items = [text(v) for v in value]
        return ",".join(i for i in items if i) or None
    return text(value)


def colour_fields(value) -> dict[str, str]:
    """A colour as given: an abbreviation (``"b"``, ``"ch"``, ``"gr/ro"``) is a code, a word a name."""
    raw = text(value)
    if raw is None:
        return {}
    if len(raw) <= 5 and re.fullmatch(r"[A-Za-z]{1,3}(/[A-Za-z]{1,3})?", raw):
        return {"colour_code": raw.upper()}
    return {"colour": raw.lower()}


def sex_fields(value) -> dict[str, str]:
    """A sex as given: a code (``"G"``, ``"F"``, ``"C"``, ``"M"``, ``"H"``, ``"R"``) or a word."""
    raw = text(value)
    if raw is None:
        return {}
    if len(raw) <= 2 and raw.isalpha():
        return {"sex_code": raw.upper()}
    return {"sex": raw.lower()}
