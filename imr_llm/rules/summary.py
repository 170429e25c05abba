"""Read what the clinical case summary states: age, sex, date of injury, diagnoses.

These are free-text sentences, so the rules are deliberately narrow: a value is taken only when
a familiar phrase states it ("a 59 year old male", "sustained an industrial injury on 6/19/07",
"The diagnoses have included ..."). Anything else stays null rather than guessed.
"""

from __future__ import annotations

import re

from ..normalise import Document
from ..text import iter_dates
from .findings import Findings

_AGE = re.compile(
    r"\b(\d{1,3})\s*[- ]?\s*(?:year|yr)s?\s*[- ]?\s*old\b(?:\s+(?:[a-z]+\s+){0,2}?"
    r"(?P<sex>male|female|man|woman|gentleman|lady)\b)?",
    re.IGNORECASE,
)
_SEX_WORD = re.compile(r"\b(male|female)\b", re.IGNORECASE)
_SEX_NOUN = re.compile(r"\b(?:a|the)\s+(man|woman|gentleman|lady)\b", re.IGNORECASE)
_SEX_MAP = {
    "male": "male", "female": "female", "man": "male", "woman": "female",
    "gentleman": "male", "lady": "female",
}  # fmt: skip
_INJURY = re.compile(
    r"(?:injur(?:y|ies|ed)|date\s+of\s+injury|DOI)\s*(?:on|of|dated|date|was|is|:)?\s*"
    r"(?:on\s+|of\s+)?",
    re.IGNORECASE,
)
_DIAGNOSES = re.compile(
    r"\bdiagnos[ei]s\s+(?:ha(?:ve|s)\s+)?(?:included|includes?|were|are|was|is|consist(?:s|ed)?"
    r"\s+of|of)\s*(?:documented\s+as\s*|:\s*)?(?P<list>[^.]{3,400}?)\.(?:\s|$)",
    re.IGNORECASE,
)
_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b)\s*", re.IGNORECASE)


def read_summary(doc: Document, start: int, end: int, want_injury_date: bool) -> Findings:
    """Read the case summary lines ``[start, end)``."""
    out = Findings()
    if start >= end:
        return out
    base = doc.lines[start].start
    text = doc.source[base : doc.lines[end - 1].end]

    age = _AGE.search(text)
    if age:
        value = int(age.group(1))
        if 0 < value <= 120:
            out.put("patient.age", value, (base + age.start(1), base + age.end(1)))
    sex_match = None
    if age and age.group("sex"):
        sex_match = (age.group("sex"), age.start("sex"), age.end("sex"))
    else:
        m = _SEX_WORD.search(text) or _SEX_NOUN.search(text)
        if m:
            sex_match = (m.group(1), m.start(1), m.end(1))
    if sex_match:
        word, s, e = sex_match
        out.put("patient.sex", _SEX_MAP[word.lower()], (base + s, base + e))

    if want_injury_date:
        for m in _INJURY.finditer(text):
            after = text[m.end() : m.end() + 24]
            mention = next(iter_dates(after), None)
            if mention is not None and mention.start <= 3:
                s = base + m.end() + mention.start
                out.put("date_of_injury", mention.value, (s, base + m.end() + mention.end))
                break

    diagnoses = _DIAGNOSES.search(text)
    if diagnoses:
        items = [
            part.strip(" :;'\"").removeprefix("the ").removeprefix("of ")
            for part in _LIST_SPLIT.split(" ".join(diagnoses.group("list").split()))
        ]
        found = [item for item in items if 2 < len(item) < 120]
        if found:
            span = (base + diagnoses.start("list"), base + diagnoses.end("list"))
            out.put("diagnoses", found, span)
    return out
