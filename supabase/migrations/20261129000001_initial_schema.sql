-- Rendered from utils/schema.py by scripts/init_db.py --render; do not edit by hand.

CREATE OR REPLACE FUNCTION ra_touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.created_at := OLD.created_at;
  NEW.updated_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE IF NOT EXISTS ra_mst_regions (
  code text NOT NULL,
  name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (code)
);

DROP TRIGGER IF EXISTS ra_mst_regions_touch ON ra_mst_regions;
CREATE TRIGGER ra_mst_regions_touch BEFORE UPDATE ON ra_mst_regions FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_mst_courses (
  id text NOT NULL,
  name text,
  region_code text,
  region text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

CREATE INDEX IF NOT EXISTS ra_mst_courses_region_code_idx ON ra_mst_courses (region_code);

DROP TRIGGER IF EXISTS ra_mst_courses_touch ON ra_mst_courses;
CREATE TRIGGER ra_mst_courses_touch BEFORE UPDATE ON ra_mst_courses FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_mst_bookmakers (
  code text NOT NULL,
  name text,
  type text,
  is_active boolean,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (code)
);

DROP TRIGGER IF EXISTS ra_mst_bookmakers_touch ON ra_mst_bookmakers;
CREATE TRIGGER ra_mst_bookmakers_touch BEFORE UPDATE ON ra_mst_bookmakers FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_mst_jockeys (
  id text NOT NULL,
  name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

DROP TRIGGER IF EXISTS ra_mst_jockeys_touch ON ra_mst_jockeys;
CREATE TRIGGER ra_mst_jockeys_touch BEFORE UPDATE ON ra_mst_jockeys FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_mst_trainers (
  id text NOT NULL,
  name text,
  location text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

DROP TRIGGER IF EXISTS ra_mst_trainers_touch ON ra_mst_trainers;
CREATE TRIGGER ra_mst_trainers_touch BEFORE UPDATE ON ra_mst_trainers FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_mst_owners (
  id text NOT NULL,
  name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

DROP TRIGGER IF EXISTS ra_mst_owners_touch ON ra_mst_owners;
CREATE TRIGGER ra_mst_owners_touch BEFORE UPDATE ON ra_mst_owners FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_mst_sires (
  id text NOT NULL,
  name text,
  region text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

DROP TRIGGER IF EXISTS ra_mst_sires_touch ON ra_mst_sires;
CREATE TRIGGER ra_mst_sires_touch BEFORE UPDATE ON ra_mst_sires FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_mst_dams (
  id text NOT NULL,
  name text,
  region text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

DROP TRIGGER IF EXISTS ra_mst_dams_touch ON ra_mst_dams;
CREATE TRIGGER ra_mst_dams_touch BEFORE UPDATE ON ra_mst_dams FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_mst_damsires (
  id text NOT NULL,
  name text,
  region text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

DROP TRIGGER IF EXISTS ra_mst_damsires_touch ON ra_mst_damsires;
CREATE TRIGGER ra_mst_damsires_touch BEFORE UPDATE ON ra_mst_damsires FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_mst_horses (
  id text NOT NULL,
  name text,
  region text,
  sex text,
  sex_code text,
  dob date,
  colour text,
  colour_code text,
  breeder text,
  sire_id text,
  dam_id text,
  damsire_id text,
  enriched_at timestamptz,
  profile_status text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

CREATE INDEX IF NOT EXISTS ra_mst_horses_enriched_at_idx ON ra_mst_horses (enriched_at);

DROP TRIGGER IF EXISTS ra_mst_horses_touch ON ra_mst_horses;
CREATE TRIGGER ra_mst_horses_touch BEFORE UPDATE ON ra_mst_horses FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_horse_pedigree (
  horse_id text NOT NULL,
  sire_id text,
  sire text,
  dam_id text,
  dam text,
  damsire_id text,
  damsire text,
  breeder text,
  region text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (horse_id),
  FOREIGN KEY (horse_id) REFERENCES ra_mst_horses (id)
);

DROP TRIGGER IF EXISTS ra_horse_pedigree_touch ON ra_horse_pedigree;
CREATE TRIGGER ra_horse_pedigree_touch BEFORE UPDATE ON ra_horse_pedigree FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_races (
  id text NOT NULL,
  date date,
  region text,
  course_id text,
  course_name text,
  off_time time,
  off_dt timestamptz,
  race_name text,
  type text,
  race_class text,
  pattern text,
  age_band text,
  rating_band text,
  sex_restriction text,
  distance text,
  distance_round text,
  distance_f numeric,
  distance_m integer,
  distance_y integer,
  going text,
  going_detailed text,
  surface text,
  jumps text,
  prize numeric,
  currency text,
  field_size integer,
  rail_movements text,
  stalls text,
  weather text,
  is_big_race boolean,
  is_abandoned boolean,
  race_status text,
  tip text,
  verdict text,
  betting_forecast text,
  has_racecard boolean,
  has_result boolean,
  winning_time_detail text,
  comments text,
  non_runners text,
  tote_win text,
  tote_pl text,
  tote_ex text,
  tote_csf text,
  tote_tricast text,
  tote_trifecta text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id)
);

CREATE INDEX IF NOT EXISTS ra_races_date_idx ON ra_races (date);

CREATE INDEX IF NOT EXISTS ra_races_course_id_date_idx ON ra_races (course_id, date);

CREATE INDEX IF NOT EXISTS ra_races_date_has_result_idx ON ra_races (date, has_result);

DROP TRIGGER IF EXISTS ra_races_touch ON ra_races;
CREATE TRIGGER ra_races_touch BEFORE UPDATE ON ra_races FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();

CREATE TABLE IF NOT EXISTS ra_runners (
  race_id text NOT NULL,
  horse_id text NOT NULL,
  horse_name text,
  number integer,
  draw integer,
  age integer,
  sex text,
  sex_code text,
  colour text,
  dob date,
  jockey_id text,
  jockey_name text,
  jockey_claim_lbs integer,
  trainer_id text,
  trainer_name text,
  trainer_location text,
  trainer_14_days_runs integer,
  trainer_14_days_wins integer,
  trainer_14_days_percent numeric,
  owner_id text,
  owner_name text,
  sire_id text,
  dam_id text,
  damsire_id text,
  weight_lbs integer,
  weight_st_lbs text,
  headgear text,
  headgear_run text,
  wind_surgery text,
  wind_surgery_run text,
  official_rating integer,
  rpr integer,
  topspeed integer,
  form text,
  last_run integer,
  spotlight text,
  trainer_rtf numeric,
  comment text,
  past_results_flags text,
  silk_url text,
  position integer,
  position_raw text,
  btn numeric,
  ovr_btn numeric,
  sp text,
  sp_dec numeric,
  bsp numeric,
  finishing_time text,
  finishing_time_s numeric,
  prize_won numeric,
  race_comment text,
  result_updated_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (race_id, horse_id),
  FOREIGN KEY (race_id) REFERENCES ra_races (id),
  FOREIGN KEY (horse_id) REFERENCES ra_mst_horses (id),
  FOREIGN KEY (jockey_id) REFERENCES ra_mst_jockeys (id),
  FOREIGN KEY (trainer_id) REFERENCES ra_mst_trainers (id),
  FOREIGN KEY (owner_id) REFERENCES ra_mst_owners (id)
);

CREATE INDEX IF NOT EXISTS ra_runners_horse_id_idx ON ra_runners (horse_id);

CREATE INDEX IF NOT EXISTS ra_runners_jockey_id_idx ON ra_runners (jockey_id);

CREATE INDEX IF NOT EXISTS ra_runners_trainer_id_idx ON ra_runners (trainer_id);

CREATE INDEX IF NOT EXISTS ra_runners_owner_id_idx ON ra_runners (owner_id);

DROP TRIGGER IF EXISTS ra_runners_touch ON ra_runners;
CREATE TRIGGER ra_runners_touch BEFORE UPDATE ON ra_runners FOR EACH ROW EXECUTE FUNCTION ra_touch_updated_at();
