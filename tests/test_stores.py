"""One contract, every store: SqliteStore (temp file), PostgresStore (a fresh database on the local
server) and SupabaseReferenceClient against the PostgREST fake, whose data lives in a second real
PostgreSQL database and whose writes run the real ``ra_apply_day`` function.

Every store honours the whole contract now that the database does the merge: one transaction per
unit, exact counts, ``updated_at`` only moving on change, results winning whatever the order, and
the newest observation winning on master tables.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import threading
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from pg_databases import create_database, drop_database, postgres_session_db, server_url, terminate_backend  # noqa: F401 (fixture)
from postgrest_fake import DEFAULT_KEY, PostgrestFake
from utils.errors import ConfigError, SchemaOutOfDateError, StoreAuthError, StoreConnectionError, StoreError
from utils.schema import BACKFILL_DAYS, OBSERVED, TABLES, WRITE_ORDER
from utils.stores.base import DayMark

SQL_KINDS = ["sqlite", "postgres"]
ALL_KINDS = ["sqlite", "postgres", "rest"]
ALL_TABLES = (*WRITE_ORDER, BACKFILL_DAYS.name)


# --- fixtures -----------------------------------------------------------------------------------
def _migrated(url: str) -> str:
    from utils.stores.postgres import PostgresStore

    with PostgresStore(url) as store:
        store.apply_migrations()
    return url


@pytest.fixture(scope="module")
def migrated_pg(postgres_session_db):  # noqa: F811
    return _migrated(postgres_session_db)


@pytest.fixture(scope="module")
def rest_db():
    """The fake's own database (a REST store never shares the direct store's)."""
    name = create_database("dh_rest")
    yield _migrated(server_url(name))
    drop_database(name)


@pytest.fixture(scope="module")
def rest_fake(rest_db):
    fake = PostgrestFake(rest_db).start()
    yield fake
    fake.stop()


def _truncate(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(ALL_TABLES) + " CASCADE")


def _open(kind, tmp_path, request):
    if kind == "sqlite":
        from utils.stores.sqlite import SqliteStore

        tmp_path.mkdir(parents=True, exist_ok=True)
        store = SqliteStore(tmp_path / "contract.db")
        store.apply_migrations()
        store.db = store
        return store
    if kind == "postgres":
        from utils.stores.postgres import PostgresStore

        url = request.getfixturevalue("migrated_pg")
        _truncate(url)
        store = PostgresStore(url)
        store.db = store
        return store
    from utils.stores.postgres import PostgresStore
    from utils.stores.rest import SupabaseReferenceClient

    fake = request.getfixturevalue("rest_fake")
    _truncate(fake.database_url)
    fake.reset()
    store = SupabaseReferenceClient(fake.url, DEFAULT_KEY, attempts=3, wait_initial=0.01,
                                    wait_max=0.02, timeout=5.0)
    store.fake = fake
    store.db = PostgresStore(fake.database_url)     # reads the fake's tables back directly
    return store


@pytest.fixture
def store(request, tmp_path):
    s = _open(request.param, tmp_path, request)
    yield s
    if s.db is not s:
        s.db.close()
    s.close()


def sql_stores(fn):
    return pytest.mark.parametrize("store", SQL_KINDS, indirect=True)(fn)


def all_stores(fn):
    return pytest.mark.parametrize("store", ALL_KINDS, indirect=True)(fn)


# --- reading back, uniformly ----------------------------------------------------------------------
def norm(value):
    """One spelling per value whatever the store returned (SQLite: ISO text, 0/1, REAL)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, float)):
        d = Decimal(str(value)).normalize()
        return int(d) if d == d.to_integral_value() else d
    if isinstance(value, str):
        try:  # SQLite keeps timestamps as ISO text
            if "T" in value and len(value) > 18 and value[:4].isdigit():
                return datetime.fromisoformat(value).astimezone(UTC).isoformat()
        except ValueError:
            pass
    return value


def read(store, table: str, audit: bool = False) -> list[dict]:
    t = TABLES.get(table) or BACKFILL_DAYS
    cols = t.all_columns if audit else t.data_columns
    rows = store.db.query(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(t.key)}")
    return [{c: (v if c in ("created_at", "updated_at") else norm(v)) for c, v in zip(cols, r)}
            for r in rows]


def everything(store) -> dict[str, list[dict]]:
    return {t: read(store, t) for t in WRITE_ORDER}


def checksum(store, audit: bool = True) -> str:
    text = repr({t: read(store, t, audit=audit) for t in WRITE_ORDER})
    return hashlib.sha256(text.encode()).hexdigest()


# --- data ---------------------------------------------------------------------------------------
DAY = date(2024, 5, 1)
OFF = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=1)))
RESULT_AT = datetime(2024, 5, 1, 18, 0, tzinfo=UTC)


def entities(n: int = 3) -> dict[str, list[dict]]:
    return {
        "ra_mst_jockeys": [{"id": f"jky_{i}", "name": f"Jockey {i}"} for i in range(n)],
        "ra_mst_trainers": [{"id": f"trn_{i}", "name": f"Trainer {i}", "location": "Newmarket"}
                            for i in range(n)],
        "ra_mst_owners": [{"id": f"own_{i}", "name": f"Owner {i}"} for i in range(n)],
        "ra_mst_horses": [{"id": f"hrs_{i}", "name": f"Horse {i}", "sex": "gelding", "region": "gb"}
                          for i in range(n)],
        "ra_horse_pedigree": [{"horse_id": f"hrs_{i}", "sire_id": "sir_1", "sire": "Frankel (GB)"}
                              for i in range(n)],
    }


def racecard_unit(n: int = 3) -> dict[str, list[dict]]:
    unit = entities(n)
    unit["ra_races"] = [{"id": "rac_1", "date": DAY, "region": "gb", "course_id": "crs_1",
                         "off_time": time(14, 30), "off_dt": OFF, "race_name": "Maiden Stakes",
                         "field_size": n + 1, "going": "Good", "tip": "Horse 0",
                         "stalls": "Inside", "is_big_race": False, "has_racecard": True,
                         "prize": Decimal("5400.00")}]
    unit["ra_runners"] = [{"race_id": "rac_1", "horse_id": f"hrs_{i}", "horse_name": f"Horse {i}",
                           "number": i + 1, "draw": i + 2, "jockey_id": f"jky_{i}",
                           "trainer_id": f"trn_{i}", "owner_id": f"own_{i}", "rpr": 80 + i,
                           "form": "1-23", "spotlight": "Should go well", "comment": "Solid",
                           "trainer_rtf": Decimal("33")} for i in range(n)]
    return unit


def result_unit(n: int = 3) -> dict[str, list[dict]]:
    unit = entities(n)
    unit["ra_races"] = [{"id": "rac_1", "date": DAY, "region": "gb", "course_id": "crs_1",
                         "off_dt": OFF, "race_name": "Maiden Stakes", "field_size": n,
                         "going": "Good To Soft", "has_result": True, "winning_time_detail": "1m 43.25s",
                         "comments": "Won readily", "tote_win": "£3.40"}]
    unit["ra_runners"] = [{"race_id": "rac_1", "horse_id": f"hrs_{i}", "horse_name": f"Horse {i}",
                           "jockey_id": f"jky_{i}", "trainer_id": f"trn_{i}", "owner_id": f"own_{i}",
                           "rpr": 90 + i, "position": i + 1, "position_raw": str(i + 1),
                           "btn": Decimal("0.5") * i, "sp": f"{i + 2}/1", "sp_dec": Decimal(i + 3),
                           "finishing_time": "1:43.25", "finishing_time_s": Decimal("103.25"),
                           "race_comment": "Led final furlong", "result_updated_at": RESULT_AT}
                          for i in range(n)]
    return unit


def expected_merge(racecard: dict, result: dict) -> dict:
    """The merge the contract promises: result values win, racecard values fill the gaps."""
    return {c: norm(v) for c, v in {**racecard, **result}.items()}


# --- idempotency --------------------------------------------------------------------------------
@all_stores
def test_second_write_of_the_same_unit_changes_nothing(store):
    unit = racecard_unit()
    store.write_unit(unit)
    before = checksum(store)
    counts = store.write_unit(unit)
    assert checksum(store) == before
    for table, c in counts.items():
        assert (c.inserted, c.updated, c.unchanged) == (0, 0, len(unit[table])), table


# --- the no-clobber merge, results win ----------------------------------------------------------
@all_stores
@pytest.mark.parametrize("order", ["card-result-card", "result-card-result-card"])
def test_every_column_of_both_sources_merges_with_results_winning(store, order):
    """Every column either source gives, including those BOTH give (going, field_size, rpr):
    whatever the order, the stored row is the result's values over the racecard's."""
    card, result = racecard_unit(), result_unit()
    units = {"c": card, "r": result}
    for step in order.split("-"):
        store.write_unit(units[step[0]])
    for table in ("ra_races", "ra_runners"):
        stored = read(store, table)
        assert len(stored) == len(card[table])
        for row, c_row, r_row in zip(stored, card[table], result[table]):
            expected = expected_merge(c_row, r_row)
            assert {c: row[c] for c in expected} == expected, table
            both = set(c_row) & set(r_row) - set(TABLES[table].key)
            assert both, table           # the case a merge can get wrong is really exercised
    race = read(store, "ra_races")[0]
    assert (race["going"], race["field_size"]) == ("Good To Soft", 3)
    assert [r["rpr"] for r in read(store, "ra_runners")] == [90, 91, 92]


@all_stores
def test_results_then_racecards_equals_racecards_then_results(store, tmp_path, request):
    card, result = racecard_unit(), result_unit()
    store.write_unit(card)
    store.write_unit(result)
    forward = everything(store)
    other = _open(store.kind, tmp_path / "other", request)
    try:
        other.write_unit(result)
        other.write_unit(card)
        backward = everything(other)
    finally:
        if other.db is not other:
            other.db.close()
        other.close()
    assert forward == backward
    race, runner = forward["ra_races"][0], forward["ra_runners"][0]
    assert race["tip"] == "Horse 0" and race["stalls"] == "Inside"     # racecard fills gaps
    assert runner["rpr"] == 90 and runner["form"] == "1-23" and runner["position"] == 1


@all_stores
def test_an_amended_result_lands(store):
    """A later fetch of the same source replaces its values (a stewards' change)."""
    store.write_unit(result_unit())
    amended = result_unit()
    amended["ra_runners"][0]["position"], amended["ra_runners"][1]["position"] = 2, 1
    store.write_unit(amended)
    assert [r["position"] for r in read(store, "ra_runners")][:2] == [2, 1]


@all_stores
def test_none_and_empty_never_overwrite(store):
    store.write_unit({"ra_mst_trainers": [{"id": "trn_1", "name": "A Trainer", "location": "Lambourn"}]})
    store.write_unit({"ra_mst_trainers": [{"id": "trn_1", "name": None, "location": ""}]})
    assert read(store, "ra_mst_trainers") == [{"id": "trn_1", "name": "A Trainer", "location": "Lambourn",
                                               OBSERVED: None}]


# --- newest observation wins, whatever the order -------------------------------------------------
# (observation, trainer location or None, dam region or None). Per-row observations: a column the
# newest row lacks is filled from an older one, so the data below gives each gap one older value
# (two older values disagreeing on a column the newest lacks would be filled in load order).
OBSERVATIONS = [
    ("2015-03-01T14:30|rac_a|r", None, "ire"),
    ("2023-02-01T15:00|rac_b|c", "Lambourn", None),
    ("2023-02-01T15:00|rac_b|r", None, None),
    ("2024-06-01T13:10|rac_c|c", "Newmarket", None),
]


def _observed_unit(seen: str, location, region) -> dict:
    trainer = {"id": "trn_o", "name": "T", OBSERVED: seen}
    dam = {"id": "dam_o", "name": "D", OBSERVED: seen}
    if location:
        trainer["location"] = location
    if region:
        dam["region"] = region
    return {"ra_mst_trainers": [trainer], "ra_mst_dams": [dam]}


@all_stores
def test_any_order_and_repetition_of_observations_gives_one_table(store):
    results = set()
    for order in itertools.islice(itertools.permutations(OBSERVATIONS), 0, 120, 7):
        _truncate_store(store)
        for seen, location, region in [*order, order[0]]:       # a repeat at the end, too
            store.write_unit(_observed_unit(seen, location, region))
        results.add(repr((read(store, "ra_mst_trainers"), read(store, "ra_mst_dams"))))
    assert len(results) == 1
    trainer, dam = read(store, "ra_mst_trainers")[0], read(store, "ra_mst_dams")[0]
    assert trainer["location"] == "Newmarket"           # the newest wins: Lambourn is older
    assert trainer[OBSERVED] == dam[OBSERVED] == OBSERVATIONS[-1][0]
    assert dam["region"] == "ire"                       # an older observation fills a gap


@all_stores
def test_observations_in_one_unit_merge_like_separate_writes(store):
    rows = [_observed_unit(*o) for o in reversed(OBSERVATIONS)]
    store.write_unit({t: [r for u in rows for r in u[t]] for t in rows[0]})
    assert read(store, "ra_mst_trainers")[0]["location"] == "Newmarket"
    assert read(store, "ra_mst_dams")[0]["region"] == "ire"


@all_stores
def test_a_profile_wins_over_a_later_runners_view(store):
    store.write_unit({"ra_mst_horses": [{"id": "hrs_p", "name": "P", "colour": "bay",
                                         "enriched_at": RESULT_AT, OBSERVED: "2024-01-01T12:00|r1|r"}]})
    store.write_unit({"ra_mst_horses": [{"id": "hrs_p", "name": "P", "colour": "brown",
                                         "breeder": "Juddmonte", OBSERVED: "2025-01-01T12:00|r2|c"}]})
    horse = read(store, "ra_mst_horses")[0]
    assert (horse["colour"], horse["breeder"]) == ("bay", "Juddmonte")     # gap filled, value kept
    assert horse[OBSERVED] == "2025-01-01T12:00|r2|c"


def _truncate_store(store) -> None:
    if store.kind == "sqlite":
        for table in reversed(ALL_TABLES):
            store.conn.execute(f"DELETE FROM {table}")
    else:
        _truncate(store.db.url)


# --- dedupe inside a batch ----------------------------------------------------------------------
@all_stores
def test_two_rows_with_one_key_in_a_batch_merge(store):
    counts = store.write_unit({"ra_mst_trainers": [
        {"id": "trn_9", "name": "Old Name"},
        {"id": "trn_9", "location": "Malton"},
        {"id": "trn_9", "name": "New Name"},
    ]})
    assert read(store, "ra_mst_trainers") == [{"id": "trn_9", "name": "New Name", "location": "Malton",
                                               OBSERVED: None}]
    assert counts["ra_mst_trainers"].total == 1


# --- the day's committed mark -------------------------------------------------------------------
@all_stores
def test_the_day_mark_is_written_with_the_rows_and_only_adds_sources(store):
    mark = DayMark(DAY, ("ire", "gb"), ("racecards",))
    store.write_unit(racecard_unit(), mark)
    store.write_unit(result_unit(), DayMark(DAY, ("gb", "ire"), ("results",)))
    store.write_unit({}, DayMark(DAY + timedelta(days=1), ("gb",), ("results",)))   # a blank day
    days = store.read("committed_days", start=DAY, end=DAY + timedelta(days=1))
    assert [(d["day"], d["regions"], bool(d["results_done"]), bool(d["racecards_done"]),
             d["races"], d["runners"]) for d in days] == [
        ("2024-05-01", "gb ire", True, True, 1, 3), ("2024-05-02", "gb", True, False, 0, 0)]


@all_stores
def test_a_refused_day_leaves_neither_rows_nor_mark(store):
    unit = racecard_unit(2)
    unit["ra_runners"].append({"race_id": "rac_missing", "horse_id": "hrs_0"})
    with pytest.raises(StoreError, match="ra_runners"):
        store.write_unit(unit, DayMark(DAY, ("gb",), ("racecards",)))
    for table in ALL_TABLES:
        assert store.db.query(f"SELECT count(*) FROM {table}")[0][0] == 0, table
    store.write_unit(racecard_unit(2))   # the store is still usable
    assert store.table_count("ra_runners") == 2


@pytest.mark.parametrize("store", ["postgres", "rest"], indirect=True)   # SQLite has no column types
def test_a_value_of_the_wrong_type_rolls_the_day_back_and_names_the_table(store):
    unit = racecard_unit(2)
    unit["ra_runners"][1]["number"] = "seven"
    with pytest.raises(StoreError, match="ra_runners") as info:
        store.write_unit(unit, DayMark(DAY, ("gb",), ("racecards",)))
    assert not info.value.critical
    assert store.db.query("SELECT count(*) FROM ra_mst_jockeys")[0][0] == 0


# --- foreign keys -------------------------------------------------------------------------------
@all_stores
def test_runner_may_reference_a_horse_of_the_same_unit(store):
    unit = racecard_unit(2)
    unit["ra_mst_horses"].append({"id": "hrs_new", "name": "Newcomer"})
    unit["ra_runners"].append({"race_id": "rac_1", "horse_id": "hrs_new", "number": 9})
    store.write_unit(unit)
    assert store.table_count("ra_runners") == 3


# --- typed round trips --------------------------------------------------------------------------
@all_stores
def test_typed_values_round_trip(store):
    nasty = "Robert'); DROP TABLE ra_runners;--"
    ts = datetime(2024, 5, 1, 15, 45, 30, 123000, tzinfo=timezone(timedelta(hours=-4)))
    unit = {
        "ra_mst_jockeys": [{"id": "jky_u", "name": "Ó Dubhghaill"}],
        "ra_mst_horses": [{"id": "hrs_u", "name": "Dáiríre", "dob": date(2019, 3, 4), "enriched_at": ts}],
        "ra_races": [{"id": "rac_u", "date": DAY, "off_time": time(16, 5), "off_dt": ts,
                      "distance_f": Decimal("10.5"), "prize": Decimal("12345.67"), "is_big_race": True,
                      "is_abandoned": False, "race_name": nasty}],
        "ra_runners": [{"race_id": "rac_u", "horse_id": "hrs_u", "jockey_id": "jky_u",
                        "comment": nasty, "btn": Decimal("0.05"), "sp_dec": Decimal("3.25"),
                        "weight_lbs": 133, "result_updated_at": ts}],
    }
    store.write_unit(unit)
    race = read(store, "ra_races")[0]
    assert race["race_name"] == nasty
    assert race["date"] == "2024-05-01" and race["off_time"] == "16:05:00"
    assert race["off_dt"] == "2024-05-01T19:45:30.123000+00:00"
    assert race["distance_f"] == Decimal("10.5") and race["prize"] == Decimal("12345.67")
    assert race["is_big_race"] == 1 and race["is_abandoned"] == 0
    assert read(store, "ra_mst_jockeys")[0]["name"] == "Ó Dubhghaill"
    horse = read(store, "ra_mst_horses")[0]
    assert horse["name"] == "Dáiríre" and horse["dob"] == "2019-03-04"
    runner = read(store, "ra_runners")[0]
    assert runner["comment"] == nasty and runner["weight_lbs"] == 133
    assert runner["btn"] == Decimal("0.05") and runner["sp_dec"] == Decimal("3.25")
    assert runner["result_updated_at"] == "2024-05-01T19:45:30.123000+00:00"
    assert store.table_count("ra_runners") == 1   # the table survived the SQL-looking text
    store.write_unit(unit)
    assert read(store, "ra_runners")[0] == runner
    assert store.write_unit(unit)["ra_runners"].unchanged == 1


# --- audit columns ------------------------------------------------------------------------------
def _audit(store, table="ra_mst_trainers"):
    return store.db.query(f"SELECT id, CAST(created_at AS TEXT), CAST(updated_at AS TEXT) FROM {table} "
                          f"ORDER BY id")


@all_stores
def test_created_at_kept_and_updated_at_moves_only_on_change(store):
    store.write_unit({"ra_mst_trainers": [{"id": "trn_1", "name": "A"}, {"id": "trn_2", "name": "B"}]})
    first = _audit(store)
    threading.Event().wait(0.02)
    store.write_unit({"ra_mst_trainers": [{"id": "trn_1", "name": "A"}, {"id": "trn_2", "name": "B"}]})
    assert _audit(store) == first
    threading.Event().wait(0.02)
    store.write_unit({"ra_mst_trainers": [{"id": "trn_1", "name": "A"}, {"id": "trn_2", "name": "B2"}]})
    (id1, c1, u1), (id2, c2, u2) = _audit(store)
    assert (id1, c1, u1) == first[0]
    assert c2 == first[1][1] and u2 > first[1][2]


# --- counts -------------------------------------------------------------------------------------
@all_stores
def test_inserted_updated_unchanged_counts(store):
    c = store.write_unit({"ra_mst_owners": [{"id": "own_1", "name": "A"}, {"id": "own_2", "name": "B"},
                                            {"id": "own_3", "name": "C"}]})["ra_mst_owners"]
    assert (c.inserted, c.updated, c.unchanged) == (3, 0, 0)
    c = store.write_unit({"ra_mst_owners": [{"id": "own_1", "name": "A"}, {"id": "own_2", "name": "B2"},
                                            {"id": "own_3"}, {"id": "own_4", "name": "D"}]})["ra_mst_owners"]
    assert (c.inserted, c.updated, c.unchanged) == (1, 1, 2)
    runners = racecard_unit(3)
    assert store.write_unit(runners)["ra_runners"].inserted == 3
    result = result_unit(3)
    c = store.write_unit(result)["ra_runners"]
    assert (c.inserted, c.updated, c.unchanged) == (0, 3, 0)


# --- a connection lost inside the write call ---------------------------------------------------
def _blocked_write(store, lock_url: str, kill) -> BaseException | None:
    """Start a day's write while another session holds ra_runners locked, so the call is stuck
    inside the function after writing the masters; then ``kill()`` its connection and release."""
    import psycopg

    outcome: list = []
    with psycopg.connect(lock_url) as locker:
        locker.execute("LOCK TABLE ra_runners IN ACCESS EXCLUSIVE MODE")
        worker = threading.Thread(target=lambda: outcome.append(_try(
            lambda: store.write_unit(racecard_unit(50), DayMark(DAY, ("gb",), ("racecards",))))))
        worker.start()
        pid = _wait_for_lock_waiter(lock_url)
        kill(pid)
        locker.rollback()
    worker.join(30)
    return outcome[0]


def _try(fn):
    try:
        fn()
        return None
    except BaseException as exc:  # noqa: BLE001 - handed to the test
        return exc


def _wait_for_lock_waiter(lock_url: str) -> int:
    import psycopg

    with psycopg.connect(lock_url, autocommit=True) as conn:
        return _poll_lock_waiter(conn)


def _poll_lock_waiter(conn) -> int:
    for _ in range(500):
        row = conn.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                           "AND datname = current_database() AND pid <> pg_backend_pid()").fetchone()
        if row:
            return row[0]
        threading.Event().wait(0.01)
    raise AssertionError("the write never blocked on the lock")


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_postgres_connection_killed_inside_the_call_leaves_nothing(store, migrated_pg):
    import psycopg

    error = _blocked_write(store, migrated_pg, terminate_backend)
    assert isinstance(error, StoreConnectionError) and "lost" in str(error)
    with psycopg.connect(migrated_pg) as check:
        for table in ALL_TABLES:
            assert check.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


@pytest.mark.parametrize("store", ["rest"], indirect=True)
def test_rest_connection_killed_inside_the_call_leaves_nothing_then_the_retry_lands(store):
    store.fake.stall_next(0)
    error = _blocked_write(store, store.fake.database_url, terminate_backend)
    assert error is None                              # the 503 was retried and the day written
    statuses = [r.status for r in store.fake.calls("ra_apply_day")]
    assert statuses == [503, 200]
    assert store.table_count("ra_runners") == 50       # once, whole
    assert store.read("committed_days", start=DAY, end=DAY)[0]["runners"] == 50


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_sqlite_exception_mid_unit_rolls_everything_back(store, monkeypatch):
    from utils.stores.sqlite import SqliteStore

    original = SqliteStore._upsert

    def boom(self, table, rows, **kw):
        if table.name == "ra_races":
            raise RuntimeError("injected")
        return original(self, table, rows, **kw)

    monkeypatch.setattr(SqliteStore, "_upsert", boom)
    with pytest.raises(RuntimeError, match="injected"):
        store.write_unit(racecard_unit(), DayMark(DAY, ("gb",), ("racecards",)))
    monkeypatch.undo()
    for table in ALL_TABLES:
        assert store.db.query(f"SELECT count(*) FROM {table}")[0][0] == 0, table
    store.write_unit(racecard_unit())
    assert store.table_count("ra_runners") == 3


def test_refused_postgres_connection_is_typed_and_password_free():
    from utils.stores.postgres import PostgresStore

    with pytest.raises(StoreConnectionError) as info:
        PostgresStore("postgresql://postgres:Sup3rSecretPw@127.0.0.1:1/nowhere")
    assert "Sup3rSecretPw" not in str(info.value)
    assert "postgres:****@127.0.0.1:1/nowhere" in str(info.value)


# --- REST specifics -----------------------------------------------------------------------------
def _rest(fake, **kw):
    from utils.stores.rest import SupabaseReferenceClient

    options = dict(attempts=3, wait_initial=0.01, wait_max=0.02, timeout=1.0)
    options.update(kw)
    return SupabaseReferenceClient(fake.url, options.pop("key", DEFAULT_KEY), **options)


@pytest.fixture
def fake(rest_fake):
    _truncate(rest_fake.database_url)
    rest_fake.reset()
    return rest_fake


def test_rest_writes_a_day_in_one_request_with_named_arguments(fake):
    with _rest(fake) as store:
        store.write_unit(result_unit(40), DayMark(DAY, ("gb", "ire"), ("results",)))
    (call,) = fake.requests
    assert (call.method, call.path, call.status) == ("POST", "/rest/v1/rpc/ra_apply_day", 200)
    assert set(call.body) == {"p_unit", "p_day", "p_regions", "p_sources"}
    assert call.body["p_day"] == "2024-05-01" and call.body["p_sources"] == ["results"]
    assert len(call.body["p_unit"]["ra_runners"]) == 40


def test_rest_day_too_large_for_one_body_goes_in_parts_and_one_final_call(fake):
    unit, mark = result_unit(60), DayMark(DAY, ("gb",), ("results",))
    with _rest(fake) as store:
        store.write_unit(unit, mark)
        whole = len(json.dumps(fake.requests[0].body))
        _truncate(fake.database_url)
        fake.reset()
        fake.max_body = whole // 3
        counts = store.write_unit(unit, mark)
        functions = [(r.function, r.status) for r in fake.requests]
        assert functions[0] == ("ra_apply_day", 413)
        assert functions[-1] == ("ra_apply_parts", 200)
        staged = [f for f in functions if f[0] == "ra_stage_part"]
        assert len(staged) >= 3 and all(status in (200, 413) for _, status in staged)
        assert counts["ra_runners"].inserted == 60
        assert store.table_count("ra_runners") == 60
        assert store.read("committed_days", start=DAY, end=DAY)[0]["runners"] == 60
    from utils.stores.postgres import PostgresStore

    with PostgresStore(fake.database_url) as direct:
        assert direct.query("SELECT count(*) FROM ra_apply_parts")[0][0] == 0   # nothing left
        stored = direct.query("SELECT horse_id, position, sp FROM ra_runners ORDER BY horse_id")
    assert stored == [(r["horse_id"], r["position"], r["sp"])
                      for r in sorted(unit["ra_runners"], key=lambda r: r["horse_id"])]


def test_rest_retries_5xx_and_timeouts_then_succeeds(fake):
    with _rest(fake, attempts=4, timeout=0.5) as store:
        fake.fail_next(2, 503)
        store.write_unit({"ra_mst_jockeys": [{"id": "j1", "name": "A"}]})
        assert [r.status for r in fake.requests] == [503, 503, 200]
        fake.stall_next(1, 1.5)
        store.write_unit({"ra_mst_jockeys": [{"id": "j2", "name": "B"}]})
        stalled, retried = fake.requests[3], fake.requests[4]
        assert stalled.body == retried.body and retried.status == 200   # the timed-out call was re-sent
        assert len(fake.requests) == 5
        assert store.table_count("ra_mst_jockeys") == 2


def test_rest_gives_up_with_a_connection_error(fake):
    with _rest(fake, attempts=3) as store:
        fake.fail_next(5, 502)
        with pytest.raises(StoreConnectionError, match="gave up"):
            store.write_unit({"ra_mst_jockeys": [{"id": "j1", "name": "A"}]})
    assert [r.status for r in fake.requests] == [502, 502, 502]


def test_rest_wrong_key_is_an_auth_error_without_the_key(fake):
    secret = "sb_secret_WRONG-key-987654321"
    with _rest(fake, key=secret) as store:
        with pytest.raises(StoreAuthError) as info:
            store.write_unit({"ra_mst_jockeys": [{"id": "j1", "name": "A"}]})
    assert secret not in str(info.value)
    assert len([r for r in fake.requests if r.status == 401]) == 1   # never retried


def test_rest_reads_are_functions_and_sql_is_refused(fake):
    with _rest(fake) as store:
        store.write_unit(result_unit(3))
        assert store.table_count("ra_runners") == 3
        assert fake.requests[-1].path == "/rest/v1/rpc/ra_table_counts"
        with pytest.raises(ConfigError, match="not available over the Supabase REST API"):
            store.query("SELECT * FROM ra_runners")


def test_rest_cannot_migrate_and_says_how(fake):
    with _rest(fake) as store:
        store.check_schema()                                   # migrated: no error, no DDL asked
        assert store.apply_migrations() == []


def test_rest_schema_behind_when_the_function_is_missing(tmp_path):
    name = create_database("dh_rest_empty")
    try:
        with PostgrestFake(server_url(name)) as empty, _rest(empty) as store:
            with pytest.raises(SchemaOutOfDateError, match="supabase db push"):
                store.check_schema()
            with pytest.raises(SchemaOutOfDateError, match="schema is behind"):
                store.write_unit({"ra_mst_jockeys": [{"id": "j1", "name": "A"}]})
            with pytest.raises(ConfigError, match="supabase db push"):
                store.apply_migrations()
            assert empty.requests[-1].status == 404
    finally:
        drop_database(name)


def test_fake_is_faithful_to_postgrest_errors(fake):
    import httpx

    headers = {"apikey": fake.key, "Authorization": f"Bearer {fake.key}"}
    missing = httpx.post(f"{fake.url}/rest/v1/rpc/ra_no_such_function", json={}, headers=headers)
    assert missing.status_code == 404 and missing.json()["code"] == "PGRST202"
    assert httpx.post(f"{fake.url}/rest/v1/rpc/ra_apply_day", json={"p_unit": {}}).status_code == 401
    bad = httpx.post(f"{fake.url}/rest/v1/rpc/ra_apply_day", headers=headers,
                     json={"p_unit": {"ra_runners": [{"race_id": "x", "horse_id": "y", "number": "z"}]}})
    assert bad.status_code == 400 and bad.json()["code"] == "22P02"
    assert "ra_runners" in bad.json()["message"]
