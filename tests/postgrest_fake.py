"""A local PostgREST-shaped HTTP server standing in for Supabase's hosted REST endpoint, whose data
lives in the real local PostgreSQL.

Why a fake over a real database and not a mock: supabase-py builds the real HTTP requests (path,
JSON body of named arguments, ``Prefer``, auth headers) and this server runs the real SQL function
the body names, in the real PostgreSQL, the way PostgREST does. So a REST test exercises the very
``ra_apply_day`` and read functions the direct path runs. Only the hosted gateway cannot exist here.

What it implements:
- ``POST /rest/v1/rpc/<function>``: the JSON body's keys are the function's named arguments
  (looked up in ``pg_proc``, cast to their declared types); the function's jsonb result is the
  response body. One statement on an autocommit connection: one transaction, as PostgREST.
  Unknown function or argument names -> 404 ``PGRST202``; a database error -> ``{code, message,
  details, hint}`` with PostgREST's status for its SQLSTATE class (400 for data errors, 409 for
  conflicts, 500 otherwise); a lost database connection -> 503.
- ``apikey`` + ``Authorization: Bearer`` must both carry the key, else 401.
- anything else -> 404 (the project's REST store only calls functions).
- ``max_body``: a request body over it gets 413, as Supabase's gateway answers a too-large body.
- fault injection: ``fail_next(n, status)`` answers the next n requests with that status,
  ``stall_next(n, seconds)`` sleeps before answering (client timeouts).
- every request is recorded in ``requests`` (method, path, function, headers, body, status, and
  the database time of the call in ``server_seconds``).
"""
from __future__ import annotations

import json
import threading
import time as _time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import psycopg

DEFAULT_KEY = "sb_secret_fake-service-key-0123456789"
RPC_PREFIX = "/rest/v1/rpc/"
STATEMENT_TIMEOUT = "8s"      # Supabase's API roles run with a statement timeout of a few seconds


@dataclass
class Recorded:
    method: str
    path: str
    function: str
    headers: dict[str, str]
    body: object = None
    status: int = 0
    server_seconds: float = 0.0


def _status_for(sqlstate: str) -> int:
    """PostgREST's HTTP status for an error's SQLSTATE (the classes the project can meet)."""
    if sqlstate.startswith("23"):
        return 409
    if sqlstate.startswith(("22", "42")) or sqlstate == "P0001":
        return 400
    if sqlstate == "57014":          # statement timeout
        return 500
    return 500


class PostgrestFake:
    def __init__(self, database_url: str, key: str = DEFAULT_KEY):
        self.database_url = database_url
        self.key = key
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        self._fail: list[int] = []
        self._stall: list[float] = []
        self._local = threading.local()
        self._connections: list[psycopg.Connection] = []
        self._server: ThreadingHTTPServer | None = None
        self.max_body: int | None = None

    # --- control ---------------------------------------------------------------------------------
    def start(self) -> PostgrestFake:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        with self.lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def __enter__(self) -> PostgrestFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        with self.lock:
            self._fail.extend([status] * n)

    def stall_next(self, n: int = 1, seconds: float = 2.0) -> None:
        with self.lock:
            self._stall.extend([seconds] * n)

    def reset(self) -> None:
        self.max_body = None
        with self.lock:
            self.requests.clear()
            self._fail.clear()
            self._stall.clear()

    def calls(self, function: str | None = None) -> list[Recorded]:
        """Recorded requests to functions (one function's, if named)."""
        return [r for r in self.requests if r.function and (function is None or r.function == function)]

    # --- the database ----------------------------------------------------------------------------
    def _connection(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(self.database_url, autocommit=True, connect_timeout=5)
            conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")
            self._local.conn = conn
            with self.lock:
                self._connections.append(conn)
        return conn

    def _signature(self, conn: psycopg.Connection, function: str) -> dict[str, str] | None:
        """Argument name -> type of a function in the exposed schema (None: no such function)."""
        row = conn.execute(
            "SELECT p.proargnames, ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t) "
            "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname = %s", (function,)).fetchone()
        if row is None:
            return None
        return dict(zip(row[0] or [], row[1]))

    def call(self, function: str, body: dict) -> tuple[int, object, float]:
        """Run the function with the body's keys as named arguments: (status, payload, seconds)."""
        try:
            conn = self._connection()
            signature = self._signature(conn, function)
        except psycopg.OperationalError as exc:
            return 503, {"code": "", "message": f"database unavailable: {exc}".strip()}, 0.0
        unknown = None if signature is None else set(body) - set(signature)
        if signature is None or unknown:
            args = ", ".join(sorted(body))
            return 404, {"code": "PGRST202", "details": None, "hint": None,
                         "message": f"Could not find the function public.{function}({args}) in the schema cache"}, 0.0
        names = list(body)
        values = [json.dumps(body[n]) if signature[n] in ("jsonb", "json") else body[n] for n in names]
        args = ", ".join(f"{n} => %s::{signature[n]}" for n in names)
        started = _time.perf_counter()
        try:
            result = conn.execute(f"SELECT {function}({args})", values).fetchone()[0]
        except psycopg.OperationalError as exc:
            return 503, {"code": "", "message": str(exc).splitlines()[0]}, _time.perf_counter() - started
        except psycopg.Error as exc:
            diag = exc.diag
            state = exc.sqlstate or ""
            return _status_for(state), {"code": state, "message": diag.message_primary or str(exc),
                                        "details": diag.message_detail, "hint": diag.message_hint}, \
                _time.perf_counter() - started
        return 200, result, _time.perf_counter() - started


class _Handler(BaseHTTPRequestHandler):
    owner: PostgrestFake
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:   # quiet
        pass

    def _reply(self, status: int, payload=None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _handle(self, method: str) -> None:
        fake = self.owner
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        function = path[len(RPC_PREFIX):] if path.startswith(RPC_PREFIX) else ""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = raw
        rec = Recorded(method, path, function, {k.lower(): v for k, v in self.headers.items()}, body)
        with fake.lock:
            fake.requests.append(rec)
            stall = fake._stall.pop(0) if fake._stall else 0.0
            fail = fake._fail.pop(0) if fake._fail else 0
        if stall:
            _time.sleep(stall)

        def reply(status, payload=None):
            rec.status = status
            self._reply(status, payload)

        if fake.max_body is not None and length > fake.max_body:
            return reply(413, {"message": "Payload Too Large"})
        if fail:
            return reply(fail, {"code": "", "message": f"injected HTTP {fail}", "details": None,
                                "hint": None})
        auth = self.headers.get("Authorization", "")
        if self.headers.get("apikey") != fake.key or auth != f"Bearer {fake.key}":
            return reply(401, {"message": "Invalid API key",
                               "hint": "Double check your Supabase `anon` or `service_role` API key."})
        if method != "POST" or not function or "/" in function:
            return reply(404, {"code": "FAKE", "message": f"fake serves POST {RPC_PREFIX}<function>, "
                                                          f"not {method} {path}"})
        if not isinstance(body, dict):
            return reply(400, {"code": "PGRST102", "message": "Empty or invalid json"})
        status, payload, seconds = fake.call(function, body)
        rec.server_seconds = seconds
        return reply(status, payload)

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_PATCH(self) -> None:
        self._handle("PATCH")
