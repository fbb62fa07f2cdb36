"""Helpers for the reliability suite (``make reliability`` runs the heavy ones, ``make test`` the
fast subset).

Every run of this suite writes what it tried and what held to ``reliability_counts.json`` under
``benchmarks/out/`` (git-ignored; ``DH_RELIABILITY_COUNTS`` names another file), merged per test
so the fast and the heavy runs add up; ``benchmarks/reliability_report.py`` renders that into
``docs/RELIABILITY.md``. The published counters are computed from what the tests compared: rows
against the simulator's ground truth (``check_truth``), checkpoints parsed after kills, temp
files found.

The simulator (tests/conftest.py's, with this folder's ``simulator_account``), the API client, the
processes and the PostgreSQL URLs here carry *distinctive* secrets, so ``test_secrets_scan.py`` (run
last) can scan every file the runs wrote for them.
"""
from __future__ import annotations

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

from backfill_helpers import (  # noqa: E402,F401  (make_client: the one client helper, re-exported)
    PG_SERVER, REPO, TruthComparison, compare_with_truth, expected_tables, ground_truth, make_client,
    postgres_available, run_events_script)

sys.path.insert(0, str(REPO / "benchmarks"))
from reliability_report import counts_file  # noqa: E402

# --- distinctive secrets (scanned for by test_secrets_scan.py) ---------------------------------------
API_USER = "relia-user"
API_PASSWORD = "ApiPw-R3liab1lity-9f4e2c"
SUPABASE_KEY = "sbkey-R3liab1lity-eyJhbGciOiJIUzI1NiJ9-7d1a"
PG_PASSWORD = "PgPw-R3liab1lity-c0ffee"
SECRETS = (API_PASSWORD, SUPABASE_KEY, PG_PASSWORD)
RATE_SCALE = "400"          # the simulator enforces no limits: pace the client up (env for processes)
SCRIPT_ENV = {"RACING_API_RATE_SCALE": RATE_SCALE, "SUPABASE_SERVICE_KEY": SUPABASE_KEY}

COUNTS_FILE = counts_file()
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


# --- processes -----------------------------------------------------------------------------------------
def start_script(argv: list[str], sim, env_overrides: dict | None = None) -> subprocess.Popen:
    """``scripts/backfill_events.py`` through the one launcher (``run_events_script``), with this
    suite's pacing and a distinctive Supabase key in the environment."""
    return run_events_script(argv, sim, env_overrides={**SCRIPT_ENV, **(env_overrides or {})})


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


# --- the ground truth, cached per range for the session ------------------------------------------------
_TRUTHS: dict[tuple, tuple] = {}


def truth_for(sim, start, end, today):
    """(expected tables, the calls of an uninterrupted fault-free run, races by day) of the
    simulator's ground truth for ``start..end`` as served on ``today`` (cached: a 6-month range
    takes seconds to build)."""
    key = (start, end, today)
    if key not in _TRUTHS:
        truth = ground_truth(sim, start, end, today=today)
        _TRUTHS[key] = (expected_tables(truth), truth.results_calls + truth.racecard_calls,
                        truth_races_by_day(truth))
    return _TRUTHS[key]


def check_truth(stats, store, expected) -> TruthComparison:
    """Compare every row of ``store`` with the ground truth, publish ``rows_compared`` and
    ``rows_lost_or_changed`` from that comparison, then assert that nothing was lost or changed."""
    comparison = compare_with_truth(store, expected)
    stats.add("rows_compared", comparison.compared)
    stats.add("rows_lost_or_changed", comparison.rows_lost_or_changed)
    assert comparison.rows_lost_or_changed == 0, (
        f"{comparison.lost} rows lost, {comparison.changed} changed, {comparison.extra} extra of "
        f"{comparison.compared}: " + "; ".join(comparison.examples))
    return comparison


def exit_code_of(fn, capsys) -> tuple[int, str]:
    """Run ``fn`` the way every script does (``utils.commands.cli.run_main``): (exit code, stderr)."""
    from utils.commands.cli import run_main

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
