"""Tests for evidence behaviour that mutants in the issue 7 sample showed untested.

``benchmarks/mutation_sample.py`` draws a fixed random sample of mutmut's mutants; these tests
pin what the surviving mutants of ``imr_llm/evidence/`` broke: a branch's status, span or
note, an error message's content, the alignment of unequal item lists, and the boundary where
a letter counts as fax-quality. Letters are the gold letter ``gA01`` edited by hand; expected
values come from the letter text and the module's documented rules, never from running the
code under test. Survivors judged harmless are listed, with why, in ``docs/mutation.md``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from imr_llm.evidence.check import check_values
from imr_llm.evidence.common import FAX_DAMAGE, header_damage, letter_damage
from imr_llm.evidence.items import align_items, key_difference, near_any
from imr_llm.form import read_form
from imr_llm.inputs.normalise import document, normalise
from imr_llm.llm.answer import LetterContext, _resolver
from tests.letters import Letter
from tests.test_evidence_branches import (
    A01,
    FAX,
    FAX_DAMAGED,
    LABEL,
    MRI,
    PT6,
    assert_clean,
    assert_ev,
    check,
    data,
    items,
    one,
)

SIDES = frozenset({"left", "right", "bilateral"})


# --------------------------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------------------------


def test_case_number_whose_prefix_ocr_garbled_is_repaired_from_its_digits() -> None:
    # "CH" is no form of "CM", so the number cannot be read as such; its nine digits are the
    # answer's, at the label: written there through OCR damage.
    text = one(A01, "CM16-0221348", "CH16-0221348")
    out, src = check(text, data())
    assert_clean(out, "case_number")
    assert_ev(out, src, "case_number", "repaired", "CH16-0221348", "at its label, through OCR")


def test_a_date_behind_stray_marks_is_repaired_not_exact() -> None:
    # "~ |11/07/2016": the date has a mark glued to it, so it is read through damage.
    text = one(A01, "11/07/2016", "~ |11/07/2016")
    out, src = check(text, data())
    assert_clean(out, "date_assigned")
    assert_ev(out, src, "date_assigned", "repaired", "11/07/2016", "at its label")


def test_a_decision_date_the_letter_writes_two_years_later_is_a_contradiction() -> None:
    # The decision date is the last of the letter's dates, so a later reading there is no
    # misread: the answer contradicts what the label says.
    text = one(A01, "12/05/2016", "12/05/2018")
    out, src = check(text, data())
    assert "decision_date: is 2016-12-05 but the letter gives 2018-12-05 at its label" in (
        out.errors
    )
    assert_ev(out, src, "decision_date", "unverified", "12/05/2018", "contradicts the letter")


def test_an_injury_date_missing_from_header_and_summary_is_flagged_missing() -> None:
    # The header table has no Date of Injury row (a dropped line: every letter's header prints
    # one) and the summary names no injury date: null is no contradiction, but the record must
    # say a value it always has is missing (issue 14, class 5).
    text = one(A01, "Date of Injury:      08/17/2016", "")
    text = one(text, "industrial injury on 08/17/2016 when", "industrial injury when")
    out, _ = check(text, data(date_of_injury=None))
    assert_clean(out, "date_of_injury")
    assert out.evidence["date_of_injury"].status == "unverified"
    assert out.evidence["date_of_injury"].note.startswith("missing:")


# --------------------------------------------------------------------------------------------
# Patient
# --------------------------------------------------------------------------------------------

AGE_SENTENCE = "The injured worker is a 59 year old male who sustained"


def patient(age: int | None, sex: str | None) -> dict[str, Any]:
    return data(patient={"age": age, "sex": sex})


def test_sex_stated_before_the_age_is_read_there() -> None:
    text = one(A01, AGE_SENTENCE, "The injured worker, a male, is 59 years old and sustained")
    out, src = check(text, patient(59, "male"))
    assert_clean(out, "patient.sex")
    assert_ev(out, src, "patient.sex", "exact", "male", "in the case summary")


NO_SUMMARY = one(
    one(A01, "                                CLINICAL CASE SUMMARY\n", ""),
    "The expert reviewer developed the following clinical case summary based on a review of the"
    " case\nfile, including all medical records:\n",
    "",
)


def test_a_letter_without_a_case_summary_leaves_age_and_sex_unverified() -> None:
    form = read_form(normalise(NO_SUMMARY))
    assert form.summary is None
    out = check_values(patient(59, "male"), form)
    assert_clean(out, "patient.age")
    assert_clean(out, "patient.sex")
    src = form.doc.source
    assert_ev(out, src, "patient.age", "unverified", None, "the case summary could not be found")
    assert_ev(out, src, "patient.sex", "unverified", None, "the case summary could not be found")


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------

NO_ITEMS = A01[: A01.index("set forth below:") + len("set forth below:")] + "\n\n~#~# ~#~#~#\n"


def test_items_of_a_letter_whose_items_cannot_be_read_are_unverified() -> None:
    form = read_form(normalise(NO_ITEMS))
    assert form.items is not None and form.items.items == []
    assert form.items.rationale_labels == 0
    answer = items({"maximus_guideline": None})
    out = check_values(answer, form)
    src = form.doc.source
    for k in (0, 1):
        for key in ("service", "outcome", "claims_administrator_guideline", "rationale"):
            path = f"items[{k}].{key}"
            assert_clean(out, path)
            assert_ev(out, src, path, "unverified", None, "the letter's items could not be read")
    # A null value has nothing to check: no evidence for it.
    assert "items[0].maximus_guideline" not in out.evidence
    assert "items[1].maximus_guideline" in out.evidence


def test_outcome_against_a_rationale_that_concludes_not_medically_necessary() -> None:
    # The second item's marker is destroyed; its rationale ends "therefore not medically
    # necessary", so 'overturned' contradicts it, and the message says what it concludes.
    text = one(A01, "6 sessions is: Upheld", "6 sessions is: ~#~#~#")
    out, _ = check(text, items({}, {"outcome": "overturned"}))
    assert (
        "items[1].outcome: is 'overturned' but its rationale concludes the request is not "
        "medically necessary" in out.errors
    )


def test_a_service_on_the_other_side_names_the_letters_item_in_full() -> None:
    out, _ = check(A01, items({}, {"service": "Physical therapy for the right knee, 6 sessions"}))
    assert any(
        e.startswith("items[1].service: 'Physical therapy for the right knee, 6 sessions' is not")
        and f"({PT6!r}): right where the letter has left" in e
        for e in out.errors
    ), out.errors


def test_a_date_in_a_service_written_otherwise_names_the_same_item() -> None:
    # The letter's "DOS: 11/14/16"; a model writes "11/14/2016": the same item, exact, and
    # the record keeps the letter's text. Another day is another item.
    text = one(A01, MRI, f"{MRI}, DOS: 11/14/16")
    answer = items({"service": f"{MRI}, DOS: 11/14/2016"})
    out, src = check(text, answer)
    assert_clean(out, "items[0].service")
    assert_ev(out, src, "items[0].service", "exact", "DOS: 11/14/16", "at its item marker")
    assert answer["items"][0]["service"] == f"{MRI}, DOS: 11/14/16"
    out, _ = check(text, items({"service": f"{MRI}, DOS: 11/15/2016"}))
    assert any("11/15/2016 where the letter has 11/14/2016" in e for e in out.errors), out.errors


PT12_SHORT = "PT for the left knee, 12 sessions"


def test_an_abbreviated_original_request_on_a_fax_is_unverified() -> None:
    # Close to the letter's "Physical therapy for the left knee, 12 sessions" (same side, same
    # count) but not close enough to call a repair; on fax-quality text that is damage.
    out, src = check(one(A01, FAX, FAX_DAMAGED), items({}, {"original_request": PT12_SHORT}))
    path = "items[1].original_request"
    assert_clean(out, path)
    assert_ev(out, src, path, "unverified", "12 sessions", "the original request is damaged")
    # On the clean letter it is another request than the letter names.
    out, src = check(A01, items({}, {"original_request": PT12_SHORT}))
    assert any(e.startswith(f"{path}: {PT12_SHORT!r} is not the original") for e in out.errors)
    assert_ev(out, src, path, "unverified", "12 sessions", "contradicts the letter")


def test_another_original_request_with_the_same_side_and_count_is_a_contradiction() -> None:
    original = "Acupuncture for the left wrist, 12 sessions"
    out, src = check(A01, items({}, {"original_request": original}))
    path = "items[1].original_request"
    assert f"{path}: {original!r} is not the original request the letter names" in out.errors
    assert_ev(out, src, path, "unverified", "12 sessions", "contradicts the letter")


def test_a_quote_whose_label_is_unreadable_is_resolved_to_the_letters_text() -> None:
    text = one(
        A01,
        "Claims Administrator guideline: Decision based on MTUS Knee",
        "~#~#~#~ ~#~#~#~#~#~#~ ~#~#~#~#~: Decision based on MTUS Knee",
    )
    form = read_form(normalise(text))
    answer = items(
        {"claims_administrator_guideline": "Decision based on MTUS ... Special Studies."}
    )
    out = check_values(answer, form, quotes=True, resolve=_resolver(LetterContext(form)))
    path = "items[0].claims_administrator_guideline"
    assert_clean(out, path)
    want = "Decision based on MTUS Knee Complaints 2004, Section(s): Special Studies."
    # The record keeps the letter's own passage, and the evidence points at it.
    assert answer["items"][0]["claims_administrator_guideline"] == want
    src = form.doc.source
    assert_ev(out, src, path, "unverified", "Special\nStudies.", "its label 'Claims Admin")
    span = out.evidence[path].span
    assert span is not None and " ".join(src[span[0] : span[1]].split()) == want


def test_a_quote_that_starts_late_points_at_the_passage() -> None:
    late = items({"rationale": "In this case, the injured ... is medically necessary."})
    out, src = check(A01, late, quotes=True)
    assert_ev(out, src, "items[0].rationale", "unverified", "The ACOEM knee", "contradicts")


def test_a_quote_on_a_fax_that_matches_nothing_keeps_the_letters_text() -> None:
    answer = items({"rationale": "Nothing here is like ... the words of this passage at all."})
    check(one(A01, FAX, FAX_DAMAGED), answer, quotes=True)
    # Quotes become the letter's own text at their place, matched or not.
    assert answer["items"][0]["rationale"] == LABEL["items"][0]["rationale"]


# --------------------------------------------------------------------------------------------
# Service comparison helpers and item alignment
# --------------------------------------------------------------------------------------------


def test_numbers_that_differ_in_count_are_named_in_the_message() -> None:
    assert (
        key_difference("Tramadol 50mg #60", "Tramadol 50mg", 0.0)
        == "its numbers (50, 60) are not the letter's (50)"
    )
    assert (
        key_difference("Tramadol", "Tramadol 50mg", 0.0)
        == "its numbers (none) are not the letter's (50)"
    )


def test_an_ocr_damaged_side_is_near_the_side_words() -> None:
    assert near_any({"lcft", "knee"}, SIDES)
    assert near_any({"rigbt"}, SIDES)
    assert not near_any({"knee", "mri"}, SIDES)
    # So an OCR'd side in the value is not "no side where the letter has one".
    assert key_difference("MRI of the lcft knee", "MRI of the left knee", 0.0) == ""
    assert key_difference("MRI of the knee", "MRI of the left knee", 0.0) == (
        "no bilateral/left/right where the letter has left"
    )


def places(*headers: str) -> list[Any]:
    return [SimpleNamespace(header_text=h) for h in headers]


ACU = "Acupuncture for the neck, 8 sessions"
PT = "Physical therapy for the lumbar spine"


def test_align_an_answer_missing_a_middle_item() -> None:
    assert align_items([MRI, ACU], places(MRI, PT, ACU)) == [(0, 0), (1, 2)]


def test_align_an_answer_missing_the_last_item() -> None:
    assert align_items([MRI, PT], places(MRI, PT, ACU)) == [(0, 0), (1, 1)]


def test_align_an_answer_with_only_the_last_item() -> None:
    assert align_items([ACU], places(MRI, PT, ACU)) == [(0, 2)]


def test_align_an_answer_with_an_invented_item() -> None:
    assert align_items([MRI, "Gym membership", PT], places(MRI, PT)) == [(0, 0), (2, 1)]


def test_align_nothing_alike_pairs_nothing() -> None:
    assert align_items(["Gym membership"], places(MRI, PT)) == []


# --------------------------------------------------------------------------------------------
# The fax-quality boundary
# --------------------------------------------------------------------------------------------

#: Three of the seven header values replaced by words that read as none: a header that
#: mostly cannot be read marks the letter fax-quality (exactly FAX_DAMAGE), however cleanly
#: the form sentences came through.
UNREAD_HEADER = one(
    one(one(A01, "CM16-0221348", "unknown"), "11/07/2016", "see file"), "12/05/2016", "see file."
)


def test_a_mostly_unreadable_header_is_exactly_fax_quality() -> None:
    form = read_form(normalise(UNREAD_HEADER))
    assert letter_damage(form) == FAX_DAMAGE


def test_at_fax_quality_a_service_that_does_not_match_is_flagged_not_re_asked() -> None:
    out, src = check(UNREAD_HEADER, items({"service": "Arthroscopic partial meniscectomy"}))
    assert_clean(out, "items[0].service")
    assert_ev(out, src, "items[0].service", "unverified", MRI, "does not match the damaged letter")


def test_at_fax_quality_an_age_that_differs_is_unreadable_not_wrong() -> None:
    out, src = check(UNREAD_HEADER, patient(58, "male"))
    assert_clean(out, "patient.age")
    assert_ev(out, src, "patient.age", "unverified", "59 year old", "the age in the summary is")


def test_text_that_shares_nothing_with_the_form_sentences_is_fully_damaged() -> None:
    # No form sentence can be found at all: each is 100% off its text, a damage of 1.0.
    form = SimpleNamespace(doc=document("zzzz qqqq xxxx"), header=SimpleNamespace(places={}))
    assert letter_damage(form) == 1.0  # type: ignore[arg-type]


def test_a_specialty_damaged_one_way_in_the_answer_and_another_in_the_letter() -> None:
    # Both spellings are OCR damage of one known specialty, though too far apart to match each
    # other: the value is the letter's specialty, read through damage.
    text = one(A01, "Specialty: Orthopaedic Surgery", "Specialty: Occnpational Mediclne")
    answer = data(reviewer={"licensure_states": ["California", "Nevada"],
                            "specialties": ["Occupatiomal Medicime"]})  # fmt: skip
    out, src = check(text, answer)
    path = "reviewer.specialties[0]"
    assert_clean(out, path)
    assert_ev(out, src, path, "repaired", "Occnpational", "among the specialties, through OCR")


def test_a_service_inside_stray_marks_with_a_transposed_letter_is_repaired() -> None:
    # The header carries OCR marks after the service, which the item's name leaves out; the
    # answer's service is the name with one letter pair transposed ("withuot"): close enough
    # to be the same item, and the record keeps the letter's own text.
    text = one(A01, MRI + ": Overturned", MRI + " ~~ ~~ ~~ ~~: Overturned")
    data_ = items({"service": "MRI of the left knee withuot contrast"})
    out, src = check(text, data_)
    path = "items[0].service"
    assert_clean(out, path)
    assert_ev(out, src, path, "repaired", MRI, "at its item marker, through OCR damage")
    assert data_["items"][0]["service"] == MRI


def test_another_specialty_on_a_clean_letter_is_a_contradiction() -> None:
    # "Orthopaedic Medicine" shares a word with the letter's "Orthopaedic Surgery" but is
    # another specialty, and the letter writes its specialty cleanly: nothing to excuse.
    answer = data(reviewer={"licensure_states": ["California", "Nevada"],
                            "specialties": ["Orthopaedic Medicine"]})  # fmt: skip
    path = "reviewer.specialties[0]"
    out, src = check(A01, answer)
    assert any(
        e.startswith(f"{path}: 'Orthopaedic Medicine' is not among the reviewer's specialties")
        for e in out.errors
    ), out.errors
    assert_ev(out, src, path, "unverified", "Orthopaedic Surgery", "contradicts the letter")
    # A stray mark OCR left in the specialty line is no word: the line still reads as one
    # known specialty, and the answer is not it.
    damaged = one(A01, "Specialty: Orthopaedic Surgery", "Specialty: Orthopaedic Surgery |")
    out, src = check(damaged, answer)
    assert path in out.contradicted
    # Where a word of the line reads as no known specialty, it may be that one: unverified.
    damaged = one(A01, "Specialty: Orthopaedic Surgery", "Specialty: Orthopaedic Surgery Qzx")
    out, src = check(damaged, answer)
    assert_clean(out, path)
    assert_ev(out, src, path, "unverified", "Orthopaedic Surgery Qzx", "the specialties read")
    # And so it may on a fax-quality letter, where a mismatch may be the reading's fault.
    out, src = check(one(A01, FAX, FAX_DAMAGED), answer)
    assert_clean(out, path)
    assert_ev(out, src, path, "unverified", "Orthopaedic Surgery", "does not match the damaged")


def test_header_damage_counts_every_unread_place_whatever_the_row_order() -> None:
    # Two of five header values cannot be read (40%: fax-quality), with the readable case
    # number printed after them: every place counts, in any order.
    header = (
        "Date Assigned:        Unknown\n"
        "Decision Date:        Pending\n"
        "Case Number:          CM18-0101234\n"
        "Priority:             Standard\n"
        "Date of Injury:       07/02/2015\n"
    )
    form = read_form(normalise(str(Letter(header=header))))
    assert len(form.header.places) == 5
    assert header_damage(form) == FAX_DAMAGE


def test_a_count_that_differs_is_named_with_the_letters_count() -> None:
    assert key_difference("PT 12 sessions", "PT 6 sessions", 0.0) == "12 where the letter has 6"
    # A count the letter prints cleanly is the letter's on an OCR'd letter too: OCR damage is
    # never taken for a changed digit (issue 14, class 8)...
    assert key_difference("PT 12 sessions", "PT 6 sessions", 0.02) == "12 where the letter has 6"
    assert key_difference("PT 12 sessions", "PT 24 sessions", 0.02) == (
        "12 where the letter has 24"
    )
    # ...and a count printed damaged is read through its look-alikes ("l2" is 12).
    assert key_difference("PT 12 sessions", "PT l2 sessi0ns", 0.02) == ""
    # Number words are counts: "Eight visits" is not "Six visits".
    assert key_difference("Eight visits", "Six visits", 0.0) == "8 where the letter has 6"


def test_both_sides_the_letter_names_are_in_the_message() -> None:
    assert key_difference("X-rays of the bilateral knees", "X-rays of the left and right knees",
                           0.0) == "bilateral where the letter has left/right"  # fmt: skip


def test_damage_of_a_form_sentence_with_one_letter_changed() -> None:
    # One substituted letter in the third form sentence (L characters): its best alignment is
    # 1 - 1/L similar (two edits of 2L characters), so the letter's damage is 1/L.
    sentence = (
        "the final determination was based on decisions for the disputed items/services set "
        "forth below"
    )
    letter = str(Letter()).replace("for the disputed items", "for the disputod items")
    assert "disputod" in letter
    form = read_form(normalise(letter))
    assert letter_damage(form) == round(1 / len(sentence), 4)
