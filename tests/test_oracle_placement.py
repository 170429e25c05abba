"""The oracle's mistakes of place and omission, and what the model path does with them.

A model's answer can hold the letter's own values and still be wrong: a rationale quoted to
an earlier sentence's end or from its second sentence, an item's two guidelines or two items'
services exchanged, a value the letter states left out, a year misread. A probe of the model
path (the test server answering each corpus letter with one such mistake on every attempt)
found each one caught; these tests keep the oracle able to inject them, and the model path
catching them. The answers are the test server's (the gold oracle), never a model's.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import openai
import pytest

from imr_llm import extract
from imr_llm.evidence.anchors import anchor_quote
from imr_llm.form.text import collapse_ws, squash
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.oracle import (
    MISTAKE_KINDS,
    PLACEMENT_MISTAKE_KINDS,
    WIDER_MISTAKE_KINDS,
    Change,
    GoldResponder,
    Injection,
    inject_mistake,
    seen_letter,
)
from tests.conftest import load_benchmark

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold"
#: Letters with several items (services and guidelines to exchange) and long rationales.
LETTERS = ("gA01", "gB03", "gB07", "gA06")
RENDERINGS = ("layout", "ocr")


def _label(name: str) -> dict[str, Any]:
    return json.loads((GOLD / "labels" / f"{name}.json").read_text(encoding="utf-8"))


def _rendering(rendering: str, name: str) -> str:
    folder = GOLD / "letters" if rendering == "layout" else GOLD / "renderings" / rendering
    return (folder / f"{name}.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def base() -> GoldResponder:
    return GoldResponder.from_gold_dir(GOLD, list(LETTERS), renderings=list(RENDERINGS))


def _injections(base: GoldResponder, kind: str) -> list[tuple[str, str, dict, Injection]]:
    out = []
    for seed in range(3):
        for name in LETTERS:
            for rendering in RENDERINGS:
                text = _rendering(rendering, name)
                seen = base.seen(text)
                made = inject_mistake(
                    seen.answer, seen, random.Random(f"{seed}{name}{rendering}"), name,
                    rendering, [kind], 4, text,
                )  # fmt: skip
                if made is not None:
                    out.append((name, rendering, made[0], made[1]))
    return out


def test_the_kinds_are_drawn_with_the_others() -> None:
    assert set(PLACEMENT_MISTAKE_KINDS) <= set(MISTAKE_KINDS)
    assert not set(PLACEMENT_MISTAKE_KINDS) & set(WIDER_MISTAKE_KINDS)
    assert MISTAKE_KINDS[-len(PLACEMENT_MISTAKE_KINDS) :] == PLACEMENT_MISTAKE_KINDS


@pytest.mark.parametrize("kind", PLACEMENT_MISTAKE_KINDS)
def test_each_kind_makes_the_answer_wrong_as_it_says(base: GoldResponder, kind: str) -> None:
    made = _injections(base, kind)
    assert len(made) >= 6, f"{kind} applied to too few test letters"
    for name, rendering, wrong, injection in made:
        where = f"{kind} {name}/{rendering}"
        right = base.seen(_rendering(rendering, name)).answer
        label = _label(name)
        assert injection.kind == kind and wrong != right, where
        items, right_items = wrong["items"], right["items"]
        if kind in ("quote_ends_early", "quote_starts_late"):
            (change,) = injection.changes
            k = int(change.path[len("items[") : change.path.index("]")])
            short, full = change.wrong, change.right
            assert len(short) < len(full) and short in full, where
            if kind == "quote_ends_early":
                assert full.startswith(short) and short.endswith("."), where
            else:
                assert full.endswith(short) and short[:1].isupper(), where
            assert items[k]["rationale"] == anchor_quote(short, 4), where
            assert items[k]["rationale"] != right_items[k]["rationale"], where
        elif kind == "guidelines_exchanged":
            first, second = injection.changes
            k = int(first.path[len("items[") : first.path.index("]")])
            assert first.wrong == second.right and second.wrong == first.right, where
            assert squash(first.wrong) != squash(first.right), where
            assert items[k]["claims_administrator_guideline"] == right_items[k]["maximus_guideline"]
            assert items[k]["maximus_guideline"] == right_items[k]["claims_administrator_guideline"]
        elif kind == "services_exchanged":
            first, second = injection.changes
            k = int(first.path[len("items[") : first.path.index("]")])
            assert items[k]["service"] == right_items[k + 1]["service"], where
            assert items[k + 1]["service"] == right_items[k]["service"], where
            assert squash(items[k]["service"]) != squash(items[k + 1]["service"]), where
            # The outcomes stay where they were: the services moved, not the items.
            assert [i["outcome"] for i in items] == [i["outcome"] for i in right_items], where
        elif kind == "value_left_null":
            (change,) = injection.changes
            assert change.wrong in (None, []) and change.right not in (None, []), where
            head, _, tail = change.path.partition(".")
            true = label[head][tail] if tail else label[head]
            assert true == change.right or rendering != "layout", where
        else:  # year_off
            (change,) = injection.changes
            got, true = (dt.date.fromisoformat(d) for d in (change.wrong, change.right))
            assert abs(got.year - true.year) == 1 and (got.month, got.day) == (true.month, true.day)
            assert wrong[change.path] == change.wrong and label[change.path] == change.right


def test_verdicts_on_hand_made_records() -> None:
    bench = load_benchmark("evidence_oracle")
    full = "First sentence of it. Second sentence of it. The request is not medically necessary."
    short = "First sentence of it. Second sentence of it."
    gold = {
        "date_of_injury": "2015-03-02",
        "patient": {"age": 40, "sex": "male"},
        "reviewer": {"licensure_states": ["Ohio"], "specialties": ["Neurology"]},
        "items": [
            {"service": "Aquatic therapy, 12 sessions", "rationale": full,
             "claims_administrator_guideline": "Decision based on MTUS Knee Complaints 2004.",
             "maximus_guideline": "Decision based on Non-MTUS Citation ODG, Knee and Leg."},
            {"service": "Norco 10/325mg #90", "rationale": "Another one altogether, at length."},
        ],
    }  # fmt: skip

    def verdict(kind: str, changes: tuple[Change, ...], record: dict, *, flagged: bool = False,
                rejected: bool = False) -> str:  # fmt: skip
        injection = Injection("x", "layout", kind, changes)
        return bench.classify(injection, record, flagged, rejected, gold, {})

    def edited(path: str, value: Any) -> dict:
        record = json.loads(json.dumps(gold))
        head, _, rest = path.partition(".")
        if head.startswith("items["):
            record["items"][int(head[6:-1])][rest] = value
        elif rest:
            record[head][rest] = value
        else:
            record[head] = value
        return record

    cut = (Change("items[0].rationale", short, full),)
    assert verdict("quote_ends_early", cut, edited("items[0].rationale", short)) == (
        "slipped_unflagged"
    )
    assert verdict("quote_ends_early", cut, gold, rejected=True) == "caught_fixed"
    assert verdict("quote_ends_early", cut, edited("items[0].rationale", short),
                   flagged=True) == "slipped_flagged"  # fmt: skip
    guidelines = (
        gold["items"][0]["claims_administrator_guideline"],
        gold["items"][0]["maximus_guideline"],
    )
    exchanged = (Change("items[0].claims_administrator_guideline", guidelines[1], guidelines[0]),
                 Change("items[0].maximus_guideline", guidelines[0], guidelines[1]))  # fmt: skip
    swapped = edited("items[0].claims_administrator_guideline", guidelines[1])
    swapped["items"][0]["maximus_guideline"] = guidelines[0]
    assert verdict("guidelines_exchanged", exchanged, swapped) == "slipped_unflagged"
    assert verdict("guidelines_exchanged", exchanged, gold) == "no_effect"
    services = ("Aquatic therapy, 12 sessions", "Norco 10/325mg #90")
    moved = (Change("items[0].service", services[1], services[0]),
             Change("items[1].service", services[0], services[1]))  # fmt: skip
    one_moved = edited("items[0].service", services[1])
    assert verdict("services_exchanged", moved, one_moved) == "slipped_unflagged"
    assert verdict("services_exchanged", moved, gold, rejected=True) == "caught_fixed"
    left_out = (Change("reviewer.specialties", [], ["Neurology"]),)
    assert verdict("value_left_null", left_out, edited("reviewer.specialties", []),
                   flagged=True) == "slipped_flagged"  # fmt: skip
    assert verdict("value_left_null", left_out, gold, rejected=True) == "caught_fixed"
    age = (Change("patient.age", None, 40),)
    assert verdict("value_left_null", age, edited("patient.age", None)) == "slipped_unflagged"
    year = (Change("date_of_injury", "2016-03-02", "2015-03-02"),)
    assert verdict("year_off", year, edited("date_of_injury", "2016-03-02")) == (
        "slipped_unflagged"
    )
    assert verdict("year_off", year, gold, rejected=True) == "caught_fixed"


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_the_model_path_catches_every_kind(rendering: str) -> None:
    """Each kind on every test letter it applies to (rate 1): none slips into a record
    unflagged, and on clean text each is re-asked and fixed (or was no mistake in the
    record, which keeps the letter's own text)."""
    bench = load_benchmark("evidence_oracle")
    report = bench.run_benchmark(
        renderings=[rendering], modes=["noisy"], letters=list(LETTERS), noise_rate=1.0,
        kinds=list(PLACEMENT_MISTAKE_KINDS), cascade_renderings=(), sweep=True,
    )  # fmt: skip
    by_kind = report["sweep"][rendering]
    assert set(by_kind) == set(PLACEMENT_MISTAKE_KINDS)
    for kind, figures in by_kind.items():
        assert figures["injected"] >= 2, kind
        assert figures["slipped_unflagged"] == 0, (kind, figures)
        if rendering == "layout":
            assert figures["caught_fixed"] + figures["no_effect"] == figures["injected"], kind


def _asked(text: str, first: dict[str, Any], then: dict[str, Any]) -> tuple[Any, int]:
    """The model path's record of ``text``, the test server answering ``first`` and then
    ``then`` (the gold oracle, not a model), and how many requests it took."""
    with FakeOpenAIServer() as server:
        server.enqueue(Step.answer(first))
        server.enqueue(Step.answer(then))
        client = openai.OpenAI(base_url=server.base_url, api_key="test-key")
        record = extract(text, backend="llm", client=client)
        return record, len(server.chat_requests)


@pytest.mark.parametrize("name", ["seed-000", "gA14"])
def test_a_null_injury_date_the_summary_states_is_asked_again(name: str) -> None:
    """A letter without the header's Date of Injury dates the injury in its case summary,
    which the rules engine reads exactly ("sustained an industrial injury on 6/19/07"); an
    answer leaving it null was kept, flagged "missing", where a re-ask gives it."""
    text = _rendering("layout", name)
    label = _label(name)
    assert label["date_of_injury"] and "Date of Injury" not in text
    right = seen_letter(text, label).answer
    record, requests = _asked(text, {**right, "date_of_injury": None}, right)
    assert requests == 2
    assert record.date_of_injury.isoformat() == label["date_of_injury"]
    assert record.metadata.evidence["date_of_injury"].status == "exact"


@pytest.mark.parametrize(
    ("name", "key", "path"),
    [("gA14", "patient_age", "patient.age"), ("gA07", "specialties", "reviewer.specialties"),
     ("seed-003", "licensure_states", "reviewer.licensure_states")],
)  # fmt: skip
def test_a_value_left_out_of_a_damaged_letter_is_asked_again(
    name: str, key: str, path: str
) -> None:
    """On fax-quality text an item's structure is read through damage, so its mismatches are
    flagged rather than re-asked; an answer leaving out an age, the specialties or the states
    that the letter reads was flagged the same way. No misreading explains that null: it is
    asked again, and the re-ask fills it."""
    text = _rendering("ocr", name)
    label = _label(name)
    right = seen_letter(text, label).answer
    empty: Any = [] if isinstance(right[key], list) else None
    record, requests = _asked(text, {**right, key: empty}, right)
    assert requests == 2, path
    head, _, tail = path.partition(".")
    got = record.contract_dict()[head][tail]
    assert got == label[head][tail] or (
        isinstance(got, list) and [squash(x) for x in got] == [squash(x) for x in right[key]]
    ), got
    assert collapse_ws(str(got)) != collapse_ws(str(empty))
