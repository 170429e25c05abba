"""Run the rules steps over a normalised letter and assemble the record."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import IncompleteLetterError, InvalidRecordError, NotAnImrLetterError
from ..models import DeterminationRecord
from ..normalise import Document
from ..text import match_label, ocr_pattern
from .findings import Findings
from .header import read_header
from .items import RATIONALE_LABEL, read_items
from .reviewer import read_reviewer
from .sections import Sections, find_sections
from .summary import read_summary


def check_is_imr_letter(doc: Document, sections: Sections | None = None) -> Sections:
    """Raise :class:`NotAnImrLetterError` unless ``doc`` shows some of an IMR letter's form.

    Both engines call this first, so a wrong file costs no model tokens.
    """
    sections = sections or find_sections(doc)
    if sections.found:
        return sections
    if any(match_label(line.text, RATIONALE_LABEL) for line in doc.lines):
        return sections
    found = ["the word MAXIMUS"] if ocr_pattern("MAXIMUS").search(doc.source) else []
    raise NotAnImrLetterError(found)


def read_letter(doc: Document) -> Findings:
    """Find every contract value in ``doc``; what cannot be read is listed in ``missing``."""
    sections = check_is_imr_letter(doc)

    findings = Findings()
    findings.merge(read_header(doc, *sections.header))
    if sections.credentials:
        findings.merge(read_reviewer(doc, *sections.credentials))
    else:
        findings.missing.extend(["reviewer.licensure_states", "reviewer.specialties"])
    if sections.summary:
        want_injury = "date_of_injury" not in findings.values
        findings.merge(read_summary(doc, *sections.summary, want_injury_date=want_injury))
    if sections.items:
        findings.merge(read_items(doc, *sections.items))
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
