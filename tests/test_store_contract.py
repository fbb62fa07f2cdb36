"""One contract, every store: SqliteStore (temp file), PostgresStore (a fresh database on the local
server) and, where REST can honour it, SupabaseReferenceClient against the local PostgREST fake.

What REST cannot honour, and is therefore not asked of it here (see utils/supabase_client.py):
one transaction per unit (FK failure / dropped connection atomicity), insert/update counts,
``updated_at`` only moving on change (the trigger fires on every PostgREST upsert), and — depending
on the implementation's documented choice — "results win whatever the order".
"""
from __future__ import annotations

import hashlib
import threading
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from pg_databases import postgres_session_db, server_url, terminate_backend  # noqa: F401 (fixture)
from postgrest_fake import DEFAULT_KEY, PostgrestFake
from utils.errors import ConfigError, StoreAuthError, StoreConnectionError, StoreError
from utils.schema import TABLES, WRITE_ORDER

SQL_KINDS = ["sqlite", "postgres"]
ALL_KINDS = ["sqlite", "postgres", "rest"]
UTC = timezone.utc


# --- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rest_fake():
    fake = PostgrestFake().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def migrated_pg(postgres_session_db):  # noqa: F811
    from utils.stores.postgres_store import PostgresStore

    with PostgresStore(postgres_session_db) as store:
        store.apply_migrations()
    return postgres_session_db


def _open(kind, tmp_path, request):
    if kind == "sqlite":
        from utils.stores.sqlite_store import SqliteStore

        store = SqliteStore(tmp_path / "contract.db")
        store.apply_migrations()
        return store
    if kind == "postgres":
        from utils.stores.postgres_store import PostgresStore

        store = PostgresStore(request.getfixturevalue("migrated_pg"))
        store.query("SELECT 1")
        with store.conn.transaction():
            store.conn.execute("TRUNCATE " + ", ".join(WRITE_ORDER) + " CASCADE")
        return store
    from utils.supabase_client import SupabaseReferenceClient

    fake = request.getfixturevalue("rest_fake")
    fake.reset()
    store = SupabaseReferenceClient(fake.url, DEFAULT_KEY, attempts=3, wait_initial=0.01,
                                    wait_max=0.02, timeout=2.0)
    store.fake = fake
    return store


@pytest.fixture
def store(request, tmp_path):
    s = _open(request.param, tmp_path, request)
    yield s
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
    t = TABLES[table]
    if store.kind == "supabase_rest":
        return [{c: norm(v) for c, v in row.items()} for row in store.fake.rows(table)]
    cols = t.all_columns if audit else t.data_columns
    rows = store.query(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(t.key)}")
    return [{c: (v if c in ("created_at", "updated_at") else norm(v)) for c, v in zip(cols, r)}
            for r in rows]


def everything(store) -> dict[str, list[dict]]:
    return {t: read(store, t) for t in WRITE_ORDER}


def checksum(store, audit: bool = True) -> str:
    if store.kind == "supabase_rest":
        audit = False
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
    return {**racecard, **result}


# --- idempotency --------------------------------------------------------------------------------
@all_stores
def test_second_write_of_the_same_unit_changes_nothing(store):
    unit = racecard_unit()
    store.write_unit(unit)
    before = checksum(store)
    counts = store.write_unit(unit)
    assert checksum(store) == before
    if store.kind == "supabase_rest":
        assert all(c.unknown == len(unit[t]) for t, c in counts.items())
    else:
        for table, c in counts.items():
            assert (c.inserted, c.updated, c.unchanged) == (0, 0, len(unit[table])), table


# --- the no-clobber merge -----------------------------------------------------------------------
@all_stores
def test_racecard_result_racecard_keeps_every_field_of_both(store):
    card, result = racecard_unit(), result_unit()
    store.write_unit(card)
    store.write_unit(result)
    store.write_unit(card)
    for table in ("ra_races", "ra_runners"):
        stored = read(store, table)
        assert len(stored) == len(card[table])
        for row, c_row, r_row in zip(stored, card[table], result[table]):
            for col in set(c_row) | set(r_row):
                assert row[col] is not None, f"{table}.{col} lost"
            only_card = set(c_row) - set(r_row)
            only_result = set(r_row) - set(c_row)
            assert {c: row[c] for c in only_card} == {c: norm(c_row[c]) for c in only_card}
            assert {c: row[c] for c in only_result} == {c: norm(r_row[c]) for c in only_result}
    assert read(store, "ra_races")[0]["has_result"] == 1
    assert read(store, "ra_races")[0]["has_racecard"] == 1


@pytest.mark.parametrize("store", SQL_KINDS, indirect=True)
def test_results_then_racecards_equals_racecards_then_results(store, tmp_path, request):
    card, result = racecard_unit(), result_unit()
    store.write_unit(card)
    store.write_unit(result)
    forward = everything(store)
    other = _open(store.kind, tmp_path / "other", request) if store.kind == "sqlite" else store
    if other is store:   # PostgreSQL: same database, start over
        with store.conn.transaction():
            store.conn.execute("TRUNCATE " + ", ".join(WRITE_ORDER) + " CASCADE")
    try:
        other.write_unit(result)
        other.write_unit(card)
        backward = everything(other)
    finally:
        if other is not store:
            other.close()
    assert forward == backward
    race, runner = forward["ra_races"][0], forward["ra_runners"][0]
    assert race["field_size"] == 3 and race["going"] == "Good To Soft"   # result wins conflicts
    assert race["tip"] == "Horse 0" and race["stalls"] == "Inside"     # racecard fills gaps
    assert runner["rpr"] == 90 and runner["form"] == "1-23" and runner["position"] == 1
    assert [r["rpr"] for r in forward["ra_runners"]] == [90, 91, 92]


@all_stores
def test_none_and_empty_never_overwrite(store):
    store.write_unit({"ra_mst_trainers": [{"id": "trn_1", "name": "A Trainer", "location": "Lambourn"}]})
    store.write_unit({"ra_mst_trainers": [{"id": "trn_1", "name": None, "location": ""}]})
    assert read(store, "ra_mst_trainers") == [{"id": "trn_1", "name": "A Trainer", "location": "Lambourn"}]


# --- dedupe inside a batch ----------------------------------------------------------------------
@all_stores
def test_two_rows_with_one_key_in_a_batch_merge(store):
    counts = store.write_unit({"ra_mst_trainers": [
        {"id": "trn_9", "name": "Old Name"},
        {"id": "trn_9", "location": "Malton"},
        {"id": "trn_9", "name": "New Name"},
    ]})
    assert read(store, "ra_mst_trainers") == [{"id": "trn_9", "name": "New Name", "location": "Malton"}]
    assert counts["ra_mst_trainers"].total == 1
    if store.kind == "supabase_rest":
        for req in store.fake.posts("ra_mst_trainers"):
            ids = [r["id"] for r in req.body]
            assert len(ids) == len(set(ids))


# --- foreign keys and atomicity -----------------------------------------------------------------
@sql_stores
def test_runner_may_reference_a_horse_of_the_same_unit(store):
    unit = racecard_unit(2)
    unit["ra_mst_horses"].append({"id": "hrs_new", "name": "Newcomer"})
    unit["ra_runners"].append({"race_id": "rac_1", "horse_id": "hrs_new", "number": 9})
    store.write_unit(unit)
    assert store.table_count("ra_runners") == 3


@sql_stores
def test_runner_of_a_missing_race_fails_the_whole_unit(store):
    unit = racecard_unit(2)
    unit["ra_runners"].append({"race_id": "rac_missing", "horse_id": "hrs_0"})
    with pytest.raises(StoreError):
        store.write_unit(unit)
    for table in WRITE_ORDER:
        assert store.table_count(table) == 0, table
    store.write_unit(racecard_unit(2))   # the store is still usable
    assert store.table_count("ra_runners") == 2


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
    if store.kind != "supabase_rest":
        assert store.table_count("ra_runners") == 1   # the table survived the SQL-looking text
        raw = store.query("SELECT is_big_race, prize FROM ra_races")[0]
        if store.kind == "postgres":
            assert raw == (True, Decimal("12345.67"))
    store.write_unit(unit)
    assert read(store, "ra_runners")[0] == runner
    if store.kind != "supabase_rest":
        assert store.write_unit(unit)["ra_runners"].unchanged == 1


# --- audit columns ------------------------------------------------------------------------------
def _audit(store, table="ra_mst_trainers"):
    return store.query(f"SELECT id, CAST(created_at AS TEXT), CAST(updated_at AS TEXT) FROM {table} "
                       f"ORDER BY id")


@sql_stores
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
@sql_stores
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


# --- failures mid-unit --------------------------------------------------------------------------
@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_postgres_connection_killed_mid_unit_leaves_nothing(store, migrated_pg):
    import psycopg

    pid = store.conn.info.backend_pid
    killed = []

    def kill_after(table):
        if table == "ra_mst_horses":
            killed.append(terminate_backend(pid))

    store.after_table = kill_after
    with pytest.raises(StoreConnectionError) as info:
        store.write_unit(racecard_unit(50))
    assert killed == [True]
    assert "nothing" in str(info.value) or "lost" in str(info.value)
    with psycopg.connect(migrated_pg) as check:
        for table in WRITE_ORDER:
            assert check.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_sqlite_exception_mid_unit_rolls_everything_back(store):
    def boom(table):
        if table == "ra_races":
            raise RuntimeError("injected")

    store.after_table = boom
    with pytest.raises(RuntimeError, match="injected"):
        store.write_unit(racecard_unit())
    store.after_table = None
    for table in WRITE_ORDER:
        assert store.table_count(table) == 0, table
    store.write_unit(racecard_unit())
    assert store.table_count("ra_runners") == 3


def test_refused_postgres_connection_is_typed_and_password_free():
    from utils.stores.postgres_store import PostgresStore

    with pytest.raises(StoreConnectionError) as info:
        PostgresStore("postgresql://postgres:Sup3rSecretPw@127.0.0.1:1/nowhere")
    assert "Sup3rSecretPw" not in str(info.value)
    assert "****" in str(info.value) or "127.0.0.1" in str(info.value)


# --- REST specifics -----------------------------------------------------------------------------
def _rest(fake, **kw):
    from utils.supabase_client import SupabaseReferenceClient

    options = dict(attempts=3, wait_initial=0.01, wait_max=0.02, timeout=1.0)
    options.update(kw)
    return SupabaseReferenceClient(fake.url, kw.pop("key", DEFAULT_KEY),
                                   **{k: v for k, v in options.items() if k != "key"})


@pytest.fixture
def fake(rest_fake):
    rest_fake.reset()
    return rest_fake


def test_rest_never_names_a_column_a_row_lacks(fake):
    with _rest(fake) as store:
        store.write_unit(racecard_unit())
        store.write_unit(result_unit())
    assert fake.posts("ra_runners")
    for req in fake.posts():
        named = set(req.params["columns"].replace('"', "").split(","))
        for row in req.body:
            assert set(row) == named, (req.table, sorted(named ^ set(row)))
        assert "missing=default" in req.headers["prefer"]
        assert "return=minimal" in req.headers["prefer"]
        assert req.params["on_conflict"] == ",".join(TABLES[req.table].key)


def test_rest_batches_are_at_most_batch_size(fake):
    with _rest(fake, batch_size=7) as store:
        store.write_unit({"ra_mst_owners": [{"id": f"own_{i:03}", "name": f"O{i}"} for i in range(30)]})
    sizes = [len(r.body) for r in fake.posts("ra_mst_owners")]
    assert sizes == [7, 7, 7, 7, 2]
    assert len(fake.rows("ra_mst_owners")) == 30


def test_rest_retries_5xx_and_timeouts_then_succeeds(fake):
    with _rest(fake, attempts=4, timeout=0.5) as store:
        fake.fail_next(2, 503)
        store.write_unit({"ra_mst_jockeys": [{"id": "jky_1", "name": "J"}]})
        assert [r.status for r in fake.posts()][-3:] == [503, 503, 201]
        fake.stall_next(1, 1.5)
        store.write_unit({"ra_mst_jockeys": [{"id": "jky_2", "name": "K"}]})
    assert len(fake.rows("ra_mst_jockeys")) == 2


def test_rest_gives_up_with_a_connection_error(fake):
    with _rest(fake, attempts=2) as store:
        fake.fail_next(5, 502)
        with pytest.raises(StoreConnectionError):
            store.write_unit({"ra_mst_jockeys": [{"id": "jky_1", "name": "J"}]})
    assert fake.rows("ra_mst_jockeys") == []


def test_rest_wrong_key_is_an_auth_error_without_the_key(fake):
    secret = "sb_secret_WRONG-KEY-do-not-print-0001"
    with _rest(fake, key=secret) as store:
        with pytest.raises(StoreAuthError) as info:
            store.write_unit({"ra_mst_jockeys": [{"id": "jky_1", "name": "J"}]})
    assert secret not in str(info.value) and DEFAULT_KEY not in str(info.value)
    assert len([r for r in fake.requests if r.status == 401]) == 1   # never retried


def test_rest_counts_tables_and_refuses_sql(fake):
    with _rest(fake) as store:
        store.write_unit(racecard_unit())
        assert store.table_count("ra_runners") == 3
        assert fake.requests[-1].method == "HEAD"
        with pytest.raises(StoreError):
            store.query("SELECT * FROM ra_runners WHERE rpr > ?", (80,))


def test_rest_cannot_migrate_and_says_how(fake):
    from utils.migrations import check_schema

    fake.with_migrations_table = False
    try:
        with _rest(fake) as store:
            assert store.applied_migrations() == set()
            with pytest.raises(Exception) as info:
                check_schema(store)
            assert "supabase db push" in str(info.value)
            with pytest.raises(ConfigError, match="supabase db push"):
                store.run_migration("x", "CREATE TABLE x ()")
    finally:
        fake.with_migrations_table = True


def test_fake_rejects_a_batch_holding_one_key_twice(fake):
    """The fake behaves like PostgreSQL here, so the dedupe test above can fail."""
    import httpx

    r = httpx.post(f"{fake.url}/rest/v1/ra_mst_jockeys", params={"on_conflict": "id", "columns": '"id","name"'},
                   headers={"apikey": DEFAULT_KEY, "Authorization": f"Bearer {DEFAULT_KEY}",
                            "Prefer": "return=minimal,resolution=merge-duplicates,missing=default"},
                   json=[{"id": "a", "name": "x"}, {"id": "a", "name": "y"}])
    assert r.status_code == 500 and r.json()["code"] == "21000"
    assert fake.rows("ra_mst_jockeys") == []
