"""RacingAPIClient against the simulator over real HTTP on loopback.

Why: the client's promises (every page of a busy day, retries that end in exactly the dataset, typed
errors that stop early, the rate limits held under concurrency, no credentials in any message) only
mean something against a real server with real sockets, resets, timeouts and cut-off bodies. The
simulator's call log is the witness: it counts what actually went over the wire.

Client limits are scaled far up (effectively off) except in the tests about limits; retries use tiny
waits. Ground truth is ``sim.dataset``, read without HTTP.
"""
from __future__ import annotations

import base64
import inspect
import json
import logging
import math
import queue
import threading
import time
import traceback
from collections import Counter
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
import requests

from helpers import FAST_RETRY as FAST, FIXED_TODAY, SIM_PASSWORD, SIM_USER, make_client
from utils.api.client import RacingAPIClient, RetryPolicy
from utils.errors import (
    AuthenticationError,
    ConfigError,
    IncompleteDataError,
    NotFoundError,
    PlanWindowError,
    RacingAPIError,
    ValidationFailed,
)
from utils.simulator.dataset import is_busy_day
from utils.simulator.faults import FaultConfig
from utils.simulator.reply import Reply
from utils.simulator.server import RacingAPISimulator, SimulatorConfig, route

USER, PASSWORD = SIM_USER, SIM_PASSWORD             # the shared simulator's account (tests/conftest.py)
TODAY = FIXED_TODAY                                 # the ``sim`` fixture's today (tests/conftest.py)
BUSY_DAY = date(2024, 12, 26)                       # Boxing Day: > 100 races, two result pages
NORMAL_DAY = date(2025, 1, 4)                       # <= 100 races: one page
REGIONS = ["gb", "ire"]


@pytest.fixture
def client(sim):
    with make_client(sim) as c:
        yield c


def ids(races):
    return [race["race_id"] for race in races]


def statuses(sim, endpoint=None):
    return [call.status for call in sim.calls(endpoint)]


def raw_get(client, endpoint, path, params):
    """One logical call through the client's private retrying ``_get`` with any parameters."""
    if "expect" in inspect.signature(client._get).parameters:      # older signature
        return client._get(endpoint, path, params, expect=dict)
    return client._get(endpoint, path, params, lambda data: None)


def horse_ids(sim, day, *, with_profile: bool, n: int) -> list[str]:
    """``n`` distinct runners of ``day`` (and the days before it) with / without a Pro profile."""
    found = []
    races = [race for back in range(10) for race in sim.dataset.results_for(day - timedelta(days=back))]
    for race in races:
        for runner in race["runners"]:
            hid = runner["horse_id"]
            if (sim.dataset.horse_pro(hid) is not None) == with_profile and hid not in found:
                found.append(hid)
                if len(found) == n:
                    return found
    raise AssertionError("the dataset ran out of horses")


# --- paging and plain data ------------------------------------------------------------------------
def test_a_busy_day_pages_through_every_race(sim, client):
    expected = sim.dataset.results_for(BUSY_DAY)
    assert len(expected) > 100, "the fixture day must need more than one page"
    races = client.results(BUSY_DAY, REGIONS)
    assert ids(races) == ids(expected)
    assert races == expected
    calls = sim.calls("results")
    assert len(calls) == math.ceil(len(expected) / 100) == 2
    assert [c.params["skip"] for c in calls] == [["0"], ["100"]]
    assert all(c.params["limit"] == ["100"] and c.params["region"] == REGIONS for c in calls)
    assert [c.status for c in calls] == [200, 200]


def test_a_busy_day_within_the_last_365_days_of_the_real_date(simulator):
    """Same, against the real today: the most recent busy day that the plan still serves."""
    day = date.today() - timedelta(days=1)
    while not is_busy_day(day):
        day -= timedelta(days=1)
    assert (date.today() - day).days < 365
    with make_client(simulator) as c:
        races = c.results(day, REGIONS)
    expected = simulator.dataset.results_for(day)
    assert len(expected) > 100
    assert ids(races) == ids(expected)
    assert len(simulator.calls("results")) == math.ceil(len(expected) / 100)


def test_a_normal_day_is_one_call(sim, client):
    expected = sim.dataset.results_for(NORMAL_DAY)
    assert 0 < len(expected) <= 100
    assert client.results(NORMAL_DAY, REGIONS) == expected
    assert statuses(sim, "results") == [200]


def test_racecards_regions_and_courses_equal_the_dataset(sim, client):
    assert client.racecards_pro(BUSY_DAY, REGIONS) == sim.dataset.racecards_for(BUSY_DAY)
    assert client.regions() == sim.dataset.regions()
    courses = client.courses(REGIONS)
    assert courses == sim.dataset.courses(REGIONS)
    assert {c["region_code"] for c in courses} == {"gb", "ire"}
    (cards_call,) = sim.calls("racecards")
    assert cards_call.params["region_codes"] == REGIONS and cards_call.params["date"] == [BUSY_DAY.isoformat()]
    (courses_call,) = sim.calls("courses")
    assert courses_call.params["region_codes"] == REGIONS
    assert len(sim.calls()) == 3


def test_a_horse_profile(sim, client):
    (hid,) = horse_ids(sim, NORMAL_DAY, with_profile=True, n=1)
    assert client.horse_pro(hid) == sim.dataset.horse_pro(hid)
    assert statuses(sim, "horses") == [200]


# --- transient faults: retried until the data is exactly the dataset -------------------------------
# (kind, fault rate, fault seed, a status the call log must show, proving the fault really happened).
# The seeds make the faults land early (the injector is deterministic for a single-threaded client);
# 429 uses a milder seed because every 429 costs the client a real one-second pause.
FAULTS = [
    ("5xx", 0.5, 4, lambda s: s >= 500),
    ("429", 0.3, 1, lambda s: s == 429),
    ("reset", 0.5, 4, lambda s: s == 0),
    ("timeout", 0.3, 4, None),
    ("truncated", 0.5, 4, None),
    ("html200", 0.5, 4, None),
    ("short_page", 0.5, 4, None),
]


@pytest.mark.parametrize("kind,rate,seed,witness", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_kind_is_retried_to_exactly_the_dataset(sim, kind, rate, seed, witness):
    sim.set_faults(FaultConfig(rate=rate, kinds=(kind,), timeout_s=2.0, seed=seed))
    # Every 429 costs a real second (Retry-After, or the client's own pause), so that storm is kept
    # to the two endpoints with pages.
    horses = [] if kind == "429" else horse_ids(sim, NORMAL_DAY, with_profile=True, n=3)
    # 429s come in bursts of three; ten attempts ride out two bursts in a row.
    retry = RetryPolicy(attempts=10, initial=0.01, maximum=0.05, jitter=0.0)
    with make_client(sim, retry=retry, timeout=1.0) as c:
        results = c.results(BUSY_DAY, REGIONS)
        cards = c.racecards_pro(BUSY_DAY, REGIONS)
        profiles = [c.horse_pro(h) for h in horses]
    assert results == sim.dataset.results_for(BUSY_DAY)
    assert cards == sim.dataset.racecards_for(BUSY_DAY)
    assert profiles == [sim.dataset.horse_pro(h) for h in horses]
    calls = sim.calls()
    clean = 2 + 1 + len(horses)                     # two result pages, one racecard page, profiles
    assert len(calls) > clean, f"no {kind} fault was injected: the test proves nothing"
    if witness is not None:
        assert any(witness(c.status) for c in calls), [c.status for c in calls]
    # every page was in the end served whole (the 200s also include bodies the client rejected)
    ok = [(c.endpoint, tuple(c.params.get("skip", []))) for c in calls if c.status == 200]
    assert {("results", ("0",)), ("results", ("100",)), ("racecards", ("0",))} <= set(ok)


def test_null_strings_are_valid_data_and_not_retried(sim, client):
    sim.set_faults(FaultConfig(rate=0.9, kinds=("null_strings",), seed=3))
    races = client.results(BUSY_DAY, REGIONS)
    expected = sim.dataset.results_for(BUSY_DAY)
    nulls = 0

    def blank(obj):
        nonlocal nulls
        nulls += sum(v is None for v in obj.values())
        return {k: ("" if v is None else v) for k, v in obj.items()}

    normalised = [{**blank(r), "runners": [blank(x) for x in r["runners"]]} for r in races]
    assert nulls > 0, "the null_strings fault never fired"
    assert normalised == [{**r, "runners": r["runners"]} for r in expected]
    assert statuses(sim, "results") == [200, 200], "a valid body with nulls must not be retried"


# --- errors that stop at once -------------------------------------------------------------------------
def test_wrong_password_fails_fast_with_authentication_error(sim):
    with make_client(sim, password="not-the-password") as c:
        with pytest.raises(AuthenticationError) as err:
            c.results(NORMAL_DAY, REGIONS)
    assert err.value.critical and err.value.status == 401
    assert statuses(sim) == [401]


def test_results_older_than_the_plan_window_raise_plan_window_error(sim, client):
    old = TODAY - timedelta(days=400)
    with pytest.raises(PlanWindowError) as err:
        client.results(old, REGIONS)
    assert err.value.critical
    assert not isinstance(err.value, AuthenticationError), "the plan refusal is not a credentials problem"
    assert statuses(sim) == [401]


def test_the_historical_add_on_serves_old_results():
    old = TODAY - timedelta(days=400)
    config = SimulatorConfig(username=USER, password=PASSWORD, rate_limits=False, today=TODAY,
                             historical_addon=True)
    with RacingAPISimulator(config) as addon, make_client(addon) as c:
        assert c.results(old, REGIONS) == addon.dataset.results_for(old)


@pytest.mark.parametrize("day", [date(2023, 1, 22), TODAY + timedelta(days=8)],
                         ids=["before-2023-01-23", "8-days-ahead"])
def test_racecards_outside_the_window_raise_plan_window_error(sim, client, day):
    with pytest.raises(PlanWindowError):
        client.racecards_pro(day, REGIONS)
    assert statuses(sim) == [422]


def test_racecards_at_the_window_edges_are_served(sim, client):
    for day in (date(2023, 1, 23), TODAY + timedelta(days=7)):
        assert client.racecards_pro(day, REGIONS) == sim.dataset.racecards_for(day)


def test_a_missing_horse_profile_is_not_found_after_one_call(sim, client):
    (hid,) = horse_ids(sim, NORMAL_DAY, with_profile=False, n=1)
    for horse in (hid, "hrs_does_not_exist"):
        sim.reset_calls()
        with pytest.raises(NotFoundError) as err:
            client.horse_pro(horse)
        assert not err.value.critical
        assert statuses(sim) == [404]


@pytest.mark.parametrize("params,words", [
    ({"start_date": NORMAL_DAY.isoformat(), "end_date": NORMAL_DAY.isoformat(), "limit": 101},
     ("limit", "less than or equal to 100")),
    ({"start_date": "2024-13-45", "end_date": NORMAL_DAY.isoformat()}, ("start_date", "Invalid date format")),
    ({"start_date": "2023-01-01", "end_date": "2024-12-31"}, ("end_date", "maximum range")),
], ids=["limit-101", "bad-date", "range-over-365-days"])
def test_invalid_parameters_raise_validation_failed_with_the_detail(sim, client, params, words):
    with pytest.raises(ValidationFailed) as err:
        raw_get(client, "results", "/v1/results", params)
    assert type(err.value) is ValidationFailed, "a malformed request is neither a plan nor an auth problem"
    assert err.value.status == 422
    for word in words:
        assert word in str(err.value)
    assert statuses(sim) == [422]


def test_a_day_that_keeps_failing_gives_up_after_exactly_the_attempts(sim):
    sim.fail_date(NORMAL_DAY, endpoint="results", kind="5xx")
    retry = RetryPolicy(attempts=4, initial=0.01, maximum=0.05, jitter=0.0)
    with make_client(sim, retry=retry) as c:
        with pytest.raises(RacingAPIError) as err:
            c.results(NORMAL_DAY, REGIONS)
        assert not err.value.critical, "one bad day must not stop the run"
        assert err.value.status in (500, 502, 503)
        assert "results" in str(err.value)
        assert len(sim.calls("results")) == 4
        assert all(s >= 500 for s in statuses(sim))
        # the next day is unaffected
        sim.reset_calls()
        next_day = NORMAL_DAY + timedelta(days=1)
        assert c.results(next_day, REGIONS) == sim.dataset.results_for(next_day)


def test_a_total_that_changes_between_pages_fails_the_day(sim, client):
    """The first page says one race more than the second: the rows may have shifted between the
    pages, so the day is refused (a non-critical, typed error for that day), not stored with the
    last page's total."""
    assert len(sim.dataset.results_for(BUSY_DAY)) > 100
    sim.fail_date(BUSY_DAY, endpoint="results", kind="total_changes")
    with pytest.raises(IncompleteDataError) as err:
        client.results(BUSY_DAY, REGIONS)
    assert not err.value.critical and err.value.endpoint == "results"
    assert "total changed between pages" in str(err.value), err.value
    assert [c.params["skip"] for c in sim.calls("results")] == [["0"], ["100"]]
    sim.clear_failures()
    assert client.results(BUSY_DAY, REGIONS) == sim.dataset.results_for(BUSY_DAY)


# --- Retry-After -----------------------------------------------------------------------------------------
def test_retry_after_from_the_servers_rate_limit_is_honoured():
    """Results at 1/s on the server; the client (limits off) asks twice at once: the second call is
    refused with Retry-After: 1 and the retry waits at least that long, far beyond the 0.05 s backoff."""
    config = SimulatorConfig(username=USER, password=PASSWORD, today=TODAY, rate_limits=True, rate_limit_scale=0.2)
    with RacingAPISimulator(config) as s, make_client(s) as c:
        c.results(NORMAL_DAY, REGIONS)
        assert c.results(NORMAL_DAY, REGIONS) == s.dataset.results_for(NORMAL_DAY)
        calls = s.calls("results")
    assert [c.status for c in calls] == [200, 429, 200]
    assert calls[2].at - calls[1].at >= 1.0 - 0.01     # timestamps are wall-clock, to ~ms


def test_a_longer_retry_after_is_honoured_too():
    """A 429 with Retry-After: 2 (longer than the client's own one-second pause) holds the retry 2 s."""
    class SlowDown(RacingAPISimulator):
        refused = False

        def answer(self, authorization, endpoint, path_args, params):
            if endpoint == "results" and not self.refused:
                self.refused = True
                return Reply(429, {"detail": "Too Many Requests"}, {"Retry-After": "2"})
            return super().answer(authorization, endpoint, path_args, params)

    config = SimulatorConfig(username=USER, password=PASSWORD, today=TODAY, rate_limits=False)
    with SlowDown(config) as s, make_client(s) as c:
        assert c.results(NORMAL_DAY, REGIONS) == s.dataset.results_for(NORMAL_DAY)
        calls = s.calls("results")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 2.0 - 0.01


# --- the default limits hold under concurrency -----------------------------------------------------
def busiest_second(stamps: list[float]) -> int:
    """Most calls in any half-open 1-second window [t, t + 1) starting at a call."""
    stamps = sorted(stamps)
    return max(sum(1 for u in stamps if t <= u < t + 1.0) for t in stamps)


class StampingSession(requests.Session):
    """A real session that notes, per endpoint, the wall-clock instant each request leaves."""

    def __init__(self):
        super().__init__()
        self.sent: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def send(self, request, **kwargs):
        endpoint, _ = route(urlsplit(request.url).path)
        with self._lock:
            self.sent.setdefault(endpoint, []).append(time.time())
        return super().send(request, **kwargs)


def test_default_limits_200_mixed_calls_from_threads_see_no_429():
    """Results and horse profiles at 5/s and racecards at 2/s, concurrently from eight threads, at the
    client's DEFAULT limits against a simulator that enforces the spec's limits: not one 429, and no
    1-second window holds more calls to an endpoint than its limit."""
    config = SimulatorConfig(username=USER, password=PASSWORD, today=TODAY, rate_limits=True)
    days = [TODAY - timedelta(days=k) for k in range(1, 7)]
    with RacingAPISimulator(config) as s:
        for day in days:                             # build the days now, not while being timed
            s.dataset.results_for(day)
        horses = horse_ids(s, days[0], with_profile=True, n=72) + horse_ids(s, days[0], with_profile=False, n=8)
        work = {"results": [days[k % 6] for k in range(80)], "horses": horses,
                "racecards": [days[k % 6] for k in range(40)]}
        assert sum(map(len, work.values())) == 200
        session = StampingSession()
        c = RacingAPIClient(USER, PASSWORD, s.base_url, retry=FAST, timeout=10.0, session=session)  # default limits
        queues = {name: queue.SimpleQueue() for name in work}
        for name, items in work.items():
            for item in items:
                queues[name].put(item)
        got = {name: [] for name in work}
        errors = []

        def worker(name):
            fetch = {"results": lambda x: c.results(x, REGIONS), "racecards": lambda x: c.racecards_pro(x, REGIONS),
                     "horses": c.horse_pro}[name]

            def run():
                while True:
                    try:
                        item = queues[name].get_nowait()
                    except queue.Empty:
                        return
                    try:
                        got[name].append((item, fetch(item)))
                    except NotFoundError:
                        got[name].append((item, None))
                    except Exception as exc:             # surfaced below
                        errors.append(exc)
            return run

        threads = [threading.Thread(target=worker(name)) for name in
                   ("results", "results", "results", "horses", "horses", "horses", "racecards", "racecards")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        c.close()
        calls = s.calls()

    assert not errors, errors[:3]
    assert [t.is_alive() for t in threads] == [False] * 8
    assert [x.status for x in calls if x.status not in (200, 404)] == [], "a 429 (or worse) in the call log"
    assert Counter(x.endpoint for x in calls) == {"results": 80, "horses": 80, "racecards": 40}, "retries happened"
    assert sum(x.status == 404 for x in calls) == 8
    for day, races in got["results"]:
        assert ids(races) == ids(s.dataset.results_for(day))
    for day, cards in got["racecards"]:
        assert ids(cards) == ids(s.dataset.racecards_for(day))
    for endpoint, limit in (("results", 5), ("horses", 5), ("racecards", 2)):
        # As the client sent them: strictly within the limit (it spaces calls SAFETY_MARGIN/limit
        # apart, so limit + 1 consecutive calls span SAFETY_MARGIN > 1 s). The client's own send
        # times are the witness: the server's arrival stamps move with the machine's load. (That
        # the limits are also *used* — the 200 calls take about 20 s — is a timing, measured by
        # benchmarks/bench_client_limits.py, not asserted here.)
        assert len(session.sent[endpoint]) == Counter(x.endpoint for x in calls)[endpoint]
        assert busiest_second(session.sent[endpoint]) <= limit, endpoint


# --- credentials never leak ---------------------------------------------------------------------------
SECRET = "s3cr3t-Pa55word-XYZ"


def secrets_for(username: str, password: str) -> list[str]:
    """The password as text and as it travels (inside the Basic auth header)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return [password, token, token[:-2]]


def test_credentials_never_appear_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)                 # every logger, urllib3 and the simulator included
    config = SimulatorConfig(username="acct-user", password=SECRET, today=TODAY, rate_limits=False)
    texts: list[str] = []

    def record(exc: BaseException) -> None:
        texts.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])

    with RacingAPISimulator(config) as s:
        retry = RetryPolicy(attempts=3, initial=0.01, maximum=0.05, jitter=0.0)
        with make_client(s, username="acct-user", password=SECRET, retry=retry, timeout=1.0) as c:
            texts.append(repr(c))
            s.set_faults(FaultConfig(rate=0.6, kinds=("5xx", "reset", "truncated", "html200", "timeout"),
                                     timeout_s=1.5, seed=5))
            for call in (lambda: c.results(NORMAL_DAY, REGIONS), lambda: c.racecards_pro(NORMAL_DAY, REGIONS),
                         lambda: c.horse_pro("hrs_does_not_exist"), c.regions):
                try:
                    call()
                except RacingAPIError as exc:
                    record(exc)
            s.set_faults(FaultConfig())
            s.fail_date(NORMAL_DAY, kind="reset")
            for call in (lambda: c.results(NORMAL_DAY, REGIONS),
                         lambda: c.results(TODAY - timedelta(days=400), REGIONS),
                         lambda: c.racecards_pro(date(2020, 1, 1), REGIONS),
                         lambda: c.horse_pro("hrs_does_not_exist")):
                with pytest.raises(RacingAPIError) as err:
                    call()
                record(err.value)
        s.clear_failures()
        wrong = "s3cr3t-WRONG-Pa55word"
        with make_client(s, username="acct-user", password=wrong) as c:
            with pytest.raises(AuthenticationError) as err:
                c.regions()
            record(err.value)
        statuses_seen = {call.status for call in s.calls()}

    assert {0, 401, 404, 422} <= statuses_seen, "the scenario must have exercised the error paths"
    assert any("retry" in r.getMessage().lower() for r in caplog.records), "retries should be logged"
    everything = "\n".join(texts) + "\n" + caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets_for("acct-user", SECRET) + secrets_for("acct-user", wrong):
        assert secret not in everything


# --- configuration ------------------------------------------------------------------------------------
@pytest.mark.parametrize("env", [
    {},
    {"RACING_API_USERNAME": "someone"},
    {"RACING_API_PASSWORD": "pw"},
    {"RACING_API_USERNAME": "   ", "RACING_API_PASSWORD": "pw"},
    {"RACING_API_USERNAME": "someone", "RACING_API_PASSWORD": "  "},
], ids=["none", "no-password", "no-username", "blank-username", "blank-password"])
def test_missing_credentials_name_both_variables(env):
    with pytest.raises(ConfigError) as err:
        RacingAPIClient.from_env(env)
    assert "RACING_API_USERNAME" in str(err.value) and "RACING_API_PASSWORD" in str(err.value)
    assert err.value.critical


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/", "/v1//"])
def test_base_url_is_normalised_and_works(simulator, suffix):
    env = {"RACING_API_USERNAME": USER, "RACING_API_PASSWORD": PASSWORD,
           "RACING_API_BASE_URL": f"  {simulator.base_url}{suffix}  "}
    with RacingAPIClient.from_env(env) as c:
        assert c.base_url == simulator.base_url
        assert c.regions() == simulator.dataset.regions()
    assert [call.path for call in simulator.calls()] == ["/v1/courses/regions"]


def test_base_url_default_and_explicit_argument():
    env = {"RACING_API_USERNAME": USER, "RACING_API_PASSWORD": PASSWORD}
    with RacingAPIClient.from_env(env) as c:
        assert c.base_url == "https://api.theracingapi.com"
    with RacingAPIClient.from_env({**env, "RACING_API_BASE_URL": "https://elsewhere.test/v1"},
                                  base_url="https://proxy.test/v1/") as c:
        assert c.base_url == "https://proxy.test"


@pytest.mark.parametrize("url", ["ftp://api.theracingapi.com/v1", "api.theracingapi.com/v1", "http://",
                                 "https:/api.theracingapi.com", "https://user:hunter2@api.theracingapi.com"])
def test_bad_base_url_is_a_config_error(url):
    env = {"RACING_API_USERNAME": USER, "RACING_API_PASSWORD": PASSWORD, "RACING_API_BASE_URL": url}
    with pytest.raises(ConfigError) as err:
        RacingAPIClient.from_env(env)
    assert "RACING_API_BASE_URL" in str(err.value)
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize("content_type, body", [
    ("application/json", '{"course": "Hexham £5,000 – €"}'.encode()),
    ("application/json; charset=UTF-8", '{"course": "Hexham £5,000 – €"}'.encode()),
    ("application/json; charset=ISO-8859-1", '{"course": "Hexham £5,000"}'.encode("latin-1")),
])
def test_json_bodies_decode_by_their_declared_charset(content_type, body):
    """UTF-8 bodies are parsed from the bytes; another declared charset still decodes correctly."""
    from requests.structures import CaseInsensitiveDict

    from utils.api.client import _json_body

    response = requests.Response()
    response.status_code = 200
    response.headers = CaseInsensitiveDict({"Content-Type": content_type})
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response._content = body
    expected = body.decode("latin-1" if "8859" in content_type else "utf-8")
    assert _json_body(response) == json.loads(expected)


def test_messages_show_the_query_as_sent():
    """A list parameter repeats its key, as on the wire; empty values are left out."""
    from utils.api.client import _query

    assert _query({"start_date": "2026-01-01", "region": ["gb", "ire"], "limit": 100, "skip": 0,
                   "course": None, "empty": []}) == \
        "start_date=2026-01-01&region=gb&region=ire&limit=100&skip=0"
