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

from dataclasses import dataclass, field

from ..errors import MultipleLettersError, NotAnImrLetterError, UnsupportedLetterFormError
from ..inputs.normalise import Document, document
from .credentials import CredentialsForm, read_credentials_form
from .generations import (
    FORM_2013_NOTICE,
    FORM_2016,
    FORM_2016_NO_HEADER,
    READ_FORMS,
    Recognition,
    recognise,
)
from .header import DATE_FIELDS, HeaderForm, read_header_form
from .items import ItemPlace, ItemsForm, read_items_form
from .letters import other_letter_at, split_letters
from .notice2013 import EXPECTED as NOTICE_EXPECTED
from .notice2013 import read_notice_form
from .places import Place
from .reading import read_case_number
from .relayout import relayout
from .sections import HEADER_LINES, Sections, find_sections
from .settled import notice_sign
from .text import ocr_pattern

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
    "check_one_letter",
    "read_any_form",
    "read_form",
    "recognise_letter",
    "split_letters",
]


@dataclass
class LetterForm:
    """One letter's parts and the places of its values.

    ``letter_form`` names the letter's generation (:mod:`imr_llm.form.generations`);
    ``placed`` is False for a form whose places are not known (recognised but not read, or
    unknown), whose values the evidence stage can only look for in the whole text;
    ``expected`` names the values this form always states, so a null one needs review.
    """

    doc: Document
    sections: Sections
    header: HeaderForm
    credentials: CredentialsForm
    summary: Place | None
    items: ItemsForm | None
    letter_form: str = FORM_2016
    placed: bool = True
    expected: frozenset[str] = field(default_factory=frozenset)
    found: tuple[str, ...] = ()


def recognise_letter(doc: Document, sections: Sections | None = None) -> Recognition:
    """The generation of ``doc``; raises :class:`NotAnImrLetterError` when it is no IMR
    determination at all (see :func:`imr_llm.form.generations.recognise`)."""
    return _recognised(doc, sections or _sections(doc))[0]


def _recognised(doc: Document, sections: Sections) -> tuple[Recognition, HeaderForm | None]:
    """:func:`recognise_letter`, with the 2016 header it read to name the variant (read once:
    on OCR'd text it is a fuzzy search of every label)."""
    recognition = recognise(doc, sections)
    if recognition is None:
        found = ["the word MAXIMUS"] if ocr_pattern("MAXIMUS").search(doc.source) else []
        raise NotAnImrLetterError(found)
    if recognition.form == FORM_2016:
        header = read_header_form(doc, *sections.header)
        return Recognition(_name_2016(header), recognition.found), header
    return recognition, None


def _name_2016(header: HeaderForm) -> str:
    """``2016``, or ``2016-no-header`` for the seed variant. A header shows by its labels or
    its case number; text before a heading OCR lost is not one."""
    has_header = bool(header.labels) or read_case_number(header.text, prefixed=True) is not None
    return FORM_2016 if has_header else FORM_2016_NO_HEADER


#: What a 2016 letter prints and a 2013 notice never does (lower case): words of the 2016
#: headings and of the form sentences that stand in for them when a heading is lost.
_FORM_2016_WORDS = (
    "clinical case summary",
    "imr issues",
    "final determination",
    "decisions for the disputed",
    "sent the complete case file",
    "developed the following clinical",
)


def _sections(doc: Document) -> Sections:
    """The 2016 form's sections (:func:`find_sections`); none are looked for in a letter that
    prints a 2013 notice's sign and no word of the 2016 form's headings or their sentences.
    Their loose search through every line is a third of reading a notice, and finds nothing
    there; the notice is then told by its own marks (:func:`recognise_letter`)."""
    lowered = doc.lowered()
    if notice_sign(doc.source, lowered) and not any(w in lowered for w in _FORM_2016_WORDS):
        return Sections((0, min(len(doc.lines), HEADER_LINES)), None, None, None, ())
    return find_sections(doc)


def check_is_imr_letter(doc: Document, sections: Sections | None = None) -> Sections:
    """Raise :class:`NotAnImrLetterError` unless ``doc`` is an IMR determination, of any form.

    Both engines call this first, so a wrong file costs no model tokens. A letter of a form
    the rules engine does not read passes: the model path reads it.
    """
    sections = sections or _sections(doc)
    recognise_letter(doc, sections)
    check_one_letter(doc, sections)
    return sections


def check_one_letter(doc: Document, sections: Sections) -> None:
    """Raise :class:`MultipleLettersError` when ``doc`` holds another letter's first page (or
    its own again) after the letter's own (:mod:`imr_llm.form.letters`)."""
    line = other_letter_at(doc, sections)
    if line is not None:
        raise MultipleLettersError(doc.lines[line].start)


def relaid(doc: Document) -> Document:
    """``doc`` with the letter's words laid back into the form's lines (:func:`relayout`), so a
    letter whose paragraphs were re-filled reads like one as printed. Offsets are unchanged:
    only whitespace moves. ``doc`` itself when nothing needed moving."""
    text = relayout(doc.source)
    return doc if text is doc.source else document(text)


def read_any_form(doc: Document) -> LetterForm:
    """The form of any IMR letter: its places where its form is read, else a form with no
    places (``placed`` False) naming the generation. The model path's entry: it raises only
    :class:`NotAnImrLetterError`, for a text that is no IMR determination at all."""
    doc = relaid(doc)
    sections = _sections(doc)
    recognition, header = _recognised(doc, sections)
    check_one_letter(doc, sections)
    if recognition.form in READ_FORMS:
        return _read(doc, sections, recognition, header)
    empty = CredentialsForm(None, None, "none")
    nothing = Sections((0, 0), None, None, None, recognition.found)
    return LetterForm(doc, nothing, HeaderForm(0, 0, ""), empty, None, None,
                      recognition.form, False, frozenset(), recognition.found)  # fmt: skip


def read_form(doc: Document, sections: Sections | None = None) -> LetterForm:
    """The places of ``doc``'s values (the rules engine's entry).

    Raises :class:`NotAnImrLetterError` when it is no IMR letter, and
    :class:`UnsupportedLetterFormError` for an IMR letter of a form whose places are not known.
    The form's ``doc`` is the letter laid back into the form's lines (:func:`relaid`).
    """
    laid = relaid(doc)
    if laid is not doc:
        doc, sections = laid, None
    sections = sections or _sections(doc)
    recognition, header = _recognised(doc, sections)
    check_one_letter(doc, sections)
    if recognition.form not in READ_FORMS:
        raise UnsupportedLetterFormError(recognition.form, recognition.found)
    return _read(doc, sections, recognition, header)


def _read(
    doc: Document, sections: Sections, recognition: Recognition, header: HeaderForm | None
) -> LetterForm:
    if recognition.form == FORM_2013_NOTICE:
        notice = read_notice_form(doc, recognition.found)
        return LetterForm(doc, notice.sections, notice.header, notice.credentials,
                          notice.summary, notice.items, FORM_2013_NOTICE, True,
                          NOTICE_EXPECTED, recognition.found)  # fmt: skip
    if header is None:
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
    name = _name_2016(header)
    return LetterForm(doc, sections, header, credentials, summary, items, name,
                      found=recognition.found)  # fmt: skip
