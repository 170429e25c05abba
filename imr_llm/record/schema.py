"""The JSON Schema of the determination record, generated from the models.

``schemas/determination_record.schema.json`` is committed so non-Python consumers can use it; a
test fails when it drifts from the models, and ``imr-llm schema --write`` regenerates it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..resources import data_dir, source_root
from .models import DeterminationRecord

SCHEMA_FILENAME = "determination_record.schema.json"
SCHEMA_ID = "https://imr-llm.invalid/schemas/determination_record.schema.json"


def record_json_schema() -> dict[str, Any]:
    """The schema of ``record.model_dump(mode="json")`` (serialisation mode: derived fields too)."""
    schema = DeterminationRecord.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_text() -> str:
    """The schema as the committed file holds it: stable key order, 2-space indent, newline."""
    return json.dumps(record_json_schema(), indent=2, sort_keys=True) + "\n"


def schema_path() -> Path:
    """Where the shipped schema file lives in this installation."""
    return data_dir("schemas") / SCHEMA_FILENAME


def source_schema_path() -> Path | None:
    """The committed schema file of the source checkout this code runs from, the only one
    ``imr-llm schema --write`` may regenerate; None in an installed package (writing there
    would change site-packages, and the next install would undo it)."""
    root = source_root()
    return None if root is None else root / "schemas" / SCHEMA_FILENAME
