#!/usr/bin/env python3
"""``make bench``: every benchmark, one after another (they would compete for the CPUs), each as its
own process; prints their figures as they come, then a summary. Exit 1 when any benchmark fails.

Runs ``bench_backfill.py``, ``bench_remote.py`` (the events backfill into PostgreSQL direct and
the Supabase REST store at 0 ms and 40 ms RTT, 14 days), ``bench_floor.py`` (issue 15's floor
targets: ``scripts/backfill_events.py`` over a 90-day cross-era range into PostgreSQL at 0 and
40 ms RTT and REST at 40 ms, the same with one day in flight, and 12 racecard-era months, at the
real limits with 150 ms API latency; ~6.5 min of the total) and, when present, ``bench_stores.py``
and ``bench_report.py`` (those belong to their own owners: they are only invoked and their exit
codes relayed). Each benchmark writes its own section of docs/PERFORMANCE.md (``perfdoc``).
``bench_floor.py`` prints its ratios with PASS/FAIL against the issue's targets for the summary
below, but reports rather than asserts them: its exit code is 1 only when a backfill run fails.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("bench_backfill.py", "bench_remote.py", "bench_floor.py", "bench_stores.py",
              "bench_report.py")
BUDGET_S = 25 * 60      # was 15 min before bench_floor.py (its 12-month leg alone is ~3.3 min)


def main() -> int:
    print(f"make bench: {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}", flush=True)
    outcomes: list[tuple[str, int | None, float, list[str]]] = []
    began = time.perf_counter()
    for name in BENCHMARKS:
        path = HERE / name
        if not path.exists():
            outcomes.append((name, None, 0.0, []))
            continue
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        verdicts = []
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if line.rstrip().endswith(("PASS", "FAIL")):
                verdicts.append(line.strip())
        rc = proc.wait()
        outcomes.append((name, rc, time.perf_counter() - started, verdicts))
    total = time.perf_counter() - began

    print("\n=== summary ===")
    failed = False
    for name, rc, seconds, verdicts in outcomes:
        if rc is None:
            print(f"  {name:<20} not present, skipped")
            continue
        state = "PASS" if rc == 0 else f"FAIL (exit {rc})"
        failed |= rc != 0
        fails = sum(v.endswith("FAIL") for v in verdicts)
        print(f"  {name:<20} {state:<14} {seconds / 60:5.1f} min   "
              f"{len(verdicts) - fails} target lines PASS, {fails} FAIL")
        for v in verdicts:
            if v.endswith("FAIL"):
                print(f"      {v}")
    within = total <= BUDGET_S
    print(f"  total {total / 60:.1f} min (budget {BUDGET_S // 60} min) {'PASS' if within else 'FAIL'}")
    return 1 if failed or not within else 0


if __name__ == "__main__":
    sys.exit(main())
