"""The command line as a user runs it: real files, real exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imr_llm.cli import app
from imr_llm.schema import schema_text
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
    assert "2 of 4 letter(s) extracted, 2 failed" in result.stderr
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
        [sys.executable, "-m", "imr_llm.cli", "extract", str(empty)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "empty" in proc.stderr and "Traceback" not in proc.stderr
