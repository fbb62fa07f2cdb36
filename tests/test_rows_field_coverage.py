"""Every field of the API contract is either consumed by utils/ingest/rows.py (a column, a derived
column or the entity extractor) or deliberately dropped with a reason — and the docs say so.

The spec is read from the copy vendored in docs/api/openapi.yml (kept identical to
../shared/racing-api/openapi.yml by a test), so these checks also run on a clean clone.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from utils.ingest import rows as transform
from utils.schema import AUDIT_COLUMNS, TABLES

REPO = Path(__file__).resolve().parents[1]
from spec_files import OPENAPI  # noqa: E402  (docs/api/openapi.yml)

SCHEMA_DOC = REPO / "docs/database/SCHEMA.md"

CONSUMED = {
    "RacecardOddsPro": "RACECARD_RACE_FIELDS", "RunnerOddsPro": "RACECARD_RUNNER_FIELDS",
    "ResultStandard": "RESULT_RACE_FIELDS", "RunnerStandard": "RESULT_RUNNER_FIELDS",
    "HorsePro": "HORSE_PRO_FIELDS",
}


@pytest.fixture(scope="module")
def schemas() -> dict:
    if not OPENAPI.exists():
        pytest.skip(f"API CONTRACT MISSING: {OPENAPI} not found - field coverage NOT checked")
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    return spec["components"]["schemas"]


@pytest.fixture(scope="module")
def doc() -> str:
    assert SCHEMA_DOC.exists(), "docs/database/SCHEMA.md is missing"
    return SCHEMA_DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("schema", sorted(CONSUMED))
def test_every_api_field_is_consumed_or_dropped(schemas, schema):
    properties = set(schemas[schema]["properties"])
    assert properties, f"{schema} has no properties in openapi.yml"
    consumed = set(getattr(transform, CONSUMED[schema]))
    dropped = {key.split(".", 1)[1] for key in transform.DROPPED_FIELDS if key.startswith(f"{schema}.")}
    unhandled = properties - consumed - dropped
    assert not unhandled, (
        f"{schema}: map these in utils/ingest/rows.py or add them to DROPPED_FIELDS: {sorted(unhandled)}")


@pytest.mark.parametrize("schema", sorted(CONSUMED))
def test_no_field_is_both_consumed_and_dropped_or_invented(schemas, schema):
    properties = set(schemas[schema]["properties"])
    consumed = set(getattr(transform, CONSUMED[schema]))
    dropped = {key.split(".", 1)[1] for key in transform.DROPPED_FIELDS if key.startswith(f"{schema}.")}
    assert not consumed & dropped, f"{schema}: both read and dropped: {sorted(consumed & dropped)}"
    assert not dropped - properties, (
        f"{schema}: DROPPED_FIELDS names fields the spec lacks: {sorted(dropped - properties)}")
    assert not consumed - properties, f"{schema}: reads fields the spec lacks: {sorted(consumed - properties)}"


def test_dropped_fields_name_known_schemas_and_give_reasons():
    assert transform.DROPPED_FIELDS
    for key, reason in transform.DROPPED_FIELDS.items():
        schema, _, field = key.partition(".")
        assert schema in CONSUMED and field, key
        assert isinstance(reason, str) and len(reason.split()) >= 3, f"{key}: give a reason"


def test_every_dropped_field_is_named_in_the_docs(doc):
    missing = [key for key in transform.DROPPED_FIELDS if key not in doc]
    assert not missing, f"docs/database/SCHEMA.md does not name the dropped fields {missing}"


def _documented_columns(doc: str, table: str) -> set[str]:
    """Backticked names in the doc's section for ``table`` (a '## '/'### ' heading naming it)."""
    match = re.search(rf"^#{{2,3}} [^\n]*`{table}`[^\n]*\n(.*?)(?=^#{{2,3}} |\Z)", doc, re.M | re.S)
    assert match, f"docs/database/SCHEMA.md has no section headed with `{table}`"
    return set(re.findall(r"`([a-z0-9_]+)`", match.group(1)))


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_column_of_every_table_is_documented(doc, table):
    documented = _documented_columns(doc, table)
    missing = [c for c in TABLES[table].columns if c not in documented]
    assert not missing, f"docs/database/SCHEMA.md, section {table}: undocumented columns {missing}"
    assert all(c in doc for c in AUDIT_COLUMNS)


def test_vendored_spec_matches_the_shared_one():
    """docs/api/openapi.yml is a copy of the official spec; when the shared original is present it
    must be byte-identical (update the copy when the API's spec changes). Never skipped when the
    original is present; in CI a shared tree without it fails too (``vendored_spec_verdict``)."""
    from spec_files import vendored_spec_verdict

    verdict, why = vendored_spec_verdict(os.environ)
    if verdict == "skip":
        pytest.skip(why)
    assert verdict == "ok", why


@pytest.mark.parametrize("ci, shared_tree, shared_text, verdict", [
    ("true", True, "spec v1", "ok"),
    ("true", True, "spec v2", "fail"),          # present and different: fails in CI ...
    ("", True, "spec v2", "fail"),              # ... and anywhere else
    ("true", True, None, "fail"),               # CI, the shared tree is there, the spec is not
    ("", True, None, "skip"),
    ("true", False, None, "skip"),              # a clean clone without ../shared
    ("", False, None, "skip"),
])
def test_vendored_spec_verdict(tmp_path, ci, shared_tree, shared_text, verdict):
    from spec_files import vendored_spec_verdict

    vendored = tmp_path / "repo" / "docs" / "api" / "openapi.yml"
    vendored.parent.mkdir(parents=True)
    vendored.write_text("spec v1")
    shared = tmp_path / "shared" / "racing-api" / "openapi.yml"
    if shared_tree:
        shared.parent.mkdir(parents=True)
    if shared_text is not None:
        shared.write_text(shared_text)
    got, why = vendored_spec_verdict({"CI": ci}, vendored, shared)
    assert got == verdict, why
