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
    from utils.commands.requests import EventsOptions
    from utils.planning import uk_today

    args = build_parser("backfill_events.py", __doc__.splitlines()[0], EVENTS_OPTIONS).parse_args(argv)
    setup_logging("backfill_events", log_format=args.log_format, quiet=args.quiet)
    options = EventsOptions.from_args(args)
    preflight(options, uk_today())
    with open_context(options.target, need_api=not options.check_status,
                      read_only=options.check_status) as ctx:
        return run_events(options, ctx)


if __name__ == "__main__":
    run_main(main)
