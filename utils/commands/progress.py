"""How a run reports itself: chunk banners, a progress bar on a terminal, plain lines elsewhere.

Why two modes: users watch long runs in tmux (a live bar with ETA is what they want) but also run
them under nohup or cron, where a bar's carriage returns turn the log into noise. The bar is shown
only when stderr is a terminal and ``--quiet`` is off; every banner also goes through ``logging`` so
that the log file and ``--log-format json`` carry the same facts. While a bar is on screen, every
console log line (a retry warning from a fetch thread, a chunk banner) is written through the bar
(``tqdm.write``: clear the bar, print the line, redraw the bar), never into the bar's line.
"""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import date

from utils.commands.cli import set_console_writer
from utils.planning import Chunk, format_duration

log = logging.getLogger("darkhorses.progress")
_OPEN_BARS: list = []
BANNER = "=" * 70           # the rule above and below a chunk's line on a text console
PLAIN_LINE_SECONDS = 15.0    # without a bar: a progress line at most this often (and the first at once)


def _write_through_bars(line: str, stream) -> None:
    from tqdm import tqdm

    tqdm.write(line, file=stream)
    stream.flush()


def open_bar(**options):
    """A tqdm bar on stderr; console log lines go through it until ``close_bar``."""
    from tqdm import tqdm

    bar = tqdm(file=sys.stderr, dynamic_ncols=True, **options)
    _OPEN_BARS.append(bar)
    set_console_writer(_write_through_bars)
    return bar


def close_bar(bar) -> None:
    bar.close()
    if bar in _OPEN_BARS:
        _OPEN_BARS.remove(bar)
    if not _OPEN_BARS:
        set_console_writer(None)


class ConsoleProgress:
    """Progress for the events backfill (implements ``utils.pipeline.events.Progress``)."""

    def __init__(self, total_days: int, *, quiet: bool = False, show_bar: bool | None = None,
                 alongside_eta: Callable[[], float | None] | None = None):
        """``alongside_eta``: seconds left of work running beside the events (backfill_all's
        profile fetcher), so the chunk lines give one ETA for the whole job."""
        self.total_days = total_days
        self.alongside_eta = alongside_eta
        self.done = 0
        self.races = 0
        self.runners = 0
        self.failed = 0
        self.started = time.monotonic()
        if show_bar is None:
            show_bar = sys.stderr.isatty() and not quiet
        self._bar = self._make_bar() if show_bar else None

    def _make_bar(self):
        return open_bar(total=self.total_days, unit="day", leave=True,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} days "
                                   "[{elapsed}<{remaining}] {postfix}")

    def chunk_started(self, chunk: Chunk, total_chunks: int) -> None:
        """One record: framed by ``=====`` rules on a text console, one structured event in JSON
        (``{"event": "chunk", "n": 45, "of": 131, "start": …, "end": …}``)."""
        log.info(f"CHUNK {chunk.index}/{total_chunks}: {chunk.label}",
                 extra={"banner": BANNER, "fields": {"event": "chunk", "n": chunk.index, "of": total_chunks,
                                                     "start": chunk.start.isoformat(),
                                                     "end": chunk.end.isoformat()}})

    def day_done(self, outcome) -> None:
        self.done += 1
        self.races += outcome.races
        self.runners += outcome.runners
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(f"races={self.races:,} runners={self.runners:,}")
        else:
            log.debug("%s: %d races, %d runners", outcome.day, outcome.races, outcome.runners)

    def day_failed(self, day: date, failure) -> None:
        self.failed += 1
        if self._bar is not None:
            self._bar.update(1)
        log.warning("%s: FAILED (%s) - recorded in the error log; --resume retries it", day, failure)

    def chunk_finished(self, chunk: Chunk, totals: dict[str, int]) -> None:
        eta = self.eta_seconds()
        beside = self.alongside_eta() if self.alongside_eta else None
        whole = max(eta or 0.0, beside or 0.0) if beside is not None else eta
        label = "ETA for the whole job (events and profiles)" if beside is not None else "ETA"
        self._write(
            f"  stored {totals['races']:,} races, {totals['runners']:,} runners; "
            f"{totals['entities']:,} entity rows extracted; {totals['failed_days']} failed days"
            f" | overall {self.done}/{self.total_days} days"
            + (f", {label} {format_duration(whole)}" if whole is not None else ""),
            event="chunk_done", n=chunk.index, days_done=self.done, days_total=self.total_days,
            **{k: v for k, v in totals.items() if k not in ("event", "n", "days_done", "days_total")})

    def eta_seconds(self) -> float | None:
        finished = self.done + self.failed
        if not finished:
            return None
        rate = (time.monotonic() - self.started) / finished
        return rate * max(0, self.total_days - finished)

    def close(self) -> None:
        if self._bar is not None:
            close_bar(self._bar)
            self._bar = None

    def _write(self, message: str, **fields) -> None:
        log.info(message, extra={"fields": fields} if fields else None)   # through the bar, if any


class CountProgress:
    """A bar (terminal) or periodic lines (nohup/cron) over a known number of items, with ETA.

    ``advance_to`` may be called for every item: the bar redraws at its own pace, and without a
    bar a line is written for the first item, then at most every ``line_seconds``, and at the end."""

    def __init__(self, total: int, unit: str, *, quiet: bool = False, show_bar: bool | None = None,
                 line_seconds: float = PLAIN_LINE_SECONDS):
        self.total = total
        self.unit = unit
        self.done = 0
        self.started = time.monotonic()
        self.line_seconds = line_seconds
        self._last_line: float | None = None
        if show_bar is None:
            show_bar = sys.stderr.isatty() and not quiet
        self._bar = open_bar(total=total, unit=unit) if show_bar else None

    def advance_to(self, done: int, note: str = "") -> None:
        step = done - self.done
        self.done = done
        if self._bar is not None:
            self._bar.update(step)
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            return
        now = time.monotonic()
        if (self._last_line is not None and done < self.total
                and now - self._last_line < self.line_seconds):
            return
        self._last_line = now
        elapsed = now - self.started
        eta = elapsed / done * (self.total - done) if done else 0.0
        log.info("%s/%s %s %s ETA %s", f"{done:,}", f"{self.total:,}", self.unit, note,
                 format_duration(eta))

    def close(self) -> None:
        if self._bar is not None:
            close_bar(self._bar)
            self._bar = None
