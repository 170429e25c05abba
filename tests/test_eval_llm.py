"""The eval harness on the LLM backend, offline: cassettes, and the response cache.

The answers here come from the local test server (live, or replayed from cassettes recorded
against it), which answers from the gold labels: the report must say so, and its numbers are
not a model's quality.
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from imr_llm.eval import run_eval, write_report
from imr_llm.eval.report import NOT_QUALITY
from imr_llm.testing.fake_openai import FakeOpenAIServer
from imr_llm.testing.oracle import GoldResponder
from tests.conftest import CASSETTE_LETTERS, GOLD


def _source(record_mode: str, live: bool) -> str:
    if live:
        return "a live endpoint (recording cassettes)"
    if record_mode == "none":
        return "cassettes recorded against the local test server (answers from gold labels)"
    return "the local test server (answers scripted from gold labels), recording cassettes"


@pytest.mark.vcr
def test_llm_eval_from_cassettes(
    endpoint: tuple[str, str, bool], vcr, record_mode: str, tmp_path: Path
) -> None:
    base_url, key, live = endpoint
    client = openai.OpenAI(base_url=base_url, api_key=key)
    run = run_eval(
        GOLD, "llm", letters=CASSETTE_LETTERS, renderings=["layout"], client=client,
        concurrency=1, source_note=_source(record_mode, live),
    )  # fmt: skip
    report = write_report(run, GOLD, tmp_path)
    assert report["engine"] == "llm" and not report["deterministic"]
    assert report["prompt_hash"] and report["answer_schema_hash"]
    assert report["metrics"]["cases"] == len(CASSETTE_LETTERS)
    assert report["usage"]["tokens_total"] > 0
    summary = (tmp_path / "summary.md").read_text()
    if not live:
        assert "test server" in report["answers_from"]
        assert NOT_QUALITY in summary
        assert report["metrics"]["all_right"]["mean"] == 1.0
    if record_mode == "none":
        assert "cassettes" in report["answers_from"]
        assert vcr.all_played


def test_response_cache_makes_a_rescore_free(tmp_path: Path) -> None:
    letters = ["gA02", "gB01"]
    with FakeOpenAIServer(responder=GoldResponder.from_gold_dir(GOLD)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test-key")
        first = run_eval(GOLD, "llm", letters=letters, renderings=["layout", "ocr"],
                         client=client, cache_dir=tmp_path / "cache")  # fmt: skip
        asked = len(server.chat_requests)
        second = run_eval(GOLD, "llm", letters=letters, renderings=["layout", "ocr"],
                          client=client, cache_dir=tmp_path / "cache")  # fmt: skip
        assert len(server.chat_requests) == asked  # nothing new was asked
    assert asked >= 4
    assert first.cache_misses == 4 and first.cache_hits == 0
    assert second.cache_hits == 4
    assert all(r.cached for r in second.results)
    assert [r.score.field_accuracy for r in second.results] == [
        r.score.field_accuracy for r in first.results
    ]


def test_cascade_eval_uses_the_model_only_where_rules_fail(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=GoldResponder.from_gold_dir(GOLD)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test-key")
        run = run_eval(GOLD, "cascade", letters=["gA02"], renderings=["layout", "noise-heavy"],
                       client=client)  # fmt: skip
    engines = {r.case.rendering: r.record.metadata.engine for r in run.results if r.record}
    assert engines.get("layout") == "rules"
    # The heavy-noise rendering defeats the rules engine; the model path gets it (or fails
    # with a typed error when the noise breaks grounding), never silently.
    noisy = next(r for r in run.results if r.case.rendering == "noise-heavy")
    assert (noisy.record is not None and noisy.record.metadata.engine == "llm") or noisy.error
