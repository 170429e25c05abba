"""Tests that kill mutants mutmut left alive in ``imr_llm/form/`` (issue 7).

Each expectation is worked out by hand from the letter text and what the reader promises (its
docstring), never copied from running the code under test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from imr_llm.form import LetterForm, read_form
from imr_llm.form.items import (
    ItemsForm,
    PartialRequest,
    _damaged_label,
    marker_inside,
    original_request_mentions,
    says_no_evidence,
    split_partial_request,
)
from imr_llm.form.reading import (
    Reading,
    case_number_digits,
    date_digits,
    date_forms,
    make_date,
    read_case_number,
    read_date,
    read_dates,
    read_outcome,
    read_priority,
)
from imr_llm.form.sections import find_sections
from imr_llm.form.summary import (
    damaged_injury_date,
    garbled_after_age,
    has_damaged_age,
    read_ages,
    read_injury_date,
    read_sex,
)
from imr_llm.form.text import collapse_ws
from imr_llm.form.vocabulary import read_states, state_named
from imr_llm.inputs.normalise import normalise
from tests.letters import BOILERPLATE, RAW_HEADER, Letter

# --------------------------------------------------------------------------------------------
# Reading: digits, dates, case numbers
# --------------------------------------------------------------------------------------------


def test_date_forms_lists_every_writing_once_in_order() -> None:
    # 11/09/2016: the month has no shorter form, so four writings, not eight (and the date
    # written year first, last).
    assert date_forms(dt.date(2016, 11, 9)) == (
        "11092016", "110916", "1192016", "11916", "20161109",
    )  # fmt: skip
    assert date_forms(dt.date(2022, 3, 4)) == (
        "03042022", "030422", "0342022", "03422",
        "3042022", "30422", "342022", "3422", "20220304",
    )  # fmt: skip
    # A two-digit year keeps its leading zero: 2005 is "05".
    assert "121205" in date_forms(dt.date(2005, 12, 12))
    assert date_forms(dt.date(2010, 10, 10)) == ("10102010", "101010", "20101010")


def test_date_digits_reads_ocr_digits() -> None:
    assert date_digits("o1/31/2017") == "01312017"
    assert date_digits("l2/O5/2O1S") == "12052015"
    assert date_digits("at 3/4/22") == "3422"
    # "D" is a digit OCR misread (0): only ever asked of a date's own text.
    assert date_digits("D3") == "03"
    assert date_digits("yet a date") == ""


def test_case_number_digits_every_skeleton() -> None:
    assert case_number_digits("Case Number: CM16-0123456") == ["160123456"]
    # OCR'd digits: G for 6, O for 0.
    assert case_number_digits("PCM1G-O123456") == ["160123456"]
    assert case_number_digits("CM16-0123456 and CM17-7654321") == ["160123456", "177654321"]
    assert case_number_digits("Standard") == []


def test_read_case_number_exact_and_repaired() -> None:
    assert read_case_number("Case Number: CM16-0123456 x") == Reading("CM16-0123456", True, 13, 25)
    damaged = read_case_number("PCM16-0123456")
    assert damaged is not None
    assert damaged.value == "CM16-0123456"
    assert damaged.exact is False
    assert read_case_number("Standard") is None


def test_read_case_number_prefixed_needs_what_is_left_of_cm() -> None:
    # Nine digits alone, away from the label, are not taken for a case number.
    assert read_case_number("phone 16 0123456", prefixed=True) is None
    found = read_case_number("M16-0123456", prefixed=True)
    assert found is not None and found.value == "CM16-0123456"


def test_make_date_pivots_two_digit_years() -> None:
    assert make_date(7, 6, 19) == dt.date(2007, 6, 19)
    assert make_date(85, 4, 2) == dt.date(1985, 4, 2)
    assert make_date(40, 1, 1) == dt.date(2040, 1, 1)
    assert make_date(41, 1, 1) == dt.date(1941, 1, 1)
    assert make_date(2022, 2, 30) is None
    assert make_date(1899, 1, 1) is None
    assert make_date(2101, 1, 1) is None
    assert make_date(1900, 1, 1) == dt.date(1900, 1, 1)
    assert make_date(2100, 12, 31) == dt.date(2100, 12, 31)


def test_read_dates_in_text_order_with_exactness() -> None:
    text = "Seen on January 5, 2016 and again o1/31/2017; injured 07/02/2015."
    found = read_dates(text)
    assert [r.value for r in found] == [
        dt.date(2016, 1, 5),
        dt.date(2017, 1, 31),
        dt.date(2015, 7, 2),
    ]
    assert [r.exact for r in found] == [True, False, True]
    start = text.index("07/02/2015")
    assert (found[2].start, found[2].end) == (start, start + 10)
    assert read_date("nothing") is None


def test_read_date_skips_a_glued_mark() -> None:
    reading = read_date("|-12/30/2016")
    assert reading is not None
    assert reading.value == dt.date(2016, 12, 30)


# --------------------------------------------------------------------------------------------
# Reading: closed vocabularies
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "exact"),
    [
        ("Upheld", "upheld", True),
        ("Overturned.", "overturned", True),
        ("Uphe1d", "upheld", False),
        ("U pheld", "upheld", False),
        ("0verturned", "overturned", False),
    ],
)
def test_read_outcome(text: str, value: str, exact: bool) -> None:
    reading = read_outcome(text)
    assert reading is not None
    assert (reading.value, reading.exact) == (value, exact)


def test_read_priority() -> None:
    reading = read_priority("Priority: Standard")
    assert reading is not None and (reading.value, reading.exact) == ("standard", True)
    reading = read_priority("Stadar")
    assert reading is not None and (reading.value, reading.exact) == ("standard", False)
    assert read_priority("Expedited") == Reading("expedited", True, 0, 9)
    assert read_priority("xyz") is None


# --------------------------------------------------------------------------------------------
# Reading: states
# --------------------------------------------------------------------------------------------


def test_read_states_lists_and_lost_commas() -> None:
    states, unknown = read_states("California, North Carolina")[:2]
    assert [(s.value, s.exact) for s in states] == [
        ("California", True),
        ("North Carolina", True),
    ]
    assert unknown == ()
    assert (states[1].start, states[1].end) == (12, 26)
    states, unknown = read_states("West Virginia Califorma")[:2]
    assert [s.value for s in states] == ["West Virginia", "California"]
    states, unknown = read_states("California and Zzyzx")[:2]
    assert [s.value for s in states] == ["California"]
    assert [u.text for u in unknown] == ["Zzyzx"]


def test_state_named_in_a_list() -> None:
    assert state_named("California, Texas", "Texas") == Reading("Texas", True, 12, 17)


def test_state_named_inside_a_sentence() -> None:
    text = "licensed in North Carolina since 2001"
    assert state_named(text, "North Carolina") == Reading("North Carolina", True, 12, 26)
    # At the very end of the text.
    text = "licensed in North Carolina"
    assert state_named(text, "North Carolina") == Reading("North Carolina", True, 12, 26)
    # At the very start.
    assert state_named("Texas licensure since 2001", "Texas") == Reading("Texas", True, 0, 5)


def test_state_named_through_ocr_damage() -> None:
    text = "licensed in Caltfomia since 2001"
    assert state_named(text, "California") == Reading("California", False, 12, 21)


def test_state_named_never_inside_a_word() -> None:
    assert state_named("Resident of Texasville", "Texas") is None
    assert state_named("licensed in Nevada since 2001", "Texas") is None
    assert state_named("", "Texas") is None


# --------------------------------------------------------------------------------------------
# Summary: age, sex, date of injury
# --------------------------------------------------------------------------------------------

AGE_TEXT = "The injured worker is a 52 year old female who sustained an industrial injury."


def test_read_ages_clean_and_damaged() -> None:
    at = AGE_TEXT.index("52")
    assert read_ages(AGE_TEXT) == [Reading(52, True, at, at + 2)]
    text = "a 4B-year-old man"
    assert read_ages(text) == [Reading(48, False, 2, 4)]
    text = "a 41 yeer o1d male"
    assert [(r.value, r.exact) for r in read_ages(text)] == [(41, False)]
    assert read_ages("a 52-year-old male") == [Reading(52, True, 2, 4)]


def test_read_ages_refuses_impossible_ages() -> None:
    assert read_ages("a 0 year old male") == []
    assert read_ages("a 121 year old male") == []
    assert [r.value for r in read_ages("a 120 year old male")] == [120]
    assert [r.value for r in read_ages("a 1 year old child")] == [1]


def test_has_damaged_age() -> None:
    assert has_damaged_age("a ?? year old male")
    assert not has_damaged_age(AGE_TEXT)
    assert not has_damaged_age("no age is stated here")


def test_read_sex_clean_words() -> None:
    at = AGE_TEXT.index("female")
    assert read_sex(AGE_TEXT) == Reading("female", True, at, at + 6)
    text = "The patient is the woman seen in clinic."
    at = text.index("woman")
    assert read_sex(text) == Reading("female", True, at, at + 5)
    assert read_sex("Treatment has included rest.") is None


def test_read_sex_through_ocr_damage() -> None:
    text = "a 52 year old fernale who"
    at = text.index("fernale")
    assert read_sex(text) == Reading("female", False, at, at + 7)
    text = "a 52 year old rnale who"
    at = text.index("rnale")
    assert read_sex(text) == Reading("male", False, at, at + 5)


def test_read_sex_right_after_an_age_phrase() -> None:
    text = "a 64 year old man with back pain"
    near = text.index("64") + 2
    at = text.index("man")
    assert read_sex(text, near) == Reading("male", True, at, at + 3)
    text = "a 64 year old retired gentleman"
    near = text.index("64") + 2
    at = text.index("gentleman")
    assert read_sex(text, near) == Reading("male", True, at, at + 9)


def test_read_injury_date() -> None:
    text = "who sustained an industrial injury on 7/2/15 while lifting boxes"
    at = text.index("7/2/15")
    assert read_injury_date(text) == Reading(dt.date(2015, 7, 2), True, at, at + 6)
    text = "Date of injury: 06/19/2007."
    at = text.index("06/19/2007")
    assert read_injury_date(text) == Reading(dt.date(2007, 6, 19), True, at, at + 10)
    assert read_injury_date("injured on the job while lifting") is None


def test_read_injury_date_must_follow_the_phrase_closely() -> None:
    # Up to three characters between the phrase and the date.
    found = read_injury_date("injury on ab 7/2/15")
    assert found is not None and found.value == dt.date(2015, 7, 2)
    assert read_injury_date("injury on abc 7/2/15") is None


def test_garbled_after_age() -> None:
    text = "a 59 year old “Tye? who was injured"
    end = text.index("59") + 2
    at = text.index("“Tye?")
    assert garbled_after_age(text, end) == (at, at + 5)
    text = "a 59 year old who was injured"
    assert garbled_after_age(text, text.index("59") + 2) is None
    text = "a 59 year old male, injured"
    assert garbled_after_age(text, text.index("59") + 2) is None
    assert garbled_after_age("a 59 person", 4) is None


def test_damaged_injury_date() -> None:
    text = "sustained an industrial injury on 1/14/2915 while lifting"
    at = text.index("1/14/2915")
    assert damaged_injury_date(text) == (at, at + 9)
    text = "sustained an industrial injury on “Tye? : . while lifting"
    at = text.index("“Tye?")
    assert damaged_injury_date(text) == (at, at + 5)
    text = "Date of injury: 1/14/2915 (as written)"
    at = text.index("1/14/2915")
    assert damaged_injury_date(text) == (at, at + 9)
    # A readable date is not damaged; no date stated at all is not either.
    assert damaged_injury_date("sustained an industrial injury on 7/2/15 while") is None
    assert damaged_injury_date("injured on the job while lifting boxes") is None


def test_damaged_injury_date_needs_three_digits_after_a_label() -> None:
    assert damaged_injury_date("Date of injury: 1/4 unknown") is None
    text = "Date of injury: 1/4/2 unknown"
    at = text.index("1/4/2")
    assert damaged_injury_date(text) == (at, at + 5)


# --------------------------------------------------------------------------------------------
# Sections and header
# --------------------------------------------------------------------------------------------


def _form(text: str) -> LetterForm:
    return read_form(normalise(text))


def test_sections_of_the_test_letter() -> None:
    doc = normalise(str(Letter()))
    sections = find_sections(doc)
    # Lines: header 0-4, a blank line, the determination heading at 6; the credentials end
    # at the summary heading (20); the summary runs to the issues heading (28); the items
    # begin after the "set forth below" sentence (29) and its blank line.
    assert sections.header == (0, 6)
    assert sections.credentials == (6, 20)
    assert sections.summary == (21, 28)
    assert sections.items == (30, len(doc.lines))
    assert sections.found == ("determination heading", "case summary heading", "issues heading")


def test_sections_fall_back_to_the_form_sentences() -> None:
    text = (
        str(Letter())
        .replace("HOW THE IMR FINAL DETERMINATION WAS MADE", "Some words of no heading")
        .replace("CLINICAL CASE SUMMARY", "Other words of no heading")
    )
    doc = normalise(text)
    sections = find_sections(doc)
    # The determination sentence is on line 7: the section starts the line before it. The
    # summary sentence is on line 21, so its section starts at 21 (the line before, 20, + 1).
    assert sections.header == (0, 6)
    assert sections.credentials == (6, 20)
    assert sections.summary == (21, 28)
    assert sections.found == ("determination heading", "case summary heading", "issues heading")


def test_sections_of_a_letter_without_headings_or_form_text() -> None:
    doc = normalise("Just a note.\nNothing else.\n")
    sections = find_sections(doc)
    assert sections.found == ()
    assert sections.credentials is None
    assert sections.summary is None
    assert sections.items is None
    assert sections.header == (0, 2)


def test_layout_header_places() -> None:
    text = str(Letter())
    header = _form(text).header
    assert header.present
    expected = {
        "case_number": "CM18-0101234",
        "date_assigned": "03/14/2018",
        "date_of_injury": "07/02/2015",
        "decision_date": "04/20/2018",
        "ur_denial_date": "02/27/2018",
        "application_received": "03/09/2018",
        "priority": "Standard",
    }
    assert {k: p.text for k, p in header.places.items()} == expected
    for name, value in expected.items():
        place = header.places[name]
        assert place.how == "label"
        assert text[place.start : place.end] == value
    at = text.index("Case Number:")
    assert header.labels["case_number"] == (at, at + len("Case Number:"))
    assert header.places["case_number"].label == (at, at + len("Case Number:"))
    at = text.index("Decision Date:")
    assert header.labels["decision_date"] == (at, at + len("Decision Date:"))
    assert header.unclaimed == []
    assert header.start == 0
    assert header.text.startswith("Case Number:")


def test_raw_header_pairs_labels_with_values_in_order() -> None:
    text = str(Letter(header=RAW_HEADER))
    header = _form(text).header
    expected = {
        "case_number": "CM18-0101234",
        "date_assigned": "03/14/2018",
        "decision_date": "04/20/2018",
        "priority": "Standard",
        "date_of_injury": "07/02/2015",
        "ur_denial_date": "02/27/2018",
        "application_received": "03/09/2018",
    }
    assert {k: p.text for k, p in header.places.items()} == expected
    for name, value in expected.items():
        place = header.places[name]
        assert place.how == "order"
        assert text[place.start : place.end] == value
    at = text.index("Priority:")
    assert header.places["priority"].label == (at, at + len("Priority:"))
    assert header.unclaimed == []


def test_a_destroyed_label_leaves_its_value_unclaimed() -> None:
    text = str(Letter()).replace("Decision Date:", "~~~~~ ~~~~~~~")
    header = _form(text).header
    assert "decision_date" not in header.places
    assert "decision_date" not in header.labels
    assert [p.text for p in header.unclaimed] == ["04/20/2018"]
    place = header.unclaimed[0]
    assert text[place.start : place.end] == "04/20/2018"
    assert place.how == "order"


def test_a_damaged_label_still_reads() -> None:
    text = str(Letter()).replace("Decision Date:", "Decision: Date:")
    header = _form(text).header
    assert header.places["decision_date"].text == "04/20/2018"


def test_a_headerless_letter() -> None:
    header = _form(str(Letter(header=""))).header
    assert not header.present
    assert header.places == {}
    assert header.text == ""


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------

CA_ONE = "Decision based on MTUS Knee Complaints 2004."
MAX_ONE = "Decision based on MTUS Knee Complaints 2004, Section(s): Initial Care."
RATIONALE_ONE = (
    "The guidelines support a brace for instability only. The records show a stable knee. "
    "The request is not medically necessary."
)
SERVICE_TWO = "Physical therapy twice a week for four weeks for the lumbar spine"


def _items(text: str) -> ItemsForm:
    items = _form(text).items
    assert items is not None
    return items


def test_items_of_the_test_letter() -> None:
    text = str(Letter())
    form = _items(text)
    assert [i.header_text for i in form.items] == ["Hinged knee brace, left", SERVICE_TWO]
    assert form.rationale_labels == 2
    one, two = form.items
    assert one.outcome is not None and (one.outcome.value, one.outcome.exact) == ("upheld", True)
    assert two.outcome is not None
    assert (two.outcome.value, two.outcome.exact) == ("overturned", True)
    assert one.from_marker and two.from_marker
    texts = {k: p.text if p else None for k, p in one.passages.items()}
    assert texts == {
        "claims_administrator_guideline": CA_ONE,
        "maximus_guideline": MAX_ONE,
        "rationale": RATIONALE_ONE,
    }
    for place in one.passages.values():
        assert place is not None
        assert collapse_ws(text[place.start : place.end]) == place.text
        assert place.how == "label"
    rationale = one.passages["rationale"]
    assert rationale is not None and rationale.label is not None
    assert text[rationale.label[0] : rationale.label[1]] == "Decision rationale:"
    assert says_no_evidence(two.passages["claims_administrator_guideline"].text)  # type: ignore[union-attr]
    assert text[one.header.start : one.header.end] == "Hinged knee brace, left"
    assert one.outcome_place.text.strip(": ") == "Upheld"
    # The first item ends where the second item's header begins; the last at the letter's end.
    assert one.end == text.index(SERVICE_TWO)
    assert two.end == len(text.rstrip("\n")) or two.end == len(text)
    # The section starts with the blank line after "set forth below:" (line 30, above).
    assert form.start == text.index("set forth below:\n") + len("set forth below:\n")


def test_an_outcome_alone_on_the_line_after_the_header() -> None:
    letter = Letter()
    letter.items[0] = letter.items[0].replace("left: Upheld", "left:\nUpheld")
    form = _items(str(letter))
    assert [i.header_text for i in form.items] == ["Hinged knee brace, left", SERVICE_TWO]
    assert form.items[0].outcome is not None
    assert form.items[0].outcome.value == "upheld"
    assert form.items[0].passages["rationale"].text == RATIONALE_ONE  # type: ignore[union-attr]


def test_a_damaged_outcome_word_is_read_but_not_exact() -> None:
    letter = Letter()
    letter.items[0] = letter.items[0].replace("left: Upheld", "left: Uphe1d")
    one = _items(str(letter)).items[0]
    assert one.outcome is not None
    assert (one.outcome.value, one.outcome.exact) == ("upheld", False)
    assert one.header_text == "Hinged knee brace, left"


def test_a_destroyed_outcome_word_leaves_an_item_found_by_its_labels() -> None:
    letter = Letter()
    letter.items[0] = letter.items[0].replace("left: Upheld", "left: ~~~~~~")
    form = _items(str(letter))
    assert len(form.items) == 2
    one = form.items[0]
    assert one.outcome is None
    assert one.from_marker is False
    assert one.header_text == "Hinged knee brace, left"
    assert one.passages["rationale"].text == RATIONALE_ONE  # type: ignore[union-attr]
    assert form.items[1].from_marker is True


def test_a_damaged_label_is_still_found() -> None:
    letter = Letter()
    letter.items[0] = letter.items[0].replace("MAXIMUS guideline:", "MAXIMUS puvdeline)")
    one = _items(str(letter)).items[0]
    assert one.passages["maximus_guideline"] is not None
    assert one.passages["maximus_guideline"].text == MAX_ONE
    assert one.passages["claims_administrator_guideline"].text == CA_ONE  # type: ignore[union-attr]


def test_damaged_label_columns() -> None:
    assert _damaged_label("MAXIMUS puvdeline) Decision based", "maximus_guideline") == 18
    assert _damaged_label("Decision pone The request", "rationale") == 13
    assert _damaged_label("Decision pone: The request", "rationale") == 14
    # "Decision based on ..." opens a guideline, not a rationale.
    assert _damaged_label("Decision based on MTUS", "rationale") is None
    # The label's third word is the label's, with its colon or without it.
    assert (
        _damaged_label("Claims Adrninistrator guideline: x", "claims_administrator_guideline") == 32
    )
    assert (
        _damaged_label("Claims Adrninistrator guidc1inc x", "claims_administrator_guideline") == 31
    )
    assert (
        _damaged_label("Xyzzy Administrator guideline:", "claims_administrator_guideline") is None
    )
    assert _damaged_label("Claims", "claims_administrator_guideline") is None
    assert _damaged_label("MAXIMUS reviewed the", "maximus_guideline") is None


def test_split_partial_request() -> None:
    header = (
        "Lumbar MRI was the original request. Lumbar x-ray was authorized. The remaining IMR "
        "eligible portion of the original request, Lumbar MRI with contrast is"
    )
    assert split_partial_request(header) == PartialRequest("Lumbar MRI", "Lumbar MRI with contrast")
    assert split_partial_request("Hinged knee brace, left") is None
    with pytest.raises(ValueError):
        split_partial_request("Lumbar MRI was the original request.")


def test_original_request_mentions_through_ocr_damage() -> None:
    assert original_request_mentions("X was onginai requesl.") == [(6, 21)]
    assert original_request_mentions("Hinged knee brace") == []


def test_marker_inside_and_no_evidence() -> None:
    assert marker_inside("Knee brace: Upheld Lumbar MRI")
    assert not marker_inside("Knee brace, left")
    assert says_no_evidence("The Claims Administrator did not cite any medical evidence for it.")
    assert not says_no_evidence("Decision based on MTUS.")


# --------------------------------------------------------------------------------------------
# Credentials
# --------------------------------------------------------------------------------------------


def test_block_credentials() -> None:
    text = str(Letter())
    cred = _form(text).credentials
    assert cred.style == "block"
    assert cred.states is not None and cred.specialties is not None
    assert cred.states.text == "California, Nevada"
    assert text[cred.states.start : cred.states.end] == "California, Nevada"
    assert cred.states.how == "label"
    assert cred.states.label is not None
    at = text.index("State(s) of Licensure:")
    assert cred.states.label[0] == at
    assert text[cred.states.label[0] : cred.states.label[1]].rstrip() == "State(s) of Licensure:"
    assert cred.specialties.text == "Orthopaedic Surgery"


def test_block_specialties_wrap_over_lines() -> None:
    credentials = (
        "The Expert Reviewer has the following credentials:\n"
        "State(s) of Licensure: California,North Carolina\n"
        "Certification(s)/Specialty: Preventive Medicine, Occupational Medicine, Public Health &\n"
        "General Preventive Medicine\n"
    )
    text = str(Letter(credentials=credentials))
    cred = _form(text).credentials
    assert cred.states is not None and cred.specialties is not None
    assert cred.states.text == "California,North Carolina"
    assert cred.specialties.text == (
        "Preventive Medicine, Occupational Medicine, Public Health &\nGeneral Preventive Medicine"
    )
    assert text[cred.specialties.start : cred.specialties.end] == cred.specialties.text


def test_block_value_stops_at_the_next_label() -> None:
    credentials = (
        "Certification(s)/Specialty: Orthopaedic Surgery\nState(s) of Licensure: California\n"
    )
    cred = _form(str(Letter(credentials=credentials))).credentials
    assert cred.specialties is not None and cred.specialties.text == "Orthopaedic Surgery"
    assert cred.states is not None and cred.states.text == "California"


@pytest.mark.parametrize(
    ("sentence", "states", "spec"),
    [
        (
            "The expert reviewer is Board Certified in Occupational Medicine is licensed to "
            "practice in California.",
            "California",
            "Occupational Medicine",
        ),
        (
            "The expert reviewer is licensed to practice in California and Nevada and is Board "
            "Certified in Internal Medicine.",
            "California and Nevada",
            "Internal Medicine",
        ),
    ],
)
def test_sentence_credentials(sentence: str, states: str, spec: str) -> None:
    letter = Letter(credentials="", boilerplate=BOILERPLATE + sentence + "\n")
    text = str(letter)
    cred = _form(text).credentials
    assert cred.style == "sentence"
    assert cred.states is not None and cred.specialties is not None
    assert cred.states.text == states
    assert cred.specialties.text == spec
    assert text[cred.states.start : cred.states.end] == states
    assert text[cred.specialties.start : cred.specialties.end] == spec
    assert cred.states.how == "sentence"


def test_no_credentials() -> None:
    cred = _form(str(Letter(credentials=""))).credentials
    assert cred.style == "none"
    assert cred.states is None and cred.specialties is None
