"""Fixtures for the store, migration and REST tests (loaded with ``pytest_plugins``).

Why a private PostgreSQL database per test session: several engineers' suites run at once against
the one local server, so a fixed database name would collide. ``pg_server`` skips loudly when the
server is unreachable, and fails instead when ``REQUIRE_POSTGRES=1`` (CI).
``StoreHarness`` gives every store the same read-back view, so one suite covers SQLite,
PostgreSQL and the REST store (against ``tests/fake_postgrest.py``).
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from fake_postgrest import FakePostgrest
from utils.schema import TABLES, WRITE_ORDER

PG_SERVER = os.environ.get("DH_TEST_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")
REST_KEY = "sb_secret_test_key_0123456789"
STORE_KINDS = ("sqlite", "postgres", "rest")


def pg_url(database: str) -> str:
    return f"{PG_SERVER}/{database}"


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The server URL (no database), or a loud skip / failure when it cannot be reached."""
    try:
        psycopg.connect(pg_url("postgres"), connect_timeout=3).close()
    except psycopg.Error as exc:
        reason = f"PostgreSQL not reachable at {PG_SERVER} ({str(exc).strip().splitlines()[0]})"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(f"SKIPPING POSTGRESQL TESTS: {reason}")
    return PG_SERVER


def create_database(prefix: str = "dh_test") -> str:
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                     (name,))
        conn.execute(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture(scope="session")
def pg_database(pg_server):
    """A migrated database private to this session, dropped at the end."""
    from utils.stores.postgres_store import PostgresStore

    name = create_database()
    with PostgresStore(pg_url(name)) as store:
        store.apply_migrations()
    yield pg_url(name)
    drop_database(name)


@pytest.fixture
def empty_pg_database(pg_server):
    """A fresh, unmigrated database for migration tests."""
    name = create_database("dh_mig")
    yield pg_url(name)
    drop_database(name)


def _truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(WRITE_ORDER)} CASCADE")


# --- one read-back view over every store ----------------------------------------------------------
def normalise(kind: str, value: Any) -> Any:
    """A stored value as the Python value it stands for (SQLite/REST hold text and numbers)."""
    if value is None:
        return None
    return {
        "text": str, "int": int, "bool": bool,
        "num": lambda v: Decimal(str(v)),
        "date": lambda v: v if isinstance(v, date) else date.fromisoformat(v),
        "time": lambda v: v if isinstance(v, time) else time.fromisoformat(v),
        "ts": lambda v: v if isinstance(v, datetime) else datetime.fromisoformat(v),
    }[kind](value)


@dataclass
class StoreHarness:
    kind: str
    store: Any
    fake: FakePostgrest | None = None

    @property
    def transactional(self) -> bool:
        return self.kind != "rest"

    def raw_rows(self, table: str, columns: list[str]) -> list[dict]:
        if self.fake:
            return [{c: r.get(c) for c in columns} for r in self.fake.rows(table)]
        rows = self.store.query(f"SELECT {', '.join(columns)} FROM {table}")
        return [dict(zip(columns, r)) for r in rows]

    def rows(self, table: str) -> dict[tuple, dict]:
        """Every stored row by key, data columns only, values normalised, NULLs dropped."""
        spec = TABLES[table]
        result = {}
        for row in self.raw_rows(table, list(spec.columns)):
            clean = {c: normalise(spec.columns[c], v) for c, v in row.items() if v is not None}
            result[tuple(clean[k] for k in spec.key)] = clean
        return result

    def audit(self, table: str) -> dict[tuple, tuple]:
        spec = TABLES[table]
        cols = [*spec.key, "created_at", "updated_at"]
        return {tuple(r[k] for k in spec.key): (str(r["created_at"]), str(r["updated_at"]))
                for r in self.raw_rows(table, cols)}

    def snapshot(self) -> dict[str, dict]:
        return {t: self.rows(t) for t in WRITE_ORDER}


@pytest.fixture(params=STORE_KINDS)
def harness(request, tmp_path):
    """The shared suite's store: SQLite file, PostgreSQL session database, REST on the fake."""
    if request.param == "sqlite":
        from utils.stores.sqlite_store import SqliteStore

        store = SqliteStore(tmp_path / "sub" / "test.db")
        store.apply_migrations()
        yield StoreHarness("sqlite", store)
        store.close()
    elif request.param == "postgres":
        from utils.stores.postgres_store import PostgresStore

        url = request.getfixturevalue("pg_database")
        _truncate(url)
        store = PostgresStore(url)
        yield StoreHarness("postgres", store)
        store.close()
    else:
        from utils.supabase_client import SupabaseReferenceClient

        with FakePostgrest(REST_KEY) as fake:
            store = SupabaseReferenceClient(fake.url, REST_KEY, wait_initial=0.001, wait_max=0.01,
                                            timeout=2.0)
            yield StoreHarness("rest", store, fake)
            store.close()


@pytest.fixture
def fake_rest():
    with FakePostgrest(REST_KEY) as fake:
        yield fake
