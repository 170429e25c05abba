"""The answers of a few tolerant readers and checks, found without scanning a whole passage.

Several readers and checks the fast path shares with the tolerant reading run a pattern at every
character of a case summary or a rationale, though only a few places can match: an age phrase ends
with "old", a sentence ends at a full stop. Each function here gives **the same answer** as the
function it names, by running that function's own pattern (or the function itself) only where a
match can be, with the reason it cannot be elsewhere said beside it. ``tests/test_fast_path.py``
holds each equal to its original on the corpus and on generated strings. Where the shared function
itself could be made as fast (the evidence stage's passage-end, label-inside, conclusion and
legibility checks, the engine's self-check), it was, and it has no twin here.
"""

from __future__ import annotations

import re

from ..form.reading import Reading, read_date
from ..form.summary import INJURY, date_window, read_ages
from .summary import _DIAGNOSES


def first_age(text: str) -> Reading[int] | None:
    """``read_ages(text)[0]`` (or None).

    :func:`~imr_llm.form.summary.read_ages` reads one age per "old"-like word, in text order,
    looking only before the word. So its first reading is its first reading of the text up to
    the first whitespace after any "old": tried up to each literal "old" in turn (a damaged
    "o1d" before it is inside that prefix), and on the whole text when none gives one.
    """
    if _special(text):
        ages = read_ages(text)
        return ages[0] if ages else None
    lowered = text.lower()
    at = lowered.find("old")
    while at >= 0:
        cut = at + 3
        while cut < len(text) and not text[cut].isspace():
            cut += 1
        ages = read_ages(text[: cut + 1])
        if ages:
            return ages[0]
        at = lowered.find("old", cut)
    ages = read_ages(text)
    return ages[0] if ages else None


#: Where an alternative of ``INJURY`` can start (lower-cased text): "injury" whole or as OCR
#: splits it ("inj nry"), "date of injury", "DOI", "industrial ...". Kept beside ``INJURY``'s
#: alternatives; the test of the bounded readers over every letter holds the two equal.
_INJURY_START = re.compile(r"in\s?j|date|doi|industrial")
#: Characters case-insensitive patterns take for an ASCII letter ("İ" also lower-cases to two).
_CASE_SPECIAL = ("\u0130", "\u0131", "\u017f", "\u212a")


def _special(text: str) -> bool:
    return not text.isascii() and any(ch in text for ch in _CASE_SPECIAL)


def read_injury_date(text: str) -> Reading | None:
    """:func:`imr_llm.form.summary.read_injury_date`, with its pattern tried only where a
    match can start: every alternative of ``INJURY`` starts with one of
    :data:`_INJURY_START` (case aside), so the first of those at or after a position where
    the pattern matches is where ``finditer`` finds its next match."""
    if _special(text):
        from ..form.summary import read_injury_date as tolerant

        return tolerant(text)
    lowered = text.lower()
    pos = 0
    while True:
        at = _next_word(lowered, pos)
        m = None
        while at >= 0:
            m = INJURY.match(text, at)
            if m is not None:
                break
            at = _next_word(lowered, at + 1)
        if m is None:
            return None
        after = date_window(text, m.end())
        reading = read_date(after)
        if reading is not None and reading.start <= 3:
            s = m.end() + reading.start
            return Reading(reading.value, reading.exact, s, m.end() + reading.end)
        pos = m.end()


def _next_word(lowered: str, pos: int) -> int:
    m = _INJURY_START.search(lowered, pos)
    return m.start() if m is not None else -1


def diagnoses(text: str) -> re.Match[str] | None:
    """``_DIAGNOSES.search(text)``: its matches start with "diagnos" (case aside)."""
    if _special(text):
        return _DIAGNOSES.search(text)
    at = text.lower().find("diagnos")
    return _DIAGNOSES.search(text, at) if at >= 0 else None
