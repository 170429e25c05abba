"""What every check shares: a value's status, the checks' ledger, the letter's damage.

A letter's damage (its estimated character error rate) decides how a difference is judged:
on fax-quality OCR a digit that differs from the answer through a common OCR confusion is
unreadable, not wrong, so the value is kept and flagged instead of contradicted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz

from ..form import LetterForm
from ..form.generations import FORM_2016, FORM_SENTENCES
from ..form.reading import (
    read_case_number,
    read_date,
    read_priority,
)
from ..form.text import (
    collapse_ws,
)
from ..inputs.normalise import INLINE_FURNITURE

Status = Literal["exact", "repaired", "unverified"]


#: Estimated character error rate above which a letter is treated as fax-quality OCR: a digit
#: that differs from the answer through a common OCR confusion is then unreadable, not wrong.
FAX_DAMAGE = 0.05


#: Digit pairs OCR confuses on poor scans (3/8, 1/7, 5/6...; 3/4 seen in the fax rendering of a
#: 2013 notice's "Dated:" year).
_DIGIT_CONFUSIONS = frozenset(
    frozenset(p)
    for p in ("38", "17", "56", "08", "06", "09", "68", "89", "14", "27", "35", "58", "69", "13",
              "34")
)  # fmt: skip


#: How closely a passage's first or last words must match the letter at the passage's edge.
EDGE_THRESHOLD = 70.0


#: How closely a service must match the item header at its marker.
SERVICE_THRESHOLD = 85.0


@dataclass(frozen=True, slots=True)
class ValueEvidence:
    """One value's evidence (the public form is :class:`imr_llm.record.models.Evidence`)."""

    status: Status
    span: tuple[int, int] | None
    note: str


@dataclass
class Checked:
    """What checking a record found: evidence per path, contradictions, and passage texts."""

    evidence: dict[str, ValueEvidence] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Paths whose values contradict the letter (kept in a best-effort record, flagged).
    contradicted: dict[str, str] = field(default_factory=dict)
    #: Contradictions no OCR damage explains: never demoted on a damaged letter.
    certain: set[str] = field(default_factory=set)

    def put(self, path: str, status: Status, span: tuple[int, int] | None, note: str) -> None:
        self.evidence[path] = ValueEvidence(status, span, note)

    def wrong(
        self,
        path: str,
        message: str,
        span: tuple[int, int] | None = None,
        *,
        certain: bool = False,
    ) -> None:
        """Record a contradiction of the letter at ``path``. ``certain``: one no OCR damage
        explains (a value left out that the letter states, read exactly), never demoted to a
        flag on a damaged letter (:func:`~imr_llm.evidence.check.demote_structure`)."""
        if certain:
            self.certain.add(path)
        self.errors.append(f"{path}: {message}")
        self.contradicted[path] = message
        self.evidence[path] = ValueEvidence(
            "unverified", span, f"contradicts the letter: {message}"
        )


def letter_damage(form: LetterForm) -> float:
    """Estimated OCR character error rate of the letter.

    Two signs, the larger taken: how far the form sentences every letter of its form prints
    are from their text (the worst of them: damage is uneven on a page), and the share of words
    OCR garbled (marks inside words, letters mixed with digits: ``Uphe1d``, ``OF/E22018``),
    which runs at roughly a third of the character error rate.
    """
    source = form.doc.source
    if not source:
        return 1.0
    lowered = form.doc.lowered()
    collapsed = " ".join(lowered.split())
    worst = 0.0
    for sentence in FORM_SENTENCES.get(getattr(form, "letter_form", FORM_2016), ()):
        if sentence in collapsed:
            continue  # the common case, decided without a fuzzy search
        hit = fuzz.partial_ratio_alignment(sentence, lowered)
        score = hit.score if hit is not None else 0.0
        worst = max(worst, 1.0 - score / 100.0 if score >= 50 else 1.0)
    counted, garbled = _garbled_shares(source)
    header = header_damage(form)
    estimate = round(max(worst, 2.5 * counted, header), 4)
    if estimate and not worst and not garbled and not header:
        # The share the estimate was calibrated on counts words clean text prints ("7.5mg",
        # "(ICD9", "30°", "“The") as garbled: a third of the clean letters read above 0. A
        # letter whose form sentences are whole and whose every word is clean has no OCR
        # damage to read, and the checks that ask for such a letter run on it.
        return 0.0
    return estimate


def header_damage(form: LetterForm) -> float:
    """A header whose values mostly cannot be read is fax-quality text, however well the
    form sentences came through."""
    places = list(form.header.places.values())
    if len(places) < 4:
        return 0.0
    unread = 0
    for name, place in form.header.places.items():
        if name == "case_number":
            unread += read_case_number(place.text) is None
        elif name == "priority":
            unread += read_priority(place.text) is None
        else:
            unread += read_date(place.text) is None
    return FAX_DAMAGE if unread / len(places) >= 0.4 else 0.0


_ODD_MARK = re.compile(r"[^A-Za-z0-9.,;:()'\"/%&#\-$+@*\[\]?!]")


_LETTER_DIGIT = re.compile(r"[A-Za-z][0-9]|[0-9][A-Za-z]")


#: Words that mix letters and digits (or print a degree sign) as clean text does: a dose or
#: an amount with its unit, also in a list or a range ("7.5mg", "10/325mg", "320.5/30/16mg",
#: "120grams", "30°"), a spinal level ("L4-5", "C5-C6", "l4-l5"), a case number, a count ("#60"), a
#: size or a number of times ("2x3", "x2", "×2"), a code's name ("ICD9", "A1c"); a hyphen
#: after it where a line broke the word ("H2-"). Left out, each was counted as OCR's damage:
#: a third of the clean letters read as damaged, so the checks that ask for a letter without
#: OCR damage (a guideline ending on a comma, a specialty completed from its start) did not
#: run there.
_UNIT = r"(?:mg|ml|mcg|gm?|grams?|cm|mm|x|th|st|nd|rd|s|%|°|inches|lbs?|kg)"
_FINE_MIXED = re.compile(
    rf"(?:\d+(?:\.\d+)?{_UNIT}?(?:[/-]\d+(?:\.\d+)?{_UNIT}?)*"
    r"|[A-Z]{1,2}\d+(?:-[A-Z]?\d+)?|[ctls]\d\d?(?:-[ctls]?\d\d?)?|CM\d\d-\d+|#\d+|\d+[x×]\d+"
    r"|[x×]\d+|ICD-?(?:9|10)|A1[cC])-?"
)
#: The mixes :func:`letter_damage`'s estimate counts clean, as its thresholds (``FAX_DAMAGE``
#: among them) were calibrated: a dose without a decimal or a list, a spinal level, a case
#: number, a count.
_CALIBRATED_MIXED = re.compile(
    r"\d+(?:mg|ml|mcg|g|cm|mm|x|th|st|nd|rd|s|%)?|[A-Z]{1,2}\d+(?:-[A-Z]?\d+)?|CM\d\d-\d+|#\d+"
)
#: Typographic quotes, which clean text prints around words ("“The", "therapy.”").
_EDGE_QUOTES = "“”‘’"


def garbled_share(text: str) -> float:
    """Share of the words of ``text`` that OCR garbled, as :func:`letter_damage`'s estimate
    counts them (see :func:`_garbled_shares`)."""
    return _garbled_shares(text)[0]


def _garbled_shares(text: str) -> tuple[float, float]:
    """Two shares of the words of ``text`` that OCR garbled: as the damage estimate's
    thresholds were calibrated (:data:`_CALIBRATED_MIXED`: a dose with a decimal or a unit of
    its own counts, so the estimate reads clean letters a little above 0), and by
    :func:`clean_word`, which counts no word clean text prints."""
    words = text.split()
    if not words:
        return 0.0, 0.0
    counted = bad = 0
    for word in words:
        if word.isascii() and (
            word.isalpha() or (word[:-1].isalpha() and word[-1] in ".,;:!?)'\"")
        ):
            continue  # a plain word, perhaps with a comma or a full stop: the common case
        core = word.strip(".,;:()'\"")
        counted += bool(_ODD_MARK.search(word)) or (
            bool(_LETTER_DIGIT.search(core)) and not _CALIBRATED_MIXED.fullmatch(core)
        )
        bad += not clean_word(word)
    return counted / len(words), bad / len(words)


_WORD4 = re.compile(r"[A-Za-z]{4,}")


_ACRONYM = re.compile(r"[A-Z]{2,5}")


def clean_word(word: str) -> bool:
    """Whether ``word`` reads as clean text prints it: no mark OCR leaves (inside a word: a
    quote there is OCR's, "years’and"), no letters and digits mixed but as
    :data:`_FINE_MIXED` mixes them."""
    quoted = word.strip(_EDGE_QUOTES) or word
    core = quoted.strip(".,;:()'\"")
    if _FINE_MIXED.fullmatch(core):
        return True
    return not _ODD_MARK.search(quoted) and not _LETTER_DIGIT.search(core)


def legible(text: str) -> bool:
    """Whether a place holds readable words at all (not just marks and fragments): at least
    half of its words with letters are clean, and one is a word of four letters or more or an
    acronym ("Pre-op EKG" is legible, "“Tye? :" is not).

    Decided at once when half of the words with letters are plain ASCII words (always clean)
    and one of them has four letters or more, as on almost every clean letter."""
    plain = other = 0  # plain words; other words holding a letter
    long_word = False
    for w in text.split():
        if w.isalpha() and w.isascii():
            plain += 1
            long_word = long_word or len(w) >= 4
        elif not w.isdigit() and any(c.isalpha() for c in w):
            other += 1
    if long_word and plain >= other:  # half of the words with letters plain
        return True
    return _legible_by_words(text)


def _legible_by_words(text: str) -> bool:
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    clean = [w for w in words if clean_word(w)]
    return (
        bool(clean)
        and len(clean) * 2 >= len(words)
        and any(_WORD4.search(w) or _ACRONYM.fullmatch(w.strip(".,;:()")) for w in clean)
    )


def status_of(exact: bool) -> Status:
    return "exact" if exact else "repaired"


def excerpt(text: str, limit: int = 40) -> str:
    text = collapse_ws(text)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def confusable(a: str, b: str) -> bool:
    """Same length, and every differing digit a pair OCR confuses."""
    if len(a) != len(b):
        return False
    diffs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return bool(diffs) and all(frozenset((x, y)) in _DIGIT_CONFUSIONS for x, y in diffs)


#: Page furniture a model may copy into a quote where the passage crosses a page: a running
#: head's case number (no passage cites one), a fax banner, "Page 2 of 5", "- 2 -".
_QUOTED_FURNITURE = re.compile(
    rf"(?:Case\s+Number\s*:?\s*)?\bCM\d{{2}}-\d{{7}}\b|{INLINE_FURNITURE.pattern}"
    # The end of a banner a quote's first or last few words cut ("9165551234 MAXIMUS p.002/007").
    r"|(?:\b\d{7,}\s+)?\bMAXIMUS(?:\s+FEDERAL\s+SERVICES)?\s+[@P]\.?\s?\d{1,3}\s?/\s?\d{1,3}\b"
    r"|\bFAX\s+\d{7,}\b",
    re.IGNORECASE,
)


def without_furniture(words: str) -> str:
    """A quote's words without the page furniture the letter prints among them (the passage
    the record keeps has none), where words are left."""
    if not _QUOTED_FURNITURE.search(words):
        return words
    kept = collapse_ws(_QUOTED_FURNITURE.sub(" ", words))
    return kept if kept.strip(" .,;:") else words


def as_date(value: object) -> dt.date:
    """A date value of a record or an answer as a date: the engines give dates, a model's
    answer ISO strings."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
