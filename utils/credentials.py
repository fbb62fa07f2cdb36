"""Racing API credentials from the environment (already merged with .env.local/.env by
``utils.cli.load_environment``), with one clear message when they are missing."""
from __future__ import annotations

import os
from typing import Mapping

from utils.errors import ConfigError


def api_credentials(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    env = os.environ if env is None else env
    username = (env.get("RACING_API_USERNAME") or "").strip()
    password = env.get("RACING_API_PASSWORD") or ""
    if not username or not password.strip():
        raise ConfigError("Racing API credentials missing: set RACING_API_USERNAME and "
                          "RACING_API_PASSWORD (in the environment or .env.local; see .env.example)")
    return username, password
