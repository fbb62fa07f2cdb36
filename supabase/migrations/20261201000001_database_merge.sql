-- Rendered from utils/schema.py, utils/merge.py and utils/stores/reads.py by utils/stores/pg_functions.py;
-- do not edit by hand. The database does the merge: one call per day (ra_apply_day), and
-- every read of the commands as a function, so the REST API needs no SQL.

CREATE TABLE IF NOT EXISTS ra_schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());

ALTER TABLE ra_mst_jockeys ADD COLUMN IF NOT EXISTS last_observed text;
ALTER TABLE ra_mst_trainers ADD COLUMN IF NOT EXISTS last_observed text;
ALTER TABLE ra_mst_owners ADD COLUMN IF NOT EXISTS last_observed text;
ALTER TABLE ra_mst_sires ADD COLUMN IF NOT EXISTS last_observed text;
ALTER TABLE ra_mst_dams ADD COLUMN IF NOT EXISTS last_observed text;
ALTER TABLE ra_mst_damsires ADD COLUMN IF NOT EXISTS last_observed text;
ALTER TABLE ra_mst_horses ADD COLUMN IF NOT EXISTS last_observed text;
ALTER TABLE ra_horse_pedigree ADD COLUMN IF NOT EXISTS last_observed text;

CREATE TABLE IF NOT EXISTS ra_backfill_days (
  day date NOT NULL,
  regions text NOT NULL,
  results_done boolean,
  racecards_done boolean,
  races integer,
  runners integer,
  committed_at timestamptz,
  PRIMARY KEY (day, regions)
);

CREATE OR REPLACE FUNCTION ra_apply_day(p_unit jsonb, p_day date DEFAULT NULL, p_regions text DEFAULT NULL, p_sources text[] DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $fn$
-- One day's write unit ({table: [row, …]}, rows carry only the columns their source gave) merged
-- by the rules of utils/merge.py, table by table in write order, plus the day's committed mark;
-- one statement, so all or nothing. Returns {table: [inserted, updated, unchanged]}.
DECLARE
  v_table text := '';
  v_counts jsonb := '{}'::jsonb;
  v_rows bigint;
  v_ins bigint;
  v_upd bigint;
  v_races bigint := 0;
  v_runners bigint := 0;
BEGIN
  IF p_unit ? 'ra_mst_regions' THEN
    v_table := 'ra_mst_regions';
    WITH src AS (
      SELECT DISTINCT ON (code) code, name
      FROM jsonb_populate_recordset(NULL::ra_mst_regions, p_unit -> 'ra_mst_regions') ORDER BY code
    ), up AS (
      INSERT INTO ra_mst_regions AS t (code, name) SELECT code, name FROM src ON CONFLICT (code) DO UPDATE SET name = COALESCE(excluded.name, t.name) WHERE t.name IS DISTINCT FROM COALESCE(excluded.name, t.name)
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_mst_regions', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_mst_courses' THEN
    v_table := 'ra_mst_courses';
    WITH src AS (
      SELECT DISTINCT ON (id) id, name, region_code, region
      FROM jsonb_populate_recordset(NULL::ra_mst_courses, p_unit -> 'ra_mst_courses') ORDER BY id
    ), up AS (
      INSERT INTO ra_mst_courses AS t (id, name, region_code, region) SELECT id, name, region_code, region FROM src ON CONFLICT (id) DO UPDATE SET name = COALESCE(excluded.name, t.name), region_code = COALESCE(excluded.region_code, t.region_code), region = COALESCE(excluded.region, t.region) WHERE t.name IS DISTINCT FROM COALESCE(excluded.name, t.name) OR t.region_code IS DISTINCT FROM COALESCE(excluded.region_code, t.region_code) OR t.region IS DISTINCT FROM COALESCE(excluded.region, t.region)
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_mst_courses', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_mst_bookmakers' THEN
    v_table := 'ra_mst_bookmakers';
    WITH src AS (
      SELECT DISTINCT ON (code) code, name, type, is_active
      FROM jsonb_populate_recordset(NULL::ra_mst_bookmakers, p_unit -> 'ra_mst_bookmakers') ORDER BY code
    ), up AS (
      INSERT INTO ra_mst_bookmakers AS t (code, name, type, is_active) SELECT code, name, type, is_active FROM src ON CONFLICT (code) DO UPDATE SET name = COALESCE(excluded.name, t.name), type = COALESCE(excluded.type, t.type), is_active = COALESCE(excluded.is_active, t.is_active) WHERE t.name IS DISTINCT FROM COALESCE(excluded.name, t.name) OR t.type IS DISTINCT FROM COALESCE(excluded.type, t.type) OR t.is_active IS DISTINCT FROM COALESCE(excluded.is_active, t.is_active)
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_mst_bookmakers', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_mst_jockeys' THEN
    v_table := 'ra_mst_jockeys';
    WITH src AS (
      SELECT DISTINCT ON (id) id, name, last_observed
      FROM jsonb_populate_recordset(NULL::ra_mst_jockeys, p_unit -> 'ra_mst_jockeys') ORDER BY id, last_observed DESC NULLS LAST
    ), up AS (
      INSERT INTO ra_mst_jockeys AS t (id, name, last_observed) SELECT id, name, last_observed FROM src ON CONFLICT (id) DO UPDATE SET name = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END, last_observed = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END WHERE t.name IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END OR t.last_observed IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_mst_jockeys', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_mst_trainers' THEN
    v_table := 'ra_mst_trainers';
    WITH src AS (
      SELECT DISTINCT ON (id) id, name, location, last_observed
      FROM jsonb_populate_recordset(NULL::ra_mst_trainers, p_unit -> 'ra_mst_trainers') ORDER BY id, last_observed DESC NULLS LAST
    ), up AS (
      INSERT INTO ra_mst_trainers AS t (id, name, location, last_observed) SELECT id, name, location, last_observed FROM src ON CONFLICT (id) DO UPDATE SET name = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END, location = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.location, excluded.location) ELSE COALESCE(excluded.location, t.location) END, last_observed = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END WHERE t.name IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END OR t.location IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.location, excluded.location) ELSE COALESCE(excluded.location, t.location) END OR t.last_observed IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_mst_trainers', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_mst_owners' THEN
    v_table := 'ra_mst_owners';
    WITH src AS (
      SELECT DISTINCT ON (id) id, name, last_observed
      FROM jsonb_populate_recordset(NULL::ra_mst_owners, p_unit -> 'ra_mst_owners') ORDER BY id, last_observed DESC NULLS LAST
    ), up AS (
      INSERT INTO ra_mst_owners AS t (id, name, last_observed) SELECT id, name, last_observed FROM src ON CONFLICT (id) DO UPDATE SET name = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END, last_observed = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END WHERE t.name IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END OR t.last_observed IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_mst_owners', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_mst_sires' THEN
    v_table := 'ra_mst_sires';
    WITH src AS (
      SELECT DISTINCT ON (id) id, name, region, last_observed
      FROM jsonb_populate_recordset(NULL::ra_mst_sires, p_unit -> 'ra_mst_sires') ORDER BY id, last_observed DESC NULLS LAST
    ), up AS (
      INSERT INTO ra_mst_sires AS t (id, name, region, last_observed) SELECT id, name, region, last_observed FROM src ON CONFLICT (id) DO UPDATE SET name = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END, region = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END, last_observed = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END WHERE t.name IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END OR t.region IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END OR t.last_observed IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_mst_sires', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_mst_dams' THEN
    v_table := 'ra_mst_dams';
    WITH src AS (
      SELECT DISTINCT ON (id) id, name, region, last_observed
      FROM jsonb_populate_recordset(NULL::ra_mst_dams, p_unit -> 'ra_mst_dams') ORDER BY id, last_observed DESC NULLS LAST
    ), up AS (
      INSERT INTO ra_mst_dams AS t (id, name, region, last_observed) SELECT id, name, region, last_observed FROM src ON CONFLICT (id) DO UPDATE SET name = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END, region = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END, last_observed = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END WHERE t.name IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END OR t.region IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END OR t.last_observed IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_mst_dams', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_mst_damsires' THEN
    v_table := 'ra_mst_damsires';
    WITH src AS (
      SELECT DISTINCT ON (id) id, name, region, last_observed
      FROM jsonb_populate_recordset(NULL::ra_mst_damsires, p_unit -> 'ra_mst_damsires') ORDER BY id, last_observed DESC NULLS LAST
    ), up AS (
      INSERT INTO ra_mst_damsires AS t (id, name, region, last_observed) SELECT id, name, region, last_observed FROM src ON CONFLICT (id) DO UPDATE SET name = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END, region = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END, last_observed = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END WHERE t.name IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END OR t.region IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END OR t.last_observed IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_mst_damsires', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_mst_horses' THEN
    v_table := 'ra_mst_horses';
    WITH src AS (
      SELECT DISTINCT ON (id) id, name, region, sex, sex_code, dob, colour, colour_code, breeder, sire_id, dam_id, damsire_id, enriched_at, profile_status, last_observed
      FROM jsonb_populate_recordset(NULL::ra_mst_horses, p_unit -> 'ra_mst_horses') ORDER BY id, last_observed DESC NULLS LAST
    ), up AS (
      INSERT INTO ra_mst_horses AS t (id, name, region, sex, sex_code, dob, colour, colour_code, breeder, sire_id, dam_id, damsire_id, enriched_at, profile_status, last_observed) SELECT id, name, region, sex, sex_code, dob, colour, colour_code, breeder, sire_id, dam_id, damsire_id, enriched_at, profile_status, last_observed FROM src ON CONFLICT (id) DO UPDATE SET name = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END, region = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END, sex = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.sex, excluded.sex) ELSE COALESCE(excluded.sex, t.sex) END, sex_code = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.sex_code, excluded.sex_code) ELSE COALESCE(excluded.sex_code, t.sex_code) END, dob = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.dob, excluded.dob) ELSE COALESCE(excluded.dob, t.dob) END, colour = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.colour, excluded.colour) ELSE COALESCE(excluded.colour, t.colour) END, colour_code = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.colour_code, excluded.colour_code) ELSE COALESCE(excluded.colour_code, t.colour_code) END, breeder = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.breeder, excluded.breeder) ELSE COALESCE(excluded.breeder, t.breeder) END, sire_id = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.sire_id, excluded.sire_id) ELSE COALESCE(excluded.sire_id, t.sire_id) END, dam_id = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.dam_id, excluded.dam_id) ELSE COALESCE(excluded.dam_id, t.dam_id) END, damsire_id = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.damsire_id, excluded.damsire_id) ELSE COALESCE(excluded.damsire_id, t.damsire_id) END, enriched_at = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.enriched_at, excluded.enriched_at) ELSE COALESCE(excluded.enriched_at, t.enriched_at) END, profile_status = CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.profile_status, excluded.profile_status) ELSE COALESCE(excluded.profile_status, t.profile_status) END, last_observed = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END WHERE t.name IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.name, excluded.name) ELSE COALESCE(excluded.name, t.name) END OR t.region IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END OR t.sex IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.sex, excluded.sex) ELSE COALESCE(excluded.sex, t.sex) END OR t.sex_code IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.sex_code, excluded.sex_code) ELSE COALESCE(excluded.sex_code, t.sex_code) END OR t.dob IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.dob, excluded.dob) ELSE COALESCE(excluded.dob, t.dob) END OR t.colour IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.colour, excluded.colour) ELSE COALESCE(excluded.colour, t.colour) END OR t.colour_code IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.colour_code, excluded.colour_code) ELSE COALESCE(excluded.colour_code, t.colour_code) END OR t.breeder IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.breeder, excluded.breeder) ELSE COALESCE(excluded.breeder, t.breeder) END OR t.sire_id IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.sire_id, excluded.sire_id) ELSE COALESCE(excluded.sire_id, t.sire_id) END OR t.dam_id IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.dam_id, excluded.dam_id) ELSE COALESCE(excluded.dam_id, t.dam_id) END OR t.damsire_id IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.damsire_id, excluded.damsire_id) ELSE COALESCE(excluded.damsire_id, t.damsire_id) END OR t.enriched_at IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.enriched_at, excluded.enriched_at) ELSE COALESCE(excluded.enriched_at, t.enriched_at) END OR t.profile_status IS DISTINCT FROM CASE WHEN (t.enriched_at IS NOT NULL AND excluded.enriched_at IS NULL) OR (t.last_observed > excluded.last_observed) THEN COALESCE(t.profile_status, excluded.profile_status) ELSE COALESCE(excluded.profile_status, t.profile_status) END OR t.last_observed IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_mst_horses', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_horse_pedigree' THEN
    v_table := 'ra_horse_pedigree';
    WITH src AS (
      SELECT DISTINCT ON (horse_id) horse_id, sire_id, sire, dam_id, dam, damsire_id, damsire, breeder, region, last_observed
      FROM jsonb_populate_recordset(NULL::ra_horse_pedigree, p_unit -> 'ra_horse_pedigree') ORDER BY horse_id, last_observed DESC NULLS LAST
    ), up AS (
      INSERT INTO ra_horse_pedigree AS t (horse_id, sire_id, sire, dam_id, dam, damsire_id, damsire, breeder, region, last_observed) SELECT horse_id, sire_id, sire, dam_id, dam, damsire_id, damsire, breeder, region, last_observed FROM src ON CONFLICT (horse_id) DO UPDATE SET sire_id = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.sire_id, excluded.sire_id) ELSE COALESCE(excluded.sire_id, t.sire_id) END, sire = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.sire, excluded.sire) ELSE COALESCE(excluded.sire, t.sire) END, dam_id = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.dam_id, excluded.dam_id) ELSE COALESCE(excluded.dam_id, t.dam_id) END, dam = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.dam, excluded.dam) ELSE COALESCE(excluded.dam, t.dam) END, damsire_id = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.damsire_id, excluded.damsire_id) ELSE COALESCE(excluded.damsire_id, t.damsire_id) END, damsire = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.damsire, excluded.damsire) ELSE COALESCE(excluded.damsire, t.damsire) END, breeder = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.breeder, excluded.breeder) ELSE COALESCE(excluded.breeder, t.breeder) END, region = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END, last_observed = CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END WHERE t.sire_id IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.sire_id, excluded.sire_id) ELSE COALESCE(excluded.sire_id, t.sire_id) END OR t.sire IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.sire, excluded.sire) ELSE COALESCE(excluded.sire, t.sire) END OR t.dam_id IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.dam_id, excluded.dam_id) ELSE COALESCE(excluded.dam_id, t.dam_id) END OR t.dam IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.dam, excluded.dam) ELSE COALESCE(excluded.dam, t.dam) END OR t.damsire_id IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.damsire_id, excluded.damsire_id) ELSE COALESCE(excluded.damsire_id, t.damsire_id) END OR t.damsire IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.damsire, excluded.damsire) ELSE COALESCE(excluded.damsire, t.damsire) END OR t.breeder IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.breeder, excluded.breeder) ELSE COALESCE(excluded.breeder, t.breeder) END OR t.region IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END OR t.last_observed IS DISTINCT FROM CASE WHEN (t.last_observed > excluded.last_observed) THEN COALESCE(t.last_observed, excluded.last_observed) ELSE COALESCE(excluded.last_observed, t.last_observed) END
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_horse_pedigree', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
  END IF;
  IF p_unit ? 'ra_races' THEN
    v_table := 'ra_races';
    WITH src AS (
      SELECT DISTINCT ON (id) id, date, region, course_id, course_name, off_time, off_dt, race_name, type, race_class, pattern, age_band, rating_band, sex_restriction, distance, distance_round, distance_f, distance_m, distance_y, going, going_detailed, surface, jumps, prize, currency, field_size, rail_movements, stalls, weather, is_big_race, is_abandoned, race_status, tip, verdict, betting_forecast, has_racecard, has_result, winning_time_detail, comments, non_runners, tote_win, tote_pl, tote_ex, tote_csf, tote_tricast, tote_trifecta
      FROM jsonb_populate_recordset(NULL::ra_races, p_unit -> 'ra_races') ORDER BY id
    ), up AS (
      INSERT INTO ra_races AS t (id, date, region, course_id, course_name, off_time, off_dt, race_name, type, race_class, pattern, age_band, rating_band, sex_restriction, distance, distance_round, distance_f, distance_m, distance_y, going, going_detailed, surface, jumps, prize, currency, field_size, rail_movements, stalls, weather, is_big_race, is_abandoned, race_status, tip, verdict, betting_forecast, has_racecard, has_result, winning_time_detail, comments, non_runners, tote_win, tote_pl, tote_ex, tote_csf, tote_tricast, tote_trifecta) SELECT id, date, region, course_id, course_name, off_time, off_dt, race_name, type, race_class, pattern, age_band, rating_band, sex_restriction, distance, distance_round, distance_f, distance_m, distance_y, going, going_detailed, surface, jumps, prize, currency, field_size, rail_movements, stalls, weather, is_big_race, is_abandoned, race_status, tip, verdict, betting_forecast, has_racecard, has_result, winning_time_detail, comments, non_runners, tote_win, tote_pl, tote_ex, tote_csf, tote_tricast, tote_trifecta FROM src ON CONFLICT (id) DO UPDATE SET date = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.date, excluded.date) ELSE COALESCE(excluded.date, t.date) END, region = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END, course_id = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.course_id, excluded.course_id) ELSE COALESCE(excluded.course_id, t.course_id) END, course_name = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.course_name, excluded.course_name) ELSE COALESCE(excluded.course_name, t.course_name) END, off_time = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.off_time, excluded.off_time) ELSE COALESCE(excluded.off_time, t.off_time) END, off_dt = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.off_dt, excluded.off_dt) ELSE COALESCE(excluded.off_dt, t.off_dt) END, race_name = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.race_name, excluded.race_name) ELSE COALESCE(excluded.race_name, t.race_name) END, type = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.type, excluded.type) ELSE COALESCE(excluded.type, t.type) END, race_class = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.race_class, excluded.race_class) ELSE COALESCE(excluded.race_class, t.race_class) END, pattern = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.pattern, excluded.pattern) ELSE COALESCE(excluded.pattern, t.pattern) END, age_band = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.age_band, excluded.age_band) ELSE COALESCE(excluded.age_band, t.age_band) END, rating_band = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.rating_band, excluded.rating_band) ELSE COALESCE(excluded.rating_band, t.rating_band) END, sex_restriction = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.sex_restriction, excluded.sex_restriction) ELSE COALESCE(excluded.sex_restriction, t.sex_restriction) END, distance = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.distance, excluded.distance) ELSE COALESCE(excluded.distance, t.distance) END, distance_round = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.distance_round, excluded.distance_round) ELSE COALESCE(excluded.distance_round, t.distance_round) END, distance_f = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.distance_f, excluded.distance_f) ELSE COALESCE(excluded.distance_f, t.distance_f) END, distance_m = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.distance_m, excluded.distance_m) ELSE COALESCE(excluded.distance_m, t.distance_m) END, distance_y = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.distance_y, excluded.distance_y) ELSE COALESCE(excluded.distance_y, t.distance_y) END, going = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.going, excluded.going) ELSE COALESCE(excluded.going, t.going) END, going_detailed = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.going_detailed, excluded.going_detailed) ELSE COALESCE(excluded.going_detailed, t.going_detailed) END, surface = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.surface, excluded.surface) ELSE COALESCE(excluded.surface, t.surface) END, jumps = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.jumps, excluded.jumps) ELSE COALESCE(excluded.jumps, t.jumps) END, prize = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.prize, excluded.prize) ELSE COALESCE(excluded.prize, t.prize) END, currency = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.currency, excluded.currency) ELSE COALESCE(excluded.currency, t.currency) END, field_size = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.field_size, excluded.field_size) ELSE COALESCE(excluded.field_size, t.field_size) END, rail_movements = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.rail_movements, excluded.rail_movements) ELSE COALESCE(excluded.rail_movements, t.rail_movements) END, stalls = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.stalls, excluded.stalls) ELSE COALESCE(excluded.stalls, t.stalls) END, weather = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.weather, excluded.weather) ELSE COALESCE(excluded.weather, t.weather) END, is_big_race = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.is_big_race, excluded.is_big_race) ELSE COALESCE(excluded.is_big_race, t.is_big_race) END, is_abandoned = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.is_abandoned, excluded.is_abandoned) ELSE COALESCE(excluded.is_abandoned, t.is_abandoned) END, race_status = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.race_status, excluded.race_status) ELSE COALESCE(excluded.race_status, t.race_status) END, tip = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tip, excluded.tip) ELSE COALESCE(excluded.tip, t.tip) END, verdict = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.verdict, excluded.verdict) ELSE COALESCE(excluded.verdict, t.verdict) END, betting_forecast = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.betting_forecast, excluded.betting_forecast) ELSE COALESCE(excluded.betting_forecast, t.betting_forecast) END, has_racecard = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.has_racecard, excluded.has_racecard) ELSE COALESCE(excluded.has_racecard, t.has_racecard) END, has_result = COALESCE(excluded.has_result, t.has_result), winning_time_detail = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.winning_time_detail, excluded.winning_time_detail) ELSE COALESCE(excluded.winning_time_detail, t.winning_time_detail) END, comments = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.comments, excluded.comments) ELSE COALESCE(excluded.comments, t.comments) END, non_runners = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.non_runners, excluded.non_runners) ELSE COALESCE(excluded.non_runners, t.non_runners) END, tote_win = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_win, excluded.tote_win) ELSE COALESCE(excluded.tote_win, t.tote_win) END, tote_pl = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_pl, excluded.tote_pl) ELSE COALESCE(excluded.tote_pl, t.tote_pl) END, tote_ex = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_ex, excluded.tote_ex) ELSE COALESCE(excluded.tote_ex, t.tote_ex) END, tote_csf = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_csf, excluded.tote_csf) ELSE COALESCE(excluded.tote_csf, t.tote_csf) END, tote_tricast = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_tricast, excluded.tote_tricast) ELSE COALESCE(excluded.tote_tricast, t.tote_tricast) END, tote_trifecta = CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_trifecta, excluded.tote_trifecta) ELSE COALESCE(excluded.tote_trifecta, t.tote_trifecta) END WHERE t.date IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.date, excluded.date) ELSE COALESCE(excluded.date, t.date) END OR t.region IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.region, excluded.region) ELSE COALESCE(excluded.region, t.region) END OR t.course_id IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.course_id, excluded.course_id) ELSE COALESCE(excluded.course_id, t.course_id) END OR t.course_name IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.course_name, excluded.course_name) ELSE COALESCE(excluded.course_name, t.course_name) END OR t.off_time IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.off_time, excluded.off_time) ELSE COALESCE(excluded.off_time, t.off_time) END OR t.off_dt IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.off_dt, excluded.off_dt) ELSE COALESCE(excluded.off_dt, t.off_dt) END OR t.race_name IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.race_name, excluded.race_name) ELSE COALESCE(excluded.race_name, t.race_name) END OR t.type IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.type, excluded.type) ELSE COALESCE(excluded.type, t.type) END OR t.race_class IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.race_class, excluded.race_class) ELSE COALESCE(excluded.race_class, t.race_class) END OR t.pattern IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.pattern, excluded.pattern) ELSE COALESCE(excluded.pattern, t.pattern) END OR t.age_band IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.age_band, excluded.age_band) ELSE COALESCE(excluded.age_band, t.age_band) END OR t.rating_band IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.rating_band, excluded.rating_band) ELSE COALESCE(excluded.rating_band, t.rating_band) END OR t.sex_restriction IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.sex_restriction, excluded.sex_restriction) ELSE COALESCE(excluded.sex_restriction, t.sex_restriction) END OR t.distance IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.distance, excluded.distance) ELSE COALESCE(excluded.distance, t.distance) END OR t.distance_round IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.distance_round, excluded.distance_round) ELSE COALESCE(excluded.distance_round, t.distance_round) END OR t.distance_f IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.distance_f, excluded.distance_f) ELSE COALESCE(excluded.distance_f, t.distance_f) END OR t.distance_m IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.distance_m, excluded.distance_m) ELSE COALESCE(excluded.distance_m, t.distance_m) END OR t.distance_y IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.distance_y, excluded.distance_y) ELSE COALESCE(excluded.distance_y, t.distance_y) END OR t.going IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.going, excluded.going) ELSE COALESCE(excluded.going, t.going) END OR t.going_detailed IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.going_detailed, excluded.going_detailed) ELSE COALESCE(excluded.going_detailed, t.going_detailed) END OR t.surface IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.surface, excluded.surface) ELSE COALESCE(excluded.surface, t.surface) END OR t.jumps IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.jumps, excluded.jumps) ELSE COALESCE(excluded.jumps, t.jumps) END OR t.prize IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.prize, excluded.prize) ELSE COALESCE(excluded.prize, t.prize) END OR t.currency IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.currency, excluded.currency) ELSE COALESCE(excluded.currency, t.currency) END OR t.field_size IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.field_size, excluded.field_size) ELSE COALESCE(excluded.field_size, t.field_size) END OR t.rail_movements IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.rail_movements, excluded.rail_movements) ELSE COALESCE(excluded.rail_movements, t.rail_movements) END OR t.stalls IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.stalls, excluded.stalls) ELSE COALESCE(excluded.stalls, t.stalls) END OR t.weather IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.weather, excluded.weather) ELSE COALESCE(excluded.weather, t.weather) END OR t.is_big_race IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.is_big_race, excluded.is_big_race) ELSE COALESCE(excluded.is_big_race, t.is_big_race) END OR t.is_abandoned IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.is_abandoned, excluded.is_abandoned) ELSE COALESCE(excluded.is_abandoned, t.is_abandoned) END OR t.race_status IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.race_status, excluded.race_status) ELSE COALESCE(excluded.race_status, t.race_status) END OR t.tip IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tip, excluded.tip) ELSE COALESCE(excluded.tip, t.tip) END OR t.verdict IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.verdict, excluded.verdict) ELSE COALESCE(excluded.verdict, t.verdict) END OR t.betting_forecast IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.betting_forecast, excluded.betting_forecast) ELSE COALESCE(excluded.betting_forecast, t.betting_forecast) END OR t.has_racecard IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.has_racecard, excluded.has_racecard) ELSE COALESCE(excluded.has_racecard, t.has_racecard) END OR t.has_result IS DISTINCT FROM COALESCE(excluded.has_result, t.has_result) OR t.winning_time_detail IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.winning_time_detail, excluded.winning_time_detail) ELSE COALESCE(excluded.winning_time_detail, t.winning_time_detail) END OR t.comments IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.comments, excluded.comments) ELSE COALESCE(excluded.comments, t.comments) END OR t.non_runners IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.non_runners, excluded.non_runners) ELSE COALESCE(excluded.non_runners, t.non_runners) END OR t.tote_win IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_win, excluded.tote_win) ELSE COALESCE(excluded.tote_win, t.tote_win) END OR t.tote_pl IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_pl, excluded.tote_pl) ELSE COALESCE(excluded.tote_pl, t.tote_pl) END OR t.tote_ex IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_ex, excluded.tote_ex) ELSE COALESCE(excluded.tote_ex, t.tote_ex) END OR t.tote_csf IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_csf, excluded.tote_csf) ELSE COALESCE(excluded.tote_csf, t.tote_csf) END OR t.tote_tricast IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_tricast, excluded.tote_tricast) ELSE COALESCE(excluded.tote_tricast, t.tote_tricast) END OR t.tote_trifecta IS DISTINCT FROM CASE WHEN (t.has_result IS NOT NULL AND excluded.has_result IS NULL) THEN COALESCE(t.tote_trifecta, excluded.tote_trifecta) ELSE COALESCE(excluded.tote_trifecta, t.tote_trifecta) END
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_races', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
    v_races := v_rows;
  END IF;
  IF p_unit ? 'ra_runners' THEN
    v_table := 'ra_runners';
    WITH src AS (
      SELECT DISTINCT ON (race_id, horse_id) race_id, horse_id, horse_name, number, draw, age, sex, sex_code, colour, dob, jockey_id, jockey_name, jockey_claim_lbs, trainer_id, trainer_name, trainer_location, trainer_14_days_runs, trainer_14_days_wins, trainer_14_days_percent, owner_id, owner_name, sire_id, dam_id, damsire_id, weight_lbs, weight_st_lbs, headgear, headgear_run, wind_surgery, wind_surgery_run, official_rating, rpr, topspeed, form, last_run, spotlight, trainer_rtf, comment, past_results_flags, silk_url, position, position_raw, btn, ovr_btn, sp, sp_dec, bsp, finishing_time, finishing_time_s, prize_won, race_comment, result_updated_at
      FROM jsonb_populate_recordset(NULL::ra_runners, p_unit -> 'ra_runners') ORDER BY race_id, horse_id
    ), up AS (
      INSERT INTO ra_runners AS t (race_id, horse_id, horse_name, number, draw, age, sex, sex_code, colour, dob, jockey_id, jockey_name, jockey_claim_lbs, trainer_id, trainer_name, trainer_location, trainer_14_days_runs, trainer_14_days_wins, trainer_14_days_percent, owner_id, owner_name, sire_id, dam_id, damsire_id, weight_lbs, weight_st_lbs, headgear, headgear_run, wind_surgery, wind_surgery_run, official_rating, rpr, topspeed, form, last_run, spotlight, trainer_rtf, comment, past_results_flags, silk_url, position, position_raw, btn, ovr_btn, sp, sp_dec, bsp, finishing_time, finishing_time_s, prize_won, race_comment, result_updated_at) SELECT race_id, horse_id, horse_name, number, draw, age, sex, sex_code, colour, dob, jockey_id, jockey_name, jockey_claim_lbs, trainer_id, trainer_name, trainer_location, trainer_14_days_runs, trainer_14_days_wins, trainer_14_days_percent, owner_id, owner_name, sire_id, dam_id, damsire_id, weight_lbs, weight_st_lbs, headgear, headgear_run, wind_surgery, wind_surgery_run, official_rating, rpr, topspeed, form, last_run, spotlight, trainer_rtf, comment, past_results_flags, silk_url, position, position_raw, btn, ovr_btn, sp, sp_dec, bsp, finishing_time, finishing_time_s, prize_won, race_comment, result_updated_at FROM src ON CONFLICT (race_id, horse_id) DO UPDATE SET horse_name = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.horse_name, excluded.horse_name) ELSE COALESCE(excluded.horse_name, t.horse_name) END, number = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.number, excluded.number) ELSE COALESCE(excluded.number, t.number) END, draw = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.draw, excluded.draw) ELSE COALESCE(excluded.draw, t.draw) END, age = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.age, excluded.age) ELSE COALESCE(excluded.age, t.age) END, sex = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.sex, excluded.sex) ELSE COALESCE(excluded.sex, t.sex) END, sex_code = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.sex_code, excluded.sex_code) ELSE COALESCE(excluded.sex_code, t.sex_code) END, colour = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.colour, excluded.colour) ELSE COALESCE(excluded.colour, t.colour) END, dob = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.dob, excluded.dob) ELSE COALESCE(excluded.dob, t.dob) END, jockey_id = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.jockey_id, excluded.jockey_id) ELSE COALESCE(excluded.jockey_id, t.jockey_id) END, jockey_name = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.jockey_name, excluded.jockey_name) ELSE COALESCE(excluded.jockey_name, t.jockey_name) END, jockey_claim_lbs = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.jockey_claim_lbs, excluded.jockey_claim_lbs) ELSE COALESCE(excluded.jockey_claim_lbs, t.jockey_claim_lbs) END, trainer_id = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_id, excluded.trainer_id) ELSE COALESCE(excluded.trainer_id, t.trainer_id) END, trainer_name = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_name, excluded.trainer_name) ELSE COALESCE(excluded.trainer_name, t.trainer_name) END, trainer_location = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_location, excluded.trainer_location) ELSE COALESCE(excluded.trainer_location, t.trainer_location) END, trainer_14_days_runs = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_14_days_runs, excluded.trainer_14_days_runs) ELSE COALESCE(excluded.trainer_14_days_runs, t.trainer_14_days_runs) END, trainer_14_days_wins = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_14_days_wins, excluded.trainer_14_days_wins) ELSE COALESCE(excluded.trainer_14_days_wins, t.trainer_14_days_wins) END, trainer_14_days_percent = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_14_days_percent, excluded.trainer_14_days_percent) ELSE COALESCE(excluded.trainer_14_days_percent, t.trainer_14_days_percent) END, owner_id = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.owner_id, excluded.owner_id) ELSE COALESCE(excluded.owner_id, t.owner_id) END, owner_name = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.owner_name, excluded.owner_name) ELSE COALESCE(excluded.owner_name, t.owner_name) END, sire_id = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.sire_id, excluded.sire_id) ELSE COALESCE(excluded.sire_id, t.sire_id) END, dam_id = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.dam_id, excluded.dam_id) ELSE COALESCE(excluded.dam_id, t.dam_id) END, damsire_id = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.damsire_id, excluded.damsire_id) ELSE COALESCE(excluded.damsire_id, t.damsire_id) END, weight_lbs = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.weight_lbs, excluded.weight_lbs) ELSE COALESCE(excluded.weight_lbs, t.weight_lbs) END, weight_st_lbs = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.weight_st_lbs, excluded.weight_st_lbs) ELSE COALESCE(excluded.weight_st_lbs, t.weight_st_lbs) END, headgear = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.headgear, excluded.headgear) ELSE COALESCE(excluded.headgear, t.headgear) END, headgear_run = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.headgear_run, excluded.headgear_run) ELSE COALESCE(excluded.headgear_run, t.headgear_run) END, wind_surgery = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.wind_surgery, excluded.wind_surgery) ELSE COALESCE(excluded.wind_surgery, t.wind_surgery) END, wind_surgery_run = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.wind_surgery_run, excluded.wind_surgery_run) ELSE COALESCE(excluded.wind_surgery_run, t.wind_surgery_run) END, official_rating = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.official_rating, excluded.official_rating) ELSE COALESCE(excluded.official_rating, t.official_rating) END, rpr = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.rpr, excluded.rpr) ELSE COALESCE(excluded.rpr, t.rpr) END, topspeed = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.topspeed, excluded.topspeed) ELSE COALESCE(excluded.topspeed, t.topspeed) END, form = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.form, excluded.form) ELSE COALESCE(excluded.form, t.form) END, last_run = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.last_run, excluded.last_run) ELSE COALESCE(excluded.last_run, t.last_run) END, spotlight = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.spotlight, excluded.spotlight) ELSE COALESCE(excluded.spotlight, t.spotlight) END, trainer_rtf = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_rtf, excluded.trainer_rtf) ELSE COALESCE(excluded.trainer_rtf, t.trainer_rtf) END, comment = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.comment, excluded.comment) ELSE COALESCE(excluded.comment, t.comment) END, past_results_flags = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.past_results_flags, excluded.past_results_flags) ELSE COALESCE(excluded.past_results_flags, t.past_results_flags) END, silk_url = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.silk_url, excluded.silk_url) ELSE COALESCE(excluded.silk_url, t.silk_url) END, position = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.position, excluded.position) ELSE COALESCE(excluded.position, t.position) END, position_raw = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.position_raw, excluded.position_raw) ELSE COALESCE(excluded.position_raw, t.position_raw) END, btn = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.btn, excluded.btn) ELSE COALESCE(excluded.btn, t.btn) END, ovr_btn = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.ovr_btn, excluded.ovr_btn) ELSE COALESCE(excluded.ovr_btn, t.ovr_btn) END, sp = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.sp, excluded.sp) ELSE COALESCE(excluded.sp, t.sp) END, sp_dec = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.sp_dec, excluded.sp_dec) ELSE COALESCE(excluded.sp_dec, t.sp_dec) END, bsp = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.bsp, excluded.bsp) ELSE COALESCE(excluded.bsp, t.bsp) END, finishing_time = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.finishing_time, excluded.finishing_time) ELSE COALESCE(excluded.finishing_time, t.finishing_time) END, finishing_time_s = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.finishing_time_s, excluded.finishing_time_s) ELSE COALESCE(excluded.finishing_time_s, t.finishing_time_s) END, prize_won = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.prize_won, excluded.prize_won) ELSE COALESCE(excluded.prize_won, t.prize_won) END, race_comment = CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.race_comment, excluded.race_comment) ELSE COALESCE(excluded.race_comment, t.race_comment) END, result_updated_at = COALESCE(excluded.result_updated_at, t.result_updated_at) WHERE t.horse_name IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.horse_name, excluded.horse_name) ELSE COALESCE(excluded.horse_name, t.horse_name) END OR t.number IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.number, excluded.number) ELSE COALESCE(excluded.number, t.number) END OR t.draw IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.draw, excluded.draw) ELSE COALESCE(excluded.draw, t.draw) END OR t.age IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.age, excluded.age) ELSE COALESCE(excluded.age, t.age) END OR t.sex IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.sex, excluded.sex) ELSE COALESCE(excluded.sex, t.sex) END OR t.sex_code IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.sex_code, excluded.sex_code) ELSE COALESCE(excluded.sex_code, t.sex_code) END OR t.colour IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.colour, excluded.colour) ELSE COALESCE(excluded.colour, t.colour) END OR t.dob IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.dob, excluded.dob) ELSE COALESCE(excluded.dob, t.dob) END OR t.jockey_id IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.jockey_id, excluded.jockey_id) ELSE COALESCE(excluded.jockey_id, t.jockey_id) END OR t.jockey_name IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.jockey_name, excluded.jockey_name) ELSE COALESCE(excluded.jockey_name, t.jockey_name) END OR t.jockey_claim_lbs IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.jockey_claim_lbs, excluded.jockey_claim_lbs) ELSE COALESCE(excluded.jockey_claim_lbs, t.jockey_claim_lbs) END OR t.trainer_id IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_id, excluded.trainer_id) ELSE COALESCE(excluded.trainer_id, t.trainer_id) END OR t.trainer_name IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_name, excluded.trainer_name) ELSE COALESCE(excluded.trainer_name, t.trainer_name) END OR t.trainer_location IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_location, excluded.trainer_location) ELSE COALESCE(excluded.trainer_location, t.trainer_location) END OR t.trainer_14_days_runs IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_14_days_runs, excluded.trainer_14_days_runs) ELSE COALESCE(excluded.trainer_14_days_runs, t.trainer_14_days_runs) END OR t.trainer_14_days_wins IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_14_days_wins, excluded.trainer_14_days_wins) ELSE COALESCE(excluded.trainer_14_days_wins, t.trainer_14_days_wins) END OR t.trainer_14_days_percent IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_14_days_percent, excluded.trainer_14_days_percent) ELSE COALESCE(excluded.trainer_14_days_percent, t.trainer_14_days_percent) END OR t.owner_id IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.owner_id, excluded.owner_id) ELSE COALESCE(excluded.owner_id, t.owner_id) END OR t.owner_name IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.owner_name, excluded.owner_name) ELSE COALESCE(excluded.owner_name, t.owner_name) END OR t.sire_id IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.sire_id, excluded.sire_id) ELSE COALESCE(excluded.sire_id, t.sire_id) END OR t.dam_id IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.dam_id, excluded.dam_id) ELSE COALESCE(excluded.dam_id, t.dam_id) END OR t.damsire_id IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.damsire_id, excluded.damsire_id) ELSE COALESCE(excluded.damsire_id, t.damsire_id) END OR t.weight_lbs IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.weight_lbs, excluded.weight_lbs) ELSE COALESCE(excluded.weight_lbs, t.weight_lbs) END OR t.weight_st_lbs IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.weight_st_lbs, excluded.weight_st_lbs) ELSE COALESCE(excluded.weight_st_lbs, t.weight_st_lbs) END OR t.headgear IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.headgear, excluded.headgear) ELSE COALESCE(excluded.headgear, t.headgear) END OR t.headgear_run IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.headgear_run, excluded.headgear_run) ELSE COALESCE(excluded.headgear_run, t.headgear_run) END OR t.wind_surgery IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.wind_surgery, excluded.wind_surgery) ELSE COALESCE(excluded.wind_surgery, t.wind_surgery) END OR t.wind_surgery_run IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.wind_surgery_run, excluded.wind_surgery_run) ELSE COALESCE(excluded.wind_surgery_run, t.wind_surgery_run) END OR t.official_rating IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.official_rating, excluded.official_rating) ELSE COALESCE(excluded.official_rating, t.official_rating) END OR t.rpr IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.rpr, excluded.rpr) ELSE COALESCE(excluded.rpr, t.rpr) END OR t.topspeed IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.topspeed, excluded.topspeed) ELSE COALESCE(excluded.topspeed, t.topspeed) END OR t.form IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.form, excluded.form) ELSE COALESCE(excluded.form, t.form) END OR t.last_run IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.last_run, excluded.last_run) ELSE COALESCE(excluded.last_run, t.last_run) END OR t.spotlight IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.spotlight, excluded.spotlight) ELSE COALESCE(excluded.spotlight, t.spotlight) END OR t.trainer_rtf IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.trainer_rtf, excluded.trainer_rtf) ELSE COALESCE(excluded.trainer_rtf, t.trainer_rtf) END OR t.comment IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.comment, excluded.comment) ELSE COALESCE(excluded.comment, t.comment) END OR t.past_results_flags IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.past_results_flags, excluded.past_results_flags) ELSE COALESCE(excluded.past_results_flags, t.past_results_flags) END OR t.silk_url IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.silk_url, excluded.silk_url) ELSE COALESCE(excluded.silk_url, t.silk_url) END OR t.position IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.position, excluded.position) ELSE COALESCE(excluded.position, t.position) END OR t.position_raw IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.position_raw, excluded.position_raw) ELSE COALESCE(excluded.position_raw, t.position_raw) END OR t.btn IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.btn, excluded.btn) ELSE COALESCE(excluded.btn, t.btn) END OR t.ovr_btn IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.ovr_btn, excluded.ovr_btn) ELSE COALESCE(excluded.ovr_btn, t.ovr_btn) END OR t.sp IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.sp, excluded.sp) ELSE COALESCE(excluded.sp, t.sp) END OR t.sp_dec IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.sp_dec, excluded.sp_dec) ELSE COALESCE(excluded.sp_dec, t.sp_dec) END OR t.bsp IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.bsp, excluded.bsp) ELSE COALESCE(excluded.bsp, t.bsp) END OR t.finishing_time IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.finishing_time, excluded.finishing_time) ELSE COALESCE(excluded.finishing_time, t.finishing_time) END OR t.finishing_time_s IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.finishing_time_s, excluded.finishing_time_s) ELSE COALESCE(excluded.finishing_time_s, t.finishing_time_s) END OR t.prize_won IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.prize_won, excluded.prize_won) ELSE COALESCE(excluded.prize_won, t.prize_won) END OR t.race_comment IS DISTINCT FROM CASE WHEN (t.result_updated_at IS NOT NULL AND excluded.result_updated_at IS NULL) THEN COALESCE(t.race_comment, excluded.race_comment) ELSE COALESCE(excluded.race_comment, t.race_comment) END
      RETURNING (t.xmax = 0) AS fresh
    )
    SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh)
      INTO v_rows, v_ins, v_upd FROM up;
    v_counts := v_counts || jsonb_build_object('ra_runners', jsonb_build_array(v_ins, v_upd, v_rows - v_ins - v_upd));
    v_runners := v_rows;
  END IF;
  IF p_day IS NOT NULL THEN
    v_table := 'ra_backfill_days';
    INSERT INTO ra_backfill_days AS t (day, regions, results_done, racecards_done, races, runners, committed_at) VALUES (p_day, p_regions, CASE WHEN 'results' = ANY(p_sources) THEN true END, CASE WHEN 'racecards' = ANY(p_sources) THEN true END, v_races, v_runners, now()) ON CONFLICT (day, regions) DO UPDATE SET results_done = COALESCE(excluded.results_done, t.results_done), racecards_done = COALESCE(excluded.racecards_done, t.racecards_done), races = COALESCE(excluded.races, t.races), runners = COALESCE(excluded.runners, t.runners), committed_at = COALESCE(excluded.committed_at, t.committed_at) WHERE t.results_done IS DISTINCT FROM COALESCE(excluded.results_done, t.results_done) OR t.racecards_done IS DISTINCT FROM COALESCE(excluded.racecards_done, t.racecards_done) OR t.races IS DISTINCT FROM COALESCE(excluded.races, t.races) OR t.runners IS DISTINCT FROM COALESCE(excluded.runners, t.runners) OR t.committed_at IS DISTINCT FROM COALESCE(excluded.committed_at, t.committed_at);
  END IF;
  RETURN v_counts;
EXCEPTION WHEN OTHERS THEN
  -- name the table; keep the SQLSTATE (a deadlock stays a deadlock, for the caller's retry)
  RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = v_table || ': ' || SQLERRM;
END;
$fn$;

CREATE TABLE IF NOT EXISTS ra_apply_parts (
  batch text NOT NULL,
  part integer NOT NULL,
  payload jsonb NOT NULL,
  staged_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (batch, part)
);

CREATE OR REPLACE FUNCTION ra_stage_part(p_batch text, p_part integer, p_unit jsonb)
RETURNS jsonb LANGUAGE sql VOLATILE AS $fn$
  -- one part of a day's unit, kept until ra_apply_parts applies the whole day
  INSERT INTO ra_apply_parts (batch, part, payload) VALUES (p_batch, p_part, p_unit)
  ON CONFLICT (batch, part) DO UPDATE SET payload = excluded.payload, staged_at = now()
  RETURNING jsonb_build_object('staged', p_part)
$fn$;

CREATE OR REPLACE FUNCTION ra_apply_parts(p_batch text, p_day date DEFAULT NULL,
  p_regions text DEFAULT NULL, p_sources text[] DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $fn$
-- the staged parts joined table by table (in part order) and applied as one unit, in this one
-- statement; the parts are removed in the same transaction, with those of the same write's earlier
-- attempts (batch "<write>.<attempt>") and any left by a crash a day ago
DECLARE
  v_unit jsonb;
  v_counts jsonb;
BEGIN
  SELECT coalesce(jsonb_object_agg(tbl, rows_of), '{}'::jsonb) INTO v_unit
  FROM (SELECT e.key AS tbl, jsonb_agg(r.elem ORDER BY p.part, r.ord) AS rows_of
        FROM ra_apply_parts p, jsonb_each(p.payload) e, jsonb_array_elements(e.value) WITH ORDINALITY r(elem, ord)
        WHERE p.batch = p_batch GROUP BY e.key) joined;
  v_counts := ra_apply_day(p_unit => v_unit, p_day => p_day, p_regions => p_regions,
                                p_sources => p_sources);
  DELETE FROM ra_apply_parts WHERE batch LIKE split_part(p_batch, '.', 1) || '.%'
    OR staged_at < now() - interval '1 day';
  RETURN v_counts;
END;
$fn$;

CREATE OR REPLACE FUNCTION ra_schema_state()
RETURNS jsonb LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  v_versions jsonb := '[]'::jsonb;
BEGIN
  IF to_regclass('supabase_migrations.schema_migrations') IS NOT NULL THEN
    EXECUTE 'SELECT coalesce(jsonb_agg(version ORDER BY version), ''[]''::jsonb) '
            'FROM supabase_migrations.schema_migrations' INTO v_versions;
  END IF;
  RETURN jsonb_build_object(
    'migrations', (SELECT coalesce(jsonb_agg(name ORDER BY name), '[]'::jsonb) FROM ra_schema_migrations),
    'versions', v_versions,
    'tables', (SELECT coalesce(jsonb_agg(table_name ORDER BY table_name), '[]'::jsonb)
               FROM information_schema.tables WHERE table_schema = current_schema()));
END;
$fn$;

CREATE OR REPLACE FUNCTION ra_committed_days(p_start date DEFAULT NULL, p_end date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT CAST(day AS TEXT) AS day, regions, results_done, racecards_done, races, runners FROM ra_backfill_days WHERE day >= p_start AND day <= p_end ORDER BY day, regions) q
$fn$;

CREATE OR REPLACE FUNCTION ra_last_result_day()
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT max(CAST(date AS TEXT)) AS day FROM ra_races WHERE has_result) q
$fn$;

CREATE OR REPLACE FUNCTION ra_result_days(p_start date DEFAULT NULL, p_end date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT DISTINCT CAST(date AS TEXT) AS day FROM ra_races WHERE has_result AND date >= p_start AND date <= p_end ORDER BY 1) q
$fn$;

CREATE OR REPLACE FUNCTION ra_date_span()
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT min(CAST(date AS TEXT)) AS first, max(CAST(date AS TEXT)) AS last FROM ra_races) q
$fn$;

CREATE OR REPLACE FUNCTION ra_pending_horses(p_since date DEFAULT NULL, p_refresh boolean DEFAULT NULL, p_lim integer DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT h.id AS id FROM ra_mst_horses h WHERE h.enriched_at IS NULL AND h.profile_status IS NULL AND (p_refresh OR (h.dob IS NULL OR h.breeder IS NULL OR (h.colour IS NULL AND h.colour_code IS NULL))) AND (p_since IS NULL OR EXISTS (SELECT 1 FROM ra_runners u JOIN ra_races r ON r.id = u.race_id WHERE u.horse_id = h.id AND r.date >= p_since)) ORDER BY h.id LIMIT p_lim) q
$fn$;

CREATE OR REPLACE FUNCTION ra_pending_horse_counts(p_since date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT count(*) AS without_profile, sum(CASE WHEN (h.dob IS NULL OR h.breeder IS NULL OR (h.colour IS NULL AND h.colour_code IS NULL)) THEN 1 ELSE 0 END) AS need_call FROM ra_mst_horses h WHERE h.enriched_at IS NULL AND h.profile_status IS NULL AND (p_since IS NULL OR EXISTS (SELECT 1 FROM ra_runners u JOIN ra_races r ON r.id = u.race_id WHERE u.horse_id = h.id AND r.date >= p_since))) q
$fn$;

CREATE OR REPLACE FUNCTION ra_table_counts()
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT 'ra_races' AS tbl, count(*) AS n FROM ra_races UNION ALL SELECT 'ra_runners' AS tbl, count(*) AS n FROM ra_runners UNION ALL SELECT 'ra_mst_horses' AS tbl, count(*) AS n FROM ra_mst_horses UNION ALL SELECT 'ra_mst_jockeys' AS tbl, count(*) AS n FROM ra_mst_jockeys UNION ALL SELECT 'ra_mst_trainers' AS tbl, count(*) AS n FROM ra_mst_trainers UNION ALL SELECT 'ra_mst_owners' AS tbl, count(*) AS n FROM ra_mst_owners UNION ALL SELECT 'ra_mst_sires' AS tbl, count(*) AS n FROM ra_mst_sires UNION ALL SELECT 'ra_mst_dams' AS tbl, count(*) AS n FROM ra_mst_dams UNION ALL SELECT 'ra_mst_damsires' AS tbl, count(*) AS n FROM ra_mst_damsires UNION ALL SELECT 'ra_horse_pedigree' AS tbl, count(*) AS n FROM ra_horse_pedigree UNION ALL SELECT 'ra_mst_courses' AS tbl, count(*) AS n FROM ra_mst_courses UNION ALL SELECT 'ra_mst_regions' AS tbl, count(*) AS n FROM ra_mst_regions UNION ALL SELECT 'ra_mst_bookmakers' AS tbl, count(*) AS n FROM ra_mst_bookmakers) q
$fn$;

CREATE OR REPLACE FUNCTION ra_races_per_year(p_start date DEFAULT NULL, p_end date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT substr(CAST(date AS TEXT), 1, 4) AS year, count(*) AS races FROM ra_races WHERE date >= p_start AND date <= p_end GROUP BY 1 ORDER BY 1) q
$fn$;

CREATE OR REPLACE FUNCTION ra_races_without_runners(p_start date DEFAULT NULL, p_end date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT count(*) AS n FROM ra_races r WHERE r.date >= p_start AND r.date <= p_end AND (r.is_abandoned IS NULL OR NOT r.is_abandoned) AND NOT EXISTS (SELECT 1 FROM ra_runners u WHERE u.race_id = r.id)) q
$fn$;

CREATE OR REPLACE FUNCTION ra_dangling_runners(p_start date DEFAULT NULL, p_end date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT (SELECT count(*) FROM ra_runners u JOIN ra_races r ON r.id = u.race_id WHERE r.date >= p_start AND date <= p_end AND u.race_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ra_races m WHERE m.id = u.race_id)) AS race_id, (SELECT count(*) FROM ra_runners u JOIN ra_races r ON r.id = u.race_id WHERE r.date >= p_start AND date <= p_end AND u.horse_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ra_mst_horses m WHERE m.id = u.horse_id)) AS horse_id, (SELECT count(*) FROM ra_runners u JOIN ra_races r ON r.id = u.race_id WHERE r.date >= p_start AND date <= p_end AND u.jockey_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ra_mst_jockeys m WHERE m.id = u.jockey_id)) AS jockey_id, (SELECT count(*) FROM ra_runners u JOIN ra_races r ON r.id = u.race_id WHERE r.date >= p_start AND date <= p_end AND u.trainer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ra_mst_trainers m WHERE m.id = u.trainer_id)) AS trainer_id, (SELECT count(*) FROM ra_runners u JOIN ra_races r ON r.id = u.race_id WHERE r.date >= p_start AND date <= p_end AND u.owner_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ra_mst_owners m WHERE m.id = u.owner_id)) AS owner_id) q
$fn$;

CREATE OR REPLACE FUNCTION ra_horses_without_pedigree()
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT count(*) AS n FROM ra_mst_horses h WHERE NOT EXISTS (SELECT 1 FROM ra_horse_pedigree p WHERE p.horse_id = h.id)) q
$fn$;

CREATE OR REPLACE FUNCTION ra_race_days(p_start date DEFAULT NULL, p_end date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT DISTINCT CAST(date AS TEXT) AS day FROM ra_races WHERE date >= p_start AND date <= p_end ORDER BY 1) q
$fn$;

CREATE OR REPLACE FUNCTION ra_racecard_only_days(p_start date DEFAULT NULL, p_end date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT CAST(date AS TEXT) AS day, count(*) AS races FROM ra_races WHERE date >= p_start AND date <= p_end AND (has_result IS NULL OR NOT has_result) AND (is_abandoned IS NULL OR NOT is_abandoned) GROUP BY 1 ORDER BY 1) q
$fn$;

CREATE OR REPLACE FUNCTION ra_report_days(p_start date DEFAULT NULL, p_end date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT CAST(r.date AS TEXT) AS day, r.region AS region, count(*) AS races,
               sum(CASE WHEN r.has_result THEN 1 ELSE 0 END) AS results,
               sum(CASE WHEN r.has_racecard AND (r.has_result IS NULL OR NOT r.has_result) AND (r.is_abandoned IS NULL OR NOT r.is_abandoned) THEN 1 ELSE 0 END) AS racecard_only,
               sum(CASE WHEN r.has_result AND NOT EXISTS
                        (SELECT 1 FROM ra_runners u WHERE u.race_id = r.id) THEN 1 ELSE 0 END)
                   AS results_without_runners
        FROM ra_races r WHERE r.date >= p_start AND r.date <= p_end
        GROUP BY CAST(r.date AS TEXT), r.region ORDER BY 1, 2) q
$fn$;

CREATE OR REPLACE FUNCTION ra_report_people(p_start date DEFAULT NULL, p_end date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT substr(CAST(r.date AS TEXT), 1, 4) AS year, r.region AS region, count(*) AS runners,
               count(DISTINCT u.race_id) AS races_with_runners,
               count(DISTINCT u.horse_id) AS horses, count(DISTINCT u.jockey_id) AS jockeys,
               count(DISTINCT u.trainer_id) AS trainers, count(DISTINCT u.owner_id) AS owners,
               count(DISTINCT CASE WHEN h.profile_status = 'ok' THEN h.id END) AS horses_enriched,
               count(DISTINCT CASE WHEN h.profile_status = 'not_found' THEN h.id END) AS horses_not_found,
               count(DISTINCT CASE WHEN h.profile_status IS NULL THEN h.id END) AS horses_pending
        FROM ra_runners u JOIN ra_races r ON r.id = u.race_id
        LEFT JOIN ra_mst_horses h ON h.id = u.horse_id
        WHERE r.date >= p_start AND r.date <= p_end
        GROUP BY substr(CAST(r.date AS TEXT), 1, 4), r.region ORDER BY 1, 2) q
$fn$;

CREATE OR REPLACE FUNCTION ra_results_on_day(p_day date DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]'::jsonb) FROM (SELECT count(*) AS n FROM ra_races WHERE date = p_day AND has_result) q
$fn$;

DO $grants$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    REVOKE EXECUTE ON FUNCTION ra_apply_day(jsonb, date, text, text[]) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_apply_day(jsonb, date, text, text[]) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_stage_part(text, integer, jsonb) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_stage_part(text, integer, jsonb) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_apply_parts(text, date, text, text[]) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_apply_parts(text, date, text, text[]) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_schema_state() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_schema_state() TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_committed_days(date, date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_committed_days(date, date) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_last_result_day() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_last_result_day() TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_result_days(date, date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_result_days(date, date) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_date_span() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_date_span() TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_pending_horses(date, boolean, integer) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_pending_horses(date, boolean, integer) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_pending_horse_counts(date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_pending_horse_counts(date) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_table_counts() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_table_counts() TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_races_per_year(date, date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_races_per_year(date, date) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_races_without_runners(date, date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_races_without_runners(date, date) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_dangling_runners(date, date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_dangling_runners(date, date) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_horses_without_pedigree() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_horses_without_pedigree() TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_race_days(date, date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_race_days(date, date) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_racecard_only_days(date, date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_racecard_only_days(date, date) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_report_days(date, date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_report_days(date, date) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_report_people(date, date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_report_people(date, date) TO service_role;
    REVOKE EXECUTE ON FUNCTION ra_results_on_day(date) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ra_results_on_day(date) TO service_role;
  END IF;
END;
$grants$;

NOTIFY pgrst, 'reload schema';

INSERT INTO ra_schema_migrations (name) VALUES ('20261201000001_database_merge') ON CONFLICT (name) DO NOTHING;
