"""Build the record and its metadata from values plus evidence: one place, for every engine.

Each engine produces contract-shaped values; :mod:`imr_llm.evidence` checks them at their
places. This module turns the two into a :class:`~imr_llm.record.models.DeterminationRecord` whose
metadata carries each value's evidence and says whether a person should review the record, so
a flag means the same thing whichever engine produced the record.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from .._version import __version__
from ..errors import InvalidRecordError
from ..evidence.common import Checked
from ..inputs.copied import Stripped
from .models import DeterminationRecord, Evidence, ExtractionMetadata, Span
from .validation import date_order_warnings, implausible_dates

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..inputs.files import LetterText
    from ..inputs.pdf import OcrSpan

#: For an OCR engine with no calibrated thresholds of its own (a caller's engine): a value
#: on an OCR'd line whose confidence is below this (0..1) needs review. The engines imr-llm
#: ships have thresholds calibrated on the corpus, in the settings (:func:`ocr_thresholds`).
LOW_OCR_CONFIDENCE = 0.8


@lru_cache(maxsize=1)
def _evidence_adapter() -> TypeAdapter[dict[str, Evidence]]:
    """A record's evidence, validated in one call (see :func:`build_record`); made at first
    use, not at import."""
    return TypeAdapter(dict[str, Evidence])


@dataclass(frozen=True)
class OcrThresholds:
    """When the OCR's scores under a value flag it (docs/ocr.md, "Confidence that fires").

    ``line``: a line under the value read with a confidence (the mean score of its characters)
    below this. ``char``: a short value (a place of at most :data:`PASSAGE_CHARS` characters)
    with a character scored below this; None: not used.
    """

    line: float
    char: float | None = None


def ocr_thresholds(engine: str | None, settings: Any = None) -> OcrThresholds:
    """The thresholds at which ``engine``'s scores under a value flag the value.

    The engines imr-llm ships score on different scales (rapidocr's recogniser probabilities
    sit near 1 even on a fax; tesseract's word confidences spread over the whole range), so
    each has its own, settings (``IMR_LLM_OCR_LOW_CONFIDENCE_RAPIDOCR``,
    ``IMR_LLM_OCR_LOW_CHAR_CONFIDENCE_RAPIDOCR`` and the same for tesseract) whose defaults
    were calibrated on the corpus (``benchmarks/ocr_confidence.py``). Any other engine gets
    :data:`LOW_OCR_CONFIDENCE` on lines and no character threshold.
    """
    if settings is None:
        from ..config import load_settings

        settings = load_settings()
    line = getattr(settings, f"ocr_low_confidence_{engine}", None) if engine else None
    char = getattr(settings, f"ocr_low_char_confidence_{engine}", None) if engine else None
    if line is None:
        return OcrThresholds(LOW_OCR_CONFIDENCE)
    return OcrThresholds(float(line), float(char) if char else None)


def validate_values(data: dict[str, Any], engine: str) -> DeterminationRecord:
    """The record for contract-shaped ``data``, or :class:`InvalidRecordError` saying why."""
    try:
        return DeterminationRecord.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise InvalidRecordError(problems, engine=engine) from None


def review_reasons(checked: Checked, extra: list[str] | None = None) -> list[str]:
    """Why a record needs review: values not checked, values contradicting the letter, and
    any failed self-check (``extra``)."""
    reasons = list(extra or [])
    for path, message in checked.contradicted.items():
        reasons.append(f"{path} contradicts the letter: {message}")
    unverified = [
        f"{path} ({ev.note})"
        for path, ev in checked.evidence.items()
        if ev.status == "unverified" and path not in checked.contradicted
    ]
    if unverified:
        shown = "; ".join(unverified[:6]) + ("; ..." if len(unverified) > 6 else "")
        reasons.append(f"{len(unverified)} value(s) could not be checked: {shown}")
    return reasons


def build_record(
    data: dict[str, Any],
    checked: Checked,
    *,
    engine: str,
    backend: str,
    review: list[str] | None = None,
    warnings: list[str] | None = None,
    **metadata: Any,
) -> DeterminationRecord:
    """The record for ``data`` with its evidence, flags and the given ``metadata`` fields."""
    record = validate_values(data, engine)
    # All the evidence in one validation: a record has dozens of values, and building each
    # model on its own (even without validation) costs several times more.
    evidence = _evidence_adapter().validate_python(
        {
            path: {
                "status": ev.status,
                "span": {"start": ev.span[0], "end": ev.span[1]} if ev.span else None,
                "note": ev.note,
            }
            for path, ev in checked.evidence.items()
        }
    )
    reasons = review_reasons(checked, [*(review or []), *implausible_dates(record)])
    record.metadata = ExtractionMetadata(
        engine=engine,
        backend=backend,
        imr_llm_version=__version__,
        warnings=[*(warnings or []), *checked.warnings, *date_order_warnings(record)],
        spans={path: ev.span for path, ev in evidence.items() if ev.span is not None},
        evidence=evidence,
        needs_review=bool(reasons),
        review_reasons=reasons,
        **metadata,
    )
    return record


def restore_spans(record: DeterminationRecord, read: Stripped) -> DeterminationRecord:
    """``record`` with its spans moved from the text the engines read to the text as given,
    where a copy's additions were taken out before reading (:mod:`imr_llm.inputs.copied`);
    ``record`` itself when nothing moved."""
    metadata = record.metadata
    if not read.origin or metadata is None:
        return record

    def move(span: Span) -> Span:
        start, end = read.original(span.start, span.end)
        return span.model_copy(update={"start": start, "end": end})

    metadata.spans = {path: move(span) for path, span in metadata.spans.items()}
    metadata.evidence = {
        path: e if e.span is None else e.model_copy(update={"span": move(e.span)})
        for path, e in metadata.evidence.items()
    }
    return record


def page_of(page_starts: Sequence[int], offset: int) -> int | None:
    """The page (1-based) holding ``offset``, from where each page starts; None if unknown."""
    return bisect_right(page_starts, offset) or None if page_starts else None


#: A value whose place is longer than this many characters is a passage (a rationale, a
#: guideline): the character threshold does not apply to it. One misread character does not
#: make a passage wrong (passages are scored by similarity), and the lowest of a few hundred
#: characters is low on most faxed passages, right or wrong; its lines' confidence tells the
#: wrong ones apart (docs/ocr.md).
PASSAGE_CHARS = 80


@dataclass(frozen=True)
class OcrScore:
    """The OCR's scores under a value: the lowest confidence of the lines under it, the
    lowest score of its characters (per character where the engine gives them, else its
    lines'), and the page of the lowest line."""

    line: float
    char: float
    page: int

    def flags(self, thresholds: OcrThresholds, length: int) -> bool:
        """Whether these scores flag a value whose place is ``length`` characters long."""
        if self.line < thresholds.line:
            return True
        return (
            thresholds.char is not None and length <= PASSAGE_CHARS and self.char < thresholds.char
        )


def value_confidence(start: int, end: int, ocr_lines: Sequence[OcrSpan]) -> OcrScore | None:
    """The OCR's scores under the letter's ``[start, end)``; None where no OCR'd line with a
    score lies under it. ``ocr_lines`` must be in text order (as read)."""
    starts = [line.start for line in ocr_lines]
    return _score(start, end, ocr_lines, starts)


def _score(
    start: int, end: int, lines: Sequence[OcrSpan], starts: Sequence[int]
) -> OcrScore | None:
    # Lines are disjoint and in order: those overlapping [start, end) are contiguous.
    k = max(bisect_left(starts, start) - 1, 0)
    line_low: tuple[float, int] | None = None
    char_low: float | None = None
    while k < len(lines) and lines[k].start < max(end, start + 1):
        line = lines[k]
        if line.end > start:
            found = line.scores(start, max(end, start + 1))
            if found:
                char_low = min(found) if char_low is None else min(char_low, *found)
                own = line.confidence if line.confidence is not None else sum(found) / len(found)
                if line_low is None or own < line_low[0]:
                    line_low = (own, line.page)
        k += 1
    if line_low is None or char_low is None:
        return None
    return OcrScore(line_low[0], char_low, line_low[1])


def low_confidence_reasons(
    evidence: dict[str, Evidence],
    ocr_lines: Sequence[OcrSpan],
    threshold: float | OcrThresholds = LOW_OCR_CONFIDENCE,
) -> list[str]:
    """One reason naming each value the OCR's scores under it flag (:class:`OcrThresholds`;
    a bare number is a line threshold), with its page and the scores (no letter text)."""
    limits = threshold if isinstance(threshold, OcrThresholds) else OcrThresholds(threshold)
    lines = sorted(ocr_lines, key=_start)
    starts = [line.start for line in lines]
    shown: list[str] = []
    for path, ev in evidence.items():
        if ev.span is None:
            continue
        score = _score(ev.span.start, ev.span.end, lines, starts)
        if score is not None and score.flags(limits, ev.span.end - ev.span.start):
            if score.line < limits.line:
                shown.append(f"{path} (page {score.page}, line {score.line:.2f})")
            else:
                shown.append(f"{path} (page {score.page}, character {score.char:.2f})")
    if not shown:
        return []
    listed = "; ".join(shown[:6]) + ("; ..." if len(shown) > 6 else "")
    below = f"lines below {limits.line:.2f}" + (
        f", characters of short values below {limits.char:.2f}" if limits.char is not None else ""
    )
    return [
        f"{len(shown)} value(s) sit on text the OCR read with low confidence ({below}): {listed}"
    ]


def _start(line: OcrSpan) -> int:
    return line.start


def attach_input(
    record: DeterminationRecord,
    letter: LetterText,
    threshold: float | OcrThresholds | None = None,
    *,
    settings: Any = None,
) -> DeterminationRecord:
    """Add to ``record`` (built from ``letter.text`` by any engine) where its text came from.

    Sets ``metadata.input``, each evidence span's ``page`` when the pages are known, and adds
    review reasons for values on text the OCR read with low confidence and for pages that
    needed OCR no installed engine could give. Spans index the text the engines were given
    (normalisation keeps offsets in the original text), which is ``letter.text``.

    ``threshold`` (None: the OCR engine's own, from ``settings`` or the environment;
    :func:`ocr_thresholds`) says when the scores under a value flag it.
    """
    meta = record.metadata
    if meta is None:
        return record
    meta.input = letter.info
    starts = letter.info.page_starts
    if starts:
        for ev in meta.evidence.values():
            if ev.span is not None:
                ev.span.page = page_of(starts, ev.span.start)
        for span in meta.spans.values():
            span.page = page_of(starts, span.start)
    reasons: list[str] = []
    if letter.ocr_lines:
        if threshold is None:
            threshold = ocr_thresholds(letter.info.ocr_engine, settings)
        reasons = low_confidence_reasons(meta.evidence, letter.ocr_lines, threshold)
    if letter.unread_pages:
        pages = ", ".join(map(str, letter.unread_pages))
        reasons.append(
            f"page(s) {pages} have no usable text layer and were not OCR'd (no OCR engine is "
            "installed: pip install 'imr-llm[ocr]'); what they say is missing from the record"
        )
    if reasons:
        meta.review_reasons.extend(reasons)
        meta.needs_review = True
    return record
