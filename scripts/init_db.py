#!/usr/bin/env python3
"""Apply pending schema migrations (supabase/migrations/) to the configured database and record
them in ra_schema_migrations. Re-running is a no-op. Exit codes: 0 ok, 1 rendering out of date,
2 usage/configuration error, 3 cannot connect or a migration failed."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.cli import build_parser, run_main, setup_logging  # noqa: E402


def main(argv=None) -> int:
    parser = build_parser("init_db.py", __doc__.splitlines()[0], ("database_url",))
    parser.add_argument("--check-rendered", action="store_true",
                        help="check that the committed initial migration equals utils/schema.py's rendering")
    args = parser.parse_args(argv)
    setup_logging("init_db", log_dir=None)
    import logging

    from utils.errors import ExitCode
    from utils.migrations import INITIAL_MIGRATION, MIGRATIONS_DIR, apply_migrations, migration_names
    from utils.schema import render_postgres_ddl

    log = logging.getLogger("darkhorses")
    if args.check_rendered:
        committed = (MIGRATIONS_DIR / f"{INITIAL_MIGRATION}.sql").read_text(encoding="utf-8")
        same = committed == render_postgres_ddl()
        log.info("initial migration %s utils/schema.py", "matches" if same else "DIFFERS FROM")
        return ExitCode.OK if same else ExitCode.PARTIAL
    import os

    from utils.cli import load_environment
    from utils.db_target import resolve_database
    from utils.stores import open_store

    load_environment()
    target = resolve_database(args.database_url, os.environ)
    log.info(target.banner())
    with open_store(target) as store:
        if target.kind == "supabase_rest":
            from utils.errors import ConfigError

            raise ConfigError("the Supabase REST API cannot run DDL: apply supabase/migrations/*.sql with "
                              "`supabase db push` or the SQL editor, or set SUPABASE_DB_URL")
        applied = apply_migrations(store)
    for name in migration_names():
        log.info("  %s %s", "applied now " if name in applied else "already done", name)
    log.info("Schema up to date (%d migrations, %d applied now)", len(migration_names()), len(applied))
    return ExitCode.OK


if __name__ == "__main__":
    run_main(main)
