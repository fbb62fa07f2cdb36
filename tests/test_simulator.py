"""Behaviour of the Racing API simulator over real HTTP on loopback.

Why: every other test (client retries, backfill, verification) trusts the simulator to behave like the
real API; these tests pin the behaviours they rely on.
"""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import requests

from helpers import FIXED_TODAY, SIM_PASSWORD, SIM_USER
from utils.simulator.dataset import Dataset
from utils.simulator.faults import FaultConfig
from utils.simulator.server import HISTORY_DETAIL, RacingAPISimulator, SimulatorConfig

AUTH = (SIM_USER, SIM_PASSWORD)         # the shared simulator's account
TODAY = FIXED_TODAY                     # the shared ``sim`` fixture's today (tests/conftest.py)
BUSY_DAY = date(2024, 12, 26)         # > 100 races: two result pages at limit=100
REPO = Path(__file__).resolve().parents[1]
JUNE = [date(2024, 6, 1) + timedelta(days=i) for i in range(30)]    # shared by tests: the day cache is warm


def get(sim, path, auth=AUTH, timeout=10, **params):
    return requests.get(sim.base_url + path, params=params, auth=auth, timeout=timeout)


def results(sim, day, **extra):
    params = {"start_date": day.isoformat(), "end_date": day.isoformat(), "region": ["gb", "ire"],
              "limit": 100, **extra}
    return get(sim, "/v1/results", **params)


def racecards(sim, day, **extra):
    return get(sim, "/v1/racecards/pro", date=day.isoformat(), region_codes=["gb", "ire"], **extra)


def all_results(sim, day):
    rows, total, skip = [], None, 0
    while total is None or skip < total:
        page = results(sim, day, skip=skip).json()
        total = page["total"]
        rows += page["results"]
        skip += 100
    return rows, total


# --- auth and validation -------------------------------------------------------------------------
@pytest.mark.parametrize("auth", [("demo", "wrong"), None])
def test_bad_or_missing_credentials_are_401_even_with_faults(sim, auth):
    sim.set_faults(FaultConfig(rate=1.0, kinds=("5xx",)))
    reply = get(sim, "/v1/courses/regions", auth=auth)
    assert reply.status_code == 401
    assert reply.json() == {"detail": "Invalid credentials"}
    assert [c.status for c in sim.calls("regions")] == [401]


def test_unknown_path_is_404(sim):
    reply = get(sim, "/v1/nope")
    assert reply.status_code == 404 and reply.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("params", [
    {"start_date": "2024-13-01", "end_date": "2024-12-01"},
    {"start_date": "2024-12-01", "end_date": "2024-12-01", "limit": 101},
    {"start_date": "2024-12-01", "end_date": "2024-12-01", "limit": 0},
    {"start_date": "2024-12-01", "end_date": "2024-12-01", "skip": 20001},
    {"start_date": "2024-12-02", "end_date": "2024-12-01"},
])
def test_invalid_results_parameters_are_422_with_a_detail_list(sim, params):
    reply = get(sim, "/v1/results", **params)
    assert reply.status_code == 422
    assert isinstance(reply.json()["detail"], list) and reply.json()["detail"][0]["loc"][0] == "query"


def test_invalid_racecard_date_is_422(sim):
    reply = get(sim, "/v1/racecards/pro", date="yesterday")
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"] == ["query", "date"]


# --- paging, plan windows, calendar ----------------------------------------------------------------
def test_busy_day_needs_two_pages_and_paging_is_complete(sim):
    rows, total = all_results(sim, BUSY_DAY)
    ids = [r["race_id"] for r in rows]
    assert total > 100 and len(rows) == total and len(set(ids)) == total
    assert rows == sim.dataset.results_for(BUSY_DAY)
    keys = [(datetime.fromisoformat(r["off_dt"]), r["race_id"]) for r in rows]
    assert keys == sorted(keys)
    assert len(results(sim, BUSY_DAY, limit=None).json()["results"]) == 50    # default limit


def test_racecard_plan_window(sim):
    assert racecards(sim, date(2023, 1, 22)).status_code == 422
    assert isinstance(racecards(sim, date(2023, 1, 22)).json()["detail"], str)
    assert racecards(sim, date(2023, 1, 23)).status_code == 200
    assert racecards(sim, TODAY + timedelta(days=7)).status_code == 200
    assert racecards(sim, TODAY + timedelta(days=8)).status_code == 422


def test_results_older_than_a_year_need_the_addon(sim):
    old = TODAY - timedelta(days=366)
    refused = results(sim, old)
    assert refused.status_code == 401 and refused.json() == {"detail": HISTORY_DETAIL}
    assert results(sim, TODAY - timedelta(days=365)).status_code == 200
    with RacingAPISimulator(SimulatorConfig(historical_addon=True, rate_limits=False, today=TODAY)) as addon:
        reply = results(addon, date(2016, 6, 4))
        assert reply.status_code == 200 and reply.json()["total"] > 0


def test_christmas_day_is_empty_and_the_future_has_no_results(sim):
    christmas = date(2024, 12, 25)
    assert results(sim, christmas).json()["total"] == 0
    assert racecards(sim, christmas).json()["total"] == 0
    assert results(sim, TODAY + timedelta(days=1)).json()["total"] == 0


def test_reference_endpoints(sim):
    regions = get(sim, "/v1/courses/regions").json()
    assert {"gb", "ire", "fr", "usa", "aus"} <= {r["region_code"] for r in regions} and len(regions) >= 20
    page = get(sim, "/v1/courses", region_codes=["gb", "ire"]).json()
    by_region = Counter(c["region_code"] for c in page["courses"])
    assert page["total"] == len(page["courses"]) and by_region == {"gb": 69, "ire": 32}
    assert all(re.fullmatch(r"crs_\d+", c["id"]) for c in page["courses"])
    assert "Lingfield (AW)" in {c["course"] for c in page["courses"]}


# --- determinism and consistency ---------------------------------------------------------------------
def test_same_seed_same_payloads_different_seed_differs(sim):
    day = date(2024, 11, 2)
    with RacingAPISimulator(SimulatorConfig(seed=42, rate_limits=False, today=TODAY)) as twin, \
            RacingAPISimulator(SimulatorConfig(seed=7, rate_limits=False, today=TODAY)) as other:
        mine, twins, others = (results(s, day).json()["results"] for s in (sim, twin, other))
    assert mine == twins and mine != others
    assert Dataset(42).racecards_for(day) == sim.dataset.racecards_for(day)


def test_pedigree_is_identical_on_cards_results_and_profiles(sim):
    day = date(2024, 10, 5)
    cards = {c["race_id"]: {r["horse_id"]: r for r in c["runners"]} for c in racecards(sim, day).json()["racecards"]}
    keys = ("horse", "sire", "sire_id", "dam", "dam_id", "damsire", "damsire_id")
    checked = 0
    for race in results(sim, day).json()["results"]:
        for runner in race["runners"]:
            card = cards[race["race_id"]][runner["horse_id"]]
            assert {k: runner[k] for k in keys} == {k: card[k] for k in keys}
            assert runner["sex"] == card["sex_code"] and runner["age"] == card["age"]
            assert int(card["age"]) == day.year - int(card["dob"][:4])
            profile = sim.dataset.horse_pro(runner["horse_id"])
            if profile and checked < 10:
                served = get(sim, f"/v1/horses/{runner['horse_id']}/pro").json()
                assert served == profile and served["name"] == card["horse"] and served["dob"] == card["dob"]
                assert {k: served[k] for k in keys[1:]} == {k: card[k] for k in keys[1:]}
                checked += 1
    assert checked == 10


def test_horse_profiles_404_for_some_horses_unknown_ids_and_parent_ids(sim):
    ds = sim.dataset
    ids = {r["horse_id"] for day in (date(2024, 9, 7), date(2024, 9, 8))
           for race in ds.results_for(day) for r in race["runners"]}
    missing = sum(ds.horse_pro(h) is None for h in ids) / len(ids)
    assert 0.03 < missing < 0.15
    gone = next(h for h in sorted(ids) if ds.horse_pro(h) is None)
    assert get(sim, f"/v1/horses/{gone}/pro").status_code == 404
    assert get(sim, "/v1/horses/hrs_nope/pro").json() == {"detail": "Not Found"}
    sire_id = ds.horse_pro(next(h for h in sorted(ids) if ds.horse_pro(h)))["sire_id"]
    assert get(sim, f"/v1/horses/hrs_{sire_id[4:]}/pro").status_code == 404


def test_horses_race_again_with_the_same_identity(sim):
    seen: dict[str, tuple] = {}
    repeats = 0
    for offset in range(0, 60, 3):
        for race in sim.dataset.results_for(date(2024, 5, 1) + timedelta(days=offset)):
            for r in race["runners"]:
                ident = (r["horse"], r["sire_id"], r["dam_id"], r["damsire_id"])
                repeats += r["horse_id"] in seen
                assert seen.setdefault(r["horse_id"], ident) == ident
    assert repeats > 50


def test_racecards_cover_results_and_list_non_runners(sim):
    day = date(2024, 11, 30)
    cards = {c["race_id"]: c for c in sim.dataset.racecards_for(day)}
    races = sim.dataset.results_for(day)
    assert {r["race_id"] for r in races} <= set(cards)
    non_runner_races = 0
    for race in races:
        card_ids = {r["horse_id"] for r in cards[race["race_id"]]["runners"]}
        result_ids = {r["horse_id"] for r in race["runners"]}
        assert result_ids <= card_ids
        assert bool(race["non_runners"]) == (card_ids != result_ids)
        non_runner_races += card_ids != result_ids
        assert not cards[race["race_id"]]["is_abandoned"]
    assert non_runner_races > 0


def test_abandoned_races_have_no_result(sim):
    ds = sim.dataset
    abandoned = [c for day in JUNE for c in ds.racecards_for(day) if c["is_abandoned"]]
    assert abandoned
    for card in abandoned:
        assert card["race_id"] not in {r["race_id"] for r in ds.results_for(date.fromisoformat(card["date"]))}


@pytest.mark.parametrize("day,offset", [(date(2024, 3, 30), "+00:00"), (date(2024, 3, 31), "+01:00"),
                                        (date(2024, 10, 26), "+01:00"), (date(2024, 10, 27), "+00:00")])
def test_off_dt_offset_on_clock_change_days_and_twelve_hour_off(sim, day, offset):
    for race in sim.dataset.results_for(day):
        off_dt = datetime.fromisoformat(race["off_dt"])
        assert race["off_dt"].endswith(offset) and off_dt.hour >= 12
        assert re.fullmatch(r"(1[0-2]|[1-9]):[0-5]\d", race["off"])
        assert race["off"] == f"{off_dt.hour % 12 or 12}:{off_dt.minute:02d}"


def test_result_value_formats():
    races = [r for d in range(7) for r in Dataset(3).results_for(date(2024, 1, 6) + timedelta(days=d))]
    runners = [x for r in races for x in r["runners"]]
    positions = Counter(x["position"] for x in runners)
    assert {"PU", "F"} <= set(positions) and positions["1"] >= len(races)
    for x in runners:
        stones, pounds = map(int, x["weight"].split("-"))
        assert stones * 14 + pounds == int(x["weight_lbs"])
        assert re.fullmatch(r"\d+/\d+F?|EvsF?", x["sp"]) and float(x["sp_dec"]) > 1
        assert (x["time"] == "") == (not x["position"].isdigit() or x["position"] in ("DSQ", "VOI"))
    assert all(re.fullmatch(r"rac_\d+", r["race_id"]) for r in races)
    assert {"Flat", "Hurdle", "Chase"} <= {r["type"] for r in races}
    assert any(r["region"] == "IRE" and r["tote_win"].startswith("€") for r in races)
    assert all(re.fullmatch(r"\d+f|\d+\.5f", r["dist_f"]) for r in races)


# --- volumes -------------------------------------------------------------------------------------------
def test_volumes_over_a_month_are_realistic(sim):
    cards = {day: sim.dataset.racecards_for(day) for day in JUNE}
    total = sum(len(c) for c in cards.values())
    assert 850 <= total <= 1400
    saturdays = [len(c) for d, c in cards.items() if d.weekday() == 5]
    mondays = [len(c) for d, c in cards.items() if d.weekday() == 0]
    assert min(saturdays) >= 45 and max(mondays) < min(saturdays)
    gb = sum(1 for c in cards.values() for race in c if race["region"] == "GB")
    assert 0.65 < gb / total < 0.85
    runners = [len(race["runners"]) for c in cards.values() for race in c]
    assert 7 <= sum(runners) / len(runners) <= 13


# --- faults ---------------------------------------------------------------------------------------------
def _fault(sim, kind, **extra):
    sim.set_faults(FaultConfig(rate=1.0, kinds=(kind,), timeout_s=1.0, **extra))


def test_fault_5xx(sim):
    _fault(sim, "5xx")
    assert results(sim, BUSY_DAY).status_code in (500, 502, 503)


def test_fault_429_is_a_burst(sim):
    _fault(sim, "429")
    statuses = [results(sim, BUSY_DAY).status_code for _ in range(3)]
    sim.set_faults(FaultConfig())
    assert statuses == [429, 429, 429] and results(sim, BUSY_DAY).status_code == 200


def test_fault_reset(sim):
    _fault(sim, "reset")
    with pytest.raises(requests.ConnectionError):
        results(sim, BUSY_DAY)
    assert sim.calls("results")[-1].status == 0


def test_fault_timeout(sim):
    _fault(sim, "timeout")
    with pytest.raises(requests.Timeout):
        get(sim, "/v1/courses/regions", timeout=0.3)


def test_fault_truncated(sim):
    _fault(sim, "truncated")
    for _ in range(4):     # both variants: short Content-Length body, or a body cut mid-transfer
        with pytest.raises((ValueError, requests.exceptions.ChunkedEncodingError)):
            results(sim, BUSY_DAY).json()


def test_fault_html200(sim):
    _fault(sim, "html200")
    reply = results(sim, BUSY_DAY)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        reply.json()


def _blank_nulls(obj):
    if isinstance(obj, dict):
        return {k: ("" if v is None else _blank_nulls(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_blank_nulls(v) for v in obj]
    return obj


def test_fault_null_strings_keeps_the_meaning(sim):
    _fault(sim, "null_strings")
    page = results(sim, BUSY_DAY).json()
    assert "null" in json.dumps(page)
    assert _blank_nulls(page["results"]) == sim.dataset.results_for(BUSY_DAY)[:100]


def test_fault_short_page_keeps_total(sim):
    _fault(sim, "short_page")
    page = results(sim, BUSY_DAY).json()
    assert page["total"] == len(sim.dataset.results_for(BUSY_DAY)) and len(page["results"]) < 100


def test_fault_total_changes_between_the_pages_of_a_day(sim):
    """The first page reports one race more than the later pages: a day that changed while paged."""
    real = len(sim.dataset.results_for(BUSY_DAY))
    assert real > 100
    sim.fail_date(BUSY_DAY, endpoint="results", kind="total_changes")
    first, second = results(sim, BUSY_DAY, skip=0).json(), results(sim, BUSY_DAY, skip=100).json()
    assert (first["total"], second["total"]) == (real + 1, real)
    assert first["results"] + second["results"] == sim.dataset.results_for(BUSY_DAY)
    assert sim.faults_injected == Counter({"total_changes": 2})


def test_queued_faults_come_first_and_every_fault_is_counted(sim):
    sim.queue_faults("5xx", "html200")
    assert results(sim, BUSY_DAY).status_code >= 500
    assert results(sim, BUSY_DAY).headers["Content-Type"].startswith("text/html")
    assert results(sim, BUSY_DAY).status_code == 200
    assert sim.faults_injected == Counter({"5xx": 1, "html200": 1})
    with pytest.raises(ValueError):
        sim.queue_faults("not-a-fault")
    sim.reset_fault_counts()
    assert sim.faults_injected == Counter()


def test_a_hold_keeps_requests_until_released(sim):
    import threading

    hold = sim.hold("results")
    answers = []
    caller = threading.Thread(target=lambda: answers.append(results(sim, BUSY_DAY).status_code))
    caller.start()
    assert hold.wait_for(1, timeout=30)                 # the request arrived and is waiting
    assert answers == [] and sim.calls("results") == []
    assert get(sim, "/v1/courses/regions").status_code == 200     # other endpoints are not held
    hold.release()
    caller.join(30)
    assert answers == [200]


def test_fail_date_until_cleared(sim):
    bad = BUSY_DAY - timedelta(days=1)
    sim.fail_date(bad, endpoint="results", kind="5xx")
    assert results(sim, bad).status_code >= 500 and results(sim, bad).status_code >= 500
    assert results(sim, BUSY_DAY).status_code == 200
    assert racecards(sim, bad).status_code == 200
    sim.clear_failures()
    assert results(sim, bad).status_code == 200


def test_latency_is_added(sim):
    sim.set_faults(FaultConfig(latency_ms=150))
    started = time.monotonic()
    get(sim, "/v1/courses/regions")
    assert time.monotonic() - started >= 0.15


# --- rate limits and the call log --------------------------------------------------------------------------
def test_rate_limit_429_when_exceeded_not_when_spaced():
    with RacingAPISimulator(SimulatorConfig(rate_limits=True, today=TODAY)) as limited:
        burst = [get(limited, "/v1/horses/hrs_nope/pro") for _ in range(10)]
        refused = [r for r in burst if r.status_code == 429]
        assert refused and refused[0].headers["Retry-After"] == "1"
        assert refused[0].json() == {"detail": "Too Many Requests"}
        assert Counter(c.status for c in limited.calls("horses"))[429] == len(refused)
        while get(limited, "/v1/results", limit=0).status_code != 429:     # drain the results bucket
            pass
        spaced = []
        for _ in range(6):
            time.sleep(1 / 5)
            spaced.append(get(limited, "/v1/results", limit=0).status_code)
        assert spaced == [422] * 6


def test_rate_limit_scale_multiplies_the_limit():
    with RacingAPISimulator(SimulatorConfig(rate_limits=True, rate_limit_scale=20.0, today=TODAY)) as fast:
        assert all(get(fast, "/v1/courses/regions").status_code == 200 for _ in range(15))


def test_call_log_records_endpoint_params_and_status(sim):
    results(sim, BUSY_DAY, skip=100)
    get(sim, "/v1/horses/hrs_nope/pro")
    call = sim.calls("results")[0]
    assert (call.endpoint, call.path, call.status) == ("results", "/v1/results", 200)
    assert call.params["region"] == ["gb", "ire"] and call.params["skip"] == ["100"]
    assert [c.status for c in sim.calls("horses")] == [404]
    assert len(sim.calls()) == 2
    sim.reset_calls()
    assert sim.calls() == []


# --- the script -------------------------------------------------------------------------------------------
def test_script_serves_until_ctrl_c(tmp_path):
    proc = subprocess.Popen([sys.executable, str(REPO / "scripts/racing_api_simulator.py"), "--port", "0",
                             "--today", "2025-01-10", "--no-rate-limits"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"Racing API simulator listening on (http://127\.0\.0\.1:\d+) \(username demo\)\n", line)
        assert match, line
        assert requests.get(match.group(1) + "/v1/courses/regions", auth=AUTH, timeout=5).status_code == 200
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err
