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

from .normalise import Document
from .rules.header import CASE_NUMBER_RE, find_case_number
from .rules.items import find_item_markers
from .rules.sections import Sections, find_sections
from .text import CollapsedText, collapse_ws, iter_dates, rationale_conclusion

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
        if doc is not None:
            sections = sections or find_sections(doc)
            if sections.items:
                markers = len(find_item_markers(doc, *sections.items)[0]) or None
        return cls(source, CollapsedText(source), dates, case_numbers, markers)

    # -- lookups -------------------------------------------------------------------------------

    def find_phrase(self, value: str, threshold: float = SHORT_VALUE_THRESHOLD) -> Span | None:
        """Span of ``value`` in the letter: exact (case- and whitespace-insensitive) or fuzzy."""
        needle = collapse_ws(value).lower()
        if not needle:
            return None
        pos = self.view.lower.find(needle)
        if pos >= 0:
            return self.view.to_source(pos, pos + len(needle))
        if len(needle) < 5:
            return None
        hit = fuzz.partial_ratio_alignment(needle, self.view.lower)
        if hit is not None and hit.score >= threshold:
            return self.view.to_source(hit.dest_start, hit.dest_end)
        return None

    def find_age(self, age: int) -> Span | None:
        m = re.search(rf"(?<!\d){age}\s*[- ]?\s*(?:year|yr)", self.view.text, re.IGNORECASE)
        return self.view.to_source(m.start(), m.end()) if m else None

    def find_sex(self, sex: str) -> Span | None:
        words = r"male|man|gentleman" if sex == "male" else r"female|woman|lady"
        m = re.search(rf"\b(?:{words})\b", self.view.text, re.IGNORECASE)
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
        out.need(
            "case_number",
            index.case_numbers.get(case),
            f"{case!r} is not a case number written in the letter",
        )
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
                    index.find_phrase(value),
                    f"{collapse_ws(value)[:80]!r} is not in the letter; copy it as written",
                )


def check_consistency(data: dict, index: LetterIndex, out: Grounding) -> None:
    """Outcomes agree with their rationales; the item count agrees with the letter's markers."""
    items = data.get("items") or []
    for k, item in enumerate(items):
        rationale = item.get("rationale")
        if not rationale:
            continue
        concluded = rationale_conclusion(rationale)
        if concluded is not None and concluded != item.get("outcome"):
            meaning = "not medically necessary" if concluded == "upheld" else "medically necessary"
            out.errors.append(
                f"items[{k}].outcome: is {item.get('outcome')!r} but its rationale concludes the "
                f"request is {meaning} (that is {concluded!r})"
            )
    if index.outcome_markers is not None and index.outcome_markers != len(items):
        out.errors.append(
            f"items: the letter shows {index.outcome_markers} decided items (each ending "
            f"': Upheld' or ': Overturned') but the answer has {len(items)}"
        )
