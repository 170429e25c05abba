"""The eval harness end to end: the rules engine over every gold rendering, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imr_llm.cli import app
from imr_llm.eval import compare_reports, load_cases, run_eval, write_report
from tests.conftest import GOLD, REPO

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
