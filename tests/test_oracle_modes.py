"""The gold oracle's modes: tidy, seen (long values as the rendering writes them), noisy.

The oracle answers for the scripted test server; the evidence benchmark's figures are only as
good as its answers. Expectations here come from the rendering text itself (read with plain
string handling, not with the oracle's alignment), so a wrong alignment cannot vouch for itself.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from imr_llm.evidence.anchors import anchor_quote
from imr_llm.form.text import collapse_ws, squash
from imr_llm.testing.fake_openai import Step
from imr_llm.testing.oracle import (
    CLASSIC_MISTAKE_KINDS,
    INVENTED_SERVICES,
    GoldResponder,
    RenderingWords,
    align_passage,
    ideal_answer,
    text_key,
)
from tests.conftest import load_benchmark

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold"


def _rendering(rendering: str, name: str) -> str:
    path = GOLD / "letters" / f"{name}.txt"
    if rendering != "layout":
        path = GOLD / "renderings" / rendering / f"{name}.txt"
    return path.read_text(encoding="utf-8")


def _label(name: str) -> dict[str, Any]:
    return json.loads((GOLD / "labels" / f"{name}.json").read_text(encoding="utf-8"))


def _first_body(text: str) -> dict[str, Any]:
    """A request as the extractor sends it: the letter between <letter> tags."""
    return {
        "model": "fake-model",
        "messages": [
            {"role": "system", "content": "You extract structured data."},
            {"role": "user", "content": f"Extract the record.\n\n<letter>\n{text}\n</letter>"},
        ],
    }


REASK_TEXT = (
    "Validation Error found:\n1 validation error for LetterAnswer\n"
    "  Value error, case_number: 'CM16-0221349' is not written in the letter\n"
    "decision_date: 2016-12-06 is not a date written in the letter "
    "[type=value_error, input_type=LetterAnswer]\n"
    "    For further information visit https://errors.pydantic.dev/2.11/v/value_error\n"
    "Recall the function correctly, fix the errors"
)


def _reask_body(text: str, rejected: dict[str, Any]) -> dict[str, Any]:
    """The same request after instructor's re-ask (tools mode): the answer and the errors."""
    body = _first_body(text)
    body["messages"] += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "LetterAnswer", "arguments": json.dumps(rejected)},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": REASK_TEXT},
    ]
    return body


def _payload(step: Step | None) -> dict[str, Any]:
    assert step is not None and step.kind == "answer"
    return step.payload


@pytest.fixture(scope="module")
def base() -> GoldResponder:
    """Every letter in the clean and the OCR renderings (seen answers cached across tests)."""
    return GoldResponder.from_gold_dir(GOLD, renderings=["layout", "ocr", "noise-light"])


# --- tidy --------------------------------------------------------------------------------------


def test_tidy_is_the_ideal_answer_for_every_rendering(base: GoldResponder) -> None:
    tidy = base.derive("tidy")
    for name in ("gA01", "gB08"):
        for rendering in ("layout", "ocr"):
            answer = _payload(tidy(_first_body(_rendering(rendering, name))))
            assert answer == ideal_answer(_label(name))


def test_letters_are_found_by_their_text_whitespace_aside(base: GoldResponder) -> None:
    text = _rendering("ocr", "gA03")
    respaced = "\n\n".join(line + "   " for line in text.splitlines())
    assert text_key(respaced) == text_key(text)
    assert base.lookup(respaced) is not None
    assert base(_first_body(respaced)) is not None
    assert base(_first_body("Not a letter the oracle knows.")) is None
    # A prompt without <letter> tags: the oracle still finds the letter in it.
    untagged = {"messages": [{"role": "user", "content": f"Read this:\n{text}"}]}
    assert _payload(base(untagged)) == ideal_answer(_label("gA03"))


def test_unknown_mode_and_rate_are_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        GoldResponder({}, mode="sloppy")
    with pytest.raises(ValueError, match="noise_rate"):
        GoldResponder({}, mode="noisy", noise_rate=1.5)
    with pytest.raises(ValueError, match="kinds"):
        GoldResponder({}, mode="noisy", kinds=["typo"])


# --- seen ------------------------------------------------------------------------------------

#: Letters whose OCR rendering damages item headers ("Hemogiobin Alc", "Omeprazole 20mg #69").
SEEN_SERVICE_LETTERS = ("gB08", "gA12", "gB09", "gA07", "gB14")


@pytest.mark.parametrize("name", SEEN_SERVICE_LETTERS)
def test_seen_services_are_the_rendering_item_headers(base: GoldResponder, name: str) -> None:
    text = _rendering("ocr", name)
    label = _label(name)
    # Independently: each "<service>: Upheld" line of the rendering, stray marks before it off.
    headers = [
        collapse_ws(m.group(1))
        for m in re.finditer(r"^(.*?):\s*(?:Upheld|Overturned)\s*$", text, re.MULTILINE)
    ]
    headers = [re.sub(r"^(?:[^\w\s]+\s+)+", "", h) for h in headers]
    assert len(headers) == len(label["items"])
    answer = _payload(base.derive("seen")(_first_body(text)))
    assert [item["service"] for item in answer["items"]] == headers
    assert {item["outcome"] for item in answer["items"]} <= {"upheld", "overturned"}


def test_seen_copies_ocr_damage_the_tidy_answer_would_not(base: GoldResponder) -> None:
    answer = base.derive("seen").answer_for(_rendering("ocr", "gB08"))
    services = [item["service"] for item in answer["items"]]
    assert "Hemogiobin Alc" in services and "Omeprazole 20mg #69" in services
    label = _label("gB08")
    # Short values stay true.
    for name in ("case_number", "decision_date", "date_assigned", "priority"):
        assert answer[name] == label[name]
    assert [i["outcome"] for i in answer["items"]] == [i["outcome"] for i in label["items"]]


@pytest.mark.parametrize(
    ("rendering", "name"),
    [
        ("ocr", "gB10"),  # first words damaged: "Tramado} is 4 conttelly"
        ("ocr", "gB15"),  # last word damaged: "necessaty."
        ("ocr", "gB11"),
        ("noise-light", "seed-004"),  # "since the 1ast X-ray."
        ("noise-light", "gB05"),
    ],
)
def test_seen_quotes_the_last_rationale_as_the_rendering_writes_it(
    base: GoldResponder, rendering: str, name: str
) -> None:
    text = _rendering(rendering, name)
    label_rationale = _label(name)["items"][-1]["rationale"]
    # Independently: everything after the last "Decision rationale:" label is that rationale.
    expected = anchor_quote(text.split("Decision rationale:")[-1])
    assert expected != anchor_quote(label_rationale)  # the scan damaged the quoted words
    answer = base.derive("seen").answer_for(text)
    assert answer["items"][-1]["rationale"] == expected


def test_seen_equals_tidy_on_clean_text(base: GoldResponder) -> None:
    seen = base.derive("seen")
    for path in sorted((GOLD / "letters").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        assert seen.answer_for(text) == ideal_answer(_label(path.stem)), path.stem
        assert not seen.seen(text).fallbacks


def test_alignment_ends_at_the_passage_end_not_a_similar_ending() -> None:
    passage = (
        "The guideline supports a short trial. Without documented benefit the request is not "
        "medically necessary. A later review may reconsider; for now the request is not "
        "medically necessary."
    )
    rendering = RenderingWords(
        "Item one: Upheld\nDecision rationale: The guide1ine supports a short tria1. Without\n"
        "documented benefit the request is not medically necessary. A later review may\n"
        "reconsider; for now the request is not rnedically necessary.\n"
        "Item two: Upheld\nDecision rationale: Nothing has changed and the request is not\n"
        "medically necessary.\n"
    )
    for after in ("Item two:", ""):
        hit = align_passage(rendering, passage, 0, before="Decision rationale:", after=after)
        assert hit is not None
        assert hit.text.startswith("The guide1ine supports")
        assert hit.text.endswith("for now the request is not rnedically necessary.")


def test_alignment_takes_the_first_of_two_identical_passages_even_if_damaged() -> None:
    guideline = "Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Opioids."
    rendering = RenderingWords(
        "A: Upheld\nMAXIMUS guideline: Decisi0n based 0n MTUS Chr0nic Pain Medica1 Treatment\n"
        "2016, Secti0n(s): Opi0ids.\nDecision rationale: The first item is not necessary.\n"
        "B: Upheld\nMAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment\n"
        "2016, Section(s): Opioids.\nDecision rationale: The second item is not necessary.\n"
    )
    hit = align_passage(
        rendering, guideline, 0, before="MAXIMUS guideline:", after="Decision rationale:"
    )
    assert hit is not None
    assert (
        hit.text
        == "Decisi0n based 0n MTUS Chr0nic Pain Medica1 Treatment 2016, Secti0n(s): Opi0ids."
    )


def test_alignment_leaves_page_furniture_out_of_a_passage() -> None:
    service = "Physical therapy 2 times a week for 3 weeks for the lumbar spine"
    rendering = RenderingWords(
        "set forth below:\nPhysica1 therapy 2 times a\nPage 1 of 3\n"
        "06/01/2016 10:00 FROM: MAXIMUS FEDERAL (FAX) 916 000 0000 P.002/003\n"
        "week for 3 weeks for the 1umbar spine: Upheld\n"
    )
    hit = align_passage(rendering, service, 3, after="Upheld")
    assert hit is not None
    assert hit.text == "Physica1 therapy 2 times a week for 3 weeks for the 1umbar spine"


def test_a_destroyed_passage_falls_back_to_the_label_text() -> None:
    rendering = RenderingWords("Decision rationale: ~~ .. ;; ## %% &&\nThe end.")
    assert align_passage(rendering, "Completely different words of a lost rationale.", 0) is None


# --- noisy -----------------------------------------------------------------------------------


def test_noisy_injects_on_first_answers_and_answers_the_reask_correctly(
    base: GoldResponder,
) -> None:
    noisy = base.derive("noisy", noise_rate=1.0)
    seen = base.derive("seen")
    for name in ("gA01", "gB02", "seed-001"):
        for rendering in ("layout", "ocr"):
            text = _rendering(rendering, name)
            right = seen.answer_for(text)
            first = _payload(noisy(_first_body(text)))
            assert first != right
            again = _payload(noisy(_first_body(text)))  # a transport retry: the same mistake
            assert again == first
            fixed = _payload(noisy(_reask_body(text, first)))
            assert fixed == right
            events = noisy.events(text)
            assert [e.reask for e in events] == [False, False, True]
            assert events[0].injection is not None and events[2].injection is None
            assert noisy.injections[text_key(text)] == events[0].injection
            assert events[2].errors == (
                "case_number: 'CM16-0221349' is not written in the letter",
                "decision_date: 2016-12-06 is not a date written in the letter",
            )


def test_noisy_with_no_noise_is_seen_and_clear_log_forgets(base: GoldResponder) -> None:
    noisy = base.derive("noisy", noise_rate=0.0)
    text = _rendering("ocr", "gA05")
    assert _payload(noisy(_first_body(text))) == base.derive("seen").answer_for(text)
    assert noisy.injections == {} and len(noisy.log) == 1
    noisy.clear_log()
    assert noisy.log == [] and noisy.events(text) == []


def test_noisy_is_seeded_and_independent_of_request_order(base: GoldResponder) -> None:
    texts = [letter.text for letter in base.letters]
    one, two = base.derive("noisy", seed=7), base.derive("noisy", seed=7)
    for text in texts:
        one(_first_body(text))
    for text in reversed(texts):
        two(_first_body(text))
    assert one.injections == two.injections
    share = len(one.injections) / len(texts)
    assert 0.2 <= share <= 0.4  # the default rate is 30% of first answers
    other = base.derive("noisy", seed=8)
    planned = {text_key(t): other.planned_injection(t) for t in texts}
    assert {k for k, v in planned.items() if v} != set(one.injections)
    assert base.derive("noisy", seed=7).planned_injection(texts[0]) == one.injections.get(
        text_key(texts[0])
    )


def _diff_paths(a: Any, b: Any, path: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[str] = set()
        for key in a.keys() | b.keys():
            out |= _diff_paths(a.get(key), b.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = set()
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out |= _diff_paths(x, y, f"{path}[{i}]")
        return out
    return set() if a == b else {path}


@pytest.mark.parametrize("kind", CLASSIC_MISTAKE_KINDS)
@pytest.mark.parametrize("name", ["gA01", "gB02", "gA06"])
def test_each_mistake_kind_changes_what_its_log_says(
    base: GoldResponder, kind: str, name: str
) -> None:
    text = _rendering("ocr", name)
    noisy = base.derive("noisy", noise_rate=1.0, kinds=[kind])
    right = base.derive("seen").answer_for(text)
    wrong = _payload(noisy(_first_body(text)))
    injection = noisy.injections[text_key(text)]
    assert injection.kind == kind and injection.letter == name and injection.rendering == "ocr"
    assert injection.to_dict()["changes"]
    changed = _diff_paths(wrong, right)
    if kind == "dates_swapped":
        x, y = (c.path for c in injection.changes)
        assert changed == {x, y}
        assert (wrong[x], wrong[y]) == (right[y], right[x]) and right[x] != right[y]
    elif kind == "date_shift":
        assert changed == {injection.path}
        shift = dt.date.fromisoformat(wrong[injection.path]) - dt.date.fromisoformat(
            right[injection.path]
        )
        assert 1 <= abs(shift.days) <= 5 and injection.wrong == wrong[injection.path]
    elif kind == "case_digit":
        assert changed == {"case_number"} and injection.wrong == wrong["case_number"]
        diffs = [i for i, (p, q) in enumerate(zip(wrong["case_number"], right["case_number"],
                                                   strict=True)) if p != q]  # fmt: skip
        assert len(diffs) == 1 and diffs[0] >= 5 and wrong["case_number"][diffs[0]].isdigit()
    elif kind == "outcome_flip":
        assert changed == {injection.path} and injection.path.endswith(".outcome")
        k = int(injection.path.split("[")[1].split("]")[0])
        assert {wrong["items"][k]["outcome"], right["items"][k]["outcome"]} == {
            "upheld",
            "overturned",
        }
    elif kind == "extra_item":
        assert len(wrong["items"]) == len(right["items"]) + 1
        assert wrong["items"][:-1] == right["items"]
        assert wrong["items"][-1]["service"] == injection.wrong in INVENTED_SERVICES
        assert squash(injection.wrong) not in squash(text)
    elif kind == "invented_service":
        assert changed == {injection.path} and injection.path.endswith(".service")
        k = int(injection.path.split("[")[1].split("]")[0])
        assert wrong["items"][k]["service"] == injection.wrong
        assert squash(injection.wrong) not in squash(text)
    else:  # borrowed_end
        assert changed == {injection.path}
        k = int(injection.path.split("[")[1].split("]")[0])
        field = injection.path.rsplit(".", 1)[1]
        quote, true = wrong["items"][k][field], right["items"][k][field]
        head, _, tail = quote.partition(" ... ")
        assert true.startswith(head)
        lender = injection.detail.split(":", 1)[0].removeprefix("last words from ")
        lent = base.seen(text).passages[lender].text
        assert collapse_ws(lent).endswith(tail) and not true.endswith(tail)


# --- the benchmark ---------------------------------------------------------------------------


def test_classify_names_what_became_of_a_mistake() -> None:
    bench = load_benchmark("evidence_oracle")
    from imr_llm.testing.oracle import Change, Injection

    gold = {"case_number": "CM16-0221348", "items": [{"service": "A", "outcome": "upheld"}]}
    digit = Injection("x", "ocr", "case_digit", (Change("case_number", "CM16-0221349",
                                                        "CM16-0221348"),))  # fmt: skip
    wrong = {**gold, "case_number": "CM16-0221349"}
    assert bench.classify(digit, wrong, False, False, gold, {}) == "slipped_unflagged"
    assert bench.classify(digit, wrong, True, True, gold, {}) == "slipped_flagged"
    assert bench.classify(digit, gold, False, True, gold, {}) == "caught_fixed"
    assert bench.classify(digit, gold, False, False, gold, {}) == "no_effect"
    assert bench.classify(digit, None, False, True, gold, {}) == "caught_unfixed"
    assert bench.value_at(gold, "items[0].outcome") == "upheld"
    assert bench.value_at(gold, "items[3].outcome") is None


def test_benchmark_runs_and_says_its_answers_are_scripted() -> None:
    bench = load_benchmark("evidence_oracle")
    report = bench.run_benchmark(
        ["layout"], ["seen", "noisy"], ["gA01", "gB13"], cascade_renderings=(), keep_cases=True
    )
    assert "not from a model" in report["answers_from"]
    seen = report["results"]["layout"]["seen"]
    # Perfect answers on clean text: a record each, at the first request.
    assert seen["with_record"] == seen["letters"] == 2
    assert seen["requests_per_letter"] == 1.0 and seen["correct_first_rejected"] == 0
    noisy = report["results"]["layout"]["noisy"]
    assert noisy["injected"] == sum(noisy[outcome] for outcome in bench.OUTCOMES)
    assert noisy["injected"] + noisy["correct_first_answers"] == 2
    assert "not from a model" in bench.format_report(report)
