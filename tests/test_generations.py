"""Letters of every generation: recognised by name, the 2013 notice read, the others refused by
the rules engine with their form named and read by the model path, non-IMR texts refused.

Expectations come from the construction of each case: the gold labels (hand-written records),
values written here from reading the real 2013 excerpt in ``../shared/generations/`` (read at
run time, skipped when absent), and texts edited here to damage one known part of a letter.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import openai
import pytest

from imr_llm import (
    ImrError,
    IncompleteLetterError,
    NotAnImrLetterError,
    UnsupportedLetterFormError,
    extract,
    record_to_html,
)
from imr_llm.config import load_settings
from imr_llm.errors import InputError
from imr_llm.form import read_any_form, read_form, recognise_letter
from imr_llm.form.generations import FORMS, READ_FORMS, looks_like_determination
from imr_llm.inputs.normalise import normalise
from imr_llm.llm.cost import estimate
from imr_llm.record.models import DeterminationRecord
from imr_llm.rules import read_letter
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.oracle import ideal_answer
from tests.conftest import GOLD, SHARED, gold_label, gold_text

OTHER = GOLD / "other-forms"
NOT_IMR = sorted((GOLD / "not-imr").glob("*.txt"))
EXCERPT = SHARED / "generations" / "2013-notice-excerpt.txt"
requires_excerpt = pytest.mark.skipif(
    not EXCERPT.is_file(), reason="../shared/generations is not present beside the checkout"
)
NOTICES = sorted(p.stem for p in (GOLD / "labels").glob("gN*.json"))
#: The other-forms gold letters, by the form each was written in.
OTHER_FORMS = {
    "gD01": "2014-documents-reviewed",
    "gD02": "2014-documents-reviewed",
    "gM01": "medical-professional-review",
    "gM02": "medical-professional-review",
    "gU01": "unknown",
}


def other_text(name: str) -> str:
    return (OTHER / "letters" / f"{name}.txt").read_text(encoding="utf-8")


def other_label(name: str) -> dict:
    return json.loads((OTHER / "labels" / f"{name}.json").read_text(encoding="utf-8"))


def llm(server: FakeOpenAIServer, text: str, **options):
    client = openai.OpenAI(base_url=server.base_url, api_key="test-key")
    return extract(text, backend="llm", client=client, **options)


# ----------------------------------------------------------------------------------------------
# Recognition
# ----------------------------------------------------------------------------------------------


def _expected_form(name: str) -> str:
    """By construction: the notices were written as 2013 notices; the other gold letters are
    2016 letters, headerless exactly when their label has no case number."""
    if name.startswith("gN"):
        return "2013-notice"
    return "2016-no-header" if gold_label(name)["case_number"] is None else "2016"


@pytest.mark.parametrize("name", sorted(p.stem for p in (GOLD / "labels").glob("*.json")))
def test_every_gold_letter_is_recognised_as_the_form_it_was_written_in(name: str) -> None:
    record = extract(gold_text(name), backend="rules")
    assert record.metadata is not None
    assert record.metadata.letter_form == _expected_form(name)


def test_the_gold_set_has_written_notices() -> None:
    assert len(NOTICES) >= 6


@pytest.mark.parametrize("name", sorted(OTHER_FORMS))
def test_other_forms_are_recognised_and_named(name: str) -> None:
    recognition = recognise_letter(normalise(other_text(name)))
    assert recognition.form == OTHER_FORMS[name]
    assert recognition.form not in READ_FORMS and recognition.found


def test_form_names_are_the_documented_ones() -> None:
    assert FORMS == (
        "2016",
        "2016-no-header",
        "2013-notice",
        "2014-documents-reviewed",
        "medical-professional-review",
        "unknown",
    )
    assert set(READ_FORMS) == {"2016", "2016-no-header", "2013-notice"}


@requires_excerpt
def test_the_real_2013_excerpt_is_a_notice() -> None:
    recognition = recognise_letter(normalise(EXCERPT.read_text(encoding="utf-8")))
    assert recognition.form == "2013-notice"


# ----------------------------------------------------------------------------------------------
# Texts that are no IMR determination: refused by both engines
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", NOT_IMR, ids=lambda p: p.stem)
def test_texts_that_are_no_imr_determination_are_refused_by_both_engines(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    with pytest.raises(NotAnImrLetterError):
        extract(text, backend="rules")
    with FakeOpenAIServer() as server, pytest.raises(NotAnImrLetterError):
        llm(server, text)
    assert server.chat_requests == []  # refused before any model request


def test_the_ur_letter_is_refused_for_naming_itself_a_utilization_review() -> None:
    # Without its title and its request-for-authorization decision, the same text reads as a
    # determination (it quotes MAXIMUS, has a "has determined the request for" sentence, a
    # reviewer and a patient): those two signs are what refuse it.
    text = (GOLD / "not-imr" / "ur-letter.txt").read_text(encoding="utf-8")
    assert looks_like_determination(normalise(text)) == ()
    plain = (
        text.replace("NOTICE OF UTILIZATION REVIEW DETERMINATION", "NOTICE")
        .replace("Request for Authorization", "request")
        .replace("non-certified", "denied")
        .replace("Non-Certified", "Denied")
    )
    assert looks_like_determination(normalise(plain))


def test_the_invoice_is_refused_for_billing() -> None:
    text = (GOLD / "not-imr" / "invoice.txt").read_text(encoding="utf-8")
    letter_like = text + "\nReviewer: Board Certified in Surgery.\nKnee brace: Upheld\n"
    assert looks_like_determination(normalise(letter_like)) == ()
    unbilled = re.sub(r"(?i)invoice|total due|remit|bill to", "note", letter_like)
    assert looks_like_determination(normalise(unbilled))


def test_not_an_imr_letter_stays_an_input_error() -> None:
    assert issubclass(NotAnImrLetterError, InputError)
    assert not issubclass(UnsupportedLetterFormError, InputError)


# ----------------------------------------------------------------------------------------------
# The 2013 notice, read by the rules engine
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOTICES)
def test_clean_notices_are_read_exactly_with_evidence_at_the_sentences(name: str) -> None:
    text = gold_text(name)
    record = extract(text, backend="rules")
    assert record.contract_dict() == gold_label(name)
    meta = record.metadata
    assert meta is not None and not meta.needs_review
    for field in ("decision_date", "application_received", "ur_denial_date", "date_assigned"):
        span = meta.evidence[field].span
        assert span is not None
        written = text[span.start : span.end]
        month, day, year = (int(x) for x in written.split("/"))
        assert dt.date(year, month, day).isoformat() == gold_label(name)[field]
    for k, item in enumerate(gold_label(name)["items"]):
        span = meta.evidence[f"items[{k}].service"].span
        assert span is not None and " ".join(text[span.start : span.end].split()) == item["service"]


@requires_excerpt
def test_the_real_excerpt_is_read_up_to_where_it_is_cut_off() -> None:
    # Written from reading the excerpt: its dates, the reviewer sentence, the case summary's
    # first sentence and the two numbered determinations. It is cut off inside the case
    # summary, so no item has its rationale: the record cannot be complete.
    doc = normalise(EXCERPT.read_text(encoding="utf-8"))
    findings = read_letter(doc)
    values = findings.values
    assert values["decision_date"] == dt.date(2013, 9, 26)
    assert values["application_received"] == dt.date(2013, 9, 6)
    assert values["ur_denial_date"] == dt.date(2013, 8, 30)
    assert values["date_assigned"] == dt.date(2013, 9, 23)
    assert values["reviewer.licensure_states"] == ["California"]
    assert values["reviewer.specialties"] == ["Occupational Medicine"]
    assert values["patient.age"] == 44 and values["patient.sex"] == "female"
    assert values["date_of_injury"] == dt.date(2001, 8, 28)
    assert [(i["service"], i["outcome"]) for i in values["items"]] == [
        ("a 28 day functional restoration program", "upheld"),
        ("a 6 month follow-up aftercare program", "upheld"),
    ]
    assert [i["claims_administrator_guideline"] for i in values["items"]] == [None, None]
    with pytest.raises(IncompleteLetterError) as caught:
        extract(EXCERPT.read_text(encoding="utf-8"), backend="rules")
    assert caught.value.missing == [
        "items[0].rationale (the notice has no readable rationale for this item)",
        "items[1].rationale (the notice has no readable rationale for this item)",
    ]
    assert not isinstance(caught.value, UnsupportedLetterFormError)


def test_a_date_sentence_lost_leaves_the_date_null_and_the_record_for_review() -> None:
    text = gold_text("gN01").replace("was provided to the above parties on", "was sent on")
    record = extract(text, backend="rules")
    assert record.date_assigned is None
    expected = gold_label("gN01")
    assert record.contract_dict() == {**expected, "date_assigned": None}
    meta = record.metadata
    assert meta is not None and meta.needs_review
    evidence = meta.evidence["date_assigned"]
    assert evidence.status == "unverified" and "always states it" in (evidence.note or "")


def test_the_reviewer_sentence_lost_leaves_the_reviewer_empty_and_flagged() -> None:
    sentence = "Board Certified in Anesthesiology and is licensed to practice in California."
    text, n = re.subn(r"\s+".join(map(re.escape, sentence.split())), "x.", gold_text("gN01"))
    assert n == 1
    record = extract(text, backend="rules")
    assert record.reviewer.licensure_states == [] and record.reviewer.specialties == []
    meta = record.metadata
    assert meta is not None and meta.needs_review
    assert meta.evidence["reviewer.licensure_states"].status == "unverified"
    assert meta.evidence["reviewer.specialties"].status == "unverified"


def test_a_damaged_guideline_label_is_unreadable_not_absent() -> None:
    # The first item's Claims Administrator sentence garbled past every pattern: its text is
    # still there, so the guideline is not null ("the letter has none") but unreadable.
    text = gold_text("gN01").replace(
        "The Claims Administrator based its decision on the ACOEM",
        "T#e C1@ims Adm  in  is  tr@tor b&s*d it5 dec1s1on 0n the ACOEM",
        1,
    )
    with pytest.raises(IncompleteLetterError) as caught:
        extract(text, backend="rules")
    assert caught.value.missing == [
        "items[0].claims_administrator_guideline (its label is unreadable)"
    ]


def test_a_notice_that_never_states_a_guideline_gives_null() -> None:
    # gN03 says the Claims Administrator cited none; without that sentence at all the item
    # simply has no Claims Administrator guideline.
    text = gold_text("gN03").replace(
        "The Claims Administrator did not cite any medical evidence for its decision.\n", ""
    )
    assert "did not cite" not in text
    record = extract(text, backend="rules")
    assert record.items[0].claims_administrator_guideline is None
    assert record.contract_dict() == gold_label("gN03")


@pytest.mark.parametrize("where", ["every space", "before the mark", "after The"])
def test_a_no_break_space_in_a_damaged_notice_label_leaves_the_guideline_as_read(
    where: str,
) -> None:
    # gN06's OCR rendering prints "decision ‘on the ...": its label is found by the fuzzy
    # match, which took a no-break space (text copied from a web page) for a letter and left
    # "on" in the guideline.
    text = (GOLD / "renderings" / "ocr" / "gN06.txt").read_text(encoding="utf-8")
    line = "The Expert Reviewer based his/her decision ‘on the Chronic Pain Medical Treatment"
    assert line in text
    nbsp = {
        "every space": line.replace(" ", "\u00a0"),
        "before the mark": line.replace("decision ‘on", "decision\u00a0‘on"),
        "after The": line.replace("The Expert", "The\u00a0Expert"),
    }[where]
    read = extract(text, backend="rules").items[0].maximus_guideline
    assert read is not None and read.startswith("the Chronic Pain")
    assert extract(text.replace(line, nbsp), backend="rules").items[0].maximus_guideline == read


@pytest.mark.parametrize(
    "stamped",
    ["its DUPLICATE decision on", "its DUPLICATE\ndecision on", "its decision RECEIVED\non"],
)
def test_a_stamp_inside_a_notice_label_leaves_none_of_the_label_in_the_guideline(
    stamped: str,
) -> None:
    # A watermark's word inside "The Claims Administrator based its decision on" (gN02 at
    # fuzz seed 17): the label was found by the fuzzy match up to the stamp, and the
    # guideline started "decision on the Official ...", unflagged.
    record = _stamped(
        "gN02", "The Claims Administrator based its decision on the Official", "its decision on",
        stamped,
    )  # fmt: skip
    want = gold_label("gN02")["items"][2]["claims_administrator_guideline"]
    assert want.startswith("the Official Disability Guidelines")
    assert record.items[2].claims_administrator_guideline == want


def _stamped(letter: str, label: str, words: str, stamped: str) -> DeterminationRecord:
    """The rules engine's record of gold ``letter`` with ``words`` of its ``label`` (printed
    once) written as ``stamped``."""
    text = gold_text(letter)
    assert text.count(label) == 1
    return extract(text.replace(label, label.replace(words, stamped)), backend="rules")


@pytest.mark.parametrize(
    "stamped",
    ["Rationale for the RECEIVED Decision:", "Rationale for the COPY\nDecision:",
     "Rationale for the Decision RECEIVED:",
     # OCR's marks after it (gN01 OCR'd at fuzz seed 96 began its rationale "; : : The MTUS")
     "Rationale for the Decision: . CONFIDENTIAL : ; : :"],
)  # fmt: skip
def test_a_stamp_inside_a_notices_rationale_label_leaves_none_of_it_in_the_rationale(
    stamped: str,
) -> None:
    # A watermark's word inside "Rationale for the Decision:" (gN06 at fuzz seed 92): the
    # rationale started "Decision: Topical lidocaine ...", unflagged.
    record = _stamped(
        "gN06", "Rationale for the Decision:\nTopical", "Rationale for the Decision:", stamped
    )
    want = gold_label("gN06")["items"][1]["rationale"]
    assert want.startswith("Topical lidocaine")
    assert record.items[1].rationale == want


def test_a_notice_guideline_holding_its_label_line_again_is_flagged() -> None:
    # gN02 with "The Claims Administrator based its decision on the Postsurgical Treatment
    # Guidelines," printed twice (a probe of the model path on damaged letters, seed 7): the
    # guideline read "the Postsurgical Treatment Guidelines, The Claims Administrator based its
    # decision on the Postsurgical ...", unflagged on both engines.
    text = gold_text("gN02")
    line = "The Claims Administrator based its decision on the Postsurgical Treatment Guidelines,\n"
    assert text.count(line) == 1
    record = extract(text.replace(line, line + line), backend="rules")
    evidence = record.metadata.evidence["items[1].claims_administrator_guideline"]
    assert record.metadata.needs_review and evidence.status == "unverified", evidence


def test_a_notice_item_whose_expert_reviewer_line_is_lost_is_flagged() -> None:
    # gN05 with the line "The Expert Reviewer based his/her decision on the ACOEM Practice
    # Guidelines, 2nd Edition" dropped (fuzz seed 42): the rest of that guideline ran into the
    # Claims Administrator's, and the Expert Reviewer's came back null, unflagged.
    text = gold_text("gN05")
    line = (
        "The Expert Reviewer based his/her decision on the ACOEM Practice Guidelines, 2nd Edition\n"
    )
    assert text.count(line) == 1
    record = extract(text.replace(line, ""), backend="rules")
    assert record.items[0].maximus_guideline is None
    assert record.metadata.needs_review
    evidence = record.metadata.evidence["items[0].maximus_guideline"]
    assert evidence.status == "unverified" and "could not be found" in evidence.note


@pytest.mark.parametrize(
    "debris", ["Decision:. f : :", "Decision:.f ::", "Decision:. f ’ : :", "Decision: f ::"]
)
def test_ocr_debris_with_a_stray_letter_after_a_notice_label_is_the_labels(debris: str) -> None:
    # gN06's OCR rendering prints "Rationale for the Decision:. f : :"; with a space lost or a
    # mark added (fuzz seeds 50 and 60) the rationale began "f :: The MTUS ...", unflagged.
    text = (GOLD / "renderings" / "ocr" / "gN06.txt").read_text(encoding="utf-8")
    assert text.count("Decision:. f : :") == 1
    record = extract(text.replace("Decision:. f : :", debris), backend="rules")
    assert record.items[0].rationale.startswith("The MTUS does not recommend H-wave")


def test_a_determination_lost_from_both_lists_fails_the_letter() -> None:
    # The 4th determination is unreadable in both lists, but its section (with a rationale) is
    # there: three items read from four rationales is no record.
    text = gold_text("gN04").replace(
        "determined the request for gym membership", "determ!ned th# requ#st f0r gym membership"
    )
    with pytest.raises(IncompleteLetterError) as caught:
        extract(text, backend="rules")
    assert caught.value.missing == ["items (found 4 rationales but only 3 readable determinations)"]


def test_one_list_damaged_the_other_stands_in() -> None:
    # Only the list under the title keeps the 3rd determination: it is read from there.
    text = gold_text("gN04")
    title_copy = text.index("3) MAXIMUS")
    second = text.index("3) MAXIMUS", title_copy + 1)
    damaged = text[:second] + text[second:].replace("has determined", "h#s d#t#rm!n#d", 1)
    assert extract(damaged, backend="rules").contract_dict() == gold_label("gN04")


def test_a_glued_verdict_is_read_through_as_repaired() -> None:
    # gN06 prints "is notmedically necessary" as the public copy of a real notice does.
    record = extract(gold_text("gN06"), backend="rules")
    meta = record.metadata
    assert meta is not None
    assert [meta.evidence[f"items[{k}].outcome"].status for k in range(2)] == ["repaired"] * 2


# ----------------------------------------------------------------------------------------------
# Forms the rules engine does not read
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OTHER_FORMS))
def test_the_rules_engine_names_a_form_it_does_not_read(name: str) -> None:
    with pytest.raises(UnsupportedLetterFormError) as caught:
        extract(other_text(name), backend="rules")
    error = caught.value
    assert error.letter_form == OTHER_FORMS[name]
    assert isinstance(error, IncompleteLetterError) and isinstance(error, ImrError)
    assert error.to_dict()["error"] == "unsupported_letter_form"
    assert "not an IMR" not in str(error) and OTHER_FORMS[name] in str(error)
    with pytest.raises(UnsupportedLetterFormError):
        read_form(normalise(other_text(name)))


def test_a_letter_too_damaged_to_know_is_an_unknown_form() -> None:
    text = _destroyed_2016("gA01")
    with pytest.raises(UnsupportedLetterFormError) as caught:
        extract(text, backend="rules")
    assert caught.value.letter_form == "unknown"


def _destroyed_2016(name: str) -> str:
    """A 2016 gold letter whose headings, their form sentences and passage labels are gone."""
    text = gold_text(name)
    for gone in (
        "HOW THE IMR FINAL DETERMINATION WAS MADE",
        "CLINICAL CASE SUMMARY",
        "IMR ISSUES, DECISIONS AND RATIONALES",
        "sent the complete case file to an expert reviewer",
        "developed the following clinical case summary",
        "decisions for the disputed items/services set forth below",
        "Claims Administrator guideline:",
        "MAXIMUS guideline:",
        "Decision rationale:",
    ):
        assert gone in text
        text = text.replace(gone, "~ ~ ~")
    return text


# ----------------------------------------------------------------------------------------------
# The model path takes any IMR letter
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gN02", "gN04", "gN06"])
def test_the_model_path_reads_notices_checked_at_their_places(
    fake_server: FakeOpenAIServer, name: str
) -> None:
    fake_server.enqueue(Step.answer(ideal_answer(gold_label(name))))
    record = llm(fake_server, gold_text(name))
    assert record.contract_dict() == gold_label(name)
    meta = record.metadata
    assert meta is not None and meta.letter_form == "2013-notice" and len(meta.attempts) == 1
    assert meta.evidence["decision_date"].note == "in its sentence"


def test_a_notice_date_taken_from_another_sentence_is_re_asked(
    fake_server: FakeOpenAIServer,
) -> None:
    label = gold_label("gN01")
    wrong = ideal_answer(label)
    wrong["decision_date"], wrong["date_assigned"] = label["date_assigned"], label["decision_date"]
    fake_server.enqueue(Step.answer(wrong), Step.answer(ideal_answer(label)))
    record = llm(fake_server, gold_text("gN01"))
    assert record.contract_dict() == label
    attempts = record.metadata.attempts  # type: ignore[union-attr]
    assert [a.outcome for a in attempts] == ["invalid", "ok"]
    assert {e.partition(":")[0] for e in attempts[0].errors} >= {"decision_date", "date_assigned"}


def test_a_notice_outcome_flipped_is_re_asked(fake_server: FakeOpenAIServer) -> None:
    label = gold_label("gN02")
    wrong = ideal_answer(label)
    wrong["items"][2]["outcome"] = "overturned"
    fake_server.enqueue(Step.answer(wrong), Step.answer(ideal_answer(label)))
    record = llm(fake_server, gold_text("gN02"))
    attempts = record.metadata.attempts  # type: ignore[union-attr]
    assert [a.outcome for a in attempts] == ["invalid", "ok"]
    assert any(e.startswith("items[2].outcome") for e in attempts[0].errors)


@pytest.mark.parametrize("name", sorted(OTHER_FORMS))
def test_the_model_path_reads_forms_it_cannot_place(
    fake_server: FakeOpenAIServer, name: str
) -> None:
    label = other_label(name)
    text = other_text(name)
    fake_server.enqueue(Step.answer(ideal_answer(label)))
    record = llm(fake_server, text)
    assert record.contract_dict() == label
    meta = record.metadata
    assert meta is not None and meta.letter_form == OTHER_FORMS[name]
    assert len(meta.attempts) == 1 and meta.needs_review
    why = "is not known" if OTHER_FORMS[name] == "unknown" else f"({OTHER_FORMS[name]}) is not read"
    assert any(why in reason for reason in meta.review_reasons)
    # Every value is looked for in the text: found ones point at where they are written.
    for evidence in meta.evidence.values():
        assert evidence.status == "unverified" and why in (evidence.note or "")
    for k, item in enumerate(label["items"]):
        span = meta.evidence[f"items[{k}].service"].span
        assert span is not None and " ".join(text[span.start : span.end].split()) == item["service"]
        span = meta.evidence[f"items[{k}].rationale"].span
        assert (
            span is not None and " ".join(text[span.start : span.end].split()) == item["rationale"]
        )
    for field in ("decision_date", "date_of_injury"):
        if label[field] is not None:
            span = meta.evidence[field].span
            assert span is not None and text[span.start : span.end].strip()


def test_a_value_not_found_is_flagged_not_re_asked(fake_server: FakeOpenAIServer) -> None:
    label = other_label("gM01")
    answer = ideal_answer(label)
    answer["patient_age"] = 77  # written nowhere in the letter
    fake_server.enqueue(Step.answer(answer))
    record = llm(fake_server, other_text("gM01"))
    meta = record.metadata
    assert meta is not None and len(meta.attempts) == 1 and record.patient.age == 77
    evidence = meta.evidence["patient.age"]
    assert evidence.status == "unverified" and evidence.span is None
    assert (evidence.note or "").startswith("not found in the text")


def test_a_quote_found_nowhere_is_re_asked(fake_server: FakeOpenAIServer) -> None:
    label = other_label("gD02")
    wrong = ideal_answer(label)
    wrong["items"][0]["rationale"] = "Words that the letter ... never prints anywhere."
    fake_server.enqueue(Step.answer(wrong), Step.answer(ideal_answer(label)))
    record = llm(fake_server, other_text("gD02"))
    assert record.contract_dict() == label
    attempts = record.metadata.attempts  # type: ignore[union-attr]
    assert [a.outcome for a in attempts] == ["invalid", "ok"]
    assert any(e.startswith("items[0].rationale") for e in attempts[0].errors)


def test_a_letter_too_damaged_to_know_is_still_read_by_the_model(
    fake_server: FakeOpenAIServer,
) -> None:
    text = _destroyed_2016("gA01")
    label = gold_label("gA01")
    answer = ideal_answer(label)
    fake_server.enqueue(Step.answer(answer))
    record = llm(fake_server, text)
    meta = record.metadata
    assert meta is not None and meta.letter_form == "unknown" and meta.needs_review
    assert record.case_number == label["case_number"]
    assert [i.outcome for i in record.items] == [i["outcome"] for i in label["items"]]
    assert meta.evidence["case_number"].span is not None


@requires_excerpt
def test_the_model_path_reads_the_real_excerpt(fake_server: FakeOpenAIServer) -> None:
    # A model's answer written from reading the excerpt; it has no rationale to quote, so the
    # one it gives (from the case summary) cannot be checked and the record needs review.
    text = EXCERPT.read_text(encoding="utf-8")
    item = {
        "original_request": None,
        "outcome": "upheld",
        "claims_administrator_guideline": None,
        "maximus_guideline": None,
        "rationale": "The provider submitted a request ... residential functional restoration",
    }
    answer = {
        "case_number": None,
        "date_assigned": "2013-09-23",
        "date_of_injury": "2001-08-28",
        "decision_date": "2013-09-26",
        "ur_denial_date": "2013-08-30",
        "application_received": "2013-09-06",
        "priority": None,
        "licensure_states": ["California"],
        "specialties": ["Occupational Medicine"],
        "patient_age": 44,
        "patient_sex": "female",
        "items": [
            {**item, "service": "a 28 day functional restoration program"},
            {**item, "service": "a 6 month follow-up aftercare program"},
        ],
    }
    fake_server.enqueue(Step.answer(answer))
    record = llm(fake_server, text)
    meta = record.metadata
    assert meta is not None and meta.letter_form == "2013-notice" and meta.needs_review
    for field in ("decision_date", "application_received", "ur_denial_date", "date_assigned"):
        assert meta.evidence[field].status == "exact"
    assert meta.evidence["items[0].rationale"].status == "unverified"
    assert meta.evidence["items[1].outcome"].status == "repaired"  # "notmedically"


def test_the_cascade_hands_a_form_it_cannot_read_to_the_model(
    fake_server: FakeOpenAIServer,
) -> None:
    label = other_label("gD01")
    fake_server.enqueue(Step.answer(ideal_answer(label)))
    client = openai.OpenAI(base_url=fake_server.base_url, api_key="test-key")
    record = extract(other_text("gD01"), backend="cascade", client=client)
    meta = record.metadata
    assert meta is not None and meta.engine == "llm" and meta.backend == "cascade"
    assert meta.rules_failure and "2014-documents-reviewed" in meta.rules_failure
    assert record.contract_dict() == label


def test_read_any_form_gives_no_places_for_forms_it_does_not_read() -> None:
    form = read_any_form(normalise(other_text("gM01")))
    assert form.letter_form == "medical-professional-review" and not form.placed
    assert form.items is None and not form.header.places
    with pytest.raises(NotAnImrLetterError):
        read_any_form(normalise(NOT_IMR[0].read_text(encoding="utf-8")))


def test_the_cost_estimate_counts_every_imr_letter_and_rejects_the_rest() -> None:
    texts = [other_text("gM01"), gold_text("gN01"), *(p.read_text() for p in NOT_IMR)]
    got = estimate(texts, load_settings(model="gpt-4o-mini"))
    assert (got.letters, got.rejected) == (2, len(NOT_IMR))


# ----------------------------------------------------------------------------------------------
# The generation shown where people look
# ----------------------------------------------------------------------------------------------


def test_the_review_page_names_the_letter_form() -> None:
    record = extract(gold_text("gN01"), backend="rules")
    page = record_to_html(record, gold_text("gN01"))
    assert "letter form" in page and "2013-notice" in page
    assert "Notice of Independent Medical Review Determination" in page


def test_the_eval_report_shows_the_form_of_every_case(tmp_path: Path) -> None:
    from imr_llm.eval import run_eval, write_report

    run = run_eval(GOLD, "rules", renderings=["layout"], letters=["gN01", "gA01", "seed-000"])
    report = write_report(run, GOLD, tmp_path)
    forms = {c["letter"]: c["letter_form"] for c in report["per_case"]}
    assert forms == {"gN01": "2013-notice", "gA01": "2016", "seed-000": "2016-no-header"}
    assert set(report["by_letter_form"]) == {"2013-notice", "2016", "2016-no-header"}
    assert "## By letter form" in (tmp_path / "summary.md").read_text()
    assert "<th>letter form</th>" in (tmp_path / "report.html").read_text()


def test_the_eval_names_the_form_of_a_case_the_rules_engine_refused(tmp_path: Path) -> None:
    from imr_llm.eval import run_eval

    run = run_eval(OTHER, "rules")
    forms = {r.case.letter: r.summary()["letter_form"] for r in run.results}
    assert forms == OTHER_FORMS
    assert {r.summary()["error"] for r in run.results} == {"unsupported_letter_form"}


def test_an_invented_service_on_a_damaged_notice_is_re_asked(fake_server: FakeOpenAIServer) -> None:
    # The rendering reads as fax-quality to the damage estimate, where a 2016 item's mismatch
    # would be flagged only; a notice's service sits between fixed words, so it is re-asked.
    label = gold_label("gN02")
    text = (GOLD / "renderings" / "noise-light" / "gN02.txt").read_text(encoding="utf-8")
    wrong = ideal_answer(label)
    wrong["items"][1]["service"] = "Lumbar epidural steroid injection at L4-L5"
    fake_server.enqueue(Step.answer(wrong), Step.answer(ideal_answer(label)))
    record = llm(fake_server, text)
    attempts = record.metadata.attempts  # type: ignore[union-attr]
    assert [a.outcome for a in attempts][0] == "invalid"
    assert any(e.startswith("items[1].service") for e in attempts[0].errors)
    assert record.items[1].service != "Lumbar epidural steroid injection at L4-L5"


def test_a_notice_cut_inside_its_last_rationale_is_flagged() -> None:
    # The notice's rationales end with their conclusion as the 2016 letters' do.
    text = gold_text("gN05")
    cut = text[: text.index("with normal radiographs.") + len("with normal radiographs.")]
    record = extract(cut, backend="rules")
    assert record.metadata is not None and record.metadata.needs_review
    assert "cut off" in record.metadata.evidence["items[0].rationale"].note
    assert not extract(text, backend="rules").metadata.needs_review


def test_a_fax_banner_inside_a_determination_sentence_is_no_part_of_the_service() -> None:
    # A page break falls inside "...the request for lumbar epidural steroid / injection at
    # L4-L5 is not medically necessary": the banner heading the next page is page furniture.
    text = gold_text("gN01").replace(
        "lumbar epidural steroid\ninjection",
        "lumbar epidural steroid\n\f09/13/2016 10:37 FAX 3755095918 MAXIMUS p.002/008\ninjection",
    )
    record = extract(text, backend="rules")
    assert record.contract_dict() == gold_label("gN01")


def test_recognition_is_the_same_without_skipping_the_review_forms_phrases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """recognise() looks for the review form's phrases only where they could change the
    answer: every letter, other form, refused text and shared rendering is recognised as with
    all of that form's marks counted."""
    from imr_llm.form import generations
    from imr_llm.form.sections import find_sections

    texts = [p.read_text(encoding="utf-8") for p in sorted((GOLD / "letters").glob("*.txt"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((GOLD / "renderings").glob("*/*.txt"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((OTHER / "letters").glob("*.txt"))]
    texts += [p.read_text(encoding="utf-8") for p in NOT_IMR]
    for corpus in ("corpus", "corpus-more"):
        texts += [
            p.read_text(encoding="utf-8") for p in sorted((SHARED / corpus).glob("text-*/*.txt"))
        ]
    full = generations._marks
    differ = 0
    for text in texts:
        doc = normalise(text)
        sections = find_sections(doc)
        quick = generations.recognise(doc, sections)
        with monkeypatch.context() as patch:
            patch.setattr(
                generations,
                "_review_marks",
                lambda d, lw, _o: full(d, generations._REVIEW_MARKS, lw),
            )
            differ += generations.recognise(doc, sections) != quick
    assert differ == 0 and len(texts) > 400


def test_a_notice_is_read_without_looking_for_the_2016_sections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A notice prints its sign and none of the 2016 headings' words: the loose search for
    those headings is skipped, and the notice reads as before. A text with the 2016 words
    (a 2016 letter, whatever else it quotes) is still searched."""
    from imr_llm import form as form_module
    from tests.letters import Letter

    def no_search(_doc: object) -> None:
        raise AssertionError("the 2016 sections were looked for")

    with monkeypatch.context() as patch:
        patch.setattr(form_module, "find_sections", no_search)
        for name in NOTICES:
            assert read_form(normalise(gold_text(name))).letter_form == "2013-notice"
            assert extract(gold_text(name), backend="rules").contract_dict() == gold_label(name)
    quoted = "Notice of Independent Medical Review Determination\n" + str(Letter())
    searched: list[object] = []
    real = form_module.find_sections
    with monkeypatch.context() as patch:
        patch.setattr(form_module, "find_sections", lambda doc: searched.append(doc) or real(doc))
        assert read_form(normalise(quoted)).letter_form == "2016"
    assert searched
