#!/usr/bin/env python3
"""How long the client takes for 200 mixed calls at its DEFAULT rate limits (a timing, so it lives
here and not in the test suite, where a loaded machine would make it flaky).

The workload is the one ``tests/test_client.py::test_default_limits_200_mixed_calls_from_threads_see_no_429``
checks for correctness: 80 results calls (5/s), 80 horse profiles (5/s) and 40 racecards (2/s) from
eight threads against a simulator enforcing the spec's limits. Racecards are the longest queue:
40 calls at 2/s is 20 s, so a client that uses its limits (rather than wasting them) finishes in
about 20 s. Target: under 26 s (20 s + 30 %).

    .venv/bin/python benchmarks/bench_client_limits.py

Prints the elapsed time and one target line ending in PASS or FAIL; exit 1 on FAIL.
"""
from __future__ import annotations

import queue
import sys
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from utils.api.client import RacingAPIClient, RetryPolicy  # noqa: E402
from utils.errors import NotFoundError  # noqa: E402
from utils.simulator.server import RacingAPISimulator, SimulatorConfig  # noqa: E402

TODAY = date(2025, 1, 10)
REGIONS = ["gb", "ire"]
TARGET_S = 40 / 2 * 1.3          # the racecards queue at 2/s, plus 30 %


def _horses(sim: RacingAPISimulator, day: date, *, with_profile: bool, n: int) -> list[str]:
    found: list[str] = []
    for back in range(10):
        for race in sim.dataset.results_for(day - timedelta(days=back)):
            for runner in race["runners"]:
                hid = runner["horse_id"]
                if (sim.dataset.horse_pro(hid) is not None) == with_profile and hid not in found:
                    found.append(hid)
                    if len(found) == n:
                        return found
    raise RuntimeError("the dataset ran out of horses")


def main() -> int:
    config = SimulatorConfig(username="bench", password="bench-password", today=TODAY, rate_limits=True)
    days = [TODAY - timedelta(days=k) for k in range(1, 7)]
    with RacingAPISimulator(config) as sim:
        for day in days:                       # build the days now, not while being timed
            sim.dataset.results_for(day)
        horses = (_horses(sim, days[0], with_profile=True, n=72)
                  + _horses(sim, days[0], with_profile=False, n=8))
        work = {"results": [days[k % 6] for k in range(80)], "horses": horses,
                "racecards": [days[k % 6] for k in range(40)]}
        client = RacingAPIClient("bench", "bench-password", sim.base_url, timeout=10.0,
                                 retry=RetryPolicy(attempts=5, initial=0.01, maximum=0.05, jitter=0.0))
        queues = {name: queue.SimpleQueue() for name in work}
        for name, items in work.items():
            for item in items:
                queues[name].put(item)
        fetch = {"results": lambda x: client.results(x, REGIONS),
                 "racecards": lambda x: client.racecards_pro(x, REGIONS), "horses": client.horse_pro}
        errors: list[BaseException] = []

        def worker(name: str) -> None:
            while True:
                try:
                    item = queues[name].get_nowait()
                except queue.Empty:
                    return
                try:
                    fetch[name](item)
                except NotFoundError:
                    pass
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

        threads = [threading.Thread(target=worker, args=(name,)) for name in
                   ("results", "results", "results", "horses", "horses", "horses", "racecards", "racecards")]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        elapsed = time.monotonic() - started
        client.close()
        statuses = Counter(call.status for call in sim.calls())
    if errors:
        print(f"errors: {errors[:3]}", file=sys.stderr)
    ok = not errors and elapsed < TARGET_S
    print(f"200 mixed calls at the default limits: {elapsed:.1f} s (statuses {dict(statuses)})")
    print(f"client uses its limits: {elapsed:.1f} s < {TARGET_S:.0f} s {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
