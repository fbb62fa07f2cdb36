"""One rate budget per account across processes (``utils.api.shared_budget``), over real processes and
real HTTP against a simulator that enforces the rate limits.

Why real processes: the budget lives in a file under ``flock``, shared by processes that know nothing
else of each other; only separate interpreters show that it holds (threads of one process share the
in-process limiter anyway). The simulator's call log is the witness: its 429s and the arrival times
per endpoint, from every process at once. No test bounds how long anything takes.

Rates: the concurrent tests scale the limits up (x4; x2 for the incremental run beside a backfill:
faster, this machine's CPU rather than the limiter would cap two unshared runs, and they would not
overdraw the bucket) so they stay short. The back-to-back test runs at x0.5: the simulator's bucket
holds one second of calls, so the only place where two runs that follow each other can overdraw it
is their junction, and only when the turnaround from one run's last call to the next run's first
(about 0.25 s here) is shorter than one call's interval. At x0.5 a racecards call costs a whole
token (1/s), which makes that junction visible; with the budget shared, the next run's first call
waits for the slot the previous run booked. (Checked: with the client's ``shared_budget`` default
set to False, this test sees 3 racecards 429s, one per junction, and the concurrent ones fail too.)

Every process of a test gets its own ``DARKHORSES_RATE_STATE_DIR`` (``tmp_path``), and every test its
own simulator (its own port, so its own budget key anyway).
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from helpers import (
    FIXED_TODAY,
    REPO,
    SIM_PASSWORD,
    SIM_USER,
    make_client,
    open_fresh_store,
    run_events_inprocess,
    run_events_script,
)
from utils.api.client import normalise_base_url
from utils.api.shared_budget import STATE_DIR_ENV, SharedBudget
from utils.simulator.reply import Reply
from utils.simulator.server import RacingAPISimulator, SimulatorConfig

OTHER_USER, OTHER_PASSWORD = "acct-other-user-7741", "s3cr3t-Other-Pa55word"
HAMMER_DAYS = (date(2025, 1, 7), date(2024, 12, 30))     # one results page each, told apart by date
PINNED_NOW = "2025-01-10T12:00:00+00:00"                  # FIXED_TODAY for the scripts' clock
ENRICH_SCRIPT = REPO / "scripts" / "enrich_horses.py"

# One client process: ready-file, wait for the go-file, then ``n`` results calls for ``day``.
HAMMER = r"""
import json, os, sys, time
from datetime import date
from utils.api.client import RacingAPIClient, RetryPolicy
base, user, password, scale, day, n, go = sys.argv[1:8]
client = RacingAPIClient(user, password, base, rate_scale=float(scale), timeout=10.0,
                         retry=RetryPolicy(attempts=8, initial=0.01, maximum=0.05, jitter=0.0))
open(go + ".ready." + str(os.getpid()), "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
for _ in range(int(n)):
    client.results(date.fromisoformat(day), ["gb", "ire"])
print(json.dumps(client.stats))
"""


class TwoAccounts(RacingAPISimulator):
    """The simulator with a second account (``OTHER_USER``) on the same server."""

    def answer(self, authorization, endpoint, path_args, params):
        if authorization == _basic(OTHER_USER, OTHER_PASSWORD):
            authorization = _basic(self.config.username, self.config.password)
        return super().answer(authorization, endpoint, path_args, params)


class OneRefusal(RacingAPISimulator):
    """Once ``armed``, the next results call is refused: 429 with Retry-After: 2."""

    armed = fired = False

    def answer(self, authorization, endpoint, path_args, params):
        if endpoint == "results" and self.armed and not self.fired:
            self.fired = True
            return Reply(429, {"detail": "Too Many Requests"}, {"Retry-After": "2"})
        return super().answer(authorization, endpoint, path_args, params)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@contextmanager
def simulator(scale: float | None, cls=RacingAPISimulator):
    """A simulator of its own, limits on at ``scale`` (None: off), today fixed."""
    config = SimulatorConfig(username=SIM_USER, password=SIM_PASSWORD, today=FIXED_TODAY,
                             rate_limits=scale is not None, rate_limit_scale=scale or 1.0)
    with cls(config) as sim:
        yield sim


def start_hammers(sim, tmp_path, accounts, *, scale: float, n: int) -> list[subprocess.Popen]:
    """One HAMMER process per (user, password, day), all released at once."""
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO), STATE_DIR_ENV: str(tmp_path / "state")}
    procs = [subprocess.Popen([sys.executable, "-c", HAMMER, sim.base_url, user, password, str(scale),
                               day.isoformat(), str(n), str(go)], env=env, cwd=REPO, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for user, password, day in accounts]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.ready.*"))) < len(procs):
        assert time.monotonic() < deadline, "the client processes never got ready"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    go.touch()
    return procs


def finish(procs, timeout: float = 180) -> list[dict]:
    stats = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-2000:]
        assert "Traceback" not in err, err[-2000:]
        stats.append(json.loads(out.strip().splitlines()[-1]) if out.strip().startswith("{") else out)
    return stats


def too_many(sim) -> list:
    return [(c.endpoint, c.path, c.at) for c in sim.calls() if c.status == 429]


def busiest_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for u in stamps if t <= u < t + 1.0) for t in stamps)


def day_of(call) -> str:
    return (call.params.get("start_date") or call.params.get("date") or [""])[0]


def budget_files(state: Path) -> list[Path]:
    return sorted(state.glob("budget-*.json"))


# --- two processes, one account, one endpoint --------------------------------------------------------
def test_two_processes_of_one_account_hammering_one_endpoint_get_no_429(tmp_path):
    scale, n = 4.0, 40                          # results at 20/s; 40 calls each, 80 in all
    with simulator(scale) as sim:
        procs = start_hammers(sim, tmp_path, [(SIM_USER, SIM_PASSWORD, day) for day in HAMMER_DAYS],
                              scale=scale, n=n)
        stats = finish(procs)
        calls = sim.calls("results")
    assert too_many(sim) == []
    assert [s["results"]["429s"] for s in stats] == [0, 0]
    by_process = {day.isoformat(): [c.at for c in calls if day_of(c) == day.isoformat()]
                  for day in HAMMER_DAYS}
    assert [len(v) for v in by_process.values()] == [n, n], "retries happened"
    first, second = by_process.values()
    assert max(min(first), min(second)) < min(max(first), max(second)), "the two runs did not overlap"
    # Together at the account's limit (20/s), not at twice it; two calls of slack for arrival jitter.
    assert busiest_second([c.at for c in calls]) <= 20 + 2
    assert len(budget_files(tmp_path / "state")) == 1


def test_a_429_in_one_process_pauses_the_other_process_too(tmp_path):
    """The server refuses one call of process A with Retry-After: 2. Process B, asking the same
    endpoint at full speed, sends at most the one call it may already have had granted until the
    two seconds are over (unshared, it would send some 40)."""
    scale, n = 4.0, 40
    with simulator(None, OneRefusal) as sim:
        procs = start_hammers(sim, tmp_path, [(SIM_USER, SIM_PASSWORD, day) for day in HAMMER_DAYS],
                              scale=scale, n=n)
        deadline = time.monotonic() + 60
        while len(sim.calls("results")) < 10:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        sim.armed = True
        finish(procs)
        calls = sim.calls("results")
    (refused,) = [c for c in calls if c.status == 429]
    during = [c for c in calls if refused.at < c.at < refused.at + 2.0 - 0.01]
    assert len(during) <= 1, f"{len(during)} calls during the other process's Retry-After"
    assert Counter(day_of(c) for c in calls if c.status == 200) == {d.isoformat(): n for d in HAMMER_DAYS}


# --- back to back ---------------------------------------------------------------------------------
def test_four_backfill_runs_back_to_back_draw_no_429(tmp_path):
    scale = 0.5                                 # racecards 1/s, results 2.5/s (see the docstring)
    state = tmp_path / "state"
    env = {"RACING_API_RATE_SCALE": str(scale), STATE_DIR_ENV: str(state)}
    with simulator(scale) as sim:
        for run in range(4):
            first = date(2025, 1, 1) + timedelta(days=2 * run)
            db = f"sqlite:///{tmp_path}/run{run}.db"
            open_fresh_store(db).close()
            proc = run_events_script(["--start-date", first.isoformat(),
                                      "--end-date", (first + timedelta(days=1)).isoformat(),
                                      "--database-url", db, "--checkpoint-file", str(tmp_path / f"cp{run}.json"),
                                      "--quiet"], sim, env_overrides=env)
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err[-2000:]
        calls = sim.calls()
    assert too_many(sim) == []
    assert Counter(c.endpoint for c in calls) == {"racecards": 8, "results": 8}
    for endpoint, rate in (("racecards", 2 * scale), ("results", 5 * scale)):
        stamps = sorted(c.at for c in calls if c.endpoint == endpoint)
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        # Spaced at the limit across the runs' junctions too (the client aims at 1.05 / rate; the
        # slack is for arrival jitter; unshared, a junction is about 0.25 s).
        assert min(gaps) >= 0.8 / rate, (endpoint, [round(g, 3) for g in gaps])


# --- accounts ---------------------------------------------------------------------------------------
def test_another_account_does_not_share_the_budget_and_the_file_holds_no_credentials(tmp_path):
    state = tmp_path / "state"
    with simulator(None, TwoAccounts) as sim:
        budget = SharedBudget.for_account(normalise_base_url(sim.base_url), SIM_USER, state)
        # Control: a pause of this account (as another of its processes would write it) holds a
        # new process of the same account ...
        budget.pause("results", 2.0)
        until = json.loads(budget.path.read_text())["results"]["paused"]
        finish(start_hammers(sim, tmp_path, [(SIM_USER, SIM_PASSWORD, HAMMER_DAYS[0])], scale=4, n=3))
        same = sim.calls("results")
        assert len(same) == 3 and min(c.at for c in same) >= until - 0.01
        # ... but not a process of another account: it would wait ten minutes here.
        budget.pause("results", 600.0)
        sim.reset_calls()
        (tmp_path / "go").unlink()
        for ready in tmp_path.glob("go.ready.*"):
            ready.unlink()
        (stats,) = finish(start_hammers(sim, tmp_path, [(OTHER_USER, OTHER_PASSWORD, HAMMER_DAYS[1])],
                                        scale=4, n=5), timeout=120)
        assert stats["results"] == {"calls": 5, "retries": 0, "429s": 0}
        assert [c.status for c in sim.calls("results")] == [200] * 5
    files = budget_files(state)
    assert len(files) == 2 and budget.path in files
    secrets = [SIM_USER, SIM_PASSWORD, OTHER_USER, OTHER_PASSWORD,
               _basic(SIM_USER, SIM_PASSWORD)[6:], _basic(OTHER_USER, OTHER_PASSWORD)[6:]]
    for path in files:
        blob = path.name + path.read_text()
        assert not [s for s in secrets if s in blob], blob
        assert set(json.loads(path.read_text())) == {"results"}


# --- a broken state file or directory -----------------------------------------------------------------
def _one_day_run(sim, tmp_path, env: dict, tag: str) -> str:
    db = f"sqlite:///{tmp_path}/{tag}.db"
    open_fresh_store(db).close()
    proc = run_events_script(["--start-date", "2025-01-02", "--end-date", "2025-01-02", "--database-url", db,
                              "--checkpoint-file", str(tmp_path / f"{tag}.json")], sim,
                             env_overrides={"RACING_API_RATE_SCALE": "4", **env})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in out + err
    return out + err


@pytest.mark.parametrize("garbage", [b"\x00\xff\xfe{{ not json", b'{"results": {"next": "soon"}}', b""])
def test_a_corrupt_state_file_is_recreated_with_a_warning(tmp_path, garbage):
    state = tmp_path / "state"
    with simulator(4.0) as sim:
        path = SharedBudget.for_account(normalise_base_url(sim.base_url), SIM_USER, state).path
        state.mkdir()
        path.write_bytes(garbage)
        output = _one_day_run(sim, tmp_path, {STATE_DIR_ENV: str(state)}, "corrupt")
        assert too_many(sim) == []
    warned = "is corrupt" in output and "recreating it" in output
    assert warned == bool(garbage)              # an empty file is a new one, not a corrupt one
    assert set(json.loads(path.read_text())) == {"results", "racecards"}


@pytest.mark.parametrize("where", ["file_is_a_directory", "dir_under_a_file"])
def test_an_unusable_state_location_warns_and_the_run_paces_itself(tmp_path, where):
    with simulator(4.0) as sim:
        if where == "file_is_a_directory":
            state = tmp_path / "state"
            SharedBudget.for_account(normalise_base_url(sim.base_url), SIM_USER, state).path.mkdir(parents=True)
        else:
            (tmp_path / "plain-file").write_text("not a directory")
            state = tmp_path / "plain-file" / "state"
        output = _one_day_run(sim, tmp_path, {STATE_DIR_ENV: str(state)}, where)
        assert too_many(sim) == []
    assert "paces its own calls only" in output


# --- the acceptance scenarios with other commands -----------------------------------------------------
def _seed_results(sim, tmp_path, db: str, start: date, end: date) -> None:
    """Results for ``start..end`` into ``db`` quickly: the server's limits off meanwhile."""
    sim.config.rate_limits = False
    store = open_fresh_store(db)
    try:
        argv = ["--start-date", start.isoformat(), "--end-date", end.isoformat(), "--no-racecards",
                "--checkpoint-file", str(tmp_path / "seed.json")]
        client = make_client(sim, rate_state_dir=tmp_path / "seed-state")
        assert run_events_inprocess(store, sim, argv, today=FIXED_TODAY, client=client) == 0
    finally:
        store.close()
        sim.config.rate_limits = True
        sim.reset_calls()


def _start_backfill(sim, tmp_path, env: dict, start: date, end: date) -> subprocess.Popen:
    db = f"sqlite:///{tmp_path}/backfill.db"
    open_fresh_store(db).close()
    return run_events_script(["--start-date", start.isoformat(), "--end-date", end.isoformat(),
                              "--database-url", db, "--checkpoint-file", str(tmp_path / "backfill.json"),
                              "--quiet"], sim, env_overrides=env)


def _wait_for_calls(sim, n: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while len(sim.calls()) < n:
        assert proc.poll() is None and time.monotonic() < deadline, "the backfill ended too early"
        time.sleep(0.01)


def _finish_scripts(*procs) -> None:
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-2000:]


def test_an_incremental_run_started_while_a_backfill_runs_draws_no_429(tmp_path):
    scale = 2.0                                 # racecards 4/s: two unshared runs overdraw it
    env = {"RACING_API_RATE_SCALE": str(scale), STATE_DIR_ENV: str(tmp_path / "state"),
           "DARKHORSES_NOW": PINNED_NOW}
    with simulator(scale) as sim:
        daily = f"sqlite:///{tmp_path}/daily.db"
        # Results up to 12 days ago: the incremental run then fetches some 14 days and 7 ahead.
        _seed_results(sim, tmp_path, daily, FIXED_TODAY - timedelta(days=14), FIXED_TODAY - timedelta(days=12))
        backfill = _start_backfill(sim, tmp_path, env, date(2024, 11, 1), date(2024, 11, 15))
        _wait_for_calls(sim, 3, backfill)
        incremental = run_events_script(["--incremental", "--database-url", daily, "--checkpoint-file",
                                         str(tmp_path / "daily.json"), "--quiet"], sim, env_overrides=env)
        _finish_scripts(backfill, incremental)
        calls = sim.calls()
    assert too_many(sim) == []
    november = [c.at for c in calls if day_of(c).startswith("2024-11")]
    recent = [c.at for c in calls if day_of(c) >= (FIXED_TODAY - timedelta(days=16)).isoformat()]
    assert november and recent and min(recent) < max(november), "the runs did not overlap"


def test_an_enrichment_run_concurrent_with_a_backfill_draws_no_429(tmp_path):
    """The acceptance scenario. Enrichment spends the horses budget and the backfill the results and
    racecards ones, so this holds with or without the shared file; it guards against a regression
    that would make the two compete (a shared cap, a wrong endpoint key)."""
    scale = 4.0
    env = {"RACING_API_RATE_SCALE": str(scale), STATE_DIR_ENV: str(tmp_path / "state")}
    with simulator(scale) as sim:
        horses_db = f"sqlite:///{tmp_path}/horses.db"
        _seed_results(sim, tmp_path, horses_db, date(2025, 1, 2), date(2025, 1, 2))
        backfill = _start_backfill(sim, tmp_path, env, date(2024, 11, 1), date(2024, 11, 30))
        _wait_for_calls(sim, 3, backfill)
        enrich = run_events_script(["--database-url", horses_db, "--max-horses", "60", "--quiet"], sim,
                                   env_overrides=env, script=ENRICH_SCRIPT)
        _finish_scripts(backfill, enrich)
        calls = sim.calls()
    assert too_many(sim) == []
    horses = [c.at for c in calls if c.endpoint == "horses"]
    events = [c.at for c in calls if c.endpoint in ("results", "racecards")]
    assert len(horses) == 60 and min(horses) < max(events), "the runs did not overlap"
