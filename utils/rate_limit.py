"""Thread-safe request pacing per Racing API endpoint, plus an optional global cap.

Why spacing rather than a burst bucket: the API (and the simulator) enforce a token bucket whose
capacity equals the rate. A client that spaces calls at least ``1/rate`` apart (a bucket of capacity
1) can never empty such a bucket, whatever the network jitter, so the backfill sees no 429 at the
default limits while still running at the full rate. A 429 that arrives anyway (shared account,
another process) pauses the endpoint for ``Retry-After`` seconds so concurrent threads stop
hammering it.

Why slots are *booked* under one lock (and slept for outside it): N threads get N distinct slots
``interval`` apart at once, without serialising their waits. The global cap keeps a list of
booked instants and may fill a gap between calls booked ahead, so a backlog on a slow endpoint
(racecards, 2/s) never holds a fast one (results, 5/s) back behind it.
"""
from __future__ import annotations

import bisect
import threading
import time
from typing import Callable, Mapping

from utils.planning import SPEC_RATE_LIMITS

# Space calls 5% wider than the limit: a call delayed in transit (network, a busy thread) can then
# arrive up to ~50 ms late per second of traffic without two arrivals bunching up.
SAFETY_MARGIN = 1.05

Clock = Callable[[], float]
Sleep = Callable[[float], None]

_BOOKING = threading.Lock()   # held only to compute and record a slot (microseconds), never to sleep


class RateLimiter:
    """At most ``rate`` calls per second, each at least ``interval`` after the previous booking
    (a bucket of capacity 1: idle time buys no burst). ``acquire`` blocks until the slot."""

    def __init__(self, rate: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep):
        if rate <= 0:
            raise ValueError(f"rate must be positive (got {rate})")
        self.rate = rate
        self.interval = SAFETY_MARGIN / rate
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")          # earliest slot the next booking may take
        self._paused_until = float("-inf")  # set by a 429; holds already-booked sleepers too

    def acquire(self) -> float:
        """Block until this limiter allows one call; returns the seconds waited."""
        return _acquire(self, None, self._clock, self._sleep)

    def pause(self, seconds: float) -> None:
        """Hold every call, including those already booked and asleep, ``seconds`` from now."""
        with _BOOKING:
            until = self._clock() + max(0.0, seconds)
            self._paused_until = max(self._paused_until, until)
            self._next = max(self._next, until)


class GlobalCap:
    """Calls over all endpoints at least ``interval`` apart, as a set of booked instants."""

    def __init__(self, rate: float):
        if rate <= 0:
            raise ValueError(f"max_rps must be positive (got {rate})")
        self.rate = rate
        self.interval = SAFETY_MARGIN / rate
        self._booked: list[float] = []      # sorted

    def book(self, earliest: float, now: float) -> float:
        """The first instant >= ``earliest`` at least ``interval`` from every booked one (caller
        holds ``_BOOKING``)."""
        self._booked = [b for b in self._booked if b > now - self.interval]
        slot = earliest
        for booked in self._booked:
            if booked >= slot + self.interval:
                break                        # fits before this one, and so before all later ones
            if booked > slot - self.interval:
                slot = booked + self.interval
        bisect.insort(self._booked, slot)
        return slot


def _acquire(limiter: RateLimiter, cap: GlobalCap | None, clock: Clock, sleep: Sleep) -> float:
    """Book a slot on ``limiter`` (and ``cap``), sleep until it, then honour any pause that a
    429 imposed meanwhile. Returns the seconds waited."""
    with _BOOKING:
        now = clock()
        slot = max(now, limiter._next)
        if cap is not None:
            slot = cap.book(slot, now)
        limiter._next = slot + limiter.interval
    if slot > now:
        sleep(slot - now)
    granted = slot
    while True:
        with _BOOKING:
            hold = limiter._paused_until - max(clock(), granted)
        if hold <= 0:
            return granted - now
        sleep(hold)
        granted += hold


class EndpointLimits:
    """One limiter per endpoint at the spec's rates (overridden, then scaled) and an optional
    global cap (``RACING_API_MAX_RPS``) that every call also passes."""

    def __init__(self, overrides: Mapping[str, float] | None = None, *, scale: float = 1.0,
                 max_rps: float | None = None, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep):
        if scale <= 0:
            raise ValueError(f"scale must be positive (got {scale})")
        rates = {**SPEC_RATE_LIMITS, **(overrides or {})}
        self.rates = {name: rate * scale for name, rate in rates.items()}
        self._clock, self._sleep = clock, sleep
        self._limiters = {name: RateLimiter(rate, clock=clock, sleep=sleep)
                          for name, rate in self.rates.items()}
        self.global_cap = GlobalCap(max_rps) if max_rps else None

    def limiter(self, endpoint: str) -> RateLimiter:
        try:
            return self._limiters[endpoint]
        except KeyError:
            raise ValueError(f"no rate limit known for endpoint {endpoint!r}") from None

    def acquire(self, endpoint: str) -> float:
        """Block until ``endpoint`` (and the global cap) allow one call; returns seconds waited."""
        return _acquire(self.limiter(endpoint), self.global_cap, self._clock, self._sleep)

    def pause(self, endpoint: str, seconds: float) -> None:
        """The server said 429: hold every thread's next call to ``endpoint`` for ``seconds``."""
        self.limiter(endpoint).pause(seconds)
