#!/usr/bin/env python3
"""Backfill the master tables: regions (all the API lists), courses (for the requested regions) and
the static UK/Irish bookmaker list. Idempotent; prints inserted vs updated per table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import build_parser, run_main, setup_logging  # noqa: E402

MASTERS_OPTIONS = ("region_codes", "database_url", "demo", "log_format", "quiet")


def main(argv=None) -> int:
    args = build_parser("backfill_masters.py", __doc__.splitlines()[0], MASTERS_OPTIONS).parse_args(argv)
    setup_logging("backfill_masters", log_format=args.log_format, quiet=args.quiet)
    from utils.commands.context import open_context
    from utils.errors import ExitCode
    from utils.pipeline.masters import run_masters

    ctx = open_context(args.database_url, demo=args.demo)
    try:
        run_masters(ctx.client, ctx.store, args.region_codes)
    finally:
        ctx.close()
    return ExitCode.OK


if __name__ == "__main__":
    run_main(main)
