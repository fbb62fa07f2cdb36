"""Unit tests for utils.rate_limit: a fake clock for the arithmetic, real threads for the locking."""
from __future__ import annotations

import threading
import time

import pytest

from utils.rate_limit import SAFETY_MARGIN, EndpointLimits, RateLimiter


class FakeClock:
    """``clock`` and ``sleep`` for the limiter: sleeping advances time instantly."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def grant_times(acquire, clock: FakeClock, n: int) -> list[float]:
    times = []
    for _ in range(n):
        acquire()
        times.append(clock.now)
    return times


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:])]


def max_in_window(times: list[float], window: float = 1.0) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_first_call_is_immediate_then_calls_are_spaced_with_the_margin():
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, sleep=clock.sleep)
    times = grant_times(limiter.acquire, clock, 11)
    assert times[0] == 1000.0
    assert gaps(times) == pytest.approx([SAFETY_MARGIN / 5] * 10)
    assert max_in_window(times) == 5


def test_idle_time_never_buys_a_burst():
    """Capacity 1: after a long pause the second call still waits a full interval, so a server
    bucket of capacity == rate can never be emptied."""
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 60
    times = grant_times(limiter.acquire, clock, 3)
    assert gaps(times) == pytest.approx([SAFETY_MARGIN / 2] * 2)


def test_a_server_token_bucket_at_the_same_rate_never_refuses():
    clock = FakeClock()
    for rate in (1, 2, 5):
        limiter = RateLimiter(rate, clock=clock, sleep=clock.sleep)
        tokens, stamp = float(rate), clock.now
        for _ in range(50):
            limiter.acquire()
            tokens = min(rate, tokens + (clock.now - stamp) * rate)
            stamp = clock.now
            assert tokens >= 1.0
            tokens -= 1


def test_pause_holds_the_next_call_for_the_given_seconds():
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.pause(1.0)
    start = clock.now
    limiter.acquire()
    assert clock.now - start == pytest.approx(1.0)
    limiter.pause(0.0)            # a zero pause never brings the next slot forward
    limiter.acquire()
    assert clock.now - start == pytest.approx(1.0 + SAFETY_MARGIN / 5)


def test_acquire_reports_the_wait():
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock, sleep=clock.sleep)
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == pytest.approx(SAFETY_MARGIN)


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_endpoint_limits_default_to_the_spec_and_accept_overrides_and_a_scale():
    assert EndpointLimits().rates == {"regions": 1, "courses": 1, "racecards": 2, "results": 5, "horses": 5}
    limits = EndpointLimits({"horses": 2}, scale=10)
    assert limits.rates["horses"] == 20 and limits.rates["results"] == 50
    with pytest.raises(ValueError, match="unknown|no rate limit"):
        limits.acquire("nope")


def test_endpoints_are_paced_independently():
    clock = FakeClock()
    limits = EndpointLimits(clock=clock, sleep=clock.sleep)
    limits.acquire("results")
    limits.acquire("racecards")       # another endpoint: no wait
    limits.acquire("horses")
    assert clock.sleeps == []
    limits.acquire("results")
    assert clock.sleeps == [pytest.approx(SAFETY_MARGIN / 5)]


def test_pause_applies_to_one_endpoint_only():
    clock = FakeClock()
    limits = EndpointLimits(clock=clock, sleep=clock.sleep)
    limits.pause("results", 1.0)
    limits.acquire("horses")
    assert clock.sleeps == []
    limits.acquire("results")
    assert clock.sleeps == [pytest.approx(1.0)]


def test_global_cap_limits_calls_across_endpoints():
    clock = FakeClock()
    limits = EndpointLimits(clock=clock, sleep=clock.sleep, max_rps=2)
    times = []
    for endpoint in ("results", "horses", "racecards", "results", "horses", "results"):
        limits.acquire(endpoint)
        times.append(clock.now)
    assert min(gaps(times)) == pytest.approx(SAFETY_MARGIN / 2)
    assert max_in_window(times) == 2


def test_global_cap_wait_never_squeezes_an_endpoint_pair_together():
    """A slot is booked on both limiters at once: the endpoint's spacing holds even when the
    global cap delays a call."""
    clock = FakeClock()
    limits = EndpointLimits(clock=clock, sleep=clock.sleep, max_rps=4)
    times = {"results": [], "horses": []}
    for endpoint in ("results", "horses") * 10:
        limits.acquire(endpoint)
        times[endpoint].append(clock.now)
    assert min(gaps(times["results"])) >= SAFETY_MARGIN / 5 - 1e-9
    assert max_in_window(times["results"] + times["horses"]) <= 4


def test_threads_share_one_limiter_without_bursts():
    """Real clock, 4 threads x 5 calls at 40/s: every grant at least one interval after the last."""
    limiter = RateLimiter(40)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 20
    # Grants are booked interval apart; only wake-up jitter (well under an interval) can shrink a gap.
    assert sum(gaps(stamps)) >= 19 * limiter.interval - 0.01
    assert min(gaps(stamps)) > limiter.interval / 3
