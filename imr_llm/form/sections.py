"""Find the letter's sections: header table, credentials, case summary, disputed items.

Every IMR letter follows the same form: an optional header table, then the headings
"HOW THE IMR FINAL DETERMINATION WAS MADE", "CLINICAL CASE SUMMARY" and
"IMR ISSUES, DECISIONS AND RATIONALES". The headings are matched fuzzily because OCR garbles
them; when one is lost entirely, a phrase from the form text that follows it stands in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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


#: How a closing block after the last rationale opens: a sign-off, a copy list, an e-mail
#: signature or a forwarded message's rule, appeal rights. The letters of the corpora end with
#: their last rationale; a copy kept by a claims office or sent on by e-mail may not.
_CLOSING = re.compile(
    r"\s*(?:(?:sincerely|respectfully(?:\s+yours)?|(?:best\s+|kind\s+)?regards|yours\s+(?:truly|"
    r"sincerely)|thank\s+you)\s*[,.]?\s*$|c\.?c\.?\s*:|enclosures?\s*:|--\s*$|-{2,}\s*(?:original|"
    r"forwarded)\s+message|if\s+you\s+(?:disagree|have\s+(?:any\s+)?questions)|should\s+you\s+"
    r"have|please\s+(?:do\s+not\s+hesitate\s+to\s+)?contact|for\s+(?:any\s+)?questions)",
    re.IGNORECASE,
)
#: A line an item starts or holds: a passage label or an outcome marker. A closing block is
#: looked for only after the last of them.
ITEM_LINE = re.compile(r"rationale\s*:|guideline\s*:|[:;]\s*(?:upheld|overturned)\b", re.I)
#: How many lines from the letter's end a closing block is looked for in.
_CLOSING_REACH = 40


def closing_start(texts: Sequence[str], start: int, stop: int) -> int:
    """Where the letter's closing block starts among lines ``[start, stop)`` of ``texts``, or
    ``stop``: the earliest line after the last item line (:data:`ITEM_LINE`) that opens one
    (:data:`_CLOSING`, :func:`_opens`). What follows the last rationale there is no part of
    it; a closing block is not a sentence's end, so the earliest opener is taken, not one
    after a full stop (a rationale whose last full stop is lost would take the block's
    first sentence along)."""
    found = stop
    for i in range(stop - 1, max(start, stop - _CLOSING_REACH) - 1, -1):
        text = texts[i]
        if not text.strip():
            continue
        if (":" in text or ";" in text) and ITEM_LINE.search(text):
            break  # (every item line holds a colon or a semicolon)
        if i > start and _CLOSING.match(text) and _opens(text):
            found = i
    return found


def _opens(text: str) -> bool:
    """Whether a line matching :data:`_CLOSING` may open a block: it starts with a capital,
    a copy list's "cc:" or a signature's "--" (a sentence of the rationale running on from
    the line before starts in lower case)."""
    core = text.lstrip()
    return core[:1].isupper() or core[:2].lower() in ("cc", "c.", "--")


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
        items_range = (first, closing_start([line.text for line in doc.lines], first, n))

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
