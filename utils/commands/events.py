"""The ``backfill_events`` command: from parsed options to a finished (or resumable) run.

Why separate from ``utils/pipeline/events.py``: that module knows days, rows and commits; this one knows
the user's options — which range, resume or fresh, status only, where the checkpoint lives — and
turns the outcome into the documented exit code. ``backfill_all`` calls ``run_events`` in-process.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

from utils import planning
from utils.commands.cli import DEFAULT_REGIONS, set_interrupt_hint, validate_range
from utils.commands.context import RunContext
from utils.commands.progress import ConsoleProgress
from utils.commands.requests import EventsOptions
from utils.errors import ConfigError, ExitCode
from utils.pipeline.checkpoint import DEFAULT_RUN_FILES, Checkpoint, ErrorLog, RunFiles, RunLock
from utils.pipeline.events import EventsBackfill, EventsRequest, committed_days
from utils.pipeline.stop import StopFlag
from utils.stores.base import Store

log = logging.getLogger("darkhorses")

EVENTS_OPTIONS = ("start_date", "end_date", "region_codes", "no_racecards", "no_results",
                  "days_in_flight", "resume",
                  "incremental", "check_status", "checkpoint_file", "database_url", "demo",
                  "log_format", "quiet")
INCREMENTAL_OVERLAP_DAYS = 2   # late results and stewards' changes are picked up on the next runs


def run_files(options: EventsOptions, *, incremental: bool | None = None) -> RunFiles:
    """The checkpoint and error log of this run (``RunFiles.named``): incremental runs keep
    their own pair unless ``incremental`` says which pair is meant."""
    return RunFiles.named(options.checkpoint_file, demo=options.target.demo,
                          incremental=options.incremental if incremental is None else incremental)


def _asked(options: EventsOptions, start: date, end: date) -> EventsRequest:
    return EventsRequest(start=start, end=end, regions=options.region_codes,
                         racecards=options.racecards, results=options.results)


def incremental_request(options: EventsOptions, store: Store, today: date) -> EventsRequest:
    """From the last day with results in the database (minus the overlap) to the racecard horizon.

    ``--start-date`` is where a database without results starts (so a cron line may keep it). Once
    the database has results, a ``--start-date`` before the incremental start is accepted only when
    the database holds that day (the line's earlier runs loaded it); otherwise those days would be
    skipped without a word, so it is refused with the backfill command that loads them."""
    last = store.read("last_result_day")[0]["day"]
    wanted = options.start_date
    if last:
        last_day = date.fromisoformat(str(last)[:10])
        start = last_day - timedelta(days=INCREMENTAL_OVERLAP_DAYS)
        if wanted and wanted < min(start, today) \
                and wanted not in committed_days(store, _asked(options, wanted, wanted), today):
            fill = _asked(options, wanted, min(start, today) - timedelta(days=1))
            load_first = new_run_command(options, fill, f"{fill.start}_{fill.end}",
                                         own_checkpoint=bool(options.checkpoint_file))
            raise ConfigError(
                f"--incremental starts at {min(start, today)} (the last day with results in the database, "
                f"{last_day}, minus {INCREMENTAL_OVERLAP_DAYS} days); --start-date {wanted} is only where "
                f"it starts a database without results, and this database lacks {wanted}, so "
                f"--incremental wins and would skip it. To load {fill.start} to {fill.end} first, run: "
                f"{load_first}; "
                f"then the same --incremental command continues from there")
    elif wanted:
        start = wanted
    else:
        raise ConfigError("--incremental: the database has no results yet; run a backfill with "
                          "--start-date first (or give --start-date with --incremental)")
    return _asked(options, min(start, today), today + timedelta(days=planning.RACECARD_DAYS_AHEAD))


def _refuse_incremental_conflicts(options: EventsOptions) -> None:
    """--incremental picks its own range: --end-date and --resume would be ignored."""
    if options.resume:
        raise ConfigError(
            f"--incremental and --resume conflict: --incremental picks its range from the database and "
            f"keeps its own checkpoint ({run_files(options).checkpoint}), so --incremental wins and "
            f"--resume would be ignored. For the daily update drop --resume; to continue an interrupted "
            f"backfill drop --incremental: {resume_command(options, run_files(options, incremental=False))}")
    if options.end_date:
        raise ConfigError(
            f"--incremental runs from the database's last result day (minus {INCREMENTAL_OVERLAP_DAYS} days) "
            f"to today + {planning.RACECARD_DAYS_AHEAD} days, so --incremental wins and --end-date "
            f"{options.end_date} would be ignored. For the daily update drop --end-date; to load up to "
            f"{options.end_date}, run without --incremental: python3 scripts/backfill_events.py "
            f"--start-date YYYY-MM-DD --end-date {options.end_date}")


def plan_request(options: EventsOptions, today: date, store: Store | None = None,
                 saved: Checkpoint | None = None) -> EventsRequest:
    """The range to run: from the options, from the checkpoint (``--resume``: ``saved``, else the
    file is read) or from the database (``--incremental``, which needs the store; ``preflight``
    checks its conflicts before a store is open)."""
    if options.incremental:
        _refuse_incremental_conflicts(options)
        return incremental_request(options, store, today)
    files = run_files(options)
    if options.resume:
        saved = saved or Checkpoint.load(files.checkpoint)
        if saved is None:
            raise ConfigError(f"--resume: no checkpoint at {files.checkpoint}; "
                              f"start a run with --start-date first")
        request = EventsRequest(
            start=date.fromisoformat(saved.params["start_date"]),
            end=date.fromisoformat(saved.params["end_date"]),
            regions=tuple(saved.params["region_codes"]),
            racecards=bool(saved.params["racecards"]), results=bool(saved.params["results"]))
        _refuse_conflicting_options(options, request, files)
        return request
    if options.start_date is None:
        raise ConfigError("--start-date is required (or use --resume to continue a previous run)")
    request = _asked(options, options.start_date, options.end_date or today)
    validate_range(request.start, request.end, today=today)
    if not (request.racecards or request.results):
        raise ConfigError("--no-racecards and --no-results together leave nothing to do")
    return request


def _describe(request: EventsRequest) -> str:
    sources = " and ".join(s for s, on in (("racecards", request.racecards), ("results", request.results)) if on)
    return (f"{request.start} to {request.end}, regions {' '.join(request.regions)}, with {sources}")


def _refuse_conflicting_options(options: EventsOptions, request: EventsRequest, files: RunFiles) -> None:
    """``--resume`` continues the checkpoint's run as it was started: an option that asks for
    another range, other regions or other sources would be ignored, so it is refused (exit 2),
    saying that the checkpoint wins and how to run what the option asked for."""
    asked = EventsRequest(
        start=options.start_date or request.start, end=options.end_date or request.end,
        regions=options.region_codes if options.regions_given else request.regions,
        racecards=request.racecards and options.racecards,
        results=request.results and options.results)
    shown, drop, tags = [], [], []
    if (asked.start, asked.end) != (request.start, request.end):
        shown += [f"--start-date {options.start_date}"] if asked.start != request.start else []
        shown += [f"--end-date {options.end_date}"] if asked.end != request.end else []
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
        f"{new_run_command(options, asked, '-'.join(tags), own_checkpoint=True)}")


def new_run_command(options: EventsOptions, request: EventsRequest, tag: str, *, own_checkpoint: bool) -> str:
    """The command of a fresh run of ``request`` on the same database; with ``own_checkpoint`` its
    checkpoint is a new file beside this run's (``<name>-<tag>.json``), so the run that checkpoint
    belongs to stays resumable."""
    parts = ["python3 scripts/backfill_events.py", f"--start-date {request.start}",
             f"--end-date {request.end}"]
    if tuple(request.regions) != DEFAULT_REGIONS:
        parts.append("--region-codes " + " ".join(request.regions))
    if not request.racecards:
        parts.append("--no-racecards")
    if not request.results:
        parts.append("--no-results")
    parts += options.target.options()
    if own_checkpoint:
        checkpoint = run_files(options, incremental=False).checkpoint
        parts.append(f"--checkpoint-file {checkpoint.with_name(f'{checkpoint.stem}-{tag}.json')}")
    return " ".join(parts)


def preflight(options: EventsOptions, today: date) -> None:
    """Refuse bad options before any database or API is touched (usage errors exit 2)."""
    if options.incremental:
        _refuse_incremental_conflicts(options)
    else:
        plan_request(options, today)


def result_days_in_db(store: Store, request: EventsRequest) -> set[date]:
    """Days of the range with results in the database (for --check-status)."""
    rows = store.read("result_days", start=request.start, end=request.end)
    return {date.fromisoformat(str(r["day"])[:10]) for r in rows}


def print_status(request: EventsRequest, files: RunFiles, store: Store, today: date) -> None:
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
        f"Committed: {len(done)} days in the database ({store.display}); {len(in_db)} days with results",
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


def _prepare_checkpoint(request: EventsRequest, files: RunFiles,
                        saved: Checkpoint | None) -> tuple[Checkpoint, ErrorLog]:
    """The checkpoint to continue (``saved``, for --resume) or a fresh pair, the previous files
    kept as ``.prev``."""
    if saved is not None:
        return saved, ErrorLog.load(files.errors)
    for path in (files.checkpoint, files.errors):
        if path.exists():
            path.replace(path.with_name(path.name + ".prev"))
            log.info("Previous %s kept as %s.prev (a fresh run starts a new one)", path.name, path.name)
    return Checkpoint(files.checkpoint, request.params()), ErrorLog(files.errors)


STOP_MESSAGE = ("Stopping after the day in flight is committed (press Ctrl+C again to abort now; "
                "nothing half-written either way)")


def run_events(options: EventsOptions, ctx: RunContext, *,
               on_commit: Callable[[date], None] | None = None,
               alongside_eta: Callable[[], float | None] | None = None) -> ExitCode:
    """Run (or report on) the events backfill; returns the exit code. ``on_commit`` is told each
    day the database committed, and ``alongside_eta`` gives the seconds left of the work running
    beside (backfill_all's profile fetcher), for one ETA. A first Ctrl+C/SIGTERM sets
    ``ctx.stop``: the days in flight are committed, then the run stops. The checkpoint that
    --resume continues is read once, under the run lock (``preflight`` only validated it)."""
    files = run_files(options)
    if options.check_status:
        print_status(plan_request(options, ctx.today, ctx.store), files, ctx.store, ctx.today)
        return ExitCode.OK
    hint = resume_command(options, files)
    set_interrupt_hint(f"Resume with: {hint}")     # for a second Ctrl+C
    with RunLock(files.lock), ctx.stop_on_signals(STOP_MESSAGE):
        saved = Checkpoint.load(files.checkpoint) if options.resume and not options.incremental else None
        request = plan_request(options, ctx.today, ctx.store, saved)
        checkpoint, errors = _prepare_checkpoint(request, files, saved)
        checkpoint.database = ctx.store.display
        checkpoint.completed = committed_days(ctx.store, request, ctx.today) if options.resume else set()
        _announce(request, checkpoint, ctx.today, ctx.store.display)
        progress = ConsoleProgress(len(list(planning.days_between(request.start, request.end)))
                                   - len(checkpoint.completed), quiet=options.quiet,
                                   alongside_eta=alongside_eta)
        backfill = EventsBackfill(client=ctx.client, store=ctx.store, request=request,
                                  checkpoint=checkpoint, errors=errors, progress=progress,
                                  today=ctx.today, stop=ctx.stop, resume=options.resume,
                                  days_in_flight=options.days_in_flight, on_commit=on_commit,
                                  committed=set(checkpoint.completed))
        try:
            totals = backfill.run()
        finally:
            progress.close()
    return _finish(totals, backfill, ctx.stop, files, hint)


def resume_command(options: EventsOptions, files: RunFiles) -> str:
    """The command that resumes this run, with the options that chose its database and files
    (a password in --database-url is masked: type it again)."""
    parts = ["python3 scripts/backfill_events.py --resume", *options.target.options()]
    if options.checkpoint_file or files.checkpoint != DEFAULT_RUN_FILES.checkpoint and not options.target.demo:
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
