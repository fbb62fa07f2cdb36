"""The one stop mechanism: a flag the first Ctrl+C/SIGTERM sets, which every loop of a run reads.

Why a flag and not an exception: a day (or a batch of horse profiles) in flight must be committed
with its mark before the run stops, so the loops finish the unit they hold and then look at the
flag. The events backfill, the profile fetcher and ``backfill_all``'s profiles-alongside thread read
the same ``RunContext.stop`` (``utils/commands/context.py`` installs the signal handlers), so one
Ctrl+C stops all of them cleanly; a second one aborts at once (``KeyboardInterrupt``).
"""
from __future__ import annotations

import threading


class StopFlag:
    """Set once a stop is asked for; the unit in flight finishes, then the run stops cleanly."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def request(self) -> None:
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()
