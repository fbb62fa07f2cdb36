#!/usr/bin/env python3
"""Benchmark: what a remote database (Supabase, 20-150 ms per round trip) costs the events backfill.

The same racecard-era range (default: the 14 days ending 10 days ago) is backfilled, with the
bundled simulator enforcing the spec's REAL rate limits in its own process (as in
``bench_backfill.py``'s floor runs: ``ChildSimulator``, client at its default limits), into four
targets, each a fresh database:

- ``pg-0``:    PostgreSQL direct (``--database-url``), through the delay proxy at 0 ms (the proxy
               counts the round trips; a 0 ms hop costs ~0.1 ms);
- ``pg-RTT``:  the same through ``benchmarks/delay_proxy.py`` at ``--rtt-ms`` (default 40 ms RTT,
               i.e. 20 ms each way);
- ``rest-0`` / ``rest-RTT``: the Supabase REST store (selected as a user selects it:
               ``SUPABASE_URL`` + ``SUPABASE_SERVICE_KEY``, no ``DATABASE_URL``/``SUPABASE_DB_URL``)
               against ``tests/postgrest_fake.py``, through the proxy at 0 ms and at ``--rtt-ms``.

The backfill runs as ``bench_backfill.py``'s floor runs do (``run_events_inprocess`` in this
process, into a store opened from the leg's URL or Supabase settings as the scripts open it; each
day is one ``ra_apply_day`` call, over psycopg or as a REST rpc). The proxy and the REST fake run
in child processes, so they never wait for this process's GIL.

Per leg: wall seconds; the API floor (``bench_backfill.api_floor``: max(results calls / 5,
racecard calls / 2)) from the simulator's call log (``bench_backfill.data_calls``); wall / floor;
wall(RTT) / wall(0 ms);
database round trips per day (proxy turns minus each connection's set-up and close turns,
measured on a bare connection through the same proxy, / days) for PostgreSQL; HTTP requests per
day (the fake's request log / days) for REST; write time per day as the backfill saw it
(``EventsBackfill.db_seconds``); database server time per day (``pg_stat_database.active_time``
of the leg's own database: cheap, needs no extension; ``pg_stat_statements`` is not preloaded
here; for REST also the fake's own ``Recorded.server_seconds``). A server waiting for the client
inside a statement (a large message still arriving) counts as active, so at RTT > 0 that figure
can include network waits; the 0 ms leg is the server's own cost.

    .venv/bin/python benchmarks/bench_remote.py [--days 14] [--rtt-ms 40] [--end-offset 10]
        [--legs pg-0,pg-rtt,rest-0,rest-rtt] [--api-latency-ms 0] [--json out.json] [--no-docs]

Writes the "## Remote database (latency)" section of docs/PERFORMANCE.md (``perfdoc``) unless
``--no-docs``; ``make bench`` (``run_all.py``) runs it with the defaults.

From another benchmark (``run_all.py``)::

    import bench_remote
    results = bench_remote.measure(days=14, rtt_ms=40)
    perfdoc.update_section(bench_remote.SECTION_TITLE, bench_remote.render_markdown(results))
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "tests", ROOT / "benchmarks"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from bench_backfill import ChildSimulator, DatabaseClock, SimStub, api_floor, cpu_model, data_calls, last_days  # noqa: E402
from child_process import PipedChild  # noqa: E402
from delay_proxy import ProxyProcess  # noqa: E402
from helpers import (  # noqa: E402
    SIM_PASSWORD,
    SIM_USER,
    create_database,
    drop_database,
    open_fresh_store,
    postgres_available,
    run_events_inprocess,
)
from utils import planning  # noqa: E402
from utils.api.client import RacingAPIClient  # noqa: E402
from utils.stores import open_store  # noqa: E402
from utils.stores.target import resolve_database  # noqa: E402

SECTION_TITLE = "Remote database (latency)"
DEFAULT_DAYS = 14
DEFAULT_RTT_MS = 40.0
DEFAULT_END_OFFSET = 10          # the range ends this many days before today (results + racecards)
LEG_NAMES = ("pg-0", "pg-rtt", "rest-0", "rest-rtt")


@dataclass
class Leg:
    name: str                     # "pg-0", "pg-rtt", "rest-0", "rest-rtt"
    store: str                    # "postgres" | "rest"
    rtt_ms: float
    available: bool = True
    reason: str = ""              # why not available / what is missing
    rc: int | None = None
    days: int = 0
    wall_s: float = 0.0
    floor_s: float = 0.0
    calls: dict = field(default_factory=dict)
    too_many_429: int = 0
    write_s: float = 0.0          # EventsBackfill.db_seconds: time in write_unit, as the client saw it
    server_s: float | None = None  # pg_stat_database.active_time delta of the leg's database
    server_source: str = ""
    fake_server_s: float | None = None   # REST: the fake's summed Recorded.server_seconds
    connections: int = 0
    round_trips: int = 0          # proxy turns, everything included
    overhead_per_connection: int = 0   # set-up + close turns of one bare connection
    http_requests: int | None = None
    bytes_up: int = 0
    bytes_down: int = 0
    runners: int | None = None
    races: int | None = None
    fake: str = ""                # which PostgREST fake served the REST leg
    notes: list = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.wall_s / self.floor_s if self.available and self.floor_s else None

    @property
    def data_round_trips(self) -> int:
        """Round trips of the run itself: each connection's set-up and close turns removed."""
        return self.round_trips - self.connections * self.overhead_per_connection

    def per_day(self, value) -> float | None:
        return None if value is None or not self.days else value / self.days


# --- helpers ------------------------------------------------------------------------------------
def default_range(days: int, today: date, end_offset: int = DEFAULT_END_OFFSET) -> tuple[date, date]:
    return last_days(days, today, end_offset=end_offset)


def with_port(url: str, host: str, port: int) -> str:
    """``url`` pointing at ``host:port`` instead (user, database and query kept)."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    if parts.password:
        user = f"{parts.username}:{parts.password}@"
    return urlunsplit((parts.scheme, f"{user}{host}:{port}", parts.path, parts.query, parts.fragment))


def _admin_connect(url: str):
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def server_active_ms(db_url: str) -> float | None:
    """``pg_stat_database.active_time`` (ms executing statements) of the URL's database; None
    before PostgreSQL 14 (no such column)."""
    name = urlsplit(db_url).path.lstrip("/")
    admin = with_database(db_url, "postgres")
    with _admin_connect(admin) as conn:
        try:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute("SELECT active_time FROM pg_stat_database WHERE datname = %s",
                               (name,)).fetchone()
        except Exception:   # noqa: BLE001 - an older server: no figure
            return None
    return float(row[0]) if row and row[0] is not None else 0.0


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def wait_backends_gone(db_url: str, timeout: float = 10.0) -> None:
    """Backends flush their statistics when they exit: wait until none is connected to the
    database (the run's store has closed), then a moment more."""
    name = urlsplit(db_url).path.lstrip("/")
    deadline = time.monotonic() + timeout
    with _admin_connect(with_database(db_url, "postgres")) as conn:
        while time.monotonic() < deadline:
            n = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                             "AND pid <> pg_backend_pid()", (name,)).fetchone()[0]
            if n == 0:
                break
            time.sleep(0.05)
    time.sleep(0.3)


def fidelity_notes(stats: dict) -> list[str]:
    """How much later than due the proxy wrote chunks (late wake-ups when the CPUs are busy)."""
    if not stats.get("rtt_ms"):
        return []
    chunks = stats["chunks_client_to_server"] + stats["chunks_server_to_client"]
    if not chunks:
        return []
    return [f"proxy fidelity: chunks written {stats['lag_ms_total'] / chunks:.2f} ms after their due "
            f"time on average ({stats['chunks_late']} of {chunks} more than 2 ms late, the latest "
            f"{stats['max_lag_ms']:.1f} ms), against {stats['delay_ms']:g} ms each way"]


def connection_overhead(proxy, url: str) -> int:
    """Turns of one bare connection through the proxy (set-up + Terminate), opened as
    ``PostgresStore`` opens its own (psycopg, the same URL and options)."""
    import psycopg

    proxy.reset()
    psycopg.connect(url, autocommit=False, prepare_threshold=None, connect_timeout=15,
                    application_name="darkhorses-bench-probe").close()
    proxy.wait_idle()
    stats = proxy.stats()
    proxy.reset()
    if stats["connections"] != 1:
        raise RuntimeError(f"probe connection: the proxy saw {stats['connections']} connections")
    return stats["round_trips"]


# --- the REST fake, in a child process -----------------------------------------------------------
def fake_kind() -> tuple[str, str]:
    """("pg", "") when ``tests/postgrest_fake.py`` is the PostgreSQL-backed fake
    (``PostgrestFake(database_url, key=...)``), ("memory", "") for the earlier in-memory one,
    ("", reason) when it cannot be imported."""
    try:
        import postgrest_fake
    except Exception as exc:   # noqa: BLE001 - the fake is being rewritten; report, don't crash
        return "", f"tests/postgrest_fake.py cannot be imported ({type(exc).__name__}: {exc})"
    params = list(inspect.signature(postgrest_fake.PostgrestFake.__init__).parameters)[1:]
    if params and params[0] == "database_url":
        return "pg", ""
    return "memory", ""


def _request_record(r) -> dict:
    """The parts of a recorded request this benchmark uses, whatever the fake's record looks like."""
    seconds = None
    for attr in ("server_seconds", "seconds", "duration"):
        if isinstance(getattr(r, attr, None), (int, float)):
            seconds = float(getattr(r, attr))
            break
    return {"method": getattr(r, "method", "?"),
            "target": getattr(r, "function", None) or getattr(r, "table", None) or getattr(r, "path", ""),
            "status": getattr(r, "status", 0), "seconds": seconds}


def _fake_child(conn, kind: str, database_url: str | None) -> None:
    import postgrest_fake
    from utils.stores.migrations import MIGRATIONS

    try:
        if kind == "pg":
            fake = postgrest_fake.PostgrestFake(database_url)
        else:
            fake = postgrest_fake.PostgrestFake(applied_migrations=tuple(MIGRATIONS))
        fake.start()
    except Exception as exc:   # noqa: BLE001
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ok", fake.url, getattr(fake, "key", postgrest_fake.DEFAULT_KEY)))
    try:
        while True:
            try:
                msg = conn.recv()
            except EOFError:
                break
            if msg == "requests":
                conn.send([_request_record(r) for r in list(fake.requests)])
            elif msg == "clear":
                fake.requests.clear()
                conn.send(True)
            else:
                break
    finally:
        fake.stop()
        try:
            conn.send(True)
        except (OSError, EOFError):
            pass


class FakeProcess(PipedChild):
    """``tests/postgrest_fake.PostgrestFake`` in a spawned child, its request log over a pipe."""

    def __init__(self, kind: str, database_url: str | None):
        super().__init__(_fake_child, kind, database_url)
        if self.greeting[0] == "error":
            self._proc.join(5)
            raise RuntimeError(f"PostgREST fake did not start: {self.greeting[1]}")
        _ok, self.url, self.key = self.greeting

    def requests(self) -> list[dict]:
        return self.ask("requests")

    def clear(self) -> None:
        self.ask("clear")


# --- one leg ------------------------------------------------------------------------------------
def _simulator(today: date, api_latency_ms: int) -> ChildSimulator:
    return ChildSimulator({"rate_limits": True, "rate_limit_scale": 1.0, "today": today},
                          {"rate": 0.0, "latency_ms": api_latency_ms})


def _argv(start: date, end: date, tmp: str) -> list[str]:
    return ["--start-date", start.isoformat(), "--end-date", end.isoformat(),
            "--checkpoint-file", f"{tmp}/remote_{time.monotonic_ns()}.json", "--quiet"]


def _finish_calls(leg: Leg, log) -> None:
    calls = data_calls(log)
    leg.calls = dict(calls)
    leg.too_many_429 = sum(1 for r in log if r[1] == 429)
    leg.floor_s = api_floor(calls)


def run_pg_leg(name: str, rtt_ms: float, start: date, end: date, today: date,
               api_latency_ms: int = 0) -> Leg:
    leg = Leg(name, "postgres", rtt_ms, days=(end - start).days + 1)
    why = postgres_available()
    if why:
        leg.available, leg.reason = False, f"PostgreSQL not reachable: {why}"
        return leg
    db_url = create_database("dh_bench_remote")
    parts = urlsplit(db_url)
    proxy = sim = None
    try:
        proxy = ProxyProcess(parts.hostname or "127.0.0.1", parts.port or 5432, rtt_ms=rtt_ms).start()
        open_fresh_store(db_url).close()                      # migrations: direct, not measured
        proxied = with_port(db_url, "127.0.0.1", proxy.port)
        leg.overhead_per_connection = connection_overhead(proxy, proxied)
        sim = _simulator(today, api_latency_ms)
        with tempfile.TemporaryDirectory() as tmp:
            wait_backends_gone(db_url, timeout=2)
            active_before = server_active_ms(db_url)
            proxy.reset()
            timed = DatabaseClock()
            client = RacingAPIClient(SIM_USER, SIM_PASSWORD, base_url=sim.base_url)
            store = open_store(resolve_database(proxied, {}))  # the run's own store, as the script's
            started = time.perf_counter()
            try:
                leg.rc = run_events_inprocess(store, SimStub(sim.base_url), _argv(start, end, tmp),
                                              today=today, client=client)
            finally:
                leg.wall_s = time.perf_counter() - started
                store.close()
                client.close()
            leg.write_s = timed.seconds
        proxy.wait_idle(10)
        stats = proxy.stats()
        leg.connections, leg.round_trips = stats["connections"], stats["round_trips"]
        leg.bytes_up, leg.bytes_down = stats["bytes_client_to_server"], stats["bytes_server_to_client"]
        leg.notes += fidelity_notes(stats)
        wait_backends_gone(db_url)
        active_after = server_active_ms(db_url)
        if active_before is not None and active_after is not None:
            leg.server_s = (active_after - active_before) / 1000
            leg.server_source = "pg_stat_database.active_time"
        with _admin_connect(db_url) as conn:
            leg.runners = conn.execute("SELECT count(*) FROM ra_runners").fetchone()[0]
            leg.races = conn.execute("SELECT count(*) FROM ra_races").fetchone()[0]
        _finish_calls(leg, sim.calls())
    except Exception as exc:   # noqa: BLE001 - one failed leg never stops the others
        leg.available, leg.reason = False, f"failed: {type(exc).__name__}: {str(exc)[:300]}"
    finally:
        if sim:
            sim.stop()
        if proxy:
            proxy.stop()
        drop_database(db_url)
    return leg


def run_rest_leg(name: str, rtt_ms: float, start: date, end: date, today: date,
                 api_latency_ms: int = 0) -> Leg:
    leg = Leg(name, "rest", rtt_ms, days=(end - start).days + 1)
    kind, why = fake_kind()
    if not kind:
        leg.available, leg.reason = False, f"not available: {why}"
        return leg
    db_url = None
    if kind == "pg":
        why = postgres_available()
        if why:
            leg.available, leg.reason = False, f"not available: PostgreSQL not reachable ({why})"
            return leg
        db_url = create_database("dh_bench_remote_rest")
        leg.fake = "tests/postgrest_fake.py (PostgreSQL-backed)"
    else:
        leg.fake = "tests/postgrest_fake.py (in-memory tables; before the PostgreSQL-backed rewrite)"
    fake = proxy = sim = None
    try:
        if db_url:
            open_fresh_store(db_url).close()      # tables (and the fake's functions) by migration
        fake = FakeProcess(kind, db_url)
        fake_parts = urlsplit(fake.url)
        proxy = ProxyProcess(fake_parts.hostname, fake_parts.port, rtt_ms=rtt_ms).start()
        rest_url = f"http://127.0.0.1:{proxy.port}"
        # the REST store is chosen as a user chooses it: SUPABASE_URL + SUPABASE_SERVICE_KEY, and
        # neither DATABASE_URL nor SUPABASE_DB_URL
        target = resolve_database(None, {"SUPABASE_URL": rest_url, "SUPABASE_SERVICE_KEY": fake.key})
        assert target.kind == "supabase_rest", target
        sim = _simulator(today, api_latency_ms)
        with tempfile.TemporaryDirectory() as tmp:
            if db_url:
                wait_backends_gone(db_url, timeout=2)
            active_before = server_active_ms(db_url) if db_url else None
            store = open_store(target)
            fake.clear()
            proxy.reset()
            timed = DatabaseClock()
            client = RacingAPIClient(SIM_USER, SIM_PASSWORD, base_url=sim.base_url)
            started = time.perf_counter()
            try:
                leg.rc = run_events_inprocess(store, SimStub(sim.base_url), _argv(start, end, tmp),
                                              today=today, client=client)
            finally:
                leg.wall_s = time.perf_counter() - started
                client.close()
            leg.write_s = timed.seconds
            requests = fake.requests()
            stats = proxy.stats()
            leg.runners = store.table_count("ra_runners")       # after the counters were read
            leg.races = store.table_count("ra_races")
            store.close()
        fake.stop()            # its database connections end, so their statistics are flushed
        fake = None
        leg.http_requests = len(requests)
        leg.connections, leg.round_trips = stats["connections"], stats["round_trips"]
        leg.bytes_up, leg.bytes_down = stats["bytes_client_to_server"], stats["bytes_server_to_client"]
        leg.notes += fidelity_notes(stats)
        timed = [r["seconds"] for r in requests if r["seconds"] is not None]
        if timed and len(timed) == len(requests):
            leg.fake_server_s = sum(timed)       # the fake's own timing of each call's SQL
        if db_url:
            wait_backends_gone(db_url)
            active_after = server_active_ms(db_url)
            if active_before is not None and active_after is not None:
                leg.server_s = (active_after - active_before) / 1000
                leg.server_source = "pg_stat_database.active_time (the fake's database)"
        if leg.server_s is None and leg.fake_server_s is not None:
            leg.server_s = leg.fake_server_s
            leg.server_source = "the fake's timing of each request (Recorded.server_seconds)"
        if leg.server_s is None:
            leg.server_source = "n/a (in-memory fake: no database, no timing)"
        if leg.fake_server_s is not None:
            leg.notes.append(f"the fake timed its SQL calls at {leg.fake_server_s / leg.days * 1000:.0f} "
                             f"ms/day (Recorded.server_seconds), beside {leg.server_source}")
        if any(r["status"] and r["status"] >= 400 for r in requests):
            bad = sum(1 for r in requests if r["status"] and r["status"] >= 400)
            leg.notes.append(f"{bad} REST requests answered >= 400")
        targets = sorted({str(r["target"]) for r in requests})
        leg.notes.append(f"{len(targets)} distinct REST targets: {', '.join(targets[:12])}"
                         + (" ..." if len(targets) > 12 else ""))
        _finish_calls(leg, sim.calls())
    except Exception as exc:   # noqa: BLE001 - a REST leg never stops the other legs
        leg.available, leg.reason = False, f"failed: {type(exc).__name__}: {str(exc)[:300]}"
    finally:
        if sim:
            sim.stop()
        if proxy:
            proxy.stop()
        if fake:
            fake.stop()
        if db_url:
            drop_database(db_url)
    return leg


# --- the whole benchmark ------------------------------------------------------------------------
def measure(days: int = DEFAULT_DAYS, rtt_ms: float = DEFAULT_RTT_MS, *, end_offset: int = DEFAULT_END_OFFSET,
            legs: tuple[str, ...] = LEG_NAMES, api_latency_ms: int = 0, today: date | None = None,
            command: str | None = None, revision: str | None = None) -> dict:
    """Run the legs; returns the results ``render_markdown`` takes (JSON-able)."""
    today = today or date.today()
    start, end = default_range(days, today, end_offset)
    if not planning.racecards_servable(start, today):
        raise ValueError(f"{start} is before racecards exist ({planning.RACECARD_HISTORY_START})")
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    out: list[Leg] = []
    for name in legs:
        store, _, which = name.partition("-")
        rtt = 0.0 if which == "0" else rtt_ms
        print(f"[{name}] {start}..{end}, {'PostgreSQL direct' if store == 'pg' else 'Supabase REST'}"
              f", {rtt:g} ms RTT ...", flush=True)
        run = run_pg_leg if store == "pg" else run_rest_leg
        leg = run(name, rtt, start, end, today, api_latency_ms)
        out.append(leg)
        print("   " + summary_line(leg), flush=True)
    return {
        **run_header("bench_remote.py", command, revision, load_before),
        "today": today.isoformat(), "start": start.isoformat(), "end": end.isoformat(), "days": days,
        "rtt_ms": rtt_ms, "api_latency_ms": api_latency_ms,
        "elapsed_s": time.perf_counter() - began,
        "legs": [dict(asdict(leg), ratio=leg.ratio, data_round_trips=leg.data_round_trips) for leg in out],
    }


def run_header(script: str, command: str | None, revision: str | None, load_before: float) -> dict:
    """When, how, on what and on which code a benchmark ran (every benchmark's JSON starts so)."""
    return {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": command or shlex.join([".venv/bin/python", f"benchmarks/{script}", *sys.argv[1:]]),
        "machine": f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}, "
                   f"{platform.system()} {platform.release()}",
        "postgres": _server_version(),
        "revision": revision or code_revision(),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def code_revision() -> str:
    """``git rev-parse --short HEAD`` of the code measured, "+ uncommitted changes" when the work
    tree differs; "unknown" outside a git checkout (pass ``revision=`` / ``--revision`` then)."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "utils",
                                "scripts"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in utils/ or scripts/" if dirty.strip() else "")


def _server_version() -> str:
    try:
        import pg_databases

        with _admin_connect(pg_databases.server_url()) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception:   # noqa: BLE001
        return "unknown"


# --- output -------------------------------------------------------------------------------------
def _f(value, fmt: str = "{:.1f}", missing: str = "—") -> str:
    return missing if value is None else fmt.format(value)


def summary_line(leg: Leg) -> str:
    if not leg.available:
        return f"{leg.name}: {leg.reason}"
    rt = (f"{leg.data_round_trips / leg.days:.1f} DB round trips/day" if leg.store == "postgres"
          else f"{leg.http_requests / leg.days:.1f} HTTP requests/day")
    return (f"{leg.name}: wall {leg.wall_s:.1f} s, floor {leg.floor_s:.1f} s (x{leg.ratio:.2f}), {rt}, "
            f"write {leg.write_s / leg.days * 1000:.0f} ms/day, server "
            f"{_f(leg.per_day(leg.server_s), '{:.3f} s')}/day, exit {leg.rc}, {leg.runners} runners")


def _legs(results: dict) -> list[dict]:
    return results["legs"]


def _slowdown(results: dict, leg: dict) -> float | None:
    """wall(this leg) / wall(the same store at 0 ms)."""
    if not leg["available"] or leg["rtt_ms"] == 0:
        return None
    base = next((b for b in _legs(results) if b["store"] == leg["store"] and b["rtt_ms"] == 0
                 and b["available"]), None)
    return leg["wall_s"] / base["wall_s"] if base and base["wall_s"] else None


def render_markdown(results: dict) -> str:
    """The section body for docs/PERFORMANCE.md (no ``## `` heading: ``perfdoc.update_section``
    adds it; the title is ``SECTION_TITLE``)."""
    r = results
    lines = [
        f"Measured {r['date']} on code {r.get('revision', 'unknown')} with `{r['command']}` on "
        f"{r['machine']}, PostgreSQL {r['postgres']} "
        f"(local; 1-minute load average {r['load_avg_1m'][0]} before, {r['load_avg_1m'][1]} after); "
        f"simulated today {r['today']}. The events backfill of {r['start']}..{r['end']} "
        f"({r['days']} days, racecard era) with the simulator enforcing the spec's real rate limits "
        f"in its own process"
        + (f" and {r['api_latency_ms']} ms added to every API call" if r["api_latency_ms"] else "")
        + f"; each leg a fresh database. Latency is added by `benchmarks/delay_proxy.py` "
          f"({r['rtt_ms']:g} ms RTT = {r['rtt_ms'] / 2:g} ms each way; 0 ms legs go through it "
          f"with no delay, for its counters). Took {r['elapsed_s'] / 60:.1f} min.",
        "",
        "| leg | RTT | wall | API floor | wall / floor | wall / wall(0 ms) | DB round trips / day "
        "| HTTP requests / day | write time / day | DB server time / day | runners | exit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for leg in _legs(r):
        label = {"postgres": "PostgreSQL direct", "rest": "Supabase REST (fake)"}[leg["store"]]
        if not leg["available"]:
            lines.append(f"| {label} | {leg['rtt_ms']:g} ms | {leg['reason']} |  |  |  |  |  |  |  |  |  |")
            continue
        days = leg["days"]
        rt = (f"{leg['data_round_trips'] / days:.1f}" if leg["store"] == "postgres"
              else f"{leg['round_trips'] / days:.1f} (HTTP turns)")
        http = f"{leg['http_requests'] / days:.1f}" if leg["http_requests"] is not None else "—"
        server = (f"{leg['server_s'] / days * 1000:.0f} ms" if leg["server_s"] is not None else "n/a")
        lines.append(
            f"| {label} | {leg['rtt_ms']:g} ms | {leg['wall_s']:.1f} s | {leg['floor_s']:.1f} s "
            f"| {leg['ratio']:.2f} | {_f(_slowdown(r, leg), '{:.2f}')} | {rt} | {http} "
            f"| {leg['write_s'] / days * 1000:.0f} ms | {server} | {leg['runners']:,} | {leg['rc']} |")
    lines += [
        "",
        "How each figure is measured:",
        "",
        "- **API floor**: max(results calls / 5, racecard calls / 2), calls counted from the "
        "simulator's call log (`bench_backfill.data_calls`); the same `bench_backfill.api_floor` as "
        "the Backfill section's. n calls paced at r/s span (n - 1) / r s from first to last, so a "
        "wall / floor slightly below 1 is possible.",
        "- **DB round trips / day**: the proxy counts client turns (the client starts sending again "
        "after the server has sent something, plus the first send) per connection; each "
        "connection's set-up and close turns (measured on a bare psycopg connection through the "
        "same proxy: " + ", ".join(sorted({f"{leg['overhead_per_connection']}" for leg in _legs(r)
                                            if leg["store"] == "postgres" and leg["available"]}) or ["—"])
        + " per connection) are removed; divided by the days. It includes the run's start-up "
          "queries, if any, spread over the days.",
        "- **HTTP requests / day**: the REST fake's request log over the run, divided by the days "
        "(with HTTP/1.1 keep-alive each request is one round trip; the proxy's turn count is "
        "shown for the REST legs in the round-trip column).",
        "- **write time / day**: `EventsBackfill.db_seconds` (time in `write_unit`), as the client "
        "sees it: round trips included.",
        "- **DB server time / day**: `pg_stat_database.active_time` of the leg's own database "
        "(before/after, backends exited so their statistics are flushed; for REST, the fake's "
        "database). A server waiting for the client inside a statement (a large day's message "
        "still arriving) counts as active, so at RTT > 0 it can include network waits; the "
        "0 ms legs show the server's own cost. `pg_stat_statements` is not preloaded on this server.",
        "- Not simulated by the proxy: TCP and TLS handshakes (a real connection to Supabase "
        "costs 2-3 more RTTs), bandwidth (the bytes sent per day are in the notes: at a few "
        "Mbit/s of upload they cost time of their own), jitter, loss.",
    ]
    notes = [f"{leg['name']}: {n}" for leg in _legs(r) for n in leg["notes"]]
    notes += [f"{leg['name']}: served by {leg['fake']}" for leg in _legs(r) if leg["fake"]]
    for leg in _legs(r):
        if leg["available"] and leg["calls"]:
            notes.append(f"{leg['name']}: {leg['calls'].get('results', 0)} results + "
                         f"{leg['calls'].get('racecards', 0)} racecard calls, {leg['too_many_429']} "
                         f"429s; {leg['connections']} connections; {leg['round_trips']} proxy turns "
                         f"in all; {leg['bytes_up']:,} B up ({leg['bytes_up'] / leg['days'] / 1e3:,.0f} kB "
                         f"a day), {leg['bytes_down']:,} B down")
    if notes:
        lines += ["", "Notes from the run:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=DEFAULT_DAYS)
    p.add_argument("--rtt-ms", type=float, default=DEFAULT_RTT_MS,
                   help="round trip added to the database (half each way)")
    p.add_argument("--end-offset", type=int, default=DEFAULT_END_OFFSET,
                   help="the range ends this many days before today")
    p.add_argument("--legs", default=",".join(LEG_NAMES), help=f"comma list of {', '.join(LEG_NAMES)}")
    p.add_argument("--api-latency-ms", type=int, default=0, help="simulator latency per API call")
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    p.add_argument("--no-docs", action="store_true",
                   help=f"do not write the '{SECTION_TITLE}' section of docs/PERFORMANCE.md")
    p.add_argument("--revision", help="the code revision to name in the report (default: from git)")
    args = p.parse_args(argv)
    legs = tuple(filter(None, args.legs.split(",")))
    unknown = set(legs) - set(LEG_NAMES)
    if unknown:
        p.error(f"unknown legs: {', '.join(sorted(unknown))}")
    results = measure(args.days, args.rtt_ms, end_offset=args.end_offset, legs=legs,
                      api_latency_ms=args.api_latency_ms, revision=args.revision)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    print()
    print(f"## {SECTION_TITLE}\n")
    print(render_markdown(results))
    if not args.no_docs:
        from perfdoc import update_section

        update_section(SECTION_TITLE, render_markdown(results))
        print(f"wrote the {SECTION_TITLE} section of docs/PERFORMANCE.md")
    return 0 if all(leg["rc"] == 0 for leg in results["legs"] if leg["available"]) else 1


if __name__ == "__main__":
    sys.exit(main())
