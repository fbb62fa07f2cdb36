"""The ``enrich_horses`` command (and ``backfill_all --enrich-horses``): options -> a run -> exit code."""
from __future__ import annotations

import argparse
import logging
import signal
import threading
import time

from utils.commands.cli import set_interrupt_hint
from utils.stores.target import mask_url
from utils.pipeline.enrichment import (EnrichmentResult, HorseEnricher, describe_status, eta_seconds,
                              pending_counts, pending_horses)
from utils.errors import ConfigError, ExitCode
from utils.commands.progress import CountProgress

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


class EnrichmentAlongside:
    """``backfill_all --enrich-horses``: profiles fetched WHILE the events backfill runs.

    Why alongside: ``/horses/{id}/pro`` has its own budget (5/s), so enriching after the events
    costs their sum; fetched concurrently, on the horses budget, for horses of the days already
    committed, the whole job costs about the larger of the two. A thread looks for pending horses
    whenever a day commits (those of committed days), enriches them in batches, and, once the
    events are done, drains what is left. It writes through its own store connection (a second
    SQLite or PostgreSQL connection, or the REST store), so the events' writes are never blocked.
    Between committed days it makes no database call; the pending count behind the ETA is taken at
    most once a minute (a count over every horse, too dear to take for each day).
    """

    IDLE_SECONDS = 60.0       # a committed day (or the end) wakes the thread before this
    COUNT_SECONDS = 60.0
    BATCH = 500

    def __init__(self, ctx, *, since):
        from utils.stores import open_store

        self.client = ctx.client
        self.since = since
        target = getattr(ctx, "target", None)
        self.store = open_store(target) if target is not None else None
        self.events_done = threading.Event()
        self.stopping = threading.Event()
        self._new_day = threading.Event()      # set by each committed day: pending horses to look at
        self._pending: int | None = None       # horses still pending at the last count
        self._counted_at = float("-inf")
        self.result = EnrichmentResult()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="enrich-alongside", daemon=True)

    @property
    def available(self) -> bool:
        """Only a run that can open its own connection enriches alongside (tests handing a store
        in without a target enrich after the events, as before)."""
        return self.store is not None

    def start(self) -> "EnrichmentAlongside":
        self.thread.start()
        return self

    def _run(self) -> None:
        attempted: set[str] = set()
        enricher = HorseEnricher(self.client, self.store, should_stop=self.stopping.is_set)
        try:
            while not self.stopping.is_set():
                done = self.events_done.is_set()       # read first: a last day may still appear
                ids = [h for h in pending_horses(self.store, since=self.since, limit=self.BATCH)
                       if h not in attempted]
                self._count_pending()
                if ids:
                    attempted.update(ids)
                    self._add(enricher.run(ids))
                elif done:
                    return
                else:
                    self._new_day.wait(self.IDLE_SECONDS)
                    self._new_day.clear()
        except BaseException as exc:  # noqa: BLE001 - handed to finish() in the run's thread
            self.error = exc

    def _count_pending(self) -> None:
        now = time.monotonic()
        if now - self._counted_at >= self.COUNT_SECONDS:
            self._pending = pending_counts(self.store, since=self.since)[1]
            self._counted_at = now

    def _add(self, part: EnrichmentResult) -> None:
        self.result.calls += part.calls
        self.result.fetched += part.fetched
        self.result.not_found += part.not_found
        self.result.failed.extend(part.failed)

    def eta_seconds(self) -> float | None:
        """Seconds of profile calls still known to be needed (pending horses of the days committed
        so far) at the horses limit; None before the first look."""
        if self._pending is None:
            return None
        return eta_seconds(self._pending)

    def day_committed(self, day) -> None:  # noqa: ARG002 - any committed day may add horses
        self._new_day.set()

    def abandon(self) -> None:
        """The events stopped with an error: stop after the batch in flight, close."""
        self.stopping.set()
        self.events_done.set()
        self._new_day.set()
        self.thread.join()
        self.store.close()

    def finish(self, events_code: ExitCode) -> ExitCode:
        """Drain (or, after an interrupt, stop at the batch in flight), join, report."""
        if events_code == ExitCode.INTERRUPTED:
            self.stopping.set()
        self.events_done.set()
        self._new_day.set()
        self.thread.join()
        self.store.close()
        if self.error is not None:
            raise self.error
        log.info("Enrichment alongside: %d profiles stored, %d not found (remembered), %d failed "
                 "(still pending)", self.result.fetched, self.result.not_found, len(self.result.failed))
        return ExitCode.PARTIAL if self.result.failed else ExitCode.OK
