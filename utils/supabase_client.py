"""``SupabaseReferenceClient``: the store for Supabase's REST API (PostgREST) via supabase-py.

Why it looks different from the SQL stores (see /work/shared/spec/SUPABASE.md):

- PostgREST's upsert sets EVERY column named in the request's ``columns`` list, and supabase-py
  names the union of the batch's row keys. A row lacking a key would therefore write NULL over a
  stored value. So each table's deduped rows are grouped by their exact key set (empty values
  already dropped) and every group goes out as its own upsert, in batches of ``batch_size``. The
  no-clobber rule then holds column by column; the "results win over racecards" refinement of the
  SQL stores cannot be expressed over REST (a later racecard rewrites the columns it carries).
- There is no transaction across HTTP requests. A write unit is applied table by table in
  ``WRITE_ORDER`` (entities before the rows referencing them), batch by batch. A failure leaves
  the earlier batches written; every upsert is idempotent, so re-applying the failed unit (what
  the backfill does on a re-run) completes it.
- ``return=minimal`` gives no per-row outcome, so counts are reported as
  ``WriteCounts(unknown=n)``: n rows were sent, whether inserted, updated or unchanged is unknown.
- Transient failures (5xx, 429, timeouts, dropped connections) are retried with tenacity
  (exponential backoff); 401/403 raise ``StoreAuthError``. The key is never logged or put in a
  message.
- DDL is impossible over REST: ``apply_migrations`` explains how to apply
  ``supabase/migrations/*.sql``; ``check_schema`` probes every table with a HEAD request and reads
  ``ra_schema_migrations``. Arbitrary SQL (``query``) is refused except ``SELECT count(*) FROM t``.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import httpx
from postgrest.exceptions import APIError
from postgrest.types import CountMethod, ReturnMethod
from supabase import ClientOptions, create_client
from tenacity import (retry, retry_if_exception, stop_after_attempt, wait_exponential)

from utils.errors import ConfigError, StoreAuthError, StoreConnectionError, StoreError
from utils.migrations import REST_HINT
from utils.schema import MIGRATIONS_TABLE, TABLES, Table
from utils.stores.base import Store, WriteCounts, scrub

DEFAULT_BATCH_SIZE = 500
_COUNT_SQL = re.compile(r"^\s*select\s+count\(\*\)\s+from\s+(\w+)\s*;?\s*$", re.I)
_DATA_ERROR_CLASSES = ("21", "22", "23", "42")   # SQLSTATE classes no retry can fix


class RestQueryUnsupported(StoreError, ConfigError, NotImplementedError):
    """Arbitrary SQL over REST: point SUPABASE_DB_URL at the database instead. A StoreError (what
    every caller of Store.query handles) and a ConfigError (critical: the fix is configuration)."""


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


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, time, datetime)):
        return value.isoformat()
    return value


def group_by_columns(table: Table, rows: list[dict]) -> list[tuple[tuple[str, ...], list[dict]]]:
    """Rows grouped by their exact column set, so no request names a column a row lacks."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        cols = tuple(c for c in table.columns if c in row)
        groups.setdefault(cols, []).append({c: _json_value(row[c]) for c in cols})
    return list(groups.items())


class SupabaseReferenceClient(Store):
    kind = "supabase_rest"

    def __init__(self, url: str, key: str | None, *, batch_size: int = DEFAULT_BATCH_SIZE,
                 timeout: float = 30.0, attempts: int = 4, wait_initial: float = 0.5,
                 wait_max: float = 8.0):
        if not url or not key:
            raise ConfigError("SUPABASE_URL and SUPABASE_SERVICE_KEY must both be set")
        self.url = url.rstrip("/")
        self._key = key
        self.display = f"Supabase REST {self.url}"
        self.batch_size = max(1, int(batch_size))
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
            if _transient(exc):   # still failing after every retry: the endpoint is down
                raise StoreConnectionError(f"Supabase REST unavailable at {self.url} ({what}), "
                                           f"gave up after retries: {text}") from None
            raise StoreError(f"Supabase REST {what} failed: {text}") from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise StoreConnectionError(f"Supabase REST unreachable at {self.url} ({what}): "
                                       f"{type(exc).__name__}") from None
        except APIError as exc:   # a 2xx body postgrest-py could not parse
            raise StoreError(f"Supabase REST {what} failed: {scrub(str(exc), self._key)}") from None

    # --- writes ---------------------------------------------------------------------------------
    @contextmanager
    def _unit_transaction(self):
        """No transaction exists over REST; failures name the idempotent way out."""
        try:
            yield
        except StoreError as exc:
            raise type(exc)(f"{exc} (earlier tables of this unit may be written; re-applying the "
                            f"unit is safe: upserts are idempotent)") from None

    def _upsert(self, table: Table, rows: list[dict]) -> WriteCounts:
        on_conflict = ",".join(table.key)
        for _cols, group in group_by_columns(table, rows):
            for i in range(0, len(group), self.batch_size):
                batch = group[i:i + self.batch_size]
                self._call(f"upsert into {table.name}", self.client.table(table.name).upsert(
                    batch, on_conflict=on_conflict, returning=ReturnMethod.minimal,
                    default_to_null=False))
        return WriteCounts(unknown=len(rows))

    # --- reads ----------------------------------------------------------------------------------
    def table_count(self, table: str) -> int:
        if table not in TABLES and table != MIGRATIONS_TABLE:
            raise StoreError(f"unknown table {table}")
        request = self.client.table(table).select("*", count=CountMethod.exact, head=True)
        return int(self._call(f"count of {table}", request).count or 0)

    def query(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        match = _COUNT_SQL.match(sql)
        if match and not params:
            return [(self.table_count(match.group(1)),)]
        raise RestQueryUnsupported(
            "SQL queries are not available over the Supabase REST API; set SUPABASE_DB_URL (the "
            "database connection string) to run verification and reports")

    def _table_exists(self, table: str) -> bool:
        try:
            self.table_count(table)
            return True
        except StoreError as exc:
            if isinstance(exc, (StoreAuthError, StoreConnectionError)):
                raise
            if "HTTP 404" in str(exc) or "PGRST205" in str(exc) or "42P01" in str(exc):
                return False
            raise

    def table_names(self) -> set[str]:
        return {t for t in (*TABLES, MIGRATIONS_TABLE) if self._table_exists(t)}

    # --- migrations -----------------------------------------------------------------------------
    def applied_migrations(self) -> set[str]:
        if not self._table_exists(MIGRATIONS_TABLE):
            return set()
        response = self._call("read of ra_schema_migrations",
                              self.client.table(MIGRATIONS_TABLE).select("name"))
        return {row["name"] for row in response.data}

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

