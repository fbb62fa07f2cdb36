"""Thread-safe request pacing per Racing API endpoint, plus an optional global cap.

Why spacing rather than a burst bucket: the API (and the simulator) enforce a token bucket whose
capacity equals the rate. A client that spaces calls at least ``1/rate`` apart can never empty such a
bucket, whatever the network jitter, so the backfill sees no 429 at the default limits while still
running at the full rate. A 429 that arrives anyway (shared account, another process) pauses the
endpoint for ``Retry-After`` seconds so concurrent threads stop hammering it.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from utils.planning import SPEC_RATE_LIMITS

SAFETY_MARGIN = 1.02   # space calls 2% wider than the limit to absorb clock and network jitter


class RateLimiter:
    """At most ``rate`` acquisitions per second, evenly spaced; ``acquire`` blocks until allowed."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = SAFETY_MARGIN / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> None:
        """Reserve the next slot under the lock, then sleep outside it until that slot."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)

    def pause(self, seconds: float) -> None:
        """Push the next slot at least ``seconds`` into the future (after a 429)."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


class EndpointLimits:
    """One limiter per endpoint at the spec's rates (scaled/overridden), and an optional global cap."""

    def __init__(self, overrides: dict[str, float] | None = None, *, scale: float = 1.0,
                 max_rps: float | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        rates = {**SPEC_RATE_LIMITS, **(overrides or {})}
        self.rates = {name: rate * scale for name, rate in rates.items()}
        self._limiters = {name: RateLimiter(rate, clock=clock, sleep=sleep)
                          for name, rate in self.rates.items()}
        self._global = RateLimiter(max_rps, clock=clock, sleep=sleep) if max_rps else None

    def acquire(self, endpoint: str) -> None:
        self._limiters[endpoint].acquire()
        if self._global is not None:
            self._global.acquire()

    def pause(self, endpoint: str, seconds: float) -> None:
        self._limiters[endpoint].pause(seconds)
