"""The backfill report: what the database holds, day by day and per year and region, and where it is thin.

Why a report beside ``verification``: verification answers "is anything broken" (PASS/FAIL); the
report answers "how complete is the backfill" at a glance — a calendar heatmap (``coverage.png``), a
table with the volumes the real calendar leads one to expect (``summary.md``) and the same figures as
JSON for cron alerts. All figures come from aggregate reads (``utils/stores/reads.py``: ``report_days``,
``report_people`` and a few scalars), which every store runs — over REST as database functions — so
the report never loads a table into Python and stays fast on 1.5 million runners.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from utils.pipeline.checkpoint import ErrorLog, atomic_write_json
from utils.commands.cli import LOGS_DIR
from utils.planning import days_between, uk_today
from utils.checks.verification import NO_RACING_DAYS, ranges as date_ranges

# The events backfill's default error log (utils.commands.events.DEFAULT_ERROR_LOG; not imported from
# there because that module pulls in the whole fetch pipeline, which a read-only report never needs).
DEFAULT_ERROR_LOG = LOGS_DIR / "backfill_events_errors.json"

# Races a full calendar year holds in the real calendar (about 13,000 GB+IRE); a year covered only
# in part is expected to hold the same share, so an incomplete backfill shows as a low percentage.
EXPECTED_RACES_PER_YEAR = {"gb": 10_000, "ire": 2_900}

# Day statuses, most alarming first: a day shows the first that applies.
ERROR = "in the error log"
NO_RUNNERS = "results without runners"
RACECARD_ONLY = "racecards, no results"
NO_DATA = "no data"
STORED = "stored"


# --- the figures ---------------------------------------------------------------------------------
@dataclass
class DayRow:
    """One calendar day of the range, all regions together."""

    day: date
    races: int = 0
    results: int = 0
    racecard_only: int = 0
    results_without_runners: int = 0
    in_error_log: bool = False
    past: bool = True   # before "today": a racecard-only race is then a gap, not a pending result

    @property
    def status(self) -> str:
        if self.in_error_log:
            return ERROR
        if self.results_without_runners:
            return NO_RUNNERS
        if self.racecard_only and self.past:
            return RACECARD_ONLY
        return STORED if self.races else NO_DATA


@dataclass
class YearRegionRow:
    """The summary table's row for one year and region."""

    year: int
    region: str
    expected_races: float | None = None
    races: int = 0
    races_with_results: int = 0
    racecard_only_races: int = 0
    runners: int = 0
    races_with_runners: int = 0
    horses: int = 0
    jockeys: int = 0
    trainers: int = 0
    owners: int = 0
    horses_enriched: int = 0
    horses_not_found: int = 0
    horses_pending: int = 0

    @property
    def avg_field_size(self) -> float | None:
        """Runners per race that has runners (a race stored without runners is a gap, not a walkover)."""
        return self.runners / self.races_with_runners if self.races_with_runners else None

    @property
    def pct_of_expected(self) -> float | None:
        return 100.0 * self.races / self.expected_races if self.expected_races else None


ADDITIVE = ("races", "races_with_results", "racecard_only_races", "runners", "races_with_runners")


@dataclass
class ReportData:
    start: date
    end: date
    today: date
    days: list[DayRow]
    rows: list[YearRegionRow]
    last_day_with_results: date | None
    yesterday_has_results: bool
    error_log: str | None = None
    database: str | None = None
    totals: YearRegionRow = field(init=False)

    def __post_init__(self) -> None:
        total = YearRegionRow(0, "all", expected_races=sum(r.expected_races or 0 for r in self.rows) or None)
        for name in ADDITIVE:
            setattr(total, name, sum(getattr(r, name) for r in self.rows))
        self.totals = total

    @property
    def years(self) -> list[int]:
        return list(range(self.start.year, self.end.year + 1))

    def days_with(self, status: str) -> list[DayRow]:
        return [d for d in self.days if d.status == status]

    def missing_days(self) -> list[date]:
        """Days with no race at all; Christmas Eve and Day have no racing, so they are never a gap."""
        return [d.day for d in self.days_with(NO_DATA) if (d.day.month, d.day.day) not in NO_RACING_DAYS]

    def missing_day_ranges(self) -> list[str]:
        return date_ranges(self.missing_days())


# --- collecting ----------------------------------------------------------------------------------
def default_range(store: Any, today: date) -> tuple[date, date]:
    """First stored day to the later of yesterday and the last stored day (so a stalled backfill's
    missing recent days show as gaps)."""
    span = store.read("date_span")[0]
    first, last = span["first"], span["last"]
    yesterday = today - timedelta(days=1)
    if not first:
        return yesterday, yesterday
    return _day(first), max(_day(last), yesterday)


def collect(store: Any, start: date, end: date, *, error_log_path: Path | None = DEFAULT_ERROR_LOG,
            today: date | None = None) -> ReportData:
    """Every figure of the report for ``start``..``end`` from any store (its named reads)."""
    today = today or uk_today()
    day_rows = [_values(r, _DAY_COLUMNS) for r in store.read("report_days", start=start, end=end)]
    people_rows = [_values(r, _PEOPLE_COLUMNS) for r in store.read("report_people", start=start, end=end)]
    failed = _error_days(error_log_path, start, end)
    yesterday = today - timedelta(days=1)
    last = store.read("last_result_day")[0]["day"]
    return ReportData(
        start=start, end=end, today=today,
        days=_days(day_rows, start, end, today, failed),
        rows=_year_region_rows(day_rows, people_rows, start, end),
        last_day_with_results=_day(last) if last else None,
        yesterday_has_results=_int(store.read("results_on_day", day=yesterday)[0]["n"]) > 0,
        error_log=str(error_log_path) if error_log_path else None,
        database=getattr(store, "display", None))


_DAY_COLUMNS = ("day", "region", "races", "results", "racecard_only", "results_without_runners")
_PEOPLE_COLUMNS = ("year", "region", "runners", "races_with_runners", "horses", "jockeys", "trainers",
                   "owners", "horses_enriched", "horses_not_found", "horses_pending")


def _values(row: dict, columns: tuple[str, ...]) -> tuple:
    """A read's row as the tuple the figures below unpack (the read's column order)."""
    return tuple(row[c] for c in columns)


def _day(value: Any) -> date:
    return date.fromisoformat(str(value)[:10])


def _int(value: Any) -> int:
    return int(value or 0)


def _error_days(path: Path | None, start: date, end: date) -> set[date]:
    if path is None:
        return set()
    return {d for d in ErrorLog.load(Path(path)).failed_dates() if start <= d <= end}


def _days(day_rows: list[tuple], start: date, end: date, today: date, failed: set[date]) -> list[DayRow]:
    days = {d: DayRow(d, in_error_log=d in failed, past=d < today) for d in days_between(start, end)}
    for day_text, _region, races, results, card_only, no_runners in day_rows:
        row = days[_day(day_text)]
        row.races += _int(races)
        row.results += _int(results)
        row.racecard_only += _int(card_only)
        row.results_without_runners += _int(no_runners)
    return list(days.values())


def _year_region_rows(day_rows: list[tuple], people_rows: list[tuple],
                      start: date, end: date) -> list[YearRegionRow]:
    rows: dict[tuple[int, str], YearRegionRow] = {}

    def row(year: int, region: str) -> YearRegionRow:
        if (year, region) not in rows:
            rows[(year, region)] = YearRegionRow(year, region, _expected(region, year, start, end))
        return rows[(year, region)]

    for year in range(start.year, end.year + 1):
        for region in EXPECTED_RACES_PER_YEAR:
            row(year, region)
    for day_text, region, races, results, card_only, _no_runners in day_rows:
        r = row(_day(day_text).year, str(region))
        r.races += _int(races)
        r.races_with_results += _int(results)
        r.racecard_only_races += _int(card_only)
    for year, region, *figures in people_rows:
        r = row(int(year), str(region))
        (r.runners, r.races_with_runners, r.horses, r.jockeys, r.trainers, r.owners,
         r.horses_enriched, r.horses_not_found, r.horses_pending) = (_int(v) for v in figures)
    return [rows[k] for k in sorted(rows)]


def _expected(region: str, year: int, start: date, end: date) -> float | None:
    """The region's yearly volume, scaled by the share of ``year`` that the range covers."""
    per_year = EXPECTED_RACES_PER_YEAR.get(region)
    if per_year is None:
        return None
    first, last = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
    covered = (last - first).days + 1
    return per_year * covered / ((date(year, 12, 31) - date(year, 1, 1)).days + 1)


# --- text and JSON -------------------------------------------------------------------------------
COLUMNS = (  # (header, attribute, format) of the summary table
    ("Year", "year", "{}"), ("Region", "region", "{}"), ("Races", "races", "{:,}"),
    ("Expected", "expected_races", "{:,.0f}"), ("% of expected", "pct_of_expected", "{:.1f}%"),
    ("Runners", "runners", "{:,}"), ("With results", "races_with_results", "{:,}"),
    ("Racecard-only", "racecard_only_races", "{:,}"), ("Avg field", "avg_field_size", "{:.2f}"),
    ("Horses", "horses", "{:,}"), ("Jockeys", "jockeys", "{:,}"), ("Trainers", "trainers", "{:,}"),
    ("Owners", "owners", "{:,}"), ("Enriched", "horses_enriched", "{:,}"),
    ("Not found", "horses_not_found", "{:,}"), ("Pending", "horses_pending", "{:,}"),
)
# distinct counts do not add up across years and regions: the total row leaves them blank
_TOTAL_COLUMNS = {"races", "expected_races", "pct_of_expected", "runners", "races_with_results",
                  "racecard_only_races", "avg_field_size"}


def _cell(row: YearRegionRow, attr: str, fmt: str, total: bool) -> str:
    if total and attr == "year":
        return "**total**"
    if total and attr not in _TOTAL_COLUMNS | {"region"}:
        return ""
    value = getattr(row, attr)
    return "–" if value is None else fmt.format(value)


def summary_table(data: ReportData) -> list[str]:
    """The per-year-and-region table as Markdown lines (also printed on the console)."""
    lines = ["| " + " | ".join(h for h, _, _ in COLUMNS) + " |",
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|"]
    for row, total in [(r, False) for r in data.rows] + [(data.totals, True)]:
        lines.append("| " + " | ".join(_cell(row, a, f, total) for _, a, f in COLUMNS) + " |")
    return lines


def _day_list(title: str, days: list[DayRow], describe) -> list[str]:
    lines = [f"## {title} ({len(days)})", ""]
    lines += [f"- {d.day}: {describe(d)}" for d in days] or ["- none"]
    return lines + [""]


def render_markdown(data: ReportData) -> str:
    gaps = data.missing_day_ranges()
    last = data.last_day_with_results or "none"
    lines = [f"# Backfill report {data.start} to {data.end}", ""]
    if data.database:
        lines += [f"Database: {data.database}", ""]
    lines += [f"Last day with results: **{last}**; yesterday ({data.today - timedelta(days=1)}) has "
              f"results: **{'yes' if data.yesterday_has_results else 'NO'}**.", "",
              "Expected volumes: about "
              + ", ".join(f"{n:,} {r}" for r, n in EXPECTED_RACES_PER_YEAR.items())
              + " races a year, scaled by the share of each year in the range.", "",
              *summary_table(data), "",
              f"## Days with no data ({len(data.missing_days())} days)", "", *([f"- {g}" for g in gaps] or ["- none"]), "",
              *_day_list("Days with racecards but no results", data.days_with(RACECARD_ONLY),
                         lambda d: f"{d.racecard_only} racecard-only races, {d.results} with results"),
              *_day_list("Days with results but no runners", data.days_with(NO_RUNNERS),
                         lambda d: f"{d.results_without_runners} races with results and no runners"),
              *_day_list(f"Days in the error log {data.error_log or ''}".rstrip(),
                         [d for d in data.days if d.in_error_log], lambda d: f"{d.races} races stored")]
    return "\n".join(lines).rstrip() + "\n"


def _row_json(row: YearRegionRow) -> dict[str, Any]:
    out = asdict(row)
    out["expected_races"] = None if row.expected_races is None else round(row.expected_races)
    out["pct_of_expected"] = None if row.pct_of_expected is None else round(row.pct_of_expected, 1)
    out["avg_field_size"] = None if row.avg_field_size is None else round(row.avg_field_size, 2)
    return out


def to_json(data: ReportData) -> dict[str, Any]:
    """The report for monitoring: cron alerts on ``yesterday_has_results`` / ``last_day_with_results``."""
    totals = {k: v for k, v in _row_json(data.totals).items() if k in _TOTAL_COLUMNS}
    return {
        "start_date": data.start.isoformat(), "end_date": data.end.isoformat(),
        "today": data.today.isoformat(),
        "last_day_with_results": data.last_day_with_results and data.last_day_with_results.isoformat(),
        "yesterday_has_results": data.yesterday_has_results,
        "rows": [_row_json(r) for r in data.rows],
        "totals": totals,
        "days_without_data": data.missing_day_ranges(),
        "racecard_only_days": [{"date": d.day.isoformat(), "races": d.racecard_only}
                               for d in data.days_with(RACECARD_ONLY)],
        "result_days_without_runners": [{"date": d.day.isoformat(), "races": d.results_without_runners}
                                        for d in data.days_with(NO_RUNNERS)],
        "error_log_days": [d.day.isoformat() for d in data.days if d.in_error_log],
    }


def write_files(data: ReportData, out_dir: Path) -> list[Path]:
    """coverage.png, summary.md and summary.json in ``out_dir`` (created if needed)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = out_dir / "summary.md"
    summary.write_text(render_markdown(data), encoding="utf-8")
    atomic_write_json(out_dir / "summary.json", to_json(data))
    return [render_png(data, out_dir / "coverage.png"), summary, out_dir / "summary.json"]


# --- the calendar heatmap ------------------------------------------------------------------------
# Sizes in pixels at a power-of-two dpi, so inches = px / DPI are exact and the PNG's pixel size is
# exactly figure_size_px(): tests (and the README) can rely on it.
DPI = 128
WIDTH_PX, HEADER_PX, YEAR_PX, FOOTER_PX = 1280, 128, 192, 16
LEFT_PX, RIGHT_PX, LABELS_PX = 112, 32, 40      # year/weekday labels, margin, month labels under a band
WEEKS = 54   # a year touches at most 54 Monday-based weeks (a leap year starting on a Sunday)

STATUS_COLOURS = {ERROR: "#d62728", NO_RUNNERS: "#ff7f0e", RACECARD_ONLY: "#9467bd", NO_DATA: "#d0d0d0"}
OUTSIDE_COLOUR = "#ffffff"   # days of a year band outside the range
COLORMAP = "Greens"
_CMAP_FLOOR = 0.25           # the lightest green used, so a day with one race is still visibly green


def figure_size_px(n_years: int) -> tuple[int, int]:
    """(width, height) of coverage.png for a range spanning ``n_years`` calendar years."""
    return WIDTH_PX, HEADER_PX + YEAR_PX * n_years + FOOTER_PX


def render_png(data: ReportData, path: Path) -> Path:
    """Write the calendar heatmap: one band per year, weeks as columns, weekdays as rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width, height = figure_size_px(len(data.years))
    fig = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    try:
        colours = _day_colours(data)
        for index, year in enumerate(data.years):
            _draw_year(fig, year, index, colours, height)
        _draw_header(fig, data, height)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, format="png")
    finally:
        plt.close(fig)
    return path


def _races_colormap():
    """The sequential colormap for stored days, without its near-white end."""
    import matplotlib
    from matplotlib.colors import ListedColormap

    base = matplotlib.colormaps[COLORMAP]
    return ListedColormap(base([_CMAP_FLOOR + (1 - _CMAP_FLOOR) * i / 255 for i in range(256)]))


def _day_colours(data: ReportData) -> dict[date, tuple]:
    from matplotlib.colors import to_rgb

    cmap = _races_colormap()
    peak = max((d.races for d in data.days), default=0) or 1
    return {d.day: to_rgb(STATUS_COLOURS[d.status]) if d.status != STORED else cmap(d.races / peak)[:3]
            for d in data.days}


def _axes_rect(index: int, height: int) -> list[float]:
    """Figure-fraction rectangle of year band ``index`` (0 = top), cells kept square."""
    cell = (WIDTH_PX - LEFT_PX - RIGHT_PX) / WEEKS
    top = HEADER_PX + YEAR_PX * index
    bottom_px = height - top - 7 * cell
    return [LEFT_PX / WIDTH_PX, bottom_px / height, WEEKS * cell / WIDTH_PX, 7 * cell / height]


def _draw_year(fig, year: int, index: int, colours: dict[date, tuple], height: int) -> None:
    import numpy as np
    from matplotlib.colors import to_rgb

    origin = date(year, 1, 1) - timedelta(days=date(year, 1, 1).weekday())   # the Monday of week 0
    grid = np.tile(np.array(to_rgb(OUTSIDE_COLOUR)), (7, WEEKS, 1))
    for day in days_between(date(year, 1, 1), date(year, 12, 31)):
        if day in colours:
            grid[day.weekday(), (day - origin).days // 7] = colours[day]
    rect = _axes_rect(index, height)
    ax = fig.add_axes(rect)
    ax.imshow(grid, aspect="auto", interpolation="nearest")
    ax.set_xticks([i - 0.5 for i in range(WEEKS + 1)], minor=True)
    ax.set_yticks([i - 0.5 for i in range(8)], minor=True)
    ax.grid(which="minor", color="white", linewidth=1.2)
    ax.tick_params(which="both", length=0, labelsize=8)
    months = [date(year, m, 1) for m in range(1, 13)]
    ax.set_xticks([(m - origin).days // 7 for m in months], [f"{m:%b}" for m in months])
    ax.set_yticks([0, 2, 4, 6], ["Mon", "Wed", "Fri", "Sun"])
    fig.text(12 / WIDTH_PX, rect[1] + rect[3] / 2, str(year), fontsize=12, fontweight="bold", va="center")
    for spine in ax.spines.values():
        spine.set_visible(False)


def _draw_header(fig, data: ReportData, height: int) -> None:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Patch

    stored = sum(d.races for d in data.days)
    fig.text(LEFT_PX / WIDTH_PX, 1 - 12 / height, f"Races stored per day, {data.start} to {data.end} "
             f"({stored:,} races, {len(data.missing_days())} days without data)",
             fontsize=11, fontweight="bold", va="top")
    handles = [Patch(facecolor=c, label=s) for s, c in STATUS_COLOURS.items()]
    fig.legend(handles=handles, loc="upper left", ncol=4, fontsize=8, frameon=False,
               bbox_to_anchor=(LEFT_PX / WIDTH_PX - 0.01, 1 - 40 / height))
    peak = max((d.races for d in data.days), default=0) or 1
    bar_ax = fig.add_axes([0.70, 1 - 62 / height, 0.26, 14 / height])
    bar = fig.colorbar(ScalarMappable(Normalize(0, peak), _races_colormap()), cax=bar_ax,
                       orientation="horizontal")
    bar.ax.tick_params(labelsize=7)
    bar.set_label("races stored that day", fontsize=8)
