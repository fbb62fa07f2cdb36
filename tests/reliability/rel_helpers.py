"""Helpers for the reliability suite (``make reliability`` runs the heavy ones, ``make test`` the
fast subset).

Every run of this suite writes what it tried and what held to ``logs/reliability_counts.json``
(merged per test, so the fast and the heavy runs add up); ``benchmarks/reliability_report.py``
renders that into ``docs/RELIABILITY.md``.

The simulator, the API client, the processes and the PostgreSQL URLs here carry *distinctive*
secrets, so ``test_zz_secrets.py`` (run last) can scan every file the runs wrote for them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from backfill_helpers import (  # noqa: E402
    EVENTS_SCRIPT, FAST_RETRY, PG_SERVER, REPO, create_database, drop_database, postgres_available)
from utils.api_client import RacingAPIClient  # noqa: E402
from utils.simulator import FaultConfig, RacingAPISimulator, SimulatorConfig  # noqa: E402

# --- distinctive secrets (scanned for by test_zz_secrets.py) ---------------------------------------
API_USER = "relia-user"
API_PASSWORD = "ApiPw-R3liab1lity-9f4e2c"
SUPABASE_KEY = "sbkey-R3liab1lity-eyJhbGciOiJIUzI1NiJ9-7d1a"
PG_PASSWORD = "PgPw-R3liab1lity-c0ffee"
SECRETS = (API_PASSWORD, SUPABASE_KEY, PG_PASSWORD)
RATE_SCALE = "400"          # the simulator enforces no limits: pace the client up (env for processes)

COUNTS_FILE = REPO / "logs" / "reliability_counts.json"
SESSION_START = time.time()
CAPTURED_TEXT: list[str] = []          # stdout/stderr/exception text of every run, scanned for secrets


# --- counts for docs/RELIABILITY.md -----------------------------------------------------------------
class Stats:
    """Per-test counters: ``stats.add("kills", 3)``; merged into the JSON at session end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_test: dict[str, dict] = {}

    def add(self, test: str, key: str, n: int = 1) -> None:
        with self._lock:
            self.by_test.setdefault(test, {"counts": {}})
            counts = self.by_test[test]["counts"]
            counts[key] = counts.get(key, 0) + int(n)

    def add_faults(self, test: str, faults: Counter) -> None:
        for kind, n in faults.items():
            self.add(test, f"fault:{kind}", n)


STATS = Stats()


class RunStats:
    def __init__(self, nodeid: str):
        self.nodeid = nodeid

    def add(self, key: str, n: int = 1) -> None:
        STATS.add(self.nodeid, key, n)

    def faults(self, counter: Counter) -> None:
        STATS.add_faults(self.nodeid, counter)











# --- simulator with distinctive credentials and a fault counter -------------------------------------
class CountingFaults:
    """Wraps the simulator's fault picker to count the faults it injects, by kind."""

    def __init__(self, sim: RacingAPISimulator):
        self.counter: Counter = Counter()
        self.queue: list[str] = []          # kinds to inject next, whatever the dice say
        injector = sim._faults
        original = injector.pick

        def pick(endpoint, days):
            kind = original(endpoint, days)
            if self.queue and not kind:
                kind = self.queue.pop(0)
            if kind:
                self.counter[kind] += 1
            return kind

        injector.pick = pick





def make_client(sim, *, timeout: float = 2.0, retry=FAST_RETRY) -> RacingAPIClient:
    return RacingAPIClient(API_USER, API_PASSWORD, base_url=sim.base_url, retry=retry,
                           timeout=timeout, rate_scale=float(RATE_SCALE))


def script_env(sim, overrides: dict | None = None) -> dict:
    env = {**os.environ, "RACING_API_BASE_URL": sim.base_url, "RACING_API_USERNAME": API_USER,
           "RACING_API_PASSWORD": API_PASSWORD, "RACING_API_RETRY_INITIAL": "0.01",
           "RACING_API_RETRY_MAX": "0.05", "RACING_API_TIMEOUT": "3", "RACING_API_RATE_SCALE": RATE_SCALE,
           "SUPABASE_SERVICE_KEY": SUPABASE_KEY}
    for var in ("DATABASE_URL", "SUPABASE_DB_URL", "SUPABASE_URL"):
        env.pop(var, None)
    env.update(overrides or {})
    return {k: v for k, v in env.items() if v is not None}


def start_script(argv: list[str], sim, env_overrides: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(EVENTS_SCRIPT), *argv], env=script_env(sim, env_overrides),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    CAPTURED_TEXT.extend((out, err))
    return proc.returncode, out, err


def run_script(argv, sim, env_overrides=None, timeout: float = 600) -> tuple[int, str, str]:
    return finish(start_script(argv, sim, env_overrides), timeout)


# --- PostgreSQL ----------------------------------------------------------------------------------------
def with_password(url: str) -> str:
    """The same database, reached with a (distinctive) password the trust-auth server ignores."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PG_PASSWORD}@", 1)


def need_postgres() -> None:
    reason = postgres_available()
    if reason:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: {reason}")
        pytest.skip(f"PostgreSQL NOT TESTED: no server at {PG_SERVER} ({reason})")










# --- shared checks -------------------------------------------------------------------------------------
def days_with_races(store) -> set[str]:
    return {str(r[0])[:10] for r in store.query("SELECT DISTINCT CAST(date AS TEXT) FROM ra_races")}


def truth_days(truth) -> set[str]:
    """Days of the ground truth that hold at least one race."""
    return {raw["date"] for raw in {**truth.cards, **truth.results}.values()}


def races_by_day(store) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for race_id, day in store.query("SELECT id, CAST(date AS TEXT) FROM ra_races"):
        out.setdefault(str(day)[:10], set()).add(race_id)
    return out


def truth_races_by_day(truth) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for race_id, raw in {**truth.cards, **truth.results}.items():
        out.setdefault(raw["date"], set()).add(race_id)
    return out


def rows_in(checksum: dict) -> int:
    return sum(n for n, _ in checksum.values())


# --- uninterrupted reference runs, cached per range for the session ----------------------------------
_REFERENCES: dict[tuple, tuple] = {}


def reference(sim, start, end, tmp_factory, *extra: str):
    """(checksum, ideal API calls) of an uninterrupted, fault-free in-process run into SQLite."""
    from backfill_helpers import database_checksum, open_fresh_store, run_events_inprocess

    key = (start, end, extra, sim.today)
    if key not in _REFERENCES:
        folder = tmp_factory.mktemp("reference")
        store = open_fresh_store(f"sqlite:///{folder}/ref.db")
        try:
            before = len(sim.calls())
            argv = ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
                    "--checkpoint-file", str(folder / "ref.json"), *extra]
            assert run_events_inprocess(store, sim, argv, client=make_client(sim)) == 0
            _REFERENCES[key] = (database_checksum(store), len(sim.calls()) - before)
        finally:
            store.close()
    return _REFERENCES[key]


def exit_code_of(fn, capsys) -> tuple[int, str]:
    """Run ``fn`` the way every script does (``utils.cli.run_main``): (exit code, stderr)."""
    from utils.cli import run_main

    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_main(fn)
    err = capsys.readouterr().err
    CAPTURED_TEXT.append(err)
    return int(stop.value.code), err


def one_line(err: str) -> str:
    lines = [line for line in err.split("\n") if line.strip()]
    assert len(lines) == 1, f"expected a one-line message, got {lines!r}"
    assert "Traceback" not in err
    return lines[0]
