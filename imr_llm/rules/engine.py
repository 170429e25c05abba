"""Run the rules steps over a normalised letter and assemble the record."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import IncompleteLetterError, InvalidRecordError
from ..form import check_is_imr_letter, read_form
from ..models import DeterminationRecord
from ..normalise import Document
from .findings import Findings
from .header import read_header
from .items import read_items
from .reviewer import read_reviewer
from .summary import read_summary

__all__ = ["check_is_imr_letter", "read_letter", "rules_record"]


def read_letter(doc: Document) -> Findings:
    """Find every contract value in ``doc``; what cannot be read is listed in ``missing``."""
    form = read_form(doc)
    findings = Findings()
    findings.merge(read_header(form.header))
    if form.sections.credentials:
        findings.merge(read_reviewer(form.credentials))
    else:
        findings.missing.extend(["reviewer.licensure_states", "reviewer.specialties"])
    if form.sections.summary:
        want_injury = "date_of_injury" not in findings.values
        findings.merge(read_summary(doc, *form.sections.summary, want_injury_date=want_injury))
    if form.items is not None:
        findings.merge(read_items(form.items))
    else:
        findings.missing.append("items (the 'IMR ISSUES, DECISIONS AND RATIONALES' section)")
    return findings


def _nest(values: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"reviewer": {}, "patient": {}}
    for key, value in values.items():
        head, _, tail = key.partition(".")
        if tail:
            data.setdefault(head, {})[tail] = value
        else:
            data[key] = value
    return data


def rules_record(doc: Document) -> tuple[DeterminationRecord, Findings]:
    """The record for ``doc``, or a typed error; spans and warnings come back in the findings."""
    findings = read_letter(doc)
    if findings.missing:
        raise IncompleteLetterError(findings.missing, engine="rules")
    try:
        record = DeterminationRecord.model_validate(_nest(findings.values))
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise InvalidRecordError(problems, engine="rules") from None
    return record, findings
