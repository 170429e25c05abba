"""Words clean text prints with letters and digits mixed are no OCR damage (issue 14).

The damage estimate (:func:`imr_llm.evidence.common.letter_damage`) counted "7.5mg",
"10/325mg", "(ICD9", "30°" and typographic quotes as OCR's garbling, so a third of the clean
letters read as damaged and the checks asked only of an undamaged letter (a guideline ending
on a comma, a specialty completed from its start) did not run there. A letter whose form
sentences are whole and whose every word is clean now reads as undamaged; the estimate on
damaged letters, and the thresholds on it, are unchanged.
"""

from __future__ import annotations

import pytest

from imr_llm import extract
from imr_llm.evidence.common import clean_word, garbled_share, letter_damage
from imr_llm.form import read_form
from imr_llm.inputs.normalise import normalise
from tests.test_evidence import A01


@pytest.mark.parametrize(
    "word",
    ["7.5mg", "10/325mg", "320.5/30/16mg", "120grams", "30°,", "(ICD9", "2x3", "x2", "×2",
     "A1c:", "H2-", "“The", "therapy.”", "L4-5", "l4-l5", "#60", "CM16-0221348"],
)  # fmt: skip
def test_words_clean_text_prints(word: str) -> None:
    assert clean_word(word)


@pytest.mark.parametrize(
    "word", ["Uphe1d", "1O/14/2016", "#9O", "1eft", "years’and", "‘", "©", "{lidocaine", "_of"]
)
def test_words_ocr_garbled(word: str) -> None:
    assert not clean_word(word)


_CLEAN_WORDS = (
    " Her medications were Cyclobenzaprine 7.5mg and Norco 10/325mg (ICD9 844.9); flexion was"
    " 30°, and “The knee is worse” she said."
)


def test_a_clean_letter_printing_doses_and_quotes_reads_as_undamaged() -> None:
    text = A01.replace("twisted his left knee.", "twisted his left knee." + _CLEAN_WORDS)
    assert letter_damage(read_form(normalise(text))) == 0.0


def test_the_estimate_on_damaged_text_is_as_calibrated() -> None:
    # A dose with a decimal counts in the calibrated share (the thresholds on the estimate,
    # FAX_DAMAGE among them, were set with it): one word of the six.
    assert garbled_share("Her dose was 7.5mg and Uphe1d") == pytest.approx(2 / 6)
    text = A01.replace("twisted his left knee.", "twisted his 1eft knee." + _CLEAN_WORDS)
    assert letter_damage(read_form(normalise(text))) > 0.0


def test_a_guideline_cut_on_a_comma_is_flagged_on_such_a_letter() -> None:
    """The check of a guideline ending on a comma runs only on a letter without OCR damage:
    it used to be skipped on a clean letter printing a dose as "7.5mg"."""
    text = A01.replace("twisted his left knee.", "twisted his left knee." + _CLEAN_WORDS)
    cut = text.replace(
        "Claims Administrator guideline: Decision based on MTUS Knee Complaints 2004, Section(s): "
        "Special\nStudies.",
        "Claims Administrator guideline: Decision based on MTUS Knee Complaints 2004, Section(s): "
        "Special\nStudies,",
    )
    assert cut != text
    record = extract(cut, backend="rules")
    assert record.metadata is not None
    evidence = record.metadata.evidence["items[0].claims_administrator_guideline"]
    assert evidence.status == "unverified"
