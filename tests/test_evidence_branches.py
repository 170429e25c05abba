"""Each branch of the ``_check_*`` functions of :mod:`imr_llm.evidence`, pinned down (issue 7).

For every branch: the exact status, whether a span is given and that it points at the place
in the letter (``source[span[0]:span[1]]`` holds the text the value is checked against), and
the words of the note. Mutants that turn an ``unverified`` into ``None``, drop a span or
rewrite a note in the null and unreadable branches survived the rest of the fast suite.

Letters are the gold letter ``gA01`` (header table, block credentials, a plain item and a
partly certified request) and the headerless seed letter ``seed-000``, edited by hand; the
expected evidence comes from the letter text and the module's docstring (``exact``: written
at its place; ``repaired``: there through OCR damage; ``unverified``: its place unreadable or
missing; a contradiction: an error for the path), never from running the code under test.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from imr_llm.evidence.check import check_values
from imr_llm.evidence.common import Checked
from imr_llm.form import read_form
from imr_llm.inputs.normalise import normalise

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold"
A01 = (GOLD / "letters" / "gA01.txt").read_text(encoding="utf-8")
SEED = (GOLD / "letters" / "seed-000.txt").read_text(encoding="utf-8")
LABEL: dict[str, Any] = json.loads((GOLD / "labels" / "gA01.json").read_text(encoding="utf-8"))
SEED_LABEL: dict[str, Any] = json.loads(
    (GOLD / "labels" / "seed-000.json").read_text(encoding="utf-8")
)
#: The first form sentence every letter prints, through OCR damage: the letter's estimated
#: damage is then fax-quality (the sentence reads some 10% off its text), so a digit that
#: differs from the answer through a common OCR confusion is unreadable, not wrong.
FAX = (
    "MAXIMUS Federal Services sent the complete case file to an expert reviewer. He/she has no\n"
    "affiliation with the employer, employee, providers or the claims administrator."
)
FAX_DAMAGED = (
    "MAXIMUS Federal Services sent tbe cornplete case fiie to an expcrt reviewcr. He/she bas no\n"
    "affi1iation with tbe emp1oyer, emp1oyee, providcrs or tbe c1aims adrninistrator."
)


def one(text: str, old: str, new: str) -> str:
    """``text`` with its only ``old`` replaced by ``new``."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def data(**changes: Any) -> dict[str, Any]:
    """The gA01 label with top-level keys changed."""
    out = copy.deepcopy(LABEL)
    out.update(changes)
    return out


def check(text: str, answer: dict[str, Any], *, quotes: bool = False) -> tuple[Checked, str]:
    form = read_form(normalise(text))
    if quotes:
        return check_values(answer, form, quotes=True), form.doc.source
    return check_values(answer, form), form.doc.source  # passages as text is the default


def assert_ev(out: Checked, source: str, path: str, status: str, at: str | None, note: str) -> None:
    """``path``'s evidence has ``status``, a span whose text holds ``at`` (None: no span),
    and a note that starts with ``note``."""
    ev = out.evidence[path]
    assert ev.status == status, (path, ev)
    if at is None:
        assert ev.span is None, (path, ev)
    else:
        assert ev.span is not None, (path, ev)
        assert at in source[ev.span[0] : ev.span[1]], (path, ev, source[ev.span[0] : ev.span[1]])
    assert ev.note.startswith(note), (path, ev.note)


def assert_clean(out: Checked, path: str) -> None:
    assert path not in out.contradicted, out.errors
    assert not any(e.startswith(f"{path}: ") for e in out.errors), out.errors


# --------------------------------------------------------------------------------------------
# Case number
# --------------------------------------------------------------------------------------------


def test_case_number_at_its_label() -> None:
    out, src = check(A01, data())
    assert_ev(out, src, "case_number", "exact", "CM16-0221348", "at its label")
    assert out.evidence["case_number"].note == "at its label"


def test_case_number_null_where_the_letter_gives_it_is_a_contradiction() -> None:
    out, _ = check(A01, data(case_number=None))
    assert "case_number: is null but the letter gives CM16-0221348 at 'Case Number'" in out.errors
    ev = out.evidence["case_number"]
    assert ev.status == "unverified"
    assert ev.note.startswith("contradicts the letter: is null")


def test_case_number_null_at_a_readable_place_without_a_number_is_unverified() -> None:
    text = one(A01, "CM16-0221348", "pending review")
    out, src = check(text, data(case_number=None))
    assert_clean(out, "case_number")
    assert_ev(out, src, "case_number", "unverified", "pending review", "null; its place reads")
    assert "pending review" in out.evidence["case_number"].note


def test_case_number_null_at_an_unreadable_place_is_flagged_missing() -> None:
    """Every letter with a header gives a case number: null where the place is unreadable is
    no contradiction, but the record must not pass as complete (issue 14, class 5)."""
    text = one(A01, "CM16-0221348", "~~~~-~~~~~~~")
    out, _ = check(text, data(case_number=None))
    assert out.evidence["case_number"].status == "unverified"
    assert out.evidence["case_number"].note.startswith("missing:")
    assert_clean(out, "case_number")


def test_case_number_at_an_unreadable_place_is_unverified() -> None:
    # Marks alone are no value: the header form finds no place beside the label, so no span.
    text = one(A01, "CM16-0221348", "~~~~-~~~~~~~")
    out, src = check(text, data())
    assert_clean(out, "case_number")
    assert_ev(out, src, "case_number", "unverified", None, "its place is unreadable")
    assert out.evidence["case_number"].note == "its place is unreadable"


def test_case_number_at_a_place_that_reads_no_number_is_unverified_there() -> None:
    text = one(A01, "CM16-0221348", "pending review")
    out, src = check(text, data())
    assert_clean(out, "case_number")
    assert_ev(out, src, "case_number", "unverified", "pending review", "its place reads")
    assert "pending review" in out.evidence["case_number"].note


def test_case_number_through_ocr_damage_is_repaired() -> None:
    text = one(A01, "CM16-0221348", "CM16-O221348")
    out, src = check(text, data())
    assert_clean(out, "case_number")
    assert_ev(out, src, "case_number", "repaired", "CM16-O221348", "at its label")


def test_case_number_that_differs_is_a_contradiction_at_its_place() -> None:
    out, src = check(A01, data(case_number="CM16-0221349"))
    assert (
        "case_number: is CM16-0221349 but the letter's case number reads CM16-0221348" in out.errors
    )
    assert_ev(out, src, "case_number", "unverified", "CM16-0221348", "contradicts the letter")


def test_case_number_confusable_digit_on_a_fax_is_unverified_not_wrong() -> None:
    # 8 and 6 are a pair OCR confuses; on fax-quality text the place is unreadable.
    out, src = check(one(A01, FAX, FAX_DAMAGED), data(case_number="CM16-0221346"))
    assert_clean(out, "case_number")
    assert_ev(out, src, "case_number", "unverified", "CM16-0221348", "its place reads")
    # The same answer on the clean letter is a contradiction.
    clean, _ = check(A01, data(case_number="CM16-0221346"))
    assert "case_number" in clean.contradicted


def test_case_number_in_a_letter_without_a_header_is_a_contradiction() -> None:
    answer = copy.deepcopy(SEED_LABEL)
    answer["case_number"] = "CM15-0000001"
    out, _ = check(SEED, answer)
    assert (
        "case_number: 'CM15-0000001' is not in the letter, which has no header; use null"
        in out.errors
    )


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("date_assigned", "11/07/2016"),
        ("date_of_injury", "08/17/2016"),
        ("decision_date", "12/05/2016"),
        ("ur_denial_date", "10/21/2016"),
        ("application_received", "10/31/2016"),
    ],
)
def test_each_date_at_its_label(name: str, written: str) -> None:
    out, src = check(A01, data())
    ev = out.evidence[name]
    assert ev.status == "exact"
    assert ev.span is not None and src[ev.span[0] : ev.span[1]].strip() == written
    assert ev.note == "at its label"


def test_date_null_where_the_letter_gives_it_is_a_contradiction() -> None:
    out, _ = check(A01, data(ur_denial_date=None))
    assert "ur_denial_date: is null but the letter gives 2016-10-21 at its label" in out.errors


def test_date_null_at_a_readable_place_without_a_date_is_unverified() -> None:
    text = one(A01, "11/07/2016", "pending   ")
    out, src = check(text, data(date_assigned=None))
    assert_clean(out, "date_assigned")
    assert_ev(out, src, "date_assigned", "unverified", "pending", "null; its place reads")
    assert "pending" in out.evidence["date_assigned"].note


def test_date_at_a_readable_place_without_a_date_is_unverified() -> None:
    text = one(A01, "11/07/2016", "pending   ")
    out, src = check(text, data())
    assert_clean(out, "date_assigned")
    assert_ev(out, src, "date_assigned", "unverified", "pending", "its place reads")


def test_date_whose_label_is_destroyed_is_found_unclaimed_in_the_header() -> None:
    text = one(A01, "Date Assigned:", "~#~# ~#~#~#~:")
    out, src = check(text, data())
    assert_clean(out, "date_assigned")
    assert_ev(
        out,
        src,
        "date_assigned",
        "repaired",
        "11/07/2016",
        "in the header; its label is unreadable",
    )


def test_date_null_whose_label_is_destroyed_is_unverified_without_a_span() -> None:
    text = one(A01, "Date Assigned:", "~#~# ~#~#~#~:")
    out, src = check(text, data(date_assigned=None))
    assert_clean(out, "date_assigned")
    assert_ev(out, src, "date_assigned", "unverified", None, "null; its label could not be found")


def test_date_whose_label_and_value_are_destroyed_is_unverified_without_a_span() -> None:
    text = one(one(A01, "Date Assigned:", "~#~# ~#~#~#~:"), "11/07/2016", "~~/~~/~~~~")
    out, src = check(text, data())
    assert_clean(out, "date_assigned")
    assert_ev(out, src, "date_assigned", "unverified", None, "its label's value could not be found")


def test_swapped_header_dates_are_contradictions_naming_the_other_date() -> None:
    out, src = check(A01, data(date_assigned="2016-12-05", decision_date="2016-11-07"))
    assert (
        "date_assigned: is 2016-12-05 but the letter gives 2016-11-07 at its label "
        "(that is the letter's decision_date?)" in out.errors
    )
    assert (
        "decision_date: is 2016-11-07 but the letter gives 2016-12-05 at its label "
        "(that is the letter's date_assigned?)" in out.errors
    )
    assert_ev(out, src, "date_assigned", "unverified", "11/07/2016", "contradicts the letter")


def test_a_plausible_other_date_is_a_contradiction_without_a_hint() -> None:
    out, src = check(A01, data(date_of_injury="2016-08-18"))
    assert "date_of_injury: is 2016-08-18 but the letter gives 2016-08-17 at its label" in (
        out.errors
    )
    assert_ev(out, src, "date_of_injury", "unverified", "08/17/2016", "contradicts the letter")


def test_an_implausible_date_at_the_place_is_a_misread_not_a_contradiction() -> None:
    # The header's injury date reads decades after the decision: a misread digit.
    text = one(A01, "Date of Injury:      08/17/2016", "Date of Injury:      08/17/2073")
    out, src = check(text, data())
    assert_clean(out, "date_of_injury")
    assert_ev(out, src, "date_of_injury", "unverified", "08/17/2073", "its place reads")


def test_a_confusable_date_on_a_fax_is_unverified_not_wrong() -> None:
    # 7 and 1 are a pair OCR confuses; the letter is fax-quality.
    answer = data(date_of_injury="2016-08-11")
    out, src = check(one(A01, FAX, FAX_DAMAGED), answer)
    assert_clean(out, "date_of_injury")
    assert_ev(out, src, "date_of_injury", "unverified", "08/17/2016", "its place reads")
    clean, _ = check(A01, data(date_of_injury="2016-08-11"))
    assert "date_of_injury" in clean.contradicted


def test_header_dates_in_a_letter_without_a_header_are_contradictions() -> None:
    answer = copy.deepcopy(SEED_LABEL)
    answer["decision_date"] = "2016-12-05"
    out, _ = check(SEED, answer)
    assert (
        "decision_date: 2016-12-05 is not in the letter, which has no header; use null"
        in out.errors
    )


def test_injury_date_of_a_headerless_letter_is_in_the_summary() -> None:
    out, src = check(SEED, copy.deepcopy(SEED_LABEL))
    ev = out.evidence["date_of_injury"]
    assert ev.status == "exact"
    assert ev.span is not None and src[ev.span[0] : ev.span[1]] == "6/19/07"
    assert ev.note == "in the case summary"


def test_injury_date_null_when_only_the_summary_states_it_is_a_contradiction() -> None:
    # A letter without a header table dates the injury in its summary alone, where the rules
    # engine reads it: a null there is re-asked, as a date other than the summary's is.
    answer = copy.deepcopy(SEED_LABEL)
    answer["date_of_injury"] = None
    out, _ = check(SEED, answer)
    assert "date_of_injury" in out.contradicted
    assert "2007-06-19" in out.contradicted["date_of_injury"]


def test_injury_date_null_when_the_summary_date_is_unreadable() -> None:
    text = one(SEED, "injury on 6/19/07.", "injury on “Tye? : .")
    answer = copy.deepcopy(SEED_LABEL)
    answer["date_of_injury"] = None
    out, src = check(text, answer)
    assert_clean(out, "date_of_injury")
    assert_ev(out, src, "date_of_injury", "unverified", "Tye", "null; the summary's injury date is")
    span = out.evidence["date_of_injury"].span
    assert span is not None and span[1] - span[0] < 20  # the date, not the whole summary


def test_injury_date_when_the_summary_date_is_unreadable_has_no_place() -> None:
    text = one(SEED, "injury on 6/19/07.", "injury on “Tye? : .")
    out, src = check(text, copy.deepcopy(SEED_LABEL))
    assert_clean(out, "date_of_injury")
    assert_ev(out, src, "date_of_injury", "unverified", None, "the letter has no place for it")


# --------------------------------------------------------------------------------------------
# Priority
# --------------------------------------------------------------------------------------------


def test_priority_at_its_label() -> None:
    out, src = check(A01, data())
    ev = out.evidence["priority"]
    assert ev.status == "exact"
    assert ev.span is not None and src[ev.span[0] : ev.span[1]] == "Standard"
    assert ev.note == "at its label"


def test_priority_null_where_the_letter_gives_it_is_a_contradiction() -> None:
    out, _ = check(A01, data(priority=None))
    assert "priority: is null but the letter gives 'standard' at 'Priority'" in out.errors


def test_priority_null_at_a_readable_place_without_a_priority_is_unverified() -> None:
    text = one(A01, "Standard", "4711    ")
    out, src = check(text, data(priority=None))
    assert_clean(out, "priority")
    assert_ev(out, src, "priority", "unverified", "4711", "null; its place reads")
    assert "4711" in out.evidence["priority"].note


def test_priority_null_at_an_unreadable_place_is_flagged_missing() -> None:
    text = one(A01, "Standard", "~#~#~#~#")
    out, _ = check(text, data(priority=None))
    assert out.evidence["priority"].status == "unverified"
    assert out.evidence["priority"].note.startswith("missing:")
    assert_clean(out, "priority")


def test_priority_at_a_place_that_reads_none_is_unverified_there() -> None:
    text = one(A01, "Standard", "4711    ")
    out, src = check(text, data())
    assert_clean(out, "priority")
    assert_ev(out, src, "priority", "unverified", "4711", "its place reads")


def test_priority_whose_label_is_destroyed_is_read_from_the_header() -> None:
    text = one(A01, "Priority:", "~#~#~#~#:")
    out, src = check(text, data())
    assert_clean(out, "priority")
    ev = out.evidence["priority"]
    assert ev.status == "exact"
    assert ev.span is not None and src[ev.span[0] : ev.span[1]] == "Standard"
    assert ev.note == "at its label"


def test_priority_whose_label_and_value_are_destroyed_is_unverified_without_a_span() -> None:
    text = one(one(A01, "Priority:", "~#~#~#~#:"), "Standard", "~#~#~#~#")
    out, src = check(text, data())
    assert_clean(out, "priority")
    assert_ev(out, src, "priority", "unverified", None, "its label's value could not be found")


def test_priority_that_differs_is_a_contradiction_at_its_place() -> None:
    out, src = check(A01, data(priority="expedited"))
    assert "priority: is 'expedited' but the letter's priority is 'standard'" in out.errors
    assert_ev(out, src, "priority", "unverified", "Standard", "contradicts the letter")


def test_priority_in_a_letter_without_a_header_is_a_contradiction() -> None:
    answer = copy.deepcopy(SEED_LABEL)
    answer["priority"] = "standard"
    out, _ = check(SEED, answer)
    assert "priority: 'standard' is not in the letter, which has no header; use null" in out.errors


# --------------------------------------------------------------------------------------------
# Reviewer: licensure states and specialties
# --------------------------------------------------------------------------------------------


def reviewer(states: list[str], specialties: list[str]) -> dict[str, Any]:
    return data(reviewer={"licensure_states": states, "specialties": specialties})


STATES = "State(s) of Licensure: California,Nevada"
SPECIALTY = "Certification(s)/Specialty: Orthopaedic Surgery"


def test_states_each_at_its_own_place_in_the_list() -> None:
    out, src = check(A01, data())
    for k, state in enumerate(("California", "Nevada")):
        ev = out.evidence[f"reviewer.licensure_states[{k}]"]
        assert ev.status == "exact"
        assert ev.span is not None and src[ev.span[0] : ev.span[1]] == state
        assert ev.note == "among the reviewer's licensure states"


def test_states_empty_where_the_letter_names_them_is_a_contradiction() -> None:
    out, src = check(A01, reviewer([], ["Orthopaedic Surgery"]))
    assert (
        "reviewer.licensure_states: is empty but the letter names California, Nevada" in out.errors
    )
    assert_ev(out, src, "reviewer.licensure_states", "unverified", "California,Nevada", "contra")


def test_states_empty_where_the_list_is_unreadable_is_unverified() -> None:
    text = one(A01, STATES, "State(s) of Licensure: Qwxzv")
    out, src = check(text, reviewer([], ["Orthopaedic Surgery"]))
    assert_clean(out, "reviewer.licensure_states")
    assert_ev(
        out, src, "reviewer.licensure_states", "unverified", "Qwxzv", "empty; the states read"
    )


def test_a_state_the_letter_does_not_name_is_a_contradiction() -> None:
    out, src = check(A01, reviewer(["Texas"], ["Orthopaedic Surgery"]))
    assert (
        "reviewer.licensure_states[0]: 'Texas' is not a state the letter names for the "
        "reviewer (it names California, Nevada)" in out.errors
    )
    assert "reviewer.licensure_states: the letter also names California, Nevada" in out.errors
    assert_ev(out, src, "reviewer.licensure_states[0]", "unverified", "California,Nevada", "con")


def test_a_state_left_out_is_a_contradiction() -> None:
    out, _ = check(A01, reviewer(["California"], ["Orthopaedic Surgery"]))
    assert "reviewer.licensure_states: the letter also names Nevada" in out.errors
    assert out.evidence["reviewer.licensure_states[0]"].status == "exact"


def test_a_state_where_part_of_the_list_is_unreadable_is_unverified() -> None:
    text = one(A01, STATES, "State(s) of Licensure: California,Qwxzv")
    out, src = check(text, data())
    assert_clean(out, "reviewer.licensure_states[1]")
    assert_clean(out, "reviewer.licensure_states")
    assert out.evidence["reviewer.licensure_states[0]"].status == "exact"
    assert_ev(out, src, "reviewer.licensure_states[1]", "unverified", "Qwxzv", "the states read")


def test_states_without_a_states_line_are_unverified_without_a_span() -> None:
    text = one(A01, STATES + "\n", "")
    out, src = check(text, data())
    for k in (0, 1):
        path = f"reviewer.licensure_states[{k}]"
        assert_clean(out, path)
        assert_ev(out, src, path, "unverified", None, "the licensure states could not be found")


def test_specialty_at_its_place() -> None:
    out, src = check(A01, data())
    ev = out.evidence["reviewer.specialties[0]"]
    assert ev.status == "exact"
    assert ev.span is not None and "Orthopaedic Surgery" in src[ev.span[0] : ev.span[1]]
    assert ev.note == "among the reviewer's specialties"


def test_specialties_empty_where_the_letter_gives_them_is_a_contradiction() -> None:
    out, src = check(A01, reviewer(["California", "Nevada"], []))
    assert "reviewer.specialties: is empty but the letter gives 'Orthopaedic Surgery'" in (
        out.errors
    )
    assert_ev(out, src, "reviewer.specialties", "unverified", "Orthopaedic", "contradicts")


def test_specialties_empty_where_they_are_illegible_is_unverified() -> None:
    text = one(A01, SPECIALTY, "Certification(s)/Specialty: “Tye? : .")
    out, src = check(text, reviewer(["California", "Nevada"], []))
    assert_clean(out, "reviewer.specialties")
    assert_ev(out, src, "reviewer.specialties", "unverified", "Tye", "empty; the specialties read")


def test_specialty_where_the_specialties_are_illegible_is_unverified() -> None:
    text = one(A01, SPECIALTY, "Certification(s)/Specialty: “Tye? : .")
    out, src = check(text, data())
    assert_clean(out, "reviewer.specialties[0]")
    assert_ev(out, src, "reviewer.specialties[0]", "unverified", "Tye", "the specialties read")


def test_specialty_without_a_specialty_line_is_unverified_without_a_span() -> None:
    text = one(A01, SPECIALTY + "\n", "")
    out, src = check(text, data())
    assert_clean(out, "reviewer.specialties[0]")
    assert_ev(
        out, src, "reviewer.specialties[0]", "unverified", None, "the specialties could not be"
    )


def test_specialty_through_ocr_damage_is_repaired() -> None:
    text = one(A01, SPECIALTY, "Certification(s)/Specialty: Orthopaedic Surgcry")
    out, src = check(text, data())
    assert_clean(out, "reviewer.specialties[0]")
    assert_ev(out, src, "reviewer.specialties[0]", "repaired", "Surgcry", "among the specialties")


def test_specialty_the_letter_does_not_give_is_a_contradiction() -> None:
    out, src = check(A01, reviewer(["California", "Nevada"], ["Dermatology"]))
    assert (
        "reviewer.specialties[0]: 'Dermatology' is not among the reviewer's specialties as the "
        "letter writes them ('Orthopaedic Surgery')" in out.errors
    )
    assert_ev(out, src, "reviewer.specialties[0]", "unverified", "Orthopaedic", "contradicts")


def test_every_specialty_of_a_list_is_checked() -> None:
    text = one(A01, SPECIALTY, "Certification(s)/Specialty: Orthopaedic Surgery, Sports Medicine")
    answer = reviewer(["California", "Nevada"], ["Orthopaedic Surgery", "Sports Medicine"])
    out, src = check(text, answer)
    for k, name in enumerate(["Orthopaedic Surgery", "Sports Medicine"]):
        path = f"reviewer.specialties[{k}]"
        assert_ev(out, src, path, "exact", name, "among the reviewer's specialties")
    # A specialty with OCR debris in the answer is the letter's own specialty, as the letter
    # writes it; the others are checked all the same.
    answer = reviewer(["California", "Nevada"], ["Orthopaedic a. Surgery", "Sports Medicine"])
    out, src = check(text, answer)
    assert_ev(out, src, "reviewer.specialties[0]", "exact", "Orthopaedic", "among the reviewer's")
    assert_ev(out, src, "reviewer.specialties[1]", "exact", "Sports Medicine", "among the")
    assert answer["reviewer"]["specialties"] == ["Orthopaedic Surgery", "Sports Medicine"]


# --------------------------------------------------------------------------------------------
# Patient: age and sex
# --------------------------------------------------------------------------------------------

AGE = "a 59 year old male who"


def patient(age: int | None, sex: str | None) -> dict[str, Any]:
    return data(patient={"age": age, "sex": sex})


def test_age_and_sex_in_the_summary() -> None:
    out, src = check(A01, data())
    age, sex = out.evidence["patient.age"], out.evidence["patient.sex"]
    assert age.status == sex.status == "exact"
    assert age.span is not None and src[age.span[0] : age.span[1]] == "59"
    assert sex.span is not None and src[sex.span[0] : sex.span[1]] == "male"
    assert age.note == sex.note == "in the case summary"


def test_age_null_or_wrong_where_the_summary_gives_it_is_a_contradiction() -> None:
    out, _ = check(A01, patient(None, "male"))
    assert "patient.age: is null but the case summary gives the age 59" in out.errors
    out, _ = check(A01, patient(60, "male"))
    assert "patient.age: is 60 but the case summary gives the age 59" in out.errors


def test_age_with_an_unreadable_number_is_unverified_at_the_summary() -> None:
    text = one(A01, AGE, "a 5# year old male who")
    for age, note in ((59, "the age in the summary is unreadable"),
                      (None, "null; the summary's age is unreadable")):  # fmt: skip
        out, src = check(text, patient(age, "male"))
        assert_clean(out, "patient.age")
        assert_ev(out, src, "patient.age", "unverified", "5# year old", note)
        # The sex is still read, after the damaged age.
        assert_ev(out, src, "patient.sex", "exact", "male", "in the case summary")


def test_age_the_summary_does_not_give_is_a_contradiction() -> None:
    text = one(A01, AGE, "a male who")
    out, _ = check(text, patient(59, "male"))
    assert "patient.age: the case summary gives no age 59; use null" in out.errors
    # Null is no contradiction there; but letters of this form (with a header) state the
    # age, so it is flagged missing (a summary sentence lost or garbled).
    out, _ = check(text, patient(None, "male"))
    assert "patient.age" not in out.contradicted
    assert out.evidence["patient.age"].status == "unverified"
    assert out.evidence["patient.age"].note.startswith("missing:")


def test_sex_null_or_wrong_where_the_summary_states_it_is_a_contradiction() -> None:
    out, _ = check(A01, patient(59, None))
    assert "patient.sex: is null but the summary says 'male'" in out.errors
    out, _ = check(A01, patient(59, "female"))
    assert "patient.sex: is 'female' but the case summary says 'male'" in out.errors


def test_sex_null_where_the_word_after_the_age_is_garbled_is_unverified_there() -> None:
    text = one(A01, AGE, "a 59 year old “Tye? who")
    out, src = check(text, patient(59, None))
    assert_clean(out, "patient.sex")
    assert_ev(out, src, "patient.sex", "unverified", "Tye", "null; the word after the age")
    span = out.evidence["patient.sex"].span
    assert span is not None and span[1] - span[0] < 12  # the word, not the summary


def test_sex_where_the_word_after_the_age_is_garbled_is_unverified_at_the_summary() -> None:
    text = one(A01, AGE, "a 59 year old “Tye? who")
    out, src = check(text, patient(59, "male"))
    assert_clean(out, "patient.sex")
    assert_ev(out, src, "patient.sex", "unverified", "59 year old", "the sex in the summary")


def test_sex_the_summary_does_not_state_is_a_contradiction() -> None:
    text = one(A01, AGE, "a 59 year old worker who")
    out, _ = check(text, patient(59, "male"))
    assert "patient.sex: the letter does not state the sex 'male' in words; use null" in (
        out.errors
    )


# --------------------------------------------------------------------------------------------
# Items: service, original request, outcome, passages
# --------------------------------------------------------------------------------------------

MRI = "MRI of the left knee without contrast"
PT6 = "Physical therapy for the left knee, 6 sessions"
PT12 = "Physical therapy for the left knee, 12 sessions"
CA0 = "Decision based on MTUS Knee Complaints 2004, Section(s): Special\nStudies."


def items(*changes: dict[str, Any]) -> dict[str, Any]:
    answer = data()
    for item, change in zip(answer["items"], changes, strict=False):
        item.update(change)
    return answer


def test_services_and_original_request_at_their_markers() -> None:
    out, src = check(A01, data())
    assert_ev(out, src, "items[0].service", "exact", MRI, "at its item marker")
    assert_ev(out, src, "items[1].service", "exact", "Physical therapy", "at its item marker")
    assert_ev(out, src, "items[1].original_request", "exact", "12 sessions", "in the item header")
    assert "items[0].original_request" not in out.evidence


def test_a_service_the_letter_does_not_name_is_a_contradiction() -> None:
    out, src = check(A01, items({"service": "Arthroscopic partial meniscectomy"}))
    assert any(
        e.startswith("items[0].service: 'Arthroscopic partial meniscectomy' is not the item")
        for e in out.errors
    ), out.errors
    assert_ev(out, src, "items[0].service", "unverified", MRI, "contradicts the letter")


def test_a_service_through_ocr_damage_is_repaired() -> None:
    text = one(A01, MRI + ":", "MRI of the left knee withuot contrast:")
    out, src = check(text, data())
    assert_clean(out, "items[0].service")
    assert_ev(out, src, "items[0].service", "repaired", "withuot", "at its item marker")


def test_an_unreadable_item_header_is_unverified() -> None:
    text = one(A01, MRI + ":", "“Tye? ;~ ., ~#:")
    out, src = check(text, data())
    assert_clean(out, "items[0].service")
    assert_ev(out, src, "items[0].service", "unverified", "Tye", "the item header is unreadable")


def test_original_request_null_or_given_where_it_should_not_be() -> None:
    out, src = check(A01, items({"original_request": "MRI"}, {"original_request": None}))
    assert "items[0].original_request: this item is not a partly certified request; use null" in (
        out.errors
    )
    # The original request is shown cut at 40 characters.
    assert (
        f"items[1].original_request: the letter names the original request {PT12[:39]!r}"[:-1]
        + "…'; give it"
        in out.errors
    )
    assert_ev(out, src, "items[0].original_request", "unverified", MRI, "contradicts")
    assert_ev(out, src, "items[1].original_request", "unverified", "12 sessions", "contradicts")


def test_outcome_at_its_marker_and_a_flipped_outcome() -> None:
    out, src = check(A01, data())
    assert_ev(out, src, "items[0].outcome", "exact", "Overturned", "at its item marker")
    assert_ev(out, src, "items[1].outcome", "exact", "Upheld", "at its item marker")
    out, src = check(A01, items({"outcome": "upheld"}))
    assert "items[0].outcome: is 'upheld' but the letter marks this item 'Overturned'" in (
        out.errors
    )
    assert_ev(out, src, "items[0].outcome", "unverified", "Overturned", "contradicts the letter")


UNMARKED = one(A01, MRI + ": Overturned", MRI + ": ~#~#~#~#~#")


def test_outcome_whose_marker_is_unreadable_follows_the_rationale() -> None:
    out, src = check(UNMARKED, data())
    assert_clean(out, "items[0].outcome")
    assert_ev(out, src, "items[0].outcome", "repaired", "~#~#", "its marker is unreadable; the")
    out, _ = check(UNMARKED, items({"outcome": "upheld"}))
    assert (
        "items[0].outcome: is 'upheld' but its rationale concludes the request is medically "
        "necessary" in out.errors
    )


def test_outcome_whose_marker_and_conclusion_are_unreadable_is_unverified() -> None:
    answer = items({"rationale": None})
    out, src = check(UNMARKED, answer)
    assert_clean(out, "items[0].outcome")
    assert_ev(out, src, "items[0].outcome", "unverified", "~#~#", "its marker and the rationale")


def test_passages_after_their_labels() -> None:
    out, src = check(A01, data())
    assert_ev(
        out,
        src,
        "items[0].claims_administrator_guideline",
        "exact",
        "MTUS Knee Complaints 2004",
        "after 'Claims Administrator guideline:'",
    )
    assert_ev(out, src, "items[1].rationale", "exact", "fading", "after 'Decision rationale:'")


def test_passage_null_or_different_where_the_letter_gives_it_is_a_contradiction() -> None:
    out, src = check(A01, items({"maximus_guideline": None, "rationale": "The MRI is needed."}))
    assert (
        "items[0].maximus_guideline: is null but the letter gives a MAXIMUS guideline for this "
        "item" in out.errors
    )
    assert "items[0].rationale: differs from the text after 'Decision rationale:'" in out.errors
    assert_ev(out, src, "items[0].maximus_guideline", "unverified", "Diagnostic", "contradicts")
    assert_ev(out, src, "items[0].rationale", "unverified", "ACOEM knee", "contradicts")


NO_EVIDENCE = one(
    A01, CA0, "The Claims Administrator did not cite any medical evidence for its\ndecision."
)


def test_a_guideline_that_says_none_was_cited_is_a_null() -> None:
    out, src = check(NO_EVIDENCE, items({"claims_administrator_guideline": None}))
    path = "items[0].claims_administrator_guideline"
    assert_clean(out, path)
    assert_ev(out, src, path, "exact", "did not cite", "the letter says none was cited")
    out, src = check(NO_EVIDENCE, data())
    assert any(e.startswith(f"{path}: the letter says the Claims") for e in out.errors)
    assert_ev(out, src, path, "unverified", "did not cite", "contradicts the letter")


def test_a_passage_whose_label_is_unreadable_is_unverified_without_a_span() -> None:
    text = one(
        A01,
        "Claims Administrator guideline: Decision based on MTUS Knee",
        "~#~#~#~ ~#~#~#~#~#~#~ ~#~#~#~#~: Decision based on MTUS Knee",
    )
    out, src = check(text, data())
    path = "items[0].claims_administrator_guideline"
    assert_clean(out, path)
    assert_ev(
        out, src, path, "unverified", None, "its label 'Claims Administrator guideline:' is unre"
    )


def test_quotes_at_the_edges_of_their_passages() -> None:
    answer = items(
        {
            "rationale": "The ACOEM knee chapter ... and is medically necessary.",
            "maximus_guideline": "Decision based on MTUS ... (magnetic resonance imaging).",
            "claims_administrator_guideline": "Decision based on MTUS ... Special Studies.",
        },
        {
            "rationale": "The MTUS supports ... therefore not medically necessary.",
            "maximus_guideline": "Decision based on MTUS ... Physical medicine treatment.",
            "claims_administrator_guideline": "Decision based on MTUS ... medicine treatment.",
        },
    )
    out, src = check(A01, answer, quotes=True)
    assert out.errors == []
    assert_ev(
        out, src, "items[0].rationale", "exact", "ACOEM", "after 'Decision rationale:', to the next"
    )
    # The record keeps the letter's text, not the quote.
    assert answer["items"][0]["rationale"] == LABEL["items"][0]["rationale"]


def test_a_quote_that_stops_short_or_starts_late_is_a_contradiction() -> None:
    short = items(
        {"rationale": "The ACOEM knee chapter ... red flag conditions have been excluded"}
    )
    out, src = check(A01, short, quotes=True)
    assert any(
        e.startswith("items[0].rationale: the quote stops short: its last words")
        for e in out.errors
    ), out.errors
    assert_ev(out, src, "items[0].rationale", "unverified", "ACOEM", "contradicts the letter")
    late = items({"rationale": "In this case, the injured ... is medically necessary."})
    out, _ = check(A01, late, quotes=True)
    assert any(
        e.startswith("items[0].rationale: the quote starts late: the Decision rationale begins")
        for e in out.errors
    ), out.errors


def test_an_invented_item_and_a_missing_item_are_contradictions() -> None:
    answer = data()
    answer["items"].append(dict(answer["items"][1], service="Acupuncture, 8 sessions"))
    out, _ = check(A01, answer)
    assert any(
        e.startswith("items[2]: the letter shows 2 item(s); 'Acupuncture, 8 sessions' is not one")
        for e in out.errors
    ), out.errors
    answer = data()
    del answer["items"][1]
    out, _ = check(A01, answer)
    assert any(
        e.startswith("items: the letter shows 2 decided items but the answer has 1; missing:")
        and "Physical therapy for the left knee" in e
        for e in out.errors
    ), out.errors


# --------------------------------------------------------------------------------------------
# More branches: a short header table, unplaced items, empty and damaged passages
# --------------------------------------------------------------------------------------------

HEADER = A01[: A01.index("\n\n") + 1]
SHORT_HEADER = (
    "Case Number:          CM16-0221348\n"
    "~#~# ~#~#~#~#:        11/07/2016\n"
    "Decision Date:        12/05/2016\n"
    "Priority:             Standard\n"
)


def test_date_null_whose_label_is_destroyed_in_a_three_label_header() -> None:
    # Three labels read (case number, decision date, priority): a header table, so the date
    # whose label is gone has no place, and a null for it is unverified.
    text = one(A01, HEADER, SHORT_HEADER)
    out, src = check(text, data(date_assigned=None))
    assert_clean(out, "date_assigned")
    assert_ev(out, src, "date_assigned", "unverified", None, "null; its label could not be found")


def test_date_null_whose_label_reads_but_its_value_is_destroyed() -> None:
    text = one(A01, "11/07/2016", "~~/~~/~~~~")
    out, src = check(text, data(date_assigned=None))
    assert_clean(out, "date_assigned")
    assert_ev(out, src, "date_assigned", "unverified", None, "null; its label's value could not")


def test_an_item_whose_place_is_unreadable_is_unverified_without_a_span() -> None:
    # The second item's marker and first label are destroyed, so it has no place; the letter
    # still shows two rationales, so the answer's second item is kept and flagged.
    text = one(A01, "6 sessions is: Upheld", "6 sessions is: ~#~#~#")
    text = one(
        text,
        "Claims Administrator guideline: Decision based on MTUS Chronic",
        "~#~#~#~ ~#~#~#~#~#~#~ ~#~#~#~#~: Decision based on MTUS Chronic",
    )
    out, src = check(text, data())
    assert not any(e.startswith("items[1]") for e in out.errors), out.errors
    for key in ("service", "outcome", "claims_administrator_guideline", "rationale"):
        assert_ev(
            out, src, f"items[1].{key}", "unverified", None, "this item's place in the letter is"
        )


def test_a_guideline_label_with_nothing_after_it_is_an_empty_guideline() -> None:
    text = one(A01, CA0, "")
    out, src = check(text, items({"claims_administrator_guideline": None}))
    path = "items[0].claims_administrator_guideline"
    assert_clean(out, path)
    ev = out.evidence[path]
    assert ev.status == "unverified"
    assert ev.span is not None
    assert ev.note == "the guideline is empty"


def test_a_quote_on_a_fax_that_matches_nothing_is_unverified() -> None:
    answer = items({"rationale": "Nothing here is like ... the words of this passage at all."})
    out, src = check(one(A01, FAX, FAX_DAMAGED), answer, quotes=True)
    assert_clean(out, "items[0].rationale")
    assert_ev(
        out,
        src,
        "items[0].rationale",
        "unverified",
        "ACOEM",
        "the Decision rationale is too damaged to match the quote",
    )


def test_a_quote_whose_first_or_last_words_are_not_the_passages() -> None:
    wrong_last = items({"rationale": "The ACOEM knee chapter ... surgery is planned for Monday."})
    out, _ = check(A01, wrong_last, quotes=True)
    assert any(
        e.startswith(
            "items[0].rationale: the last words 'surgery is planned for Monday.' are not the "
            "last words of this item's Decision rationale"
        )
        for e in out.errors
    ), out.errors
    wrong_first = items({"rationale": "Surgery is planned for Monday ... is medically necessary."})
    out, _ = check(A01, wrong_first, quotes=True)
    assert any(
        e.startswith(
            "items[0].rationale: the first words 'Surgery is planned for Monday' are not the "
            "first words of this item's Decision rationale"
        )
        for e in out.errors
    ), out.errors


def test_a_quote_whose_last_words_the_letter_lost_is_unverified() -> None:
    # The letter's rationale ends with the first five of the quote's nine last words (the
    # short ones): the rest was lost to OCR.
    text = one(
        A01,
        "The\nrequest meets guideline criteria and is medically necessary.\n",
        "The\nrequest is in line with ODG\n",
    )
    quote = (
        "The ACOEM ... is in line with ODG recommendations regarding postoperative rehabilitation"
    )
    out, src = check(text, items({"rationale": quote}), quotes=True)
    assert_clean(out, "items[0].rationale")
    assert_ev(
        out,
        src,
        "items[0].rationale",
        "unverified",
        "request is in line with ODG",
        "the Decision rationale ends before the quote's last words (lost to OCR)",
    )


def test_a_long_fabricated_service_is_shown_whole_in_the_message() -> None:
    service = "Arthroscopic partial medial meniscectomy of the left knee"
    out, _ = check(A01, items({"service": service}))
    assert any(e.startswith(f"items[0].service: {service!r} is not the item") for e in out.errors)


def test_a_wrong_original_request_is_a_contradiction() -> None:
    out, _ = check(
        A01, items({}, {"original_request": "Physical therapy for the left knee, 24 sessions"})
    )
    assert any(
        e.startswith(
            "items[1].original_request: 'Physical therapy for the left knee, 24 sessions' is "
            "not the original request the letter names"
        )
        for e in out.errors
    ), out.errors
    out, src = check(A01, items({}, {"original_request": "Acupuncture for the neck"}))
    assert any(
        e.startswith(
            "items[1].original_request: 'Acupuncture for the neck' is not the original request "
            "the letter names"
        )
        for e in out.errors
    ), out.errors
    assert_ev(out, src, "items[1].original_request", "unverified", "12 sessions", "contradicts")


def test_a_partly_certified_request_in_a_wording_not_read() -> None:
    # Only the last sentence of the partly certified request is left: it names the original
    # request once, so it cannot be read; the service must end the header.
    text = one(
        A01,
        PT12 + " was the original request. Physical therapy for\n"
        "the left knee, 6 sessions was authorized by the Claims Administrator. ",
        "",
    )
    out, src = check(text, data())
    assert_clean(out, "items[1].service")
    assert_ev(
        out, src, "items[1].service", "repaired", "6 sessions", "ends the item header (a partly"
    )
    out, src = check(text, items({}, {"service": "Acupuncture, 8 sessions"}))
    assert_clean(out, "items[1].service")
    assert_ev(
        out, src, "items[1].service", "unverified", "6 sessions", "the partly certified request"
    )


def test_a_specialty_written_inside_a_longer_one_is_another_specialty() -> None:
    # "Surgery" is a specialty of its own, not the letter's "Orthopaedic Surgery".
    text = one(A01, SPECIALTY, "Certification(s)/Specialty: Orthopaedic Surgery, Sports Medicine")
    out, src = check(text, reviewer(["California", "Nevada"], ["Surgery"]))
    assert "reviewer.specialties[0]" in out.contradicted
    assert_ev(out, src, "reviewer.specialties[0]", "unverified", "Orthopaedic", "contradicts")
    assert "Orthopaedic Surgery, Sports Medicine" in out.contradicted["reviewer.specialties"]


def test_a_service_copied_through_fax_damage_is_unverified() -> None:
    # Roughly the item header, through heavy damage: on fax-quality text the header reads too
    # poorly to tell; on clean text it is not the item the letter names.
    answer = items({"service": "MRl 0f tbe lcft knce witbout"})
    out, src = check(one(A01, FAX, FAX_DAMAGED), answer)
    assert_clean(out, "items[0].service")
    assert_ev(out, src, "items[0].service", "unverified", MRI, "the item header reads")
    assert out.evidence["items[0].service"].note == f"the item header reads {MRI!r}"
    out, _ = check(A01, items({"service": "MRl 0f tbe lcft knce witbout"}))
    assert "items[0].service" in out.contradicted


def test_a_service_without_the_side_the_letter_names_is_not_the_item() -> None:
    out, _ = check(A01, items({"service": "MRI of the knee without contrast"}))
    assert "items[0].service" in out.contradicted
