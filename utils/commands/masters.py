"""The ``backfill_masters`` command: regions, courses and bookmakers (``utils/pipeline/masters.py``)."""
from __future__ import annotations

from utils.commands.context import RunContext
from utils.commands.requests import MastersOptions
from utils.errors import ExitCode
from utils.pipeline.masters import run_masters

MASTERS_OPTIONS = ("region_codes", "database_url", "demo", "log_format", "quiet")


def run_masters_command(options: MastersOptions, ctx: RunContext) -> ExitCode:
    run_masters(ctx.client, ctx.store, options.region_codes)
    return ExitCode.OK
