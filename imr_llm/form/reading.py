"""Read a short value at its place, through OCR damage, and say how it was read.

Every short value of a record has a closed form (a case number, a date, a priority, an
outcome; the lists of states and specialties are read in :mod:`imr_llm.form.vocabulary`). OCR
damages the characters but rarely the form, so a value can often be read back exactly:
``o1/31/2017`` is 2017-01-31, ``PCM16-0123456`` is CM16-0123456, ``U pheld`` is Upheld. Each
reader returns a :class:`Reading`: the value, whether it was written as is (``exact``) or read
through damage (``repaired``), and when nothing could be read, ``None``. Both engines read
through these functions, and the evidence stage compares a model's value with what they read,
so the rules engine, the validators and the scores agree.

A reading never guesses between two candidates: when damage makes a value ambiguous, it is not
read, and the value's place counts as unreadable.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from rapidfuzz import fuzz, process

from .text import MONTHS

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Reading(Generic[T]):
    """A value read from the letter: ``exact`` when written as is, else read through damage.

    ``start``/``end`` are offsets within the text that was read.
    """

    value: T
    exact: bool
    start: int
    end: int


# --------------------------------------------------------------------------------------------
# Digits through OCR damage
# --------------------------------------------------------------------------------------------

#: Characters OCR prints for a digit. Only used inside a token that is mostly digits.
_DIGIT_LIKE = {
    "O": "0", "o": "0", "D": "0", "Q": "0",
    "I": "1", "l": "1", "i": "1", "|": "1", "!": "1", "]": "1", "[": "1",
    "S": "5", "s": "5", "$": "5",
    "B": "8",
    "Z": "2", "z": "2",
    "G": "6",
    "g": "9", "q": "9",
}  # fmt: skip
_DIGIT_CLASS = "0-9" + re.escape("".join(_DIGIT_LIKE))


def _digits(token: str) -> str:
    return "".join(_DIGIT_LIKE.get(ch, ch) for ch in token)


# --------------------------------------------------------------------------------------------
# Case numbers
# --------------------------------------------------------------------------------------------

_D = f"[{_DIGIT_CLASS}]"
#: A case number's shape: CM (or what is left of it), 2 digits, a dash-like mark, 7 digits.
#: The prefix may be lost or glued to other marks ("PCM16-...", "M16-...", "416-...").
_CASE = re.compile(
    rf"(?P<prefix>[A-Za-z0-9|]{{0,3}}?)\s?(?P<yy>{_D}{{2}})\s?[-\u2013\u2014~_.,=]?\s?(?P<serial>{_D}{{7}})(?![0-9])"
)
_PREFIX = re.compile(r"[CGOc(]?[MNmn]|[A-Za-z|]?[CG][MN]|[0-9]|[A-Za-z|]")
CASE_NUMBER_FORM = re.compile(r"(?<![A-Za-z0-9|])CM\d{2}-\d{7}(?![0-9])")


def read_case_number(text: str, *, prefixed: bool = False) -> Reading[str] | None:
    """The case number written in ``text`` (its first one), read through OCR damage.

    With ``prefixed`` what is left of the "CM" must be there: away from its label, nine digits
    alone are more likely a date or a phone number than a case number.
    """
    exact = CASE_NUMBER_FORM.search(text)
    if exact:
        return Reading(exact.group(0), True, exact.start(), exact.end())
    for m in _CASE.finditer(text):
        prefix = m.group("prefix")
        if prefix and not _PREFIX.fullmatch(prefix):
            continue
        if prefixed and not re.search(r"[MNmn]", prefix or ""):
            continue
        yy, serial = _digits(m.group("yy")), _digits(m.group("serial"))
        if not (yy.isdigit() and serial.isdigit()):
            continue
        return Reading(f"CM{yy}-{serial}", False, m.start(), m.end())
    return None


def case_number_digits(text: str) -> list[str]:
    """Every 9-digit skeleton (2 + 7 digits) of a case-number-like token in ``text``."""
    return [_digits(m.group("yy")) + _digits(m.group("serial")) for m in _CASE.finditer(text)]


#: One to three digits, then one or two spaces, at the end of a text: no digit glued before
#: them, nor a word (a mark may be, "| -1 1/02/2016", and the article OCR glued, "a'3 4").
_APART = re.compile(r"(?<![0-9])(?<![A-Za-z]{2})(\d{1,3})[ \t]{1,2}$")


def digits_apart(text: str, start: int) -> int | None:
    """Where a run of digits standing apart right before ``start`` begins, or None: "3 2 year
    old", "Date of Injury: 1 1/01/2016". OCR prints a space inside a number, and reads a table
    rule as a "1": the value read at ``start`` may be a piece of a longer number, or the whole
    with debris before it, and the text cannot say which. No letter writes a number right
    before an age or a header's date."""
    if start == 0 or not text[start - 1].isspace():
        return None  # the common case: a value at the start of its place, or glued to a mark
    lo = max(0, start - 8)
    m = _APART.search(text, lo, start)
    return None if m is None else m.start()


#: Two digits standing apart right after a value: a space or two, then two digits ending a
#: number (not the start of another date).
_APART_AFTER = re.compile(r"[ \t]{1,2}[0-9]{2}(?![0-9]|[/.\-][0-9])")
_TWO_DIGIT_END = re.compile(r"(?<![0-9])[0-9]{2}$")


def year_apart(text: str, start: int, end: int) -> int | None:
    """Where two digits standing apart right after a date at ``text[start:end]`` written with
    a two-digit year end, or None: "injury on 7-16-20 01" (read as 2020, OCR's space inside
    2001). No letter writes a number right after such a date."""
    if end >= len(text) or text[end] not in " \t" or not _TWO_DIGIT_END.search(text, start, end):
        return None
    m = _APART_AFTER.match(text, end)
    return None if m is None else m.end()


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

#: Two-digit years above this are 19xx, others 20xx ("6/19/07" is 2007, "4/2/85" is 1985).
TWO_DIGIT_YEAR_PIVOT = 40

_SEP = r"\s?[/.\-|lI1]?\s?"
#: A numeric date; never one whose two-digit year its own separator and a digit follow: it is
#: the start of a longer date ("ID | 10/13" in "VOID | 10/13/2016", a stamp's letters read as
#: digits). A range may follow a date: "10/13/2016-11/14/2016", "5/9/16-6/1/16".
_NUM_DATE = re.compile(
    rf"(?<![0-9])(?P<m>{_D}{{1,2}})\s?(?P<s1>[/.\-|lI])\s?(?P<d>{_D}{{1,2}})\s?(?P<s2>[/.\-|lI])"
    rf"\s?(?P<y>{_D}{{4}}(?![0-9])|{_D}{{2}}(?![0-9])(?!\s?(?P=s2)\s?[0-9]))"
)
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_WORD_DATE = re.compile(
    rf"\b(?P<mon>{_MONTH_ALT})\.?\s+(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>[0-9]{{4}})\b",
    re.IGNORECASE,
)
_PLAIN_DATE = re.compile(r"(?<![0-9])\d{1,2}([/.-])\d{1,2}\1(?:\d{4}|\d{2})(?![0-9])")


def full_year(year: int) -> int:
    """A two-digit year pivoted to its century ("07" is 2007, "85" is 1985); others as given."""
    if year < 100:
        year += 1900 if year > TWO_DIGIT_YEAR_PIVOT else 2000
    return year


def make_date(year: int, month: int, day: int) -> dt.date | None:
    """A real date, or None; two-digit years are pivoted, implausible years refused."""
    year = full_year(year)
    if not 1900 <= year <= 2100:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def read_dates(text: str) -> list[Reading[dt.date]]:
    """Every date written in ``text``, in text order, each read through OCR damage.

    A reading is ``exact`` when the date is written in a clean numeric or word form; OCR'd
    digits ("o1/31/2017"), a glued mark ("|-12/30/2016" reads from the 12) or a misread slash
    make it ``repaired``.
    """
    found: list[Reading[dt.date]] = []
    pos = 0
    while (m := _NUM_DATE.search(text, pos)) is not None:
        # A rejected match may hide a date starting one character later ("|-12/30/2016").
        reading = _numeric_date(m)
        if reading is None:
            # Never a shorter number cut out of a damaged one: "l1/3O/2O16" is no 1/30/2016.
            glued = m.group("m")[0] not in _RULES and m.end("m") - m.start() > 1
            pos = m.end("m") if glued else m.start() + 1
            continue
        found.append(reading)
        pos = m.end()
    for m in _WORD_DATE.finditer(text):
        value = make_date(int(m.group("y")), MONTHS[m.group("mon").lower()], int(m.group("d")))
        if value:
            found.append(Reading(value, True, m.start(), m.end()))
    if "-" in text:
        for m in _ISO_DATE.finditer(text):
            value = make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            if value:
                found.append(Reading(value, True, m.start(), m.end()))
    found.sort(key=lambda r: r.start)
    return found


#: A date written year first, as a system exports it ("2016-12-07"): unambiguous, and no
#: other date pattern reads inside it (their numbers may not follow a digit).
_ISO_DATE = re.compile(r"(?<![0-9/.-])([12][0-9]{3})-([0-9]{1,2})-([0-9]{1,2})(?![0-9])")


#: Marks a table's rules print ("UR Denial Date: || 10/14/2016"): read as a digit only when
#: glued to a real one ("1|/30/2016"), never as a number on their own.
_RULES = frozenset("|[]!")


def _ruled(group: str) -> bool:
    """Whether a date's number is only a table rule's marks, or marks set apart by a space."""
    return all(ch in _RULES for ch in group) or (
        any(ch in _RULES for ch in group) and not any(ch.isdigit() for ch in group)
    )


def _numeric_date(m: re.Match[str]) -> Reading[dt.date] | None:
    if _ruled(m.group("m")) or _ruled(m.group("d")):
        return None
    mo, dy, yr = (_digits(m.group(k)) for k in ("m", "d", "y"))
    if not (mo.isdigit() and dy.isdigit() and yr.isdigit()):
        return None
    raw = m.group("m") + m.group("d") + m.group("y")
    if sum(ch.isdigit() for ch in raw) < len(raw) - 2:
        return None  # mostly letters: a word, not a damaged date
    s1, s2 = m.group("s1"), m.group("s2")
    if s1 != s2 and not ({s1, s2} <= set("/|lI")):
        return None
    if "/" not in (s1, s2) and s1 not in "-.":
        return None  # at least one real separator: "1l1l11" is not a date
    value = make_date(int(yr), int(mo), int(dy))
    if value is None:
        return None
    exact = bool(_PLAIN_DATE.fullmatch(m.group(0)))
    return Reading(value, exact, m.start(), m.end())


def read_date(text: str) -> Reading[dt.date] | None:
    """The first date written in ``text``."""
    dates = read_dates(text)
    return dates[0] if dates else None


def date_digits(text: str) -> str:
    """The digits (OCR'd digits read as digits) of ``text``: what is left of a damaged date."""
    return "".join(ch for ch in _digits(text) if ch.isdigit())


def date_forms(value: dt.date) -> tuple[str, ...]:
    """The digit strings a letter may write ``value`` as (11/09/2016, 11/9/16, 2016-11-09...)."""
    m, d, y = value.month, value.day, value.year
    forms = []
    for ms in (f"{m:02d}", f"{m}"):
        for ds in (f"{d:02d}", f"{d}"):
            for ys in (f"{y}", f"{y % 100:02d}"):
                forms.append(ms + ds + ys)
    forms.append(f"{y}{m:02d}{d:02d}")  # year first, as a system exports a date
    return tuple(dict.fromkeys(forms))


# --------------------------------------------------------------------------------------------
# Closed vocabularies: priority, outcome, sex
# --------------------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9$|!][A-Za-z0-9$|!'’.]*(?:\s[A-Za-z0-9]{1,3}(?![A-Za-z0-9]))?")


def read_word(
    text: str, vocabulary: tuple[str, ...], threshold: float = 75.0, margin: float = 8.0
) -> Reading[str] | None:
    """The first word of ``text`` that is (an OCR-damaged spelling of) one vocabulary word.

    "Stadar" reads as "standard", "U pheld" as "upheld" (a letter split off by OCR is tried
    joined to the next word). A word close to two vocabulary words is not read.
    """
    lowered = [v.lower() for v in vocabulary]
    for m in re.finditer(r"\S+", text):
        token = m.group(0)
        if not token.strip(".,:;'\"|_-~()’‘“”"):
            continue  # a mark alone (": Upheld"), not part of the word
        candidates = [(token, m.start(), m.end())]
        nxt = re.match(r"\s+(\S+)", text[m.end() :])
        if nxt and len(token.strip(".,:;'\"|_-~")) <= 2:
            candidates.append((token + nxt.group(1), m.start(), m.end() + nxt.end()))
        for joined, (word, start, end) in enumerate(candidates):
            key = word.strip(".,:;'\"|_-~()’‘“”").lower()
            if key in lowered:
                exact = not joined and key == word.strip(".,:;").lower()
                return Reading(vocabulary[lowered.index(key)], exact, start, end)
            if len(key) < 4:
                continue
            scores = process.extract(key, lowered, scorer=fuzz.ratio, limit=2)
            best = scores[0]
            runner_up = scores[1][1] if len(scores) > 1 else 0.0
            if best[1] >= threshold and best[1] - runner_up >= margin:
                return Reading(vocabulary[best[2]], False, start, end)
    return None


PRIORITIES = ("standard", "expedited")
OUTCOMES = ("upheld", "overturned")


def read_priority(text: str) -> Reading[str] | None:
    """``standard`` / ``expedited`` in ``text``, through OCR damage ("Stadar", "Stan dard")."""
    return read_word(text, PRIORITIES, threshold=72.0)


def read_outcome(text: str) -> Reading[str] | None:
    """``upheld`` / ``overturned`` in ``text`` ("Uphe1d", "U pheld", "0verturned")."""
    return read_word(text, OUTCOMES, threshold=70.0)
