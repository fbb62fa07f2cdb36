#!/usr/bin/env python3
"""Verify a backfilled database: record counts, races per year, races without runners, runners whose
race/horse/jockey/trainer/owner is missing, horses without pedigree, days with no races, and
results-era days with racecard-only races. Exit 0 when every check passes, 1 when one fails."""
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.cli import build_parser, run_main, setup_logging  # noqa: E402

VERIFY_OPTIONS = ("start_date", "end_date", "database_url", "log_format", "quiet")


def main(argv=None) -> int:
    args = build_parser("verify_backfill.py", __doc__.splitlines()[0], VERIFY_OPTIONS).parse_args(argv)
    setup_logging("verify_backfill", log_format=args.log_format, quiet=args.quiet)
    import logging

    from utils.context import open_store_for
    from utils.errors import ConfigError, ExitCode
    from utils.planning import uk_today
    from utils.verification import verify

    today = uk_today()
    _, store = open_store_for(args.database_url, read_only=True)
    try:
        start, end = args.start_date, args.end_date
        if start is None:
            first = store.read("date_span")[0]["first"]
            start = date.fromisoformat(str(first)[:10]) if first else today
        end = end or today
        if end < start:
            raise ConfigError(f"--end-date {end} is before --start-date {start}")
        ok = verify(store, start, end, today=today, log=logging.getLogger("darkhorses.verify"))
    finally:
        store.close()
    return ExitCode.OK if ok else ExitCode.PARTIAL


if __name__ == "__main__":
    run_main(main)
