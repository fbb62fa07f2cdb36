"""PostgreSQL's side of the merge: the ``ra_apply_day`` function, the read functions, and the
migration that installs them, all rendered from ``utils/schema.py``, ``utils/merge.py`` and
``utils/stores/reads.py``.

Why functions: our users' database is a remote Supabase, 20-150 ms away. With the merge in the
database, a day costs one call: ``SELECT ra_apply_day(…)`` over a direct connection, or one
``POST /rest/v1/rpc/ra_apply_day`` over the REST API — one statement, so one transaction, with the
day's committed mark (``ra_backfill_days``) written in it. The reads that the commands need
(committed days, pending horses, verification, the report) are functions too, so every command
works with only the REST settings.

The merge migration file under ``supabase/migrations/`` is this module's rendering (a test keeps
them equal); it records itself in ``ra_schema_migrations``, so a database migrated by
``supabase db push`` passes the project's schema check with no other step.
"""
from __future__ import annotations

import re
from typing import Any

from utils.merge import upsert_sql
from utils.schema import (
    BACKFILL_DAYS,
    MERGE_MIGRATION,
    MIGRATIONS_TABLE,
    OBSERVED,
    PG_TYPES,
    TABLES,
    WRITE_ORDER,
    Table,
    _render_table,
    added_columns,
)
from utils.stores.base import DayMark, WriteCounts
from utils.stores.reads import READS, Read

APPLY_FUNCTION = "ra_apply_day"
SCHEMA_FUNCTION = "ra_schema_state"
# The parameters of ra_apply_day, in order (named in every call: PostgREST requires it).
APPLY_PARAMS = (("p_unit", "jsonb"), ("p_day", "date"), ("p_regions", "text"), ("p_sources", "text[]"))
SERVICE_ROLE = "service_role"      # the role Supabase's service key runs as
# A day too large for one request body goes to the database in parts (ra_stage_part), then one
# final call (ra_apply_parts) applies them together: still one transaction for the day's rows.
STAGE_FUNCTION = "ra_stage_part"
APPLY_PARTS_FUNCTION = "ra_apply_parts"
PARTS_TABLE = "ra_apply_parts"


def day_arguments(mark: DayMark | None) -> dict[str, Any]:
    """The day's mark as the named arguments ``ra_apply_day`` and ``ra_apply_parts`` take."""
    return {"p_day": mark.day.isoformat() if mark else None,
            "p_regions": mark.regions_text if mark else None,
            "p_sources": list(mark.sources) if mark else None}


def apply_counts(result: dict[str, list[int]]) -> dict[str, WriteCounts]:
    """``ra_apply_day``'s answer ``{table: [inserted, updated, unchanged]}`` as counts."""
    return {table: WriteCounts(*numbers) for table, numbers in result.items()}


def _table_block(table: Table) -> str:
    """Dedupe one table's rows of the unit, merge them into the table, count what happened."""
    cols = ", ".join(table.columns)
    key = ", ".join(table.key)
    order = key + (f", {OBSERVED} DESC NULLS LAST" if table.observed else "")
    source = f"SELECT {cols} FROM src"
    upsert = upsert_sql(table, list(table.columns), source=source, distinct_op="IS DISTINCT FROM",
                        touch=None, target="t")
    return f"""  IF p_unit ? '{table.name}' THEN
    v_table := '{table.name}';
    WITH src AS (
      SELECT DISTINCT ON ({key}) {cols}
      FROM jsonb_populate_recordset(NULL::{table.name}, p_unit -> '{table.name}') ORDER BY {order}
    ), up AS (
      {upsert}
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('{table.name}', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));{
        chr(10) + "    v_races := v_rows;" if table.name == "ra_races" else ""}{
        chr(10) + "    v_runners := v_rows;" if table.name == "ra_runners" else ""}
  END IF;"""


def _mark_block() -> str:
    """The day's committed mark, in the same statement (so the same transaction) as its rows."""
    cols = list(BACKFILL_DAYS.columns)
    values = ("VALUES (p_day, p_regions, CASE WHEN 'results' = ANY(p_sources) THEN true END, "
              "CASE WHEN 'racecards' = ANY(p_sources) THEN true END, v_races, v_runners, now())")
    upsert = upsert_sql(BACKFILL_DAYS, cols, source=values, distinct_op="IS DISTINCT FROM",
                        touch=None, target="t")
    return f"""  IF p_day IS NOT NULL THEN
    v_table := '{BACKFILL_DAYS.name}';
    {upsert};
  END IF;"""


def render_apply_function() -> str:
    params = ", ".join(f"{name} {kind}" + ("" if name == "p_unit" else " DEFAULT NULL")
                       for name, kind in APPLY_PARAMS)
    blocks = "\n".join(_table_block(TABLES[name]) for name in WRITE_ORDER)
    return f"""CREATE OR REPLACE FUNCTION {APPLY_FUNCTION}({params})
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $fn$
-- One day's write unit ({{table: [row, …]}}, rows carry only the columns their source gave) merged
-- by the rules of utils/merge.py, table by table in write order, plus the day's committed mark;
-- one statement, so all or nothing. Returns {{table: [inserted, updated, unchanged]}}.
DECLARE
  v_table text := '';
  v_counts jsonb := '{{}}'::jsonb;
  v_rows bigint;
  v_ins bigint;
  v_upd bigint;
  v_races bigint := 0;
  v_runners bigint := 0;
BEGIN
{blocks}
{_mark_block()}
  RETURN v_counts;
EXCEPTION WHEN OTHERS THEN
  -- name the table; keep the SQLSTATE (a deadlock stays a deadlock, for the caller's retry)
  RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = v_table || ': ' || SQLERRM;
END;
$fn$;"""


def render_parts_functions() -> list[str]:
    """The staging table and the two functions of a day sent in parts."""
    table = f"""CREATE TABLE IF NOT EXISTS {PARTS_TABLE} (
  batch text NOT NULL,
  part integer NOT NULL,
  payload jsonb NOT NULL,
  staged_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (batch, part)
);"""
    stage = f"""CREATE OR REPLACE FUNCTION {STAGE_FUNCTION}(p_batch text, p_part integer, p_unit jsonb)
RETURNS jsonb LANGUAGE sql VOLATILE AS $fn$
  -- one part of a day's unit, kept until ra_apply_parts applies the whole day
  INSERT INTO {PARTS_TABLE} (batch, part, payload) VALUES (p_batch, p_part, p_unit)
  ON CONFLICT (batch, part) DO UPDATE SET payload = excluded.payload, staged_at = now()
  RETURNING jsonb_build_object('staged', p_part)
$fn$;"""
    apply = f"""CREATE OR REPLACE FUNCTION {APPLY_PARTS_FUNCTION}(p_batch text, p_day date DEFAULT NULL,
  p_regions text DEFAULT NULL, p_sources text[] DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $fn$
-- the staged parts joined table by table (in part order) and applied as one unit, in this one
-- statement; the parts are removed in the same transaction, with those of the same write's earlier
-- attempts (batch "<write>.<attempt>") and any left by a crash a day ago
DECLARE
  v_unit jsonb;
  v_counts jsonb;
BEGIN
  SELECT coalesce(jsonb_object_agg(tbl, rows_of), '{{}}'::jsonb) INTO v_unit
  FROM (SELECT e.key AS tbl, jsonb_agg(r.elem ORDER BY p.part, r.ord) AS rows_of
        FROM {PARTS_TABLE} p, jsonb_each(p.payload) e, jsonb_array_elements(e.value) WITH ORDINALITY r(elem, ord)
        WHERE p.batch = p_batch GROUP BY e.key) joined;
  v_counts := {APPLY_FUNCTION}(p_unit => v_unit, p_day => p_day, p_regions => p_regions,
                                p_sources => p_sources);
  DELETE FROM {PARTS_TABLE} WHERE batch LIKE split_part(p_batch, '.', 1) || '.%'
    OR staged_at < now() - interval '1 day';
  RETURN v_counts;
END;
$fn$;"""
    return [table, stage, apply]


def _pg_sql(read: Read) -> str:
    return re.sub(r"(?<![:\w]):(\w+)", r"p_\1", read.sql)


def render_read_function(read: Read) -> str:
    params = ", ".join(f"p_{name} {PG_TYPES[kind]} DEFAULT NULL" for name, kind in read.params)
    return (f"CREATE OR REPLACE FUNCTION {read.function}({params})\n"
            f"RETURNS jsonb LANGUAGE sql STABLE AS $fn$\n"
            f"  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM ({_pg_sql(read).strip()}) q\n"
            f"$fn$;")


def render_schema_function() -> str:
    """What the REST store's schema check reads: migrations recorded by the project and by the
    Supabase CLI, and the tables of the exposed schema."""
    return f"""CREATE OR REPLACE FUNCTION {SCHEMA_FUNCTION}()
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  v_versions jsonb := '[]'::jsonb;
BEGIN
  IF to_regclass('supabase_migrations.schema_migrations') IS NOT NULL THEN
    EXECUTE 'SELECT coalesce(jsonb_agg(version ORDER BY version), ''[]''::jsonb) '
            'FROM supabase_migrations.schema_migrations' INTO v_versions;
  END IF;
  RETURN jsonb_build_object(
    'migrations', (SELECT coalesce(jsonb_agg(name ORDER BY name), '[]'::jsonb) FROM {MIGRATIONS_TABLE}),
    'versions', v_versions,
    'tables', (SELECT coalesce(jsonb_agg(table_name ORDER BY table_name), '[]'::jsonb)
               FROM information_schema.tables WHERE table_schema = current_schema()));
END;
$fn$;"""


def function_signatures() -> list[str]:
    """``name(types)`` of every function the migration creates (for grants)."""
    apply = f"{APPLY_FUNCTION}({', '.join(kind for _, kind in APPLY_PARAMS)})"
    reads = [f"{r.function}({', '.join(PG_TYPES[k] for _, k in r.params)})" for r in READS.values()]
    parts = [f"{STAGE_FUNCTION}(text, integer, jsonb)", f"{APPLY_PARTS_FUNCTION}(text, date, text, text[])"]
    return [apply, *parts, f"{SCHEMA_FUNCTION}()", *reads]


def _grants() -> str:
    """EXECUTE for Supabase's service role only (not anon/authenticated), where those roles exist."""
    lines = []
    for signature in function_signatures():
        lines.append(f"    REVOKE EXECUTE ON FUNCTION {signature} FROM PUBLIC;")
        lines.append(f"    GRANT EXECUTE ON FUNCTION {signature} TO {SERVICE_ROLE};")
    return f"""DO $grants$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SERVICE_ROLE}') THEN
{chr(10).join(lines)}
  END IF;
END;
$grants$;"""


def self_record(name: str) -> tuple[str, str]:
    """The lines that open and close a migration file so it records itself in
    ``ra_schema_migrations`` whoever applies it (init_db.py or ``supabase db push``)."""
    head = (f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name text PRIMARY KEY, "
            f"applied_at timestamptz NOT NULL DEFAULT now());")
    tail = f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES ('{name}') ON CONFLICT (name) DO NOTHING;"
    return head, tail


def render_merge_migration() -> str:
    """The whole PostgreSQL migration ``MERGE_MIGRATION`` (idempotent: safe to run twice, so
    ``init_db.py`` and ``supabase db push`` can be mixed on one database)."""
    head, tail = self_record(MERGE_MIGRATION)
    columns = [f"ALTER TABLE {t.name} ADD COLUMN IF NOT EXISTS {c} {PG_TYPES[kind]};"
               for t, c, kind in added_columns(MERGE_MIGRATION)]
    parts = [
        "-- Rendered from utils/schema.py, utils/merge.py and utils/stores/reads.py by utils/stores/pg_functions.py;\n"
        "-- do not edit by hand. The database does the merge: one call per day (ra_apply_day), and\n"
        "-- every read of the commands as a function, so the REST API needs no SQL.",
        head,
        "\n".join(columns),
        *_render_table(BACKFILL_DAYS, PG_TYPES, None, None, BACKFILL_DAYS.columns),
        render_apply_function(),
        *render_parts_functions(),
        render_schema_function(),
        *(render_read_function(read) for read in READS.values()),
        _grants(),
        "NOTIFY pgrst, 'reload schema';",
        tail,
    ]
    return "\n\n".join(parts) + "\n"
