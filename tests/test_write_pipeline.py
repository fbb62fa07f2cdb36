"""The writer process and the day spool: a day fetched by a killed run is written on --resume from
its spooled rows without calling the API, and the spool loads nothing but row values."""
from __future__ import annotations

import os
import pickle
from datetime import date, datetime, timedelta, timezone

from backfill_helpers import open_fresh_store, run_events_inprocess
from utils import planning
from utils.backfill import DayData, EventsRequest, build_write_unit
from utils.checkpoint import Checkpoint
from utils.write_pipeline import DaySpool, dump_unit, load_unit


def _calls_for(sim, day: date) -> int:
    text = day.isoformat()
    return sum(1 for c in sim.calls() if c.endpoint in ("results", "racecards")
               and text in (c.params.get("date", []) + c.params.get("start_date", [])))


def test_resume_writes_a_spooled_day_without_calling_the_api(simulator, tmp_path):
    today = date.today()
    first, spooled, last = (today - timedelta(days=n) for n in (12, 11, 10))
    url = f"sqlite:///{tmp_path}/pipe.db"
    store = open_fresh_store(url)
    checkpoint = tmp_path / "cp.json"
    request = EventsRequest(first, last)
    Checkpoint(checkpoint, request.params()).save()          # a run that committed nothing yet
    data = DayData(spooled, results=simulator.dataset.results_for(spooled),
                   racecards=simulator.dataset.racecards_for(spooled)
                   if planning.racecards_servable(spooled, today) else [])
    DaySpool.beside(checkpoint).save(spooled, dump_unit(build_write_unit(data, datetime.now(timezone.utc))))

    rc = run_events_inprocess(store, simulator, ["--start-date", first.isoformat(), "--end-date", last.isoformat(),
                                                 "--checkpoint-file", str(checkpoint), "--resume", "--quiet"],
                              today=today, database_url=url)

    assert rc == 0
    assert _calls_for(simulator, spooled) == 0
    assert _calls_for(simulator, first) >= 1 and _calls_for(simulator, last) >= 1
    stored = {r[0] for r in store.query("SELECT id FROM ra_races WHERE date = ?", [spooled.isoformat()])}
    assert stored == {r["race_id"] for r in data.results} and stored
    assert Checkpoint.load(checkpoint).completed == {first, spooled, last}
    assert list(DaySpool.beside(checkpoint).directory.iterdir()) == []     # dropped once committed
    store.close()


def test_the_spool_loads_row_values_only(tmp_path):
    unit = {"ra_runners": [{"race_id": "rac_1", "horse_id": "hrs_1", "btn": __import__("decimal").Decimal("1.5"),
                            "result_updated_at": datetime(2026, 1, 1, tzinfo=timezone.utc)}]}
    assert load_unit(dump_unit(unit)) == unit
    spool = DaySpool(tmp_path / "spool")
    day = date(2026, 1, 1)
    spool.save(day, pickle.dumps({"ra_runners": [{"x": os.system}]}))     # code, not a value
    assert spool.load(day) is None                                        # refused, not run
    assert not (tmp_path / "spool" / "2026-01-01.pickle").exists()        # and the day is refetched
