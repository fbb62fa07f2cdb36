"""Schema migrations: discover, apply in order, record, and check at start-up.

Migrations are the files ``supabase/migrations/<timestamp>_<name>.sql`` (the Supabase CLI's
convention, so ``supabase db push`` applies the very same files); a migration's name is the file
stem and names sort in apply order. That folder holds PostgreSQL only, one file per version.
SQLite cannot run PostgreSQL's DDL (plpgsql, ``timestamptz``), so its SQL for each migration is
generated from ``utils/schema.py`` (``SQLITE_SQL`` below): both renderings come from one place.

Each migration runs in its own transaction together with the row that records it in
``ra_schema_migrations`` (name PK, applied_at), so a failed migration leaves nothing behind and
re-running is a no-op. Migrations from the merge migration on also record themselves (their last
statement), and the Supabase CLI's own record (``supabase_migrations.schema_migrations``, by
version) counts as applied too: ``init_db.py`` and ``supabase db push`` can be mixed on one
database, and every migration is idempotent for that reason.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from utils import REPO_ROOT
from utils.errors import SchemaOutOfDateError, StoreAuthError, StoreConnectionError, StoreError
from utils.schema import (
    INITIAL_MIGRATION,
    MERGE_MIGRATION,
    TABLES,
    WRITE_ORDER,
    render_sqlite_ddl,
    render_sqlite_merge_migration,
)

if TYPE_CHECKING:     # base.py calls into this module (Store.apply_migrations): no import back
    from utils.stores.base import Store

MIGRATIONS_DIR = REPO_ROOT / "supabase" / "migrations"
INIT_COMMAND = "python3 scripts/init_db.py [--database-url URL]"
REST_HINT = ("run `supabase db push` (or paste supabase/migrations/*.sql into the Supabase SQL "
             "editor, or set SUPABASE_DB_URL and run python3 scripts/init_db.py)")

# SQLite's SQL for each migration, generated from utils/schema.py. The second migration only drops
# PostgreSQL constraints: SQLite keeps the three references enforced (dropping a foreign key there
# means rebuilding ra_runners, and its reference checks are in-process index probes; measured: no
# difference in write time), so it has nothing to run.
SQLITE_SQL = {
    INITIAL_MIGRATION: lambda: render_sqlite_ddl(INITIAL_MIGRATION),
    "20261129000002_runner_people_references_unenforced": lambda: "",
    MERGE_MIGRATION: render_sqlite_merge_migration,
}


def rendered_migrations() -> dict[str, str]:
    """The PostgreSQL migrations rendered from the schema modules (committed files must equal)."""
    from utils.schema import render_postgres_ddl
    from utils.stores.pg_functions import render_merge_migration

    return {INITIAL_MIGRATION: render_postgres_ddl(INITIAL_MIGRATION),
            MERGE_MIGRATION: render_merge_migration()}


def names_of_versions(versions) -> set[str]:
    """Migration names whose version (the timestamp before the first ``_``) the CLI recorded."""
    recorded = {str(v) for v in versions}
    return {name for name in migration_names() if name.split("_", 1)[0] in recorded}


def migration_files() -> list[Path]:
    """The PostgreSQL migration files in apply order."""
    return sorted(MIGRATIONS_DIR.glob("*.sql"))


def migration_names() -> list[str]:
    return [p.stem for p in migration_files()]


MIGRATIONS = migration_names()


def sqlite_sql(name: str) -> str:
    """SQLite's SQL for a migration (a migration without one is a usage error of this module)."""
    try:
        return SQLITE_SQL[name]()
    except KeyError:
        raise StoreError(f"migration {name} has no SQLite version in utils/stores/migrations.SQLITE_SQL") from None


def pending_migrations(store: Store) -> list[str]:
    applied = store.applied_migrations()
    return [name for name in migration_names() if name not in applied]


def apply_migrations(store: Store) -> list[str]:
    """Apply every pending migration in order, each in its own transaction; returns their names."""
    applied = []
    done = store.applied_migrations()
    for path in migration_files():
        if path.stem in done:
            continue
        store.run_migration(path.stem, store.migration_sql(path.stem, path.read_text(encoding="utf-8")))
        applied.append(path.stem)
    return applied


def _hint(store: Store) -> str:
    """What to run: REST cannot migrate; PostgreSQL takes init_db.py or the Supabase CLI."""
    kind = store.kind
    if kind == "supabase_rest":
        return REST_HINT
    return f"Run: {INIT_COMMAND}" + (" (or supabase db push)" if kind == "postgres" else "")


def behind_message(missing: list[str], *, hint: str) -> str:
    """One readable line: a never-initialised database says so instead of listing every table."""
    tables = [m for m in missing if m.startswith("table ")]
    if len(tables) == len(TABLES):
        names = [m for m in missing if not m.startswith("table ")]
        return f"Database schema is behind: nothing applied yet (missing: {', '.join(names)}). {hint}"
    return f"Database schema is behind (missing: {', '.join(missing)}). {hint}"


def check_schema(store: Store) -> None:
    """Raise with the exact command to run when the database lacks migrations (or tables) this
    code needs."""
    hint = _hint(store)
    try:
        applied, tables = store.schema_state()
        missing = [name for name in migration_names() if name not in applied]
        missing += [f"table {t}" for t in WRITE_ORDER if t not in tables]
    except (SchemaOutOfDateError, StoreConnectionError, StoreAuthError):
        raise
    except StoreError as exc:
        raise SchemaOutOfDateError(f"Cannot read the schema version ({exc}). "
                                   f"{hint}") from None
    if missing:
        raise SchemaOutOfDateError(behind_message(missing, hint=hint))
