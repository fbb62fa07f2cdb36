#!/usr/bin/env python3
"""Verify a backfilled database: record counts, races per year, races without runners, runners whose
race/horse/jockey/trainer/owner is missing, horses without pedigree, days with no races, and
results-era days with racecard-only races. Exit 0 when every check passes, 1 when one fails."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import build_parser, run_main, setup_logging  # noqa: E402


def main(argv=None) -> int:
    from utils.commands.context import open_context
    from utils.commands.requests import RangeOptions
    from utils.commands.verify import VERIFY_OPTIONS, run_verify

    args = build_parser("verify_backfill.py", __doc__.splitlines()[0], VERIFY_OPTIONS).parse_args(argv)
    setup_logging("verify_backfill", log_format=args.log_format, quiet=args.quiet)
    options = RangeOptions.from_args(args)
    with open_context(options.target, need_api=False, read_only=True) as ctx:
        return run_verify(options, ctx)


if __name__ == "__main__":
    run_main(main)
