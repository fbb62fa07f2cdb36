"""One suite for every store: SQLite, PostgreSQL and the Supabase REST store (on the fake).

What must hold everywhere: re-writing is a no-op, a value is never clobbered by a source that
lacks it, batches are deduped, entities go in before the rows referencing them, typed values
survive the round trip. What only a SQL store can promise (one transaction per unit, exact
counts, results beating racecards) is asserted where it applies.
"""
from __future__ import annotations

import sqlite3
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import psycopg
import pytest

from store_fixtures import (REST_KEY, empty_pg_database, fake_rest, harness, pg_database,  # noqa: F401
                            pg_server)
from utils.db_target import resolve_database
from utils.errors import StoreAuthError, StoreConnectionError, StoreError
from utils.stores import WriteCounts, open_store
from utils.supabase_client import SupabaseReferenceClient

DAY = date(2024, 3, 9)
OFF = datetime(2024, 3, 9, 14, 30, tzinfo=timezone.utc)


def entities() -> dict[str, list[dict]]:
    return {
        "ra_mst_jockeys": [{"id": "jky_1", "name": "Dáiríre Ó Dubhghaill"}],
        "ra_mst_trainers": [{"id": "trn_1", "name": "W P Mullins", "location": "Closutton"}],
        "ra_mst_owners": [{"id": "own_1", "name": "Robert'); DROP TABLE ra_races;--"}],
        "ra_mst_horses": [{"id": "hrs_1", "name": "Galopin Des Champs", "sex_code": "G"}],
    }


def racecard_unit(**overrides) -> dict[str, list[dict]]:
    race = {"id": "rac_1", "date": DAY, "region": "ire", "course_name": "Leopardstown",
            "off_time": time(14, 30), "off_dt": OFF, "race_name": "Irish Gold Cup",
            "is_big_race": True, "has_racecard": True, "tip": "Galopin", "field_size": 8}
    runner = {"race_id": "rac_1", "horse_id": "hrs_1", "horse_name": "Galopin Des Champs",
              "number": 3, "draw": None, "jockey_id": "jky_1", "trainer_id": "trn_1",
              "owner_id": "own_1", "form": "1-11", "spotlight": "", "weight_lbs": 161,
              "trainer_14_days_percent": Decimal("22.5"), "dob": date(2016, 4, 30)}
    return {**entities(), "ra_races": [{**race, **overrides}], "ra_runners": [runner]}


def result_unit() -> dict[str, list[dict]]:
    race = {"id": "rac_1", "date": DAY, "region": "ire", "going": "Yielding", "has_result": True,
            "winning_time_detail": "6m 12.3s", "tote_win": "€2.10", "prize": Decimal("142500.00")}
    runner = {"race_id": "rac_1", "horse_id": "hrs_1", "horse_name": "Galopin Des Champs",
              "position": 1, "position_raw": "1", "btn": Decimal("0"), "sp": "4/6",
              "sp_dec": Decimal("1.67"), "finishing_time_s": Decimal("372.30"),
              "result_updated_at": datetime(2024, 3, 9, 15, 0, tzinfo=timezone.utc)}
    return {**entities(), "ra_races": [race], "ra_runners": [runner]}


def rows_in(unit: dict, table: str) -> dict:
    """The fields a unit provides for the single row of ``table`` (empty values dropped)."""
    [row] = unit[table]
    return {k: v for k, v in row.items() if v not in (None, "")}


# --- the shared suite -------------------------------------------------------------------------
def test_rewrite_is_a_no_op(harness):
    unit = racecard_unit()
    first = harness.store.write_unit(unit)
    before, audit = harness.snapshot(), harness.audit("ra_runners")
    second = harness.store.write_unit(unit)
    assert harness.snapshot() == before
    assert harness.audit("ra_runners") == audit
    if harness.transactional:
        assert first["ra_runners"] == WriteCounts(inserted=1)
        assert all(c == WriteCounts(unchanged=c.total) for c in second.values())
    else:
        assert second["ra_runners"] == WriteCounts(unknown=1)


def test_racecard_result_racecard_keeps_every_field(harness):
    for unit in (racecard_unit(), result_unit(), racecard_unit()):
        harness.store.write_unit(unit)
    race = harness.rows("ra_races")[("rac_1",)]
    runner = harness.rows("ra_runners")[("rac_1", "hrs_1")]
    assert race == {**rows_in(racecard_unit(), "ra_races"), **rows_in(result_unit(), "ra_races")}
    assert runner == {**rows_in(racecard_unit(), "ra_runners"), **rows_in(result_unit(), "ra_runners")}
    assert race["has_result"] is True


def test_results_win_over_a_later_racecard(harness):
    if not harness.transactional:
        pytest.skip("REST upserts set every column sent: documented limitation of the REST store")
    harness.store.write_unit(result_unit())
    harness.store.write_unit(racecard_unit(going="Soft", region="gb"))
    race = harness.rows("ra_races")[("rac_1",)]
    assert (race["going"], race["region"], race["tip"]) == ("Yielding", "ire", "Galopin")


def test_a_batch_is_deduped_later_rows_win_and_merge(harness):
    jockeys = [{"id": "jky_1", "name": "Old Name"}, {"id": "jky_2", "name": "Other"},
               {"id": "jky_1", "name": "New Name"}]
    trainers = [{"id": "trn_1", "name": "T", "location": "Cashel"}, {"id": "trn_1", "location": None}]
    horses = [{"id": "hrs_1", "name": "A", "colour": "b"}, {"id": "hrs_1", "sex_code": "G", "colour": ""}]
    counts = harness.store.write_unit({"ra_mst_jockeys": jockeys, "ra_mst_horses": horses,
                                       "ra_mst_trainers": trainers})
    assert harness.rows("ra_mst_jockeys")[("jky_1",)] == {"id": "jky_1", "name": "New Name"}
    assert harness.rows("ra_mst_trainers")[("trn_1",)] == trainers[0]
    assert harness.rows("ra_mst_horses")[("hrs_1",)] == {"id": "hrs_1", "name": "A", "colour": "b",
                                                         "sex_code": "G"}
    assert counts["ra_mst_jockeys"].total == 2
    if harness.fake:
        for request in harness.fake.posts():
            keys = [tuple(r[k] for k in ("id",)) for r in request.body if "id" in r]
            assert len(keys) == len(set(keys))


def test_entities_in_the_same_unit_satisfy_foreign_keys(harness):
    counts = harness.store.write_unit(racecard_unit())
    assert set(counts) == {"ra_mst_jockeys", "ra_mst_trainers", "ra_mst_owners", "ra_mst_horses",
                           "ra_races", "ra_runners"}
    assert harness.store.table_count("ra_runners") == 1


def test_a_runner_of_a_missing_race_fails_the_whole_unit(harness):
    unit = racecard_unit()
    del unit["ra_races"]
    with pytest.raises(StoreError) as info:
        harness.store.write_unit(unit)
    assert not isinstance(info.value, StoreConnectionError)
    assert harness.rows("ra_runners") == {}
    if harness.transactional:   # REST has no transaction: earlier tables stay (documented)
        assert harness.snapshot() == {t: {} for t in harness.snapshot()}


def test_typed_values_round_trip(harness):
    values = {"id": "rac_t", "date": date(2024, 2, 29), "off_time": time(9, 5, 30),
              "off_dt": datetime(2024, 2, 29, 9, 5, 30, tzinfo=timezone(timedelta(hours=1))),
              "distance_f": Decimal("11.5"), "prize": Decimal("1234567.89"), "distance_m": 2313,
              "is_big_race": False, "is_abandoned": True, "course_name": "Dáiríre",
              "comments": "Ó Dubhghaill'; DELETE FROM ra_races; -- \"x\" ? %s %(a)s",
              "verdict": "emoji 🐎 and\nnewline"}
    harness.store.write_unit({"ra_races": [values]})
    assert harness.rows("ra_races")[("rac_t",)] == values
    harness.store.write_unit({"ra_races": [values]})   # equal values are recognised as unchanged
    assert harness.rows("ra_races")[("rac_t",)] == values


def test_created_at_is_kept_and_updated_at_moves_only_on_change(harness):
    harness.store.write_unit(racecard_unit())
    created, updated = harness.audit("ra_races")[("rac_1",)]
    clock.sleep(0.02)
    harness.store.write_unit(racecard_unit())
    assert harness.audit("ra_races")[("rac_1",)] == (created, updated)
    clock.sleep(0.02)
    harness.store.write_unit(racecard_unit(tip="Someone else"))
    created2, updated2 = harness.audit("ra_races")[("rac_1",)]
    assert created2 == created and updated2 > updated


def test_counts_split_inserts_updates_unchanged(harness):
    if not harness.transactional:
        pytest.skip("REST with return=minimal reports unknown counts")
    jockeys = [{"id": f"jky_{i}", "name": f"J {i}"} for i in range(5)]
    assert harness.store.write_unit({"ra_mst_jockeys": jockeys})["ra_mst_jockeys"] == WriteCounts(5, 0, 0)
    jockeys[1]["name"] = "Changed"
    jockeys.append({"id": "jky_new", "name": "New"})
    jockeys[2] = {"id": "jky_2"}                                    # nothing to say: unchanged
    counts = harness.store.write_unit({"ra_mst_jockeys": jockeys})["ra_mst_jockeys"]
    assert counts == WriteCounts(inserted=1, updated=1, unchanged=4)
    runners = racecard_unit()
    harness.store.write_unit(runners)
    assert harness.store.write_unit(result_unit())["ra_runners"] == WriteCounts(updated=1)


def test_a_failure_inside_the_unit_leaves_nothing(harness):
    if not harness.transactional:
        pytest.skip("REST has no transaction across requests")

    def boom(table):
        if table == "ra_races":
            raise RuntimeError("simulated crash after ra_races")

    harness.store.after_table = boom
    with pytest.raises(RuntimeError):
        harness.store.write_unit(racecard_unit())
    harness.store.after_table = None
    assert all(rows == {} for rows in harness.snapshot().values())
    harness.store.write_unit(racecard_unit())      # the store is usable afterwards
    assert harness.store.table_count("ra_runners") == 1


def test_query_takes_question_mark_placeholders(harness):
    if not harness.transactional:
        with pytest.raises(NotImplementedError):
            harness.store.query("SELECT id FROM ra_races WHERE date = ?", (DAY.isoformat(),))
        assert harness.store.query("SELECT count(*) FROM ra_races") == [(0,)]
        return
    harness.store.write_unit(racecard_unit())
    rows = harness.store.query("SELECT id, course_name FROM ra_races WHERE date >= ? AND id LIKE '%1'",
                               (DAY.isoformat(),))
    assert rows == [("rac_1", "Leopardstown")]
    assert harness.store.table_count("ra_races") == 1


def test_unknown_columns_and_keyless_rows_are_refused(harness):
    with pytest.raises(StoreError, match="unknown columns"):
        harness.store.write_unit({"ra_mst_jockeys": [{"id": "j", "nickname": "x"}]})
    with pytest.raises(StoreError, match="without its key"):
        harness.store.write_unit({"ra_mst_jockeys": [{"id": "", "name": "x"}]})


# --- PostgreSQL: a connection killed half-way through a unit ------------------------------------
def test_postgres_connection_killed_mid_unit(pg_database):
    store = open_store(resolve_database(pg_database, {}))
    with psycopg.connect(pg_database, autocommit=True) as admin:
        admin.execute("TRUNCATE ra_runners, ra_races, ra_mst_horses, ra_mst_jockeys, "
                      "ra_mst_trainers, ra_mst_owners CASCADE")
        pid = store.conn.info.backend_pid

        def kill(table):
            if table == "ra_races":
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        store.after_table = kill
        with pytest.raises(StoreConnectionError) as info:
            store.write_unit(racecard_unit())
        assert "nothing of it was written" in str(info.value)
        for table in ("ra_mst_jockeys", "ra_races", "ra_runners"):
            assert admin.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    with pytest.raises(StoreConnectionError):
        store.query("SELECT 1")
    store.close()


def test_postgres_errors_never_show_the_password(pg_server):
    url = "postgresql://postgres:Sup3rSecret@127.0.0.1:1/postgres"
    with pytest.raises(StoreConnectionError) as info:
        open_store(resolve_database(url, {}))
    assert "Sup3rSecret" not in str(info.value) and "****" in str(info.value)
    bad_user = pg_server.replace("postgres@", "no_such_role_xyz:Sup3rSecret@") + "/postgres"
    with pytest.raises(StoreError) as info:
        open_store(resolve_database(bad_user, {}))
    assert "Sup3rSecret" not in str(info.value)


# --- SQLite specifics ----------------------------------------------------------------------------
def test_sqlite_creates_the_folder_and_uses_wal(tmp_path):
    store = open_store(resolve_database(f"sqlite:///{tmp_path}/a/b/c.db", {}))
    assert store.query("PRAGMA journal_mode") == [("wal",)]
    assert store.query("PRAGMA foreign_keys") == [(1,)]
    store.close()


def test_sqlite_unusable_database_is_critical(tmp_path):
    path = tmp_path / "not_a_db.db"
    path.write_bytes(b"this is not a database file at all" * 200)
    with pytest.raises(StoreConnectionError):
        store = open_store(resolve_database(f"sqlite:///{path}", {}))
        store.apply_migrations()


def test_sqlite_closed_connection_is_critical(tmp_path):
    store = open_store(resolve_database(f"sqlite:///{tmp_path}/x.db", {}))
    store.apply_migrations()
    store.conn.close()
    with pytest.raises(StoreConnectionError):
        store.write_unit(racecard_unit())
    assert isinstance(sqlite3.sqlite_version, str)


# --- REST specifics --------------------------------------------------------------------------
def rest_store(fake, **kw) -> SupabaseReferenceClient:
    return SupabaseReferenceClient(fake.url, kw.pop("key", REST_KEY), wait_initial=0.001,
                                   wait_max=0.01, **kw)


def test_rest_groups_rows_by_column_set_and_batches(fake_rest):
    store = rest_store(fake_rest, batch_size=2)
    horses = [{"id": f"hrs_{i}", "name": f"H{i}"} for i in range(5)] + \
             [{"id": "hrs_x", "name": "X", "dob": date(2019, 1, 1)}]
    store.write_unit({"ra_mst_horses": horses})
    posts = fake_rest.posts()
    assert [len(p.body) for p in posts] == [2, 2, 1, 1]
    for post in posts:
        columns = {c.strip('"') for c in post.params["columns"].split(",")}
        assert all(set(row) == columns for row in post.body)
        assert post.params["on_conflict"] == "id"
        assert "missing=default" in post.headers["prefer"]


def test_rest_retries_server_errors_then_succeeds(fake_rest):
    store = rest_store(fake_rest, attempts=4)
    fake_rest.inject(503, times=2)
    store.write_unit({"ra_mst_jockeys": [{"id": "jky_1", "name": "A"}]})
    assert len(fake_rest.posts()) == 3 and len(fake_rest.rows("ra_mst_jockeys")) == 1


def test_rest_gives_up_after_attempts_and_times_out(fake_rest):
    store = rest_store(fake_rest, attempts=2)
    fake_rest.inject(502, times=5)
    with pytest.raises(StoreError, match="HTTP 502"):
        store.write_unit({"ra_mst_jockeys": [{"id": "jky_1"}]})
    fake_rest.faults.clear()
    slow = rest_store(fake_rest, attempts=2, timeout=0.2)
    fake_rest.inject(200, delay=0.6, times=2)
    with pytest.raises(StoreConnectionError):
        slow.write_unit({"ra_mst_jockeys": [{"id": "jky_1"}]})


def test_rest_wrong_key_is_an_auth_error_without_the_key(fake_rest):
    store = rest_store(fake_rest, key="sb_secret_WRONG_key_abcdef")
    with pytest.raises(StoreAuthError) as info:
        store.write_unit({"ra_mst_jockeys": [{"id": "jky_1"}]})
    assert "WRONG" not in str(info.value) and REST_KEY not in str(info.value)
    assert len(fake_rest.posts()) == 1         # auth failures are not retried
