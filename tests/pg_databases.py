"""A fresh PostgreSQL database per test session (``dh_test_<pid>_<random>``), dropped at the end.

Why a database per session and not a schema or a transaction: the stores commit, open their own
connections and create temp tables, and the contract tests kill backends — only a database of our
own is safe from (and harmless to) whatever else runs against the local server.

No server reachable -> the PostgreSQL tests are skipped with a loud reason, unless ``REQUIRE_POSTGRES=1``
(CI), where they fail instead. The server is ``DH_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432``; trust auth locally).

Use from a test module::

    from pg_databases import postgres_session_db, fresh_postgres_db  # noqa: F401  (fixtures)
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

SERVER = os.environ.get("DH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


def server_url(database: str = "postgres") -> str:
    return f"{SERVER}/{database}"


def _admin():
    """An autocommit connection to the server's maintenance database, or a loud skip/failure."""
    import psycopg

    try:
        return psycopg.connect(server_url(), autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        reason = (f"PostgreSQL NOT REACHABLE at {SERVER} ({str(exc).strip().splitlines()[0]}): "
                  f"PostgreSQL store tests SKIPPED. Start the server (.ci/run) or set "
                  f"REQUIRE_POSTGRES=1 to make this a failure.")
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def create_database(prefix: str = "dh_test") -> str:
    """Create an empty database; returns its name."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    """Drop a database, first ending any backend still connected to it (a killed store, a leak)."""
    with _admin() as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextmanager
def temporary_database(prefix: str = "dh_test") -> Iterator[str]:
    """``with temporary_database() as url:`` — a fresh database URL, dropped on exit."""
    name = create_database(prefix)
    try:
        yield server_url(name)
    finally:
        drop_database(name)


def terminate_backend(pid: int) -> bool:
    """Kill one backend from a second connection (simulates a dropped connection)."""
    with _admin() as admin:
        return bool(admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0])


@pytest.fixture(scope="session")
def postgres_session_db() -> Iterator[str]:
    """One fresh database for the whole session (URL)."""
    with temporary_database() as url:
        yield url


@pytest.fixture
def fresh_postgres_db() -> Iterator[str]:
    """A fresh, empty database for one test (URL) — for tests that need "nothing applied yet"."""
    with temporary_database() as url:
        yield url
