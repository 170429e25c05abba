"""Build the record and its metadata from values plus evidence: one place, for every engine.

Each engine produces contract-shaped values; :mod:`imr_llm.evidence` checks them at their
places. This module turns the two into a :class:`~imr_llm.models.DeterminationRecord` whose
metadata carries each value's evidence and says whether a person should review the record, so
a flag means the same thing whichever engine produced the record.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ._version import __version__
from .errors import InvalidRecordError
from .evidence import Checked
from .models import DeterminationRecord, Evidence, ExtractionMetadata, Span
from .validate import date_order_warnings


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
