"""Transport failures against the local test server: what is retried, how long it waits, and
what a caller is told when the endpoint refuses or keeps failing.

The waits are measured between the two requests the server received, against the header the
server sent, with an upper bound: a Retry-After ignored (backoff used instead) or waited ten
times too long both fail here.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from types import SimpleNamespace

import httpx
import openai
import pytest

from imr_llm import (
    ConfigurationError,
    ExtractionAttemptsExhaustedError,
    LLMError,
    ModelRequestError,
    ModelTransportError,
    OutputTruncatedError,
    aextract,
    extract,
)
from imr_llm.llm.transport import MAX_WAIT_S, TransportWait, retry_after_seconds, server_message
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.oracle import ideal_answer
from tests.conftest import gold_label, gold_text

NAME = "gA01"
#: The backoff for a first retry is 0.5 s plus up to 0.5 s of jitter.
BACKOFF_MAX_S = 1.0
#: Slack for thread scheduling between the client's sleep and the server's clock. On a loaded
#: 2-core CI machine a first retry's gap was once 0.75 s over its backoff; every bound below
#: still tells the wait it checks from the others (the backoff is at most 1 s, a Retry-After
#: above it is the lower bound, the cap is 60 s).
SLACK_S = 1.0


def llm(server: FakeOpenAIServer, **options):
    # Closed on the way out: a client left to the garbage collector closes its connections
    # whenever it is collected, and httpcore logs that in some later test (whose log checks,
    # tests/test_privacy.py, would then see wire events that are not theirs).
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test-0123456789abcdef") as client:
        return extract(gold_text(NAME), backend="llm", client=client, **options)


def gap(server: FakeOpenAIServer) -> float:
    first, second = server.chat_requests[:2]
    return second.received_at - first.received_at


def good() -> Step:
    return Step.answer(ideal_answer(gold_label(NAME)))


# -- the server's own message on a refused request ------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "code", "kept"),
    [
        (
            400,
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 210345 tokens. Please reduce the length of the messages.",
            "context_length_exceeded",
            "maximum context length is 128000 tokens",
        ),
        (
            401,
            "Incorrect API key provided: sk-proj-AbCdEf0123456789. You can find your API key "
            "at https://platform.openai.com/account/api-keys.",
            "invalid_api_key",
            "Incorrect API key provided",
        ),
        (
            404,
            "The model `gpt-9-turbo` does not exist or you do not have access to it.",
            "model_not_found",
            "The model `gpt-9-turbo` does not exist",
        ),
    ],
)
def test_refused_request_keeps_the_servers_message_without_secrets(
    fake_server: FakeOpenAIServer, status: int, message: str, code: str, kept: str
) -> None:
    fake_server.enqueue(Step.error(status, message=message, code=code), good())
    with pytest.raises(ModelRequestError) as info:
        llm(fake_server)
    err = info.value
    assert len(fake_server.chat_requests) == 1  # a refusal is not retried
    assert err.status == status and err.server_code == code
    assert kept in str(err) and kept in err.server_message
    assert f"HTTP {status}" in str(err)
    report = err.to_dict()
    assert report["status"] == status and report["server_message"] == err.server_message
    for text in (str(err), repr(report)):
        assert "AbCdEf0123456789" not in text and "0123456789abcdef" not in text


def test_server_message_redacts_keys_and_bearer_tokens() -> None:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(
        401,
        request=request,
        json={"error": {"message": "bad key sk-live-XYZ987654321 (Bearer abc.def.ghi)"}},
    )
    exc = openai.AuthenticationError(
        "x", response=response, body={"message": "bad key sk-live-XYZ987654321 (Bearer abc.def)"}
    )
    text, _ = server_message(exc)
    assert "XYZ987654321" not in text and "abc.def" not in text
    assert text.startswith("bad key sk-[redacted]")


# -- Retry-After: seconds, an HTTP date, or unparsable ---------------------------------------


def test_numeric_retry_after_is_waited_not_more(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(Step.error(429, headers={"Retry-After": "1.3"}), good())
    record = llm(fake_server)
    assert record.metadata is not None and record.metadata.transport_retries == 1
    # Longer than any first backoff (so the header was read), and not much longer than asked.
    assert 1.3 <= gap(fake_server) <= 1.3 + SLACK_S


def test_http_date_retry_after_is_waited_not_more(fake_server: FakeOpenAIServer) -> None:
    # An HTTP date has whole seconds: 3 s ahead is a wait between 2 and 3 s.
    when = email.utils.formatdate(time.time() + 3, usegmt=True)
    fake_server.enqueue(Step.error(503, headers={"Retry-After": when}), good())
    record = llm(fake_server)
    assert record.metadata is not None and record.metadata.transport_retries == 1
    assert BACKOFF_MAX_S + 0.5 <= gap(fake_server) <= 3 + SLACK_S


def test_unparsable_retry_after_falls_back_to_backoff_and_costs_no_attempt(
    fake_server: FakeOpenAIServer,
) -> None:
    fake_server.enqueue(Step.error(429, headers={"Retry-After": "soon"}), good())
    record = llm(fake_server, max_attempts=1)  # one answer attempt: a lost one would fail
    meta = record.metadata
    assert meta is not None and not meta.needs_review
    assert meta.transport_retries == 1 and [a.outcome for a in meta.attempts] == ["ok"]
    assert 0.5 - 0.05 <= gap(fake_server) <= BACKOFF_MAX_S + SLACK_S


def _state(headers: dict[str, str], attempt: int = 1) -> SimpleNamespace:
    request = httpx.Request("POST", "http://127.0.0.1/")
    response = httpx.Response(429, request=request, headers=headers)
    exc = openai.RateLimitError("rate limited", response=response, body=None)
    outcome = SimpleNamespace(exception=lambda: exc)
    return SimpleNamespace(outcome=outcome, attempt_number=attempt)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0),  # in the past: retry now
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "nan"}, None),
        ({}, None),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    exc = _state(headers).outcome.exception()
    got = retry_after_seconds(exc, now=now)
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_wait_follows_the_header_and_is_capped() -> None:
    wait = TransportWait()
    assert wait(_state({"retry-after": "4"})) == pytest.approx(4.0)
    assert wait(_state({"retry-after": "3600"})) == MAX_WAIT_S
    for _ in range(20):
        assert 0.5 <= wait(_state({"retry-after": "soon"})) <= BACKOFF_MAX_S


# -- x-should-retry ----------------------------------------------------------------------------


def test_x_should_retry_false_stops_a_retryable_status(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(Step.error(503, should_retry=False), good())
    with pytest.raises(ModelRequestError) as info:
        llm(fake_server)
    assert len(fake_server.chat_requests) == 1 and info.value.status == 503


def test_x_should_retry_true_retries_a_client_error(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(Step.error(400, should_retry=True), good())
    record = llm(fake_server)
    assert record.metadata is not None and record.metadata.transport_retries == 1


# -- every LLM error reports attempts and tokens ----------------------------------------------


def test_transport_error_reports_attempts_requests_and_tokens(
    fake_server: FakeOpenAIServer,
) -> None:
    bad = ideal_answer(gold_label(NAME))
    bad["case_number"] = "CM99-9999999"
    fake_server.enqueue(Step.answer(bad), *[Step.error(503, message="upstream overloaded")] * 3)
    with pytest.raises(ModelTransportError) as info:
        llm(fake_server, transport_retries=2)
    report = info.value.to_dict()
    assert report["attempts"] == 1 and report["requests"] == 4
    assert report["tokens"] > 0 and report["usage"]["total_tokens"] == report["tokens"]
    assert "HTTP 503" in report["message"] and "upstream overloaded" in report["message"]


def test_every_llm_error_reports_attempts_and_tokens(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(Step.length(ideal_answer(gold_label(NAME))))
    with pytest.raises(OutputTruncatedError) as info:
        llm(fake_server)
    truncated = info.value.to_dict()
    assert truncated["attempts"] >= 0 and truncated["tokens"] > 0 and truncated["requests"] == 1
    for err in (
        ModelTransportError("x"),
        ModelRequestError("x", status=400),
        OutputTruncatedError("x"),
        ExtractionAttemptsExhaustedError(2, ["case_number: wrong"]),
        LLMError("x"),
    ):
        report = err.to_dict()
        assert {"attempts", "requests", "tokens", "usage"} <= set(report), type(err)


# -- the async path: the same transport policy, and the cascade --------------------------------


def test_async_refusal_and_retry_after(fake_server: FakeOpenAIServer) -> None:
    client = openai.AsyncOpenAI(base_url=fake_server.base_url, api_key="sk-test-async-000000")
    fake_server.enqueue(
        Step.error(429, headers={"Retry-After": "1.2"}),
        good(),
        Step.error(404, message="The model `nope` does not exist", code="model_not_found"),
    )

    async def run():
        record = await aextract(gold_text(NAME), backend="llm", client=client)
        with pytest.raises(ModelRequestError) as info:
            await aextract(gold_text(NAME), backend="llm", client=client)
        return record, info.value

    record, err = asyncio.run(run())
    assert record.metadata is not None and record.metadata.transport_retries == 1
    assert 1.2 <= gap(fake_server) <= 1.2 + SLACK_S
    assert err.status == 404 and "does not exist" in str(err)


def test_async_cascade_uses_the_model_only_when_rules_cannot_read(
    fake_server: FakeOpenAIServer,
) -> None:
    client = openai.AsyncOpenAI(base_url=fake_server.base_url, api_key="test-key")
    damaged = gold_text(NAME).replace("Decision rationale:", "", 1)
    fake_server.enqueue(good())

    async def run():
        clean = await aextract(gold_text(NAME), backend="cascade", client=client)
        requests_after_clean = len(fake_server.chat_requests)
        read = await aextract(damaged, backend="cascade", client=client)
        return clean, requests_after_clean, read

    clean, requests_after_clean, read = asyncio.run(run())
    assert clean.metadata is not None and clean.metadata.engine == "rules"
    assert requests_after_clean == 0
    meta = read.metadata
    assert meta is not None and meta.engine == "llm" and meta.backend == "cascade"
    assert meta.rules_failure and "rationale" in meta.rules_failure
    assert read.contract_dict() == gold_label(NAME)


# -- one deadline per letter (issue 19): a hung endpoint costs seconds here, not ten minutes ----

#: The letter's deadline in these tests, and how far past it a run may end (thread scheduling,
#: the request's own end): far below the request timeout the settings keep (120 s).
DEADLINE_S = 1.5
LATE_S = 1.5


def test_a_hung_endpoint_costs_the_letter_s_deadline_not_timeout_times_retries(
    fake_server: FakeOpenAIServer,
) -> None:
    fake_server.enqueue(*[good().with_delay(60)] * 6)  # never answers in time
    started = time.monotonic()
    with pytest.raises(ModelTransportError) as info:
        llm(fake_server, letter_deadline_s=DEADLINE_S, transport_retries=4)
    took = time.monotonic() - started
    assert DEADLINE_S - 0.1 <= took <= DEADLINE_S + LATE_S, took
    message = str(info.value)
    assert f"127.0.0.1:{fake_server.port}" in message  # which endpoint: its host and port
    assert "sk-test" not in message and "/v1" not in message  # never the key, nor the path
    assert "deadline of 1.5 s (IMR_LLM_LETTER_DEADLINE_S)" in message
    assert info.value.requests == 1  # no retry was started past the deadline


def test_the_deadline_covers_transport_retries(fake_server: FakeOpenAIServer) -> None:
    """Each 503 is retried after a wait; the retries stop where the next wait would end past
    the deadline, although the tries allowed are not used up."""
    fake_server.enqueue(*[Step.error(503, retry_after=0.6)] * 10)
    started = time.monotonic()
    with pytest.raises(ModelTransportError, match="deadline") as info:
        llm(fake_server, letter_deadline_s=DEADLINE_S, transport_retries=10)
    assert time.monotonic() - started <= DEADLINE_S + LATE_S
    assert 2 <= info.value.requests <= 3 < 11


def test_the_deadline_covers_re_asks(fake_server: FakeOpenAIServer) -> None:
    """Wrong answers are re-asked; a re-ask is not sent once the deadline has passed, and the
    best answer is kept, flagged, saying why it stopped."""
    bad = ideal_answer(gold_label(NAME))
    bad["case_number"] = "CM99-9999999"
    fake_server.enqueue(*[Step.answer(bad, delay=0.8)] * 6)
    started = time.monotonic()
    record = llm(fake_server, letter_deadline_s=DEADLINE_S, max_attempts=6)
    assert time.monotonic() - started <= DEADLINE_S + LATE_S
    assert 2 <= len(fake_server.chat_requests) <= 3 < 6
    meta = record.metadata
    assert meta is not None and meta.needs_review
    assert any("deadline" in reason for reason in meta.review_reasons)


def test_the_async_path_keeps_the_same_deadline(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(Step.error(503), *[good().with_delay(60)] * 5)

    async def run() -> None:
        key = "sk-test-async-000000"
        async with openai.AsyncOpenAI(base_url=fake_server.base_url, api_key=key) as client:
            await aextract(
                gold_text(NAME), backend="llm", client=client, letter_deadline_s=DEADLINE_S
            )

    started = time.monotonic()
    with pytest.raises(ModelTransportError, match=f"127.0.0.1:{fake_server.port}"):
        asyncio.run(run())
    assert DEADLINE_S - 0.1 <= time.monotonic() - started <= DEADLINE_S + LATE_S


def test_a_refused_request_names_the_endpoint_host(fake_server: FakeOpenAIServer) -> None:
    fake_server.enqueue(Step.error(401, message="bad key"))
    with pytest.raises(ModelRequestError, match=f"at 127.0.0.1:{fake_server.port} refused"):
        llm(fake_server)


def test_the_deadline_is_a_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from imr_llm.config import load_settings

    assert load_settings().letter_deadline_s == 300  # a few minutes by default
    monkeypatch.setenv("IMR_LLM_LETTER_DEADLINE_S", "45")
    assert load_settings().letter_deadline_s == 45
    monkeypatch.setenv("IMR_LLM_LETTER_DEADLINE_S", "0")
    with pytest.raises(ConfigurationError, match="IMR_LLM_LETTER_DEADLINE_S"):
        load_settings()


def test_giving_up_is_said_once_by_the_error_not_again_as_a_warning(
    fake_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake_server.enqueue(*[Step.error(503)] * 2, Step.error(401))
    with caplog.at_level("INFO", logger="imr_llm"), pytest.raises(ModelTransportError):
        llm(fake_server, transport_retries=1)
    with caplog.at_level("INFO", logger="imr_llm"), pytest.raises(ModelRequestError):
        llm(fake_server)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("giving up" in r.getMessage() for r in caplog.records)  # still there under -v
