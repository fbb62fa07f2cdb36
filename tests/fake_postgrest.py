"""A local PostgREST-shaped HTTP server, so the REST store runs the shared store suite offline.

Why a fake with real semantics rather than a mock: the danger of PostgREST upserts is semantic
(``SET c = EXCLUDED.c`` for every column in ``columns``, a batch holding one key twice fails as a
whole, a missing ``missing=default`` turns absent keys into NULL). The fake applies exactly those
rules to an in-memory table per ``utils.schema`` table, checks the request shape supabase-py must
send, records every request, and can inject 5xx answers and slow (timing-out) answers.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from utils.schema import MIGRATIONS_TABLE, TABLES

KEYS = {name: table.key for name, table in TABLES.items()} | {MIGRATIONS_TABLE: ("name",)}
REQUIRED_PREFER = ("return=minimal", "resolution=merge-duplicates", "missing=default")


@dataclass
class Recorded:
    method: str
    table: str
    params: dict[str, str]
    headers: dict[str, str]
    body: object


@dataclass
class Fault:
    status: int = 503
    delay: float = 0.0     # seconds to sleep before answering (beyond the client timeout = timeout)
    times: int = 1


class FakePostgrest:
    """``with FakePostgrest(key) as fake: SupabaseReferenceClient(fake.url, key)``."""

    def __init__(self, key: str = "sb_secret_test", *, missing_tables: set[str] = frozenset(),
                 applied_migrations: list[str] | None = None):
        self.key = key
        self.tables: dict[str, dict[tuple, dict]] = {n: {} for n in KEYS if n not in missing_tables}
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        if applied_migrations and MIGRATIONS_TABLE in self.tables:
            for name in applied_migrations:
                self.tables[MIGRATIONS_TABLE][(name,)] = {"name": name}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> "FakePostgrest":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(self, status: int = 503, *, delay: float = 0.0, times: int = 1) -> None:
        self.faults.append(Fault(status, delay, times))

    def rows(self, table: str) -> list[dict]:
        with self.lock:
            return [dict(r) for r in self.tables[table].values()]

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    # --- semantics --------------------------------------------------------------------------
    def upsert(self, table: str, params: dict[str, str], prefer: str, body) -> tuple[int, dict]:
        missing = [p for p in REQUIRED_PREFER if p not in prefer]
        if missing:
            return 400, {"code": "FAKE", "message": f"Prefer lacks {missing}"}
        if params.get("on_conflict") != ",".join(KEYS[table]):
            return 400, {"code": "42P10", "message": "no unique constraint matching on_conflict"}
        if "columns" not in params or not isinstance(body, list):
            return 400, {"code": "FAKE", "message": "expected a columns list and a JSON array"}
        columns = [c.strip().strip('"') for c in params["columns"].split(",")]
        unknown = set(columns) - set(TABLES[table].columns) if table in TABLES else set()
        if unknown:
            return 400, {"code": "PGRST204", "message": f"unknown columns {sorted(unknown)}"}
        batch = [{c: row.get(c) for c in columns} for row in body]   # missing=default -> NULL
        keys = [tuple(r[k] for k in KEYS[table]) for r in batch]
        if len(set(keys)) != len(keys):
            return 500, {"code": "21000", "message": "ON CONFLICT DO UPDATE command cannot affect "
                                                     "row a second time"}
        bad = self._foreign_key_violation(table, batch)
        if bad:
            return 409, {"code": "23503", "message": bad}
        now = datetime.now(timezone.utc).isoformat()
        stored = self.tables[table]
        for key, values in zip(keys, batch):
            if key in stored:
                old = stored[key]
                if any(old.get(c) != v for c, v in values.items()):
                    old.update(values, updated_at=now)
            else:
                stored[key] = {**values, "created_at": now, "updated_at": now}
        return 201, {}

    def _foreign_key_violation(self, table: str, batch: list[dict]) -> str | None:
        for col, ref in (TABLES[table].foreign_keys if table in TABLES else {}).items():
            for row in batch:
                if row.get(col) is not None and (row[col],) not in self.tables.get(ref, {}):
                    return f"insert or update on table {table} violates foreign key ({col})"
        return None


def _handler(fake: FakePostgrest):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:   # keep pytest output clean
            pass

        def do_POST(self) -> None:
            self._serve("POST")

        def do_GET(self) -> None:
            self._serve("GET")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            table = parts.path.rsplit("/", 1)[-1]
            with fake.lock:
                fake.requests.append(Recorded(method, table, params,
                                             {k.lower(): v for k, v in self.headers.items()}, body))
                fault = fake.faults[0] if fake.faults else None
                if fault:
                    fault.times -= 1
                    if fault.times <= 0:
                        fake.faults.pop(0)
            if fault:
                time.sleep(fault.delay)
                return self._send(fault.status, {"code": str(fault.status), "message": "injected"})
            if not parts.path.startswith("/rest/v1/"):
                return self._send(404, {"code": "FAKE", "message": "not a REST path"})
            if self.headers.get("apikey") != fake.key or \
                    self.headers.get("Authorization") != f"Bearer {fake.key}":
                return self._send(401, {"code": "PGRST301", "message": "JWT invalid"})
            if table not in fake.tables:
                return self._send(404, {"code": "PGRST205", "message": f"table {table} not found"})
            with fake.lock:
                if method == "POST":
                    status, payload = fake.upsert(table, params, self.headers.get("Prefer", ""), body)
                    return self._send(status, payload if status >= 400 else None)
                rows = list(fake.tables[table].values())
            self._send(200, rows, count=len(rows), head=method == "HEAD")

        def _send(self, status: int, payload, *, count: int | None = None, head: bool = False) -> None:
            data = b"" if payload is None else json.dumps(payload, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if count is not None:
                self.send_header("Content-Range", f"0-{max(count - 1, 0)}/{count}" if count else "*/0")
            self.send_header("Content-Length", "0" if head else str(len(data)))
            self.end_headers()
            if not head:
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass   # the client gave up (an injected timeout): nothing to answer

    return Handler
