"""DarkHorses: backfill UK and Irish racing data from The Racing API into Supabase/PostgreSQL or SQLite.

The sub-packages follow a day's data (CLAUDE.md draws them): ``api`` fetches, ``ingest`` turns
payloads into rows, ``stores`` merges them into the database, ``pipeline`` runs the days, ``checks``
reads the result back, and ``commands`` is the layer the scripts call. ``REPO_ROOT`` and ``LOGS_DIR`` are
defined once here because the default paths (``logs/``, ``data/``, ``supabase/migrations``, ``.env``) hang off it.
"""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LOGS_DIR = REPO_ROOT / "logs"           # log files, checkpoints and error logs
