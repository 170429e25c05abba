"""A page scanned askew or cropped (issue 14): its lines lose what stood beyond a column.

What is left of a value there reads whole ("Acute inpatient rehabilitation physical therap and
occupational therapy ..."; a header line that lost its last words reads as a shorter
service), so a cropped page is told by its lines: the longest all end at one column, several
inside a word. Every value reaching that edge is unverified, on both engines.
"""

from __future__ import annotations

import contextlib

import pytest

from imr_llm import extract
from imr_llm.evidence.check import _cut_inside_a_word
from imr_llm.rules import strict
from tests.test_evidence import A01, LABEL, check, quoted

_NOTE = "cropped scan"


def _cropped(text: str, short: int = 4) -> str:
    """``text`` with every line cut ``short`` columns before its longest line's end."""
    lines = text.split("\n")
    column = max(len(line.rstrip()) for line in lines) - short
    return "\n".join(line[:column] if len(line.rstrip()) > column else line for line in lines)


@pytest.mark.parametrize("fast", [True, False])
def test_values_at_a_cropped_pages_edge_are_flagged(fast: bool) -> None:
    text = _cropped(A01)
    assert "physical therapy" in A01 and text != A01
    with contextlib.nullcontext() if fast else strict.tolerant_only():
        record = extract(text, backend="rules")
    assert record.metadata is not None
    flagged = {
        path for path, found in record.metadata.evidence.items() if _NOTE in (found.note or "")
    }
    assert "items[0].rationale" in flagged
    assert record.metadata.needs_review
    # A value whose line the crop left whole where it stands is not: the age opens its line.
    assert "patient.age" not in flagged


def test_the_model_paths_values_there_are_flagged_too() -> None:
    checked = check(_cropped(A01), quoted(LABEL))
    notes = [found.note for found in checked.evidence.values() if _NOTE in (found.note or "")]
    assert notes
    assert checked.evidence["items[0].rationale"].status == "unverified"


def test_a_letter_as_printed_reads_as_no_cropped_page() -> None:
    record = extract(A01, backend="rules")
    assert record.metadata is not None
    assert not any(_NOTE in (found.note or "") for found in record.metadata.evidence.values())
    assert not record.metadata.needs_review


@pytest.mark.parametrize(
    ("line", "elsewhere", "cut"),
    [
        ("physical therap", "physical therapy twice a week", "therap"),
        ("the rehabilita", "inpatient rehabilitation", "rehabilita"),
        # a word of its own: another word is it with an ending
        ("and/or treat", "treatment to date", ""),
        ("and/or treat", "treatments to date", ""),
        ("the first item", "items", ""),
        ("is medically", "medically necessary", ""),  # printed elsewhere as it is
        ("therapy 2 times a", "about", ""),  # too short to tell
    ],
)
def test_a_line_ending_inside_a_word(line: str, elsewhere: str, cut: str) -> None:
    lowered = f"{line}\n{elsewhere}"
    assert _cut_inside_a_word(lowered, line.rsplit(" ", 1)[-1]) == cut
