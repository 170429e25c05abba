"""Where each letter starts, in a text that may hold more than one.

A bundle of letters scanned as one file, the text of two PDFs joined, a first page fed twice
through a scanner: the text holds another first page after the letter's own. Read as one
letter, the second letter's items join the first letter's items and its header and opening
paragraphs end up inside the last rationale. Every value then reads exactly where it sits, so
no check of single values can tell; the record is wrong as a whole. Both engines therefore
refuse such a text (:class:`~imr_llm.errors.MultipleLettersError`, raised where the letter's
sections are found), and :func:`split_letters` cuts it into one text per letter.

A letter's first page is told by what only a first page prints: the 2016 form's determination
heading (or the form sentence after it, where OCR lost the heading), the 2013 notice's title,
the review letters' title. Later pages of the same letter never print these. After the issues
heading, the 2016 form prints none of its three headings again, so one there is a page of the
letter's start printed again (the summary's or the issues' page fed twice).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from ..inputs.copied import as_read
from ..inputs.normalise import HEADER_LINE, Document, document
from .sections import (
    _DETERMINATION_FALLBACK,
    _ISSUES_FALLBACK,
    _SUMMARY_FALLBACK,
    HEADING_DETERMINATION,
    HEADING_ISSUES,
    HEADING_SUMMARY,
    Sections,
)
from .text import contains_phrase, is_heading

__all__ = ["other_letter_at", "split_letters", "letter_starts"]

#: The title a 2013 notice prints in a line (with the letterhead or the date), and the title
#: a review letter prints on a line of its own.
_NOTICE_TITLE = "Notice of Independent Medical Review Determination"
_REVIEW_TITLE = "MEDICAL PROFESSIONAL REVIEW"
#: For each heading, form sentence and title: lower-case words of which one survives in a line
#: holding it, even through OCR damage. Only lines holding one are tested, found by a search of
#: the whole text for each word (a test of every line costs a third of a millisecond), and a
#: line only for what its words may be. The notice's title needs its first word: the 2016
#: form's opening paragraph ends "... Independent Medical Review determinations.".
_HINTS: dict[str, tuple[str, ...]] = {
    HEADING_DETERMINATION: ("final", "how the", "was made"),
    HEADING_SUMMARY: ("summary", "clinical case"),
    HEADING_ISSUES: ("issues", "decisions", "rationales"),
    _DETERMINATION_FALLBACK: ("complete case", "case file", "expert review"),
    _SUMMARY_FALLBACK: ("developed", "case summary", "following clinical"),
    _ISSUES_FALLBACK: ("decisions", "disputed"),
    _NOTICE_TITLE: ("notice", "otice"),
    _REVIEW_TITLE: ("professional", "profess"),
}
_WORDS = tuple(dict.fromkeys(word for words in _HINTS.values() for word in words))
#: After the issues heading the 2016 form prints none of its headings and form sentences again.
_AFTER_ITEMS = ((HEADING_DETERMINATION, HEADING_SUMMARY, HEADING_ISSUES, _REVIEW_TITLE),
                (_DETERMINATION_FALLBACK, _SUMMARY_FALLBACK, _ISSUES_FALLBACK,
                 _NOTICE_TITLE))  # fmt: skip
_OPENING = ((HEADING_DETERMINATION, _REVIEW_TITLE), (_DETERMINATION_FALLBACK, _NOTICE_TITLE))
#: The lines at the items' start that may still hold their opening sentence.
_ITEMS_OPENING = 3
#: How many lines above a first-page mark a letter's letterhead and header may reach: an OCR'd
#: header prints each label and value on a line of its own, blank lines between.
_WALK = 48
#: How many lines after a first-page mark another may be part of the same opening: a title
#: above the letterhead, the determination heading and its sentence are one opening; another
#: letter's opening is a whole letter further.
_SAME_OPENING = 25
#: Lower-case words of a 2016 letter's first-page marks, for a text as printed (see
#: :func:`imr_llm.form.strict.strict_form`, which leaves any text naming a notice's title to
#: the tolerant reading): one of them after the items start, or one of :data:`OPENING_WORDS`
#: twice, means the tolerant reading must decide.
START_WORDS = (
    "final determination was made",
    "complete case file",
    "clinical case summary",
    "imr issues",
    "decisions for the disputed",
    "developed the following clinical",
)
#: Lower-case words a 2016 letter's opening prints once.
OPENING_WORDS = ("final determination was made", "complete case file")


def _first_page_mark(text: str, headings: tuple[str, ...], phrases: tuple[str, ...]) -> str:
    """The one of ``headings`` a line prints on its own, or of ``phrases`` it holds (each
    tried where the line holds one of its words); '' for none."""
    lowered = text.lower()
    for heading in headings:
        if any(w in lowered for w in _HINTS[heading]) and is_heading(text, heading):
            return heading
    for phrase in phrases:
        if any(w in lowered for w in _HINTS[phrase]) and contains_phrase(text, phrase):
            return phrase
    return ""


#: How many lines after a notice's title its opening shows: its date ("Dated: 9/26/2013") or
#: its first determination ("1) MAXIMUS Federal Services, Inc. has determined the request").
_NOTICE_OPENING = 8


def _opens(doc: Document, line: int, mark: str) -> bool:
    """Whether the mark at ``line`` opens a letter: a notice's title only where its date or
    first determination follows (a later page may print the title at its top, as a running
    head); every other mark is a letter's opening by itself."""
    if mark != _NOTICE_TITLE:
        return True
    for text in (ln.text for ln in doc.lines[line : line + _NOTICE_OPENING]):
        lowered = text.lower()
        if "dated" in lowered or contains_phrase(text, "has determined the request"):
            return True
    return False


def _candidates(doc: Document) -> list[int]:
    """The lines of ``doc`` holding a word of :data:`_HINTS`, in order."""
    lowered = doc.lowered()
    lines = doc.lines
    starts = [line.start for line in lines]
    found: set[int] = set()
    for word in _WORDS:
        at = lowered.find(word)
        while at >= 0:
            i = bisect_right(starts, at) - 1
            end = starts[i] + len(lines[i].text) if i >= 0 else 0
            if at < end:
                found.add(i)
                at = lowered.find(word, end)
            else:
                at = lowered.find(word, at + 1)
    return sorted(found)


def other_letter_at(doc: Document, sections: Sections) -> int | None:
    """The line of ``doc`` where another letter's first page (or a page of the letter's
    start printed again) shows, after the letter's own; None for a text of one letter.

    The marks within a few lines of the first, and before a 2016 letter's summary, are its
    own opening (a title, the determination heading, its sentence).
    After a 2016 letter's items start, its headings and their sentences count too (the items'
    own opening sentence aside, which opens the items where OCR damage kept it from being
    passed over)."""
    lines = doc.lines
    after = sections.items[0] + _ITEMS_OPENING if sections.items is not None else len(lines)
    body = sections.summary[0] if sections.summary is not None else None
    first: int | None = None
    for i in _candidates(doc):
        if i >= after:
            mark = _first_page_mark(lines[i].text, *_AFTER_ITEMS)
            if mark and _opens(doc, i, mark):
                return i
            continue
        mark = _first_page_mark(lines[i].text, *_OPENING)
        if not mark or (first is not None and not _opens(doc, i, mark)):
            continue
        if first is None:
            first = i
        elif i - first > _SAME_OPENING or (body is not None and i >= body):
            return i
    return None


_TRAILING_DEBRIS = re.compile(r"[\s:;|'\"~`,_-]+$")


def _is_prose(line: str) -> bool:
    """Whether a line is the previous letter's prose rather than the next letter's letterhead
    or header: eight words or more, the end of a sentence (OCR debris after it aside), or
    words mostly in small letters; never a header line, a line in capitals, or the letterhead
    ("MAXIMUS", "Federal Services | L110.", its logo OCR'd as marks)."""
    if HEADER_LINE.search(line) or line == line.upper():
        return False
    words = line.split()
    lowered = line.lower()
    if "maximus" in lowered or "federal services" in lowered:
        return len(words) >= 8
    if len(words) >= 8 or _TRAILING_DEBRIS.sub("", line).endswith((".", '."', ".)")):
        return True
    # A sentence's last words, a fax's damage having taken its full stop ("medically
    # necessary"): mostly words in small letters, where a header's are labels and numbers.
    small = sum(1 for w in words if w.isalpha() and w.islower())
    return len(words) >= 2 and small * 3 >= len(words) * 2


def _start_offset(source: str, mark: int, floor: int) -> int:
    """Where the letter whose first-page mark is at ``mark`` starts in ``source``: after the
    previous letter's last text line above the mark, the lines between being the new letter's
    letterhead and header (short lines, header labels and values); never before ``floor``.

    A line of the previous letter is prose (:func:`_is_prose`)."""
    start = at = max(source.rfind("\n", 0, mark) + 1, floor)
    for _ in range(_WALK):
        if at <= floor:
            break
        above = max(source.rfind("\n", 0, at - 1) + 1, floor)
        line = source[above:at].strip()
        if line and _is_prose(line):
            break
        if line:
            start = above
        at = above
    while start < mark and source[start] in "\f\n":
        start += 1  # a form feed ends the page before: it stays with the letter before
    return start


def letter_starts(text: str) -> list[int]:
    """The offsets in ``text`` where each letter it holds starts (the first is 0), found in
    the text as the engines read it (:func:`imr_llm.inputs.copied.as_read`)."""
    read = as_read(text)
    if read.text is text:
        return _starts(text)
    return [read.original(at, at)[0] for at in _starts(read.text)]


def _starts(text: str) -> list[int]:
    from . import _sections, relaid  # imported here: the form package imports this module

    starts = [0]
    while True:
        at = starts[-1]
        doc = relaid(document(text[at:]))
        line = other_letter_at(doc, _sections(doc))
        if line is None or line == 0:
            return starts
        # The header above the mark is looked for no further back than the lines just
        # after the previous letter's own start.
        floor = at + doc.lines[min(line, 4)].start
        start = _start_offset(text, at + doc.lines[line].start, floor)
        if start <= at:
            return starts  # no progress (cannot happen for a mark past line 0): stop
        starts.append(start)


def split_letters(text: str) -> list[str]:
    """``text`` cut into one text per letter it holds (one text when it holds one letter).

    A first page printed twice is cut off as a letter of its own: extracting it then fails or
    needs review, and the rest reads as the letter."""
    if not isinstance(text, str):
        kind = "bytes; decode them first" if isinstance(text, bytes) else type(text).__name__
        raise TypeError(f"split_letters() takes the text as str, not {kind}")
    starts = letter_starts(text)
    ends = [*starts[1:], len(text)]
    return [text[s:e] for s, e in zip(starts, ends, strict=True)]
