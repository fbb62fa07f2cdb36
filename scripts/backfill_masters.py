#!/usr/bin/env python3
"""Backfill the master tables: regions (all the API lists), courses (for the requested regions) and
the static UK/Irish bookmaker list. Idempotent; prints inserted vs updated per table."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import build_parser, run_main, setup_logging  # noqa: E402


def main(argv=None) -> int:
    from utils.commands.context import open_context
    from utils.commands.masters import MASTERS_OPTIONS, run_masters_command
    from utils.commands.requests import MastersOptions

    args = build_parser("backfill_masters.py", __doc__.splitlines()[0], MASTERS_OPTIONS).parse_args(argv)
    setup_logging("backfill_masters", log_format=args.log_format, quiet=args.quiet)
    options = MastersOptions.from_args(args)
    with open_context(options.target) as ctx:
        return run_masters_command(options, ctx)


if __name__ == "__main__":
    run_main(main)
