"""Anchors resolve to the letter's exact text, on clean and on OCR-damaged letters."""

from __future__ import annotations

import pytest

from imr_llm.evidence.anchors import AnchorError, anchor_words, resolve_anchor, split_quote
from imr_llm.form.text import CollapsedText
from tests.conftest import gold_label, gold_text


def test_clean_letter_anchors_give_the_verbatim_rationale() -> None:
    text, label = gold_text("gA06"), gold_label("gA06")
    view = CollapsedText(text)
    cursor = 0
    for item in label["items"]:
        first, last = anchor_words(item["rationale"])
        passage = resolve_anchor(view, first, last, cursor)
        assert passage.text == item["rationale"]
        assert not passage.fuzzy
        cursor = passage.collapsed_end


def test_identical_openings_resolve_in_letter_order() -> None:
    text = (
        "Decision rationale: The guidelines state that imaging is not needed. Item one ends.\n"
        "Other: Upheld\nDecision rationale: The guidelines state that imaging is not needed.\n"
        "Item two ends here.\n"
    )
    view = CollapsedText(text)
    one = resolve_anchor(view, "The guidelines state that", "Item one ends.")
    two = resolve_anchor(
        view, "The guidelines state that", "Item two ends here.", one.collapsed_end
    )
    assert one.text.endswith("Item one ends.") and two.text.endswith("Item two ends here.")
    assert two.start > one.end
    assert text[two.start : two.end].startswith("The guidelines state that")


def test_ocr_damaged_letter_keeps_the_damaged_text() -> None:
    label = gold_label("gA01")
    rationale = label["items"][0]["rationale"]
    words = rationale.split(" ")
    damaged_words = list(words)
    # OCR-style damage inside the anchors themselves and in the middle of the passage.
    damaged_words[1] = damaged_words[1].replace("e", "c").replace("l", "1")
    damaged_words[-2] = damaged_words[-2].replace("m", "rn")
    damaged_words[len(words) // 2] = damaged_words[len(words) // 2].upper()
    damaged = " ".join(damaged_words)
    assert damaged != rationale
    # Flatten the letter's line breaks too: anchors must not care about them.
    flat = " ".join(gold_text("gA01").split())
    flat = flat.replace(rationale, damaged)
    assert damaged in flat
    first, last = anchor_words(rationale)  # the model quotes clean words
    passage = resolve_anchor(CollapsedText(flat), first, last)
    assert passage.fuzzy
    assert passage.text == damaged


def test_missing_anchor_raises_a_precise_error() -> None:
    view = CollapsedText(gold_text("gA01"))
    with pytest.raises(AnchorError, match="first words"):
        resolve_anchor(view, "completely absent words here", "medically necessary.")
    with pytest.raises(AnchorError, match="last words"):
        first, _ = anchor_words(gold_label("gA01")["items"][0]["rationale"])
        resolve_anchor(view, first, "zebra crossing at midnight")


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        (
            "The MTUS supports ... not medically necessary.",
            ("The MTUS supports", "not medically necessary."),
        ),
        ("The MTUS supports \u2026 not necessary.", ("The MTUS supports", "not necessary.")),
        (
            "Decision based on MTUS Knee Complaints 2004.",
            ("Decision based on MTUS Knee Complaints 2004.",) * 2,
        ),
    ],
)
def test_split_quote(quote: str, expected: tuple[str, str]) -> None:
    assert split_quote(quote) == expected


def test_whole_short_passage_quote_resolves_to_itself() -> None:
    view = CollapsedText("MAXIMUS guideline: Decision based on MTUS Knee\nComplaints 2004.\n")
    first, last = split_quote("Decision based on MTUS Knee Complaints 2004.")
    assert resolve_anchor(view, first, last).text == "Decision based on MTUS Knee Complaints 2004."
