"""Schema migrations: discover, apply in order, record, and check at start-up.

Migrations are the files ``supabase/migrations/<timestamp>_<name>.sql`` (the Supabase CLI's
convention, so ``supabase db push`` applies the same files). The initial one is rendered from
``utils/schema.py``; SQLite runs ``schema.render_sqlite_ddl()`` for it. A later migration that
PostgreSQL and SQLite cannot share ships a sibling ``<name>.sqlite.sql`` with SQLite's version.
Applied names are recorded in ``ra_schema_migrations``; re-running is a no-op.
"""
from __future__ import annotations

from pathlib import Path

from utils.errors import SchemaOutOfDateError, StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "supabase" / "migrations"
INITIAL_MIGRATION = "20261129000001_initial_schema"


def migration_files() -> list[Path]:
    return sorted(p for p in MIGRATIONS_DIR.glob("*.sql") if not p.name.endswith(".sqlite.sql"))


def migration_names() -> list[str]:
    return [p.stem for p in migration_files()]


def sqlite_sibling(name: str) -> str:
    path = MIGRATIONS_DIR / f"{name}.sqlite.sql"
    if not path.is_file():
        return (MIGRATIONS_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return path.read_text(encoding="utf-8")


def pending_migrations(store) -> list[str]:
    applied = store.applied_migrations()
    return [name for name in migration_names() if name not in applied]


def apply_migrations(store) -> list[str]:
    """Apply every pending migration in order, each in its own transaction; returns their names."""
    applied = []
    for path in migration_files():
        if path.stem in store.applied_migrations():
            continue
        store.run_migration(path.stem, store.migration_sql(path.stem, path.read_text(encoding="utf-8")))
        applied.append(path.stem)
    return applied


def check_schema(store) -> None:
    """Raise with the exact command to run when the database lacks migrations this code needs."""
    try:
        missing = pending_migrations(store)
    except StoreError as exc:
        raise SchemaOutOfDateError(f"cannot read the schema version ({exc})") from None
    if missing:
        hint = ("apply supabase/migrations/*.sql with `supabase db push` or the SQL editor"
                if getattr(store, "kind", "") == "supabase_rest"
                else "run: python3 scripts/init_db.py (with the same --database-url / environment)")
        raise SchemaOutOfDateError(f"database schema is behind (missing: {', '.join(missing)}); {hint}")
