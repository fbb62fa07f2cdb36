"""Which database a run writes to: one precedence rule, masked display, typed errors."""
from __future__ import annotations

import pytest

from utils.errors import ConfigError
from utils.stores.target import REPO_ROOT, mask_url, resolve_database

PG_CLI = "postgresql://cli:cli-secret@db.example:5432/cli"
PG_ENV = "postgresql://env:env-secret@db.example:5432/env"
PG_SUPA = "postgresql://postgres.abc:supa-secret@aws-0-eu.pooler.supabase.com:6543/postgres"
REST = {"SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_SERVICE_KEY": "sb_secret_rest-key-123"}
ALL_ENV = {"DATABASE_URL": PG_ENV, "SUPABASE_DB_URL": PG_SUPA, **REST}


def test_cli_url_beats_every_environment_variable():
    t = resolve_database(PG_CLI, ALL_ENV)
    assert (t.kind, t.url, t.source) == ("postgres", PG_CLI, "--database-url")


def test_database_url_beats_supabase_settings():
    t = resolve_database(None, ALL_ENV)
    assert (t.kind, t.url, t.source) == ("postgres", PG_ENV, "DATABASE_URL")


def test_supabase_db_url_beats_rest():
    env = {k: v for k, v in ALL_ENV.items() if k != "DATABASE_URL"}
    t = resolve_database(None, env)
    assert (t.kind, t.url, t.source) == ("postgres", PG_SUPA, "SUPABASE_DB_URL")


def test_rest_needs_url_and_key_together():
    t = resolve_database(None, dict(REST))
    assert (t.kind, t.url, t.key) == ("supabase_rest", "https://abc.supabase.co", REST["SUPABASE_SERVICE_KEY"])
    assert REST["SUPABASE_SERVICE_KEY"] not in t.display and REST["SUPABASE_SERVICE_KEY"] not in repr(t)
    with pytest.raises(ConfigError):
        resolve_database(None, {"SUPABASE_URL": REST["SUPABASE_URL"]})
    with pytest.raises(ConfigError) as info:
        resolve_database(None, {"SUPABASE_SERVICE_KEY": REST["SUPABASE_SERVICE_KEY"]})
    assert REST["SUPABASE_SERVICE_KEY"] not in str(info.value)


def test_default_is_the_repo_sqlite_file():
    t = resolve_database(None, {"DATABASE_URL": "  "})
    assert t.kind == "sqlite" and t.is_default
    assert t.sqlite_path == REPO_ROOT / "data" / "darkhorses.db"
    assert "default" in t.banner()


def test_relative_sqlite_paths_resolve_against_the_repo_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    t = resolve_database("sqlite:///data/other.db", {})
    assert t.sqlite_path == REPO_ROOT / "data" / "other.db"
    assert t.display == "SQLite data/other.db"
    absolute = resolve_database(f"sqlite:///{tmp_path}/abs.db", {})
    assert absolute.sqlite_path == tmp_path / "abs.db"


@pytest.mark.parametrize("url", [PG_CLI, PG_ENV, PG_SUPA])
def test_display_and_banner_mask_the_password(url):
    t = resolve_database(url, {})
    secret = url.split(":")[2].split("@")[0]
    for text in (t.display, t.banner(), repr(t)):
        assert secret not in text and "****" in text


def test_mask_url():
    assert mask_url("postgresql://u:p%40ss@h:5432/d") == "postgresql://u:****@h:5432/d"
    assert mask_url("postgresql://u@h/d") == "postgresql://u@h/d"
    assert "s3cret" not in mask_url("postgresql://u@h/d?password=s3cret&sslmode=require")


@pytest.mark.parametrize("url", [
    "postgresql://user:TopSecret1@host:notaport/db",
    "postgresql://user:TopSecret1@[::1/db",
    "mysql://user:TopSecret1@host/db",
    "postgresql://user:TopSecret1@/db",
    "sqlite:///",
    "host=db.example password=TopSecret1 dbname=racing",   # libpq keywords, not a URL
])
def test_bad_urls_are_config_errors_without_the_password(url):
    with pytest.raises(ConfigError) as info:
        resolve_database(url, {})
    assert "TopSecret1" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        resolve_database(None, {"DATABASE_URL": url})
    assert "TopSecret1" not in str(info.value) and "DATABASE_URL" in str(info.value)


def test_rest_url_must_be_http():
    with pytest.raises(ConfigError):
        resolve_database(None, {"SUPABASE_URL": "abc.supabase.co", "SUPABASE_SERVICE_KEY": "k"})
