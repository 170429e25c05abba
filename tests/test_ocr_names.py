"""Item names OCR damaged, and letters clean text would be taken for damaged (issue 14).

- A model that reads a damaged name right ("Cervical pillow" where the scan printed "Cervica!
  pillow") gives the record the name, marked ``repaired``; the record used to keep the
  letter's damaged text under that status, wrong and unflagged.
- A name kept as the letter prints it (the rules engine, or a model that copied it) that
  holds a word OCR garbled ("#9O", "1eft", "Cervica!") is ``unverified``: the record cannot
  say what the letter names there. Both engines, both paths of the rules engine.
- Words clean text prints with letters and digits mixed ("7.5mg", "(ICD9", "30°", quotes)
  are no OCR damage: a clean letter printing them reads as undamaged, so the checks asked
  only of undamaged letters run on it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from imr_llm import extract
from imr_llm.evidence.check import check_values
from imr_llm.evidence.common import clean_word, letter_damage
from imr_llm.evidence.items import ocr_word_doubt, repaired_reading
from imr_llm.form import read_form
from imr_llm.inputs.normalise import normalise
from imr_llm.rules import strict
from tests.test_evidence import A01, LABEL, SERVICE_0, quoted, sub_after


@pytest.mark.parametrize(
    ("answer", "letter", "kept"),
    [
        ("Cervical pillow", "Cervica! pillow", "Cervical pillow"),
        ("MRI of the left knee", "MRl of the 1eft knee", "MRI of the left knee"),
        ("Norco 10/325mg #90", "Norco 10/325mg #9O", "Norco 10/325mg #90"),
        ("Clonazepam 1mg #60", "Clonazepam img #60", "Clonazepam 1mg #60"),
        ("Cold therapy unit", "Cold thérapy unit", "Cold therapy unit"),
        ("Fluoroscopic guidance", "Fluoroscopic guídonce", "Fluoroscopic guidance"),
        ("Lumbar MRI", "Lumbar MRl ~", "Lumbar MRI"),
        # The letter's wording stays: words the answer adds, drops or changes are no repair.
        ("MRI of the left shoulder", "MRI of left shoulder", "MRI of left shoulder"),
        ("Acupuncture sessions", "Acupuncture session", "Acupuncture session"),
        ("mri OF THE LEFT KNEE", "MRI of the left knee", "MRI of the left knee"),
        ("12 sessions of aquatic therapy", "Aquatic therapy, 12 sessions",
         "Aquatic therapy, 12 sessions"),
    ],
)  # fmt: skip
def test_the_repaired_reading_takes_the_answers_word_only_where_ocr_damaged_the_letters(
    answer: str, letter: str, kept: str
) -> None:
    assert repaired_reading(answer, letter) == kept


def _checked_item(text: str, data: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    data = copy.deepcopy(data)
    checked = check_values(data, read_form(normalise(text)), quotes=True)
    return data["items"][0], checked


def test_a_model_reading_a_damaged_name_right_gives_the_record_its_reading() -> None:
    text = sub_after(A01, "set forth below", SERVICE_0, "MRl of the 1eft knee with0ut contrast")
    item, checked = _checked_item(text, quoted(LABEL))
    assert checked.errors == []
    assert item["service"] == SERVICE_0  # was the letter's "MRl of the 1eft knee with0ut ..."
    assert checked.evidence["items[0].service"].status == "repaired"


def test_a_model_copying_a_damaged_name_leaves_it_unverified() -> None:
    damaged = "MRI of the 1eft knee without contrast"
    text = sub_after(A01, "set forth below", SERVICE_0, damaged)
    data = copy.deepcopy(LABEL)
    data["items"][0]["service"] = damaged
    item, checked = _checked_item(text, quoted(data))
    assert item["service"] == damaged
    evidence = checked.evidence["items[0].service"]
    assert evidence.status == "unverified"
    assert "OCR damaged ('1eft')" in evidence.note


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize(
    "damaged",
    ["MRI of the 1eft knee without contrast", "MRI of the left knee without contrast #9O",
     "Cervica! MRI of the left knee without contrast"],
)  # fmt: skip
def test_the_rules_engine_flags_a_name_holding_a_word_ocr_garbled(damaged: str, fast: bool) -> None:
    text = sub_after(A01, "set forth below", SERVICE_0, damaged)
    if fast:
        record = extract(text, backend="rules")
    else:
        with strict.tolerant_only():
            record = extract(text, backend="rules")
    assert record.items[0].service == damaged
    assert record.metadata is not None
    assert record.metadata.evidence["items[0].service"].status == "unverified"
    assert record.metadata.needs_review


def test_a_clean_name_with_a_dose_is_exact() -> None:
    name = "Cyclobenzaprine 7.5mg #60 (ICD9 724.2), 2x3 weeks"
    text = sub_after(A01, "set forth below", SERVICE_0, name)
    record = extract(text, backend="rules")
    assert record.items[0].service == name
    assert record.metadata is not None
    assert record.metadata.evidence["items[0].service"].status == "exact"
    assert not record.metadata.needs_review
    assert ocr_word_doubt(name) == ""


@pytest.mark.parametrize(
    "word",
    ["7.5mg", "10/325mg", "320.5/30/16mg", "120grams", "30°,", "(ICD9", "2x3", "x2", "×2",
     "A1c:", "H2-", "“The", "therapy.”", "L4-5", "#60", "CM16-0221348"],
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
