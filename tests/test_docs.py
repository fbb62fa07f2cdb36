"""The docs are true to the code: every simulator command line shown runs, and every script's
--help lists exactly the options the guide documents."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "BACKFILL_GUIDE.md"
DOCS_WITH_COMMANDS = (REPO / "README.md", GUIDE)
SCRIPTS = ("backfill_events", "backfill_all", "backfill_masters", "enrich_horses", "verify_backfill",
           "backfill_report", "init_db", "racing_api_simulator")


def documented_options(script: str) -> set[str]:
    """Options in the guide's table under '## scripts/<script>.py'."""
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(rf"^## scripts/{script}\.py\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/BACKFILL_GUIDE.md has no section for scripts/{script}.py"
    return set(re.findall(r"^\| `(--[a-z][a-z-]*)", match.group(1), re.M))


def help_options(script: str) -> set[str]:
    out = subprocess.run([sys.executable, str(REPO / "scripts" / f"{script}.py"), "--help"],
                         capture_output=True, text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", out.stdout)) - {"--help"}


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_lists_exactly_the_documented_options(script):
    assert help_options(script) == documented_options(script)


def simulator_commands() -> list[str]:
    """Every `python3 scripts/…` line in the README and the guide that runs against the simulator."""
    commands = []
    for doc in DOCS_WITH_COMMANDS:
        for line in doc.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line.startswith("python3 scripts/") and "--demo" in line:
                commands.append(line.split("  #")[0].strip())
            elif line.startswith("python3 scripts/verify_backfill.py") and "demo.db" in line:
                commands.append(line)
    return commands


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory):
    """A copy of the code, so that commands write their data/ and logs/ there, not in the repo."""
    root = tmp_path_factory.mktemp("repo")
    for name in ("scripts", "utils", "supabase"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_docs_show_simulator_commands():
    assert len(simulator_commands()) >= 4


@pytest.mark.parametrize("command", simulator_commands())
def test_documented_simulator_command_runs(command, repo_copy):
    argv = shlex.split(command)
    assert argv[0] == "python3"
    result = subprocess.run([sys.executable, *argv[1:]], cwd=repo_copy, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr
