#!/usr/bin/env python3
"""Benchmark: the events backfill sits at the API's rate-limit floor, and its own costs are small.

Five measurements, each against a target or a baseline measured in the same run (never timed tests):

1. calls made / calls needed (one results call per 100 races per day + one racecard call per
   servable day, from ``sim.dataset``), for a fresh run and for a stopped-then-resumed one;
2. wall time / the floor the spec's rate limits imply, simulator enforcing those limits, client at
   its default limits, with no added latency and with 150 ms per call; zero 429s; database share;
3. our own cost (simulator limits off, in its own process; client pacing x1000): runner rows/s
   into PostgreSQL and SQLite, CPU s per 1,000 runners, a naive row-at-a-time upsert baseline, and
   a py-spy profile of the SQLite run (stage shares, functions by own samples);
4. peak RSS of ``scripts/backfill_events.py`` for 1 month vs 12 months (``os.wait4``);
5. a projection of a full 2015->today backfill from the measured per-day costs.

Prints every figure with its target and PASS/FAIL, writes the "## Backfill" section of
docs/PERFORMANCE.md, exits 1 when a target fails.

    .venv/bin/python benchmarks/bench_backfill.py [--throughput-months 12] [--floor-months 3]
        [--latency-months 3] [--no-docs] [--no-postgres]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pyspy_profile  # noqa: E402
from child_process import PipedChild  # noqa: E402
from helpers import (  # noqa: E402
    FAST_RETRY,
    SIM_PASSWORD,
    SIM_USER,
    create_database,
    drop_database,
    ground_truth,
    open_fresh_store,
    postgres_available,
    run_events_inprocess,
)
from utils import planning  # noqa: E402
from utils.api.client import RacingAPIClient  # noqa: E402
from utils.pipeline.checkpoint import Checkpoint, ErrorLog  # noqa: E402
from utils.pipeline.events import (  # noqa: E402
    DEFAULT_DAYS_IN_FLIGHT,
    DayData,
    EventsBackfill,
    EventsRequest,
    StopFlag,
    build_write_unit,
)
from utils.schema import TABLES, WRITE_ORDER  # noqa: E402
from utils.simulator.faults import FaultConfig  # noqa: E402
from utils.simulator.server import RacingAPISimulator, SimulatorConfig  # noqa: E402

SIM_SCRIPT = ROOT / "scripts" / "racing_api_simulator.py"
EVENTS_SCRIPT = ROOT / "scripts" / "backfill_events.py"
DATA_ENDPOINTS = ("results", "racecards")

CALLS_TARGET = 1.00
FLOOR_TARGET = 1.10
FLOOR_LATENCY_TARGET = 1.15
LATENCY_MS = 150
ROWS_PER_S_TARGET = 5000.0
RSS_RATIO_TARGET = 1.2
RSS_ABS_TARGET_MB = 300.0
FULL_START = date(2015, 1, 1)
HORSES_FULL = 110_000
ASSUMED_RTT_S = 0.150          # per call, for the projection (the latency run's figure)


# --- figures ------------------------------------------------------------------------------------
@dataclass
class Figure:
    name: str
    value: float
    text: str                  # the value as shown
    target: str                # "" for information only
    ok: bool | None = None     # None: information, no target

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "FAIL")


@dataclass
class Bench:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    def add(self, name: str, value: float, text: str, target: str = "", ok: bool | None = None) -> None:
        fig = Figure(name, value, text, target, ok)
        self.figures.append(fig)
        print(f"  {name:<58} {text:>16}  {('target ' + target) if target else '':<18} {fig.verdict}",
              flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    @property
    def failed(self) -> list[Figure]:
        return [f for f in self.figures if f.ok is False]


def data_calls(records) -> Counter:
    """Calls per data endpoint in a call log (every call, retries and refusals included)."""
    return Counter(r[0] if isinstance(r, tuple) else r.endpoint for r in records
                   if (r[0] if isinstance(r, tuple) else r.endpoint) in DATA_ENDPOINTS)


def api_floor(calls) -> float:
    """The shortest wall the spec's rate limits allow for ``calls`` (per data endpoint, as
    ``data_calls`` counts them): max(results calls / 5, racecard calls / 2) seconds, the limits
    from ``planning.SPEC_RATE_LIMITS``. The one definition of "the floor" for every benchmark."""
    limits = planning.SPEC_RATE_LIMITS
    return max(calls.get("results", 0) / limits["results"],
               calls.get("racecards", 0) / limits["racecards"])


def cpu_seconds(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def own_cpu_seconds() -> float:
    """This process's CPU: the backfill fetches, transforms and writes every day in the process
    that runs it (the simulator runs in a process of its own and is not in the figure)."""
    return cpu_seconds(resource.getrusage(resource.RUSAGE_SELF))


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of another process (from /proc), for the simulator's share."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


class DatabaseClock:
    """The database time of the next backfill run: ``EventsBackfill.db_seconds`` (time in the
    store's ``write_unit``: the day's one ``ra_apply_day`` call, or SQLite's upserts), read when
    the run ends."""

    def __init__(self):
        self.seconds = 0.0
        original = EventsBackfill.run
        clock = self

        def run(backfill):
            try:
                return original(backfill)
            finally:
                clock.seconds = backfill.db_seconds
                EventsBackfill.run = original

        EventsBackfill.run = run


class SimStub:
    """What ``run_events_inprocess`` needs of a simulator when it runs elsewhere."""

    def __init__(self, base_url: str):
        self.base_url = base_url


def last_days(days: int, today: date, end_offset: int = 1) -> tuple[date, date]:
    end = today - timedelta(days=end_offset)
    return end - timedelta(days=days - 1), end


def months_back(months: int, today: date) -> tuple[date, date]:
    """``months`` whole months ending yesterday, never older than the plan's 365-day window."""
    end = today - timedelta(days=1)
    start = max(end - timedelta(days=round(months * 365 / 12) - 1), today - timedelta(days=365))
    return start, end


# --- a simulator in a child process, with its call log reachable over a pipe ---------------------
def _sim_child(conn, config_kwargs: dict, fault_kwargs: dict) -> None:
    sim = RacingAPISimulator(SimulatorConfig(**config_kwargs, faults=FaultConfig(**fault_kwargs))).start()
    conn.send(sim.base_url)
    while True:
        msg = conn.recv()
        if msg == "calls":
            conn.send([(c.endpoint, c.status, c.at) for c in sim.calls()])
        elif msg == "reset":
            sim.reset_calls()
            conn.send(True)
        else:
            sim.stop()
            conn.send(True)
            return


class ChildSimulator(PipedChild):
    """The spec's rate limits are enforced by a server in another process, as the real API is:
    an in-process simulator would share our GIL and bill its JSON building to the backfill."""

    def __init__(self, config_kwargs: dict, fault_kwargs: dict):
        super().__init__(_sim_child, config_kwargs, fault_kwargs)
        self.base_url = self.greeting

    def calls(self) -> list[tuple]:
        return self.ask("calls")


class StandaloneSimulator:
    """``scripts/racing_api_simulator.py --no-rate-limits --port 0`` as a subprocess.

    ``prebuild`` days are generated before it listens (and before any clock here starts): the real
    API answers from stored data, so the simulator's data generation (~60 ms of CPU a day) must
    not be billed to the backfill. The seconds it took are kept in ``prebuild_s``."""

    def __init__(self, prebuild: tuple[date, date] | None = None):
        command = [sys.executable, str(SIM_SCRIPT), "--no-rate-limits", "--port", "0"]
        if prebuild:
            command += ["--prebuild", f"{prebuild[0]}:{prebuild[1]}"]
        started = time.perf_counter()
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        marker = "listening on "
        line = self.proc.stdout.readline()
        if line.startswith("Prebuilt"):           # printed once the prebuild is done
            line = self.proc.stdout.readline()
        if marker not in line:
            self.proc.kill()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.prebuild_s = time.perf_counter() - started
        self.base_url = line.split(marker, 1)[1].split()[0]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- 1. calls made / calls needed -----------------------------------------------------------------
class StopAfter:
    """A Progress that asks the run to stop once ``days`` days have been committed."""

    def __init__(self, days: int, stop: StopFlag):
        self.days, self.stop, self.done = days, stop, 0

    def chunk_started(self, chunk, total_chunks): pass

    def day_done(self, outcome):
        self.done += 1
        if self.done >= self.days:
            self.stop.request()

    def day_failed(self, day, failure): pass

    def chunk_finished(self, chunk, totals): pass


def bench_calls(b: Bench, today: date, days: int) -> None:
    print(f"\n[1] calls made / calls needed ({days} days, simulator in-process, limits off)", flush=True)
    start, end = last_days(days, today)
    with RacingAPISimulator(SimulatorConfig(rate_limits=False, today=today)) as sim, \
            tempfile.TemporaryDirectory() as tmp:
        truth = ground_truth(sim, start, end, today=today)
        needed = truth.results_calls + truth.racecard_calls
        b.note(f"range {start}..{end}: {needed} calls needed ({truth.results_calls} results, "
               f"{truth.racecard_calls} racecards), {len(truth.runner_keys)} runners")

        # fresh run, through the command
        store = open_fresh_store(f"sqlite:///{tmp}/fresh.db")
        sim.reset_calls()
        client = RacingAPIClient(SIM_USER, SIM_PASSWORD, base_url=sim.base_url, retry=FAST_RETRY,
                                 rate_scale=1000)
        rc = run_events_inprocess(store, sim, ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
                                               "--checkpoint-file", f"{tmp}/fresh.json", "--quiet"],
                                  today=today, client=client)
        made = data_calls(sim.calls())
        runners = store.query("SELECT count(*) FROM ra_runners")[0][0]
        store.close()
        ratio = sum(made.values()) / needed
        b.add("calls made / needed, fresh run", ratio, f"{ratio:.3f} ({sum(made.values())}/{needed})",
              f"= {CALLS_TARGET:.2f}", abs(ratio - CALLS_TARGET) < 1e-9 and rc == 0)
        if runners != len(truth.runner_keys):
            b.note(f"fresh run stored {runners} runners, the dataset has {len(truth.runner_keys)}")

        # stopped after about half the days, then resumed from the saved checkpoint
        store = open_fresh_store(f"sqlite:///{tmp}/resumed.db")
        request = EventsRequest(start=start, end=end)
        cp_path, err_path = Path(tmp) / "resumed.json", Path(tmp) / "resumed_errors.json"
        sim.reset_calls()
        stop = StopFlag()
        first = EventsBackfill(client=client, store=store, request=request,
                               checkpoint=Checkpoint(cp_path, request.params()), errors=ErrorLog(err_path),
                               progress=StopAfter(days // 2, stop), today=today, stop=stop)
        first.run()
        first_calls = data_calls(sim.calls())
        committed = Checkpoint.load(cp_path).completed
        sim.reset_calls()
        second = EventsBackfill(client=client, store=store, request=request,
                                checkpoint=Checkpoint.load(cp_path), errors=ErrorLog.load(err_path),
                                progress=StopAfter(10 ** 9, StopFlag()), today=today, resume=True)
        second.run()
        second_calls = data_calls(sim.calls())
        done = Checkpoint.load(cp_path).completed
        runners_resumed = store.query("SELECT count(*) FROM ra_runners")[0][0]
        store.close()
        client.close()
        remaining = sorted(set(planning.days_between(start, end)) - committed)
        need_second = _needed_for(sim, remaining, today)
        need_first = needed - need_second
        r1 = sum(first_calls.values()) / need_first
        r2 = sum(second_calls.values()) / need_second
        total = (sum(first_calls.values()) + sum(second_calls.values())) / needed
        b.note(f"stopped after {len(committed)} of {days} days; the resumed run did the other "
               f"{len(remaining)} (checkpoint complete: {len(done) == days})")
        b.add("calls made / needed, stopped leg", r1, f"{r1:.3f} ({sum(first_calls.values())}/{need_first})",
              f"= {CALLS_TARGET:.2f}", abs(r1 - 1) < 1e-9)
        b.add("calls made / needed, resumed leg", r2, f"{r2:.3f} ({sum(second_calls.values())}/{need_second})",
              f"= {CALLS_TARGET:.2f}", abs(r2 - 1) < 1e-9)
        b.add("calls made / needed, stop + resume together", total, f"{total:.3f}",
              f"= {CALLS_TARGET:.2f}", abs(total - 1) < 1e-9 and len(done) == days)
        if runners_resumed != len(truth.runner_keys):
            b.note(f"resumed run stored {runners_resumed} runners, the dataset has {len(truth.runner_keys)}")


def _needed_for(sim, days, today: date) -> int:
    calls = 0
    for day in days:
        if planning.results_servable(day, today):
            calls += max(1, math.ceil(len(sim.dataset.results_for(day, ("gb", "ire"))) / 100))
        if planning.racecards_servable(day, today):
            calls += 1
    return calls


# --- 2. the rate-limit floor ----------------------------------------------------------------------
def bench_floor(b: Bench, today: date, months: int, latency_ms: int, target: float, pg: bool) -> dict:
    label = f"{latency_ms} ms latency" if latency_ms else "no added latency"
    start, end = months_back(months, today)
    print(f"\n[2] wall / rate-limit floor, {label} ({start}..{end}, spec limits enforced by the "
          f"simulator in its own process, client at its default limits)", flush=True)
    sim = ChildSimulator({"rate_limits": True, "rate_limit_scale": 1.0, "today": today},
                         {"rate": 0.0, "latency_ms": latency_ms})
    db_url = create_database("dh_bench_floor") if pg else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = db_url or f"sqlite:///{tmp}/floor.db"
            store = open_fresh_store(url)
            timed = DatabaseClock()
            client = RacingAPIClient(SIM_USER, SIM_PASSWORD, base_url=sim.base_url)
            started = time.perf_counter()
            rc = run_events_inprocess(store, SimStub(sim.base_url),
                                      ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
                                       "--checkpoint-file", f"{tmp}/floor.json", "--quiet"],
                                      today=today, client=client)
            wall = time.perf_counter() - started
            store.close()
            client.close()
        log = sim.calls()
    finally:
        sim.stop()
        if db_url:
            drop_database(db_url)
    calls = data_calls(log)
    too_many = sum(1 for r in log if r[1] == 429)
    floor = api_floor(calls)
    ratio = wall / floor
    tag = f"{months} mo, {label}"
    b.note(f"{tag}: {calls['results']} results + {calls['racecards']} racecard calls; floor {floor:.1f} s, "
           f"wall {wall:.1f} s, exit {rc}, store {'PostgreSQL' if pg else 'SQLite'}")
    b.add(f"wall / floor ({tag})", ratio, f"{ratio:.3f}", f"<= {target:.2f}", ratio <= target and rc == 0)
    b.add(f"429 responses ({tag})", too_many, str(too_many), "= 0", too_many == 0)
    share = timed.seconds / wall
    b.add(f"database time / wall ({tag})", share, f"{share:.1%} ({timed.seconds:.1f} s)")
    return {"wall": wall, "floor": floor, "ratio": ratio, "calls": dict(calls), "db_s": timed.seconds,
            "days": (end - start).days + 1}


# --- 3. our own cost --------------------------------------------------------------------------------
def _backfill_run(store_url: str, base_url: str, start: date, end: date, today: date, tmp: str) -> dict:
    store = open_fresh_store(store_url)
    timed = DatabaseClock()
    client = RacingAPIClient(SIM_USER, SIM_PASSWORD, base_url=base_url, retry=FAST_RETRY, rate_scale=1000)
    argv = ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
            "--checkpoint-file", f"{tmp}/cp_{time.monotonic_ns()}.json", "--quiet"]
    before = own_cpu_seconds()
    started = time.perf_counter()
    rc = run_events_inprocess(store, SimStub(base_url), argv, today=today, client=client)
    wall = time.perf_counter() - started
    cpu = own_cpu_seconds() - before
    out = {"rc": rc, "wall": wall, "cpu": cpu, "db_s": timed.seconds,
           "runners": store.query("SELECT count(*) FROM ra_runners")[0][0],
           "races": store.query("SELECT count(*) FROM ra_races")[0][0],
           "calls": client.stats, "days": (end - start).days + 1}
    if store_url.startswith("postgresql"):
        out["bytes_total"] = int(store.query(
            "SELECT sum(pg_total_relation_size(quote_ident(table_name)::regclass)) "
            "FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_name LIKE 'ra_%'")[0][0])
        out["bytes_runners"] = int(store.query("SELECT pg_total_relation_size('ra_runners')")[0][0])
    store.close()
    client.close()
    return out


def _backfill_run_clean(store_url: str, base_url: str, start: date, end: date, today: date, tmp: str) -> dict:
    """``_backfill_run`` in a fresh interpreter: this process holds the earlier sections' objects
    (in-process simulators, datasets), and a backfill run beside them measured 15-20% slower
    (its garbage collections walk them too) than the same run in a clean process, as users run it."""
    job = json.dumps([store_url, base_url, start.isoformat(), end.isoformat(), today.isoformat(), tmp])
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--own-run", job],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"own-cost run failed: {done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_own_cost(b: Bench, sim: StandaloneSimulator, today: date, months: int, pg: bool) -> dict:
    start, end = months_back(months, today)
    print(f"\n[3] own cost: {start}..{end} ({months} months), simulator limits off in its own process, "
          f"client pacing x1000", flush=True)
    runs: dict[str, dict] = {}
    sim_pid = sim.proc.pid
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("PostgreSQL", "pg")] if pg else []
        targets.append(("SQLite", "sqlite"))
        for label, kind in targets:
            url = create_database("dh_bench_backfill") if kind == "pg" else f"sqlite:///{tmp}/own.db"
            sim_cpu = proc_cpu_seconds(sim_pid)
            try:
                run = _backfill_run_clean(url, sim.base_url, start, end, today, tmp)
            finally:
                if kind == "pg":
                    drop_database(url)
            run["sim_cpu"] = proc_cpu_seconds(sim_pid) - sim_cpu
            runs[kind] = run
            rate = run["runners"] / run["wall"]
            b.note(f"{label}: {run['runners']} runners, {run['races']} races in {run['wall']:.1f} s "
                   f"(exit {run['rc']}); backfill CPU {run['cpu']:.1f} s, database {run['db_s']:.1f} s, "
                   f"simulator CPU {run['sim_cpu']:.1f} s")
            b.add(f"runner rows/s into {label} ({months} mo, end to end)", rate, f"{rate:,.0f}",
                  f">= {ROWS_PER_S_TARGET:,.0f}", rate >= ROWS_PER_S_TARGET and run["rc"] == 0)
            per_k = run["cpu"] / run["runners"] * 1000
            b.add(f"backfill CPU s per 1,000 runners ({label})", per_k, f"{per_k:.3f} s")
            own_rate = run["runners"] / run["cpu"]
            b.add(f"runner rows per backfill-CPU second ({label})", own_rate, f"{own_rate:,.0f}")
        print(f"  profiling the {months}-month SQLite run (py-spy, {pyspy_profile.RATE_HZ} Hz, "
              f"backfill_events.py as a subprocess) ...", flush=True)
        prof = sampled_profile(sim, start, end, tmp)
        if prof:
            runs["profile"] = prof
            b.note(f"profiled SQLite run (backfill_events.py under py-spy): {prof['wall']:.1f} s, "
                   f"{prof['summary'].samples:,} samples of busy threads")
    return runs


def naive_upsert(conn, table: str, rows: list[dict]) -> int:
    """What the original tool did: one INSERT … ON CONFLICT DO UPDATE per row, autocommit."""
    spec = TABLES[table]
    key = ", ".join(spec.key)
    n = 0
    for row in rows:
        row = {c: v for c, v in row.items() if v is not None and v != ""}
        cols = list(row)
        updates = [c for c in cols if c not in spec.key]
        action = (f"DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in updates)}" if updates
                  else "DO NOTHING")
        conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
                     f"ON CONFLICT ({key}) {action}", [row[c] for c in cols])
        n += 1
    return n


def bench_naive(b: Bench, today: date, days: int, e2e_rates: dict) -> dict:
    import psycopg

    start, end = last_days(days, today, end_offset=40)
    print(f"\n[3b] baseline: naive row-at-a-time upsert (autocommit) of {start}..{end} into PostgreSQL, "
          f"vs PostgresStore.write_unit on the same units", flush=True)
    sim = RacingAPISimulator(SimulatorConfig(rate_limits=False, today=today))   # dataset only, not started
    fetched = datetime.now(UTC)
    units = []
    for day in planning.days_between(start, end):
        data = DayData(day, results=sim.dataset.results_for(day, ("gb", "ire")),
                       racecards=sim.dataset.racecards_for(day, ("gb", "ire"))
                       if planning.racecards_servable(day, today) else [])
        units.append(build_write_unit(data, fetched))
    runners = len({(r["race_id"], r["horse_id"]) for u in units for r in u.get("ra_runners", [])})
    statements = sum(len(rows) for u in units for rows in u.values())
    out = {"runners": runners, "statements": statements}

    url = create_database("dh_bench_naive")
    try:
        open_fresh_store(url).close()
        with psycopg.connect(url, autocommit=True) as conn:
            started = time.perf_counter()
            for unit in units:
                for table in WRITE_ORDER:
                    naive_upsert(conn, table, unit.get(table, []))
            out["naive_s"] = time.perf_counter() - started
            stored = conn.execute("SELECT count(*) FROM ra_runners").fetchone()[0]
    finally:
        drop_database(url)
    url = create_database("dh_bench_naive")
    try:
        store = open_fresh_store(url)
        started = time.perf_counter()
        for unit in units:
            store.write_unit(unit)
        out["store_s"] = time.perf_counter() - started
        store.close()
    finally:
        drop_database(url)
    naive_rate = runners / out["naive_s"]
    store_rate = runners / out["store_s"]
    out.update(naive_rate=naive_rate, store_rate=store_rate)
    b.note(f"sample {days} days: {runners} runners ({stored} stored by the naive loop), "
           f"{statements} row upserts in all tables")
    b.add("naive row-at-a-time upsert, runner rows/s (PostgreSQL)", naive_rate, f"{naive_rate:,.0f}")
    b.add("PostgresStore.write_unit, same units, runner rows/s", store_rate, f"{store_rate:,.0f}")
    b.add("speed-up of the store over the naive loop", store_rate / naive_rate, f"x{store_rate / naive_rate:.1f}")
    for label, rate in e2e_rates.items():
        b.add(f"speed-up of the end-to-end backfill ({label}) over the naive loop", rate / naive_rate,
              f"x{rate / naive_rate:.1f}")
    return out


# --- 4. memory ----------------------------------------------------------------------------------------
def events_subprocess(sim: StandaloneSimulator, start: date, end: date, tmp: str,
                      tag: str) -> tuple[list[str], dict]:
    """The command and environment of ``scripts/backfill_events.py`` into a fresh SQLite file,
    against the simulator with its limits off and the client's pacing scaled x1000."""
    env = {**os.environ, "RACING_API_BASE_URL": sim.base_url, "RACING_API_USERNAME": SIM_USER,
           "RACING_API_PASSWORD": SIM_PASSWORD, "RACING_API_RETRY_INITIAL": "0.01",
           "RACING_API_RETRY_MAX": "0.05", "RACING_API_TIMEOUT": "10", "RACING_API_RATE_SCALE": "1000"}
    for var in ("DATABASE_URL", "SUPABASE_DB_URL", "SUPABASE_URL", "SUPABASE_SERVICE_KEY"):
        env.pop(var, None)
    db = Path(tmp) / f"{tag}.db"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "init_db.py"), "--database-url", f"sqlite:///{db}"],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    command = [sys.executable, str(EVENTS_SCRIPT), "--database-url", f"sqlite:///{db}",
               "--start-date", start.isoformat(), "--end-date", end.isoformat(),
               "--checkpoint-file", str(Path(tmp) / f"{tag}.json"), "--quiet"]
    return command, env


def peak_rss_mb(sim: StandaloneSimulator, start: date, end: date, tmp: str) -> tuple[float, int, float]:
    tag = f"rss_{start}_{end}"
    command, env = events_subprocess(sim, start, end, tmp, tag)
    log_path = Path(tmp) / f"{tag}.log"
    started = time.perf_counter()
    # Started from a small launcher, not from this (large) process: Linux carries the RSS high-water
    # mark of the forked pre-exec image into ru_maxrss, so a child of a 400 MB parent reports 400 MB.
    launched = subprocess.run([sys.executable, "-c", RSS_LAUNCHER, json.dumps(command), str(log_path)],
                              env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    maxrss_kb, rc = json.loads(launched.stdout)
    if rc != 0:
        print(f"  backfill_events.py exited {rc}: {log_path.read_text()[-800:]}", flush=True)
    return maxrss_kb / 1024, rc, wall


def sampled_profile(sim: StandaloneSimulator, start: date, end: date, tmp: str) -> dict | None:
    """py-spy over ``backfill_events.py`` (SQLite, the own-cost range): stage shares and the
    functions with the most own samples; None (with the reason printed) when py-spy is missing."""
    command, env = events_subprocess(sim, start, end, tmp, "profiled")
    raw = Path(tmp) / "profile.raw"
    started = time.perf_counter()
    try:
        rc = pyspy_profile.record(command, raw, env, Path(tmp) / "profile.log")
    except FileNotFoundError as exc:
        print(f"  profile skipped: {exc}", flush=True)
        return None
    wall = time.perf_counter() - started
    if rc != 0 or not raw.exists():
        print(f"  profile failed (exit {rc}): {(Path(tmp) / 'profile.log').read_text()[-600:]}", flush=True)
        return None
    return {"wall": wall, "summary": pyspy_profile.summarise(raw, ROOT)}


RSS_LAUNCHER = """
import json, os, subprocess, sys
command, log_path = json.loads(sys.argv[1]), sys.argv[2]
with open(log_path, "w") as log:
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    # The backfill is one process (it writes every day itself): the kernel's exact peak of it.
    _pid, status, usage = os.wait4(proc.pid, 0)
print(json.dumps([usage.ru_maxrss, os.waitstatus_to_exitcode(status)]))
"""


def bench_memory(b: Bench, sim: StandaloneSimulator, today: date) -> dict:
    print("\n[4] peak RSS of scripts/backfill_events.py (subprocess, SQLite, simulator limits off)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        small = peak_rss_mb(sim, *months_back(1, today), tmp)
        big = peak_rss_mb(sim, *months_back(12, today), tmp)
    b.note(f"1 month: {small[0]:.0f} MB in {small[2]:.0f} s (exit {small[1]}); "
           f"12 months: {big[0]:.0f} MB in {big[2]:.0f} s (exit {big[1]})")
    ratio = big[0] / small[0]
    b.add("peak RSS 12 months / 1 month", ratio, f"{ratio:.2f}", f"<= {RSS_RATIO_TARGET}",
          ratio <= RSS_RATIO_TARGET and small[1] == 0 and big[1] == 0)
    b.add("peak RSS, 12 months", big[0], f"{big[0]:.0f} MB", f"<= {RSS_ABS_TARGET_MB:.0f} MB",
          big[0] <= RSS_ABS_TARGET_MB)
    return {"small_mb": small[0], "big_mb": big[0]}


# --- 5. scale on paper ---------------------------------------------------------------------------
def projection(b: Bench, today: date, own: dict, floor_runs: dict) -> list[list[str]]:
    ref = own.get("pg") or own["sqlite"]
    days = ref["days"]
    results_per_day = ref["calls"]["results"]["calls"] / days
    runners_per_day = ref["runners"] / days
    cpu_per_day = ref["cpu"] / days
    db_per_day = ref["db_s"] / days
    full_days = list(planning.days_between(FULL_START, today))
    card_days = [d for d in full_days if planning.racecards_servable(d, today)]
    results_calls = results_per_day * len(full_days)
    racecard_calls = len(card_days)
    margin = 1.02   # the client spaces calls 2% wider than the limit (utils.api.rate_limit.SAFETY_MARGIN)
    r_s = results_per_day / planning.SPEC_RATE_LIMITS["results"] * margin
    c_s = 1 / planning.SPEC_RATE_LIMITS["racecards"] * margin
    pre = len(full_days) - len(card_days)
    floor_s = api_floor({"results": results_calls, "racecards": racecard_calls})
    serial_floor = pre * r_s + len(card_days) * max(r_s, c_s)      # --days-in-flight 1
    # Days in flight (utils.pipeline.events.DEFAULT_DAYS_IN_FLIGHT) keep both budgets busy and overlap
    # the calls' latencies, so the run is bounded by the largest of: the API floor, our CPU (one
    # process), the writes (made one after another on the run's thread), and the latency of a
    # day's sequential pages shared by the days in flight.
    in_flight = DEFAULT_DAYS_IN_FLIGHT
    bounds = {"API floor": floor_s * margin,
              "CPU": cpu_per_day * len(full_days),
              "writes": db_per_day * len(full_days),
              "latency": len(full_days) * ASSUMED_RTT_S * max(1.0, results_per_day) / in_flight}
    projected = max(bounds.values())
    bound = max(bounds, key=bounds.get)
    horses_s = HORSES_FULL / planning.SPEC_RATE_LIMITS["horses"] * margin
    size = None
    if "bytes_total" in ref:
        per_runner = ref["bytes_total"] / ref["runners"]
        size = per_runner * runners_per_day * len(full_days)
        b.add("database bytes per runner (PostgreSQL, all ra_ tables)", per_runner, f"{per_runner:,.0f} B")
    fmt = planning.format_duration
    b.add(f"projected events backfill {FULL_START}..{today} (wall)", projected, fmt(projected))
    rows = [
        ["days", f"{len(full_days):,} ({len(card_days):,} with racecards)", "—"],
        ["results calls", f"{results_calls:,.0f} ({results_per_day:.2f}/day measured over "
                          f"{days} days)", "~4,300"],
        ["racecard calls", f"{racecard_calls:,}", "~1,400 since 2023"],
        ["API floor, max(results/5, racecards/2) (`api_floor`)", fmt(floor_s), "15–20 min"],
        ["API floor with one day in flight (`--days-in-flight 1`: days one after another)",
         fmt(serial_floor), "—"],
        [f"projected wall ({in_flight} days in flight: max(API floor x {margin}, "
         f"{cpu_per_day:.2f} s CPU/day, {db_per_day:.3f} s of writes/day in series, "
         f"{ASSUMED_RTT_S * 1000:.0f} ms per call / {in_flight}); bound by: {bound})",
         fmt(projected), "15–20 min (\"1–2 hours\" in the issue)"],
        ["runners", f"{runners_per_day * len(full_days):,.0f} ({runners_per_day:.0f}/day)", "—"],
        ["database size (PostgreSQL)", f"{size / 1e9:.1f} GB" if size else "n/a (no PostgreSQL run)", "—"],
        [f"horse enrichment ({HORSES_FULL:,} calls at 5/s)", fmt(horses_s), "about 6 hours"],
        ["total with enrichment", fmt(projected + horses_s), "—"],
    ]
    return rows


# --- report ----------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def profile_markdown(prof: dict, months: int) -> list[str]:
    summary = prof["summary"]
    lines = ["", f"### Profile: the {months}-month SQLite run (py-spy {pyspy_profile.RATE_HZ} Hz, "
                 f"`--nonblocking`, all threads; {prof['wall']:.0f} s, {summary.samples:,} samples of "
                 f"busy threads)", "", "Where the busy time goes, by stage:", "",
             "| stage | share of samples |", "|---|---:|"]
    lines += [f"| {stage} | {summary.share(n):.1%} |" for stage, n in summary.stages]
    lines += ["", "Functions with the most own samples (the innermost frame; a C call such as "
                  "`executemany` or a socket read counts for the Python function that made it):", "",
              "| function | own share |", "|---|---:|"]
    lines += [f"| `{where}` | {summary.share(n):.1%} |" for where, n in summary.own]
    return lines


def print_profile(summary) -> None:
    print(f"\nProfile of the SQLite run (py-spy, {summary.samples:,} samples of busy threads), by stage:")
    for stage, n in summary.stages:
        print(f"  {summary.share(n):6.1%}  {stage}")
    print("  functions by own samples:")
    for where, n in summary.own:
        print(f"  {summary.share(n):6.1%}  {where}")


def markdown(b: Bench, args, today: date, own: dict, proj: list[list[str]], elapsed: float) -> str:
    lines = [
        f"Measured {datetime.now().strftime('%Y-%m-%d %H:%M')} by `make bench` "
        f"(`{' '.join(['.venv/bin/python', 'benchmarks/bench_backfill.py', *sys.argv[1:]])}`) on "
        f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, "
        f"simulated today {today}; took {elapsed / 60:.1f} min. Every ratio is against a figure "
        f"measured in the same run.",
        "",
        "| figure | value | target | |",
        "|---|---|---|---|",
    ]
    lines += [f"| {f.name} | {f.text} | {f.target or '—'} | {f.verdict or 'info'} |" for f in b.figures]
    lines += ["", "How each figure is measured:", "",
              "- **calls**: the simulator's call log (every call, retries included; faults off) against "
              "one results call per 100 races per day plus one racecard call per servable day, from "
              "`sim.dataset`; the resumed run is stopped by a `StopFlag` set from `Progress.day_done` "
              "after half the days, then continued from the saved checkpoint.",
              f"- **floor**: the simulator enforces the spec's limits (scale 1.0) in its own process; the "
              f"client runs at its default limits; floor = max(results calls / 5, racecard calls / 2) "
              f"(`api_floor`, also used by the remote-database benchmark). Database time is "
              f"`EventsBackfill.db_seconds`: the time in `store.write_unit` (into PostgreSQL one "
              f"`ra_apply_day` call a day), summed. {args.floor_months} months without latency, "
              f"{args.latency_months} months with {LATENCY_MS} ms per call. The former target "
              f"database time / wall <= 5% is retired (issue 15): issue 3's ceiling measurements "
              f"showed it was ill-posed; the figure is shown for information.",
              f"- **own cost**: `scripts/racing_api_simulator.py --no-rate-limits` as a subprocess, "
              f"backfill in a fresh interpreter with `rate_scale=1000`, {args.throughput_months} months, "
              f"fresh database; rows/s = distinct `ra_runners` / wall; CPU from `getrusage` of that "
              f"process. That one process fetches, transforms and writes every day, as the scripts "
              f"do (no writer process, no spool): {DEFAULT_DAYS_IN_FLIGHT} days in flight (the "
              f"default `--days-in-flight`) are fetched and transformed on threads, and the run's "
              f"thread writes each one as it completes. The wall includes the simulator serving "
              f"each day (its CPU is listed in the notes).",
              "- **baseline**: the same transformed units (`build_write_unit` over `sim.dataset`) written "
              "one `INSERT … ON CONFLICT DO UPDATE` per row with autocommit.",
              "- **memory**: the peak RSS of `scripts/backfill_events.py` (`os.wait4`'s `ru_maxrss` of "
              "the one process), run as a subprocess into a fresh SQLite file (`RACING_API_RATE_SCALE=1000`).",
              "", "Notes from the run:", ""]
    lines += [f"- {n}" for n in b.notes]
    if own.get("profile"):
        lines += profile_markdown(own["profile"], args.throughput_months)
    lines += ["", f"### Scale on paper: {FULL_START} to {today}", "",
              "| quantity | projected from this run | README claim |", "|---|---|---|"]
    lines += [f"| {a} | {p} | {c} |" for a, p, c in proj]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls-days", type=int, default=61)
    p.add_argument("--floor-months", type=int, default=3)
    p.add_argument("--latency-months", type=int, default=3)
    p.add_argument("--throughput-months", type=int, default=12)
    p.add_argument("--naive-days", type=int, default=31)
    p.add_argument("--no-postgres", action="store_true")
    p.add_argument("--no-docs", action="store_true")
    p.add_argument("--only", default="", help="comma list of sections to run: calls,floor,own,memory")
    p.add_argument("--own-run", help=argparse.SUPPRESS)   # internal: one own-cost run, JSON result
    args = p.parse_args(argv)
    if args.own_run:
        url, base, start, end, today, tmp = json.loads(args.own_run)
        print(json.dumps(_backfill_run(url, base, date.fromisoformat(start), date.fromisoformat(end),
                                       date.fromisoformat(today), tmp)))
        return 0
    only = set(filter(None, args.only.split(",")))
    want = lambda name: not only or name in only  # noqa: E731
    pg = not args.no_postgres and postgres_available() is None
    today = date.today()
    b = Bench()
    if not pg:
        b.note("PostgreSQL not reachable (or --no-postgres): PostgreSQL figures skipped")
    began = time.perf_counter()

    if want("calls"):
        bench_calls(b, today, args.calls_days)
    floor_runs = {}
    if want("floor"):
        floor_runs["plain"] = bench_floor(b, today, args.floor_months, 0, FLOOR_TARGET, pg)
        floor_runs["latency"] = bench_floor(b, today, args.latency_months, LATENCY_MS, FLOOR_LATENCY_TARGET, pg)
    own: dict = {}
    proj: list[list[str]] = []
    if want("own") or want("memory"):
        sim = StandaloneSimulator(prebuild=(months_back(args.throughput_months, today)[0], today))
        b.note(f"simulator prebuilt {args.throughput_months} months in {sim.prebuild_s:.0f} s (untimed)")
        try:
            if want("own"):
                own = bench_own_cost(b, sim, today, args.throughput_months, pg)
                if pg:
                    rates = {k: own[k]["runners"] / own[k]["wall"] for k in ("pg", "sqlite") if k in own}
                    bench_naive(b, today, args.naive_days,
                                {{"pg": "PostgreSQL", "sqlite": "SQLite"}[k]: v for k, v in rates.items()})
            if want("memory"):
                bench_memory(b, sim, today)
        finally:
            sim.stop()
        if own:
            proj = projection(b, today, own, floor_runs)
    elapsed = time.perf_counter() - began

    if own.get("profile"):
        print_profile(own["profile"]["summary"])
    if proj:
        print(f"\nScale on paper, {FULL_START}..{today}:")
        for a, pr, c in proj:
            print(f"  {a:<72} {pr:<34} README: {c}")
    print(f"\nbench_backfill: {len(b.figures)} figures, {sum(f.ok is True for f in b.figures)} PASS, "
          f"{len(b.failed)} FAIL, {elapsed / 60:.1f} min")
    for f in b.failed:
        print(f"  FAIL {f.name}: {f.text} (target {f.target})")
    if not args.no_docs and not only:
        from perfdoc import update_section

        update_section("Backfill", markdown(b, args, today, own, proj, elapsed))
        print("wrote the Backfill section of docs/PERFORMANCE.md")
    return 1 if b.failed else 0


if __name__ == "__main__":
    sys.exit(main())
