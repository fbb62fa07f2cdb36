"""The guide's import path for the Supabase REST store:
``from utils.supabase_client import SupabaseReferenceClient``.

Why a module of its own: the guide's troubleshooting steps import it from here. The store itself
lives in ``utils/stores/rest.py`` beside the other stores; this entry point only re-exports it
(``tests/test_layout.py`` holds the import).
"""
from utils.stores.rest import SupabaseReferenceClient

__all__ = ["SupabaseReferenceClient"]
