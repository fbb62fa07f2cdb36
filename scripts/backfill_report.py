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


def main(argv=None) -> int:
    from utils.commands.context import open_context
    from utils.commands.report import REPORT_OPTIONS, run_report
    from utils.commands.requests import ReportOptions

    parser = build_parser("backfill_report.py", __doc__.splitlines()[0], REPORT_OPTIONS)
    parser.add_argument("--error-log", type=Path, metavar="PATH",
                        help="the events backfill's error log whose days to mark "
                             "(default: logs/backfill_events_errors.json)")
    args = parser.parse_args(argv)
    setup_logging("backfill_report", log_format=args.log_format, quiet=args.quiet)
    if args.format == "json":   # stdout carries only the JSON document; log lines go to stderr
        move_console(sys.stderr)
    options = ReportOptions.from_args(args)
    with open_context(options.target, need_api=False, read_only=True) as ctx:
        return run_report(options, ctx)


if __name__ == "__main__":
    run_main(main)
