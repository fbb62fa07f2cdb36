#!/usr/bin/env python3
"""Backfill racecards and results into ra_races / ra_runners (and the entities they reference).

Work runs in monthly chunks; each day is committed in one transaction and then checkpointed, so
``--resume`` continues exactly where a crash or Ctrl+C left off. Exit codes: 0 done, 1 done with
days in the error log, 2 usage error, 3 critical stop, 130 interrupted.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import build_parser, run_main, setup_logging  # noqa: E402


def main(argv=None) -> int:
    from utils.commands.context import open_context
    from utils.commands.events import EVENTS_OPTIONS, preflight, run_events
    from utils.planning import uk_today

    args = build_parser("backfill_events.py", __doc__.splitlines()[0], EVENTS_OPTIONS).parse_args(argv)
    setup_logging("backfill_events", log_format=args.log_format, quiet=args.quiet)

    preflight(args, uk_today())
    ctx = open_context(args.database_url, demo=args.demo, need_api=not args.check_status,
                       read_only=args.check_status)
    try:
        return run_events(args, ctx)
    finally:
        ctx.close()


if __name__ == "__main__":
    run_main(main)
