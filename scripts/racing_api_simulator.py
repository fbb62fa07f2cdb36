#!/usr/bin/env python3
"""Run the Racing API simulator as a standalone server (for manual runs and demos).

Why a script: lets anyone point DarkHorses (or curl) at a local, deterministic, fault-injectable copy
of The Racing API: ``--base-url http://127.0.0.1:PORT/v1``-style setups without a paid account.
"""
from __future__ import annotations

import argparse
import sys
import threading
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import iso_date  # noqa: E402
from utils.simulator.faults import FAULT_KINDS, FaultConfig  # noqa: E402
from utils.simulator.server import RacingAPISimulator, SimulatorConfig  # noqa: E402


def _fault_kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown fault kind(s) {unknown}; choose from {','.join(FAULT_KINDS)}")
    return kinds


def build_parser() -> argparse.ArgumentParser:
    defaults = SimulatorConfig()     # the demo account (utils.commands.context uses the same one)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1", help="listen address (default: %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="0 = any free port (default: %(default)s)")
    p.add_argument("--username", default=defaults.username,
                   help="accepted Basic-auth user (default: %(default)s)")
    p.add_argument("--password", default=defaults.password,
                   help="accepted password (default: %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="dataset seed (default: %(default)s)")
    p.add_argument("--historical-addon", action="store_true", help="serve results older than 12 months")
    p.add_argument("--no-rate-limits", action="store_true", help="never answer 429 for speed")
    p.add_argument("--rate-limit-scale", type=float, default=1.0,
                   help="multiply the documented limits (default: %(default)s)")
    p.add_argument("--today", type=iso_date, default=None, metavar="YYYY-MM-DD",
                   help="pretend today is this day (default: the UK's date)")
    p.add_argument("--fault-rate", type=float, default=0.0,
                   help="probability of a fault per request (default: %(default)s)")
    p.add_argument("--fault-kinds", type=_fault_kinds, default=FAULT_KINDS, metavar="K,K",
                   help="faults to inject, comma-separated (default: all of " + ", ".join(FAULT_KINDS) + ")")
    p.add_argument("--latency-ms", type=int, default=0, help="added to every request (default: %(default)s)")
    p.add_argument("--prebuild", type=_date_range, default=None, metavar="START:END",
                   help="generate these days before listening (benchmarks: the real API answers from "
                        "stored data, so generating it must not be timed)")
    p.add_argument("--prebuild-workers", type=int, default=2,
                   help="processes used by --prebuild (default: %(default)s)")
    return p


def _date_range(text: str) -> tuple[date, date]:
    parts = text.split(":")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected START:END as YYYY-MM-DD:YYYY-MM-DD, got {text!r}")
    start, end = map(iso_date, parts)
    if start > end:
        raise argparse.ArgumentTypeError(f"{start} is after {end}")
    return start, end


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        seed=args.seed, username=args.username, password=args.password, host=args.host, port=args.port,
        historical_addon=args.historical_addon, rate_limits=not args.no_rate_limits,
        rate_limit_scale=args.rate_limit_scale, today=args.today,
        faults=FaultConfig(rate=args.fault_rate, kinds=args.fault_kinds, latency_ms=args.latency_ms))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sim = RacingAPISimulator(config_from_args(args))
    if args.prebuild:
        days = sim.dataset.prebuild(*args.prebuild, workers=max(1, args.prebuild_workers))
        print(f"Prebuilt {days} days", flush=True)
    try:
        sim.start()
    except OSError as err:
        print(f"Cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 2
    print(f"Racing API simulator listening on {sim.base_url} (username {args.username})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
