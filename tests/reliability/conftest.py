"""Fixtures and session hooks of the reliability suite (helpers live in ``tests/helpers.py``).

``make reliability`` runs the heavy scenarios (``@pytest.mark.reliability``); ``make test`` runs
the fast subset. Each session merges its counts into ``helpers.COUNTS_FILE``
(``benchmarks/out/reliability_counts.json``, git-ignored, or ``$DH_RELIABILITY_COUNTS``), which
``benchmarks/reliability_report.py`` renders as ``docs/RELIABILITY.md``.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for path in (HERE.parent, HERE):          # tests/ (helpers) and tests/reliability/
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from helpers import (  # noqa: E402
    API_PASSWORD,
    API_USER,
    COUNTS_FILE,
    STATS,
    RunStats,
    create_database,
    drop_database,
    need_postgres,
    with_password,
)


@pytest.fixture
def stats(request) -> RunStats:
    return RunStats(request.node.nodeid)


_OUTCOMES: dict[str, tuple[str, float]] = {}


def pytest_runtest_logreport(report):
    if report.when == "call":
        _OUTCOMES[report.nodeid] = (report.outcome, round(report.duration, 1))


def pytest_sessionfinish(session, exitstatus):
    if not STATS.by_test:
        return
    try:
        previous = json.loads(COUNTS_FILE.read_text())
    except (OSError, ValueError):
        previous = {}
    tests = previous.get("tests", {})
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    for nodeid, entry in STATS.by_test.items():
        outcome, seconds = _OUTCOMES.get(nodeid, ("unknown", 0.0))
        tests[nodeid] = {**entry, "outcome": outcome, "seconds": seconds, "run_at": now}
    COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    COUNTS_FILE.write_text(json.dumps({"tests": tests}, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def simulator_account() -> tuple[str, str]:
    """tests/conftest.py's simulator, for a distinctive account (scanned for by test_secrets_scan)."""
    return API_USER, API_PASSWORD


@pytest.fixture
def pg_url():
    """A fresh database; the URL carries a password (ignored by trust auth) to prove it never leaks."""
    need_postgres()
    url = create_database("dh_rel")
    yield with_password(url)
    drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def any_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/rel.db"
        return
    need_postgres()
    url = create_database("dh_rel")
    yield with_password(url)
    drop_database(url)


def pytest_collection_modifyitems(session, config, items):
    """Tests marked ``runs_last`` (the secrets scan) run after every other collected test, so they
    scan what all the scenarios wrote, whatever the order of file names."""
    last = [item for item in items if item.get_closest_marker("runs_last")]
    items[:] = [item for item in items if item not in last] + last
