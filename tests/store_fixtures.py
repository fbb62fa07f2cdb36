"""PostgreSQL fixtures for the migration tests.

Why a private database per test: suites run at once against the one local server, so a fixed
database name would collide. ``pg_server`` skips loudly when the server is unreachable, and fails
instead when ``REQUIRE_POSTGRES=1`` (CI).
"""
from __future__ import annotations

import os
import secrets

import psycopg
import pytest

PG_SERVER = os.environ.get("DH_TEST_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")
REST_KEY = "sb_secret_test_key_0123456789"


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


@pytest.fixture
def empty_pg_database(pg_server):
    """A fresh, unmigrated database for migration tests."""
    name = create_database("dh_mig")
    yield pg_url(name)
    drop_database(name)
