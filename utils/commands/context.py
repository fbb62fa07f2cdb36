"""The things every script needs for a run: the store, the API client (real or the bundled
simulator for ``--demo``), and "today".

Why here and not in each script: the choice of database, the banner naming it, the schema check
and the demo wiring must behave the same in every entry point. "Today" is the UK's date
(``utils.planning.uk_today``), whatever the machine's time zone. A read-only command opens the
store with ``read_only=True``: a missing SQLite file is then an error, not a new empty database.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from utils.commands.cli import load_environment, register_secret
from utils.stores.target import DatabaseTarget, check_sqlite_location, resolve_database
from utils.stores.migrations import apply_migrations, check_schema
from utils.planning import uk_today
from utils.stores import open_store

log = logging.getLogger("darkhorses")

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_SEED = 42
DEMO_RATE_SCALE = 4.0   # the demo runs with rate limits on, at four times the real speed
# The demo's own embedded database: simulated data must never land in a real database that
# DATABASE_URL/SUPABASE_* point at, so --demo honours only an explicit --database-url.
DEMO_DATABASE_URL = "sqlite:///data/demo.db"


@dataclass
class RunContext:
    target: DatabaseTarget
    store: Any
    client: Any = None
    simulator: Any = None
    today: date = field(default_factory=uk_today)

    def close(self) -> None:
        if self.client is not None and hasattr(self.client, "close"):
            self.client.close()
        if self.simulator is not None:
            self.simulator.stop()
        self.store.close()


def open_store_for(database_url: str | None, *, demo: bool = False, read_only: bool = False):
    """Resolve, announce and open the database; check (or, for a demo run that writes to SQLite,
    apply) the schema. ``read_only``: the command writes nothing, so a SQLite file must already
    exist (nothing is created); otherwise a new SQLite file needs an existing directory."""
    load_environment()
    if demo and not database_url:
        database_url = DEMO_DATABASE_URL
    target = resolve_database(database_url, os.environ)
    register_secret(target.key)
    log.info(target.banner())
    check_sqlite_location(target, must_exist=read_only)
    store = open_store(target)
    try:
        if demo and target.kind == "sqlite" and not read_only:
            applied = apply_migrations(store)
            if applied:
                log.info("Applied migrations: %s", ", ".join(applied))
        check_schema(store)
    except BaseException:
        store.close()
        raise
    return target, store


def start_demo_api(*, today: date | None = None, rate_scale: float = DEMO_RATE_SCALE):
    """Start the bundled simulator on a free loopback port and a client wired to it. Its "today"
    is the UK's (the real API's), fixed for the run unless given."""
    from utils.api.client import RacingAPIClient
    from utils.simulator.server import RacingAPISimulator, SimulatorConfig

    # The demo account has the historical add-on, so any documented date range works in the demo.
    simulator = RacingAPISimulator(SimulatorConfig(
        seed=DEMO_SEED, username=DEMO_USERNAME, password=DEMO_PASSWORD, historical_addon=True,
        rate_limits=True, rate_limit_scale=rate_scale, today=today or uk_today()))
    simulator.start()
    log.info("Demo: Racing API simulator at %s (rate limits x%g)", simulator.base_url, rate_scale)
    client = RacingAPIClient(DEMO_USERNAME, DEMO_PASSWORD, base_url=simulator.base_url,
                             rate_scale=rate_scale)
    return simulator, client


def open_context(database_url: str | None, *, demo: bool, need_api: bool = True,
                 read_only: bool = False) -> RunContext:
    """Store (see ``open_store_for``), and the API client unless ``need_api`` is false."""
    target, store = open_store_for(database_url, demo=demo, read_only=read_only)
    ctx = RunContext(target=target, store=store)
    if not need_api:
        return ctx
    try:
        if demo:
            ctx.simulator, ctx.client = start_demo_api()
        else:
            from utils.api.client import RacingAPIClient

            ctx.client = RacingAPIClient.from_env()
            register_secret(os.environ.get("RACING_API_PASSWORD"))
    except BaseException:
        ctx.close()
        raise
    return ctx
