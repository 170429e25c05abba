"""The rules engine on each letter variation the contract lists, one small letter per test.

Expected values are written by hand from the letter text in ``letters.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from imr_llm import IncompleteLetterError, extract
from imr_llm.evidence.common import Checked
from imr_llm.rules import flag_unread
from tests.letters import (
    BLOCK_CREDENTIALS,
    ITEM_ONE,
    ITEM_TWO,
    RAW_HEADER,
    Letter,
    double_space,
)

HEADER_VALUES = {
    "case_number": "CM18-0101234",
    "date_assigned": "2018-03-14",
    "date_of_injury": "2015-07-02",
    "decision_date": "2018-04-20",
    "ur_denial_date": "2018-02-27",
    "application_received": "2018-03-09",
    "priority": "standard",
}
ITEMS = [
    {
        "service": "Hinged knee brace, left",
        "original_request": None,
        "outcome": "upheld",
        "claims_administrator_guideline": "Decision based on MTUS Knee Complaints 2004.",
        "maximus_guideline": "Decision based on MTUS Knee Complaints 2004, Section(s): Initial "
        "Care.",
        "rationale": "The guidelines support a brace for instability only. The records show a "
        "stable knee. The request is not medically necessary.",
    },
    {
        "service": "Physical therapy twice a week for four weeks for the lumbar spine",
        "original_request": None,
        "outcome": "overturned",
        "claims_administrator_guideline": None,
        "maximus_guideline": "Decision based on MTUS Chronic Pain Medical Treatment 2016, "
        "Section(s): Physical Medicine.",
        "rationale": "Eight visits fall within the recommended course for a new flare. The "
        "request is medically necessary.",
    },
]


def contract(text: str) -> dict:
    return extract(text, backend="rules").contract_dict()


def test_layout_header_letter_reads_every_field() -> None:
    got = contract(str(Letter()))
    assert {k: got[k] for k in HEADER_VALUES} == HEADER_VALUES
    assert got["reviewer"] == {
        "licensure_states": ["California", "Nevada"],
        "specialties": ["Orthopaedic Surgery"],
    }
    assert got["patient"] == {"age": 52, "sex": "female"}
    assert got["items"] == ITEMS


def test_raw_header_table_pairs_labels_and_values_by_order() -> None:
    got = contract(str(Letter(header=RAW_HEADER)))
    assert {k: got[k] for k in HEADER_VALUES} == HEADER_VALUES


def test_headerless_double_spaced_letter_takes_injury_date_from_summary() -> None:
    got = contract(double_space(str(Letter(header=""))))
    assert got["case_number"] is None
    assert got["decision_date"] is None and got["priority"] is None
    assert got["date_of_injury"] == "2015-07-02"
    assert got["items"] == ITEMS


def test_sentence_style_credentials() -> None:
    boiler = (
        "MAXIMUS Federal Services sent the complete case file to an expert reviewer. The expert\n"
        "reviewer is Board Certified in Physical Medicine and Rehabilitation, and is licensed to\n"
        "practice in Texas and New Mexico. He/she has been in active clinical practice.\n"
    )
    got = contract(str(Letter(boilerplate=boiler, credentials="")))
    assert got["reviewer"] == {
        "licensure_states": ["Texas", "New Mexico"],
        "specialties": ["Physical Medicine and Rehabilitation"],
    }


def test_wrapped_specialty_list_keeps_ampersand_name_whole() -> None:
    creds = (
        "The Expert Reviewer has the following credentials:\n"
        "State(s) of Licensure: Iowa,Montana, California\n"
        "Certification(s)/Specialty: Preventive Medicine, Occupational Medicine, Public Health &\n"
        "General Preventive Medicine\n"
    )
    got = contract(str(Letter(credentials=creds)))
    assert got["reviewer"] == {
        "licensure_states": ["Iowa", "Montana", "California"],
        "specialties": [
            "Preventive Medicine",
            "Occupational Medicine",
            "Public Health & General Preventive Medicine",
        ],
    }


def test_item_header_wrapping_over_two_lines() -> None:
    wrapped = ITEM_TWO.replace(
        "Physical therapy twice a week for four weeks for the lumbar spine: Overturned",
        "Physical therapy twice a week for four weeks for the\nlumbar spine: Overturned",
    )
    got = contract(str(Letter(items=[ITEM_ONE, wrapped])))
    assert [i["service"] for i in got["items"]] == [ITEMS[0]["service"], ITEMS[1]["service"]]


def test_outcome_alone_on_its_own_line() -> None:
    alone = ITEM_ONE.replace("Hinged knee brace, left: Upheld", "Hinged knee brace, left:\nUpheld")
    got = contract(str(Letter(items=[alone, ITEM_TWO])))
    assert got["items"][0]["service"] == "Hinged knee brace, left"
    assert got["items"][0]["outcome"] == "upheld"
    assert got["items"][1]["outcome"] == "overturned"


@pytest.mark.parametrize("damaged", ["Uphelcl", "Uplield", "iipheld"])
def test_outcome_with_two_letters_ocr_read_for_one(damaged: str) -> None:
    """OCR reads "d" as "cl", "h" as "li", "u" as "ii": the outcome word is still read, alone
    on its line and after the service, and its evidence says it was repaired."""
    alone = ITEM_ONE.replace(
        "Hinged knee brace, left: Upheld", f"Hinged knee brace, left:\n{damaged}"
    )
    after = ITEM_ONE.replace(
        "Hinged knee brace, left: Upheld", f"Hinged knee brace, left: {damaged}"
    )
    for item in (alone, after):
        record = extract(str(Letter(items=[item, ITEM_TWO])), backend="rules")
        got = record.contract_dict()
        assert got["items"][0]["service"] == "Hinged knee brace, left"
        assert got["items"][0]["outcome"] == "upheld"
        assert record.metadata.evidence["items[0].outcome"].status == "repaired"


def test_partly_certified_request() -> None:
    partial = ITEM_TWO.replace(
        "Physical therapy twice a week for four weeks for the lumbar spine: Overturned",
        "Physical therapy 12 sessions for the lumbar spine was the original request. Physical\n"
        "therapy 6 sessions was authorized by the Claims Administrator. The remaining IMR\n"
        "eligible portion of the original request, Physical therapy 6 sessions is: Overturned",
    )
    got = contract(str(Letter(items=[ITEM_ONE, partial])))
    item = got["items"][1]
    assert item["service"] == "Physical therapy 6 sessions"
    assert item["original_request"] == "Physical therapy 12 sessions for the lumbar spine"
    assert item["outcome"] == "overturned"
    assert got["items"][0]["original_request"] is None


def test_page_break_glues_header_to_previous_rationale() -> None:
    glued = ITEM_ONE.rstrip("\n") + "\n\f" + ITEM_TWO
    got = contract(str(Letter(items=[glued])))
    assert got["items"] == ITEMS


def test_page_break_inside_a_wrapped_item_header() -> None:
    split = ITEM_TWO.replace(
        "Physical therapy twice a week for four weeks for the lumbar spine: Overturned",
        "Physical therapy twice a week for four weeks for the\n\n\flumbar spine: Overturned",
    )
    got = contract(str(Letter(items=[ITEM_ONE, split])))
    assert got["items"][1]["service"] == ITEMS[1]["service"]


def test_page_break_inside_a_rationale_joins_the_text() -> None:
    broken = ITEM_ONE.replace("The records show a\nstable", "The records show a\n\fstable")
    got = contract(str(Letter(items=[broken, ITEM_TWO])))
    assert got["items"][0]["rationale"] == ITEMS[0]["rationale"]


def test_page_break_inside_the_header_table() -> None:
    header = Letter().header.replace("Decision Date:", "\fDecision Date:")
    got = contract(str(Letter(header=header)))
    assert {k: got[k] for k in HEADER_VALUES} == HEADER_VALUES


def test_no_evidence_claims_guideline_is_null() -> None:
    got = contract(str(Letter()))
    assert got["items"][1]["claims_administrator_guideline"] is None


def test_light_ocr_damage_in_structural_words() -> None:
    text = (
        str(Letter())
        .replace("State(s) of Licensure: California", "State(s) of Licensum: Califomia")
        .replace("Hinged knee brace, left: Upheld", "Hinged knee brace, left: Uphe1d")
        .replace(
            "MAXIMUS guideline: Decision based on MTUS Knee",
            "MAXlMUS guideline: Decision based on MTUS Knee",
        )
        .replace("Decision rationale: Eight", "Decision rationale; Eight")
        .replace(": Overturned", ": Overtumed")
        .replace("CLINICAL CASE SUMMARY", "CLlNICAL CASE SUMMARY")
    )
    got = contract(text)
    assert got["reviewer"]["licensure_states"] == ["California", "Nevada"]
    assert [i["outcome"] for i in got["items"]] == ["upheld", "overturned"]
    assert got["items"][0]["maximus_guideline"] == ITEMS[0]["maximus_guideline"]
    assert got["items"][1]["rationale"] == ITEMS[1]["rationale"]


@pytest.mark.parametrize(
    ("states_label", "specialty_label"),
    [
        # Fax OCR of the corpus prints these: a colon read as a full stop, a comma, a bar.
        ("Statelsi of Licensure.", "Cettiication(si/Specialty,"),
        ("State(s} of Licensure,", "Certification(s)/Specialty."),
        ("Statc(s) of Licensure|", "Certifcation(s)Specaity:"),
    ],
)
def test_credentials_labels_whose_colon_ocr_misread(
    states_label: str, specialty_label: str
) -> None:
    # The credentials block holds the two labelled lists and nothing else: a line starting
    # with words this like a label is that label, whatever mark OCR read for its colon.
    # Before, both lists went unread and the letter was refused (incomplete_letter), and a
    # states line read on into the specialties line below it.
    credentials = BLOCK_CREDENTIALS.replace("State(s) of Licensure:", states_label).replace(
        "Certification(s)/Specialty:", specialty_label
    )
    record = extract(str(Letter(credentials=credentials)), backend="rules")
    assert record.reviewer.licensure_states == ["California", "Nevada"]
    assert record.reviewer.specialties == ["Orthopaedic Surgery"]
    assert record.metadata is not None and not record.metadata.needs_review


def test_ocr_damaged_case_number_and_dates_are_repaired() -> None:
    header = (
        Letter().header.replace("CM18-0101234", "CM18-01O1234").replace("04/20/2018", "O4/20/2018")
    )
    got = contract(str(Letter(header=header)))
    assert got["case_number"] == "CM18-0101234"
    assert got["decision_date"] == "2018-04-20"


def test_leading_quantity_stays_part_of_the_service() -> None:
    # "1 CT scan ..." names one scan (a seed letter does this): the number is not an index.
    numbered = ITEM_ONE.replace("Hinged knee brace", "1 Hinged knee brace")
    got = contract(str(Letter(items=[numbered, ITEM_TWO])))
    assert got["items"][0]["service"] == "1 Hinged knee brace, left"


def test_expedited_priority_and_word_dates_in_summary() -> None:
    header = Letter().header.replace("Standard", "Expedited")
    summary = (
        "The injured worker is a 61-year-old man who was injured on December 4, 2013. He has\n"
        "ongoing pain.\n"
    )
    got = contract(double_space(str(Letter(header=header, summary=summary))))
    assert got["priority"] == "expedited"
    assert got["patient"] == {"age": 61, "sex": "male"}
    # The header's date of injury wins over the summary's.
    assert got["date_of_injury"] == "2015-07-02"
    got = contract(str(Letter(header="", summary=summary)))
    assert got["date_of_injury"] == "2013-12-04"


def test_pronouns_alone_leave_sex_null() -> None:
    summary = "The patient had an injury on 4/21/14 at work. He was seen by his physician.\n"
    got = contract(str(Letter(header="", summary=summary)))
    assert got["patient"] == {"age": None, "sex": None}
    assert got["date_of_injury"] == "2014-04-21"


def test_twelve_items_keep_letter_order() -> None:
    items = [
        ITEM_ONE.replace("Hinged knee brace, left", f"Service number {chr(65 + k)}")
        for k in range(12)
    ]
    got = contract(str(Letter(items=items)))
    assert [i["service"] for i in got["items"]] == [
        f"Service number {chr(65 + k)}" for k in range(12)
    ]


def test_missing_rationale_is_reported_not_guessed() -> None:
    broken = ITEM_ONE.replace("Decision rationale:", "Some other words:")
    with pytest.raises(IncompleteLetterError) as info:
        extract(str(Letter(items=[broken, ITEM_TWO])), backend="rules")
    assert "items[0].rationale" in info.value.missing


@pytest.mark.parametrize("unreadable", ["", "O3/l4/2Ol8 ~", "03/14"])
def test_unreadable_header_value_is_left_out_and_flagged(unreadable: str) -> None:
    # A header date whose place reads as no date: the record leaves it null and needs review,
    # naming it; every other value is read. (It was refused whole, incomplete_letter, while
    # a header whose labels OCR lost gave a record of the rest: the same damage, two answers.)
    header = Letter().header.replace("03/14/2018", unreadable)
    record = extract(str(Letter(header=header)), backend="rules")
    got = record.contract_dict()
    assert got["date_assigned"] is None
    assert {k: got[k] for k in HEADER_VALUES if k != "date_assigned"} == {
        k: v for k, v in HEADER_VALUES.items() if k != "date_assigned"
    }
    assert [i["outcome"] for i in got["items"]] == ["upheld", "overturned"]
    assert record.metadata is not None and record.metadata.needs_review
    assert record.metadata.evidence["date_assigned"].status == "unverified"
    assert any("date_assigned" in reason for reason in record.metadata.review_reasons)


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ("State(s) of Licensure: Cahfamea Nvda", "reviewer.licensure_states"),
        ("Certification(s)/Specialty: ~", "reviewer.specialties"),
    ],
)
def test_a_reviewer_list_that_reads_as_nothing_is_left_empty_and_flagged(
    line: str, path: str
) -> None:
    # Fax OCR of the corpus prints such lists ("Cahfamea"): the list is empty in the record,
    # which needs review; the rest of the letter is read.
    label = line.split(":")[0] + ":"
    credentials = "\n".join(
        line if ln.startswith(label) else ln for ln in BLOCK_CREDENTIALS.split("\n")
    )
    record = extract(str(Letter(credentials=credentials)), backend="rules")
    key = path.split(".")[1]
    assert getattr(record.reviewer, key) == []
    other = "specialties" if key == "licensure_states" else "licensure_states"
    assert getattr(record.reviewer, other) == (
        ["Orthopaedic Surgery"] if other == "specialties" else ["California", "Nevada"]
    )
    assert record.case_number == HEADER_VALUES["case_number"]
    assert record.metadata is not None and record.metadata.needs_review
    assert record.metadata.evidence[path].status == "unverified"


def test_flag_unread_marks_a_value_the_engine_left_out() -> None:
    # The engine's own word that it did not read a value holds whatever the checks found.
    checked = Checked()
    checked.put("priority", "exact", (3, 9), "at its label")
    checked.put("decision_date", "unverified", (10, 20), "null; its place reads 'x'")
    flag_unread(checked, ["priority", "decision_date", "case_number"])
    assert checked.evidence["priority"].status == "unverified"
    assert checked.evidence["priority"].span == (3, 9)
    assert checked.evidence["decision_date"].note == "null; its place reads 'x'"
    assert checked.evidence["case_number"].status == "unverified"


def test_metadata_names_engine_and_spans_point_at_the_text() -> None:
    text = str(Letter())
    record = extract(text, backend="rules")
    meta = record.metadata
    assert meta is not None and meta.engine == "rules" and meta.backend == "rules"
    span = meta.spans["case_number"]
    assert text[span.start : span.end] == "CM18-0101234"
    span = meta.spans["items[1].service"]
    assert text[span.start : span.end].startswith("Physical therapy twice")
    assert record.items[1].medically_necessary is True
    assert record.items[0].medically_necessary is False
    assert record.date_of_injury == dt.date(2015, 7, 2)


def test_date_order_problem_is_a_warning() -> None:
    header = Letter().header.replace("02/27/2018", "05/27/2018")
    record = extract(str(Letter(header=header)), backend="rules")
    assert record.metadata is not None
    assert any("ur_denial_date" in w for w in record.metadata.warnings)


def test_page_furniture_and_stray_marks_do_not_reach_the_record() -> None:
    glued = (
        ITEM_ONE.rstrip("\n").replace("Upheld", "Upheld : : Se")
        + "\nPage 1 of 3\n11/18/2016 14:26 FROM: MAXIMUS FEDERAL (FAX) 916 351 9934 P.002/003\n"
        + ITEM_TWO.replace(": Overturned", ":, Overturned -")
    )
    got = contract(str(Letter(items=[glued])))
    assert got["items"] == ITEMS


def test_ocr_damaged_partial_request_sentence() -> None:
    partial = ITEM_TWO.replace(
        "Physical therapy twice a week for four weeks for the lumbar spine: Overturned",
        "Physical therapy 12 sessions wos the original request. Physical therapy 6 sessions\n"
        "was authorized by the Claims Administrator. The remaining IMR eligible portion of the\n"
        "origina1 request, Physical therapy 6 sessions is: Overturned",
    )
    got = contract(str(Letter(items=[ITEM_ONE, partial])))
    assert got["items"][1]["service"] == "Physical therapy 6 sessions"
    assert got["items"][1]["original_request"] == "Physical therapy 12 sessions"
