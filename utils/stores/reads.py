"""Everything the commands read from the database, as named, parameterised queries.

Why named reads and not SQL in the commands: over Supabase's REST API there is no SQL, only
functions (``POST /rest/v1/rpc/<name>``). Each read below is one portable SELECT (SQLite and
PostgreSQL both run it; ``:name`` placeholders, every output column aliased, booleans tested as
``col`` / ``NOT col``, dates compared and returned as ISO text). PostgreSQL gets each one as a SQL
function ``ra_<name>(p_<param> …) RETURNS jsonb`` (rendered by ``utils/stores/pg_functions.py`` into a
migration), which the direct store calls with one ``SELECT`` and the REST store with one ``rpc``;
SQLite runs the SELECT itself. Every store returns the rows as a list of dicts with the aliased
column names, so every command gives the same output on every path.
"""
from __future__ import annotations

from dataclasses import dataclass

SUMMARY_TABLES = (
    ("races", "ra_races"), ("runners", "ra_runners"), ("horses", "ra_mst_horses"),
    ("jockeys", "ra_mst_jockeys"), ("trainers", "ra_mst_trainers"), ("owners", "ra_mst_owners"),
    ("sires", "ra_mst_sires"), ("dams", "ra_mst_dams"), ("damsires", "ra_mst_damsires"),
    ("pedigree rows", "ra_horse_pedigree"), ("courses", "ra_mst_courses"),
    ("regions", "ra_mst_regions"), ("bookmakers", "ra_mst_bookmakers"),
)

# runner column -> the master table it must point at
RUNNER_REFERENCES = (("race_id", "ra_races", "id"), ("horse_id", "ra_mst_horses", "id"),
                     ("jockey_id", "ra_mst_jockeys", "id"), ("trainer_id", "ra_mst_trainers", "id"),
                     ("owner_id", "ra_mst_owners", "id"))

# "Racecard only" means a racecard and no result; abandoned races never get a result, so they are
# not a gap. Defined once here and used by the report's queries.
RACECARD_ONLY = ("r.has_racecard AND (r.has_result IS NULL OR NOT r.has_result) "
                 "AND (r.is_abandoned IS NULL OR NOT r.is_abandoned)")

# Horses that still need a /horses/{id}/pro call. Racecard-era horses already carry dob, colour
# and breeder: they are skipped unless ``refresh``. The one definition for enrichment, its
# --check-status and the report.
_NEEDS_PROFILE = "h.enriched_at IS NULL AND h.profile_status IS NULL"
_LACKS_DETAILS = "(h.dob IS NULL OR h.breeder IS NULL OR (h.colour IS NULL AND h.colour_code IS NULL))"
_RAN_SINCE = ("(:since IS NULL OR EXISTS (SELECT 1 FROM ra_runners u JOIN ra_races r "
              "ON r.id = u.race_id WHERE u.horse_id = h.id AND r.date >= :since))")
_PENDING = f"FROM ra_mst_horses h WHERE {_NEEDS_PROFILE} AND (:refresh OR {_LACKS_DETAILS}) AND {_RAN_SINCE}"


@dataclass(frozen=True)
class Read:
    """One named query: its parameters (name -> logical type of utils.schema) and its SELECT."""

    name: str
    params: tuple[tuple[str, str], ...]
    sql: str

    @property
    def function(self) -> str:
        return f"ra_{self.name}"

    def arguments(self, params: dict) -> dict:
        """``params`` as the function's named arguments (``p_<param>``)."""
        return {f"p_{name}": value for name, value in params.items()}


_RANGE = (("start", "date"), ("end", "date"))
_IN_RANGE = "date >= :start AND date <= :end"

_TABLE_COUNTS = " UNION ALL ".join(
    f"SELECT '{table}' AS tbl, count(*) AS n FROM {table}" for _label, table in SUMMARY_TABLES)
_DANGLING = ", ".join(
    f"(SELECT count(*) FROM ra_runners u JOIN ra_races r ON r.id = u.race_id "
    f"WHERE r.{_IN_RANGE} AND u.{col} IS NOT NULL AND NOT EXISTS "
    f"(SELECT 1 FROM {table} m WHERE m.{key} = u.{col})) AS {col}"
    for col, table, key in RUNNER_REFERENCES)

READS: dict[str, Read] = {read.name: read for read in (
    # the backfill's own bookkeeping
    Read("committed_days", _RANGE,
         "SELECT CAST(day AS TEXT) AS day, regions, results_done, racecards_done, races, runners "
         "FROM ra_backfill_days WHERE day >= :start AND day <= :end ORDER BY day, regions"),
    Read("last_result_day", (), "SELECT max(CAST(date AS TEXT)) AS day FROM ra_races WHERE has_result"),
    Read("result_days", _RANGE,
         f"SELECT DISTINCT CAST(date AS TEXT) AS day FROM ra_races WHERE has_result AND {_IN_RANGE} "
         f"ORDER BY 1"),
    Read("date_span", (),
         "SELECT min(CAST(date AS TEXT)) AS first, max(CAST(date AS TEXT)) AS last FROM ra_races"),
    # enrichment
    Read("pending_horses", (("since", "date"), ("refresh", "bool"), ("lim", "int")),
         f"SELECT h.id AS id {_PENDING} ORDER BY h.id LIMIT :lim"),
    Read("pending_horse_counts", (("since", "date"),),
         f"SELECT count(*) AS without_profile, "
         f"sum(CASE WHEN {_LACKS_DETAILS} THEN 1 ELSE 0 END) AS need_call "
         f"FROM ra_mst_horses h WHERE {_NEEDS_PROFILE} AND {_RAN_SINCE}"),
    # verification
    Read("table_counts", (), _TABLE_COUNTS),
    Read("races_per_year", _RANGE,
         f"SELECT substr(CAST(date AS TEXT), 1, 4) AS year, count(*) AS races FROM ra_races "
         f"WHERE {_IN_RANGE} GROUP BY 1 ORDER BY 1"),
    Read("races_without_runners", _RANGE,
         "SELECT count(*) AS n FROM ra_races r WHERE r.date >= :start AND r.date <= :end "
         "AND (r.is_abandoned IS NULL OR NOT r.is_abandoned) AND NOT EXISTS "
         "(SELECT 1 FROM ra_runners u WHERE u.race_id = r.id)"),
    Read("dangling_runners", _RANGE, f"SELECT {_DANGLING}"),
    Read("horses_without_pedigree", (),
         "SELECT count(*) AS n FROM ra_mst_horses h WHERE NOT EXISTS "
         "(SELECT 1 FROM ra_horse_pedigree p WHERE p.horse_id = h.id)"),
    Read("race_days", _RANGE,
         f"SELECT DISTINCT CAST(date AS TEXT) AS day FROM ra_races WHERE {_IN_RANGE} ORDER BY 1"),
    Read("racecard_only_days", _RANGE,
         f"SELECT CAST(date AS TEXT) AS day, count(*) AS races FROM ra_races WHERE {_IN_RANGE} "
         f"AND (has_result IS NULL OR NOT has_result) AND (is_abandoned IS NULL OR NOT is_abandoned) "
         f"GROUP BY 1 ORDER BY 1"),
    # the report: one row per (day, region), then per (year, region)
    Read("report_days", _RANGE, f"""
        SELECT CAST(r.date AS TEXT) AS day, r.region AS region, count(*) AS races,
               sum(CASE WHEN r.has_result THEN 1 ELSE 0 END) AS results,
               sum(CASE WHEN {RACECARD_ONLY} THEN 1 ELSE 0 END) AS racecard_only,
               sum(CASE WHEN r.has_result AND NOT EXISTS
                        (SELECT 1 FROM ra_runners u WHERE u.race_id = r.id) THEN 1 ELSE 0 END)
                   AS results_without_runners
        FROM ra_races r WHERE r.date >= :start AND r.date <= :end
        GROUP BY CAST(r.date AS TEXT), r.region ORDER BY 1, 2"""),
    Read("report_people", _RANGE, """
        SELECT substr(CAST(r.date AS TEXT), 1, 4) AS year, r.region AS region, count(*) AS runners,
               count(DISTINCT u.race_id) AS races_with_runners,
               count(DISTINCT u.horse_id) AS horses, count(DISTINCT u.jockey_id) AS jockeys,
               count(DISTINCT u.trainer_id) AS trainers, count(DISTINCT u.owner_id) AS owners,
               count(DISTINCT CASE WHEN h.profile_status = 'ok' THEN h.id END) AS horses_enriched,
               count(DISTINCT CASE WHEN h.profile_status = 'not_found' THEN h.id END) AS horses_not_found,
               count(DISTINCT CASE WHEN h.profile_status IS NULL THEN h.id END) AS horses_pending
        FROM ra_runners u JOIN ra_races r ON r.id = u.race_id
        LEFT JOIN ra_mst_horses h ON h.id = u.horse_id
        WHERE r.date >= :start AND r.date <= :end
        GROUP BY substr(CAST(r.date AS TEXT), 1, 4), r.region ORDER BY 1, 2"""),
    Read("results_on_day", (("day", "date"),),
         "SELECT count(*) AS n FROM ra_races WHERE date = :day AND has_result"),
)}


def read_of(name: str) -> Read:
    try:
        return READS[name]
    except KeyError:
        raise KeyError(f"unknown read {name!r}; the reads are {', '.join(READS)}") from None


def check_params(read: Read, params: dict) -> None:
    """A read is called with exactly its parameters (a typo would silently read NULL)."""
    expected = {name for name, _ in read.params}
    if set(params) != expected:
        raise TypeError(f"read {read.name} takes {sorted(expected)}, got {sorted(params)}")
