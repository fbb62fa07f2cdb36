"""The things every command needs for a run: the store, the API client (real or the bundled
simulator for ``--demo``), "today", and the stop flag that Ctrl+C sets.

Why here and not in each script: the choice of database, the banner naming it, the schema check
and the demo wiring must behave the same in every entry point, and so must Ctrl+C. "Today" is the
UK's date (``utils.planning.uk_today``), whatever the machine's time zone. A read-only command
opens the store with ``read_only=True``: a missing SQLite file is then an error, not a new empty
database. ``RunContext`` is a context manager, so every script has the same short shape::

    options = EventsOptions.from_args(parse_args(...))
    with open_context(options.target, need_api=...) as ctx:
        return run_events(options, ctx)
"""
from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from utils.api.client import RacingAPIClient
from utils.commands.cli import load_environment, register_secret
from utils.commands.demo import DEMO_DATABASE_URL, start_demo_api
from utils.commands.requests import Target
from utils.pipeline.stop import StopFlag
from utils.planning import uk_today
from utils.stores import open_store
from utils.stores.base import Store
from utils.stores.migrations import check_schema
from utils.stores.target import DatabaseTarget, check_sqlite_location, resolve_database

log = logging.getLogger("darkhorses")


@dataclass
class RunContext:
    """One run's store, client and clock, closed together (``with``). ``stop`` is the run's one
    stop flag; ``handle_signals`` is False where the caller owns SIGINT (in-process tests)."""

    target: DatabaseTarget | None
    store: Store
    client: RacingAPIClient | None = None
    simulator: Any = None                # the demo's simulator (utils.simulator.server), if any
    today: date = field(default_factory=uk_today)
    stop: StopFlag = field(default_factory=StopFlag)
    handle_signals: bool = True
    applied_migrations: list[str] = field(default_factory=list)   # by this open (init_db, demo)

    def __enter__(self) -> RunContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.simulator is not None:
            self.simulator.stop()
        self.store.close()

    @contextmanager
    def stop_on_signals(self, message: str) -> Iterator[StopFlag]:
        """While inside: the first Ctrl+C/SIGTERM sets ``stop`` (and logs ``message``: the unit in
        flight is committed, then the run stops); a second one aborts now (KeyboardInterrupt).
        The previous handlers come back on leaving. Nested uses share the one flag."""
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            yield self.stop
            return

        def handler(signum, frame):  # noqa: ARG001
            if self.stop.requested:
                raise KeyboardInterrupt
            self.stop.request()
            log.warning(message)

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self.stop
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def _open_store(target_options: Target, *, read_only: bool = False,
                   apply: bool = False) -> tuple[DatabaseTarget, Store, list[str]]:
    """Resolve, announce and open the database; apply the pending migrations (``apply``: init_db,
    and a demo run that writes to SQLite), then check the schema. Returns the target, the store
    and the migrations applied. ``read_only``: the command writes nothing, so a SQLite file must
    already exist (nothing is created); otherwise a new SQLite file needs an existing directory."""
    load_environment()
    demo = target_options.demo
    database_url = target_options.database_url or (DEMO_DATABASE_URL if demo else None)
    target = resolve_database(database_url, os.environ)
    register_secret(target.key)
    log.info(target.banner())
    check_sqlite_location(target, must_exist=read_only)
    store = open_store(target)
    applied: list[str] = []
    try:
        if apply or (demo and target.kind == "sqlite" and not read_only):
            applied = store.apply_migrations()      # the REST store explains how to apply them instead
            if applied and not apply:
                log.info("Applied migrations: %s", ", ".join(applied))
        check_schema(store)
    except BaseException:
        store.close()
        raise
    return target, store, applied


def open_context(target_options: Target, *, need_api: bool = True, read_only: bool = False,
                 apply_migrations: bool = False) -> RunContext:
    """Store (see ``_open_store``), and the API client unless ``need_api`` is false."""
    target, store, applied = _open_store(target_options, read_only=read_only, apply=apply_migrations)
    ctx = RunContext(target=target, store=store, applied_migrations=applied)
    if not need_api:
        return ctx
    try:
        if target_options.demo:
            ctx.simulator, ctx.client = start_demo_api()
        else:
            ctx.client = RacingAPIClient.from_env()
            register_secret(os.environ.get("RACING_API_PASSWORD"))
    except BaseException:
        ctx.close()
        raise
    return ctx
