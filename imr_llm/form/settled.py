"""Whether a letter's phrases already sit where the form puts them, decided fast and exactly.

:func:`~imr_llm.form.relayout.relayout` looks for every form phrase through OCR damage, with any
whitespace between its words, and rewrites whitespace where a phrase does not start its line.
Its OCR-tolerant patterns are tried at every character of the letter (about a millisecond for
a letter), yet on nearly every letter as printed they find nothing to move. :func:`settled`
answers "would :func:`relayout` return ``text`` unchanged?" in a few tens of microseconds,
without guessing: it returns True only when no pattern of :func:`relayout` can move anything,
and False (so :func:`relayout` runs in full) whenever it cannot tell.

Why the test is exact (each point is a necessary condition of a move):

- A line label ("Decision rationale"...) moves text only where a match of its pattern is
  followed by a colon; the match then ends, before any spaces, right where the colon's line
  holds the label's *last word*. So only colons after something the last word's pattern
  matches are looked at, and each such line must hold exactly the label from its start: then
  the pattern's match is that label itself (every letter of a label matches one character,
  and the line's words pin the alignment), which has no line break inside and no words before
  it on its line, so nothing moves.
- A heading matches only where its words are; each heading's pattern holds a run of capitals
  that OCR's look-alikes leave alone ("DETERM", "UMMARY", "NALE"), so a heading can match only
  where that run is printed, and the line there must be exactly the heading.
- Page furniture inside a line needs "FAX" or "Page" (its patterns' literal words); where one
  is printed, the pattern itself is run and each match's line is looked at as it would be.
- A 2013 notice's phrases move text only in a letter with the notice's sign, whose two
  alternatives start at "Notice" or "Independent"; the pattern is tried at each of those.

Case-insensitive patterns match ASCII letters also in four other characters (``İ ı K ſ``);
a letter holding one is not decided here.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..inputs.normalise import inline_furniture
from .text import case_special

#: The last character of every line label's last word, as its pattern reads it (lower case).
_LAST_CHARS = frozenset("ecoéèêyv")
#: (a run of capitals only each heading's pattern holds, the heading).
_HEADING_RUNS = (
    ("DETERM", "HOW THE IMR FINAL DETERMINATION WAS MADE"),
    ("UMMARY", "CLINICAL CASE SUMMARY"),
    ("NALE", "IMR ISSUES, DECISIONS AND RATIONALES"),
)


@lru_cache(maxsize=1)
def _labels() -> tuple[frozenset[str], re.Pattern[str], re.Pattern[str]]:
    """The line labels, one pattern of their last words ending where it is searched, and one
    of the last three letters of those words (each letter through its look-alikes)."""
    from .relayout import _LINE_LABELS, _phrase

    last_words = [label.split(" ")[-1] for label in _LINE_LABELS]
    words = dict.fromkeys(last_words)
    pattern = "|".join(f"(?:{_phrase(word).pattern})" for word in words)
    ends = "|".join(f"(?:{_phrase(word[-3:]).pattern})" for word in words)
    return (
        frozenset(_LINE_LABELS),
        re.compile(f"(?:{pattern})\\Z", re.IGNORECASE),
        re.compile(f"(?:{ends})", re.IGNORECASE),
    )


#: How far before a colon a label's last word can start ("Certification(s)/Specialty" with
#: every letter read as its longest look-alike).
_LAST_WORD_REACH = 60


#: The last text :func:`settled` answered for, and its answer: the fast path asks first, and
#: for a letter it leaves to the tolerant reading :func:`~imr_llm.form.relayout.relayout` asks
#: again of the same ``str`` object. Kept by identity (the reference keeps the object alive,
#: so no other text can have it); replaced whole, so a thread reads one pair or another.
_last: tuple[str, bool] | None = None


def settled(text: str, lowered: str | None = None) -> bool:
    """True when :func:`~imr_llm.form.relayout.relayout` would return ``text`` unchanged.

    ``lowered``: ``text.lower()``, when the caller has it already.
    """
    global _last
    last = _last
    if last is not None and last[0] is text:
        return last[1]
    answer = form_settled(text) and not notice_sign(
        text, text.lower() if lowered is None else lowered
    )
    _last = (text, answer)
    return answer


def form_settled(text: str) -> bool:
    """True when none of the 2016 form's phrases (its line labels, its headings, page
    furniture inside a line) would make :func:`~imr_llm.form.relayout.relayout` move anything.

    :func:`settled` less the 2013 notice's phrases: a notice as printed fails :func:`settled`
    by its sign alone, and :func:`~imr_llm.form.relayout.relayout` then needs to look for the
    notice's phrases only.
    """
    if case_special(text):
        return False
    return _labels_settled(text) and _headings_settled(text) and _no_inline_furniture(text)


def _labels_settled(text: str) -> bool:
    """Every colon after a label's last word ends a line holding just that label.

    A line that holds just a label passes whatever its last word; other colons are tested
    for the last word's last three letters first (one match attempt), then for the word.
    """
    labels, last_word, last_three = _labels()
    for colon in ":;":
        c = text.find(colon)
        while c >= 0:
            e = c
            while e > 0 and text[e - 1] in " \t":
                e -= 1
            if e > 2 and text[e - 1].lower() in _LAST_CHARS:
                line_start = text.rfind("\n", 0, e) + 1
                if (
                    text[line_start:e].strip() not in labels
                    and last_three.fullmatch(text, e - 3, e) is not None
                    and last_word.search(text, max(0, e - _LAST_WORD_REACH), e) is not None
                    and _label_moves(text, e, line_start)
                ):
                    return False
            c = text.find(colon, c + 1)
    return True


def _lines_above(text: str, line_start: int, count: int) -> int:
    """Where the line ``count`` lines above the one starting at ``line_start`` starts."""
    for _ in range(count):
        if line_start == 0:
            break
        line_start = text.rfind("\n", 0, line_start - 1) + 1
    return line_start


def _label_moves(text: str, e: int, line_start: int) -> bool:
    """Whether :func:`relayout` would move text for a line label matched right before the
    colon at ``e`` (a line that does not hold just the label, say a damaged one).

    Every match :func:`relayout` can find there starts somewhere from the line as many lines
    up as the label has gaps (each gap holds at most one line break) and is the pattern's
    match at its start; each is tried, and none may hold a line break or follow words on its
    line.
    """
    from .relayout import _LINE_LABELS, _phrase

    for label in _LINE_LABELS:
        pattern = _phrase(label)
        for s in range(_lines_above(text, line_start, label.count(" ")), e):
            m = pattern.match(text, s)
            if m is None or m.end() != e:
                continue
            if "\n" in text[s:e]:
                return True
            start = text.rfind("\n", 0, s) + 1
            if s and _words(text[start:s]) and text[s - 1] in " \t":
                return True
    return False


def _headings_settled(text: str) -> bool:
    for run, heading in _HEADING_RUNS:
        at = text.find(run)
        while at >= 0:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            if text[start : len(text) if end < 0 else end].strip() != heading and (
                _heading_moves(text, at, start, run, heading)
            ):
                return False
            at = text.find(run, at + 1)
    return True


def _heading_moves(text: str, at: int, line_start: int, run: str, heading: str) -> bool:
    """Whether :func:`relayout` would move text for a match of ``heading`` holding the ``run``
    printed at ``at`` (on a line that is not just the heading).

    Such a match starts at most as many lines up as there are words before the run's word
    (each gap holds at most one line break), and is the pattern's match at its start; each
    is tried: none may hold a line break, follow words on its line or run on into words.
    """
    from .relayout import _phrase

    pattern = _phrase(heading, upper=True)
    before = heading[: heading.index(run)].count(" ")
    for s in range(_lines_above(text, line_start, before), at + 1):
        m = pattern.match(text, s)
        if m is None or m.end() <= at:
            continue
        if "\n" in text[s : m.end()]:
            return True
        start = text.rfind("\n", 0, s) + 1
        if s and _words(text[start:s]) and text[s - 1] in " \t":
            return True
        end = text.find("\n", m.end())
        rest = text[m.end() : len(text) if end < 0 else end]
        if _words(rest) and rest[:1].isspace():
            return True
    return False


def _no_inline_furniture(text: str) -> bool:
    """No banner or page number inside a line that :func:`relayout` would put on its own."""
    matches = inline_furniture(text)
    for m in matches:
        if "\n" in m.group():
            return False  # a banner a re-fill wrapped: relayout joins it
        start = text.rfind("\n", 0, m.start()) + 1
        before = text[start : m.start()]
        if _words(before) and text[m.start() - 1] in " \t":
            return False
        end = text.find("\n", m.end())
        rest = text[m.end() : len(text) if end < 0 else end]
        if _words(rest) and rest[:1].isspace():
            return False
    return True


def notice_sign(text: str, lowered: str) -> bool:
    """Whether ``text`` (``lowered`` its lower case) prints a 2013 notice's sign: its title or
    its decision heading (:data:`~imr_llm.form.relayout._NOTICE_SIGN`)."""
    from .relayout import _NOTICE_SIGN

    for word in ("notice", "independent"):
        at = lowered.find(word)
        while at >= 0:
            if _NOTICE_SIGN.match(text, at):
                return True
            at = lowered.find(word, at + 1)
    return False


def _words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)
