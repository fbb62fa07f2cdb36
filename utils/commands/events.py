"""The ``backfill_events`` command: from parsed options to a finished (or resumable) run.

Why separate from ``utils/pipeline/events.py``: that module knows days, rows and commits; this one knows
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
from typing import Callable

from utils import planning
from utils.pipeline.events import (DEFAULT_DAYS_IN_FLIGHT, EventsBackfill, EventsRequest, StopFlag,
                            committed_days)
from utils.pipeline.checkpoint import Checkpoint, ErrorLog, RunLock
from utils.commands.cli import DEFAULT_REGIONS, LOGS_DIR, options_given, set_interrupt_hint, validate_range
from utils.stores.target import mask_url
from utils.errors import ConfigError, ExitCode
from utils.commands.progress import ConsoleProgress

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


def incremental_request(args: argparse.Namespace, store, today: date,
                        files: RunFiles | None = None) -> EventsRequest:
    """From the last day with results in the database (minus the overlap) to the racecard horizon.

    ``--start-date`` is where a database without results starts (so a cron line may keep it). Once
    the database has results, a ``--start-date`` before the incremental start is accepted only when
    the database holds that day (the line's earlier runs loaded it); otherwise those days would be
    skipped without a word, so it is refused with the backfill command that loads them."""
    regions = tuple(dict.fromkeys(args.region_codes))
    racecards = not getattr(args, "no_racecards", False)
    results = not getattr(args, "no_results", False)
    last = store.read("last_result_day")[0]["day"]
    if last:
        last_day = date.fromisoformat(str(last)[:10])
        start = last_day - timedelta(days=INCREMENTAL_OVERLAP_DAYS)
        wanted = args.start_date
        if wanted and wanted < min(start, today):
            probe = EventsRequest(wanted, wanted, regions, racecards, results)
            if wanted not in committed_days(store, probe, today):
                fill = EventsRequest(wanted, min(start, today) - timedelta(days=1), regions, racecards, results)
                own = bool(getattr(args, "checkpoint_file", None)) and files is not None
                raise ConfigError(
                    f"--incremental starts at {min(start, today)} (the last day with results in the database, "
                    f"{last_day}, minus {INCREMENTAL_OVERLAP_DAYS} days); --start-date {wanted} is only where "
                    f"it starts a database without results, and this database lacks {wanted}, so "
                    f"--incremental wins and would skip it. To load {fill.start} to {fill.end} first, run: "
                    f"{new_run_command(args, files, fill, f'{fill.start}_{fill.end}', own_checkpoint=own)}; "
                    f"then the same --incremental command continues from there")
    elif args.start_date:
        start = args.start_date
    else:
        raise ConfigError("--incremental: the database has no results yet; run a backfill with "
                          "--start-date first (or give --start-date with --incremental)")
    start = min(start, today)
    return EventsRequest(start=start, end=today + timedelta(days=planning.RACECARD_DAYS_AHEAD),
                         regions=regions, racecards=racecards, results=results)


def _refuse_incremental_conflicts(args: argparse.Namespace) -> None:
    """--incremental picks its own range: --end-date and --resume would be ignored."""
    checkpoint_file, demo = getattr(args, "checkpoint_file", None), getattr(args, "demo", False)
    if args.resume:
        own = RunFiles.from_option(checkpoint_file, demo=demo, incremental=True)
        backfill = RunFiles.from_option(checkpoint_file, demo=demo)
        raise ConfigError(
            f"--incremental and --resume conflict: --incremental picks its range from the database and "
            f"keeps its own checkpoint ({own.checkpoint}), so --incremental wins and --resume would be "
            f"ignored. For the daily update drop --resume; to continue an interrupted backfill drop "
            f"--incremental: {resume_command(args, backfill)}")
    if args.end_date:
        raise ConfigError(
            f"--incremental runs from the database's last result day (minus {INCREMENTAL_OVERLAP_DAYS} days) "
            f"to today + {planning.RACECARD_DAYS_AHEAD} days, so --incremental wins and --end-date "
            f"{args.end_date} would be ignored. For the daily update drop --end-date; to load up to "
            f"{args.end_date}, run without --incremental: python3 scripts/backfill_events.py "
            f"--start-date YYYY-MM-DD --end-date {args.end_date}")


def request_from_args(args: argparse.Namespace, files: RunFiles, today: date,
                      store=None) -> EventsRequest:
    """The range to run: from the options, from the checkpoint (``--resume``) or from the
    database (``--incremental``)."""
    if getattr(args, "incremental", False):
        _refuse_incremental_conflicts(args)
        return incremental_request(args, store, today, files)
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


def _describe(request: EventsRequest) -> str:
    sources = " and ".join(s for s, on in (("racecards", request.racecards), ("results", request.results)) if on)
    return (f"{request.start} to {request.end}, regions {' '.join(request.regions)}, with {sources}")


def _refuse_conflicting_options(args: argparse.Namespace, request: EventsRequest,
                                files: RunFiles) -> None:
    """``--resume`` continues the checkpoint's run as it was started: an option that asks for
    another range, other regions or other sources would be ignored, so it is refused (exit 2),
    saying that the checkpoint wins and how to run what the option asked for."""
    given = options_given(args)
    asked = EventsRequest(
        start=args.start_date or request.start, end=args.end_date or request.end,
        regions=(tuple(dict.fromkeys(args.region_codes)) if "region_codes" in given and args.region_codes
                 else request.regions),
        racecards=request.racecards and not getattr(args, "no_racecards", False),
        results=request.results and not getattr(args, "no_results", False))
    shown, drop, tags = [], [], []
    if (asked.start, asked.end) != (request.start, request.end):
        shown += [f"--start-date {args.start_date}"] if args.start_date and args.start_date != request.start else []
        shown += [f"--end-date {args.end_date}"] if args.end_date and args.end_date != request.end else []
        drop.append("--start-date/--end-date")
        tags.append(f"{asked.start}_{asked.end}")
    if set(asked.regions) != set(request.regions):
        shown.append("--region-codes " + " ".join(asked.regions))
        drop.append("--region-codes")
        tags.append("-".join(asked.regions))
    for flag, before, after in (("--no-racecards", request.racecards, asked.racecards),
                                ("--no-results", request.results, asked.results)):
        if before != after:
            shown.append(flag)
            drop.append(flag)
            tags.append(flag.removeprefix("--"))
    if not shown:
        return
    what = (f"{asked.start} to {asked.end}" if drop == ["--start-date/--end-date"]
            else _describe(asked) if asked.racecards or asked.results else "nothing")
    raise ConfigError(
        f"--resume continues the run of the checkpoint {files.checkpoint} ({_describe(request)}), so the "
        f"checkpoint wins and {', '.join(shown)} would be ignored. To resume that run, drop "
        f"{', '.join(drop)}; to load {what} instead, start a run of its own: "
        f"{new_run_command(args, files, asked, '-'.join(tags), own_checkpoint=True)}")


def _target_options(args: argparse.Namespace) -> list[str]:
    """The options that chose the run's API and database (a password in --database-url masked)."""
    parts = []
    if getattr(args, "demo", False):
        parts.append("--demo")
    if getattr(args, "database_url", None):
        parts.append(f"--database-url '{mask_url(args.database_url)}'")
    return parts


def new_run_command(args: argparse.Namespace, files: RunFiles | None, request: EventsRequest, tag: str,
                    *, own_checkpoint: bool) -> str:
    """The command of a fresh run of ``request`` on the same database; with ``own_checkpoint`` its
    checkpoint is a new file beside ``files.checkpoint`` (``<name>-<tag>.json``), so the run that
    checkpoint belongs to stays resumable."""
    parts = ["python3 scripts/backfill_events.py", f"--start-date {request.start}",
             f"--end-date {request.end}"]
    if tuple(request.regions) != DEFAULT_REGIONS:
        parts.append("--region-codes " + " ".join(request.regions))
    if not request.racecards:
        parts.append("--no-racecards")
    if not request.results:
        parts.append("--no-results")
    parts += _target_options(args)
    if own_checkpoint and files is not None:
        parts.append(f"--checkpoint-file {files.checkpoint.with_name(f'{files.checkpoint.stem}-{tag}.json')}")
    return " ".join(parts)


def preflight(args: argparse.Namespace, today: date) -> None:
    """Refuse bad options before any database or API is touched (usage errors exit 2)."""
    if getattr(args, "incremental", False):
        _refuse_incremental_conflicts(args)
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


def run_events(args: argparse.Namespace, ctx, *, install_signals: bool = True,
               on_commit: Callable[[date], None] | None = None,
               alongside_eta: Callable[[], float | None] | None = None) -> ExitCode:
    """Run (or report on) the events backfill for parsed options; returns the exit code.
    ``on_commit`` is told each day the database committed, and ``alongside_eta`` gives the
    seconds left of the work running beside (backfill_all's profile fetcher), for one ETA."""
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
    set_interrupt_hint(f"Resume with: {resume_command(args, files)}")     # for a second Ctrl+C
    with RunLock(files.lock):
        checkpoint, errors = _prepare_checkpoint(request, files, args.resume)
        checkpoint.database = getattr(ctx.store, "display", None)
        checkpoint.completed = committed_days(ctx.store, request, ctx.today) if args.resume else set()
        _announce(request, checkpoint, ctx.today, getattr(ctx.store, "display", "the database"))
        progress = ConsoleProgress(len(list(planning.days_between(request.start, request.end)))
                                   - len(checkpoint.completed), quiet=getattr(args, "quiet", False),
                                   alongside_eta=alongside_eta)
        backfill = EventsBackfill(client=ctx.client, store=ctx.store, request=request,
                                  checkpoint=checkpoint, errors=errors, progress=progress,
                                  today=ctx.today, stop=stop, resume=bool(args.resume),
                                  days_in_flight=getattr(args, "days_in_flight", DEFAULT_DAYS_IN_FLIGHT),
                                  on_commit=on_commit)
        try:
            totals = backfill.run()
        finally:
            progress.close()
    return _finish(totals, backfill, stop, files, resume_command(args, files))


def resume_command(args: argparse.Namespace, files: RunFiles) -> str:
    """The command that resumes this run, with the options that chose its database and files
    (a password in --database-url is masked: type it again)."""
    parts = ["python3 scripts/backfill_events.py --resume", *_target_options(args)]
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
    log.info("Done: %s days committed this run, %s races, %s runners; %s days failed",
             *(f"{totals[k]:,}" for k in ("days", "races", "runners", "failed_days")))
    if stop.requested:
        log.warning("Stopped by request; checkpoint saved. Resume with: %s", resume_hint)
        return ExitCode.INTERRUPTED
    if backfill.errors.entries:
        log.warning("%d days are in the error log %s; retry them with: %s",
                    len(backfill.errors.entries), files.errors, resume_hint)
        return ExitCode.PARTIAL
    return ExitCode.OK
