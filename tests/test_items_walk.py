"""The header walk of :mod:`imr_llm.form.items`, on letters built by editing ``gA01`` (issue 7).

What the module's docstring promises, case by case: an item header is found by walking back
from its outcome marker, adding the line above while it does not end a sentence; a blank line
ends the header, except at the foot of a page when the header continues a sentence across the
page break; a partly certified request is extended to the sentence naming the original request
(through blank lines OCR put inside a sentence, but not past a blank line after a sentence's
end); labels OCR damaged past matching are found where a passage can begin; an item whose
outcome word OCR destroyed is still found by its labels. Expectations come from the letter
text, never from running the code under test.
"""

from __future__ import annotations

from pathlib import Path

from imr_llm.form import read_form
from imr_llm.form.items import ItemPlace, split_partial_request
from imr_llm.inputs.normalise import normalise

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold"
A01 = (GOLD / "letters" / "gA01.txt").read_text(encoding="utf-8")

MRI = "MRI of the left knee without contrast"
PT6 = "Physical therapy for the left knee, 6 sessions"
PT12 = "Physical therapy for the left knee, 12 sessions"
#: The partly certified request's header as gA01 prints it, over three lines.
PARTIAL = (
    "Physical therapy for the left knee, 12 sessions was the original request. "
    "Physical therapy for\n"
    "the left knee, 6 sessions was authorized by the Claims Administrator. "
    "The remaining IMR eligible\n"
    "portion of the original request, Physical therapy for the left knee, 6 sessions is: Upheld"
)
PARTIAL_HEADER = (
    "Physical therapy for the left knee, 12 sessions was the original request. Physical therapy "
    "for the left knee, 6 sessions was authorized by the Claims Administrator. The remaining IMR "
    "eligible portion of the original request, Physical therapy for the left knee, 6 sessions is"
)
#: The end of the first item's rationale, right above the second item's header.
FIRST_END = "The\nrequest meets guideline criteria and is medically necessary.\n"


def one(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def places(text: str) -> list[ItemPlace]:
    form = read_form(normalise(text))
    assert form.items is not None
    return form.items.items


def test_the_gold_letter_items() -> None:
    found = places(A01)
    assert [p.header_text for p in found] == [MRI, PARTIAL_HEADER]
    assert [p.outcome.value if p.outcome else None for p in found] == ["overturned", "upheld"]
    assert all(p.outcome is not None and p.outcome.exact for p in found)
    partial = split_partial_request(found[1].header_text)
    assert partial is not None
    assert (partial.original_request, partial.service) == (PT12, PT6)
    for p in found:
        assert all(p.passages[k] is not None for k in p.passages)
    rationale = found[0].passages["rationale"]
    assert rationale is not None and rationale.text.startswith("The ACOEM knee chapter")
    assert rationale.text.endswith("is medically necessary.")


def test_a_header_wrapped_over_two_lines() -> None:
    text = one(A01, MRI + ": Overturned", "MRI of the left knee\nwithout contrast: Overturned")
    found = places(text)
    assert found[0].header_text == MRI
    source = normalise(text).source
    assert source[found[0].header.start : found[0].header.start + 3] == "MRI"


def test_a_header_wrapped_over_three_lines_after_a_rationale_without_a_blank_line() -> None:
    # Plain pdftotext prints no blank lines: the rationale's last line ends a sentence, so the
    # walk stops there, and the header is the three lines of the partly certified request.
    text = one(A01, FIRST_END + "\n" + PARTIAL, FIRST_END + PARTIAL)
    found = places(text)
    assert len(found) == 2
    assert found[1].header_text == PARTIAL_HEADER
    rationale = found[0].passages["rationale"]
    assert rationale is not None and rationale.text.endswith("is medically necessary.")


def test_a_blank_line_before_a_capitalised_line_ends_a_header() -> None:
    text = one(A01, MRI + ": Overturned", "MRI of the left\n\nKnee without contrast: Overturned")
    assert places(text)[0].header_text == "Knee without contrast"


def test_a_blank_line_inside_a_sentence_is_crossed() -> None:
    # OCR or a re-filled page may put a blank line inside a header: the line after it starts in
    # lower case, so it carries on the sentence above (which does not end).
    text = one(A01, MRI + ": Overturned", "MRI of the left\n\nknee without contrast: Overturned")
    assert places(text)[0].header_text == MRI


def test_a_page_break_inside_a_header_is_crossed() -> None:
    # The header continues a sentence across the page break: the blank lines at the foot of
    # the page mean nothing.
    text = one(A01, MRI + ": Overturned", "MRI of the left\n\n\fknee without contrast: Overturned")
    assert places(text)[0].header_text == MRI


def test_a_page_break_after_a_sentence_end_is_not_crossed() -> None:
    # The rationale above ends a sentence: the next page's header starts on that page.
    text = one(A01, FIRST_END + "\n" + PARTIAL, FIRST_END + "\n\f" + PARTIAL)
    found = places(text)
    assert len(found) == 2
    assert found[1].header_text == PARTIAL_HEADER


def test_a_partly_certified_request_with_a_blank_line_inside_a_sentence() -> None:
    # OCR put a blank line inside "Physical therapy for / the left knee, 6 sessions was
    # authorized": the header still reaches the sentence naming the original request.
    broken = PARTIAL.replace("Physical therapy for\nthe left", "Physical therapy for\n\nthe left")
    text = one(A01, PARTIAL, broken)
    found = places(text)
    assert found[1].header_text.startswith(PT12 + " was the original request.")
    assert found[1].header_text.endswith("6 sessions is")
    partial = split_partial_request(found[1].header_text)
    assert partial is not None
    assert (partial.original_request, partial.service) == (PT12, PT6)


def test_a_partly_certified_request_with_a_blank_line_after_a_sentence_end() -> None:
    # A blank line after "... was the original request." ends the search: the header starts
    # after it, so it names the original request only once.
    broken = (
        PT12 + " was the original request.\n\n"
        "Physical therapy for the left knee, 6 sessions was authorized by the Claims\n"
        "Administrator. The remaining IMR eligible portion of the original request, Physical\n"
        "therapy for the left knee, 6 sessions is: Upheld"
    )
    text = one(A01, PARTIAL, broken)
    found = places(text)
    assert len(found) == 2
    assert found[1].header_text.startswith(PT6 + " was authorized")
    assert "12 sessions" not in found[1].header_text


def test_damaged_labels_are_found_where_a_passage_begins() -> None:
    text = one(A01, "MAXIMUS guideline: Decision based on MTUS Knee",
               "MAXIMUS puvdeline) Decision based on MTUS Knee")  # fmt: skip
    text = one(text, "Decision rationale: The ACOEM", "Decision pone The ACOEM")
    found = places(text)
    maximus = found[0].passages["maximus_guideline"]
    rationale = found[0].passages["rationale"]
    assert maximus is not None and rationale is not None
    assert maximus.text.startswith("Decision based on MTUS Knee Complaints 2004")
    assert maximus.text.endswith("(magnetic resonance imaging).")
    assert rationale.text.startswith("The ACOEM knee chapter")
    source = normalise(text).source
    assert source[maximus.start : maximus.start + 8] == "Decision"
    assert source[rationale.start : rationale.start + 7] == "The ACO"
    # The guideline ends where the damaged rationale label begins.
    assert "ACOEM" not in maximus.text
    # The second item keeps its own labels.
    assert all(found[1].passages[k] is not None for k in found[1].passages)


def test_a_decision_based_on_line_is_not_a_rationale_label() -> None:
    # "Decision based on ..." opens guideline lines; with the rationale label destroyed, such a
    # line starting after a sentence's end is still part of the guideline.
    text = one(
        A01,
        "Diagnostic Criteria. Decision based on Non-MTUS Citation",
        "Diagnostic Criteria.\nDecision based on Non-MTUS Citation",
    )
    text = one(text, "Decision rationale: The ACOEM", "~#~#~#~# ~#~#~#~#~: The ACOEM")
    found = places(text)
    assert found[0].passages["rationale"] is None
    maximus = found[0].passages["maximus_guideline"]
    assert maximus is not None and "Decision based on Non-MTUS Citation" in maximus.text


def test_a_damaged_label_inside_a_sentence_is_no_label() -> None:
    # A damaged label is looked for only at the start of a line after a blank line or a
    # sentence's end: here it continues the guideline's sentence.
    text = one(
        A01,
        "Diagnostic Criteria. Decision based on Non-MTUS Citation",
        "Diagnostic Criteria, and\nDecision pone based on Non-MTUS Citation",
    )
    text = one(text, "Decision rationale: The ACOEM", "~#~#~#~# ~#~#~#~#~: The ACOEM")
    found = places(text)
    assert found[0].passages["rationale"] is None
    # After a sentence's end the same damaged label begins the rationale.
    text = one(
        A01,
        "Diagnostic Criteria. Decision based on Non-MTUS Citation",
        "Diagnostic Criteria.\nDecision pone based on Non-MTUS Citation",
    )
    text = one(text, "Decision rationale: The ACOEM", "~#~#~#~# ~#~#~#~#~: The ACOEM")
    rationale = places(text)[0].passages["rationale"]
    assert rationale is not None and rationale.text.startswith("based on Non-MTUS Citation")


def test_an_item_whose_outcome_word_is_destroyed_is_found_by_its_labels() -> None:
    text = one(A01, MRI + ": Overturned", MRI + ": ~#~#~#~#~#")
    found = places(text)
    assert len(found) == 2
    assert found[0].header_text == MRI
    assert found[0].outcome is None
    assert found[0].from_marker is False
    assert found[1].from_marker is True
    assert found[1].header_text == PARTIAL_HEADER


def test_a_partly_certified_request_whose_outcome_word_is_destroyed() -> None:
    text = one(A01, "6 sessions is: Upheld", "6 sessions is: ~#~#~#")
    found = places(text)
    assert len(found) == 2
    assert found[1].outcome is None
    partial = split_partial_request(found[1].header_text)
    assert partial is not None
    assert (partial.original_request, partial.service) == (PT12, PT6)
    assert found[0].header_text == MRI


def test_a_stray_outcome_inside_a_rationale_is_no_item() -> None:
    text = one(A01, FIRST_END, FIRST_END.replace("necessary.", "necessary, as before:\nUpheld"))
    text = one(
        text, "\nweeks of mechanical", "\nThe prior review noted: Upheld\nweeks of mechanical"
    )
    found = places(text)
    assert [p.header_text for p in found] == [MRI, PARTIAL_HEADER]
    rationale = found[0].passages["rationale"]
    assert rationale is not None and "The prior review noted: Upheld" in rationale.text


def test_an_outcome_alone_on_the_line_after_the_header() -> None:
    text = one(A01, MRI + ": Overturned", MRI + ":\nOverturned")
    found = places(text)
    assert [p.header_text for p in found] == [MRI, PARTIAL_HEADER]
    assert found[0].outcome is not None and found[0].outcome.value == "overturned"


def test_two_items_whose_outcome_words_are_destroyed() -> None:
    text = one(A01, MRI + ": Overturned", MRI + ": ~#~#~#~#~#")
    text = one(text, "6 sessions is: Upheld", "6 sessions is: ~#~#~#")
    found = places(text)
    assert [p.header_text for p in found] == [MRI, PARTIAL_HEADER]
    assert [p.from_marker for p in found] == [False, False]
    assert [p.outcome for p in found] == [None, None]


def test_a_destroyed_marker_after_an_item_without_a_rationale_label() -> None:
    # The first item's rationale label is destroyed: the second item's labels still begin a
    # new run at its Claims Administrator guideline.
    text = one(A01, "Decision rationale: The ACOEM", "~#~#~#~# ~#~#~#~#~: The ACOEM")
    text = one(text, "6 sessions is: Upheld", "6 sessions is: ~#~#~#")
    found = places(text)
    assert [p.header_text for p in found] == [MRI, PARTIAL_HEADER]
    assert found[1].from_marker is False


def test_an_item_without_a_marker_or_a_first_label_is_not_found() -> None:
    # Without its first label, the line above the first item's labels is no header; the
    # second item, whose marker is destroyed too, is still found by its labels.
    text = one(A01, MRI + ": Overturned", MRI + ": ~#~#~#~#~#")
    text = one(
        text,
        "Claims Administrator guideline: Decision based on MTUS Knee",
        "~#~#~#~ ~#~#~#~#~#~#~ ~#~#~#~#~: Decision based on MTUS Knee",
    )
    text = one(text, "6 sessions is: Upheld", "6 sessions is: ~#~#~#")
    found = places(text)
    assert [p.header_text for p in found] == [PARTIAL_HEADER]
    assert found[0].from_marker is False


def test_stray_marks_after_a_sentence_end_do_not_continue_it() -> None:
    # "necessary. ©": the rationale's sentence has ended, so the header does not take it in.
    marked = FIRST_END.replace("necessary.", "necessary. ©")
    text = one(A01, FIRST_END + "\n" + PARTIAL, marked + PARTIAL)
    found = places(text)
    assert found[1].header_text == PARTIAL_HEADER


def test_a_damaged_first_label_right_after_the_marker() -> None:
    # The passage runs from just after its label (ItemPlace), the whole damaged label left out.
    text = one(
        A01,
        "Overturned\n\nClaims Administrator guideline: Decision based on MTUS Knee",
        "Overturned\nClaims Adrnimstratcr gmdelme) Decision based on MTUS Knee",
    )
    found = places(text)
    ca = found[0].passages["claims_administrator_guideline"]
    assert ca is not None
    assert ca.text.startswith("Decision based on MTUS Knee Complaints 2004, Section(s): Special")
    assert found[0].header_text == MRI
