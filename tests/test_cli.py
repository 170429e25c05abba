"""The command line as a user runs it: real files, real exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imr_llm.api import extract as real_extract
from imr_llm.cli import main as cli
from imr_llm.cli.main import app
from imr_llm.errors import ExtractionAttemptsExhaustedError
from imr_llm.record.models import DeterminationRecord, Evidence
from imr_llm.record.schema import schema_text
from tests.letters import Letter

runner = CliRunner()


@pytest.fixture
def letters(tmp_path: Path) -> list[Path]:
    paths = []
    for k, number in enumerate(["CM18-0101234", "CM18-0105678"]):
        path = tmp_path / f"letter{k}.txt"
        path.write_text(str(Letter()).replace("CM18-0101234", number))
        paths.append(path)
    return paths


def test_single_file_prints_pretty_json(letters: list[Path]) -> None:
    result = runner.invoke(app, ["extract", str(letters[0])])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["case_number"] == "CM18-0101234"
    assert data["metadata"]["engine"] == "rules"
    assert result.stdout.startswith("{\n")


def test_many_files_write_jsonl_and_failures_continue(letters: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("not a letter at all")
    out = tmp_path / "out.jsonl"
    files = [str(letters[0]), str(bad), str(tmp_path / "missing.txt"), str(letters[1])]
    result = runner.invoke(app, ["extract", *files, "--output", str(out)])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["case_number"] for r in rows] == ["CM18-0101234", "CM18-0105678"]
    assert [r["metadata"]["source"] for r in rows] == [str(letters[0]), str(letters[1])]
    errors = [
        json.loads(line) for line in (tmp_path / "out.jsonl.errors.jsonl").read_text().splitlines()
    ]
    assert {e["source"]: e["error"] for e in errors} == {
        str(bad): "not_an_imr_letter",
        str(tmp_path / "missing.txt"): "unreadable_input",
    }
    assert "2 of 4 letter(s) extracted (0 need review), 2 failed" in result.stderr
    assert "Traceback" not in result.output


def test_resume_skips_done_letters(letters: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert runner.invoke(app, ["extract", str(letters[0]), "-o", str(out), "-q"]).exit_code == 0
    result = runner.invoke(app, ["extract", *map(str, letters), "-o", str(out), "--resume"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["metadata"]["source"] for r in rows] == [str(letters[0]), str(letters[1])]
    assert "1 already done" in result.stderr


def test_contract_only_output(letters: list[Path]) -> None:
    result = runner.invoke(app, ["extract", str(letters[0]), "--contract-only"])
    data = json.loads(result.stdout)
    assert "metadata" not in data and "medically_necessary" not in data["items"][0]


def test_stdin(letters: list[Path]) -> None:
    result = runner.invoke(app, ["extract", "-"], input=letters[0].read_text())
    assert result.exit_code == 0
    assert json.loads(result.stdout)["case_number"] == "CM18-0101234"


def test_bad_backend_is_a_usage_error(letters: list[Path]) -> None:
    result = runner.invoke(app, ["extract", str(letters[0]), "--backend", "magic"])
    assert result.exit_code == 2
    assert "unknown backend" in result.stderr


def test_schema_command_prints_schema() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == schema_text()


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("   ")
    proc = subprocess.run(
        [sys.executable, "-m", "imr_llm.cli.main", "extract", str(empty)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "empty" in proc.stderr and "Traceback" not in proc.stderr


# ----------------------------------------------------------------------------------------------
# Records that need review: counted, noted, never a failure; --strict reaches extract
# ----------------------------------------------------------------------------------------------

REASONS = [
    "decision_date unverified: its label is unreadable in the scan",
    "items[1].rationale ends mid-sentence",
]


def _flagging_extract(flag_cases: set[str], seen: list | None = None):
    """The real rules extraction, with the records of ``flag_cases`` flagged by hand."""

    def fake(text: str, **kwargs: object) -> DeterminationRecord:
        if seen is not None:
            seen.append(kwargs)
        record = real_extract(text, **kwargs)  # type: ignore[arg-type]
        assert record.metadata is not None
        if record.case_number in flag_cases:
            record.metadata.needs_review = True
            record.metadata.review_reasons = list(REASONS)
            record.metadata.evidence["decision_date"] = Evidence(status="unverified")
        return record

    return fake


@pytest.fixture
def three_letters(letters: list[Path], tmp_path: Path) -> list[Path]:
    third = tmp_path / "letter2.txt"
    third.write_text(str(Letter()).replace("CM18-0101234", "CM18-0109999"))
    return [*letters, third]


def test_summary_line_counts_records_needing_review(
    three_letters: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "extract", _flagging_extract({"CM18-0101234", "CM18-0109999"}))
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", *map(str, three_letters), "-o", str(out)])
    assert result.exit_code == 0, result.output  # flagged records are records
    assert "3 of 3 letter(s) extracted (2 need review), 0 failed" in result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["metadata"]["needs_review"] for r in rows] == [True, False, True]
    assert rows[0]["metadata"]["review_reasons"] == REASONS
    assert "needs review:" not in result.stderr  # the per-letter note is for stdout output only


def test_summary_counts_one_flagged_record_beside_a_failure(
    letters: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "extract", _flagging_extract({"CM18-0105678"}))
    bad = tmp_path / "bad.txt"
    bad.write_text("not a letter at all")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", *map(str, letters), str(bad), "-o", str(out)])
    assert result.exit_code == 1  # for the failure, not for the flag
    assert "2 of 3 letter(s) extracted (1 needs review), 1 failed" in result.stderr


def test_single_flagged_letter_notes_the_reasons_on_stderr(
    letters: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "extract", _flagging_extract({"CM18-0101234"}))
    for extra in ([], ["-q"]):
        result = runner.invoke(app, ["extract", str(letters[0]), *extra])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)  # stdout stays pure JSON
        assert data["metadata"]["needs_review"] is True
        notes = [line for line in result.stderr.splitlines() if line.startswith("needs review")]
        assert notes == [
            f"needs review: {letters[0]}: 2 reasons, first: {REASONS[0]} "
            "(all in metadata.review_reasons)"
        ]
    result = runner.invoke(app, ["extract", str(letters[0]), "--contract-only"])
    assert "metadata" not in json.loads(result.stdout)
    assert "metadata left out by --contract-only" in result.stderr


def test_single_unflagged_letter_has_no_review_note(
    letters: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "extract", _flagging_extract(set()))
    result = runner.invoke(app, ["extract", str(letters[0])])
    assert result.exit_code == 0
    assert "needs review:" not in result.stderr
    assert "1 of 1 letter(s) extracted (0 need review), 0 failed" in result.stderr


def test_review_note_with_one_or_no_reason() -> None:
    assert cli._review_note("a.txt", ["age unverified\n  (torn page)"], False) == (
        "needs review: a.txt: 1 reason: age unverified (torn page) (all in metadata.review_reasons)"
    )
    assert cli._review_note("a.txt", [], False) == "needs review: a.txt (no reason given)"


def test_strict_flag_reaches_extract(letters: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMR_LLM_STRICT", raising=False)
    seen: list[dict] = []
    monkeypatch.setattr(cli, "extract", _flagging_extract(set(), seen))
    assert runner.invoke(app, ["extract", str(letters[0]), "--strict"]).exit_code == 0
    assert runner.invoke(app, ["extract", str(letters[0])]).exit_code == 0
    assert [kw["settings"].strict for kw in seen] == [True, False]  # type: ignore[union-attr]
    monkeypatch.setenv("IMR_LLM_STRICT", "true")  # without the flag, the environment decides
    assert runner.invoke(app, ["extract", str(letters[0])]).exit_code == 0
    assert seen[-1]["settings"].strict is True  # type: ignore[union-attr]


def test_log_letter_text_flag_reaches_extract(
    letters: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMR_LLM_LOG_LETTER_TEXT", raising=False)
    seen: list[dict] = []
    monkeypatch.setattr(cli, "extract", _flagging_extract(set(), seen))
    assert runner.invoke(app, ["extract", str(letters[0]), "--log-letter-text"]).exit_code == 0
    assert runner.invoke(app, ["extract", str(letters[0])]).exit_code == 0
    assert [kw["settings"].log_letter_text for kw in seen] == [True, False]  # type: ignore[union-attr]


def test_strict_turns_exhausted_attempts_into_a_failure(
    letters: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What extract promises: flagged best record by default, the typed error under strict."""
    monkeypatch.delenv("IMR_LLM_STRICT", raising=False)
    flagging = _flagging_extract({"CM18-0101234"})

    def fake(text: str, **kwargs: object) -> DeterminationRecord:
        if kwargs["settings"].strict:  # type: ignore[union-attr]
            raise ExtractionAttemptsExhaustedError(3, ["decision_date: not at its label"])
        return flagging(text, **kwargs)

    monkeypatch.setattr(cli, "extract", fake)
    lenient = runner.invoke(app, ["extract", str(letters[0])])
    assert lenient.exit_code == 0 and "needs review:" in lenient.stderr
    strict = runner.invoke(app, ["extract", str(letters[0]), "--strict"])
    assert strict.exit_code == 1 and strict.stdout == ""
    assert "no valid record in 3 attempt(s)" in strict.stderr
    assert "0 of 1 letter(s) extracted (0 need review), 1 failed" in strict.stderr


def test_failure_lines_print_names_and_messages_verbatim(tmp_path: Path) -> None:
    odd = tmp_path / "scan[a] :x:.txt"
    odd.write_text("not a letter at all")
    result = runner.invoke(app, ["extract", str(odd)])
    assert result.exit_code == 1
    assert f"failed {odd}:" in result.stderr
