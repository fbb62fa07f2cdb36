#!/usr/bin/env python3
"""Run the whole backfill: master tables, then racecards + results for the range, in-process.

Exit codes: 0 done, 1 done with days in the error log or failed checks, 2 usage error,
3 critical stop (masters failure, auth, plan window, database loss), 130 interrupted.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import build_parser, run_main, setup_logging  # noqa: E402


def main(argv=None) -> int:
    from utils.commands.backfill_all import ALL_OPTIONS, print_plan, run_all
    from utils.planning import uk_today

    args = build_parser("backfill_all.py", __doc__.splitlines()[0], ALL_OPTIONS).parse_args(argv)
    if args.dry_run:
        setup_logging("backfill_all", log_format=args.log_format, quiet=args.quiet, log_dir=None)
        return print_plan(args, uk_today())
    setup_logging("backfill_all", log_format=args.log_format, quiet=args.quiet)
    from utils.commands.context import open_context

    ctx = open_context(args.database_url, demo=args.demo)
    try:
        return run_all(args, ctx)
    finally:
        ctx.close()


if __name__ == "__main__":
    run_main(main)
