"""``imr-llm batch`` and ``imr-llm eval --from-batch`` on the command line, against the local
test server (scripted answers from the gold labels: the pipeline, not a model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imr_llm.cli.main import app
from imr_llm.testing.fake_openai import BatchPlan, FakeOpenAIServer
from tests.conftest import GOLD, gold_label
from tests.test_jobs import NAMES, Script, run_elsewhere

runner = CliRunner()


@pytest.fixture
def env(fake_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAIServer:
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-only")
    monkeypatch.setenv("IMR_LLM_MODEL", "gpt-4o-mini")
    fake_server.responder = Script(NAMES, wrong_first=["gA03"])
    return fake_server


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    out = []
    for name in NAMES:
        shutil.copy(GOLD / "letters" / f"{name}.txt", tmp_path / f"{name}.txt")
        out.append(str(tmp_path / f"{name}.txt"))
    return out


def test_submit_status_collect_exit_codes(
    env: FakeOpenAIServer, tmp_path: Path, files: list[str]
) -> None:
    env.batches.enqueue(BatchPlan(polls=1))
    job = tmp_path / "job"
    result = runner.invoke(app, ["batch", "submit", *files, "--out", str(job)])
    assert result.exit_code == 0, result.output
    assert "submitted 3 of 3 letter(s)" in result.stderr and "batch batch_" in result.stderr
    again = runner.invoke(app, ["batch", "submit", *files, "--out", str(job)])
    assert again.exit_code == 2 and "already holds a batch job" in again.stderr

    status = runner.invoke(app, ["batch", "status", str(job)])
    assert "3 pending" in status.stdout and "in_progress" in status.stdout
    assert status.exit_code == 3  # pending, as collect says it (the README's exit codes)

    first = runner.invoke(app, ["batch", "collect", str(job)])  # round 1 done; gA03 re-asked
    assert first.exit_code == 3, first.output
    assert "2 of 3 letter(s) extracted" in first.stderr and "1 pending" in first.stderr
    assert "pending: round 2" in first.stderr

    final = runner.invoke(app, ["batch", "collect", str(job)])
    assert final.exit_code == 0, final.output
    assert "3 of 3 letter(s) extracted (0 need review), 0 failed, 0 pending" in final.stderr
    assert "2 batch(es), 1 follow-up" in final.stderr
    assert runner.invoke(app, ["batch", "status", str(job)]).exit_code == 0  # all done
    rows = [json.loads(x) for x in (job / "records.jsonl").read_text().splitlines()]
    assert sorted(Path(r["metadata"]["source"]).stem for r in rows) == NAMES
    assert "sk-test-only" not in "".join(p.read_text() for p in job.glob("*.json*"))


def test_collect_wait_and_failures_exit_1(
    env: FakeOpenAIServer, tmp_path: Path, files: list[str]
) -> None:
    missing = str(tmp_path / "missing.txt")
    out = tmp_path / "records.jsonl"
    result = runner.invoke(
        app, ["batch", "submit", *files, missing, "--out", str(tmp_path / "j"), "-o", str(out)]
    )
    assert result.exit_code == 1 and "1 could not be read" in result.stderr
    done = runner.invoke(
        app, ["batch", "collect", str(tmp_path / "j"), "--wait", "--poll-interval", "0"]
    )
    assert done.exit_code == 1, done.output
    assert (
        "3 of 4 letter(s) extracted" in done.stderr
        and f"failures listed in {out}.errors.jsonl" in done.stderr
    )
    assert len(out.read_text().splitlines()) == 3
    status = runner.invoke(app, ["batch", "status", str(tmp_path / "j")])
    assert status.exit_code == 1 and "1 failed, 0 pending" in status.stdout


def test_misuse_exits_2(env: FakeOpenAIServer, tmp_path: Path) -> None:
    assert runner.invoke(app, ["batch", "status", str(tmp_path)]).exit_code == 2
    assert runner.invoke(app, ["batch", "collect", str(tmp_path / "none")]).exit_code == 2
    (tmp_path / "job.json").write_text("{}")
    res = runner.invoke(app, ["batch", "collect", str(tmp_path), "--results", str(tmp_path / "x")])
    assert res.exit_code == 2 and "no results file" in res.stderr


def test_failed_batch_exits_1_with_one_line(
    env: FakeOpenAIServer, tmp_path: Path, files: list[str]
) -> None:
    env.batches.enqueue(BatchPlan(status="failed"))
    assert (
        runner.invoke(app, ["batch", "submit", *files, "--out", str(tmp_path / "j")]).exit_code == 0
    )
    res = runner.invoke(app, ["batch", "collect", str(tmp_path / "j")])
    assert (
        res.exit_code == 1
        and res.stderr.startswith("error: batch ")
        and "Traceback" not in res.output
    )


def test_offline_file_and_results(
    tmp_path: Path, files: list[str], monkeypatch: pytest.MonkeyPatch, no_model_env: None
) -> None:
    monkeypatch.setenv("IMR_LLM_MODEL", "gpt-4o-mini")
    requests = tmp_path / "requests.jsonl"
    job = tmp_path / "job"
    res = runner.invoke(
        app, ["batch", "submit", *files, "--out", str(job), "--offline-file", str(requests)]
    )
    assert res.exit_code == 0, res.output
    assert "nothing uploaded" in res.stderr and len(requests.read_text().splitlines()) == 3
    script = Script(NAMES, wrong_first=["gA03"])
    run_elsewhere(requests, tmp_path / "out1.jsonl", script)
    res = runner.invoke(
        app, ["batch", "collect", str(job), "--results", str(tmp_path / "out1.jsonl")]
    )
    assert res.exit_code == 3 and "vllm run-batch -i" in res.stderr
    assert f"{job}/round-002.requests.jsonl" in res.stderr
    run_elsewhere(job / "round-002.requests.jsonl", tmp_path / "out2.jsonl", script)
    res = runner.invoke(
        app, ["batch", "collect", str(job), "--results", str(tmp_path / "out2.jsonl")]
    )
    assert res.exit_code == 0, res.output


def test_dry_run_sends_and_writes_nothing(
    env: FakeOpenAIServer, tmp_path: Path, files: list[str]
) -> None:
    res = runner.invoke(
        app, ["batch", "submit", *files, "--out", str(tmp_path / "job"), "--dry-run"]
    )
    assert res.exit_code == 0, res.output
    assert "3 letter(s)" in res.stdout and "batch job (50% off)" in res.stdout
    assert not (tmp_path / "job").exists() and env.requests == []


def test_eval_from_batch(env: FakeOpenAIServer, tmp_path: Path) -> None:
    files = [str(GOLD / "letters" / f"{n}.txt") for n in NAMES]
    job, out = tmp_path / "job", tmp_path / "eval"
    assert runner.invoke(app, ["batch", "submit", *files, "--out", str(job)]).exit_code == 0
    assert (
        runner.invoke(
            app, ["batch", "collect", str(job), "--wait", "--poll-interval", "0"]
        ).exit_code
        == 0
    )
    requests = len(env.requests)
    res = runner.invoke(
        app, ["eval", "--from-batch", str(job), "--gold", str(GOLD), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert len(env.requests) == requests  # scored from the folder: no model call
    report = json.loads((out / "report.json").read_text())
    assert report["metrics"]["cases"] == 3 and report["engine"] == "llm"
    assert report["metrics"]["all_right"]["mean"] == 1.0
    assert report["model"] == "gpt-4o-mini"
    assert {c["case"] for c in report["per_case"]} == {f"{n}/layout" for n in NAMES}
    assert gold_label(NAMES[0])  # the labels the report scored against
    empty = tmp_path / "empty"
    runner.invoke(app, ["batch", "submit", str(tmp_path / "nothing.txt"), "--out", str(empty)])
    res = runner.invoke(
        app, ["eval", "--from-batch", str(empty), "--gold", str(GOLD), "--out", str(out)]
    )
    assert res.exit_code == 2 and "holds no letter of the gold set" in res.stderr


def test_eval_from_batch_counts_a_failed_letter_as_an_error(
    env: FakeOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.responder = Script(NAMES, always_wrong=["gA02"])
    monkeypatch.setenv("IMR_LLM_MAX_ATTEMPTS", "1")
    files = [str(GOLD / "letters" / f"{n}.txt") for n in NAMES]
    job, out = tmp_path / "job", tmp_path / "eval"
    assert runner.invoke(app, ["batch", "submit", *files, "--out", str(job)]).exit_code == 0
    assert runner.invoke(app, ["batch", "collect", str(job)]).exit_code == 1
    res = runner.invoke(
        app, ["eval", "--from-batch", str(job), "--gold", str(GOLD), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.json").read_text())
    cases = {c["case"]: c for c in report["per_case"]}
    assert cases["gA02/layout"]["error"] == "attempts_exhausted"
    assert cases["gA02/layout"]["attempts"] == 1 and cases["gA02/layout"]["tokens"] > 0
    assert cases["gA01/layout"]["error"] is None and report["metrics"]["errors"] == 1
