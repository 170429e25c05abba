"""Transport retries and the per-attempt usage ledger around each raw model request.

Transport failures (429, 5xx, timeouts, dropped connections) are a different thing from a bad
answer: they are retried here, below instructor, with bounded exponential backoff and jitter
(honouring ``Retry-After`` in seconds or as an HTTP date, and ``x-should-retry``), and never
reach the prompt or cost an answer attempt. Only when they persist do they surface as
:class:`~imr_llm.errors.ModelTransportError`; a request the server refuses for good (400, 401,
404...) is :class:`~imr_llm.errors.ModelRequestError` with the server's own message, secrets
redacted. The openai client's own retries are turned off so there is exactly one retry policy,
shared by the sync and async paths. Errors name the endpoint's host (never its key, path or
query), so a user with several endpoints knows which one failed.

A :class:`Deadline` bounds one letter: each request's timeout is cut to the time left, and no
retry starts when its wait would end past it. Without one, a hung endpoint costs the request
timeout times every retry (120 s x 5 tries: ten minutes) per letter.

Logging says what happened (statuses, waits, latencies, token counts), never what was sent.

A :class:`RequestGate` installed for the process (:func:`set_request_gate`) is asked before
every request and told when the server asks for a wait: :mod:`imr_llm.many.ray` installs one backed
by a Ray actor, so every worker of a cluster shares one bound on requests in flight and one
``Retry-After`` pause (an endpoint's rate limit is shared by all its clients). Without one,
nothing changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

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

from ..errors import LLMError, ModelRequestError, ModelTransportError, redact_secrets
from ..record.models import AttemptRecord, TokenUsage

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: Never wait longer than this for one retry, whatever Retry-After says.
MAX_WAIT_S = 60.0


__all__ = [
    "MAX_WAIT_S",
    "Deadline",
    "ModelRequestError",  # re-exported: it lived here before imr_llm.errors held every error
    "RequestGate",
    "TransportWait",
    "UsageLedger",
    "is_transient",
    "retry_after_seconds",
    "server_message",
    "set_request_gate",
    "with_async_transport_retries",
    "with_transport_retries",
]


class RequestGate(Protocol):
    """Who may send a request now, shared beyond this process (see the module docstring)."""

    def acquire(self) -> Any:
        """Wait until a request may be sent; a token to hand back to :meth:`release`."""
        ...

    def release(self, token: Any) -> None:
        """The request ``token`` was for has ended (answered or failed)."""
        ...

    def pause(self, seconds: float) -> None:
        """The server asked for a wait: no client sends anything for ``seconds``."""
        ...


_gate: RequestGate | None = None


def set_request_gate(gate: RequestGate | None) -> RequestGate | None:
    """Install ``gate`` for every model request of this process (None removes it); returns the
    gate it replaces. Process-wide on purpose: a batch's letters run in worker threads, which
    would not see a context variable set in the thread that started them."""
    global _gate
    previous, _gate = _gate, gate
    return previous


def _told_to_wait(gate: RequestGate | None, exc: BaseException) -> None:
    """Pass a transient failure's ``Retry-After`` on to the gate, so every client waits."""
    if gate is None or not is_transient(exc):
        return
    requested = retry_after_seconds(exc)
    if requested:
        gate.pause(min(requested, MAX_WAIT_S))


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


def retry_after_seconds(exc: BaseException, now: float | None = None) -> float | None:
    """The server's requested wait (``retry-after-ms``, or ``Retry-After`` as seconds or an
    HTTP date), or None when it asks for none or sends something unparsable (``soon``)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    millis = _seconds(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:  # pragma: no cover - Python < 3.10 returned None instead of raising
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


class Deadline:
    """One letter's time on the model path, from its start (a monotonic clock).

    ``setting`` names where the figure comes from, for messages.
    """

    def __init__(self, seconds: float, setting: str = "IMR_LLM_LETTER_DEADLINE_S") -> None:
        self.seconds = seconds
        self.setting = setting
        self.ends = time.monotonic() + seconds
        #: Set when the deadline, not the number of tries, stopped the retries or re-asks.
        self.ran_out = False

    def left(self) -> float:
        return self.ends - time.monotonic()

    def describe(self) -> str:
        return f"the letter's deadline of {self.seconds:g} s ({self.setting}) ran out"


class TransportWait:
    """Wait what the server asks for, else exponential backoff with jitter; never too long.

    The wait chosen for a try is kept, so the deadline check (which tenacity may run before or
    after the wait, by version) sees the very wait that will be slept.
    """

    def __init__(self, initial: float = 0.5, maximum: float = 20.0) -> None:
        self._backoff = wait_exponential(multiplier=initial, max=maximum) + wait_random(0, initial)

    def __call__(self, state: RetryCallState) -> float:
        chosen = getattr(state, "_imr_llm_wait", None)
        if chosen is not None and chosen[0] == state.attempt_number:
            return float(chosen[1])
        exc = state.outcome.exception() if state.outcome else None
        requested = retry_after_seconds(exc) if exc else None
        wait = min(requested if requested is not None else self._backoff(state), MAX_WAIT_S)
        try:
            state._imr_llm_wait = (state.attempt_number, wait)  # type: ignore[attr-defined]
        except AttributeError:  # pragma: no cover - a state that takes no attribute
            pass
        return wait


def server_message(exc: BaseException, limit: int = 300) -> tuple[str, str | None]:
    """The server's own explanation of an HTTP error and its code, secrets redacted.

    OpenAI-compatible servers send ``{"error": {"message": ..., "code": ...}}`` (the openai
    client keeps the inner object as ``exc.body``); others send a bare string or plain text.
    """
    body = getattr(exc, "body", None)
    message: Any = None
    code: Any = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            message, code = inner.get("message"), inner.get("code") or inner.get("type")
        else:
            message = inner
    elif isinstance(body, str):
        message = body
    if not message:
        response = getattr(exc, "response", None)
        try:
            message = response.text if response is not None else ""
        except Exception:  # noqa: BLE001 - a streamed body may be unreadable; say nothing then
            message = ""
    text = " ".join(redact_secrets(str(message or "")).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text, (str(code) if code else None)


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
    #: HTTP requests made, failed ones included.
    requests: int = 0

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


def _describe(exc: BaseException | None) -> str:
    status = getattr(exc, "status_code", None)
    return f"HTTP {status}" if status else type(exc).__name__


def _transport_policy(
    ledger: UsageLedger, retries: int, deadline: Deadline | None = None
) -> dict[str, Any]:
    wait = TransportWait()

    def out_of_time(state: RetryCallState) -> bool:
        """No retry whose wait would end past the deadline (nor a request with no time)."""
        if deadline is None or deadline.left() > wait(state) + _MIN_REQUEST_S:
            return False
        deadline.ran_out = True
        return True

    def before_sleep(state: RetryCallState) -> None:
        ledger.transport_retries += 1
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        requested = retry_after_seconds(exc) if exc else None
        log.info(
            "model endpoint: %s on try %d of %d; retrying in %.2f s (%s)",
            _describe(exc),
            state.attempt_number,
            retries + 1,
            wait,
            "Retry-After" if requested is not None else "backoff",
        )

    return {
        "retry": retry_if_exception(is_transient),
        "wait": wait,
        "stop": stop_after_attempt(retries + 1) | out_of_time,
        "before_sleep": before_sleep,
        "reraise": True,
    }


#: Less time than this left for a request is no time: the letter's deadline has run out.
_MIN_REQUEST_S = 0.05
#: What errors call an endpoint whose host is not known.
UNKNOWN_ENDPOINT = "the model endpoint"


def _counts(ledger: UsageLedger) -> dict[str, Any]:
    return {"attempts": len(ledger.attempts), "requests": ledger.requests, "usage": ledger.total}


def _give_up(
    exc: BaseException,
    ledger: UsageLedger,
    endpoint: str = UNKNOWN_ENDPOINT,
    deadline: Deadline | None = None,
) -> LLMError:
    """The typed error for a request that failed for good. Logged at INFO: the caller gets the
    error (the command line prints it once), so a WARNING line would say it twice."""
    message, code = server_message(exc) if isinstance(exc, openai.APIStatusError) else ("", None)
    said = f": {message}" if message else ""
    if is_transient(exc):
        late = f"; {deadline.describe()}" if deadline is not None and deadline.ran_out else ""
        log.info("%s: %s after %d tries; giving up%s", endpoint, _describe(exc),
                 ledger.requests, late)  # fmt: skip
        tries = "1 try" if ledger.requests == 1 else f"{ledger.requests} tries"
        return ModelTransportError(
            f"{endpoint} kept failing ({_describe(exc)}{said}) after {tries}{late}",
            **_counts(ledger),
        )
    if isinstance(exc, openai.APIStatusError):
        log.info("%s refused the request: HTTP %d", endpoint, exc.status_code)
        return ModelRequestError(
            f"{endpoint} refused the request: HTTP {exc.status_code}"
            + (f" ({code})" if code else "")
            + (said or f" ({type(exc).__name__})"),
            status=exc.status_code,
            server_message=message,
            server_code=code,
            **_counts(ledger),
        )
    raise exc


def _out_of_time(ledger: UsageLedger, endpoint: str, deadline: Deadline) -> ModelTransportError:
    """No time left for another request: a letter never waits past its deadline."""
    deadline.ran_out = True
    log.info("%s: %s before another request", endpoint, deadline.describe())
    return ModelTransportError(
        f"{endpoint} gave no usable answer in time: {deadline.describe()} after "
        f"{ledger.requests} request(s)",
        **_counts(ledger),
    )


def _request_timeout(kwargs: dict[str, Any], timeout_s: float | None, deadline: Deadline | None,
                     ledger: UsageLedger, endpoint: str) -> None:  # fmt: skip
    """Cut this request's timeout to what is left of the letter's deadline."""
    if deadline is None:
        return
    left = deadline.left()
    if left <= _MIN_REQUEST_S:
        raise _out_of_time(ledger, endpoint, deadline)
    if timeout_s is None or left < timeout_s:
        kwargs["timeout"] = left
    elif "timeout" in kwargs:
        del kwargs["timeout"]  # the client's own timeout, set from the settings


def _answered(
    ledger: UsageLedger,
    response: Any,
    request: dict[str, Any],
    started: float,
    on_answer: Callable[[Any], None] | None = None,
) -> None:
    ledger.record(response, request, time.perf_counter() - started)
    if on_answer is not None:
        on_answer(response)
    entry = ledger.attempts[-1]
    log.info(
        "model answered in %.0f ms: %d prompt + %d completion tokens%s",
        entry.latency_ms or 0.0,
        entry.usage.prompt_tokens,
        entry.usage.completion_tokens,
        " (estimated)" if entry.usage.estimated else "",
    )


def with_transport_retries(
    create: Callable[..., Any],
    ledger: UsageLedger,
    retries: int,
    *,
    deadline: Deadline | None = None,
    timeout_s: float | None = None,
    endpoint: str = UNKNOWN_ENDPOINT,
    on_answer: Callable[[Any], None] | None = None,
) -> Callable[..., Any]:
    """Wrap a raw ``chat.completions.create`` with transport retries and usage recording.

    ``deadline`` bounds the letter (each request's timeout is cut from ``timeout_s`` to the
    time left); ``endpoint`` names the endpoint in errors and logs; ``on_answer`` sees each
    answer (the server's marks, :mod:`imr_llm.llm.servers`).
    """

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            for attempt in Retrying(**_transport_policy(ledger, retries, deadline)):
                with attempt:
                    gate = _gate
                    token = gate.acquire() if gate is not None else None
                    started = time.perf_counter()
                    try:
                        _request_timeout(kwargs, timeout_s, deadline, ledger, endpoint)
                        ledger.requests += 1
                        response = create(*args, **kwargs)
                    except openai.APIError as exc:
                        _told_to_wait(gate, exc)
                        raise
                    finally:
                        if gate is not None:
                            gate.release(token)
        except openai.APIError as exc:
            raise _give_up(exc, ledger, endpoint, deadline) from exc
        _answered(ledger, response, kwargs, started, on_answer)
        return response

    return wrapped


def with_async_transport_retries(
    create: Callable[..., Awaitable[Any]],
    ledger: UsageLedger,
    retries: int,
    *,
    deadline: Deadline | None = None,
    timeout_s: float | None = None,
    endpoint: str = UNKNOWN_ENDPOINT,
    on_answer: Callable[[Any], None] | None = None,
) -> Callable[..., Awaitable[Any]]:
    """The async twin of :func:`with_transport_retries` (the same policy and records)."""

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            async for attempt in AsyncRetrying(**_transport_policy(ledger, retries, deadline)):
                with attempt:
                    gate = _gate
                    # The gate's wait blocks: off the event loop.
                    token = await asyncio.to_thread(gate.acquire) if gate is not None else None
                    started = time.perf_counter()
                    try:
                        _request_timeout(kwargs, timeout_s, deadline, ledger, endpoint)
                        ledger.requests += 1
                        response = await create(*args, **kwargs)
                    except openai.APIError as exc:
                        _told_to_wait(gate, exc)
                        raise
                    finally:
                        if gate is not None:
                            gate.release(token)
        except openai.APIError as exc:
            raise _give_up(exc, ledger, endpoint, deadline) from exc
        _answered(ledger, response, kwargs, started, on_answer)
        return response

    return wrapped
