"""The py-spy summary behind PERFORMANCE.md's profile: stacks land in the right stage and the
shares add up (a wrong stage rule would send the closing note's profile to the wrong place)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import pyspy_profile  # noqa: E402

SITE = "/work/.venv/lib/python3.11/site-packages"
RAW = f"""\
process 1:"python backfill_events.py";run (utils/pipeline/events.py:170);_run_day (utils/pipeline/events.py:228);build_write_unit (utils/pipeline/events.py:133);result_to_rows (utils/ingest/rows.py:700);map_fields (utils/ingest/rows.py:606) 30
process 1:"python backfill_events.py";run (utils/pipeline/events.py:170);_run_day (utils/pipeline/events.py:229);Store.write_unit (utils/stores/base.py:161);prepare_unit (utils/stores/base.py:76);prepare_rows (utils/stores/base.py:58) 10
process 1:"python backfill_events.py";run (utils/pipeline/events.py:170);_run_day (utils/pipeline/events.py:229);Store.write_unit (utils/stores/base.py:163);Store._write_prepared (utils/stores/base.py:167);SqliteStore._upsert (utils/stores/sqlite.py:100) 40
process 1:"python backfill_events.py";_worker (concurrent/futures/thread.py:83);RacingAPIClient._all_pages (utils/api/client.py:285);RacingAPIClient._get_once (utils/api/client.py:326);Response.json ({SITE}/requests/models.py:1087) 15
process 1:"python backfill_events.py";run (utils/pipeline/events.py:170);_run_day (utils/pipeline/events.py:240);EventsBackfill._commit_day (utils/pipeline/events.py:250);Checkpoint.save (utils/pipeline/checkpoint.py:90) 5
not a stack line
"""


@pytest.fixture()
def summary(tmp_path):
    raw = tmp_path / "profile.raw"
    raw.write_text(RAW)
    return pyspy_profile.summarise(raw, ROOT, top=3)


def test_stages_take_the_innermost_marker(summary):
    stages = dict(summary.stages)
    assert summary.samples == 100
    assert stages["transform (payload -> typed rows)"] == 30
    assert stages["row preparation (dedupe, merge, sort)"] == 10
    assert stages["database write (the apply call)"] == 40
    assert stages["HTTP and JSON (fetch threads)"] == 15
    assert stages["checkpoint and progress"] == 5
    assert sum(stages.values()) == summary.samples


def test_own_time_names_the_innermost_frame_relative_to_the_repo(summary):
    assert summary.own[0] == ("utils/stores/sqlite.py: SqliteStore._upsert", 40)
    assert summary.own[1] == ("utils/ingest/rows.py: map_fields", 30)
    assert summary.own[2] == ("requests/models.py: Response.json", 15)
    assert summary.share(summary.own[0][1]) == pytest.approx(0.40)


def test_an_unmatched_stack_is_other(tmp_path):
    raw = tmp_path / "p.raw"
    raw.write_text('process 1:"x";<module> (scripts/backfill_events.py:3);_find_and_load (<frozen>:1) 7\n')
    assert pyspy_profile.summarise(raw, ROOT).stages == [("other (start-up, planning, locks)", 7)]
