"""The gold set: labels are valid records, and the rules engine reads the clean letters exactly.

The labels are written by hand (see eval/gold/README.md), never produced by an engine, so this
is an honest check of the rules engine against the project's own letters, the 5 seeds among
them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imr_llm import DeterminationRecord, extract
from tests.conftest import GOLD

LABELS = sorted((GOLD / "labels").glob("*.json"))


def _letter(label: Path) -> str:
    return (GOLD / "letters" / f"{label.stem}.txt").read_text(encoding="utf-8")


def test_gold_set_has_seeds_and_written_letters() -> None:
    names = {p.stem for p in LABELS}
    assert {f"seed-00{k}" for k in range(5)} <= names
    assert len(names) >= 35


@pytest.mark.parametrize("label", LABELS, ids=lambda p: p.stem)
def test_label_is_a_valid_contract_record(label: Path) -> None:
    data = json.loads(label.read_text(encoding="utf-8"))
    assert DeterminationRecord.model_validate(data).contract_dict() == data


@pytest.mark.parametrize("label", LABELS, ids=lambda p: p.stem)
def test_rules_engine_reads_clean_gold_letter_exactly(label: Path) -> None:
    expected = json.loads(label.read_text(encoding="utf-8"))
    assert extract(_letter(label), backend="rules").contract_dict() == expected
