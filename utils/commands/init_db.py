"""The ``init_db`` command: apply the pending migrations of ``supabase/migrations/``, or check that
the committed migrations equal their rendering from ``utils/`` (``--check-rendered``)."""
from __future__ import annotations

import logging

from utils.commands.context import RunContext
from utils.errors import ExitCode
from utils.stores.migrations import MIGRATIONS_DIR, migration_names, rendered_migrations

log = logging.getLogger("darkhorses")

INIT_OPTIONS = ("database_url",)


def check_rendered() -> ExitCode:
    """Compare each committed migration that the schema modules render with its rendering."""
    differ = []
    for name, rendering in rendered_migrations().items():
        committed = (MIGRATIONS_DIR / f"{name}.sql").read_text(encoding="utf-8")
        same = committed == rendering
        log.info("migration %s %s its rendering", name, "matches" if same else "DIFFERS FROM")
        differ += [] if same else [name]
    return ExitCode.PARTIAL if differ else ExitCode.OK


def report_migrations(ctx: RunContext) -> ExitCode:
    """Every migration's state after the context applied what was pending."""
    for name in migration_names():
        log.info("  %s %s", "applied now " if name in ctx.applied_migrations else "already done", name)
    log.info("Schema up to date (%d migrations, %d applied now)", len(migration_names()),
             len(ctx.applied_migrations))
    return ExitCode.OK
