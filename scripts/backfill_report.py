#!/usr/bin/env python3
"""Report how complete the backfill is: coverage heatmap, per-year table, JSON for monitoring.

Writes a calendar heatmap (coverage.png), a per-year-and-region table against the volumes the real
calendar leads one to expect (summary.md, also printed) and the same figures as JSON (summary.json).

Reads either database with a few aggregate queries; writes nothing to it. ``--format json`` prints
the JSON on stdout (log lines go to stderr) so cron can alert on ``yesterday_has_results``.
Exit codes: 0 done, 2 usage error, 3 critical stop (e.g. the database is unreachable).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import build_parser, move_console, run_main, setup_logging  # noqa: E402

REPORT_OPTIONS = ("start_date", "end_date", "out", "format", "database_url", "log_format", "quiet")


def parse_args(argv=None):
    parser = build_parser("backfill_report.py", __doc__.splitlines()[0], REPORT_OPTIONS)
    parser.add_argument("--error-log", type=Path, metavar="PATH",
                        help="the events backfill's error log whose days to mark "
                             "(default: logs/backfill_events_errors.json)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging("backfill_report", log_format=args.log_format, quiet=args.quiet)
    if args.format == "json":   # stdout carries only the JSON document; log lines go to stderr
        move_console(sys.stderr)
    import json
    import logging

    from utils.commands import report
    from utils.commands.context import open_store_for
    from utils.errors import ConfigError, ExitCode
    from utils.planning import uk_today

    log = logging.getLogger("darkhorses.report")
    today = uk_today()
    _, store = open_store_for(args.database_url, read_only=True)
    try:
        first, last = report.default_range(store, today)
        start, end = args.start_date or first, args.end_date or last
        if end < start:
            raise ConfigError(f"--end-date {end} is before --start-date {start}")
        data = report.collect(store, start, end, today=today,
                              error_log_path=args.error_log or report.DEFAULT_ERROR_LOG)
    finally:
        store.close()
    paths = report.write_files(data, args.out)
    if args.format == "json":
        print(json.dumps(report.to_json(data), indent=2))
    else:
        print(report.render_markdown(data))
    log.info("Wrote %s", ", ".join(str(p) for p in paths))
    return ExitCode.OK


if __name__ == "__main__":
    run_main(main)
