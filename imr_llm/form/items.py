"""Where each disputed item sits: its header and outcome marker, its labelled passages.

Each item is anchored on its outcome marker, the one thing every item header has:
"<service>: Upheld" at the end of a line, or "Upheld" alone on the line after a header that
ends with a colon. The header text is then found by walking back from the marker; the
item's body runs from the marker to the start of the next item's header.

Walking back is where letters differ most. A header may wrap over several lines; it is usually
preceded by a blank line, but in plain ``pdftotext`` output there are no blank lines, and a page
break can glue it to the previous rationale. The rule: keep adding the line above while it does
not end a sentence (a rationale's last line does), and cross a page break only in the middle of
a sentence. A partly certified request ("X was the original request. ...") spans sentences, so
the walk continues until the sentence that names the original request is included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz

from ..inputs.normalise import Document
from .places import Place
from .reading import Reading, read_outcome
from .text import (
    DANGLING_WORDS,
    ITEM_NUMBER,
    collapse_ws,
    contains_phrase,
    match_label,
    ocr_pattern,
    parse_outcome,
)

CA_LABEL = "Claims Administrator guideline"
MAXIMUS_LABEL = "MAXIMUS guideline"
RATIONALE_LABEL = "Decision rationale"
_LABELS = (
    ("claims_administrator_guideline", CA_LABEL),
    ("maximus_guideline", MAXIMUS_LABEL),
    ("rationale", RATIONALE_LABEL),
)
NO_EVIDENCE_PHRASE = "did not cite any medical evidence"

#: The ends of the form's two guideline sentences ("The Claims Administrator did not cite any
#: medical evidence for its decision.", "The Expert Reviewer based their decision on
#: recommendation(s) outside of the MTUS Guidelines."), and what comes just before or after
#: them in every letter that prints them, damaged or not.
_FOR_ITS_DECISION = re.compile(r"\bfor\s+its\s+decision\b", re.IGNORECASE)
_CITE_ANY = re.compile(r"\bcite\s+any\b", re.IGNORECASE)
#: The no-evidence sentence's words on either side of those anchors, in order.
_BEFORE_FOR_ITS = tuple(NO_EVIDENCE_PHRASE.split()[1:])  # "not cite any medical evidence"
_AFTER_CITE_ANY = ("medical", "evidence", "for", "its", "decision")
#: How alike (rapidfuzz ratio) a word must be to the form's to count: OCR's "rnedical",
#: "evidcnce", "meaxical", "city" pass.
_FORM_WORD_SCORE = 67
_ALPHA_WORD = re.compile(r"[A-Za-z]+")
_OUTSIDE = re.compile(r"\brecommendation\(?s\)?\s+outside\b", re.IGNORECASE)
#: The no-evidence sentence's start, and the words after it: "... Reviewer did decision." is
#: its middle lost.
_DID = re.compile(r"\b(?:Reviewer|Administrator)\s+did\b", re.IGNORECASE)
_AFTER_DID = ("not", "cite", "any")
_OF_THE_GUIDELINES = re.compile(r"^\W{0,3}of\b|MTUS|Gu[il1]de", re.IGNORECASE)


def _form_words_found(words: list[str], form: tuple[str, ...]) -> int:
    """How many of ``form``'s words ``words`` hold, each through OCR's damage."""
    lowered = [w.lower() for w in words]
    return sum(any(fuzz.ratio(f, w) >= _FORM_WORD_SCORE for w in lowered) for f in form)


def broken_form_sentence(text: str) -> bool:
    """Whether a guideline passage holds one of the form's guideline sentences broken apart:
    its end with no start before it ("2016, for its decision. Section(s): ...", "The Claims
    evidence for its decision."), its start with no end after it ("... did not cite any
    decision.", "The Expert Reviewer did decision.", "recommendation(s) outside (ODG) Head
    ..."): a line of the passage lost or read in another line's place. Three of the five
    words on each side must be there, through OCR's damage ("ch not ate any meaxical evidence
    for its decigon" is whole)."""
    lowered = text.lower()  # each pattern tried only where its words are: the common case
    if "\n" in lowered:
        lowered = " ".join(lowered.split())
    for m in _FOR_ITS_DECISION.finditer(text) if "for its" in lowered else ():
        before = _ALPHA_WORD.findall(text, max(0, m.start() - 80), m.start())[-6:]
        if _form_words_found(before, _BEFORE_FOR_ITS) < 3:
            return True
    for m in _CITE_ANY.finditer(text) if "cite any" in lowered else ():
        after = _ALPHA_WORD.findall(text, m.end(), m.end() + 80)[:6]
        if _form_words_found(after, _AFTER_CITE_ANY) < 3:
            return True
    for m in _DID.finditer(text) if " did" in lowered else ():
        after = _ALPHA_WORD.findall(text, m.end(), m.end() + 40)[:3]
        if _form_words_found(after, _AFTER_DID) < 2:
            return True
    for m in _OUTSIDE.finditer(text) if "outside" in lowered else ():
        if not _OF_THE_GUIDELINES.search(text[m.end() : m.end() + 30].lstrip()):
            return True
    return False


#: "<service>: Upheld" at the end of a line; OCR may damage the colon (";", ".", ":,"), put
#: marks before the word ("_ Upheld") and leave stray marks or letters after it ("Upheld : Se").
_TRAILING_OUTCOME = re.compile(
    r"[:;.,]+\s*[_~'|-]*\s*([A-Za-z0-9][^\s:;]{3,13})(?:\s*[^\w\s]{1,3}|\s+[A-Za-z]{1,3})*\s*$"
)
_SENTENCE_END = (".", "!", "?", ":", ";")
_ORIGINAL_REQUEST = re.compile(ocr_pattern("the original request").pattern, re.IGNORECASE)
_TWO_WORDS = re.compile(r"([A-Za-z][^\s.,;:]{4,9})\s+([A-Za-z][^\s,;:]{4,8}?)(?=[\s.,;:]|$)")


def original_request_mentions(text: str) -> list[tuple[int, int]]:
    """Spans of "original request" in ``text``, through OCR damage ("orginal", "onginai")."""
    found = [m.span() for m in _ORIGINAL_REQUEST.finditer(text)]
    if found:
        return found
    out: list[tuple[int, int]] = []
    for m in _TWO_WORDS.finditer(text):
        first, second = m.group(1).lower(), m.group(2).lower().rstrip(".")
        if fuzz.ratio(first, "original") >= 60 and fuzz.ratio(second, "request") >= 80:
            out.append(m.span())
    return out


#: An outcome alone on its line, with OCR's stray marks after it ("Upheld : : : : Se").
_ALONE_OUTCOME = re.compile(
    r"\s*(?:[^\w\s]{1,3}\s*)?([A-Za-z0-9][^\s:;]{3,13})(?:\s*[^\w\s]{1,3}|\s+[A-Za-z]{1,3})*\s*$"
)
#: Stray marks OCR leaves before an item header ("- ” Urine toxicology screen"), and the
#: number of a list a copy numbered its items in ("1. MRI of the knee", "(2) Norco"): never
#: part of a name (a name's own leading number has no mark after it: "12 sessions of...").
_LEADING_MARKS = re.compile(r"^(?:(?:[^\w\s(\[]|_){1,3}\s*|\(?\d{1,2}[.)]\s+)+")
#: Marks after an item's name, before its outcome marker: never part of the name.
_TRAILING_NAME_MARKS = re.compile(r"[\s:;,.\-_~|'‘`·•*]+$")
#: Marks before a passage's first word (a quote mark only where a space follows it: one that
#: opens a quotation stands right before its first word).
_LEADING_PASSAGE_MARKS = re.compile(
    r"^(?:[\s~_|,;:.\-–—•·*‘’`]|['\"](?=\s)|\w(?=\s*[~_|,;:.\-–—•·*‘’`]\s))+"
)
#: Quote marks: no guideline opens with one (each is "Decision based on ..." or one of the
#: form's sentences), so one glued to a guideline's first word ("'Decision based on", "'The
#: Expert Reviewer") is OCR's, or the space after the label read as a mark; a rationale may
#: open with a quotation.
_QUOTES = "'\"‘’“”`"


def strip_leading_marks(kept: str, name: str, after_label: str = " ") -> str:
    """A passage's text without the marks before its first word (:data:`_LEADING_PASSAGE_MARKS`,
    and for a guideline a quote mark glued to it); both readers of the items use it.

    ``after_label``: the line's text right after the label. A rationale's opening quote mark
    glued to the label's colon that nothing closes ("Decision rationale:'Objective ...") is
    the label's space read as a mark; one after the space, or one the rationale closes, is the
    letter's quotation.
    """
    if kept[:1].isalnum():
        return kept  # the common case
    kept = _LEADING_PASSAGE_MARKS.sub("", kept)
    if name != "rationale" and kept[:1] in _QUOTES and kept[1:2].isalpha():
        kept = kept[1:]
    elif after_label[:1] in _QUOTES:
        kept = _UNCLOSED_QUOTE.sub("", kept, count=1)
    return kept


#: Stray marks OCR leaves at the end of a line (": :", "~~", "|"): not part of the text.
_TRAILING_MARKS = re.compile(r"(?:\s+[^\w\s(\[]{1,3})+$")


#: Debris OCR leaves after a passage's last sentence: marks and one- or two-character
#: fragments ("Physical Methods. : ae", "Page(s): 340. - 2"), a page number with a mark
#: glued before it ("necessary. -.4 -", the page's "- 4 -" with a space read as a mark; not
#: "Pagels) 24. 25.", OCR's "Page(s): 24-25."), or marks glued to its full stop, perhaps
#: with a stray full stop of their own ("(ESIs).‘.": a space before a lone "." read as a
#: mark), or a second full stop ("necessary..", where an ellipsis has three). The underscore
#: is a mark here, though a word character to regex ("(x-rays)._:", a space read as "_"
#: before a stray colon).
_TRAILING_DEBRIS = re.compile(
    r"(?:(?<=[.!?])(?:[^\w\s.)\]\"”]|_){1,3}\.?(?=\s|$)|(?<=[^.][.])\.[^\w\s.)\]\"”]{0,3}(?=\s|$)"
    r"|(?<=[.!?)\]\"'”’])(?=\s))"
    r"(?:\s+(?:[^\w\s]{1,3}|\w{1,2}|(?=\S{1,3}(?:\s|$))[^\w\s]+\d{1,2}[^\w\s]*))*\s*$"
)


_REMNANT = re.compile(r"^(\S{5,12})[.:;,)]\s+")


def _strip_label_remnant(text: str, name: str) -> str:
    """Drop the end of a damaged label the label match stopped short of ("guideline. ...")."""
    m = _REMNANT.match(text)
    if m is None:
        return text
    last = "rationale" if name == "rationale" else "guideline"
    return text[m.end() :] if fuzz.ratio(m.group(1).lower(), last) >= 60 else text


def _strip_trailing_marks(text: str) -> str:
    # Only the tail can hold them; searching the whole passage would cost a scan per space.
    m = _TRAILING_MARKS.search(text, max(0, len(text) - 24))
    text = text[: m.start()] if m else text
    m = _TRAILING_DEBRIS.search(text, max(0, len(text) - 24))
    return text[: m.start()] if m else text


@dataclass(frozen=True, slots=True)
class _Marker:
    line: int  # line holding the outcome
    header_end_col: int  # where the header text ends on that line (for "alone": 0)
    outcome: str
    alone: bool  # the outcome stands alone on its line


def _find_label(text: str) -> tuple[str, int] | None:
    # Every label ends in a colon-like character within its first 40 columns; most lines of a
    # rationale have none there, so this check keeps the common case cheap.
    head = text[:40]
    if ":" not in head and ";" not in head:
        return None
    for field, label in _LABELS:
        hit = match_label(text, label)
        if hit:
            return field, hit.value_start
    return None


def _outcome_marker(doc: Document, i: int, lo: int) -> _Marker | None:
    text = doc.lines[i].text
    if not text or _find_label(text):
        return None

    def above() -> str | None:
        j = i - 1
        while j >= lo and doc.lines[j].blank:
            j -= 1
        return doc.lines[j].text if j >= lo else None

    return line_marker(text, i, above)


def line_marker(text: str, i: int, above: Callable[[], str | None]) -> _Marker | None:
    """The outcome marker line ``i`` (``text``, no label line) holds: an outcome after a
    name ("...: Upheld"), or an outcome alone on its line right below a header line that ends
    with a colon (``above()``: the nearest line above with text in the items, or None; asked
    only then). Both readers of the items' form (the tolerant and the strict) use it."""
    m = _TRAILING_OUTCOME.search(text)
    if m and text[: m.start()].strip() and (outcome := parse_outcome(m.group(1))):
        return _Marker(i, m.start(), outcome, False)
    alone = _ALONE_OUTCOME.match(text)
    if alone and (outcome := parse_outcome(alone.group(1))):
        header = above()
        if header is not None and _COLON_END.search(_strip_trailing_marks(header.rstrip())):
            return _Marker(i, 0, outcome, True)
    return None


#: A header line's end before an outcome alone on the line below: a colon, perhaps with a mark
#: OCR glued to it ("... stability ball:," as the same line reads "ball:, Overturned").
_COLON_END = re.compile(r"[:;][^\w\s]{0,2}$")


#: The most words a part of an item header ending in a colon holds ("Associated surgical
#: service:", "Psychological testing:").
_PART_WORDS = 6
#: Words of a line ending in a colon that is no part of a header: a rationale's conclusion
#: whose full stop OCR read as a colon, the items' opening sentence ("... set forth below:").
_NO_PART = re.compile(r"necess|medically|appropriate|indicated|below|wean|taper", re.IGNORECASE)


#: Where a clause ends inside a line: a sentence's end or a comma, before a space.
_LAST_CLAUSE = re.compile(r"(?<=[.,;!?])\s+")


def colon_part(text: str) -> bool:
    """Whether a line ending in a colon may be a part of an item header that goes on below it:
    a short name before the colon, after the line's last sentence end or comma
    ("Psychological testing:" / "MMPI-2-RF and Beck Anxiety Inventory: Overturned";
    "Associated" / "surgical service:" / "Vascutherm unit," / "14 days rental: Upheld", as a
    narrow re-fill wraps it; "... portion of the original request, Psychological testing:"),
    no passage label, no conclusion anywhere on the line ("... is not medically necessary. :",
    OCR's marks after a rationale's end), not the items' opening sentence."""
    line = text.rstrip()
    if not line.endswith(":"):
        return False
    # The part is what follows the line's last sentence end or comma ("... of the original
    # request, Psychological testing:").
    tail = _LAST_CLAUSE.split(line)[-1]
    return (
        0 < len(_WORD_CHARS.findall(tail)) <= _PART_WORDS
        and not _find_label(line)
        and not _NO_PART.search(line)
    )


def header_goes_on(text: str) -> bool:
    """Whether an item header may go on from line ``text`` to the next: the line does not end
    a sentence (:func:`_continues`), ends a part of the header in a colon
    (:func:`colon_part`), or is the item's number alone ("2.": a copy numbered the items,
    and a re-fill broke the line after the number)."""
    return _continues(text) or colon_part(text) or ITEM_NUMBER.fullmatch(text.strip()) is not None


def _header_start(doc: Document, marker: _Marker, floor: int) -> int:
    """First line of the item header that ends at ``marker`` (never above ``floor``)."""
    lines = doc.lines
    first = marker.line
    if marker.alone:
        first -= 1
        while first > floor and lines[first].blank:
            first -= 1
    if (
        marker.outcome
        and not marker.alone
        and len(lines[marker.line].text[: marker.header_end_col].split()) <= 2
    ):
        # The header's last line holds only its end ("11/14/2016: Upheld" after "..., DOS:",
        # "Ultrasling: Upheld" after "Associated surgical service:"): a colon there wraps the
        # header, it does not end it.
        above = first - 1
        text = lines[above].text.rstrip() if above >= floor else ""
        if text.endswith(":") and not _TRAILING_OUTCOME.search(text[:-1]):
            first = above
    j = first - 1
    while j >= floor:
        if lines[j].blank:
            # Blank lines at the foot of a page mean nothing when the header continues a
            # sentence across the page break, nor a single blank line OCR put inside a
            # sentence (the line after it starts in lower case); anywhere else they end it.
            k = j
            while k >= floor and lines[k].blank:
                k -= 1
            inside = j == k + 1 and lines[first].text.lstrip()[:1].islower()
            if not (
                (lines[first].page_break or inside) and k >= floor and header_goes_on(lines[k].text)
            ):
                break
            j = k
        if not header_goes_on(lines[j].text) and not _stray_stop(lines[j].text, lines[first].text):
            break
        first = j
        j -= 1
    # A partly certified request: extend to the sentence naming the original request.
    header = " ".join(line.text for line in lines[first : marker.line + 1])
    mentions = original_request_mentions(header)
    # Only "...portion of the original request, Z is", or a sentence after X's: find X's.
    if len(mentions) == 1 or (mentions and not names_original(collapse_ws(header))):
        # OCR may put blank lines inside the sentence; a blank line after a sentence's end
        # still ends the search.
        j, found = first - 1, None
        while j >= max(floor, first - _ORIGINAL_SEARCH):
            if lines[j].blank:
                if j + 1 < len(lines) and not _continues(lines[j - 1].text if j else ""):
                    break
            elif mentions_original_at(lines[j].text, lines[j + 1].text):
                found = j
                break
            j -= 1
        if found is not None:
            first = found
            if lines[first].text.lstrip()[:1].islower():
                # It starts inside its sentence: OCR ended the line above with a stray stop
                # ("... for the left." / "knee was the original request").
                k = first - 1
                while k >= floor and lines[k].blank:
                    k -= 1
                if k >= floor and first - 1 - k <= 1:
                    first = k
            # X may begin on a line above the mention ("Ice/Heat pads\ntherapy times 12 was
            # the original request"), as a re-filled paragraph wraps it.
            # OCR may leave a blank line inside it: crossed when the line above carries on.
            while True:
                k = first - 1
                while k >= floor and lines[k].blank:
                    k -= 1
                if k < floor or first - 1 - k > 1 or not header_goes_on(lines[k].text):
                    break
                first = k
    return first


_CONCLUDES = re.compile(r"necess|medically|appropriate|indicated|wean|taper", re.IGNORECASE)


def _stray_stop(above: str, line: str) -> bool:
    """Whether ``above`` ends with a stop OCR put inside a sentence: the next line starts in
    lower case and ``above`` is no rationale's last line (which always states a conclusion),
    as in "Post-operative physical therapy 12 sessions for the left." / "knee was the
    original request"."""
    return line.lstrip()[:1].islower() and not _CONCLUDES.search(above)


def _continues(text: str) -> bool:
    """True when a line does not end a sentence, so the next line may carry it on.

    Stray marks OCR leaves after the sentence's end ("necessary. ©") do not continue it; a
    full stop standing apart after a word no sentence ends with ("Psychological testing:
    MMPI-2-RF and .") is itself OCR's mark, and the line goes on.
    """
    tail = text.rstrip()
    if tail and not tail.endswith(_SENTENCE_END):
        tail = _strip_trailing_marks(tail)
    if not tail.endswith(_SENTENCE_END):
        return True
    stray = _STOP_APART.search(tail, max(0, len(tail) - 24))
    return stray is not None and stray.group(1).lower() in DANGLING_WORDS


#: A full stop standing apart from the word before it, at a line's end.
_STOP_APART = re.compile(r"\b([A-Za-z]+)\s+\.$")


def find_item_markers(
    doc: Document, start: int, end: int
) -> tuple[list[_Marker], dict[int, tuple[str, int]]]:
    """The outcome markers of the items in lines ``[start, end)``, and the labelled lines.

    A marker must be followed by a label before the next marker; otherwise it is a stray
    "...: Upheld" inside a rationale, and is ignored. The grounding stage uses the count of
    markers to check how many items a model reports.
    """
    markers: list[_Marker] = []
    label_lines: dict[int, tuple[str, int]] = {}
    for i in range(start, end):
        label = _find_label(doc.lines[i].text)
        if label:
            label_lines[i] = label
            continue
        marker = _outcome_marker(doc, i, start)
        if marker:
            markers.append(marker)
    kept: list[_Marker] = []
    for k, marker in enumerate(markers):
        stop = markers[k + 1].line if k + 1 < len(markers) else end
        if any(marker.line < i < stop for i in label_lines):
            kept.append(marker)
        elif (
            k + 1 == len(markers)
            and kept
            and all(doc.lines[i].blank for i in range(marker.line + 1, end))
        ):
            # The letter ends right after this header: an item whose body was cut off, not a
            # stray marker (its header must not run into the rationale above).
            kept.append(marker)
    return kept or markers, label_lines


#: The verb before a partly certified request's marker ("..., Z is: Upheld"), after a space, a
#: mark OCR read for the space ("6’is", "12|is"), or glued to a name that ends with a digit or
#: a mark where OCR lost the space ("#60is").
_TRAILING_IS = re.compile(
    r"(?:\s+(?:is|[il1]s|was)|\s*[’'‘`|_~·.,]\s*(?:is|was)|(?<=[0-9%#)\]])(?:is|was))\s*$",
    re.IGNORECASE,
)
#: What may stand between "...of the original request," and the remaining portion's name:
#: the punctuation, and OCR's stray marks glued to the name ("request,|Post-op", "’Chiro").
#: Quotes that open a name and parentheses are kept.
_BEFORE_PORTION = " ,.;:|’`~_·¦•"
#: A quote mark glued to the portion's first word, with none closing it before the name's end
#: ("request,'Cyclobenzaprine 7.5mg #27 is"): the space after the comma read as a mark. A
#: quote that opens a name closes it ("'Ultrasling' is"); an apostrophe inside a word
#: ("Smith's") closes nothing.
_UNCLOSED_QUOTE = re.compile(r"^['\"‘“](?=\w)(?!.*\w['’\"”](?!\w))")


@dataclass(frozen=True, slots=True)
class PartialRequest:
    """A partly certified request: X was the original request; Z is what was decided.

    ``same_request``: the header's wording decides the original request itself ("...,
    leaving the original request IMR eligible. The original request, Z is"), so X and Z name
    one request (a misprint aside); in the other wording Z is the remaining portion."""

    original_request: str
    service: str
    same_request: bool = False
    #: How many times the header ends a sentence with "the original request." after a verb
    #: ("X was the original request."; OCR may read the comma of "portion of the original
    #: request," as a full stop), or names the request after "the original request," (the
    #: more of the two): once in every wording; twice is a line of it printed again.
    closings: int = 1


def split_partial_request(header: str) -> PartialRequest | None:
    """Read a partly certified request's header, in each wording seen.

    "X was the original request. Y was authorized ... The remaining IMR eligible portion of the
    original request, Z is" and "X was the original request. The Claims Administrator
    authorized ..., leaving the original request IMR eligible. The original request, Z is". None
    when the header does not name an original request; raises ValueError when it does but
    cannot be read, so no engine takes the sentence for the service.
    """
    text = collapse_ws(header)
    mentions = original_request_mentions(text)
    if not mentions:
        return None
    if len(mentions) < 2:
        raise ValueError("the partly certified request's wording could not be read")
    (s0, _), (_, e1) = mentions[0], mentions[-1]
    # X: before "<was> the original request"; Z: after the last mention.
    before = re.sub(r"\s+t\S{1,2}\s*$", "", text[:s0].rstrip())  # "the", when not in the mention
    before = _unglued(before, "was", text)  # "rentalwas"
    verb = _VERB_BEFORE.search(before)  # "was" ("12‘was")
    if verb is None:
        # No "X was the original request" ("..., leaving the original request IMR eligible"):
        # the header does not hold X's sentence.
        raise ValueError("the partly certified request's wording could not be read")
    orig = before[: verb.start()]
    svc = _UNCLOSED_QUOTE.sub("", text[e1:].lstrip(_BEFORE_PORTION))
    svc = _TRAILING_NAME_MARKS.sub("", _TRAILING_IS.sub("", _unglued(svc, "is", text)))
    orig = _TRAILING_NAME_MARKS.sub("", orig)
    if not orig or not svc or len(svc) > max(200, 2 * len(orig) + 40):
        raise ValueError("the partly certified request's wording could not be read")
    if any(_NOT_A_NAME.search(part) for part in (orig, svc)):
        # The request's own sentences read into it (a repeated or merged line).
        raise ValueError("the partly certified request's wording could not be read")
    lowered = text.lower()
    same = "leaving" in lowered and "portion" not in lowered
    closings = sum(
        text[end : end + 3].lstrip()[:1] == "."
        and text[max(0, start - 4) : start].strip().lower() != "of"  # "portion of the ... ."
        for start, end in mentions
    )
    # "..., Z is" follows "the original request," once in either wording.
    namings = sum(text[end : end + 3].lstrip()[:1] == "," for _, end in mentions)
    return PartialRequest(orig.strip(" .,"), svc, same, max(closings, namings))


_WORD_CHARS = re.compile(r"[A-Za-z0-9-]+")
#: The verb before "the original request" in "X was the original request", OCR's damage and
#: marks included ("vvas", "12‘was"): a word of two to four characters.
_VERB_BEFORE = re.compile(r"(?:\s+|[‘’'`·,_~|]+)\S{2,4}\s*$")


#: How many lines above a partly certified request's last sentence its first ("X was the
#: original request") is looked for: its sentences over a narrow re-fill's lines.
_ORIGINAL_SEARCH = 12


def mentions_original_at(line: str, below: str) -> bool:
    """Whether "the original request" starts on ``line``, perhaps wrapping onto the line
    ``below`` ("... times 12 was the original" / "request. ...")."""
    if original_request_mentions(line):
        return True
    joined = line + " " + below
    return any(start < len(line) for start, _ in original_request_mentions(joined))


def names_original(header: str) -> bool:
    """Whether ``header`` (collapsed) holds a partly certified request's "X was the original
    request": its first mention of the original request follows a verb. A header found from
    its marker up may start below that sentence ("Ultrasling times 6, leaving the original
    request IMR eligible. The original request, Z is"): X is then on the lines above."""
    mentions = original_request_mentions(header)
    if not mentions:
        return True
    before = re.sub(r"\s+t\S{1,2}\s*$", "", header[: mentions[0][0]].rstrip())
    return _VERB_BEFORE.search(_unglued(before, "was", header)) is not None


def _unglued(name: str, verb: str, header: str) -> str:
    """``name`` without ``verb`` glued to its last word where OCR lost the space before it
    ("..., 6 sessionsis: Upheld", "21-day rentalwas the original request"): only where the
    word without it is printed elsewhere in the header ("12 sessions was the original
    request") and the glued form nowhere else. Names that end in the verb's letters
    ("analysis", "arthrodesis") are left alone: their stem is no word of the header."""
    cut = len(name.rstrip())
    last = name[:cut].rsplit(None, 1)[-1] if name.strip() else ""
    if len(last) < len(verb) + 3 or not last.lower().endswith(verb) or not last.isalpha():
        return name
    words = [w.lower() for w in _WORD_CHARS.findall(header)]
    stem = last[: -len(verb)].lower()
    if stem in words and words.count(last.lower()) == 1:
        return name[: cut - len(verb)] + " " + verb
    return name


#: What no requested item's name holds: the partial request's own wording.
_NOT_A_NAME = re.compile(
    r"\bauthori[sz]ed\b|\bremaining\s+IMR\b|\bIMR\s+eligible\b|\boriginal\s+request\b",
    re.IGNORECASE,
)


@dataclass
class ItemPlace:
    """One disputed item as the letter lays it out.

    ``header`` is the text before the outcome marker (the service, or a partly certified
    request's sentences); ``outcome`` the marker's reading, None when OCR left it unreadable;
    ``passages`` the labelled parts, each running from just after its label to the next label
    or the next item (``None`` when the label could not be found).
    """

    header: Place
    outcome: Reading[str] | None
    outcome_place: Place
    passages: dict[str, Place | None]
    end: int  # source offset where the item ends (the next item's header, or the letter's end)
    from_marker: bool = True  # False: found by its labels, the marker being unreadable

    @property
    def header_text(self) -> str:
        return collapse_ws(self.header.text)


@dataclass
class ItemsForm:
    """The items section: every item found, and how many decision rationales it shows."""

    items: list[ItemPlace]
    rationale_labels: int
    start: int  # source offset where the section's items begin


def _marker_from_labels(doc: Document, label_line: int, floor: int) -> _Marker | None:
    """A marker for an item whose outcome word OCR destroyed: the line above its first label."""
    j = label_line - 1
    while j >= floor and doc.lines[j].blank:
        j -= 1
    if j < floor:
        return None
    text = doc.lines[j].text
    cut = max(text.rfind(":"), text.rfind(";"))
    # The marker's colon lost ("MRI of the knee Upheld", "Pre-op labs: CBC Upheld"): an
    # outcome word written whole ends the line, other words between it and any colon.
    last = _LAST_WORD.search(text)
    if last is not None and (cut < 0 or any(ch.isalnum() for ch in text[cut + 1 : last.start(1)])):
        word = read_outcome(last.group(1))
        if word is not None and word.exact:
            return _Marker(j, last.start(1), word.value, False)
    col = cut if cut >= 0 and len(text) - cut <= 18 else len(text.rstrip())
    tail = text[cut + 1 :] if cut >= 0 else ""
    reading = read_outcome(tail) if tail.strip() else None
    return _Marker(j, col, reading.value if reading else "", False)


#: A line's last word, after a space.
_LAST_WORD = re.compile(r"\s([A-Za-z]{6,10})\s*$")


def _all_markers(
    doc: Document, start: int, end: int
) -> tuple[list[_Marker], dict[int, tuple[str, int]]]:
    """Markers found by their outcome word, plus one for each item whose word is unreadable.

    Every item's passages begin with a label (usually "Claims Administrator guideline:"); a
    run of labels with no marker above it since the previous run is an item whose marker OCR
    destroyed.
    """
    markers, label_lines = find_item_markers(doc, start, end)
    starts: list[int] = []
    previous: str | None = None
    for i in sorted(label_lines):
        name = label_lines[i][0]
        if (
            previous is None
            or previous == "rationale"
            or (name == "claims_administrator_guideline" and previous != name)
        ):
            starts.append(i)
        previous = name
    out = list(markers)
    marker_lines = [m.line for m in markers]
    for k, line in enumerate(starts):
        lo = starts[k - 1] if k else start
        if any(lo <= m < line for m in marker_lines):
            continue
        if label_lines[line][0] != "claims_administrator_guideline":
            continue  # without its first label, the line above is no header
        made = _marker_from_labels(doc, line, lo + 1 if k else start)
        if made is not None and made.line not in marker_lines:
            out.append(made)
    out.sort(key=lambda m: m.line)
    return out, label_lines


def read_items_form(doc: Document, start: int, end: int) -> ItemsForm:
    """Every item in lines ``[start, end)`` of the items section."""
    markers, label_lines = _all_markers(doc, start, end)
    rationales = sum(1 for f, _ in label_lines.values() if f == "rationale")
    section_start = doc.lines[start].start if start < len(doc.lines) else len(doc.source)
    if not markers:
        return ItemsForm([], rationales, section_start)
    header_starts: list[int] = []
    floor = start
    for marker in markers:
        header_starts.append(_header_start(doc, marker, floor))
        floor = marker.line + 1
    items: list[ItemPlace] = []
    for k, marker in enumerate(markers):
        body_end = header_starts[k + 1] if k + 1 < len(markers) else end
        items.append(_item_place(doc, marker, header_starts[k], body_end, label_lines))
    return ItemsForm(items, rationales, section_start)


def _place(doc: Document, start: int, end: int, how: str = "region", label=None) -> Place:
    return Place(start, end, doc.source[start:end], how, label)


def _item_place(
    doc: Document,
    marker: _Marker,
    first: int,
    body_end: int,
    label_lines: dict[int, tuple[str, int]],
) -> ItemPlace:
    lines = doc.lines
    lead = len(lines[first].text) - len(lines[first].text.lstrip())
    header_start = lines[first].start + lead
    if marker.alone:
        last = marker.line - 1
        while last > first and lines[last].blank:
            last -= 1
        parts = [line.text for line in lines[first : last + 1]]
        header_end = lines[last].end
    else:
        parts = [line.text for line in lines[first : marker.line]]
        parts.append(lines[marker.line].text[: marker.header_end_col])
        header_end = doc.offset(marker.line, marker.header_end_col)
    # Joined from the letter's lines, so page furniture between them is left out.
    # No item's name ends with a mark but a bracket, a per cent or a quote: a colon, comma or
    # stray mark left before the outcome ("12 sessions: ,", "#27 ·") is the marker's or OCR's.
    header_text = _TRAILING_NAME_MARKS.sub("", _LEADING_MARKS.sub("", collapse_ws(" ".join(parts))))
    header = Place(header_start, header_end, header_text, "marker")
    outcome_place = _place(doc, header_end, lines[marker.line].end, "marker")
    outcome = None
    if marker.outcome:
        word = read_outcome(outcome_place.text)
        exact = word is not None and word.exact and word.value == marker.outcome
        outcome = Reading(marker.outcome, exact, 0, len(outcome_place.text))

    found: list[tuple[int, str, int]] = []  # (line, field, column)
    for i in range(marker.line + 1, body_end):
        if i in label_lines:
            name, column = label_lines[i]
            if not any(f == name for _, f, _ in found):
                found.append((i, name, column))
    labelled = set(found)
    found = _find_damaged_labels(doc, found, marker.line + 1, body_end)
    unsure = {
        (i, name)
        for i, name, column in found
        if (i, name, column) not in labelled and _unsure_label(lines[i].text, name)
    }
    passages: dict[str, Place | None] = {name: None for name, _ in _LABELS}
    for n, (i, name, column) in enumerate(found):
        stop = found[n + 1][0] if n + 1 < len(found) else body_end
        last = stop - 1
        while last > i and lines[last].blank:
            last -= 1
        value_start = doc.offset(i, column)
        label = (lines[i].start, value_start)
        parts = [lines[i].text[column:]] + [line.text for line in lines[i + 1 : last + 1]]
        kept = _strip_label_remnant(_strip_trailing_marks(collapse_ws(" ".join(parts))), name)
        rest = lines[i].text[column:]
        lead = len(rest) - len(rest.lstrip())
        # A passage starts with a word; marks before it ("~ Decision based on") are OCR's.
        kept = strip_leading_marks(kept, name, rest)
        how = UNSURE_LABEL if (i, name) in unsure else "label"
        passages[name] = Place(value_start + lead, lines[last].end, kept, how, label)
    end_offset = lines[body_end].start if body_end < len(lines) else len(doc.source)
    return ItemPlace(header, outcome, outcome_place, passages, end_offset, bool(marker.outcome))


_TWO_WORDS_AT_START = re.compile(r"\s*(\S+)\s+([A-Za-z]\S*?)([:;.,)|\]}]|\s)")
_NEXT_WORD = re.compile(r"\s+([A-Za-z]\S*?)([:;.,)|\]}]|\s|$)")
#: For each label: (its first word, a test of its second word as OCR left it).
_DAMAGED_LABELS = {
    "claims_administrator_guideline": ("Claims", lambda w: fuzz.ratio(w, "administrator") >= 60),
    "maximus_guideline": ("MAXIMUS", lambda w: fuzz.ratio(w, "guideline") >= 55),
    # "Decision based on ..." opens many guideline lines: any other second word is the label.
    "rationale": ("Decision", lambda w: fuzz.ratio(w, "based") < 60),
}


#: How a passage's place was found (:attr:`~imr_llm.form.places.Place.how`) when its label is
#: a first word and another word that is no reading of the label's own ("Decision The
#: California MTUS ...", the label's "rationale:" lost; "Decision pone", OCR's): that other
#: word may be the passage's first, taken for the label's.
UNSURE_LABEL = "unsure label"
#: The least score (rapidfuzz ratio) of a damaged label's second word against the label's
#: own for the label to be read as damaged rather than lost: OCR's readings of "rationale"
#: score 67 or more ("ragonales", "rahonaic", "rationa"); "pone" 46, "The" 33.
_LABEL_WORD_SCORE = 50


def _damaged_label(text: str, name: str) -> int | None:
    """Column after a label OCR damaged past matching ("MAXIMUS puvdeline)", "Decision pone")."""
    m = _TWO_WORDS_AT_START.match(text)
    if m is None:
        return None
    first, test = _DAMAGED_LABELS[name]
    if fuzz.ratio(m.group(1).lower(), first.lower()) < 75 or not test(m.group(2).lower()):
        return None
    if name == "claims_administrator_guideline" and not m.group(3).strip():
        # The label's third word, its colon lost ("Claims Administrator guideline The Claims
        # Administrator based ..."): part of the label, not the guideline's first word.
        third = _NEXT_WORD.match(text, m.end(2))
        if third is not None and fuzz.ratio(third.group(1).lower(), "guideline") >= 55:
            return third.end(2) if third.group(2).strip() else third.end(1)
    return m.end(3) if m.group(3).strip() else m.end(2)


def _unsure_label(text: str, name: str) -> bool:
    """Whether the damaged label starting ``text`` (:func:`_damaged_label` found it) has a
    second word that is no reading of its own: only the rationale's test takes any word."""
    m = _TWO_WORDS_AT_START.match(text)
    return (
        name == "rationale"
        and m is not None
        and fuzz.ratio(m.group(2).lower(), "rationale") < _LABEL_WORD_SCORE
    )


def _find_damaged_labels(
    doc: Document, found: list[tuple[int, str, int]], start: int, end: int
) -> list[tuple[int, str, int]]:
    """Add the labels missing from ``found`` whose damaged form starts a line in their range.

    Labels come in a fixed order, so a missing one is looked for only between the labels
    before and after it, and only at the start of a line that follows a blank line or a
    sentence's end (where a passage can begin).
    """
    names = [name for name, _ in _LABELS]
    have = {name for _, name, _ in found}
    if len(have) == len(names):
        return found
    out = sorted(found)
    for idx, name in enumerate(names):
        if name in have:
            continue
        before = [line for line, n, _ in out if names.index(n) < idx]
        after = [line for line, n, _ in out if names.index(n) > idx]
        lo = max(before, default=start - 1) + 1
        hi = min(after, default=end)
        for i in range(lo, hi):
            line = doc.lines[i]
            if line.blank or (
                i > lo and not doc.lines[i - 1].blank and _continues(doc.lines[i - 1].text)
            ):
                continue
            column = _damaged_label(line.text, name)
            if column is not None:
                out.append((i, name, column))
                out.sort()
                break
    return out


#: An outcome marker inside an item's name; its word may run into a capital ("injection:
#: UpheldPage 3 of 5", a space lost before a page counter), not into a lower-case letter.
_MARKER_INSIDE = re.compile(
    rf"[:;]\s*(?:{ocr_pattern('Upheld').pattern}|{ocr_pattern('Overturned').pattern})"
    r"(?-i:(?![a-z0-9_]))",
    re.IGNORECASE,
)


_AFTER_COLON = re.compile(r"[:;]\s*([A-Za-z0-9][^\s:;,.]{3,13})")


def marker_inside(header: str) -> bool:
    """Whether an item header holds another item's outcome marker: two items read as one
    (a repeated header line, "Right shoulder MRI: Overtumed Right shoulder MRI")."""
    if _MARKER_INSIDE.search(header):
        return True
    return any(parse_outcome(m.group(1)) for m in _AFTER_COLON.finditer(header))


def says_no_evidence(passage: str) -> bool:
    """The Claims Administrator guideline passage that says none was cited (a null value)."""
    return contains_phrase(passage, NO_EVIDENCE_PHRASE)


#: The no-evidence sentence as the form prints it.
NO_EVIDENCE_SENTENCE = f"The Claims Administrator {NO_EVIDENCE_PHRASE} for its decision."
#: A word of four letters or more, in any script (OCR's "Adminístrotor" is one word).
_LONG_WORD = re.compile(r"[^\W\d_]{4,}")


def words_beside_no_evidence(passage: str) -> list[str]:
    """The words of four letters or more a no-evidence passage holds outside its sentence
    (found where it reads best, through OCR's damage): every letter prints the sentence alone
    after its label, so two or more such words are a line read into it out of its place
    ("... for its decision. ACOEM Practice Guidelines, 2nd Edition", the next guideline's
    line), which the null the sentence gives would lose."""
    at = passage.find(NO_EVIDENCE_SENTENCE)
    if at >= 0:  # the common case, without aligning
        outside = passage[:at] + " " + passage[at + len(NO_EVIDENCE_SENTENCE) :]
    else:
        found = fuzz.partial_ratio_alignment(NO_EVIDENCE_SENTENCE.lower(), passage.lower())
        if found is None:
            return []
        outside = passage[: found.dest_start] + " " + passage[found.dest_end :]
    return _LONG_WORD.findall(outside)
