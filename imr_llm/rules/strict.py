"""The fast path: a letter as printed, read by a strict pass, each value with its evidence.

The rules engine reads a letter in two passes that read every place twice: the engine reads a
value at its place (:mod:`imr_llm.rules`), then the evidence stage reads the place again to
check that value (:func:`imr_llm.evidence.check.check_values`, written for a model's values). For a
letter as printed, :func:`strict_record` does it once:

1. :func:`imr_llm.form.strict.strict_form` finds the places with exact tests (or gives up);
2. each value is read at its place by the rules engine's own readers, and the reading is
   the value's evidence: a date read exactly at its label *is* an ``exact`` date there, with
   the note the check would write (the checks are those of :mod:`imr_llm.evidence`, followed
   step by step, in their order, for a value read at its own place);
3. a value the readers do not read exactly at its place (OCR damage, a missing label, an
   unusual layout) is checked by the evidence stage's own check for that value, on the same
   places; anything the engine would refuse (a missing part, a failed self-check) leaves the
   letter to the tolerant path, which raises as it always has.

The record is then built by :func:`imr_llm.record.builder.build_record` exactly as for the tolerant
path: the two give equal records, evidence, warnings and review reasons on every letter both
read (``tests/test_fast_path.py``). :data:`enabled` turns the fast path off (tests compare the
two paths with it; ``benchmarks/rules_speed.py --tolerant`` times the tolerant path): a switch
for the whole process, not a setting, and not meant to be flipped while other threads read.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..evidence.check import LazyDamage, check_whole_letter, no_resolver
from ..evidence.common import Checked, legible, status_of
from ..evidence.header import check_case_number, check_date, split_date, words_before
from ..evidence.items import (
    LABEL_NAMES,
    PASSAGES,
    check_outcome,
    check_service,
    name_doubt,
    original_doubt,
    service_doubt,
    wording_doubt,
)
from ..evidence.passages import (
    check_passage,
    check_passage_ends,
    doubt_unsure_label,
    put_no_evidence,
)
from ..evidence.patient import check_patient
from ..evidence.reviewer import check_specialties, check_states, tail_again
from ..form import LetterForm, Place
from ..form.credentials import LIST_GOES_ON
from ..form.header import DATE_FIELDS, HeaderForm
from ..form.items import (
    ItemPlace,
    PartialRequest,
    marker_inside,
    says_no_evidence,
    split_partial_request,
)
from ..form.reading import (
    Reading,
    digits_apart,
    make_date,
    read_case_number,
    read_date,
    read_priority,
)
from ..form.strict import strict_form
from ..form.summary import first_age, read_injury_date, read_sex
from ..form.text import DOUBLED_WORD, collapse_ws
from ..form.vocabulary import SPECIALTIES, read_specialties
from ..inputs.normalise import check_input
from ..record.builder import build_record
from ..record.models import DeterminationRecord
from .engine import _nest
from .reviewer import read_reviewer
from .selfcheck import self_check
from .summary import _sex_near_age, read_diagnoses

#: Whether :func:`strict_record` reads at all (False: every letter takes the tolerant path).
enabled = True


@contextmanager
def tolerant_only() -> Iterator[None]:
    """Within this block every letter takes the tolerant path (for comparisons and timing)."""
    global enabled
    before, enabled = enabled, False
    try:
        yield
    finally:
        enabled = before


def strict_record(text: str, *, max_chars: int, backend: str) -> DeterminationRecord | None:
    """The record of ``text`` read by the fast path, or None when the tolerant path must read
    it. Raises what :func:`~imr_llm.inputs.normalise.normalise` raises for an unusable input."""
    started = time.perf_counter()
    text = check_input(text, max_chars)
    checked_input = time.perf_counter()
    form = strict_form(text)
    if form is None:
        return None
    read = _read(form)
    if read is None:
        return None
    engine_ms = round((time.perf_counter() - checked_input) * 1000, 3)
    checked = _evidence(read, form)
    return build_record(
        read.data,
        checked,
        engine="rules",
        backend=backend,
        review=read.flags,
        warnings=read.warnings,
        letter_form=form.letter_form,
        timings_ms={
            "normalise": round((checked_input - started) * 1000, 3),
            "engine": engine_ms,
            "total": round((time.perf_counter() - started) * 1000, 3),
        },
    )


# --------------------------------------------------------------------------------------------
# The rules engine's readings (imr_llm.rules.engine.read_letter), each kept with its value
# --------------------------------------------------------------------------------------------


class _Item:
    """One item's reading: its place, the partly certified request read in its header,
    whether its Claims Administrator passage says no guideline was cited, and each passage's
    text, whitespace collapsed."""

    __slots__ = ("place", "partial", "no_evidence", "texts")

    def __init__(
        self,
        place: ItemPlace,
        partial: PartialRequest | None,
        no_evidence: bool,
        texts: dict[str, str],
    ) -> None:
        self.place, self.partial, self.no_evidence, self.texts = (
            place, partial, no_evidence, texts
        )  # fmt: skip


class _Read:
    """The engine's values (contract-shaped), its warnings and review flags, and the readings
    the values' evidence is taken from."""

    __slots__ = ("data", "warnings", "flags", "header", "age", "injury", "items")

    def __init__(
        self, data: dict[str, Any], warnings: list[str], header: dict[str, Reading[Any]]
    ) -> None:
        self.data = data
        self.warnings = warnings
        self.flags: list[str] = []
        self.header = header
        self.age: Reading[int] | None = None
        self.injury: Reading[Any] | None = None
        self.items: list[_Item] = []


def _read(form: LetterForm) -> _Read | None:
    """What :func:`~imr_llm.rules.rules_values` gives for ``form``, with the readings; None
    where it would raise (a part not read, a failed self-check) or read another way."""
    if not form.letter_form.startswith("2016"):
        return None
    values: dict[str, Any] = {}
    header = _read_header(form.header, values)
    if header is None:
        return None
    warnings: list[str] = []
    if form.sections.credentials:
        reviewer = read_reviewer(form.credentials)
        if reviewer.missing or reviewer.unread:
            return None
        values.update(reviewer.values)
        warnings.extend(reviewer.warnings)
    else:
        return None
    read = _Read({}, warnings, header)
    if form.sections.summary and form.summary is not None:
        _read_summary(form.summary.text, "date_of_injury" not in values, values, read)
    if form.items is None or not form.items.items:
        return None
    items: list[dict[str, Any]] = []
    for place in form.items.items:
        item = _read_item(place, read)
        if item is None:
            return None
        items.append(item)
    if form.items.rationale_labels > len(items):
        return None
    values["items"] = items
    read.data = _nest(values)
    errors, read.flags = self_check(read.data["items"])
    if errors:
        return None
    return read


def _read_header(form: HeaderForm, values: dict[str, Any]) -> dict[str, Reading[Any]] | None:
    """:func:`imr_llm.rules.header.read_header` where every value is read at its own place."""
    readings: dict[str, Reading[Any]] = {}
    if not form.present:
        return readings
    place = form.places.get("case_number")
    case = read_case_number(place.text) if place is not None else None
    if case is None:
        return None
    readings["case_number"] = case
    values["case_number"] = case.value
    for name in DATE_FIELDS:
        place = form.places.get(name)
        if place is None:
            return None
        reading = _read_date(place.text)
        if reading is None:
            return None
        readings[name] = reading
        values[name] = reading.value
    place = form.places.get("priority")
    if place is None:
        return None
    if place.text in _PRIORITIES:  # read_priority's reading of a priority written as is
        priority: Reading[str] | None = Reading(place.text.lower(), True, 0, len(place.text))
    else:
        priority = read_priority(place.text)
    if priority is None:
        return None
    readings["priority"] = priority
    values["priority"] = priority.value
    return readings


_PRIORITIES = ("Standard", "Expedited")
_PLAIN_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


def _read_date(text: str) -> Reading[dt.date] | None:
    """:func:`~imr_llm.form.reading.read_date`; for a place holding just a date written as
    ``m/d/yyyy`` that is its one reading, ``exact`` (its pattern matches the whole place,
    which is the plain form, and no month name is there)."""
    m = _PLAIN_DATE.fullmatch(text)
    if m is not None:
        value = make_date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        if value is not None:
            return Reading(value, True, 0, len(text))
    return read_date(text)


def _read_summary(text: str, want_injury: bool, values: dict[str, Any], read: _Read) -> None:
    """:func:`imr_llm.rules.summary.read_summary` on the summary's text."""
    age = first_age(text)
    read.age = age
    if age is not None:
        values["patient.age"] = age.value
    sex = _sex_near_age(text, age.start if age is not None else None)
    if sex is not None:
        values["patient.sex"] = sex.value
    if want_injury:
        injury = read_injury_date(text)
        if injury is not None:
            values["date_of_injury"] = injury.value
            read.injury = injury
    diagnoses = read_diagnoses(text)
    if diagnoses is not None:
        values["diagnoses"] = diagnoses[0]


def _read_item(place: ItemPlace, read: _Read) -> dict[str, Any] | None:
    """:func:`imr_llm.rules.items._read_item` for an item read in full; None otherwise."""
    header = place.header_text
    # marker_inside's patterns both hold a colon or a semicolon.
    colon = ":" in header or ";" in header
    if not header or (colon and marker_inside(header)) or place.outcome is None:
        return None
    if name_doubt(header, True, wording=False):
        # Form text, a conclusion or a repeated run in the header: the header walk may have
        # crossed into a passage, which the tolerant reader decides (it may refuse the letter).
        return None
    try:
        partial = split_partial_request(header)
    except ValueError:
        return None
    service, original_request = header, None
    if partial:
        original_request, service = partial.original_request, partial.service
    if not service or any(wording_doubt(name) for name in (service, original_request) if name):
        return None
    texts: dict[str, str] = {}
    for name, passage in place.passages.items():
        if passage is None:
            return None
        texts[name] = collapse_ws(passage.text)
    if "rationale" in texts and not texts["rationale"]:
        return None
    ca = texts.get("claims_administrator_guideline")
    no_evidence = bool(ca) and says_no_evidence(ca)
    read.items.append(_Item(place, partial, no_evidence, texts))
    return {
        "service": service,
        "original_request": original_request,
        "outcome": place.outcome.value,
        "claims_administrator_guideline": None if no_evidence else ca or None,
        "maximus_guideline": texts.get("maximus_guideline") or None,
        "rationale": texts.get("rationale") or None,
    }


# --------------------------------------------------------------------------------------------
# Evidence (imr_llm.evidence.check.check_values), each value's from its own reading
# --------------------------------------------------------------------------------------------


def _evidence(read: _Read, form: LetterForm) -> Checked:
    """What :func:`~imr_llm.evidence.check.check_values` finds for the engine's values at their
    places, in its order: from the readings where a value was read at its own place, by the
    check itself otherwise."""
    data = read.data
    out = Checked()
    damage: Any = LazyDamage(form)
    header = form.header
    case = read.header.get("case_number")
    if case is not None and case.exact:
        out.put("case_number", "exact", header.places["case_number"].span, "at its label")
    elif case is not None:
        check_case_number(case.value, form, damage, out)
    for name in DATE_FIELDS:
        _date_evidence(name, data, form, read, damage, out)
    if "priority" in read.header:
        place = header.places["priority"]
        out.put("priority", status_of(read.header["priority"].exact), place.span, "at its label")
    reviewer = data.get("reviewer") or {}
    check_states(list(reviewer.get("licensure_states") or []), form, out)
    values = list(reviewer.get("specialties") or [])
    specialties = _specialty_evidence(values, form, out)
    if specialties is None:
        specialties = check_specialties(values, form, out)
    if reviewer.get("specialties"):
        reviewer["specialties"] = specialties
    _patient_evidence(data.get("patient") or {}, form, read, damage, out)
    for k, (item, reading) in enumerate(zip(data["items"], read.items, strict=True)):
        _item_evidence(k, item, reading, damage, out)
        check_passage_ends(k, item, out, damage)
    check_whole_letter(data, form, damage, out)  # the fast path's forms are all 2016's
    return out


def _specialty_evidence(values: list[str], form: LetterForm, out: Checked) -> list[str] | None:
    """:func:`imr_llm.evidence.reviewer.check_specialties` for specialties each written as one known
    name, as the engine read them (None otherwise).

    Each value is then the exact reading at its own index: a known name is no cut-off start
    of another, reads alone as itself (no comma or semicolon splits it), and no other reading
    of the list is the same name (their known names differ).
    """
    place = form.credentials.specialties
    if place is None or not values or form.credentials.repeated or LIST_GOES_ON.search(place.text):
        return None
    names = read_specialties(place.text)
    readings = names.readings
    if names.unread or names.repeated or len(readings) != len(values) or tail_again(names):
        return None
    if DOUBLED_WORD.search(place.text):
        return None  # a word OCR read twice: check_specialties says which names it touches
    known = SPECIALTIES._forms  # the names as written, each to its known name
    seen: set[str] = set()
    for reading, value in zip(readings, values, strict=True):
        if not reading.exact or reading.value != value or "," in value or ";" in value:
            return None
        seen.add(known[value])
    if len(seen) != len(values):
        return None
    base = place.start
    for k, reading in enumerate(readings):
        out.put(f"reviewer.specialties[{k}]", "exact", (base + reading.start, base + reading.end),
                "among the reviewer's specialties")  # fmt: skip
    return values


_WHERE = {"region": "in the case summary", "sentence": "in its sentence"}


def _date_evidence(
    name: str, data: dict[str, Any], form: LetterForm, read: _Read, damage: Any, out: Checked
) -> None:
    """:func:`imr_llm.evidence.header.check_date` for a date the engine read at its place."""
    value = data.get(name)
    reading = read.header.get(name)
    place = form.header.places.get(name)
    if reading is None and name == "date_of_injury" and read.injury is not None:
        # Read in the case summary: the check reads it at the same words, as its place.
        assert form.summary is not None
        s = form.summary.start + read.injury.start
        text = form.summary.text[read.injury.start : read.injury.end]
        place = Place(s, form.summary.start + read.injury.end, text, "region")
        reading = read_date(text)
    if (
        value is None
        or reading is None
        or place is None
        or reading.value != value
        or words_before(place, reading.start)
        or split_date(place, reading, form.doc.source)
    ):
        check_date(name, value, data, form, damage, out)
        return
    glued = reading.start > 0 and not place.text[reading.start - 1].isspace()
    out.put(name, status_of(reading.exact and not glued), place.span,
            _WHERE.get(place.how, "at its label"))  # fmt: skip


def _patient_evidence(
    patient: dict[str, Any], form: LetterForm, read: _Read, damage: Any, out: Checked
) -> None:
    """:func:`imr_llm.evidence.patient.check_patient` for an age and a sex read in the summary."""
    summary = form.summary
    age, sex = patient.get("age"), patient.get("sex")
    first = read.age
    if (
        summary is not None
        and age is not None
        and sex is not None
        and first is not None
        and digits_apart(summary.text, first.start) is None
    ):
        stated = read_sex(summary.text, first.start)
        if stated is None and first.start:
            stated = read_sex(summary.text, 0)
        if first.value == age and stated is not None and stated.value == sex:
            base = summary.start
            out.put("patient.age", status_of(first.exact), (base + first.start, base + first.end),
                    "in the case summary")  # fmt: skip
            out.put("patient.sex", status_of(stated.exact),
                    (base + stated.start, base + stated.end), "in the case summary")  # fmt: skip
            return
    check_patient(patient, form, damage, out)


def _item_evidence(k: int, item: dict[str, Any], reading: _Item, damage: Any, out: Checked) -> None:
    """:func:`imr_llm.evidence.check.check_items` for one item the engine read at its place."""
    place = reading.place
    service = collapse_ws(item.get("service") or "")
    partial = reading.partial
    target = partial.service if partial else place.header_text
    if not (legible(place.header_text) and service == target):
        check_service(k, item, place, damage, out)
    else:
        span = place.header.span
        # The doubts check_service has about a header read exactly (a repeated line, a first
        # line lost, form text taken along) hold for the fast path's reading too.
        doubt = service_doubt(target, partial, place)
        if doubt:
            out.put(f"items[{k}].service", "unverified", span, doubt)
        else:
            out.put(f"items[{k}].service", "exact", span, "at its item marker")
        item["service"] = target
        if partial is not None:
            original = item.get("original_request")
            path = f"items[{k}].original_request"
            if original == partial.original_request:
                doubt = original_doubt(partial)
                if doubt:
                    out.put(path, "unverified", span, doubt)
                else:
                    out.put(path, "exact", span, "in the item header")
            else:
                out.evidence.pop(f"items[{k}].service")
                check_service(k, item, place, damage, out)
    for key in PASSAGES:
        item[key] = _passage_evidence(k, key, item, reading, damage, out)
        doubt_unsure_label(k, key, place, out)
    outcome = place.outcome
    if outcome is not None and outcome.value == item.get("outcome"):
        out.put(f"items[{k}].outcome", status_of(outcome.exact), place.outcome_place.span,
                "at its item marker")  # fmt: skip
    else:
        check_outcome(k, item, place, damage, out)


def _passage_evidence(
    k: int, key: str, item: dict[str, Any], reading: _Item, damage: Any, out: Checked
) -> str | None:
    """:func:`~imr_llm.evidence.passages.check_passage` for a passage read at its place."""
    place = reading.place
    region = place.passages.get(key)
    value = item.get(key)
    text = reading.texts.get(key)
    if region is None or text is None:
        return check_passage(k, key, item, place, False, damage, no_resolver, out)
    path = f"items[{k}].{key}"
    label = LABEL_NAMES[key]
    no_evidence = key == "claims_administrator_guideline" and reading.no_evidence
    if value is None:
        if no_evidence:
            put_no_evidence(path, text, region.span, out)
        elif key == "claims_administrator_guideline" and not text:
            out.put(path, "unverified", region.span, "the guideline is empty")
        elif text:
            return check_passage(k, key, item, place, False, damage, no_resolver, out)
        return None
    if no_evidence or value != text:
        return check_passage(k, key, item, place, False, damage, no_resolver, out)
    out.put(path, "exact", region.span, f"after '{label}:'")
    return value
