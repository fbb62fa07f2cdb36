"""Deterministic ground truth for the Racing API simulator (no HTTP here).

Why a separate module: tests and the backfill's verification compare what reached the database with
what the API *should* have said. Everything is derived from ``seed`` alone, and one day is generated
from ``Random((seed, day))`` without looking at any other day, so asking for 2019-06-01 costs the same
as asking for yesterday and the answer never depends on the order of requests.

Horses, sires, dams, people and courses are pools addressed by index: a horse id encodes its foaling
year and its index in that year's crop (``hrs_YYYYKKKKK``), so ``horse_pro`` is O(1) and the same horse
reappears across days and years with identical name, pedigree, dob, sex and colour.

Payloads follow ``openapi.yml`` (``RacecardOddsPro`` / ``ResultStandard`` / ``HorsePro``): scalars are
strings, missing values are ``""``, ratings are sometimes ``"-"``.
"""
from __future__ import annotations

import bisect
import functools
import json
import random
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

RACECARDS_FROM = date(2023, 1, 23)
RESULTS_WINDOW_DAYS = 365          # results of the last 365 days; older ones need the add-on
RESULTS_FROM = date(1988, 1, 1)
HORSE_CROP = 9000                 # horses per foaling year (flat: first half, jumps: second half)
HORSE_NOT_FOUND_RATE = 0.08       # share of horses whose /pro profile 404s
N_SIRES, N_DAMS, N_DAMSIRES = 2100, 48000, 3000
N_JOCKEYS_GB, N_JOCKEYS_IRE, N_TRAINERS, N_OWNERS = 450, 200, 2800, 48000
ZONES = {"gb": ZoneInfo("Europe/London"), "ire": ZoneInfo("Europe/Dublin")}

# --- static catalogues ---------------------------------------------------------------------------
REGIONS = [
    ("Great Britain", "gb"), ("Ireland", "ire"), ("France", "fr"), ("USA", "usa"), ("Australia", "aus"),
    ("New Zealand", "nz"), ("South Africa", "saf"), ("Japan", "jpn"), ("Hong Kong", "hk"),
    ("United Arab Emirates", "uae"), ("Germany", "ger"), ("Italy", "ity"), ("Canada", "can"),
    ("Argentina", "arg"), ("Brazil", "bra"), ("Chile", "chi"), ("Singapore", "sin"), ("Sweden", "swe"),
    ("Norway", "nor"), ("Denmark", "den"), ("Spain", "spa"), ("Belgium", "bel"), ("Czech Republic", "cze"),
    ("Qatar", "qa"), ("Saudi Arabia", "sau"), ("Bahrain", "bah"), ("Turkey", "tur"), ("India", "ind"),
]
REGION_NAMES = dict((code, name) for name, code in REGIONS)

# kind: F flat turf, J jumps, M mixed turf, A all-weather, X closed (listed, never raced)
GB_COURSES = """Aintree J|Ascot M|Ayr M|Bangor-on-Dee J|Bath F|Beverley F|Brighton F|Carlisle M|Cartmel J|
Catterick M|Chelmsford City (AW) A|Cheltenham J|Chepstow M|Chester F|Doncaster M|Epsom F|Exeter J|
Fakenham J|Ffos Las M|Folkestone X|Fontwell J|Goodwood F|Great Yarmouth F|Hamilton F|Haydock M|Hereford J|
Hexham J|Huntingdon J|Kelso J|Kempton J|Kempton (AW) A|Leicester M|Lingfield M|Lingfield (AW) A|Ludlow J|
Market Rasen J|Musselburgh M|Newbury M|Newcastle J|Newcastle (AW) A|Newmarket F|Newmarket (July) F|
Newton Abbot J|Nottingham F|Perth J|Plumpton J|Pontefract F|Redcar F|Ripon F|Salisbury F|Sandown M|
Sedgefield J|Southwell J|Southwell (AW) A|Stratford J|Taunton J|Thirsk F|Towcester X|Uttoxeter J|
Warwick J|Wetherby J|Wincanton J|Windsor F|Wolverhampton (AW) A|Worcester J|York F|Chester (July) X|
Doncaster (AW) X|Hereford (Old) X"""
IRE_COURSES = """Ballinrobe M|Bellewstown M|Clonmel J|Cork M|Curragh F|Down Royal M|Downpatrick J|Dundalk (AW) A|
Fairyhouse M|Galway M|Gowran Park M|Kilbeggan J|Killarney M|Laytown F|Leopardstown M|Limerick M|Listowel M|
Naas M|Navan M|Punchestown J|Roscommon M|Sligo M|Thurles J|Tipperary M|Tramore M|Wexford M|Tralee X|
Mallow X|Phoenix Park X|Down Royal (Old) X|Tuam X|Dundalk X"""
OTHER_COURSES = {
    "fr": "Chantilly|Longchamp|Deauville|Saint-Cloud|Auteuil|Maisons-Laffitte|Compiegne|Lyon-Parilly",
    "usa": "Belmont Park|Churchill Downs|Santa Anita|Saratoga|Keeneland|Del Mar|Gulfstream Park|Aqueduct",
    "aus": "Flemington|Randwick|Caulfield|Moonee Valley|Rosehill|Eagle Farm|Morphettville",
    "uae": "Meydan|Jebel Ali|Abu Dhabi", "hk": "Sha Tin|Happy Valley", "jpn": "Tokyo|Kyoto|Nakayama",
    "ger": "Baden-Baden|Cologne|Hamburg|Hoppegarten", "saf": "Kenilworth|Greyville|Turffontein",
}

HORSE_WORDS_A = ("Silver Golden Dark Royal Wild Lucky Secret Crimson Midnight Northern Brave Silent "
                 "Frozen Mystic Scarlet Emerald Iron Copper Desert Ocean Highland Velvet Noble Rapid "
                 "Shadow Blazing Hidden Glorious Stormy Rebel Sweet Little Captain Lord Lady Master "
                 "Sir Queen Kings Grand Misty Sunny Summer Winter Autumn Spring Mr Miss Dancing").split()
HORSE_WORDS_B = ("Storm Arrow Dancer Legend Spirit Warrior Princess Knight Dream Thunder Echo Falcon "
                 "Harbour Meadow River Comet Flame Star Tiger Rose Song Voyage Quest Breeze Jewel "
                 "Glory Empire Horizon Rhythm Rebel Oak Whisper Crown Eagle Lad Boy Girl Bay Hill "
                 "Bridge Token Affair Secret Fortune Moment Rocket Charm Return Dawn").split()
HORSE_SINGLE = ("Frankel Kodiac Valiant Tiberius Ardent Nimbus Zoë Solstice Bravado Cobalt Marengo "
                "Dáiríre Allegro Fandango Hurricane Mirage Ostrava Quixote Rialto Saoirse Tullamore "
                "Zanzibar Caoimhe Mo Chuisle Sláinte Émile Kilbrittain Ballyhigh Shanakiel").split()
SIRE_NAMES = ("Dubawi|Frankel|Galileo|Kodiac|Dark Angel|Sea The Stars|Night Of Thunder|Kingman|Lope De Vega|"
              "Siyouni|No Nay Never|Invincible Spirit|Acclamation|Showcasing|Mehmas|Camelot|Australia|"
              "Nathaniel|Sixties Icon|Mastercraftsman|Shamardal|Le Havre|Wootton Bassett|Muhaarar|"
              "Walk In The Park|Getaway|Flemensfirth|Mahler|Yeats|Doyen|Milan|Kayf Tara|Jet Away|"
              "Presenting|Saint Des Saints|Poliglote|Authorized|Blue Bresil|Soldier Of Fortune|Fame And Glory|"
              "Cityscape|Equiano|Zoffany|Havana Gold|Territories|Ulysses|Cracksman|Too Darn Hot").split("|")
BREED_REGIONS = ("IRE",) * 10 + ("GB",) * 9 + ("FR",) * 4 + ("USA",) * 2 + ("GER", "JPN", "ITY")
FIRST_NAMES = ("James William Oisin Ryan Tom Harry Paul Rossa Hollie Rachael Jack Danny Sean Seán Pádraig "
               "Ciarán Conor Darragh Zoë Órla Siobhán Saffie Hayley Callum David Richard Rob Luke Kieran "
               "Billy Jamie Aidan Dylan Mark Gavin Shane Davy Patrick Rex Harriet Megan Chloë Niamh "
               "Aoife Eoin Cathal Donnacha Séamus Daniel Joe Adam Sam Ben Charlie").split()
SURNAMES = ("Murphy|Moore|Doyle|Buick|Kingscote|Hughes|Mullins|Elliott|Henderson|Nicholls|Skelton|O'Brien|"
            "Ó Dubhghaill|Ní Mhurchú|Blackmore|Townend|Walsh|Kennedy|de Boinville|Bowen|Cobden|Johnson|Fahey|"
            "Haggas|Gosden|Appleby|Stoute|Varian|Johnston|Dascombe|Hannon|Balding|Channon|Crowley|Atzeni|"
            "Spencer|Hanagan|Fanning|Levey|McMonagle|Foley|Meade|Cromwell|Dunne|Hogan|Kelly|Tudhope|"
            "Lee|Mac Giolla Phádraig|Brennan|Russell|Scudamore|Twiston-Davies|King|Pauling|Curran").split("|")
GB_TOWNS = ("Newmarket, Suffolk|Lambourn, Berks|Malton, N Yorks|Middleham, N Yorks|Epsom, Surrey|"
            "Ditcheat, Somerset|Upper Lambourn, Berks|Hambleton, N Yorks|Naunton, Glos|Kinneston, Perth & Kinross|"
            "Marlborough, Wilts|Cheltenham, Glos|Newmarket, Suffolk|Willoughton, Lincs").split("|")
IRE_TOWNS = ("Ballydoyle, Co Tipperary|Closutton, Co Carlow|Cullentra, Co Meath|Curragh, Co Kildare|"
             "Dunboyne, Co Meath|Fethard, Co Tipperary|Kilcullen, Co Kildare|Castletown, Co Kildare").split("|")
SPONSORS = ("Sky Bet|William Hill|Betfair|Coral|Ladbrokes|Paddy Power|BetVictor|Racing TV|Sporting Life|"
            "Unibet|Virgin Bet|Boylesports|Tote|At The Races|British Stallion Studs EBF|Irish Stallion Farms EBF|"
            "Follow Us On Twitter|Download The Racing App|Watch Live On RacingTV|Join Racing Club").split("|")
BOOKMAKERS = ("Bet365", "William Hill", "Paddy Power", "Betfair Sportsbook", "Coral", "Ladbrokes", "Unibet")
PRICES = ("1/5 2/9 1/4 2/7 1/3 4/11 2/5 4/9 1/2 8/15 4/7 8/13 4/6 8/11 4/5 5/6 10/11 Evs 11/10 6/5 5/4 "
          "11/8 6/4 13/8 7/4 15/8 2/1 9/4 5/2 11/4 3/1 10/3 7/2 4/1 9/2 5/1 11/2 6/1 13/2 7/1 15/2 8/1 17/2 "
          "9/1 10/1 11/1 12/1 14/1 16/1 18/1 20/1 22/1 25/1 28/1 33/1 40/1 50/1 66/1 80/1 100/1 125/1 150/1 "
          "200/1 250/1").split()
COLOURS = (("bay", "b"), ("bay", "b"), ("bay", "b"), ("chestnut", "ch"), ("chestnut", "ch"), ("brown", "br"),
           ("grey", "gr"), ("black", "bl"), ("bay/brown", "b/br"), ("roan", "ro"))
SEXES = (("gelding", "G"),) * 11 + (("mare", "M"),) * 5 + (("filly", "F"),) * 2 + (("colt", "C"),) * 2 + (("horse", "H"),)
HEADGEAR = ("",) * 12 + ("p", "t", "v", "b", "h", "tp", "cp", "e/s")
GOINGS_TURF = ("Good", "Good", "Good To Soft", "Good To Firm", "Soft", "Heavy", "Firm", "Good To Yielding")
GOINGS_IRE = ("Yielding", "Yielding To Soft", "Good", "Soft", "Heavy", "Good To Yielding")
GOINGS_AW = ("Standard", "Standard", "Standard To Slow", "Standard To Fast")
NONFINISH = ("PU",) * 8 + ("F",) * 4 + ("UR",) * 3 + ("BD", "RO", "SU", "RR")
MARGIN_WORDS = (("nse", 0.05), ("shd", 0.1), ("hd", 0.2), ("snk", 0.25), ("nk", 0.3))
WORD_MARGINS = {word for word, _ in MARGIN_WORDS}
NR_REASONS = ("self certificate", "vet's certificate", "going", "not eligible", "ground")
COMMENTS_WIN = ("Led, ridden clear over 1f out, kept on well", "Held up, headway 2f out, led inside final furlong",
                "Tracked leaders, went on 2 out, stayed on strongly", "Prominent, led over 1f out, ran on")
COMMENTS_OTHER = ("Chased leaders, kept on same pace", "Held up, never on terms", "Mid-division, no extra final furlong",
                  "Led until over 1f out, weakened", "In rear, some late headway", "Prominent, one pace final 2f",
                  "Slowly away, always behind", "Tracked leaders, every chance, kept on")
COMMENTS_NF = {"PU": "Behind, pulled up before 2 out", "F": "Fell 4th", "UR": "Blundered and unseated rider 6th",
               "BD": "Brought down 3rd", "RO": "Ran out 2nd", "SU": "Slipped up on bend", "RR": "Refused to race"}


@dataclass(frozen=True)
class Course:
    id: str
    name: str
    region_code: str
    kind: str


def _build_courses() -> list[Course]:
    """Course ids are fixed (not seeded): real ids never change between accounts either."""
    rows: list[Course] = []
    for code, text in (("gb", GB_COURSES), ("ire", IRE_COURSES)):
        for item in " ".join(text.split("\n")).split("|"):
            name, kind = item.strip().rsplit(" ", 1)
            rows.append(Course(f"crs_{(len(rows) + 1) * 26}", name, code, kind))
    for code, text in OTHER_COURSES.items():
        for name in text.split("|"):
            rows.append(Course(f"crs_{(len(rows) + 1) * 26}", name, code, "F"))
    return rows


COURSES = _build_courses()


# --- small helpers --------------------------------------------------------------------------------
def _rng(*parts) -> random.Random:
    """A Random seeded from a readable string: stable across processes (str seeds hash with sha512)."""
    return random.Random(":".join(str(p) for p in parts))


def _money(amount: float, symbol: str = "£") -> str:
    return f"{symbol}{amount:,.2f}"


def _margin_text(x: float) -> str:
    """A beaten distance in lengths as the API writes it: "0", ".5", "1.25", "12"."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return text[1:] if text.startswith("0.") else text


def _fraction_to_decimal(frac: str) -> float:
    if frac == "Evs":
        return 2.0
    num, den = frac.split("/")
    return int(num) / int(den) + 1


PRICE_DECIMAL = {p: _fraction_to_decimal(p) for p in PRICES}
_price_decimal = PRICE_DECIMAL.__getitem__


def _nearest_price(decimal_odds: float) -> str:
    """The ladder price closest to a decimal price (the ladder is ascending, so bisect)."""
    values = list(PRICE_DECIMAL.values())
    i = bisect.bisect_left(values, decimal_odds)
    candidates = PRICES[max(0, i - 1): i + 1]
    return min(candidates, key=lambda p: abs(PRICE_DECIMAL[p] - decimal_odds))


def _distance_text(furlongs: float) -> str:
    """11 -> "1m3f", 8 -> "1m", 10.5 -> "1m2½f", 5 -> "5f"."""
    miles, rest = divmod(furlongs, 8)
    half = "½" if rest % 1 else ""
    parts = (f"{int(miles)}m" if miles else "") + (f"{int(rest)}{half}f" if rest else "")
    return parts


def _twelve_hour(t: time) -> str:
    return f"{t.hour % 12 or 12}:{t.minute:02d}"


def _race_time(seconds: float) -> str:
    """Runner time: "1:43.25", or "59.87" under a minute."""
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:05.2f}" if minutes else f"{secs:.2f}"


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"


def _suffixed(name: str, region: str, bare_ok: bool) -> str:
    return name if bare_ok and region == "GB" else f"{name} ({region})"


# --- pools ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=65536)
def _sire(seed: int, idx: int) -> dict:
    rng = _rng(seed, "sire", idx)
    base = SIRE_NAMES[idx] if idx < len(SIRE_NAMES) else f"{rng.choice(HORSE_WORDS_A)} {rng.choice(HORSE_WORDS_B)}"
    region = rng.choice(BREED_REGIONS)
    return {"id": f"sir_{3000000 + idx * 7}", "name": _suffixed(base, region, False), "region": region}


@functools.lru_cache(maxsize=65536)
def _damsire(seed: int, idx: int) -> dict:
    rng = _rng(seed, "damsire", idx)
    base = SIRE_NAMES[-1 - idx] if idx < len(SIRE_NAMES) else f"{rng.choice(HORSE_WORDS_B)} {rng.choice(HORSE_WORDS_A)}"
    region = rng.choice(BREED_REGIONS)
    return {"id": f"dsi_{4000000 + idx * 11}", "name": _suffixed(base, region, False), "region": region}


@functools.lru_cache(maxsize=65536)
def _dam(seed: int, idx: int) -> dict:
    """A dam fixes her own damsire, so every foal of one dam shows the same damsire."""
    rng = _rng(seed, "dam", idx)
    region = rng.choice(BREED_REGIONS)
    name = f"{rng.choice(HORSE_WORDS_A)} {rng.choice(HORSE_WORDS_B)}" if rng.random() < 0.7 else rng.choice(HORSE_SINGLE)
    return {"id": f"dam_{5000000 + idx * 3}", "name": _suffixed(name, region, False), "region": region,
            "damsire": _damsire(seed, rng.randrange(N_DAMSIRES))}


def _trainer(seed: int, idx: int) -> dict:
    rng = _rng(seed, "trainer", idx)
    towns = IRE_TOWNS if idx % 4 == 0 else GB_TOWNS
    return {"id": f"trn_{100000 + idx * 13}", "name": _person(rng), "location": rng.choice(towns)}


def _owner(seed: int, idx: int) -> dict:
    rng = _rng(seed, "owner", idx)
    style = rng.random()
    if style < 0.5:
        name = f"{rng.choice(('Mr', 'Mrs', 'Ms', 'Dr'))} {rng.choice(FIRST_NAMES)[0]} {rng.choice(SURNAMES)}"
    elif style < 0.8:
        name = f"{rng.choice(SURNAMES)} {rng.choice(('Racing Club', 'Partnership', 'Bloodstock', 'Syndicate'))}"
    else:
        name = f"{rng.choice(HORSE_WORDS_A)} {rng.choice(HORSE_WORDS_B)} Racing"
    return {"id": f"own_{200000 + idx * 17}", "name": name}


def _jockey(seed: int, idx: int) -> dict:
    rng = _rng(seed, "jockey", idx)
    return {"id": f"jky_{300000 + idx * 19}", "name": _person(rng),
            "claim": rng.choice(("3", "5", "7")) if idx % 9 == 0 else "0"}


def horse_id_for(year: int, k: int) -> str:
    return f"hrs_{year:04d}{k:05d}"


def parse_horse_id(horse_id: str) -> tuple[int, int] | None:
    digits = horse_id[4:] if horse_id.startswith("hrs_") else ""
    if len(digits) != 9 or not digits.isdigit():
        return None
    year, k = int(digits[:4]), int(digits[4:])
    return (year, k) if 1960 <= year <= 2100 and k < HORSE_CROP else None


@functools.lru_cache(maxsize=32768)
def _horse(seed: int, year: int, k: int) -> dict:
    """Everything about a horse that never changes: name, breeding, sex, colour, connections."""
    rng = _rng(seed, "horse", year, k)
    region = rng.choice(BREED_REGIONS)
    name = (f"{rng.choice(HORSE_WORDS_A)} {rng.choice(HORSE_WORDS_B)}" if rng.random() < 0.75
            else rng.choice(HORSE_SINGLE) + ("" if rng.random() < 0.5 else f" {rng.choice(HORSE_WORDS_B)}"))
    sex, sex_code = rng.choice(SEXES)
    colour, colour_code = rng.choice(COLOURS)
    dob = date(year, rng.randint(1, 5), rng.randint(1, 28))
    breeder = (f"{rng.choice(SURNAMES)} Stud" if rng.random() < 0.4 else _person(rng))
    return {
        "id": horse_id_for(year, k), "name": _suffixed(name, region, rng.random() < 0.6), "region": region,
        "sex": sex, "sex_code": sex_code, "colour": colour, "colour_code": colour_code,
        "dob": dob.isoformat(), "breeder": breeder,
        "sire": _sire(seed, rng.randrange(N_SIRES)), "dam": _dam(seed, rng.randrange(N_DAMS)),
        "trainer": _trainer(seed, rng.randrange(N_TRAINERS)), "owner": _owner(seed, rng.randrange(N_OWNERS)),
        "prev_trainer": _trainer(seed, rng.randrange(N_TRAINERS)) if rng.random() < 0.15 else None,
        "prev_owner": _owner(seed, rng.randrange(N_OWNERS)) if rng.random() < 0.2 else None,
        "rating": rng.randint(45, 115), "missing_profile": rng.random() < HORSE_NOT_FOUND_RATE,
    }


def _horse_pro(horse: dict) -> dict:
    dam = horse["dam"]
    return {
        "id": horse["id"], "name": horse["name"], "sire": horse["sire"]["name"], "sire_id": horse["sire"]["id"],
        "dam": dam["name"], "dam_id": dam["id"], "damsire": dam["damsire"]["name"],
        "damsire_id": dam["damsire"]["id"], "sex": horse["sex"], "sex_code": horse["sex_code"],
        "colour": horse["colour"], "colour_code": horse["colour_code"].upper(), "breeder": horse["breeder"],
        "dob": horse["dob"],
    }


# --- day schedule ---------------------------------------------------------------------------------
WEEKDAY_FACTOR = (0.75, 0.8, 0.95, 1.0, 1.1, 1.75, 0.7)
SEASON_FACTOR = (0.9, 0.9, 0.95, 1.0, 1.05, 1.15, 1.2, 1.15, 1.05, 1.0, 0.95, 0.9)
GB_MEETINGS, IRE_MEETINGS = 3.6, 1.0


def is_busy_day(day: date) -> bool:
    """Boxing Day and the second Saturday of each month carry more than 100 GB+IRE races."""
    return (day.month, day.day) == (12, 26) or (day.weekday() == 5 and 8 <= day.day <= 14)


def _stochastic_round(rng: random.Random, x: float) -> int:
    return int(x) + (rng.random() < x - int(x))


def _meeting_counts(rng: random.Random, day: date) -> tuple[int, int]:
    if (day.month, day.day) in ((12, 24), (12, 25)):
        return 0, 0
    if is_busy_day(day):
        return 11, 4
    factor = WEEKDAY_FACTOR[day.weekday()] * SEASON_FACTOR[day.month - 1]
    return _stochastic_round(rng, GB_MEETINGS * factor), _stochastic_round(rng, IRE_MEETINGS * factor)


def _eligible(course: Course, day: date) -> bool:
    if course.kind == "X":
        return False
    winter = day.month in (11, 12, 1, 2, 3)
    return not ((course.kind == "F" and winter) or (course.kind == "J" and day.month in (6, 7)))


def _meeting_code(rng: random.Random, course: Course, day: date) -> str:
    if course.kind in "FA":
        return "flat"
    if course.kind == "J":
        return "jumps"
    return "flat" if rng.random() < (0.75 if 4 <= day.month <= 9 else 0.2) else "jumps"


def _first_off(rng: random.Random, course: Course, day: date) -> time:
    """Afternoon cards from 12:05; summer evening meetings and winter AW floodlit cards."""
    evening = (5 <= day.month <= 8 and rng.random() < 0.35) or (course.kind == "A" and rng.random() < 0.3)
    start = rng.randrange(17 * 60, 18 * 60 + 31, 5) if evening else rng.randrange(12 * 60 + 5, 14 * 60 + 31, 5)
    return time(start // 60, start % 60)


@dataclass
class Meeting:
    course: Course
    code: str          # "flat" / "jumps"
    first_off: time
    races: int
    going: str


def _meetings(rng: random.Random, day: date) -> list[Meeting]:
    gb_n, ire_n = _meeting_counts(rng, day)
    meetings = []
    for region, n in (("gb", gb_n), ("ire", ire_n)):
        pool = [c for c in COURSES if c.region_code == region and _eligible(c, day)]
        for course in rng.sample(pool, min(n, len(pool))):
            code = _meeting_code(rng, course, day)
            low = 7 if is_busy_day(day) or region == "ire" else 6
            goings = GOINGS_AW if course.kind == "A" else (GOINGS_IRE if region == "ire" else GOINGS_TURF)
            meetings.append(Meeting(course, code, _first_off(rng, course, day), rng.randint(low, 8), rng.choice(goings)))
    return meetings


# --- one race ---------------------------------------------------------------------------------------
@dataclass
class RaceCore:
    """The facts shared by the racecard and the result of one race."""
    race_id: str
    day: date
    meeting: Meeting
    off_dt: datetime
    rtype: str
    furlongs: float
    yards: int
    pattern: str
    race_class: str
    age_band: str
    rating_band: str
    sex_rest: str
    race_name: str
    prize: int
    abandoned: bool


def _race_type(rng: random.Random, code: str, is_last: bool) -> str:
    if code == "flat":
        return "Flat"
    if is_last and rng.random() < 0.6:
        return "NH Flat"
    return "Hurdle" if rng.random() < 0.55 else "Chase"


def _furlongs(rng: random.Random, rtype: str) -> float:
    low, high = {"Flat": (5, 16), "Hurdle": (16, 25), "Chase": (16, 29), "NH Flat": (13, 18)}[rtype]
    whole = min(rng.randint(low, high), rng.randint(low, high)) if rtype == "Flat" else rng.randint(low, high)
    return whole + (0.5 if rng.random() < 0.2 and whole < high else 0.0)


def _grading(rng: random.Random, rtype: str, region: str) -> tuple[str, str, str]:
    """(pattern, class, rating_band); pattern races and Irish races carry no class."""
    if rng.random() < 0.05:
        levels = ("Group 1", "Group 2", "Group 3", "Listed") if rtype == "Flat" else ("Grade 1", "Grade 2", "Grade 3", "Listed")
        return rng.choice(levels), "", ""
    klass = rng.choice((2, 3, 4, 4, 5, 5, 5, 6, 6, 7) if rtype == "Flat" else (2, 3, 3, 4, 4, 4, 5, 5))
    band = f"0-{(8 - klass) * 15 + 45}" if rng.random() < 0.6 else ""
    return "", ("" if region == "ire" else f"Class {klass}"), band


def _race_name(rng: random.Random, rtype: str, pattern: str, band: str, sex_rest: str) -> str:
    kind = {"Flat": "Stakes", "Hurdle": "Hurdle", "Chase": "Chase", "NH Flat": "Open National Hunt Flat Race"}[rtype]
    style = "Handicap " + kind if band and rtype != "Flat" else ("Handicap" if band else f"Novices' {kind}")
    if pattern:
        style = f"{kind} ({pattern})"
    fillies = "Fillies' " if sex_rest == "F" else ""
    return f"{rng.choice(SPONSORS)} {fillies}{style}"


def _make_core(rng: random.Random, day: date, meeting: Meeting, idx: int, off_local: datetime, race_id: str) -> RaceCore:
    region = meeting.course.region_code
    rtype = _race_type(rng, meeting.code, idx == meeting.races - 1)
    furlongs = _furlongs(rng, rtype)
    pattern, klass, band = _grading(rng, rtype, region)
    age_band = rng.choice(("2yo", "3yo", "3yo+", "3yo+", "4yo+")) if rtype == "Flat" else rng.choice(("4yo+", "4yo+", "5yo+"))
    if rtype == "Flat" and not 4 <= day.month <= 10 and age_band == "2yo":
        age_band = "3yo+"
    sex_rest = rng.choice(("F", "F & M")) if rng.random() < 0.08 else ""
    prize_base = {"": 4000, "Listed": 25000, "Group 3": 45000, "Grade 3": 35000}.get(pattern, 90000)
    prize = int(prize_base * rng.uniform(0.7, 2.5) * (1.6 if not klass else (8 - int(klass[-1])) / 3 + 0.5))
    return RaceCore(
        race_id=race_id, day=day, meeting=meeting, off_dt=off_local, rtype=rtype, furlongs=furlongs,
        yards=int(furlongs * 220) + rng.choice((0, 0, 10, 23, 35, 56, 90)), pattern=pattern, race_class=klass,
        age_band=age_band, rating_band=band, sex_rest=sex_rest,
        race_name=_race_name(rng, rtype, pattern, band, sex_rest), prize=prize, abandoned=rng.random() < 0.01)


# --- runners ----------------------------------------------------------------------------------------
def _pick_horses(rng: random.Random, seed: int, core: RaceCore, field: int) -> list[dict]:
    jumps = core.rtype != "Flat"
    low_age = int(core.age_band[0])
    ages = [rng.randint(low_age, low_age if core.age_band.endswith("yo") else (12 if jumps else 8)) for _ in range(field)]
    chosen, horses = set(), []
    for age in ages:
        half = HORSE_CROP // 2
        k = rng.randrange(half) + (half if jumps else 0)
        key = (core.day.year - age, k)
        if key not in chosen:
            chosen.add(key)
            horses.append(_horse(seed, *key))
    return horses


def _odds(rng: random.Random, n: int) -> list[str]:
    strengths = [rng.paretovariate(1.6) for _ in range(n)]
    total = sum(strengths) / 1.2        # ~20% over-round
    return [_nearest_price(max(1.2, total / s)) for s in strengths]


def _weight_lbs(rng: random.Random, rtype: str) -> int:
    return rng.randint(112, 140) if rtype == "Flat" else rng.randint(140, 168)


@dataclass
class Entry:
    """One declared runner: the facts both the card and the result use."""
    horse: dict
    number: int
    draw: str
    jockey: dict
    lbs: int
    sp: str
    headgear: str
    rating: str
    rpr: str
    ts: str
    non_runner: str = ""       # the reason, when withdrawn


def _entries(rng: random.Random, seed: int, core: RaceCore) -> list[Entry]:
    region = core.meeting.course.region_code
    mean = 11.5 if region == "ire" else 9
    field = max(3, min(24 if core.rtype == "Flat" else 20, int(rng.gauss(mean, 3.5))))
    horses = _pick_horses(rng, seed, core, field)
    draws = list(range(1, len(horses) + 1))
    rng.shuffle(draws)
    prices = _odds(rng, len(horses))
    jockeys = rng.sample(range(N_JOCKEYS_IRE) if region == "ire" else range(N_JOCKEYS_IRE, N_JOCKEYS_IRE + N_JOCKEYS_GB), len(horses))
    weights = sorted((_weight_lbs(rng, core.rtype) for _ in horses), reverse=True)
    entries = []
    for i, horse in enumerate(horses):
        rating = horse["rating"] + rng.randint(-8, 8)
        unrated = core.age_band == "2yo" or rng.random() < 0.08
        entries.append(Entry(
            horse=horse, number=i + 1, draw=str(draws[i]) if core.rtype == "Flat" else "",
            jockey=_jockey(seed, jockeys[i]), lbs=weights[i], sp=prices[i], headgear=rng.choice(HEADGEAR),
            rating="-" if unrated else str(rating), rpr="-" if rng.random() < 0.05 else str(rating + rng.randint(-5, 12)),
            ts="-" if rng.random() < 0.1 else str(max(1, rating - rng.randint(0, 25)))))
    for entry in rng.sample(entries, max(0, min(len(entries) - 2, _stochastic_round(rng, 0.06 * len(entries))))):
        entry.non_runner = rng.choice(NR_REASONS)
    return entries


# --- results ----------------------------------------------------------------------------------------
def _finish_order(rng: random.Random, runners: list[Entry]) -> list[Entry]:
    """Plackett-Luce on the SP: favourites usually, not always, win."""
    pool, order = list(runners), []
    while pool:
        weights = [1 / _price_decimal(e.sp) for e in pool]
        pick = rng.choices(range(len(pool)), weights)[0]
        order.append(pool.pop(pick))
    return order


def _margin(rng: random.Random, jumps: bool) -> tuple[str, float]:
    if rng.random() < 0.18:
        return rng.choice(MARGIN_WORDS)
    if jumps and rng.random() < 0.02:
        return "dist", 35.0
    steps = (0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 11, 13)
    x = min(rng.choice(steps), rng.choice(steps))      # small margins are the common ones
    return _margin_text(x), float(x)


def _positions(rng: random.Random, core: RaceCore, order: list[Entry]) -> list[dict]:
    """Position, btn and ovr_btn for each runner in finishing order (non-finishers last)."""
    jumps = core.rtype != "Flat"
    finishers = [e for e in order if not (jumps and rng.random() < 0.06)] or order[:1]
    fallers = [e for e in order if e not in finishers]
    dead_heat = rng.random() < 0.012 and len(finishers) > 2
    rows, total, pos = [], 0.0, 0
    for i, entry in enumerate(finishers):
        if i == 0:
            btn, dist = "0", 0.0
        elif dead_heat and i == 1:
            btn, dist = "dht", 0.0
        else:
            btn, dist = _margin(rng, jumps)
        total += dist
        pos = pos if (dead_heat and i == 1) else i + 1
        ovr = btn if i == 1 and btn in WORD_MARGINS else _margin_text(total)
        rows.append({"entry": entry, "position": str(pos), "btn": btn, "ovr_btn": ovr, "lengths": total})
    if rng.random() < 0.003 and len(rows) > 3:
        rows[-1]["position"] = "DSQ"
    rows += [{"entry": e, "position": rng.choice(NONFINISH), "btn": "", "ovr_btn": "", "lengths": None} for e in fallers]
    if rng.random() < 0.001:
        rows[-1]["position"] = "VOI"
    return rows


def _sp_text(entry: Entry, favourite: Entry) -> str:
    return entry.sp + ("F" if entry is favourite else "")


def _pedigree(horse: dict) -> dict:
    dam = horse["dam"]
    return {"sire": horse["sire"]["name"], "sire_id": horse["sire"]["id"], "dam": dam["name"], "dam_id": dam["id"],
            "damsire": dam["damsire"]["name"], "damsire_id": dam["damsire"]["id"]}


def _silk(horse: dict) -> str:
    n = int(horse["owner"]["id"][4:])
    return f"https://www.rp-assets.com/svg/{n % 10}/{n // 10 % 10}/{n % 7}/{n}.svg"


def _result_runner(rng: random.Random, core: RaceCore, row: dict, favourite: Entry, win_secs: float, prizes: list[float]) -> dict:
    entry, horse = row["entry"], row["entry"].horse
    finished = row["lengths"] is not None and row["position"] not in ("DSQ", "VOI")
    place = int(row["position"]) if row["position"].isdigit() else 99
    symbol = "€" if core.meeting.course.region_code == "ire" else ""
    secs_per_length = 0.17 if core.rtype == "Flat" else 0.25
    comment = (rng.choice(COMMENTS_WIN) if place == 1 else
               COMMENTS_NF.get(row["position"], rng.choice(COMMENTS_OTHER)))
    return {
        "horse_id": horse["id"], "horse": horse["name"], "sp": _sp_text(entry, favourite),
        "sp_dec": f"{_price_decimal(entry.sp):.2f}", "bsp": "" if rng.random() < 0.15 else f"{_price_decimal(entry.sp) * rng.uniform(0.9, 1.4):.2f}",
        "number": str(entry.number), "position": row["position"], "draw": entry.draw, "btn": row["btn"],
        "ovr_btn": row["ovr_btn"], "age": str(core.day.year - int(horse["dob"][:4])), "sex": horse["sex_code"],
        "weight": f"{entry.lbs // 14}-{entry.lbs % 14}", "weight_lbs": str(entry.lbs), "headgear": entry.headgear,
        "time": _race_time(win_secs + row["lengths"] * secs_per_length) if finished else "",
        "or": entry.rating, "rpr": entry.rpr, "tsr": entry.ts,
        "prize": f"{symbol}{prizes[place - 1]:.2f}" if place <= len(prizes) else "",
        "jockey": entry.jockey["name"], "jockey_claim_lbs": entry.jockey["claim"], "jockey_id": entry.jockey["id"],
        "trainer": horse["trainer"]["name"], "trainer_id": horse["trainer"]["id"],
        "owner": horse["owner"]["name"], "owner_id": horse["owner"]["id"], **_pedigree(horse),
        "comment": comment, "silk_url": _silk(horse),
    }


def _tote(rng: random.Random, symbol: str, runners: int, handicap: bool) -> dict:
    amount = lambda lo, hi: _money(rng.uniform(lo, hi), symbol)  # noqa: E731 - local shorthand
    places = 3 if runners >= 8 else 2
    return {"tote_win": amount(1.5, 25), "tote_pl": " ".join(amount(1.1, 8) for _ in range(places)),
            "tote_ex": amount(5, 300), "tote_csf": amount(4, 250),
            "tote_tricast": amount(20, 2000) if handicap and runners >= 8 else "",
            "tote_trifecta": amount(20, 3000) if runners >= 8 else ""}


def _race_fields(core: RaceCore) -> dict:
    course = core.meeting.course
    return {"race_id": core.race_id, "date": core.day.isoformat(), "region": course.region_code.upper(),
            "course": course.name, "course_id": course.id, "off_dt": core.off_dt.isoformat(),
            "race_name": core.race_name, "type": core.rtype, "pattern": core.pattern, "rating_band": core.rating_band,
            "age_band": core.age_band, "going": core.meeting.going,
            "surface": "AW" if course.kind == "A" else "Turf", "jumps": _jumps_text(core)}


def _jumps_text(core: RaceCore) -> str:
    count = int(core.furlongs / 2.2)
    return {"Hurdle": f"{count} hurdles", "Chase": f"{count + 4} fences"}.get(core.rtype, "")


def _result(rng: random.Random, core: RaceCore, entries: list[Entry]) -> dict:
    runners = [e for e in entries if not e.non_runner]
    favourite = min(runners, key=lambda e: _price_decimal(e.sp))
    rows = _positions(rng, core, _finish_order(rng, runners))
    standard = core.furlongs * (12.3 if core.rtype == "Flat" else 14.2) + 2
    delta = rng.uniform(-1.5, 9)
    win_secs = standard + delta
    symbol = "€" if core.meeting.course.region_code == "ire" else "£"
    prizes = [core.prize * share for share in (0.6, 0.2, 0.1, 0.05)[: 4 if len(runners) >= 8 else 3]]
    detail = f"{_race_time_detail(win_secs)} ({'slow' if delta > 0 else 'fast'} by {abs(delta):.2f}s)"
    return {
        **_race_fields(core), "off": _twelve_hour(core.off_dt.time()), "class": core.race_class,
        "sex_rest": core.sex_rest, "dist": _distance_text(core.furlongs), "dist_y": str(core.yards),
        "dist_m": str(round(core.yards * 0.9144)), "dist_f": f"{core.furlongs:g}f",
        "runners": [_result_runner(rng, core, row, favourite, win_secs, prizes) for row in rows],
        "winning_time_detail": detail, "comments": "",
        "non_runners": ", ".join(f"{e.horse['name']} ({e.non_runner})" for e in entries if e.non_runner),
        **_tote(rng, symbol, len(runners), bool(core.rating_band)),
    }


def _race_time_detail(secs: float) -> str:
    minutes, rest = divmod(secs, 60)
    return f"{int(minutes)}m {rest:.2f}s" if minutes else f"{rest:.2f}s"


# --- racecards --------------------------------------------------------------------------------------
def _odds_list(rng: random.Random, entry: Entry, day: date) -> list[dict]:
    books = rng.sample(BOOKMAKERS, rng.randint(2, 3))
    base = PRICES.index(entry.sp)
    rows = []
    for book in books:
        frac = PRICES[max(0, min(len(PRICES) - 1, base + rng.randint(-2, 2)))]
        rows.append({"bookmaker": book, "fractional": frac, "decimal": f"{_price_decimal(frac):.2f}",
                     "ew_places": "3", "ew_denom": "5", "updated": f"{day - timedelta(days=1)} 18:{rng.randint(0, 59):02d}:00",
                     "history": []})
    return rows


def _form(rng: random.Random) -> str:
    return "".join(rng.choice("1234567890PF-/") for _ in range(rng.randint(0, 6))).strip("-/")


def _card_runner(rng: random.Random, core: RaceCore, entry: Entry) -> dict:
    horse = entry.horse
    dam, sire = horse["dam"], horse["sire"]
    runs = rng.randint(0, 40)
    wins = rng.randint(0, runs // 3) if runs else 0
    prev_t, prev_o = horse["prev_trainer"], horse["prev_owner"]
    change = (core.day - timedelta(days=rng.randint(30, 700))).isoformat()
    return {
        "horse_id": horse["id"], "horse": horse["name"], "dob": horse["dob"], "age": str(core.day.year - int(horse["dob"][:4])),
        "sex": horse["sex"], "sex_code": horse["sex_code"], "colour": horse["colour_code"], "region": horse["region"],
        "breeder": horse["breeder"], **_pedigree(horse), "dam_region": dam["region"], "sire_region": sire["region"],
        "damsire_region": dam["damsire"]["region"], "trainer": horse["trainer"]["name"], "trainer_id": horse["trainer"]["id"],
        "trainer_location": horse["trainer"]["location"],
        "trainer_14_days": {"runs": str(runs), "wins": str(wins), "percent": str(round(100 * wins / runs)) if runs else "0"},
        "owner": horse["owner"]["name"], "owner_id": horse["owner"]["id"],
        "prev_trainers": [{"trainer": prev_t["name"], "trainer_id": prev_t["id"], "change_date": change}] if prev_t else [],
        "prev_owners": [{"owner": prev_o["name"], "owner_id": prev_o["id"], "change_date": change}] if prev_o else [],
        "comment": rng.choice(COMMENTS_OTHER) if rng.random() < 0.7 else "",
        "spotlight": f"{horse['name']} {rng.choice(('has solid claims', 'is one to note', 'needs to improve', 'could go well'))}.",
        "quotes": [], "stable_tour": [{"quote": "We like him and he's in good form."}] if rng.random() < 0.05 else [],
        "medical": [{"date": change, "type": "Wind Surgery"}] if rng.random() < 0.03 else [],
        "number": str(entry.number), "draw": entry.draw, "headgear": entry.headgear,
        "headgear_run": "1" if entry.headgear and rng.random() < 0.2 else "", "wind_surgery": "1" if rng.random() < 0.04 else "",
        "wind_surgery_run": "", "past_results_flags": rng.sample(["C", "D", "CD", "BF"], rng.randint(0, 2)),
        "lbs": str(entry.lbs), "ofr": entry.rating, "rpr": entry.rpr, "ts": entry.ts,
        "jockey": entry.jockey["name"],
        "jockey_id": entry.jockey["id"], "silk_url": _silk(horse), "last_run": str(rng.randint(7, 400)) if runs else "",
        "form": _form(rng) if runs else "", "trainer_rtf": str(rng.randint(0, 80)), "odds": _odds_list(rng, entry, core.day),
    }


def _racecard(rng: random.Random, core: RaceCore, entries: list[Entry]) -> dict:
    symbol = "€" if core.meeting.course.region_code == "ire" else "£"
    return {
        **_race_fields(core), "off_time": _twelve_hour(core.off_dt.time()), "distance_round": _distance_text(round(core.furlongs)),
        "distance": _distance_text(core.furlongs), "distance_f": f"{core.furlongs:.1f}", "sex_restriction": core.sex_rest,
        "race_class": core.race_class, "prize": f"{symbol}{core.prize:,}",
        "field_size": str(len(entries)), "going_detailed": f"{core.meeting.going} (GoingStick: {rng.uniform(4, 9):.1f})",
        "rail_movements": "" if rng.random() < 0.7 else "Rail movements add 12yds", "stalls": "Inside" if core.rtype == "Flat" else "",
        "weather": rng.choice(("Sunny", "Cloudy", "Overcast", "Showers", "Light rain", "")),
        "runners": [_card_runner(rng, core, e) for e in entries], "big_race": bool(core.pattern.startswith(("Group 1", "Grade 1"))),
        "is_abandoned": core.abandoned, "tip": "", "verdict": f"{entries[0].horse['name']} gets the nod.",
        "betting_forecast": ", ".join(f"{e.sp} {e.horse['name']}" for e in sorted(entries, key=lambda e: _price_decimal(e.sp))[:3]),
        "race_status": "Abandoned" if core.abandoned else "",
    }


# --- the dataset ------------------------------------------------------------------------------------
@dataclass
class GeneratedDay:
    """One day as ``build_day`` generates it: its racecards and results as API payload dicts, in
    off-time order (``EncodedDay`` is the same day serialised for serving)."""
    racecards: list[dict]
    results: list[dict]


def _sort_key(race: dict) -> tuple:
    return datetime.fromisoformat(race["off_dt"]), race["race_id"]


def build_day(seed: int, day: date) -> GeneratedDay:
    """Generate one day from (seed, day) only."""
    rng = _rng(seed, "day", day.toordinal())
    cards, results, serial = [], [], 0
    for meeting in _meetings(rng, day):
        zone = ZONES[meeting.course.region_code]
        off = datetime.combine(day, meeting.first_off, tzinfo=zone)
        for idx in range(meeting.races):
            serial += 1
            race_id = f"rac_{day.toordinal() - 700000:05d}{serial:03d}"
            race_rng = _rng(seed, race_id)
            core = _make_core(race_rng, day, meeting, idx, off, race_id)
            entries = _entries(race_rng, seed, core)
            cards.append(_racecard(race_rng, core, entries))
            if not core.abandoned:
                results.append(_result(race_rng, core, entries))
            off += timedelta(minutes=rng.choice((20, 25, 30, 30)))
    return GeneratedDay(sorted(cards, key=_sort_key), sorted(results, key=_sort_key))


@dataclass(frozen=True)
class EncodedDay:
    """One day as the server sends it: each race already serialised, with its region (for the
    region filters). Pages are joined from these bytes, so serving a request costs no JSON work."""
    results: tuple[tuple[str, bytes], ...]
    racecards: tuple[tuple[str, bytes], ...]


def _encode_races(races: list[dict]) -> tuple[tuple[str, bytes], ...]:
    return tuple((race["region"].lower(), json.dumps(race, ensure_ascii=False).encode("utf-8"))
                 for race in races)


def encode_day(seed: int, day: date) -> EncodedDay:
    """Generate and serialise one day (a module-level function, so worker processes can run it)."""
    data = build_day(seed, day)
    return EncodedDay(_encode_races(data.results), _encode_races(data.racecards))


def _decoded(races: list[bytes]) -> list[dict]:
    """Fresh dicts every call: a caller (a fault, a test) may mutate what it gets."""
    return json.loads(b"[" + b",".join(races) + b"]")


class Dataset:
    """The simulator's ground truth, addressable without HTTP.

    Days are kept serialised in a bounded LRU (about 1 MB a day); ``prebuild`` fills it ahead for a
    range, the way the real API answers from stored data instead of generating it per request."""

    DEFAULT_CACHED_DAYS = 64

    def __init__(self, seed: int):
        self.seed = seed
        self._cache: OrderedDict[date, EncodedDay] = OrderedDict()
        self._capacity = self.DEFAULT_CACHED_DAYS
        self._lock = threading.Lock()

    def encoded(self, day: date) -> EncodedDay:
        with self._lock:
            hit = self._cache.get(day)
            if hit is not None:
                self._cache.move_to_end(day)
                return hit
        encoded = encode_day(self.seed, day)     # built outside the lock: requests stay concurrent
        self._remember(day, encoded)
        return encoded

    def _remember(self, day: date, encoded: EncodedDay) -> None:
        with self._lock:
            self._cache[day] = encoded
            self._cache.move_to_end(day)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)

    def prebuild(self, start: date, end: date, workers: int = 1) -> int:
        """Generate every day of [start, end] now (in ``workers`` processes) and keep them all."""
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        self._capacity = max(self._capacity, len(days) + self.DEFAULT_CACHED_DAYS)
        if workers > 1 and len(days) > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                built = pool.map(encode_day, [self.seed] * len(days), days, chunksize=8)
                for day, encoded in zip(days, built):
                    self._remember(day, encoded)
        else:
            for day in days:
                self._remember(day, encode_day(self.seed, day))
        return len(days)

    @staticmethod
    def _wanted(races: tuple[tuple[str, bytes], ...], regions) -> list[bytes]:
        if regions is None:
            return [race for _region, race in races]
        wanted = {r.lower() for r in regions}
        return [race for region, race in races if region in wanted]

    def results_json(self, day: date, regions=("gb", "ire")) -> list[bytes]:
        """The day's results, each race serialised (what the server pages through)."""
        if day < RESULTS_FROM:
            return []
        return self._wanted(self.encoded(day).results, regions)

    def racecards_json(self, day: date, regions=("gb", "ire")) -> list[bytes]:
        return self._wanted(self.encoded(day).racecards, regions)

    def results_for(self, day: date, regions=("gb", "ire")) -> list[dict]:
        return _decoded(self.results_json(day, regions))

    def racecards_for(self, day: date, regions=("gb", "ire")) -> list[dict]:
        return _decoded(self.racecards_json(day, regions))

    def horse_pro(self, horse_id: str) -> dict | None:
        key = parse_horse_id(horse_id)
        if key is None:
            return None
        horse = _horse(self.seed, *key)
        return None if horse["missing_profile"] else _horse_pro(horse)

    def regions(self) -> list[dict]:
        return [{"region": name, "region_code": code} for name, code in REGIONS]

    def courses(self, region_codes=None) -> list[dict]:
        wanted = {c.lower() for c in region_codes} if region_codes else None
        return [{"id": c.id, "course": c.name, "region_code": c.region_code, "region": REGION_NAMES[c.region_code]}
                for c in COURSES if wanted is None or c.region_code in wanted]
