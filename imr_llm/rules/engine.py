"""Run the rules steps over a normalised letter and assemble the record."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import IncompleteLetterError, InvalidRecordError
from ..evidence.common import Checked
from ..form import LetterForm, check_is_imr_letter, read_form
from ..form.generations import FORM_2013_NOTICE
from ..inputs.normalise import Document
from ..record.models import DeterminationRecord
from .findings import Findings
from .header import read_header
from .items import read_items
from .notice import read_notice
from .reviewer import read_reviewer
from .selfcheck import self_check
from .summary import read_summary

__all__ = ["check_is_imr_letter", "flag_unread", "read_letter", "rules_record", "rules_values"]


def read_letter(doc: Document, form: LetterForm | None = None) -> Findings:
    """Find every contract value in ``doc``; what cannot be read is listed in ``missing``."""
    form = form or read_form(doc)
    doc = form.doc  # the letter as the form reads it (see read_form)
    if form.letter_form == FORM_2013_NOTICE:
        return read_notice(form)
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


def rules_values(doc: Document) -> tuple[dict[str, Any], Findings, LetterForm, list[str]]:
    """Contract-shaped values for ``doc``, the findings, the letter's form, and review flags.

    Raises :class:`IncompleteLetterError` when a part cannot be read or a self-check shows a
    value is certainly misread (see :mod:`imr_llm.rules.selfcheck`), and its subclass
    :class:`~imr_llm.errors.UnsupportedLetterFormError` for a letter of a form it does not read.
    """
    form = read_form(doc)
    findings = read_letter(doc, form)
    if findings.missing:
        raise IncompleteLetterError(findings.missing, engine="rules")
    data = _nest(findings.values)
    errors, flags = self_check(data.get("items") or [])
    if errors:
        raise IncompleteLetterError(errors, engine="rules")
    return data, findings, form, flags


def flag_unread(checked: Checked, unread: list[str]) -> None:
    """Make sure each value the engine left out as unread (:attr:`Findings.unread`) is
    ``unverified`` in ``checked``, so that its record needs review.

    The evidence stage's own checks flag such a null where they look (a header place that
    reads as no date, a required value missing); this is the engine's word that it did not
    read the value, whatever the checks conclude about the place.
    """
    for path in unread:
        evidence = checked.evidence.get(path)
        if evidence is None or evidence.status != "unverified":
            span = evidence.span if evidence is not None else None
            checked.put(path, "unverified", span, "the letter prints it here, and it could not "
                        "be read: left out of the record")  # fmt: skip


def rules_record(doc: Document) -> tuple[DeterminationRecord, Findings]:
    """The record for ``doc`` (values only, no evidence), or a typed error."""
    data, findings, _form, _flags = rules_values(doc)
    try:
        record = DeterminationRecord.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise InvalidRecordError(problems, engine="rules") from None
    return record, findings
