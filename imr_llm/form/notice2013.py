"""Where each value sits in a 2013 "Notice of Independent Medical Review Determination".

The notice has no header table. Its values are stated in sentences (see
``record-contract.md``, "Other generations")::

    MAXIMUS FEDERAL SERVICES, INC.
    Notice of Independent Medical Review Determination
    Dated: 9/26/2013                                           -> decision_date
    1) MAXIMUS Federal Services, Inc. has determined the request for X
    is not medically necessary and appropriate.                -> item: service X, upheld
    INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE
    An application for Independent Medical Review was filed on D1 -> application_received
    disputing the Utilization Review Denial dated D2.          -> ur_denial_date
    A Notice of Assignment and Request for Information was provided
    to the above parties on D3.                                -> date_assigned
    1) ... (the determinations again)
    Medical Qualifications of the Expert Reviewer:
    ... Board Certified in S and is licensed to practice in T. -> reviewer (sentence style)
    Case Summary:
    ... a 44 year-old female with a date of Injury of 8/28/2001 -> age, sex, date of injury
    1) Regarding the request for X:                            -> the item's own section:
    The Claims Administrator based its decision on G1          -> claims_administrator_guideline
    The Expert Reviewer based his/her decision on G2           -> maximus_guideline
    Rationale for the Decision: R                              -> rationale

Everything down to the case summary is known from a real letter (``../shared/generations/``);
the items' own sections come from no public copy found and are matched loosely (see
``eval/gold/notes/generations.md``). Each determination is listed twice; the list under the
decision heading is the item's place, the one under the title stands in when that one is lost.
Places only: the rules engine reads values from them (:mod:`imr_llm.rules.notice`), and the
evidence stage checks any engine's values at them, exactly as for the 2016 form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from rapidfuzz import fuzz

from ..inputs.normalise import STAMP_WORDS, Document
from .credentials import CredentialsForm, read_credentials_form
from .generations import DETERMINATION
from .header import HeaderForm
from .items import ItemPlace, ItemsForm
from .places import Place
from .reading import Reading, read_case_number, read_date
from .sections import Sections, closing_start
from .summary import date_window
from .text import collapse_ws, contains_phrase, is_heading, match_label, ocr_pattern

TITLE = "Notice of Independent Medical Review Determination"
DECISION_HEADING = "INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE"
QUALIFICATIONS_LABEL = "Medical Qualifications of the Expert Reviewer"
SUMMARY_LABEL = "Case Summary"
RATIONALE_LABELS = ("Rationale for the Decision", "Decision rationale")

#: The values a notice always states: null with no place found means a person must look.
EXPECTED: frozenset[str] = frozenset(
    {
        "decision_date",
        "application_received",
        "ur_denial_date",
        "date_assigned",
        "reviewer.licensure_states",
        "reviewer.specialties",
        # The case summary (quoted from the UR denial) opens with the patient: "The patient is
        # a 44 year-old female with a date of injury of 8/28/2001" (the real 2013 notice).
        "date_of_injury",
        "patient.age",
        "patient.sex",
    }
)


def _sentence(*parts: str) -> re.Pattern[str]:
    """A phrase through OCR damage, its words perhaps broken over lines."""
    return re.compile(r"\s+".join(ocr_pattern(p).pattern for p in parts), re.IGNORECASE)


#: (field, the phrase the date follows).
DATE_SENTENCES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("application_received", _sentence("was filed on")),
    ("ur_denial_date", _sentence("Utilization Review Denial", "dated")),
    ("date_assigned", _sentence("provided to the", "above parties on")),
)
_DATED = re.compile(rf"\b{ocr_pattern('Dated').pattern}\s*[:;.,]?\s*", re.IGNORECASE)
#: "k)" opening a line, perhaps after a stray mark OCR put before it ("_ 1) Regarding ...").
_NUMBERED = re.compile(r"^\s*(?:(?:[^\w\s(]|_){1,3}\s*)?\(?(\d{1,2})\s*[).]\s*")
_REGARDING = _sentence("Regarding the", "request for")
_DETERMINED = _sentence("has determined")
#: "The" before a label belongs to it: the passage before ends where the label's sentence starts.
_THE = r"(?:\b[tT][hb][ec]\s+)?"
_CA = re.compile(_THE + _sentence("Claims Administrator", "based its", "decision on").pattern,
                 re.IGNORECASE)  # fmt: skip
_CA_NONE = re.compile(
    _THE + ocr_pattern("Claims Administrator").pattern + r"\s+(?=did\s+not\s+cite)",
    re.IGNORECASE,
)
_MAXIMUS = re.compile(
    rf"{_THE}(?:{ocr_pattern('Expert').pattern}|{ocr_pattern('Physician').pattern})\s+"
    rf"{ocr_pattern('Reviewer').pattern}\s+{ocr_pattern('based').pattern}\s+\S{{2,9}}\s+"
    rf"{ocr_pattern('decision on').pattern}",
    re.IGNORECASE,
)
_RATIONALE = re.compile(
    "(?:"
    + "|".join(r"\s+".join(ocr_pattern(w).pattern for w in label.split()) for label in
               RATIONALE_LABELS)
    + r")\s*[:;]",
    re.IGNORECASE,
)  # fmt: skip
_CLEAN_VERDICTS = ("is not medically necessary", "is medically necessary")
_PASSAGES = (
    ("claims_administrator_guideline", _CA),
    ("claims_administrator_guideline", _CA_NONE),
    ("maximus_guideline", _MAXIMUS),
    ("rationale", _RATIONALE),
)


@dataclass
class NoticeForm:
    """A 2013 notice's parts and the places of its values (assembled into a ``LetterForm``)."""

    sections: Sections
    header: HeaderForm
    credentials: CredentialsForm
    summary: Place | None
    items: ItemsForm | None


def _line_index(doc: Document, test, start: int = 0, stop: int | None = None) -> int | None:
    for i in range(start, len(doc.lines) if stop is None else stop):
        if test(doc.lines[i].text):
            return i
    return None


def _is_decision_heading(text: str) -> bool:
    return is_heading(text, DECISION_HEADING) or (
        len(text) > len(DECISION_HEADING) and contains_phrase(text, DECISION_HEADING, 90)
    )


def read_notice_form(doc: Document, found: tuple[str, ...] = ()) -> NoticeForm:
    """The places of a 2013 notice's values. Never raises: what is not found has no place."""
    n = len(doc.lines)
    heading = _line_index(doc, _is_decision_heading)
    qualifications = _line_index(
        doc, lambda t: bool(match_label(t, QUALIFICATIONS_LABEL, 80))
        or contains_phrase(t, QUALIFICATIONS_LABEL, 90) and len(t) < 80,
    )  # fmt: skip
    after = qualifications if qualifications is not None else (heading or 0)
    summary_at = _line_index(doc, lambda t: bool(match_label(t, SUMMARY_LABEL, 80)), after)
    sections_at = _item_sections(doc, summary_at + 1 if summary_at is not None else after)
    summary_end = sections_at[0][1] if sections_at else n
    documents = _line_index(
        doc, lambda t: bool(re.match(r"\s*documents\s+reviewed", t, re.IGNORECASE)),
        summary_at + 1 if summary_at is not None else n, summary_end,
    )  # fmt: skip
    if documents is not None:
        summary_end = documents

    first_list_end = heading if heading is not None else (qualifications or summary_at or n)
    top = _determinations(doc, 0, first_list_end)
    decided = (
        _determinations(doc, heading + 1, qualifications or summary_at or n)
        if heading is not None
        else []
    )
    determinations = _merged(top, decided)
    items = _items(doc, determinations, sections_at) if determinations else None

    title_end = top[0].line if top else (heading if heading is not None else min(n, 12))
    header = _header(doc, title_end, heading, qualifications or summary_at or n)

    credentials = CredentialsForm(None, None, "none")
    credentials_range = None
    if qualifications is None and summary_at is not None and determinations:
        # The label lost to OCR: the reviewer sentence is still between the determinations
        # and the case summary.
        qualifications = determinations[-1].last + 1
    if qualifications is not None:
        stop = summary_at if summary_at is not None else min(qualifications + 15, n)
        credentials_range = (qualifications, stop)
        credentials = read_credentials_form(doc, qualifications, stop)
    summary = None
    summary_range = None
    if summary_at is not None and summary_at + 1 < summary_end:
        summary_range = (summary_at + 1, summary_end)
        start, end = doc.lines[summary_at + 1].start, doc.lines[summary_end - 1].end
        summary = Place(start, end, doc.source[start:end], "region")
    items_range = None
    if determinations:
        items_range = (determinations[0].line, determinations[-1].last + 1)
    sections = Sections((0, 0), credentials_range, summary_range, items_range, found)
    return NoticeForm(sections, header, credentials, summary, items)


# --------------------------------------------------------------------------------------------
# Dates (and the rare case number or priority in the title block)
# --------------------------------------------------------------------------------------------


def _value_after(doc: Document, at: int, name: str, label: tuple[int, int]) -> Place:
    """The date written right after a phrase: the reading's span, else the next word (which
    then holds no readable date: its place is unreadable)."""
    # Page furniture blanked out, and whitespace runs counted as one: a page break (its banner
    # or page number) may fall between the phrase and its date.
    text = date_window(doc.text(at, min(len(doc.source), at + 400)), 0)
    lead = len(text) - len(text.lstrip())
    reading = read_date(text)
    if reading is not None and reading.start <= lead + 2:
        s, e = at + reading.start, at + reading.end
    else:
        word = re.match(r"\s*(\S+)", text)
        s, e = (at + word.start(1), at + word.end(1)) if word else (at, at)
        while e > s and doc.source[e - 1] in ".,;:":
            e -= 1
    return Place(s, e, doc.source[s:e], "sentence", label)


def _header(doc: Document, title_end: int, heading: int | None, stop: int) -> HeaderForm:
    """The notice's dates, each at its sentence, as places of a header with no table."""
    form = HeaderForm(0, 0, "")
    lines = doc.lines
    title = range(0, min(title_end, len(lines)))
    for i in title:
        m = _DATED.search(lines[i].text)
        if m and re.search(r"\d", lines[i].text[m.end() :] or "x"):
            label = (lines[i].start + m.start(), lines[i].start + m.end())
            form.places["decision_date"] = _value_after(doc, label[1], "decision_date", label)
            form.labels["decision_date"] = label
            break
    for i in title:
        case = read_case_number(lines[i].text, prefixed=True)
        if case is not None:
            s, e = lines[i].start + case.start, lines[i].start + case.end
            form.places["case_number"] = Place(s, e, doc.source[s:e], "sentence")
            break
    for i in title:
        hit = match_label(lines[i].text, "Priority")
        if hit is not None:
            s, e = lines[i].start + hit.value_start, lines[i].end
            raw = doc.source[s:e]
            lead = len(raw) - len(raw.lstrip())
            form.places["priority"] = Place(s + lead, e, raw.strip(), "label")
            form.labels["priority"] = (lines[i].start, s)
            break
    first = heading if heading is not None else title_end
    if first >= len(lines) or first >= stop:
        return form
    base, end = lines[first].start, lines[min(stop, len(lines)) - 1].end
    region = doc.text(base, end)  # page furniture blanked: a page may break a phrase
    for name, phrase in DATE_SENTENCES:
        m = phrase.search(region)
        if m is None:
            continue
        label = (base + m.start(), base + m.end())
        form.places[name] = _value_after(doc, label[1], name, label)
        form.labels[name] = label
    return form


# --------------------------------------------------------------------------------------------
# Determinations and the items' own sections
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Determination:
    line: int  # first line
    last: int  # last line
    number: int
    match: re.Match[str]  # DETERMINATION over the source, page furniture blanked out
    base: int


def _determinations(doc: Document, start: int, stop: int) -> list[_Determination]:
    """The numbered "has determined the request for X is [not] medically necessary"
    sentences in lines ``[start, stop)``, each read over the lines it wraps onto."""
    out: list[_Determination] = []
    lines = doc.lines
    # Read with page furniture blanked out: a fax banner between two lines of the sentence is
    # no part of the service it names (offsets are the letter's own).
    blanked = doc.text(0, len(doc.source))
    i = start
    while i < min(stop, len(lines)):
        number = _NUMBERED.match(lines[i].text)
        if number is None:
            i += 1
            continue
        last = i
        m = None
        for j in range(i, min(i + 6, stop, len(lines))):
            if j > i and (
                lines[j].blank
                or _NUMBERED.match(lines[j].text)
                or _DETERMINED.search(lines[j].text)
            ):
                break  # the next determination, its number perhaps lost to OCR
            last = j
            base = lines[i].start
            m = DETERMINATION.search(blanked, base, lines[j].end)
            if m is not None:
                break
        if m is not None and not _DETERMINED.search(m.group("service")):
            out.append(_Determination(i, last, int(number.group(1)), m, lines[i].start))
        i = last + 1
    return out


def _item_sections(doc: Document, start: int) -> list[tuple[int, int, int]]:
    """(number, first line, end line) of each "k) Regarding the request for X:" section."""
    found: list[tuple[int, int]] = []
    for i in range(start, len(doc.lines)):
        text = doc.lines[i].text
        number = _NUMBERED.match(text)
        if number and _regarding(text[number.end() : number.end() + 40]):
            found.append((int(number.group(1)), i))
    out = []
    for k, (number, line) in enumerate(found):
        if k + 1 < len(found):
            end = found[k + 1][1]
        else:  # the last section ends where a closing block opens (a sign-off, "cc:"...)
            n = len(doc.lines)
            end = closing_start([doc.lines[i].text for i in range(line, n)], 0, n - line) + line
        out.append((number, line, end))
    return [(n, s, e) for n, s, e in out]


@dataclass
class NoticeItemPlace(ItemPlace):
    """An item of a notice. ``lost`` names the passages whose label seems to be there but
    could not be read (legible text where it would be, or its words inside another passage):
    such a passage is not "absent, so null" but unreadable."""

    lost: tuple[str, ...] = ()
    #: The service sits between the fixed words of its determination ("has determined the
    #: request for ... is [not] medically necessary"), not found by walking through damage.
    fixed_sentence: ClassVar[bool] = True
    #: Each passage's label as the notice words it, for evidence notes and re-asks.
    label_names: ClassVar[dict[str, str]] = {
        "claims_administrator_guideline": "The Claims Administrator based its decision on",
        "maximus_guideline": "The Expert Reviewer based his/her decision on",
        "rationale": "Rationale for the Decision",
    }


def _merged(top: list[_Determination], decided: list[_Determination]) -> list[_Determination]:
    """One determination per number: the decision list's, or the title list's where the
    decision list lost it (OCR), in number order."""
    by_number = {d.number: d for d in top}
    by_number.update({d.number: d for d in decided})
    return [by_number[k] for k in sorted(by_number)]


def _regarding(text: str) -> bool:
    """Whether ``text`` opens with "Regarding the request for", through OCR damage."""
    if _REGARDING.search(text):
        return True
    head = text.lower()[:32]
    return fuzz.partial_ratio("regarding the request for", head) >= 85 and head.startswith("re")


def _items(
    doc: Document, determinations: list[_Determination], sections: list[tuple[int, int, int]]
) -> ItemsForm:
    by_number = {number: (s, e) for number, s, e in sections}
    in_order = len(sections) == len(determinations)
    items: list[ItemPlace] = []
    for k, det in enumerate(determinations):
        m = det.match
        s, e = m.start("service"), m.end("service")
        header = Place(s, e, collapse_ws(m.group("service")), "marker")
        vs, ve = m.start("verdict"), m.end("verdict")
        verdict = m.group("verdict")
        value = "upheld" if m.group("neg") else "overturned"
        clean = collapse_ws(verdict).lower() in _CLEAN_VERDICTS
        outcome = Reading(value, clean, 0, len(verdict))
        outcome_place = Place(vs, ve, verdict, "marker")
        section = by_number.get(det.number) or (sections[k][1:] if in_order else None)
        passages: dict[str, Place | None] = dict.fromkeys(PASSAGE_NAMES)
        lost: tuple[str, ...] = ()
        end = ve
        if section is not None:
            first, stop = section
            end = doc.lines[stop].start if stop < len(doc.lines) else len(doc.source)
            passages, lost = _passages(doc, first + 1, stop)
        items.append(NoticeItemPlace(header, outcome, outcome_place, passages, end, lost=lost))
    # Every section with a rationale: more than the items read means a determination was lost.
    rationales = sum(
        1 for _, first, stop in sections if _label_hits(doc, first + 1, stop).get("rationale")
    )
    start = doc.lines[determinations[0].line].start
    return ItemsForm(items, rationales, start)


PASSAGE_NAMES = ("claims_administrator_guideline", "maximus_guideline", "rationale")
#: Each label as words, for the fuzzy fallback when OCR split or garbled them past the
#: patterns ("The Clair ns Administrator based its decision on").
_FUZZY_LABELS = {
    "claims_administrator_guideline": "the claims administrator based its decision on",
    "maximus_guideline": "the expert reviewer based his/her decision on",
    "rationale": "rationale for the decision:",
}


_CA_NONE_WORDS = "the claims administrator did not cite any medical evidence"


def _label_hits(doc: Document, first: int, stop: int) -> dict[str, tuple[int, int]]:
    """Source spans of each passage's label in lines ``[first, stop)``: by pattern, else by a
    close match at the start of a line."""
    if first >= min(stop, len(doc.lines)):
        return {}
    base, end = doc.lines[first].start, doc.lines[min(stop, len(doc.lines)) - 1].end
    region = doc.source[base:end]
    hits: dict[str, tuple[int, int]] = {}
    for name, pattern in _PASSAGES:
        if name not in hits and (m := pattern.search(region)) is not None:
            hits[name] = (base + m.start(), base + m.end())
    for name, words in (*_FUZZY_LABELS.items(), ("claims_administrator_guideline", _CA_NONE_WORDS)):
        if name in hits:
            continue
        for i in range(first, min(stop, len(doc.lines))):
            # A no-break space (text copied from a web page) is a space to the alignment; the
            # same length, so offsets hold.
            text = doc.lines[i].text.replace("\u00a0", " ")
            lead = len(text) - len(text.lstrip())
            head = text[lead : lead + len(words) + 8].lower()
            if len(head) < len(words) * 0.7:
                continue
            hit = fuzz.partial_ratio_alignment(words, head)
            if hit is not None and hit.score >= 82 and hit.dest_start <= 2:
                if words == _CA_NONE_WORDS:
                    # No guideline: the passage is the sentence that says so (read as null).
                    start = doc.lines[i].start + lead
                    hits[name] = (start, start)
                    break
                # The alignment may stop inside the label's last word ("decision o|n"), or
                # before its colon: the label runs to the end of both.
                tail = re.match(r"\w*\s*[:;]?", text[lead + hit.dest_end :])
                start = doc.lines[i].start + lead
                hits[name] = (start, start + hit.dest_end + (tail.end() if tail else 0))
                break
    return hits


#: Debris OCR leaves after a passage's last sentence: marks and one- or two-character
#: fragments ("MTUS. - 1 -", "appropriate. : ae").
_TRAILING_DEBRIS = re.compile(r"(?<=[.!?)\]\"'”’])(?:\s+(?:[^\w\s]{1,3}|\w{1,2}))+\s*$")


#: Marks OCR leaves after a label's colon, a stray letter among them (". f : :", "f ’ : :",
#: "f ::"): the label's, not the passage's.
_LEADING_MARKS = re.compile(
    r"(?:\s|[.:;,_~|=\-](?=[\s.:;,_~|=\-]|\w(?:\s*[^\w\s]){1,4}\s)|[·•‘’`_~|]"
    r"|\w(?=(?:\s*[^\w\s]){1,4}\s))*\s*"
)


#: A guideline label's last words at its passage's start ("based its DUPLICATE\ndecision on
#: the Official ...", "based his/her decision RECEIVED\non the Chronic ..."): the label's,
#: where a stamp or damage inside the label ended the match before them. No guideline's name
#: starts so.
_LABEL_REST = re.compile(
    rf"(?:{ocr_pattern('decision').pattern}\s+)?{ocr_pattern('on').pattern}\s+", re.IGNORECASE
)


#: The rationale label's last word, or a stamp's word before its colon, at the rationale's
#: start ("Rationale for the RECEIVED Decision:", "Rationale for the Decision COPY:"): the
#: label's, where the stamp ended the match. No rationale starts with a word and a colon.
_RATIONALE_LABEL_REST = re.compile(
    rf"(?:(?i:{ocr_pattern('decision').pattern})\s*)?(?:(?:{'|'.join(STAMP_WORDS)})\s*)?[:;]\s*"
)


def _text_between(doc: Document, start: int, end: int) -> str:
    """The letter's text in ``[start, end)`` from its lines, so page furniture (a page number,
    a fax banner: no line of the letter) is left out, as is debris after the last sentence."""
    parts = []
    for line in doc.lines:
        if line.end <= start or line.start >= end:
            continue
        parts.append(line.text[max(start - line.start, 0) : max(end - line.start, 0)])
    text = collapse_ws(" ".join(parts))
    m = _TRAILING_DEBRIS.search(text, max(0, len(text) - 24))
    return text[: m.start()] if m else text


def _passages(
    doc: Document, first: int, stop: int
) -> tuple[dict[str, Place | None], tuple[str, ...]]:
    """The labelled passages of one item's section (lines ``[first, stop)``), each up to the
    next label or the section's end; and the passages whose label seems lost."""
    out: dict[str, Place | None] = dict.fromkeys(PASSAGE_NAMES)
    found = _label_hits(doc, first, stop)
    if first >= min(stop, len(doc.lines)):
        return out, ()
    section_start = doc.lines[first].start
    section_end = doc.lines[min(stop, len(doc.lines)) - 1].end
    hits = sorted((s, e, name) for name, (s, e) in found.items())
    for k, (_, e, name) in enumerate(hits):
        stop_at = hits[k + 1][0] if k + 1 < len(hits) else section_end
        raw = doc.source[e:stop_at]
        # Marks OCR leaves after a label's colon ("Rationale for the Decision: . : ; :") are
        # the label's, not the passage's.
        lead = _LEADING_MARKS.match(raw).end()  # type: ignore[union-attr]
        rest = (_RATIONALE_LABEL_REST if name == "rationale" else _LABEL_REST).match(raw, lead)
        if rest is not None:  # and the marks after the label's rest ("Decision: . COPY ; : :")
            lead = _LEADING_MARKS.match(raw, rest.end()).end()  # type: ignore[union-attr]
        trail = len(raw.rstrip())
        out[name] = Place(e + lead, e + max(trail, lead), _text_between(doc, e + lead, stop_at),
                          "label", (found[name][0], e))  # fmt: skip
    lost: set[str] = set()
    missing = [name for name in PASSAGE_NAMES if name not in found]
    first_hit = hits[0][0] if hits else section_end
    if missing and len(_text_between(doc, section_start, first_hit).split()) >= 3:
        # Legible text before the first label read: the labels before it were lost.
        order = PASSAGE_NAMES.index(hits[0][2]) if hits else len(PASSAGE_NAMES)
        lost.update(name for name in missing if PASSAGE_NAMES.index(name) < order)
    for name, place in out.items():
        if place is None:
            continue
        for other in missing:
            words = _FUZZY_LABELS[other].rstrip(":")
            hit = fuzz.partial_ratio_alignment(words, place.text.lower())
            if hit is not None and hit.score >= 80:
                lost.update((name, other))  # this passage ran on into a lost label's
    return out, tuple(sorted(lost, key=PASSAGE_NAMES.index))
