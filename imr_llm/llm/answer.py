"""What the model fills in: short values typed out, long passages as anchors.

The model never re-types a guideline or a rationale. It quotes the first and last few words
("The MTUS supports ... not medically necessary."), and validation resolves them against the
letter text. Validation also grounds every short value in the letter and checks the outcomes
against the rationales. Any failure is a pydantic validation error whose message says exactly
what is wrong, which instructor sends back to the model for another attempt.

The letter that validation checks against is passed through a context variable rather than
instructor's ``context=`` argument: instructor renders messages as Jinja templates whenever a
context is given, and letter text must never be interpreted as a template.
"""

from __future__ import annotations

import datetime as dt
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from ..anchors import AnchorError, ResolvedPassage, resolve_anchor, split_quote
from ..grounding import Grounding, LetterIndex, check_consistency, ground_short_values
from ..models import DeterminationRecord
from ..text import match_label, ocr_pattern

ANCHOR_WORDS_HINT = "4 to 6 words"


@dataclass
class LetterContext:
    """The letter an answer is validated against, and what validation found."""

    index: LetterIndex
    record: DeterminationRecord | None = None
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


CURRENT_LETTER: ContextVar[LetterContext | None] = ContextVar("imr_llm_letter", default=None)


#: A passage of the letter, quoted by its first and last words.
AnchorQuote = Annotated[
    str,
    Field(
        description=f"The passage's first {ANCHOR_WORDS_HINT}, then ' ... ', then its last "
        f"{ANCHOR_WORDS_HINT}, copied exactly from the letter (without the label before it). "
        "Quote a passage of 12 words or fewer whole.",
        min_length=1,
    ),
]


class ItemAnswer(BaseModel):
    """One disputed item, in letter order."""

    model_config = ConfigDict(hide_input_in_errors=True)

    service: str = Field(
        description="The item as the letter names it right before ': Upheld' / ': Overturned'. "
        "For a partly certified request ('X was the original request. ... The remaining IMR "
        "eligible portion of the original request, Z is: Upheld') it is Z."
    )
    original_request: str | None = Field(
        default=None, description="X in the sentence above; null for ordinary items."
    )
    outcome: Literal["upheld", "overturned"]
    claims_administrator_guideline: AnchorQuote | None = Field(
        description="The text after 'Claims Administrator guideline:'. Null when it says the "
        "Claims Administrator did not cite any medical evidence."
    )
    maximus_guideline: AnchorQuote | None = Field(
        description="The text after 'MAXIMUS guideline:'."
    )
    rationale: AnchorQuote = Field(
        description="The text after 'Decision rationale:' up to the next item (or the end)."
    )


class LetterAnswer(BaseModel):
    """The determination letter's values. Use null for anything the letter does not state."""

    model_config = ConfigDict(hide_input_in_errors=True)

    case_number: str | None = Field(
        default=None, description="CM + 2 digits + '-' + 7 digits; null if the letter has none."
    )
    date_assigned: dt.date | None = Field(default=None, description="Header 'Date Assigned'.")
    date_of_injury: dt.date | None = Field(
        default=None,
        description="Header 'Date of Injury', or the summary's injury date when no header.",
    )
    decision_date: dt.date | None = Field(default=None, description="Header 'Decision Date'.")
    ur_denial_date: dt.date | None = Field(default=None, description="Header 'UR Denial Date'.")
    application_received: dt.date | None = Field(
        default=None, description="Header 'Application Received'."
    )
    priority: Literal["standard", "expedited"] | None = None
    licensure_states: list[str] = Field(
        default_factory=list, description="Full US state names where the reviewer is licensed."
    )
    specialties: list[str] = Field(
        default_factory=list,
        description="Reviewer's certifications/specialties, one per comma-separated name.",
    )
    patient_age: int | None = Field(default=None, description="Age in years if stated.")
    patient_sex: Literal["male", "female"] | None = Field(
        default=None, description="Only if stated in words (male/female/man/woman)."
    )
    items: list[ItemAnswer] = Field(min_length=1, description="Every disputed item, in order.")

    _record: DeterminationRecord | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _ground_in_letter(self) -> LetterAnswer:
        context = CURRENT_LETTER.get()
        if context is None:
            return self  # validated outside an extraction (schema checks, tests of the shape)
        record, grounding = answer_to_record(self, context.index)
        context.record = record
        context.spans = grounding.spans
        context.warnings = grounding.warnings
        self._record = record
        return self


#: A label inside a resolved passage means the passage ran into the next part of the letter.
_LABEL_INSIDE = re.compile(
    "|".join(
        ocr_pattern(label).pattern + r"\s*[:;]"
        for label in ("Claims Administrator guideline", "MAXIMUS guideline", "Decision rationale")
    ),
    re.IGNORECASE,
)
_PASSAGES = (
    ("claims_administrator_guideline", "Claims Administrator guideline"),
    ("maximus_guideline", "MAXIMUS guideline"),
    ("rationale", "Decision rationale"),
)


def _resolve_item(
    index: LetterIndex, item: ItemAnswer, k: int, cursor: int, earliest: bool
) -> tuple[dict[str, str | None], Grounding, int]:
    """Resolve one item's quoted passages in letter order, starting at ``cursor``."""
    found = Grounding()
    texts: dict[str, str | None] = {}
    for key, label in _PASSAGES:
        quote = getattr(item, key)
        if quote is None:
            texts[key] = None
            continue
        path = f"items[{k}].{key}"
        first, last = split_quote(quote)
        try:
            passage: ResolvedPassage = resolve_anchor(
                index.view, first, last, cursor, earliest=earliest
            )
        except AnchorError as exc:
            found.errors.append(f"{path}: {exc}")
            texts[key] = None
            continue
        text = passage.text
        hit = match_label(text, label)
        if hit:  # the model quoted the label too; the record keeps only what follows it
            text = text[hit.value_start :].strip()
        crossed = _LABEL_INSIDE.search(text)
        if crossed:
            # The last words matched too far on (letters repeat endings such as "is not
            # medically necessary."): the passage would swallow the next part of the letter.
            found.errors.append(
                f"{path}: the quote runs past the label {crossed.group(0)!r}; its last words "
                "must come from the same passage as its first words"
            )
            texts[key] = None
            continue
        found.spans[path] = (passage.start, passage.end)
        if passage.fuzzy:
            found.warnings.append(f"{path}: quote matched OCR-damaged text approximately")
        texts[key] = text or None
        cursor = passage.collapsed_end
    return texts, found, cursor


def answer_to_record(
    answer: LetterAnswer, index: LetterIndex
) -> tuple[DeterminationRecord, Grounding]:
    """Resolve anchors, ground values, check consistency, and build the record.

    Raises ValueError listing every problem, one per line, so a single re-ask can fix them all.
    """
    grounding = Grounding()
    items: list[dict[str, Any]] = []
    cursor = index.items_start
    for k, item in enumerate(answer.items):
        texts, found, end = _resolve_item(index, item, k, cursor, earliest=False)
        if found.errors:
            # Letters repeat wording (a guideline's first words, identical rationales): an
            # exact match further on may have hidden the OCR-damaged one meant. Try again
            # taking the earliest acceptable match for each passage.
            retry = _resolve_item(index, item, k, cursor, earliest=True)
            if not retry[1].errors:
                texts, found, end = retry
        grounding.errors.extend(found.errors)
        grounding.spans.update(found.spans)
        grounding.warnings.extend(found.warnings)
        cursor = end
        items.append(
            {
                "service": item.service,
                "original_request": item.original_request,
                "outcome": item.outcome,
                **texts,
            }
        )
    data: dict[str, Any] = {
        "case_number": answer.case_number,
        "date_assigned": answer.date_assigned,
        "date_of_injury": answer.date_of_injury,
        "decision_date": answer.decision_date,
        "ur_denial_date": answer.ur_denial_date,
        "application_received": answer.application_received,
        "priority": answer.priority,
        "reviewer": {
            "licensure_states": answer.licensure_states,
            "specialties": answer.specialties,
        },
        "patient": {"age": answer.patient_age, "sex": answer.patient_sex},
        "items": items,
    }
    ground_short_values(data, index, grounding)
    check_consistency(data, index, grounding)
    if any(item["rationale"] is None for item in items) and not grounding.errors:
        grounding.errors.append("items: every item needs a rationale")
    if grounding.errors:
        raise ValueError("\n".join(grounding.errors))
    try:
        record = DeterminationRecord.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ValueError("\n".join(problems)) from None
    return record, grounding
