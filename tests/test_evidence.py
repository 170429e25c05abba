"""Evidence per value, at its place: each kind of value against a fabricated value, a true value
written elsewhere in the letter, and OCR damage at its place (issue 7).

Every case starts from a gold letter and its hand-checked label (never from an engine's
output): ``gA01`` (header table, block credentials, a plain item and a partly certified
request), its plain-pdftotext rendering, and the headerless seed letter ``seed-000``. The test
edits the letter text (OCR damage, an unreadable place, a value written somewhere else) or the
answer (a fabricated value, a value taken from another place) and states what the evidence
check must say:

- a value that contradicts readable text at its place is an error for that path (for an LLM
  answer: a re-ask, so both :func:`check_values` and the answer validator are asked);
- a true value at its place through OCR damage is no error, status ``repaired``;
- a value whose place is unreadable is no error, status ``unverified``, and the record built
  from it, or the rules engine's record for the damaged letter, needs review.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imr_llm import ImrError, extract
from imr_llm.evidence.anchors import anchor_quote
from imr_llm.evidence.check import check_values
from imr_llm.evidence.common import Checked
from imr_llm.form import read_form
from imr_llm.inputs.normalise import normalise
from imr_llm.llm.answer import LetterAnswer, LetterContext, answer_to_candidate
from imr_llm.record.builder import build_record

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold"
PASSAGES = ("claims_administrator_guideline", "maximus_guideline", "rationale")
#: What an unreadable place looks like after a bad scan.
UNREADABLE = "“Tye? : ."


def gold_letter(name: str, rendering: str = "layout") -> str:
    if rendering == "layout":
        return (GOLD / "letters" / f"{name}.txt").read_text(encoding="utf-8")
    return (GOLD / "renderings" / rendering / f"{name}.txt").read_text(encoding="utf-8")


def gold_label(name: str) -> dict[str, Any]:
    return json.loads((GOLD / "labels" / f"{name}.json").read_text(encoding="utf-8"))


A01 = gold_letter("gA01")
A01_RAW = gold_letter("gA01", "raw")
LABEL = gold_label("gA01")
SEED = gold_letter("seed-000")
SEED_LABEL = gold_label("seed-000")


# --------------------------------------------------------------------------------------------
# Helpers: edit the letter, edit the answer, check it
# --------------------------------------------------------------------------------------------


def sub_after(text: str, anchor: str, old: str, new: str) -> str:
    """``text`` with the first ``old`` after ``anchor`` replaced by ``new``."""
    at = text.index(anchor)
    pos = text.index(old, at)
    return text[:pos] + new + text[pos + len(old) :]


def insert_sentence(text: str, sentence: str) -> str:
    """``text`` with ``sentence`` added to the case summary (after its first sentence's end)."""
    anchor = "twisted his left knee." if "twisted his left knee." in text else "The diagnoses"
    pos = text.index(anchor) + (len(anchor) if anchor.endswith(".") else 0)
    return text[:pos] + " " + sentence + " " + text[pos:]


def quoted(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every passage given as an LLM quote ("first words ... last words")."""
    out = copy.deepcopy(data)
    for item in out["items"]:
        for key in PASSAGES:
            if item[key] is not None:
                item[key] = anchor_quote(item[key])
    return out


def check(text: str, data: dict[str, Any], *, quotes: bool = True) -> Checked:
    form = read_form(normalise(text))
    return check_values(copy.deepcopy(data), form, quotes=quotes)


def errors_at(checked: Checked, path: str) -> list[str]:
    return [e for e in checked.errors if e.split(": ", 1)[0] == path]


def answer_payload(data: dict[str, Any]) -> dict[str, Any]:
    """The model's answer (the LLM engine's shape) for contract-shaped ``data`` with quotes."""
    return {
        **{k: data[k] for k in ("case_number", "priority")},
        **{
            k: data[k]
            for k in (
                "date_assigned",
                "date_of_injury",
                "decision_date",
                "ur_denial_date",
                "application_received",
            )
        },
        "licensure_states": data["reviewer"]["licensure_states"],
        "specialties": data["reviewer"]["specialties"],
        "patient_age": data["patient"]["age"],
        "patient_sex": data["patient"]["sex"],
        "items": [
            {k: item[k] for k in ("service", "original_request", "outcome", *PASSAGES)}
            for item in data["items"]
        ],
    }


def reask_problems(text: str, data: dict[str, Any]) -> list[str]:
    """What the LLM engine would send back to the model for this answer (empty: accepted)."""
    context = LetterContext(read_form(normalise(text)))
    answer = LetterAnswer.model_validate(answer_payload(data))
    candidate = answer_to_candidate(answer, context)
    return [*candidate.invalid, *candidate.checked.errors]


def expect_error(text: str, data: dict[str, Any], path: str) -> None:
    """``data`` contradicts ``text`` at ``path``: an error there, and a re-ask for a model."""
    checked = check(text, quoted(data))
    assert errors_at(checked, path), (path, checked.errors)
    problems = reask_problems(text, quoted(data))
    assert any(p.split(": ", 1)[0] == path for p in problems), (path, problems)


def expect_status(text: str, data: dict[str, Any], path: str, status: str) -> Checked:
    """No error anywhere, and ``path`` has evidence ``status``; a model is not re-asked."""
    checked = check(text, quoted(data))
    assert checked.errors == [], checked.errors
    assert path in checked.evidence, (path, sorted(checked.evidence))
    assert checked.evidence[path].status == status, (path, checked.evidence[path])
    assert reask_problems(text, quoted(data)) == []
    return checked


def expect_unverified(text: str, data: dict[str, Any], path: str) -> None:
    """The place of ``path`` is unreadable: kept, unverified, and the record needs review.

    (What the rules engine does with the same letter is tested apart, below.)
    """
    expect_status(text, data, path, "unverified")
    resolved = quoted(data)
    checked = check_values(resolved, read_form(normalise(text)), quotes=True)
    record = build_record(resolved, checked, engine="llm", backend="llm")
    assert record.metadata is not None and record.metadata.needs_review
    assert any(path in reason for reason in record.metadata.review_reasons)


def with_value(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``value`` at ``path`` ("reviewer.specialties[0]")."""
    out = copy.deepcopy(data)
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node: Any = out
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = value
    else:
        node[last] = value
    return out


# --------------------------------------------------------------------------------------------
# The gold answer itself is accepted: a perfect answer is never re-asked
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [(A01, LABEL), (A01_RAW, LABEL), (SEED, SEED_LABEL)],
    ids=["gA01", "gA01-raw", "seed-000"],
)
def test_gold_answer_is_exact_everywhere(text: str, label: dict[str, Any]) -> None:
    for quotes in (False, True):
        data = quoted(label) if quotes else copy.deepcopy(label)
        checked = check(text, data, quotes=quotes)
        assert checked.errors == []
        assert {p: e.status for p, e in checked.evidence.items() if e.status != "exact"} == {}
    assert reask_problems(text, quoted(label)) == []
    if text is A01:
        assert set(check(text, quoted(label)).evidence) >= {
            "case_number",
            "date_assigned",
            "date_of_injury",
            "decision_date",
            "ur_denial_date",
            "application_received",
            "priority",
            "reviewer.licensure_states[0]",
            "reviewer.licensure_states[1]",
            "reviewer.specialties[0]",
            "patient.age",
            "patient.sex",
            *(f"items[{k}].{key}" for k in (0, 1) for key in ("service", "outcome", *PASSAGES)),
            "items[1].original_request",
        }


# --------------------------------------------------------------------------------------------
# Header: case number, the five dates, priority
# --------------------------------------------------------------------------------------------

#: Each header date: its label in gA01, as the letter writes it, and an OCR-damaged rendering.
DATES = {
    "date_assigned": ("Date Assigned:", "11/07/2016", "1l/O7/2016"),
    "date_of_injury": ("Date of Injury:", "08/17/2016", "o8/17/2016"),
    "decision_date": ("Decision Date:", "12/05/2016", "I2/O5/2016"),
    "ur_denial_date": ("UR Denial Date:", "10/21/2016", "1O/2l/2016"),
    "application_received": ("Application", "10/31/2016", "10/3l/2O16"),
}
#: A leading bar glued to a date ("|-12/30/2016"), as issue 7 lists among the damage to read.
#: A date in no part of gA01, per field.
FABRICATED_DATES = {
    "date_assigned": "2016-11-09",
    "date_of_injury": "2016-08-12",
    "decision_date": "2016-12-15",
    "ur_denial_date": "2016-10-20",
    "application_received": "2016-11-30",
}
#: A date gA01 does write, but at another place: another header date or the summary's visit.
ELSEWHERE_DATES = {
    "date_assigned": "2016-12-05",  # the decision date
    "date_of_injury": "2016-10-05",  # the visit date in the case summary
    "decision_date": "2016-11-07",  # the date assigned
    "ur_denial_date": "2016-10-31",  # the application date
    "application_received": "2016-10-21",  # the UR denial date
}


def test_expected_values_come_from_the_letter() -> None:
    """The test's own table of dates matches the label and the letter's header."""
    for name, (label_text, written, _) in DATES.items():
        month, day, year = written.split("/")
        assert LABEL[name] == f"{year}-{month}-{day}"
        assert written in A01[A01.index(label_text) :].splitlines()[0]
        year, month, day = FABRICATED_DATES[name].split("-")
        assert f"{month}/{day}/{year}" not in A01
        assert f"{int(month)}/{int(day)}/{year[2:]}" not in A01
    for name, iso in ELSEWHERE_DATES.items():
        year, month, day = iso.split("-")
        assert f"{month}/{day}/{year}" in A01 and iso != LABEL[name]


def test_case_number_fabricated() -> None:
    expect_error(A01, with_value(LABEL, "case_number", "CM17-0456789"), "case_number")


def test_case_number_one_digit_off_on_clean_text_is_an_error() -> None:
    """No "any one character different" tolerance: a real digit error is caught."""
    for wrong in ("CM16-0221349", "CM16-0221248", "CM15-0221348", "CM16-1221348"):
        expect_error(A01, with_value(LABEL, "case_number", wrong), "case_number")
        expect_error(A01_RAW, with_value(LABEL, "case_number", wrong), "case_number")


def test_case_number_written_elsewhere() -> None:
    text = insert_sentence(A01, "An earlier review, CM15-0112233, concerned his back.")
    assert "CM15-0112233" in text
    expect_error(text, with_value(LABEL, "case_number", "CM15-0112233"), "case_number")


@pytest.mark.parametrize(
    "damaged",
    [
        pytest.param(
            "PCM16-0221348",
        ),
        "CM16-O221348",
        "CMl6-0221348",
        "CM16-022l348",
    ],
)
def test_case_number_ocr_damaged(damaged: str) -> None:
    text = sub_after(A01, "Case Number:", "CM16-0221348", damaged)
    expect_status(text, LABEL, "case_number", "repaired")


def test_case_number_unreadable() -> None:
    text = sub_after(A01, "Case Number:", "CM16-0221348", UNREADABLE)
    expect_unverified(text, LABEL, "case_number")


@pytest.mark.parametrize("name", list(DATES))
def test_date_fabricated(name: str) -> None:
    expect_error(A01, with_value(LABEL, name, FABRICATED_DATES[name]), name)
    expect_error(A01_RAW, with_value(LABEL, name, FABRICATED_DATES[name]), name)


@pytest.mark.parametrize("name", list(DATES))
def test_date_written_elsewhere(name: str) -> None:
    expect_error(A01, with_value(LABEL, name, ELSEWHERE_DATES[name]), name)
    expect_error(A01_RAW, with_value(LABEL, name, ELSEWHERE_DATES[name]), name)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("date_assigned", "decision_date"),
        ("date_of_injury", "ur_denial_date"),
        ("ur_denial_date", "application_received"),
        ("date_assigned", "application_received"),
    ],
)
@pytest.mark.parametrize("rendering", ["layout", "raw"])
def test_swapped_header_dates(one: str, other: str, rendering: str) -> None:
    text = A01 if rendering == "layout" else A01_RAW
    data = with_value(with_value(LABEL, one, LABEL[other]), other, LABEL[one])
    expect_error(text, data, one)
    expect_error(text, data, other)


@pytest.mark.parametrize("name", list(DATES))
def test_date_ocr_damaged(name: str) -> None:
    label_text, written, damaged = DATES[name]
    text = sub_after(A01, label_text, written, damaged)
    expect_status(text, LABEL, name, "repaired")


@pytest.mark.parametrize("name", [n for n in DATES])
def test_date_with_glued_bar(name: str) -> None:
    label_text, written, _ = DATES[name]
    text = sub_after(A01, label_text, written, "|-" + written)
    expect_status(text, LABEL, name, "repaired")


def test_date_with_glued_bar_is_never_an_error() -> None:
    """Whatever the reading, the damaged date is no contradiction and is flagged, not lost."""
    text = sub_after(A01, "Decision Date:", "12/05/2016", "|-12/05/2016")
    checked = check(text, quoted(LABEL))
    assert checked.errors == []
    assert checked.evidence["decision_date"].status in ("repaired", "unverified")


@pytest.mark.parametrize("name", list(DATES))
def test_date_ocr_damaged_raw(name: str) -> None:
    """Labels and values printed apart (plain pdftotext): damage at the value's position."""
    _, written, damaged = DATES[name]
    head, sep, rest = A01_RAW.partition("HOW THE IMR")
    assert head.count(written) == 1
    text = head.replace(written, damaged) + sep + rest
    expect_status(text, LABEL, name, "repaired")


@pytest.mark.parametrize("name", list(DATES))
def test_date_unreadable(name: str) -> None:
    label_text, written, _ = DATES[name]
    text = sub_after(A01, label_text, written, UNREADABLE)
    expect_unverified(text, LABEL, name)


def test_date_damaged_but_contradicting_is_still_an_error() -> None:
    """OCR damage at the place reads to 11/07/2016; an answer of 12/05/2016 contradicts it."""
    text = sub_after(A01, "Date Assigned:", "11/07/2016", "1l/O7/2016")
    expect_error(text, with_value(LABEL, "date_assigned", "2016-12-05"), "date_assigned")


def test_priority_fabricated() -> None:
    expect_error(A01, with_value(LABEL, "priority", "expedited"), "priority")


def test_priority_written_elsewhere() -> None:
    text = insert_sentence(A01, "His attorney asked for an expedited review.")
    expect_error(text, with_value(LABEL, "priority", "expedited"), "priority")


@pytest.mark.parametrize("damaged", ["Stadar", "5tandard", "Standa rd"])
def test_priority_ocr_damaged(damaged: str) -> None:
    text = sub_after(A01, "Priority:", "Standard", damaged)
    expect_status(text, LABEL, "priority", "repaired")


def test_priority_unreadable() -> None:
    text = sub_after(A01, "Priority:", "Standard", UNREADABLE)
    expect_unverified(text, LABEL, "priority")


# --------------------------------------------------------------------------------------------
# Headerless letter (seed-000): header values are null; the injury date is in the summary
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("case_number", "CM16-0221348"),
        ("date_assigned", "2007-08-01"),
        ("decision_date", "2013-01-15"),
        ("ur_denial_date", "2012-12-03"),
        ("application_received", "2012-12-20"),
        ("priority", "standard"),
    ],
)
def test_headerless_letter_rejects_header_values(path: str, value: str) -> None:
    assert SEED_LABEL[path] is None
    expect_error(SEED, with_value(SEED_LABEL, path, value), path)


def test_headerless_injury_date_fabricated_and_elsewhere() -> None:
    expect_error(SEED, with_value(SEED_LABEL, "date_of_injury", "2007-06-18"), "date_of_injury")
    # A true date of the letter, given at a place it does not hold.
    assert "6/19/07" in SEED
    expect_error(SEED, with_value(SEED_LABEL, "decision_date", "2007-06-19"), "decision_date")


def test_headerless_injury_date_ocr_damaged() -> None:
    text = sub_after(SEED, "industrial injury on", "6/19/07", "6/l9/O7")
    expect_status(text, SEED_LABEL, "date_of_injury", "repaired")


def test_headerless_injury_date_unreadable() -> None:
    text = sub_after(SEED, "industrial injury on", "6/19/07", UNREADABLE)
    expect_unverified(text, SEED_LABEL, "date_of_injury")


# --------------------------------------------------------------------------------------------
# Reviewer: licensure states and specialties
# --------------------------------------------------------------------------------------------

STATES = "reviewer.licensure_states"


def test_state_fabricated() -> None:
    data = with_value(LABEL, STATES, ["California", "Nevada", "Texas"])
    expect_error(A01, data, f"{STATES}[2]")
    expect_error(A01, with_value(LABEL, f"{STATES}[1]", "Oregon"), f"{STATES}[1]")


def test_state_named_elsewhere_in_the_letter() -> None:
    text = insert_sentence(A01, "He had moved from Arizona the year before.")
    data = with_value(LABEL, STATES, ["California", "Nevada", "Arizona"])
    expect_error(text, data, f"{STATES}[2]")


def test_state_left_out_is_an_error() -> None:
    expect_error(A01, with_value(LABEL, STATES, ["California"]), STATES)


def test_texas_is_not_read_inside_te_as() -> None:
    """The letter never names Texas; "te As" in its text is no licensure state."""
    text = insert_sentence(A01, "The treating surgeon wrote a note As of that visit.")
    assert "te As" in text and "Texas" not in text
    expect_error(text, with_value(LABEL, STATES, ["California", "Nevada", "Texas"]), f"{STATES}[2]")
    # Nor when "te As" stands in the credentials block itself, after the states line.
    text = A01.replace(
        "Certification(s)/Specialty: Orthopaedic Surgery",
        "Certification(s)/Specialty: Orthopaedic Surgery (see note As above)",
    )
    expect_error(text, with_value(LABEL, STATES, ["California", "Nevada", "Texas"]), f"{STATES}[2]")


def test_state_ocr_damaged() -> None:
    text = sub_after(A01, "State(s) of Licensure:", "California", "Caltfomia")
    expect_status(text, LABEL, f"{STATES}[0]", "repaired")


def test_two_word_state_ocr_damaged() -> None:
    """The letter names New York through OCR damage; the answer says New York."""
    text = sub_after(A01, "State(s) of Licensure:", "Nevada", "New ¥ ork")
    data = with_value(LABEL, f"{STATES}[1]", "New York")
    expect_status(text, data, f"{STATES}[1]", "repaired")
    # ... and Nevada, which the damaged letter no longer names, is an error there.
    expect_error(text, LABEL, f"{STATES}[1]")


def test_states_unreadable() -> None:
    text = sub_after(A01, "State(s) of Licensure:", "California,Nevada", UNREADABLE)
    expect_unverified(text, LABEL, f"{STATES}[0]")


def test_sentence_credentials_state_checks() -> None:
    """seed-000 writes its states after "licensed to practice in"."""
    expect_error(SEED, with_value(SEED_LABEL, STATES, ["California", "Texas"]), f"{STATES}[1]")
    expect_error(SEED, with_value(SEED_LABEL, f"{STATES}[0]", "Nevada"), f"{STATES}[0]")


SPECIALTY = "reviewer.specialties[0]"


def test_specialty_fabricated() -> None:
    expect_error(A01, with_value(LABEL, SPECIALTY, "Cardiology"), SPECIALTY)
    expect_error(SEED, with_value(SEED_LABEL, SPECIALTY, "Cardiology"), SPECIALTY)


def test_specialty_written_elsewhere() -> None:
    text = insert_sentence(A01, "He was first seen in Internal Medicine for the swelling.")
    expect_error(text, with_value(LABEL, SPECIALTY, "Internal Medicine"), SPECIALTY)
    # A second specialty the letter names only outside the credentials.
    data = with_value(LABEL, "reviewer.specialties", ["Orthopaedic Surgery", "Internal Medicine"])
    expect_error(text, data, "reviewer.specialties[1]")


@pytest.mark.parametrize("damaged", ["0rthopaedic Surqery", "Orthopaed1c Surgcry"])
def test_specialty_ocr_damaged(damaged: str) -> None:
    text = sub_after(A01, "Certification(s)/Specialty:", "Orthopaedic Surgery", damaged)
    expect_status(text, LABEL, SPECIALTY, "repaired")


def test_specialty_unreadable() -> None:
    text = sub_after(A01, "Certification(s)/Specialty:", "Orthopaedic Surgery", UNREADABLE)
    expect_unverified(text, LABEL, SPECIALTY)


# --------------------------------------------------------------------------------------------
# Patient: age and sex, in the case summary
# --------------------------------------------------------------------------------------------


def test_age_fabricated() -> None:
    expect_error(A01, with_value(LABEL, "patient.age", 61), "patient.age")


def test_age_written_elsewhere() -> None:
    """24 is written in the letter ("at least 24 hours"), but it is not the patient's age."""
    assert "at least 24 hours" in A01
    expect_error(A01, with_value(LABEL, "patient.age", 24), "patient.age")
    text = insert_sentence(A01, "His 35 year old son drove him to the clinic.")
    expect_error(text, with_value(LABEL, "patient.age", 35), "patient.age")


@pytest.mark.parametrize("damaged", ["S9 year old", "59 ycar o1d"])
def test_age_ocr_damaged(damaged: str) -> None:
    text = sub_after(A01, "The injured worker is a", "59 year old", damaged)
    expect_status(text, LABEL, "patient.age", "repaired")


def test_age_damaged_beyond_reading() -> None:
    """'5g' is no digit the reader repairs: the true age is kept, unverified, never an error."""
    text = sub_after(A01, "The injured worker is a", "59 year old", "5g year old")
    expect_unverified(text, LABEL, "patient.age")
    expect_error(A01, with_value(LABEL, "patient.age", 58), "patient.age")


def test_age_unreadable() -> None:
    text = sub_after(A01, "The injured worker is a", "59", UNREADABLE)
    expect_unverified(text, LABEL, "patient.age")


def test_sex_fabricated() -> None:
    expect_error(A01, with_value(LABEL, "patient.sex", "female"), "patient.sex")


def test_sex_written_elsewhere() -> None:
    text = insert_sentence(A01, "A female physical therapist had treated him.")
    expect_error(text, with_value(LABEL, "patient.sex", "female"), "patient.sex")


@pytest.mark.parametrize("damaged", ["rnale", "ma1e", "maIe"])
def test_sex_ocr_damaged(damaged: str) -> None:
    text = sub_after(A01, "59 year old", "male", damaged)
    expect_status(text, LABEL, "patient.sex", "repaired")


def test_rn_for_m_is_not_female() -> None:
    text = sub_after(A01, "59 year old", "male", "rnale")
    expect_error(text, with_value(LABEL, "patient.sex", "female"), "patient.sex")


def test_rules_engine_does_not_read_rnale_as_female() -> None:
    text = sub_after(A01, "59 year old", "male", "rnale")
    record = extract(text, backend="rules")
    assert record.patient.sex == "male" or (
        record.metadata is not None and record.metadata.needs_review
    )


def test_sex_unreadable() -> None:
    text = sub_after(A01, "59 year old", "male", UNREADABLE)
    expect_unverified(text, LABEL, "patient.sex")


# --------------------------------------------------------------------------------------------
# Items: service, original request, outcome
# --------------------------------------------------------------------------------------------

SERVICE_0 = LABEL["items"][0]["service"]
SERVICE_1 = LABEL["items"][1]["service"]
ORIGINAL_1 = LABEL["items"][1]["original_request"]


def test_service_fabricated() -> None:
    data = with_value(LABEL, "items[0].service", "Lumbar epidural steroid injection")
    expect_error(A01, data, "items[0].service")
    data = with_value(LABEL, "items[1].service", "Acupuncture for the left knee, 6 sessions")
    expect_error(A01, data, "items[1].service")


def test_service_of_the_next_item() -> None:
    """The second item's service given for the first item: true, but not at this marker."""
    data = with_value(LABEL, "items[0].service", SERVICE_1)
    expect_error(A01, data, "items[0].service")
    swapped = with_value(with_value(LABEL, "items[0].service", SERVICE_1), "items[1].service",
                         SERVICE_0)  # fmt: skip
    expect_error(A01, swapped, "items[0].service")
    expect_error(A01, swapped, "items[1].service")


#: Services and original requests are compared by fuzzy ratio alone (>= 85 is "repaired").
@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("items[1].service", ORIGINAL_1),  # the original request, written in the same header
        ("items[1].service", "Physical therapy for the left knee, 8 sessions"),
        ("items[1].service", "Physical therapy for the right knee, 6 sessions"),
        ("items[0].service", "MRI of the right knee without contrast"),
        ("items[0].service", "MRI of the left knee with contrast"),
        ("items[1].original_request", "Physical therapy for the left knee, 18 sessions"),
        ("items[1].original_request", SERVICE_1),  # the remaining portion, not the original
    ],
)
def test_service_differing_in_a_word_that_matters(path: str, value: str) -> None:
    """On clean text, a service (or original request) that names another count, side or
    contrast is another item, not OCR damage."""
    expect_error(A01, with_value(LABEL, path, value), path)


def test_original_request_fabricated_misplaced_and_missing() -> None:
    data = with_value(LABEL, "items[1].original_request", "Aquatic therapy, 12 sessions")
    expect_error(A01, data, "items[1].original_request")
    # The original request given on the ordinary item is written in the letter, elsewhere.
    data = with_value(LABEL, "items[0].original_request", ORIGINAL_1)
    expect_error(A01, data, "items[0].original_request")
    # Left out.
    expect_error(A01, with_value(LABEL, "items[1].original_request", None),
                 "items[1].original_request")  # fmt: skip


def test_service_ocr_damaged() -> None:
    text = sub_after(A01, "set forth below", SERVICE_0, "MRl of the 1eft knee with0ut contrast")
    expect_status(text, LABEL, "items[0].service", "repaired")


def test_partial_request_ocr_damaged() -> None:
    text = sub_after(A01, "Decision rationale: The ACOEM", "12 sessions was", "l2 sessi0ns was")
    expect_status(text, LABEL, "items[1].original_request", "repaired")
    text = sub_after(A01, "eligible", "left knee, 6 sessions is", "1eft knee, 6 sessi0ns is")
    expect_status(text, LABEL, "items[1].service", "repaired")


def test_service_unreadable() -> None:
    text = sub_after(A01, "set forth below", SERVICE_0, UNREADABLE)
    expect_unverified(text, LABEL, "items[0].service")


def test_outcome_flipped() -> None:
    expect_error(A01, with_value(LABEL, "items[0].outcome", "upheld"), "items[0].outcome")
    expect_error(A01, with_value(LABEL, "items[1].outcome", "overturned"), "items[1].outcome")


def test_outcomes_swapped_between_items() -> None:
    """Each outcome is true of the letter, but of the other item."""
    data = with_value(with_value(LABEL, "items[0].outcome", "upheld"), "items[1].outcome",
                      "overturned")  # fmt: skip
    expect_error(A01, data, "items[0].outcome")
    expect_error(A01, data, "items[1].outcome")


@pytest.mark.parametrize(
    ("path", "written", "damaged"),
    [
        ("items[0].outcome", "contrast: Overturned", "contrast: 0verturned"),
        pytest.param(
            "items[1].outcome",
            "6 sessions is: Upheld",
            "6 sessions is: U pheld",
        ),
        ("items[1].outcome", "6 sessions is: Upheld", "6 sessions is: Uphe1d"),
    ],
)
def test_outcome_ocr_damaged(path: str, written: str, damaged: str) -> None:
    text = A01.replace(written, damaged)
    assert text != A01
    # The damaged marker still contradicts a flipped outcome.
    flipped = "upheld" if "Overturned" in written else "overturned"
    expect_error(text, with_value(LABEL, path, flipped), path)
    expect_status(text, LABEL, path, "repaired")


def test_outcome_marker_unreadable() -> None:
    """The marker is gone; the rationale still concludes, so the outcome is not exact but not
    wrong either, and a flipped outcome contradicts the rationale."""
    text = A01.replace("contrast: Overturned", f"contrast: {UNREADABLE}")
    checked = check(text, quoted(LABEL))
    assert checked.errors == []
    assert checked.evidence["items[0].outcome"].status in ("repaired", "unverified")
    expect_error(text, with_value(LABEL, "items[0].outcome", "upheld"), "items[0].outcome")


def test_outcome_marker_and_conclusion_unreadable() -> None:
    text = A01.replace("contrast: Overturned", f"contrast: {UNREADABLE}")
    text = text.replace("The\nrequest meets guideline criteria and is medically necessary.",
                        f"The\n{UNREADABLE}")  # fmt: skip
    assert text.count(UNREADABLE) == 2
    data = copy.deepcopy(LABEL)
    rationale = data["items"][0]["rationale"]
    data["items"][0]["rationale"] = rationale.replace(
        "The request meets guideline criteria and is medically necessary.", UNREADABLE
    )
    expect_unverified(text, data, "items[0].outcome")


# --------------------------------------------------------------------------------------------
# Passages: quotes at their places
# --------------------------------------------------------------------------------------------

PASSAGE_PATHS = [(k, key) for k in (0, 1) for key in PASSAGES]
LABEL_OF = {
    "claims_administrator_guideline": "Claims Administrator guideline:",
    "maximus_guideline": "MAXIMUS guideline:",
    "rationale": "Decision rationale:",
}


def words(text: str) -> list[str]:
    return text.split()


def passage(k: int, key: str) -> str:
    return LABEL["items"][k][key]


def neighbour(k: int, key: str) -> str:
    """The passage after (k, key) in letter order, or, for the last one, the one before."""
    order = PASSAGE_PATHS
    i = order.index((k, key))
    nk, nkey = order[i + 1] if i + 1 < len(order) else order[i - 1]
    return passage(nk, nkey)


def with_quote(k: int, key: str, quote: str) -> dict[str, Any]:
    """The gold answer (quoted) with ``quote`` for the passage (k, key)."""
    data = quoted(LABEL)
    data["items"][k][key] = quote
    return data


def expect_quote_error(text: str, data: dict[str, Any], path: str) -> None:
    checked = check(text, data)
    assert errors_at(checked, path), (path, checked.errors)
    problems = reask_problems(text, data)
    assert any(p.split(": ", 1)[0] == path for p in problems), (path, problems)


@pytest.mark.parametrize(("k", "key"), PASSAGE_PATHS)
def test_quote_fabricated(k: int, key: str) -> None:
    quote = "The guidelines recommend a trial ... therefore not supported at this time."
    expect_quote_error(A01, with_quote(k, key, quote), f"items[{k}].{key}")


@pytest.mark.parametrize(("k", "key"), PASSAGE_PATHS)
def test_passage_fabricated_in_rules_shape(k: int, key: str) -> None:
    """Without quotes (the rules engine's values), a passage must be the text at its place."""
    data = with_value(LABEL, f"items[{k}].{key}", "Decision based on MTUS Elbow Disorders.")
    checked = check(A01, data, quotes=False)
    assert errors_at(checked, f"items[{k}].{key}"), checked.errors
    # The neighbouring passage's full text at this place is also wrong.
    data = with_value(LABEL, f"items[{k}].{key}", neighbour(k, key))
    checked = check(A01, data, quotes=False)
    assert errors_at(checked, f"items[{k}].{key}"), checked.errors


def _word(w: str) -> str:
    return re.sub(r"[^a-z0-9]", "", w.lower())


def foreign_words(source: str, passage_text: str, from_end: bool, n: int = 4) -> str:
    """``n`` consecutive words of ``source`` (another passage), as near its end (or start) as
    possible, none of them a word of ``passage_text``: words that cannot be this passage's."""
    ws = source.split()
    for avoid in (passage_text.split(), passage_text.split()[:n] + passage_text.split()[-n:]):
        bad = {_word(w) for w in avoid} - {""}
        starts = range(len(ws) - n, -1, -1) if from_end else range(len(ws) - n + 1)
        for i in starts:
            window = ws[i : i + n]
            if not any(_word(w) in bad for w in window):
                return " ".join(window)
    raise AssertionError("no distinct words")


@pytest.mark.parametrize(("k", "key"), PASSAGE_PATHS)
def test_quote_whose_last_words_come_from_another_passage(k: int, key: str) -> None:
    first = " ".join(words(passage(k, key))[:4])
    last = foreign_words(neighbour(k, key), passage(k, key), from_end=True)
    assert last not in passage(k, key)
    expect_quote_error(A01, with_quote(k, key, f"{first} ... {last}"), f"items[{k}].{key}")


@pytest.mark.parametrize(("k", "key"), PASSAGE_PATHS)
def test_quote_whose_first_words_come_from_another_passage(k: int, key: str) -> None:
    first = foreign_words(neighbour(k, key), passage(k, key), from_end=False)
    last = " ".join(words(passage(k, key))[-4:])
    assert first not in passage(k, key)
    expect_quote_error(A01, with_quote(k, key, f"{first} ... {last}"), f"items[{k}].{key}")


def inner_words(k: int, key: str, at_end: bool, n: int = 4) -> str:
    """``n`` words from inside the passage (k, key), as near its end (or start) as possible,
    sharing no word with its true last (or first) ``n`` words."""
    ws = words(passage(k, key))
    edge = {_word(w) for w in (ws[-n:] if at_end else ws[:n])}
    starts = range(len(ws) - n - 1, 0, -1) if at_end else range(1, len(ws) - n)
    for i in starts:
        window = ws[i : i + n]
        if not any(_word(w) in edge for w in window):
            return " ".join(window)
    raise AssertionError("passage too short")


def form_garbled(text: str) -> str:
    """``text`` with its form paragraph garbled as a fax scan garbles it; the header, the
    credentials, the summary and the items stay readable, but the letter as a whole reads as
    fax-quality OCR."""
    start = text.index("MAXIMUS Federal Services sent")
    end = text.index("The Expert Reviewer has")
    table = str.maketrans({"e": "c", "a": "o", "i": "l", "n": "m"})
    return text[:start] + text[start:end].translate(table) + text[end:]


A01_FAX = form_garbled(A01)


def test_form_garbled_letter_still_accepts_the_gold_answer() -> None:
    checked = check(A01_FAX, quoted(LABEL))
    assert checked.errors == []
    assert reask_problems(A01_FAX, quoted(LABEL)) == []


def expect_precise_quote_error(k: int, key: str, quote: str, says: str) -> None:
    """On clean text: an error whose message says what is wrong (``says``, a regex). On
    fax-quality text the same quote is kept but flagged (issue 7: structure mismatches read
    through heavy damage are flagged, not re-asked), never silently accepted."""
    path = f"items[{k}].{key}"
    data = with_quote(k, key, quote)
    expect_quote_error(A01, data, path)
    message = errors_at(check(A01, data), path)[0]
    assert re.search(says, message), message
    checked = check(A01_FAX, data)
    if not errors_at(checked, path):
        assert checked.evidence[path].status == "unverified", checked.evidence[path]
        assert re.search(says, checked.evidence[path].note), checked.evidence[path].note
        record = build_record(data, checked, engine="llm", backend="llm")
        assert record.metadata is not None and record.metadata.needs_review


@pytest.mark.parametrize(("k", "key"), PASSAGE_PATHS)
def test_quote_that_stops_short(k: int, key: str) -> None:
    """Last words from inside the passage: the passage runs on to the next label, so a quote
    that stops there is an error that says so (never a silent truncation)."""
    first = " ".join(words(passage(k, key))[:4])
    last = inner_words(k, key, at_end=True)
    expect_precise_quote_error(k, key, f"{first} ... {last}", r"short|ends")


@pytest.mark.parametrize(("k", "key"), PASSAGE_PATHS)
def test_quote_that_starts_late(k: int, key: str) -> None:
    """First words from inside the passage: the passage begins earlier, at its label."""
    first = inner_words(k, key, at_end=False)
    last = " ".join(words(passage(k, key))[-4:])
    expect_precise_quote_error(k, key, f"{first} ... {last}", r"late|begins")


def damage_words(text: str) -> str:
    """OCR-like damage of a few letters (e -> c, l -> 1, o -> 0, m -> rn)."""
    table = {"e": "c", "l": "1", "o": "0", "m": "rn", "i": "l"}
    out, done = [], 0
    for ch in text:
        if ch in table and done < 3:
            out.append(table[ch])
            done += 1
        else:
            out.append(ch)
    return "".join(out)


def damage_passage_edges(text: str, k: int, key: str) -> str:
    """``text`` with the passage's first and last words damaged where the letter writes them."""
    body = passage(k, key)
    ws = words(body)
    head, tail = " ".join(ws[:3]), " ".join(ws[-3:])
    # Find the passage after its own label (the k-th such label).
    at = -1
    for _ in range(k + 1):
        at = text.index(LABEL_OF[key], at + 1)
    start = text.index(ws[0], at)
    region_end = start
    for w in ws:  # walk the passage word by word (line breaks differ from the label's spaces)
        region_end = text.index(w, region_end) + len(w)
    region = text[start:region_end]
    assert " ".join(region.split()).startswith(head)
    new_head = damage_words(ws[0]) if len(ws[0]) > 3 else ws[0]
    region = new_head + region[len(ws[0]) :]
    last = ws[-1]
    assert region.endswith(last)
    region = region[: -len(last)] + damage_words(last)
    assert tail.split()[-1] == last
    return text[:start] + region + text[region_end:]


@pytest.mark.parametrize(("k", "key"), PASSAGE_PATHS)
def test_quote_at_ocr_damaged_passage(k: int, key: str) -> None:
    """The letter's passage is damaged at both edges; a tidy quote of it is no error, and the
    record keeps the letter's (damaged) text, not the quote."""
    text = damage_passage_edges(A01, k, key)
    assert text != A01
    checked = expect_status(text, LABEL, f"items[{k}].{key}", "repaired")
    assert checked.evidence[f"items[{k}].{key}"].span is not None
    data = quoted(LABEL)
    check_values(data, read_form(normalise(text)), quotes=True)
    kept = data["items"][k][key]
    assert kept != passage(k, key)
    assert kept.split()[1:-1] == passage(k, key).split()[1:-1]


@pytest.mark.parametrize(("k", "key"), PASSAGE_PATHS)
def test_quote_copying_the_damage_is_accepted(k: int, key: str) -> None:
    """A quote copied as the scan writes it (damage included) is no error either."""
    text = damage_passage_edges(A01, k, key)
    ws = passage(k, key).split()
    seen = [damage_words(ws[0]) if len(ws[0]) > 3 else ws[0], *ws[1:-1], damage_words(ws[-1])]
    data = with_quote(k, key, anchor_quote(" ".join(seen)))
    checked = check(text, data)
    assert checked.errors == []
    assert checked.evidence[f"items[{k}].{key}"].status in ("exact", "repaired")
    assert reask_problems(text, data) == []


@pytest.mark.parametrize(("k", "key"), PASSAGE_PATHS)
def test_quote_with_unreadable_label(k: int, key: str) -> None:
    """The passage's label is unreadable: the quote is kept, unverified, never an error."""
    at = -1
    for _ in range(k + 1):
        at = A01.index(LABEL_OF[key], at + 1)
    text = A01[:at] + UNREADABLE + A01[at + len(LABEL_OF[key]) :]
    expect_unverified(text, LABEL, f"items[{k}].{key}")


# --------------------------------------------------------------------------------------------
# Unreadable places in the rules engine: never an unflagged record
# --------------------------------------------------------------------------------------------


#: (letter, edit) per unreadable place.
UNREADABLE_EDITS: dict[str, tuple[str, Callable[[str], str]]] = {
    "case_number": (A01, lambda t: sub_after(t, "Case Number:", "CM16-0221348", UNREADABLE)),
    **{
        name: (A01, lambda t, lab=lab, w=w: sub_after(t, lab, w, UNREADABLE))
        for name, (lab, w, _) in DATES.items()
    },
    "priority": (A01, lambda t: sub_after(t, "Priority:", "Standard", UNREADABLE)),
    "states": (
        A01,
        lambda t: sub_after(t, "State(s) of Licensure:", "California,Nevada", UNREADABLE),
    ),
    "specialty": (A01, lambda t: sub_after(t, "Specialty:", "Orthopaedic Surgery", UNREADABLE)),
    "age": (A01, lambda t: sub_after(t, "The injured worker is a", "59", UNREADABLE)),
    "sex": (A01, lambda t: sub_after(t, "59 year old", "male", UNREADABLE)),
    "service": (A01, lambda t: sub_after(t, "set forth below", SERVICE_0, UNREADABLE)),
    "outcome": (A01, lambda t: t.replace("contrast: Overturned", f"contrast: {UNREADABLE}")),
    "rationale label": (A01, lambda t: sub_after(t, "contrast", "Decision rationale:", UNREADABLE)),
    "headerless injury date": (
        SEED,
        lambda t: sub_after(t, "industrial injury on", "6/19/07", UNREADABLE),
    ),
}


@pytest.mark.parametrize(
    "what",
    list(UNREADABLE_EDITS),
)
def test_rules_engine_flags_an_unreadable_place(what: str) -> None:
    """The rules engine on a letter with one unreadable place: a typed error or a record that
    needs review, never an unflagged record."""
    letter, edit = UNREADABLE_EDITS[what]
    text = edit(letter)
    assert UNREADABLE in text
    try:
        record = extract(text, backend="rules")
    except ImrError:
        return
    assert record.metadata is not None and record.metadata.needs_review, what
    assert record.metadata.review_reasons


def test_rules_engine_on_the_clean_letter_is_exact_and_unflagged() -> None:
    record = extract(A01, backend="rules")
    assert record.metadata is not None and not record.metadata.needs_review
    assert record.contract_dict() == LABEL
    assert {e.status for e in record.metadata.evidence.values()} == {"exact"}


# --------------------------------------------------------------------------------------------
# A null (or empty) answer where the letter clearly states the value is an error too
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "empty"),
    [
        ("priority", None),
        ("reviewer.licensure_states", []),
        ("reviewer.specialties", []),
        ("patient.sex", None),
    ],
)
def test_null_where_the_letter_states_the_value(path: str, empty: Any) -> None:
    assert "Priority:" in A01 and "59 year old male" in A01  # the letter states all four
    expect_error(A01, with_value(LABEL, path, empty), path)
