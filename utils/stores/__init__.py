"""Stores: one interface (``utils.stores.base.Store``), three databases.

``open_store(target)`` picks the implementation for a ``utils.stores.target.DatabaseTarget``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from utils.stores.base import Store, WriteCounts

if TYPE_CHECKING:
    from utils.stores.target import DatabaseTarget

__all__ = ["Store", "WriteCounts", "open_store"]


def open_store(target: DatabaseTarget) -> Store:
    if target.kind == "sqlite":
        from utils.stores.sqlite import SqliteStore

        return SqliteStore(target.sqlite_path, display=target.display)
    if target.kind == "postgres":
        from utils.stores.postgres import PostgresStore

        return PostgresStore(target.url, display=target.display)
    if target.kind == "supabase_rest":
        from utils.stores.rest import SupabaseReferenceClient

        return SupabaseReferenceClient(target.url, target.key)
    raise ValueError(f"unknown store kind {target.kind!r}")
