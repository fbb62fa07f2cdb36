"""Day writes in a child process, so the next day's fetch and transform overlap them.

Why a process: the write (row preparation, SQL, SQLite's engine) and the fetch/transform are both
mostly Python; two threads share one GIL and measured slower than one. A child process with its
own store connection runs the write on the second core (measured: 4 months, 3,600 -> 5,200 runner
rows/s into PostgreSQL).

Why the spool: a kill must repeat at most the one uncommitted day's API calls (CLAUDE.md). With a
write in flight while the next day is fetched, two days are uncommitted, so each day's rows are
saved to ``<checkpoint>.spool/<date>.pickle`` before they are handed to the writer (and so before
the next day's calls start). ``--resume`` writes a spooled day from its file without calling the
API; the file is deleted once the day is in the checkpoint. Rows are stored with pickle and read
back with an unpickler that accepts only the value types rows hold (no code can be loaded).
"""
from __future__ import annotations

import io
import logging
import multiprocessing
import os
import pickle
import signal
import time
from datetime import date
from pathlib import Path
from typing import Any

from utils import errors
from utils.errors import DarkHorsesError, StoreConnectionError

log = logging.getLogger("darkhorses.write_pipeline")

Unit = dict[str, list[dict]]
_ERROR_TYPES = {name: getattr(errors, name) for name in dir(errors)
                if isinstance(getattr(errors, name), type) and issubclass(getattr(errors, name), DarkHorsesError)}
_ALLOWED = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"),
            ("datetime", "timezone"), ("decimal", "Decimal"), ("builtins", "set"), ("builtins", "frozenset")}


# --- the spool ------------------------------------------------------------------------------------
class _RowUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not a row value type")
        return super().find_class(module, name)


def dump_unit(unit: Unit) -> bytes:
    return pickle.dumps(unit, protocol=pickle.HIGHEST_PROTOCOL)


def load_unit(blob: bytes) -> Unit:
    return _RowUnpickler(io.BytesIO(blob)).load()


class DaySpool:
    """Rows of fetched, not yet committed days, one file per day, written atomically."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    @classmethod
    def beside(cls, checkpoint: Path) -> "DaySpool":
        return cls(Path(checkpoint).with_name(Path(checkpoint).name + ".spool"))

    def _path(self, day: date) -> Path:
        return self.directory / f"{day.isoformat()}.pickle"

    def save(self, day: date, blob: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self._path(day).with_suffix(".tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, self._path(day))

    def load(self, day: date) -> Unit | None:
        """The day's spooled rows, or None (no file, or a file that cannot be read: refetch)."""
        path = self._path(day)
        if not path.exists():
            return None
        try:
            return load_unit(path.read_bytes())
        except Exception as exc:          # a torn or foreign file: the day is simply fetched again
            log.warning("spooled rows for %s unreadable (%s); fetching the day again", day, type(exc).__name__)
            self.drop(day)
            return None

    def drop(self, day: date) -> None:
        self._path(day).unlink(missing_ok=True)

    def clear(self) -> None:
        """A fresh (not resumed) run starts without anything spooled by an earlier one."""
        if self.directory.exists():
            for path in self.directory.iterdir():
                path.unlink(missing_ok=True)


# --- the writer process ---------------------------------------------------------------------------
def _serve(target: Any, conn: Any) -> None:
    """The child: open the store, then write each unit it is sent and answer ``("ok", seconds)``
    or ``("error", type name, message, seconds)``. Signals are the parent's business: a Ctrl+C
    must let the day in flight finish, so the child ignores SIGINT and SIGTERM and ends when the
    parent closes the pipe (or dies)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from utils.memory import release_freed_memory
    from utils.stores import open_store

    try:
        store = open_store(target)
    except Exception as exc:
        conn.send(_error_reply(exc, 0.0))
        return
    conn.send(("ready",))
    try:
        while True:
            try:
                blob = conn.recv_bytes()
            except (EOFError, OSError):
                break
            if not blob:
                break
            started = time.perf_counter()
            try:
                store.write_unit(load_unit(blob))
                reply = ("ok", time.perf_counter() - started)
            except Exception as exc:
                reply = _error_reply(exc, time.perf_counter() - started)
            del blob
            release_freed_memory()
            try:
                conn.send(reply)
            except (EOFError, OSError):
                break
    finally:
        store.close()


def _error_reply(exc: BaseException, seconds: float) -> tuple:
    if isinstance(exc, DarkHorsesError):
        return ("error", type(exc).__name__, str(exc), seconds)
    # A bug in the write path: stop the run (critical) rather than record the day and go on.
    return ("error", "StoreConnectionError", f"writer process failed: {type(exc).__name__}: {exc}", seconds)


class WriterProcess:
    """The parent's handle: ``send`` one unit, ``wait`` for its outcome (raises the store's typed
    error), ``close`` at the end. At most one unit is in flight."""

    def __init__(self, target: Any):
        context = multiprocessing.get_context("spawn")   # a fresh interpreter: no inherited sockets
        self._conn, child = context.Pipe()
        self._proc = context.Process(target=_serve, args=(target, child), name="darkhorses-writer",
                                     daemon=True)
        self._proc.start()
        child.close()
        self.seconds = 0.0                  # time the child spent in write_unit (database time)
        try:
            self._receive()                 # "ready", or the store's error when it cannot open
        except BaseException:
            self.close()
            raise

    def send(self, blob: bytes) -> None:
        try:
            self._conn.send_bytes(blob)
        except OSError:
            raise StoreConnectionError("the writer process ended unexpectedly") from None

    def wait(self) -> None:
        """The outcome of the unit sent last: returns when committed, raises its error otherwise."""
        reply = self._receive()
        self.seconds += reply[-1]

    def _receive(self) -> tuple:
        try:
            reply = self._conn.recv()
        except (EOFError, OSError):
            raise StoreConnectionError("the writer process ended unexpectedly") from None
        if reply[0] == "error":
            _kind, name, message, seconds = reply
            self.seconds += seconds
            raise _ERROR_TYPES.get(name, errors.StoreError)(message)
        return reply

    def close(self) -> None:
        try:
            self._conn.send_bytes(b"")
        except OSError:
            pass
        self._proc.join(60)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
        self._conn.close()
