"""What the clinical case summary states, and where: age, sex, date of injury.

These are free-text sentences, so the readers are narrow: a value is read only where a familiar
phrase states it ("a 59 year old male", "sustained an industrial injury on 6/19/07"). OCR
damage is tolerated in the phrase's words ("41 yeer o1d") and digits ("4B year old").
"""

from __future__ import annotations

import re

from ..text import ocr_pattern
from .reading import Reading, read_date

_YEAR, _OLD = ocr_pattern("year").pattern, ocr_pattern("old").pattern
_AGE = re.compile(
    rf"(?<![\w/.-])(?P<n>[0-9OoIlSB]{{1,3}})\s*[- ]?\s*(?:{_YEAR}|yr)s?\s*[- ]?\s*{_OLD}\b",
    re.IGNORECASE,
)
_AGE_EXACT = re.compile(r"\d{1,3}\s*[- ]?\s*(?:year|yr)s?\s*[- ]?\s*old", re.IGNORECASE)
#: An age phrase whose number OCR destroyed: "a ?? year old".
_AGE_DAMAGED = re.compile(rf"\S{{1,4}}\s*[- ]?\s*{_YEAR}s?\s*[- ]?\s*{_OLD}\b", re.IGNORECASE)
_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "S": "5", "B": "8"})

SEX_WORDS = {
    "male": "male", "female": "female", "man": "male", "woman": "female",
    "gentleman": "male", "lady": "female",
}  # fmt: skip
_SEX = re.compile(
    r"(?<![A-Za-z])(?:" + "|".join(ocr_pattern(w).pattern for w in SEX_WORDS) + r")(?![A-Za-z])",
    re.IGNORECASE,
)
_SEX_CLEAN = re.compile(r"\b(male|female)\b|\b(?:a|the)\s+(man|woman|gentleman|lady)\b", re.I)
_INJURY = re.compile(
    r"(?:injur(?:y|ies|ed)|date\s+of\s+injury|DOI)\s*(?:on|of|dated|date|was|is|:)?\s*"
    r"(?:on\s+|of\s+)?",
    re.IGNORECASE,
)


def read_ages(text: str) -> list[Reading[int]]:
    """Every age phrase in ``text`` whose number can be read ("48 year old", "4B-year-old")."""
    out: list[Reading[int]] = []
    for m in _AGE.finditer(text):
        digits = m.group("n").translate(_DIGITS)
        if not digits.isdigit() or not 0 < int(digits) <= 120:
            continue
        exact = bool(_AGE_EXACT.fullmatch(m.group(0)))
        out.append(Reading(int(digits), exact, m.start("n"), m.end("n")))
    return out


def has_damaged_age(text: str) -> bool:
    """Whether ``text`` holds an age phrase whose number could not be read."""
    return bool(_AGE_DAMAGED.search(text)) and not read_ages(text)


def read_sex(text: str, near: int = 0) -> Reading[str] | None:
    """The first sex word (male/female/man/woman...) at or after offset ``near``."""
    for m in _SEX.finditer(text, near):
        word = m.group(0).lower()
        exact = word in SEX_WORDS
        key = word if exact else _closest_sex_word(word)
        if key is None:
            continue
        return Reading(SEX_WORDS[key], exact, m.start(), m.end())
    return None


def _closest_sex_word(word: str) -> str | None:
    squashed = re.sub(r"[^a-z]", "", word.replace("0", "o").replace("1", "l"))
    for key in sorted(SEX_WORDS, key=len, reverse=True):
        if ocr_pattern(key).fullmatch(word) or squashed == key:
            return key
    return None


def read_injury_date(text: str) -> Reading | None:
    """The date of injury a summary states ("sustained an industrial injury on 6/19/07")."""
    for m in _INJURY.finditer(text):
        after = text[m.end() : m.end() + 24]
        reading = read_date(after)
        if reading is not None and reading.start <= 3:
            s = m.end() + reading.start
            return Reading(reading.value, reading.exact, s, m.end() + reading.end)
    return None
