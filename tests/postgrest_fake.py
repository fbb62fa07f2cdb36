"""A local PostgREST-shaped HTTP server standing in for Supabase's hosted REST endpoint.

Why a fake and not a mock: supabase-py builds the real HTTP requests (query string, ``columns``,
``Prefer``, auth headers, JSON body) and this server checks them and applies PostgREST's upsert
semantics to in-memory tables, so a test sees what the hosted endpoint would do — including the
clobbering ``SET c = EXCLUDED.c`` for every column named in ``columns``, and the whole-batch failure
(HTTP 500, SQLSTATE 21000) when a batch holds one conflict key twice.

What it implements (``/rest/v1/<table>``):
- ``POST`` upsert: requires ``on_conflict`` = the table's key, a ``columns`` list, ``Prefer`` with
  ``return=minimal``, ``resolution=merge-duplicates`` (or ``ignore-duplicates``) and ``missing=default``;
  values are coerced to the column's type (bad value -> 400, code 22P02) and stored typed.
- ``GET``/``HEAD`` with ``select``, ``Prefer: count=exact`` (``Content-Range``), filters
  ``eq.`` / ``in.(…)`` / ``is.null`` / ``not.is.null``, ``limit``/``offset``; unknown table (or one deleted
  from ``fake.tables``) -> 404 PGRST205.
- ``apikey`` + ``Authorization: Bearer`` must both carry the key, else 401.
- fault injection: ``fail_next(n, status)`` answers the next n requests with that status,
  ``stall_next(n, seconds)`` sleeps before answering (client timeouts).
- every request is recorded in ``requests`` (method, table, params, headers, body).
"""
from __future__ import annotations

import json
import threading
import time as _time
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from utils.schema import MIGRATIONS_TABLE, TABLES

DEFAULT_KEY = "sb_secret_fake-service-key-0123456789"


@dataclass
class Recorded:
    method: str
    table: str
    params: dict[str, str]
    headers: dict[str, str]
    body: object = None
    status: int = 0


def _coerce(kind: str, value):
    """JSON value -> the Python value PostgreSQL would store (raises ValueError like a cast would)."""
    if value is None:
        return None
    if kind == "text":
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError(f"invalid input syntax for type integer: {value!r}")
        return int(value)
    if kind == "num":
        if isinstance(value, bool):
            raise ValueError(f"invalid input syntax for type numeric: {value!r}")
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"invalid input syntax for type numeric: {value!r}") from None
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"invalid input syntax for type boolean: {value!r}")
        return value
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "ts":
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError(f"timestamptz without offset: {value!r}")
        return parsed
    raise ValueError(kind)


def _jsonable(value):
    if isinstance(value, Decimal):
        return float(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    return value


def _quoted_list(text: str) -> list[str]:
    """``"a","b",c`` -> ['a', 'b', 'c'] (PostgREST's quoting: double quotes, backslash escapes)."""
    items, cur, quoted, escaped, had_quotes = [], "", False, False, False
    for ch in text:
        if escaped:
            cur += ch
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
            had_quotes = True
        elif ch == "," and not quoted:
            items.append(cur)
            cur, had_quotes = "", False
        else:
            cur += ch
    if cur or had_quotes or text.endswith(","):
        items.append(cur)
    return items


class PostgrestFake:
    def __init__(self, key: str = DEFAULT_KEY, *, with_migrations_table: bool = True,
                 applied_migrations: tuple[str, ...] = ()):
        self.key = key
        self.lock = threading.Lock()
        self.tables: dict[str, dict[tuple, dict]] = {name: {} for name in TABLES}
        self.with_migrations_table = with_migrations_table
        self.migrations: list[str] = list(applied_migrations)
        self.requests: list[Recorded] = []
        self._fail: list[int] = []
        self._stall: list[float] = []
        self._server: ThreadingHTTPServer | None = None

    # --- control ---------------------------------------------------------------------------------
    def start(self) -> "PostgrestFake":
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
        with self.lock:
            for rows in self.tables.values():
                rows.clear()
            self.requests.clear()
            self._fail.clear()
            self._stall.clear()

    def rows(self, table: str) -> list[dict]:
        """Stored rows, typed, every column present (NULL = None), sorted by key."""
        with self.lock:
            stored = self.tables[table]
            return [dict(stored[k]) for k in sorted(stored, key=lambda k: tuple(map(str, k)))]

    def posts(self, table: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and (table is None or r.table == table)]

    # --- semantics -------------------------------------------------------------------------------
    def _upsert(self, table: str, params: dict, prefer: list[str], body) -> tuple[int, dict | None]:
        schema = TABLES[table]
        for needed in ("return=minimal", "missing=default"):
            if needed not in prefer:
                return 400, {"code": "FAKE", "message": f"fake expects Prefer {needed}, got {prefer}"}
        resolution = [p for p in prefer if p.startswith("resolution=")]
        if resolution not in (["resolution=merge-duplicates"], ["resolution=ignore-duplicates"]):
            return 400, {"code": "FAKE", "message": f"fake expects one resolution, got {prefer}"}
        if _quoted_list(params.get("on_conflict", "")) != list(schema.key):
            return 400, {"code": "42P10", "message": "there is no unique or exclusion constraint "
                                                     "matching the ON CONFLICT specification"}
        if "columns" not in params:
            return 400, {"code": "FAKE", "message": "fake expects a columns= parameter"}
        columns = _quoted_list(params["columns"])
        for c in columns:
            if c not in schema.columns:
                return 400, {"code": "PGRST204",
                             "message": f"Could not find the '{c}' column of '{table}' in the schema cache"}
        if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
            return 400, {"code": "FAKE", "message": "fake expects a JSON array of objects"}
        prepared, seen = [], set()
        for row in body:
            values = {}
            for c in columns:   # PostgREST reads only `columns`; absent keys take the default (NULL)
                try:
                    values[c] = _coerce(schema.columns[c], row.get(c))
                except (ValueError, TypeError) as exc:
                    return 400, {"code": "22P02", "message": str(exc)}
            key = tuple(values.get(k) for k in schema.key)
            if any(part is None for part in key):
                return 400, {"code": "23502", "message": f'null value in column "{schema.key[0]}" '
                                                         f'violates not-null constraint'}
            if key in seen:
                return 500, {"code": "21000", "details": None, "hint": "Ensure that no rows proposed "
                             "for insertion within the same command have duplicate constrained values.",
                             "message": "ON CONFLICT DO UPDATE command cannot affect row a second time"}
            seen.add(key)
            prepared.append((key, values))
        ignore = resolution == ["resolution=ignore-duplicates"]
        with self.lock:   # one statement: all rows or none (validated above)
            stored = self.tables[table]
            for key, values in prepared:
                if key in stored:
                    if not ignore:
                        stored[key].update(values)          # SET c = EXCLUDED.c for c in columns
                else:
                    stored[key] = {**{c: None for c in schema.columns}, **values}
        return 201, None

    def _select(self, table: str, params: dict) -> list[dict]:
        if table == MIGRATIONS_TABLE:
            rows = [{"name": n} for n in self.migrations]
        else:
            rows = self.rows(table)
        for col, expr in params.items():
            if col in ("select", "limit", "offset", "order", "columns", "on_conflict"):
                continue
            negate = expr.startswith("not.")
            op = expr[4:] if negate else expr
            if op.startswith("eq."):
                want = op[3:]
                test = (lambda v, w=want: v is not None and str(_jsonable(v)) == w)
            elif op.startswith("in.(") and op.endswith(")"):
                wanted = set(_quoted_list(op[4:-1]))
                test = (lambda v, w=wanted: v is not None and str(_jsonable(v)) in w)
            elif op == "is.null":
                test = (lambda v: v is None)
            else:
                raise ValueError(f"fake does not support filter {col}={expr}")
            rows = [r for r in rows if test(r.get(col)) != negate]
        offset = int(params.get("offset", 0))
        rows = rows[offset:]
        if "limit" in params:
            rows = rows[:int(params["limit"])]
        select = params.get("select", "*")
        if select != "*":
            cols = _quoted_list(select)
            rows = [{c: r.get(c) for c in cols} for r in rows]
        return rows


class _Handler(BaseHTTPRequestHandler):
    owner: PostgrestFake
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:   # quiet
        pass

    def _reply(self, status: int, payload=None, headers: dict | None = None, head: bool = False) -> None:
        body = b"" if payload is None else json.dumps(payload, default=_jsonable).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(0 if head else len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _handle(self, method: str) -> None:
        fake = self.owner
        split = urlsplit(self.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        table = split.path[len("/rest/v1/"):] if split.path.startswith("/rest/v1/") else ""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        rec = Recorded(method, table, params, {k.lower(): v for k, v in self.headers.items()}, body)
        with fake.lock:
            fake.requests.append(rec)
            stall = fake._stall.pop(0) if fake._stall else 0.0
            fail = fake._fail.pop(0) if fake._fail else 0
        if stall:
            _time.sleep(stall)
        head = method == "HEAD"

        def reply(status, payload=None, headers=None):
            rec.status = status
            self._reply(status, payload, headers, head)

        if fail:
            return reply(fail, {"code": "", "message": f"injected HTTP {fail}", "details": None,
                                "hint": None})
        auth = self.headers.get("Authorization", "")
        if self.headers.get("apikey") != fake.key or auth != f"Bearer {fake.key}":
            return reply(401, {"message": "Invalid API key",
                               "hint": "Double check your Supabase `anon` or `service_role` API key."})
        if not table or "/" in table:
            return reply(404, {"code": "FAKE", "message": f"fake serves /rest/v1/<table>, not {split.path}"})
        known = table in fake.tables or (table == MIGRATIONS_TABLE and fake.with_migrations_table)
        if not known:
            return reply(404, {"code": "PGRST205", "details": None, "hint": None,
                               "message": f"Could not find the table 'public.{table}' in the schema cache"})
        prefer = [p.strip() for p in ",".join(self.headers.get_all("Prefer") or []).split(",") if p.strip()]
        if method == "POST":
            if table == MIGRATIONS_TABLE:
                return reply(403, {"code": "42501", "message": "fake: migrations table is read-only"})
            status, payload = fake._upsert(table, params, prefer, body)
            return reply(status, payload)
        if method in ("GET", "HEAD"):
            try:
                total_rows = fake._select(table, {k: v for k, v in params.items()
                                                  if k not in ("limit", "offset")})
                rows = fake._select(table, params)
            except ValueError as exc:
                return reply(400, {"code": "PGRST100", "message": str(exc)})
            headers = {}
            if "count=exact" in prefer:
                offset = int(params.get("offset", 0))
                span = f"{offset}-{offset + len(rows) - 1}" if rows else "*"
                headers["Content-Range"] = f"{span}/{len(total_rows)}"
            return reply(200, rows, headers)
        return reply(405, {"code": "FAKE", "message": f"fake does not serve {method}"})

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")
