#!/usr/bin/env python3
"""Apply pending schema migrations (supabase/migrations/) to the configured database and record
them in ra_schema_migrations. Re-running is a no-op. Exit codes: 0 ok, 1 rendering out of date,
2 usage/configuration error, 3 cannot connect or a migration failed."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import build_parser, run_main, setup_logging  # noqa: E402


def check_rendered(log) -> int:
    """Compare each committed migration that the schema modules render with its rendering."""
    from utils.errors import ExitCode
    from utils.stores.migrations import MIGRATIONS_DIR, rendered_migrations

    differ = []
    for name, rendering in rendered_migrations().items():
        committed = (MIGRATIONS_DIR / f"{name}.sql").read_text(encoding="utf-8")
        same = committed == rendering
        log.info("migration %s %s its rendering", name, "matches" if same else "DIFFERS FROM")
        differ += [] if same else [name]
    return ExitCode.PARTIAL if differ else ExitCode.OK


def migrate(database_url, log) -> int:
    """Open the configured store, apply what is pending, list every migration's state."""
    import os

    from utils.commands.cli import load_environment, register_secret
    from utils.stores.target import check_sqlite_location, resolve_database
    from utils.errors import ExitCode
    from utils.stores.migrations import migration_names
    from utils.stores import open_store

    load_environment()
    target = resolve_database(database_url, os.environ)
    register_secret(target.key)
    log.info(target.banner())
    check_sqlite_location(target, must_exist=False)
    with open_store(target) as store:
        applied = store.apply_migrations()   # the REST store explains how to apply them instead
    for name in migration_names():
        log.info("  %s %s", "applied now " if name in applied else "already done", name)
    log.info("Schema up to date (%d migrations, %d applied now)", len(migration_names()), len(applied))
    return ExitCode.OK


def main(argv=None) -> int:
    parser = build_parser("init_db.py", __doc__.splitlines()[0], ("database_url",))
    parser.add_argument("--check-rendered", action="store_true",
                        help="check that the committed rendered migrations equal their rendering from utils/")
    args = parser.parse_args(argv)
    setup_logging("init_db", log_dir=None)
    import logging

    log = logging.getLogger("darkhorses")
    if args.check_rendered:
        return check_rendered(log)
    return migrate(args.database_url, log)


if __name__ == "__main__":
    run_main(main)
