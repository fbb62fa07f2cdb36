"""Any order, any repetition and any split of the same days gives the same tables, on all three
stores, and those tables are the simulator's ground truth (timestamps aside).

The days' write units are built once from real simulator payloads (fetched over HTTP, transformed
by the production code); hypothesis then writes them in random orders, with repeats, each day
either whole or split into its racecard and result parts in either order. After every example the
database must equal ``expected_tables`` of the ground truth, row by row and column by column.
"""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from helpers import (
    FIXED_TODAY,
    SIM_PASSWORD,
    SIM_USER,
    assert_matches_truth,
    create_database,
    drop_database,
    expected_tables,
    ground_truth,
    make_client,
)
from postgrest_fake import DEFAULT_KEY, PostgrestFake
from utils.pipeline.events import DayData, build_write_unit
from utils.schema import BACKFILL_DAYS, WRITE_ORDER
from utils.simulator.server import RacingAPISimulator, SimulatorConfig
from utils.stores.base import DayMark

REGIONS = ("gb", "ire")
START = date(2024, 11, 28)           # racecard era: both sources every day
SHORT_DAYS = 5
LONG_DAYS = 40
FETCHED = datetime(2024, 12, 31, tzinfo=UTC)
SPLITS = ("whole", "racecards_then_results", "results_then_racecards")


@pytest.fixture(scope="module")
def day_parts():
    """{day: {"whole"|"results"|"racecards": unit}} for LONG_DAYS days, and the ground truth."""
    sim = RacingAPISimulator(SimulatorConfig(seed=42, username=SIM_USER, password=SIM_PASSWORD,
                                             rate_limits=False)).start()
    sim.today = FIXED_TODAY
    try:
        client = make_client(sim)
        parts = {}
        for offset in range(LONG_DAYS):
            day = START + timedelta(days=offset)
            results = client.results(day, list(REGIONS))
            cards = client.racecards_pro(day, list(REGIONS))
            parts[day] = {
                "whole": build_write_unit(DayData(day, results, cards, ("results", "racecards")), FETCHED),
                "results": build_write_unit(DayData(day, results=results, sources=("results",)), FETCHED),
                "racecards": build_write_unit(DayData(day, racecards=cards, sources=("racecards",)), FETCHED),
            }
        truths = {n: expected_tables(ground_truth(sim, START, START + timedelta(days=n - 1),
                                                  today=FIXED_TODAY, regions=REGIONS))
                  for n in (SHORT_DAYS, LONG_DAYS)}
    finally:
        sim.stop()
    return parts, truths


def _writes(day: date, split: str):
    if split == "whole":
        return [("whole", ("results", "racecards"))]
    first, second = split.split("_then_")
    return [(first, (first,)), (second, (second,))]


def write_days(store, parts, order: list[tuple[date, str]]) -> None:
    for day, split in order:
        for part, sources in _writes(day, split):
            store.write_unit(parts[day][part], DayMark(day, REGIONS, sources))


# --- the stores, emptied between examples --------------------------------------------------------
@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    from utils.stores.postgres import PostgresStore
    from utils.stores.rest import SupabaseReferenceClient
    from utils.stores.sqlite import SqliteStore

    pg_url, rest_url = create_database("dh_order"), create_database("dh_order_rest")
    for url in (pg_url, rest_url):
        with PostgresStore(url) as store:
            store.apply_migrations()
    sqlite = SqliteStore(tmp_path_factory.mktemp("order") / "order.db")
    sqlite.apply_migrations()
    fake = PostgrestFake(rest_url).start()
    rest = SupabaseReferenceClient(fake.url, DEFAULT_KEY, timeout=30)
    pg, rest_reader = PostgresStore(pg_url), PostgresStore(rest_url)
    rest.query = rest_reader.query          # read the tables back directly for the comparison
    rest.reader = rest_reader
    yield {"sqlite": sqlite, "postgres": pg, "rest": rest}
    for store in (sqlite, pg, rest, rest_reader):
        store.close()
    fake.stop()
    drop_database(pg_url)
    drop_database(rest_url)


def empty(store) -> None:
    tables = (*WRITE_ORDER, BACKFILL_DAYS.name)
    if store.kind == "sqlite":
        with store._transaction("empty"):
            for table in reversed(tables):
                store.conn.execute(f"DELETE FROM {table}")
    else:
        direct = store if store.kind == "postgres" else store.reader
        direct.conn.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")


orders = st.builds(
    lambda perm, repeats, splits: [(d, splits[i % len(splits)]) for i, d in enumerate(perm + repeats)],
    st.permutations(range(SHORT_DAYS)),
    st.lists(st.integers(0, SHORT_DAYS - 1), max_size=3),
    st.lists(st.sampled_from(SPLITS), min_size=1, max_size=8),
)


@pytest.mark.parametrize("kind,examples", [("sqlite", 25), ("postgres", 10), ("rest", 8)])
def test_random_orders_repeats_and_splits_give_the_ground_truth(kind, examples, day_parts, stores):
    parts, truths = day_parts
    store = stores[kind]
    days = sorted(parts)[:SHORT_DAYS]

    @settings(max_examples=examples, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(orders)
    def check(order):
        empty(store)
        write_days(store, parts, [(days[i], split) for i, split in order])
        assert_matches_truth(store, truths[SHORT_DAYS])
        committed = store.read("committed_days", start=days[0], end=days[-1])
        assert {(d["day"], bool(d["results_done"]), bool(d["racecards_done"])) for d in committed} == \
            {(d.isoformat(), True, True) for d in days}

    check()


def test_a_long_shuffled_run_with_repeats_gives_the_ground_truth(day_parts, stores):
    parts, truths = day_parts
    store = stores["sqlite"]
    rng = random.Random(20261201)
    days = sorted(parts)
    order = [(d, rng.choice(SPLITS)) for d in days] + [(rng.choice(days), "whole") for _ in range(10)]
    rng.shuffle(order)
    empty(store)
    write_days(store, parts, order)
    comparison = assert_matches_truth(store, truths[LONG_DAYS])
    assert comparison.compared > 10_000          # a long run: tens of thousands of rows
