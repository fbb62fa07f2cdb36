"""The ``backfill_all`` orchestrator: masters, then events, in-process, then an optional verification.

Why in-process rather than subprocesses: one store connection, one simulator for ``--demo``, one
log, and typed errors instead of parsing another process's exit code. A masters failure stops the
run (exit 3) before any event work, because events reference courses and regions.
"""
from __future__ import annotations

import argparse
import logging
import os
from datetime import timedelta

from utils import planning
from utils.stores.target import resolve_database
from utils.errors import DarkHorsesError, ExitCode
from utils.commands.events import RunFiles, request_from_args, run_events

log = logging.getLogger("darkhorses")

MASTERS_CALLS = {"regions": 1, "courses": 1}
ALL_OPTIONS = ("start_date", "end_date", "region_codes", "days_in_flight", "skip_masters", "resume", "dry_run",
               "enrich_horses", "verify", "checkpoint_file", "database_url", "demo", "log_format", "quiet")


def print_plan(args: argparse.Namespace, today) -> ExitCode:
    """``--dry-run``: steps, ranges, calls and time at the real limits, store; touches nothing."""
    from utils.commands.cli import load_environment
    from utils.commands.context import DEMO_DATABASE_URL

    load_environment()
    url = args.database_url or (DEMO_DATABASE_URL if args.demo else None)
    target = resolve_database(url, os.environ)
    files = RunFiles.from_option(args.checkpoint_file, demo=args.demo)
    request = request_from_args(args, files, today)
    log.info("Plan (dry run: nothing is called or written)")
    log.info("  %s", target.banner())
    step = 1
    if not args.skip_masters:
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
    if args.enrich_horses:
        step += 1
        log.info("  %d. horse enrichment: one /horses/{id}/pro call per horse lacking a profile "
                 "(5 req/s; --check-status of enrich_horses.py counts them)", step)
    if args.verify:
        log.info("  %d. verification checks", step + 1)
    return ExitCode.OK


def _enrichment_alongside(args: argparse.Namespace, ctx, request):
    """The profile fetcher that runs beside the events (None when not asked for, or when the run
    cannot open a second connection: then the profiles are fetched after the events)."""
    if not args.enrich_horses:
        return None
    from utils.commands.enrich import EnrichmentAlongside

    alongside = EnrichmentAlongside(ctx, since=request.start)
    return alongside.start() if alongside.available else None


def run_all(args: argparse.Namespace, ctx) -> ExitCode:
    """Masters (unless skipped), events, then verification (``--verify``) and the summary table."""
    from utils.pipeline.masters import run_masters
    from utils.checks.verification import format_counts, record_counts, verify

    # the range, regions and sources of the events step, refused before any call when they are
    # bad or conflict with the checkpoint (--resume): the masters load the same regions
    request = request_from_args(args, RunFiles.from_option(args.checkpoint_file, demo=args.demo), ctx.today)
    if not args.skip_masters:
        log.info("STEP 1: masters")
        try:
            run_masters(ctx.client, ctx.store, request.regions)
        except DarkHorsesError as exc:
            log.error("Masters failed (%s); no event work was started", exc)
            return ExitCode.CRITICAL
    alongside = _enrichment_alongside(args, ctx, request)
    log.info("STEP 2: events" + (" (horse profiles fetched alongside)" if alongside else ""))
    try:
        code = run_events(args, ctx, on_commit=alongside.day_committed if alongside else None,
                          alongside_eta=alongside.eta_seconds if alongside else None)
    except BaseException:
        if alongside:
            alongside.abandon()
        raise
    if alongside:
        code = max(code, alongside.finish(code))
    elif args.enrich_horses and code in (ExitCode.OK, ExitCode.PARTIAL):
        from utils.commands.enrich import run_enrichment

        log.info("STEP 3: horse enrichment")
        code = max(code, run_enrichment(argparse.Namespace(quiet=args.quiet, database_url=args.database_url,
                                                           demo=args.demo), ctx))
    if not (args.verify and code in (ExitCode.OK, ExitCode.PARTIAL)):
        log.info("Summary:")                   # (the verification prints the same counts first)
        for line in format_counts(record_counts(ctx.store)):
            log.info(line)
    else:
        ok = verify(ctx.store, request.start, request.end, today=ctx.today,
                    log=logging.getLogger("darkhorses.verify"))
        if not ok and code == ExitCode.OK:
            code = ExitCode.PARTIAL
    return code
