"""Issue 14's additions to the gold oracle and its benchmark: wider mistakes, re-flowed text,
several corpus folders, and the summary of the issue's table.

A scripted mistake is only worth counting if it really makes the answer wrong, so each kind is
checked against the gold *label* (read here with plain string handling, not through the
oracle's helpers): the injected value must differ from the true one in the way that kind
means. Summary rows are checked on reports whose numbers are written by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from imr_llm.errors import ConfigurationError
from imr_llm.eval.damage import reflow
from imr_llm.evidence.anchors import anchor_quote
from imr_llm.form.text import US_STATES, collapse_ws, squash
from imr_llm.testing.oracle import (
    CLASSIC_MISTAKE_KINDS,
    MISTAKE_KINDS,
    REFLOW_RENDERINGS,
    WIDER_MISTAKE_KINDS,
    Change,
    GoldResponder,
    Injection,
    inject_mistake,
    text_key,
)
from tests.conftest import CORPUS, SHARED, load_benchmark

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold"
#: Letters that between them let every wider kind apply: gB03 and gB07 write number words in
#: services ("three times daily", "one level"), gA01 and gB07 have partly certified items.
LETTERS = ("gA01", "gB03", "gB07", "gA06")
RENDERINGS = ("layout", "ocr")
SEEDS = range(4)


def _label(name: str) -> dict[str, Any]:
    return json.loads((GOLD / "labels" / f"{name}.json").read_text(encoding="utf-8"))


def _layout(name: str) -> str:
    return (GOLD / "letters" / f"{name}.txt").read_text(encoding="utf-8")


def _rendering(rendering: str, name: str) -> str:
    if rendering == "layout":
        return _layout(name)
    return (GOLD / "renderings" / rendering / f"{name}.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def base() -> GoldResponder:
    return GoldResponder.from_gold_dir(GOLD, list(LETTERS), renderings=list(RENDERINGS))


# --- the kinds -------------------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")
_WORDS = re.compile(
    r"(?<![\w-])(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty)(?![\w-])",
    re.IGNORECASE,
)


def _injections(base: GoldResponder, kind: str) -> list[tuple[str, str, dict, Injection]]:
    """Every (letter, rendering, wrong answer, injection) of ``kind`` over the test letters
    and a few seeds."""
    out = []
    for seed in SEEDS:
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


def test_there_are_twenty_kinds_or_more_and_the_old_ones_stay() -> None:
    assert len(MISTAKE_KINDS) >= 20 and len(set(MISTAKE_KINDS)) == len(MISTAKE_KINDS)
    assert MISTAKE_KINDS[: len(CLASSIC_MISTAKE_KINDS)] == CLASSIC_MISTAKE_KINDS
    assert {"date_shift", "borrowed_end", "extra_item"} <= set(CLASSIC_MISTAKE_KINDS)


@pytest.mark.parametrize("kind", WIDER_MISTAKE_KINDS)
def test_each_wider_mistake_makes_the_answer_wrong_against_the_label(
    base: GoldResponder, kind: str
) -> None:
    made = _injections(base, kind)
    assert len(made) >= 2, f"{kind} applied to too few test letters"
    for name, rendering, wrong, injection in made:
        label = _label(name)
        where = f"{kind} {name}/{rendering}"
        assert injection.kind == kind and injection.changes, where
        right = base.seen(_rendering(rendering, name)).answer
        assert wrong != right, where
        items, true_items = wrong["items"], label["items"]
        path = injection.path
        if kind == "wrong_age":
            true = label["patient"]["age"]
            assert wrong["patient_age"] != true and isinstance(wrong["patient_age"], int), where
            assert 18 <= wrong["patient_age"] <= 90, where
        elif kind == "sex_flip":
            assert {wrong["patient_sex"], label["patient"]["sex"]} == {"male", "female"}, where
        elif kind == "priority_flip":
            assert {wrong["priority"], label["priority"]} == {"standard", "expedited"}, where
        elif kind == "state_added":
            true = label["reviewer"]["licensure_states"]
            added = set(wrong["licensure_states"]) - set(true)
            assert len(added) == 1 and added <= set(US_STATES), where
            assert len(wrong["licensure_states"]) == len(true) + 1, where
        elif kind == "state_dropped":
            true = label["reviewer"]["licensure_states"]
            assert set(wrong["licensure_states"]) < set(true), where
            assert len(wrong["licensure_states"]) == len(true) - 1, where
        elif kind == "wrong_specialty":
            true = label["reviewer"]["specialties"]
            new = [s for s in wrong["specialties"] if squash(s) not in {squash(t) for t in true}]
            assert len(new) == 1 and len(wrong["specialties"]) == len(true), where
            words = {w for t in true for w in t.lower().split()} - {"medicine", "surgery", "&"}
            assert not set(new[0].lower().split()) & words, where  # not a variant of a true one
        elif kind == "day_month_swapped":
            true = dt.date.fromisoformat(label[path])
            got = dt.date.fromisoformat(wrong[path])
            assert got != true, where
            assert (got.year, got.month, got.day) == (true.year, true.day, true.month), where
        elif kind == "item_dropped":
            assert len(items) == len(true_items) - 1, where
            k = int(path[len("items[") : -1])
            kept = [squash(i["service"]) for i in true_items[:k] + true_items[k + 1 :]]
            if rendering == "layout":
                assert [squash(i["service"]) for i in items] == kept, where
        elif kind == "items_merged":
            assert len(items) == len(true_items) - 1, where
            k = int(path[len("items[") : -1])
            service = items[k]["service"]
            if rendering == "layout":
                for true in (true_items[k]["service"], true_items[k + 1]["service"]):
                    assert squash(true) in squash(service), where
        elif kind in ("service_digits", "service_number_word", "service_reworded"):
            k = int(path[len("items[") : path.index("]")])
            new, true = items[k]["service"], true_items[k]["service"]
            assert squash(new) != squash(true), where
            if kind == "service_digits":
                assert sorted(_DIGITS.findall(new)) != sorted(_DIGITS.findall(true)), where
                assert _DIGITS.sub("", new) == _DIGITS.sub("", right["items"][k]["service"])
            elif kind == "service_number_word":
                found = [w.lower() for w in _WORDS.findall(new)]
                assert found != [w.lower() for w in _WORDS.findall(true)], where
            else:  # the same words, in another order (an "of" may join them)

                def bag(s: str) -> Counter[str]:
                    return Counter(w for w in re.findall(r"\w+", s.lower()) if w != "of")

                # Joining words a rewording drops ("MRI of the knee" -> "Knee MRI").
                dropped = bag(right["items"][k]["service"]) - bag(new)
                assert set(dropped) <= {"the", "for", "to"}, where
                assert not bag(new) - bag(right["items"][k]["service"]), where
        elif kind == "invented_original_request":
            k = int(path[len("items[") : path.index("]")])
            assert true_items[k]["original_request"] is None, where
            assert items[k]["original_request"], where
            assert squash(items[k]["original_request"]) not in squash(_layout(name)), where
        else:  # borrowed_guideline, borrowed_rationale
            k = int(path[len("items[") : path.index("]")])
            field = path.rsplit(".", 1)[1]
            lender = int(re.search(r"from items\[(\d+)\]", injection.detail).group(1))
            assert lender != k, where
            assert items[k][field] == right["items"][lender][field], where
            true, lent = true_items[k][field], true_items[lender][field]
            assert true is None or squash(true) != squash(lent), where
            if true is not None and rendering == "layout":
                assert items[k][field] != anchor_quote(true), where


@pytest.mark.parametrize("kind", MISTAKE_KINDS)
def test_a_reask_is_answered_right_after_any_kind(base: GoldResponder, kind: str) -> None:
    noisy = base.derive("noisy", noise_rate=1.0, kinds=[kind])
    answered = 0
    for name in LETTERS:
        text = _rendering("ocr", name)
        if noisy.planned_injection(text) is None:
            continue  # the kind does not apply to this letter
        first = noisy.answer_for(text)
        assert first != noisy.answer_for(text, reask=True) == base.seen(text).answer, name
        answered += 1
    assert answered >= 1


def test_half_the_first_answers_carry_a_mistake_at_rate_one_half() -> None:
    layout = GoldResponder.from_gold_dir(GOLD, renderings=["layout"])
    planned = []
    for seed in range(4):
        noisy = layout.derive("noisy", noise_rate=0.5, seed=seed)
        planned += [noisy.planned_injection(x.text) for x in layout.letters]
    share = sum(p is not None for p in planned) / len(planned)
    assert len(planned) >= 140 and 0.4 <= share <= 0.6
    kinds = {p.kind for p in planned if p is not None}
    assert len(kinds & set(WIDER_MISTAKE_KINDS)) >= 10  # the wider kinds are drawn too


# --- re-flowed text --------------------------------------------------------------------------


@pytest.mark.parametrize("rendering", list(REFLOW_RENDERINGS))
def test_reflowed_letters_are_the_layout_text_refilled(rendering: str) -> None:
    width = int(rendering.removeprefix("reflow"))
    responder = GoldResponder.from_gold_dir(GOLD, ["gA01", "gB03"], renderings=[rendering])
    letters = responder.letters
    assert {x.rendering for x in letters} == {rendering} and len(letters) == 2
    for letter in letters:
        layout = _layout(letter.letter)
        assert letter.text == reflow(layout, width) and letter.text != layout
        # Every line fits the width unless it is one word too long to break.
        assert all(len(line) <= width or " " not in line for line in letter.text.splitlines())
        assert collapse_ws(letter.text) == collapse_ws(layout)


@pytest.mark.parametrize("mode", ["tidy", "seen", "noisy"])
def test_the_responder_answers_reflowed_prompts_in_every_mode(mode: str) -> None:
    responder = GoldResponder.from_gold_dir(
        GOLD, ["gA01"], mode=mode, renderings=["reflow60"], noise_rate=1.0
    )
    text = reflow(_layout("gA01"), 60)
    body = {"messages": [{"role": "user", "content": f"<letter>\n{text}\n</letter>"}]}
    step = responder(body)
    assert step is not None and step.kind == "answer"
    assert step.payload["case_number"] == _label("gA01")["case_number"] or mode == "noisy"
    assert (mode == "noisy") == (text_key(text) in responder.injections)


def test_benchmark_cases_for_reflow_read_the_layout_letters_refilled() -> None:
    bench = load_benchmark("evidence_oracle")
    cases = bench.load_benchmark_cases(GOLD, "reflow100", ["gA02", "gB05"])
    assert [c.key for c in cases] == ["gA02/reflow100", "gB05/reflow100"]
    for case in cases:
        assert case.text() == reflow(_layout(case.letter), 100)
        assert case.label == _label(case.letter)


# --- what became of a wider mistake ----------------------------------------------------------


def test_wider_verdicts_on_hand_made_records() -> None:
    bench = load_benchmark("evidence_oracle")
    gold = {
        "priority": "standard",
        "reviewer": {"licensure_states": ["Ohio"], "specialties": ["Neurology"]},
        "patient": {"age": 40, "sex": "male"},
        "items": [
            {"service": "Aquatic therapy, 12 sessions", "original_request": None,
             "rationale": "The first rationale, long enough to tell apart from the other one."},
            {"service": "Norco 10/325mg #90", "original_request": None,
             "rationale": "A second rationale that says something else entirely, at length."},
        ],
    }  # fmt: skip

    def verdict(kind: str, change: Change, record: dict, flagged: bool = False,
                rejected: bool = False, detail: str = "") -> str:  # fmt: skip
        injection = Injection("x", "layout", kind, (change,), detail)
        return bench.classify(injection, record, flagged, rejected, gold, {})

    def edit(**changes: Any) -> dict:
        record = json.loads(json.dumps(gold))
        for path, value in changes.items():
            head, _, rest = path.partition("__")
            if head == "items":
                k, key = rest.split("__")
                record["items"][int(k)][key] = value
            elif rest:
                record[head][rest] = value
            else:
                record[head] = value
        return record

    age = Change("patient.age", 47, 40)
    assert verdict("wrong_age", age, edit(patient__age=47)) == "slipped_unflagged"
    assert verdict("wrong_age", age, gold, rejected=True) == "caught_fixed"
    added = Change("reviewer.licensure_states", ["Ohio", "California"], ["Ohio"])
    assert verdict("state_added", added, edit(reviewer__licensure_states=["Ohio", "California"]),
                   flagged=True) == "slipped_flagged"  # fmt: skip
    assert verdict("state_added", added, gold) == "no_effect"
    dropped = Change("reviewer.licensure_states", [], ["Ohio"])
    assert verdict("state_dropped", dropped, edit(reviewer__licensure_states=[])) == (
        "slipped_unflagged"
    )
    digits = Change("items[1].service", "Norco 10/325mg #9", "Norco 10/325mg #90")
    assert verdict("service_digits", digits, edit(items__1__service="Norco 10/325mg #9")) == (
        "slipped_unflagged"
    )
    # The letter's own text kept: right, even though the model's words were wrong.
    assert verdict("service_digits", digits, gold) == "no_effect"
    reworded = Change("items[0].service", "12 sessions of aquatic therapy", "x")
    assert (
        verdict(
            "service_reworded", reworded, edit(items__0__service="12 sessions of aquatic therapy")
        )
        == "slipped_unflagged"
    )
    invented = Change("items[0].original_request", "Urine drug screen", None)
    assert verdict("invented_original_request", invented, gold, rejected=True) == "caught_fixed"
    merged = Change("items[0]", "Aquatic therapy, 12 sessions and norco", ["a", "b"])
    one_item = {**gold, "items": gold["items"][:1]}
    assert verdict("items_merged", merged, one_item) == "slipped_unflagged"
    assert verdict("item_dropped", Change("items[1]", None, "Norco"), one_item,
                   flagged=True) == "slipped_flagged"  # fmt: skip
    borrowed = Change("items[0].rationale", "A second ... at length.", "The first ... one.")
    swapped = edit(items__0__rationale=gold["items"][1]["rationale"])
    detail = "taken from items[1].rationale"
    assert verdict("borrowed_rationale", borrowed, swapped, detail=detail) == "slipped_unflagged"
    assert verdict("borrowed_rationale", borrowed, gold, rejected=True, detail=detail) == (
        "caught_fixed"
    )
    assert verdict("borrowed_rationale", borrowed, None) == "caught_unfixed"


# --- several corpus folders ------------------------------------------------------------------


def _fake_corpus(root: Path, names: list[str]) -> Path:
    """A corpus folder of made-up letters (never real letter text)."""
    for sub in ("labels", "text-layout", "text-ocr"):
        (root / sub).mkdir(parents=True)
    for name in names:
        (root / "labels" / f"{name}.json").write_text(json.dumps({"items": []}))
        (root / "text-layout" / f"{name}.txt").write_text(f"A made-up letter {name}.\n")
        (root / "text-ocr" / f"{name}.txt").write_text(f"A rnade-up 1etter {name}.\n")
    return root


def test_corpus_view_joins_several_folders(tmp_path: Path) -> None:
    bench = load_benchmark("evidence_oracle")
    one = _fake_corpus(tmp_path / "one", ["L1", "L2"])
    two = _fake_corpus(tmp_path / "two", ["L3"])
    view = bench.corpus_as_gold([one, two], tmp_path / "view")
    manifest = json.loads((view / "manifest.json").read_text())
    assert sorted({e["letter"] for e in manifest}) == ["L1", "L2", "L3"]
    assert sorted((e["letter"], e["rendering"]) for e in manifest) == [
        (n, r) for n in ("L1", "L2", "L3") for r in ("layout", "ocr")
    ]
    assert (view / "letters" / "L3.txt").is_symlink()  # links only: no text copied
    assert (view / "ocr" / "L3.txt").read_text() == "A rnade-up 1etter L3.\n"
    with pytest.raises(ConfigurationError, match="more than one"):
        bench.corpus_as_gold([one, _fake_corpus(tmp_path / "three", ["L1"])], tmp_path / "v2")
    with pytest.raises(ConfigurationError, match="labels"):
        bench.corpus_as_gold([tmp_path / "missing"], tmp_path / "v3")


@pytest.mark.skipif(
    not (SHARED / "corpus-more" / "labels").is_dir() or not (CORPUS / "labels").is_dir(),
    reason="../shared/corpus and ../shared/corpus-more are not present beside the checkout",
)
def test_both_shared_folders_give_every_real_letter(tmp_path: Path) -> None:
    bench = load_benchmark("evidence_oracle")
    folders = [CORPUS, SHARED / "corpus-more"]
    view = bench.corpus_as_gold(folders, tmp_path / "view")
    expected = {p.stem for folder in folders for p in (folder / "labels").glob("*.json")}
    cases = bench.load_benchmark_cases(view, "layout")
    assert {c.letter for c in cases} == expected and len(expected) >= 74
    reflowed = bench.load_benchmark_cases(view, "reflow60", sorted(expected)[:2])
    assert len(reflowed) == 2 and all(len(c.text().splitlines()[0]) <= 60 for c in reflowed)


# --- the summary -----------------------------------------------------------------------------


def _report(**results: Any) -> dict[str, Any]:
    """A report with hand-written figures in the shape ``run_benchmark`` returns."""
    return {
        "settings": {"noise_rate": 0.5, "kinds": "all"},
        "results": results,
        "cascade": {
            "ocr": {"letters": 74, "rules_unflagged": 62,
                    "rules_unflagged_all_correct_faithful": 54,
                    "rules_wrong_unflagged_faithful": ["L1"]},
        },
        "rules": {
            "reflow60": {"letters": 10, "records": 9, "all_correct_faithful": 8,
                         "wrong_unflagged_faithful": ["L2"]},
            "reflow100": {"letters": 10, "records": 10, "all_correct_faithful": 10,
                          "wrong_unflagged_faithful": []},
        },
    }  # fmt: skip


def _seen(letters: int, flagged: int, rejected: int, requests: float) -> dict[str, Any]:
    return {"letters": letters, "needs_review": flagged, "correct_first_rejected": rejected,
            "correct_first_answers": letters, "requests_per_letter": requests}  # fmt: skip


def test_summary_rows_on_hand_written_figures() -> None:
    bench = load_benchmark("evidence_oracle")
    report = _report(
        layout={"seen": _seen(74, 0, 0, 1.0), "noisy": {"injected": 35, "slipped_unflagged": 4}},
        ocr={"seen": _seen(74, 13, 6, 1.2), "noisy": {"injected": 65, "slipped_unflagged": 1}},
        reflow60={"seen": _seen(10, 10, 2, 1.3)},
        reflow100={"seen": _seen(10, 0, 0, 1.0)},
    )
    rows = {row["what"].split(":")[0].split(" (")[0]: row for row in bench.summary_rows(report)}
    assert list(rows) == [
        "cascade on mild OCR",
        "re-flowed text",
        "perfect answers flagged needs_review",
        "perfect first answers rejected",
        "wider model mistakes",
    ]
    cascade = rows["cascade on mild OCR"]
    assert cascade["values"]["right_share"] == round(54 / 62, 4)
    assert cascade["values"]["keep_share"] == round(62 / 74, 4)
    assert "54 of 62" in cascade["figure"] and "62 of 74" in cascade["figure"]
    reflowed = rows["re-flowed text"]["values"]
    assert reflowed["rules_record_share"] == 0.95 and reflowed["rules_all_correct_share"] == 0.9
    assert reflowed["rules_wrong_unflagged"] == 1 and reflowed["llm_flagged_share"] == 0.5
    assert reflowed["llm_first_rejected"] == 2
    flagged = rows["perfect answers flagged needs_review"]["values"]
    assert flagged == {"layout": 0.0, "ocr": round(13 / 74, 4)}
    rejected = rows["perfect first answers rejected"]["values"]
    assert rejected["ocr"] == round(6 / 74, 4) and rejected["requests_per_letter"] == 1.1
    wider = rows["wider model mistakes"]
    assert wider["values"] == {"slipped_unflagged": 5, "injected": 100, "share": 0.05}
    assert "rate 0.5" in wider["what"] and f"{len(MISTAKE_KINDS)} kinds" in wider["what"]
    for row in rows.values():
        assert row["command"].startswith("python benchmarks/evidence_oracle.py --renderings")
        assert row["target"]
    text = bench.format_summary(report, "python benchmarks/evidence_oracle.py --corpus a b")
    assert text.count("$ python benchmarks/evidence_oracle.py --corpus a b --renderings") == 5


def test_summary_leaves_out_rows_the_run_did_not_measure() -> None:
    bench = load_benchmark("evidence_oracle")
    report = _report(layout={"seen": _seen(5, 0, 0, 1.0)})
    report["cascade"], report["rules"] = {}, {}
    whats = [row["what"] for row in bench.summary_rows(report)]
    assert whats == ["perfect answers flagged needs_review",
                     "perfect first answers rejected (re-asked)"]  # fmt: skip


def test_diagnosis_groups_causes_with_their_cases() -> None:
    bench = load_benchmark("evidence_oracle")
    injection = Injection("L1", "ocr", "service_reworded",
                          (Change("items[0].service", "B of a", "A, B"),))  # fmt: skip
    base_row = {"reask_errors": [], "needs_review": False, "review_reasons": [], "_evidence": {}}
    rows = [
        {**base_row, "mode": "seen", "letter": "L1", "rendering": "ocr", "engine": "llm",
         "error": None,
         "reask_errors": [["patient.age: the case summary gives no age 44; use null"]]},
        {**base_row, "mode": "seen", "letter": "L2", "rendering": "ocr", "engine": "llm",
         "error": None,
         "reask_errors": [["patient.age: the case summary gives no age 51; use null"]],
         "needs_review": True,
         "review_reasons": ["1 value(s) could not be checked: date_assigned (its place reads "
                            "'x')"],
         "_evidence": {"date_assigned": ("unverified", "its place reads '1O/l4'")}},
        {**base_row, "mode": "noisy", "letter": "L3", "rendering": "layout", "engine": "llm",
         "error": None,
         "verdict": "slipped_unflagged", "_injection": injection,
         "_contract": {"items": [{"service": "B of a"}]},
         "_evidence": {"items[0].service": ("repaired", "at its item marker")}},
    ]  # fmt: skip
    rows += [
        {**base_row, "mode": "rules", "letter": "L4", "rendering": "reflow60", "engine": None,
         "error": "incomplete_letter", "_wrong_fields": [],
         "error_message": "the rules engine could not fully read this letter; missing or "
         "unreadable: reviewer.specialties, items (found 3 rationales, 2 headers)"},
        {**base_row, "mode": "cascade", "letter": "L5", "rendering": "ocr", "engine": "rules",
         "error": None, "_wrong_fields": ["patient.age"]},
    ]  # fmt: skip
    found = bench.diagnose(rows)
    assert found["rules_errors"] == [
        {"cause": "incomplete_letter: missing or unreadable: items (found # rationales, # "
         "headers)", "count": 1, "cases": ["L4/reflow60"]},
        {"cause": "incomplete_letter: missing or unreadable: reviewer.specialties", "count": 1,
         "cases": ["L4/reflow60"]},
    ]  # fmt: skip
    assert found["rules_wrong_unflagged"] == [
        {"cause": "patient.age wrong", "count": 1, "cases": ["L5/ocr (cascade)"]}
    ]
    assert found["perfect_rejected"] == [
        {"cause": "patient.age: the case summary gives no age #; use null", "count": 2,
         "cases": ["L1/ocr", "L2/ocr"]},
    ]  # fmt: skip
    assert found["perfect_flagged"] == [
        {"cause": "unverified date_assigned (its place reads '…')", "count": 1,
         "cases": ["L2/ocr"]},
    ]  # fmt: skip
    assert found["slipped_unflagged"] == [
        {"cause": "service_reworded: items[#].service repaired: at its item marker", "count": 1,
         "cases": ["L3/layout items[0].service"]},
    ]  # fmt: skip


def test_the_summary_command_runs_at_rate_one_half(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_benchmark("evidence_oracle")
    code = bench.main(["--letters", "gA01", "gB07", "--renderings", "layout", "reflow60",
                       "--summary", "--cascade"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("Issue 14's table")
    assert "noise_rate=0.5" in out and "== reflow60" in out and "rules engine alone" in out
    assert "wider model mistakes" in out and "--letters gA01 gB07" in out
    assert "Diagnosis" in out and "not from a model" in out
