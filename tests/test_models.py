"""The record models: contract shape, meaningful validation, derived fields."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from imr_llm import DeterminationRecord
from imr_llm.record.models import CONTRACT_FIELDS, ITEM_CONTRACT_FIELDS
from imr_llm.record.validation import date_order_warnings
from tests.conftest import CORPUS, requires_corpus

MINIMAL = {
    "case_number": "CM16-0213037",
    "date_assigned": "2016-11-09",
    "date_of_injury": "2016-10-13",
    "decision_date": "2016-12-09",
    "ur_denial_date": "2016-11-03",
    "application_received": "2016-11-03",
    "priority": "standard",
    "reviewer": {"licensure_states": ["California"], "specialties": ["Family Practice"]},
    "patient": {"age": 48, "sex": "male"},
    "items": [
        {
            "service": "MRI of the right shoulder",
            "original_request": None,
            "outcome": "upheld",
            "claims_administrator_guideline": None,
            "maximus_guideline": "Decision based on MTUS.",
            "rationale": "Not   medically\nnecessary.",
        }
    ],
}


def with_(path: str, value: object) -> dict:
    data = json.loads(json.dumps(MINIMAL))
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    target[keys[-1]] = value
    return data


def test_dump_has_contract_keys_and_contract_dict_is_exact() -> None:
    record = DeterminationRecord.model_validate(MINIMAL)
    dumped = record.model_dump(mode="json")
    assert list(dumped)[: len(CONTRACT_FIELDS)] == list(CONTRACT_FIELDS)
    assert dumped["items"][0]["medically_necessary"] is False
    contract = record.contract_dict()
    assert list(contract) == list(CONTRACT_FIELDS)
    assert list(contract["items"][0]) == list(ITEM_CONTRACT_FIELDS)
    assert contract["items"][0]["rationale"] == "Not medically necessary."


def test_round_trip_through_json() -> None:
    record = DeterminationRecord.model_validate(MINIMAL)
    again = DeterminationRecord.model_validate_json(record.model_dump_json())
    assert again.contract_dict() == record.contract_dict()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("case_number", "CM16-213037"),
        ("case_number", "XX16-0213037"),
        ("date_assigned", "2016-02-30"),
        ("decision_date", "0001-01-01"),
        ("priority", "urgent"),
        ("items.0.outcome", "denied"),
        ("items.0.service", "   "),
        ("items.0.rationale", ""),
        ("patient.age", 430),
        ("patient.sex", "he"),
        ("reviewer.licensure_states", ["Narnia"]),
        ("items", []),
    ],
)
def test_invalid_values_are_rejected(path: str, value: object) -> None:
    with pytest.raises(ValidationError):
        DeterminationRecord.model_validate(with_(path, value))


def test_states_are_canonicalised_and_outcome_case_folded() -> None:
    data = with_("reviewer.licensure_states", ["Califomia", "north carolina"])
    data["items"][0]["outcome"] = "Overturned"
    record = DeterminationRecord.model_validate(data)
    assert record.reviewer.licensure_states == ["California", "North Carolina"]
    assert record.items[0].medically_necessary is True


def test_date_order_warnings_name_both_dates() -> None:
    record = DeterminationRecord.model_validate(with_("decision_date", "2016-11-01"))
    warnings = date_order_warnings(record)
    assert warnings == [
        "date order: date_assigned 2016-11-09 is after decision_date 2016-11-01",
        "date order: application_received 2016-11-03 is after decision_date 2016-11-01",
    ]
    assert date_order_warnings(DeterminationRecord.model_validate(MINIMAL)) == []


@requires_corpus
def test_every_corpus_label_validates_and_round_trips() -> None:
    for path in sorted((CORPUS / "labels").glob("*.json")):
        label = json.loads(path.read_text())
        record = DeterminationRecord.model_validate(label)
        assert record.contract_dict() == label, path.name
