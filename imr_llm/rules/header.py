"""Read the header table: case number, dates and priority.

Two shapes reach us. ``pdftotext -layout`` keeps each label beside its value
("Date Assigned:  11/09/2016   Date of Injury:  10/13/2016"); plain ``pdftotext`` prints all the
labels of a column, then all its values. In both, the date labels and the date values appear in
the same order, so the reader pairs them by order when their counts agree, and falls back to
same-line pairing (label, then the first date after it on its line) when they do not.
"""

from __future__ import annotations

import re

from ..normalise import Document
from ..text import best_word_match, iter_dates, ocr_pattern
from .findings import Findings

#: (contract field, label as printed). "Application" is printed apart from "Received:".
DATE_LABELS: tuple[tuple[str, str], ...] = (
    ("date_assigned", "Date Assigned"),
    ("date_of_injury", "Date of Injury"),
    ("decision_date", "Decision Date"),
    ("ur_denial_date", "UR Denial Date"),
    ("application_received", "Application"),
)
_CASE_LABEL = "Case Number"
_PRIORITY_LABEL = "Priority"

_DIGIT = "[0-9OIlSB]"
#: "CM16-0213037", and what OCR makes of it ("CN16-02l3037", "M16-0213037": a lost C).
CASE_NUMBER_RE = re.compile(
    rf"(?:\b[CG]\s?|\b)[MN]\s?({_DIGIT}{{2}})\s?[-\u2013\u2014~_.]\s?({_DIGIT}{{7}})(?!\d)"
)
_OCR_DIGITS = str.maketrans({"O": "0", "I": "1", "l": "1", "S": "5", "B": "8"})
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]{4,}")


def find_case_number(text: str) -> tuple[str, int, int] | None:
    """The first IMR case number in ``text``, repaired from OCR damage, with its span."""
    m = CASE_NUMBER_RE.search(text)
    if not m:
        return None
    year, serial = (g.translate(_OCR_DIGITS) for g in m.groups())
    return f"CM{year}-{serial}", m.start(), m.end()


def read_header(doc: Document, start: int, end: int) -> Findings:
    """Read the header lines ``[start, end)``; an empty region means a headerless letter."""
    out = Findings()
    lines = doc.lines[start:end]
    if not lines:
        return out
    base = lines[0].start
    # Work on the original text of the region so offsets are exact.
    text = doc.source[base : lines[-1].end]

    case_label = ocr_pattern(_CASE_LABEL).search(text)
    case = find_case_number(text)
    if case:
        out.put("case_number", case[0], (base + case[1], base + case[2]))
    elif case_label:
        out.missing.append("case_number")

    # --- dates -------------------------------------------------------------------------------
    labels: list[tuple[int, int, str]] = []  # (start, end, field)
    for field, label in DATE_LABELS:
        m = ocr_pattern(label).search(text)
        if m:
            labels.append((m.start(), m.end(), field))
    labels.sort()
    dates = [d for d in iter_dates(text) if not (case and case[1] <= d.start < case[2])]
    if labels:
        if len(labels) == len(dates):
            for (_, _, field), mention in zip(labels, dates, strict=True):
                out.put(field, mention.value, (base + mention.start, base + mention.end))
        else:
            _pair_by_line(text, base, labels, dates, out)

    # --- priority ----------------------------------------------------------------------------
    priority_label = ocr_pattern(_PRIORITY_LABEL).search(text)
    priority = None
    for m in _WORD.finditer(text):
        word = best_word_match(m.group(), ("standard", "expedited"), threshold=80)
        if word:
            priority = word
            out.put("priority", priority, (base + m.start(), base + m.end()))
            break
    if priority is None and priority_label:
        out.missing.append("priority")
    return out


def _pair_by_line(
    text: str, base: int, labels: list[tuple[int, int, str]], dates: list, out: Findings
) -> None:
    """Pair each label with the first date after it on the same line, before the next label."""
    for k, (_, label_end, field) in enumerate(labels):
        line_end = text.find("\n", label_end)
        line_end = len(text) if line_end < 0 else line_end
        next_label = labels[k + 1][0] if k + 1 < len(labels) else len(text)
        limit = min(line_end, next_label)
        mention = next((d for d in dates if label_end <= d.start < limit), None)
        if mention is None:
            out.missing.append(field)
        else:
            out.put(field, mention.value, (base + mention.start, base + mention.end))
