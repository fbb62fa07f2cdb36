"""RateLimiter / EndpointLimits with an injected clock and sleep.

Why a virtual clock: the limiter's promises are arithmetic (spacing, pauses, the global cap), and
checking them against wall time would only measure the machine's scheduler. The thread tests use a
*frozen* clock: every thread books at the same instant, so each grant's slot is exactly the time it
was told to sleep, and any two slots closer than the interval prove a booking race.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from itertools import combinations
from pathlib import Path

import pytest

from utils.api.rate_limit import EndpointLimits, RateLimiter
from utils.api.shared_budget import STATE_DIR_ENV, SharedBudget, account_key, state_dir
from utils.planning import SPEC_RATE_LIMITS

EPS = 1e-9


class VirtualTime:
    """``clock``/``sleep`` pair: sleeping advances the clock instantly and is recorded."""

    def __init__(self, start: float = 500.0):
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, "the limiter asked to sleep a negative time"
        self.sleeps.append(seconds)
        self.now += seconds


class FrozenTime:
    """The clock never moves; a thread's slot is the sum of what it was told to sleep.

    ``clock()`` yields the GIL so that, were the booking not atomic, another thread would read the
    same "next slot" in between (the race the thread tests are there to catch)."""

    def __init__(self, now: float = 0.0):
        self.now = now
        self._local = threading.local()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self._local.slept = getattr(self._local, "slept", 0.0) + seconds

    def slot_of(self, acquire) -> float:
        """Run one ``acquire`` and return the instant it was granted."""
        self._local.slept = 0.0
        acquire()
        return self.now + self._local.slept


def grants(limiter_acquire, vt: VirtualTime, n: int) -> list[float]:
    out = []
    for _ in range(n):
        limiter_acquire()
        out.append(vt.now)
    return out


def gaps(times: list[float]) -> list[float]:
    times = sorted(times)
    return [b - a for a, b in zip(times, times[1:])]


def busiest_second(times: list[float]) -> int:
    """The most grants in any half-open 1-second window [t, t+1)."""
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + 1.0) for t in times)


@pytest.fixture
def eager_thread_switching():
    """Switch threads every microsecond, so an unlocked read-modify-write of the next slot would
    be interleaved (checked: without the booking lock both thread tests below fail)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def run_threads(workers) -> None:
    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def wrap(fn):
        def run():
            try:
                start.wait()
                fn()
            except BaseException as exc:        # surfaced below, never swallowed
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive(), "a limiter thread hung"
    assert not errors, errors


# --- spacing ------------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [1.0, 2.0, 5.0, 40.0])
def test_calls_are_spaced_at_least_one_interval_and_never_exceed_the_rate(rate):
    vt = VirtualTime()
    limiter = RateLimiter(rate, clock=vt.clock, sleep=vt.sleep)
    assert limiter.interval >= 1.0 / rate
    times = grants(limiter.acquire, vt, 3 * int(rate) + 5)
    assert times[0] == 500.0, "the first call must not wait"
    assert all(g == pytest.approx(limiter.interval) for g in gaps(times))
    assert busiest_second(times) <= rate
    # ...and not gratuitously slower: the margin is a few percent, not a halving of throughput.
    assert limiter.interval <= 1.05 / rate


def test_a_late_caller_waits_only_the_rest_of_the_interval_and_idle_time_buys_no_burst():
    vt = VirtualTime()
    limiter = RateLimiter(5, clock=vt.clock, sleep=vt.sleep)
    limiter.acquire()
    vt.now += 0.05
    limiter.acquire()
    assert vt.sleeps == [pytest.approx(limiter.interval - 0.05)]
    vt.now += 60                                # long idle
    times = grants(limiter.acquire, vt, 4)
    assert gaps(times) == pytest.approx([limiter.interval] * 3)


def test_rate_must_be_positive():
    for bad in (0, -1):
        with pytest.raises(ValueError):
            RateLimiter(bad)


# --- threads --------------------------------------------------------------------------------------
ROUNDS = 20  # ~10 ms each; one round alone catches an unlocked booking only about half the time


def test_many_threads_never_get_two_slots_closer_than_the_interval(eager_thread_switching):
    for _ in range(ROUNDS):
        ft = FrozenTime()
        limiter = RateLimiter(5, clock=ft.clock, sleep=ft.sleep)
        slots: list[float] = []
        lock = threading.Lock()

        def worker():
            for _ in range(250):
                slot = ft.slot_of(limiter.acquire)
                with lock:
                    slots.append(slot)

        run_threads([worker] * 8)
        assert len(slots) == 2000
        assert min(gaps(slots)) >= limiter.interval - EPS
        # Evenly spaced with no hole either: the k-th slot is exactly k intervals after the first.
        assert sorted(slots) == pytest.approx([k * limiter.interval for k in range(2000)])


def test_threads_on_several_endpoints_with_a_global_cap_respect_both_spacings(eager_thread_switching):
    for _ in range(ROUNDS):
        ft = FrozenTime()
        limits = EndpointLimits(max_rps=6, clock=ft.clock, sleep=ft.sleep)
        booked: list[tuple[str, float]] = []
        lock = threading.Lock()

        def worker(endpoint):
            def run():
                for _ in range(100):
                    slot = ft.slot_of(lambda: limits.acquire(endpoint))
                    with lock:
                        booked.append((endpoint, slot))
            return run

        run_threads([worker("results"), worker("results"), worker("horses"), worker("horses"),
                     worker("racecards"), worker("regions")])
        assert len(booked) == 600
        everything = [s for _, s in booked]
        assert min(gaps(everything)) >= 1.0 / 6 - EPS
        assert busiest_second(everything) <= 6
        for endpoint in ("results", "horses", "racecards", "regions"):
            mine = [s for e, s in booked if e == endpoint]
            rate = SPEC_RATE_LIMITS[endpoint]
            assert min(gaps(mine)) >= 1.0 / rate - EPS, endpoint
            assert busiest_second(mine) <= rate, endpoint


# --- pause (after a 429) ---------------------------------------------------------------------------
def test_pause_pushes_the_next_call_back_and_spacing_resumes_after_it():
    vt = VirtualTime()
    limiter = RateLimiter(5, clock=vt.clock, sleep=vt.sleep)
    limiter.acquire()                           # at 500
    limiter.pause(1.0)
    times = grants(limiter.acquire, vt, 3)
    assert times[0] == pytest.approx(501.0)
    assert gaps(times) == pytest.approx([limiter.interval] * 2)


def test_a_short_or_zero_pause_never_brings_the_next_slot_forward():
    vt = VirtualTime()
    limiter = RateLimiter(2, clock=vt.clock, sleep=vt.sleep)
    limiter.acquire()
    limiter.pause(0.01)
    limiter.pause(0.0)
    limiter.acquire()
    assert vt.now == pytest.approx(500.0 + limiter.interval)


def test_pause_also_holds_a_thread_that_had_already_booked_its_slot():
    """A 429 seen by one thread must stop the others too, including one that booked a slot just
    before the 429 arrived and is now sleeping until it."""
    class GatedTime(VirtualTime):
        def __init__(self):
            super().__init__()
            self.sleeping, self.release = threading.Event(), threading.Event()

        def sleep(self, seconds):
            wake = self.now + seconds           # the clock does not move while the thread sleeps
            self.sleeping.set()
            assert self.release.wait(10)
            self.now = max(self.now, wake)

    gt = GatedTime()
    limits = EndpointLimits(clock=gt.clock, sleep=gt.sleep)
    limits.acquire("results")                   # at 500, no sleep
    granted: list[float] = []
    waiter = threading.Thread(target=lambda: (limits.acquire("results"), granted.append(gt.now)))
    waiter.start()
    assert gt.sleeping.wait(10), "the second call should have booked a slot and gone to sleep"
    limits.pause("results", 1.0)                # the first call came back 429, Retry-After: 1
    gt.release.set()
    waiter.join(10)
    assert granted and granted[0] >= 501.0 - EPS, f"granted at {granted} despite a pause until 501"


def test_pause_applies_to_its_endpoint_only():
    vt = VirtualTime()
    limits = EndpointLimits(clock=vt.clock, sleep=vt.sleep)
    limits.pause("results", 3.0)
    limits.acquire("horses")
    limits.acquire("racecards")
    assert vt.sleeps == []
    limits.acquire("results")
    assert vt.now == pytest.approx(503.0)


# --- EndpointLimits: rates, scale, overrides, global cap --------------------------------------------
def spacing(limits: EndpointLimits, vt: VirtualTime, endpoint: str) -> float:
    times = grants(lambda: limits.acquire(endpoint), vt, 4)
    (gap,) = set(round(g, 9) for g in gaps(times))
    return gap


def test_default_rates_are_the_spec_and_endpoints_are_independent():
    vt = VirtualTime()
    limits = EndpointLimits(clock=vt.clock, sleep=vt.sleep)
    assert limits.rates == SPEC_RATE_LIMITS
    for endpoint in SPEC_RATE_LIMITS:
        limits.acquire(endpoint)
    assert vt.sleeps == [], "one call to each endpoint must not wait"
    for endpoint, rate in SPEC_RATE_LIMITS.items():
        assert 1.0 / rate <= spacing(limits, vt, endpoint) <= 1.05 / rate


def test_scale_and_overrides_change_the_measured_spacing():
    vt = VirtualTime()
    scaled = EndpointLimits(scale=0.5, clock=vt.clock, sleep=vt.sleep)
    assert scaled.rates == {name: rate * 0.5 for name, rate in SPEC_RATE_LIMITS.items()}
    assert spacing(scaled, vt, "results") == pytest.approx(spacing(EndpointLimits(clock=vt.clock, sleep=vt.sleep),
                                                                   vt, "results") * 2)
    overridden = EndpointLimits({"results": 2.0}, clock=vt.clock, sleep=vt.sleep)
    assert overridden.rates["results"] == 2.0 and overridden.rates["horses"] == 5.0
    assert 0.5 <= spacing(overridden, vt, "results") <= 0.525
    assert 0.2 <= spacing(overridden, vt, "horses") <= 0.21
    both = EndpointLimits({"results": 2.0}, scale=10, clock=vt.clock, sleep=vt.sleep)
    assert both.rates["results"] == 20.0 and both.rates["horses"] == 50.0


def test_unknown_endpoint_is_refused():
    limits = EndpointLimits()
    with pytest.raises((KeyError, ValueError)):
        limits.acquire("no-such-endpoint")


def test_global_cap_spaces_calls_across_endpoints():
    vt = VirtualTime()
    limits = EndpointLimits(max_rps=2, clock=vt.clock, sleep=vt.sleep)
    times = []
    for endpoint in ("results", "horses", "racecards", "regions", "courses", "results", "horses"):
        limits.acquire(endpoint)
        times.append(vt.now)
    assert min(gaps(times)) >= 1.0 / 2 - EPS
    assert busiest_second(times) <= 2
    assert vt.now - 500.0 <= 6 * 1.05 / 2, "the cap is the bottleneck here, not the endpoints"


def test_no_global_cap_unless_asked():
    vt = VirtualTime()
    limits = EndpointLimits(clock=vt.clock, sleep=vt.sleep)
    for endpoint in ("results", "horses", "racecards", "regions", "courses"):
        limits.acquire(endpoint)
    assert vt.now == 500.0


def test_a_backlogged_endpoint_does_not_hold_other_endpoints_back_under_the_global_cap():
    """Five racecards booked ahead (2/s: the last one 2 s away) must not make a results call,
    which the cap (10/s) and its own limit would allow almost at once, wait behind all of them."""
    ft = FrozenTime()
    limits = EndpointLimits(max_rps=10, clock=ft.clock, sleep=ft.sleep)
    cards = [ft.slot_of(lambda: limits.acquire("racecards")) for _ in range(5)]
    assert cards[-1] >= 4 / 2
    results = [ft.slot_of(lambda: limits.acquire("results")) for _ in range(3)]
    assert results[0] < 0.3, f"results waited {results[0]:.2f} s behind the racecards queue"
    everything = sorted(cards + results)
    assert min(gaps(everything)) >= 1.0 / 10 - EPS
    assert min(gaps(results)) >= 1.0 / 5 - EPS
    for a, b in combinations(everything, 2):
        assert abs(a - b) >= 1.0 / 10 - EPS


# --- one budget per account across processes (utils.api.shared_budget), on a virtual clock -------------
# Two EndpointLimits with their own SharedBudget on one file behave as two processes of one account:
# each has its own descriptor, so flock excludes them from each other as it does processes. (The same
# over real processes and HTTP: tests/test_shared_budget.py.)
URL = "https://api.theracingapi.com"


def twin_limits(tmp_path, vt, *, users=("alice", "alice"), **kwargs):
    return [EndpointLimits(clock=vt.clock, sleep=vt.sleep,
                           shared=SharedBudget.for_account(URL, user, tmp_path, wall=vt.clock), **kwargs)
            for user in users]


def test_two_processes_of_one_account_take_turns_on_each_endpoint(tmp_path):
    vt = VirtualTime()
    a, b = twin_limits(tmp_path, vt)
    times = []
    for limits in (a, b, a, b, b, a):
        limits.acquire("racecards")
        times.append(vt.now)
    interval = a.limiter("racecards").interval
    assert gaps(times) == pytest.approx([interval] * 5)
    b.acquire("results")                        # another endpoint has its own budget
    assert vt.now == pytest.approx(times[-1])


def test_a_second_process_waits_for_the_slot_the_first_one_booked_and_for_its_pause(tmp_path):
    vt = VirtualTime()
    a, b = twin_limits(tmp_path, vt)
    a.acquire("results")                        # at 500: the next results slot is 500 + interval
    assert b.acquire("results") == pytest.approx(a.limiter("results").interval)
    a.pause("results", 3.0)                     # a 429 in process a, Retry-After: 3
    start = vt.now
    b.acquire("results")
    assert vt.now == pytest.approx(start + 3.0), "process b must honour process a's Retry-After"


def test_the_shared_budget_and_a_per_process_global_cap_hold_together(tmp_path):
    vt = VirtualTime()
    a, b = twin_limits(tmp_path, vt, max_rps=3)
    booked: list[tuple[str, str, float]] = []
    for k in range(30):
        process, name = (a, "a") if k % 3 else (b, "b")
        endpoint = ("results", "horses", "racecards")[k % 3]
        process.acquire(endpoint)
        booked.append((name, endpoint, vt.now))
    for endpoint in ("results", "horses", "racecards"):
        mine = [t for _, e, t in booked if e == endpoint]
        assert min(gaps(mine)) >= a.limiter(endpoint).interval - EPS, endpoint
    for name in ("a", "b"):
        mine = [t for n, _, t in booked if n == name]
        assert min(gaps(mine)) >= 1.0 / 3 - EPS, name


def test_a_late_grant_in_one_process_delays_the_slot_another_had_booked(tmp_path):
    """Process a wakes 0.1 s after its slot (a loaded machine); process b had booked the slot one
    interval after a's and wakes on time: b must still leave a full interval after a's actual grant."""
    vt = VirtualTime()
    budget_a = SharedBudget.for_account(URL, "alice", tmp_path, wall=vt.clock)
    budget_b = SharedBudget.for_account(URL, "alice", tmp_path, wall=vt.clock)
    interval = 0.21
    assert budget_a.book("results", interval) == 0 and budget_a.confirm("results", interval) == (0, False)
    wait_a = budget_a.book("results", interval)            # a's slot: 500.21
    wait_b = budget_b.book("results", interval)            # b's slot: 500.42
    assert (wait_a, wait_b) == pytest.approx((interval, 2 * interval))
    vt.now += wait_a + 0.1                                 # a wakes late, at 500.31
    assert budget_a.confirm("results", interval) == (0, False)
    vt.now = 500.0 + wait_b                                # b wakes on time, at 500.42
    wait, paused = budget_b.confirm("results", interval)
    assert not paused and wait == pytest.approx(0.1), "b must wait for a full interval after a"
    vt.now += wait
    assert budget_b.confirm("results", interval) == (0, False)


def test_a_pause_voids_a_booking_made_before_it(tmp_path):
    vt = VirtualTime()
    a = SharedBudget.for_account(URL, "alice", tmp_path, wall=vt.clock)
    b = SharedBudget.for_account(URL, "alice", tmp_path, wall=vt.clock)
    assert b.book("horses", 0.21) == 0
    a.pause("horses", 2.0)
    wait, paused = b.confirm("horses", 0.21)
    assert paused and wait == pytest.approx(2.0)
    assert b.book("horses", 0.21) == pytest.approx(2.0)


def test_different_accounts_do_not_share_a_budget(tmp_path):
    vt = VirtualTime()
    alice, bob = twin_limits(tmp_path, vt, users=("alice", "bob"))
    alice.acquire("racecards")
    alice.pause("racecards", 30.0)
    bob.acquire("racecards")
    bob.acquire("results")
    assert vt.sleeps == [], "bob waited for alice's budget"
    assert len(list(tmp_path.iterdir())) == 2
    assert account_key(URL, "alice") != account_key(URL, "bob")
    assert account_key(URL, "alice") != account_key("http://127.0.0.1:5000", "alice")


def test_the_state_file_holds_instants_only_no_username_nor_password(tmp_path):
    vt = VirtualTime()
    (limits,) = [EndpointLimits(clock=vt.clock, sleep=vt.sleep, shared=SharedBudget.for_account(
        URL, "alice@example.com", tmp_path, wall=vt.clock))]
    limits.acquire("results")
    limits.pause("results", 1.0)
    (path,) = tmp_path.iterdir()
    text = path.read_text()
    assert "alice" not in path.name and "alice" not in text and "example" not in text
    state = json.loads(text)
    assert set(state) == {"results"} and set(state["results"]) == {"next", "last", "paused"}


def test_a_corrupt_state_file_is_recreated_with_a_warning(tmp_path, caplog):
    vt = VirtualTime()
    budget = SharedBudget.for_account(URL, "alice", tmp_path, wall=vt.clock)
    for garbage in (b"\x00\xff{not json", b'{"results": {"next": "soon"}}', b"[1, 2]", b"{" * 70000):
        budget.path.write_bytes(garbage)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="darkhorses.rate"):
            assert budget.book("results", 0.2) == 0
        assert "corrupt" in caplog.text and "recreating" in caplog.text
        assert set(json.loads(budget.path.read_text())) == {"results"}
    assert not budget.disabled


def test_an_instant_far_ahead_is_a_clock_set_back_and_is_ignored(tmp_path, caplog):
    vt = VirtualTime()
    budget = SharedBudget.for_account(URL, "alice", tmp_path, wall=vt.clock)
    budget.path.write_text(json.dumps({"results": {"next": vt.now + 5000, "last": vt.now - 1}}))
    with caplog.at_level(logging.WARNING, logger="darkhorses.rate"):
        assert budget.book("results", 0.2) == 0
    assert "clock was set back" in caplog.text


def test_an_unusable_state_path_means_pacing_alone_with_one_warning(tmp_path, caplog):
    vt = VirtualTime()
    budget = SharedBudget.for_account(URL, "alice", tmp_path, wall=vt.clock)
    budget.path.mkdir()                         # a directory where the file should be
    limits = EndpointLimits(clock=vt.clock, sleep=vt.sleep, shared=budget)
    with caplog.at_level(logging.WARNING, logger="darkhorses.rate"):
        times = grants(lambda: limits.acquire("results"), vt, 3)
        limits.pause("results", 1.0)
        limits.acquire("results")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert budget.disabled and len(warnings) == 1 and "paces its own calls only" in warnings[0]
    assert gaps(times) == pytest.approx([limits.limiter("results").interval] * 2)
    assert vt.now == pytest.approx(times[-1] + 1.0), "the in-process pause still holds"


def test_state_dir_is_configurable_and_defaults_to_the_user_cache(tmp_path):
    assert state_dir({STATE_DIR_ENV: str(tmp_path)}) == tmp_path
    assert state_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/darkhorses/rate-budget")
    assert state_dir({}).parts[-3:] == (".cache", "darkhorses", "rate-budget")


def test_stale_budget_files_are_removed_when_a_process_opens_its_own(tmp_path):
    old = tmp_path / f"budget-{'0' * 32}.json"
    fresh = tmp_path / f"budget-{'1' * 32}.json"
    other = tmp_path / "notes.txt"
    for path in (old, fresh, other):
        path.write_text("{}")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    os.utime(other, (time.time() - 7200, time.time() - 7200))
    SharedBudget.for_account(URL, "alice", tmp_path).book("results", 0.2)
    assert not old.exists() and fresh.exists() and other.exists()
