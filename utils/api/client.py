"""``RacingAPIClient``: the only code that talks to The Racing API.

Layers, each small:

* ``EndpointLimits`` paces every call (``utils.api.rate_limit``), on a budget shared by every process
  of the account (``utils.api.shared_budget``);
* ``_send`` makes one HTTP request; ``_refusal`` and ``_decode`` turn the answer into data, a typed
  error, or a ``_Retryable`` wrapper around one;
* tenacity retries the ``_Retryable`` ones (429 honouring ``Retry-After``, 5xx, timeouts, resets,
  unparseable bodies, wrong shapes, short pages) with jittered exponential backoff;
* ``_all_pages`` fetches every page until the distinct rows fetched equal the API's ``total``, and
  refuses a day whose ``total`` changed between its pages.

No method returns ``None`` to signal failure, and no message carries the credentials: they travel
only in the session's auth header, and messages name the endpoint, path and query, never the URL.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

from utils.api.credentials import api_credentials, load_env
from utils.api.rate_limit import EndpointLimits
from utils.api.shared_budget import SharedBudget, state_dir
from utils.errors import (
    AuthenticationError,
    BadResponseError,
    ConfigError,
    IncompleteDataError,
    NotFoundError,
    PlanWindowError,
    RacingAPIError,
    ValidationFailed,
)

log = logging.getLogger("darkhorses.api")

DEFAULT_BASE_URL = "https://api.theracingapi.com"
RESULTS_PAGE = 100      # the API's maximum for /v1/results (its default is 50)
RACECARDS_PAGE = 500    # the API's maximum for /v1/racecards/pro
POOL_SIZE = 10          # connections kept per host: results + racecards + enrichment threads
RETRY_AFTER_CAP = 60.0  # a Retry-After beyond this is treated as this (a stuck run helps nobody)
# Words by which a 401/403/422 names the plan window rather than the credentials or the parameters.
PLAN_WORDS = ("add-on", "addon", "12 months", "365 days", "plan", "2023-01-23", "historical",
              "window")

Check = Callable[[Any], None]


# --- retry policy ---------------------------------------------------------------------------------
class wait_retry_after(wait_base):
    """Tenacity wait: the backoff, or the server's ``Retry-After`` when that is longer."""

    def __init__(self, backoff: wait_base, cap: float = RETRY_AFTER_CAP):
        self.backoff, self.cap = backoff, cap

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(error, "retry_after", 0.0) or 0.0
        return max(self.backoff(retry_state), min(retry_after, self.cap))


@dataclass(frozen=True)
class RetryPolicy:
    """5 attempts, waits about 2, 4, 8, 16 (capped at 32) s plus up to ``jitter`` s; tests pass
    tiny waits. ``attempts`` counts every call, the first included."""

    attempts: int = 5
    initial: float = 2.0
    maximum: float = 32.0
    jitter: float = 1.0

    def wait(self) -> wait_base:
        return wait_retry_after(wait_exponential_jitter(initial=self.initial, max=self.maximum,
                                                        jitter=self.jitter))


class _Retryable(Exception):
    """A transient failure; ``error`` is what the caller gets when the attempts run out."""

    def __init__(self, error: RacingAPIError, retry_after: float = 0.0):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


# --- counters -------------------------------------------------------------------------------------
class CallStats:
    """Per-endpoint ``calls`` / ``retries`` / ``429s``, shared by the client's threads."""

    KINDS = ("calls", "retries", "429s")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, Counter] = defaultdict(Counter)

    def add(self, endpoint: str, kind: str) -> None:
        with self._lock:
            self._counts[endpoint][kind] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {ep: {kind: counts[kind] for kind in self.KINDS} for ep, counts in self._counts.items()}


# --- response checks (pure; raise BadResponseError / IncompleteDataError, which are retried) -------
def _is_list(data: Any) -> None:
    if not isinstance(data, list):
        raise BadResponseError(f"expected a JSON list, got {type(data).__name__}")


def _listing(key: str) -> Check:
    """A dict with a ``key`` list of objects and an integer ``total``."""
    def check(data: Any) -> None:
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            raise BadResponseError(f"expected an object with a '{key}' list")
        if not all(isinstance(item, dict) for item in data[key]):
            raise BadResponseError(f"'{key}' holds something other than objects")
        total = data.get("total")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise BadResponseError(f"expected an integer 'total', got {total!r}")
    return check


def _full_page(key: str, limit: int, skip: int) -> Check:
    """A page of races must hold ``min(limit, total - skip)`` of them, each with a ``race_id``;
    fewer is a silently short page, which is refetched rather than accepted."""
    listing = _listing(key)

    def check(data: Any) -> None:
        listing(data)
        items, due = data[key], max(0, min(limit, data["total"] - skip))
        if len(items) < due:
            raise IncompleteDataError(f"short page: {len(items)} rows where {due} were due "
                                      f"(total {data['total']}, skip {skip})")
        if not all(item.get("race_id") for item in items):
            raise BadResponseError(f"a row in '{key}' has no race_id")
    return check


def _profile(data: Any) -> None:
    if not isinstance(data, dict) or not data.get("id"):
        raise BadResponseError("expected a horse profile object with an 'id'")


# --- small helpers --------------------------------------------------------------------------------
def _detail(response: requests.Response) -> str | list:
    """The ``detail`` of an error body: a string, or the HTTPValidationError list as is."""
    try:
        detail = response.json().get("detail", "")
    except (ValueError, AttributeError):
        return response.text[:200].strip()
    return detail if isinstance(detail, list) else str(detail)


def _flatten(detail: list) -> str:
    return "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', '')}"
                     if isinstance(d, dict) else str(d) for d in detail)


def _json_body(response: requests.Response) -> Any:
    """The decoded body. JSON on the wire is UTF-8 (RFC 8259), which ``json.loads`` reads from the
    bytes directly, skipping requests' text decoding (a copy of every day's megabytes); a body
    that declares another charset goes through requests' decoding as before."""
    declared = (response.encoding or "utf-8").lower().replace("_", "-")
    if declared in ("utf-8", "utf8"):
        return json.loads(response.content)
    return response.json()


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:
        return 0.0


def _query(params: Mapping[str, Any]) -> str:
    """Query parameters for messages and logs, as sent (a list repeats its key:
    ``region=gb&region=ire``); credentials are never parameters."""
    pairs = []
    for key, value in params.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item not in (None, ""):
                pairs.append(f"{key}={item}")
    return "&".join(pairs)


def normalise_base_url(url: str) -> str:
    """``https://api.theracingapi.com`` whether or not the setting ends in ``/v1`` or ``/``."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("RACING_API_BASE_URL must start with http:// or https://")
    if "@" in url.split("/")[2]:
        raise ConfigError("RACING_API_BASE_URL must not embed credentials; "
                          "set RACING_API_USERNAME and RACING_API_PASSWORD instead")
    return url[:-3] if url.endswith("/v1") else url


def _env_number(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number (got {raw!r})") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} must be a positive number (got {raw!r})")
    return value


# --- the client -----------------------------------------------------------------------------------
class RacingAPIClient:
    """Rate-limited, retrying, paging client for the endpoints the backfill uses.

    Thread-safe: the limiter books slots under a lock, the counters are locked, and the shared
    ``requests.Session`` is never mutated after construction (its pool holds ``POOL_SIZE``
    connections, so the results, racecards and enrichment threads each keep one alive).

    ``shared_budget`` (default on): the limits are one budget for every process of this account on
    this machine (``utils.api.shared_budget``; its file under ``rate_state_dir``, default
    ``DARKHORSES_RATE_STATE_DIR`` or the user's cache directory).
    """

    def __init__(self, username: str, password: str, base_url: str = DEFAULT_BASE_URL, *,
                 limits: dict[str, float] | None = None, rate_scale: float = 1.0,
                 max_rps: float | None = None, retry: RetryPolicy = RetryPolicy(),
                 timeout: float = 30.0, session: requests.Session | None = None,
                 shared_budget: bool = True, rate_state_dir: str | os.PathLike | None = None):
        self.base_url = normalise_base_url(base_url)
        # One budget per account across processes: keyed by a hash of base URL and username only.
        shared = (SharedBudget.for_account(self.base_url, username,
                                           state_dir() if rate_state_dir is None else rate_state_dir)
                  if shared_budget else None)
        self.limits = EndpointLimits(limits, scale=rate_scale, max_rps=max_rps, shared=shared)
        self.retry = retry
        self.timeout = timeout
        self._calls = CallStats()
        self.session = session or requests.Session()
        self.session.auth = (username, password)
        self.session.headers["User-Agent"] = "darkhorses-backfill"
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=POOL_SIZE)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, base_url: str | None = None) -> RacingAPIClient:
        """Build from ``RACING_API_*`` settings. With no ``env``, ``.env.local``/``.env`` are merged
        into ``os.environ`` first (the real environment wins)."""
        if env is None:
            load_env()
            env = os.environ
        username, password = api_credentials(env)
        retry = RetryPolicy(initial=_env_number(env, "RACING_API_RETRY_INITIAL", 2.0),
                            maximum=_env_number(env, "RACING_API_RETRY_MAX", 32.0))
        return cls(username, password, base_url or env.get("RACING_API_BASE_URL") or DEFAULT_BASE_URL,
                   max_rps=_env_number(env, "RACING_API_MAX_RPS", None), retry=retry,
                   timeout=_env_number(env, "RACING_API_TIMEOUT", 30.0),
                   rate_scale=_env_number(env, "RACING_API_RATE_SCALE", 1.0),
                   rate_state_dir=state_dir(env))

    # --- public endpoints ---------------------------------------------------------------------
    def regions(self) -> list[dict]:
        return self._get("regions", "/v1/courses/regions", {}, _is_list) or []

    def courses(self, region_codes: list[str]) -> list[dict]:
        data = self._get("courses", "/v1/courses", {"region_codes": list(region_codes)}, _listing("courses"))
        return data["courses"] if data else []

    def racecards_pro(self, day: date, region_codes: list[str]) -> list[dict]:
        """Every racecard of ``day`` (all pages); ``PlanWindowError`` outside the plan's window."""
        params = {"date": day.isoformat(), "region_codes": list(region_codes)}
        return self._all_pages("racecards", "/v1/racecards/pro", params, "racecards", RACECARDS_PAGE)

    def results(self, day: date, region_codes: list[str]) -> list[dict]:
        """Every result of ``day`` (one query per date, as the spec recommends; all pages)."""
        params = {"start_date": day.isoformat(), "end_date": day.isoformat(), "region": list(region_codes)}
        return self._all_pages("results", "/v1/results", params, "results", RESULTS_PAGE)

    def horse_pro(self, horse_id: str) -> dict:
        """A horse's Pro profile; ``NotFoundError`` when the API has none (remember it)."""
        path = f"/v1/horses/{quote(horse_id, safe='')}/pro"   # an id is data, never a path
        data = self._get("horses", path, {}, _profile)
        if data is None:
            raise NotFoundError(f"horses {path}: no Pro profile (404)", endpoint="horses", status=404)
        return data

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """``{endpoint: {"calls": n, "retries": n, "429s": n}}`` so far (a copy)."""
        return self._calls.snapshot()

    def close(self) -> None:
        self.session.close()
        if self.limits.shared is not None:
            self.limits.shared.close()

    def __enter__(self) -> RacingAPIClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- paging -------------------------------------------------------------------------------
    def _all_pages(self, endpoint: str, path: str, params: dict, key: str, limit: int) -> list[dict]:
        """Pages until skip reaches ``total``; rows deduped by ``race_id``; the day is returned
        only if the distinct rows equal ``total`` (never a short day) and every page reported the
        same ``total`` (a day that changed while being paged may have shifted rows across pages)."""
        rows: dict[str, dict] = {}
        skip, total = 0, None
        while total is None or skip < total:
            page = self._get(endpoint, path, {**params, "limit": limit, "skip": skip},
                             _full_page(key, limit, skip))
            if page is None:
                if skip == 0:
                    return []                    # 404 on the first page: no data for this date
                raise IncompleteDataError(f"{endpoint} {path}?{_query(params)}: 404 at skip={skip}",
                                          endpoint=endpoint, status=404)
            if total is not None and page["total"] != total:
                raise IncompleteDataError(
                    f"{endpoint} {path}?{_query(params)}: the API's total changed between pages "
                    f"({total} before skip={skip}, {page['total']} at it); the day is not complete",
                    endpoint=endpoint)
            total = page["total"]
            rows.update((item["race_id"], item) for item in page[key])
            if not page[key]:
                break
            skip += len(page[key])
        if len(rows) != total:
            raise IncompleteDataError(
                f"{endpoint} {path}?{_query(params)}: fetched {len(rows)} distinct races but the API "
                f"reports total {total}; the day is not complete", endpoint=endpoint)
        return list(rows.values())

    # --- one logical call, retried ------------------------------------------------------------
    def _get(self, endpoint: str, path: str, params: dict, check: Check) -> Any:
        """The checked JSON body, or ``None`` for a 404; typed errors otherwise."""
        retrying = Retrying(stop=stop_after_attempt(self.retry.attempts), wait=self.retry.wait(),
                            retry=retry_if_exception_type(_Retryable), before_sleep=self._before_retry,
                            reraise=True)
        try:
            return retrying(self._get_once, endpoint, path, params, check)
        except _Retryable as exc:
            error = exc.error
            raise type(error)(f"{error} (gave up after {self.retry.attempts} attempts)",
                              endpoint=endpoint, status=error.status) from None

    def _before_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception()
        self._calls.add(error.error.endpoint, "retries")
        log.warning("%s; retry %d of %d in %.1f s", error, state.attempt_number,
                    self.retry.attempts - 1, state.next_action.sleep if state.next_action else 0.0)

    def _get_once(self, endpoint: str, path: str, params: dict, check: Check) -> Any:
        where = f"{endpoint} {path}?{_query(params)}" if params else f"{endpoint} {path}"
        response = self._send(endpoint, path, params, where)
        if response.status_code != 200:
            return self._refusal(endpoint, where, response)
        return self._decode(endpoint, where, response, check)

    def _send(self, endpoint: str, path: str, params: dict, where: str) -> requests.Response:
        self.limits.acquire(endpoint)
        self._calls.add(endpoint, "calls")
        started = time.monotonic()
        try:
            response = self.session.get(self.base_url + path, params=params, timeout=self.timeout)
            response.content  # noqa: B018 - read the body here, so a cut-off body counts as a failed call
        except requests.Timeout:
            raise _Retryable(RacingAPIError(f"{where}: timed out after {self.timeout:g} s",
                                            endpoint=endpoint)) from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            # The exception text is not used: it holds urllib3 internals and the full URL.
            raise _Retryable(RacingAPIError(f"{where}: connection failed ({type(exc).__name__})",
                                            endpoint=endpoint)) from None
        log.debug("%s -> HTTP %s in %.0f ms", where, response.status_code, (time.monotonic() - started) * 1000)
        return response

    def _refusal(self, endpoint: str, where: str, response: requests.Response) -> None:
        """Any status but 200: ``None`` for 404, otherwise raise (retryable or final)."""
        status = response.status_code
        if status == 404:
            return None
        if status == 429:
            self._calls.add(endpoint, "429s")
            wait = _retry_after(response)
            # Every thread, and every process of the account, holds off, not just this call.
            self.limits.pause(endpoint, min(wait, RETRY_AFTER_CAP) or 1.0)
            raise _Retryable(RacingAPIError(f"{where}: HTTP 429 rate limited", endpoint=endpoint, status=429),
                             retry_after=wait)
        if status >= 500:
            raise _Retryable(RacingAPIError(f"{where}: HTTP {status}", endpoint=endpoint, status=status))
        if status in (401, 403, 422):
            raise self._client_error(endpoint, where, status, _detail(response))
        raise RacingAPIError(f"{where}: unexpected HTTP {status}", endpoint=endpoint, status=status)

    @staticmethod
    def _client_error(endpoint: str, where: str, status: int, detail: str | list) -> RacingAPIError:
        """401/403/422 by their detail: invalid parameters (the validation list), the plan's
        window (a message about the add-on / 12 months / dates served), or the credentials."""
        if isinstance(detail, list):
            return ValidationFailed(f"{where}: invalid parameters: {_flatten(detail)}",
                                    endpoint=endpoint, status=status)
        if any(word in detail.lower() for word in PLAN_WORDS):
            return PlanWindowError(f"{where}: outside the plan's window (HTTP {status}): {detail}",
                                   endpoint=endpoint, status=status)
        if status == 422:
            return ValidationFailed(f"{where}: invalid parameters: {detail}", endpoint=endpoint, status=422)
        return AuthenticationError(f"Racing API refused the credentials (HTTP {status}: {detail}); "
                                   f"check RACING_API_USERNAME and RACING_API_PASSWORD",
                                   endpoint=endpoint, status=status)

    @staticmethod
    def _decode(endpoint: str, where: str, response: requests.Response, check: Check) -> Any:
        """The JSON body if it passes ``check``; a body that does not is retried."""
        try:
            data = _json_body(response)
        except ValueError:
            raise _Retryable(BadResponseError(
                f"{where}: body is not JSON ({response.headers.get('Content-Type', '?')}, "
                f"{len(response.content)} bytes)", endpoint=endpoint, status=200)) from None
        try:
            check(data)
        except (BadResponseError, IncompleteDataError) as exc:
            raise _Retryable(type(exc)(f"{where}: {exc}", endpoint=endpoint, status=200)) from None
        return data
