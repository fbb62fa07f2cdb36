"""Thread-safe request pacing per Racing API endpoint, plus an optional global cap.

Why spacing rather than a burst bucket: the API (and the simulator) enforce a token bucket whose
capacity equals the rate. A client that spaces calls at least ``1/rate`` apart (a bucket of capacity
1) can never empty such a bucket, whatever the network jitter, so the backfill sees no 429 at the
default limits while still running at the full rate. A 429 that arrives anyway (shared account,
another process) pauses the endpoint for ``Retry-After`` seconds so concurrent threads stop
hammering it.

Why an endpoint's next slot is anchored on the *actual* grant time: a thread that wakes late (GIL,
a loaded machine) would otherwise be followed by one that wakes on time, and the pair would leave
closer than the interval. So the threads of one endpoint take turns (a lock held while sleeping,
shared by nobody else). The global cap keeps a list of booked instants and may fill a gap between
calls booked ahead, so a backlog on a slow endpoint (racecards, 2/s) never holds a fast one
(results, 5/s) back behind it.

Across processes: with a ``SharedBudget`` (``utils.api.shared_budget``: a small file per account under
``flock``), each grant is also booked in that file, confirmed there on waking, and a 429's pause is
written there, so every process of one account shares each endpoint's budget. The threads of one
process still take turns per endpoint here, on the monotonic clock; the file uses wall time, the
only clock the processes share. The global cap stays per process.
"""
from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Mapping

from utils.api.shared_budget import SharedBudget
from utils.planning import SPEC_RATE_LIMITS

# Space calls 5% wider than the limit: a call delayed in transit (network, a busy thread) can then
# arrive up to ~50 ms late per second of traffic without two arrivals bunching up.
SAFETY_MARGIN = 1.05

Clock = Callable[[], float]
Sleep = Callable[[float], None]

_BOOKING = threading.Lock()   # guards limiter state; held for microseconds, never while sleeping


class RateLimiter:
    """At most ``rate`` calls per second, each at least ``interval`` after the previous grant (a
    bucket of capacity 1: idle time buys no burst). ``acquire`` blocks until allowed."""

    def __init__(self, rate: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep):
        if rate <= 0:
            raise ValueError(f"rate must be positive (got {rate})")
        self.rate = rate
        self.interval = SAFETY_MARGIN / rate
        self._clock = clock
        self._sleep = sleep
        self._turn = threading.Lock()       # one waiter at a time; held while it sleeps
        self._next = float("-inf")          # earliest instant of the next grant
        self._paused_until = float("-inf")  # set by a 429; holds already-booked sleepers too

    def acquire(self) -> float:
        """Block until this limiter allows one call; returns the seconds waited."""
        return _acquire(self, None, self._clock, self._sleep)

    def pause(self, seconds: float) -> None:
        """Hold every call, including one already asleep, ``seconds`` from now."""
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

    def cancel(self, slot: float) -> None:
        """Drop a booking that was not used (its call was held longer by a pause)."""
        index = bisect.bisect_left(self._booked, slot)
        if index < len(self._booked) and self._booked[index] == slot:
            del self._booked[index]


def _acquire(limiter: RateLimiter, cap: GlobalCap | None, clock: Clock, sleep: Sleep,
             shared: SharedBudget | None = None, endpoint: str = "") -> float:
    """Wait for this endpoint's turn and slot (and a slot on ``cap``, and one booked in ``shared``),
    honouring any pause a 429 imposes meanwhile, in this process or (through ``shared``) another;
    the grant instant then sets the endpoint's next slot. Returns seconds waited.

    ``now`` advances by what was slept even if the clock says less: ``sleep`` sleeps at least that
    long, and an injected clock may stand still."""
    with limiter._turn:
        started = now = clock()
        hold = 0.0          # seconds from ``now`` the shared budget asks this call to wait
        booked = False      # a slot is booked in ``shared`` and still valid
        while True:
            if shared is not None and not booked:
                with _BOOKING:
                    local = max(now, limiter._next, limiter._paused_until)
                hold, booked = shared.book(endpoint, limiter.interval, local - now), True
            with _BOOKING:
                slot = max(now + hold, limiter._next, limiter._paused_until)
                if cap is not None:
                    slot = cap.book(slot, now)
            if slot > now:
                sleep(slot - now)
            now = max(clock(), slot)
            with _BOOKING:
                clear = limiter._paused_until <= now            # no 429 arrived while asleep
            if clear and shared is not None:
                hold, paused = shared.confirm(endpoint, limiter.interval)
                clear = hold <= 0
                booked = not paused     # another process's 429 voids the booking; lateness only delays it
            elif not clear:
                hold, booked = 0.0, False
            with _BOOKING:
                if clear:
                    if shared is not None:
                        now = max(clock(), now)     # the confirmation took a little time
                    limiter._next = now + limiter.interval
                    return now - started
                if cap is not None:
                    cap.cancel(slot)


class EndpointLimits:
    """One limiter per endpoint at the spec's rates (overridden, then scaled) and an optional
    global cap (``RACING_API_MAX_RPS``) that every call also passes."""

    def __init__(self, overrides: Mapping[str, float] | None = None, *, scale: float = 1.0,
                 max_rps: float | None = None, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep, shared: SharedBudget | None = None):
        if scale <= 0:
            raise ValueError(f"scale must be positive (got {scale})")
        rates = {**SPEC_RATE_LIMITS, **(overrides or {})}
        self.rates = {name: rate * scale for name, rate in rates.items()}
        self._clock, self._sleep = clock, sleep
        self._limiters = {name: RateLimiter(rate, clock=clock, sleep=sleep)
                          for name, rate in self.rates.items()}
        self.global_cap = GlobalCap(max_rps) if max_rps else None
        self.shared = shared        # the account's budget across processes (None: this process only)

    def limiter(self, endpoint: str) -> RateLimiter:
        try:
            return self._limiters[endpoint]
        except KeyError:
            raise ValueError(f"no rate limit known for endpoint {endpoint!r}") from None

    def acquire(self, endpoint: str) -> float:
        """Block until ``endpoint`` (and the global cap) allow one call; returns seconds waited."""
        return _acquire(self.limiter(endpoint), self.global_cap, self._clock, self._sleep,
                        self.shared, endpoint)

    def pause(self, endpoint: str, seconds: float) -> None:
        """The server said 429: hold every thread's next call to ``endpoint`` for ``seconds``, and
        (with a shared budget) every other process's of the account too."""
        self.limiter(endpoint).pause(seconds)
        if self.shared is not None:
            self.shared.pause(endpoint, seconds)
