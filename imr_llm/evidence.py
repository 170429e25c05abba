"""Evidence per value: check each value of a record at its own place in the letter.

A value is checked where the letter's form puts it (:mod:`imr_llm.form`): a header date beside
its own label, a service at its own item marker, a passage between its label and the next. It
is then

- ``exact``: written there as is;
- ``repaired``: written there through OCR damage that reads to it unambiguously;
- ``unverified``: its place is unreadable (or missing), so it could not be checked;
- or it **contradicts** readable text at its place: an error, which the LLM engine sends back
  to the model and the rules engine never returns.

A value written elsewhere in the letter but not at its place (two swapped header dates) is a
contradiction, and so is a value the letter never writes. Text the OCR destroyed is never a
contradiction: the model cannot fix a scan, so such a value is kept and flagged instead.

Both engines go through :func:`check_values`; the rules engine hands in passage texts it read,
the LLM engine hands in quotes ("first words ... last words") that are resolved here, at their
places, into the letter's own text.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from rapidfuzz import fuzz

from .anchors import split_quote
from .form import LetterForm, Place
from .form.generations import FORM_2016, FORM_SENTENCES
from .form.header import DATE_FIELDS
from .form.items import ItemPlace, PartialRequest, says_no_evidence, split_partial_request
from .form.reading import (
    Reading,
    case_number_digits,
    date_digits,
    date_forms,
    read_case_number,
    read_date,
    read_dates,
    read_priority,
)
from .form.summary import (
    damaged_injury_date,
    garbled_after_age,
    has_damaged_age,
    read_ages,
    read_injury_date,
    read_sex,
    states_age,
)
from .form.vocabulary import (
    NameList,
    cut_specialty,
    read_specialties,
    read_specialty,
    read_states,
)
from .text import (
    collapse_ws,
    comparison_key,
    name_key,
    ocr_pattern,
    rationale_conclusion,
    squash,
)

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
    """One value's evidence (the public form is :class:`imr_llm.models.Evidence`)."""

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

    def wrong(self, path: str, message: str, span: tuple[int, int] | None = None) -> None:
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
    lowered = source.lower()
    collapsed = " ".join(lowered.split())
    worst = 0.0
    for sentence in FORM_SENTENCES.get(getattr(form, "letter_form", FORM_2016), ()):
        if sentence in collapsed:
            continue  # the common case, decided without a fuzzy search
        hit = fuzz.partial_ratio_alignment(sentence, lowered)
        score = hit.score if hit is not None else 0.0
        worst = max(worst, 1.0 - score / 100.0 if score >= 50 else 1.0)
    return round(max(worst, 2.5 * garbled_share(source), _header_damage(form)), 4)


def _header_damage(form: LetterForm) -> float:
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
_FINE_MIXED = re.compile(
    r"\d+(?:mg|ml|mcg|g|cm|mm|x|th|st|nd|rd|s|%)?|[A-Z]{1,2}\d+(?:-[A-Z]?\d+)?|CM\d\d-\d+|#\d+"
)


def garbled_share(text: str) -> float:
    """Share of the words of ``text`` that OCR garbled."""
    words = text.split()
    if not words:
        return 0.0
    bad = 0
    for word in words:
        if word.isascii() and (
            word.isalpha() or (word[:-1].isalpha() and word[-1] in ".,;:!?)'\"")
        ):
            continue  # a plain word, perhaps with a comma or a full stop: the common case
        bad += not _clean_word(word)
    return bad / len(words)


_WORD4 = re.compile(r"[A-Za-z]{4,}")
_ACRONYM = re.compile(r"[A-Z]{2,5}")


def _clean_word(word: str) -> bool:
    core = word.strip(".,;:()'\"")
    return not _ODD_MARK.search(word) and (
        not _LETTER_DIGIT.search(core) or bool(_FINE_MIXED.fullmatch(core))
    )


def legible(text: str) -> bool:
    """Whether a place holds readable words at all (not just marks and fragments): at least
    half of its words with letters are clean, and one is a word of four letters or more or an
    acronym ("Pre-op EKG" is legible, "“Tye? :" is not)."""
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    clean = [w for w in words if _clean_word(w)]
    return (
        bool(clean)
        and len(clean) * 2 >= len(words)
        and any(_WORD4.search(w) or _ACRONYM.fullmatch(w.strip(".,;:()")) for w in clean)
    )


def _status(exact: bool) -> Status:
    return "exact" if exact else "repaired"


def _shown(text: str, limit: int = 40) -> str:
    text = collapse_ws(text)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _confusable(a: str, b: str) -> bool:
    """Same length, and every differing digit a pair OCR confuses."""
    if len(a) != len(b):
        return False
    diffs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return bool(diffs) and all(frozenset((x, y)) in _DIGIT_CONFUSIONS for x, y in diffs)


# --------------------------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------------------------


def _check_case_number(value: str | None, form: LetterForm, damage: float, out: Checked) -> None:
    path = "case_number"
    header = form.header
    place = header.places.get(path)
    if value is None:
        reading = read_case_number(place.text) if place else None
        if reading is not None and reading.exact:
            out.wrong(path, f"is null but the letter gives {reading.value} at 'Case Number'")
        elif place is not None and place.readable:
            out.put(path, "unverified", place.span, f"null; its place reads {_shown(place.text)}")
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
    if reading is not None and reading.value == value:
        out.put(path, _status(reading.exact), place.span, "at its label")
        return
    want = value[2:4] + value[5:]
    if reading is not None:
        got = reading.value[2:4] + reading.value[5:]
        if damage >= FAX_DAMAGE and _confusable(got, want):
            out.put(path, "unverified", place.span, f"its place reads {_shown(place.text)}")
            return
        out.wrong(path, f"is {value} but the letter's case number reads {reading.value}",
                  place.span)  # fmt: skip
        return
    skeletons = case_number_digits(place.text)
    if any(s == want for s in skeletons):
        out.put(path, "repaired", place.span, "at its label, through OCR damage")
        return
    out.put(path, "unverified", place.span, f"its place reads {_shown(place.text)}")


def _date_place(name: str, form: LetterForm) -> Place | None:
    place = form.header.places.get(name)
    if place is None and name == "date_of_injury" and form.summary is not None:
        reading = read_injury_date(form.summary.text)
        if reading is not None:
            s = form.summary.start + reading.start
            return Place(s, form.summary.start + reading.end,
                         form.summary.text[reading.start : reading.end], "region")  # fmt: skip
    return place


def _check_date(
    name: str, value: dt.date | None, data: dict[str, Any], form: LetterForm, damage: float,
    out: Checked,
) -> None:  # fmt: skip
    place = _date_place(name, form)
    if value is None:
        reading = read_date(place.text) if place is not None else None
        if reading is not None and reading.exact and place is not None and place.how != "region":
            given = reading.value.isoformat()
            out.wrong(name, f"is null but the letter gives {given} at its label")
        elif place is not None and reading is None and place.readable:
            out.put(name, "unverified", place.span, f"null; its place reads {_shown(place.text)}")
        elif place is None and name in form.expected:
            pass  # said once for every such value, by _check_expected
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
    if reading is not None and reading.value == value:
        glued = reading.start > 0 and not place.text[reading.start - 1].isspace()
        where = {"region": "in the case summary", "sentence": "in its sentence"}
        out.put(name, _status(reading.exact and not glued), place.span,
                where.get(place.how, "at its label"))  # fmt: skip
        return
    if reading is None:
        out.put(name, "unverified", place.span, f"its place reads {_shown(place.text)}")
        return
    written = reading.value.isoformat()
    elsewhere = [
        other for other in DATE_FIELDS
        if other != name and str(data.get(other) or "") == written
    ]  # fmt: skip
    if not elsewhere and damage >= FAX_DAMAGE:
        got = date_digits(place.text[reading.start : reading.end])
        if any(_confusable(got, form_) for form_ in date_forms(value)):
            out.put(name, "unverified", place.span, f"its place reads {_shown(place.text)}")
            return
    if not elsewhere and not _plausible(reading.value, name, data, form.doc.source):
        # "2073-12-04" for an injury: a misread digit, not a date the letter means.
        out.put(name, "unverified", place.span, f"its place reads {_shown(place.text)}")
        return
    hint = f" (that is the letter's {elsewhere[0]}?)" if elsewhere else ""
    out.wrong(name, f"is {shown} but the letter gives {written} at its label{hint}", place.span)


def _plausible(read: dt.date, name: str, data: dict[str, Any], source: str = "") -> bool:
    """Whether a date read at a place could be the letter's: not after the decision it
    precedes, not decades away from the letter's other dates (or, in a letter without a
    header, from the dates its summary mentions)."""
    others = [dt.date.fromisoformat(str(data[k])) for k in DATE_FIELDS if k != name and data.get(k)]
    if not others:
        years = sorted(d.value.year for d in read_dates(source)) if source else []
        if read.year in years:
            years.remove(read.year)  # the reading itself is no evidence for it
        return not years or read.year <= years[len(years) // 2] + 3
    latest = max(others)
    if name != "decision_date" and read > latest and read.year > latest.year + 1:
        return False
    return read.year >= min(others).year - 60


def _check_priority(value: str | None, form: LetterForm, out: Checked) -> None:
    path = "priority"
    place = form.header.places.get(path)
    if value is None:
        reading = read_priority(place.text) if place is not None else None
        if place is not None and reading is not None and reading.exact:
            out.wrong(path, f"is null but the letter gives {reading.value!r} at 'Priority'")
        elif place is not None and place.readable:
            out.put(path, "unverified", place.span, f"null; its place reads {_shown(place.text)}")
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
        out.put(path, "unverified", place.span, f"its place reads {_shown(place.text)}")
    elif reading.value == value:
        out.put(path, _status(reading.exact), place.span, "at its label")
    else:
        out.wrong(path, f"is {value!r} but the letter's priority is {reading.value!r}", place.span)


# --------------------------------------------------------------------------------------------
# Reviewer and patient
# --------------------------------------------------------------------------------------------


def _check_states(values: list[str], form: LetterForm, out: Checked) -> None:
    """Each state at its place in the licensure list; a part of the list that reads as no
    state leaves the list unverified, so no state the letter names is dropped unflagged."""
    path = "reviewer.licensure_states"
    place = form.credentials.states
    if place is None:
        for k in range(len(values)):
            out.put(f"{path}[{k}]", "unverified", None, "the licensure states could not be found")
        return
    names = read_states(place.text)
    named = [r.value for r in names.readings]
    unread = ", ".join(repr(u.text) for u in names.unread[:3])
    if not values:
        if named and not names.unread:
            out.wrong(path, f"is empty but the letter names {', '.join(named)}", place.span)
        elif place.readable:
            out.put(path, "unverified", place.span, f"empty; the states read {_shown(place.text)}")
        return
    for k, state in enumerate(values):
        hit = next((r for r in names.readings if r.value == state), None)
        if hit is not None:
            span = (place.start + hit.start, place.start + hit.end)
            out.put(
                f"{path}[{k}]", _status(hit.exact), span, "among the reviewer's licensure states"
            )
        elif names.unread:
            out.put(f"{path}[{k}]", "unverified", place.span,
                    f"the states read {_shown(place.text)}")  # fmt: skip
        else:
            out.wrong(f"{path}[{k}]", f"{state!r} is not a state the letter names for the "
                      f"reviewer (it names {', '.join(named)})", place.span)  # fmt: skip
    missing = [state for state in named if state not in values]
    if missing and not names.unread:
        out.wrong(path, f"the letter also names {', '.join(missing)}", place.span)
    elif names.unread:
        also = f"; the letter also names {', '.join(missing)}" if missing else ""
        out.put(
            path, "unverified", place.span, f"part of the list reads as no state: {unread}{also}"
        )


#: How close (rapidfuzz ratio of name keys) a value must be to a specialty the letter writes
#: to stand for it when the two are not the same known name: spellings of one name
#: ("Orthopedic" / "Orthopaedic Surgery") are this close; two different names never are
#: (tests/test_vocabulary.py checks every pair of the vocabulary).
SPELLING_THRESHOLD = 95.0


def _specialty_for(value: str, names: NameList) -> int | None:
    """The index of the letter's reading ``value`` stands for, or None."""
    own = read_specialty(value)
    key = name_key(own.value if own is not None else value)
    keys = [name_key(r.value) for r in names.readings]
    if key in keys:
        return keys.index(key)
    if own is None:
        return None
    close = [j for j, k in enumerate(keys) if fuzz.ratio(key, k) >= SPELLING_THRESHOLD]
    return close[0] if len(close) == 1 else None


def _unread_for(value: str, names: NameList) -> int | None:
    """The index of the unread part of the list ``value`` copies, or None."""
    key = name_key(value)
    close = [j for j, u in enumerate(names.unread) if fuzz.ratio(key, name_key(u.text)) >= 85]
    return close[0] if len(close) == 1 else None


def _check_specialties(values: list[str], form: LetterForm, out: Checked) -> list[str]:
    """Each specialty at its place; returns the values as the record keeps them.

    A value that stands for a specialty the letter writes becomes the letter's own reading
    ("occupational medicine" -> "Occupational Medicine", a damaged copy -> the known name);
    one that copies words reading as no known specialty keeps the letter's words, unverified.
    """
    path = "reviewer.specialties"
    place = form.credentials.specialties
    if place is None:
        for k in range(len(values)):
            out.put(f"{path}[{k}]", "unverified", None, "the specialties could not be found")
        return values
    names = read_specialties(place.text)
    if not values:
        if names.readings:
            out.wrong(path, f"is empty but the letter gives {_shown(place.text, 60)}", place.span)
        elif place.readable:
            out.put(path, "unverified", place.span,
                    f"empty; the specialties read {_shown(place.text)}")  # fmt: skip
        return values
    kept = list(values)
    read_at: set[int] = set()
    copied: set[int] = set()
    for k, value in enumerate(values):
        at = f"{path}[{k}]"
        if cut_specialty(value):
            # The start of a longer specialty: right as written if the line's end was lost,
            # likely wrong as meant. A person looks.
            note = f"{_shown(value)} is cut short: the start of a longer specialty"
            out.put(at, "unverified", place.span, note)
            start = name_key(value)
            read_at.update(
                j for j, r in enumerate(names.readings) if name_key(r.value).startswith(start)
            )
            continue
        j = _specialty_for(value, names)
        if j is not None:
            hit = names.readings[j]
            read_at.add(j)
            kept[k] = hit.value
            span = (place.start + hit.start, place.start + hit.end)
            note = (
                "among the reviewer's specialties"
                if hit.exact
                else "among the specialties, through OCR damage"
            )
            out.put(at, _status(hit.exact), span, note)
            continue
        j = _unread_for(value, names)
        if j is not None:
            part = names.unread[j]
            copied.add(j)
            kept[k] = part.text
            span = (place.start + part.start, place.start + part.end)
            out.put(at, "unverified", span, f"{_shown(part.text)} reads as no known specialty")
            continue
        if names.unread:
            out.put(at, "unverified", place.span, f"the specialties read {_shown(place.text)}")
            continue
        several = read_specialties(value).readings
        if len(several) > 1:
            message = f"{value!r} holds {len(several)} specialties; give one per entry"
        else:
            message = (f"{value!r} is not among the reviewer's specialties as the letter "
                       f"writes them ({_shown(place.text, 60)})")  # fmt: skip
        out.wrong(at, message, place.span)
    missing = [r.value for j, r in enumerate(names.readings) if j not in read_at]
    left = [u.text for j, u in enumerate(names.unread) if j not in copied]
    if missing and not names.unread:
        out.wrong(path, f"the letter also names {', '.join(missing)}", place.span)
    elif left or (missing and names.unread):
        parts = [*missing, *(repr(u) for u in left)][:4]
        out.put(path, "unverified", place.span, f"the letter's list also holds {', '.join(parts)}")
    return kept


def _check_patient(patient: dict[str, Any], form: LetterForm, damage: float, out: Checked) -> None:
    summary = form.summary
    age, sex = patient.get("age"), patient.get("sex")
    ages = read_ages(summary.text) if summary is not None else []
    first_age = ages[0] if ages else None
    if age is not None:
        path = "patient.age"
        if summary is None:
            out.put(path, "unverified", None, "the case summary could not be found")
        elif first_age is not None and first_age.value == age:
            span = (summary.start + first_age.start, summary.start + first_age.end)
            out.put(path, _status(first_age.exact), span, "in the case summary")
        elif first_age is not None and first_age.exact and damage < FAX_DAMAGE:
            out.wrong(path, f"is {age} but the case summary gives the age {first_age.value}")
        elif first_age is not None or has_damaged_age(summary.text) or damage >= FAX_DAMAGE:
            out.put(path, "unverified", summary.span, "the age in the summary is unreadable")
        else:
            out.wrong(path, f"the case summary gives no age {age}; use null")
    elif first_age is not None and first_age.exact:
        out.wrong("patient.age", f"is null but the case summary gives the age {first_age.value}")
    elif summary is not None and (first_age is not None or has_damaged_age(summary.text)):
        out.put("patient.age", "unverified", summary.span, "null; the summary's age is unreadable")
    if sex is None and summary is not None and first_age is not None:
        stated = read_sex(summary.text, first_age.start)
        if stated is not None and stated.exact and stated.start - first_age.end <= 24:
            # "a 48 year old male": the sex is stated with the age.
            out.wrong("patient.sex", f"is null but the summary says {stated.value!r}")
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
            out.put(path, _status(reading.exact), span, "in the case summary")
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


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------

PASSAGES = ("claims_administrator_guideline", "maximus_guideline", "rationale")
_LABEL_NAMES = {
    "claims_administrator_guideline": "Claims Administrator guideline",
    "maximus_guideline": "MAXIMUS guideline",
    "rationale": "Decision rationale",
}


def _similar(a: str, b: str) -> float:
    a, b = collapse_ws(a).lower(), collapse_ws(b).lower()
    if not a or not b:
        return 0.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def _expected_service(place: ItemPlace) -> tuple[PartialRequest | None, bool]:
    try:
        return split_partial_request(place.header_text), True
    except ValueError:
        return None, False


def align_items(services: list[str], places: list[ItemPlace]) -> list[tuple[int, int]]:
    """Pairs (answer item, item place) in letter order, matching services to item headers.

    Equal counts pair in order. Otherwise a monotone alignment maximises the services'
    similarity to the headers (each header taken whole and as its partly certified request's
    service), so one missing or invented item does not shift every other one.
    """
    n, m = len(services), len(places)
    if n == m:
        return [(k, k) for k in range(n)]
    sim = [[0.0] * m for _ in range(n)]
    for i, service in enumerate(services):
        for j, place in enumerate(places):
            partial, _ = _expected_service(place)
            target = partial.service if partial else place.header_text
            score = max(_similar(service, target), _similar(service, place.header_text))
            sim[i][j] = score if score >= 60 else 0.0
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            take = sim[i][j] + best[i + 1][j + 1] if sim[i][j] else 0.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if sim[i][j] and best[i][j] == sim[i][j] + best[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


#: How far a service's best item header must score above every other header for the two to be
#: taken as the same item when neither is written exactly as the other.
ORDER_MARGIN = 10.0


def letter_order(services: list[str], places: list[ItemPlace]) -> list[int] | None:
    """The answer's items in the letter's order, when each names its own, different item.

    :func:`align_items` keeps the answer's order, so the right items listed in another order
    would each be judged against a neighbour's marker. Here each service is matched to the one
    item header it names: the only header it equals (case and spacing aside); then, among the
    headers no other service has claimed, the one it resembles best by :data:`ORDER_MARGIN`
    over every other (repeated while that places more). When every service finds a different
    header and the answer lists them out of the letter's order, the answer's indices in letter
    order are returned; otherwise None, and the items are checked as given. Moving an item
    never vouches for it: each is still checked at its (now own) marker.
    """
    n = len(services)
    if n < 2 or not places:
        return None
    targets = []
    for place in places:
        partial, _ = _expected_service(place)
        targets.append((collapse_ws(partial.service if partial else place.header_text).lower(),
                        place.header_text.lower()))  # fmt: skip
    keys = [collapse_ws(service).lower() for service in services]
    chosen: list[int | None] = [None] * n
    free = set(range(len(places)))
    for i, key in enumerate(keys):
        equal = [j for j, (target, _) in enumerate(targets) if key == target]
        if len(equal) > 1 or (equal and equal[0] not in free):
            return None  # two headers alike, or two services naming one header
        if equal:
            chosen[i] = equal[0]
            free.discard(equal[0])
    scores = {
        i: {j: max(_similar(keys[i], t), _similar(keys[i], h)) for j, (t, h) in enumerate(targets)}
        for i in range(n) if chosen[i] is None
    }  # fmt: skip
    placed = True
    while placed and free and any(c is None for c in chosen):
        placed = False
        for i in range(n):
            if chosen[i] is not None:
                continue
            ranked = sorted(((scores[i][j], j) for j in free), reverse=True)
            best, j = ranked[0]
            runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
            if best >= SERVICE_THRESHOLD and best - runner_up >= ORDER_MARGIN:
                chosen[i] = j
                free.discard(j)
                placed = True
                if not free:
                    break
    if any(c is None for c in chosen):
        return None
    order = [c for c in chosen if c is not None]
    if order == sorted(order):
        return None
    return sorted(range(n), key=order.__getitem__)


#: A count or dose written as one: "12", "#60", "7.5mg", "2x" (digits inside an OCR'd word,
#: Words that make two items different however alike the rest is.
_KEY_WORDS = (
    frozenset({"left", "right", "bilateral"}),
    frozenset({"with", "without", "w/o"}),
    frozenset({"upper", "lower"}),
    frozenset({"cervical", "thoracic", "lumbar"}),
)


def _near_any(words: set[str], group: frozenset[str]) -> bool:
    """Whether one of ``words`` is an OCR-damaged spelling of a word of ``group``."""
    return any(fuzz.ratio(w, k, score_cutoff=70) >= 70 for w in words for k in group)


#: Counts written as words: "Six visits" is 6 visits, and "Eight visits" another item.
_NUMBER_WORDS = {
    w: str(n) for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90"}  # fmt: skip
#: A token that holds a number: digits with what surrounds them in a dose or count ("#60",
#: "10/325mg", "2x6", "7-10"), perhaps OCR-damaged ("#6O", "l0/325mg").
_NUMBER_TOKEN = re.compile(r"[#(]?[A-Za-z|]{0,2}\d[\w./%:|-]*|\b[a-z]+\b", re.IGNORECASE)
_DIGIT_LIKE = {"o": "0", "l": "1", "i": "1", "|": "1", "s": "5", "b": "8"}
#: A number token as printed, undamaged: digits, separators and a unit.
_CLEAN_NUMBER = re.compile(
    r"#?\d+(?:[.,/:x-]\d+)*(?:mg|ml|mcg|gm?|cm|mm|x|%|hrs?|th|st|nd|rd|s|'s)?", re.IGNORECASE
)


def _numbers(text: str) -> list[tuple[str, bool]]:
    """The numbers ``text`` writes, in order: each as its digits and separators ("#60" and
    "60" are both 60, "10/325mg" and "10/325 mg" both 10/325, "Six" is 6), and whether it is
    printed undamaged (a damaged one, "6O", is read through its look-alikes)."""
    out: list[tuple[str, bool]] = []
    for m in _NUMBER_TOKEN.finditer(text):
        raw = m.group(0).strip("(),.;:")
        token = raw.lower()
        if token in _NUMBER_WORDS:
            out.append((_NUMBER_WORDS[token], True))
        elif _is_number(raw):
            clean = bool(_CLEAN_NUMBER.fullmatch(token))
            read = token if clean else "".join(_DIGIT_LIKE.get(ch, ch) for ch in token)
            out.append((re.sub(r"[^0-9./x:-]", "", read).strip(".-:"), clean))
    return out


def _is_number(token: str) -> bool:
    """Whether a token with a digit is a number ("#60", "10/325mg", "l2", "6O"), not a word
    OCR put a digit in ("1eft", "with0ut", "0f"): digits and their look-alikes outnumber the
    other letters."""
    if not any(ch.isdigit() for ch in token):
        return False
    if _CLEAN_NUMBER.fullmatch(token):
        return True
    digits = sum(ch.isdigit() or ch in _LOOK_ALIKES for ch in token)
    letters = sum(ch.isalpha() and ch not in _LOOK_ALIKES for ch in token)
    return digits > letters


#: Letters OCR prints for a digit, as they count towards a token being a number: common
#: lower-case letters ("s", "i") would make "sessi0ns" one.
_LOOK_ALIKES = frozenset("OoIl|SB")


def _key_difference(value: str, written: str, damage: float) -> str:
    """Why ``value`` names another item than ``written`` (a count, a dose, a side, with or
    without), or ''.

    Numbers (digits or number words) must be the letter's: a count the letter prints cleanly
    ("#30", "for 3 weeks", "Six visits") that the value gives otherwise is another item however
    alike the rest reads, on a clean letter or an OCR'd one. A number the letter prints damaged
    ("#3O") is read through its look-alikes; one that still differs is left unsure (see
    :func:`_numbers_unsure`), not called wrong.
    """
    if collapse_ws(value).lower() == collapse_ws(written).lower():
        return ""
    got, want = _numbers(value), _numbers(written)
    if [n for n, _ in got] != [n for n, _ in want]:
        if len(got) == len(want):
            for (a, _), (b, clean) in zip(got, want, strict=True):
                if a != b and clean:
                    return f"{a} where the letter has {b}"
        elif all(clean for _, clean in want):
            shown = ", ".join(n for n, _ in want) or "none"
            mine = ", ".join(n for n, _ in got) or "none"
            return f"its numbers ({mine}) are not the letter's ({shown})"
    # Whole words only: "with0ut" is OCR's "without", not "with".
    words_v = {
        w for w in re.findall(r"[a-z0-9/]+", value.lower()) if not any(c.isdigit() for c in w)
    }
    words_w = {
        w for w in re.findall(r"[a-z0-9/]+", written.lower()) if not any(c.isdigit() for c in w)
    }
    # For "near a side word", OCR's digits read as letters too: "1eft" is near "left".
    folded = unicodedata.normalize("NFKD", value.lower()).encode("ascii", "ignore").decode()
    near_v = {w.translate(_LETTER_LIKE) for w in re.findall(r"[a-z0-9/]+", folded)}
    for group in _KEY_WORDS:
        a, b = words_v & group, words_w & group
        if b and a != b and (a or not _near_any(near_v, group)):
            # Another side, or none where the letter names one (an OCR'd "lcft" is not none).
            shown = "/".join(sorted(a)) or "no " + "/".join(sorted(group))
            return f"{shown} where the letter has {'/'.join(sorted(b))}"
    return ""


_LETTER_LIKE = str.maketrans({"0": "o", "1": "l", "5": "s", "8": "b", "|": "l"})


def _numbers_unsure(value: str, written: str) -> bool:
    """Whether the letter prints a number damaged and the value's numbers differ from what its
    look-alikes read as: the count may be the letter's, or not; a person must look."""
    got, want = _numbers(value), _numbers(written)
    return [n for n, _ in got] != [n for n, _ in want] and not all(c for _, c in want)


def _ocr_marked(text: str, damage: float) -> bool:
    """Whether ``text`` (or the whole letter) shows OCR damage: only then may a value differ
    from it by more than case, spacing and punctuation."""
    return not all(_clean_word(w) for w in text.split()) or damage >= 0.015


def _judge_name(value: str, written: str, damage: float) -> tuple[Status | None, str]:
    """How a service (or an original request) the answer gives reads against the letter's own
    text at its marker: a status and a note, or ``(None, why)`` for a contradiction, where
    ``why`` names the difference that makes it another item ('' when it merely reads
    otherwise). An unverified value's note is left to the caller ('').

    Equal but for case, spacing and punctuation is ``exact``; closer than
    :data:`SERVICE_THRESHOLD` is ``repaired`` (the record keeps the letter's text either way).
    A reworded or reordered name ("12 sessions of aquatic therapy" for "Aquatic therapy, 12
    sessions") is no OCR damage and a count the letter prints is never another: on a
    readable letter either is a contradiction, whatever words it shares.
    """
    differs = _key_difference(value, written, damage)
    if differs:
        return None, differs
    if collapse_ws(value).lower() == collapse_ws(written).lower() or (
        squash(value) == squash(written) and squash(value)
    ):
        return "exact", ""
    score = fuzz.ratio(collapse_ws(value).lower(), collapse_ws(written).lower())
    if _numbers_unsure(value, written) and score >= 60:
        return "unverified", ""
    if score >= SERVICE_THRESHOLD:
        return "repaired", "through OCR damage"
    if _ocr_marked(written, damage) and (
        fuzz.partial_ratio(value.lower(), written.lower()) >= 95
        and 0.75 <= len(value) / max(len(written), 1) <= 1.25
    ):
        return "repaired", "with stray marks around it"
    if damage >= FAX_DAMAGE and score >= 60:
        return "unverified", ""
    return None, ""


def _check_service(
    k: int, item: dict[str, Any], place: ItemPlace, damage: float, out: Checked
) -> None:
    """Check the item's service (and original request) at its marker; the record keeps the
    letter's own text wherever the letter's text there is readable and agrees."""
    path = f"items[{k}].service"
    service = collapse_ws(item.get("service") or "")
    original = item.get("original_request")
    partial, readable = _expected_service(place)
    span = place.header.span
    if not place.header_text or not legible(place.header_text):
        out.put(path, "unverified", span, "the item header is unreadable")
        return
    if not readable:
        # A partly certified request in a wording not read: the service ends the header.
        tail = place.header_text[-max(len(service) + 10, 20) :]
        if fuzz.partial_ratio(service.lower(), tail.lower()) >= SERVICE_THRESHOLD:
            out.put(path, "repaired", span, "ends the item header (a partly certified request)")
        else:
            out.put(path, "unverified", span, "the partly certified request could not be read")
        return
    target = partial.service if partial else place.header_text
    status, note = _judge_name(service, target, damage)
    if status is None:
        out.wrong(path, f"{_shown(service, 60)} is not the item the letter names at this marker "
                  f"({_shown(target, 60)})" + (f": {note}" if note else ""), span)  # fmt: skip
        if getattr(place, "fixed_sentence", False):
            # The item was read between the fixed words of its sentence, not walked through
            # damage: the mismatch is the value's, whatever the letter's damage.
            out.certain.add(path)
    elif status == "unverified":
        out.put(path, status, span, f"the item header reads {_shown(target, 60)}")
    else:
        doubt = _name_doubt(
            target, partial is not None, form_2016=not getattr(place, "fixed_sentence", False)
        )
        if doubt:
            out.put(path, "unverified", span, doubt)
        else:
            out.put(path, status, span, "at its item marker" + (f", {note}" if note else ""))
        item["service"] = target
    path = f"items[{k}].original_request"
    if partial is None:
        if original:
            out.wrong(path, "this item is not a partly certified request; use null", span)
        return
    if not original:
        out.wrong(path, f"the letter names the original request {_shown(partial.original_request)}"
                  "; give it", span)  # fmt: skip
        return
    status, note = _judge_name(original, partial.original_request, damage)
    if status is None:
        shown = f" ({_shown(partial.original_request, 60)}): {note}" if note else ""
        out.wrong(path, f"{_shown(original, 60)} is not the original request the letter "
                  f"names{shown}", span)  # fmt: skip
    elif status == "unverified":
        out.put(path, status, span, "the original request is damaged")
    else:
        doubt = _name_doubt(partial.original_request, True)
        if doubt:
            out.put(path, "unverified", span, doubt)
        else:
            out.put(path, status, span, "in the item header" + (f", {note}" if note else ""))
        item["original_request"] = partial.original_request


#: What no item's name holds: the letter's form sentences, or a rationale's conclusion.
_FORM_IN_NAME = re.compile(
    r"Final\s+Determination|set\s+forth\s+below|disputed\s+items|medically\s+necessary"
    r"|\bnot\s+medically\b",
    re.IGNORECASE,
)
_REPEATED_RUN = re.compile(r"\b((?:\S+\s+){3,}?\S+)\s+(?:\S+\s+){0,3}?\1\b", re.IGNORECASE)


def _name_doubt(name: str, partial: bool, *, form_2016: bool = True) -> str:
    """Why the letter's own text at an item marker may not be the item's whole name, or ''.

    A header walk that crossed into the previous passage takes its conclusion or the form's
    sentence along; a repeated line doubles a run of words; a first line lost leaves a name
    that starts inside its sentence (only a partly certified request's remaining portion
    does so on its own: "..., with open carpal tunnel release is: Overturned").
    """
    if _FORM_IN_NAME.search(name):
        return "the item header holds the letter's form text or a rationale's conclusion"
    if _REPEATED_RUN.search(name):
        return "the item header repeats a run of words (a repeated line?)"
    if form_2016 and not partial and name[:1].islower():
        return "the item header starts inside a sentence (its first line lost?)"
    return ""


def _check_outcome(
    k: int, item: dict[str, Any], place: ItemPlace, damage: float, out: Checked
) -> None:
    path = f"items[{k}].outcome"
    outcome = item.get("outcome")
    span = place.outcome_place.span
    if place.outcome is not None:
        if place.outcome.value == outcome:
            out.put(path, _status(place.outcome.exact), span, "at its item marker")
        else:
            out.wrong(path, f"is {outcome!r} but the letter marks this item "
                      f"{place.outcome.value.capitalize()!r}", span)  # fmt: skip
        return
    rationale = item.get("rationale")
    concluded = rationale_conclusion(rationale) if rationale else None
    if concluded is None:
        out.put(
            path, "unverified", span, "its marker and the rationale's conclusion are unreadable"
        )
    elif concluded == outcome:
        out.put(path, "repaired", span, "its marker is unreadable; the rationale concludes so")
    elif damage >= FAX_DAMAGE:
        # On fax-quality text the conclusion is read through the damage too ("is n0t" lost
        # its negation): no re-ask can fix that, so the outcome is kept and flagged.
        out.put(path, "unverified", span, "its marker is unreadable and the rationale's "
                "conclusion, read through heavy damage, does not agree")  # fmt: skip
    else:
        meaning = "not medically necessary" if concluded == "upheld" else "medically necessary"
        out.wrong(path, f"is {outcome!r} but its rationale concludes the request is {meaning}")


@dataclass(frozen=True, slots=True)
class _Edge:
    score: float
    found_elsewhere: bool


def _edge(words: str, region: str, at_start: bool) -> _Edge:
    """How well ``words`` match the start (or end) of ``region``, and whether they occur
    elsewhere in it instead."""
    needle = collapse_ws(words).lower()
    hay = region.lower()
    n = len(needle)
    edge = hay[:n] if at_start else hay[-n:] if n else ""
    score = fuzz.ratio(needle, edge) if needle else 0.0
    if score < EDGE_THRESHOLD:
        # Words the OCR split or merged shift the edge by a few characters.
        window = hay[: n + 12] if at_start else hay[-(n + 12) :]
        hit = fuzz.partial_ratio_alignment(needle, window)
        if hit is not None:
            touches = hit.dest_start <= 6 if at_start else len(window) - hit.dest_end <= 6
            if touches:
                score = max(score, hit.score)
    elsewhere = False
    if score < EDGE_THRESHOLD and len(needle) >= 8:
        pos = hay.find(needle)
        if pos < 0:
            hit = fuzz.partial_ratio_alignment(needle, hay)
            pos = hit.dest_start if hit is not None and hit.score >= 88 else -1
        elsewhere = pos >= 0
    return _Edge(score, elsewhere)


def _lost_end(words: str, text: str) -> bool:
    """Whether ``text`` ends with the first half or more of ``words`` (the rest lost)."""
    parts = collapse_ws(words).lower().split(" ")
    hay = text.lower()
    for k in range(len(parts) - 1, (len(parts) + 1) // 2 - 1, -1):
        prefix = " ".join(parts[:k])
        if len(prefix) >= 8 and fuzz.ratio(prefix, hay[-len(prefix) :]) >= 90:
            return True
    return False


def _cut_after(text: str, words: str) -> str:
    """``text`` up to the end of the last occurrence of ``words`` (fuzzy for OCR)."""
    needle = collapse_ws(words).lower()
    pos = text.lower().rfind(needle)
    if pos >= 0:
        return text[: pos + len(needle)]
    hit = fuzz.partial_ratio_alignment(needle, text.lower())
    return text[: hit.dest_end] if hit is not None and hit.score >= 88 else text


def _check_passage(
    k: int,
    key: str,
    item: dict[str, Any],
    place: ItemPlace,
    quotes: bool,
    damage: float,
    resolve: Callable[[str, int, int], tuple[str, tuple[int, int]] | None],
    out: Checked,
) -> str | None:
    """Check one passage at its place; return the text the record keeps."""
    path = f"items[{k}].{key}"
    value = item.get(key)
    label = getattr(place, "label_names", _LABEL_NAMES)[key]  # as the letter's form words it
    region = place.passages.get(key)
    if region is None:
        if value is None:
            return None
        if quotes:
            found = resolve(value, place.header.end, place.end)
            if found is not None:
                out.put(path, "unverified", found[1], f"its label '{label}:' is unreadable")
                return found[0]
            out.put(path, "unverified", None, f"its label '{label}:' is unreadable")
            return collapse_ws(value)
        out.put(path, "unverified", None, f"its label '{label}:' is unreadable")
        return collapse_ws(value)
    text = collapse_ws(region.text)
    no_evidence = key == "claims_administrator_guideline" and says_no_evidence(text)
    if value is None:
        if no_evidence:
            out.put(path, "exact", region.span, "the letter says none was cited")
        elif key == "claims_administrator_guideline" and not text:
            out.put(path, "unverified", region.span, "the guideline is empty")
        elif text:
            out.wrong(path, f"is null but the letter gives a {label} for this item", region.span)
        return None
    if no_evidence:
        out.wrong(path, "the letter says the Claims Administrator did not cite any medical "
                  "evidence for this item; use null", region.span)  # fmt: skip
        return None
    if not quotes:
        if comparison_key(value) == comparison_key(text):
            out.put(path, "exact", region.span, f"after '{label}:'")
        else:
            out.wrong(path, f"differs from the text after '{label}:'", region.span)
        return value
    first, last = split_quote(value)
    head, tail = _edge(first, text, True), _edge(last, text, False)
    if head.score >= EDGE_THRESHOLD and tail.score >= EDGE_THRESHOLD:
        exact = text.lower().startswith(collapse_ws(first).lower()) and text.lower().endswith(
            collapse_ws(last).lower()
        )
        note = f"after '{label}:', to the next label or item"
        out.put(path, _status(exact), region.span, note)
        return text
    later = PASSAGES[PASSAGES.index(key) + 1 :]
    if (
        head.score >= EDGE_THRESHOLD
        and tail.found_elsewhere
        and any(place.passages.get(k) is None for k in later)
    ):
        # The next label is unreadable, so this place runs on into the next passage: the
        # quote's last words mark where this passage ends.
        cut = _cut_after(text, last)
        out.put(path, "unverified", region.span, "the next label is unreadable; cut at the quote")
        return cut
    if head.score >= EDGE_THRESHOLD and not tail.found_elsewhere and _lost_end(last, text):
        # The letter ends where the quote's last words begin: OCR lost the passage's end.
        out.put(path, "unverified", region.span, f"the {label} ends before the quote's last "
                "words (lost to OCR)")  # fmt: skip
        return text
    if head.score >= EDGE_THRESHOLD and tail.found_elsewhere:
        out.wrong(path, f"the quote stops short: its last words {_shown(last)} are not where "
                  f"the {label} ends; quote its last words", region.span)  # fmt: skip
        return text
    if head.found_elsewhere and tail.score >= EDGE_THRESHOLD:
        out.wrong(path, f"the quote starts late: the {label} begins with "
                  f"{_shown(text[: len(first) + 8])}", region.span)  # fmt: skip
        return text
    if damage >= FAX_DAMAGE or not text:
        out.put(path, "unverified", region.span, f"the {label} is too damaged to match the quote")
        return text or collapse_ws(value)
    which = "last" if head.score >= EDGE_THRESHOLD else "first"
    words = last if which == "last" else first
    out.wrong(path, f"the {which} words {_shown(words)} are not the {which} words of this "
              f"item's {label} (they may come from another passage)", region.span)  # fmt: skip
    return text


def _check_items(
    items: list[dict[str, Any]],
    form: LetterForm,
    quotes: bool,
    damage: float,
    resolve: Callable[[str, int, int], tuple[str, tuple[int, int]] | None],
    out: Checked,
) -> None:
    places = form.items.items if form.items is not None else []
    rationales = form.items.rationale_labels if form.items is not None else 0
    if not places:
        for k, item in enumerate(items):
            for key in ("service", "outcome", *PASSAGES):
                if item.get(key) is not None:
                    out.put(f"items[{k}].{key}", "unverified", None,
                            "the letter's items could not be read")  # fmt: skip
        return
    pairs = align_items([collapse_ws(i.get("service") or "") for i in items], places)
    matched = {a for a, _ in pairs}
    matched_places = {p for _, p in pairs}
    for k, item in enumerate(items):
        if k in matched:
            continue
        if max(rationales, len(places)) >= len(items):
            for key in ("service", "outcome", *PASSAGES):
                if item.get(key) is not None:
                    out.put(f"items[{k}].{key}", "unverified", None,
                            "this item's place in the letter is unreadable")  # fmt: skip
        else:
            out.wrong(f"items[{k}]", f"the letter shows {len(places)} item(s); "
                      f"{_shown(item.get('service') or '', 60)} is not one of them")  # fmt: skip
    missed = [j for j in range(len(places)) if j not in matched_places]
    if missed:
        names = "; ".join(_shown(places[j].header_text, 50) for j in missed[:3])
        out.wrong("items", f"the letter shows {len(places)} decided items but the answer has "
                  f"{len(items)}; missing: {names}")  # fmt: skip
    for k, j in pairs:
        item, place = items[k], places[j]
        _check_service(k, item, place, damage, out)
        for key in PASSAGES:
            item[key] = _check_passage(k, key, item, place, quotes, damage, resolve, out)
        _check_outcome(k, item, place, damage, out)
        _check_passage_ends(k, item, out)


#: A passage label inside a passage's text: a line repeated or merged into it.
_LABEL_INSIDE = re.compile(
    "|".join(
        ocr_pattern(label).pattern + r"\s*[:;]"
        for label in (
            "Claims Administrator guideline",
            "MAXIMUS guideline",
            "Decision rationale",
            "Rationale for the Decision",
        )  # fmt: skip
    ),
    re.IGNORECASE,
)
#: How every guideline passage ends: a full stop (perhaps inside a bracket or a quote; OCR
#: reads it as a colon, a semicolon or a comma as often as not).
_PASSAGE_END = re.compile(r"[.!?:;,][\"'”’)\]_~|]*$|\)$")


def _check_passage_ends(k: int, item: dict[str, Any], out: Checked) -> None:
    """Flag a passage holding another passage's label, and a guideline that does not end as
    guidelines do.

    Every guideline is one or more "Decision based on ..." sentences, so it ends with a full
    stop; one that does not holds text that is not the guideline (OCR debris after it, a
    word from a damaged line) or was cut short, and a person should look at it.
    """
    for key in PASSAGES:
        path = f"items[{k}].{key}"
        value = item.get(key)
        evidence = out.evidence.get(path)
        if not value or evidence is None or evidence.status == "unverified":
            continue
        if _LABEL_INSIDE.search(value):
            out.put(path, "unverified", evidence.span, "holds a label of the item's form (a "
                    "repeated or merged line?)")  # fmt: skip
        elif key != "rationale" and not _PASSAGE_END.search(value.rstrip()):
            out.put(path, "unverified", evidence.span, "does not end with a full stop as every "
                    "guideline does (OCR debris after it, or cut short?)")  # fmt: skip


# --------------------------------------------------------------------------------------------


def _no_resolver(_quote: str, _start: int, _end: int) -> None:
    return None


def check_values(
    data: dict[str, Any],
    form: LetterForm,
    *,
    quotes: bool = False,
    resolve: Callable[[str, int, int], tuple[str, tuple[int, int]] | None] | None = None,
) -> Checked:
    """Check every value of contract-shaped ``data`` at its place in the letter.

    With ``quotes`` the items' passages are quotes ("first words ... last words") and are
    replaced, in ``data``, by the letter's text at their places; ``resolve(quote, start, end)``
    locates a quote whose label is unreadable. Contradictions are listed in ``errors``, one
    line per problem, precise enough to send back to a model.
    """
    if not form.placed:
        from .unplaced import check_unplaced

        return check_unplaced(data, form, quotes=quotes, resolve=resolve)
    out = Checked()
    damage: Any = _LazyDamage(form)  # compared like a float, computed on first use
    _check_case_number(data.get("case_number"), form, damage, out)
    for name in DATE_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, dt.date):
            value = dt.date.fromisoformat(str(value))
        _check_date(name, value, data, form, damage, out)
    _check_priority(data.get("priority"), form, out)
    reviewer = data.get("reviewer") or {}
    _check_states(list(reviewer.get("licensure_states") or []), form, out)
    specialties = _check_specialties(list(reviewer.get("specialties") or []), form, out)
    if reviewer.get("specialties"):
        reviewer["specialties"] = specialties  # the letter's own readings
    _check_patient(data.get("patient") or {}, form, damage, out)
    _check_items(data.get("items") or [], form, quotes, damage, resolve or _no_resolver, out)
    _check_expected(data, form, out)
    if form.letter_form.startswith("2016"):
        _check_required(data, form, out)
        _check_letter_end(data.get("items") or [], form, out)
    if out.contradicted and damage >= FAX_DAMAGE:
        _demote_structure(out)
    return out


#: How a letter's last rationale ends: with the reviewer's conclusion ("...is not medically
#: necessary", "...a medical necessity"), or with the form paragraph on weaning or tapering
#: that follows an opioid denial. Letters of this form print nothing after it.
_CONCLUSION_WORDS = ("necessary", "necessity", "medically", "weaning", "tapering")
_LAST_SENTENCE = re.compile(r"(?:^|[.!?][\"'”’)\]]*\s+)([^.!?]+[.!?]?[\"'”’)\]]*\s*)$")


def _concludes(rationale: str) -> bool:
    """Whether a rationale's last sentence states a conclusion (through OCR damage)."""
    text = collapse_ws(rationale)
    m = _LAST_SENTENCE.search(text[-600:])
    last = (m.group(1) if m else text[-300:]).lower()
    return any(
        word in last or fuzz.partial_ratio(word, last, score_cutoff=80) >= 80
        for word in _CONCLUSION_WORDS
    )


def _check_letter_end(items: list[dict[str, Any]], form: LetterForm, out: Checked) -> None:
    """Flag a letter that may be cut off: its last rationale does not end with a conclusion.

    A scan that lost its last page, or text cut short by a copy, ends inside a rationale,
    often at a full stop, where nothing else shows that the rest (and any items after it) is
    missing.
    """
    places = form.items.items if form.items is not None else []
    if not items or not places:
        return
    k = len(items) - 1
    path = f"items[{k}].rationale"
    rationale = items[k].get("rationale")
    evidence = out.evidence.get(path)
    if not rationale or (evidence is not None and evidence.status == "unverified"):
        return
    if not _concludes(rationale):
        out.put(path, "unverified", evidence.span if evidence else None,
                "the letter may be cut off: its last rationale ends without a conclusion "
                "(items after it may be missing)")  # fmt: skip


#: Header values every letter with a header table gives, by the label it prints.
_HEADER_REQUIRED = {
    "case_number": "Case Number",
    "date_assigned": "Date Assigned",
    "date_of_injury": "Date of Injury",
    "decision_date": "Decision Date",
    "ur_denial_date": "UR Denial Date",
    "application_received": "Application Received",
    "priority": "Priority",
}


def _check_required(data: dict[str, Any], form: LetterForm, out: Checked) -> None:
    """Flag a value the letter always gives that is missing from ``data``.

    A dropped line, a header the OCR garbled or a summary sentence it broke leaves a value
    null with nothing else to show for it; such a record must not pass as complete. Values
    already judged (a contradiction, an unreadable place) keep their own evidence.
    """
    header = form.header
    if header.ambiguous:
        for path in _HEADER_REQUIRED:
            place = header.places.get(path)
            evidence = out.evidence.get(path)
            if (
                place is not None
                and place.how == "order"
                and evidence is not None
                and (evidence.status != "unverified")
            ):
                out.put(path, "unverified", evidence.span, "its label is printed apart from its "
                        "value, and the header holds more values than labels: the pairing may "
                        "be shifted")  # fmt: skip
    if header.present:
        for path, label in _HEADER_REQUIRED.items():
            if data.get(path) is None and path not in out.evidence:
                place = header.places.get(path)
                out.put(path, "unverified", place.span if place else (header.start, header.end),
                        f"missing: every letter's header gives its {label}, and it could not "
                        "be read here")  # fmt: skip
    elif not form.doc.double_spaced:
        # Only the seed variant (a blank line after every line) is printed without a header;
        # any other letter of this form had one, which the scan or the OCR lost.
        for path, label in _HEADER_REQUIRED.items():
            if data.get(path) is None and path not in out.evidence:
                note = (f"missing: the letter shows no header table, where letters of this "
                        f"form print the {label} (lost to the scan?)")  # fmt: skip
                out.put(path, "unverified", None, note)
    reviewer = data.get("reviewer") or {}
    if form.sections.credentials is not None:
        for key, what in (("licensure_states", "licensure states"),
                          ("specialties", "certifications/specialties")):  # fmt: skip
            path = f"reviewer.{key}"
            if not reviewer.get(key) and path not in out.evidence:
                place = getattr(form.credentials, "states" if key == "licensure_states" else key)
                out.put(path, "unverified", place.span if place else None,
                        f"missing: every letter names the reviewer's {what}")  # fmt: skip
    summary = form.summary
    patient = data.get("patient") or {}
    if summary is None:
        # Every letter of this form has a case summary: one not found (a heading and its form
        # sentence both lost) leaves the age and sex unchecked, not absent.
        for key in ("age", "sex"):
            path = f"patient.{key}"
            if patient.get(key) is None and path not in out.evidence:
                out.put(path, "unverified", None, "missing: the case summary could not be found")
        return
    # Age and sex where the summary states them: several real letters do not ("The applicant
    # is a represented employee who..."), so a null is flagged only where an age phrase or a
    # sex word is there and could not be read.
    if patient.get("age") is None and "patient.age" not in out.evidence:
        if states_age(summary.text):
            out.put("patient.age", "unverified", summary.span,
                    "missing: the case summary states an age that could not be read")  # fmt: skip
    if patient.get("sex") is None and "patient.sex" not in out.evidence:
        stated = read_sex(summary.text)
        if stated is not None:
            span = (summary.start + stated.start, summary.start + stated.end)
            out.put("patient.sex", "unverified", span,
                    "missing: the case summary states the sex in words")  # fmt: skip
    if header.present:
        # The 2016-2017 letter with its header table states both in the summary's first
        # sentence ("The injured worker is a 48 year old male..."; every real letter of the
        # corpus does): a null there is a sentence lost or garbled, and a person must look.
        for key, what in (("age", "age"), ("sex", "sex")):
            path = f"patient.{key}"
            if patient.get(key) is None and path not in out.evidence:
                out.put(path, "unverified", summary.span, f"missing: no {what} was found in the "
                        "case summary, where letters of this form state it")  # fmt: skip


def _check_expected(data: dict[str, Any], form: LetterForm, out: Checked) -> None:
    """A value the letter's form always states, null here with nothing said about it: its
    place was not found, so the null is unchecked and a person must look."""
    for path in sorted(form.expected):
        head, _, tail = path.partition(".")
        value = (data.get(head) or {}).get(tail) if tail else data.get(head)
        if value in (None, []) and path not in out.evidence:
            out.put(path, "unverified", None, f"null; a {form.letter_form} letter always "
                    "states it, but its place was not found")  # fmt: skip
    places = form.items.items if form.items is not None else []
    for k, item in enumerate(data.get("items") or []):
        lost = getattr(places[k], "lost", ()) if k < len(places) else ()
        for key in lost:
            path = f"items[{k}].{key}"
            if item.get(key) is None and path not in out.evidence:
                out.put(path, "unverified", None, "null; its label seems to be there but is "
                        "unreadable")  # fmt: skip


class _LazyDamage:
    """The letter's estimated damage, computed only when a check first needs it.

    On a clean letter whose values all read at their places no check asks, and the estimate
    (a scan of every word) is the evidence stage's largest cost.
    """

    __slots__ = ("_form", "_value")

    def __init__(self, form: LetterForm) -> None:
        self._form = form
        self._value: float | None = None

    def __float__(self) -> float:
        if self._value is None:
            self._value = letter_damage(self._form)
        return self._value

    def __ge__(self, other: float) -> bool:
        return float(self) >= other

    def __gt__(self, other: float) -> bool:
        return float(self) > other

    def __le__(self, other: float) -> bool:
        return float(self) <= other

    def __lt__(self, other: float) -> bool:
        return float(self) < other


def _demote_structure(out: Checked) -> None:
    """On fax-quality text, an item's structure (where its header, passages and boundaries
    are) is itself read through heavy damage: a mismatch there may be the reading's fault, not
    the value's. Such values are kept and flagged instead of re-asked; an outcome that
    contradicts a marker read exactly stays an error."""
    for path in list(out.contradicted):
        if not path.startswith(("items", "patient", "reviewer")) or path.endswith(".outcome"):
            continue
        if path in out.certain:
            continue
        message = out.contradicted.pop(path)
        out.errors = [e for e in out.errors if not e.startswith(f"{path}: ")]
        span = out.evidence[path].span if path in out.evidence else None
        out.put(path, "unverified", span, f"does not match the damaged letter: {message}")
