"""Which database a run uses, and how it is shown: precedence, masking, refusals."""
from __future__ import annotations

import pytest

from utils.db_target import REPO_ROOT, mask_url, resolve_database
from utils.errors import ConfigError

PG = "postgresql://writer:pa55word@db.example.com:5432/racing"
ALL = {"DATABASE_URL": "sqlite:///env.db", "SUPABASE_DB_URL": "postgres://s:supapw@pooler.example:6543/postgres",
       "SUPABASE_URL": "https://abc.supabase.co", "SUPABASE_SERVICE_KEY": "sb_secret_XYZ123"}


@pytest.mark.parametrize("cli, env, kind, source", [
    (PG, ALL, "postgres", "--database-url"),
    (None, ALL, "sqlite", "DATABASE_URL"),
    (None, {k: v for k, v in ALL.items() if k != "DATABASE_URL"}, "postgres", "SUPABASE_DB_URL"),
    (None, {"SUPABASE_URL": ALL["SUPABASE_URL"], "SUPABASE_SERVICE_KEY": "k3y"}, "supabase_rest",
     "SUPABASE_URL"),
    (None, {}, "sqlite", "default"),
    (None, {"DATABASE_URL": "  "}, "sqlite", "default"),
])
def test_precedence(cli, env, kind, source):
    target = resolve_database(cli, env)
    assert (target.kind, target.source, target.is_default) == (kind, source, source == "default")


def test_default_is_the_repo_sqlite_file_whatever_the_cwd(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    target = resolve_database(None, {})
    assert target.sqlite_path == REPO_ROOT / "data" / "darkhorses.db"
    assert target.banner() == ("Database: SQLite data/darkhorses.db (default; set DATABASE_URL or "
                               "--database-url to use PostgreSQL/Supabase)")
    assert resolve_database("sqlite:///rel/x.db", {}).sqlite_path == REPO_ROOT / "rel" / "x.db"
    assert resolve_database(f"sqlite:///{tmp_path}/y.db", {}).sqlite_path == tmp_path / "y.db"


def test_passwords_and_keys_are_never_shown():
    target = resolve_database(PG, {})
    assert target.display == "PostgreSQL postgresql://writer:****@db.example.com:5432/racing"
    assert target.banner() == f"Database: {target.display} (from --database-url)"
    rest = resolve_database(None, {"SUPABASE_URL": "https://abc.supabase.co/",
                                   "SUPABASE_SERVICE_KEY": "sb_secret_XYZ123"})
    assert rest.display == "Supabase REST https://abc.supabase.co" and rest.key == "sb_secret_XYZ123"
    for shown in (repr(target), repr(rest), rest.banner(), target.banner()):
        assert "pa55word" not in shown and "XYZ123" not in shown
    assert mask_url("postgresql://u@h/db?password=hunter2&sslmode=require") == \
        "postgresql://u@h/db?password=****&sslmode=require"
    assert mask_url("postgresql://h/db") == "postgresql://h/db"


@pytest.mark.parametrize("url, fragment", [
    ("mysql://u:pa55word@h/db", "unsupported"),
    ("postgresql://u:pa55word@h:notaport/db", "malformed"),
    ("postgresql://u:pa55word@[::1/db", "malformed"),
    ("postgresql:///db", "no host"),
    ("sqlite:///", "file path"),
    ("sqlite://relative.db", "unsupported"),
    ("just some words", "unsupported"),
])
def test_bad_urls_are_one_line_config_errors_without_password(url, fragment):
    with pytest.raises(ConfigError) as info:
        resolve_database(url, {})
    message = str(info.value)
    assert fragment in message and "pa55word" not in message and "\n" not in message


def test_rest_needs_url_and_key_together():
    with pytest.raises(ConfigError, match="together"):
        resolve_database(None, {"SUPABASE_URL": "https://abc.supabase.co"})
    with pytest.raises(ConfigError, match="https://"):
        resolve_database(None, {"SUPABASE_URL": "abc.supabase.co", "SUPABASE_SERVICE_KEY": "k3y"})
