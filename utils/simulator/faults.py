"""Fault injection for the Racing API simulator: which requests fail, and how.

Why a module of its own: the server (``utils.simulator.server``) answers like the real API; this
module decides, per request, to answer like a broken one instead (5xx, 429, resets, timeouts,
truncated or HTML bodies, nulls where the spec allows them, short pages, a ``total`` that changes),
so the client's retries and the backfill's verification can be tested without the paid API.

``FaultInjector.pick`` chooses a kind in this order: forced failures (``fail_date``), the second and
third 429 of a burst, the dice (``FaultConfig.rate`` over ``FaultConfig.kinds``), then the queue
(``queue_faults``). ``fault_reply`` answers at once for the kinds that replace the answer;
``apply_payload_fault`` edits the real answer for the others.

Choices where the real API is not documented precisely:

* ``total_changes``: the first page of a day reports a ``total`` one higher than the later pages
  (a race appeared, or vanished, while the client was paging); later pages are untouched. On a
  one-page day that first page is then also short of its total.
"""
from __future__ import annotations

import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, timedelta

from utils.simulator.dataset import RESULTS_WINDOW_DAYS
from utils.simulator.reply import Reply

FAULT_KINDS = ("5xx", "429", "reset", "timeout", "truncated", "html200", "null_strings", "short_page",
               "total_changes")

# Fields the spec declares nullable: the "null_strings" fault only nulls these, so the body stays valid.
NULLABLE = {
    "result": {"off_dt", "surface", "jumps", "winning_time_detail", "comments", "non_runners", "tote_win",
               "tote_pl", "tote_ex", "tote_csf", "tote_tricast", "tote_trifecta"},
    "result_runner": {"bsp", "jockey_claim_lbs", "silk_url"},
    "racecard": {"off_dt", "sex_restriction", "going_detailed", "rail_movements", "stalls", "weather", "surface",
                 "jumps", "tip", "verdict", "betting_forecast", "race_status"},
    "racecard_runner": {"dob", "age", "sex", "sex_code", "colour", "region", "breeder", "dam_region", "sire_region",
                        "damsire_region", "trainer_location", "comment", "spotlight", "headgear", "headgear_run",
                        "wind_surgery", "wind_surgery_run", "silk_url", "form", "trainer_rtf"},
    "horse": {"breeder", "colour", "colour_code", "dam", "dam_id", "damsire", "damsire_id", "dob", "name", "sex",
              "sex_code", "sire", "sire_id"},
}


@dataclass(frozen=True)
class FaultConfig:
    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    latency_ms: int = 0
    timeout_s: float = 3.0
    seed: int = 1


HTML_ERROR = (b"<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head>"
              b"<body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center>"
              b"</body></html>")


def fault_reply(kind: str, rng: random.Random) -> Reply | None:
    """The immediate reply for a fault kind; None for kinds that alter the normal answer instead."""
    if kind == "5xx":
        status = rng.choice((500, 502, 503))
        if rng.random() < 0.5:
            return Reply(status, {"detail": "Internal Server Error"})
        return Reply(status, b"<html><body><h1>%d Server Error</h1></body></html>" % status,
                     {"Content-Type": "text/html"})
    if kind == "429":
        return rate_limited(rng.random() < 0.5)
    if kind == "reset":
        return Reply(0, action="reset")
    if kind == "html200":
        return Reply(200, HTML_ERROR, {"Content-Type": "text/html; charset=utf-8"})
    return None


def rate_limited(retry_after: bool = True) -> Reply:
    return Reply(429, {"detail": "Too Many Requests"}, {"Retry-After": "1"} if retry_after else {})


def null_strings(payload, kind: str, rng: random.Random):
    """Send some "" values as null, only where the spec allows null, so the meaning is unchanged."""
    def blank_out(obj: dict, allowed: set) -> None:
        for key in allowed:
            if obj.get(key) == "" and rng.random() < 0.5:
                obj[key] = None

    if kind == "horse":
        blank_out(payload, NULLABLE["horse"])
    for prefix, key in (("result", "results"), ("racecard", "racecards")):
        for race in (payload.get(key) or []) if kind == key else []:
            blank_out(race, NULLABLE[prefix])
            for runner in race["runners"]:
                blank_out(runner, NULLABLE[prefix + "_runner"])
    return payload


def total_changes(payload, kind: str, skip: int):
    """The first page reports one race more than the later ones will (the day changed between
    pages); later pages keep the real ``total``."""
    if kind in ("results", "racecards") and skip == 0 and isinstance(payload.get("total"), int):
        payload["total"] += 1
    return payload


def short_page(payload, kind: str, rng: random.Random):
    """Drop the tail of a page while ``total`` stays right (a silently incomplete page)."""
    items = payload.get(kind) if kind in ("results", "racecards") else None
    if items:
        keep = rng.randrange(len(items))
        payload[kind] = items[:keep]
    return payload


class FaultInjector:
    """Decides, per request, whether and how to fail. Own Random(seed); thread-safe."""

    def __init__(self, config: FaultConfig):
        self._lock = threading.Lock()
        self.configure(config)
        self._forced: dict[tuple[str, date], str] = {}
        self.injected: Counter = Counter()      # every fault handed out, by kind
        self.queue: list[str] = []              # kinds to inject next, whatever the dice say

    def reset_counts(self) -> None:
        with self._lock:
            self.injected.clear()
            self.queue.clear()

    def enqueue(self, kinds) -> None:
        with self._lock:
            self.queue.extend(kinds)

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self.rng = random.Random(config.seed)
            self._burst: dict[str, int] = {}

    def fail_date(self, day: date, endpoint: str, kind: str) -> None:
        with self._lock:
            self._forced[(endpoint, day)] = kind

    def clear_failures(self) -> None:
        with self._lock:
            self._forced.clear()

    def pick(self, endpoint: str, days: tuple[date, date] | None) -> str:
        """The fault kind for this request, or "" (and counted in ``injected``)."""
        with self._lock:
            kind = self._pick(endpoint, days)
            if not kind and self.queue:
                kind = self.queue.pop(0)
            if kind:
                self.injected[kind] += 1
            return kind

    def _pick(self, endpoint: str, days: tuple[date, date] | None) -> str:
        """The forced, burst or random kind, before the queue."""
        if days:
            for (name, day), kind in self._forced.items():
                if name == endpoint and days[0] <= day <= days[1]:
                    return kind
        if self._burst.get(endpoint):
            self._burst[endpoint] -= 1
            return "429"
        cfg = self.config
        if cfg.rate <= 0 or not cfg.kinds or self.rng.random() >= cfg.rate:
            return ""
        kind = self.rng.choice(cfg.kinds)
        if kind == "429":
            self._burst[endpoint] = 2
        return kind

    def random(self) -> random.Random:
        return self.rng


def apply_payload_fault(kind: str, reply: Reply, params: dict, rng: random.Random) -> Reply:
    """The real answer altered by a payload-level fault kind (unchanged for other kinds and non-200s)."""
    if reply.status != 200 or not kind:
        return reply
    if kind in ("null_strings", "short_page", "total_changes") and isinstance(reply.body, bytes):
        reply = replace(reply, body=json.loads(reply.body))   # these faults edit the payload
    if kind == "total_changes":
        skip = (params.get("skip") or ["0"])[-1]
        return replace(reply, body=total_changes(reply.body, reply.kind, int(skip) if skip.isdigit() else 0))
    if kind == "truncated":
        return replace(reply, action=rng.choice(("truncate", "short_body")))
    if kind == "null_strings":
        return replace(reply, body=null_strings(reply.body, reply.kind, rng))
    if kind == "short_page":
        return replace(reply, body=short_page(reply.body, reply.kind, rng))
    return reply


def request_days(endpoint: str, params: dict, today: date) -> tuple[date, date] | None:
    """The date range a request covers, for ``fail_date`` matching (None when it has none / is invalid)."""
    try:
        if endpoint == "racecards":
            day = date.fromisoformat(params["date"][-1]) if params.get("date") else today
            return day, day
        if endpoint == "results":
            start = (date.fromisoformat(params["start_date"][-1]) if params.get("start_date")
                     else today - timedelta(days=RESULTS_WINDOW_DAYS))
            end = date.fromisoformat(params["end_date"][-1]) if params.get("end_date") else today
            return start, end
    except ValueError:
        return None
    return None
