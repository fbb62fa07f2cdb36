"""Helpers for end-to-end backfill tests: run the events backfill against the simulator into a real
store, compute the ground truth straight from the simulator's dataset, and checksum tables.

The ground truth is read from the raw API payloads (``sim.dataset``), not through
``utils.transform``, so a transform bug cannot hide behind itself.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pg_databases
from utils import planning
from utils.api_client import RacingAPIClient, RetryPolicy
from utils.cli import build_parser
from utils.context import RunContext
from utils.db_target import resolve_database
from utils.events_command import EVENTS_OPTIONS, run_events
from utils.migrations import apply_migrations
from utils.schema import AUDIT_COLUMNS, TABLES, WRITE_ORDER
from utils.stores import open_store

REPO = Path(__file__).resolve().parents[1]
SIM_USER, SIM_PASSWORD = "demo", "demo-password"
EVENTS_SCRIPT = REPO / "scripts" / "backfill_events.py"
FAST_RETRY = RetryPolicy(attempts=5, initial=0.01, maximum=0.05, jitter=0.0)
# Columns that record *when* something was written, not *what*: excluded from checksums.
VOLATILE = set(AUDIT_COLUMNS) | {"result_updated_at", "enriched_at"}


def open_fresh_store(url: str):
    store = open_store(resolve_database(url, {}))
    apply_migrations(store)
    return store


def make_client(sim, *, retry: RetryPolicy = FAST_RETRY, timeout: float = 2.0,
                rate_scale: float = 50.0) -> RacingAPIClient:
    """A client for a simulator whose limits are off: pacing scaled up so tests run fast."""
    return RacingAPIClient(SIM_USER, SIM_PASSWORD, base_url=sim.base_url, retry=retry, timeout=timeout,
                           rate_scale=rate_scale)


def run_events_inprocess(store, sim, argv: list[str], *, today: date | None = None,
                         client: RacingAPIClient | None = None, database_url: str | None = None) -> int:
    """Run ``backfill_events`` in this process (no signal handlers) and return its exit code.
    With ``database_url`` the run writes through a writer process, as the scripts do; without
    it, ``store`` is written in this process."""
    args = build_parser("backfill_events.py", "test", EVENTS_OPTIONS).parse_args(argv)
    target = resolve_database(database_url, {}) if database_url else None
    ctx = RunContext(target=target, store=store, client=client or make_client(sim),
                     today=today or date.today())
    return int(run_events(args, ctx, install_signals=False))


def run_events_script(argv: list[str], sim, *, env_overrides: dict | None = None,
                      script: Path = EVENTS_SCRIPT) -> subprocess.Popen:
    """Start a script (default ``scripts/backfill_events.py``) as a real process pointed at the
    simulator, with fast retries and the rate limits scaled up (the simulator enforces none)."""
    env = {**os.environ, "RACING_API_BASE_URL": sim.base_url, "RACING_API_USERNAME": SIM_USER,
           "RACING_API_PASSWORD": SIM_PASSWORD, "RACING_API_RETRY_INITIAL": "0.01",
           "RACING_API_RETRY_MAX": "0.05", "RACING_API_TIMEOUT": "3", "RACING_API_RATE_SCALE": "50",
           **(env_overrides or {})}
    for var in ("DATABASE_URL", "SUPABASE_DB_URL", "SUPABASE_URL", "SUPABASE_SERVICE_KEY"):
        env.pop(var, None)
    return subprocess.Popen([sys.executable, str(script), *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


# --- checksums ------------------------------------------------------------------------------
def _norm(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        text = format(Decimal(str(value)).normalize(), "f")
        return text
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def table_checksum(store, table: str) -> tuple[int, str]:
    spec = TABLES[table]
    cols = [c for c in spec.all_columns if c not in VOLATILE]
    rows = store.query(f"SELECT {', '.join(cols)} FROM {table}")
    lines = sorted("\x1f".join(_norm(v) for v in row) for row in rows)
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def database_checksum(store) -> dict[str, tuple[int, str]]:
    return {t: table_checksum(store, t) for t in WRITE_ORDER}


# --- ground truth from the raw payloads --------------------------------------------------------
@dataclass
class Truth:
    results: dict[str, dict] = field(default_factory=dict)     # race_id -> raw result
    cards: dict[str, dict] = field(default_factory=dict)       # race_id -> raw racecard
    result_runners: dict[tuple[str, str], dict] = field(default_factory=dict)
    card_runners: dict[tuple[str, str], dict] = field(default_factory=dict)
    results_calls: int = 0
    racecard_calls: int = 0

    @property
    def race_ids(self) -> set[str]:
        return set(self.results) | set(self.cards)

    @property
    def runner_keys(self) -> set[tuple[str, str]]:
        return set(self.result_runners) | set(self.card_runners)

    def runners(self):
        yield from self.card_runners.values()
        yield from self.result_runners.values()

    def ids(self, field_name: str) -> set[str]:
        return {r[field_name] for r in self.runners() if r.get(field_name)}


def ground_truth(sim, start: date, end: date, *, today: date, regions=("gb", "ire"),
                 racecards: bool = True, results: bool = True) -> Truth:
    truth = Truth()
    for day in planning.days_between(start, end):
        if results and planning.results_servable(day, today):
            day_results = sim.dataset.results_for(day, regions)
            truth.results_calls += max(1, -(-len(day_results) // 100))
            for race in day_results:
                truth.results[race["race_id"]] = race
                for runner in race["runners"]:
                    truth.result_runners[(race["race_id"], runner["horse_id"])] = runner
        if racecards and planning.racecards_servable(day, today):
            truth.racecard_calls += 1
            for card in sim.dataset.racecards_for(day, regions):
                truth.cards[card["race_id"]] = card
                for runner in card["runners"]:
                    truth.card_runners[(card["race_id"], runner["horse_id"])] = runner
    return truth


def read_json(path: Path):
    return json.loads(Path(path).read_text())


# --- PostgreSQL (the databases themselves come from tests/pg_databases.py) ---------------------
PG_SERVER = pg_databases.SERVER


def postgres_available() -> str | None:
    """None when the local server answers; otherwise why not."""
    import psycopg

    try:
        psycopg.connect(pg_databases.server_url(), connect_timeout=3).close()
        return None
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]


def create_database(prefix: str = "dh_e2e") -> str:
    """A fresh database; returns its URL."""
    return pg_databases.server_url(pg_databases.create_database(prefix))


def drop_database(url: str) -> None:
    pg_databases.drop_database(url.rsplit("/", 1)[1])
