"""The Racing API simulator: a real HTTP server on loopback, faithful to ``openapi.yml``.

Why: the backfill, its retries and its verification must be exercised end to end (auth, paging,
plan windows, rate limits, 5xx, resets, timeouts, malformed bodies) without the paid API. The data is
the deterministic ``utils.simulator.dataset.Dataset``, so a test can compare the database with
``sim.dataset`` directly. This module is the server: the routes, plan windows, rate limits, auth and
the call log, with the runtime knobs tests turn (``RacingAPISimulator``); which requests fail, and how,
is ``utils.simulator.faults``.

Choices where the real API is not documented precisely:

* **Results older than 12 months without the historical add-on** are refused with **HTTP 401** and
  ``{"detail": "Your plan does not include results older than 12 months. The historical results add-on
  removes this limit."}``. The real API refuses with a 4xx and a detail message; a client must tell it
  apart from bad credentials (``{"detail": "Invalid credentials"}``) by the detail text (it mentions the
  add-on / 12 months), and must treat it as a plan-window stop, not a credentials error.
* Racecards outside the plan window (before 2023-01-23, or more than 7 days after ``today``) are 422 with
  a *string* ``detail``; malformed parameters are 422 with the ``HTTPValidationError`` list shape.
* Results for dates after ``today`` are an empty page; ``today`` itself is served complete.
* ``/v1/horses/{id}/pro`` 404s for unknown ids, for about 8% of horses, and for sire/dam/damsire ids
  rewritten to ``hrs_`` (allowed by the spec: "a detailed profile can't be found").
* A connection reset is logged with status 0 (no response was sent).

Faults (``utils.simulator.faults``) never apply to requests that fail auth; the order is auth -> hold
(``hold``) -> rate limit -> forced failures (``fail_date``) -> random faults -> queued faults
(``queue_faults``) -> the real answer. ``faults_injected`` counts every fault handed out, by kind.
"""
from __future__ import annotations

import base64
import json
import logging
import re
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from utils.planning import SPEC_RATE_LIMITS, uk_today
from utils.simulator.dataset import RACECARDS_FROM, RESULTS_WINDOW_DAYS, Dataset
from utils.simulator.faults import (
    FAULT_KINDS,
    FaultConfig,
    FaultInjector,
    apply_payload_fault,
    fault_reply,
    rate_limited,
    request_days,
)
from utils.simulator.reply import Reply

log = logging.getLogger(__name__)

RATE_LIMITS = SPEC_RATE_LIMITS   # the spec's per-endpoint limits, one copy for client and server
HISTORY_DETAIL = ("Your plan does not include results older than 12 months. "
                  "The historical results add-on removes this limit.")
RACECARD_AHEAD_DAYS = 7


@dataclass
class SimulatorConfig:
    seed: int = 42
    username: str = "demo"
    password: str = "demo-password"
    host: str = "127.0.0.1"
    port: int = 0
    historical_addon: bool = False
    rate_limits: bool = True
    rate_limit_scale: float = 1.0
    today: date | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)


@dataclass(frozen=True)
class CallRecord:
    endpoint: str
    path: str
    params: dict[str, list[str]]
    status: int
    at: float


HOLD_MAX_S = 120.0      # a held request goes on by itself after this long (a test that forgot)


class Hold:
    """A gate for one endpoint's requests (``RacingAPISimulator.hold``): each waits in ``enter``
    until ``release``; ``wait_for(n)`` returns once ``n`` requests have arrived."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._arrived = threading.Condition()
        self.arrivals = 0

    def enter(self) -> None:
        with self._arrived:
            self.arrivals += 1
            self._arrived.notify_all()
        self._open.wait(HOLD_MAX_S)

    def wait_for(self, n: int, timeout: float = 60.0) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: self.arrivals >= n, timeout)

    def release(self) -> None:
        self._open.set()


class ApiError(Exception):
    def __init__(self, status: int, detail):
        super().__init__(status, detail)
        self.status, self.detail = status, detail


# --- validation helpers -------------------------------------------------------------------------
def _validation(loc: str, msg: str, value, kind: str = "value_error") -> ApiError:
    return ApiError(422, [{"loc": ["query", loc], "msg": msg, "type": kind, "input": value}])


def _date_param(params: dict, name: str, default: date | None) -> date | None:
    values = params.get(name)
    if not values:
        return default
    try:
        return date.fromisoformat(values[-1])
    except ValueError:
        raise _validation(name, "Invalid date format, expected YYYY-MM-DD", values[-1]) from None


def _int_param(params: dict, name: str, default: int, low: int, high: int) -> int:
    values = params.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        raise _validation(name, "Input should be a valid integer", values[-1], "int_parsing") from None
    if value < low:
        raise _validation(name, f"Input should be greater than or equal to {low}", values[-1], "greater_than_equal")
    if value > high:
        raise _validation(name, f"Input should be less than or equal to {high}", values[-1], "less_than_equal")
    return value


def _query_echo(params: dict) -> list[list]:
    return [[key, values if len(values) > 1 else values[0]] for key, values in params.items()]


def _page(key: str, races: list[bytes], limit: int, skip: int, params: dict) -> bytes:
    """A page body joined from pre-serialised races: ``{key: [...], total, limit, skip, query}``."""
    meta = json.dumps({"total": len(races), "limit": limit, "skip": skip, "query": _query_echo(params)},
                      ensure_ascii=False).encode("utf-8")
    return b'{"' + key.encode() + b'": [' + b", ".join(races[skip: skip + limit]) + b"], " + meta[1:]


# --- the API itself (pure: params in, Reply out) ----------------------------------------------------
class Api:
    """Route handlers. Pure functions of (dataset, today, add-on flag, request): no faults here."""

    def __init__(self, dataset: Dataset, today, historical_addon: bool):
        self.dataset, self.today, self.historical_addon = dataset, today, historical_addon

    def regions(self, params: dict) -> Reply:
        return Reply(200, self.dataset.regions())

    def courses(self, params: dict) -> Reply:
        courses = self.dataset.courses(params.get("region_codes"))
        return Reply(200, {"courses": courses, "total": len(courses)})

    def racecards(self, params: dict) -> Reply:
        today = self.today()
        day = _date_param(params, "date", today)
        limit = _int_param(params, "limit", 500, 1, 500)
        skip = _int_param(params, "skip", 0, 0, 500)
        if day < RACECARDS_FROM or day > today + timedelta(days=RACECARD_AHEAD_DAYS):
            raise ApiError(422, f"Racecards are available from {RACECARDS_FROM} (when tracking began) up to "
                                f"{RACECARD_AHEAD_DAYS} days ahead of today ({today}); {day} is outside that window.")
        cards = self.dataset.racecards_json(day, params.get("region_codes"))
        return Reply(200, _page("racecards", cards, limit, skip, params), kind="racecards")

    def results(self, params: dict) -> Reply:
        today = self.today()
        start = _date_param(params, "start_date", today - timedelta(days=RESULTS_WINDOW_DAYS))
        end = _date_param(params, "end_date", today)
        limit = _int_param(params, "limit", 50, 1, 100)
        skip = _int_param(params, "skip", 0, 0, 20000)
        self._check_results_window(start, end, today)
        races = [race for offset in range((min(end, today) - start).days + 1)
                 for race in self.dataset.results_json(start + timedelta(days=offset), params.get("region"))]
        return Reply(200, _page("results", races, limit, skip, params), kind="results")

    def _check_results_window(self, start: date, end: date, today: date) -> None:
        if start > end:
            raise _validation("start_date", "start_date must be on or before end_date", start.isoformat())
        if (end - start).days > RESULTS_WINDOW_DAYS:
            raise _validation("end_date", "The maximum range between start_date and end_date is 365 days",
                              end.isoformat())
        if not self.historical_addon and start < today - timedelta(days=RESULTS_WINDOW_DAYS):
            raise ApiError(401, HISTORY_DETAIL)

    def horse(self, horse_id: str) -> Reply:
        profile = self.dataset.horse_pro(horse_id)
        if profile is None:
            raise ApiError(404, "Not Found")
        return Reply(200, profile, kind="horse")


ROUTES = [
    (re.compile(r"^/v1/courses/regions/?$"), "regions"),
    (re.compile(r"^/v1/courses/?$"), "courses"),
    (re.compile(r"^/v1/racecards/pro/?$"), "racecards"),
    (re.compile(r"^/v1/results/?$"), "results"),
    (re.compile(r"^/v1/horses/(?P<horse_id>[^/]+)/pro/?$"), "horses"),
]


def route(path: str) -> tuple[str, dict]:
    for pattern, endpoint in ROUTES:
        match = pattern.match(path)
        if match:
            return endpoint, match.groupdict()
    return "unknown", {}


# --- rate limits ------------------------------------------------------------------------------------
class TokenBuckets:
    """Per-endpoint token bucket: capacity = limit, refill = limit per second.

    A 5% tolerance (and never going below zero tokens) keeps a client that spaces requests exactly
    1/limit apart from tripping over scheduling jitter between its clock and ours.
    """

    def __init__(self, scale: float):
        self._lock = threading.Lock()
        self._rates = {name: limit * scale for name, limit in RATE_LIMITS.items()}
        self._tokens = dict(self._rates)
        self._stamp = {name: time.monotonic() for name in RATE_LIMITS}

    def take(self, endpoint: str) -> bool:
        if endpoint not in self._rates:
            return True
        with self._lock:
            now, rate = time.monotonic(), self._rates[endpoint]
            tokens = min(rate, self._tokens[endpoint] + (now - self._stamp[endpoint]) * rate)
            self._stamp[endpoint] = now
            allowed = tokens >= 0.95
            self._tokens[endpoint] = max(0.0, tokens - 1) if allowed else tokens
            return allowed


# --- HTTP plumbing ----------------------------------------------------------------------------------
def _encode(body) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "RacingAPISimulator/1.0"
    timeout = 60
    sim: RacingAPISimulator          # set on the subclass made per server

    def log_message(self, fmt, *args):  # quiet: the call log is the record
        log.debug("simulator: " + fmt, *args)

    def do_GET(self):
        arrived = time.time()           # the call's time is its arrival, not when its answer is ready
        url = urlsplit(self.path)
        params = parse_qs(url.query, keep_blank_values=True)
        endpoint, path_args = route(url.path)
        reply = self.sim.answer(self.headers.get("Authorization", ""), endpoint, path_args, params)
        # Logged before sending, so a client that has its answer always finds the call in the log.
        self.sim.record(CallRecord(endpoint, url.path, params, 0 if reply.action == "reset" else reply.status,
                                   arrived))
        self._send(reply)


    def _send(self, reply: Reply) -> None:
        try:
            if reply.action == "reset":
                self._reset()
                return
            data = _encode(reply.body)
            declared = len(data)
            if reply.action == "truncate":
                data = data[: max(1, len(data) // 2)]
                declared = len(data)
            elif reply.action == "short_body":
                data = data[: max(1, len(data) // 2)]
                self.close_connection = True
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers, "Content-Length": str(declared)}
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _reset(self) -> None:
        """Abort the TCP connection (RST) without a response."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        log.debug("simulator: connection error from %s", client_address, exc_info=True)


class RacingAPISimulator:
    """Start/stop the server, hold runtime knobs (today, faults, forced failures), keep the call log."""

    def __init__(self, config: SimulatorConfig | None = None):
        self.config = config or SimulatorConfig()
        self.dataset = Dataset(self.config.seed)
        self.today = self.config.today
        self._faults = FaultInjector(self.config.faults)
        self._buckets = TokenBuckets(self.config.rate_limit_scale)
        self._api = Api(self.dataset, lambda: self.today, self.config.historical_addon)
        self._calls: list[CallRecord] = []
        self._calls_lock = threading.Lock()
        self._auth = "Basic " + base64.b64encode(f"{self.config.username}:{self.config.password}".encode()).decode()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._holds: dict[str, Hold] = {}
        self._holds_lock = threading.Lock()

    # today: None in the config means "the real date, evaluated per request"
    @property
    def today(self) -> date:
        return self._today or uk_today()

    @today.setter
    def today(self, value: date | None) -> None:
        self._today = value

    # --- lifecycle ---
    def start(self) -> RacingAPISimulator:
        handler = type("BoundHandler", (Handler,), {"sim": self})
        self._server = _Server((self.config.host, self.config.port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="racing-api-simulator",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> RacingAPISimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("simulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- runtime knobs ---
    def set_faults(self, faults: FaultConfig) -> None:
        self._faults.configure(faults)

    def fail_date(self, day: date, endpoint: str = "results", kind: str = "5xx") -> None:
        self._faults.fail_date(day, endpoint, kind)

    def clear_failures(self) -> None:
        self._faults.clear_failures()

    @property
    def faults_injected(self) -> Counter:
        """Faults handed out so far, by kind (forced, random and queued ones)."""
        return self._faults.injected

    def queue_faults(self, *kinds: str) -> None:
        """Inject these kinds, in order, on the next requests the dice would have left alone."""
        unknown = [k for k in kinds if k not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}")
        self._faults.enqueue(kinds)

    def reset_fault_counts(self) -> None:
        """Empty ``faults_injected`` and the fault queue."""
        self._faults.reset_counts()

    def hold(self, endpoint: str) -> Hold:
        """Make requests to ``endpoint`` wait until ``release()`` (or ``HOLD_MAX_S``): a test sees a
        process in the middle of its run (``hold.wait_for(n)``) without racing the clock."""
        gate = Hold()
        with self._holds_lock:
            self._holds[endpoint] = gate
        return gate

    def release_holds(self) -> None:
        with self._holds_lock:
            gates, self._holds = list(self._holds.values()), {}
        for gate in gates:
            gate.release()

    # --- call log ---
    def record(self, call: CallRecord) -> None:
        with self._calls_lock:
            self._calls.append(call)

    def calls(self, endpoint: str | None = None) -> list[CallRecord]:
        with self._calls_lock:
            return [c for c in self._calls if endpoint is None or c.endpoint == endpoint]

    def reset_calls(self) -> None:
        with self._calls_lock:
            self._calls.clear()

    # --- one request ---
    def answer(self, authorization: str, endpoint: str, path_args: dict, params: dict) -> Reply:
        """auth -> latency -> rate limit -> faults -> the real answer (plus payload-level faults)."""
        if authorization != self._auth:
            return Reply(401, {"detail": "Invalid credentials"}, {"WWW-Authenticate": "Basic"})
        if endpoint == "unknown":
            return Reply(404, {"detail": "Not Found"})
        with self._holds_lock:
            gate = self._holds.get(endpoint)
        if gate is not None:
            gate.enter()
        cfg = self._faults.config
        if cfg.latency_ms:
            time.sleep(cfg.latency_ms / 1000)
        if self.config.rate_limits and not self._buckets.take(endpoint):
            return rate_limited()
        kind = self._faults.pick(endpoint, request_days(endpoint, params, self.today))
        reply = fault_reply(kind, self._faults.random()) if kind else None
        if reply is not None:
            return reply
        if kind == "timeout":
            time.sleep(cfg.timeout_s)
        return apply_payload_fault(kind, self._real_answer(endpoint, path_args, params), params,
                                   self._faults.random())

    def _real_answer(self, endpoint: str, path_args: dict, params: dict) -> Reply:
        try:
            if endpoint == "horses":
                return self._api.horse(path_args["horse_id"])
            return getattr(self._api, endpoint)(params)
        except ApiError as err:
            return Reply(err.status, {"detail": err.detail})
