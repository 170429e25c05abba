"""Scoring one record against gold: categories, set F1, Hungarian item alignment."""

from __future__ import annotations

import copy

from imr_llm.eval.scoring import TEXT_MATCH, align_items, score_record
from imr_llm.eval.stats import bootstrap, paired_change
from tests.conftest import gold_label


def test_perfect_record_scores_everything_right() -> None:
    gold = gold_label("gA06")
    score = score_record(copy.deepcopy(gold), gold)
    assert score.all_right and score.field_accuracy == 1.0
    assert score.item_f1 == 1.0 and score.outcome_accuracy == 1.0 and not score.diffs


def test_wrong_missed_and_hallucinated_are_told_apart() -> None:
    gold = gold_label("gA01")
    got = copy.deepcopy(gold)
    got["case_number"] = "CM16-0000000"  # wrong
    got["date_of_injury"] = None  # missed
    gold_no_age = copy.deepcopy(gold)
    gold_no_age["patient"]["age"] = None
    got["patient"]["age"] = 59  # hallucinated (gold null)
    score = score_record(got, gold_no_age)
    kinds = {name: r.kind for name, r in score.fields.items() if not r.correct}
    assert kinds == {
        "case_number": "wrong",
        "date_of_injury": "missed",
        "patient.age": "hallucinated",
    }
    assert not score.all_right


def test_list_fields_score_set_f1() -> None:
    gold = gold_label("gA06")
    got = copy.deepcopy(gold)
    states = gold["reviewer"]["licensure_states"]
    got["reviewer"]["licensure_states"] = list(reversed(states))  # order does not matter
    assert score_record(got, gold).fields["reviewer.licensure_states"].correct
    got["reviewer"]["licensure_states"] = states[:1]
    result = score_record(got, gold).fields["reviewer.licensure_states"]
    assert not result.correct
    assert result.score == 2 * 1 * (1 / len(states)) / (1 + 1 / len(states))


def test_items_are_aligned_by_service_not_position() -> None:
    gold = gold_label("gA06")
    got = copy.deepcopy(gold)
    got["items"] = list(reversed(got["items"]))
    pairs = align_items(got["items"], gold["items"])
    n = len(gold["items"])
    assert sorted((r, c) for r, c, _ in pairs) == [(r, n - 1 - r) for r in range(n)]
    score = score_record(got, gold)
    assert score.outcome_accuracy == 1.0 and score.item_f1 == 1.0


def test_a_missing_item_lowers_recall_and_a_flipped_outcome_accuracy() -> None:
    gold = gold_label("gA06")
    got = copy.deepcopy(gold)
    dropped = got["items"].pop(3)
    first = got["items"][0]
    first["outcome"] = "overturned" if first["outcome"] == "upheld" else "upheld"
    score = score_record(got, gold)
    n = len(gold["items"])
    assert score.item_precision == 1.0
    assert score.item_recall == (n - 1) / n
    assert score.outcome_accuracy == (n - 2) / n
    assert any(d["field"] == "items[3]" and d["gold"] == dropped["service"] for d in score.diffs)


def test_ocr_damaged_rationale_still_counts_as_right() -> None:
    gold = gold_label("gA01")
    got = copy.deepcopy(gold)
    text = got["items"][0]["rationale"]
    got["items"][0]["rationale"] = text.replace("e", "c", 2)
    score = score_record(got, gold)
    assert score.fields["items.rationale"].correct
    got["items"][0]["rationale"] = text[: len(text) // 2]
    assert score_record(got, gold).fields["items.rationale"].score < TEXT_MATCH


def test_failed_extraction_counts_every_field_as_error() -> None:
    score = score_record(None, gold_label("gA01"))
    assert score.field_accuracy == 0.0
    assert {r.kind for r in score.fields.values()} == {"error"}


def test_bootstrap_interval_brackets_the_mean() -> None:
    est = bootstrap([0.0, 1.0] * 20)
    assert est.low < est.mean == 0.5 < est.high
    assert bootstrap([1.0] * 5).low == 1.0


def test_paired_change_flags_any_drop_for_a_deterministic_engine() -> None:
    base = {f"c{i}": 1.0 for i in range(100)}
    now = {**base, "c7": 0.0}
    change = paired_change("all_right", base, now, deterministic=True)
    assert change.regressed and change.worse_cases == ["c7"]
    noisy = paired_change("all_right", base, now, deterministic=False)
    assert not noisy.regressed  # one letter in a hundred is within a model's noise
    assert not paired_change("all_right", base, dict(base), deterministic=True).regressed
