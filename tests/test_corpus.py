"""The rules engine against the real public letters in ../shared/corpus (skipped when absent).

Targets from the foundation issue: on ``text-layout`` and ``text-raw`` at least 95% of letters
with every contract field right, and item outcome F1 >= 0.99 against ``corpus/labels``.
Long texts are compared after :func:`~imr_llm.form.text.comparison_key`, because plain pdftotext
drops the hyphen of a word broken across lines ("anti-\\ndepressants" -> "antidepressants").
"""

from __future__ import annotations

import json

import pytest

from imr_llm import ImrError, extract
from imr_llm.form.text import comparison_key
from tests.conftest import CORPUS, requires_corpus


def _same(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return comparison_key(a) == comparison_key(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _outcome_f1(pairs: list[tuple[list[str], list[str]]]) -> float:
    """Micro F1 over (position, outcome) pairs: a missed or extra item counts against it."""
    tp = fp = fn = 0
    for got, want in pairs:
        got_set = set(enumerate(got))
        want_set = set(enumerate(want))
        tp += len(got_set & want_set)
        fp += len(got_set - want_set)
        fn += len(want_set - got_set)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@requires_corpus
@pytest.mark.parametrize("rendering", ["text-layout", "text-raw"])
def test_rules_engine_meets_targets(rendering: str) -> None:
    labels = sorted((CORPUS / "labels").glob("*.json"))
    assert labels
    all_right = 0
    pairs: list[tuple[list[str], list[str]]] = []
    wrong: list[str] = []
    for label_path in labels:
        label = json.loads(label_path.read_text())
        text = (CORPUS / rendering / f"{label_path.stem}.txt").read_text()
        want = [item["outcome"] for item in label["items"]]
        try:
            got_record = extract(text, backend="rules").contract_dict()
        except ImrError as exc:
            wrong.append(f"{label_path.stem}: {exc}")
            pairs.append(([], want))
            continue
        pairs.append(([item["outcome"] for item in got_record["items"]], want))
        if _same(got_record, label):
            all_right += 1
        else:
            wrong.append(label_path.stem)
    share = all_right / len(labels)
    assert share >= 0.95, f"{share:.0%} all-right; wrong: {wrong}"
    assert _outcome_f1(pairs) >= 0.99


@requires_corpus
@pytest.mark.parametrize("rendering", ["text-ocr", "text-ocrfax"])
def test_ocr_renderings_give_a_record_or_a_typed_error(rendering: str) -> None:
    """OCR'd letters are not a target for the rules engine, but must never crash it."""
    for path in sorted((CORPUS / rendering).glob("*.txt")):
        try:
            record = extract(path.read_text(), backend="rules")
        except ImrError:
            continue
        assert record.items
