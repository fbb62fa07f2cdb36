#!/usr/bin/env python3
"""Verify a backfilled database: record counts, races per year, races without runners, runners whose
race/horse/jockey/trainer/owner is missing, horses without pedigree, days with no races, and
results-era days with racecard-only races. Exit 0 when every check passes, 1 when one fails."""
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import build_parser, run_main, setup_logging  # noqa: E402

VERIFY_OPTIONS = ("start_date", "end_date", "database_url", "log_format", "quiet")


def main(argv=None) -> int:
    args = build_parser("verify_backfill.py", __doc__.splitlines()[0], VERIFY_OPTIONS).parse_args(argv)
    setup_logging("verify_backfill", log_format=args.log_format, quiet=args.quiet)
    import logging

    from utils.commands.context import open_store_for
    from utils.errors import ConfigError, ExitCode
    from utils.planning import uk_today
    from utils.checks.verification import verify

    log = logging.getLogger("darkhorses.verify")
    today = uk_today()
    _, store = open_store_for(args.database_url, read_only=True)
    try:
        span = store.read("date_span")[0]
        first, last = (date.fromisoformat(str(span[k])[:10]) if span[k] else None for k in ("first", "last"))
        start, end = args.start_date or first, args.end_date or last
        if start is None and end is None:
            start = end = today
            how = "the database holds no races yet, so only today is checked"
        elif args.start_date and args.end_date:
            how = "as given"
        else:
            start, end = start or end, end or start
            how = ("the days the database holds (first to last race stored)" if not
                   (args.start_date or args.end_date) else "the other end is the database's")
        if end < start:
            raise ConfigError(f"--end-date {end} is before --start-date {start}")
        log.info("Checking %s to %s: %s", start, end, how)
        ok = verify(store, start, end, today=today, log=log)
    finally:
        store.close()
    return ExitCode.OK if ok else ExitCode.PARTIAL


if __name__ == "__main__":
    run_main(main)
