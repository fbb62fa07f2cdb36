"""Shared pytest fixtures.

The repo root goes on sys.path so tests import ``utils`` the same way the scripts do.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from utils.simulator import FaultConfig, RacingAPISimulator, SimulatorConfig  # noqa: E402

SIM_USERNAME, SIM_PASSWORD = "demo", "demo-password"


# --- Racing API simulator -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def simulator_server():
    """One simulator per session (no rate limits, real today); use ``simulator`` for a clean slate."""
    sim = RacingAPISimulator(SimulatorConfig(seed=42, username=SIM_USERNAME, password=SIM_PASSWORD,
                                             rate_limits=False))
    sim.start()
    yield sim
    sim.stop()


def clean_slate(sim: RacingAPISimulator) -> None:
    """No faults, no forced failures, real today, and (when present) empty fault counters."""
    sim.set_faults(FaultConfig())
    sim.clear_failures()
    sim.today = None
    counter = getattr(sim, "fault_counter", None)
    if counter is not None:
        counter.counter.clear()
        counter.queue.clear()


@pytest.fixture
def simulator(simulator_server):
    """The session simulator with an empty call log and a clean slate before and after the test."""
    sim = simulator_server
    sim.reset_calls()
    clean_slate(sim)
    yield sim
    clean_slate(sim)
