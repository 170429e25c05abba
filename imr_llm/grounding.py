"""Ground values in the letter: every value a model gives must be found in the input text.

A model can produce a perfectly valid record that the letter does not say. These checks turn
that into a validation error with a precise message (which value, and that it is not in the
letter), so instructor re-asks instead of returning a plausible fabrication. Each grounded
value keeps its span in the input, for the metadata and for a person checking the record.

Short values are matched exactly or, for OCR'd text, fuzzily; dates must equal a date written
in the letter in any of its formats; states and specialties may be OCR-damaged in the text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .normalise import Document
from .rules.header import CASE_NUMBER_RE, find_case_number
from .rules.items import find_item_markers
from .rules.sections import Sections, find_sections
from .text import (
    CollapsedText,
    collapse_ws,
    iter_dates,
    ocr_pattern,
    parse_outcome,
    rationale_conclusion,
)

#: Minimum rapidfuzz partial-ratio for a short value to count as present in OCR'd text.
SHORT_VALUE_THRESHOLD = 90.0
STATE_THRESHOLD = 80.0

Span = tuple[int, int]


@dataclass
class LetterIndex:
    """Everything grounding needs to know about one letter, computed once per letter."""

    source: str
    view: CollapsedText
    dates: dict[dt.date, Span]
    case_numbers: dict[str, Span]
    outcome_markers: int | None
    items_start: int = 0  # collapsed offset where the disputed items begin, when known

    @classmethod
    def build(
        cls, source: str, doc: Document | None = None, sections: Sections | None = None
    ) -> LetterIndex:
        dates: dict[dt.date, Span] = {}
        for mention in iter_dates(source):
            dates.setdefault(mention.value, (mention.start, mention.end))
        case_numbers: dict[str, Span] = {}
        for m in CASE_NUMBER_RE.finditer(source):
            found = find_case_number(m.group(0))
            if found:
                case_numbers.setdefault(found[0], (m.start(), m.end()))
        markers = None
        view = CollapsedText(source)
        items_start = 0
        if doc is not None:
            sections = sections or find_sections(doc)
            if sections.items:
                markers = len(find_item_markers(doc, *sections.items)[0]) or None
                first = sections.items[0]
                if first < len(doc.lines):
                    # Passages are searched from here on: the summary may repeat a rationale.
                    items_start = len(collapse_ws(source[: doc.lines[first].start]))
        return cls(source, view, dates, case_numbers, markers, items_start)

    # -- lookups -------------------------------------------------------------------------------

    def find_phrase(
        self, value: str, threshold: float = SHORT_VALUE_THRESHOLD, start: int = 0
    ) -> Span | None:
        """Span of ``value`` in the letter: exact (case- and whitespace-insensitive) or fuzzy.

        The search begins at collapsed offset ``start`` and falls back to the whole letter.
        """
        needle = collapse_ws(value).lower()
        if not needle:
            return None
        for begin in dict.fromkeys((start, 0)):
            pos = self.view.lower.find(needle, begin)
            if pos >= 0:
                return self.view.to_source(pos, pos + len(needle))
            if len(needle) < 5:
                continue
            hit = fuzz.partial_ratio_alignment(needle, self.view.lower[begin:])
            if hit is not None and hit.score >= threshold:
                return self.view.to_source(begin + hit.dest_start, begin + hit.dest_end)
        return None

    def find_age(self, age: int) -> Span | None:
        """The age as written ("59 year old", "62-year-old") or OCR-damaged ("41 oe old")."""
        year, old = ocr_pattern("year").pattern, ocr_pattern("old").pattern
        pattern = rf"(?<!\d){age}\s*[- ]?\s*(?:{year}|yr|\S{{0,6}}\s*[- ]?\s*{old}\b)"
        m = re.search(pattern, self.view.text, re.IGNORECASE)
        return self.view.to_source(m.start(), m.end()) if m else None

    def find_case_number(self, value: str) -> tuple[Span | None, bool]:
        """The case number's span, and whether it matched only with one character different.

        OCR confuses digits (3/8, 1/7); one differing character in an otherwise identical case
        number is accepted, with a warning, rather than forcing the model to copy the damage.
        """
        if value in self.case_numbers:
            return self.case_numbers[value], False
        for written, span in self.case_numbers.items():
            if len(written) == len(value) and Levenshtein.distance(written, value) == 1:
                return span, True
        return None, False

    def find_sex(self, sex: str) -> Span | None:
        words = ("male", "man", "gentleman") if sex == "male" else ("female", "woman", "lady")
        alternatives = "|".join(ocr_pattern(w).pattern for w in words)
        m = re.search(rf"(?<![a-z])(?:{alternatives})(?![a-z])", self.view.text, re.IGNORECASE)
        return self.view.to_source(m.start(), m.end()) if m else None


@dataclass
class Grounding:
    """The outcome of grounding one record: spans found and problems, keyed by field path."""

    spans: dict[str, Span] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def need(self, path: str, span: Span | None, message: str) -> None:
        if span is None:
            self.errors.append(f"{path}: {message}")
        else:
            self.spans[path] = span


def ground_short_values(data: dict, index: LetterIndex, out: Grounding) -> None:
    """Check the record's short values against the letter. ``data`` is contract-shaped."""
    case = data.get("case_number")
    if case:
        span, approximate = index.find_case_number(case)
        out.need("case_number", span, f"{case!r} is not a case number written in the letter")
        if approximate:
            out.warnings.append("case_number: matched the letter with one character different")
    for key in ("date_assigned", "date_of_injury", "decision_date", "ur_denial_date",
                "application_received"):  # fmt: skip
        value = data.get(key)
        if value is None:
            continue
        when = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        out.need(
            key,
            index.dates.get(when),
            f"{when.isoformat()} is not a date written in the letter (in any format)",
        )
    if data.get("priority"):
        out.need(
            "priority",
            index.find_phrase(data["priority"], threshold=85),
            f"priority {data['priority']!r} is not stated in the letter",
        )
    reviewer = data.get("reviewer") or {}
    for k, state in enumerate(reviewer.get("licensure_states") or []):
        out.need(
            f"reviewer.licensure_states[{k}]",
            index.find_phrase(state, threshold=STATE_THRESHOLD),
            f"{state!r} is not named in the letter",
        )
    for k, specialty in enumerate(reviewer.get("specialties") or []):
        out.need(
            f"reviewer.specialties[{k}]",
            index.find_phrase(specialty, threshold=85),
            f"{specialty!r} is not in the letter; copy the specialty as written",
        )
    patient = data.get("patient") or {}
    if patient.get("age") is not None:
        out.need(
            "patient.age",
            index.find_age(int(patient["age"])),
            f"the letter does not give the age {patient['age']}",
        )
    if patient.get("sex"):
        out.need(
            "patient.sex",
            index.find_sex(patient["sex"]),
            f"the letter does not state the sex {patient['sex']!r} in words",
        )
    for k, item in enumerate(data.get("items") or []):
        for key in ("service", "original_request"):
            value = item.get(key)
            if value:
                out.need(
                    f"items[{k}].{key}",
                    index.find_phrase(value, start=index.items_start),
                    f"{collapse_ws(value)[:80]!r} is not in the letter; copy it as written",
                )


_AFTER_SERVICE = re.compile(r"\s*(?:is)?\s*[:;.,]?\s*([A-Za-z0-9]{4,14})")


def _marked_outcome(index: LetterIndex, service_span: Span | None) -> str | None:
    """The outcome word written right after an item's service ("...: Upheld"), if readable."""
    if service_span is None:
        return None
    m = _AFTER_SERVICE.match(index.source, service_span[1])
    return parse_outcome(m.group(1)) if m else None


def check_consistency(data: dict, index: LetterIndex, out: Grounding) -> None:
    """Outcomes agree with the letter; the item count agrees with its outcome markers.

    The outcome written after the service ("...: Upheld") is the letter's own answer and is
    checked first. Only when it cannot be read (OCR) is the outcome checked against the
    rationale's conclusion instead. Run after :func:`ground_short_values` (it uses the spans).
    """
    items = data.get("items") or []
    for k, item in enumerate(items):
        outcome = item.get("outcome")
        marked = _marked_outcome(index, out.spans.get(f"items[{k}].service"))
        if marked is not None:
            if marked != outcome:
                out.errors.append(
                    f"items[{k}].outcome: is {outcome!r} but the letter marks this item "
                    f"{marked.capitalize()!r}"
                )
            continue
        rationale = item.get("rationale")
        concluded = rationale_conclusion(rationale) if rationale else None
        if concluded is not None and concluded != outcome:
            meaning = "not medically necessary" if concluded == "upheld" else "medically necessary"
            out.errors.append(
                f"items[{k}].outcome: is {outcome!r} but its rationale concludes the "
                f"request is {meaning} (that is {concluded!r})"
            )
    markers = index.outcome_markers
    if markers is not None and markers > len(items):
        out.errors.append(
            f"items: the letter shows {markers} decided items (each ending ': Upheld' or "
            f"': Overturned') but the answer has {len(items)}"
        )
    elif markers is not None and markers < len(items):
        # OCR can hide a marker, so fewer markers than items is not proof of an error.
        out.warnings.append(
            f"items: {len(items)} items, but only {markers} outcome markers could be read"
        )
