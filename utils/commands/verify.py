"""The ``verify_backfill`` command: which range to check, then the checks of ``utils/checks/verification.py``.

Why the range logic lives here: without ``--start-date``/``--end-date`` the command checks the days
the database holds, and it says which range it chose and why, so a PASS is never about an empty
range by accident.
"""
from __future__ import annotations

import logging
from datetime import date

from utils.checks.verification import verify
from utils.commands.cli import check_order
from utils.commands.context import RunContext
from utils.commands.requests import RangeOptions
from utils.errors import ExitCode
from utils.stores.base import Store

log = logging.getLogger("darkhorses.verify")

VERIFY_OPTIONS = ("start_date", "end_date", "database_url", "log_format", "quiet")


def range_to_check(options: RangeOptions, store: Store, today: date) -> tuple[date, date, str]:
    """The range and the reason: as given, or the database's first to last race day where an end
    is missing (only today for an empty database)."""
    span = store.read("date_span")[0]
    first, last = (date.fromisoformat(str(span[k])[:10]) if span[k] else None for k in ("first", "last"))
    start, end = options.start_date or first, options.end_date or last
    if start is None and end is None:
        return today, today, "the database holds no races yet, so only today is checked"
    if options.start_date and options.end_date:
        return start, end, "as given"
    start, end = start or end, end or start
    check_order(start, end)
    return start, end, ("the days the database holds (first to last race stored)"
                        if not (options.start_date or options.end_date) else "the other end is the database's")


def run_verify(options: RangeOptions, ctx: RunContext) -> ExitCode:
    start, end, how = range_to_check(options, ctx.store, ctx.today)
    log.info("Checking %s to %s: %s", start, end, how)
    return ExitCode.OK if verify(ctx.store, start, end, today=ctx.today, log=log) else ExitCode.PARTIAL
