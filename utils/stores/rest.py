"""``SupabaseReferenceClient``: the store for Supabase's REST API (PostgREST) via supabase-py.

Why it calls functions and never writes tables: over REST there is no transaction across requests
and PostgREST's upsert sets every column it is sent, so neither "one day, one transaction" nor
"results beat racecards" could hold with table upserts (see /work/shared/spec/SUPABASE.md). The
database does the merge instead: a whole day goes to ``POST /rest/v1/rpc/ra_apply_day`` (supabase-py's
``rpc()``, named parameters), which runs the same SQL function as the direct PostgreSQL store, in
one transaction, with the day's committed mark. Every read of the commands is an ``ra_<read>``
function called the same way, and the schema check is ``ra_schema_state``. One HTTP request each.

- Transient failures (5xx, 429, timeouts, dropped connections) are retried with tenacity
  (exponential backoff); re-sending a day is safe (the merge is idempotent). 401/403 raise
  ``StoreAuthError``; an unknown function (``PGRST202``) means the schema is behind. The key is
  never logged or put in a message.
- DDL is impossible over REST: ``apply_migrations`` explains how to apply
  ``supabase/migrations/*.sql``. Arbitrary SQL (``query``) is refused: no command needs it.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from postgrest.exceptions import APIError
from supabase import ClientOptions, create_client
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from utils.errors import ConfigError, SchemaOutOfDateError, StoreAuthError, StoreConnectionError, StoreError
from utils.stores.base import DayMark, Prepared, Store, WriteCounts, scrub, unit_json
from utils.stores.migrations import REST_HINT
from utils.stores.pg_functions import (
    APPLY_FUNCTION,
    APPLY_PARTS_FUNCTION,
    SCHEMA_FUNCTION,
    STAGE_FUNCTION,
    apply_counts,
    day_arguments,
)

UNKNOWN_FUNCTION = "PGRST202"                    # PostgREST: no such function in the schema cache
TOO_LARGE = 413                                  # the gateway refused the request body
MAX_PARTS = 64
_DATA_ERROR_CLASSES = ("21", "22", "23", "42")   # SQLSTATE classes no retry can fix


class RestQueryUnsupported(StoreError, ConfigError, NotImplementedError):
    """Arbitrary SQL over REST: point SUPABASE_DB_URL at the database instead. A StoreError (what
    every caller of Store.query handles) and a ConfigError (critical: the fix is configuration)."""


class _TooLarge(StoreError):
    """HTTP 413: the request body is over the gateway's limit (the caller splits the day)."""


class HTTPFailure(Exception):
    """A non-2xx answer, with the status PostgREST's exceptions would not give us."""

    def __init__(self, status: int, payload: dict[str, Any]):
        self.status = status
        self.code = str(payload.get("code") or "")
        self.message = str(payload.get("message") or "")
        super().__init__(f"HTTP {status} {self.code} {self.message}".strip())


def _raise_for_status(response: httpx.Response) -> None:
    """httpx response hook: turn every failure into an ``HTTPFailure`` carrying the status."""
    if response.status_code < 400:
        return
    response.read()
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    raise HTTPFailure(response.status_code, payload if isinstance(payload, dict) else {})


def _transient(exc: BaseException) -> bool:
    """Worth another attempt: network trouble, timeouts, 429 and server errors that are not
    about the data itself."""
    if isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
        return True
    if isinstance(exc, HTTPFailure):
        if exc.status == 429:
            return True
        return exc.status >= 500 and not exc.code.startswith(_DATA_ERROR_CLASSES)
    return False


class SupabaseReferenceClient(Store):
    kind = "supabase_rest"

    def __init__(self, url: str, key: str | None, *, timeout: float = 60.0, attempts: int = 4,
                 wait_initial: float = 0.5, wait_max: float = 8.0):
        if not url or not key:
            raise ConfigError("SUPABASE_URL and SUPABASE_SERVICE_KEY must both be set")
        self.url = url.rstrip("/")
        self._key = key
        self.display = f"Supabase REST {self.url}"
        self._http = httpx.Client(timeout=timeout, event_hooks={"response": [_raise_for_status]})
        try:
            self.client = create_client(self.url, key, options=ClientOptions(
                httpx_client=self._http, postgrest_client_retry=False))
        except Exception as exc:  # noqa: BLE001 - supabase-py validates URL/key with assorted types
            raise ConfigError(f"cannot set up the Supabase client for {self.url}: "
                              f"{scrub(str(exc), key)}") from None
        self._retrying = retry(retry=retry_if_exception(_transient), reraise=True,
                               stop=stop_after_attempt(max(1, attempts)),
                               wait=wait_exponential(multiplier=wait_initial, max=wait_max))

    # --- HTTP plumbing --------------------------------------------------------------------------
    def _call(self, what: str, request):
        """Execute a postgrest request with retries; failures become typed, key-free errors."""
        try:
            return self._retrying(request.execute)()
        except HTTPFailure as exc:
            text = scrub(str(exc), self._key)
            if exc.status in (401, 403):
                raise StoreAuthError(f"Supabase REST refused the service key ({what}): {text}") from None
            if exc.status == TOO_LARGE:
                raise _TooLarge(text) from None
            if exc.code == UNKNOWN_FUNCTION:
                raise SchemaOutOfDateError(f"Database schema is behind: the database has no function "
                                           f"for {what} ({text}); {REST_HINT}") from None
            if _transient(exc):   # still failing after every retry: the endpoint is down
                raise StoreConnectionError(f"Supabase REST unavailable at {self.url} ({what}), "
                                           f"gave up after retries: {text}") from None
            raise StoreError(f"Supabase REST {what} failed: {text}") from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise StoreConnectionError(f"Supabase REST unreachable at {self.url} ({what}): "
                                       f"{type(exc).__name__}") from None
        except APIError as exc:   # a 2xx body postgrest-py could not parse
            raise StoreError(f"Supabase REST {what} failed: {scrub(str(exc), self._key)}") from None

    def _rpc(self, what: str, function: str, params: dict[str, Any]) -> Any:
        return self._call(what, self.client.rpc(function, params)).data

    # --- writes ---------------------------------------------------------------------------------
    def _write_prepared(self, prepared: Prepared, mark: DayMark | None) -> dict[str, WriteCounts]:
        """One request: ``POST /rpc/ra_apply_day`` with the day's rows and its mark. A day too
        large for one request body (413) goes in parts, then one final call applies them all."""
        unit, marked = json.loads(unit_json(prepared)), day_arguments(mark)
        try:
            counts = self._rpc("write of a day", APPLY_FUNCTION, {"p_unit": unit, **marked})
        except _TooLarge:
            counts = self._write_in_parts(unit, marked)
        return apply_counts(counts)

    def _write_in_parts(self, unit: dict[str, list], marked: dict[str, Any]) -> dict:
        """Stage the unit in ever smaller parts until each fits, then apply them in one call."""
        rows = [(table, row) for table, table_rows in unit.items() for row in table_rows]
        write, parts = uuid.uuid4().hex, 2
        while parts <= MAX_PARTS:
            batch = f"{write}.{parts}"          # ra_apply_parts removes every attempt's parts
            size = -(-len(rows) // parts)
            try:
                for number, start in enumerate(range(0, len(rows), size)):
                    part: dict[str, list] = {}
                    for table, row in rows[start:start + size]:
                        part.setdefault(table, []).append(row)
                    self._rpc("a part of a day", STAGE_FUNCTION,
                              {"p_batch": batch, "p_part": number, "p_unit": part})
            except _TooLarge:
                parts *= 2
                continue
            return self._rpc("write of a day's parts", APPLY_PARTS_FUNCTION, {"p_batch": batch, **marked})
        raise StoreError(f"Supabase REST refused the day's rows even in {MAX_PARTS} parts (HTTP 413)")

    # --- reads ----------------------------------------------------------------------------------
    def _read(self, read, params) -> list[dict]:
        return self._rpc(f"read {read.name}", read.function, read.arguments(params))

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        raise RestQueryUnsupported(
            "SQL queries are not available over the Supabase REST API (the commands use the "
            "database's ra_* functions instead)")

    def schema_state(self) -> tuple[set[str], set[str]]:
        """Migrations (project and CLI records) and tables, from one ``ra_schema_state`` call;
        nothing applied when the function does not exist yet (or the schema is older)."""
        from utils.stores.migrations import names_of_versions

        try:
            state = self._rpc("the schema check", SCHEMA_FUNCTION, {})
        except SchemaOutOfDateError:
            return set(), set()
        return set(state["migrations"]) | names_of_versions(state["versions"]), set(state["tables"])

    def table_names(self) -> set[str]:
        return self.schema_state()[1]

    # --- migrations -----------------------------------------------------------------------------

    def run_migration(self, name: str, sql: str) -> None:
        raise ConfigError(f"the Supabase REST API cannot run DDL ({name}): {REST_HINT}")

    def apply_migrations(self) -> list[str]:
        pending = self.pending_migrations()
        if not pending:
            return []
        raise ConfigError(f"the Supabase REST API cannot run DDL (pending: {', '.join(pending)}): "
                          f"{REST_HINT}")

    def close(self) -> None:
        self._http.close()

