"""Evidence for the patient's age and sex, read in the case summary's sentences."""

from __future__ import annotations

from typing import Any

from ..form import LetterForm
from ..form.reading import Reading, digits_apart
from ..form.summary import MAX_AGE, garbled_after_age, has_damaged_age, read_sex
from ..form.summary import first_age as first_age_in
from .common import FAX_DAMAGE, Checked, status_of


def check_patient(patient: dict[str, Any], form: LetterForm, damage: float, out: Checked) -> None:
    summary = form.summary
    age, sex = patient.get("age"), patient.get("sex")
    first_age = first_age_in(summary.text) if summary is not None else None
    if summary is not None and first_age is not None and _split_age(summary.text, first_age, age):
        # "a 3 2 year old": 2, or 32 with a space OCR put inside it? The text cannot say.
        at = digits_apart(summary.text, first_age.start)
        span = (summary.start + (at or 0), summary.start + first_age.end)
        out.put("patient.age", "unverified", span, "a digit stands apart before the summary's "
                "age (\"3 2 year old\": a number OCR split with a space?)")  # fmt: skip
    elif age is not None:
        path = "patient.age"
        if summary is None:
            out.put(path, "unverified", None, "the case summary could not be found")
        elif first_age is not None and first_age.value == age:
            span = (summary.start + first_age.start, summary.start + first_age.end)
            out.put(path, status_of(first_age.exact), span, "in the case summary")
        elif first_age is not None and first_age.exact and damage < FAX_DAMAGE:
            out.wrong(path, f"is {age} but the case summary gives the age {first_age.value}")
        elif first_age is not None or has_damaged_age(summary.text) or damage >= FAX_DAMAGE:
            out.put(path, "unverified", summary.span, "the age in the summary is unreadable")
        else:
            out.wrong(path, f"the case summary gives no age {age}; use null")
    elif first_age is not None and first_age.exact:
        out.wrong("patient.age", f"is null but the case summary gives the age {first_age.value}",
                  certain=True)  # fmt: skip
    elif summary is not None and (first_age is not None or has_damaged_age(summary.text)):
        out.put("patient.age", "unverified", summary.span, "null; the summary's age is unreadable")
    if sex is None and summary is not None and first_age is not None:
        stated = read_sex(summary.text, first_age.start)
        if stated is not None and stated.exact and stated.start - first_age.end <= 24:
            # "a 48 year old male": the sex is stated with the age.
            out.wrong("patient.sex", f"is null but the summary says {stated.value!r}", certain=True)
    if sex is None and summary is not None and first_age is not None:
        garbled = garbled_after_age(summary.text, first_age.start)
        if garbled is not None and read_sex(summary.text, first_age.start) is None:
            span = (summary.start + garbled[0], summary.start + garbled[1])
            out.put("patient.sex", "unverified", span, "null; the word after the age is unreadable")
    if sex is not None:
        path = "patient.sex"
        near = first_age.start if first_age is not None else 0
        reading = read_sex(summary.text, near) if summary is not None else None
        if reading is None and summary is not None and near:
            reading = read_sex(summary.text, 0)
        if summary is None:
            out.put(path, "unverified", None, "the case summary could not be found")
        elif reading is not None and reading.value == sex:
            span = (summary.start + reading.start, summary.start + reading.end)
            out.put(path, status_of(reading.exact), span, "in the case summary")
        elif reading is not None and (reading.exact or damage < FAX_DAMAGE):
            out.wrong(path, f"is {sex!r} but the case summary says {reading.value!r}")
        elif (
            reading is not None
            or damage >= FAX_DAMAGE
            or (first_age is not None and garbled_after_age(summary.text, first_age.start))
        ):
            out.put(path, "unverified", summary.span, "the sex in the summary is unreadable")
        else:
            out.wrong(path, f"the letter does not state the sex {sex!r} in words; use null")


def _split_age(text: str, first: Reading[int], age: int | None) -> bool:
    """Whether digits stand apart right before the summary's first age
    (:func:`~imr_llm.form.reading.digits_apart`), joined to it they make an age, and ``age``
    is null or either reading: the number as read, or the digits joined to it. Joined digits
    that make no age ("is 4 46 year old") are debris before it."""
    at = digits_apart(text, first.start)
    if at is None:
        return False
    joined = int("".join(text[at : first.start].split()) + str(first.value))
    return joined <= MAX_AGE and (age is None or age in (first.value, joined))
