"""Letters whose paragraphs were re-filled read as the letters they were (imr_llm.form.relayout).

Expected values are the ones the test letters were written with (tests/letters.py), never the
engine's output on the clean text.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from imr_llm import extract
from imr_llm.eval.damage import reflow
from imr_llm.eval.scoring import score_record
from imr_llm.form.relayout import relayout
from tests.conftest import SHARED, requires_corpus
from tests.letters import ITEM_ONE, RAW_HEADER, Letter

PARTIAL = (
    "Chiropractic manipulation for the neck and back 12 visits was the original request.\n"
    "Chiropractic manipulation 6 visits was authorized by the Claims Administrator. The\n"
    "remaining IMR eligible portion of the original request, chiropractic manipulation 6 visits\n"
    "is: Upheld\n\n"
    "Claims Administrator guideline: Decision based on MTUS Chronic Pain Medical Treatment\n"
    "2016.\n\n"
    "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s):\n"
    "Manual therapy & manipulation.\n\n"
    "Decision rationale: Six visits were certified and no improvement is documented. The request\n"
    "is not medically necessary.\n"
)
WRAPPED_DOS = (
    "Retrospective request for Lidoderm 5% patches, quantity 30, DOS:\n"
    "11/14/2016: Upheld\n\n"
    "Claims Administrator guideline: Decision based on MTUS Chronic Pain Medical Treatment\n"
    "2016.\n\n"
    "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s):\n"
    "Lidoderm.\n\n"
    "Decision rationale: Lidoderm is for localized neuropathic pain after a trial of first-line\n"
    "therapy, which is not documented. The request is not medically necessary.\n"
)


def _check(record, letter_items: int) -> None:
    assert record.case_number == "CM18-0101234"
    assert record.date_assigned == dt.date(2018, 3, 14)
    assert record.date_of_injury == dt.date(2015, 7, 2)
    assert record.decision_date == dt.date(2018, 4, 20)
    assert record.ur_denial_date == dt.date(2018, 2, 27)
    assert record.application_received == dt.date(2018, 3, 9)
    assert record.priority == "standard"
    assert record.reviewer.licensure_states == ["California", "Nevada"]
    assert record.reviewer.specialties == ["Orthopaedic Surgery"]
    assert (record.patient.age, record.patient.sex) == (52, "female")
    assert len(record.items) == letter_items


@pytest.mark.parametrize("width", [40, 60, 79, 100, 140])
@pytest.mark.parametrize("header", ["layout", "raw"])
def test_refilled_letter_reads_as_printed(width: int, header: str) -> None:
    letter = Letter(header=RAW_HEADER if header == "raw" else Letter().header)
    record = extract(reflow(str(letter), width), backend="rules")
    _check(record, 2)
    assert record.items[0].service == "Hinged knee brace, left"
    assert record.items[1].service == (
        "Physical therapy twice a week for four weeks for the lumbar spine"
    )
    assert [i.outcome for i in record.items] == ["upheld", "overturned"]
    assert record.items[0].rationale == (
        "The guidelines support a brace for instability only. The records show a stable knee. "
        "The request is not medically necessary."
    )
    assert record.items[1].claims_administrator_guideline is None
    assert not record.metadata.needs_review, record.metadata.review_reasons


@pytest.mark.parametrize("width", [50, 60, 100])
def test_refilled_without_blank_lines(width: int) -> None:
    """A re-filled letter that lost its blank lines too: item headers follow the previous
    rationale's last sentence on the same line."""
    text = reflow(str(Letter(items=[ITEM_ONE, PARTIAL, WRAPPED_DOS])), width)
    text = "\n".join(line for line in text.split("\n") if line.strip())
    record = extract(text, backend="rules")
    _check(record, 3)
    partial = record.items[1]
    assert partial.original_request == ("Chiropractic manipulation for the neck and back 12 visits")
    assert partial.service == "chiropractic manipulation 6 visits"
    assert record.items[2].service == (
        "Retrospective request for Lidoderm 5% patches, quantity 30, DOS: 11/14/2016"
    )
    assert not record.metadata.needs_review, record.metadata.review_reasons


def test_header_whose_last_line_is_the_date_of_service() -> None:
    """'..., DOS:' then '11/14/2016: Upheld': the colon wraps the header (issue 14 class 6)."""
    record = extract(str(Letter(items=[ITEM_ONE, WRAPPED_DOS])), backend="rules")
    assert record.items[1].service == (
        "Retrospective request for Lidoderm 5% patches, quantity 30, DOS: 11/14/2016"
    )


def test_relayout_rewrites_only_whitespace() -> None:
    text = reflow(str(Letter(header=RAW_HEADER, items=[ITEM_ONE, PARTIAL])), 60)
    out = relayout(text)
    assert out != text
    assert len(out) == len(text)
    assert all(a == b or (a.isspace() and b.isspace()) for a, b in zip(text, out, strict=True))


def test_letters_as_printed_are_left_alone() -> None:
    for letter in (Letter(), Letter(header=RAW_HEADER), Letter(items=[ITEM_ONE, PARTIAL])):
        text = str(letter)
        assert relayout(text) is text


@requires_corpus
@pytest.mark.parametrize("rendering", ["text-layout", "text-raw", "text-ocr", "text-ocrfax"])
def test_corpus_renderings_are_left_alone(rendering: str) -> None:
    """Real letters as pdftotext and OCR give them already sit in the form's lines: relayout
    changes nothing on any of them (no risk to what reads today)."""
    changed = []
    for folder in ("corpus", "corpus-more"):
        for path in sorted((SHARED / folder / rendering).glob("*.txt")):
            text = path.read_text()
            if relayout(text) is not text:
                changed.append(path.stem)
    assert not changed


@requires_corpus
@pytest.mark.parametrize("width", [60, 100])
@pytest.mark.parametrize("rendering", ["text-layout", "text-raw"])
def test_refilled_corpus_letters(width: int, rendering: str) -> None:
    """Every real letter, re-filled, gives its label's record (clean renderings: every value
    must be right, not just flagged)."""
    wrong = []
    for folder in ("corpus", "corpus-more"):
        for label in sorted((SHARED / folder / "labels").glob("*.json")):
            text = (SHARED / folder / rendering / f"{label.stem}.txt").read_text()
            record = extract(reflow(text, width), backend="rules")
            score = score_record(record.model_dump(mode="json"), json.loads(label.read_text()))
            if not score.all_right:
                wrong.append((label.stem, score.diffs[:2]))
    assert not wrong
