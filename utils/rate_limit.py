"""Thread-safe request pacing per Racing API endpoint, plus an optional global cap.

Why spacing rather than a burst bucket: the API (and the simulator) enforce a token bucket whose
capacity equals the rate. A client that spaces calls at least ``1/rate`` apart (a bucket of capacity
1) can never empty such a bucket, whatever the network jitter, so the backfill sees no 429 at the
default limits while still running at the full rate. A 429 that arrives anyway (shared account,
another process) pauses the endpoint for ``Retry-After`` seconds so concurrent threads stop
hammering it.

Why a call waits for its endpoint limiter and the global cap *together* and is then granted on
both at one instant: acquiring them one after the other would let the wait on the second push a
call next to its successor and break the first one's spacing.
"""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Callable, Iterable, Mapping

from utils.planning import SPEC_RATE_LIMITS

# Space calls 5% wider than the limit: a call delayed in transit (network, a busy server thread)
# can then arrive up to ~50 ms late per second of traffic without two arrivals bunching up.
SAFETY_MARGIN = 1.05

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RateLimiter:
    """At most ``rate`` grants per second, at least ``interval`` apart; ``acquire`` blocks.

    Why the next slot is anchored on the *actual* grant time (not a slot booked in advance): a
    thread that wakes late (GIL, scheduler) would otherwise be followed by one that wakes on time,
    and the pair would reach the server closer than the interval. Waiters therefore take turns.
    """

    def __init__(self, rate: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep):
        if rate <= 0:
            raise ValueError(f"rate must be positive (got {rate})")
        self.rate = rate
        self.interval = SAFETY_MARGIN / rate
        self._clock = clock
        self._sleep = sleep
        self._turn = threading.Lock()     # one waiter at a time; held while sleeping
        self._state = threading.Lock()    # guards _next; never held while sleeping (pause() is quick)
        self._next = float("-inf")        # earliest time of the next grant

    def acquire(self) -> float:
        """Block until this limiter allows one call; returns the seconds waited."""
        return acquire_all((self,), self._clock, self._sleep)

    def pause(self, seconds: float) -> None:
        """Hold the next grant at least ``seconds`` from now (after a 429)."""
        with self._state:
            self._next = max(self._next, self._clock() + max(0.0, seconds))

    def _delay(self, now: float) -> float:
        with self._state:
            return self._next - now

    def _granted(self, now: float) -> None:
        with self._state:
            self._next = max(self._next, now + self.interval)


def acquire_all(limiters: Iterable[RateLimiter], clock: Clock = time.monotonic,
                sleep: Sleep = time.sleep) -> float:
    """Wait until every limiter allows a call, then count one grant on each at the same instant.

    Turns are taken in the given order (callers pass the endpoint first, the global cap last, so
    no two threads can wait on each other). One grant time for all keeps every limiter's spacing
    exact even when the global cap is what delayed the call.
    """
    limiters = tuple(limiters)
    started = clock()
    with contextlib.ExitStack() as turns:
        for limiter in limiters:
            turns.enter_context(limiter._turn)
        while True:
            now = clock()
            delay = max(limiter._delay(now) for limiter in limiters)
            if delay <= 0:
                break
            sleep(delay)
        for limiter in limiters:
            limiter._granted(now)
    return now - started


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
        self.global_cap = RateLimiter(max_rps, clock=clock, sleep=sleep) if max_rps else None

    def limiter(self, endpoint: str) -> RateLimiter:
        try:
            return self._limiters[endpoint]
        except KeyError:
            raise ValueError(f"no rate limit known for endpoint {endpoint!r}") from None

    def acquire(self, endpoint: str) -> float:
        """Block until ``endpoint`` (and the global cap) allow one call; returns seconds waited."""
        chain = (self.limiter(endpoint),) + ((self.global_cap,) if self.global_cap else ())
        return acquire_all(chain, self._clock, self._sleep)

    def pause(self, endpoint: str, seconds: float) -> None:
        """The server said 429: hold every thread's next call to ``endpoint`` for ``seconds``."""
        self.limiter(endpoint).pause(seconds)
