"""Entity rows from runners (utils/ingest/entities.py): keys, dedupe, merge, the row-dict rule.

Why apart from tests/test_rows.py: people, horses and pedigrees come from every runner of a day's
racecards and results together, so what matters here is dedupe and merging without gaps, not one
payload's rows. The sample payloads are test_rows.py's (the Kempton race and the spec samples).
"""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings

from test_parsers import WEIRD
from test_rows import (
    check_unit,
    kempton_card_runner,
    kempton_racecard,
    kempton_result,
    kempton_result_runner,
    racecard,
    result,
    result_runner,
)
from utils.ingest.entities import extract_entities, merge_units, runner_entities
from utils.schema import TABLES


def unobserved(unit: dict) -> dict:
    """The unit without the observation column (checked on its own in test_entities)."""
    from utils.schema import OBSERVED

    return {t: [{c: v for c, v in r.items() if c != OBSERVED} for r in rows] for t, rows in unit.items()}


def by_id(rows: list[dict], key: str = "id") -> dict[str, dict]:
    return {row[key]: row for row in rows}


def test_racecard_runner_gives_every_entity():
    unit = unobserved(extract_entities(racecards=[kempton_racecard()]))
    assert unit["ra_mst_jockeys"] == [{"id": "jky_77", "name": "Ó Dubhghaill"}]
    assert unit["ra_mst_trainers"] == [{"id": "trn_1234", "name": "Joseph Patrick O'Brien",
                                        "location": "Owning Hill, Co Kilkenny"}]
    assert unit["ra_mst_owners"] == [{"id": "own_9", "name": "Robert'); DROP TABLE ra_runners;--"}]
    assert unit["ra_mst_sires"] == [{"id": "sir_3722", "name": "Sea The Stars (IRE)", "region": "ire"}]
    assert unit["ra_mst_dams"] == [{"id": "dam_5321", "name": "Lady Of The Lake (GB)", "region": "gb"}]
    assert unit["ra_mst_damsires"] == [{"id": "dsi_1011", "name": "Galileo (IRE)", "region": "ire"}]
    assert unit["ra_mst_horses"] == [{
        "id": "hrs_30218531", "name": "Dáiríre (IRE)", "region": "ire", "sex": "gelding", "sex_code": "G",
        "dob": date(2021, 3, 14), "colour_code": "B", "breeder": "Ballylinch Stud", "sire_id": "sir_3722",
        "dam_id": "dam_5321", "damsire_id": "dsi_1011"}]
    assert unit["ra_horse_pedigree"] == [{
        "horse_id": "hrs_30218531", "sire_id": "sir_3722", "sire": "Sea The Stars (IRE)", "dam_id": "dam_5321",
        "dam": "Lady Of The Lake (GB)", "damsire_id": "dsi_1011", "damsire": "Galileo (IRE)",
        "breeder": "Ballylinch Stud", "region": "ire"}]


def test_result_runners_give_pedigree_and_region_from_name_suffix():
    unit = extract_entities(results=[kempton_result()])
    horses = by_id(unit["ra_mst_horses"])
    assert horses["hrs_30218531"]["region"] == "ire" and horses["hrs_30218531"]["sex_code"] == "G"
    assert horses["hrs_3"]["region"] == "fr"
    assert "region" not in horses["hrs_2"]                      # "Second Best": no suffix, no guess
    assert "location" not in unit["ra_mst_trainers"][0]         # results do not know it
    pedigree = by_id(unit["ra_horse_pedigree"], "horse_id")
    assert pedigree["hrs_2"]["sire"] == "Sea The Stars (IRE)" and pedigree["hrs_2"]["damsire_id"] == "dsi_1011"


def test_explicit_breeding_region_beats_the_suffix():
    runner = kempton_card_runner(sire="Mystery Sire", sire_region="USA", dam="Dam (FR)", dam_region="")
    rows = runner_entities(runner)
    assert rows["ra_mst_sires"]["region"] == "usa" and rows["ra_mst_dams"]["region"] == "fr"


def test_dedupe_and_merge_never_erase_values():
    card = kempton_racecard(runners=[kempton_card_runner(), kempton_card_runner(horse_id="hrs_2", horse="Other",
                                                                                jockey_id="jky_77", jockey="")])
    res = kempton_result(runners=[kempton_result_runner(trainer="J P O'Brien", breeder="")])
    unit = unobserved(extract_entities(racecards=[card], results=[res]))
    assert unit["ra_mst_jockeys"] == [{"id": "jky_77", "name": "Ó Dubhghaill"}]
    trainer = unit["ra_mst_trainers"][0]
    assert trainer == {"id": "trn_1234", "name": "J P O'Brien", "location": "Owning Hill, Co Kilkenny"}
    horse = by_id(unit["ra_mst_horses"])["hrs_30218531"]
    assert horse["breeder"] == "Ballylinch Stud" and horse["dob"] == date(2021, 3, 14)
    for table, rows in unit.items():
        keys = [tuple(r[k] for k in TABLES[table].key) for r in rows]
        assert len(keys) == len(set(keys)), table


def test_entities_from_a_racecard():
    unit = unobserved(extract_entities([racecard()], []))
    check_unit(unit)
    assert unit["ra_mst_jockeys"] == [{"id": "jky_77", "name": "Ó Dubhghaill"}]
    assert unit["ra_mst_trainers"] == [{"id": "trn_1234", "name": "Joseph Patrick O'Brien",
                                        "location": "Owning Hill, Co Kilkenny"}]
    assert unit["ra_mst_owners"] == [{"id": "own_998", "name": "Robert'); DROP TABLE ra_runners;--"}]
    assert unit["ra_mst_sires"] == [{"id": "sir_3722383", "name": "Sea The Stars (IRE)", "region": "ire"}]
    assert unit["ra_mst_dams"] == [{"id": "dam_5052413", "name": "Zoë (FR)", "region": "fr"}]
    # damsire_region "" -> the name's suffix
    assert unit["ra_mst_damsires"] == [{"id": "dsi_2289321", "name": "Galileo (IRE)", "region": "ire"}]
    (horse,) = unit["ra_mst_horses"]
    assert horse["region"] == "ire" and horse["name"] == "Create (IRE)"
    assert horse["dob"] == date(2021, 3, 14) and horse["breeder"] == "Dáiríre Stud"
    assert horse["sex"] == "gelding" and horse["sex_code"] == "G"
    assert horse["colour_code"] == "B" and "colour" not in horse   # "b" is a code, not a word
    assert (horse["sire_id"], horse["dam_id"], horse["damsire_id"]) == ("sir_3722383", "dam_5052413",
                                                                       "dsi_2289321")
    (pedigree,) = unit["ra_horse_pedigree"]
    assert pedigree == {"horse_id": "hrs_30429137", "sire_id": "sir_3722383", "sire": "Sea The Stars (IRE)",
                        "dam_id": "dam_5052413", "dam": "Zoë (FR)", "damsire_id": "dsi_2289321",
                        "damsire": "Galileo (IRE)", "breeder": "Dáiríre Stud", "region": "ire"}


def test_entities_from_results_alone_include_pedigree():
    unit = extract_entities([], [result()])
    check_unit(unit)
    horses = by_id(unit["ra_mst_horses"])
    assert set(horses) == {"hrs_30429137", "hrs_2", "hrs_3"}
    assert horses["hrs_2"]["region"] == "gb" and horses["hrs_3"]["region"] == "fr"
    assert horses["hrs_30429137"]["sex_code"] == "G" and "sex" not in horses["hrs_30429137"]
    pedigree = by_id(unit["ra_horse_pedigree"], "horse_id")
    assert set(pedigree) == set(horses)
    assert pedigree["hrs_2"]["sire_id"] == "sir_3722383" and pedigree["hrs_2"]["dam"] == "Zoë (FR)"
    assert "location" not in unit["ra_mst_trainers"][0]
    assert len(unit["ra_mst_jockeys"]) == 1 and len(unit["ra_mst_sires"]) == 1  # deduped


@pytest.mark.parametrize("order", ["cards_first", "results_first"])
def test_merging_never_replaces_a_value_with_a_gap(order):
    card = racecard()
    bare = result(runners=[result_runner(jockey="", trainer="-", owner=None, horse="", sire="",
                                         dam_id="")])
    unit = unobserved(extract_entities([card], [bare]) if order == "cards_first"
                      else extract_entities([], [bare, card]))
    horse = by_id(unit["ra_mst_horses"])["hrs_30429137"]
    assert horse["name"] == "Create (IRE)" and horse["dob"] == date(2021, 3, 14)
    assert horse["breeder"] == "Dáiríre Stud" and horse["dam_id"] == "dam_5052413"
    assert by_id(unit["ra_mst_jockeys"])["jky_77"]["name"] == "Ó Dubhghaill"
    assert by_id(unit["ra_mst_trainers"])["trn_1234"] == {
        "id": "trn_1234", "name": "Joseph Patrick O'Brien", "location": "Owning Hill, Co Kilkenny"}
    assert by_id(unit["ra_horse_pedigree"], "horse_id")["hrs_30429137"]["sire"] == "Sea The Stars (IRE)"


def test_runners_without_ids_produce_no_entity():
    runner = {"horse_id": "", "horse": "Ghost", "jockey": "Nobody", "jockey_id": "", "trainer_id": "-",
              "owner_id": None, "sire": "Name Only", "sire_id": ""}
    assert extract_entities(racecards=[{"race_id": "rac_1", "runners": [runner]}]) == {}
    assert runner_entities({"horse_id": "hrs_9"}) == {"ra_mst_horses": {"id": "hrs_9"}}


def test_malformed_races_are_skipped():
    assert extract_entities(racecards=["x", {"runners": "x"}, {"runners": None}], results=[{}]) == {}


def test_merge_units_dedupes_across_units_later_wins_without_gaps():
    first = {"ra_races": [{"id": "rac_1", "prize": 5, "has_racecard": True}],
             "ra_runners": [{"race_id": "rac_1", "horse_id": "hrs_1", "comment": "pre"}],
             "ra_mst_jockeys": [{"id": "jky_1", "name": "A"}]}
    second = {"ra_races": [{"id": "rac_1", "has_result": True, "prize": None}],
              "ra_runners": [{"race_id": "rac_1", "horse_id": "hrs_1", "position": 1},
                             {"race_id": "rac_1", "horse_id": "hrs_2"}],
              "ra_mst_jockeys": [{"id": "jky_1", "name": "B"}]}
    merged = merge_units(first, second)
    assert merged["ra_races"] == [{"id": "rac_1", "prize": 5, "has_racecard": True, "has_result": True}]
    assert merged["ra_runners"] == [{"race_id": "rac_1", "horse_id": "hrs_1", "comment": "pre", "position": 1},
                                    {"race_id": "rac_1", "horse_id": "hrs_2"}]
    assert merged["ra_mst_jockeys"] == [{"id": "jky_1", "name": "B"}]
    assert merge_units() == {}


def test_entity_rows_hold_only_schema_columns():
    unit = extract_entities(racecards=[kempton_racecard()], results=[kempton_result()])
    for table, rows in unit.items():
        for row in rows:
            assert set(row) <= set(TABLES[table].columns), table
            assert all(v is not None and v != "" for v in row.values())


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(value=WEIRD)
def test_extraction_never_raises_on_weird_values(value):
    for field in kempton_card_runner():
        runner = kempton_card_runner(**{field: value})
        unit = extract_entities(racecards=[kempton_racecard(runners=[runner])],
                                results=[kempton_result(runners=[runner])])
        for table, rows in unit.items():
            for row in rows:
                assert set(row) <= set(TABLES[table].columns)


def test_every_entity_row_carries_its_races_observation():
    """``<off in UTC>|<race id>|<r or c>``: the newest observation wins in the stores."""
    from utils.schema import OBSERVED

    card, res = kempton_racecard(), kempton_result()
    unit = extract_entities(racecards=[card], results=[res])
    for table, rows in unit.items():
        for row in rows:
            assert row[OBSERVED].endswith("|r"), (table, row)   # the result outranks the racecard
    (jockey,) = extract_entities(racecards=[card])["ra_mst_jockeys"]
    assert jockey[OBSERVED].split("|")[1:] == [str(card["race_id"]), "c"]
    assert jockey[OBSERVED] < unit["ra_mst_jockeys"][0][OBSERVED]
