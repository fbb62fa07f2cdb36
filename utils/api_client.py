"""``RacingAPIClient``: the only code that talks to The Racing API.

Layers, each small: an ``EndpointLimits`` paces every call; ``_get_once`` makes one HTTP request and
classifies the answer into data or a typed error; tenacity retries the transient ones (429 honouring
``Retry-After``, 5xx, timeouts, resets, unparseable bodies, short pages) with exponential backoff;
the paging helpers fetch every page until the rows fetched equal the API's ``total``. No method
returns ``None`` to signal failure, and no message carries the credentials (they travel only in the
session's auth header).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Mapping

import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from utils.credentials import api_credentials
from utils.errors import (AuthenticationError, BadResponseError, ConfigError, IncompleteDataError,
                          NotFoundError, PlanWindowError, RacingAPIError, ValidationFailed)
from utils.rate_limit import EndpointLimits

log = logging.getLogger("darkhorses.api")

DEFAULT_BASE_URL = "https://api.theracingapi.com"
RESULTS_PAGE = 100      # the API's maximum for /v1/results
RACECARDS_PAGE = 500    # the API's maximum for /v1/racecards/pro
# Words by which a refusal names the plan window rather than the credentials.
PLAN_WORDS = ("add-on", "addon", "12 months", "365 days", "plan", "2023-01-23", "historical")


@dataclass(frozen=True)
class RetryPolicy:
    """5 attempts, waits 2, 4, 8, 16, 32 s (jittered) by default; tests pass tiny waits."""

    attempts: int = 5
    initial: float = 2.0
    maximum: float = 32.0
    jitter: float = 1.0


class _Transient(Exception):
    """A failure worth retrying; ``error`` is what is raised when the attempts run out."""

    def __init__(self, error: RacingAPIError, retry_after: float = 0.0):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _detail_text(response: requests.Response) -> str:
    try:
        detail = response.json().get("detail", "")
    except (ValueError, AttributeError):
        return response.text[:200]
    if isinstance(detail, list):
        return "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg', '')}"
                         if isinstance(d, dict) else str(d) for d in detail)
    return str(detail)


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:
        return 0.0


def normalise_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"RACING_API_BASE_URL must start with http:// or https:// (got {url!r})")
    return url[:-3] if url.endswith("/v1") else url


class RacingAPIClient:
    """Rate-limited, retrying, paging client for the endpoints the backfill uses. Thread-safe."""

    def __init__(self, username: str, password: str, base_url: str = DEFAULT_BASE_URL, *,
                 limits: dict[str, float] | None = None, rate_scale: float = 1.0,
                 max_rps: float | None = None, retry: RetryPolicy = RetryPolicy(),
                 timeout: float = 30.0, session: requests.Session | None = None):
        self.base_url = normalise_base_url(base_url)
        self.limits = EndpointLimits(limits, scale=rate_scale, max_rps=max_rps)
        self.retry = retry
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.auth = (username, password)
        self.session.headers["User-Agent"] = "darkhorses-backfill"
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._stats: Counter = Counter()
        self._stats_lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, base_url: str | None = None) -> "RacingAPIClient":
        """Credentials and settings from the environment (``utils.cli.load_environment`` first)."""
        env = os.environ if env is None else env
        username, password = api_credentials(env)
        try:
            max_rps = float(env["RACING_API_MAX_RPS"]) if env.get("RACING_API_MAX_RPS") else None
            retry = RetryPolicy(initial=float(env.get("RACING_API_RETRY_INITIAL") or 2.0),
                                maximum=float(env.get("RACING_API_RETRY_MAX") or 32.0))
            timeout = float(env.get("RACING_API_TIMEOUT") or 30.0)
        except ValueError:
            raise ConfigError("RACING_API_MAX_RPS, RACING_API_RETRY_INITIAL, RACING_API_RETRY_MAX and "
                              "RACING_API_TIMEOUT must be numbers") from None
        if max_rps is not None and max_rps <= 0:
            raise ConfigError("RACING_API_MAX_RPS must be positive")
        return cls(username, password, base_url or env.get("RACING_API_BASE_URL") or DEFAULT_BASE_URL,
                   max_rps=max_rps, retry=retry, timeout=timeout)

    # --- public endpoints ---------------------------------------------------------------------
    def regions(self) -> list[dict]:
        data = self._get("regions", "/v1/courses/regions", {}, expect=list)
        return list(data)

    def courses(self, region_codes: list[str]) -> list[dict]:
        data = self._get("courses", "/v1/courses", {"region_codes": list(region_codes)}, expect=dict)
        return self._items(data, "courses")

    def racecards_pro(self, day: date, region_codes: list[str]) -> list[dict]:
        params = {"date": day.isoformat(), "region_codes": list(region_codes)}
        return self._all_pages("racecards", "/v1/racecards/pro", params, "racecards", RACECARDS_PAGE)

    def results(self, day: date, region_codes: list[str]) -> list[dict]:
        params = {"start_date": day.isoformat(), "end_date": day.isoformat(),
                  "region": list(region_codes)}
        return self._all_pages("results", "/v1/results", params, "results", RESULTS_PAGE)

    def horse_pro(self, horse_id: str) -> dict:
        """A horse's Pro profile; ``NotFoundError`` when the API has none (remember it)."""
        data = self._get("horses", f"/v1/horses/{horse_id}/pro", {}, expect=dict, not_found_is_empty=False)
        if not isinstance(data, dict) or not data.get("id"):
            raise BadResponseError(f"horse profile for {horse_id} has no id", endpoint="horses")
        return data

    @property
    def stats(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self._stats)

    def close(self) -> None:
        self.session.close()

    # --- paging --------------------------------------------------------------------------------
    def _all_pages(self, endpoint: str, path: str, params: dict, key: str, page: int) -> list[dict]:
        """Every page until fetched == total; a short page is retried, never accepted."""
        rows: dict[str, dict] = {}
        skip, total = 0, None
        while total is None or skip < total:
            data = self._get(endpoint, path, {**params, "limit": page, "skip": skip}, expect=dict,
                             check=self._page_check(key, page, skip))
            if data is None:                       # 404: no data for this date
                return []
            items = self._items(data, key)
            total = int(data["total"])
            for item in items:
                rows[str(item.get("race_id"))] = item
            if not items:
                break
            skip += len(items)
        if len(rows) != (total or 0):
            raise IncompleteDataError(
                f"{endpoint} {_public(params)}: fetched {len(rows)} distinct races but the API "
                f"reports total {total}; the day is not stored", endpoint=endpoint)
        return list(rows.values())

    @staticmethod
    def _page_check(key: str, page: int, skip: int) -> Callable[[Any], None]:
        """A page must hold ``min(limit, total - skip)`` rows: fewer is a short (broken) page."""
        def check(data: Any) -> None:
            items = data.get(key)
            if items is not None and not isinstance(items, list):
                raise BadResponseError(f"response lacks a '{key}' list")
            try:
                total = int(data["total"])
            except (KeyError, TypeError, ValueError):
                raise BadResponseError("response lacks an integer 'total'") from None
            due = max(0, min(page, total - skip))
            if len(items or []) < due:
                raise IncompleteDataError(f"short page: {len(items or [])} rows where {due} were due")
        return check

    @staticmethod
    def _items(data: Any, key: str) -> list[dict]:
        items = data.get(key) if isinstance(data, dict) else None
        if items is None:
            return []
        if not isinstance(items, list):
            raise BadResponseError(f"'{key}' is not a list")
        return items

    # --- one call, retried -------------------------------------------------------------------------
    def _get(self, endpoint: str, path: str, params: dict, *, expect: type,
             check: Callable[[Any], None] | None = None, not_found_is_empty: bool = True) -> Any:
        retrying = Retrying(stop=stop_after_attempt(self.retry.attempts), wait=self._wait,
                            retry=retry_if_exception_type(_Transient), reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    return self._get_once(endpoint, path, params, expect, check, not_found_is_empty)
        except _Transient as exc:
            error = exc.error
            raise type(error)(f"{error} (after {self.retry.attempts} attempts)",
                              endpoint=endpoint, status=error.status) from None

    def _wait(self, retry_state) -> float:
        backoff = wait_exponential_jitter(initial=self.retry.initial, max=self.retry.maximum,
                                          jitter=self.retry.jitter)(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, _Transient) else 0.0
        return max(backoff, min(retry_after, max(self.retry.maximum, 1.0)))

    def _count(self, endpoint: str, what: str) -> None:
        with self._stats_lock:
            self._stats[f"{endpoint}.{what}"] += 1

    def _get_once(self, endpoint: str, path: str, params: dict, expect: type,
                  check: Callable[[Any], None] | None, not_found_is_empty: bool) -> Any:
        self.limits.acquire(endpoint)
        self._count(endpoint, "calls")
        where = f"{endpoint} {path} {_public(params)}"
        started = time.monotonic()
        try:
            response = self.session.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.Timeout:
            raise self._transient(endpoint, RacingAPIError(f"{where}: timed out", endpoint=endpoint))
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise self._transient(endpoint, RacingAPIError(
                f"{where}: connection failed ({type(exc).__name__})", endpoint=endpoint))
        log.debug("%s -> %s in %.0f ms", where, response.status_code, (time.monotonic() - started) * 1000)
        return self._classify(endpoint, where, response, expect, check, not_found_is_empty)

    def _transient(self, endpoint: str, error: RacingAPIError, retry_after: float = 0.0) -> _Transient:
        self._count(endpoint, "retries")
        log.warning("%s; retrying", error)
        return _Transient(error, retry_after)

    def _classify(self, endpoint: str, where: str, response: requests.Response, expect: type,
                  check: Callable[[Any], None] | None, not_found_is_empty: bool) -> Any:
        status = response.status_code
        if status == 429:
            self._count(endpoint, "429")
            wait = _retry_after(response)
            self.limits.pause(endpoint, wait or 1.0)
            raise self._transient(endpoint, RacingAPIError(f"{where}: 429 rate limited", endpoint=endpoint,
                                                           status=429), wait)
        if status >= 500:
            raise self._transient(endpoint, RacingAPIError(f"{where}: HTTP {status}", endpoint=endpoint,
                                                           status=status))
        if status in (401, 403, 422):
            detail = _detail_text(response)
            if any(word in detail.lower() for word in PLAN_WORDS):
                raise PlanWindowError(f"{where}: the plan refuses this date: {detail}",
                                      endpoint=endpoint, status=status)
            if status == 422:
                raise ValidationFailed(f"{where}: invalid parameters: {detail}", endpoint=endpoint, status=422)
            raise AuthenticationError(f"Racing API refused the credentials (HTTP {status}): {detail}. "
                                      f"Check RACING_API_USERNAME / RACING_API_PASSWORD",
                                      endpoint=endpoint, status=status)
        if status == 404:
            if not_found_is_empty:
                return None
            raise NotFoundError(f"{where}: not found", endpoint=endpoint, status=404)
        if status != 200:
            raise RacingAPIError(f"{where}: unexpected HTTP {status}", endpoint=endpoint, status=status)
        try:
            data = response.json()
        except ValueError:
            raise self._transient(endpoint, BadResponseError(
                f"{where}: body is not JSON ({response.headers.get('Content-Type', '?')}, "
                f"{len(response.content)} bytes)", endpoint=endpoint, status=200))
        if not isinstance(data, expect):
            raise self._transient(endpoint, BadResponseError(
                f"{where}: expected a JSON {expect.__name__}", endpoint=endpoint, status=200))
        if check is not None:
            try:
                check(data)
            except RacingAPIError as exc:
                raise self._transient(endpoint, type(exc)(f"{where}: {exc}", endpoint=endpoint, status=200))
        return data


def _public(params: dict) -> str:
    """Query parameters for messages (never credentials: those live in the auth header only)."""
    return "&".join(f"{k}={v}" for k, v in params.items() if v not in (None, [], ""))
