"""Transport retries and the per-attempt usage ledger around each raw model request.

Transport failures (429, 5xx, timeouts, dropped connections) are a different thing from a bad
answer: they are retried here, below instructor, with bounded exponential backoff and jitter
(honouring ``Retry-After``), and never reach the prompt. Only when they persist do they surface
as :class:`~imr_llm.errors.ModelTransportError`. The openai client's own retries are turned off
so there is exactly one retry policy.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from ..errors import LLMError, ModelTransportError
from ..models import AttemptRecord, TokenUsage

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: Never wait longer than this for one retry, whatever Retry-After says.
MAX_WAIT_S = 60.0


class ModelRequestError(LLMError):
    """The endpoint refused the request for a reason a retry will not fix (401, 404, 400...)."""

    code = "model_request_error"


def is_transient(exc: BaseException) -> bool:
    """True for failures a retry may fix (the server's ``x-should-retry`` header decides first)."""
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        should_retry = exc.response.headers.get("x-should-retry")
        if should_retry in ("true", "false"):
            return should_retry == "true"
        return exc.status_code in TRANSIENT_STATUS or exc.status_code >= 500
    return False


def retry_after_seconds(exc: BaseException) -> float | None:
    """The server's requested wait (``retry-after-ms`` or ``Retry-After``), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class TransportWait:
    """Wait what the server asks for, else exponential backoff with jitter; never too long."""

    def __init__(self, initial: float = 0.5, maximum: float = 20.0) -> None:
        self._backoff = wait_exponential(multiplier=initial, max=maximum) + wait_random(0, initial)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        requested = retry_after_seconds(exc) if exc else None
        wait = requested if requested is not None else self._backoff(state)
        return min(wait, MAX_WAIT_S)


def _usage_of(response: Any, request: dict[str, Any]) -> TokenUsage:
    usage = getattr(response, "usage", None)
    if usage is not None and getattr(usage, "prompt_tokens", None) is not None:
        details = getattr(usage, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", 0) if details is not None else 0
        return TokenUsage(
            prompt_tokens=usage.prompt_tokens or 0,
            completion_tokens=usage.completion_tokens or 0,
            cached_tokens=cached or 0,
            total_tokens=usage.total_tokens or 0,
        )
    # No usage reported (some local servers): estimate at 4 characters per token, the usual
    # rule of thumb for English text, and say so.
    prompt_chars = sum(len(str(m.get("content") or "")) for m in request.get("messages", []))
    completion_chars = 0
    for choice in getattr(response, "choices", None) or []:
        message = choice.message
        completion_chars += len(message.content or "")
        for call in message.tool_calls or []:
            completion_chars += len(call.function.arguments or "")
    prompt, completion = math.ceil(prompt_chars / 4), math.ceil(completion_chars / 4)
    return TokenUsage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        estimated=True,
    )


@dataclass
class UsageLedger:
    """One entry per model answer (re-asks included), plus transport failures retried."""

    attempts: list[AttemptRecord] = field(default_factory=list)
    transport_retries: int = 0

    def record(self, response: Any, request: dict[str, Any], latency_s: float) -> None:
        self.attempts.append(
            AttemptRecord(
                attempt=len(self.attempts) + 1,
                usage=_usage_of(response, request),
                outcome="ok",
                latency_ms=round(latency_s * 1000, 1),
            )
        )

    def mark_invalid(self, errors: list[str]) -> None:
        if self.attempts:
            self.attempts[-1].outcome = "invalid"
            self.attempts[-1].errors = errors

    @property
    def total(self) -> TokenUsage:
        total = TokenUsage()
        for attempt in self.attempts:
            total = total + attempt.usage
        return total


def _transport_policy(retries: int) -> dict[str, Any]:
    return {
        "retry": retry_if_exception(is_transient),
        "wait": TransportWait(),
        "stop": stop_after_attempt(retries + 1),
        "reraise": True,
    }


def _give_up(exc: BaseException, tries: int) -> LLMError:
    if is_transient(exc):
        status = getattr(exc, "status_code", None)
        what = f"HTTP {status}" if status else type(exc).__name__
        return ModelTransportError(f"the model endpoint kept failing ({what}) after {tries} tries")
    if isinstance(exc, openai.APIStatusError):
        return ModelRequestError(
            f"the model endpoint refused the request: HTTP {exc.status_code} ({type(exc).__name__})"
        )
    raise exc


def with_transport_retries(
    create: Callable[..., Any], ledger: UsageLedger, retries: int
) -> Callable[..., Any]:
    """Wrap a raw ``chat.completions.create`` with transport retries and usage recording."""

    def on_retry(state: RetryCallState) -> None:
        ledger.transport_retries += 1
        exc = state.outcome.exception() if state.outcome else None
        log.info("transient model endpoint failure (%s); retrying", type(exc).__name__)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            for attempt in Retrying(before_sleep=on_retry, **_transport_policy(retries)):
                with attempt:
                    started = time.perf_counter()
                    response = create(*args, **kwargs)
        except openai.APIError as exc:
            raise _give_up(exc, retries + 1) from exc
        ledger.record(response, kwargs, time.perf_counter() - started)
        return response

    return wrapped


def with_async_transport_retries(
    create: Callable[..., Awaitable[Any]], ledger: UsageLedger, retries: int
) -> Callable[..., Awaitable[Any]]:
    """The async twin of :func:`with_transport_retries`."""

    def on_retry(state: RetryCallState) -> None:
        ledger.transport_retries += 1
        log.info("transient model endpoint failure; retrying")

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            async for attempt in AsyncRetrying(before_sleep=on_retry, **_transport_policy(retries)):
                with attempt:
                    started = time.perf_counter()
                    response = await create(*args, **kwargs)
        except openai.APIError as exc:
            raise _give_up(exc, retries + 1) from exc
        ledger.record(response, kwargs, time.perf_counter() - started)
        return response

    return wrapped
