"""Shared pytest fixtures.

The repo root goes on sys.path so tests import ``utils`` the same way the scripts do.

One simulator fixture for every folder: ``simulator`` is a session-long simulator (seed 42, limits
off, real today) for the account ``simulator_account`` names, with a clean slate before and after
each test; ``sim`` is the same with today fixed at ``FIXED_TODAY``. A folder that needs other
credentials overrides ``simulator_account`` only (tests/reliability does, with distinctive secrets).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from helpers import FIXED_TODAY, SIM_PASSWORD, SIM_USER  # noqa: E402
from utils.simulator.faults import FaultConfig  # noqa: E402
from utils.simulator.server import RacingAPISimulator, SimulatorConfig  # noqa: E402


# --- Racing API simulator -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def simulator_account() -> tuple[str, str]:
    """(username, password) of the session simulator."""
    return SIM_USER, SIM_PASSWORD


@pytest.fixture(scope="session")
def _simulators():
    """Started simulators by account, one each for the whole session."""
    running: dict[tuple[str, str], RacingAPISimulator] = {}
    yield running
    for sim in running.values():
        sim.stop()


def clean_slate(sim: RacingAPISimulator) -> None:
    """No faults, no forced failures, no holds, real today, empty fault counts."""
    sim.set_faults(FaultConfig())
    sim.clear_failures()
    sim.release_holds()
    sim.reset_fault_counts()
    sim.today = None


@pytest.fixture
def simulator(_simulators, simulator_account):
    """The session simulator with an empty call log and a clean slate before and after the test."""
    sim = _simulators.get(simulator_account)
    if sim is None:
        username, password = simulator_account
        sim = RacingAPISimulator(SimulatorConfig(seed=42, username=username, password=password,
                                                 rate_limits=False)).start()
        _simulators[simulator_account] = sim
    sim.reset_calls()
    clean_slate(sim)
    yield sim
    clean_slate(sim)


@pytest.fixture
def sim(simulator):
    """``simulator`` with today fixed at ``FIXED_TODAY`` (2025-01-10)."""
    simulator.today = FIXED_TODAY
    return simulator
