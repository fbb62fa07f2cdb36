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

MISSING = {"", "-", "--", "\u2013", "\u2014", "n/a", "na", "none", "null", "nan", "?"}
INT_LIMIT = 2**31 - 1
DECIMAL_LIMIT = Decimal("1e12")
# A numeric string longer than this is not a value the API sends (and 20,000 digits after the point
# would not fit PostgreSQL's numeric); refusing it early also keeps every parser cheap.
MAX_NUMBER_CHARS = 40
# Thousands separators seen in the wild besides "," and ".": spaces of every width.
_SPACES = dict.fromkeys(map(ord, " \u00a0\u202f\u2009\u2007"), None)

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
# "1", "12th", dead heats "1=", "=2", "dh1", "1dh", "dh 3", "1st=".
_POSITION = re.compile(r"^(?:dh\s*|=\s*)?(\d{1,3})(?:st|nd|rd|th)?\s*(?:=|dh)?$", re.I)
# "1:43.25", "59.87", "1m43.25s" (spaces removed first); minutes and seconds bounded.
_TIME = re.compile(r"(?:(\d{1,2})[:m])?(\d{1,4}(?:\.\d{1,4})?)s?")
# "8-10", "8st 10lb", "8st10lbs".
_WEIGHT = re.compile(r"^(\d{1,2})\s*(?:-|st)\s*(\d{1,2})\s*(?:lbs?)?$", re.I)
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$")
# Lengths: "1.25", ".5", "3/4", "1 1/2", "1-1/2" (a whole number and a fraction need a separator).
_MARGIN_NUMBER = re.compile(r"^(?:(?P<num>\d{1,3}(?:\.\d{1,4})?|\.\d{1,4})"
                            r"|(?:(?P<whole>\d{1,3})(?:\s+|-))?(?P<top>\d{1,3})/(?P<bottom>\d{1,3}))$")
_DISTANCE = re.compile(r"^(?:(\d{1,2})\s*m)?\s*(?:(\d{1,2})?\s*([\u00bd\u00bc\u00be])?\s*f)?"
                       r"\s*(?:(\d{1,4})\s*y)?$")
_SUFFIX = re.compile(r"\(([A-Za-z]{2,4})\)\s*$")


def text(value) -> str | None:
    """A trimmed string, or None for missing values (``""``, ``null``, ``"-"`` …)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    out = str(value).strip()
    return None if out.lower() in MISSING else out


def parse_decimal(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    raw = text(value)
    if raw is None or len(raw) > MAX_NUMBER_CHARS:
        return None
    raw = raw.replace("\u2212", "-").translate(_SPACES)
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
    match = _DATE.match(raw) if raw else None
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
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


# Currency tokens, longest first so "HK$" wins over "$" and "US$" over "$". A token only counts when
# it stands right before or after the amount and the whole value is "token amount" / "amount token":
# letters such as "R", "kr", "Fr" or "EUR" inside ordinary text never make it money.
_CURRENCY_LOOKUP = {**{s.lower(): c for s, c in CURRENCY_SYMBOLS.items()},
                    **{c.lower(): c for c in ISO_CURRENCIES}}
_CURRENCY_TOKEN = "|".join(re.escape(t) for t in sorted(_CURRENCY_LOOKUP, key=len, reverse=True))
_MONEY = re.compile(
    rf"^(?:(?P<pre>{_CURRENCY_TOKEN})\.?\s*)?"
    r"(?P<amount>[+-]?\d[\d.,'\s\u00a0\u202f\u2009\u2007]*)"
    rf"(?:\s*(?P<post>{_CURRENCY_TOKEN})\.?)?$", re.I)
_GROUPED_DOT_DECIMAL = re.compile(r"^\d{1,3}(,\d{3})*\.\d+$")   # 1,234.56
_GROUPED_COMMA_DECIMAL = re.compile(r"^\d{1,3}(\.\d{3})*,\d+$")  # 1.234,56
_GROUPED = re.compile(r"^\d{1,3}([.,])\d{3}(\1\d{3})*$")         # 1,234 / 1.234.567


def _money_amount(amount: str, suffix_currency: bool) -> Decimal | None:
    """Normalise the separators of an amount: the last of "," and "." is the decimal mark when both
    appear; a lone "," with 1-2 digits after it is a decimal comma; groups of three are thousands."""
    sign = ""
    if amount[:1] in "+-":
        sign, amount = amount[0], amount[1:]
    amount = amount.translate(_SPACES).replace("'", "")
    if "," in amount and "." in amount:
        if _GROUPED_DOT_DECIMAL.match(amount):
            amount = amount.replace(",", "")
        elif _GROUPED_COMMA_DECIMAL.match(amount):
            amount = amount.replace(".", "").replace(",", ".")
        else:
            return None
    elif "," in amount:
        if _GROUPED.match(amount):
            amount = amount.replace(",", "")
        elif re.fullmatch(r"\d+,\d{1,2}", amount):
            amount = amount.replace(",", ".")
        else:
            return None
    elif amount.count(".") > 1:
        if not _GROUPED.match(amount):
            return None
        amount = amount.replace(".", "")
    elif suffix_currency and _GROUPED.match(amount):
        amount = amount.replace(".", "")  # "1.234 €": continental thousands
    return parse_decimal(sign + amount)


def parse_money(value) -> tuple[Decimal | None, str | None]:
    """``"£12,851"`` -> (12851, "GBP"); ``"€7824.60"``; ``"GBP 1,234"``; ``"1.234,56 €"``;
    ``"HK$1,000"``; ``"12851"`` -> (12851, None). Several amounts (``"£1.70 £1.20"``) or free text
    give (None, None): only a value that is wholly one amount with at most one currency is money."""
    raw = text(value)
    if raw is None or len(raw) > 60:
        return None, None
    match = _MONEY.match(raw)
    if not match:
        return None, None
    pre, post = match.group("pre"), match.group("post")
    if pre and post and _CURRENCY_LOOKUP[pre.lower()] != _CURRENCY_LOOKUP[post.lower()]:
        return None, None
    token = pre or post
    currency = _CURRENCY_LOOKUP[token.lower()] if token else None
    amount = _money_amount(match.group("amount").strip(), suffix_currency=bool(post and not pre))
    if amount is None or amount < 0:
        return None, None
    return amount, currency


def currency_for(prize_currency: str | None, region: str | None) -> str | None:
    return prize_currency or REGION_CURRENCY.get((region or "").lower())


def parse_position(value) -> tuple[int | None, str | None]:
    """(finishing position, as given). Non-finish codes (PU, F, UR, BD, RO, SU, RR, DSQ, VOI, REF,
    LFT, CO, DNF, PO, …) keep the raw code with position None; dead heats ("1=", "=2", "dh1") keep
    the number; "12th" is 12. "0" is not a place (the form book's 0 means "out of the first nine"),
    so it too keeps only the raw value."""
    raw = text(value)
    if raw is None:
        return None, None
    match = _POSITION.match(raw)
    if match:
        number = int(match.group(1))
        return (number if number > 0 else None), raw
    return None, raw


def _plain(number: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent form (30, not 3E+1)."""
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


def _margin_words(raw: str) -> str:
    lowered = raw.lower().replace(".", "").replace("-", " ").replace("_", " ")
    return " ".join(lowered.split())


def parse_margin(value) -> Decimal | None:
    """Lengths beaten: ``".5"``, ``"1.25"``, ``"1 1/2"``, ``"1½"``, ``"¾"``, ``"3/4L"``, ``"2 lengths"``
    or a word (``nk``, ``hd``, ``shd``, ``nse``, ``dht``, ``snk``, ``dist``, ``neck``, ``short head`` …).
    Unknown words, several numbers, negative or absurd values give None."""
    raw = text(value)
    if raw is None or len(raw) > 40:
        return None
    words = _margin_words(raw)
    if words in MARGIN_WORDS:
        return MARGIN_WORDS[words]
    lowered = raw.lower().strip()
    for symbol, fraction in VULGAR_FRACTIONS.items():
        lowered = lowered.replace(symbol, f" {fraction}")
    lowered = re.sub(r"\s*(lengths?|lens?|l)\.?$", "", " ".join(lowered.split())).strip()
    words = _margin_words(lowered)
    if words in MARGIN_WORDS:
        return MARGIN_WORDS[words]
    match = _MARGIN_NUMBER.match(lowered)
    if not match:
        return None
    if match.group("num") is not None:
        total = Decimal(match.group("num"))
    else:
        bottom = int(match.group("bottom"))
        if bottom == 0:
            return None
        total = Decimal(int(match.group("whole") or 0)) + Decimal(int(match.group("top"))) / bottom
    return _plain(total.quantize(Decimal("0.01"))) if 0 <= total < 1000 else None


def parse_finishing_time(value) -> Decimal | None:
    """``"1:43.25"`` -> 103.25 s; ``"59.87"``; ``"1m 43.25s"``; ``"2:01.2"``."""
    raw = text(value)
    if raw is None or len(raw) > 30:
        return None
    match = _TIME.fullmatch(raw.lower().replace(" ", ""))
    if not match:
        return None
    seconds = Decimal(match.group(2))
    if match.group(1) is not None and seconds >= 60:
        return None
    total = int(match.group(1) or 0) * 60 + seconds
    return total if 0 < total < 3600 else None


def parse_weight_st_lbs(value) -> tuple[str | None, int | None]:
    """``"8-10"`` -> ("8-10", 122); ``"8st 10lb"`` too. Pounds must be 0-13."""
    raw = text(value)
    if raw is None:
        return None, None
    match = _WEIGHT.match(raw)
    if not match:
        return None, None
    stones, pounds = int(match.group(1)), int(match.group(2))
    if pounds > 13 or stones == 0:
        return None, None
    return f"{stones}-{pounds}", stones * 14 + pounds


def parse_furlongs(value) -> Decimal | None:
    """``"11f"``, ``"8.0"``, ``"11.5f"``, ``"5½f"``, ``"½f"`` -> furlongs (0 < f ≤ 100)."""
    raw = text(value)
    if raw is None or len(raw) > 20:
        return None
    raw = raw.lower().strip()
    if raw.endswith("f"):
        raw = raw[:-1].strip()
    extra = Decimal(0)
    if raw and raw[-1] in VULGAR_FRACTIONS:
        top, _, bottom = VULGAR_FRACTIONS[raw[-1]].partition("/")
        extra = Decimal(top) / Decimal(bottom)
        raw = raw[:-1].strip()
        if not raw:
            raw = "0"
    base = parse_decimal(raw)
    if base is None:
        return None
    total = base + extra
    return _plain(total.quantize(Decimal("0.001"))) if 0 < total <= 100 else None


def distance_yards(value) -> int | None:
    """A distance in words -> yards: ``"1m2f110y"`` 2310, ``"2m½f"`` 3630, ``"5f"`` 1100, ``"1m"``."""
    raw = text(value)
    if raw is None or len(raw) > 30:
        return None
    match = _DISTANCE.match(raw.lower())
    if not match or not any(match.groups()):
        return None
    miles, furlongs, half, yards = match.groups()
    total = Decimal(int(miles or 0) * 1760 + int(furlongs or 0) * 220 + int(yards or 0))
    if half:
        top, _, bottom = VULGAR_FRACTIONS[half].partition("/")
        total += Decimal(220) * Decimal(top) / Decimal(bottom)
    return int(total.to_integral_value()) if 0 < total <= 22000 else None



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


# Colour abbreviations of the form book (racecards give these; horse profiles give the word and a code).
COLOUR_CODES = {"b": "bay", "br": "brown", "bl": "black", "bk": "black", "ch": "chestnut", "gr": "grey",
                "ro": "roan", "wh": "white", "dkb": "dark bay", "dk b": "dark bay", "pal": "palomino",
                "cr": "cream", "du": "dun", "sk": "skewbald", "pie": "piebald"}


def colour_fields(value) -> dict[str, str]:
    """A colour as given: an abbreviation (``"b"``, ``"ch"``, ``"gr/ro"``, ``"b/br"``) is a code, a
    word (``"bay"``, ``"bay/brown"``, ``"dun"``) a name. Never both, and never guessed."""
    raw = text(value)
    if raw is None:
        return {}
    parts = [" ".join(part.split()) for part in raw.lower().split("/")]
    if all(part in COLOUR_CODES or re.fullmatch(r"[a-z]{1,2}", part) for part in parts):
        return {"colour_code": "/".join(parts).upper()}
    return {"colour": raw.lower()}


def sex_fields(value) -> dict[str, str]:
    """A sex as given: a code (``"G"``, ``"F"``, ``"C"``, ``"M"``, ``"H"``, ``"R"``) or a word."""
    raw = text(value)
    if raw is None:
        return {}
    if len(raw) <= 2 and raw.isalpha():
        return {"sex_code": raw.upper()}
    return {"sex": raw.lower()}
