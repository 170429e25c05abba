"""The committed JSON Schema must match the models."""

from __future__ import annotations

import json

from imr_llm import DeterminationRecord
from imr_llm.record.schema import record_json_schema, schema_path, schema_text


def test_committed_schema_matches_models() -> None:
    committed = schema_path().read_text(encoding="utf-8")
    assert committed == schema_text(), (
        "schemas/determination_record.schema.json is stale: run `imr-llm schema --write`"
    )


def test_schema_describes_contract_and_derived_fields() -> None:
    schema = record_json_schema()
    assert set(schema["required"]) >= {"items"}
    props = schema["properties"]
    for key in ("case_number", "date_assigned", "priority", "reviewer", "patient", "items"):
        assert key in props
    item = schema["$defs"]["DisputedItem"]["properties"]
    assert item["outcome"]["enum"] == ["upheld", "overturned"]
    assert "medically_necessary" in item
    assert json.loads(schema_text()) == schema
    assert DeterminationRecord.model_fields["items"].metadata  # min_length constraint present
