"""Read the expert reviewer's credentials in either of the two styles letters use.

Block style::

    State(s) of Licensure: California,North Carolina
    Certification(s)/Specialty: Preventive Medicine, Occupational Medicine, Public Health &
    General Preventive Medicine

Sentence style, inside the form paragraph: "The expert reviewer is Board Certified in
Occupational Medicine is licensed to practice in California."
"""

from __future__ import annotations

import re

from ..normalise import Document
from ..text import (
    collapse_ws,
    is_heading,
    match_label,
    ocr_pattern,
    split_specialties,
    split_states,
)
from .findings import Findings
from .sections import HEADING_SUMMARY

STATES_LABEL = "State(s) of Licensure"
SPECIALTY_LABEL = "Certification(s)/Specialty"

_BOARD = ocr_pattern("Board Certified in").pattern
_LICENSED = ocr_pattern("licensed to practice in").pattern
_AND, _IS = ocr_pattern("and").pattern, ocr_pattern("is").pattern
_SENTENCE_SPECIALTY_FIRST = re.compile(
    rf"{_BOARD}\s+(?P<spec>.+?),?\s+(?:{_AND}\s+)?(?:{_IS}\s+)?{_LICENSED}\s+"
    r"(?P<states>.+?)(?:\.(?:\s|$)|$)",
    re.IGNORECASE | re.DOTALL,
)
_SENTENCE_STATES_FIRST = re.compile(
    rf"{_LICENSED}\s+(?P<states>.+?),?\s+(?:{_AND}\s+)?(?:{_IS}\s+)?{_BOARD}\s+"
    r"(?P<spec>.+?)(?:\.(?:\s|$)|$)",
    re.IGNORECASE | re.DOTALL,
)


def _block_value(doc: Document, index: int, column: int, end: int) -> tuple[str, int, int]:
    """The label's value plus continuation lines (a wrapped specialty list)."""
    lines = doc.lines
    parts = [lines[index].text[column:]]
    last = index
    for j in range(index + 1, end):
        line = lines[j]
        if (
            line.blank
            or match_label(line.text, STATES_LABEL)
            or match_label(line.text, SPECIALTY_LABEL)
            or is_heading(line.text, HEADING_SUMMARY)
            or ":" in line.text
        ):
            break
        parts.append(line.text)
        last = j
    return " ".join(parts), doc.offset(index, column), lines[last].end


def read_reviewer(doc: Document, start: int, end: int) -> Findings:
    """Read licensure states and specialties from lines ``[start, end)``."""
    out = Findings()
    states_at = specialty_at = None
    for i in range(start, end):
        text = doc.lines[i].text
        if states_at is None and (hit := match_label(text, STATES_LABEL, threshold=75)):
            states_at = (i, hit.value_start)
        elif specialty_at is None and (hit := match_label(text, SPECIALTY_LABEL, threshold=75)):
            specialty_at = (i, hit.value_start)

    if states_at or specialty_at:
        if states_at:
            value, s, e = _block_value(doc, *states_at, end)
            _put_states(out, value, (s, e))
        else:
            out.missing.append("reviewer.licensure_states")
        if specialty_at:
            value, s, e = _block_value(doc, *specialty_at, end)
            _put_specialties(out, value, (s, e))
        else:
            out.missing.append("reviewer.specialties")
        return out

    if start >= end:
        out.missing.extend(["reviewer.licensure_states", "reviewer.specialties"])
        return out
    base = doc.lines[start].start
    region = doc.source[base : doc.lines[end - 1].end]
    m = _SENTENCE_SPECIALTY_FIRST.search(region) or _SENTENCE_STATES_FIRST.search(region)
    if not m:
        out.missing.extend(["reviewer.licensure_states", "reviewer.specialties"])
        return out
    _put_states(out, m.group("states"), (base + m.start("states"), base + m.end("states")))
    _put_specialties(out, m.group("spec"), (base + m.start("spec"), base + m.end("spec")))
    return out


def _put_states(out: Findings, value: str, span: tuple[int, int]) -> None:
    states, unknown = split_states(value)
    if unknown or not states:
        shown = ", ".join(repr(u) for u in unknown[:3])
        out.missing.append("reviewer.licensure_states")
        if unknown:
            out.warnings.append(f"unrecognised licensure state(s): {shown}")
        return
    out.put("reviewer.licensure_states", states, span)


def _put_specialties(out: Findings, value: str, span: tuple[int, int]) -> None:
    specialties = split_specialties(collapse_ws(value))
    if not specialties:
        out.missing.append("reviewer.specialties")
        return
    out.put("reviewer.specialties", specialties, span)
