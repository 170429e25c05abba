"""Find the letter's sections: header table, credentials, case summary, disputed items.

Every IMR letter follows the same form: an optional header table, then the headings
"HOW THE IMR FINAL DETERMINATION WAS MADE", "CLINICAL CASE SUMMARY" and
"IMR ISSUES, DECISIONS AND RATIONALES". The headings are matched fuzzily because OCR garbles
them; when one is lost entirely, a phrase from the form text that follows it stands in.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..inputs.normalise import Document
from .text import contains_phrase, is_heading

HEADING_DETERMINATION = "HOW THE IMR FINAL DETERMINATION WAS MADE"
HEADING_SUMMARY = "CLINICAL CASE SUMMARY"
HEADING_ISSUES = "IMR ISSUES, DECISIONS AND RATIONALES"

# Form sentences that follow each heading; used when the heading itself is unreadable.
_DETERMINATION_FALLBACK = "sent the complete case file to an expert reviewer"
_SUMMARY_FALLBACK = "developed the following clinical case summary"
_ISSUES_FALLBACK = "decisions for the disputed items"
_ITEMS_INTRO = "set forth below"


#: How many lines at a letter's top are taken for its header where no heading ends it.
HEADER_LINES = 12


@dataclass(frozen=True, slots=True)
class Sections:
    """Line-index ranges ``[start, end)`` of each part of the letter; None when not found."""

    header: tuple[int, int]
    credentials: tuple[int, int] | None
    summary: tuple[int, int] | None
    items: tuple[int, int] | None
    found: tuple[str, ...]


def _find(doc: Document, heading: str, fallback: str, start: int = 0) -> tuple[int, bool] | None:
    """Index of the heading line (True) or of its fallback sentence (False)."""
    lines = doc.lines
    for i in range(start, len(lines)):
        if is_heading(lines[i].text, heading):
            return i, True
    for i in range(start, len(lines)):
        if contains_phrase(lines[i].text, fallback):
            return i, False
    return None


def find_sections(doc: Document) -> Sections:
    """Locate the sections. Never raises: the engine decides what a missing section means."""
    n = len(doc.lines)
    found: list[str] = []

    determination = _find(doc, HEADING_DETERMINATION, _DETERMINATION_FALLBACK)
    det_index = None
    if determination:
        found.append("determination heading")
        det_index = determination[0] if determination[1] else max(determination[0] - 1, 0)

    summary = _find(doc, HEADING_SUMMARY, _SUMMARY_FALLBACK, det_index or 0)
    sum_index = None
    if summary:
        found.append("case summary heading")
        sum_index = summary[0] if summary[1] else max(summary[0] - 1, 0)

    issues = _find(doc, HEADING_ISSUES, _ISSUES_FALLBACK, sum_index or det_index or 0)
    items_range = None
    iss_index = None
    if issues:
        found.append("issues heading")
        iss_index = issues[0]
        first = iss_index if not issues[1] else iss_index + 1
        # Skip the form sentence "... set forth below:" (it may wrap in raw text).
        for j in range(first, min(first + 4, n)):
            if contains_phrase(doc.lines[j].text, _ITEMS_INTRO):
                first = j + 1
                break
        items_range = (first, n)

    first_heading = min(
        (i for i in (det_index, sum_index, iss_index) if i is not None),
        default=min(n, HEADER_LINES),
    )
    header = (0, first_heading)
    credentials = None
    if det_index is not None:
        credentials = (det_index, sum_index if sum_index is not None else min(det_index + 25, n))
    summary_range = None
    if sum_index is not None:
        summary_range = (sum_index + 1, iss_index if iss_index is not None else n)
    return Sections(header, credentials, summary_range, items_range, tuple(found))
