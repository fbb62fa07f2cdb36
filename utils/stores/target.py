"""Which database a run writes to, chosen by one rule, and how it is named on screen.

Order: ``--database-url``, ``DATABASE_URL``, ``SUPABASE_DB_URL``, ``SUPABASE_URL`` +
``SUPABASE_SERVICE_KEY`` (REST), else the embedded SQLite file ``data/darkhorses.db``. The
password or key is never part of what is displayed.

``check_sqlite_location`` decides, before a store is opened, whether a SQLite file may be created:
a read-only command (verify, report, ``--check-status``) needs an existing database and creates
nothing; ``init_db.py`` and the write commands create the file, but only in an existing directory
(or the default ``data/``), so a typo in a path is an error instead of a new empty database.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from utils import REPO_ROOT
from utils.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///data/darkhorses.db"
DEFAULT_DATA_DIR = REPO_ROOT / "data"   # created on demand for the default and demo databases
POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class DatabaseTarget:
    """Where a run writes. ``repr`` masks the URL and omits the key, so logging one is safe."""

    kind: str            # "sqlite" | "postgres" | "supabase_rest"
    url: str = field(repr=False)   # connection URL (sqlite: absolute file path URL)
    source: str = ""     # which setting chose it
    key: str | None = field(default=None, repr=False)
    is_default: bool = False

    def __repr__(self) -> str:
        return (f"DatabaseTarget(kind={self.kind!r}, url={mask_url(self.url)!r}, "
                f"source={self.source!r}, is_default={self.is_default})")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url[len("sqlite:///"):])

    @property
    def display(self) -> str:
        if self.kind == "sqlite":
            path = self.sqlite_path
            try:
                shown = path.relative_to(REPO_ROOT)
            except ValueError:
                shown = path
            return f"SQLite {shown}"
        if self.kind == "postgres":
            return f"PostgreSQL {mask_url(self.url)}"
        return f"Supabase REST {mask_url(self.url)}"

    def banner(self) -> str:
        if self.is_default:
            return (f"Database: {self.display} (default; set DATABASE_URL or --database-url "
                    f"to use PostgreSQL/Supabase)")
        return f"Database: {self.display} (from {self.source})"


def mask_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:****@host/db``; also masks a
    ``password=`` query parameter. Never raises, even on a malformed URL (it may be in an error)."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            netloc = parts.netloc.rsplit("@", 1)[1]
            user = parts.username or ""
            url = urlunsplit((parts.scheme, f"{user}:****@{netloc}", parts.path, parts.query,
                              parts.fragment))
    except ValueError:
        url = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1****@", url)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1****", url)


def _sqlite_target(url: str, source: str, is_default: bool) -> DatabaseTarget:
    raw = url[len("sqlite:///"):]
    if not raw or raw.endswith("/"):
        raise ConfigError(f"{source}: a SQLite URL needs a file path, e.g. sqlite:///data/racing.db")
    path = Path(raw) if raw.startswith("/") else (REPO_ROOT / raw)
    return DatabaseTarget("sqlite", f"sqlite:///{path}", source, is_default=is_default)


def _url_target(url: str, source: str, is_default: bool = False) -> DatabaseTarget:
    url = url.strip()
    if url.startswith("sqlite:///"):
        return _sqlite_target(url, source, is_default)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ConfigError(f"{source}: malformed database URL {mask_url(url)!r}") from None
    if parts.scheme in POSTGRES_SCHEMES:
        if not parts.hostname and "host=" not in parts.query:
            raise ConfigError(f"{source}: PostgreSQL URL has no host: {mask_url(url)}")
        return DatabaseTarget("postgres", url, source)
    raise ConfigError(f"{source}: unsupported database URL {mask_url(url)!r}; use postgresql://… "
                      f"or sqlite:///path")


def resolve_database(cli_url: str | None, env: Mapping[str, str]) -> DatabaseTarget:
    if cli_url:
        return _url_target(cli_url, "--database-url")
    for var in ("DATABASE_URL", "SUPABASE_DB_URL"):
        if (env.get(var) or "").strip():
            return _url_target(env[var], var)
    rest_url = (env.get("SUPABASE_URL") or "").strip()
    rest_key = (env.get("SUPABASE_SERVICE_KEY") or "").strip()
    if rest_url or rest_key:
        if not (rest_url and rest_key):
            raise ConfigError("SUPABASE_URL and SUPABASE_SERVICE_KEY must be set together")
        if not rest_url.startswith(("https://", "http://")):
            raise ConfigError(f"SUPABASE_URL must start with https:// (got {rest_url!r})")
        return DatabaseTarget("supabase_rest", rest_url.rstrip("/"), "SUPABASE_URL", key=rest_key)
    return _url_target(DEFAULT_DATABASE_URL, "default", is_default=True)


def check_sqlite_location(target: DatabaseTarget, *, must_exist: bool) -> None:
    """Refuse, before anything is created, a SQLite database a command cannot use.

    ``must_exist`` (read-only commands): the file must be there. Otherwise (init_db and the write
    commands) the file may be created, but its directory must exist unless it is the default
    ``data/``. Other kinds of database are not checked here. ``ConfigError`` (exit 2) otherwise.
    """
    if target.kind != "sqlite":
        return
    path = target.sqlite_path
    if must_exist:
        if not path.is_file():
            raise ConfigError(f"no database at {path}; create it with python3 scripts/init_db.py "
                              f"--database-url {target.url}")
        return
    parent = path.parent
    if not parent.is_dir() and parent != DEFAULT_DATA_DIR:
        raise ConfigError(f"{target.source}: the directory {parent} does not exist; create it "
                          f"first (mkdir -p {parent}) or choose another path for the SQLite database")
