"""Tests for the local OpenAI-compatible test server (imr_llm.testing.fake_openai).

These pin the server's wire behaviour against the real ``openai`` client, ``instructor``
and raw ``httpx``, because the rest of the suite trusts it to behave like a real
provider (including its failure modes).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import instructor
import openai
import pytest
from instructor.core import IncompleteOutputException, InstructorRetryException
from openai import OpenAI
from pydantic import BaseModel

from imr_llm.testing import (
    DEFAULT_MALFORMED_TEXT,
    FakeOpenAIServer,
    Step,
    fake_openai_server,
)
from imr_llm.testing.fake_openai import DEFAULT_TRUNCATED_TEXT, build_completion

PAYLOAD = {"case_number": "CM16-0001234", "decision": "upheld"}
MESSAGES = [{"role": "user", "content": "Extract the determination."}]


class Determination(BaseModel):
    case_number: str
    decision: str


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with fake_openai_server() as srv:
        yield srv


def make_client(server: FakeOpenAIServer, **kwargs: Any) -> OpenAI:
    kwargs.setdefault("max_retries", 0)
    return OpenAI(base_url=server.base_url, api_key="test", **kwargs)


def extract(server: FakeOpenAIServer, mode: instructor.Mode, **kwargs: Any) -> Determination:
    client = instructor.from_openai(make_client(server), mode=mode)
    return client.chat.completions.create(
        model="fake-model",
        response_model=Determination,
        messages=MESSAGES,
        max_retries=kwargs.pop("max_retries", 0),
        **kwargs,
    )


# -- basics ------------------------------------------------------------------------


def test_base_url_and_lifecycle() -> None:
    srv = FakeOpenAIServer()
    with pytest.raises(RuntimeError):
        _ = srv.base_url
    srv.start()
    try:
        assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1"
        assert srv.port > 0
        with pytest.raises(RuntimeError):
            srv.start()
    finally:
        srv.stop()
    srv.stop()  # idempotent
    with pytest.raises(RuntimeError):
        _ = srv.port


def test_openai_client_gets_content_answer(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer(PAYLOAD, cached_tokens=3))
    client = make_client(server)
    completion = client.chat.completions.create(model="gpt-test-1", messages=MESSAGES)

    choice = completion.choices[0]
    assert json.loads(choice.message.content or "") == PAYLOAD
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-test-1"
    assert completion.system_fingerprint == "fake-openai"
    assert completion.id.startswith("chatcmpl-")

    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == math.ceil(len(MESSAGES[0]["content"]) / 4)
    assert usage.completion_tokens == math.ceil(len(json.dumps(PAYLOAD)) / 4)
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 3


def test_string_payload_is_sent_verbatim(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer("plain words"))
    completion = make_client(server).chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "plain words"


def test_prompt_tokens_count_all_message_contents(server: FakeOpenAIServer) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "a" * 10},
        {"role": "user", "content": [{"type": "text", "text": "b" * 7}]},
    ]
    server.enqueue(Step.answer("ok"))
    completion = make_client(server).chat.completions.create(model="m", messages=messages)
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == math.ceil(17 / 4)
    assert completion.usage.completion_tokens == 1


def test_models_endpoint_and_unknown_route(server: FakeOpenAIServer) -> None:
    models = make_client(server).models.list()
    assert [m.id for m in models.data] == ["fake-model"]

    response = httpx.get(f"{server.url}/v1/embeddings-nope")
    assert response.status_code == 404
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code"}
    assert "unknown route" in error["message"]

    with pytest.raises(openai.NotFoundError):
        make_client(server).embeddings.create(model="m", input="x")


# -- instructor modes --------------------------------------------------------------


def test_instructor_tools_mode(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer(PAYLOAD))
    result = extract(server, instructor.Mode.TOOLS)
    assert result.model_dump() == PAYLOAD

    body = server.chat_requests[-1].body
    assert body["tools"][0]["function"]["name"] == "Determination"


def test_tool_call_wire_shape() -> None:
    body = {
        "model": "m",
        "messages": MESSAGES,
        "tools": [
            {"type": "function", "function": {"name": "first", "parameters": {}}},
            {"type": "function", "function": {"name": "second", "parameters": {}}},
        ],
        "tool_choice": {"type": "function", "function": {"name": "second"}},
    }
    completion = build_completion(body, Step.answer(PAYLOAD))
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["id"].startswith("call_")
    assert call["function"] == {"name": "second", "arguments": json.dumps(PAYLOAD)}

    del body["tool_choice"]
    first = build_completion(body, Step.answer(PAYLOAD))["choices"][0]["message"]
    assert first["tool_calls"][0]["function"]["name"] == "first"
    overridden = build_completion(body, Step.answer(PAYLOAD, tool_name="other"))
    assert overridden["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "other"


def test_instructor_json_schema_mode(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer(PAYLOAD))
    assert extract(server, instructor.Mode.JSON_SCHEMA).model_dump() == PAYLOAD
    body = server.chat_requests[-1].body
    assert body["response_format"]["type"] == "json_schema"
    assert "tools" not in body


def test_instructor_json_mode(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer(PAYLOAD))
    assert extract(server, instructor.Mode.JSON).model_dump() == PAYLOAD
    assert server.chat_requests[-1].body["response_format"] == {"type": "json_object"}


def test_fenced_content(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer(PAYLOAD, fenced=True))
    completion = make_client(server).chat.completions.create(
        model="m", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert completion.choices[0].message.content == f"```json\n{json.dumps(PAYLOAD)}\n```"

    # instructor's markdown-JSON mode extracts the fenced object.
    server.enqueue(Step.answer(PAYLOAD, fenced=True))
    assert extract(server, instructor.Mode.MD_JSON).model_dump() == PAYLOAD


def test_fenced_is_ignored_for_tool_calls(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer(PAYLOAD, fenced=True))
    assert extract(server, instructor.Mode.TOOLS).model_dump() == PAYLOAD


def test_instructor_reasks_after_malformed_answer(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.malformed(), Step.answer(PAYLOAD))
    assert extract(server, instructor.Mode.TOOLS, max_retries=1).model_dump() == PAYLOAD
    assert len(server.chat_requests) == 2
    assert len(server.chat_requests[1].messages) > len(server.chat_requests[0].messages)


# -- malformed / truncated answers -------------------------------------------------


def test_malformed_content_and_arguments(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.malformed())
    completion = make_client(server).chat.completions.create(model="m", messages=MESSAGES)
    content = completion.choices[0].message.content or ""
    assert content == DEFAULT_MALFORMED_TEXT
    assert completion.choices[0].finish_reason == "stop"
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)

    server.enqueue(Step.malformed())
    with pytest.raises(InstructorRetryException):
        extract(server, instructor.Mode.TOOLS)
    body = {"messages": MESSAGES, "tools": [{"type": "function", "function": {"name": "f"}}]}
    message = build_completion(body, Step.malformed())["choices"][0]["message"]
    assert message["tool_calls"][0]["function"]["arguments"] == DEFAULT_MALFORMED_TEXT


def test_length_step(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.length())
    completion = make_client(server).chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == DEFAULT_TRUNCATED_TEXT
    with pytest.raises(json.JSONDecodeError):
        json.loads(DEFAULT_TRUNCATED_TEXT)

    step = Step.length(PAYLOAD)
    assert json.dumps(PAYLOAD).startswith(step.payload)
    assert len(step.payload) < len(json.dumps(PAYLOAD))

    server.enqueue(Step.length(PAYLOAD))
    with pytest.raises(IncompleteOutputException):
        extract(server, instructor.Mode.TOOLS)
    assert server.chat_requests[-1].body["tools"]


# -- HTTP errors and retries -------------------------------------------------------


def test_429_raw_headers_and_body(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.error(429, retry_after=0.05, message="slow down"))
    response = httpx.post(
        f"{server.base_url}/chat/completions", json={"model": "m", "messages": MESSAGES}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0.05"
    assert response.headers["retry-after-ms"] == "50"
    assert response.json() == {
        "error": {
            "message": "slow down",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }


def test_429_without_retry_after_has_no_header(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.error(429))
    response = httpx.post(f"{server.base_url}/chat/completions", json={"messages": []})
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    assert "429" in response.json()["error"]["message"]


def test_openai_client_recovers_from_429(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.error(429, retry_after=0.8), Step.answer(PAYLOAD))
    completion = make_client(server, max_retries=1).chat.completions.create(
        model="m", messages=MESSAGES
    )
    assert json.loads(completion.choices[0].message.content or "") == PAYLOAD
    first, second = server.chat_requests
    gap = second.received_at - first.received_at
    # Honoured Retry-After (0.8 s), not the default backoff (0.375-0.5 s before the first
    # retry). A lower bound only: a loaded machine makes a gap longer, never shorter (an
    # upper bound on a 0.05 s header failed CI once at 0.36 s).
    assert gap >= 0.8


def test_429_without_retries_raises_rate_limit_error(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.error(429, retry_after=0.05))
    with pytest.raises(openai.RateLimitError) as info:
        make_client(server).chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == 429
    assert info.value.code == "rate_limit_exceeded"


def test_openai_client_recovers_from_500_and_503(server: FakeOpenAIServer) -> None:
    server.enqueue(
        Step.error(500, retry_after=0.01),
        Step.error(503, retry_after=0.01),
        Step.answer(PAYLOAD),
    )
    completion = make_client(server, max_retries=2).chat.completions.create(
        model="m", messages=MESSAGES
    )
    assert json.loads(completion.choices[0].message.content or "") == PAYLOAD
    assert len(server.chat_requests) == 3
    assert server.remaining == 0


def test_server_errors_exhaust_retries(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.error(503, retry_after=0.01), Step.error(500, retry_after=0.01))
    with pytest.raises(openai.InternalServerError) as info:
        make_client(server, max_retries=1).chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == 500
    assert len(server.chat_requests) == 2


def test_should_retry_false_stops_client_retries(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.error(503, should_retry=False), Step.answer(PAYLOAD))
    with pytest.raises(openai.InternalServerError):
        make_client(server, max_retries=3).chat.completions.create(model="m", messages=MESSAGES)
    assert server.remaining == 1


# -- connection faults and latency -------------------------------------------------


def test_drop_is_a_connection_error(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.drop())
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{server.base_url}/chat/completions", json={"messages": MESSAGES})

    server.enqueue(Step.drop())
    with pytest.raises(openai.APIConnectionError) as info:
        make_client(server).chat.completions.create(model="m", messages=MESSAGES)
    assert not isinstance(info.value, openai.APITimeoutError)
    assert len(server.chat_requests) == 2


def test_openai_client_recovers_from_drop(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.drop(), Step.answer(PAYLOAD))
    completion = make_client(server, max_retries=1).chat.completions.create(
        model="m", messages=MESSAGES
    )
    assert json.loads(completion.choices[0].message.content or "") == PAYLOAD


def test_delay_beyond_client_timeout_times_out(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer(PAYLOAD, delay=2.0))
    started = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        make_client(server, timeout=0.2).chat.completions.create(model="m", messages=MESSAGES)
    assert time.perf_counter() - started < 1.5

    server.enqueue(Step.answer(PAYLOAD, delay=2.0))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.base_url}/chat/completions", json={"messages": []}, timeout=0.2)

    # The server keeps serving while the abandoned handlers are still sleeping.
    server.enqueue(Step.answer("still here"))
    completion = make_client(server).chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "still here"


def test_delay_is_applied(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer(PAYLOAD, delay=0.2))
    started = time.perf_counter()
    make_client(server).chat.completions.create(model="m", messages=MESSAGES)
    assert time.perf_counter() - started >= 0.2


def test_concurrent_requests_are_served_in_parallel(server: FakeOpenAIServer) -> None:
    n = 8
    server.enqueue(*[Step.answer({"i": i}, delay=0.3) for i in range(n)])
    client = make_client(server)

    def call(i: int) -> str:
        messages = [{"role": "user", "content": f"request {i}"}]
        completion = client.chat.completions.create(model="m", messages=messages)
        return completion.choices[0].message.content or ""

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(call, range(n)))
    elapsed = time.perf_counter() - started

    assert elapsed < 1.5, f"{n} requests x 0.3 s took {elapsed:.2f} s: not concurrent"
    assert sorted(json.loads(a)["i"] for a in answers) == list(range(n))
    assert len(server.chat_requests) == n
    assert server.remaining == 0


def test_stop_does_not_wait_for_sleeping_handlers() -> None:
    srv = FakeOpenAIServer().start()
    srv.enqueue(Step.answer(PAYLOAD, delay=30))
    client = make_client(srv, timeout=10)
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(client.chat.completions.create, model="m", messages=MESSAGES)
        deadline = time.monotonic() + 5
        while not srv.chat_requests and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.perf_counter()
        srv.stop()
        assert time.perf_counter() - started < 2
        with pytest.raises(openai.APIConnectionError):
            future.result(timeout=5)


# -- recording, scripting, fallbacks -----------------------------------------------


def test_requests_are_recorded(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer(PAYLOAD), Step.answer(PAYLOAD))
    client = make_client(server)
    client.chat.completions.create(model="model-a", messages=MESSAGES, temperature=0)
    client.chat.completions.create(model="model-b", messages=MESSAGES, seed=7)
    httpx.get(f"{server.url}/nowhere")

    recorded = server.requests
    assert [r.path for r in recorded] == [
        "/v1/chat/completions",
        "/v1/chat/completions",
        "/nowhere",
    ]
    first, second = server.chat_requests
    assert first.method == "POST"
    assert first.model == "model-a"
    assert first.body["temperature"] == 0
    assert first.messages == MESSAGES
    assert second.body["seed"] == 7
    assert first.headers["authorization"] == "Bearer test"
    assert first.headers["content-type"].startswith("application/json")
    assert recorded[2].method == "GET"
    assert recorded[2].body == {}


def test_no_scripted_answer_is_500(server: FakeOpenAIServer) -> None:
    response = httpx.post(f"{server.base_url}/chat/completions", json={"messages": []})
    assert response.status_code == 500
    assert "no scripted answer" in response.json()["error"]["message"]

    # x-should-retry: false makes the openai client fail fast instead of backing off.
    with pytest.raises(openai.InternalServerError, match="no scripted answer"):
        make_client(server, max_retries=2).chat.completions.create(model="m", messages=MESSAGES)
    assert len(server.chat_requests) == 2  # one raw request + one client attempt, no retries


def test_responder_is_used_when_queue_is_empty() -> None:
    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> Step:
        seen.append(body)
        return Step.answer({"echo": body["messages"][-1]["content"]})

    with fake_openai_server(Step.answer("queued first"), responder=responder) as srv:
        client = make_client(srv)
        first = client.chat.completions.create(model="m", messages=MESSAGES)
        second = client.chat.completions.create(model="m", messages=MESSAGES)
        assert first.choices[0].message.content == "queued first"
        assert json.loads(second.choices[0].message.content or "") == {
            "echo": MESSAGES[0]["content"]
        }
        assert len(seen) == 1

        srv.responder = None
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="m", messages=MESSAGES)


def test_responder_returning_none_or_raising_is_500() -> None:
    def broken(body: dict[str, Any]) -> Step:
        raise ValueError("responder exploded")

    with fake_openai_server(responder=lambda body: None) as srv:
        response = httpx.post(f"{srv.base_url}/chat/completions", json={"messages": []})
        assert response.status_code == 500
        srv.responder = broken
        response = httpx.post(f"{srv.base_url}/chat/completions", json={"messages": []})
        assert response.status_code == 500
        assert "responder exploded" in response.json()["error"]["message"]


def test_invalid_json_body_is_400_and_consumes_no_step(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer("unused"))
    response = httpx.post(
        f"{server.base_url}/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert server.remaining == 1
    assert server.requests[-1].body == {"_raw": "{not json"}


def test_reset_and_remaining(server: FakeOpenAIServer) -> None:
    server.enqueue(Step.answer("a"), Step.answer("b"), Step.drop())
    assert server.remaining == 3
    make_client(server).chat.completions.create(model="m", messages=MESSAGES)
    assert server.remaining == 2
    assert len(server.requests) == 1
    server.reset()
    assert server.remaining == 0
    assert server.requests == []


def test_step_validation() -> None:
    with pytest.raises(ValueError):
        Step.answer(PAYLOAD, delay=-1)
    with pytest.raises(ValueError):
        Step.error(200)
    with pytest.raises(ValueError):
        Step.error(429, retry_after=-0.1)
    with pytest.raises(ValueError):
        Step.answer(PAYLOAD, cached_tokens=-1)
    with pytest.raises(TypeError):
        Step.answer({"when": object()})
    with pytest.raises(TypeError):
        FakeOpenAIServer().enqueue("not a step")  # type: ignore[arg-type]
    assert Step.drop().with_delay(0.5) == Step(kind="drop", delay=0.5)
