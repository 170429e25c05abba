"""Tests that kill mutants mutmut left alive in ``imr_llm/evidence/`` (issue 7).

Each expectation is stated from what the helper promises (its docstring) or from the letter's
text, worked out by hand: never copied from running the code under test.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

import tests.letters as tests_letters
from imr_llm import evidence
from imr_llm.evidence.common import Checked, confusable, excerpt
from imr_llm.evidence.header import plausible
from imr_llm.evidence.passages import cut_after, passage_edge
from imr_llm.form import LetterForm, read_form
from imr_llm.form.reading import date_forms
from imr_llm.form.vocabulary import read_specialties
from imr_llm.inputs.normalise import normalise
from tests.letters import Letter

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def test_shown_keeps_short_text_and_cuts_long_text_at_the_limit() -> None:
    assert excerpt("Case   Number\n CM22") == repr("Case Number CM22")
    # Exactly at the limit: kept whole.
    assert excerpt("x" * 40) == repr("x" * 40)
    # One past the limit: limit - 1 characters and an ellipsis, so 40 in all.
    assert excerpt("y" * 41) == repr("y" * 39 + "…")
    assert excerpt("abcdefghij", limit=5) == repr("abcd…")


def test_confusable_digits() -> None:
    # One pair OCR confuses (3/8), in either order.
    assert confusable("2231", "2281")
    assert confusable("2281", "2231")
    # Several differing digits, every pair a confusion (1/7 and 5/6).
    assert confusable("1500", "7600")
    # Identical strings differ nowhere: nothing to excuse.
    assert not confusable("2231", "2231")
    # A pair OCR does not confuse (2/4).
    assert not confusable("2231", "4231")
    # One confusable pair and one that is not: not all differences are excused.
    assert not confusable("2231", "4281")
    # Different lengths never.
    assert not confusable("223", "2231")
    assert not confusable("22318", "2231")


def test_checked_wrong_records_error_contradiction_and_evidence() -> None:
    out = Checked()
    out.wrong("case_number", "is CM1 but the letter reads CM2", (3, 9))
    assert out.errors == ["case_number: is CM1 but the letter reads CM2"]
    assert out.contradicted == {"case_number": "is CM1 but the letter reads CM2"}
    ev = out.evidence["case_number"]
    assert ev.status == "unverified"
    assert ev.span == (3, 9)
    assert ev.note == "contradicts the letter: is CM1 but the letter reads CM2"
    out.wrong("priority", "bad")
    assert out.evidence["priority"].span is None
    assert out.errors[-1] == "priority: bad"


def test_status() -> None:
    assert evidence.common.status_of(True) == "exact"
    assert evidence.common.status_of(False) == "repaired"


# --------------------------------------------------------------------------------------------
# Passage edges
# --------------------------------------------------------------------------------------------

REGION = (
    "The requested lumbar MRI is not medically necessary because the patient has no new "
    "neurological findings since the last study"
)


def test_edge_exact_start_and_end() -> None:
    head = passage_edge("The requested lumbar", REGION, True)
    assert head.score == 100.0
    assert head.found_elsewhere is False
    tail = passage_edge("since the last study", REGION, False)
    assert tail.score == 100.0
    assert tail.found_elsewhere is False


def test_edge_is_case_and_space_insensitive() -> None:
    assert passage_edge("THE   requested\nLUMBAR", REGION, True).score == 100.0
    assert passage_edge("Since The Last  Study", REGION, False).score == 100.0


def test_edge_words_from_the_middle_are_found_elsewhere() -> None:
    # "medically necessary" is in the region, but neither at its start nor at its end.
    head = passage_edge("medically necessary because", REGION, True)
    assert head.score < evidence.common.EDGE_THRESHOLD
    assert head.found_elsewhere is True
    tail = passage_edge("medically necessary because", REGION, False)
    assert tail.score < evidence.common.EDGE_THRESHOLD
    assert tail.found_elsewhere is True


def test_edge_words_not_in_the_region_at_all() -> None:
    head = passage_edge("zebra quartz xylophone", REGION, True)
    assert head.score < evidence.common.EDGE_THRESHOLD
    assert head.found_elsewhere is False


def test_edge_short_words_are_never_found_elsewhere() -> None:
    # Fewer than 8 characters: too short to say the words sit elsewhere.
    tail = passage_edge("patient", REGION, False)
    assert tail.score < evidence.common.EDGE_THRESHOLD
    assert tail.found_elsewhere is False
    # Eight characters, in the middle of the region: found elsewhere.
    assert passage_edge("patient ", REGION, False).found_elsewhere is False  # collapse_ws strips it
    assert passage_edge("no new n", REGION, False).found_elsewhere is True


def test_edge_empty_words_score_zero() -> None:
    assert passage_edge("", REGION, True).score == 0.0
    assert passage_edge("   ", REGION, False).score == 0.0
    assert passage_edge("", REGION, False).found_elsewhere is False


def test_edge_tolerates_a_few_characters_shifted_at_the_edge() -> None:
    # OCR put debris before the passage's first words: the words start 3 characters in.
    region = "~. " + REGION
    head = passage_edge("The requested lumbar MRI", region, True)
    assert head.score >= evidence.common.EDGE_THRESHOLD
    # Debris after the last words.
    region = REGION + " ,~"
    tail = passage_edge("since the last study", region, False)
    assert tail.score >= evidence.common.EDGE_THRESHOLD
    # Far from the edge (more than 6 characters of other words first): not at the edge.
    region = "Something else entirely here. " + REGION
    head = passage_edge("The requested lumbar MRI", region, True)
    assert head.score < evidence.common.EDGE_THRESHOLD
    assert head.found_elsewhere is True


def test_edge_ocr_damaged_words_elsewhere_are_still_found() -> None:
    # A near-copy (one letter misread) in the middle of the region is found there.
    tail = passage_edge("medica1ly necessary because", REGION, False)
    assert tail.found_elsewhere is True


# --------------------------------------------------------------------------------------------
# Cutting a passage after a quote's last words
# --------------------------------------------------------------------------------------------


def test_cut_after_the_last_occurrence() -> None:
    text = "Guideline A applies. Rationale: the guideline A applies. Next label"
    assert cut_after(text, "guideline A applies.") == (
        "Guideline A applies. Rationale: the guideline A applies."
    )


def test_cut_after_is_case_and_space_insensitive_but_keeps_the_letter_text() -> None:
    # The passage text is whitespace-collapsed before it is cut; the quote may not be.
    text = "The MTUS Guidelines were cited. Maximus Guideline: ODG"
    assert cut_after(text, "mtus guidelines were cited.") == "The MTUS Guidelines were cited."
    text = "The MTUS Guidelines were cited. Maximus Guideline: ODG"
    assert cut_after(text, "MTUS\nguidelines   were cited.") == ("The MTUS Guidelines were cited.")


def test_cut_after_ocr_damaged_words() -> None:
    text = "The MTUS Guidel1nes were cited. Maximus Guideline: ODG Low Back"
    assert cut_after(text, "MTUS Guidelines were cited.") == "The MTUS Guidel1nes were cited."


def test_cut_after_words_not_there_keeps_everything() -> None:
    text = "The MTUS Guidelines were cited. Maximus Guideline: ODG Low Back"
    assert cut_after(text, "zebra quartz xylophone") == text


# --------------------------------------------------------------------------------------------
# Plausible dates
# --------------------------------------------------------------------------------------------


def test_plausible_against_the_other_dates() -> None:
    data = {
        "date_of_injury": "2015-03-02",
        "application_received_date": "2022-05-10",
        "decision_date": "2022-06-01",
    }
    # A received date shortly after: plausible.
    assert plausible(dt.date(2022, 5, 12), "application_received_date", data)
    # After the latest other date, but within the next year: still plausible.
    assert plausible(dt.date(2023, 12, 31), "application_received_date", data)
    # Two years past the latest other date: a misread, not the letter's date.
    assert not plausible(dt.date(2024, 1, 1), "application_received_date", data)
    # The decision date itself may come after everything.
    assert plausible(dt.date(2030, 1, 1), "decision_date", data)
    # Sixty years before the earliest *other* date (2022, its own field left out) is the floor.
    assert plausible(dt.date(1962, 1, 1), "date_of_injury", data)
    assert not plausible(dt.date(1961, 12, 31), "date_of_injury", data)


def test_plausible_ignores_its_own_field_and_missing_fields() -> None:
    # Its own (wrong) value in data is no evidence; the others are.
    data = {"date_of_injury": "2099-01-01", "decision_date": "2022-06-01"}
    assert not plausible(dt.date(2099, 1, 1), "date_of_injury", data)
    data = {"date_of_injury": None, "decision_date": "2022-06-01"}
    assert plausible(dt.date(2022, 1, 1), "application_received_date", data)


def test_plausible_without_other_dates_uses_the_letters_dates() -> None:
    source = "Injured 03/02/2015. Seen 04/05/2016 and 06/07/2017."
    # Median year of the other dates is 2016: up to 2019 is plausible.
    assert plausible(dt.date(2019, 1, 1), "date_of_injury", {}, source)
    assert not plausible(dt.date(2020, 1, 1), "date_of_injury", {}, source)
    # No dates at all: nothing to say against it.
    assert plausible(dt.date(2073, 12, 4), "date_of_injury", {}, "")
    assert plausible(dt.date(2073, 12, 4), "date_of_injury", {})


def test_plausible_the_reading_itself_is_no_evidence() -> None:
    # The letter's only date is the reading itself: once removed, nothing is left against it.
    source = "Injured 12/04/2073."
    assert plausible(dt.date(2073, 12, 4), "date_of_injury", {}, source)
    # With the reading removed, the median of 2010, 2011 is 2011: 2073 is decades away.
    source = "Injured 12/04/2073. Seen 01/01/2010 and 01/01/2011."
    assert not plausible(dt.date(2073, 12, 4), "date_of_injury", {}, source)


def test_date_digit_forms_include_the_usual_writings() -> None:
    forms = list(date_forms(dt.date(2022, 3, 4)))
    assert isinstance(forms, list)
    assert "03042022" in forms


# --------------------------------------------------------------------------------------------
# Demoting structure mismatches on fax-quality text
# --------------------------------------------------------------------------------------------


def test_demote_structure_keeps_header_and_outcome_errors() -> None:
    out = Checked()
    out.wrong("case_number", "is CM1 but reads CM2", (0, 4))
    out.wrong("items[0].outcome", "is 'upheld' but its marker says overturned", (5, 9))
    out.wrong("items[0].rationale", "the first words are not these", (10, 20))
    out.wrong("patient.age", "is 40 but reads 41", (21, 25))
    out.wrong("reviewer.specialties[0]", "is not named", None)
    evidence.check.demote_structure(out)
    assert out.errors == [
        "case_number: is CM1 but reads CM2",
        "items[0].outcome: is 'upheld' but its marker says overturned",
    ]
    assert set(out.contradicted) == {"case_number", "items[0].outcome"}
    rationale = out.evidence["items[0].rationale"]
    assert rationale.status == "unverified"
    assert rationale.span == (10, 20)
    assert rationale.note == "does not match the damaged letter: the first words are not these"
    assert out.evidence["patient.age"].span == (21, 25)
    assert out.evidence["reviewer.specialties[0]"].span is None
    assert out.evidence["case_number"].note.startswith("contradicts the letter")


def test_demote_structure_keeps_other_paths_errors_apart() -> None:
    # "items[1]" must not drop the error of "items[10]" (the prefix match includes ": ").
    out = Checked()
    out.wrong("items[10].rationale", "x")
    out.contradicted.pop("items[10].rationale")
    out.wrong("items[1]", "y")
    evidence.check.demote_structure(out)
    assert out.errors == ["items[10].rationale: x"]


@pytest.mark.parametrize("fax", [evidence.common.FAX_DAMAGE])
def test_fax_damage_threshold_is_five_percent(fax: float) -> None:
    assert fax == pytest.approx(0.05)


# --------------------------------------------------------------------------------------------
# A passage whose end OCR lost
# --------------------------------------------------------------------------------------------

WORDS = "the patient has no new findings"  # six words


@pytest.mark.parametrize(
    ("text", "lost"),
    [
        # Five, four or three of the six words (half or more) end the text: the rest was lost.
        ("It is not necessary because the patient has no new", True),
        ("It is not necessary because the patient has no", True),
        ("It is not necessary because the patient has", True),
        # Through OCR damage (one letter misread).
        ("It is not necessary because the patlent has no", True),
        ("IT IS NOT NECESSARY BECAUSE THE PATIENT HAS NO", True),
        # Two of six words: less than half, no evidence of a lost end.
        ("It is not necessary because the patient", False),
        # The words are there, but not at the end.
        ("the patient has no new ideas, so it is not necessary", False),
        ("It is not necessary.", False),
    ],
)
def test_lost_end(text: str, lost: bool) -> None:
    assert evidence.passages.lost_end(WORDS, text) is lost


def test_lost_end_odd_word_count_needs_more_than_half() -> None:
    words = "the patient has no findings"  # five words: three or more must end the text
    assert evidence.passages.lost_end(words, "because the patient has")
    assert not evidence.passages.lost_end(words, "because the patient")
    assert evidence.passages.lost_end("the   patient\nhas no findings", "because the patient has")


def test_lost_end_ignores_prefixes_too_short_to_tell() -> None:
    # "a bb cc" is under eight characters: too short to say the passage was cut there.
    assert not evidence.passages.lost_end("a bb cc dd ee ff", "words then a bb cc")


def test_plausible_uses_the_upper_middle_of_two_years() -> None:
    # Two other years, 2010 and 2020: 2015 lies between them and is plausible.
    source = "Seen 01/01/2010 and 01/01/2020."
    assert plausible(dt.date(2015, 6, 1), "date_of_injury", {}, source)
    assert not plausible(dt.date(2024, 6, 1), "date_of_injury", {}, source)


def test_lost_end_whole_quote_at_the_end_is_nothing_lost() -> None:
    assert not evidence.passages.lost_end(WORDS, "It is not necessary because " + WORDS)


def test_lost_end_eight_characters_are_enough() -> None:
    # "the knee" (half of "the knee is stable") is exactly eight characters.
    assert evidence.passages.lost_end("the knee is stable", "and we examined the knee")


def test_demote_structure_without_evidence_for_the_path() -> None:
    out = Checked()
    out.contradicted["items[0].rationale"] = "x"
    out.errors.append("items[0].rationale: x")
    evidence.check.demote_structure(out)
    assert out.errors == []
    assert out.evidence["items[0].rationale"].span is None


# --------------------------------------------------------------------------------------------
# Edges decided by the first comparison, and by the shifted-window search
# --------------------------------------------------------------------------------------------


def test_edge_a_near_copy_at_the_edge_wins_over_an_exact_copy_further_on() -> None:
    # The region opens with the words, one letter misread; the exact words follow 12
    # characters in. The words are at the start, not elsewhere.
    head = passage_edge("lumbar mri", "Lumbar mrx, lumbar mri were requested", True)
    assert head.score >= evidence.common.EDGE_THRESHOLD
    assert head.found_elsewhere is False
    tail = passage_edge("lumbar mri", "It was requested: lumbar mri, lumbar mrx", False)
    assert tail.score >= evidence.common.EDGE_THRESHOLD
    assert tail.found_elsewhere is False


def test_edge_exactly_at_the_threshold_is_at_the_edge() -> None:
    # "lumbar mri" against "lumbar xyz": 7 of 10 characters in common, a ratio of exactly 70.
    head = passage_edge(
        "lumbar mri", "lumbar xyz was denied; the lumbar mri is not necessary", True
    )
    assert head.score == pytest.approx(evidence.common.EDGE_THRESHOLD)
    assert head.found_elsewhere is False


@pytest.mark.parametrize(("debris", "at_edge"), [("~.~.~ ", True), ("~.~.~. ", False)])
def test_edge_start_shifted_by_ocr_debris(debris: str, at_edge: bool) -> None:
    # Six characters of debris before the words still touch the edge; seven do not.
    head = passage_edge(
        "the requested", debris + "The requested lumbar MRI is not necessary.", True
    )
    assert (head.score >= evidence.common.EDGE_THRESHOLD) is at_edge
    assert head.found_elsewhere is (not at_edge)


@pytest.mark.parametrize(("debris", "at_edge"), [(" ~.~.~", True), (" ~.~.~.", False)])
def test_edge_end_shifted_by_ocr_debris(debris: str, at_edge: bool) -> None:
    tail = passage_edge("the last study", REGION + debris, False)
    assert (tail.score >= evidence.common.EDGE_THRESHOLD) is at_edge
    assert tail.found_elsewhere is (not at_edge)


def test_edge_end_of_a_short_region_with_debris() -> None:
    tail = passage_edge("the last study", "the last study ~.~.~", False)
    assert tail.score >= evidence.common.EDGE_THRESHOLD
    assert tail.found_elsewhere is False


# --------------------------------------------------------------------------------------------
# Letter damage
# --------------------------------------------------------------------------------------------


def test_garbled_share() -> None:
    assert evidence.common.garbled_share("") == 0.0
    assert evidence.common.garbled_share("plain words, here.") == 0.0
    # "Uphe1d" mixes letters and digits: one word of four.
    assert evidence.common.garbled_share("Uphe1d plain words here") == 0.25
    # A garbled word stays garbled with a full stop after it.
    assert evidence.common.garbled_share("Uphe1d. ok") == 0.5
    assert evidence.common.garbled_share("Uphel1. fine") == 0.5
    # Ordinary mixed forms are not damage: 20mg, L4-L5, CM18-0101234, #2.
    assert evidence.common.garbled_share("20mg L4-L5 CM18-0101234 #2") == 0.0


def _letter_form(letter: Letter) -> LetterForm:
    return read_form(normalise(str(letter)))


HEADER_4 = (
    "Case Number:          CM18-0101234\n"
    "Date Assigned:        Unknown\n"
    "Decision Date:        Unknown\n"
    "Priority:             Standard\n"
)
HEADER_5 = HEADER_4 + "Date of Injury:       07/02/2015\n"
HEADER_7_TWO_UNREAD = (
    "Case Number:          CM18-0101234\n"
    "Date Assigned:        Unknown                         Date of Injury:      07/02/2015\n"
    "Decision Date:        Pending                         UR Denial Date:      02/27/2018\n"
    "Priority:             Standard                        Application          03/09/2018\n"
    "                                                      Received:\n"
)
HEADER_7_THREE_UNREAD = (
    "Case Number:          Pending\n"
    "Date Assigned:        Unknown                         Date of Injury:      07/02/2015\n"
    "Decision Date:        04/20/2018                      UR Denial Date:      02/27/2018\n"
    "Priority:             Unclear                         Application          03/09/2018\n"
    "                                                      Received:\n"
)


@pytest.mark.parametrize(
    ("header", "places", "damage"),
    [
        (tests_letters.LAYOUT_HEADER, 7, 0.0),
        # Two of seven values unreadable (29%): not a fax-quality header.
        (HEADER_7_TWO_UNREAD, 7, 0.0),
        # Three of seven (43%): the values mostly cannot be read.
        (HEADER_7_THREE_UNREAD, 7, evidence.common.FAX_DAMAGE),
        # Two of five: exactly 40%.
        (HEADER_5, 5, evidence.common.FAX_DAMAGE),
        # Four places are enough to judge: two of four.
        (HEADER_4, 4, evidence.common.FAX_DAMAGE),
    ],
)
def test_header_damage(header: str, places: int, damage: float) -> None:
    form = _letter_form(Letter(header=header))
    assert len(form.header.places) == places
    assert evidence.common.header_damage(form) == damage
    # The form sentences read exactly and no word is garbled: the header decides.
    assert evidence.common.letter_damage(form) == damage


def test_header_damage_needs_four_places() -> None:
    header = "Case Number:          Pending\nDate Assigned:        Unknown\nPriority: Unclear\n"
    form = _letter_form(Letter(header=header))
    assert len(form.header.places) == 3
    assert evidence.common.header_damage(form) == 0.0


def test_letter_damage_clean_letter_is_zero() -> None:
    assert evidence.common.letter_damage(_letter_form(Letter())) == 0.0


def test_letter_damage_empty_source_is_total() -> None:
    form = SimpleNamespace(doc=SimpleNamespace(source=""))
    assert evidence.common.letter_damage(form) == 1.0  # type: ignore[arg-type]


def test_letter_damage_from_a_damaged_form_sentence() -> None:
    # The summary's form sentence loses a few letters (no digits or marks: no garbled words),
    # while the first form sentence reads exactly. The damage is small but not zero.
    summary = tests_letters.SUMMARY.replace(
        "developed the following clinical case summary based on a review of the",
        "developed the folowing clinical case sumary based on a reveiw of the",
    )
    letter = Letter(summary=summary)
    form = _letter_form(letter)
    assert evidence.common.garbled_share(str(letter)) == 0.0
    damage = evidence.common.letter_damage(form)
    assert 0.0 < damage < 0.2
    # Rounded to four places, not to a whole number.
    assert damage == round(damage, 4)


def test_letter_damage_from_garbled_words() -> None:
    letter = Letter()
    letter.items[0] = letter.items[0].replace(
        "The request is not medically necessary.", "The reque5t is n0t medica11y necessary."
    )
    text = str(letter)
    form = _letter_form(letter)
    share = evidence.common.garbled_share(text)
    assert share > 0.0
    assert evidence.common.letter_damage(form) == pytest.approx(round(2.5 * share, 4))


# --------------------------------------------------------------------------------------------
# Every value of the test letter at its place: status and the text its span covers
# --------------------------------------------------------------------------------------------

MAX_ONE = "Decision based on MTUS Knee Complaints 2004, Section(s): Initial Care."
RATIONALE_ONE = (
    "The guidelines support a brace for instability only. The records show a stable knee. "
    "The request is not medically necessary."
)


def _true_data() -> dict[str, Any]:
    return {
        "case_number": "CM18-0101234",
        "date_assigned": "2018-03-14",
        "date_of_injury": "2015-07-02",
        "decision_date": "2018-04-20",
        "ur_denial_date": "2018-02-27",
        "application_received": "2018-03-09",
        "priority": "standard",
        "reviewer": {
            "licensure_states": ["California", "Nevada"],
            "specialties": ["Orthopaedic Surgery"],
        },
        "patient": {"age": 52, "sex": "female"},
        "items": [
            {
                "service": "Hinged knee brace, left",
                "original_request": None,
                "outcome": "upheld",
                "claims_administrator_guideline": "Decision based on MTUS Knee Complaints 2004.",
                "maximus_guideline": MAX_ONE,
                "rationale": RATIONALE_ONE,
            }
        ],
    }


ONE_ITEM = Letter(items=[tests_letters.ITEM_ONE])


def test_every_true_value_is_exact_at_its_place() -> None:
    text = str(ONE_ITEM)
    out = evidence.check.check_values(_true_data(), _letter_form(ONE_ITEM))
    assert out.errors == []
    assert out.contradicted == {}
    written = {
        "case_number": "CM18-0101234",
        "date_assigned": "03/14/2018",
        "date_of_injury": "07/02/2015",
        "decision_date": "04/20/2018",
        "ur_denial_date": "02/27/2018",
        "application_received": "03/09/2018",
        "priority": "Standard",
        "reviewer.licensure_states[0]": "California",
        "reviewer.licensure_states[1]": "Nevada",
        "reviewer.specialties[0]": "Orthopaedic Surgery",
        "patient.age": "52",
        "patient.sex": "female",
    }
    for path, shown in written.items():
        ev = out.evidence[path]
        assert ev.status == "exact", path
        assert ev.span is not None, path
        assert text[ev.span[0] : ev.span[1]] == shown, path
    assert out.evidence["case_number"].note == "at its label"
    assert out.evidence["date_assigned"].note == "at its label"
    assert out.evidence["priority"].note == "at its label"
    for key in ("service", "outcome", "claims_administrator_guideline", "rationale"):
        assert out.evidence[f"items[0].{key}"].status == "exact", key


def test_null_values_the_letter_gives_are_contradictions() -> None:
    data = _true_data()
    for key in ("case_number", "date_assigned", "decision_date"):
        data[key] = None
    data["patient"] = {"age": None, "sex": "female"}
    out = evidence.check.check_values(data, _letter_form(ONE_ITEM))
    assert set(out.contradicted) == {"case_number", "date_assigned", "decision_date", "patient.age"}
    assert "case_number: is null but the letter gives CM18-0101234 at 'Case Number'" in out.errors
    assert "date_assigned: is null but the letter gives 2018-03-14 at its label" in out.errors
    assert "patient.age: is null but the case summary gives the age 52" in out.errors


def test_wrong_values_at_readable_places_are_contradictions_with_their_spans() -> None:
    text = str(ONE_ITEM)
    data = _true_data()
    data["priority"] = "expedited"
    data["patient"] = {"age": 53, "sex": "male"}
    out = evidence.check.check_values(data, _letter_form(ONE_ITEM))
    assert set(out.contradicted) == {"priority", "patient.age", "patient.sex"}
    assert "priority: is 'expedited' but the letter's priority is 'standard'" in out.errors
    assert "patient.age: is 53 but the case summary gives the age 52" in out.errors
    assert "patient.sex: is 'male' but the case summary says 'female'" in out.errors
    span = out.evidence["priority"].span
    assert span is not None and text[span[0] : span[1]] == "Standard"


def test_a_value_whose_header_place_is_unreadable_is_unverified_there() -> None:
    letter = Letter(
        header=tests_letters.LAYOUT_HEADER.replace("Standard  ", "~#~ ~#~ ").replace(
            "03/14/2018", "~~/~~/~~~~"
        ),
        items=[tests_letters.ITEM_ONE],
    )
    text = str(letter)
    out = evidence.check.check_values(_true_data(), _letter_form(letter))
    assert out.errors == []
    for path in ("priority", "date_assigned"):
        ev = out.evidence[path]
        assert ev.status == "unverified", path
    # The dates the letter does print are still exact at their labels.
    assert out.evidence["decision_date"].status == "exact"
    span = out.evidence["decision_date"].span
    assert span is not None and text[span[0] : span[1]] == "04/20/2018"


def test_a_letter_without_a_header_contradicts_header_values() -> None:
    letter = Letter(header="", items=[tests_letters.ITEM_ONE])
    data = _true_data()
    out = evidence.check.check_values(data, _letter_form(letter))
    assert "case_number" in out.contradicted
    assert "priority" in out.contradicted
    assert "decision_date" in out.contradicted
    # The date of injury is stated in the summary ("on 7/2/15"): found there.
    injury = out.evidence["date_of_injury"]
    assert injury.status == "exact"
    assert injury.note == "in the case summary"
    assert injury.span is not None
    assert str(letter)[injury.span[0] : injury.span[1]] == "7/2/15"


def test_specialties_read_a_list_as_the_letter_prints_it() -> None:
    def parts(text: str) -> tuple[list[str], list[str]]:
        names = read_specialties(text)
        return [r.value for r in names.readings], [u.text for u in names.unread]

    assert parts("Orthopaedic Surgery") == (["Orthopaedic Surgery"], [])
    # Commas and semicolons separate names; a closing "and" is not part of the last name, and
    # words that are no specialty are an unread part.
    assert parts("Preventive Medicine, Occupational Medicine; and Preventive Care") == (
        ["Preventive Medicine", "Occupational Medicine"],
        ["Preventive Care"],
    )
    assert parts("Internal Medicine, And Pain Medicine") == (
        ["Internal Medicine", "Pain Medicine"],
        [],
    )
    # Marks OCR leaves around a name go; empty parts are dropped.
    assert parts(' "Neurology." , : | ,Psychiatry:') == (["Neurology", "Psychiatry"], [])
    assert parts("Pain\n  Medicine") == (["Pain Medicine"], [])
    # "and" inside a name stays.
    assert parts("Physical Medicine and Rehabilitation") == (
        ["Physical Medicine and Rehabilitation"],
        [],
    )
    assert parts("Andrology") == ([], ["Andrology"])
