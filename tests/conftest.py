"""Shared fixtures: where the shared corpus lives, and small helpers for letter text."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("IMR_LLM_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
GOLD = REPO / "eval" / "gold"


def load_benchmark(stem: str) -> Any:
    """A fresh copy of ``benchmarks/<stem>.py`` as a module (the benchmarks are scripts, not
    a package), for tests of their figures and verdicts."""
    spec = importlib.util.spec_from_file_location(
        f"{stem}_under_test", REPO / "benchmarks" / f"{stem}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def corpus_available() -> bool:
    return (CORPUS / "labels").is_dir()


requires_corpus = pytest.mark.skipif(
    not corpus_available(), reason="../shared/corpus is not present beside the checkout"
)


#: Loopback only: the local OpenAI-compatible test server. Everything else stays blocked under
#: ``--block-network``.
LOOPBACK_HOSTS = [r"^127\.0\.0\.1$", r"^localhost$", r"^::1$"]


@pytest.fixture(scope="session")
def vcr_config() -> dict:
    """pytest-recording settings shared by every test (see cassettes/README.md)."""
    from imr_llm.testing import cassettes

    return {"allowed_hosts": LOOPBACK_HOSTS, **cassettes.vcr_config()}


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """Cassettes live in the top-level ``cassettes/`` folder, one sub-folder per test module."""
    return str(REPO / "cassettes" / request.module.__name__.split(".")[-1])


def pytest_recording_configure(config: pytest.Config, vcr: object) -> None:
    from imr_llm.testing import cassettes

    cassettes.register(vcr)


# ----------------------------------------------------------------------------------------------
# The LLM path: a local OpenAI-compatible test server and gold letters
# ----------------------------------------------------------------------------------------------

import json  # noqa: E402
from collections.abc import Iterator  # noqa: E402

from imr_llm.testing.fake_openai import FakeOpenAIServer  # noqa: E402


def gold_text(name: str) -> str:
    return (GOLD / "letters" / f"{name}.txt").read_text(encoding="utf-8")


def gold_label(name: str) -> dict:
    return json.loads((GOLD / "labels" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    """A fresh local test server on 127.0.0.1 (random port) with no scripted answers."""
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No model configured through the environment, whatever the machine has set."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "IMR_LLM_API_KEY", "IMR_LLM_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


# ----------------------------------------------------------------------------------------------
# Cassettes: where LLM requests go in this run
# ----------------------------------------------------------------------------------------------

#: Gold letters whose LLM exchanges are shipped as cassettes.
CASSETTE_LETTERS = ["gA03", "gB09", "seed-002"]
REPLAY_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens there: replay only


@pytest.fixture
def endpoint(record_mode: str) -> Iterator[tuple[str, str, bool]]:
    """(base URL, API key, live?): replay (record mode none), the local server, or a live model.

    Recording uses the local test server answering from the gold labels, unless
    IMR_LLM_RECORD_BASE_URL points at a live endpoint.
    """
    import os

    from imr_llm.testing.cassettes import LIVE_ENDPOINT_ENV
    from imr_llm.testing.oracle import GoldResponder

    if record_mode == "none":
        yield REPLAY_BASE_URL, "replay", False
        return
    live = os.environ.get(LIVE_ENDPOINT_ENV)
    if live:
        yield live, os.environ.get("OPENAI_API_KEY", "not-needed"), True
        return
    with FakeOpenAIServer(responder=GoldResponder.from_gold_dir(GOLD)) as server:
        yield server.base_url, "local-test-key", False
