#!/usr/bin/env python3
"""Run the whole backfill: master tables, then racecards + results for the range, in-process.

Exit codes: 0 done, 1 done with days in the error log or failed checks, 2 usage error,
3 critical stop (masters failure, auth, plan window, database loss), 130 interrupted.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import LOGS_DIR, build_parser, run_main, setup_logging  # noqa: E402


def main(argv=None) -> int:
    from utils.commands.backfill_all import ALL_OPTIONS, print_plan, run_all
    from utils.commands.context import open_context
    from utils.commands.requests import AllOptions
    from utils.planning import uk_today

    args = build_parser("backfill_all.py", __doc__.splitlines()[0], ALL_OPTIONS).parse_args(argv)
    setup_logging("backfill_all", log_format=args.log_format, quiet=args.quiet,
                  log_dir=None if args.dry_run else LOGS_DIR)      # a dry run touches nothing
    options = AllOptions.from_args(args)
    if options.dry_run:
        return print_plan(options, uk_today())
    with open_context(options.target) as ctx:
        return run_all(options, ctx)


if __name__ == "__main__":
    run_main(main)
