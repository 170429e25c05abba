"""The letter's form: where each part and each value of an IMR letter sits.

Every IMR letter follows one form (a header table, the reviewer's credentials, a case summary,
the disputed items with their outcome markers and labelled passages), printed in several ways
(``pdftotext -layout``, plain ``pdftotext``, OCR of a scan or a fax). This layer knows that
form, and nothing else: it finds the *place* of each value, not the value. The rules engine
reads values from the places (:mod:`imr_llm.rules`); the evidence stage checks any engine's
values at the same places (:mod:`imr_llm.evidence`). Neither engine's knowledge of the form is
kept anywhere else, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NotAnImrLetterError
from ..normalise import Document, document
from ..text import match_label, ocr_pattern
from .credentials import CredentialsForm, read_credentials_form
from .header import DATE_FIELDS, HeaderForm, read_header_form
from .items import RATIONALE_LABEL, ItemPlace, ItemsForm, read_items_form
from .places import Place
from .relayout import relayout
from .sections import Sections, find_sections

__all__ = [
    "DATE_FIELDS",
    "CredentialsForm",
    "HeaderForm",
    "ItemPlace",
    "ItemsForm",
    "LetterForm",
    "Place",
    "Sections",
    "check_is_imr_letter",
    "read_form",
]


@dataclass
class LetterForm:
    """One letter's parts and the places of its values."""

    doc: Document
    sections: Sections
    header: HeaderForm
    credentials: CredentialsForm
    summary: Place | None
    items: ItemsForm | None


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


def read_form(doc: Document, sections: Sections | None = None) -> LetterForm:
    """The form of ``doc``; raises :class:`NotAnImrLetterError` when it is no IMR letter.

    The letter's words are first laid back into the form's lines (:func:`relayout`), so a
    letter whose paragraphs were re-filled reads like one as printed; the form's ``doc`` is
    that text, whose offsets are the letter's own.
    """
    relaid = relayout(doc.source)
    if relaid is not doc.source:
        doc, sections = document(relaid), None
    sections = check_is_imr_letter(doc, sections)
    header = read_header_form(doc, *sections.header)
    if sections.credentials:
        credentials = read_credentials_form(doc, *sections.credentials)
    else:
        credentials = CredentialsForm(None, None, "none")
    summary = None
    if sections.summary and sections.summary[0] < sections.summary[1]:
        s, e = sections.summary
        start, end = doc.lines[s].start, doc.lines[e - 1].end
        summary = Place(start, end, doc.text(start, end), "region")
    items = read_items_form(doc, *sections.items) if sections.items else None
    return LetterForm(doc, sections, header, credentials, summary, items)
