"""Schema migrations: discover, apply in order, record, and check at start-up.

Migrations are the files ``supabase/migrations/<timestamp>_<name>.sql`` (the Supabase CLI's
convention, so ``supabase db push`` applies the very same files); a migration's name is the file
stem and names sort in apply order. SQLite cannot run PostgreSQL's DDL (plpgsql triggers,
``timestamptz``), so:

- the initial migration runs ``schema.render_sqlite_ddl()`` on SQLite (both renderings come from
  ``utils/schema.py``, so they cannot drift);
- a later migration whose SQL SQLite cannot run ships a sibling ``<name>.sqlite.sql`` holding
  SQLite's version (plain ``ALTER TABLE … ADD COLUMN`` usually runs on both and needs none).

Each migration runs in its own transaction together with the row that records it in
``ra_schema_migrations`` (name PK, applied_at), so a failed migration leaves nothing behind and
re-running is a no-op.
"""
from __future__ import annotations

from pathlib import Path

from utils.errors import SchemaOutOfDateError, StoreAuthError, StoreConnectionError, StoreError
from utils.schema import TABLES

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "supabase" / "migrations"
INITIAL_MIGRATION = "20261129000001_initial_schema"
SQLITE_SUFFIX = ".sqlite.sql"
INIT_COMMAND = "python3 scripts/init_db.py [--database-url URL]"
REST_HINT = ("apply supabase/migrations/*.sql with `supabase db push` or the Supabase SQL editor "
             "(or set SUPABASE_DB_URL and run python3 scripts/init_db.py)")


def migration_files() -> list[Path]:
    """The PostgreSQL migration files in apply order (SQLite siblings excluded)."""
    return sorted(p for p in MIGRATIONS_DIR.glob("*.sql") if not p.name.endswith(SQLITE_SUFFIX))


def migration_names() -> list[str]:
    return [p.stem for p in migration_files()]


MIGRATIONS = migration_names()


def sqlite_sql(name: str) -> str:
    """SQLite's SQL for a migration: the rendering for the initial one, else the sibling file,
    else the PostgreSQL file itself (for DDL both dialects accept)."""
    if name == INITIAL_MIGRATION:
        from utils.schema import render_sqlite_ddl

        return render_sqlite_ddl()
    sibling = MIGRATIONS_DIR / f"{name}{SQLITE_SUFFIX}"
    path = sibling if sibling.is_file() else MIGRATIONS_DIR / f"{name}.sql"
    return path.read_text(encoding="utf-8")


def pending_migrations(store) -> list[str]:
    applied = store.applied_migrations()
    return [name for name in migration_names() if name not in applied]


def apply_migrations(store) -> list[str]:
    """Apply every pending migration in order, each in its own transaction; returns their names."""
    applied = []
    done = store.applied_migrations()
    for path in migration_files():
        if path.stem in done:
            continue
        store.run_migration(path.stem, store.migration_sql(path.stem, path.read_text(encoding="utf-8")))
        applied.append(path.stem)
    return applied


def behind_message(missing: list[str], *, rest: bool) -> str:
    """One readable line: a never-initialised database says so instead of listing every table."""
    hint = REST_HINT if rest else f"Run: {INIT_COMMAND}"
    tables = [m for m in missing if m.startswith("table ")]
    if len(tables) == len(TABLES):
        names = [m for m in missing if not m.startswith("table ")]
        return f"Database schema is behind: nothing applied yet (missing: {', '.join(names)}). {hint}"
    return f"Database schema is behind (missing: {', '.join(missing)}). {hint}"


def check_schema(store) -> None:
    """Raise with the exact command to run when the database lacks migrations (or tables) this
    code needs."""
    rest = getattr(store, "kind", "") == "supabase_rest"
    try:
        missing = pending_migrations(store) + [f"table {t}" for t in store.missing_tables()]
    except (SchemaOutOfDateError, StoreConnectionError, StoreAuthError):
        raise
    except StoreError as exc:
        raise SchemaOutOfDateError(f"Cannot read the schema version ({exc}). "
                                   f"{REST_HINT if rest else 'Run: ' + INIT_COMMAND}") from None
    if missing:
        raise SchemaOutOfDateError(behind_message(missing, rest=rest))
