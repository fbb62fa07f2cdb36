"""Simulator responses validated against The Racing API's own openapi.yml.

Why: the simulator is only useful if it is faithful; this pins every served shape to the spec's
response schemas (Draft 2020-12, the spec is OpenAPI 3.1 style with anyOf/null), including the
"null_strings" fault, which must stay valid. It also checks that the simulator invents no fields.
"""
from __future__ import annotations

import functools
from datetime import date

import pytest
import requests

from helpers import FIXED_TODAY, SIM_PASSWORD, SIM_USER
from spec_files import OPENAPI as SPEC_PATH  # noqa: E402  (docs/api/openapi.yml)
from utils.simulator.faults import FaultConfig

AUTH = (SIM_USER, SIM_PASSWORD)         # the shared simulator's account
TODAY = FIXED_TODAY                     # the shared ``sim`` fixture's today (tests/conftest.py)
DAYS = (date(2024, 12, 26), date(2024, 6, 8), date(2024, 3, 31))


@functools.lru_cache(maxsize=1)
def load_spec() -> dict:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


@pytest.fixture(scope="session")
def spec():
    if not SPEC_PATH.exists():
        pytest.skip(f"!!! openapi.yml NOT FOUND at {SPEC_PATH} — simulator contract tests SKIPPED !!!")
    return load_spec()


def validator_for(spec: dict, schema: dict):
    from jsonschema import Draft202012Validator

    return Draft202012Validator({**schema, "components": spec["components"]})


def response_schema(spec: dict, path: str, status: str = "200") -> dict:
    return spec["paths"][path]["get"]["responses"][status]["content"]["application/json"]["schema"]


def assert_valid(spec: dict, schema: dict, payload) -> None:
    errors = sorted(validator_for(spec, schema).iter_errors(payload), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def assert_no_invented_fields(spec: dict, name: str, obj: dict) -> None:
    known = set(spec["components"]["schemas"][name]["properties"])
    assert set(obj) <= known, f"{name} has fields not in the spec: {sorted(set(obj) - known)}"


def get(sim, path, **params):
    reply = requests.get(sim.base_url + path, params=params, auth=AUTH, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_regions_and_courses_match_the_spec(spec, sim):
    assert_valid(spec, response_schema(spec, "/v1/courses/regions"), get(sim, "/v1/courses/regions"))
    for codes in (["gb", "ire"], None):
        page = get(sim, "/v1/courses", region_codes=codes)
        assert_valid(spec, response_schema(spec, "/v1/courses"), page)


@pytest.mark.parametrize("day", DAYS)
def test_results_match_the_spec(spec, sim, day):
    page = get(sim, "/v1/results", start_date=day.isoformat(), end_date=day.isoformat(),
               region=["gb", "ire"], limit=100)
    assert page["results"]
    assert_valid(spec, response_schema(spec, "/v1/results"), page)
    for race in page["results"]:
        assert_no_invented_fields(spec, "ResultStandard", race)
        for runner in race["runners"]:
            assert_no_invented_fields(spec, "RunnerStandard", runner)


@pytest.mark.parametrize("day", DAYS)
def test_racecards_match_the_spec(spec, sim, day):
    page = get(sim, "/v1/racecards/pro", date=day.isoformat(), region_codes=["gb", "ire"])
    assert page["racecards"]
    assert_valid(spec, response_schema(spec, "/v1/racecards/pro"), page)
    for card in page["racecards"]:
        assert_no_invented_fields(spec, "RacecardOddsPro", card)
        for runner in card["runners"]:
            assert_no_invented_fields(spec, "RunnerOddsPro", runner)
            assert_no_invented_fields(spec, "RunnerTrainer14Days", runner["trainer_14_days"])
            for odds in runner["odds"]:
                assert_no_invented_fields(spec, "OddsHistory", odds)


def test_horse_profiles_match_the_spec(spec, sim):
    horse_ids = [r["horse_id"] for race in sim.dataset.results_for(DAYS[1])[:5] for r in race["runners"]]
    served = [hid for hid in horse_ids if sim.dataset.horse_pro(hid)][:8]
    assert served
    for horse_id in served:
        profile = get(sim, f"/v1/horses/{horse_id}/pro")
        assert_valid(spec, response_schema(spec, "/v1/horses/{horse_id}/pro"), profile)
        assert_no_invented_fields(spec, "HorsePro", profile)


def test_null_strings_fault_stays_valid(spec, sim):
    sim.set_faults(FaultConfig(rate=1.0, kinds=("null_strings",)))
    day = DAYS[0].isoformat()
    page = get(sim, "/v1/results", start_date=day, end_date=day, limit=100)
    assert_valid(spec, response_schema(spec, "/v1/results"), page)
    cards = get(sim, "/v1/racecards/pro", date=day)
    assert_valid(spec, response_schema(spec, "/v1/racecards/pro"), cards)
    horse_id = next(r["horse_id"] for race in sim.dataset.results_for(DAYS[0]) for r in race["runners"]
                    if sim.dataset.horse_pro(r["horse_id"]))
    assert_valid(spec, response_schema(spec, "/v1/horses/{horse_id}/pro"), get(sim, f"/v1/horses/{horse_id}/pro"))


def test_validation_errors_match_the_spec(spec, sim):
    reply = requests.get(sim.base_url + "/v1/results", params={"limit": 101}, auth=AUTH, timeout=10)
    assert reply.status_code == 422
    assert_valid(spec, response_schema(spec, "/v1/results", "422"), reply.json())
