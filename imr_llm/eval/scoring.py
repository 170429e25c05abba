"""Score one extracted record against its gold label, field by field.

- Short fields (case number, dates, priority, age, sex) are right when equal after
  normalisation; a value where gold is null is a *hallucination*, a null where gold has a value
  is a *miss*, counted apart from plain wrong values.
- List fields (states, specialties) are compared as sets: precision, recall, F1.
- Items are aligned to gold by Hungarian matching (scipy) on service similarity, then scored:
  outcome accuracy, and a normalised similarity for the long texts. Item precision/recall say
  how many items were found at all.
- A long text counts as right when its similarity to gold is at least ``TEXT_MATCH``: the
  record is faithful to its input, so an OCR'd letter's rationale carries the OCR damage and can
  never equal the clean label exactly.
- Given the rendering's text, a long value (service, original request, both guidelines,
  rationale) that is not the label's is scored a second way: against the rendering's own text
  at its place (the label's passage placed in the rendering by the gold oracle's word alignment,
  :func:`imr_llm.testing.oracle.seen_letter`, the notion of "faithful" the evidence and damage
  benchmarks use). The record contract asks for exactly that copy, OCR damage included, so such
  a *faithful* value is right; a value is wrong only when it is neither. The per-field results
  stay against the label (a field whose only misses are faithful copies is of kind
  ``faithful``), so accuracy figures and baselines keep their meaning.
- Beside the per-field results, every *value* of the record is scored on its own
  (:class:`ValueResult`): each scalar, each state or specialty, each field of each matched item,
  each extra or missing item. A value names the evidence paths of the extracted record that
  vouch for it, so a report can tell flagged (``unverified``) values from the rest
  (:func:`flag_counts`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..form.text import comparison_key, similarity, squash
from ..record.models import CONTRACT_FIELDS, ITEM_CONTRACT_FIELDS

#: Similarity at which a long text (service, guideline, rationale) counts as right.
TEXT_MATCH = 0.95
#: Below this service similarity an item pair is not a match at all.
MIN_ITEM_MATCH = 0.5

#: The contract's top-level scalars, then the patient's: scored by equality.
SCALAR_FIELDS: tuple[str, ...] = (
    *(f for f in CONTRACT_FIELDS if f not in ("reviewer", "patient", "items")),
    "patient.age",
    "patient.sex",
)
LIST_FIELDS: tuple[str, ...] = ("reviewer.licensure_states", "reviewer.specialties")
#: Every item field but the outcome is text, scored by similarity.
ITEM_TEXT_FIELDS: tuple[str, ...] = tuple(f for f in ITEM_CONTRACT_FIELDS if f != "outcome")
#: Every field a letter is scored on; "items.<field>" are per matched item.
ALL_FIELDS: tuple[str, ...] = (
    *SCALAR_FIELDS,
    *LIST_FIELDS,
    "items.count",
    "items.outcome",
    *(f"items.{f}" for f in ITEM_TEXT_FIELDS),
)


def _get(record: dict[str, Any], path: str) -> Any:
    head, _, tail = path.partition(".")
    value = record.get(head)
    return value.get(tail) if tail and isinstance(value, dict) else value


def _norm_list(values: list[str] | None) -> set[str]:
    return {squash(v) for v in values or []}


def text_similarity(a: str | None, b: str | None) -> float:
    """Null-aware similarity of two long texts (both null: 1; one null: 0)."""
    if a is None and b is None:
        return 1.0
    if a is None or b is None:
        return 0.0
    return similarity(comparison_key(a), comparison_key(b))


@dataclass
class FieldResult:
    """One field of one letter: right or not, and how it went wrong."""

    correct: bool
    kind: str  # correct | wrong | missed | hallucinated | error
    score: float = 1.0  # similarity or F1, for fields with a graded score


@dataclass(frozen=True)
class ValueResult:
    """One value of an extracted record (or one the record should have had), right or not.

    ``keys`` are the evidence paths (``metadata.evidence``) of the *extracted* record that vouch
    for the value: ``("decision_date",)``, ``("items[2].rationale",)``; empty keys can never be
    flagged (a gold item the record left out has no evidence of its own). ``faithful``: right
    only as the rendering's own text at its place, not as the clean label (a long value that
    copies the rendering's OCR damage, as the contract asks).
    """

    field: str  # the scoring field it belongs to ("case_number", "items.rationale", "items")
    keys: tuple[str, ...]
    correct: bool
    faithful: bool = False


#: The four ways a value can end: right or wrong, flagged (its evidence unverified) or not.
FLAG_COUNT_KEYS: tuple[str, ...] = (
    "right_unflagged",
    "wrong_unflagged",
    "right_flagged",
    "wrong_flagged",
)
#: Of the right values, those right only as the rendering's own text (faithful copies).
FAITHFUL_COUNT_KEYS: tuple[str, ...] = ("faithful_unflagged", "faithful_flagged")


def flag_counts(values: list[ValueResult], unverified: Collection[str]) -> dict[str, int]:
    """Count ``values`` as right or wrong, flagged or not (flagged: any key is unverified); and,
    among the right ones, the faithful copies (:data:`FAITHFUL_COUNT_KEYS`)."""
    out = dict.fromkeys((*FLAG_COUNT_KEYS, *FAITHFUL_COUNT_KEYS), 0)
    for value in values:
        flagged = "flagged" if any(key in unverified for key in value.keys) else "unflagged"
        out[f"{'right' if value.correct else 'wrong'}_{flagged}"] += 1
        if value.faithful:
            out[f"faithful_{flagged}"] += 1
    return out


class Rendering:
    """The rendering's own text at each long value's place, for the second way of scoring.

    Placed by the gold oracle's word alignment (:func:`imr_llm.testing.oracle.seen_letter`),
    on first need only (most cases have every long value equal to the label). A passage the
    alignment cannot place has no faithful copy: only the label is right there.
    """

    def __init__(self, text: str | None, label: dict[str, Any]) -> None:
        self.text = text
        self.label = label
        self._passages: dict[str, str | None] | None = None

    def passage(self, path: str) -> str | None:
        """The rendering's text at ``items[k].<field>`` (``k`` the gold item), or None."""
        if self.text is None:
            return None
        if self._passages is None:
            from ..testing.oracle import seen_letter  # numpy, rapidfuzz: only when needed

            seen = seen_letter(self.text, self.label)
            self._passages = {
                key: (None if found.fallback else found.text)
                for key, found in seen.passages.items()
            }
        return self._passages.get(path)

    def faithful(self, got: str | None, path: str) -> bool:
        """Whether ``got`` is the rendering's own text at ``path`` (similarity >= TEXT_MATCH)."""
        passage = self.passage(path)
        return (
            got is not None and passage is not None and text_similarity(got, passage) >= TEXT_MATCH
        )


@dataclass
class LetterScore:
    """Everything measured for one (letter, rendering) case."""

    fields: dict[str, FieldResult] = field(default_factory=dict)
    item_precision: float = 0.0
    item_recall: float = 0.0
    outcome_accuracy: float = 0.0
    text_similarity: float = 0.0
    diffs: list[dict[str, Any]] = field(default_factory=list)
    values: list[ValueResult] = field(default_factory=list)

    @property
    def field_accuracy(self) -> float:
        return sum(r.correct for r in self.fields.values()) / len(self.fields)

    @property
    def all_right(self) -> bool:
        return all(r.correct for r in self.fields.values())

    @property
    def item_f1(self) -> float:
        p, r = self.item_precision, self.item_recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for result in self.fields.values():
            out[result.kind] = out.get(result.kind, 0) + 1
        return out


def _scalar(got: Any, want: Any) -> FieldResult:
    if got == want:
        return FieldResult(True, "correct")
    if want is None:
        return FieldResult(False, "hallucinated", 0.0)
    if got is None:
        return FieldResult(False, "missed", 0.0)
    return FieldResult(False, "wrong", 0.0)


def _set_f1(got: list[str] | None, want: list[str] | None) -> tuple[FieldResult, float, float]:
    g, w = _norm_list(got), _norm_list(want)
    if not g and not w:
        return FieldResult(True, "correct"), 1.0, 1.0
    tp = len(g & w)
    precision = tp / len(g) if g else 0.0
    recall = tp / len(w) if w else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if g == w:
        return FieldResult(True, "correct", 1.0), precision, recall
    kind = "missed" if not g else "hallucinated" if not w else "wrong"
    return FieldResult(False, kind, f1), precision, recall


def align_items(got: list[dict], want: list[dict]) -> list[tuple[int, int, float]]:
    """Pairs (got index, gold index, service similarity) from Hungarian matching."""
    if not got or not want:
        return []
    scores = np.array(
        [[text_similarity(g["service"], w["service"]) for w in want] for g in got], dtype=float
    )
    rows, cols = linear_sum_assignment(scores, maximize=True)
    return [
        (int(r), int(c), float(scores[r, c]))
        for r, c in zip(rows, cols, strict=True)
        if scores[r, c] >= MIN_ITEM_MATCH
    ]


def _list_values(name: str, got: list[str] | None, want: list[str] | None) -> list[ValueResult]:
    """Each extracted element (right when gold has it), then each gold element the list lacks."""
    wanted, have = _norm_list(want), _norm_list(got)
    values = [
        ValueResult(name, (f"{name}[{k}]", name), squash(v) in wanted)
        for k, v in enumerate(got or [])
    ]
    values += [ValueResult(name, (name,), False) for _ in wanted - have]
    return values


def _item_values(
    got_items: list[dict], want_items: list[dict], matched: dict[int, int], rendering: Rendering
) -> list[ValueResult]:
    """Each field of each matched item, then each extra item and each missing one as a whole."""
    values: list[ValueResult] = []
    for c, gold_item in enumerate(want_items):
        r = matched.get(c)
        if r is None:
            values.append(ValueResult("items", ("items",), False))
            continue
        got_item = got_items[r]
        for name in ITEM_CONTRACT_FIELDS:
            faithful = False
            if name == "outcome":
                right = got_item.get(name) == gold_item.get(name)
            else:
                right = text_similarity(got_item.get(name), gold_item.get(name)) >= TEXT_MATCH
                if not right and rendering.faithful(got_item.get(name), f"items[{c}].{name}"):
                    right = faithful = True
            values.append(ValueResult(f"items.{name}", (f"items[{r}].{name}",), right, faithful))
    for r in sorted(set(range(len(got_items))) - set(matched.values())):
        keys = (f"items[{r}]", *(f"items[{r}].{name}" for name in ITEM_CONTRACT_FIELDS))
        values.append(ValueResult("items", keys, False))
    return values


def score_record(
    got: dict[str, Any] | None, want: dict[str, Any], text: str | None = None
) -> LetterScore:
    """Score a contract-shaped ``got`` (None when extraction failed) against gold ``want``;
    with the rendering's ``text``, long values are also scored against the rendering's own
    text at their place (see :class:`Rendering`)."""
    out = LetterScore()
    rendering = Rendering(text, want)
    if got is None:
        for name in ALL_FIELDS:
            out.fields[name] = FieldResult(False, "error", 0.0)
        return out

    for name in SCALAR_FIELDS:
        result = _scalar(_get(got, name), _get(want, name))
        out.fields[name] = result
        out.values.append(ValueResult(name, (name,), result.correct))
        if not result.correct:
            out.diffs.append({"field": name, "got": _get(got, name), "gold": _get(want, name)})
    for name in LIST_FIELDS:
        result, _, _ = _set_f1(_get(got, name), _get(want, name))
        out.fields[name] = result
        out.values.extend(_list_values(name, _get(got, name), _get(want, name)))
        if not result.correct:
            out.diffs.append({"field": name, "got": _get(got, name), "gold": _get(want, name)})

    got_items, want_items = got.get("items") or [], want.get("items") or []
    pairs = align_items(got_items, want_items)
    out.item_precision = len(pairs) / len(got_items) if got_items else 0.0
    out.item_recall = len(pairs) / len(want_items) if want_items else 0.0
    count_ok = len(got_items) == len(want_items)
    out.fields["items.count"] = FieldResult(
        count_ok, "correct" if count_ok else "wrong", 1.0 if count_ok else 0.0
    )
    if not count_ok:
        out.diffs.append({"field": "items.count", "got": len(got_items), "gold": len(want_items)})

    matched = {c: r for r, c, _ in pairs}
    out.values.extend(_item_values(got_items, want_items, matched, rendering))
    outcomes_right = 0
    text_scores: dict[str, list[float]] = {f: [] for f in ITEM_TEXT_FIELDS}
    #: Per field, whether every value not equal to the label is a faithful copy.
    only_faithful: dict[str, bool] = dict.fromkeys(ITEM_TEXT_FIELDS, True)
    for c, gold_item in enumerate(want_items):
        r = matched.get(c)
        got_item = got_items[r] if r is not None else None
        if got_item is not None and got_item["outcome"] == gold_item["outcome"]:
            outcomes_right += 1
        elif got_item is not None:
            out.diffs.append(
                {
                    "field": f"items[{c}].outcome",
                    "got": got_item["outcome"],
                    "gold": gold_item["outcome"],
                }  # fmt: skip
            )
        for name in ITEM_TEXT_FIELDS:
            sim = text_similarity(got_item.get(name) if got_item else None, gold_item.get(name))
            text_scores[name].append(sim)
            if sim >= TEXT_MATCH:
                continue
            path = f"items[{c}].{name}"
            faithful = got_item is not None and rendering.faithful(got_item.get(name), path)
            only_faithful[name] = only_faithful[name] and faithful
            if got_item is not None:
                diff = {
                    "field": path,
                    "got": got_item.get(name),
                    "gold": gold_item.get(name),
                    "similarity": round(sim, 4),
                }
                if faithful:  # right after all: the rendering's own text at its place
                    diff["faithful"] = True
                    diff["rendering"] = rendering.passage(path)
                out.diffs.append(diff)
        if got_item is None:
            out.diffs.append({"field": f"items[{c}]", "got": None, "gold": gold_item["service"]})
    n = len(want_items)
    out.outcome_accuracy = outcomes_right / n if n else 1.0
    out.fields["items.outcome"] = FieldResult(
        outcomes_right == n and count_ok, "correct" if outcomes_right == n else "wrong",
        out.outcome_accuracy,
    )  # fmt: skip
    sims: list[float] = []
    for name in ITEM_TEXT_FIELDS:
        values = text_scores[name]
        mean = sum(values) / len(values) if values else 1.0
        sims.extend(values)
        ok = bool(values) and min(values) >= TEXT_MATCH and count_ok
        faithful = bool(values) and count_ok and only_faithful[name]
        kind = "correct" if ok else "faithful" if faithful else "wrong"
        out.fields[f"items.{name}"] = FieldResult(ok, kind, mean)
    out.text_similarity = sum(sims) / len(sims) if sims else 1.0
    return out
