"""Every API field is stored, consumed by the entity extractor, or deliberately dropped — and the
documentation says so.

Why: when The Racing API adds a field, this test fails until someone decides what to do with it
(map it in utils/transform.py or list it in DROPPED_FIELDS with a reason, see CLAUDE.md).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from utils import transform as t
from utils.schema import TABLES

REPO = Path(__file__).resolve().parents[1]
OPENAPI = Path(__file__).resolve().parents[2] / "shared/racing-api/openapi.yml"
SCHEMA_DOC = REPO / "docs/database/SCHEMA.md"
SCHEMAS = tuple(t.consumed_fields())


@pytest.fixture(scope="module")
def components() -> dict:
    if not OPENAPI.exists():
        pytest.skip(f"SKIPPED LOUDLY: the API contract {OPENAPI} is missing; field coverage is NOT checked")
    return yaml.safe_load(OPENAPI.read_text())["components"]["schemas"]


@pytest.fixture(scope="module")
def doc() -> str:
    assert SCHEMA_DOC.exists(), f"{SCHEMA_DOC} is missing"
    return SCHEMA_DOC.read_text()


def test_the_checked_schemas_are_the_ones_the_backfill_reads():
    assert set(SCHEMAS) == {"RacecardOddsPro", "RunnerOddsPro", "ResultStandard", "RunnerStandard", "HorsePro"}


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_api_field_is_consumed_or_dropped(components, schema):
    consumed = set(t.consumed_fields()[schema])
    dropped = {key.split(".", 1)[1] for key in t.DROPPED_FIELDS if key.startswith(f"{schema}.")}
    properties = set(components[schema]["properties"])
    unhandled = properties - consumed - dropped
    assert not unhandled, f"{schema}: map these in utils/transform.py or add them to DROPPED_FIELDS: {sorted(unhandled)}"
    assert not consumed & dropped, f"{schema}: both consumed and dropped: {sorted(consumed & dropped)}"


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_consumed_field_exists_in_the_spec(components, schema):
    """Catches typos: a misspelt field name would silently never be read."""
    unknown = set(t.consumed_fields()[schema]) - set(components[schema]["properties"])
    assert not unknown, f"{schema}: these fields are not in openapi.yml: {sorted(unknown)}"


def test_every_dropped_field_exists_in_the_spec(components):
    for key in t.DROPPED_FIELDS:
        schema, field = key.split(".", 1)
        assert field in components.get(schema, {}).get("properties", {}), key


def test_dropped_fields_have_reasons_and_are_documented(doc):
    for key, reason in t.DROPPED_FIELDS.items():
        assert len(reason) > 15, f"{key}: give a real reason"
        assert f"`{key}`" in doc, f"docs/database/SCHEMA.md does not list the dropped field {key}"


def test_every_table_and_column_is_documented(doc):
    for name, table in TABLES.items():
        assert f"`{name}`" in doc, f"table {name} is not documented"
        section = _section(doc, name)
        for column in table.columns:
            assert re.search(rf"`{column}`", section), f"{name}.{column} is not documented"


def _section(doc: str, table: str) -> str:
    """The text from the table's heading to the next heading (the table's column list)."""
    match = re.search(rf"^#+ [^\n]*`{table}`[^\n]*\n(.*?)(?=^#+ |\Z)", doc, re.M | re.S)
    assert match, f"docs/database/SCHEMA.md has no heading for {table}"
    return match.group(1)
