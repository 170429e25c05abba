"""The determination record: the one shape every engine produces and every consumer reads.

The JSON field names and meanings are fixed by the record contract (``record-contract.md``):
``record.model_dump(mode="json")`` carries exactly those keys plus a few additions that never
rename them (``medically_necessary`` per item, ``diagnoses``, ``metadata``).
:meth:`DeterminationRecord.contract_dict` gives the bare contract shape, which gold labels use.

Validation here is about what a record *means* (a case number has its format, dates are real,
there is at least one item, states are real US states). Whether a value is *in the letter* is the
grounding stage's job (:mod:`imr_llm.grounding`), because it needs the letter text.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    field_validator,
)

from ..form.text import canonical_state, collapse_ws

CASE_NUMBER_PATTERN = r"^CM\d{2}-\d{7}$"

Priority = Literal["standard", "expedited"]
Outcome = Literal["upheld", "overturned"]
Sex = Literal["male", "female"]


def _normalise_ws(value: Any) -> Any:
    return collapse_ws(value) if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _check_year(value: dt.date | None) -> dt.date | None:
    # A real letter's dates fall in a plausible range; 0001-01-01 is a parsing accident.
    if value is not None and not 1900 <= value.year <= 2100:
        raise ValueError(f"{value.isoformat()} is not a plausible letter date")
    return value


#: A whitespace-normalised, non-empty string, as the contract stores every string.
Text = Annotated[str, BeforeValidator(_normalise_ws), StringConstraints(min_length=1)]
LetterDate = Annotated[dt.date | None, AfterValidator(_check_year)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=False, frozen=False)


class Reviewer(_Model):
    """The expert reviewer's credentials, as the letter states them."""

    licensure_states: list[str] = Field(
        default_factory=list,
        description="US states where the reviewer is licensed, canonical full names.",
    )
    specialties: list[Text] = Field(
        default_factory=list,
        description="Board certifications / specialties, one entry per comma-separated name.",
    )

    @field_validator("licensure_states", mode="before")
    @classmethod
    def _canonical_states(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        out: list[str] = []
        for name in value:
            if not isinstance(name, str):
                raise ValueError(f"state names must be strings, got {type(name).__name__}")
            state = canonical_state(name)
            if state is None:
                raise ValueError(f"{name!r} is not a US state name")
            if state not in out:
                out.append(state)
        return out


class Patient(_Model):
    """What the case summary says about the injured worker."""

    age: int | None = Field(default=None, ge=0, le=120, description="Age in years, if stated.")
    sex: Annotated[Sex | None, BeforeValidator(_lower)] = Field(
        default=None, description="Only when stated in words (male/female/man/woman)."
    )


class DisputedItem(_Model):
    """One disputed item or service and the reviewer's decision on it."""

    service: Text = Field(description="The item as the letter names it before its outcome.")
    original_request: Text | None = Field(
        default=None,
        description="For a partly certified request, the original request; else null.",
    )
    outcome: Annotated[Outcome, BeforeValidator(_lower)] = Field(
        description="upheld: denial stands (not medically necessary); overturned: necessary."
    )
    claims_administrator_guideline: Text | None = Field(
        default=None,
        description="Text after 'Claims Administrator guideline:'; null if none was cited.",
    )
    maximus_guideline: Text | None = Field(
        default=None, description="Text after 'MAXIMUS guideline:'."
    )
    rationale: Text = Field(description="Text after 'Decision rationale:', verbatim.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def medically_necessary(self) -> bool:
        """Derived from the outcome: an overturned denial means the service is necessary."""
        return self.outcome == "overturned"


class TokenUsage(_Model):
    """Tokens spent, summed over every attempt (retries and re-asks included)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0
    estimated: bool = Field(
        default=False, description="True when counts are estimated, not reported by the server."
    )

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            estimated=self.estimated or other.estimated,
        )


class AttemptRecord(_Model):
    """One request to the model: what it cost and how it ended."""

    attempt: int
    usage: TokenUsage = Field(default_factory=TokenUsage)
    outcome: Literal["ok", "invalid", "transport_error"]
    errors: list[str] = Field(default_factory=list)
    latency_ms: float = 0.0


class Span(_Model):
    """Where a value came from in the input text (character offsets, end exclusive)."""

    start: int
    end: int
    page: int | None = Field(
        default=None,
        description="The page (1-based) the span starts on, when the input's pages are known "
        "(a PDF, or text with form feeds, read through extract_file).",
    )


EvidenceStatus = Literal["exact", "repaired", "unverified"]


class Evidence(_Model):
    """How one value of a record is backed by the letter, at the value's own place.

    ``exact``: the value is written at its place (the date beside its own label, the service
    at its own item marker). ``repaired``: it is there through OCR damage that reads to it
    unambiguously ("Caltfomia", "o1/31/2017", "U pheld"). ``unverified``: its place is
    unreadable, so the value could not be checked; the record then needs review.
    """

    status: EvidenceStatus
    span: Span | None = Field(default=None, description="Where the place is in the input.")
    note: str | None = Field(default=None, description="Why this status, in a few words.")


class InputInfo(_Model):
    """What the letter text was read from (set by ``extract_file``; None for ``extract(text)``).

    Offsets in ``page_starts`` index the letter text the engines read, the same text every
    ``Span`` indexes, so ``bisect_right(page_starts, span.start)`` is a span's page.
    """

    kind: Literal["text", "pdf"] = Field(description="A text file or a PDF.")
    encoding: str | None = Field(
        default=None, description="How a text file was decoded (utf-8, utf-16-le, cp1252...)."
    )
    text_from: Literal["file", "text_layer", "ocr", "mixed"] = Field(
        description="file: a text file; text_layer: every page's own text; ocr: every page "
        "OCR'd; mixed: some pages each way."
    )
    pages: int | None = Field(
        default=None, description="Pages of a PDF, or of a text with form feeds; else null."
    )
    ocr_pages: list[int] = Field(default_factory=list, description="Pages OCR'd (1-based).")
    ocr_engine: str | None = None
    ocr_engine_version: str | None = None
    ocr_mean_confidence: float | None = Field(
        default=None, ge=0, le=1, description="Mean line confidence over the OCR'd pages (0..1)."
    )
    page_starts: list[int] = Field(
        default_factory=list,
        description="Offset in the letter text where each page starts (empty when the pages "
        "are not known).",
    )


class ExtractionMetadata(_Model):
    """How a record was produced. Kept apart from the contract fields on purpose."""

    engine: Literal["rules", "llm"] = Field(description="The engine that produced the values.")
    backend: str = Field(description="The backend the caller asked for (auto, rules, llm...).")
    imr_llm_version: str
    source: str | None = Field(default=None, description="File the letter was read from.")
    source_sha256: str | None = Field(
        default=None,
        description="SHA-256 of the letter file's bytes: with source, the letter's identity "
        "for --resume.",
    )
    input: InputInfo | None = Field(
        default=None, description="What the text was read from (a file, a PDF's pages, OCR)."
    )
    letter_form: str | None = Field(
        default=None,
        description="The letter's generation as the letter-form layer recognised it: '2016', "
        "'2016-no-header', '2013-notice', '2014-documents-reviewed', "
        "'medical-professional-review' or 'unknown' (see imr_llm.form.generations).",
    )
    model: str | None = None
    prompt_version: str | None = None
    prompt_hash: str | None = None
    transport_retries: int = 0
    warnings: list[str] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    spans: dict[str, Span] = Field(
        default_factory=dict,
        description="Evidence spans in the input text, keyed by field path ('items[0].service').",
    )
    evidence: dict[str, Evidence] = Field(
        default_factory=dict,
        description="Each value's evidence at its place, keyed by field path ('decision_date', "
        "'items[2].rationale').",
    )
    needs_review: bool = Field(
        default=False,
        description="True when a value could not be checked or a self-check failed: a person "
        "should look before relying on the record.",
    )
    review_reasons: list[str] = Field(
        default_factory=list, description="Why the record needs review, one line per reason."
    )
    usage: TokenUsage | None = None
    attempts: list[AttemptRecord] = Field(default_factory=list)
    cost_usd: float | None = None
    rules_failure: str | None = Field(
        default=None, description="Why the rules engine handed a cascade letter to the model."
    )


#: The contract's top-level keys, in contract order.
CONTRACT_FIELDS: tuple[str, ...] = (
    "case_number",
    "date_assigned",
    "date_of_injury",
    "decision_date",
    "ur_denial_date",
    "application_received",
    "priority",
    "reviewer",
    "patient",
    "items",
)
ITEM_CONTRACT_FIELDS: tuple[str, ...] = (
    "service",
    "original_request",
    "outcome",
    "claims_administrator_guideline",
    "maximus_guideline",
    "rationale",
)


class DeterminationRecord(_Model):
    """An IMR final determination, as structured data."""

    case_number: Annotated[
        str | None, StringConstraints(pattern=CASE_NUMBER_PATTERN, strip_whitespace=True)
    ] = Field(default=None, description="CMyy-nnnnnnn; null when the letter has no header.")
    date_assigned: LetterDate = None
    date_of_injury: LetterDate = None
    decision_date: LetterDate = None
    ur_denial_date: LetterDate = None
    application_received: LetterDate = None
    priority: Annotated[Priority | None, BeforeValidator(_lower)] = None
    reviewer: Reviewer = Field(default_factory=Reviewer)
    patient: Patient = Field(default_factory=Patient)
    items: list[DisputedItem] = Field(min_length=1, description="In letter order.")
    diagnoses: list[Text] = Field(
        default_factory=list, description="Diagnoses listed in the case summary, if any."
    )
    metadata: ExtractionMetadata | None = Field(
        default=None, description="How the record was produced; not part of the contract."
    )

    def contract_dict(self) -> dict[str, Any]:
        """Exactly the contract's JSON shape: no metadata, no derived fields."""
        data = self.model_dump(mode="json", include=set(CONTRACT_FIELDS))
        data["items"] = [{key: item[key] for key in ITEM_CONTRACT_FIELDS} for item in data["items"]]
        return {key: data[key] for key in CONTRACT_FIELDS}

    def dates_in_order(self) -> list[tuple[str, dt.date | None]]:
        """The dates whose order is checked: injury <= UR denial <= assigned <= decision."""
        return [
            ("date_of_injury", self.date_of_injury),
            ("ur_denial_date", self.ur_denial_date),
            ("date_assigned", self.date_assigned),
            ("decision_date", self.decision_date),
        ]
