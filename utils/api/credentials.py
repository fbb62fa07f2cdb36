"""Racing API credentials: where they come from, and one clear message when they are missing.

Why a module of its own: the scripts, the client's ``from_env`` and the tests must agree on the
precedence (real environment, then ``.env.local``, then ``.env``) and on the error text.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from utils import REPO_ROOT
from utils.errors import ConfigError

ENV_FILES = (".env.local", ".env")   # earlier files win: override=False never replaces a set value
MISSING = ("Racing API credentials missing: set RACING_API_USERNAME and RACING_API_PASSWORD "
           "(in the environment or .env.local)")


def load_env(root: Path = REPO_ROOT) -> list[Path]:
    """Merge ``.env.local`` then ``.env`` into ``os.environ`` without overriding anything already
    set, so the real environment wins; returns the files read."""
    from dotenv import load_dotenv

    loaded = []
    for name in ENV_FILES:
        path = root / name
        if path.is_file():
            load_dotenv(path, override=False)
            loaded.append(path)
    return loaded


def api_credentials(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(username, password)`` from ``env`` (default ``os.environ``); ``ConfigError`` if either is
    missing or blank. The password is returned as given (spaces may be part of it)."""
    env = os.environ if env is None else env
    username = (env.get("RACING_API_USERNAME") or "").strip()
    password = env.get("RACING_API_PASSWORD") or ""
    if not username or not password.strip():
        raise ConfigError(MISSING)
    return username, password
