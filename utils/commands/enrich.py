"""The ``enrich_horses`` command (and ``backfill_all --enrich-horses``): a request -> a run -> exit code.

Why the profiles-alongside thread lives here too: it is the same job (``HorseEnricher`` over the
pending horses) run beside the events backfill, and it stops on the same ``RunContext.stop``.
"""
from __future__ import annotations

import logging
import threading
import time

from utils.commands.cli import set_interrupt_hint
from utils.commands.context import RunContext
from utils.commands.progress import CountProgress
from utils.commands.requests import EnrichOptions
from utils.errors import ExitCode
from utils.pipeline.enrichment import (
    EnrichmentResult,
    HorseEnricher,
    describe_status,
    eta_seconds,
    pending_counts,
    pending_horses,
)

log = logging.getLogger("darkhorses.enrich")

ENRICH_OPTIONS = ("max_horses", "since", "refresh", "check_status", "database_url", "demo",
                  "log_format", "quiet")
STOP_MESSAGE = "Stopping after the batch in flight is committed (Ctrl+C again aborts now)"


def continue_command(options: EnrichOptions) -> str:
    """The command that continues an interrupted enrichment (it resumes from the database itself;
    a password in --database-url is masked: type it again)."""
    parts = ["python3 scripts/enrich_horses.py", *options.target.options()]
    if options.since:
        parts.append(f"--since {options.since}")
    if options.refresh:
        parts.append("--refresh")
    return " ".join(parts)


def run_enrichment(options: EnrichOptions, ctx: RunContext) -> ExitCode:
    without_profile, need_call = pending_counts(ctx.store, since=options.since)
    log.info(describe_status(without_profile, need_call, refresh=options.refresh))
    if options.check_status:
        return ExitCode.OK
    horse_ids = pending_horses(ctx.store, since=options.since, refresh=options.refresh,
                               limit=options.max_horses)
    if not horse_ids:
        log.info("Nothing to enrich")
        return ExitCode.OK
    set_interrupt_hint(f"Continue with: {continue_command(options)}")       # for a second Ctrl+C
    progress = CountProgress(len(horse_ids), "horses", quiet=options.quiet)
    with ctx.stop_on_signals(STOP_MESSAGE):
        try:
            enricher = HorseEnricher(                 # progress per horse; commits per batch of 100
                ctx.client, ctx.store, should_stop=lambda: ctx.stop.requested,
                on_horse=lambda r: progress.advance_to(
                    r.calls, f"ok={r.fetched:,} not_found={r.not_found:,} failed={len(r.failed)}"))
            result = enricher.run(horse_ids)
        finally:
            progress.close()
    log.info("Enrichment: %d profiles stored, %d not found (remembered), %d failed (still pending)",
             result.fetched, result.not_found, len(result.failed))
    if ctx.stop.requested:
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

    def __init__(self, ctx: RunContext, *, since):
        from utils.stores import open_store

        self.client = ctx.client
        self.since = since
        self.run_stop = ctx.stop                # the run's Ctrl+C
        self.store = open_store(ctx.target) if ctx.target is not None else None
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

    def start(self) -> EnrichmentAlongside:
        self.thread.start()
        return self

    def _run(self) -> None:
        attempted: set[str] = set()
        enricher = HorseEnricher(self.client, self.store,
                                 should_stop=lambda: self.stopping.is_set() or self.run_stop.requested)
        try:
            while not (self.stopping.is_set() or self.run_stop.requested):
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
