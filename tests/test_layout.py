"""The layout of utils/: the guide's two entry points, the import contracts, ruff, the names of the
test files and the tree CLAUDE.md draws.

Why the real tools on real files and no mocks: a contract is only worth something if it catches the
import it forbids, so every contract in .importlinter is broken on purpose in a copy of utils/ and
lint-imports must fail naming it. The layout rules are checked against the files on disk, so a
module added, moved or renamed without its test or its line in CLAUDE.md fails here.
"""
from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UTILS = REPO / "utils"
CONFIG = REPO / ".importlinter"


def _tool(name: str) -> str | None:
    """The tool from this interpreter's venv (make test runs .venv/bin/python), else from PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


LINT_IMPORTS = _tool("lint-imports")
RUFF = _tool("ruff")


def _fresh_env(pythonpath: Path) -> dict[str, str]:
    # COLUMNS: lint-imports prints through rich, which wraps long contract names at the
    # terminal width (80 without a terminal); wide enough, a contract's name stays on one line.
    return {**os.environ, "PYTHONPATH": str(pythonpath), "COLUMNS": "250", "NO_COLOR": "1"}


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# --- the guide's entry points ------------------------------------------------------------------

@pytest.mark.parametrize("entry, name, home", [
    ("utils.api_client", "RacingAPIClient", "utils.api.client"),
    ("utils.supabase_client", "SupabaseReferenceClient", "utils.stores.rest"),
])
def test_the_guides_imports_work_in_a_fresh_interpreter_and_are_the_real_classes(entry, name, home):
    code = (f"from {entry} import {name}\n"
            f"import {home} as home\n"
            f"assert {name} is home.{name}, ({name}, home.{name})\n"
            f"print({name}.__module__)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_fresh_env(REPO),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == home


# --- import contracts (.importlinter) ----------------------------------------------------------

def _contract_names() -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    prefix = "importlinter:contract:"
    return {section[len(prefix):]: parser[section]["name"]
            for section in parser.sections() if section.startswith(prefix)}


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    assert LINT_IMPORTS, "lint-imports is not installed: pip install -r requirements-dev.txt"
    return subprocess.run([LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=root, env=_fresh_env(root),
                          capture_output=True, text=True, timeout=300)


def test_lint_imports_passes_on_the_real_tree():
    proc = _lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    kept = _flat(proc.stdout)
    for name in _contract_names().values():
        assert f"{name} KEPT" in kept, f"{name!r} not reported kept:\n{proc.stdout}"


# (contract id, module file to append to, the forbidden import, the import lint-imports must name)
BREAKS = [
    ("layers", "utils/ingest/parsers.py", "import utils.commands.cli", "utils.ingest.parsers -> utils.commands.cli"),
    ("layers", "utils/stores/reads.py", "import utils.api.client", "utils.stores.reads -> utils.api.client"),
    ("vocabulary", "utils/planning.py", "import utils.api.client", "utils.planning -> utils.api.client"),
    ("ingest-no-io", "utils/ingest/rows.py", "import requests", "utils.ingest.rows -> requests"),
    ("ingest-no-io", "utils/ingest/parsers.py", "import sqlite3", "utils.ingest.parsers -> sqlite3"),
    ("argparse-only-commands", "utils/stores/base.py", "import argparse", "utils.stores.base -> argparse"),
    ("simulator-only-demo", "utils/pipeline/events.py", "import utils.simulator.server",
     "utils.pipeline.events -> utils.simulator.server"),
]
BREAK_IDS = ["layers-lower-imports-higher", "layers-siblings-independent", "vocabulary", "ingest-no-io",
             "ingest-no-io-stdlib", "argparse", "simulator"]


def test_every_contract_has_a_case_that_breaks_it():
    assert set(_contract_names()) == {contract for contract, *_ in BREAKS}


@pytest.mark.parametrize("contract, module, statement, shown", BREAKS, ids=BREAK_IDS)
def test_one_forbidden_import_breaks_its_contract(tmp_path, contract, module, statement, shown):
    """The second layers case: independent siblings (stores must not import api); the second
    no-I/O case: a standard-library module (grimp sees stdlib modules only with
    include_external_packages = True, which .importlinter sets)."""
    shutil.copytree(UTILS, tmp_path / "utils", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CONFIG, tmp_path / ".importlinter")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{statement}\n", encoding="utf-8")

    proc = _lint_imports(tmp_path)
    out = _flat(proc.stdout + proc.stderr)
    name = _contract_names()[contract]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{name} BROKEN" in out, f"{name!r} not reported broken:\n{proc.stdout}{proc.stderr}"
    assert shown in out, f"{shown!r} not named:\n{proc.stdout}"


# --- ruff (ruff.toml) --------------------------------------------------------------------------

@pytest.mark.skipif(RUFF is None, reason="ruff is not installed (pip install -r requirements-dev.txt)")
def test_ruff_check_is_clean():
    proc = subprocess.run([RUFF, "check", "--output-format", "concise", "."], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- test files are named after what they test -------------------------------------------------

# Cross-cutting suites, named after what they check rather than after one module.
CROSS_CUTTING = {
    "docs": "the documentation: links, commands and the field lists it quotes",
    "layout": "this file: entry points, import contracts, ruff, test names, CLAUDE.md's tree",
    "new_user": "the new-user acceptance suite: the README's steps end to end",
}


def _tested_names() -> set[str]:
    modules = {p.stem for p in UTILS.rglob("*.py") if p.name != "__init__.py"}
    packages = {p.parent.name for p in UTILS.glob("*/__init__.py")}
    scripts = {p.stem for p in (REPO / "scripts").glob("*.py")}
    benchmarks = {p.stem for p in (REPO / "benchmarks").glob("*.py")}
    return modules | packages | scripts | benchmarks


def test_every_test_file_is_named_after_a_module_package_script_or_benchmark():
    """tests/test_<name>.py: <name> is, or starts with "<x>_" for, x a module stem anywhere under
    utils/, a sub-package of utils/, a script in scripts/ or a benchmark in benchmarks/; or one of
    CROSS_CUTTING. tests/reliability/ holds scenario suites and is exempt."""
    names = _tested_names()
    stray = sorted(
        path.name for path in (REPO / "tests").glob("test_*.py")
        if (name := path.stem[len("test_"):]) not in CROSS_CUTTING
        and name not in names and not any(name.startswith(f"{x}_") for x in names))
    assert not stray, (f"test files named after nothing under utils/, scripts/ or benchmarks/: {stray}; "
                       "rename each after the module it tests (test_<module>.py or test_<module>_<aspect>.py)")


# --- the tree CLAUDE.md draws ------------------------------------------------------------------

LINE = re.compile(r"^(?:(utils)/|\s+([A-Za-z_][\w/]*)/)\s+(\S.*)$")
FILE = re.compile(r"[A-Za-z_]\w*\.py")


def layout_block(text: str) -> list[str]:
    """The lines of the first fenced code block after the first line starting with "## Layout"."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("## Layout")), None)
    assert start is not None, 'CLAUDE.md has no heading line starting with "## Layout"'
    opening = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("```")), None)
    assert opening is not None, 'no fenced code block after "## Layout" in CLAUDE.md'
    closing = next((i for i in range(opening + 1, len(lines)) if lines[i].lstrip().startswith("```")), None)
    assert closing is not None, 'the code block after "## Layout" in CLAUDE.md is not closed'
    return lines[opening + 1:closing]


def listed_files(block: list[str]) -> set[str]:
    """utils/-relative paths of the .py files the block lists.

    A line `utils/  a.py b.py` lists utils/a.py and utils/b.py; a line indented by whitespace,
    `  pkg/  a.py b.py`, lists utils/pkg/a.py and utils/pkg/b.py (pkg may be nested: `stores/sub/`).
    After the folder come whitespace-separated file names `<name>.py`; the first word that is not
    one ends the list, and the rest of the line is a description. A folder may take several lines;
    __init__.py may be listed or not. Lines of any other form are ignored."""
    files: set[str] = set()
    for line in block:
        match = LINE.match(line)
        if not match:
            continue
        folder = "" if match.group(1) else match.group(2) + "/"
        for word in match.group(3).split():
            if not FILE.fullmatch(word):
                break
            if word != "__init__.py":
                files.add(folder + word)
    return files


def test_the_layout_parser_reads_the_documented_format():
    block = layout_block("# x\n## Layout of utils/\ntext\n```text\n"
                         "utils/  errors.py  schema.py   the vocabulary, not.py a file\n"
                         "  api/      client.py rate_limit.py   # a comment\n"
                         "  api/      credentials.py\n"
                         "  stores/sub/  deep.py __init__.py\n"
                         "free text, ignored\n"
                         "```\n```\nutils/  later.py\n```\n")
    assert listed_files(block) == {"errors.py", "schema.py", "api/client.py", "api/rate_limit.py",
                                   "api/credentials.py", "stores/sub/deep.py"}


def test_claude_md_draws_every_module_of_utils():
    listed = listed_files(layout_block((REPO / "CLAUDE.md").read_text(encoding="utf-8")))
    actual = {p.relative_to(UTILS).as_posix() for p in UTILS.rglob("*.py")
              if p.name != "__init__.py" and "__pycache__" not in p.parts}
    assert listed == actual, (f"in utils/ but not drawn in CLAUDE.md: {sorted(actual - listed)}; "
                              f"drawn but not in utils/: {sorted(listed - actual)}")
