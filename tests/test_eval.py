"""The eval harness end to end: the rules engine over every gold rendering, offline."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from imr_llm.cli.main import app
from imr_llm.config import load_settings
from imr_llm.errors import ExtractionAttemptsExhaustedError, ImrError
from imr_llm.eval import EvalRun, build_report, compare_reports, load_cases, run_eval, write_report
from imr_llm.eval.runner import CaseResult
from imr_llm.eval.scoring import ValueResult, flag_counts, score_record
from imr_llm.record.models import DeterminationRecord
from tests.conftest import GOLD, REPO, gold_label

runner = CliRunner()
BASELINE = REPO / "eval" / "baselines" / "rules.json"


@pytest.fixture(scope="module")
def rules_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("eval-rules")
    run = run_eval(GOLD, "rules")
    return write_report(run, GOLD, out), out


def test_manifest_lists_every_letter_in_every_rendering() -> None:
    manifest = json.loads((GOLD / "manifest.json").read_text())
    letters = {p.stem for p in (GOLD / "labels").glob("*.json")}
    renderings = {"layout", "raw", "noise-light", "noise-heavy", "ocr", "ocrfax"}
    assert {(e["letter"], e["rendering"]) for e in manifest} == {
        (letter, r) for letter in letters for r in renderings
    }
    for entry in manifest:
        assert (GOLD / entry["path"]).is_file()
        if entry["rendering"] == "layout":
            assert entry["cer"] == 0.0
        elif entry["rendering"] != "raw":  # raw differs only in a header, absent in some
            assert entry["cer"] > 0.0
    assert len(load_cases(GOLD)) == len(manifest)


def test_report_files_and_provenance(rules_report: tuple[dict, Path]) -> None:
    report, out = rules_report
    assert report["engine"] == "rules" and report["deterministic"]
    assert "rules engine" in report["answers_from"]
    assert report["git_commit"] and report["versions"]["imr_llm"]
    assert set(report["by_rendering"]) == {"layout", "raw", "noise-light", "noise-heavy",
                                           "ocr", "ocrfax"}  # fmt: skip
    assert report["metrics"]["cases"] == len(report["per_case"])
    assert json.loads((out / "report.json").read_text()) == report
    summary = (out / "summary.md").read_text()
    assert "| layout |" in summary and "## Per field" in summary
    page = (out / "report.html").read_text()
    assert "<svg" in page and "<script" not in page and "http" not in page.split("<svg", 1)[0]
    assert any((out / "diffs").iterdir())


def test_clean_renderings_are_read_perfectly(rules_report: tuple[dict, Path]) -> None:
    report, _ = rules_report
    for rendering in ("layout", "raw"):
        metrics = report["by_rendering"][rendering]
        assert metrics["all_right"]["mean"] == 1.0 and metrics["errors"] == 0


def test_errors_are_counted_apart_from_wrong_answers(rules_report: tuple[dict, Path]) -> None:
    report, _ = rules_report
    errored = [c for c in report["per_case"] if c["error"]]
    assert report["metrics"]["errors"] == len(errored) == sum(report["errors"].values())
    for case in errored:
        assert set(case["field_kinds"].values()) == {"error"}


def test_committed_rules_baseline_has_no_regression(rules_report: tuple[dict, Path]) -> None:
    report, _ = rules_report
    baseline = json.loads(BASELINE.read_text())
    assert baseline["engine"] == "rules"
    comparison = compare_reports(baseline, report)
    assert not comparison.regressed, comparison.markdown()
    assert not comparison.missing_cases


def test_cli_fails_on_regression_with_a_readable_diff(
    rules_report: tuple[dict, Path], tmp_path: Path
) -> None:
    report, _ = rules_report
    better = json.loads(json.dumps(report))
    improved = [c for c in better["per_case"] if not c["all_right"]][:3]
    for case in improved:
        case["all_right"] = True
        case["field_accuracy"] = 1.0
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(better))
    result = runner.invoke(
        app,
        [
            "eval",
            "--backend",
            "rules",
            "--out",
            str(tmp_path / "run"),
            "--baseline",
            str(baseline),
            "--fail-on-regression",
        ],  # fmt: skip
    )
    assert result.exit_code == 1, result.output
    assert re.search(
        r"need review \d+ of \d+ records, wrong values silent \d+ of \d+", result.stderr
    )
    assert "REGRESSED" in result.stdout
    for case in improved:
        assert case["case"] in result.stdout
    assert "regression against" in result.stderr
    same = runner.invoke(
        app,
        [
            "eval",
            "--backend",
            "rules",
            "--out",
            str(tmp_path / "run2"),
            "--baseline",
            str(BASELINE),
            "--fail-on-regression",
        ],  # fmt: skip
    )
    assert same.exit_code == 0, same.output


def test_cli_eval_of_a_model_without_one_is_a_clear_error(
    tmp_path: Path, no_model_env: None
) -> None:
    result = runner.invoke(app, ["eval", "--backend", "llm", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "no model is configured" in result.stderr


# ----------------------------------------------------------------------------------------------
# Flagged and unflagged, scored apart (hand-built records: no engine flags anything yet)
# ----------------------------------------------------------------------------------------------


def _record(
    got: dict[str, Any],
    *,
    evidence: dict[str, str] | None = None,
    needs_review: bool = False,
    reasons: list[str] | None = None,
) -> DeterminationRecord:
    """A record from contract-shaped values, with evidence statuses set by hand."""
    metadata = {
        "engine": "llm",
        "backend": "llm",
        "imr_llm_version": "test",
        "evidence": {path: {"status": status} for path, status in (evidence or {}).items()},
        "needs_review": needs_review,
        "review_reasons": reasons or [],
    }
    return DeterminationRecord.model_validate({**copy.deepcopy(got), "metadata": metadata})


def _old_cached(got: dict[str, Any]) -> DeterminationRecord:
    """A record as an older cache stored it: metadata with no evidence or review keys at all."""
    data = _record(got).model_dump(mode="json")
    for key in ("evidence", "needs_review", "review_reasons"):
        del data["metadata"][key]
    return DeterminationRecord.model_validate_json(json.dumps(data))


#: The hand-built records copy no rendering's damage: no value is right only as a faithful copy.
NO_FAITHFUL = {"faithful_unflagged": 0, "faithful_flagged": 0}


def _n_values(label: dict[str, Any]) -> int:
    """Values scored per letter: 9 scalars, each state and specialty, 6 fields per item."""
    reviewer = label["reviewer"]
    return (
        9
        + len(reviewer["licensure_states"])
        + len(reviewer["specialties"])
        + 6 * len(label["items"])
    )


def _hand_run(outcomes: dict[str, DeterminationRecord | ImrError]) -> EvalRun:
    cases = {c.key: c for c in load_cases(GOLD, letters=["gA01", "gA02", "gA06"])}
    results = []
    for key, outcome in outcomes.items():
        case = cases[key]
        record = outcome if isinstance(outcome, DeterminationRecord) else None
        results.append(
            CaseResult(
                case=case,
                score=score_record(record.contract_dict() if record else None, case.label),
                record=record,
                error=outcome if isinstance(outcome, ImrError) else None,
                seconds=0.01,
            )
        )
    return EvalRun(
        engine="rules", model=None, settings=load_settings(), results=results,
        started_at=0.0, seconds=0.1, source_note="hand-built records",
    )  # fmt: skip


@pytest.fixture(scope="module")
def flagged_run() -> EvalRun:
    """Five cases: perfect with evidence; perfect from an old cache; a silent wrong outcome;
    a flagged record (one wrong flagged date, one right flagged age, one wrong unflagged case
    number); a letter with no record."""
    a01, a02, a06 = gold_label("gA01"), gold_label("gA02"), gold_label("gA06")
    silent = copy.deepcopy(a06)
    flip = {"upheld": "overturned", "overturned": "upheld"}
    silent["items"][0]["outcome"] = flip[silent["items"][0]["outcome"]]
    flagged = copy.deepcopy(a01)
    flagged["decision_date"] = "2001-01-01"
    flagged["case_number"] = "CM16-0000000"
    assert a01["patient"]["age"] is not None
    return _hand_run(
        {
            "gA01/layout": _record(a01, evidence={"case_number": "exact", "items[0].service":
                                                  "repaired"}),
            "gA02/layout": _old_cached(a02),
            "gA06/layout": _record(silent, evidence={"items[0].outcome": "exact"}),
            "gA01/ocr": _record(
                flagged,
                evidence={"decision_date": "unverified", "patient.age": "unverified",
                          "case_number": "exact"},
                needs_review=True,
                reasons=["decision_date unverified: label unreadable", "patient.age unverified"],
            ),
            "gA06/ocr": ExtractionAttemptsExhaustedError(3, ["decision_date: not at its label"]),
        }
    )  # fmt: skip


def test_case_summaries_carry_flags_and_value_counts(flagged_run: EvalRun) -> None:
    by_case = {s["case"]: s for s in (r.summary() for r in flagged_run.results)}
    n01, n02, n06 = (_n_values(gold_label(x)) for x in ("gA01", "gA02", "gA06"))

    perfect = by_case["gA01/layout"]
    assert perfect["needs_review"] is False and perfect["has_evidence"] is True
    assert perfect["unverified"] == [] and perfect["review_reasons"] == []
    assert perfect["values"] == {"right_unflagged": n01, "wrong_unflagged": 0,
                                 "right_flagged": 0, "wrong_flagged": 0, **NO_FAITHFUL}  # fmt: skip

    old = by_case["gA02/layout"]  # no evidence at all: nothing flagged, still scored
    assert old["needs_review"] is False and old["has_evidence"] is False
    assert old["values"]["right_unflagged"] == n02 and old["all_right"]

    silent = by_case["gA06/layout"]
    assert silent["values"] == {"right_unflagged": n06 - 1, "wrong_unflagged": 1,
                                "right_flagged": 0, "wrong_flagged": 0, **NO_FAITHFUL}  # fmt: skip

    flagged = by_case["gA01/ocr"]
    assert flagged["needs_review"] is True
    assert flagged["review_reasons"][0] == "decision_date unverified: label unreadable"
    assert flagged["unverified"] == ["decision_date", "patient.age"]
    assert flagged["values"] == {"right_unflagged": n01 - 3, "wrong_unflagged": 1,
                                 "right_flagged": 1, "wrong_flagged": 1, **NO_FAITHFUL}  # fmt: skip

    failed = by_case["gA06/ocr"]
    assert failed["needs_review"] is None and failed["error"] == "attempts_exhausted"
    assert set(failed["values"].values()) == {0}


def test_report_scores_flagged_and_unflagged_apart(flagged_run: EvalRun) -> None:
    report = build_report(flagged_run, GOLD)
    n01, n02, n06 = (_n_values(gold_label(x)) for x in ("gA01", "gA02", "gA06"))
    everything = report["review"]["all"]
    assert everything == {
        "cases": 5,
        "errors": 1,
        "records": 4,
        "records_with_evidence": 3,
        "records_flagged": 1,
        "records_unflagged": 3,
        "flagged_share": 0.25,
        "all_right_unflagged": round(2 / 3, 4),
        "all_right_flagged": 0.0,
        "values": 2 * n01 + n02 + n06,
        "values_flagged": 2,
        "accuracy_unflagged": round((2 * n01 + n02 + n06 - 4) / (2 * n01 + n02 + n06 - 2), 4),
        "accuracy_flagged": 0.5,
        "wrong_values": 3,
        "wrong_flagged": 1,
        "wrong_flagged_share": round(1 / 3, 4),
        "wrong_caught": 2,  # the flagged date, and the case number of a record needing review
        "wrong_caught_share": round(2 / 3, 4),
        "wrong_silent": 1,  # the flipped outcome in a record nobody was asked to look at
        "wrong_silent_share": round(1 / 3, 4),
        "faithful_values": 0,
        "faithful_flagged": 0,
    }
    layout, ocr = (
        report["review"]["by_rendering"]["layout"],
        report["review"]["by_rendering"]["ocr"],
    )
    assert set(report["review"]["by_rendering"]) == {"layout", "ocr"}
    assert (layout["records"], layout["records_flagged"], layout["flagged_share"]) == (3, 0, 0.0)
    assert layout["all_right_unflagged"] == round(2 / 3, 4) and layout["all_right_flagged"] is None
    assert layout["accuracy_flagged"] is None and layout["wrong_silent_share"] == 1.0
    assert (ocr["records"], ocr["errors"], ocr["records_flagged"]) == (1, 1, 1)
    assert ocr["all_right_unflagged"] is None and ocr["wrong_caught_share"] == 1.0
    json.dumps(report, allow_nan=False)  # None, never NaN, where there is nothing to share


def test_review_section_is_in_summary_and_html(flagged_run: EvalRun, tmp_path: Path) -> None:
    report = write_report(flagged_run, GOLD, tmp_path)
    assert json.loads((tmp_path / "report.json").read_text())["review"] == report["review"]
    summary = (tmp_path / "summary.md").read_text()
    assert "## Needs review: flagged and unflagged" in summary
    assert "| ocr | 1 | 1 of 1 (100.0%) | 1 | n/a | 0.0% of 1 |" in summary
    assert "| 1 of 3 (33.3%) | 2 of 3 (66.7%) | 1 of 3 (33.3%) |" in summary  # the "all" row
    page = (tmp_path / "report.html").read_text()
    assert "<h2>Needs review: flagged and unflagged</h2>" in page
    diff = (tmp_path / "diffs" / "gA01__ocr.md").read_text()
    assert "Needs review:\n- decision_date unverified: label unreadable\n" in diff
    assert "Unverified values (paths in the record): decision_date, patient.age" in diff
    assert "<td>1 of 1 (100.0%)</td>" in page


def test_summary_of_an_old_report_without_review_still_renders(flagged_run: EvalRun) -> None:
    from imr_llm.eval.report import report_html, summary_markdown

    report = build_report(flagged_run, GOLD)
    del report["review"]
    assert "Needs review" not in summary_markdown(report)
    assert "Needs review" not in report_html(report)


def test_values_name_their_own_evidence() -> None:
    gold = gold_label("gA06")
    got = copy.deepcopy(gold)
    states = gold["reviewer"]["licensure_states"]
    got["reviewer"]["licensure_states"] = [*states, "Texas"]  # one extra state, last
    got["items"].append({**got["items"][0], "service": "An invented service entirely"})
    del got["items"][0]  # a missing item (the first), and an extra one (now last)
    values = score_record(got, gold).values
    wrong = [v for v in values if not v.correct]
    n = len(got["items"])
    assert ValueResult("reviewer.licensure_states",
                       (f"reviewer.licensure_states[{len(states)}]", "reviewer.licensure_states"),
                       False) in wrong  # fmt: skip
    assert ValueResult("items", ("items",), False) in wrong  # the missing item
    extra = [v for v in wrong if v.keys and v.keys[0] == f"items[{n - 1}]"]
    assert len(extra) == 1 and f"items[{n - 1}].rationale" in extra[0].keys
    assert len(wrong) == 3
    # Flagging follows the value's own keys: the extra state's, the extra item's fields.
    unverified = {f"reviewer.licensure_states[{len(states)}]", f"items[{n - 1}].service"}
    assert flag_counts(values, unverified)["wrong_flagged"] == 2
    assert flag_counts(values, {"reviewer.licensure_states[0]"})["right_flagged"] == 1
    assert flag_counts(values, {"items[0].outcome"}) == {
        "right_unflagged": len(values) - 3 - 1, "wrong_unflagged": 3,
        "right_flagged": 1, "wrong_flagged": 0, **NO_FAITHFUL,
    }  # fmt: skip


def test_rules_report_has_a_consistent_review_section(rules_report: tuple[dict, Path]) -> None:
    report, out = rules_report
    review = report["review"]
    assert set(review["by_rendering"]) == set(report["by_rendering"])
    for group in (review["all"], *review["by_rendering"].values()):
        assert group["records"] + group["errors"] == group["cases"]
        assert group["records_flagged"] + group["records_unflagged"] == group["records"]
        assert group["wrong_caught"] + group["wrong_silent"] == group["wrong_values"]
    assert review["all"]["records"] == report["metrics"]["cases"] - report["metrics"]["errors"]
    for case in report["per_case"]:
        assert case["needs_review"] is (None if case["error"] else case["needs_review"])
        assert isinstance(case["values"], dict) and isinstance(case["unverified"], list)
    assert "## Needs review: flagged and unflagged" in (out / "summary.md").read_text()


def test_a_cut_rationale_is_a_wrong_value_at_its_own_path() -> None:
    gold = gold_label("gA06")
    got = copy.deepcopy(gold)
    rationale = got["items"][1]["rationale"]
    got["items"][1]["rationale"] = rationale[: int(len(rationale) * 0.8)]  # silently cut short
    wrong = [v for v in score_record(got, gold).values if not v.correct]
    assert wrong == [ValueResult("items.rationale", ("items[1].rationale",), False)]


# ----------------------------------------------------------------------------------------------
# Long values scored both ways: the clean label, and the rendering's own text at its place
# ----------------------------------------------------------------------------------------------

#: Hand-made OCR damage to gA01's first service (four letters changed: similarity below 0.95).
CLEAN_SERVICE = "MRI of the left knee without contrast"
DAMAGED_SERVICE = "MRl of thc lcft knee withont contrast"


def _rendering_with_damage() -> tuple[str, dict[str, Any]]:
    """gA01 with its first service damaged where the letter writes it (once), and its label."""
    label = gold_label("gA01")
    text = (GOLD / "letters" / "gA01.txt").read_text(encoding="utf-8")
    assert label["items"][0]["service"] == CLEAN_SERVICE and text.count(CLEAN_SERVICE) == 1
    return text.replace(CLEAN_SERVICE, DAMAGED_SERVICE), label


def _service_value(got: dict[str, Any], label: dict[str, Any], text: str | None) -> ValueResult:
    values = score_record(got, label, text).values
    return next(v for v in values if v.keys == ("items[0].service",))


def test_a_faithful_copy_of_the_rendering_is_right_and_counted_apart() -> None:
    text, label = _rendering_with_damage()
    got = copy.deepcopy(label)
    got["items"][0]["service"] = DAMAGED_SERVICE  # what the contract asks: the text given
    value = _service_value(got, label, text)
    assert value.correct and value.faithful
    assert flag_counts([value], set())["faithful_unflagged"] == 1
    score = score_record(got, label, text)
    assert score.fields["items.service"].kind == "faithful"
    assert not score.fields["items.service"].correct  # label-based accuracy keeps its meaning
    diff = next(d for d in score.diffs if d["field"] == "items[0].service")
    assert diff["faithful"] and diff["rendering"] == DAMAGED_SERVICE
    # Without the rendering (what the eval did before), the same value was a wrong one.
    assert not _service_value(got, label, None).correct


def test_a_value_that_is_neither_is_still_wrong() -> None:
    text, label = _rendering_with_damage()
    got = copy.deepcopy(label)
    got["items"][0]["service"] = "MRI of the right knee with contrast"  # a real mistake
    value = _service_value(got, label, text)
    assert not value.correct and not value.faithful
    assert score_record(got, label, text).fields["items.service"].kind == "wrong"
    other_damage = copy.deepcopy(label)
    other_damage["items"][0]["service"] = "MRl of tbe lefl knce witbout contrast"  # not the text
    assert not _service_value(other_damage, label, text).correct


def test_the_clean_label_is_still_right_on_a_damaged_rendering() -> None:
    text, label = _rendering_with_damage()
    value = _service_value(copy.deepcopy(label), label, text)  # repaired to the label
    assert value.correct and not value.faithful


def test_the_report_says_which_wrong_values_are_faithful_copies(
    rules_report: tuple[dict, Path],
) -> None:
    """On the gold renderings the rules engine copies OCR damage as the contract asks: those
    values are counted as faithful copies, not as silent wrong ones."""
    report, out = rules_report
    review = report["review"]["all"]
    assert review["faithful_values"] > 0
    assert review["wrong_caught"] + review["wrong_silent"] == review["wrong_values"]
    assert report["fields"]["items.rationale"]["faithful"] > 0
    clean = report["review"]["by_rendering"]["layout"]
    assert clean["faithful_values"] == 0  # the clean letter has nothing to copy but the label
    summary = (out / "summary.md").read_text()
    assert "faithful copies" in summary and "| wrong | faithful |" in summary
    faithful_diffs = [
        p
        for p in (out / "diffs").glob("*.md")
        if "a faithful copy of the rendering" in p.read_text()
    ]
    assert faithful_diffs and all("- rendering: " in p.read_text() for p in faithful_diffs)


def test_report_html_renders_code_not_backticks(rules_report: tuple[dict, Path]) -> None:
    report, out = rules_report
    page = (out / "report.html").read_text()
    assert f"<code>{report['git_commit']}</code>" in page
    assert "`" not in page and "**" not in page
    assert "<strong>rules</strong>" in page
