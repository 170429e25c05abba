"""What the model fills in: short values typed out, long passages as anchors.

The model never re-types a guideline or a rationale. It quotes the first and last few words
("The MTUS supports ... not medically necessary."), and validation checks every value at its
own place in the letter (:mod:`imr_llm.evidence`): each quote must open and close the passage
between its label and the next, and becomes the letter's own text there. A value that
contradicts readable text at its place is a pydantic validation error whose message says
exactly what is wrong, which instructor sends back to the model for another attempt; a value
whose place is unreadable is accepted as unverified, since no re-ask can fix a scan.

The letter that validation checks against is passed through a context variable rather than
instructor's ``context=`` argument: instructor renders messages as Jinja templates whenever a
context is given, and letter text must never be interpreted as a template.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..evidence.anchors import AnchorError, resolve_anchor, split_quote
from ..evidence.check import check_values
from ..evidence.common import Checked
from ..form import DATE_FIELDS, ItemPlace, LetterForm
from ..form.text import CollapsedText, canonical_state, collapse_ws
from .normalise_answer import answer_date, answer_json, normalise_answer

ANCHOR_WORDS_HINT = "4 to 6 words"


@dataclass
class Candidate:
    """One answer's values (passages resolved to the letter's text) and their evidence."""

    data: dict[str, Any]
    checked: Checked
    invalid: list[str] = field(default_factory=list)  # problems no record can carry


@dataclass
class LetterContext:
    """The letter an answer is validated against, and what validation found.

    ``accepted`` is the answer that passed; ``best`` the answer with the fewest problems so far,
    which becomes a record flagged for review when the attempts run out.
    """

    form: LetterForm
    view: CollapsedText = field(init=False)
    accepted: Candidate | None = None
    best: Candidate | None = None
    #: The answer's item indices in letter order, when the answer being validated listed its
    #: items in another order (set by the answer's normalising step, for the re-ask message).
    item_order: list[int] | None = None

    def __post_init__(self) -> None:
        self.view = CollapsedText(self.form.doc.source)

    @property
    def item_places(self) -> list[ItemPlace]:
        return self.form.items.items if self.form.items is not None else []

    def offer(self, candidate: Candidate) -> None:
        def cost(c: Candidate) -> tuple[int, int]:
            return (len(c.invalid), len(c.checked.errors))

        if self.best is None or cost(candidate) <= cost(self.best):
            self.best = candidate


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

    @classmethod
    def model_validate_json(cls, json_data: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Parse an answer's text: the JSON object in it, when prose or a fence surround it
        (instructor hands every mode's answer text here, online and in a batch)."""
        return super().model_validate_json(answer_json(json_data), **kwargs)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        """Values of the same meaning in their canonical form, items in the letter's order
        (:mod:`imr_llm.llm.normalise_answer`); the checks below then judge them as ever."""
        context = CURRENT_LETTER.get()
        if context is None:
            return normalise_answer(data)
        context.item_order = None

        def reordered(order: list[int]) -> None:
            context.item_order = order

        return normalise_answer(data, context.item_places, reordered)

    @field_validator(*DATE_FIELDS, mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        return answer_date(value)

    @model_validator(mode="after")
    def _check_in_letter(self) -> LetterAnswer:
        context = CURRENT_LETTER.get()
        if context is None:
            return self  # validated outside an extraction (schema checks, tests of the shape)
        candidate = answer_to_candidate(self, context)
        context.offer(candidate)
        problems = [*candidate.invalid, *candidate.checked.errors]
        if problems:
            order = context.item_order
            if order is not None and any(p.startswith("items") for p in problems):
                given = ", ".join(str(k) for k in order)
                problems.insert(0, f"items: the answer lists the letter's items in another "
                                f"order; they are checked and numbered below in the letter's "
                                f"order, which is the answer's items[{given}]")  # fmt: skip
            raise ValueError("\n".join(problems))
        context.accepted = candidate
        return self


def _resolver(context: LetterContext) -> Callable[[str, int, int], Any]:
    """Locate a quote between two source offsets (for a passage whose label is unreadable)."""
    view = context.view

    def resolve(quote: str, start: int, end: int) -> tuple[str, tuple[int, int]] | None:
        lo = len(collapse_ws(view.source[:start]))
        hi = len(collapse_ws(view.source[:end])) + 1
        first, last = split_quote(quote)
        try:
            passage = resolve_anchor(view, first, last, lo, min(hi, len(view.text)))
        except AnchorError:
            return None
        return passage.text, (passage.start, passage.end)

    return resolve


def answer_data(answer: LetterAnswer) -> dict[str, Any]:
    """The answer in the record contract's shape (passages still quotes)."""
    return {
        "case_number": answer.case_number,
        "date_assigned": answer.date_assigned,
        "date_of_injury": answer.date_of_injury,
        "decision_date": answer.decision_date,
        "ur_denial_date": answer.ur_denial_date,
        "application_received": answer.application_received,
        "priority": answer.priority,
        "reviewer": {
            "licensure_states": list(answer.licensure_states),
            "specialties": list(answer.specialties),
        },
        "patient": {"age": answer.patient_age, "sex": answer.patient_sex},
        "items": [item.model_dump() for item in answer.items],
    }


def answer_to_candidate(answer: LetterAnswer, context: LetterContext) -> Candidate:
    """Check the answer at its places; quotes become the letter's own text."""
    data = answer_data(answer)
    invalid: list[str] = []
    case = data["case_number"]
    if case is not None and not re.fullmatch(r"CM\d{2}-\d{7}", case.strip()):
        invalid.append(f"case_number: {case!r} is not of the form CMyy-nnnnnnn")
    states = data["reviewer"]["licensure_states"]
    for k, state in enumerate(states):
        if canonical_state(state) is None:
            invalid.append(f"reviewer.licensure_states[{k}]: {state!r} is not a US state name")
    data["reviewer"]["licensure_states"] = [canonical_state(s) or s for s in states]
    checked = check_values(data, context.form, quotes=True, resolve=_resolver(context))
    for k, item in enumerate(data["items"]):
        if not item.get("rationale"):
            invalid.append(f"items[{k}].rationale: every item needs a rationale")
        if not collapse_ws(item.get("service") or ""):
            invalid.append(f"items[{k}].service: every item needs a service")
    return Candidate(data, checked, invalid)
