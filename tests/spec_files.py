"""Where the tests find The Racing API's ``openapi.yml``.

Why a vendored copy: the contract tests (simulator responses, field coverage, sample payloads)
must run on a clean clone in CI, where ``../shared/racing-api/`` may not exist. The copy in
``docs/api/openapi.yml`` is what they read; ``test_vendored_spec_matches_the_shared_one`` fails
when the shared spec exists and differs, so the copy cannot silently go stale.
"""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPENAPI = REPO / "docs" / "api" / "openapi.yml"
SHARED_OPENAPI = REPO.parent / "shared" / "racing-api" / "openapi.yml"
