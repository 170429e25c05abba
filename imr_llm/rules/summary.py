"""Read what the clinical case summary states: age, sex, date of injury, diagnoses.

These are free-text sentences, so the rules are deliberately narrow: a value is taken only when
a familiar phrase states it ("a 59 year old male", "sustained an industrial injury on 6/19/07",
"The diagnoses have included ..."). Anything else stays null rather than guessed.
"""

from __future__ import annotations

import re

from ..form.reading import Reading
from ..form.summary import first_age, read_injury_date, read_sex
from ..form.text import case_special
from ..inputs.normalise import Document
from .findings import Findings


def _sex_near_age(text: str, age_at: int | None) -> Reading[str] | None:
    """The sex stated with the age ("a 59 year old male"), else the first sex word."""
    if age_at is not None:
        near = read_sex(text[: age_at + 60], age_at)
        if near is not None:
            return near
    return read_sex(text)


_DIAGNOSES = re.compile(
    r"\bdiagnos[ei]s\s+(?:ha(?:ve|s)\s+)?(?:included|includes?|were|are|was|is|consist(?:s|ed)?"
    r"\s+of|of)\s*(?:docu(?:-\s+)?(?:m|rn)ented\s+as\s*|:\s*)?(?P<list>[^.]{3,400}?)\.(?:\s|$)",
    re.IGNORECASE,
)
_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b)\s*", re.IGNORECASE)


def find_diagnoses(text: str) -> re.Match[str] | None:
    """``_DIAGNOSES.search(text)``, tried from the first "diagnos" (case aside), where every
    match starts, rather than at every character."""
    if case_special(text):
        return _DIAGNOSES.search(text)
    at = text.lower().find("diagnos")
    return _DIAGNOSES.search(text, at) if at >= 0 else None


def read_diagnoses(text: str) -> tuple[list[str], tuple[int, int]] | None:
    """The diagnoses a case summary lists ("Diagnoses included A, B and C."), and where the
    list stands in ``text``; None when it lists none. Both the fast and the tolerant reading
    of the summary take them from here."""
    diagnoses = find_diagnoses(text)
    if not diagnoses:
        return None
    parts = [
        part.strip(" :;'\"").removeprefix("the ").removeprefix("of ")
        for part in _LIST_SPLIT.split(" ".join(diagnoses.group("list").split()))
    ]
    found = [part for part in parts if 2 < len(part) < 120]
    return (found, diagnoses.span("list")) if found else None


def read_summary(doc: Document, start: int, end: int, want_injury_date: bool) -> Findings:
    """Read the case summary lines ``[start, end)``."""
    out = Findings()
    if start >= end:
        return out
    base = doc.lines[start].start
    text = doc.text(base, doc.lines[end - 1].end)

    age = first_age(text)
    if age is not None:
        out.put("patient.age", age.value, (base + age.start, base + age.end))
    sex = _sex_near_age(text, age.start if age is not None else None)
    if sex is not None:
        out.put("patient.sex", sex.value, (base + sex.start, base + sex.end))
    if want_injury_date:
        injury = read_injury_date(text)
        if injury is not None:
            out.put("date_of_injury", injury.value, (base + injury.start, base + injury.end))

    diagnoses = read_diagnoses(text)
    if diagnoses is not None:
        found, (start, end) = diagnoses
        out.put("diagnoses", found, (base + start, base + end))
    return out
