"""The cost estimate before a run: its documented formula, worked by hand here, and the CLI.

Expected figures are computed in each test from the formula in ``imr_llm/llm/cost.py``'s docstring,
with the ratios written out as numbers and the request's fixed part measured on the body the
local test server received from a real extraction (not on what the estimate builds).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import openai
import pytest
from typer.testing import CliRunner

from imr_llm import extract
from imr_llm.cli.main import app
from imr_llm.config import load_settings
from imr_llm.errors import ConfigurationError
from imr_llm.llm.cost import CostEstimate, estimate
from imr_llm.llm.extractor import request_body
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.oracle import ideal_answer
from tests.conftest import GOLD, gold_label, gold_text

PROMPTS = Path(__file__).resolve().parent.parent / "prompts" / "extract-v1"
NAME = "gA01"


def _own_prompt_chars() -> int:
    """The prompt's own characters around the letter: system + template minus ``$letter``."""
    system = (PROMPTS / "system.txt").read_text(encoding="utf-8").strip()
    user = (PROMPTS / "user.txt").read_text(encoding="utf-8").strip()
    return len(system) + len(user) - len("$letter")


def _sent_body(server: FakeOpenAIServer, mode: str) -> dict:
    server.enqueue(Step.answer(ideal_answer(gold_label(NAME))))
    client = openai.OpenAI(base_url=server.base_url, api_key="test")
    extract(gold_text(NAME), backend="llm", client=client, mode=mode)
    return server.chat_requests[-1].body


def _schema_chars(body: dict, letter_chars: int) -> int:
    """Schema characters as the request carried them: compact JSON of tools/response_format,
    plus whatever the messages hold beyond the prompt and the letter."""
    in_messages = sum(len(m["content"]) for m in body["messages"])
    extra = in_messages - _own_prompt_chars() - letter_chars
    for key in ("tools", "response_format"):
        if key in body:
            extra += len(json.dumps(body[key], separators=(",", ":"), ensure_ascii=False))
    return extra


@pytest.mark.parametrize("mode", ["tools", "json_schema", "json", "md_json"])
def test_one_letter_by_hand(fake_server: FakeOpenAIServer, mode: str) -> None:
    text = gold_text(NAME)
    body = _sent_body(fake_server, mode)
    n = len(text)
    schema = _schema_chars(body, n)
    assert schema > 1000  # the answer schema is sent in every mode, somewhere
    prompt = (
        math.ceil(n / 4.5)  # letter
        + math.ceil(_own_prompt_chars() / 4.4)  # system + template
        + math.ceil(schema / 4.15)  # answer schema
        + 2 * 3  # two messages
        + 3  # reply priming
    )
    output = math.ceil(n * 0.60 * 0.40 / 3.7)
    online = round((prompt * 0.15 + output * 0.60) / 1_000_000, 6)  # gpt-4o-mini

    got = estimate([text], load_settings(mode=mode, model="gpt-4o-mini"))
    assert (got.letters, got.chars, got.rejected) == (1, n, 0)
    assert got.prompt_tokens == prompt
    assert got.output_tokens == output
    assert got.cost_online_usd == pytest.approx(online, abs=1e-6)
    assert got.cost_batch_usd == pytest.approx(online * 0.5, abs=1e-6)


def test_letters_add_up_and_what_is_not_sent_costs_nothing() -> None:
    a, b = gold_text("gA01"), gold_text("gB09")
    settings = load_settings(model="gpt-4o-mini")
    one, two = estimate([a], settings), estimate([b], settings)
    both = estimate([a, "   \n", "a shopping list: eggs, milk", b], settings)
    assert (both.letters, both.rejected) == (2, 2)
    assert both.prompt_tokens == one.prompt_tokens + two.prompt_tokens
    assert both.output_tokens == one.output_tokens + two.output_tokens
    assert both.chars == len(a) + len(b)
    nothing = estimate([], settings)
    assert (nothing.letters, nothing.prompt_tokens, nothing.cost_online_usd) == (0, 0, 0.0)


def test_configured_prices_and_batch_discount() -> None:
    text = gold_text(NAME)
    base = estimate([text], load_settings(model="my-local-llama"))
    assert base.cost_online_usd is None and base.cost_batch_usd is None
    assert "unknown" in base.render() and "IMR_LLM_PRICE_INPUT" in base.render()

    settings = load_settings(
        model="my-local-llama", price_input=2.0, price_output=8.0, batch_discount=0.25
    )
    got = estimate([text], settings)
    online = round((base.prompt_tokens * 2.0 + base.output_tokens * 8.0) / 1_000_000, 6)
    assert got.cost_online_usd == pytest.approx(online, abs=1e-6)
    assert got.cost_batch_usd == pytest.approx(online * 0.75, abs=1e-6)
    assert "25% off" in got.render()


def test_cached_prompt_tokens_are_billed_at_the_cached_price() -> None:
    """gpt-4o: $2.50 per 1M input tokens, $1.25 cached, $10 output (OpenAI's list). 2,000 fresh
    + 8,000 cached + 1,000 completion = $0.005 + $0.010 + $0.010. Billing the cached tokens at
    the full price as well gives $0.045; ignoring the cache, $0.035."""
    from imr_llm.llm.pricing import estimate_cost
    from imr_llm.record.models import TokenUsage

    usage = TokenUsage(
        prompt_tokens=10_000, cached_tokens=8_000, completion_tokens=1_000, total_tokens=11_000
    )
    assert estimate_cost("gpt-4o", usage) == pytest.approx(0.025, abs=1e-9)
    assert estimate_cost("gpt-4o-2024-08-06", usage) == pytest.approx(0.025, abs=1e-9)
    # Prices set by hand have no cached price: cached tokens cost the input price.
    assert estimate_cost("any", usage, 2.5, 10.0) == pytest.approx(0.035, abs=1e-9)


def test_a_record_s_cost_counts_the_cached_tokens_the_server_reports(
    fake_server: FakeOpenAIServer,
) -> None:
    client = openai.OpenAI(base_url=fake_server.base_url, api_key="test-key")
    fake_server.enqueue(Step.answer(ideal_answer(gold_label(NAME)), cached_tokens=800))
    record = extract(gold_text(NAME), backend="llm", client=client, model="gpt-4o")
    meta = record.metadata
    assert meta is not None and meta.usage is not None and meta.usage.cached_tokens == 800
    fresh = meta.usage.prompt_tokens - 800
    by_hand = (fresh * 2.50 + 800 * 1.25 + meta.usage.completion_tokens * 10.00) / 1_000_000
    assert meta.cost_usd == pytest.approx(by_hand, abs=2e-6)


def test_batch_discount_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMR_LLM_BATCH_DISCOUNT", "0.4")
    assert load_settings().batch_discount == 0.4
    monkeypatch.setenv("IMR_LLM_BATCH_DISCOUNT", "1.5")
    with pytest.raises(ConfigurationError, match="IMR_LLM_BATCH_DISCOUNT"):  # the documented
        load_settings()  # error for a bad setting, naming its variable


def test_render_says_it_is_an_estimate_and_how() -> None:
    got = estimate([gold_text(NAME)], load_settings(model="gpt-4o-mini", max_attempts=3))
    text = got.render()
    assert isinstance(got, CostEstimate)
    assert "estimate" in text and "no model called" in text
    assert "1 letter(s)" in text and f"{got.prompt_tokens:,}" in text
    assert "o200k_base" in text and "re-ask" in text and "up to 3 answers" in text
    assert "price table: gpt-4o-mini" in text
    with pytest.raises(AttributeError):
        got.letters = 2  # type: ignore[misc]  # frozen


def test_json_modes_cost_more_prompt_than_tools() -> None:
    """json and md_json write the schema into the prompt, indented: more characters."""
    text = gold_text(NAME)
    tools = estimate([text], load_settings(mode="tools")).prompt_tokens
    json_mode = estimate([text], load_settings(mode="json")).prompt_tokens
    assert json_mode > tools


# -- the command line -----------------------------------------------------------------------


def _cli(args: list[str], monkeypatch: pytest.MonkeyPatch, base_url: str | None = None):
    for var in ("OPENAI_API_KEY", "IMR_LLM_API_KEY", "OPENAI_BASE_URL", "IMR_LLM_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    if base_url:
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    return CliRunner().invoke(app, args)


def test_dry_run_prints_the_estimate_and_calls_no_model(
    fake_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = [str(GOLD / "letters" / f"{n}.txt") for n in ("gA01", "gB09")]
    out = tmp_path / "records.jsonl"
    result = _cli(
        ["extract", "--dry-run", "--backend", "llm", "-o", str(out), *files],
        monkeypatch,
        fake_server.base_url,
    )
    assert result.exit_code == 0, result.output
    expected = estimate([Path(f).read_text(encoding="utf-8") for f in files], load_settings())
    assert "2 letter(s)" in result.output
    assert f"{expected.prompt_tokens:,}" in result.output
    assert fake_server.requests == []  # no model called
    assert not out.exists() and not (tmp_path / "records.jsonl.errors.jsonl").exists()


def test_dry_run_lists_unreadable_letters_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.txt"
    result = _cli(
        ["extract", "--dry-run", str(GOLD / "letters" / "gA01.txt"), str(missing)], monkeypatch
    )
    assert result.exit_code == 1, result.output
    assert "1 letter(s)" in result.output
    assert "missing.txt" in result.output and "no such file" in result.output


def test_building_the_request_logs_no_letter_text(caplog: pytest.LogCaptureFixture) -> None:
    """The estimate builds the request through instructor, whose failure log quotes it."""
    marker = "Zyxwvut Quokka-Marmalade"
    text = gold_text(NAME).replace("MAXIMUS", f"MAXIMUS {marker}", 1)
    caplog.set_level(logging.DEBUG)
    for mode in ("tools", "json_schema", "json", "md_json"):
        estimate([text], load_settings(mode=mode, prompt_version="extract-v1"))
        assert marker in json.dumps(request_body(text, load_settings(mode=mode)))
    assert marker not in caplog.text
