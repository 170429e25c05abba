"""Which generation of IMR letter a text is, and whether it is an IMR determination at all.

IMR began in July 2013, and MAXIMUS Federal Services has printed its final determination
letters in several forms since. Users' back-catalogues hold all of them, so the letter-form
layer first decides which form it is looking at, then finds places only in a form it knows.
Each form has a stable name, recorded on every record as ``metadata.letter_form``:

==============================  =========================================================  =====
name                            how it is recognised                                       read
==============================  =========================================================  =====
``2016``                        the 2016-2017 letters: a header table ("Case Number:"...),  yes
                                "HOW THE IMR FINAL DETERMINATION WAS MADE", "CLINICAL CASE
                                SUMMARY", "IMR ISSUES, DECISIONS AND RATIONALES", items
                                marked ": Upheld" / ": Overturned"
``2016-no-header``              the same form without the header table (the seed letters)  yes
``2013-notice``                 "Notice of Independent Medical Review Determination",      yes
                                numbered "has determined the request for ... is [not]
                                medically necessary" sentences, "INDEPENDENT MEDICAL
                                REVIEW DECISION AND RATIONALE", "Medical Qualifications
                                of the Expert Reviewer:"
``2014-documents-reviewed``     the 2016 headings with "DOCUMENTS REVIEWED" and "IMR       no
                                DECISION(S) AND RATIONALE(S)" in place of the issues
                                heading
``medical-professional-review`` "MEDICAL PROFESSIONAL REVIEW", "ISSUE AT DISPUTE:",         no
                                "DOCUMENTS REVIEWED FOR DETERMINATION:", "MEDICAL
                                REVIEWER QUALIFICATIONS:"
``unknown``                     none of the above, but the text is still an IMR            no
                                determination (see :func:`looks_like_determination`): a
                                form not seen yet, or a letter too damaged to tell
==============================  =========================================================  =====

Where each form's knowledge comes from (public sources, no letter text) is recorded in
``eval/gold/notes/generations.md``. A form marked "no" is recognised but has no places: the
rules engine raises :class:`~imr_llm.errors.UnsupportedLetterFormError` for it, and the model
path reads it with every value looked for in the whole text instead of at a place.

A text that is no IMR determination at all (a news article about IMR, a utilization review
letter, an invoice) is none of these: :func:`recognise` returns None for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..inputs.normalise import Document
from .sections import HEADING_ISSUES, Sections
from .text import collapse_ws, contains_phrase, is_heading, match_label, ocr_pattern

FORM_2016 = "2016"
FORM_2016_NO_HEADER = "2016-no-header"
FORM_2013_NOTICE = "2013-notice"
FORM_2014_DOCUMENTS = "2014-documents-reviewed"
FORM_MEDICAL_PROFESSIONAL_REVIEW = "medical-professional-review"
FORM_UNKNOWN = "unknown"

#: Every form name, in the order of the table above.
FORMS: tuple[str, ...] = (
    FORM_2016,
    FORM_2016_NO_HEADER,
    FORM_2013_NOTICE,
    FORM_2014_DOCUMENTS,
    FORM_MEDICAL_PROFESSIONAL_REVIEW,
    FORM_UNKNOWN,
)
#: Forms whose places the letter-form layer finds (the rules engine reads them).
READ_FORMS: frozenset[str] = frozenset({FORM_2016, FORM_2016_NO_HEADER, FORM_2013_NOTICE})

#: One line per form, for the review page and the eval report.
DESCRIPTIONS: dict[str, str] = {
    FORM_2016: "2016-2017 letter with its header table",
    FORM_2016_NO_HEADER: "2016-2017 letter without the header table (the seed letters)",
    FORM_2013_NOTICE: "2013 Notice of Independent Medical Review Determination",
    FORM_2014_DOCUMENTS: "2014-2015 letter with DOCUMENTS REVIEWED and IMR DECISION(S) AND "
    "RATIONALE(S) (recognised, not read: values are looked for in the whole text)",
    FORM_MEDICAL_PROFESSIONAL_REVIEW: "MEDICAL PROFESSIONAL REVIEW letter with ISSUE AT DISPUTE "
    "(recognised, not read: values are looked for in the whole text)",
    FORM_UNKNOWN: "an IMR determination in a form not known (values are looked for in the "
    "whole text)",
}

#: Form sentences each read form prints; how well they read estimates a letter's OCR damage
#: (:func:`imr_llm.evidence.common.letter_damage`). Lower case, whitespace collapsed.
FORM_SENTENCES: dict[str, tuple[str, ...]] = {
    FORM_2016: (
        "sent the complete case file to an expert reviewer. he/she has no affiliation with the "
        "employer, employee, providers or the claims administrator.",
        "the expert reviewer developed the following clinical case summary based on a review of "
        "the case file, including all medical records",
        "the final determination was based on decisions for the disputed items/services set "
        "forth below",
    ),
    FORM_2013_NOTICE: (
        "has no affiliation with the employer, employee, providers or the claims administrator.",
        "a decision has been made for each of the treatment and/or services that were in dispute",
    ),
}
FORM_SENTENCES[FORM_2016_NO_HEADER] = FORM_SENTENCES[FORM_2016]


@dataclass(frozen=True, slots=True)
class Recognition:
    """The form a text was recognised as, and the marks of it that were found (form text,
    never letter text: safe for messages)."""

    form: str
    found: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# The marks of each form
# --------------------------------------------------------------------------------------------

#: (what is reported, the phrase, how it is matched: a heading line, a label at a line's start,
#: or a phrase anywhere in a line).
_Mark = tuple[str, str, str]

_NOTICE_MARKS: tuple[_Mark, ...] = (
    ("the notice title", "Notice of Independent Medical Review Determination", "phrase"),
    ("the decision heading", "INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE", "phrase"),
    ("the qualifications label", "Medical Qualifications of the Expert Reviewer", "label"),
    ("the assignment sentence", "Notice of Assignment and Request for Information", "phrase"),
)
_DOCUMENTS_MARKS: tuple[_Mark, ...] = (
    ("the decisions heading", "IMR DECISION(S) AND RATIONALE(S)", "heading"),
    ("the documents heading", "DOCUMENTS REVIEWED", "heading"),
)
_SHARED_2016_MARKS: tuple[_Mark, ...] = (
    ("the determination heading", "HOW THE IMR FINAL DETERMINATION WAS MADE", "heading"),
    ("the case summary heading", "CLINICAL CASE SUMMARY", "heading"),
)
_REVIEW_MARKS: tuple[_Mark, ...] = (
    ("the review title", "MEDICAL PROFESSIONAL REVIEW", "heading"),
    ("the issue label", "ISSUE AT DISPUTE", "label"),
    ("the documents label", "DOCUMENTS REVIEWED FOR DETERMINATION", "label"),
    ("the qualifications label", "MEDICAL REVIEWER QUALIFICATIONS", "label"),
    ("the guidelines heading", "MEDICAL TREATMENT GUIDELINE(S) RELIED UPON BY", "phrase"),
    ("the rationale heading", "RATIONALE FOR WHY THE REQUESTED TREATMENT", "phrase"),
)

#: The notice's determination sentence: "has determined the request for X is [not] medically
#: necessary" (OCR may glue "not" to "medically", as one public copy prints it).
DETERMINATION = re.compile(
    rf"{ocr_pattern('has determined').pattern}\s+(?:that\s+)?"
    rf"{ocr_pattern('the request for').pattern}\s+(?P<service>.{{2,400}}?)\s+"
    rf"(?P<verdict>[il1|][s5](?:\s|[^\w\s]){{0,5}}?(?P<neg>[nm][o0][tf]\W?\s*)?"
    rf"{ocr_pattern('medically').pattern}\s*{ocr_pattern('necessary').pattern})",
    re.IGNORECASE | re.DOTALL,
)


def _has_mark(doc: Document, phrase: str, how: str, lowered: str) -> bool:
    if phrase.lower() in lowered:
        if how != "heading":
            return True
        # A heading must stand alone on its line ("DOCUMENTS REVIEWED FOR DETERMINATION:"
        # is another form's label, not this heading).
        return any(line.text.strip().upper() == phrase for line in doc.lines)
    for line in doc.lines:
        text = line.text
        if not text or len(text) > 3 * len(phrase) + 40:
            continue
        if how == "heading" and is_heading(text, phrase):
            return True
        if how == "label" and match_label(text, phrase, threshold=85):
            return True
        if how == "phrase" and len(text.strip()) >= len(phrase) // 2:
            if contains_phrase(text, phrase, threshold=88):
                return True
    return False


def _marks(doc: Document, marks: tuple[_Mark, ...], lowered: str) -> list[str]:
    return [name for name, phrase, how in marks if _has_mark(doc, phrase, how, lowered)]


def _review_marks(doc: Document, lowered: str, other: int) -> list[str]:
    """The review form's marks, in their order, looked for only while they could still make
    it the form (with the most marks, a tie going to it) when another form has ``other``: its
    headings and labels first, its phrases (a loose match in every line, the costliest test)
    last. A 2013 notice shows four marks of its own and none of the review's."""
    ordered = sorted(_REVIEW_MARKS, key=lambda mark: mark[2] == "phrase")
    found: set[str] = set()
    for k, (name, phrase, how) in enumerate(ordered):
        if len(found) + len(ordered) - k < other:
            break  # too few left to look for: another form has more
        if _has_mark(doc, phrase, how, lowered):
            found.add(name)
    return [name for name, _, _ in _REVIEW_MARKS if name in found]


def recognise(doc: Document, sections: Sections) -> Recognition | None:
    """The form of ``doc``, or None when it is no IMR determination at all.

    ``sections`` are the 2016 form's sections (:func:`~imr_llm.form.sections.find_sections`),
    found first because that form is by far the most common: its issues heading settles the
    question at once. Otherwise each form's marks are counted and the form with the most wins;
    a letter that shows none but still reads as a determination is ``unknown``.
    """
    if "issues heading" in sections.found and _issues_heading(doc, sections):
        return Recognition(FORM_2016, sections.found)
    lowered = collapse_ws(doc.source).lower()
    notice = _marks(doc, _NOTICE_MARKS, lowered)
    if DETERMINATION.search(doc.source):
        notice.append("a 'has determined the request for' sentence")
    documents = _marks(doc, _DOCUMENTS_MARKS, lowered)
    shared = _marks(doc, _SHARED_2016_MARKS, lowered) if documents else []
    review = _review_marks(doc, lowered, max(len(notice), len(documents) + len(shared)))
    candidates = [
        (len(review), 2, FORM_MEDICAL_PROFESSIONAL_REVIEW, review),
        (len(notice), 2, FORM_2013_NOTICE, notice),
        (len(documents) + len(shared), 2, FORM_2014_DOCUMENTS, documents + shared),
    ]
    best = max(candidates, key=lambda c: c[0])
    if best[0] >= best[1]:
        return Recognition(best[2], tuple(best[3]))
    if sections.found or _has_rationale_label(doc):
        return Recognition(FORM_2016, sections.found or ("a decision rationale label",))
    signs = looks_like_determination(doc)
    if signs:
        return Recognition(FORM_UNKNOWN, signs)
    return None


def _issues_heading(doc: Document, sections: Sections) -> bool:
    """Whether the 2016 issues heading itself (not only its fallback sentence) is there: the
    items section starts right after it (and the form sentence that may follow it)."""
    if sections.items is None:
        return False
    first = sections.items[0]
    return any(
        is_heading(doc.lines[i].text, HEADING_ISSUES)
        for i in range(max(first - 6, 0), min(first, len(doc.lines)))
    )


def _has_rationale_label(doc: Document) -> bool:
    from .items import RATIONALE_LABEL  # here: items imports this module's neighbours

    return any(match_label(line.text, RATIONALE_LABEL) for line in doc.lines)


# --------------------------------------------------------------------------------------------
# An IMR determination of no known form
# --------------------------------------------------------------------------------------------

_IDENTITY = re.compile(
    rf"{ocr_pattern('MAXIMUS').pattern}|{ocr_pattern('Independent Medical Review').pattern}",
    re.IGNORECASE,
)
#: An item's outcome marker at the end of a line: "<service>: Upheld".
_MARKER_LINE = re.compile(
    rf"\S\s*[:;]\s*(?:{ocr_pattern('Upheld').pattern}|{ocr_pattern('Overturned').pattern})"
    r"\W{0,3}$",
    re.IGNORECASE | re.MULTILINE,
)
_REVIEWER = re.compile(
    r"board\s+certified|licensed\s+to\s+practice|state\(s\)\s+of\s+licensure|"
    r"certification\(s\)\s*/\s*specialty|(?:expert|physician|professional|medical)\s+reviewer",
    re.IGNORECASE,
)
_PATIENT = re.compile(
    r"\b\d{1,3}[\s-]*years?[\s-]*old\b|\bdate\s+of\s+injury\b|\binjured\s+worker\b",
    re.IGNORECASE,
)
#: A utilization review letter names itself in a title line; an IMR letter only mentions the
#: UR decision it reviews ("disputing the Utilization Review Denial dated ...").
_UR_TITLE = re.compile(
    r"^\W*(?:notice\s+of\s+)?(?:utilization\s+review|UR)\s+"
    r"(?:determination|decision|notice|certification|non-?certification)\b",
    re.IGNORECASE,
)
_UR_DECISION = re.compile(
    r"\brequest\s+for\s+authorization\b.{0,400}?\b(?:non-?certif\w*|not\s+certified)\b",
    re.IGNORECASE | re.DOTALL,
)
_INVOICE = re.compile(
    r"\b(?:invoice|amount\s+due|balance\s+due|total\s+due|remit(?:tance)?|bill\s+to)\b",
    re.IGNORECASE,
)


def looks_like_determination(doc: Document) -> tuple[str, ...]:
    """The signs that ``doc`` is an IMR determination of no known form; () when it is not.

    Its form is not known, so the test is by what any determination must say rather than by
    where: who decided (MAXIMUS, Independent Medical Review), a decision on a request (an
    outcome marker or a "has determined the request for X is [not] medically necessary"
    sentence), and that it concerns one case (a reviewer's credentials, or the patient: an age,
    a date of injury). A text that names itself a utilization review decision, or bills for
    one, is not an IMR determination whatever IMR words it quotes.
    """
    source = doc.source
    head = [line.text for line in doc.lines if not line.blank][:15]
    if any(_UR_TITLE.search(line) for line in head) or _UR_DECISION.search("\n".join(head)):
        return ()
    if _INVOICE.search(source):
        return ()
    signs: list[str] = []
    if _IDENTITY.search(source):
        signs.append("MAXIMUS or Independent Medical Review")
    if _MARKER_LINE.search(source):
        signs.append("an item marked Upheld or Overturned")
    elif DETERMINATION.search(source):
        signs.append("a 'has determined the request for' sentence")
    if _REVIEWER.search(source):
        signs.append("a reviewer's credentials")
    if _PATIENT.search(source):
        signs.append("a patient's age or date of injury")
    decided = any(s.startswith(("an item", "a 'has")) for s in signs)
    case = any(s.startswith(("a reviewer", "a patient")) for s in signs)
    if signs and signs[0].startswith("MAXIMUS") and decided and case:
        return tuple(signs)
    return ()
