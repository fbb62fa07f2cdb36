"""The backfill report tells the truth: every figure in summary.md matches an independent SQL count,
gaps and anomalies are named, the heatmap has its documented size, and the JSON serves cron.

The database is built through the store (SQLite, and PostgreSQL when the local server is up) with a
deliberately missing week, a racecards-only day, a day with results but no runners and a day in the
error log, spread over a year boundary so the heatmap has two bands.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import pg_databases
from utils.commands import report

REPO = Path(__file__).resolve().parents[1]
START, END = date(2023, 12, 1), date(2024, 2, 29)
TODAY = date(2024, 3, 1)                                   # so 2024-02-29 is "yesterday"
MISSING_WEEK = (date(2024, 1, 15), date(2024, 1, 21))
RACECARD_ONLY_DAY = date(2024, 2, 7)
NO_RUNNERS_DAY = date(2024, 2, 12)
ERROR_DAY = date(2024, 2, 20)
PROFILE_STATUSES = ("ok", "not_found", None)               # None = pending (key left out)


# --- building the database -----------------------------------------------------------------------
def _masters() -> dict[str, list[dict]]:
    horses = []
    for i in range(60):
        row = {"id": f"hrs_{i}", "name": f"Horse {i}"}
        status = PROFILE_STATUSES[i % 3]
        if status:
            row.update(profile_status=status, enriched_at=datetime(2024, 3, 1, tzinfo=UTC))
        horses.append(row)
    return {"ra_mst_horses": horses,
            "ra_mst_jockeys": [{"id": f"jky_{i}", "name": f"Jockey {i}"} for i in range(15)],
            "ra_mst_trainers": [{"id": f"trn_{i}", "name": f"Trainer {i}"} for i in range(12)],
            "ra_mst_owners": [{"id": f"own_{i}", "name": f"Owner {i}"} for i in range(20)]}


def _day_unit(day: date, rnd: random.Random) -> dict[str, list[dict]]:
    """A few GB and IRE races for one day, shaped by the day's role in the test."""
    races, runners = [], []
    for n in range(rnd.randint(2, 5)):
        race_id = f"rac_{day:%Y%m%d}_{n}"
        race = {"id": race_id, "date": day, "region": "ire" if n % 3 == 2 else "gb",
                "course_id": "crs_1", "has_racecard": True}
        if day != RACECARD_ONLY_DAY:
            race["has_result"] = True
        races.append(race)
        if day == NO_RUNNERS_DAY:
            continue
        for horse in rnd.sample(range(60), rnd.randint(3, 9)):
            runners.append({"race_id": race_id, "horse_id": f"hrs_{horse}",
                            "jockey_id": f"jky_{rnd.randrange(15)}", "trainer_id": f"trn_{rnd.randrange(12)}",
                            "owner_id": f"own_{rnd.randrange(20)}", "horse_name": f"Horse {horse}"})
    return {"ra_races": races, "ra_runners": runners}


def fill(store) -> None:
    rnd = random.Random(7)
    store.write_unit(_masters())
    day = START
    while day <= END:
        if not MISSING_WEEK[0] <= day <= MISSING_WEEK[1]:
            store.write_unit(_day_unit(day, rnd))
        day += timedelta(days=1)


def _open(url: str):
    from utils.stores import open_store
    from utils.stores.migrations import apply_migrations
    from utils.stores.target import resolve_database

    store = open_store(resolve_database(url, {}))
    apply_migrations(store)
    return store


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('report')}/r.db"
    store = _open(url)
    try:
        fill(store)
    finally:
        store.close()
    return url


@pytest.fixture(scope="module")
def postgres_url():
    """A fresh database on the shared test server (tests/pg_databases.py: ``DH_TEST_POSTGRES``, a
    loud skip when unreachable, a failure under REQUIRE_POSTGRES=1), filled once, dropped after."""
    with pg_databases.temporary_database("dh_report") as url:
        store = _open(url)
        try:
            fill(store)
        finally:
            store.close()
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request):
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def store(database_url):
    store = _open(database_url)
    yield store
    store.close()


@pytest.fixture
def error_log(tmp_path):
    path = tmp_path / "errors.json"
    path.write_text(json.dumps([{"timestamp": "2024-02-21T00:00:00+00:00", "chunk": "2024-02",
                                 "date": ERROR_DAY.isoformat(), "endpoint": "results",
                                 "error": "HTTP 503 after 5 retries"}]))
    return path


# --- the truth, by other SQL than the report's ---------------------------------------------------
def truth(store, year: int, region: str) -> dict[str, float]:
    """Every summary figure for one year and region, counted another way than utils/commands/report.py."""
    races = ("SELECT id FROM ra_races WHERE region = ? AND date >= ? AND date <= ?")
    p = (region, max(START, date(year, 1, 1)).isoformat(), min(END, date(year, 12, 31)).isoformat())

    def n(sql: str) -> int:
        return int(store.query(sql, p)[0][0] or 0)

    def distinct(col: str) -> int:
        return n(f"SELECT count(*) FROM (SELECT DISTINCT {col} FROM ra_runners "
                 f"WHERE race_id IN ({races}) AND {col} IS NOT NULL) x")

    def horses(condition: str) -> int:
        return n(f"SELECT count(*) FROM ra_mst_horses WHERE {condition} AND id IN "
                 f"(SELECT horse_id FROM ra_runners WHERE race_id IN ({races}))")

    runners = n(f"SELECT count(*) FROM ra_runners WHERE race_id IN ({races})")
    fields = n(f"SELECT count(*) FROM ra_races WHERE id IN ({races}) "
               f"AND id IN (SELECT race_id FROM ra_runners)")
    return {
        "races": n(f"SELECT count(*) FROM ({races}) x"),
        "runners": runners,
        "races_with_results": n(f"SELECT count(*) FROM ra_races WHERE id IN ({races}) AND has_result"),
        "racecard_only_races": n(f"SELECT count(*) FROM ra_races WHERE id IN ({races}) "
                                 f"AND has_racecard AND (has_result IS NULL OR NOT has_result)"),
        "avg_field_size": round(runners / fields, 2),
        "horses": distinct("horse_id"), "jockeys": distinct("jockey_id"),
        "trainers": distinct("trainer_id"), "owners": distinct("owner_id"),
        "horses_enriched": horses("profile_status = 'ok'"),
        "horses_not_found": horses("profile_status = 'not_found'"),
        "horses_pending": horses("profile_status IS NULL"),
    }


def expected_races(year: int, region: str) -> float:
    first, last = max(START, date(year, 1, 1)), min(END, date(year, 12, 31))
    year_days = 366 if year % 4 == 0 else 365
    return {"gb": 10_000, "ire": 2_900}[region] * ((last - first).days + 1) / year_days


def parse_table(markdown: str) -> dict[tuple[str, str], dict[str, str]]:
    """The summary table's rows keyed by (year, region), cells keyed by header."""
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[1:]:
        cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
        rows[(cells["Year"], cells["Region"])] = cells
    return rows


def number(cell: str) -> float:
    return float(cell.replace(",", "").rstrip("%"))


HEADERS = {"races": "Races", "runners": "Runners", "races_with_results": "With results",
           "racecard_only_races": "Racecard-only", "avg_field_size": "Avg field", "horses": "Horses",
           "jockeys": "Jockeys", "trainers": "Trainers", "owners": "Owners",
           "horses_enriched": "Enriched", "horses_not_found": "Not found", "horses_pending": "Pending"}


# --- tests ---------------------------------------------------------------------------------------
@pytest.fixture
def data(store, error_log):
    return report.collect_report(store, START, END, error_log=error_log, today=TODAY)


def test_every_summary_figure_matches_sql(store, data):
    table = parse_table(report.render_markdown(data))
    assert set(table) == {(str(y), r) for y in (2023, 2024) for r in ("gb", "ire")} | {("**total**", "all")}
    for (year, region), cells in table.items():
        if year == "**total**":
            continue
        want = truth(store, int(year), region)
        got = {key: number(cells[header]) for key, header in HEADERS.items()}
        assert got == pytest.approx(want), (year, region)
        assert want["races"] > 0 and want["horses_enriched"] and want["horses_not_found"] and want["horses_pending"]
        assert number(cells["Expected"]) == round(expected_races(int(year), region))
        assert number(cells["% of expected"]) == round(100 * want["races"] / expected_races(int(year), region), 1)


def test_total_row_adds_up(store, data):
    total = parse_table(report.render_markdown(data))[("**total**", "all")]
    assert number(total["Races"]) == int(store.query(
        "SELECT count(*) FROM ra_races WHERE date >= ? AND date <= ?", (START.isoformat(), END.isoformat()))[0][0])
    assert number(total["Runners"]) == int(store.query("SELECT count(*) FROM ra_runners")[0][0])
    assert total["Horses"] == ""    # distinct counts do not add across years


def test_summary_names_gaps_and_anomalies(data):
    text = report.render_markdown(data)
    assert f"- {MISSING_WEEK[0]} to {MISSING_WEEK[1]}" in text
    sections = text.split("## ")
    section = {s.split("(")[0].strip(): s for s in sections}
    assert f"- {RACECARD_ONLY_DAY}:" in section["Days with racecards but no results"]
    assert f"- {NO_RUNNERS_DAY}:" in section["Days with results but no runners"]
    assert f"- {ERROR_DAY}:" in section[next(k for k in section if k.startswith("Days in the error log"))]
    statuses = {d.day: d.status for d in data.days}
    assert statuses[RACECARD_ONLY_DAY] == report.RACECARD_ONLY
    assert statuses[NO_RUNNERS_DAY] == report.NO_RUNNERS
    assert statuses[ERROR_DAY] == report.ERROR
    assert statuses[MISSING_WEEK[0]] == report.NO_DATA
    assert data.last_day_with_results == END and data.yesterday_has_results


def test_racecard_only_day_is_not_a_gap_before_it_is_past(store, error_log):
    data = report.collect_report(store, START, END, error_log=error_log, today=RACECARD_ONLY_DAY)
    assert next(d for d in data.days if d.day == RACECARD_ONLY_DAY).status == report.STORED
    assert data.yesterday_has_results                      # 2024-02-06 has results


def test_png_has_the_documented_size_and_colours(data, tmp_path):
    import matplotlib.image

    path = report.render_png(data, tmp_path / "coverage.png")
    pixels = matplotlib.image.imread(path)
    width, height = report.figure_size_px(2)
    assert (width, height) == (1280, 128 + 2 * 192 + 16)
    assert pixels.shape[:2] == (height, width)
    rgb = (pixels[:, :, :3] * 255).round().astype(int)
    for status, colour in report.STATUS_COLOURS.items():
        target = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
        count = int((rgb == target).all(axis=2).sum())
        assert count > 300, f"{status}: {count} pixels"    # more than the legend swatch alone


def test_script_json_on_stdout_and_files(sqlite_url, error_log, tmp_path):
    out = tmp_path / "reports"
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "backfill_report.py"), "--database-url", sqlite_url,
         "--start-date", str(START), "--end-date", str(END), "--out", str(out), "--format", "json",
         "--error-log", str(error_log)], capture_output=True, text=True, timeout=120, cwd="/")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload == json.loads((out / "summary.json").read_text())
    assert payload["last_day_with_results"] == END.isoformat()
    assert payload["yesterday_has_results"] is False       # the data ends in 2024
    assert f"{MISSING_WEEK[0]} to {MISSING_WEEK[1]}" in payload["days_without_data"]
    assert [d["date"] for d in payload["racecard_only_days"]] == [RACECARD_ONLY_DAY.isoformat()]
    assert payload["error_log_days"] == [ERROR_DAY.isoformat()]
    assert sum(r["races"] for r in payload["rows"]) == payload["totals"]["races"]
    assert (out / "coverage.png").stat().st_size > 0 and (out / "summary.md").is_file()


def test_script_text_prints_the_table(sqlite_url, tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "backfill_report.py"), "--database-url", sqlite_url,
         "--out", str(tmp_path), "--error-log", str(tmp_path / "none.json")],
        capture_output=True, text=True, timeout=120, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "| Year | Region | Races |" in result.stdout
    assert (tmp_path / "summary.md").read_text() in result.stdout


def test_script_refuses_a_reversed_range(sqlite_url, tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "backfill_report.py"), "--database-url", sqlite_url,
         "--start-date", str(END), "--end-date", str(START), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd="/")
    assert result.returncode == 2
    assert "before --start-date" in result.stderr and "Traceback" not in result.stderr
