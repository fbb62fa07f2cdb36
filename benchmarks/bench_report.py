#!/usr/bin/env python3
"""Benchmark: the backfill report (collect + render) on a ~1.5-million-runner PostgreSQL database.

Why generate_series: ten years of racing (~131,000 races, ~1.5 million runners, 150,000 horses) is
built in SQL inside the server in well under a minute, never through the API. The database
``dh_bench_report`` is kept and reused by later runs (``--rebuild`` starts it over). Prints the seconds,
the target (< 10 s) and PASS/FAIL; exit 0 on PASS, 1 on FAIL.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_SECONDS = 10.0
DATABASE = "dh_bench_report"
SERVER = "postgresql://postgres@127.0.0.1:5432"
MIN_RUNNERS = 1_400_000
FIRST_DAY, LAST_DAY = date(2015, 1, 1), date(2024, 12, 31)

# Ten years, 36 races a day (10 of 13 GB, 3 of 13 IRE: ~13,000 a year), 5..18 runners a race
# (~11.5 on average), no racing on 24/25 December; racecards from 2023-01-23 like the real API.
# Runner horse ids step by 7919 so that no horse runs twice in one race (7919 * 18 < 150,000).
BUILD_SQL = f"""
SET session_replication_role = replica;
INSERT INTO ra_mst_jockeys (id, name) SELECT 'jky_' || g, 'Jockey ' || g FROM generate_series(1, 1500) g;
INSERT INTO ra_mst_trainers (id, name) SELECT 'trn_' || g, 'Trainer ' || g FROM generate_series(1, 2000) g;
INSERT INTO ra_mst_owners (id, name) SELECT 'own_' || g, 'Owner ' || g FROM generate_series(1, 20000) g;
INSERT INTO ra_mst_horses (id, name, profile_status)
  SELECT 'hrs_' || g, 'Horse ' || g,
         CASE WHEN g % 10 < 7 THEN 'ok' WHEN g % 10 = 7 THEN 'not_found' END
  FROM generate_series(1, 150000) g;
INSERT INTO ra_races (id, date, region, course_id, has_racecard, has_result, field_size)
  SELECT 'rac_' || to_char(d, 'YYYYMMDD') || '_' || n, d::date,
         CASE WHEN n % 13 < 10 THEN 'gb' ELSE 'ire' END, 'crs_' || (n % 60),
         d >= DATE '2023-01-23', true, 5 + (hashtext(to_char(d, 'YYYYMMDD') || n) & 1048575) % 14
  FROM generate_series(DATE '{FIRST_DAY}', DATE '{LAST_DAY}', interval '1 day') d,
       generate_series(1, 36) n
  WHERE to_char(d, 'MM-DD') NOT IN ('12-24', '12-25');
INSERT INTO ra_runners (race_id, horse_id, jockey_id, trainer_id, owner_id, position)
  SELECT r.id, 'hrs_' || (1 + ((hashtext(r.id) & 1048575) + k * 7919) % 150000),
         'jky_' || (1 + (hashtext(r.id || k) & 1048575) % 1500), 'trn_' || (1 + (hashtext(k || r.id) & 1048575) % 2000),
         'own_' || (1 + (hashtext(r.id || 'o' || k) & 1048575) % 20000), k
  FROM ra_races r, generate_series(1, r.field_size) k;
SET session_replication_role = DEFAULT;
"""


def _admin():
    import psycopg

    return psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=5)


def _open_store():
    from utils.stores import open_store
    from utils.stores.migrations import apply_migrations
    from utils.stores.target import resolve_database

    store = open_store(resolve_database(f"{SERVER}/{DATABASE}", {}))
    apply_migrations(store)
    return store


def _runner_count() -> int:
    """Runners in the benchmark database, or -1 when it does not exist yet."""
    import psycopg

    with _admin() as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            return -1
    with psycopg.connect(f"{SERVER}/{DATABASE}", connect_timeout=5) as conn:
        exists = conn.execute("SELECT to_regclass('ra_runners')").fetchone()[0]
        return int(conn.execute("SELECT count(*) FROM ra_runners").fetchone()[0]) if exists else 0


def build() -> None:
    """(Re)create dh_bench_report: schema through the migrations, rows through generate_series."""
    import psycopg

    with _admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    _open_store().close()
    started = time.perf_counter()
    with psycopg.connect(f"{SERVER}/{DATABASE}", autocommit=True) as conn:
        conn.execute(BUILD_SQL)
        conn.execute("ANALYZE")
    print(f"built {DATABASE} in {time.perf_counter() - started:.1f} s")


def time_report() -> tuple[float, float, int]:
    """Seconds for collect and for render (PNG + Markdown + JSON), and the runners reported."""
    from utils.commands import report

    store = _open_store()
    try:
        started = time.perf_counter()
        start, end = report.default_range(store, date.today())
        data = report.collect_report(store, start, end, today=date.today(), error_log=None)
        collected = time.perf_counter() - started
    finally:
        store.close()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        report.write_files(data, Path(out))
    return collected, time.perf_counter() - started, data.totals.runners


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild dh_bench_report")
    args = parser.parse_args()
    runners = _runner_count()
    if args.rebuild or runners < MIN_RUNNERS:
        build()
    else:
        print(f"reusing {DATABASE} ({runners:,} runners)")
    collected, rendered, reported = time_report()
    total = collected + rendered
    verdict = "PASS" if total < TARGET_SECONDS else "FAIL"
    print(f"report on {reported:,} runners: collect {collected:.2f} s + render {rendered:.2f} s "
          f"= {total:.2f} s (target < {TARGET_SECONDS:.0f} s) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
