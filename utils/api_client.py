"""The guide's import path for the Racing API client: ``from utils.api_client import RacingAPIClient``.

Why a module of its own: the guide's troubleshooting steps (and users' notebooks) import the client
from here. The client itself lives in ``utils/api/client.py``; this entry point only re-exports it,
so there is one client and the old import keeps working (``tests/test_layout.py`` holds it).
"""
from utils.api.client import RacingAPIClient

__all__ = ["RacingAPIClient"]
