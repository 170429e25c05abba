"""The LLM path against the local OpenAI-compatible test server (scripted answers, faults).

The server stands in for a model; answers are scripted from the hand-written gold labels with
:func:`imr_llm.testing.oracle.ideal_answer`, or deliberately wrong. These tests prove the
pipeline (prompting, validation, re-asks, grounding, retries), not any model's quality.
"""

from __future__ import annotations

import asyncio
import copy
import json

import openai
import pytest

from imr_llm import (
    ExtractionAttemptsExhaustedError,
    ModelTransportError,
    NotAnImrLetterError,
    aextract,
    aextract_many,
    extract,
    extract_many,
)
from imr_llm.llm import OutputTruncatedError
from imr_llm.llm.prompts import load_prompt
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.oracle import ideal_answer
from tests.conftest import gold_label, gold_text

NAME = "gA01"


def client_for(server: FakeOpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test-key")


def llm(server: FakeOpenAIServer, text: str, **options):
    return extract(text, backend="llm", client=client_for(server), **options)


@pytest.mark.parametrize("mode", ["tools", "json_schema", "json", "md_json"])
def test_success_on_first_try_in_every_mode(fake_server: FakeOpenAIServer, mode: str) -> None:
    fake_server.enqueue(Step.answer(ideal_answer(gold_label(NAME))))
    record = llm(fake_server, gold_text(NAME), mode=mode, model="test-model")
    assert record.contract_dict() == gold_label(NAME)
    meta = record.metadata
    assert meta is not None and meta.engine == "llm" and meta.model == "test-model"
    assert meta.prompt_version == "extract-v1" and meta.prompt_hash == load_prompt().hash
    assert len(meta.attempts) == 1 and meta.attempts[0].outcome == "ok"
    assert meta.usage is not None and meta.usage.prompt_tokens > 0 and not meta.usage.estimated
    body = fake_server.chat_requests[0].body
    assert body["model"] == "test-model"
    assert ("tools" in body) == (mode == "tools")


def test_spans_point_at_the_letter(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(Step.answer(ideal_answer(gold_label(NAME))))
    text = gold_text(NAME)
    record = llm(fake_server, text)
    spans = record.metadata.spans  # type: ignore[union-attr]
    case = spans["case_number"]
    assert text[case.start : case.end] == gold_label(NAME)["case_number"]
    rationale = spans["items[0].rationale"]
    assert " ".join(text[rationale.start : rationale.end].split()) == record.items[0].rationale


def test_schema_invalid_answer_is_re_asked_with_the_error(fake_server: FakeOpenAIServer) -> None:
    bad = ideal_answer(gold_label(NAME))
    bad["items"][0]["outcome"] = "modified"
    fake_server.enqueue(Step.answer(bad), Step.answer(ideal_answer(gold_label(NAME))))
    record = llm(fake_server, gold_text(NAME))
    assert record.contract_dict() == gold_label(NAME)
    attempts = record.metadata.attempts  # type: ignore[union-attr]
    assert [a.outcome for a in attempts] == ["invalid", "ok"]
    assert any("outcome" in e for e in attempts[0].errors)
    second = json.dumps(fake_server.chat_requests[1].body["messages"])
    assert "modified" in second and "outcome" in second
    assert len(fake_server.chat_requests[1].body["messages"]) > 2
    assert record.metadata.usage.total_tokens == sum(a.usage.total_tokens for a in attempts)


def test_ungrounded_value_is_re_asked(fake_server: FakeOpenAIServer) -> None:
    bad = ideal_answer(gold_label(NAME))
    bad["case_number"] = "CM99-9999999"
    bad["items"][1]["service"] = "Hyperbaric oxygen therapy, 40 sessions"
    fake_server.enqueue(Step.answer(bad), Step.answer(ideal_answer(gold_label(NAME))))
    record = llm(fake_server, gold_text(NAME))
    assert record.case_number == gold_label(NAME)["case_number"]
    errors = record.metadata.attempts[0].errors  # type: ignore[union-attr]
    assert any("CM99-9999999" in e and "case number reads" in e for e in errors)
    assert any("Hyperbaric" in e and "not the item the letter names" in e for e in errors)
    assert "case number reads" in json.dumps(fake_server.chat_requests[1].body["messages"])


def test_wrong_date_and_outcome_against_rationale_are_re_asked(
    fake_server: FakeOpenAIServer,
) -> None:
    label = gold_label(NAME)
    bad = ideal_answer(label)
    bad["decision_date"] = "2016-12-06"
    flipped = "overturned" if label["items"][0]["outcome"] == "upheld" else "upheld"
    bad["items"][0]["outcome"] = flipped
    fake_server.enqueue(Step.answer(bad), Step.answer(ideal_answer(label)))
    record = llm(fake_server, gold_text(NAME))
    errors = record.metadata.attempts[0].errors  # type: ignore[union-attr]
    assert any("decision_date" in e and "2016-12-06" in e for e in errors)
    assert any("items[0].outcome" in e and "the letter marks this item" in e for e in errors)


def test_outcome_checked_against_rationale_when_the_marker_is_unreadable(
    fake_server: FakeOpenAIServer,
) -> None:
    label = gold_label(NAME)
    service = label["items"][0]["service"]
    marker = "Overturned" if label["items"][0]["outcome"] == "overturned" else "Upheld"
    text = gold_text(NAME).replace(f"{service}: {marker}", f"{service}: ####")
    assert text != gold_text(NAME)
    bad = ideal_answer(label)
    bad["items"][0]["outcome"] = "upheld" if marker == "Overturned" else "overturned"
    fake_server.enqueue(Step.answer(bad), Step.answer(ideal_answer(label)))
    record = llm(fake_server, text)
    errors = record.metadata.attempts[0].errors  # type: ignore[union-attr]
    assert any("items[0].outcome" in e and "rationale concludes" in e for e in errors)


def test_item_count_must_match_the_letter(fake_server: FakeOpenAIServer) -> None:
    label = gold_label(NAME)
    short = ideal_answer(label)
    short["items"] = short["items"][:1]
    fake_server.enqueue(Step.answer(short), Step.answer(ideal_answer(label)))
    record = llm(fake_server, gold_text(NAME))
    assert len(record.items) == len(label["items"])
    errors = record.metadata.attempts[0].errors  # type: ignore[union-attr]
    assert any(f"shows {len(label['items'])} decided items" in e for e in errors)


def test_unresolvable_anchor_is_re_asked(fake_server: FakeOpenAIServer) -> None:
    label = gold_label(NAME)
    bad = ideal_answer(label)
    bad["items"][0]["rationale"] = "These words are nowhere ... in the letter at all"
    fake_server.enqueue(Step.answer(bad), Step.answer(ideal_answer(label)))
    record = llm(fake_server, gold_text(NAME))
    assert record.contract_dict() == label
    errors = record.metadata.attempts[0].errors  # type: ignore[union-attr]
    assert any("items[0].rationale" in e and "first words" in e for e in errors)


def test_malformed_json_is_re_asked(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(Step.malformed(), Step.answer(ideal_answer(gold_label(NAME))))
    record = llm(fake_server, gold_text(NAME))
    assert [a.outcome for a in record.metadata.attempts] == ["invalid", "ok"]  # type: ignore[union-attr]


def test_exhausted_attempts_keep_the_best_answer_flagged(fake_server: FakeOpenAIServer) -> None:
    bad = ideal_answer(gold_label(NAME))
    bad["case_number"] = "CM99-9999999"
    fake_server.enqueue(*[Step.answer(bad)] * 3)
    record = llm(fake_server, gold_text(NAME), max_attempts=3)
    meta = record.metadata
    assert meta is not None and meta.needs_review
    assert record.case_number == "CM99-9999999"  # kept, never silently replaced
    assert meta.evidence["case_number"].status == "unverified"
    assert any("case_number contradicts the letter" in r for r in meta.review_reasons)
    assert [a.outcome for a in meta.attempts] == ["invalid"] * 3


def test_exhausted_attempts_raise_typed_error_with_usage_when_strict(
    fake_server: FakeOpenAIServer,
) -> None:
    bad = ideal_answer(gold_label(NAME))
    bad["case_number"] = "CM99-9999999"
    fake_server.enqueue(*[Step.answer(bad)] * 3)
    with pytest.raises(ExtractionAttemptsExhaustedError) as info:
        llm(fake_server, gold_text(NAME), max_attempts=3, strict=True)
    err = info.value
    assert err.attempts == 3
    assert "case_number" in err.problem_paths
    assert not any("CM99-9999999" in e for e in err.last_errors)  # letter text withheld
    assert err.usage is not None and err.usage.prompt_tokens > 0
    assert len(fake_server.chat_requests) == 3
    assert err.to_dict()["usage"]["total_tokens"] == err.usage.total_tokens


def test_truncated_answer_is_a_typed_error(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(Step.length(ideal_answer(gold_label(NAME))))
    with pytest.raises(OutputTruncatedError):
        llm(fake_server, gold_text(NAME))


def test_429_honours_retry_after_and_is_not_pasted_into_the_prompt(
    fake_server: FakeOpenAIServer,
) -> None:
    fake_server.enqueue(
        Step.error(429, retry_after=0.3), Step.answer(ideal_answer(gold_label(NAME)))
    )
    record = llm(fake_server, gold_text(NAME))
    assert record.metadata.transport_retries == 1  # type: ignore[union-attr]
    assert len(record.metadata.attempts) == 1  # type: ignore[union-attr]
    first, second = fake_server.chat_requests
    assert second.received_at - first.received_at >= 0.3
    assert first.body["messages"] == second.body["messages"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(fake_server: FakeOpenAIServer, status: int) -> None:
    fake_server.enqueue(Step.error(status), Step.answer(ideal_answer(gold_label(NAME))))
    record = llm(fake_server, gold_text(NAME))
    assert record.metadata.transport_retries == 1  # type: ignore[union-attr]


def test_dropped_connection_and_timeout_are_retried(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(
        Step.drop(),
        Step.answer(ideal_answer(gold_label(NAME)), delay=2.0),
        Step.answer(ideal_answer(gold_label(NAME))),
    )
    record = llm(fake_server, gold_text(NAME), timeout_s=0.5)
    assert record.metadata.transport_retries == 2  # type: ignore[union-attr]


def test_persistent_transport_failure_is_a_typed_error(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(*[Step.error(503)] * 3)
    with pytest.raises(ModelTransportError) as info:
        llm(fake_server, gold_text(NAME), transport_retries=2)
    assert "503" in str(info.value)
    assert len(fake_server.chat_requests) == 3


def test_callers_objects_are_not_mutated(fake_server: FakeOpenAIServer) -> None:
    client = client_for(fake_server)
    create_before = client.chat.completions.create
    retries_before = client.max_retries
    prompt = load_prompt()
    messages_before = copy.deepcopy(prompt.messages("LETTER"))
    bad = ideal_answer(gold_label(NAME))
    bad["case_number"] = "CM99-9999999"
    fake_server.enqueue(
        Step.answer(bad),
        Step.answer(ideal_answer(gold_label(NAME))),
        Step.answer(ideal_answer(gold_label(NAME))),
    )
    extract(gold_text(NAME), backend="llm", client=client)
    extract(gold_text(NAME), backend="llm", client=client)
    assert client.chat.completions.create == create_before
    assert client.max_retries == retries_before
    assert prompt.messages("LETTER") == messages_before
    # The re-ask of the first extraction did not leak into the second one's request.
    assert len(fake_server.chat_requests[2].body["messages"]) == 2


def test_not_a_letter_costs_no_request(fake_server: FakeOpenAIServer) -> None:
    with pytest.raises(NotAnImrLetterError):
        llm(fake_server, "Shopping list: eggs, milk, bread.")
    assert fake_server.chat_requests == []


def test_cascade_uses_the_model_only_when_rules_cannot_read(
    fake_server: FakeOpenAIServer,
) -> None:
    client = client_for(fake_server)
    record = extract(gold_text(NAME), backend="cascade", client=client)
    assert record.metadata.engine == "rules" and fake_server.chat_requests == []  # type: ignore[union-attr]
    damaged = gold_text(NAME).replace("Decision rationale:", "", 1)
    fake_server.enqueue(Step.answer(ideal_answer(gold_label(NAME))))
    record = extract(damaged, backend="cascade", client=client)
    meta = record.metadata
    assert meta is not None and meta.engine == "llm" and meta.backend == "cascade"
    assert meta.rules_failure and "rationale" in meta.rules_failure


def test_auto_uses_the_model_when_a_base_url_is_configured(
    fake_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMR_LLM_BASE_URL", fake_server.base_url)  # this project's own setting
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    fake_server.enqueue(Step.answer(ideal_answer(gold_label(NAME))))
    record = extract(gold_text(NAME))
    assert record.metadata.engine == "llm"  # type: ignore[union-attr]
    assert fake_server.chat_requests[0].headers.get("authorization") == "Bearer not-needed"


def test_extract_many_keeps_order_and_collects_errors(fake_server: FakeOpenAIServer) -> None:
    from imr_llm.testing.oracle import GoldResponder
    from tests.conftest import GOLD

    fake_server.responder = GoldResponder.from_gold_dir(GOLD)
    names = ["gA01", "gB02", "seed-003", "gA05"]
    texts = [gold_text(n) for n in names]
    texts.insert(2, "Not a letter.")
    results = extract_many(texts, backend="llm", client=client_for(fake_server), concurrency=3)
    assert [r.index for r in results] == list(range(5))
    assert isinstance(results[2].error, NotAnImrLetterError)
    got = [r.record.contract_dict() for r in results if r.record is not None]
    assert got == [gold_label(n) for n in names]


def test_async_twins(fake_server: FakeOpenAIServer) -> None:
    from imr_llm.testing.oracle import GoldResponder
    from tests.conftest import GOLD

    fake_server.responder = GoldResponder.from_gold_dir(GOLD)
    client = openai.AsyncOpenAI(base_url=fake_server.base_url, api_key="test-key")

    async def run() -> tuple:
        one = await aextract(gold_text("gB03"), backend="llm", client=client)
        many = await aextract_many(
            [gold_text("gA02"), "", gold_text("gB04")], backend="llm", client=client, concurrency=2
        )
        return one, many

    one, many = asyncio.run(run())
    assert one.contract_dict() == gold_label("gB03")
    assert many[0].record.contract_dict() == gold_label("gA02")
    assert many[1].error is not None and many[1].error.code == "empty_text"
    assert many[2].record.contract_dict() == gold_label("gB04")


def test_letter_text_is_not_logged_at_info(
    fake_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    label = gold_label(NAME)
    bad = ideal_answer(label)
    bad["case_number"] = "CM99-9999999"
    fake_server.enqueue(Step.answer(bad), Step.error(503), Step.answer(ideal_answer(label)))
    with caplog.at_level("INFO"):
        llm(fake_server, gold_text(NAME))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records  # retries and re-asks are logged...
    for secret in (label["items"][0]["service"], "CM99-9999999", label["case_number"]):
        assert secret not in logged  # ...but nothing from the letter
    assert "test-key" not in logged
