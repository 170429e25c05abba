"""Tests for letter-form behaviour that mutants in the issue 7 sample showed untested.

``benchmarks/mutation_sample.py`` draws a fixed random sample of mutmut's mutants; these tests
pin what the surviving mutants of ``imr_llm/form/`` broke: a header printed in another order,
a letter missing a section, an item whose outcome word is gone, and readers at the edges of
what they accept. Expected values are worked out by hand from the letter text and each
reader's docstring, never copied from running the code under test. Survivors judged harmless
are listed, with why, in ``docs/mutation.md``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from imr_llm.errors import NotAnImrLetterError
from imr_llm.form import check_is_imr_letter, read_form
from imr_llm.form.credentials import CredentialsForm, read_credentials_form
from imr_llm.form.header import read_header_form
from imr_llm.form.items import PartialRequest, _strip_trailing_marks, split_partial_request
from imr_llm.form.reading import make_date, read_date, read_outcome, read_word
from imr_llm.form.summary import damaged_injury_date
from imr_llm.form.vocabulary import read_states
from imr_llm.inputs.normalise import normalise
from tests.letters import Letter

LETTER = str(Letter())
DETERMINATION = "                 HOW THE IMR FINAL DETERMINATION WAS MADE\n"
SUMMARY_HEADING = "\n                                CLINICAL CASE SUMMARY\n"
ISSUES_HEADING = "\n                      IMR ISSUES, DECISIONS AND RATIONALES\n"


def one(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def header_places(text: str) -> dict[str, str]:
    doc = normalise(text)
    form = read_header_form(doc, 0, len(doc.lines))
    return {name: place.text for name, place in form.places.items()}


# --------------------------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------------------------


def test_application_received_printed_on_one_line() -> None:
    # "Application" and "Received:" usually print on two lines; on one line the value still
    # follows "Received:", and the label after it keeps its own value.
    places = header_places(
        "Case Number:          CM18-0101234\n"
        "Application Received: 03/09/2018              Priority:  Standard\n"
        "Date Assigned:        03/14/2018\n"
    )
    assert places == {
        "case_number": "CM18-0101234",
        "application_received": "03/09/2018",
        "priority": "Standard",
        "date_assigned": "03/14/2018",
    }


def test_labels_after_application_received_in_a_column_still_pair_with_their_values() -> None:
    # Plain pdftotext prints a column's labels, then its values; here "Application Received:"
    # comes first in its column, so the labels below it pair with the values below it.
    places = header_places(
        "Application\nReceived:\nDate Assigned:\nPriority:\n\n03/09/2018\n03/14/2018\nStandard\n"
    )
    assert places == {
        "application_received": "03/09/2018",
        "date_assigned": "03/14/2018",
        "priority": "Standard",
    }


# --------------------------------------------------------------------------------------------
# Sections and the letter's form
# --------------------------------------------------------------------------------------------


def test_an_empty_credentials_region_has_no_credentials() -> None:
    doc = normalise(LETTER)
    assert read_credentials_form(doc, 5, 5) == CredentialsForm(None, None, "none")
    assert read_credentials_form(doc, 6, 5) == CredentialsForm(None, None, "none")


def test_a_letter_without_the_determination_section_has_no_credentials() -> None:
    text = one(LETTER, DETERMINATION, "")
    text = one(text, "sent the complete case file to an expert reviewer", "sent the file on")
    form = read_form(normalise(text))
    assert form.sections.credentials is None
    assert form.credentials == CredentialsForm(None, None, "none")


def test_the_case_summary_is_the_text_between_its_heading_and_the_issues() -> None:
    form = read_form(normalise(LETTER))
    src = form.doc.source
    assert form.summary is not None
    assert form.summary.how == "region"
    assert src[form.summary.start : form.summary.end] == form.summary.text
    assert form.summary.text.startswith("The expert reviewer developed the following")
    assert form.summary.text.rstrip().endswith("knee bracing and physical therapy.")
    # It runs up to the issues heading, no further.
    assert src[form.summary.end :].lstrip().startswith("IMR ISSUES, DECISIONS AND RATIONALES")


def test_a_summary_heading_followed_at_once_by_the_issues_has_no_summary() -> None:
    start = LETTER.index(SUMMARY_HEADING) + len(SUMMARY_HEADING)
    end = LETTER.index(ISSUES_HEADING) + 1
    text = LETTER[:start] + LETTER[end:]
    form = read_form(normalise(text))
    assert form.sections.summary is not None
    assert form.sections.summary[0] == form.sections.summary[1]
    assert form.summary is None


def test_a_letter_cut_after_its_summary_has_the_summary_to_its_end() -> None:
    text = LETTER[: LETTER.index(ISSUES_HEADING)] + "\n"
    form = read_form(normalise(text))
    assert form.sections.items is None and form.items is None
    assert form.summary is not None
    assert form.summary.text.startswith("The expert reviewer developed the following")
    assert form.summary.text.rstrip().endswith("knee bracing and physical therapy.")


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------


def test_an_item_whose_outcome_and_colon_are_gone_keeps_its_whole_header() -> None:
    # "Hinged knee brace, left: Upheld" lost ": Upheld" entirely; the item is found by its
    # labels, and its header is the whole line above them.
    text = one(LETTER, "Hinged knee brace, left: Upheld", "Hinged knee brace, left")
    form = read_form(normalise(text))
    assert form.items is not None
    first = form.items.items[0]
    assert first.header_text == "Hinged knee brace, left"
    assert first.outcome is None


def test_stray_marks_after_a_passage_that_ends_without_a_full_stop() -> None:
    assert _strip_trailing_marks("Section(s): Physical Medicine |") == (
        "Section(s): Physical Medicine"
    )
    assert _strip_trailing_marks("Section(s): Initial Care ~~ :") == "Section(s): Initial Care"


def test_a_partly_certified_request_whose_names_begin_with_x() -> None:
    header = (
        "X-rays of the lumbar spine, 3 views was the original request. X-rays of the lumbar "
        "spine, 2 views was authorized by the Claims Administrator. The remaining IMR eligible "
        "portion of the original request, X-rays of the lumbar spine, 1 view is"
    )
    assert split_partial_request(header) == PartialRequest(
        "X-rays of the lumbar spine, 3 views", "X-rays of the lumbar spine, 1 view"
    )


# --------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------


def test_a_damaged_overturned_is_read() -> None:
    # "0verturned" with "rn" read as "m": damaged, but close to one outcome word only.
    reading = read_outcome("0vertumed")
    assert reading is not None
    assert reading.value == "overturned"
    assert not reading.exact


def test_each_state_of_a_list_has_its_own_span() -> None:
    text = "West Virginia, Virginia"
    states, unknown = read_states(text)[:2]
    assert unknown == ()
    assert [(s.value, text[s.start : s.end]) for s in states] == [
        ("West Virginia", "West Virginia"),
        ("Virginia", "Virginia"),
    ]
    assert states[1].start == text.index(", Virginia") + 2


def test_read_word_with_a_one_word_vocabulary() -> None:
    reading = read_word("Stadar", ("standard",))
    assert reading is not None and reading.value == "standard" and not reading.exact
    assert read_word("Expedited", ("standard",)) is None


def test_a_year_of_three_digits_is_no_date() -> None:
    # Two-digit years are pivoted; year 100 is neither that nor a plausible year.
    assert make_date(100, 1, 1) is None
    assert read_date("01/01/0100") is None
    assert make_date(99, 1, 1) == dt.date(1999, 1, 1)


def test_an_unreadable_injury_date_a_few_words_after_its_phrase() -> None:
    text = "She sustained an injury of about 1/14/2915 at work."
    span = damaged_injury_date(text)
    assert span is not None
    assert text[span[0] : span[1]] == "1/14/2915"


def test_an_outcome_pushed_to_the_next_line_with_its_colon() -> None:
    # OCR broke the header line before its colon: ": Upheld" starts the next line. It is no
    # marker alone on its line (the line above does not end with a colon), so the item is
    # found by its labels, and its outcome is still read after the colon.
    text = one(LETTER, "Hinged knee brace, left: Upheld", "Hinged knee brace, left\n: Upheld")
    form = read_form(normalise(text))
    assert form.items is not None
    first = form.items.items[0]
    assert first.header_text == "Hinged knee brace, left"
    assert first.outcome is not None and first.outcome.value == "upheld"


def test_a_text_with_only_the_word_maximus_says_so_in_the_error() -> None:
    with pytest.raises(NotAnImrLetterError) as caught:
        check_is_imr_letter(normalise("A note from MAXIMUS Federal Services about a parcel.\n"))
    assert caught.value.found == ["the word MAXIMUS"]
    assert "(found only: the word MAXIMUS)" in str(caught.value)
    with pytest.raises(NotAnImrLetterError) as caught:
        check_is_imr_letter(normalise("A shopping list: eggs, milk.\n"))
    assert caught.value.found == []


def test_an_empty_header_region_is_an_empty_header() -> None:
    doc = normalise(LETTER)
    header = read_header_form(doc, 0, 0)
    assert (header.start, header.end, header.text) == (0, 0, "")
    assert not header.present and header.places == {}


def test_values_on_the_header_tables_last_line_sit_beside_their_labels() -> None:
    # The header's last line has no line break after it inside the region: its values are
    # still beside their labels, not paired by order.
    doc = normalise("Case Number:  CM18-0101234\nPriority:  Standard    Application  03/09/2018\n")
    form = read_header_form(doc, 0, len(doc.lines))
    assert {name: (p.text, p.how) for name, p in form.places.items()} == {
        "case_number": ("CM18-0101234", "label"),
        "priority": ("Standard", "label"),
        "application_received": ("03/09/2018", "label"),
    }
