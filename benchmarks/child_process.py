"""A spawned child process driven over a pipe: the parent side the benchmarks' servers share.

Why a child process at all: a server that runs in the benchmark's own process (the simulator, the
PostgREST fake) shares its GIL and bills its own work to the code being measured. Why one class:
the simulator children of ``bench_backfill``/``bench_floor``, the fake of ``bench_remote`` and the
latency proxy of ``delay_proxy`` speak the same small protocol (the child sends one greeting, then
answers each message; ``"stop"`` ends it), so starting, asking and stopping are written once here.
"""
from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from typing import Any


class PipedChild:
    """``target(conn, *args)`` in a spawned process; ``greeting`` is the first thing it sent."""

    def __init__(self, target: Callable[..., None], *args: Any, daemon: bool = True, name: str | None = None):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._lock = threading.Lock()          # one question and its answer at a time, any thread
        self._proc = ctx.Process(target=target, args=(child, *args), daemon=daemon, name=name)
        self._proc.start()
        child.close()
        self.greeting = self._conn.recv()

    def ask(self, message: Any) -> Any:
        """Send ``message``, return the child's reply."""
        with self._lock:
            self._conn.send(message)
            return self._conn.recv()

    def stop(self) -> None:
        """Ask the child to stop (it may be gone already), then make sure it is."""
        try:
            self.ask("stop")
        except (OSError, EOFError):
            pass
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
        self._conn.close()
