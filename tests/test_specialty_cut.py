"""A specialty whose end the OCR lost ("Physical Medicine & Reh") is never a silent value.

Fax OCR can move the end of a wrapped specialty line elsewhere, leaving a value that reads
cleanly at its place yet is not a specialty. The rules engine completes it when exactly one
known specialty starts so: ``repaired`` on a letter OCR damaged, ``unverified`` on one
without OCR damage, where no OCR lost the end and a line was lost instead (its rest may be
another name's: "Public Health & General Preventive" / "[Medicine and Neurological]" /
"Surgery"). A model answer that copies the cut value is kept but flagged ``unverified``,
never ``exact``.
"""

from __future__ import annotations

import pytest

from imr_llm import extract
from imr_llm.form.vocabulary import cut_specialty
from tests.test_evidence import (
    check,
    expect_status,
    gold_label,
    gold_letter,
    quoted,
    with_value,
)

FULL = "Physical Medicine & Rehabilitation"
LETTER = gold_letter("gA03")
LABEL = gold_label("gA03")
CUT = LETTER.replace(f"Specialty: {FULL}", "Specialty: Physical Medicine & Reh,", 1)
#: The same cut in the letter as OCR read it (its mild OCR rendering).
OCR = gold_letter("gA03", "ocr")
OCR_CUT = OCR.replace(f"Specialty: {FULL}", "Specialty: Physical Medicine & Reh,", 1)


def test_the_gold_letter_names_the_full_specialty() -> None:
    assert f"Specialty: {FULL}" in LETTER and LABEL["reviewer"]["specialties"] == [FULL]
    assert CUT != LETTER


@pytest.mark.parametrize(("letter", "status"), [(OCR_CUT, "repaired"), (CUT, "unverified")])
def test_the_rules_engine_completes_a_cut_specialty_and_says_so(letter: str, status: str) -> None:
    assert letter not in (LETTER, OCR)
    record = extract(letter, backend="rules")
    assert record.reviewer.specialties == [FULL]
    assert record.metadata.evidence["reviewer.specialties[0]"].status == status


def test_a_model_copying_the_cut_value_is_flagged_not_exact() -> None:
    data = with_value(LABEL, "reviewer.specialties[0]", "Physical Medicine & Reh")
    checked = expect_status(CUT, data, "reviewer.specialties[0]", "unverified")
    assert "cut short" in checked.evidence["reviewer.specialties[0]"].note


def test_the_full_value_against_the_cut_line_is_repaired_only_through_ocr_damage() -> None:
    expect_status(OCR_CUT, LABEL, "reviewer.specialties[0]", "repaired")
    expect_status(CUT, LABEL, "reviewer.specialties[0]", "unverified")


def test_the_full_value_against_the_full_line_stays_exact() -> None:
    expect_status(LETTER, LABEL, "reviewer.specialties[0]", "exact")


def test_a_shortened_value_on_a_clean_line_is_not_exact() -> None:
    data = with_value(LABEL, "reviewer.specialties[0]", "Physical Medicine")
    checked = check(LETTER, quoted(data))
    assert checked.evidence["reviewer.specialties[0]"].status != "exact"


@pytest.mark.parametrize(
    ("name", "starts"),
    [
        ("Physical Medicine & Reh", [FULL]),
        ("Orthopaedic Surg", ["Orthopaedic Surgery"]),
        ("Internal Medicine", []),  # a specialty itself
        ("Psychiatry", []),
        ("Psych", []),  # too short to say
        ("Cardiothoracic", []),  # the start of no known specialty
    ],
)
def test_cut_specialty(name: str, starts: list[str]) -> None:
    assert cut_specialty(name) == starts
