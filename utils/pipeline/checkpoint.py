"""Checkpoint, error log and run lock for resumable backfills.

Why this shape: a backfill runs for hours and is killed at random moments (Ctrl+C, SIGKILL, a
reboot). The checkpoint records a day only after the database committed it, and every file is
replaced atomically (temp file, fsync, rename, fsync of the folder), so after any crash the files
hold either the previous or the next state, never a torn one (the temp file of a write killed
before its rename is removed by the next write). The lock is an ``flock`` on a side
file: the kernel releases it when the process dies, so a SIGKILLed run never leaves a stale lock.
"""
from __future__ import annotations

import errno
import fcntl
import glob
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from utils import LOGS_DIR
from utils.errors import CheckpointError, LockHeldError

CHECKPOINT_VERSION = 1


@dataclass(frozen=True)
class RunFiles:
    """The checkpoint and error log of an events run, and the lock beside them."""

    checkpoint: Path
    errors: Path

    @property
    def lock(self) -> Path:
        return self.checkpoint.with_name(self.checkpoint.name + ".lock")

    @classmethod
    def named(cls, checkpoint_file: Path | None = None, *, demo: bool = False,
              incremental: bool = False) -> RunFiles:
        """The pair for ``--checkpoint-file`` (its errors file beside it), else the default pair
        under ``logs/``: demo and incremental runs keep their own, so a cron job never disturbs a
        long backfill's checkpoint (nor the demo a real one)."""
        if checkpoint_file is None:
            prefix = ("demo_" if demo else "") + "backfill_events" + ("_incremental" if incremental else "")
            return cls(LOGS_DIR / f"{prefix}_checkpoint.json", LOGS_DIR / f"{prefix}_errors.json")
        path = Path(checkpoint_file).expanduser().resolve()
        return cls(path, path.with_name(path.stem + "_errors.json"))


DEFAULT_RUN_FILES = RunFiles.named()


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc/self/status``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)        # elsewhere: set and restore at once
    os.umask(current)
    return current


def file_mode_for(path: Path) -> int:
    """The permissions a plain ``open(path, "w")`` would leave: an existing file's own, else
    0666 minus the umask (``mkstemp`` alone would make every file 0600)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def atomic_write_json(path: Path, data: Any) -> None:
    """Write JSON so that readers only ever see the old or the new content, even after a crash.
    The file gets the permissions an ordinary write would give it (``file_mode_for``)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), file_mode_for(path))
            json.dump(data, handle, indent=2, ensure_ascii=False, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        _remove_stale_temp_files(path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}") from None


def _remove_stale_temp_files(path: Path) -> None:
    """Remove the temp files of earlier writes of ``path`` that were killed before their rename
    (never read, but they would pile up). Only one process writes a given file at a time (the run
    lock), so any such file left now is stale."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


WRITABLE_ELSEWHERE = ("give --checkpoint-file PATH in a folder you can write to (the checkpoint's lock "
                      "and error log go beside it)")


def unwritable_folder(path: Path, exc: OSError) -> str:
    """The message for a checkpoint, lock or error log that cannot be written where it is."""
    folder = Path(path).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (f"{folder} is not writable ({exc.strerror}: cannot create {Path(path).name}); "
                f"{WRITABLE_ELSEWHERE}")
    return f"cannot create {path} ({exc.strerror or exc}); {WRITABLE_ELSEWHERE}"


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CheckpointError(
            f"{what} {path} is unreadable or corrupt ({exc}); move it aside to start over") from None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _ShapeError(ValueError):
    """What is wrong with a checkpoint's content, naming the field."""


# The run parameters a checkpoint must hold (``EventsRequest.params()``): name -> (check, wanted).
def _is_day(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


PARAMS_SHAPE: dict[str, tuple[Any, str]] = {
    "start_date": (_is_day, "a date YYYY-MM-DD"),
    "end_date": (_is_day, "a date YYYY-MM-DD"),
    "region_codes": (lambda v: isinstance(v, list) and bool(v) and all(isinstance(c, str) and c for c in v),
                     "a list of region codes, e.g. [\"gb\", \"ire\"]"),
    "racecards": (lambda v: isinstance(v, bool), "true or false"),
    "results": (lambda v: isinstance(v, bool), "true or false"),
}


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_shape(data: Any) -> dict[str, Any]:
    """``params``, ``completed`` and ``stats`` of a loaded checkpoint, or ``_ShapeError``."""
    if not isinstance(data, dict):
        raise _ShapeError(f"it must be a JSON object, not {type(data).__name__}")
    if data.get("version") != CHECKPOINT_VERSION:
        raise _ShapeError(f"'version' is {_shown(data.get('version'))}; this code reads version "
                          f"{CHECKPOINT_VERSION}" if "version" in data else "'version' is missing")
    for name in ("params", "completed_dates", "stats"):
        if name not in data:
            raise _ShapeError(f"'{name}' is missing")
    params = data["params"]
    if not isinstance(params, dict):
        raise _ShapeError(f"'params' must be an object, not {_shown(params)}")
    for name, (valid, wanted) in PARAMS_SHAPE.items():
        if name not in params:
            raise _ShapeError(f"'params.{name}' is missing")
        if not valid(params[name]):
            raise _ShapeError(f"'params.{name}' must be {wanted}, not {_shown(params[name])}")
    days = data["completed_dates"]
    if not isinstance(days, list) or not all(_is_day(d) for d in days):
        bad = days if not isinstance(days, list) else next(d for d in days if not _is_day(d))
        raise _ShapeError(f"'completed_dates' must be a list of dates YYYY-MM-DD, not {_shown(bad)}")
    stats = data["stats"]
    if not isinstance(stats, dict) or not all(isinstance(v, int) and not isinstance(v, bool)
                                              for v in stats.values()):
        raise _ShapeError(f"'stats' must be an object of whole numbers, not {_shown(stats)}")
    return {"params": dict(params), "completed": {date.fromisoformat(d) for d in days},
            "stats": dict(stats)}


@dataclass
class Checkpoint:
    """The JSON mirror of a run: its range (``params``, what ``--resume`` continues) and the days
    committed. The database's ``ra_backfill_days`` is the truth; this file is rewritten from it."""

    path: Path
    params: dict[str, Any]
    completed: set[date] = field(default_factory=set)
    stats: dict[str, int] = field(default_factory=dict)
    started_at: str = field(default_factory=_now)
    database: str | None = None      # the database it mirrors (display form, password masked)

    @classmethod
    def load(cls, path: Path) -> Checkpoint | None:
        """The checkpoint at ``path`` (None when there is none). A file of the wrong shape is
        refused with the field that is missing or wrong, e.g. "'params.end_date' is missing"."""
        data = _read_json(path, "checkpoint")
        if data is None:
            return None
        try:
            checked = _check_shape(data)
        except _ShapeError as exc:
            raise CheckpointError(f"checkpoint {path} is not a valid checkpoint: {exc}; "
                                  f"move it aside to start over") from None
        return cls(path=Path(path), started_at=str(data.get("started_at") or _now()),
                   database=data.get("database"), **checked)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CHECKPOINT_VERSION,
            "timestamp": _now(),
            "started_at": self.started_at,
            "start_date": self.params.get("start_date"),
            "end_date": self.params.get("end_date"),
            "params": self.params,
            "database": self.database,
            "stats": self.stats,
            "completed_dates": sorted(d.isoformat() for d in self.completed),
        }

    def save(self) -> None:
        try:
            atomic_write_json(self.path, self.to_json())
        except CheckpointError as exc:
            raise CheckpointError(f"{exc}; {WRITABLE_ELSEWHERE}") from None

    def mismatch(self, params: dict[str, Any]) -> list[str]:
        """Names of the run parameters that differ from the checkpoint's."""
        return [k for k in params if self.params.get(k) != params[k]]


@dataclass
class ErrorLog:
    """``[{timestamp, chunk, date, endpoint, error}]`` for days that failed after all retries."""

    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> ErrorLog:
        data = _read_json(path, "error log")
        if data is None:
            return cls(Path(path))
        if not isinstance(data, list) or not all(isinstance(e, dict) and "date" in e for e in data):
            raise CheckpointError(f"error log {path} is not a list of error entries; move it aside")
        return cls(Path(path), data)

    def failed_dates(self) -> list[date]:
        return sorted({date.fromisoformat(e["date"]) for e in self.entries})

    def record(self, *, chunk: str, day: date, endpoint: str, error: str) -> None:
        self.entries = [e for e in self.entries if e["date"] != day.isoformat()]
        self.entries.append({"timestamp": _now(), "chunk": chunk, "date": day.isoformat(),
                             "endpoint": endpoint, "error": error})
        self.save()

    def clear(self, day: date) -> None:
        before = len(self.entries)
        self.entries = [e for e in self.entries if e["date"] != day.isoformat()]
        if len(self.entries) != before:
            self.save()

    def save(self) -> None:
        atomic_write_json(self.path, self.entries)


class RunLock:
    """An exclusive, crash-safe lock beside the checkpoint (``<checkpoint>.lock``)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise CheckpointError(unwritable_folder(self.path, exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockHeldError(
                f"another backfill (pid {holder}) is running with {self.path.with_suffix('')}; "
                f"wait for it to finish or use another --checkpoint-file") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
