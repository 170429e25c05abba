"""The gold oracle's ``format`` mode, and the evidence benchmark's format figures on a sample.

Format mode answers with every value right but one written in another shape of the same
meaning. Each deviation is checked here to mean what the right value means, read back with
plain standard-library code (``strptime``, a table of the test's own), not with the code that
normalises answers; the benchmark's targets are the issue's (16).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from imr_llm.testing.fake_openai import Step
from imr_llm.testing.oracle import (
    CONTENT_KINDS,
    FORMAT_KINDS,
    GoldResponder,
    deviate_format,
    ideal_answer,
    text_key,
)
from tests.conftest import load_benchmark

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold"
SAMPLE = ["gA01", "gA02", "gA03", "gB02", "gB15", "seed-002"]
STATE_CODES = {"CA": "California", "NV": "Nevada", "OR": "Oregon", "WA": "Washington",
               "AZ": "Arizona", "OK": "Oklahoma"}  # fmt: skip
STATE_ABBREVIATIONS = {"Calif.": "California", "Calif": "California", "Cal.": "California",
                       "Nev.": "Nevada", "Ore.": "Oregon", "Oreg.": "Oregon",
                       "Wash.": "Washington", "Ariz.": "Arizona", "Okla.": "Oklahoma"}  # fmt: skip


def _label(name: str) -> dict[str, Any]:
    return json.loads((GOLD / "labels" / f"{name}.json").read_text(encoding="utf-8"))


def _text(name: str) -> str:
    return (GOLD / "letters" / f"{name}.txt").read_text(encoding="utf-8")


def _body(text: str, mode: str = "tools") -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "fake-model",
        "messages": [{"role": "user", "content": f"Extract.\n<letter>\n{text}\n</letter>"}],
    }
    if mode == "tools":
        body["tools"] = [{"type": "function", "function": {"name": "LetterAnswer"}}]
    elif mode == "json_schema":
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "x"}}
    elif mode == "json":
        body["response_format"] = {"type": "json_object"}
    return body


def _payload(step: Step | None) -> Any:
    assert step is not None and step.kind == "answer"
    return step.payload


@pytest.fixture(scope="module")
def base() -> GoldResponder:
    return GoldResponder.from_gold_dir(GOLD, SAMPLE, renderings=["layout"])


def _differences(a: Any, b: Any, path: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[str] = set()
        for key in a.keys() | b.keys():
            out |= _differences(a.get(key), b.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = set()
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            out |= _differences(x, y, f"{path}[{k}]")
        return out
    return set() if a == b else {path}


def _read_date(text: str) -> dt.date:
    for form in ("%m/%d/%Y", "%B %d, %Y", "%b %d %Y", "%b. %d, %Y", "%Y-%m-%dT%H:%M:%S",
                 "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S"):  # fmt: skip
        try:
            return dt.datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise AssertionError(f"not a date form the test knows: {text!r}")


def _means(kind: str, wrong: Any, right: Any) -> bool:
    """Whether the deviated value ``wrong`` means the right value ``right`` (by hand)."""
    if kind.startswith("date_"):
        return wrong != right and _read_date(wrong) == dt.date.fromisoformat(right)
    if kind == "state_postal":
        return STATE_CODES[wrong] == right
    if kind == "state_abbrev":
        return STATE_ABBREVIATIONS[wrong] == right
    if kind in ("outcome_case", "priority_case", "sex_word", "case_number_case",
                "specialty_case"):  # fmt: skip
        return wrong != right and wrong.lower() == right.lower()
    if kind == "sex_letter":
        return {"M": "male", "F": "female"}[wrong] == right
    if kind == "age_string":
        return wrong == str(right)
    if kind == "age_words":
        return re.fullmatch(rf"{right}[ -]\D+", wrong) is not None
    if kind == "case_number_spacing":
        return wrong != right and re.sub(r"[\s-]", "", wrong) == right.replace("-", "")
    if kind == "null_empty":
        return wrong == "" and right is None
    if kind == "null_word":
        return wrong in ("null", "N/A", "none", "None") and right is None
    if kind == "specialty_separator":
        return wrong.rstrip(" ;,") == right and wrong != right
    if kind in ("states_joined", "specialties_joined"):
        (joined,) = wrong
        return len(right) >= 2 and re.split(r", |; | and ", joined) == right
    if kind == "states_string":
        return isinstance(wrong, str) and re.split(r", |; | and ", wrong) == right
    if kind == "outcome_gloss":
        gloss = {"upheld": "not medically necessary", "overturned": "medically necessary"}[right]
        return wrong in (f"{right.capitalize()} ({gloss})", f"{right.capitalize()} - {gloss}")
    if kind == "outcome_decision":
        said = {"denied": "upheld", "not medically necessary": "upheld",
                "non-certified": "upheld", "approved": "overturned",
                "medically necessary": "overturned", "certified": "overturned"}  # fmt: skip
        return said[wrong.lower()] == right
    if kind == "case_number_label":
        return wrong in (f"Case Number: {right}", f"IMR case {right}")
    if kind == "service_marker":
        return wrong in (f"{right}: Upheld", f"{right}: Overturned")
    raise AssertionError(kind)


def _deviated(
    base: GoldResponder, kind: str, name: str
) -> tuple[dict[str, Any], GoldResponder, dict[str, Any]]:
    """The perfect answer for gold letter ``name``, the format responder drawing only
    ``kind``, and the answer it sends for the letter."""
    fmt = base.derive("format", format_kinds=[kind])
    return ideal_answer(_label(name)), fmt, _payload(fmt(_body(_text(name))))


#: Kinds that change the answer's shape (its keys, their nesting, a wrapper), not one value.
SHAPE_KINDS = ("answer_wrapped", "contract_nesting", "key_spelling")
VALUE_KINDS = [k for k in FORMAT_KINDS if k not in CONTENT_KINDS and k not in
               ("items_order", "null_list", *SHAPE_KINDS)]  # fmt: skip


def _snake(key: str) -> str:
    """A key written "caseNumber" or "Case Number" as the schema writes it (by hand)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", key).replace(" ", "_").lower()


@pytest.mark.parametrize("kind", SHAPE_KINDS)
@pytest.mark.parametrize("name", ["gA01", "gB02"])
def test_each_shape_deviation_holds_the_same_values(
    base: GoldResponder, kind: str, name: str
) -> None:
    right, fmt, wrong = _deviated(base, kind, name)
    assert fmt.injections[text_key(_text(name))].kind == kind and wrong != right
    if kind == "answer_wrapped":
        ((wrapper, inner),) = wrong.items()
        assert wrapper not in right and inner == right
    elif kind == "contract_nesting":
        flat = {k: v for k, v in wrong.items() if k not in ("patient", "reviewer")}
        flat |= {f"patient_{k}": v for k, v in wrong["patient"].items()}
        flat |= wrong["reviewer"]
        assert flat == right
    else:
        assert set(wrong) != set(right)
        flat = {_snake(k): v for k, v in wrong.items()}
        flat["items"] = [{_snake(k): v for k, v in item.items()} for item in flat["items"]]
        assert flat == right


#: Kinds that need a list of two names, which not every letter gives.
_SOME_LETTERS = ("states_joined", "specialties_joined")


@pytest.mark.parametrize("kind", VALUE_KINDS)
def test_each_value_deviation_applies_to_a_sample_letter(base: GoldResponder, kind: str) -> None:
    applied = 0
    for name in ("gA01", "gA02", "gB02"):
        fmt = base.derive("format", format_kinds=[kind])
        fmt(_body(_text(name)))
        applied += text_key(_text(name)) in fmt.injections
    assert applied >= 1 if kind in _SOME_LETTERS else applied == 3


@pytest.mark.parametrize("kind", VALUE_KINDS)
@pytest.mark.parametrize("name", ["gA01", "gA02", "gB02"])
def test_each_value_deviation_changes_one_value_to_the_same_meaning(
    base: GoldResponder, kind: str, name: str
) -> None:
    right, fmt, wrong = _deviated(base, kind, name)
    if text_key(_text(name)) not in fmt.injections:
        # The kind does not apply to this letter (one specialty to join): the perfect answer.
        assert kind in _SOME_LETTERS and wrong == right
        return
    injection = fmt.injections[text_key(_text(name))]
    assert injection.kind == kind
    assert _differences(wrong, right) == {injection.path}
    old, new = injection.changes[0].right, injection.changes[0].wrong
    assert _means(kind, new, old), (new, old)


def test_items_order_lists_the_same_items_in_another_order(base: GoldResponder) -> None:
    right, _, wrong = _deviated(base, "items_order", "gB02")
    assert wrong["items"] != right["items"]
    key = lambda item: item["service"]  # noqa: E731
    assert sorted(wrong["items"], key=key) == sorted(right["items"], key=key)
    # A letter with one item has no other order: the perfect answer, nothing logged.
    one = base.derive("format", format_kinds=["items_order"])
    assert _payload(one(_body(_text("gA03")))) == ideal_answer(_label("gA03"))
    assert one.injections == {}


def test_null_list_and_kinds_that_do_not_apply() -> None:
    answer = ideal_answer(_label("gA03"))
    answer["specialties"] = []
    made = deviate_format(answer, random.Random(0), kinds=["null_list"])
    assert made is not None
    payload, injection = made
    assert isinstance(payload, dict) and payload["specialties"] is None
    assert _differences(payload, answer) == {"specialties"}
    assert injection.path == "specialties"
    # gA03 has no header: no case number or priority to deviate, and no empty list.
    label = ideal_answer(_label("gA03"))
    for kind in ("case_number_case", "case_number_spacing", "priority_case", "null_list"):
        assert deviate_format(label, random.Random(0), kinds=[kind]) is None


@pytest.mark.parametrize("kind", CONTENT_KINDS)
def test_json_deviations_only_where_the_answer_is_message_content(
    base: GoldResponder, kind: str
) -> None:
    text = _text("gA01")
    right = ideal_answer(_label("gA01"))
    for mode in ("tools", "json_schema"):
        fmt = base.derive("format", format_kinds=[kind])
        assert _payload(fmt(_body(text, mode))) == right
        assert fmt.injections == {}
    for mode in ("json", "md_json"):
        fmt = base.derive("format", format_kinds=[kind])
        written = _payload(fmt(_body(text, mode)))
        assert isinstance(written, str) and written.strip()[0] + written.strip()[-1] != "{}"
        # The JSON is the text from its first "{" to its last "}" (read here by hand).
        inner = written[written.index("{") : written.rindex("}") + 1]
        assert json.loads(inner) == right
        assert fmt.injections[text_key(text)].kind == kind


def test_a_reask_gets_the_perfect_answer_and_unknown_kinds_are_refused(
    base: GoldResponder,
) -> None:
    text = _text("gA02")
    fmt = base.derive("format", format_kinds=["date_us"])
    first = _body(text)
    wrong = _payload(fmt(first))
    reask = _body(text)
    reask["messages"] += [
        {"role": "assistant", "content": json.dumps(wrong)},
        {"role": "user", "content": "Validation Error found:\nfix it"},
    ]
    assert _payload(fmt(reask)) == ideal_answer(_label("gA02"))
    assert [e.reask for e in fmt.events(text)] == [False, True]
    with pytest.raises(ValueError, match="format kinds"):
        GoldResponder({}, mode="format", format_kinds=["date_roman"])


# --- the benchmark's format figures on a sample ---------------------------------------------------


def test_format_targets_hold_on_a_sample() -> None:
    """Issue 16's targets: <= 1.10 requests per letter, no letter failed, every record equal
    to the perfect-answer run's, in every instructor mode, clean and mild OCR. Specialties in
    the model's spelling ("occupational medicine") are stored as the letter writes them."""
    bench = load_benchmark("evidence_oracle")
    # Letters with a partly certified request (gA01, gB02), without a header (gB15, seed-002),
    # and with two items alike but for one word (seed-002: THORACOLUMBAR / LUMBOSACRAL).
    report = bench.run_format(["layout", "ocr"], ["gA01", "gB02", "gB15", "seed-002"])
    assert set(report["results"]) == {"layout", "ocr"}
    for rendering, by_mode in report["results"].items():
        assert set(by_mode) == {"tools", "json_schema", "json", "md_json"}
        for mode, r in by_mode.items():
            where = f"{rendering}/{mode}"
            assert r["all"]["letters"] >= (50 if mode in ("tools", "json_schema") else 16), where
            assert r["all"]["requests_per_letter"] <= 1.10, (where, r["rows"][:3])
            assert r["all"]["failed"] == 0, (where, r["rows"][:3])
            for kind, figures in r["by_kind"].items():
                assert figures["differ"] == 0, (where, kind, r["rows"][:3])
    assert "format" in "\n".join(bench.format_lines(report))
