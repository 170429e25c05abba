"""Build the record and its metadata from values plus evidence: one place, for every engine.

Each engine produces contract-shaped values; :mod:`imr_llm.evidence` checks them at their
places. This module turns the two into a :class:`~imr_llm.models.DeterminationRecord` whose
metadata carries each value's evidence and says whether a person should review the record, so
a flag means the same thing whichever engine produced the record.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ._version import __version__
from .errors import InvalidRecordError
from .evidence import Checked
from .models import DeterminationRecord, Evidence, ExtractionMetadata, Span
from .validate import date_order_warnings

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .pdf import OcrSpan
    from .sources import LetterText

#: For an OCR engine with no calibrated threshold of its own (a caller's engine): a value
#: whose place the OCR read below this (0..1) needs review. The engines imr-llm ships have
#: thresholds calibrated on the corpus, in the settings (``ocr_low_confidence_<engine>``,
#: :func:`ocr_threshold`; docs/ocr.md).
LOW_OCR_CONFIDENCE = 0.8


def ocr_threshold(engine: str | None, settings: Any = None) -> float:
    """The confidence below which ``engine``'s reading of a value's place flags the value.

    The engines imr-llm ships score on different scales (rapidocr's recogniser probabilities
    sit near 1 even on a fax; tesseract's word confidences spread over the whole range), so
    each has its own threshold, a setting (``IMR_LLM_OCR_LOW_CONFIDENCE_RAPIDOCR`` ...) whose
    default was calibrated on the corpus (``benchmarks/ocr_confidence.py``). Any other engine
    gets :data:`LOW_OCR_CONFIDENCE`.
    """
    if settings is None:
        from .config import load_settings

        settings = load_settings()
    value = getattr(settings, f"ocr_low_confidence_{engine}", None) if engine else None
    return LOW_OCR_CONFIDENCE if value is None else float(value)


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
    # Built without validation: the evidence stage made every field, and a record has dozens.
    evidence = {
        path: Evidence.model_construct(
            status=ev.status,
            span=Span.model_construct(start=ev.span[0], end=ev.span[1]) if ev.span else None,
            note=ev.note,
        )
        for path, ev in checked.evidence.items()
    }
    reasons = review_reasons(checked, review)
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


def page_of(page_starts: Sequence[int], offset: int) -> int | None:
    """The page (1-based) holding ``offset``, from where each page starts; None if unknown."""
    return bisect_right(page_starts, offset) or None if page_starts else None


#: A value whose place is longer than this many characters is a passage (a rationale, a
#: guideline): judged by the mean score of its characters, not the lowest. One misread
#: character does not make a passage wrong (it is scored by similarity), and the lowest of a
#: few hundred characters is low on every faxed passage, right or wrong (docs/ocr.md), so a
#: passage is flagged only when the OCR read much of it poorly.
PASSAGE_CHARS = 80

#: (score, page) of a value's place: the lowest or mean character score, and where it is.
OcrLow = tuple[float, int]


def value_confidence(start: int, end: int, ocr_lines: Sequence[OcrSpan]) -> OcrLow | None:
    """The OCR score of the letter's ``[start, end)`` and its page; None where no OCR'd line
    with a score lies under it. ``ocr_lines`` must be in text order (as read).

    A short value scores its lowest character (per character where the engine gives them,
    else its line's confidence): one misread character in a date lowers the date's score,
    however well the rest of its line read. A passage (longer than :data:`PASSAGE_CHARS`)
    scores the mean of its characters. docs/ocr.md has the calibration behind both.
    """
    starts = [line.start for line in ocr_lines]
    return _score(start, end, ocr_lines, starts)


def _score(start: int, end: int, lines: Sequence[OcrSpan], starts: Sequence[int]) -> OcrLow | None:
    # Lines are disjoint and in order: those overlapping [start, end) are contiguous.
    k = max(bisect_left(starts, start) - 1, 0)
    low: OcrLow | None = None
    total, count = 0.0, 0
    while k < len(lines) and lines[k].start < max(end, start + 1):
        line = lines[k]
        if line.end > start:
            found = line.scores(start, max(end, start + 1))
            if found:
                total, count = total + sum(found), count + len(found)
                if low is None or min(found) < low[0]:
                    low = (min(found), line.page)
        k += 1
    if low is None or end - start <= PASSAGE_CHARS:
        return low
    return (total / count, low[1])


def low_confidence_reasons(
    evidence: dict[str, Evidence],
    ocr_lines: Sequence[OcrSpan],
    threshold: float = LOW_OCR_CONFIDENCE,
) -> list[str]:
    """One reason naming each value whose place the OCR read below ``threshold`` (its lowest
    character score, a passage's mean; :func:`value_confidence`), with its page and that
    score (no letter text)."""
    lines = sorted(ocr_lines, key=_start)
    starts = [line.start for line in lines]
    shown: list[str] = []
    for path, ev in evidence.items():
        if ev.span is None:
            continue
        low = _score(ev.span.start, ev.span.end, lines, starts)
        if low is not None and low[0] < threshold:
            shown.append(f"{path} (page {low[1]}, {low[0]:.2f})")
    if not shown:
        return []
    listed = "; ".join(shown[:6]) + ("; ..." if len(shown) > 6 else "")
    return [
        f"{len(shown)} value(s) sit on text the OCR read with low confidence "
        f"(below {threshold:.2f}): {listed}"
    ]


def _start(line: OcrSpan) -> int:
    return line.start


def attach_input(
    record: DeterminationRecord,
    letter: LetterText,
    threshold: float | None = None,
    *,
    settings: Any = None,
) -> DeterminationRecord:
    """Add to ``record`` (built from ``letter.text`` by any engine) where its text came from.

    Sets ``metadata.input``, each evidence span's ``page`` when the pages are known, and adds
    review reasons for values on text the OCR read with low confidence and for pages that
    needed OCR no installed engine could give. Spans index the text the engines were given
    (normalisation keeps offsets in the original text), which is ``letter.text``.

    ``threshold`` (None: the OCR engine's own, from ``settings`` or the environment;
    :func:`ocr_threshold`) is the score below which a value's place flags it.
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
            threshold = ocr_threshold(letter.info.ocr_engine, settings)
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
