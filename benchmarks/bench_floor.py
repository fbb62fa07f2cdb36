#!/usr/bin/env python3
"""Benchmark: the events backfill at the API's floor with several days in flight (issue 15).

Each leg runs ``scripts/backfill_events.py`` as a user runs it: a subprocess, pointed at the
bundled simulator by ``RACING_API_BASE_URL`` / ``RACING_API_USERNAME`` / ``RACING_API_PASSWORD``,
into PostgreSQL by ``--database-url`` or into the Supabase REST store by ``SUPABASE_URL`` +
``SUPABASE_SERVICE_KEY`` (``tests/postgrest_fake.py`` on real PostgreSQL), a fresh database per
leg (migrated by ``scripts/init_db.py`` before the clock starts). The simulator enforces the
spec's real rate limits in a process of its own, adds ``--api-latency-ms`` (default 150 ms) to
every call, has the historical results add-on (results older than 365 days), and has generated
the leg's days before it listens (the real API answers from stored data). The database round trip
is added by ``benchmarks/delay_proxy.py`` (``--rtt-ms``, default 40 ms RTT); the 0 ms legs connect
to the local server directly.

Legs (``--legs``, default all, in this order):

- ``x-pg-0``, ``x-pg-rtt``, ``x-rest-rtt``: the cross-era range (``--start``/``--end``, default
  2022-12-01..2023-02-28: results-only days before 2023-01-23, racecard days after), the default
  days in flight (the script's own default: no ``--days-in-flight`` is passed);
- ``x1-pg-0``, ``x1-pg-rtt``, ``x1-rest-rtt``: the same with ``--days-in-flight 1``, days one
  after another, the baseline of what days in flight buy;
- ``year-pg-0``: the 12 months ending yesterday (``--year-days`` days, racecard era, inside the
  365-day results window) into local PostgreSQL, default days in flight.

Per leg, from the simulator's call log (arrival times, statuses, parameters) and the process:
wall (process start to exit, as a user waits for it); the floor (``bench_backfill.api_floor``:
max(results calls / 5, racecard calls / 2)); wall / floor against the issue's target (reported,
not asserted); the wall split, on the endpoint that sets the floor, into start-up (process start
to its first call), the pacing margin (the client spaces calls ``SAFETY_MARGIN`` / limit apart,
1.05 / limit), idle (the sum over its consecutive calls of each gap beyond that) and the tail (its
last call to exit); the same per endpoint with the largest gaps; calls made / calls
needed (needed: one results call per 100 races of each day, at least one, plus one racecard call
per day the plan serves, counted on the simulator's own dataset), repeated requests, 429s; the
backfill process's CPU seconds (``os.wait4``) and the machine's load average.

    .venv/bin/python benchmarks/bench_floor.py [--legs x-pg-0,...] [--start 2022-12-01]
        [--end 2023-02-28] [--year-days 365] [--api-latency-ms 150] [--rtt-ms 40]
        [--json out.json] [--no-docs] [--revision TEXT]
    .venv/bin/python benchmarks/bench_floor.py --from-json out.json   # render a saved run

Writes the "## Floor: days in flight" section of docs/PERFORMANCE.md (``perfdoc``) unless
``--no-docs``; ``make bench`` (``run_all.py``) runs it with the defaults.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "tests", ROOT / "benchmarks"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from bench_backfill import DATA_ENDPOINTS, api_floor, data_calls  # noqa: E402
from bench_remote import FakeProcess, _admin_connect, fake_kind, fidelity_notes, run_header, with_port  # noqa: E402
from child_process import PipedChild  # noqa: E402
from delay_proxy import ProxyProcess  # noqa: E402
from helpers import SIM_PASSWORD, SIM_USER, create_database, drop_database, postgres_available  # noqa: E402
from utils import planning  # noqa: E402
from utils.pipeline.events import DEFAULT_DAYS_IN_FLIGHT  # noqa: E402

SECTION_TITLE = "Floor: days in flight"
EVENTS_SCRIPT = ROOT / "scripts" / "backfill_events.py"
INIT_SCRIPT = ROOT / "scripts" / "init_db.py"
CROSS_START, CROSS_END = date(2022, 12, 1), date(2023, 2, 28)
DEFAULT_YEAR_DAYS = 365
DEFAULT_API_LATENCY_MS = 150
DEFAULT_RTT_MS = 40.0
REGIONS = ("gb", "ire")
RESULTS_PAGE = 100
# leg name -> (range, store, at RTT?, days in flight (None: the script's default), target)
LEGS = {
    "x-pg-0": ("cross", "pg", False, None, 1.10),
    "x-pg-rtt": ("cross", "pg", True, None, 1.10),
    "x-rest-rtt": ("cross", "rest", True, None, 1.15),
    "x1-pg-0": ("cross", "pg", False, 1, None),
    "x1-pg-rtt": ("cross", "pg", True, 1, None),
    "x1-rest-rtt": ("cross", "rest", True, 1, None),
    "year-pg-0": ("year", "pg", False, None, 1.10),
}


@dataclass
class Leg:
    name: str
    range_kind: str
    store: str
    rtt_ms: float
    days_in_flight: int | None        # None: the script's default
    target: float | None
    start: str = ""
    end: str = ""
    days: int = 0
    available: bool = True
    reason: str = ""
    rc: int | None = None
    wall_s: float = 0.0
    floor_s: float = 0.0
    floor_endpoint: str = ""          # the endpoint whose budget sets the floor
    startup_s: float = 0.0            # process start -> its first call's arrival
    span_s: float = 0.0               # its first -> last call's arrival
    tail_s: float = 0.0               # its last call's arrival -> process exit
    calls: dict = field(default_factory=dict)
    needed: dict = field(default_factory=dict)
    repeated: int = 0                 # data requests identical to an earlier one
    too_many_429: int = 0
    other_errors: int = 0             # data calls answered neither 200 nor 429
    endpoints: dict = field(default_factory=dict)   # per endpoint: span, idle, largest gaps
    cpu_s: float = 0.0
    maxrss_mb: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0
    prebuild_s: float = 0.0
    runners: int | None = None
    races: int | None = None
    http_requests: int | None = None
    notes: list = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.wall_s / self.floor_s if self.available and self.floor_s else None

    @property
    def calls_ratio(self) -> float | None:
        made = sum(self.calls.get(e, 0) for e in DATA_ENDPOINTS)
        need = sum(self.needed.get(e, 0) for e in DATA_ENDPOINTS)
        return made / need if need else None


# --- the simulator, in a child process: prebuilt days, call log with parameters -----------------
def _sim_child(conn, today: date, latency_ms: int, start: date, end: date) -> None:
    from utils.simulator.faults import FaultConfig
    from utils.simulator.server import RacingAPISimulator, SimulatorConfig

    sim = RacingAPISimulator(SimulatorConfig(
        username=SIM_USER, password=SIM_PASSWORD, historical_addon=True, rate_limits=True,
        rate_limit_scale=1.0, today=today, faults=FaultConfig(rate=0.0, latency_ms=latency_ms)))
    began = time.perf_counter()
    sim.dataset.prebuild(start, end, workers=2)
    needed = {"results": 0, "racecards": 0}
    for i in range((end - start).days + 1):
        day = start + timedelta(days=i)
        if planning.results_servable(day, today):
            needed["results"] += max(1, math.ceil(len(sim.dataset.results_for(day, REGIONS)) / RESULTS_PAGE))
        if planning.racecards_servable(day, today):
            needed["racecards"] += 1
    prebuild_s = time.perf_counter() - began
    sim.start()
    conn.send((sim.base_url, needed, prebuild_s))
    while True:
        msg = conn.recv()
        if msg == "calls":
            conn.send([(c.endpoint, c.status, c.at, json.dumps(c.params, sort_keys=True))
                       for c in sim.calls()])
        else:
            sim.stop()
            conn.send(True)
            return


class FloorSimulator(PipedChild):
    def __init__(self, today: date, latency_ms: int, start: date, end: date):
        # not a daemon: the prebuild runs in worker processes of its own
        super().__init__(_sim_child, today, latency_ms, start, end, daemon=False)
        self.base_url, self.needed, self.prebuild_s = self.greeting

    def calls(self) -> list[tuple]:
        return self.ask("calls")


# --- the call log ---------------------------------------------------------------------------------
def _pacing_margin() -> float:
    """The client's spacing factor (``utils.api.rate_limit.SAFETY_MARGIN``: calls 1.05 / limit apart)."""
    try:
        from utils.api.rate_limit import SAFETY_MARGIN
    except ImportError:
        return 1.0
    return float(SAFETY_MARGIN)


def floor_endpoint(calls) -> str:
    """The endpoint whose budget sets the floor (the larger calls / limit)."""
    limits = planning.SPEC_RATE_LIMITS
    return max(DATA_ENDPOINTS, key=lambda e: calls.get(e, 0) / limits[e])


def analyse_calls(leg: Leg, log: list[tuple], t0: float, t_end: float) -> None:
    """Counts, the floor, and where the wall beyond the floor went, from the call log.

    With ``b`` the endpoint that sets the floor (n calls at limit r): wall = start-up (process
    start -> b's first call) + b's span + tail (b's last call -> exit), and b's span = (n - 1) / r
    + the pacing margin ((n - 1) x (margin - 1) / r) + idle (the gaps beyond the client's paced
    interval, margin / r) - early (gaps shorter than it: arrival jitter)."""
    data = [r for r in log if r[0] in DATA_ENDPOINTS]
    calls = data_calls(data)
    leg.calls = dict(calls)
    leg.floor_s = api_floor(calls)
    leg.too_many_429 = sum(1 for r in log if r[1] == 429)
    leg.other_errors = sum(1 for r in data if r[1] not in (200, 429))
    seen = Counter((r[0], r[3]) for r in data)
    leg.repeated = sum(n - 1 for n in seen.values())
    if not data:
        return
    limits = planning.SPEC_RATE_LIMITS
    margin = _pacing_margin()
    for endpoint in DATA_ENDPOINTS:
        times = sorted(r[2] for r in data if r[0] == endpoint)
        if not times:
            continue
        paced = margin / limits[endpoint]
        gaps = [(b - a, a) for a, b in zip(times, times[1:])]
        idle = [(g - paced, a) for g, a in gaps if g > paced]
        leg.endpoints[endpoint] = {
            "calls": len(times),
            "first_s": times[0] - t0, "last_s": times[-1] - t0,
            "span_s": times[-1] - times[0],
            "at_limit_s": (len(times) - 1) / limits[endpoint],   # the span at exactly the limit
            "margin_s": (len(times) - 1) * (margin - 1) / limits[endpoint],
            "idle_s": sum(g for g, _ in idle),
            "early_s": sum(paced - g for g, _ in gaps if g < paced),
            "gaps_over_2x": sum(1 for g, _ in gaps if g > 2 * paced),
            "largest_gaps": [[round(g + paced, 3), round(a - t0, 2)] for g, a in sorted(idle, reverse=True)[:5]],
        }
    leg.floor_endpoint = floor_endpoint(calls)
    b = leg.endpoints[leg.floor_endpoint]
    leg.startup_s = b["first_s"]
    leg.span_s = b["span_s"]
    leg.tail_s = (t_end - t0) - b["last_s"]


# --- one leg ----------------------------------------------------------------------------------------
def _env(base_url: str, state_dir: str, rest: tuple[str, str] | None) -> dict[str, str]:
    env = {**os.environ, "RACING_API_BASE_URL": base_url, "RACING_API_USERNAME": SIM_USER,
           "RACING_API_PASSWORD": SIM_PASSWORD, "DARKHORSES_RATE_STATE_DIR": state_dir}
    for var in ("DATABASE_URL", "SUPABASE_DB_URL", "SUPABASE_URL", "SUPABASE_SERVICE_KEY",
                "RACING_API_RATE_SCALE", "RACING_API_MAX_RPS", "RACING_API_RETRY_INITIAL",
                "RACING_API_RETRY_MAX", "RACING_API_TIMEOUT"):
        env.pop(var, None)
    if rest:
        env["SUPABASE_URL"], env["SUPABASE_SERVICE_KEY"] = rest
    return env


def events_argv(start: date, end: date, checkpoint: str, days_in_flight: int | None,
                database_url: str | None) -> list[str]:
    argv = ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
            "--checkpoint-file", checkpoint, "--quiet"]
    if days_in_flight is not None:
        argv += ["--days-in-flight", str(days_in_flight)]
    if database_url:
        argv += ["--database-url", database_url]
    return argv


def _init_db(db_url: str) -> None:
    env = _env("http://127.0.0.1:9", tempfile.gettempdir(), None)
    done = subprocess.run([sys.executable, str(INIT_SCRIPT), "--database-url", db_url], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"init_db.py exited {done.returncode}: {done.stderr[-800:]}")


def _run_script(leg: Leg, argv: list[str], env: dict, tmp: str) -> tuple[float, float]:
    """Run backfill_events.py; returns (t0, t_end) in wall-clock seconds (the simulator's clock)."""
    out = Path(tmp) / "events.log"
    leg.load_before = os.getloadavg()[0]
    with out.open("w") as sink:
        t0 = time.time()
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(EVENTS_SCRIPT), *argv], env=env,
                                stdout=sink, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        leg.wall_s = time.perf_counter() - started
        t_end = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
    leg.rc = proc.returncode
    leg.load_after = os.getloadavg()[0]
    leg.cpu_s = usage.ru_utime + usage.ru_stime
    leg.maxrss_mb = usage.ru_maxrss / 1024
    if leg.rc != 0:
        leg.notes.append(f"backfill_events.py exited {leg.rc}: " + out.read_text()[-600:].replace("\n", " | "))
    return t0, t_end


def run_leg(name: str, today: date, start: date, end: date, api_latency_ms: int, rtt_ms: float) -> Leg:
    range_kind, store, at_rtt, n, target = LEGS[name]
    leg = Leg(name, range_kind, store, rtt_ms if at_rtt else 0.0, n, target,
              start=start.isoformat(), end=end.isoformat(), days=(end - start).days + 1)
    why = postgres_available()
    if why:
        leg.available, leg.reason = False, f"PostgreSQL not reachable: {why}"
        return leg
    if store == "rest":
        kind, why = fake_kind()
        if kind != "pg":
            leg.available, leg.reason = False, why or "tests/postgrest_fake.py is not the PostgreSQL-backed fake"
            return leg
    db_url = create_database("dh_bench_floor")
    sim = proxy = fake = None
    try:
        _init_db(db_url)
        sim = FloorSimulator(today, api_latency_ms, start, end)
        leg.needed, leg.prebuild_s = sim.needed, sim.prebuild_s
        with tempfile.TemporaryDirectory() as tmp:
            rest = None
            url = db_url
            if store == "rest":
                fake = FakeProcess("pg", db_url)
                parts = urlsplit(fake.url)
                proxy = ProxyProcess(parts.hostname, parts.port, rtt_ms=leg.rtt_ms).start()
                rest = (f"http://127.0.0.1:{proxy.port}", fake.key)
                url = None
                fake.clear()
            elif at_rtt:
                parts = urlsplit(db_url)
                proxy = ProxyProcess(parts.hostname or "127.0.0.1", parts.port or 5432,
                                     rtt_ms=leg.rtt_ms).start()
                url = with_port(db_url, "127.0.0.1", proxy.port)
            argv = events_argv(start, end, f"{tmp}/checkpoint.json", n, url)
            t0, t_end = _run_script(leg, argv, _env(sim.base_url, tmp, rest), tmp)
            if fake:
                leg.http_requests = len(fake.requests())
            if proxy:
                leg.notes += fidelity_notes(proxy.stats())
        analyse_calls(leg, sim.calls(), t0, t_end)
        with _admin_connect(db_url) as conn:
            leg.runners = conn.execute("SELECT count(*) FROM ra_runners").fetchone()[0]
            leg.races = conn.execute("SELECT count(*) FROM ra_races").fetchone()[0]
    except Exception as exc:   # noqa: BLE001 - one failed leg never stops the others
        leg.available, leg.reason = False, f"failed: {type(exc).__name__}: {str(exc)[:300]}"
    finally:
        for part in (sim, proxy, fake):
            if part:
                part.stop()
        drop_database(db_url)
    return leg


# --- the whole benchmark ------------------------------------------------------------------------
def year_range(today: date, days: int) -> tuple[date, date]:
    end = today - timedelta(days=1)
    start = max(end - timedelta(days=days - 1), today - timedelta(days=planning.RESULTS_FREE_WINDOW_DAYS))
    return start, end


def measure(legs: tuple[str, ...] = tuple(LEGS), *, start: date = CROSS_START, end: date = CROSS_END,
            year_days: int = DEFAULT_YEAR_DAYS, api_latency_ms: int = DEFAULT_API_LATENCY_MS,
            rtt_ms: float = DEFAULT_RTT_MS, command: str | None = None,
            revision: str | None = None) -> dict:
    today = planning.uk_today()
    if not (start < planning.RACECARD_HISTORY_START <= end):
        print(f"note: {start}..{end} does not cross {planning.RACECARD_HISTORY_START}", flush=True)
    year = year_range(today, year_days)
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    out: list[Leg] = []
    for name in legs:
        lo, hi = year if LEGS[name][0] == "year" else (start, end)
        print(f"[{name}] {lo}..{hi} ...", flush=True)
        leg = run_leg(name, today, lo, hi, api_latency_ms, rtt_ms)
        out.append(leg)
        print("   " + summary_line(leg), flush=True)
    return {
        **run_header("bench_floor.py", command, revision, load_before),
        "today": today.isoformat(), "api_latency_ms": api_latency_ms, "rtt_ms": rtt_ms,
        "pacing_margin": _pacing_margin(),
        "elapsed_s": time.perf_counter() - began,
        "legs": [dict(asdict(leg), ratio=leg.ratio, calls_ratio=leg.calls_ratio) for leg in out],
    }


# --- output -------------------------------------------------------------------------------------
def _label(leg: dict) -> str:
    store = {"pg": "PostgreSQL", "rest": "Supabase REST (fake)"}[leg["store"]]
    return f"{store}, {leg['rtt_ms']:g} ms RTT"


def _n(leg: dict) -> str:
    return (f"{DEFAULT_DAYS_IN_FLIGHT} (default)" if leg["days_in_flight"] is None
            else str(leg["days_in_flight"]))


def summary_line(leg: Leg) -> str:
    if not leg.available:
        return f"{leg.name}: {leg.reason}"
    target = f" (target <= {leg.target:.2f})" if leg.target else ""
    idle = ", ".join(f"{e} idle {v['idle_s']:.1f} s" for e, v in leg.endpoints.items())
    b = leg.endpoints.get(leg.floor_endpoint, {})
    return (f"{leg.name}: wall {leg.wall_s:.1f} s, floor {leg.floor_s:.1f} s ({leg.floor_endpoint}), "
            f"x{leg.ratio:.3f}{target}; start-up {leg.startup_s:.2f} s, pacing margin "
            f"{b.get('margin_s', 0):.2f} s, tail {leg.tail_s:.2f} s; {idle} (beyond pacing); calls "
            f"{sum(leg.calls.values())}/{sum(leg.needed.values())}, repeated {leg.repeated}, 429s "
            f"{leg.too_many_429}, exit {leg.rc}, CPU {leg.cpu_s:.1f} s, load {leg.load_before:.2f}"
            f"->{leg.load_after:.2f}")


def verdict_lines(results: dict) -> list[str]:
    """One line per figure with its target, ending PASS/FAIL (``run_all.py`` lists them); they
    report, they do not decide the exit code."""
    out = []
    for g in results["legs"]:
        if not g["available"]:
            continue
        if g["target"]:
            ok = g["ratio"] <= g["target"]
            out.append(f"wall / floor ({g['name']}) {g['ratio']:.3f} <= {g['target']:.2f} "
                       f"{'PASS' if ok else 'FAIL'}")
        out.append(f"calls made / needed ({g['name']}) {g['calls_ratio']:.3f} = 1.000 "
                   f"{'PASS' if g['calls_ratio'] == 1 and not g['repeated'] else 'FAIL'}")
        out.append(f"429s ({g['name']}) {g['too_many_429']} = 0 {'PASS' if not g['too_many_429'] else 'FAIL'}")
    return out


def _find(results: dict, name: str) -> dict | None:
    return next((g for g in results["legs"] if g["name"] == name and g["available"]), None)


def render_markdown(results: dict) -> str:
    """The section body for docs/PERFORMANCE.md (``perfdoc.update_section`` adds the heading)."""
    r = results
    legs = r["legs"]
    cross = next((g for g in legs if g["range_kind"] == "cross"), None)
    year = next((g for g in legs if g["range_kind"] == "year"), None)
    ranges = []
    if cross:
        ranges.append(f"the cross-era range {cross['start']}..{cross['end']} ({cross['days']} days; "
                      f"results only before {planning.RACECARD_HISTORY_START}, racecards and results "
                      f"from it; results older than 365 days, so the account has the historical add-on)")
    if year:
        ranges.append(f"the 12 months {year['start']}..{year['end']} ({year['days']} days, racecard era)")
    margin = r.get("pacing_margin", 1.05)
    lines = [
        f"Measured {r['date']} on code {r['revision']} with `{r['command']}` on {r['machine']}, "
        f"PostgreSQL {r['postgres']} (local; 1-minute load average {r['load_avg_1m'][0]} before, "
        f"{r['load_avg_1m'][1]} after; per leg in the notes); simulated today {r['today']}. "
        f"Each leg is `scripts/backfill_events.py` run as a user runs it (a subprocess; "
        f"`--database-url` for PostgreSQL, `SUPABASE_URL` + `SUPABASE_SERVICE_KEY` for REST), "
        f"into a fresh database migrated by `scripts/init_db.py` before the clock starts, over "
        + " and ".join(ranges) + ". The simulator enforces the spec's real rate limits (results 5/s, "
        f"racecards 2/s) in a process of its own, adds {r['api_latency_ms']} ms to every call, "
        f"and generated the days before listening. Database round trips: "
        f"`benchmarks/delay_proxy.py` at {r['rtt_ms']:g} ms RTT; 0 ms legs connect directly. "
        f"One run of each leg; the ratios are reported, not asserted. Took {r['elapsed_s'] / 60:.1f} min.",
        "",
        "| range | database | days in flight | wall | API floor (endpoint) | wall / floor | target "
        "| start-up | pacing margin | idle on the floor's endpoint | tail | calls made / needed "
        "| repeated | 429s | exit |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for g in legs:
        rng = "cross-era" if g["range_kind"] == "cross" else "12 months"
        if not g["available"]:
            lines.append(f"| {rng} | {_label(g)} | {_n(g)} | {g['reason']} |" + " |" * 11)
            continue
        made, need = sum(g["calls"].values()), sum(g["needed"].values())
        target = f"<= {g['target']:.2f}" if g["target"] else "baseline"
        b = g["endpoints"][g["floor_endpoint"]]
        lines.append(
            f"| {rng} | {_label(g)} | {_n(g)} | {g['wall_s']:.1f} s | {g['floor_s']:.1f} s "
            f"({g['floor_endpoint']}) | **{g['ratio']:.3f}** | {target} | {g['startup_s']:.2f} s "
            f"| {b['margin_s']:.2f} s | {b['idle_s']:.2f} s | {g['tail_s']:.2f} s "
            f"| {made} / {need} = {made / need:.3f} | {g['repeated']} | {g['too_many_429']} | {g['rc']} |")
    bought = []
    for store, suffix in (("pg", "0"), ("pg", "rtt"), ("rest", "rtt")):
        many, one = _find(r, f"x-{store}-{suffix}"), _find(r, f"x1-{store}-{suffix}")
        if many and one:
            bought.append(f"{_label(many)} {one['wall_s']:.1f} s -> {many['wall_s']:.1f} s "
                          f"(wall / floor {one['ratio']:.2f} -> {many['ratio']:.2f})")
    split, margin_most = [], True
    for g in legs:
        if not g["available"] or not g["target"]:
            continue
        b = g["endpoints"][g["floor_endpoint"]]
        step = 1 / planning.SPEC_RATE_LIMITS[g["floor_endpoint"]]
        excess = g["wall_s"] - g["floor_s"]
        jitter = g["startup_s"] + b["margin_s"] + b["idle_s"] + g["tail_s"] - step - excess
        margin_most &= b["margin_s"] > excess / 2
        split.append(f"{g['name']}: {excess:.2f} s = start-up {g['startup_s']:.2f} + margin "
                     f"{b['margin_s']:.2f} + idle {b['idle_s']:.2f} + tail {g['tail_s']:.2f} - "
                     f"{step:g} - jitter {jitter:.2f}; wall / (floor x {margin:g}) = "
                     f"{g['wall_s'] / (g['floor_s'] * margin):.3f}")
    if split:
        lines += ["", "Where the time above the floor goes (legs with a target): " + "; ".join(split)
                  + (". On every one the client's pacing margin is more than half of it."
                     if margin_most else ".")]
    if bought:
        lines += ["", f"What days in flight bought on the cross-era range (1 day at a time -> "
                      f"{DEFAULT_DAYS_IN_FLIGHT}): " + "; ".join(bought) + "."]
    lines += [
        "",
        "How each figure is measured:",
        "",
        "- **wall**: from starting the process to its exit (`os.wait4`), as a user waits for it: "
        "interpreter start, imports, the schema check, the run and the summary.",
        "- **API floor**: max(results calls / 5, racecard calls / 2), the calls counted per "
        "endpoint from the simulator's call log (`bench_backfill.api_floor`, the one definition "
        "every benchmark uses); the endpoint named is the one whose budget sets it.",
        "- With that endpoint's n calls at its limit r: wall = **start-up** (process start to its "
        "first call's arrival) + its span (first to last arrival) + **tail** (last arrival to "
        "exit: that call's latency, the last days' transform and write, the summary), and its span "
        f"= (n - 1) / r + the **pacing margin** (the client spaces calls {margin:g} / r apart, "
        "`utils.api.rate_limit.SAFETY_MARGIN`: (n - 1) x "
        f"{margin - 1:.2f} / r) + **idle** (the sum of the gaps beyond {margin:g} / r: time that "
        "endpoint had nothing to send) - jitter (gaps shorter than that). So wall - floor = "
        "start-up + margin + idle + tail - 1 / r - jitter.",
        "- **calls needed**: per day, one results call per 100 races (at least one) plus one "
        "racecard call when the plan serves the day, counted on the simulator's own dataset; "
        "**repeated**: data requests identical (endpoint and parameters) to an earlier one. A "
        "clean run makes exactly the calls needed (1.000), none twice, and draws no 429.",
    ]
    notes = []
    for g in legs:
        if not g["available"]:
            continue
        ends = "; ".join(
            f"{e} {v['calls']} calls from {v['first_s']:.2f} s to {v['last_s']:.2f} s, margin "
            f"{v['margin_s']:.2f} s, idle {v['idle_s']:.2f} s ({v['gaps_over_2x']} gaps over twice "
            f"the paced interval; largest " + ", ".join(f"{gap:.2f} s at {at:.1f} s"
                                                      for gap, at in v["largest_gaps"][:3]) + ")"
            for e, v in g["endpoints"].items())
        extra = f"; {g['http_requests']} REST requests" if g["http_requests"] is not None else ""
        notes.append(f"{g['name']} ({g['start']}..{g['end']}): {ends}; backfill process CPU "
                     f"{g['cpu_s']:.1f} s, peak RSS {g['maxrss_mb']:.0f} MB; load average "
                     f"{g['load_before']:.2f} -> {g['load_after']:.2f}; {g['races']:,} races, "
                     f"{g['runners']:,} runners{extra}; simulator prebuild {g['prebuild_s']:.1f} s "
                     f"(not timed)")
        notes += [f"{g['name']}: {n}" for n in g["notes"]]
    if notes:
        lines += ["", "Per leg (times from the process start):", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--legs", default=",".join(LEGS), help=f"comma list of {', '.join(LEGS)}")
    p.add_argument("--start", type=date.fromisoformat, default=CROSS_START,
                   help="first day of the cross-era range")
    p.add_argument("--end", type=date.fromisoformat, default=CROSS_END,
                   help="last day of the cross-era range")
    p.add_argument("--year-days", type=int, default=DEFAULT_YEAR_DAYS,
                   help="days of the racecard-era leg, ending yesterday")
    p.add_argument("--api-latency-ms", type=int, default=DEFAULT_API_LATENCY_MS)
    p.add_argument("--rtt-ms", type=float, default=DEFAULT_RTT_MS)
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    p.add_argument("--no-docs", action="store_true",
                   help=f"do not write the '{SECTION_TITLE}' section of docs/PERFORMANCE.md")
    p.add_argument("--revision", help="the code revision to name (default: from git)")
    p.add_argument("--from-json", type=Path, metavar="PATH",
                   help="measure nothing: render (and write to the doc) the results saved by --json, "
                        "e.g. of a run on a clean `git archive` export of a commit")
    args = p.parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        if args.revision:
            results["revision"] = args.revision
        return _report(results, args.no_docs)
    legs = tuple(filter(None, args.legs.split(",")))
    unknown = set(legs) - set(LEGS)
    if unknown:
        p.error(f"unknown legs: {', '.join(sorted(unknown))}")
    results = measure(legs, start=args.start, end=args.end, year_days=args.year_days,
                      api_latency_ms=args.api_latency_ms, rtt_ms=args.rtt_ms, revision=args.revision)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return _report(results, args.no_docs)


def _report(results: dict, no_docs: bool) -> int:
    print()
    for line in verdict_lines(results):
        print(line)
    print()
    print(f"## {SECTION_TITLE}\n")
    print(render_markdown(results))
    if not no_docs:
        from perfdoc import update_section

        update_section(SECTION_TITLE, render_markdown(results))
        print(f"wrote the {SECTION_TITLE} section of docs/PERFORMANCE.md")
    return 0 if all(g["rc"] == 0 for g in results["legs"] if g["available"]) else 1


if __name__ == "__main__":
    sys.exit(main())
