"""What a new user tripped on (issue 19), each tried as a new user would: the command line and
the Python API on real-shaped letters, with the environment a developer's machine has.

- ``OPENAI_API_KEY`` alone (set for other tools on many machines) never sends a medical letter
  to a model: ``auto`` uses one only when ``IMR_LLM_MODEL`` or ``IMR_LLM_BASE_URL`` names it,
  and the command line says on stderr which engine it uses and where the letters go;
- a bad setting is one line, not pydantic's four-line report with a URL;
- ``tools`` mode against llama.cpp's server or Ollama (which do not force the tool call) is
  warned about, from the base URL or from the server's own answers;
- the outputs say what they mean: ``--contract-only`` is exactly the contract, no empty
  failures file, no WARNING line repeating a "failed" line, ``schema --write`` never writes
  into an installed package, exit 1 while a failure kept from an earlier run remains.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from typer.testing import CliRunner

from imr_llm import extract
from imr_llm.cli.main import app
from imr_llm.llm import servers
from imr_llm.record.models import CONTRACT_FIELDS
from imr_llm.testing import fake_openai
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.oracle import ideal_answer
from tests.conftest import GOLD, gold_label, gold_text

runner = CliRunner()
NAME = "gA01"
ENDPOINT_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "IMR_LLM_API_KEY", "IMR_LLM_BASE_URL")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for key in list(os.environ):
        if key.upper().startswith(("IMR_LLM_", "OPENAI_")):
            monkeypatch.delenv(key)
    return monkeypatch


@pytest.fixture
def letter(tmp_path: Path) -> Path:
    path = tmp_path / "letter.txt"
    shutil.copyfile(GOLD / "letters" / f"{NAME}.txt", path)
    return path


# ----------------------------------------------------------------------------------------------
# Privacy: which engine, and where the letters go
# ----------------------------------------------------------------------------------------------


def test_an_openai_key_alone_keeps_the_cli_offline_and_says_why(
    clean_env: pytest.MonkeyPatch, letter: Path, fake_server: FakeOpenAIServer
) -> None:
    clean_env.setenv("OPENAI_API_KEY", "sk-not-a-real-key-0000")
    clean_env.setenv("OPENAI_BASE_URL", fake_server.base_url)  # a server that would answer
    result = runner.invoke(app, ["extract", str(letter)])
    assert result.exit_code == 0, result.output
    assert fake_server.requests == []  # nothing was sent
    assert json.loads(result.stdout)["metadata"]["engine"] == "rules"
    first = result.stderr.splitlines()[0]
    assert first.startswith("engine: rules (offline)")
    assert "OPENAI_API_KEY and OPENAI_BASE_URL" in first and "IMR_LLM_MODEL" in first
    assert "sk-not" not in result.stderr


def test_the_cli_names_the_model_and_the_endpoint_host_it_sends_letters_to(
    clean_env: pytest.MonkeyPatch, letter: Path, fake_server: FakeOpenAIServer
) -> None:
    userinfo = f"http://proxy-user:sk-secret-000000@127.0.0.1:{fake_server.port}/v1"
    clean_env.setenv("IMR_LLM_BASE_URL", userinfo)  # a password in the URL is never shown
    clean_env.setenv("IMR_LLM_MODEL", "my-model")
    fake_server.enqueue(Step.answer(ideal_answer(gold_label(NAME))))
    result = runner.invoke(app, ["extract", str(letter)])
    assert result.exit_code == 0, result.output
    host = f"127.0.0.1:{fake_server.port}"
    assert result.stderr.splitlines()[0] == f"engine: llm (model my-model at {host})"
    assert "secret" not in result.stderr and len(fake_server.chat_requests) == 1
    cascade = runner.invoke(app, ["extract", "-b", "cascade", str(letter)])
    assert cascade.stderr.splitlines()[0] == (
        f"engine: cascade (rules first; model my-model at {host} for letters the rules cannot read)"
    )
    quiet = runner.invoke(app, ["extract", "-b", "rules", "-q", str(letter)])
    assert quiet.stderr == ""


def test_a_model_named_without_an_endpoint_says_so_before_the_letters_fail(
    clean_env: pytest.MonkeyPatch, letter: Path
) -> None:
    clean_env.setenv("IMR_LLM_MODEL", "gpt-4o-mini")
    result = runner.invoke(app, ["extract", str(letter)])
    assert result.exit_code == 1  # each letter: no_model_configured
    assert result.stderr.splitlines()[0] == (
        "engine: llm (model gpt-4o-mini, but no endpoint: set OPENAI_API_KEY for OpenAI, or "
        "IMR_LLM_BASE_URL for another server)"
    )
    clean_env.setenv("OPENAI_API_KEY", "sk-not-a-real-key-0000")
    clean_env.delenv("IMR_LLM_MODEL")
    one = runner.invoke(app, ["extract", str(letter)])
    assert "OPENAI_API_KEY alone sends no letter to a model" in one.stderr.splitlines()[0]


def test_with_nothing_configured_the_line_is_short(
    clean_env: pytest.MonkeyPatch, letter: Path
) -> None:
    result = runner.invoke(app, ["extract", str(letter)])
    assert result.stderr.splitlines()[0] == "engine: rules (offline; no model named)"
    review = runner.invoke(app, ["review", str(letter), "--out", str(letter.parent / "r")])
    assert review.exit_code == 0 and "engine: rules (offline; no model named)" in review.stderr


# ----------------------------------------------------------------------------------------------
# Bad settings: one line
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "option", "said"),
    [
        ({"IMR_LLM_MAX_ATTEMPTS": "abc"}, [], "max_attempts (from IMR_LLM_MAX_ATTEMPTS)"),
        ({"IMR_LLM_MODE": "foo"}, [], "mode (from IMR_LLM_MODE): Input should be 'tools'"),
        ({}, ["--ocr-engine", "bogus"], "ocr_engine: unknown OCR engine 'bogus'"),
    ],
    ids=["max-attempts", "mode", "ocr-engine"],
)
def test_a_bad_setting_is_one_line(
    clean_env: pytest.MonkeyPatch, letter: Path, env: dict, option: list[str], said: str
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    for command in (["extract", *option, str(letter)], ["review", str(letter), "--out", "r"]):
        if option and command[0] == "review":
            continue
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: bad configuration: {said}")
        assert "errors.pydantic.dev" not in result.stderr and "validation error" not in lines[0]
    if env:
        batch = runner.invoke(app, ["batch", "status", str(letter.parent)])
        assert batch.exit_code == 2 and len(batch.stderr.strip().splitlines()) == 1


def test_the_api_says_the_same_line(clean_env: pytest.MonkeyPatch) -> None:
    from imr_llm import ConfigurationError

    clean_env.setenv("IMR_LLM_MAX_ATTEMPTS", "abc")
    with pytest.raises(ConfigurationError) as info:
        extract(gold_text(NAME), backend="rules")
    assert str(info.value) == (
        "invalid settings: max_attempts (from IMR_LLM_MAX_ATTEMPTS): Input should be a valid "
        "integer, unable to parse string as an integer (got 'abc')"
    )


def test_a_key_s_value_is_never_repeated() -> None:
    from pydantic import ValidationError

    from imr_llm.config import Settings, invalid_settings

    with pytest.raises(ValidationError) as info:
        Settings.model_validate({"api_key": 12345678901234, "max_attempts": "x"})
    message = str(invalid_settings(info.value))
    assert "12345678901234" not in message and "'x'" in message


# ----------------------------------------------------------------------------------------------
# tools mode on servers that do not force the tool call
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(servers, "_warned", set())


@pytest.mark.parametrize(
    ("answer", "server"),
    [
        ({"system_fingerprint": "fp_ollama"}, "ollama"),
        ({"system_fingerprint": "b4963-02082f15", "timings": {}}, "llamacpp"),
        ({"system_fingerprint": "fp_44709d6fcb", "timings": {"prompt_n": 22, "predicted_n": 9}},
         "llamacpp"),
        ({"system_fingerprint": "fp_44709d6fcb"}, None),  # OpenAI's own
        ({"system_fingerprint": None}, None),  # vLLM sends none
        ({"system_fingerprint": "fake-openai"}, None),
    ],
)  # fmt: skip
def test_servers_are_recognised_by_their_answers(answer: dict, server: str | None) -> None:
    assert servers.server_from_answer(answer) == server
    completion = openai.types.chat.ChatCompletion.model_validate(
        {"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": [],
         **answer}
    )  # fmt: skip
    assert servers.server_from_answer(completion) == server


def test_ollama_is_recognised_by_its_port() -> None:
    assert servers.server_from_url("http://localhost:11434/v1") == "ollama"
    assert servers.server_from_url("http://gpu-box:8000/v1") is None
    assert servers.server_from_url(None) is None and servers.server_from_url("nonsense") is None


@pytest.mark.parametrize("fingerprint", ["fp_ollama", "b4963-02082f15"])
def test_tools_mode_is_warned_about_once_when_the_server_says_so(
    fake_server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fresh_warnings: None,
    fingerprint: str,
) -> None:
    monkeypatch.setattr(fake_openai, "_FINGERPRINT", fingerprint)  # answers as that server
    fake_server.enqueue(*[Step.answer(ideal_answer(gold_label(NAME)))] * 3)
    with (
        openai.OpenAI(base_url=fake_server.base_url, api_key="not-needed") as client,
        caplog.at_level(logging.WARNING, logger="imr_llm"),
    ):
        extract(gold_text(NAME), backend="llm", client=client, mode="tools")
        extract(gold_text(NAME), backend="llm", client=client, mode="tools")
        extract(gold_text(NAME), backend="llm", client=client, mode="json_schema")
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1  # once, not per letter; and not in json_schema mode
    assert "IMR_LLM_MODE=json_schema" in warned[0] and "does not force the tool call" in warned[0]
    assert ("Ollama" if fingerprint == "fp_ollama" else "llama.cpp") in warned[0]


def test_no_warning_for_a_server_that_forces_the_tool_call(
    fake_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture, fresh_warnings: None
) -> None:
    fake_server.enqueue(Step.answer(ideal_answer(gold_label(NAME))))
    with (
        openai.OpenAI(base_url=fake_server.base_url, api_key="not-needed") as client,
        caplog.at_level(logging.WARNING, logger="imr_llm"),
    ):
        extract(gold_text(NAME), backend="llm", client=client, mode="tools")
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it: its own process, so its logging reaches stderr as it
    would (under pytest the root logger's handlers swallow it)."""
    import os

    clean = {
        k: v for k, v in os.environ.items() if not k.upper().startswith(("IMR_LLM_", "OPENAI_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "imr_llm.cli.main", *args],
        capture_output=True, text=True, check=False, timeout=120, env={**clean, **env},
    )  # fmt: skip


def test_the_cli_warns_from_the_base_url_before_any_answer(letter: Path) -> None:
    ollama = {"IMR_LLM_BASE_URL": "http://127.0.0.1:11434/v1", "IMR_LLM_TRANSPORT_RETRIES": "0"}
    result = _cli("extract", str(letter), env=ollama)  # Ollama's port, nothing listening
    assert result.returncode == 1, result.stderr
    warned = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warned) == 1 and "looks like Ollama (its port)" in warned[0], result.stderr
    json_schema = _cli("extract", str(letter), env={**ollama, "IMR_LLM_MODE": "json_schema"})
    assert "WARNING" not in json_schema.stderr


# ----------------------------------------------------------------------------------------------
# Outputs that say what they mean
# ----------------------------------------------------------------------------------------------


def test_contract_only_is_exactly_the_contract(letter: Path, tmp_path: Path) -> None:
    one = runner.invoke(app, ["extract", "-b", "rules", "--contract-only", str(letter)])
    assert one.exit_code == 0, one.output
    data = json.loads(one.stdout)
    assert list(data) == list(CONTRACT_FIELDS) and data == gold_label(NAME)
    out = tmp_path / "out.jsonl"
    many = runner.invoke(
        app, ["extract", "-b", "rules", "--contract-only", str(letter), "-o", str(out)]
    )
    assert many.exit_code == 0
    assert [json.loads(line) for line in out.read_text().splitlines()] == [gold_label(NAME)]


def test_no_failures_file_without_a_failure(letter: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    failures = tmp_path / "out.jsonl.errors.jsonl"
    bad = tmp_path / "bad.txt"
    bad.write_text("not a letter")
    first = runner.invoke(app, ["extract", "-b", "rules", str(letter), str(bad), "-o", str(out)])
    assert first.exit_code == 1 and failures.is_file()
    bad.write_bytes(letter.read_bytes() + b"\n")  # fixed
    again = runner.invoke(app, ["extract", "-b", "rules", str(letter), str(bad), "-o", str(out)])
    assert again.exit_code == 0 and not failures.exists()  # the stale list is gone too
    assert "failures listed" not in again.stderr


def test_stdin_failures_kept_by_retry_failed_keep_the_exit_code_at_1(tmp_path: Path) -> None:
    """A letter read from standard input cannot be read again: --retry-failed keeps its row,
    and with it left, the run did not extract everything: exit 1, never 0."""
    out = tmp_path / "out.jsonl"
    failures = tmp_path / "out.jsonl.errors.jsonl"
    first = runner.invoke(app, ["extract", "-b", "rules", "-", "-o", str(out)], input="no letter")
    assert first.exit_code == 1
    kept = failures.read_text()
    assert json.loads(kept)["source"] == "-"
    retry = runner.invoke(app, ["extract", "-b", "rules", "-o", str(out), "--retry-failed"])
    assert retry.exit_code == 1, retry.output
    assert failures.read_text() == kept  # the row is kept, unchanged
    assert "1 failed" in retry.stderr and "read from standard input kept" in retry.stderr


def test_a_failed_letter_is_said_once_without_v(
    letter: Path, fake_server: FakeOpenAIServer
) -> None:
    env = {"IMR_LLM_BASE_URL": fake_server.base_url, "IMR_LLM_TRANSPORT_RETRIES": "1"}
    fake_server.enqueue(Step.error(401, message="bad key"), *[Step.error(503)] * 2)
    refused = _cli("extract", str(letter), env=env)
    failing = _cli("extract", str(letter), env=env)
    for result in (refused, failing):
        assert result.returncode == 1
        assert "WARNING" not in result.stderr, result.stderr
        failed = [line for line in result.stderr.splitlines() if "failed" in line]
        assert len(failed) == 2 and failed[0].startswith("failed "), result.stderr
    assert "refused the request: HTTP 401" in refused.stderr
    assert "kept failing (HTTP 503" in failing.stderr
    verbose = _cli(
        "extract", "-v", str(letter), env={**env, "IMR_LLM_BASE_URL": "http://127.0.0.1:9/v1"}
    )
    assert "giving up" in verbose.stderr  # what happened is still logged, under -v


def test_schema_write_refuses_an_installed_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """In a wheel install the package's folder sits in site-packages, with no pyproject.toml
    of ours beside it: --write must not write there."""
    from imr_llm import resources

    site = tmp_path / "site-packages"
    (site / "schemas").mkdir(parents=True)  # another package's top-level folder, say
    (site / "pyproject.toml").write_text('[project]\nname = "someone-else"\n')
    monkeypatch.setattr(resources, "_REPO_ROOT", site)
    result = runner.invoke(app, ["schema", "--write"])
    assert result.exit_code == 2
    assert "belongs to the installed package" in result.stderr
    assert "imr-llm schema > FILE" in result.stderr
    assert not list((site / "schemas").iterdir())
    assert runner.invoke(app, ["schema"]).exit_code == 0  # printing still works


def test_schema_write_works_in_a_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from imr_llm import resources
    from imr_llm.record.schema import schema_text

    repo = tmp_path / "repo"
    (repo / "schemas").mkdir(parents=True)
    (repo / "pyproject.toml").write_text('[project]\nname = "imr-llm"\n')
    monkeypatch.setattr(resources, "_REPO_ROOT", repo)
    result = runner.invoke(app, ["schema", "--write"])
    assert result.exit_code == 0, result.output
    written = repo / "schemas" / "determination_record.schema.json"
    assert written.read_text(encoding="utf-8") == schema_text()


def test_an_eval_report_names_the_endpoint_by_its_host_only(
    clean_env: pytest.MonkeyPatch, fake_server: FakeOpenAIServer
) -> None:
    from imr_llm.config import load_settings
    from imr_llm.eval import run_eval
    from imr_llm.testing.oracle import GoldResponder

    fake_server.responder = GoldResponder.from_gold_dir(GOLD)
    url = f"http://proxy-user:sk-secret-000000@127.0.0.1:{fake_server.port}/v1"
    settings = load_settings(base_url=url, model="my-model")
    run = run_eval(GOLD, "llm", letters=[NAME], renderings=["layout"], settings=settings)
    assert run.source_note == f"model my-model at 127.0.0.1:{fake_server.port}"
    assert run.results[0].error is None
