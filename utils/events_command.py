"""The ``backfill_events`` command: from parsed options to a finished (or resumable) run.

Why separate from ``utils/backfill.py``: that module knows days, rows and commits; this one knows
the user's options — which range, resume or fresh, status only, where the checkpoint lives — and
turns the outcome into the documented exit code. ``backfill_all`` calls ``run_events`` in-process.
"""
from __future__ import annotations

import argparse
import logging
import signal
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from utils import planning
from utils.backfill import (DEFAULT_DAYS_IN_FLIGHT, EventsBackfill, EventsRequest, StopFlag,
                            committed_days)
from utils.checkpoint import Checkpoint, ErrorLog, RunLock
from utils.cli import LOGS_DIR, validate_range
from utils.db_target import mask_url
from utils.errors import CheckpointError, ConfigError, ExitCode
from utils.progress import ConsoleProgress

log = logging.getLogger("darkhorses")

EVENTS_OPTIONS = ("start_date", "end_date", "region_codes", "no_racecards", "no_results",
                  "days_in_flight", "resume",
                  "incremental", "check_status", "checkpoint_file", "database_url", "demo",
                  "log_format", "quiet")
DEFAULT_CHECKPOINT = LOGS_DIR / "backfill_events_checkpoint.json"
DEFAULT_ERROR_LOG = LOGS_DIR / "backfill_events_errors.json"
INCREMENTAL_OVERLAP_DAYS = 2   # late results and stewards' changes are picked up on the next runs


@dataclass(frozen=True)
class RunFiles:
    checkpoint: Path
    errors: Path

    @property
    def lock(self) -> Path:
        return self.checkpoint.with_name(self.checkpoint.name + ".lock")

    @classmethod
    def from_option(cls, checkpoint_file: Path | None, *, demo: bool = False,
                    incremental: bool = False) -> "RunFiles":
        """The checkpoint and error log of a run; demo and incremental runs keep their own pair,
        so a cron job never disturbs a long backfill's checkpoint (nor the demo a real one)."""
        if checkpoint_file is None:
            prefix = ("demo_" if demo else "") + "backfill_events" + ("_incremental" if incremental else "")
            return cls(LOGS_DIR / f"{prefix}_checkpoint.json", LOGS_DIR / f"{prefix}_errors.json")
        path = Path(checkpoint_file).expanduser().resolve()
        return cls(path, path.with_name(path.stem + "_errors.json"))


def incremental_request(args: argparse.Namespace, store, today: date) -> EventsRequest:
    """From the last day with results in the database (minus the overlap) to the racecard horizon."""
    last = store.read("last_result_day")[0]["day"]
    if last:
        start = date.fromisoformat(str(last)[:10]) - timedelta(days=INCREMENTAL_OVERLAP_DAYS)
    elif args.start_date:
        start = args.start_date
    else:
        raise ConfigError("--incremental: the database has no results yet; run a backfill with "
                          "--start-date first (or give --start-date with --incremental)")
    start = min(start, today)
    return EventsRequest(start=start, end=today + timedelta(days=planning.RACECARD_DAYS_AHEAD),
                         regions=tuple(dict.fromkeys(args.region_codes)),
                         racecards=not getattr(args, "no_racecards", False),
                         results=not getattr(args, "no_results", False))


def request_from_args(args: argparse.Namespace, files: RunFiles, today: date,
                      store=None) -> EventsRequest:
    """The range to run: from the options, from the checkpoint (``--resume``) or from the
    database (``--incremental``)."""
    if getattr(args, "incremental", False):
        if args.resume or args.end_date:
            raise ConfigError("--incremental picks its own range; drop --resume/--end-date")
        return incremental_request(args, store, today)
    if getattr(args, "resume", False):
        saved = Checkpoint.load(files.checkpoint)
        if saved is None:
            raise ConfigError(f"--resume: no checkpoint at {files.checkpoint}; "
                              f"start a run with --start-date first")
        request = EventsRequest(
            start=date.fromisoformat(saved.params["start_date"]),
            end=date.fromisoformat(saved.params["end_date"]),
            regions=tuple(saved.params["region_codes"]),
            racecards=bool(saved.params["racecards"]), results=bool(saved.params["results"]))
        _refuse_conflicting_options(args, request, files)
        return request
    if args.start_date is None:
        raise ConfigError("--start-date is required (or use --resume to continue a previous run)")
    request = EventsRequest(
        start=args.start_date, end=args.end_date or today,
        regions=tuple(dict.fromkeys(args.region_codes)),
        racecards=not getattr(args, "no_racecards", False),
        results=not getattr(args, "no_results", False))
    validate_range(request.start, request.end, today=today)
    if not (request.racecards or request.results):
        raise ConfigError("--no-racecards and --no-results together leave nothing to do")
    return request


def _refuse_conflicting_options(args: argparse.Namespace, request: EventsRequest,
                                files: RunFiles) -> None:
    given = {"start_date": args.start_date and args.start_date.isoformat(),
             "end_date": args.end_date and args.end_date.isoformat()}
    saved = request.params()
    clash = [k for k, v in given.items() if v and v != saved[k]]
    if clash:
        raise CheckpointError(
            f"--resume: the checkpoint {files.checkpoint} is for {saved['start_date']}..{saved['end_date']}; "
            f"it does not match the given {', '.join('--' + k.replace('_', '-') for k in clash)}. "
            f"Drop those options to resume, or use another --checkpoint-file")


def preflight(args: argparse.Namespace, today: date) -> None:
    """Refuse bad options before any database or API is touched (usage errors exit 2)."""
    if getattr(args, "incremental", False):
        if args.resume or args.end_date:
            raise ConfigError("--incremental picks its own range; drop --resume/--end-date")
        return
    files = RunFiles.from_option(getattr(args, "checkpoint_file", None), demo=getattr(args, "demo", False))
    request_from_args(args, files, today)


def result_days_in_db(store, request: EventsRequest) -> set[date]:
    """Days of the range with results in the database (for --check-status)."""
    rows = store.read("result_days", start=request.start, end=request.end)
    return {date.fromisoformat(str(r["day"])[:10]) for r in rows}


def print_status(request: EventsRequest, files: RunFiles, store, today: date) -> None:
    """What is done and what remains, without data calls or writes. The database's committed
    marks are the truth; the checkpoint file only names the range to resume."""
    done = committed_days(store, request, today)
    errors = ErrorLog.load(files.errors)
    in_db = result_days_in_db(store, request)
    all_days = list(planning.days_between(request.start, request.end))
    remaining = [d for d in all_days if d not in done]
    est = planning.estimate(remaining, today, results=request.results, racecards=request.racecards)
    chunks = planning.month_chunks(request.start, request.end)
    addon_days = sum(1 for d in all_days if planning.results_need_addon(d, today))
    lines = [
        f"Range {request.start} to {request.end}: {len(all_days)} days in {len(chunks)} monthly chunks "
        f"(regions {' '.join(request.regions)})",
        f"Committed: {len(done)} days in the database ({getattr(store, 'display', 'database')}); "
        f"{len(in_db)} days with results",
        f"Remaining: {len(remaining)} days; {len(errors.entries)} days in the error log "
        f"(retried first by --resume)",
        f"Calls needed: results ~{est.results_calls} (5 req/s), racecards {est.racecard_calls} (2 req/s)"
        + (f"; racecards skipped for {est.racecard_days_skipped} days before "
           f"{planning.RACECARD_HISTORY_START} or beyond the 7-day horizon" if est.racecard_days_skipped else ""),
        f"Time at the real rate limits: about {planning.format_duration(est.seconds())} (the floor: "
        f"results {planning.format_duration(est.results_calls / planning.SPEC_RATE_LIMITS['results'])}, "
        f"racecards {planning.format_duration(est.racecard_calls / planning.SPEC_RATE_LIMITS['racecards'])}, "
        f"both budgets busy at once)",
        "Plan window: " + (f"{addon_days} days are older than 365 days: results need the historical "
                           f"add-on (without it the run stops at the first such day)"
                           if addon_days and request.results else "every day is within the standard plan"),
    ]
    for line in lines:
        log.info(line)


def _install_signal_handlers(stop: StopFlag) -> None:
    def handler(signum, frame):  # noqa: ARG001
        if stop.requested:
            raise KeyboardInterrupt
        stop.request()
        log.warning("Stopping after the day in flight is committed (press Ctrl+C again to abort now; "
                    "nothing half-written either way)")

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _prepare_checkpoint(request: EventsRequest, files: RunFiles, resume: bool) -> tuple[Checkpoint, ErrorLog]:
    if resume:
        checkpoint = Checkpoint.load(files.checkpoint)
        return checkpoint, ErrorLog.load(files.errors)
    for path in (files.checkpoint, files.errors):
        if path.exists():
            path.replace(path.with_name(path.name + ".prev"))
            log.info("Previous %s kept as %s.prev (a fresh run starts a new one)", path.name, path.name)
    return Checkpoint(files.checkpoint, request.params()), ErrorLog(files.errors)


def run_events(args: argparse.Namespace, ctx, *, install_signals: bool = True) -> ExitCode:
    """Run (or report on) the events backfill for parsed options; returns the exit code."""
    files = RunFiles.from_option(getattr(args, "checkpoint_file", None),
                                 demo=getattr(args, "demo", False),
                                 incremental=getattr(args, "incremental", False))
    request = request_from_args(args, files, ctx.today, ctx.store)
    if getattr(args, "check_status", False):
        print_status(request, files, ctx.store, ctx.today)
        return ExitCode.OK
    stop = StopFlag()
    if install_signals:
        _install_signal_handlers(stop)
    with RunLock(files.lock):
        checkpoint, errors = _prepare_checkpoint(request, files, args.resume)
        checkpoint.database = getattr(ctx.store, "display", None)
        checkpoint.completed = committed_days(ctx.store, request, ctx.today) if args.resume else set()
        _announce(request, checkpoint, ctx.today, getattr(ctx.store, "display", "the database"))
        progress = ConsoleProgress(len(list(planning.days_between(request.start, request.end)))
                                   - len(checkpoint.completed), quiet=getattr(args, "quiet", False))
        backfill = EventsBackfill(client=ctx.client, store=ctx.store, request=request,
                                  checkpoint=checkpoint, errors=errors, progress=progress,
                                  today=ctx.today, stop=stop, resume=bool(args.resume),
                                  days_in_flight=getattr(args, "days_in_flight", DEFAULT_DAYS_IN_FLIGHT))
        try:
            totals = backfill.run()
        finally:
            progress.close()
    return _finish(totals, backfill, stop, files, resume_command(args, files))


def resume_command(args: argparse.Namespace, files: RunFiles) -> str:
    """The command that resumes this run, with the options that chose its database and files
    (a password in --database-url is masked: type it again)."""
    parts = ["python3 scripts/backfill_events.py --resume"]
    if getattr(args, "demo", False):
        parts.append("--demo")
    if getattr(args, "database_url", None):
        parts.append(f"--database-url '{mask_url(args.database_url)}'")
    if getattr(args, "checkpoint_file", None) or files.checkpoint != DEFAULT_CHECKPOINT \
            and not getattr(args, "demo", False):
        parts.append(f"--checkpoint-file {files.checkpoint}")
    return " ".join(parts)


def _announce(request: EventsRequest, checkpoint: Checkpoint, today: date, database: str) -> None:
    total = (request.end - request.start).days + 1
    log.info("Events backfill %s to %s, regions %s: %d days, %d already committed in %s",
             request.start, request.end, " ".join(request.regions), total,
             len(checkpoint.completed), database)
    if request.racecards and request.start < planning.RACECARD_HISTORY_START:
        log.info("Racecards exist only from %s: earlier days get results only (no racecard calls)",
                 planning.RACECARD_HISTORY_START)


def _finish(totals: dict[str, int], backfill: EventsBackfill, stop: StopFlag, files: RunFiles,
            resume_hint: str) -> ExitCode:
    log.info("Done: %d days committed this run, %d races, %d runners; %d days failed",
             totals["days"], totals["races"], totals["runners"], totals["failed_days"])
    if stop.requested:
        log.warning("Stopped by request; checkpoint saved. Resume with: %s", resume_hint)
        return ExitCode.INTERRUPTED
    if backfill.errors.entries:
        log.warning("%d days are in the error log %s; retry them with: %s",
                    len(backfill.errors.entries), files.errors, resume_hint)
        return ExitCode.PARTIAL
    return ExitCode.OK
