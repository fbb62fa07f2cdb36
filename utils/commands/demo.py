"""The demo wiring: the bundled Racing API simulator and a client pointed at it, for ``--demo``.

Why a module of its own: the simulator is test and demo equipment, and this is the one place in
``utils`` allowed to import it (an import-linter contract, ``.importlinter``, holds that), so a
production path can never start it by accident.
"""
from __future__ import annotations

import logging
from datetime import date

from utils.api.client import RacingAPIClient
from utils.planning import uk_today

log = logging.getLogger("darkhorses")

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_SEED = 42
DEMO_RATE_SCALE = 4.0   # the demo runs with rate limits on, at four times the real speed
# The demo's own embedded database: simulated data must never land in a real database that
# DATABASE_URL/SUPABASE_* point at, so --demo honours only an explicit --database-url.
DEMO_DATABASE_URL = "sqlite:///data/demo.db"


def start_demo_api(*, today: date | None = None, rate_scale: float = DEMO_RATE_SCALE):
    """Start the bundled simulator on a free loopback port and a client wired to it. Its "today"
    is the UK's (the real API's), fixed for the run unless given."""
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
