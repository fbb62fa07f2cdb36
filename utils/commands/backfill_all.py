"""The ``backfill_all`` orchestrator: masters, then events, in-process, then an optional verification.

Why in-process rather than subprocesses: one store connection, one simulator for ``--demo``, one
log, and typed errors instead of parsing another process's exit code. A masters failure stops the
run (exit 3) before any event work, because events reference courses and regions.
"""
from __future__ import annotations

import logging
import os
from datetime import timedelta

from utils import planning
from utils.commands.context import RunContext
from utils.commands.demo import DEMO_DATABASE_URL
from utils.commands.enrich import EnrichmentAlongside, run_enrichment
from utils.commands.events import plan_request, run_events
from utils.commands.requests import AllOptions
from utils.errors import DarkHorsesError, ExitCode
from utils.stores.target import resolve_database

log = logging.getLogger("darkhorses")

MASTERS_CALLS = {"regions": 1, "courses": 1}
ALL_OPTIONS = ("start_date", "end_date", "region_codes", "days_in_flight", "skip_masters", "resume", "dry_run",
               "enrich_horses", "verify", "checkpoint_file", "database_url", "demo", "log_format", "quiet")


def print_plan(options: AllOptions, today) -> ExitCode:
    """``--dry-run``: steps, ranges, calls and time at the real limits, store; touches nothing."""
    from utils.commands.cli import load_environment

    load_environment()
    url = options.target.database_url or (DEMO_DATABASE_URL if options.target.demo else None)
    target = resolve_database(url, os.environ)
    request = plan_request(options.events, today)
    log.info("Plan (dry run: nothing is called or written)")
    log.info("  %s", target.banner())
    step = 1
    if not options.skip_masters:
        seconds = sum(MASTERS_CALLS.values()) / planning.SPEC_RATE_LIMITS["regions"]
        log.info("  %d. masters: regions (all), courses (%s), bookmakers (static): %d calls, ~%s",
                 step, " ".join(request.regions), sum(MASTERS_CALLS.values()),
                 planning.format_duration(seconds))
        step += 1
    days = list(planning.days_between(request.start, request.end))
    est = planning.estimate(days, today, results=request.results, racecards=request.racecards)
    log.info("  %d. events %s to %s: %d days in %d monthly chunks; results ~%d calls (5/s), "
             "racecards %d calls (2/s), %d days without racecards; ~%s at the real rate limits",
             step, request.start, request.end, est.days,
             len(planning.month_chunks(request.start, request.end)), est.results_calls,
             est.racecard_calls, est.racecard_days_skipped, planning.format_duration(est.seconds()))
    if any(planning.results_need_addon(d, today) for d in days) and request.results:
        log.info("     note: days before %s need the historical results add-on",
                 today - timedelta(days=planning.RESULTS_FREE_WINDOW_DAYS))
    if options.enrich:
        step += 1
        log.info("  %d. horse enrichment: one /horses/{id}/pro call per horse lacking a profile "
                 "(5 req/s; --check-status of enrich_horses.py counts them)", step)
    if options.verify:
        log.info("  %d. verification checks", step + 1)
    return ExitCode.OK


def _enrichment_alongside(options: AllOptions, ctx: RunContext, request) -> EnrichmentAlongside | None:
    """The profile fetcher that runs beside the events (None when not asked for, or when the run
    cannot open a second connection: then the profiles are fetched after the events)."""
    if not options.enrich:
        return None
    alongside = EnrichmentAlongside(ctx, since=request.start)
    return alongside.start() if alongside.available else None


def run_all(options: AllOptions, ctx: RunContext) -> ExitCode:
    """Masters (unless skipped), events, then verification (``--verify``) and the summary table."""
    from utils.checks.verification import format_counts, record_counts, verify
    from utils.pipeline.masters import run_masters

    # the range, regions and sources of the events step, refused before any call when they are
    # bad or conflict with the checkpoint (--resume): the masters load the same regions
    request = plan_request(options.events, ctx.today)
    if not options.skip_masters:
        log.info("STEP 1: masters")
        try:
            run_masters(ctx.client, ctx.store, request.regions)
        except DarkHorsesError as exc:
            log.error("Masters failed (%s); no event work was started", exc)
            return ExitCode.CRITICAL
    alongside = _enrichment_alongside(options, ctx, request)
    log.info("STEP 2: events" + (" (horse profiles fetched alongside)" if alongside else ""))
    try:
        code = run_events(options.events, ctx, on_commit=alongside.day_committed if alongside else None,
                          alongside_eta=alongside.eta_seconds if alongside else None)
    except BaseException:
        if alongside:
            alongside.abandon()
        raise
    if alongside:
        code = max(code, alongside.finish(code))
    elif options.enrich and code in (ExitCode.OK, ExitCode.PARTIAL):
        log.info("STEP 3: horse enrichment")
        code = max(code, run_enrichment(options.enrich, ctx))
    if not (options.verify and code in (ExitCode.OK, ExitCode.PARTIAL)):
        log.info("Summary:")                   # (the verification prints the same counts first)
        for line in format_counts(record_counts(ctx.store)):
            log.info(line)
    else:
        ok = verify(ctx.store, request.start, request.end, today=ctx.today,
                    log=logging.getLogger("darkhorses.verify"))
        if not ok and code == ExitCode.OK:
            code = ExitCode.PARTIAL
    return code
