"""The ``enrich_horses`` command (and ``backfill_all --enrich-horses``): options -> a run -> exit code."""
from __future__ import annotations

import argparse
import logging
import signal

from utils.cli import set_interrupt_hint
from utils.db_target import mask_url
from utils.enrichment import HorseEnricher, describe_status, pending_counts, pending_horses
from utils.errors import ConfigError, ExitCode
from utils.progress import CountProgress

log = logging.getLogger("darkhorses.enrich")


def continue_command(args: argparse.Namespace) -> str:
    """The command that continues an interrupted enrichment (it resumes from the database itself;
    a password in --database-url is masked: type it again)."""
    parts = ["python3 scripts/enrich_horses.py"]
    if getattr(args, "demo", False):
        parts.append("--demo")
    if getattr(args, "database_url", None):
        parts.append(f"--database-url '{mask_url(args.database_url)}'")
    for option in ("since",):
        if getattr(args, option, None):
            parts.append(f"--{option} {getattr(args, option)}")
    if getattr(args, "refresh", False):
        parts.append("--refresh")
    return " ".join(parts)


def run_enrichment(args: argparse.Namespace, ctx) -> ExitCode:
    since = getattr(args, "since", None)
    refresh = getattr(args, "refresh", False)
    max_horses = getattr(args, "max_horses", None)
    if max_horses is not None and max_horses < 1:
        raise ConfigError("--max-horses must be at least 1")
    without_profile, need_call = pending_counts(ctx.store, since=since)
    log.info(describe_status(without_profile, need_call, refresh=refresh))
    if getattr(args, "check_status", False):
        return ExitCode.OK
    horse_ids = pending_horses(ctx.store, since=since, refresh=refresh, limit=max_horses)
    if not horse_ids:
        log.info("Nothing to enrich")
        return ExitCode.OK
    stopping = {"flag": False}

    def request_stop(signum, frame):  # noqa: ARG001
        if stopping["flag"]:
            raise KeyboardInterrupt
        stopping["flag"] = True
        log.warning("Stopping after the batch in flight is committed (Ctrl+C again aborts now)")

    previous = signal.signal(signal.SIGINT, request_stop)
    set_interrupt_hint(f"Continue with: {continue_command(args)}")       # for a second Ctrl+C
    progress = CountProgress(len(horse_ids), "horses", quiet=getattr(args, "quiet", False))
    try:
        enricher = HorseEnricher(                 # progress per horse; commits per batch of 100
            ctx.client, ctx.store, should_stop=lambda: stopping["flag"],
            on_horse=lambda r: progress.advance_to(
                r.calls, f"ok={r.fetched:,} not_found={r.not_found:,} failed={len(r.failed)}"))
        result = enricher.run(horse_ids)
    finally:
        progress.close()
        signal.signal(signal.SIGINT, previous)
    log.info("Enrichment: %d profiles stored, %d not found (remembered), %d failed (still pending)",
             result.fetched, result.not_found, len(result.failed))
    if stopping["flag"]:
        return ExitCode.INTERRUPTED
    return ExitCode.PARTIAL if result.failed else ExitCode.OK
