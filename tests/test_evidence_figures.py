"""The evidence figures issue 7 asks for, held at the level reached, so no change undoes them.

The gold oracle is scripted, so ``benchmarks/evidence_oracle.py`` gives the same figures on
every run: these tests run it over every gold letter in every rendering and mode, and over the
real letters of ``../shared/corpus`` (skipped when it is absent), and assert the figures it
reached when they were written. They measure the pipeline against scripted answers, never a
model. A figure that improves may be tightened here; one that drops fails the suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imr_llm.testing.oracle import CLASSIC_MISTAKE_KINDS, REFLOW_RENDERINGS
from tests.conftest import CORPUS, REPO, load_benchmark, requires_corpus

#: The renderings and mistakes these figures were reached on (issue 7). Re-flowed text and the
#: wider mistakes of issue 14 have their own figures (``--summary``) and targets to reach.
HELD_KINDS = CLASSIC_MISTAKE_KINDS


def _held_renderings(bench: Any) -> list[str]:
    return [r for r in bench.RENDERINGS if r not in REFLOW_RENDERINGS]


@pytest.fixture(scope="module")
def gold() -> dict[str, Any]:
    bench = load_benchmark("evidence_oracle")
    return bench.run_benchmark(
        _held_renderings(bench), cascade_renderings=("ocr",), kinds=HELD_KINDS
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    bench = load_benchmark("evidence_oracle")
    view = bench.corpus_as_gold(CORPUS, tmp_path_factory.mktemp("corpus") / "gold")
    return bench.run_benchmark(
        list(bench.CORPUS_RENDERINGS), gold=view, cascade_renderings=("ocr",), kinds=HELD_KINDS
    )


#: Letters flagged needs_review with perfect seen answers, at most, per rendering. The gold set
#: has 14 letters printed without a header (the seed variant); re-rendered raw or OCR'd they
#: lose the seed's double spacing and read exactly like a letter whose header the scan lost,
#: so their header values are flagged missing (issue 14, class 5). On mild OCR, a licensure
#: list holding words that read as no state is flagged too, never passed over (a state the OCR
#: lost looks the same): gB09 ("Massachusetts ~ aoe", scan speckle). The 2013 notices add
#: values OCR damaged at their places: noise-light gN06's reviewer sentence ("licensed to
#: practice inColifornia"), ocr gN02's UR denial date ("19/4/2013") and gN04's assignment
#: sentence.
#: Two written letters with a header state no age (gA12) or sex (gB08): real letters with a
#: header always state both, so a null there is flagged (a summary sentence lost): +2 each.
#: On noise-light, gB07's partly certified request has its wording damaged past reading, so the
#: answer's original request cannot be checked against the letter and is left unverified.
GOLD_FLAGGED = {"layout": 2, "raw": 16, "noise-light": 6, "ocr": 21}
#: On the corpus's mild OCR, 3 of 25: values whose place the OCR damaged (a guideline ending in
#: debris, a header value unreadable), which a person must look at whatever the answer.
CORPUS_FLAGGED = {"layout": 0, "raw": 0, "ocr": 3}


#: Renderings whose text is the letter's own, undamaged.
CLEAN = ("layout", "raw", "reflow60", "reflow100")


def _check_perfect_answers(report: dict[str, Any], flagged: dict[str, int]) -> None:
    for rendering, by_mode in report["results"].items():
        for mode in ("tidy", "seen"):
            r = by_mode[mode]
            where = f"{rendering}/{mode}"
            assert r["with_record"] == r["letters"], where
            assert r["item_f1"] >= 0.999, where
            if mode == "tidy" and rendering not in CLEAN:
                # A tidy answer gives the clean label's service; where OCR changed a digit the
                # letter prints ("#9O" read "#30") the count is the letter's, so the tidy
                # answer is re-asked (issue 14, class 8). The faithful ``seen`` answer is not.
                continue
            assert r["requests_per_letter"] <= 1.0, where
            assert r["correct_first_rejected"] == 0, where
        if rendering in flagged:
            assert by_mode["seen"]["needs_review"] <= flagged[rendering], rendering


def _check_noisy(report: dict[str, Any]) -> None:
    for rendering, by_mode in report["results"].items():
        noisy = by_mode["noisy"]
        assert noisy["with_record"] == noisy["letters"], rendering
        assert noisy["injected"] > 0, rendering
        # No injected mistake ends in a record unflagged; no correct first answer is re-asked.
        assert noisy["slipped_unflagged"] == 0, rendering
        assert noisy["caught_unfixed"] == 0, rendering
        assert noisy["correct_first_rejected"] == 0, rendering


def test_gold_perfect_answers(gold: dict[str, Any]) -> None:
    _check_perfect_answers(gold, GOLD_FLAGGED)
    assert gold["results"]["ocrfax"]["seen"]["item_f1"] >= 0.95


def test_gold_noisy_answers(gold: dict[str, Any]) -> None:
    _check_noisy(gold)
    # On clean text every injected mistake is caught and fixed, not merely flagged.
    for rendering in ("layout", "raw", "noise-light", "ocr"):
        assert gold["results"][rendering]["noisy"]["slipped_flagged"] == 0, rendering


def test_gold_cascade_on_mild_ocr(gold: dict[str, Any]) -> None:
    c = gold["cascade"]["ocr"]
    # Of 37: the model is the expensive stage. The 14 headerless letters and gB09 are flagged
    # (see GOLD_FLAGGED).
    assert c["rules_unflagged"] >= 20
    assert c["rules_unflagged_all_correct_faithful"] == c["rules_unflagged"]
    assert c["no_record"] == 0


@requires_corpus
def test_corpus_perfect_answers(corpus: dict[str, Any]) -> None:
    _check_perfect_answers(corpus, CORPUS_FLAGGED)


@requires_corpus
def test_corpus_noisy_answers(corpus: dict[str, Any]) -> None:
    _check_noisy(corpus)


@requires_corpus
def test_corpus_cascade_on_mild_ocr(corpus: dict[str, Any]) -> None:
    c = corpus["cascade"]["ocr"]
    assert c["rules_unflagged"] >= 20  # of 25
    assert c["rules_unflagged_all_correct_faithful"] == c["rules_unflagged"]


def test_figures_say_they_are_not_model_quality(gold: dict[str, Any]) -> None:
    assert "not from a model" in gold["answers_from"]
    assert Path(REPO / "benchmarks" / "evidence_oracle.py").is_file()
