"""RacingAPIClient against the simulator over real HTTP on loopback: paging, retries of every fault
kind, typed errors, rate limits at the defaults, and credentials kept out of messages and logs."""
from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest

from tests.conftest import SIM_PASSWORD, SIM_USERNAME
from utils import api_client
from utils.api_client import RacingAPIClient, RetryPolicy
from utils.credentials import api_credentials, load_env
from utils.errors import (AuthenticationError, BadResponseError, ConfigError, IncompleteDataError,
                          NotFoundError, PlanWindowError, RacingAPIError, ValidationFailed)
from utils.simulator import FaultConfig, RacingAPISimulator, SimulatorConfig

TODAY = date(2025, 1, 10)
BUSY_DAY = date(2024, 12, 26)             # 100+ races: two result pages at limit=100
QUIET_DAYS = [date(2024, 11, 4) + timedelta(days=i) for i in range(4)]
REGIONS = ["gb", "ire"]
FAST = RetryPolicy(attempts=5, initial=0.01, maximum=0.05, jitter=0.0)
SECRET = "Zq9-distinctive-S3cret!"        # a password no message or log line may ever contain


def client_for(sim, *, retry=FAST, timeout=2.0, password=SIM_PASSWORD, username=SIM_USERNAME, **kw):
    return RacingAPIClient(username, password, sim.base_url, retry=retry, timeout=timeout,
                           rate_scale=kw.pop("rate_scale", 50), **kw)


def by_id(rows):
    return sorted(rows, key=lambda row: row["race_id"])


def blank_nulls(obj):
    """The dataset with ``None`` read as ``""`` (the ``null_strings`` fault's only change)."""
    if isinstance(obj, dict):
        return {k: blank_nulls(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [blank_nulls(v) for v in obj]
    return "" if obj is None else obj


def statuses(sim, endpoint=None):
    return [call.status for call in sim.calls(endpoint)]


@pytest.fixture
def sim(simulator):
    simulator.today = TODAY
    return simulator


@pytest.fixture
def client(sim):
    with client_for(sim) as c:
        yield c


# --- paging ---------------------------------------------------------------------------------------
def test_busy_day_returns_every_race_in_one_call_per_page(sim, client):
    expected = sim.dataset.results_for(BUSY_DAY, REGIONS)
    assert len(expected) > 100
    assert by_id(client.results(BUSY_DAY, REGIONS)) == by_id(expected)
    calls = sim.calls("results")
    assert len(calls) == 2
    assert [c.params["skip"] for c in calls] == [["0"], ["100"]]
    assert all(c.params["limit"] == ["100"] and c.params["region"] == REGIONS
               and c.params["start_date"] == c.params["end_date"] == [BUSY_DAY.isoformat()] for c in calls)
    assert client.stats["results"] == {"calls": 2, "retries": 0, "429s": 0}


def test_racecards_regions_courses_and_a_horse(sim, client):
    day = TODAY - timedelta(days=1)
    assert by_id(client.racecards_pro(day, REGIONS)) == by_id(sim.dataset.racecards_for(day, REGIONS))
    assert [c.params["limit"] for c in sim.calls("racecards")] == [["500"]]
    assert {r["region_code"] for r in client.regions()} >= {"gb", "ire"}
    assert {c["region_code"] for c in client.courses(REGIONS)} == {"gb", "ire"}
    horse_id = sim.dataset.results_for(BUSY_DAY, REGIONS)[0]["runners"][0]["horse_id"]
    profile = sim.dataset.horse_pro(horse_id)
    if profile is not None:
        assert client.horse_pro(horse_id) == profile


def test_a_day_without_races_is_an_empty_list(sim, client):
    assert client.results(TODAY + timedelta(days=3), REGIONS) == []


# --- faults, each retried to success ------------------------------------------------------------
@pytest.mark.parametrize("kind", ["5xx", "reset", "truncated", "html200", "short_page"])
def test_fault_is_retried_to_the_exact_dataset(sim, client, kind):
    sim.set_faults(FaultConfig(rate=0.4, kinds=(kind,), seed=7))
    days = [BUSY_DAY, *QUIET_DAYS]
    got = {day: by_id(client.results(day, REGIONS)) for day in days}
    cards = by_id(client.racecards_pro(BUSY_DAY, REGIONS))
    sim.set_faults(FaultConfig())
    assert got == {day: by_id(sim.dataset.results_for(day, REGIONS)) for day in days}
    assert cards == by_id(sim.dataset.racecards_for(BUSY_DAY, REGIONS))
    stats = client.stats
    assert stats["results"]["retries"] + stats["racecards"]["retries"] > 0, "no fault was injected"


def test_timeouts_are_retried():
    """Own simulator: a timed-out request's server thread logs its call when it wakes, which must
    not land in the shared simulator's log during a later test."""
    faults = FaultConfig(rate=0.3, kinds=("timeout",), timeout_s=2.0, seed=3)
    with RacingAPISimulator(SimulatorConfig(today=TODAY, rate_limits=False, faults=faults)) as sim:
        with client_for(sim, timeout=1.0) as client:
            rows = client.results(BUSY_DAY, REGIONS) + client.results(QUIET_DAYS[0], REGIONS)
            assert client.stats["results"]["retries"] > 0
    expected = sim.dataset.results_for(BUSY_DAY, REGIONS) + sim.dataset.results_for(QUIET_DAYS[0], REGIONS)
    assert by_id(rows) == by_id(expected)


def test_null_strings_are_passed_through_not_retried(sim, client):
    sim.set_faults(FaultConfig(rate=1.0, kinds=("null_strings",), seed=2))
    rows = client.results(BUSY_DAY, REGIONS)
    assert client.stats["results"]["retries"] == 0
    assert blank_nulls(by_id(rows)) == by_id(sim.dataset.results_for(BUSY_DAY, REGIONS))


def test_429_storm_is_ridden_out_honouring_retry_after(sim):
    sim.set_faults(FaultConfig(rate=0.3, kinds=("429",), seed=1))
    horses = [r["horse_id"] for r in sim.dataset.results_for(QUIET_DAYS[0], REGIONS)[0]["runners"][:3]]
    with client_for(sim, retry=RetryPolicy(attempts=10, initial=0.01, maximum=0.05, jitter=0.0)) as client:
        rows = client.results(BUSY_DAY, REGIONS)
        for horse_id in horses:
            try:
                assert client.horse_pro(horse_id) == sim.dataset.horse_pro(horse_id)
            except NotFoundError:
                assert sim.dataset.horse_pro(horse_id) is None
        stats = client.stats
    assert by_id(rows) == by_id(sim.dataset.results_for(BUSY_DAY, REGIONS))
    assert stats["results"]["429s"] + stats["horses"]["429s"] == statuses(sim).count(429) > 0
    # The server says Retry-After: 1 (or nothing, and the endpoint is paused 1 s): the next call
    # to that endpoint comes no sooner.
    for endpoint in ("results", "horses"):
        calls = sim.calls(endpoint)
        for before, after in zip(calls, calls[1:]):
            if before.status == 429:
                assert after.at - before.at >= 0.9


# --- typed, final errors --------------------------------------------------------------------------
def test_wrong_credentials_fail_fast(sim):
    with client_for(sim, password="wrong-password") as client:
        with pytest.raises(AuthenticationError) as info:
            client.results(BUSY_DAY, REGIONS)
    assert info.value.critical and info.value.status == 401
    assert statuses(sim) == [401]


def test_results_beyond_the_plan_window_are_a_plan_window_error(sim, client):
    with pytest.raises(PlanWindowError) as info:
        client.results(TODAY - timedelta(days=400), REGIONS)
    assert info.value.critical and not isinstance(info.value, AuthenticationError)
    assert "add-on" in str(info.value)
    assert statuses(sim) == [401]


def test_racecards_before_tracking_began_are_a_plan_window_error(sim, client):
    with pytest.raises(PlanWindowError):
        client.racecards_pro(date(2022, 12, 1), REGIONS)
    assert statuses(sim) == [422]


def test_unknown_horse_is_not_found(sim, client):
    with pytest.raises(NotFoundError) as info:
        client.horse_pro("hrs_does_not_exist")
    assert info.value.status == 404 and not info.value.critical
    assert statuses(sim) == [404]


def test_invalid_parameters_are_validation_failed_with_the_detail(sim, client, monkeypatch):
    monkeypatch.setattr(api_client, "RESULTS_PAGE", 1000)
    with pytest.raises(ValidationFailed) as info:
        client.results(BUSY_DAY, REGIONS)
    assert "limit" in str(info.value) and "less than or equal to 100" in str(info.value)
    assert statuses(sim) == [422]


def test_a_404_on_a_listing_is_no_data(sim, client):
    assert client._all_pages("results", "/v1/no-such-listing", {}, "results", 100) == []


@pytest.mark.parametrize("kind, error", [("5xx", RacingAPIError), ("html200", BadResponseError),
                                         ("short_page", IncompleteDataError), ("reset", RacingAPIError)])
def test_a_day_that_keeps_failing_raises_after_exactly_attempts_calls(sim, client, kind, error):
    sim.fail_date(BUSY_DAY, "results", kind)
    with pytest.raises(error) as info:
        client.results(BUSY_DAY, REGIONS)
    assert not info.value.critical and info.value.endpoint == "results"
    assert "gave up after 5 attempts" in str(info.value)
    assert len(sim.calls("results")) == FAST.attempts
    assert client.stats["results"]["retries"] == FAST.attempts - 1


# --- credentials ----------------------------------------------------------------------------------
def test_missing_credentials_name_both_variables():
    for env in ({}, {"RACING_API_USERNAME": "u"}, {"RACING_API_PASSWORD": "p"},
                {"RACING_API_USERNAME": " ", "RACING_API_PASSWORD": "p"}):
        with pytest.raises(ConfigError, match="RACING_API_USERNAME and RACING_API_PASSWORD"):
            RacingAPIClient.from_env(env)
    assert api_credentials({"RACING_API_USERNAME": "u", "RACING_API_PASSWORD": "p w"}) == ("u", "p w")


def test_from_env_normalises_the_base_url_and_reads_the_settings():
    env = {"RACING_API_USERNAME": "u", "RACING_API_PASSWORD": "p", "RACING_API_MAX_RPS": "3",
           "RACING_API_BASE_URL": "http://127.0.0.1:9/v1/"}
    client = RacingAPIClient.from_env(env)
    assert client.base_url == "http://127.0.0.1:9"
    assert client.limits.global_cap.rate == 3
    assert RacingAPIClient.from_env(env, base_url="https://api.example/").base_url == "https://api.example"
    with pytest.raises(ConfigError, match="RACING_API_MAX_RPS"):
        RacingAPIClient.from_env({**env, "RACING_API_MAX_RPS": "fast"})
    with pytest.raises(ConfigError):
        RacingAPIClient.from_env({**env, "RACING_API_BASE_URL": "https://u:pw@api.example"})


def test_load_env_precedence_environment_then_env_local_then_env(tmp_path, monkeypatch):
    (tmp_path / ".env.local").write_text("DH_T_A=local\nDH_T_B=local\n")
    (tmp_path / ".env").write_text("DH_T_A=env\nDH_T_B=env\nDH_T_C=env\n")
    for name in ("DH_T_A", "DH_T_B", "DH_T_C"):
        monkeypatch.setenv(name, "x")     # recorded, so teardown removes what load_env sets
        monkeypatch.delenv(name)
    monkeypatch.setenv("DH_T_A", "real")
    assert load_env(tmp_path) == [tmp_path / ".env.local", tmp_path / ".env"]
    assert (os.environ["DH_T_A"], os.environ["DH_T_B"], os.environ["DH_T_C"]) == ("real", "local", "env")


def test_the_password_never_reaches_messages_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    config = SimulatorConfig(username="demo", password=SECRET, today=TODAY, rate_limits=False)
    with RacingAPISimulator(config) as sim:
        errors = []
        with client_for(sim, password=SECRET) as client:
            sim.set_faults(FaultConfig(rate=0.5, kinds=("5xx", "reset", "html200", "short_page"), seed=5))
            client.results(BUSY_DAY, REGIONS)
            sim.fail_date(QUIET_DAYS[0], "results", "reset")
            with pytest.raises(RacingAPIError) as info:
                client.results(QUIET_DAYS[0], REGIONS)
            errors.append(info.value)
            with pytest.raises(NotFoundError) as info:
                client.horse_pro("hrs_does_not_exist")
            errors.append(info.value)
        with client_for(sim, password=SECRET + "-wrong") as client:
            with pytest.raises(AuthenticationError) as info:
                client.regions()
            errors.append(info.value)
    assert "WARNING" in caplog.text and "retry" in caplog.text      # the logs did record the retries
    for error in errors:
        assert SECRET not in str(error) and SECRET not in repr(error)
    assert SECRET not in caplog.text


# --- rate limits at the defaults ------------------------------------------------------------------
def most_in_any_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps if start <= t < start + 1.0) for start in stamps)


def run_all(jobs):
    for fn, *args in jobs:
        fn(*args)


def stamp_sends(client) -> dict[str, list[float]]:
    """Record when the client actually hands each request to the network, per endpoint."""
    sends: dict[str, list[float]] = {}
    get = client.session.get

    def stamped(url, **kwargs):
        endpoint = url.split("/v1/", 1)[1].split("/")[0]          # results, racecards, horses
        sends.setdefault(endpoint, []).append(time.time())
        return get(url, **kwargs)

    client.session.get = stamped
    return sends


def test_default_limits_never_draw_a_429_from_a_rate_limited_server():
    """~200 calls from 6 threads: results and horses (5/s each) beside racecards (2/s), against a
    server enforcing the documented token buckets (capacity = limit, refill = limit/s).

    Checked three ways: the server refused nothing; the client's own send times never exceed the
    limit in any one-second window; the server's call log agrees within one call. (The log stamps
    a call after building its answer, so a busy or CPU-starved simulator thread can stamp two calls
    close together that arrived properly spaced.)
    """
    days = [TODAY - timedelta(days=d) for d in range(1, 9)]          # few days: the server's cache stays warm
    config = SimulatorConfig(today=TODAY, rate_limits=True, rate_limit_scale=1.0)
    with RacingAPISimulator(config) as sim:
        horse_ids = [runner["horse_id"] for day in days for race in sim.dataset.results_for(day, REGIONS)
                     for runner in race["runners"]][:75]
        for day in days:
            sim.dataset.racecards_for(day, REGIONS)

        with client_for(sim, rate_scale=1.0, timeout=15.0) as client:
            sends = stamp_sends(client)

            def horse(horse_id):
                try:
                    client.horse_pro(horse_id)
                except NotFoundError:
                    pass

            streams = [[(client.results, day, REGIONS) for day in days * 10],         # 80+ calls
                       [(horse, horse_id) for horse_id in horse_ids],                # 75 calls
                       [(client.racecards_pro, day, REGIONS) for day in days * 5]]   # 40 calls
            with ThreadPoolExecutor(max_workers=2 * len(streams)) as pool:
                futures = [pool.submit(run_all, stream[i::2]) for stream in streams for i in (0, 1)]
                for future in futures:
                    future.result()
            stats = client.stats

    calls = sim.calls()
    assert len(calls) >= 195
    assert [c for c in calls if c.status == 429] == []
    assert sum(s["429s"] + s["retries"] for s in stats.values()) == 0
    for endpoint, limit in {"results": 5, "horses": 5, "racecards": 2}.items():
        assert most_in_any_second(sends[endpoint]) <= limit, endpoint
        assert most_in_any_second([c.at for c in calls if c.endpoint == endpoint]) <= limit + 1, endpoint
