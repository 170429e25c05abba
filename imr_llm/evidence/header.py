"""Evidence for the header's values: the case number, the dates and the priority.

Each is checked beside its own label; a date written elsewhere in the letter but not at
its place (two header dates swapped) is a contradiction, and a date no letter can have
(after the decision, years from the others) is never taken as read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ..form import LetterForm, Place
from ..form.header import DATE_FIELDS
from ..form.reading import (
    CASE_NUMBER_FORM,
    Reading,
    case_number_digits,
    date_digits,
    date_forms,
    digits_apart,
    read_case_number,
    read_date,
    read_dates,
    read_priority,
    year_apart,
)
from ..form.summary import (
    damaged_injury_date,
    read_injury_date,
)
from .common import FAX_DAMAGE, Checked, as_date, confusable, excerpt, status_of


def check_case_number(value: str | None, form: LetterForm, damage: float, out: Checked) -> None:
    path = "case_number"
    header = form.header
    place = header.places.get(path)
    if value is None:
        reading = read_case_number(place.text) if place else None
        if reading is not None and reading.exact:
            out.wrong(path, f"is null but the letter gives {reading.value} at 'Case Number'")
        elif place is not None and place.readable:
            out.put(path, "unverified", place.span, f"null; its place reads {excerpt(place.text)}")
        return
    if place is None or read_case_number(place.text) is None:
        # No label, or the label's place holds none: a lone case number elsewhere in the header.
        loose = read_case_number(header.text, prefixed=True) if header.present else None
        if loose is not None:
            start = header.start + loose.start
            place = Place(start, header.start + loose.end, header.text[loose.start : loose.end])
    if not header.present:
        if read_case_number(form.doc.source) is None:
            out.wrong(path, f"{value!r} is not in the letter, which has no header; use null")
        else:
            out.put(path, "unverified", None, "the letter has no header to check it against")
        return
    if place is None or not place.readable:
        out.put(path, "unverified", place.span if place else None, "its place is unreadable")
        return
    reading = read_case_number(place.text)
    if reading is not None and not reading.exact and _two_case_numbers(value, reading, form):
        # Read through damage at its label, where the letter prints a case number whole
        # elsewhere: a phone number in a fax banner glued to the label reads as one
        # ("FAX 2859097036" as CM85-9097036, the letter's CM18-0110928 a line below).
        printed = ", ".join(sorted(_printed(form)))
        out.put(path, "unverified", place.span, f"its place reads {excerpt(place.text)}, and "
                f"the letter prints {printed} elsewhere")  # fmt: skip
        return
    if reading is not None and reading.value == value:
        out.put(path, status_of(reading.exact), place.span, "at its label")
        return
    want = value[2:4] + value[5:]
    if reading is not None:
        got = reading.value[2:4] + reading.value[5:]
        if damage >= FAX_DAMAGE and confusable(got, want):
            out.put(path, "unverified", place.span, f"its place reads {excerpt(place.text)}")
            return
        out.wrong(path, f"is {value} but the letter's case number reads {reading.value}",
                  place.span)  # fmt: skip
        return
    skeletons = case_number_digits(place.text)
    if any(s == want for s in skeletons):
        out.put(path, "repaired", place.span, "at its label, through OCR damage")
        return
    out.put(path, "unverified", place.span, f"its place reads {excerpt(place.text)}")


def _printed(form: LetterForm) -> set[str]:
    """The case numbers the letter prints whole (``CMyy-nnnnnnn``)."""
    return {m.group(0) for m in CASE_NUMBER_FORM.finditer(form.doc.source)}


def _two_case_numbers(value: str, reading: Reading[str], form: LetterForm) -> bool:
    """Whether the case number read through damage at its label (``reading``) and one the
    letter prints whole elsewhere both stand for ``value`` or against it: ``value`` is the
    damaged reading and another is printed whole, or ``value`` is printed whole and the label
    reads another. The text cannot say which is the letter's."""
    printed = _printed(form)
    if value == reading.value:
        return bool(printed - {value})
    return value in printed


def _date_place(name: str, form: LetterForm) -> Place | None:
    place = form.header.places.get(name)
    if place is None and name == "date_of_injury" and form.summary is not None:
        reading = read_injury_date(form.summary.text)
        if reading is not None:
            s = form.summary.start + reading.start
            return Place(s, form.summary.start + reading.end,
                         form.summary.text[reading.start : reading.end], "region")  # fmt: skip
    return place


def _header_date_unread(value: dt.date, data: dict[str, Any], form: LetterForm) -> str:
    """A date of the header table that is none of the record's header dates and not ``value``
    (a date of injury read in the summary), as the letter writes it, or "": where the header's
    "Date of Injury" label could not be read ("D ate of Injury:", a stamp between its words),
    its date is still in the header; a summary giving another date (a second injury, a
    misprint) must not stand in for it unchecked."""
    if not form.header.present:
        return ""
    known = {as_date(data[k]) for k in DATE_FIELDS if data.get(k)} | {value}
    for reading in read_dates(form.header.text):
        if reading.value not in known:
            return excerpt(form.header.text[reading.start : reading.end])
    return ""


#: A word of three letters or more.
_WORD = re.compile(r"[^\W\d_]{3,}")


def words_before(place: Place, at: int) -> bool:
    """Whether words stand between a header label and the date read at ``at`` in its place
    ("Date Assigned: tpustoaty Date COPY of Injury: 10/25/2016": the next label, damaged, and
    its date): the date may be another label's. Between a label and its own value stand at
    most OCR's marks (1,165 of 1,166 dates at their labels in the 554 renderings; the other,
    "* U")."""
    return at > 0 and place.how == "label" and _WORD.search(place.text, 0, at) is not None


def split_date(place: Place, reading: Reading[dt.date], source: str) -> tuple[dt.date, ...]:
    """The dates the text may hold where a number stands split around the date read at
    ``place`` (the reading and the digits joined to it), or () where none does.

    Digits standing apart right before it (:func:`~imr_llm.form.reading.digits_apart`: "1
    1/01/2016") are a space OCR put inside the month, or a table rule read as a "1"; two
    digits right after a two-digit year (:func:`~imr_llm.form.reading.year_apart`: "7-16-20
    01") a space inside the year. The text cannot tell the readings apart. Joined digits that
    make no date ("1 12/01/2016") are debris. A place found in a sentence or the summary is
    its date alone: the digits around it are looked for in the letter's text (not for a place
    paired by order, whose neighbours are the header's other values)."""
    text, start, end = place.text, reading.start, reading.end
    if place.how in ("region", "sentence") and source[place.start : place.end] == place.text:
        text, start, end = source, place.start + start, place.start + end
    joined = None
    if (at := digits_apart(text, start)) is not None:
        joined = read_date("".join(text[at:end].split()))
        if joined is not None and joined.start != 0:
            joined = None
    elif (after := year_apart(text, start, end)) is not None:
        joined = read_date("".join(text[start:after].split()))
    if joined is None:
        return ()
    return (reading.value, joined.value)


def check_date(
    name: str, value: dt.date | None, data: dict[str, Any], form: LetterForm, damage: float,
    out: Checked,
) -> None:  # fmt: skip
    place = _date_place(name, form)
    if value is None:
        reading = read_date(place.text) if place is not None else None
        if reading is not None and reading.exact and place is not None and place.how != "region":
            given = reading.value.isoformat()
            out.wrong(name, f"is null but the letter gives {given} at its label")
        elif (
            reading is not None
            and reading.exact
            and place is not None
            and not form.header.present
            and plausible(reading.value, name, data, form.doc.source)
        ):
            # A letter without a header table: the summary's injury sentence alone dates the
            # injury, and the rules engine reads it there ("sustained an industrial injury on
            # 6/19/07"). (Where a header's label was lost, its missing date is flagged.)
            given = reading.value.isoformat()
            out.wrong(name, f"is null but the case summary dates the injury {given}", place.span)
        elif place is not None and reading is None and place.readable:
            out.put(name, "unverified", place.span, f"null; its place reads {excerpt(place.text)}")
        elif place is None and name in form.expected:
            pass  # said once for every such value, by check_expected
        elif place is None and name in form.header.labels:
            out.put(name, "unverified", None, "null; its label's value could not be found")
        elif place is None and name != "date_of_injury" and len(form.header.labels) >= 3:
            # A header table whose other labels read: this one's label OCR destroyed.
            out.put(name, "unverified", None, "null; its label could not be found in the header")
        elif place is None and name == "date_of_injury" and form.summary is not None:
            damaged = damaged_injury_date(form.summary.text)
            if damaged is not None:
                s = form.summary.start
                out.put(name, "unverified", (s + damaged[0], s + damaged[1]),
                        "null; the summary's injury date is unreadable")  # fmt: skip
        return
    shown = value.isoformat()
    if place is None:
        if name in form.expected:
            out.put(name, "unverified", None, f"its place could not be found (a "
                    f"{form.letter_form} letter always states it)")  # fmt: skip
            return
        if not form.header.present and name != "date_of_injury":
            out.wrong(name, f"{shown} is not in the letter, which has no header; use null")
            return
        for chunk in form.header.unclaimed:
            reading = read_date(chunk.text)
            if reading is not None and reading.value == value:
                out.put(name, "repaired", chunk.span, "in the header; its label is unreadable")
                return
        if name in form.header.labels or form.header.present:
            out.put(name, "unverified", None, "its label's value could not be found")
        else:
            out.put(name, "unverified", None, "the letter has no place for it")
        return
    readings = read_dates(place.text)
    reading = readings[0] if readings else None
    if reading is not None and value in split_date(place, reading, form.doc.source):
        out.put(name, "unverified", place.span, f"its place reads {excerpt(place.text)}: "
                "digits stand apart beside the date (a number OCR split with a space, or a "
                "table rule read as a digit?)")  # fmt: skip
        return
    if reading is not None and reading.value == value:
        if words_before(place, reading.start):
            out.put(name, "unverified", place.span, "at its label, after the words "
                    f"{excerpt(place.text[: reading.start])}: another label's, their own "
                    "value lost? (the date may be theirs)")  # fmt: skip
            return
        if place.how == "region" and (other := _header_date_unread(value, data, form)):
            out.put(name, "unverified", place.span, "in the case summary; the header's label "
                    f"could not be read, and the header holds {other}, which no other label "
                    "claims")  # fmt: skip
            return
        glued = reading.start > 0 and not place.text[reading.start - 1].isspace()
        where = {"region": "in the case summary", "sentence": "in its sentence"}
        out.put(name, status_of(reading.exact and not glued), place.span,
                where.get(place.how, "at its label"))  # fmt: skip
        return
    if reading is None:
        out.put(name, "unverified", place.span, f"its place reads {excerpt(place.text)}")
        return
    written = reading.value.isoformat()
    elsewhere = [
        other for other in DATE_FIELDS
        if other != name and str(data.get(other) or "") == written
    ]  # fmt: skip
    if not elsewhere and damage >= FAX_DAMAGE:
        got = date_digits(place.text[reading.start : reading.end])
        if any(confusable(got, form_) for form_ in date_forms(value)):
            out.put(name, "unverified", place.span, f"its place reads {excerpt(place.text)}")
            return
    if not elsewhere and not plausible(reading.value, name, data, form.doc.source):
        # "2073-12-04" for an injury: a misread digit, not a date the letter means.
        out.put(name, "unverified", place.span, f"its place reads {excerpt(place.text)}")
        return
    hint = f" (that is the letter's {elsewhere[0]}?)" if elsewhere else ""
    out.wrong(name, f"is {shown} but the letter gives {written} at its label{hint}", place.span)


def plausible(read: dt.date, name: str, data: dict[str, Any], source: str = "") -> bool:
    """Whether a date read at a place could be the letter's: not after the decision it
    precedes, not decades away from the letter's other dates (or, in a letter without a
    header, from the dates its summary mentions)."""
    others = [as_date(data[k]) for k in DATE_FIELDS if k != name and data.get(k)]
    if not others:
        years = sorted(d.value.year for d in read_dates(source)) if source else []
        if read.year in years:
            years.remove(read.year)  # the reading itself is no evidence for it
        return not years or read.year <= years[len(years) // 2] + 3
    latest = max(others)
    if name != "decision_date" and read > latest and read.year > latest.year + 1:
        return False
    return read.year >= min(others).year - 60


def check_priority(value: str | None, form: LetterForm, out: Checked) -> None:
    path = "priority"
    place = form.header.places.get(path)
    if value is None:
        reading = read_priority(place.text) if place is not None else None
        if place is not None and reading is not None and reading.exact:
            out.wrong(path, f"is null but the letter gives {reading.value!r} at 'Priority'")
        elif place is not None and place.readable:
            out.put(path, "unverified", place.span, f"null; its place reads {excerpt(place.text)}")
        return
    if place is None:
        reading = read_priority(form.header.text) if form.header.present else None
        if reading is None:
            if not form.header.present:
                out.wrong(path, f"{value!r} is not in the letter, which has no header; use null")
            else:
                out.put(path, "unverified", None, "its label's value could not be found")
            return
        start = form.header.start + reading.start
        place = Place(start, form.header.start + reading.end, reading.value)
        reading = Reading(reading.value, reading.exact, 0, len(place.text))
    else:
        reading = read_priority(place.text)
    if reading is None:
        out.put(path, "unverified", place.span, f"its place reads {excerpt(place.text)}")
    elif reading.value == value:
        out.put(path, status_of(reading.exact), place.span, "at its label")
    else:
        out.wrong(path, f"is {value!r} but the letter's priority is {reading.value!r}", place.span)
