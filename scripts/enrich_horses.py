#!/usr/bin/env python3
"""Fetch /v1/horses/{id}/pro profiles for horses that lack one (dob, sex, colour, breeder, pedigree).

Resumable from the database itself: each batch commits with the horses it enriched, and a 404 is
stored as not_found so it is never asked again. Exit codes: 0 done, 1 some horses failed (they stay
pending), 2 usage error, 3 critical stop, 130 interrupted.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import build_parser, run_main, setup_logging  # noqa: E402


def main(argv=None) -> int:
    from utils.commands.context import open_context
    from utils.commands.enrich import ENRICH_OPTIONS, run_enrichment
    from utils.commands.requests import EnrichOptions

    args = build_parser("enrich_horses.py", __doc__.splitlines()[0], ENRICH_OPTIONS).parse_args(argv)
    setup_logging("enrich_horses", log_format=args.log_format, quiet=args.quiet)
    options = EnrichOptions.from_args(args)
    with open_context(options.target, need_api=not options.check_status,
                      read_only=options.check_status) as ctx:
        return run_enrichment(options, ctx)


if __name__ == "__main__":
    run_main(main)
