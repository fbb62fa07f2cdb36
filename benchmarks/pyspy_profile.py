"""A sampling profile of a backfill subprocess with py-spy, summarised by stage and by function.

Why py-spy and not cProfile: cProfile doubles the run time of this call-heavy code and inflates
small functions; py-spy samples the unmodified process and its writer process from outside (``--nonblocking``,
``--subprocesses``), every thread, native waits included, so the shares are those of the real run. Only samples of
active threads count (py-spy leaves idle threads out), so a share is "of the CPU-busy time".
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

RATE_HZ = 100

# Stage of a sample: the first of these frames (innermost wins) found in its stack.
STAGES = (
    ("database write (the apply call)", ("_write_prepared",)),
    ("row preparation (dedupe, merge, sort)", ("prepare_unit",)),
    ("entity extraction", ("extract_entities",)),
    ("transform (payload -> typed rows)", ("racecard_to_rows", "result_to_rows")),
    ("HTTP and JSON (fetch threads)", ("_all_pages", "_get_once")),
    ("unit as JSON", ("unit_json",)),
    ("checkpoint and progress", ("_commit_day", "day_done", "Checkpoint.save", "ErrorLog.save")),
)
_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>.+?)(?::(?P<line>\d+))?\)$")


def executable() -> str | None:
    """py-spy next to this interpreter (the venv), else on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def record(command: list[str], out: Path, env: dict, log: Path) -> int:
    """Run ``command`` under ``py-spy record`` (raw collapsed stacks to ``out``); its exit code."""
    spy = executable()
    if spy is None:
        raise FileNotFoundError("py-spy is not installed (pip install -r requirements-dev.txt)")
    with open(log, "w") as sink:
        return subprocess.run([spy, "record", "--nonblocking", "--subprocesses", "-r", str(RATE_HZ), "-f", "raw",
                               "-o", str(out), "--", *command],
                              env=env, stdout=sink, stderr=subprocess.STDOUT, check=False).returncode


@dataclass
class Summary:
    samples: int
    stages: list[tuple[str, int]]              # (stage, samples), largest first
    own: list[tuple[str, int]]                 # (function, samples it was the innermost frame)

    def share(self, n: int) -> float:
        return n / self.samples if self.samples else 0.0


def _where(frame: str, root: Path) -> str:
    """``"map_fields (utils/ingest/rows.py:606)"`` -> ``"utils/ingest/rows.py: map_fields"``."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match["file"]
    if "site-packages/" in file:
        file = file.split("site-packages/", 1)[1]
    elif file.startswith(str(root)):
        file = str(Path(file).relative_to(root))
    return f"{file}: {match['func']}"


def summarise(raw: Path, root: Path, top: int = 15) -> Summary:
    """Stage shares and the functions with the most own samples, from py-spy's raw output."""
    stages: Counter = Counter()
    own: Counter = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")[1:]           # the first entry names the process
        samples += n
        stages[_stage(frames)] += n
        if frames:
            own[_where(frames[-1], root)] += n
    return Summary(samples, stages.most_common(), own.most_common(top))


def _stage(frames: list[str]) -> str:
    """py-spy names methods ``Class.method``: a marker with a dot matches the whole name, one
    without matches the function's own name."""
    for frame in reversed(frames):
        name = frame.split(" (", 1)[0]
        short = name.rsplit(".", 1)[-1]
        for stage, markers in STAGES:
            if name in markers or short in markers:
                return stage
    return "other (start-up, planning, locks)"
