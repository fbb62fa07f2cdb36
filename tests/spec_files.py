"""Where the tests find The Racing API's ``openapi.yml``.

Why a vendored copy: the contract tests (simulator responses, field coverage, sample payloads)
must run on a clean clone in CI, where ``../shared/racing-api/`` may not exist. The copy in
``docs/api/openapi.yml`` is what they read; ``test_vendored_spec_matches_the_shared_one`` fails
when the shared spec exists and differs, so the copy cannot silently go stale (and, in CI, when the
shared tree exists without the spec: ``vendored_spec_verdict``).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPENAPI = REPO / "docs" / "api" / "openapi.yml"
SHARED_OPENAPI = REPO.parent / "shared" / "racing-api" / "openapi.yml"


def vendored_spec_verdict(env: Mapping[str, str], vendored: Path = OPENAPI,
                          shared: Path = SHARED_OPENAPI) -> tuple[str, str]:
    """("ok" | "fail" | "skip", why) for the vendored copy against the shared original.

    The shared file present -> the copy must be byte-identical ("ok" or "fail"), in CI or not:
    a present original is never skipped. Absent -> "skip" on a machine without the shared tree;
    but in CI (``CI=true``) with the shared tree there and the spec missing from it -> "fail"
    (the spec moved, and the check would otherwise go silent where it is meant to run).
    """
    in_ci = env.get("CI", "").strip().lower() == "true"
    if shared.is_file():
        if vendored.read_bytes() == shared.read_bytes():
            return "ok", f"{vendored} is identical to {shared}"
        return "fail", (f"{vendored} differs from {shared}: copy the shared spec over the vendored "
                        f"one (and adapt the code to what changed)")
    shared_tree = shared.parent.parent
    if in_ci and shared_tree.is_dir():
        return "fail", (f"CI=true and {shared_tree} exists, but {shared} does not: the spec moved, "
                        f"so the vendored copy can no longer be checked; point spec_files.py at it")
    return "skip", f"{shared} not present here; the vendored copy is used as is"
