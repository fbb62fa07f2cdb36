#!/usr/bin/env python3
"""Benchmark: ``backfill_all --enrich-horses`` costs about max(events floor, enrichment floor).

Horse profiles (``/horses/{id}/pro``) have their own budget (5/s), so fetched alongside the events
(utils/enrich_command.EnrichmentAlongside) the whole job should cost the larger of the two floors,
not their sum. The simulator enforces the spec's limits in its own process, all scaled by
``--scale`` (the client's pacing is scaled the same way, so every ratio is the real one; the
default keeps a results-era range of a few days to a minute). The range is results-only (before
2023-01-23), where every horse needs a profile.

    .venv/bin/python benchmarks/bench_enrich_alongside.py [--start 2022-12-01] [--days 6] [--scale 10]

Prints wall, the events floor (max(results / 5, racecards / 2)), the enrichment floor
(horses / 5), both scaled, and wall / max(floors) (target 1.10) and wall / sum(floors).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, time as clock_time, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

from bench_backfill import ChildSimulator, api_floor, data_calls  # noqa: E402
from utils import planning  # noqa: E402

TODAY = date(2025, 1, 10)


def measure(start: date, days: int, scale: float) -> dict:
    sim = ChildSimulator(dict(seed=42, username="bench", password="bench-pw", rate_limits=True,
                              rate_limit_scale=scale, historical_addon=True, today=TODAY), {})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite:///{tmp}/along.db"
            env = {**os.environ, "RACING_API_BASE_URL": sim.base_url, "RACING_API_USERNAME": "bench",
                   "RACING_API_PASSWORD": "bench-pw", "RACING_API_RATE_SCALE": str(scale),
                   "DARKHORSES_NOW": datetime.combine(TODAY, clock_time(12), tzinfo=UTC).isoformat()}
            for var in ("DATABASE_URL", "SUPABASE_DB_URL", "SUPABASE_URL", "SUPABASE_SERVICE_KEY"):
                env.pop(var, None)
            subprocess.run([sys.executable, str(REPO / "scripts" / "init_db.py"), "--database-url", db],
                           env=env, check=True, capture_output=True)
            end = start + timedelta(days=days - 1)
            began = time.perf_counter()
            run = subprocess.run([sys.executable, str(REPO / "scripts" / "backfill_all.py"),
                                  "--start-date", start.isoformat(), "--end-date", end.isoformat(),
                                  "--database-url", db, "--checkpoint-file", f"{tmp}/cp.json",
                                  "--skip-masters", "--enrich-horses", "--quiet"],
                                 env=env, capture_output=True, text=True)
            wall = time.perf_counter() - began
            if run.returncode != 0:
                raise SystemExit(f"backfill_all failed ({run.returncode}): {run.stderr.strip()[-400:]}")
        calls = sim.calls()
    finally:
        sim.stop()
    counts = data_calls(calls)
    horses = sum(1 for c in calls if c[0] == "horses")
    too_many = sum(1 for c in calls if c[1] == 429)
    events = api_floor(counts) / scale
    enrichment = horses / planning.SPEC_RATE_LIMITS["horses"] / scale
    return {"start": start.isoformat(), "days": days, "scale": scale, "wall_s": wall,
            "results_calls": counts.get("results", 0), "racecard_calls": counts.get("racecards", 0),
            "horse_calls": horses, "http_429": too_many, "events_floor_s": events,
            "enrichment_floor_s": enrichment, "wall_over_max": wall / max(events, enrichment),
            "wall_over_sum": wall / (events + enrichment)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2022, 12, 1))
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--scale", type=float, default=10.0)
    args = parser.parse_args()
    result = measure(args.start, args.days, args.scale)
    for key, value in result.items():
        print(f"{key:>20}: {value:.3f}" if isinstance(value, float) else f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
