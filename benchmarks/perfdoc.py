"""Edit one ``## title`` section of docs/PERFORMANCE.md and leave every other section as it is.

Why a helper: several benchmarks (stores, report, backfill) each own one section of the same file;
each must replace only its own, whatever order the sections are in and whoever wrote them.
"""
from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "PERFORMANCE.md"
HEADER = "# Performance\n"


def update_section(title: str, markdown: str, path: Path = DOC) -> None:
    """Replace the section headed exactly ``## {title}`` (up to the next ``## `` heading or the end)
    with ``markdown``, or append it when there is none. ``markdown`` is the body, without heading."""
    path = Path(path)
    current = path.read_text(encoding="utf-8") if path.exists() else HEADER
    section = f"## {title}\n\n{markdown.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: section, current, count=1)
    else:
        updated = current.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated.rstrip() + "\n", encoding="utf-8")
