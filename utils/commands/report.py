"""The ``backfill_report`` command: the coverage figures rendered as a heatmap, a table and JSON.

Why a command module of its own: ``utils/checks/coverage.py`` computes the figures from the
database; this module reads the events backfill's error log (whose days it marks), renders
``coverage.png`` (a calendar heatmap), ``summary.md`` (the per-year-and-region table, also printed)
and ``summary.json`` (the same figures, for cron alerts on ``yesterday_has_results``), and writes
them atomically.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from utils.checks.coverage import (
    ERROR,
    EXPECTED_RACES_PER_YEAR,
    NO_DATA,
    NO_RUNNERS,
    RACECARD_ONLY,
    STORED,
    DayRow,
    ReportData,
    YearRegionRow,
    collect,
    default_range,
)
from utils.commands.cli import check_order
from utils.commands.context import RunContext
from utils.commands.requests import ReportOptions
from utils.errors import ExitCode
from utils.pipeline.checkpoint import DEFAULT_RUN_FILES, ErrorLog, atomic_write_json
from utils.planning import days_between
from utils.stores.base import Store

log = logging.getLogger("darkhorses.report")

REPORT_OPTIONS = ("start_date", "end_date", "out", "format", "database_url", "log_format", "quiet")
DEFAULT_ERROR_LOG = DEFAULT_RUN_FILES.errors
__all__ = ["ERROR", "NO_DATA", "NO_RUNNERS", "RACECARD_ONLY", "STORED", "DayRow", "YearRegionRow",
           "collect_report", "run_report", "render_markdown", "render_png", "to_json", "write_files"]


def collect_report(store: Store, start: date, end: date, *, today: date,
                   error_log: Path | None = DEFAULT_ERROR_LOG) -> ReportData:
    """The figures of ``start``..``end``, with the days of the error log ``error_log`` marked."""
    failed = ErrorLog.load(Path(error_log)).failed_dates() if error_log else ()
    return collect(store, start, end, today=today, failed_days=failed,
                   error_log=str(error_log) if error_log else None)


def run_report(options: ReportOptions, ctx: RunContext) -> ExitCode:
    """Collect, write the three files, print the table (or the JSON, ``--format json``)."""
    first, last = default_range(ctx.store, ctx.today)
    start, end = options.start_date or first, options.end_date or last
    check_order(start, end)
    data = collect_report(ctx.store, start, end, today=ctx.today,
                          error_log=options.error_log or DEFAULT_ERROR_LOG)
    paths = write_files(data, options.out)
    print(json.dumps(to_json(data), indent=2) if options.format == "json" else render_markdown(data))
    log.info("Wrote %s", ", ".join(str(p) for p in paths))
    return ExitCode.OK


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
              f"## Days with no data ({len(data.missing_days())} days)", "",
              *([f"- {g}" for g in gaps] or ["- none"]), "",
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
