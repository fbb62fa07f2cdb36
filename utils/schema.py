"""The ra_* table definitions: the one source of truth for every store.

Why a Python definition rather than hand-written SQL twice: the PostgreSQL migration, the SQLite DDL,
the column lists the stores COPY/upsert with, and the documentation tests all derive from the
tables below, so they cannot drift apart. The committed migration file under
``supabase/migrations/`` is rendered from here (``render_postgres_ddl``) and a test checks that the
committed file and the rendering agree.

Column types are PostgreSQL's. SQLite gets the natural affinity (see ``SQLITE_TYPES``); dates,
times and timestamps are ISO-8601 text there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Logical column types -> (PostgreSQL type, SQLite type)
PG_TYPES = {
    "text": "text",
    "int": "integer",
    "num": "numeric",
    "bool": "boolean",
    "date": "date",
    "time": "time",
    "ts": "timestamptz",
}
SQLITE_TYPES = {
    "text": "TEXT",
    "int": "INTEGER",
    "num": "NUMERIC",
    "bool": "INTEGER",
    "date": "TEXT",
    "time": "TEXT",
    "ts": "TEXT",
}

# Columns every table carries; the stores manage them, transforms never set them.
AUDIT_COLUMNS = ("created_at", "updated_at")


@dataclass(frozen=True)
class Table:
    """One ra_* table: its key, its data columns (name -> logical type) and its references."""

    name: str
    key: tuple[str, ...]
    columns: dict[str, str]
    foreign_keys: dict[str, str] = field(default_factory=dict)  # column -> referenced table
    indexes: tuple[tuple[str, ...], ...] = ()
    # A column only the authoritative source sets (results). Once a stored row has it, a row from
    # another source (racecards) only fills gaps and never replaces a value, so racecards-then-results
    # and results-then-racecards end with the same row.
    authority: str | None = None
    # Columns that record when the source last changed the row: written along with a real change,
    # but never on their own, so re-running a range leaves rows untouched.
    stamps: tuple[str, ...] = ()
    # References that no PostgreSQL constraint enforces since migration 20261129000002 (the
    # initial migration rendered them all): the writers and scripts/verify_backfill.py keep them.
    unenforced: tuple[str, ...] = ()
    # Columns added by a later migration (column -> migration name): the rendering of an earlier
    # migration leaves them out, and the later migration adds them (see ``columns_at``).
    added: dict[str, str] = field(default_factory=dict)
    # A master table fed by runners: ``OBSERVED`` records the newest race that described the row,
    # so an older observation may fill a gap but never overwrites a newer value (utils/merge.py).
    observed: bool = False

    def columns_at(self, migration: str | None) -> dict[str, str]:
        """The columns the table has once ``migration`` is applied (None: the current schema)."""
        if migration is None:
            return dict(self.columns)
        return {c: t for c, t in self.columns.items() if self.added.get(c, "") <= migration}

    @property
    def data_columns(self) -> list[str]:
        """All columns a writer may set (key included), in table order, audit columns excluded."""
        return list(self.columns)

    @property
    def non_key_columns(self) -> list[str]:
        return [c for c in self.columns if c not in self.key]

    @property
    def all_columns(self) -> list[str]:
        return list(self.columns) + list(AUDIT_COLUMNS)


def _t(**cols: str) -> dict[str, str]:
    return dict(cols)


_NAMED = _t(id="text", name="text")
_BREEDING = _t(id="text", name="text", region="text")

TABLES: dict[str, Table] = {}


# Migrations the schema module renders (their committed files must equal the rendering).
INITIAL_MIGRATION = "20261129000001_initial_schema"
MERGE_MIGRATION = "20261201000001_database_merge"

# The observation column of runner-fed master tables: "<race off, UTC ISO>|<race id>|<source>",
# source "r" (results) or "c" (racecards), so plain text order is time, then race, then results
# before racecards: a deterministic "newest observation" whatever the load order.
OBSERVED = "last_observed"


def _add(table: Table) -> None:
    if table.observed:
        table = Table(table.name, table.key, {**table.columns, OBSERVED: "text"}, table.foreign_keys,
                      table.indexes, table.authority, table.stamps, table.unenforced,
                      {**table.added, OBSERVED: MERGE_MIGRATION}, True)
    TABLES[table.name] = table


_add(Table("ra_mst_regions", ("code",), _t(code="text", name="text")))
_add(Table("ra_mst_courses", ("id",), _t(id="text", name="text", region_code="text", region="text"),
           indexes=(("region_code",),)))
_add(Table("ra_mst_bookmakers", ("code",),
           _t(code="text", name="text", type="text", is_active="bool")))
_add(Table("ra_mst_jockeys", ("id",), dict(_NAMED), observed=True))
_add(Table("ra_mst_trainers", ("id",), _t(id="text", name="text", location="text"), observed=True))
_add(Table("ra_mst_owners", ("id",), dict(_NAMED), observed=True))
_add(Table("ra_mst_sires", ("id",), dict(_BREEDING), observed=True))
_add(Table("ra_mst_dams", ("id",), dict(_BREEDING), observed=True))
_add(Table("ra_mst_damsires", ("id",), dict(_BREEDING), observed=True))
_add(Table(
    "ra_mst_horses", ("id",),
    _t(id="text", name="text", region="text", sex="text", sex_code="text", dob="date",
       colour="text", colour_code="text", breeder="text", sire_id="text", dam_id="text",
       damsire_id="text", enriched_at="ts", profile_status="text"),
    indexes=(("enriched_at",),),
    authority="enriched_at",    # a /horses/{id}/pro profile wins for the fields it gives
    observed=True,
))
_add(Table(
    "ra_horse_pedigree", ("horse_id",),
    _t(horse_id="text", sire_id="text", sire="text", dam_id="text", dam="text",
       damsire_id="text", damsire="text", breeder="text", region="text"),
    foreign_keys={"horse_id": "ra_mst_horses"},
    observed=True,
))
_add(Table(
    "ra_races", ("id",),
    _t(id="text", date="date", region="text", course_id="text", course_name="text",
       off_time="time", off_dt="ts", race_name="text", type="text", race_class="text",
       pattern="text", age_band="text", rating_band="text", sex_restriction="text",
       distance="text", distance_round="text", distance_f="num", distance_m="int",
       distance_y="int", going="text", going_detailed="text", surface="text", jumps="text",
       prize="num", currency="text", field_size="int", rail_movements="text", stalls="text",
       weather="text", is_big_race="bool", is_abandoned="bool", race_status="text", tip="text",
       verdict="text", betting_forecast="text", has_racecard="bool", has_result="bool",
       winning_time_detail="text", comments="text", non_runners="text", tote_win="text",
       tote_pl="text", tote_ex="text", tote_csf="text", tote_tricast="text",
       tote_trifecta="text"),
    indexes=(("date",), ("course_id", "date"), ("date", "has_result")),
    authority="has_result",
))
_add(Table(
    "ra_runners", ("race_id", "horse_id"),
    _t(race_id="text", horse_id="text", horse_name="text", number="int", draw="int", age="int",
       sex="text", sex_code="text", colour="text", dob="date", jockey_id="text",
       jockey_name="text", jockey_claim_lbs="int", trainer_id="text", trainer_name="text",
       trainer_location="text", trainer_14_days_runs="int", trainer_14_days_wins="int",
       trainer_14_days_percent="num", owner_id="text", owner_name="text", sire_id="text",
       dam_id="text", damsire_id="text", weight_lbs="int", weight_st_lbs="text",
       headgear="text", headgear_run="text", wind_surgery="text", wind_surgery_run="text",
       official_rating="int", rpr="int", topspeed="int", form="text", last_run="int",
       spotlight="text", trainer_rtf="num", comment="text", past_results_flags="text",
       silk_url="text", position="int", position_raw="text", btn="num", ovr_btn="num",
       sp="text", sp_dec="num", bsp="num", finishing_time="text", finishing_time_s="num",
       prize_won="num", race_comment="text", result_updated_at="ts"),
    foreign_keys={"race_id": "ra_races", "horse_id": "ra_mst_horses",
                  "jockey_id": "ra_mst_jockeys", "trainer_id": "ra_mst_trainers",
                  "owner_id": "ra_mst_owners"},
    indexes=(("horse_id",), ("jockey_id",), ("trainer_id",), ("owner_id",)),
    authority="result_updated_at",
    stamps=("result_updated_at",),
    unenforced=("jockey_id", "trainer_id", "owner_id"),
))

# Order in which a write unit must be applied: every referenced table before its referrers.
WRITE_ORDER: tuple[str, ...] = (
    "ra_mst_regions", "ra_mst_courses", "ra_mst_bookmakers",
    "ra_mst_jockeys", "ra_mst_trainers", "ra_mst_owners",
    "ra_mst_sires", "ra_mst_dams", "ra_mst_damsires",
    "ra_mst_horses", "ra_horse_pedigree", "ra_races", "ra_runners",
)
assert set(WRITE_ORDER) == set(TABLES)

MIGRATIONS_TABLE = "ra_schema_migrations"


# The committed mark of each backfilled day, written in the same transaction as the day's rows, so
# the database itself knows what it holds (--resume and --check-status read it). ``regions`` is the
# request's sorted, space-separated region codes; ``results_done``/``racecards_done`` are the
# sources the day's write carried (a later write only adds to them).
BACKFILL_DAYS = Table(
    "ra_backfill_days", ("day", "regions"),
    _t(day="date", regions="text", results_done="bool", racecards_done="bool", races="int",
       runners="int", committed_at="ts"),
    added={c: MERGE_MIGRATION for c in ("day", "regions", "results_done", "racecards_done",
                                         "races", "runners", "committed_at")},
)


def _render_table(table: Table, types: dict[str, str], audit: str | None, trigger_sql: str | None,
                  columns: dict[str, str]) -> list[str]:
    cols = [f"  {c} {types[t]}" + (" NOT NULL" if c in table.key else "") for c, t in columns.items()]
    if audit:
        cols += [f"  {c} {audit}" for c in AUDIT_COLUMNS]
    cols.append(f"  PRIMARY KEY ({', '.join(table.key)})")
    for col, ref in table.foreign_keys.items():
        cols.append(f"  FOREIGN KEY ({col}) REFERENCES {ref} ({TABLES[ref].key[0]})")
    parts = [f"CREATE TABLE IF NOT EXISTS {table.name} (\n" + ",\n".join(cols) + "\n);"]
    for idx in table.indexes:
        parts.append(f"CREATE INDEX IF NOT EXISTS {table.name}_{'_'.join(idx)}_idx "
                     f"ON {table.name} ({', '.join(idx)});")
    if trigger_sql:
        parts.append(trigger_sql.format(name=table.name))
    return parts


def _render_tables(types: dict[str, str], audit_default: str, trigger_sql: str | None,
                   at: str) -> list[str]:
    """CREATE TABLE/INDEX statements for every table, in write order, for one dialect, as the
    schema stood once migration ``at`` was applied."""
    parts = []
    for name in WRITE_ORDER:
        table = TABLES[name]
        parts += _render_table(table, types, audit_default, trigger_sql, table.columns_at(at))
    return parts


def added_columns(migration: str) -> list[tuple[Table, str, str]]:
    """(table, column, logical type) of every column ``migration`` adds to an existing table."""
    return [(t, c, kind) for t in TABLES.values() for c, kind in t.columns.items()
            if t.added.get(c) == migration]


_PG_TOUCH_FUNCTION = """CREATE OR REPLACE FUNCTION ra_touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.created_at := OLD.created_at;
  NEW.updated_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;"""

_PG_TOUCH_TRIGGER = """DROP TRIGGER IF EXISTS {name}_touch ON {name};
CREATE TRIGGER {name}_touch BEFORE UPDATE ON {name} FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();"""
PG_AUDIT = "timestamptz NOT NULL DEFAULT now()"
SQLITE_AUDIT = "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))"


def render_postgres_ddl(at: str = INITIAL_MIGRATION) -> str:
    """The initial migration's CREATE statements for PostgreSQL/Supabase, with audit triggers.

    ``created_at`` is protected and ``updated_at`` maintained by a trigger so that every write path
    (the apply function, manual SQL) keeps them right. Columns added by later migrations are left
    to those migrations (``at``), so the committed initial file never changes.
    """
    header = "-- Rendered from utils/schema.py by scripts/init_db.py --render; do not edit by hand."
    tables = _render_tables(PG_TYPES, PG_AUDIT, _PG_TOUCH_TRIGGER, at)
    return "\n\n".join([header, _PG_TOUCH_FUNCTION, *tables]) + "\n"


def render_sqlite_ddl(at: str = INITIAL_MIGRATION) -> str:
    """The same tables for SQLite (audit columns are kept by the store's upsert statement)."""
    return "\n\n".join(_render_tables(SQLITE_TYPES, SQLITE_AUDIT, None, at)) + "\n"


def render_sqlite_merge_migration() -> str:
    """SQLite's part of the merge migration: the observation columns and the committed-days table
    (the merge rules themselves are the store's generated upsert statements)."""
    parts = [f"ALTER TABLE {t.name} ADD COLUMN {c} {SQLITE_TYPES[kind]};"
             for t, c, kind in added_columns(MERGE_MIGRATION)]
    parts += _render_table(BACKFILL_DAYS, SQLITE_TYPES, None, None, BACKFILL_DAYS.columns)
    return "\n".join(parts) + "\n"
