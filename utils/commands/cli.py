"""Shared command-line plumbing for every script: options, logging, secrets redaction, exit codes.

Why one module: the three backfill scripts (and the helpers around them) take the same options with
the same meaning. Each option is defined exactly once in ``OPTIONS``; a script lists the names it
takes. ``run_main`` turns every typed error into a one-line message and a documented exit code,
so a user never sees a traceback (it goes to the log file instead).

Logs: each script appends to one file a day, ``logs/<script>_YYYYMMDD.log`` (the machine's local
date), and at start deletes its own files older than ``DARKHORSES_LOG_RETENTION_DAYS`` (default 30;
0 keeps them all), so an hourly cron job leaves about 30 files, not 8,760 a year. While a progress
bar is on screen, console log lines are written through it (``tqdm.write``) so that they never land
inside the bar's line.
"""
from __future__ import annotations

import argparse
import calendar
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from utils import LOGS_DIR, REPO_ROOT
from utils.errors import ConfigError, DarkHorsesError, ExitCode
from utils.pipeline.events import DEFAULT_DAYS_IN_FLIGHT

EARLIEST_DATE = date(1988, 1, 1)  # the API's results history starts here
MAX_DAYS_AHEAD = 7               # racecards are published about a week ahead
DEFAULT_REGIONS = ("gb", "ire")
# The region codes of GET /v1/courses/regions (lower case, as the API spells them), built in so that
# a mistyped code is refused offline, before any call or write (the bundled simulator serves this
# list). The README lists them.
API_REGIONS: tuple[tuple[str, str], ...] = (
    ("gb", "Great Britain"), ("ire", "Ireland"), ("fr", "France"), ("usa", "USA"), ("aus", "Australia"),
    ("nz", "New Zealand"), ("saf", "South Africa"), ("jpn", "Japan"), ("hk", "Hong Kong"),
    ("uae", "United Arab Emirates"), ("ger", "Germany"), ("ity", "Italy"), ("can", "Canada"),
    ("arg", "Argentina"), ("bra", "Brazil"), ("chi", "Chile"), ("sin", "Singapore"), ("swe", "Sweden"),
    ("nor", "Norway"), ("den", "Denmark"), ("spa", "Spain"), ("bel", "Belgium"), ("cze", "Czech Republic"),
    ("qa", "Qatar"), ("sau", "Saudi Arabia"), ("bah", "Bahrain"), ("tur", "Turkey"), ("ind", "India"),
)
API_REGION_CODES = frozenset(code for code, _ in API_REGIONS)
LOG_RETENTION_ENV = "DARKHORSES_LOG_RETENTION_DAYS"
DEFAULT_LOG_RETENTION_DAYS = 30

log = logging.getLogger("darkhorses")


# --- option values ------------------------------------------------------------------------------
_ISO_FORM = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def date_problem(text: str) -> str | None:
    """Why ``text`` (in the form YYYY-MM-DD) is not a calendar date, or None when it is one:
    ``"February has 28 days in 2026"``, ``"there is no month 13"``."""
    match = _ISO_FORM.fullmatch(text)
    if not match:
        return "not in the form YYYY-MM-DD"
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    if day < 1:
        return "days start at 1"
    days = calendar.monthrange(year, month)[1] if year >= 1 else 31
    if day > days:
        return (f"February has {days} days in {year}" if month == 2
                else f"{_MONTHS[month - 1]} has {days} days")
    if year < 1:
        return "years start at 0001"
    return None


def iso_date(text: str) -> date:
    """argparse type for YYYY-MM-DD dates: one clear line for a wrong form, and for a date in the
    right form that the calendar lacks, what is wrong with it ("February has 28 days in 2026")."""
    stripped = text.strip() if isinstance(text, str) else ""
    if not _ISO_FORM.fullmatch(stripped):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD")
    problem = date_problem(stripped)
    if problem:
        raise argparse.ArgumentTypeError(f"{stripped} is not a valid date ({problem})")
    return date.fromisoformat(stripped)


def region_code(text: str) -> str:
    """argparse type for ``--region-codes``: one of the API's codes, in any case (``GB`` -> ``gb``)."""
    code = text.strip().lower()
    if code not in API_REGION_CODES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a region code the API knows; valid codes: "
            + ", ".join(code for code, _ in API_REGIONS))
    return code


def check_order(start: date | None, end: date | None) -> None:
    """An end before a start is refused the same way by every command that takes a range."""
    if start is not None and end is not None and end < start:
        raise ConfigError(f"--end-date {end} is before --start-date {start}")


def validate_range(start: date, end: date, *, today: date) -> None:
    """Refuse ranges the API can never serve, before any call or write is made."""
    if start < EARLIEST_DATE:
        raise ConfigError(f"--start-date {start} is before {EARLIEST_DATE}, the start of the API's history")
    check_order(start, end)
    latest = today + timedelta(days=MAX_DAYS_AHEAD)
    if end > latest:
        raise ConfigError(f"--end-date {end} is more than {MAX_DAYS_AHEAD} days ahead "
                          f"(latest allowed: {latest})")


# --- the options, each defined once ------------------------------------------------------------
def _days_in_flight(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 32:
        raise argparse.ArgumentTypeError(f"{value} is outside 1..32")
    return value


OPTIONS: dict[str, Callable[[argparse.ArgumentParser], object]] = {
    "start_date": lambda p: p.add_argument(
        "--start-date", type=iso_date, metavar="YYYY-MM-DD", help="first day to backfill"),
    "end_date": lambda p: p.add_argument(
        "--end-date", type=iso_date, metavar="YYYY-MM-DD", help="last day to backfill (default: today)"),
    "region_codes": lambda p: p.add_argument(
        "--region-codes", nargs="+", type=region_code, default=None, metavar="CODE",
        help="region codes to fetch, in any case (default: gb ire; the API's codes are listed in the "
             "README: gb, ire, fr, usa, …)"),
    "no_racecards": lambda p: p.add_argument(
        "--no-racecards", action="store_true", help="do not fetch racecards"),
    "no_results": lambda p: p.add_argument(
        "--no-results", action="store_true", help="do not fetch results"),
    "days_in_flight": lambda p: p.add_argument(
        "--days-in-flight", type=_days_in_flight, default=DEFAULT_DAYS_IN_FLIGHT, metavar="N",
        help="days fetched at once (default 4): keeps both endpoints at their rate limits whatever "
             "the latency; a kill repeats at most N days"),
    "resume": lambda p: p.add_argument(
        "--resume", action="store_true",
        help="continue from the checkpoint: only days not yet committed, failed days first"),
    "check_status": lambda p: p.add_argument(
        "--check-status", action="store_true",
        help="print what is done and what remains (calls, time); makes no data calls and no writes"),
    "checkpoint_file": lambda p: p.add_argument(
        "--checkpoint-file", type=Path, metavar="PATH",
        help="checkpoint JSON (default: logs/backfill_events_checkpoint.json)"),
    "skip_masters": lambda p: p.add_argument(
        "--skip-masters", action="store_true", help="do not refresh the master tables first"),
    "dry_run": lambda p: p.add_argument(
        "--dry-run", action="store_true", help="print the plan and touch nothing"),
    "verify": lambda p: p.add_argument(
        "--verify", action="store_true", help="run the verification checks after the backfill"),
    "incremental": lambda p: p.add_argument(
        "--incremental", action="store_true",
        help="daily mode: from the last day with results in the database minus 2 days, to today, "
             "plus the racecards the API serves ahead"),
    "enrich_horses": lambda p: p.add_argument(
        "--enrich-horses", action="store_true",
        help="after the events, fetch /horses/{id}/pro profiles for horses that lack one"),
    "max_horses": lambda p: p.add_argument(
        "--max-horses", type=int, metavar="N", help="enrich at most N horses this run"),
    "since": lambda p: p.add_argument(
        "--since", type=iso_date, metavar="YYYY-MM-DD",
        help="only horses that ran on or after this date"),
    "refresh": lambda p: p.add_argument(
        "--refresh", action="store_true",
        help="also fetch horses that already carry dob/colour/breeder from racecards"),
    "database_url": lambda p: p.add_argument(
        "--database-url", metavar="URL",
        help="postgresql://… or sqlite:///path (default: DATABASE_URL, SUPABASE_DB_URL, "
             "SUPABASE_URL+SUPABASE_SERVICE_KEY, else sqlite:///data/darkhorses.db)"),
    "demo": lambda p: p.add_argument(
        "--demo", action="store_true",
        help="run against the bundled Racing API simulator (in-process, loopback) instead of the real API"),
    "log_format": lambda p: p.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="console/log line format"),
    "out": lambda p: p.add_argument(
        "--out", type=Path, default=REPO_ROOT / "reports", metavar="DIR",
        help="folder for the report files coverage.png, summary.md, summary.json (default: reports/)"),
    "format": lambda p: p.add_argument(
        "--format", choices=("text", "json"), default="text",
        help="what goes to stdout: the summary table (text) or the figures as JSON (for monitoring)"),
    "quiet": lambda p: p.add_argument(
        "--quiet", action="store_true", help="only warnings, errors and the final summary"),
}


# Options whose default is filled in after parsing (argparse's own default would hide whether the
# user typed the option): a request that must refuse a conflicting option looks at ``args.given``.
LATE_DEFAULTS: dict[str, Callable[[], object]] = {"region_codes": lambda: list(DEFAULT_REGIONS)}


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line on stderr and exit 2 (argparse would print its usage block first).

    The parsed namespace carries ``given``: the destinations of the options typed on the command
    line (``{"resume", "region_codes"}``), so that "--region-codes gb ire" typed out can be told from
    the default; defaults in ``LATE_DEFAULTS`` are filled in after that."""

    def error(self, message: str):  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see {self.prog} --help)\n")
        sys.exit(int(ExitCode.USAGE))

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed, extra = super().parse_known_args(args, namespace)
        given = set(getattr(parsed, "given", ()))
        for action in self._actions:
            if action.dest in (argparse.SUPPRESS, "help", "given"):
                continue
            value = getattr(parsed, action.dest, action.default)
            if value is not None and value != action.default:
                given.add(action.dest)
        for dest, default in LATE_DEFAULTS.items():
            if hasattr(parsed, dest) and getattr(parsed, dest) is None:
                setattr(parsed, dest, default())
        parsed.given = frozenset(given)
        return parsed, extra


def build_parser(prog: str, description: str, names: Iterable[str]) -> argparse.ArgumentParser:
    """A parser with the named shared options, in the order given."""
    parser = OneLineParser(prog=prog, description=description)
    for name in names:
        OPTIONS[name](parser)
    return parser


# --- secrets and logging -----------------------------------------------------------------------
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a credential so that no log line can ever contain it."""
    if value and len(value) >= 3:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "****")
    return text


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


class _JsonFormatter(logging.Formatter):
    """One JSON object per line (``--log-format json``), for log shippers and cron mail filters."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {"ts": datetime.now(UTC).isoformat(timespec="seconds"),
                   "level": record.levelname.lower(), "logger": record.name,
                   "pid": record.process, "msg": record.getMessage()}
        payload.update(getattr(record, "fields", {}) or {})
        if record.exc_info and self.with_traceback:
            payload["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=str, ensure_ascii=False)

    def __init__(self, with_traceback: bool = False):
        super().__init__()
        self.with_traceback = with_traceback


class _ConsoleFormatter(logging.Formatter):
    """Message only: tracebacks never reach the console, only the log file. A record with a
    ``banner`` (a chunk's start) is framed by that rule above and below, for the eye; the JSON
    format carries the same record as one event with its fields instead."""

    def format(self, record: logging.LogRecord) -> str:
        banner = getattr(record, "banner", None)
        if banner:
            return f"{banner}\n{record.getMessage()}\n{banner}"
        return record.getMessage()


# While a progress bar is shown, console lines go through this (``utils.commands.progress`` sets it):
# ``writer(line, stream)`` clears the bar, writes the line and redraws the bar below it.
_CONSOLE_WRITER: Callable[[str, TextIO], None] | None = None


def set_console_writer(writer: Callable[[str, TextIO], None] | None) -> None:
    global _CONSOLE_WRITER
    _CONSOLE_WRITER = writer


class _ConsoleHandler(logging.StreamHandler):
    """The console: plain ``StreamHandler`` output, or through the progress bar while one is shown."""

    def emit(self, record: logging.LogRecord) -> None:
        writer = _CONSOLE_WRITER
        if writer is None:
            super().emit(record)
            return
        try:
            writer(self.format(record), self.stream)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - as logging.StreamHandler does
            self.handleError(record)


def move_console(stream: TextIO) -> None:
    """Send console log lines to ``stream`` (e.g. stderr when stdout carries a JSON document)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _ConsoleHandler):
            handler.setStream(stream)


def log_retention_days(env=os.environ) -> int:
    """Days a script's log files are kept (``DARKHORSES_LOG_RETENTION_DAYS``; 0 keeps them all)."""
    raw = (env.get(LOG_RETENTION_ENV) or "").strip()
    if not raw:
        return DEFAULT_LOG_RETENTION_DAYS
    if not raw.isdigit():
        raise ConfigError(f"{LOG_RETENTION_ENV}={raw!r}: give a whole number of days "
                          f"(default {DEFAULT_LOG_RETENTION_DAYS}; 0 keeps every log file)")
    return int(raw)


def prune_logs(log_dir: Path, script: str, keep_days: int, today: date) -> list[Path]:
    """Delete ``<script>_YYYYMMDD.log`` (and the older per-run ``<script>_YYYYMMDD_HHMMSS.log``)
    files dated more than ``keep_days`` days before ``today``; returns the paths deleted."""
    if keep_days <= 0:
        return []
    pattern = re.compile(rf"{re.escape(script)}_(\d{{8}})(?:_\d{{6}})?\.log")
    cutoff = today - timedelta(days=keep_days)
    deleted = []
    for path in log_dir.glob(f"{script}_*.log"):
        match = pattern.fullmatch(path.name)
        if not match:
            continue
        try:
            day = datetime.strptime(match.group(1), "%Y%m%d").date()
        except ValueError:
            continue
        if day < cutoff:
            try:
                path.unlink()
                deleted.append(path)
            except OSError:
                pass    # another run got there first, or a read-only file: not worth a warning
    return deleted


def setup_logging(script: str, *, log_format: str = "text", quiet: bool = False,
                  log_dir: Path | None = LOGS_DIR) -> Path | None:
    """Console + the script's log file of the day ``logs/<script>_YYYYMMDD.log`` (appended; each
    line carries the process id, so overlapping runs can be told apart); returns the file path.

    Before opening it, the script's log files older than ``DARKHORSES_LOG_RETENTION_DAYS`` days
    (default 30) are deleted. The file always gets INFO and above (with tracebacks of unexpected
    errors); the console gets INFO, or WARNING with ``--quiet``. Both pass through the secrets filter.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if isinstance(handler, logging.FileHandler):
            handler.close()
    root.setLevel(logging.INFO)
    for noisy in ("urllib3", "httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    fmt = _JsonFormatter() if log_format == "json" else _ConsoleFormatter()
    console = _ConsoleHandler(sys.stdout)
    console.setLevel(logging.WARNING if quiet else logging.INFO)
    console.setFormatter(fmt)
    console.addFilter(_RedactingFilter())
    root.addHandler(console)
    if log_dir is None:   # e.g. --dry-run, which must touch nothing
        return None
    keep_days = log_retention_days()
    today = datetime.now().date()
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        prune_logs(log_dir, script, keep_days, today)
        path = log_dir / f"{script}_{today:%Y%m%d}.log"
        file_handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    except OSError as exc:
        log.warning("cannot write a log file in %s (%s); logging to the console only", log_dir, exc)
        return None
    file_handler.setFormatter(_JsonFormatter(with_traceback=True) if log_format == "json" else logging.Formatter(
        "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"))
    file_handler.addFilter(_RedactingFilter())
    root.addHandler(file_handler)
    return path


def load_environment() -> None:
    """Environment first, then ``.env.local``, then ``.env`` (never overriding what is set), and
    every credential found registered for redaction."""
    from utils.api.credentials import load_env

    load_env()
    for var in ("RACING_API_PASSWORD", "SUPABASE_SERVICE_KEY"):
        register_secret(os.environ.get(var))


# What to run after an abort (a second Ctrl+C): the command that continues, set by the command
# running (``set_interrupt_hint``), e.g. "Resume with: python3 scripts/backfill_events.py --resume …".
_INTERRUPT_HINT: str | None = None
# Our own top-level packages: a ModuleNotFoundError naming one of them is a bug, not a missing dependency.
_OWN_PACKAGES = {"utils", "scripts", "tests", "benchmarks"}
DEPENDENCIES_MISSING = ("dependencies missing: run make venv (or pip install -r requirements.txt) and run "
                        "the scripts with .venv/bin/python (or after source .venv/bin/activate)")


def set_interrupt_hint(text: str | None) -> None:
    global _INTERRUPT_HINT
    _INTERRUPT_HINT = text


def _missing_dependency(exc: BaseException) -> bool:
    name = getattr(exc, "name", None) or ""
    return isinstance(exc, ModuleNotFoundError) and bool(name) and name.split(".")[0] not in _OWN_PACKAGES


def run_main(main: Callable[[], int]) -> None:
    """Run a script's main and exit with a documented code; no traceback ever reaches the user."""
    try:
        code = main()
    except KeyboardInterrupt:
        print("Interrupted; nothing half-written." + (f" {_INTERRUPT_HINT}" if _INTERRUPT_HINT else ""),
              file=sys.stderr)
        code = ExitCode.INTERRUPTED
    except ConfigError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        code = ExitCode.USAGE
    except DarkHorsesError as exc:
        print(f"critical: {redact(str(exc))}", file=sys.stderr)
        code = ExitCode.CRITICAL if exc.critical else ExitCode.PARTIAL
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, details in the log
        if _missing_dependency(exc):          # a bare python3 outside .venv
            print(f"error: {DEPENDENCIES_MISSING} ({exc})", file=sys.stderr)
            code = ExitCode.USAGE
        else:
            log.error("unexpected error", exc_info=True)
            print(f"critical: unexpected {type(exc).__name__}: {redact(str(exc))[:300]} "
                  f"(details in the log file under logs/)", file=sys.stderr)
            code = ExitCode.CRITICAL
    sys.exit(int(code))
