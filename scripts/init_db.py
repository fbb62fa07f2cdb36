#!/usr/bin/env python3
"""Apply pending schema migrations (supabase/migrations/) to the configured database and record
them in ra_schema_migrations. Re-running is a no-op. Exit codes: 0 ok, 1 rendering out of date,
2 usage/configuration error, 3 cannot connect or a migration failed."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.commands.cli import build_parser, run_main, setup_logging  # noqa: E402


def main(argv=None) -> int:
    from utils.commands.context import open_context
    from utils.commands.init_db import INIT_OPTIONS, check_rendered, report_migrations
    from utils.commands.requests import InitOptions

    parser = build_parser("init_db.py", __doc__.splitlines()[0], INIT_OPTIONS)
    parser.add_argument("--check-rendered", action="store_true",
                        help="check that the committed rendered migrations equal their rendering from utils/")
    args = parser.parse_args(argv)
    setup_logging("init_db", log_dir=None)
    options = InitOptions.from_args(args)
    if options.check_rendered:
        return check_rendered()
    with open_context(options.target, need_api=False, apply_migrations=True) as ctx:
        return report_migrations(ctx)


if __name__ == "__main__":
    run_main(main)
