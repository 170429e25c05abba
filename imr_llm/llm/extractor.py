"""Drive an OpenAI-compatible model through instructor to a grounded, validated record.

One call is: build the messages from the versioned prompt, ask for a :class:`LetterAnswer`,
let validation resolve anchors and ground every value in the letter, and re-ask with the
validation errors when it fails (a tenacity ``Retrying`` that retries only answer errors, so a
transport failure is never pasted into the prompt). The caller's client is used through
``with_options``, which returns a copy: nothing the caller passed in is changed.

One deadline bounds the letter (``letter_deadline_s``): requests, transport retries and re-asks
together, so a hung endpoint costs minutes, not the request timeout times every retry. In
``tools`` mode an endpoint recognised as llama.cpp's server or Ollama, which do not force the
tool call, is warned about once (:mod:`imr_llm.llm.servers`).
"""

from __future__ import annotations

import json
import logging
import time
from functools import lru_cache
from typing import Any

# instructor's public names (instructor.core, and response_schema at the top level), present
# since 1.15.3, the declared lower bound; not its private module layout.
import instructor
import openai
from instructor import response_schema
from instructor.core import (
    IncompleteOutputException,
    InstructorRetryException,
    ResponseParsingError,
)
from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
)

from ..config import Settings, endpoint_host, letter_text_logging
from ..errors import (
    ExtractionAttemptsExhaustedError,
    LLMError,
    ModelTransportError,
    NoModelConfiguredError,
    OutputTruncatedError,
)
from ..form import read_any_form
from ..inputs.copied import copy_read, offsets_as_given
from ..inputs.normalise import normalise
from ..record.builder import build_record, restore_spans
from ..record.models import DeterminationRecord
from .answer import CURRENT_LETTER, Candidate, LetterAnswer, LetterContext
from .pricing import estimate_cost
from .prompts import load_prompt
from .servers import server_from_answer, server_from_url, warn_tools_mode_once
from .transport import (
    Deadline,
    UsageLedger,
    with_async_transport_retries,
    with_transport_retries,
)

log = logging.getLogger(__name__)

MODES: dict[str, instructor.Mode] = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
    "md_json": instructor.Mode.MD_JSON,
}
#: Answer errors worth a re-ask: the model can fix these by answering again.
ANSWER_ERRORS = (ValidationError, json.JSONDecodeError, ResponseParsingError)


__all__ = [  # OutputTruncatedError is re-exported: it lived here before imr_llm.errors held it
    "OutputTruncatedError",
    "aextract_llm",
    "async_client",
    "describe_answer_error",
    "extract_llm",
    "request_body",
    "sync_client",
]


def _unwrap(client: Any) -> Any:
    # An instructor client wraps the openai one; we patch our own copy of the latter.
    return getattr(client, "client", None) or client


def _client(cls: type[Any], settings: Settings, client: Any) -> Any:
    """The caller's client (as a copy without its own retries) or a ``cls`` from the settings."""
    if client is not None:
        return _unwrap(client).with_options(max_retries=0, timeout=settings.timeout_s)
    if not settings.model_configured():
        raise NoModelConfiguredError()
    return cls(
        api_key=settings.api_key.get_secret_value() if settings.api_key else "not-needed",
        base_url=settings.base_url,
        timeout=settings.timeout_s,
        max_retries=0,
    )


def sync_client(settings: Settings, client: Any = None) -> openai.OpenAI:
    """An ``openai.OpenAI`` for one extraction (see :func:`_client`)."""
    return _client(openai.OpenAI, settings, client)


def async_client(settings: Settings, client: Any = None) -> openai.AsyncOpenAI:
    """The async twin of :func:`sync_client`."""
    return _client(openai.AsyncOpenAI, settings, client)


@lru_cache(maxsize=1)
def prepared_answer_model() -> type[LetterAnswer]:
    """The answer model wrapped for instructor once, not on every call.

    instructor wraps a plain model in a new class per request, which also defeats its cache of
    the JSON schema; handing it the wrapped class keeps both to one build per process.
    """
    return response_schema(LetterAnswer)


def describe_answer_error(exc: BaseException) -> list[str]:
    """One line per problem in a rejected answer, as the re-ask and the error report show it."""
    if isinstance(exc, ValidationError):
        lines: list[str] = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            for line in message.splitlines():
                lines.append(f"{where}: {line}" if where else line)
        return lines
    return [f"the answer is not valid JSON ({type(exc).__name__})"]


def _request_kwargs(letter: str, settings: Settings) -> dict[str, Any]:
    """What the extractor hands instructor for one letter's first attempt."""
    return {
        "response_model": prepared_answer_model(),
        "messages": load_prompt(settings.prompt_version).messages(letter),
        "model": settings.model,
        "temperature": settings.temperature,
        "max_tokens": settings.max_output_tokens,
    }


class _Captured(Exception):
    """Raised by the stand-in for the model call in :func:`request_body`, carrying the body."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__("request captured")
        self.body = body


def request_body(letter: str, settings: Settings) -> dict[str, Any]:
    """The chat-completions body the online path sends for ``letter`` (its first attempt).

    Built by the same instructor call as an extraction, with the model call replaced by a
    stand-in that keeps the keyword arguments: messages, model, limits and the answer schema in
    the shape the configured mode puts it (``tools``, ``response_format`` or the prompt). No
    request is made. Cost estimates, batch files and the self-hosted server checks use it, so
    they see exactly what a live run sends. Instructor's log line about the stand-in's failure
    quotes the request, so it runs with letter text withheld from the logs.
    """

    def capture(*args: Any, **kwargs: Any) -> Any:
        raise _Captured(dict(kwargs))

    create = instructor.patch(create=capture, mode=MODES[settings.mode])
    privacy = letter_text_logging(False)
    try:
        create(max_retries=1, **_request_kwargs(letter, settings))
    except _Captured as exc:
        return exc.body
    except InstructorRetryException as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, _Captured):
            return cause.body
        raise
    finally:
        privacy.reset()
    raise AssertionError("instructor returned without calling the model")  # pragma: no cover


class LetterCall:
    """Everything one extraction needs, shared by the sync and async paths."""

    def __init__(self, text: str, settings: Settings, backend: str) -> None:
        self.started = time.perf_counter()
        self.settings = settings
        self.backend = backend
        self.doc = normalise(text, settings.max_chars)
        self.prompt = load_prompt(settings.prompt_version)
        self.context = LetterContext(read_any_form(self.doc))
        self.ledger = UsageLedger()
        self.deadline = Deadline(settings.letter_deadline_s)
        try:
            self.mode = MODES[settings.mode]
        except KeyError:  # pragma: no cover - Settings already restricts the value
            raise ValueError(f"unknown instructor mode {settings.mode!r}") from None

    def request(self) -> dict[str, Any]:
        return _request_kwargs(self.doc.source, self.settings)

    def reask_policy(self) -> dict[str, Any]:
        def after(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            errors = describe_answer_error(exc) if exc else []
            self.ledger.mark_invalid(errors)
            paths = sorted({e.partition(": ")[0] for e in errors if ": " in e})
            log.info(
                "answer %d of %d rejected: %d problem(s) at %s",
                state.attempt_number,
                self.settings.max_attempts,
                len(errors),
                ", ".join(paths) or "(no field: not valid JSON)",
            )
            if self.settings.log_letter_text:
                for line in errors:
                    log.debug("answer %d problem: %s", state.attempt_number, line)

        def out_of_time(state: RetryCallState) -> bool:
            if self.deadline.left() > 0:
                return False
            self.deadline.ran_out = True  # no re-ask past the letter's deadline
            return True

        return {
            "stop": stop_after_attempt(self.settings.max_attempts) | out_of_time,
            "retry": retry_if_exception_type(ANSWER_ERRORS),
            "after": after,
            "reraise": True,
        }

    def transport(self, raw: Any) -> dict[str, Any]:
        """The transport wrapper's keywords for the client ``raw``: the letter's deadline, the
        endpoint's host for messages and, in ``tools`` mode, the check of the server's marks."""
        base_url = str(getattr(raw, "base_url", "") or "") or None
        endpoint = f"the model endpoint at {endpoint_host(base_url)}"
        on_answer = None
        if self.settings.mode == "tools":
            warn_tools_mode_once(server_from_url(base_url), "its port", endpoint)

            def on_answer(response: Any) -> None:
                warn_tools_mode_once(server_from_answer(response), "its answers say so", endpoint)

        return {
            "deadline": self.deadline,
            "timeout_s": self.settings.timeout_s,
            "endpoint": endpoint,
            "on_answer": on_answer,
        }

    def failure(self, exc: Exception) -> Exception | None:
        """The typed error for an instructor failure; None when the best answer is kept."""
        cause = exc.__cause__ if isinstance(exc, InstructorRetryException) else exc
        best = self.context.best
        keep_best = not self.settings.strict and best is not None and not best.invalid
        if isinstance(cause, LLMError):
            if self.deadline.ran_out and isinstance(cause, ModelTransportError) and keep_best:
                return None  # a re-ask cut by the deadline: the best answer, flagged, as below
            return cause
        usage = self.ledger.total
        if isinstance(cause, IncompleteOutputException):
            return OutputTruncatedError(
                f"the model's answer was cut off at max_output_tokens="
                f"{self.settings.max_output_tokens} (raise IMR_LLM_MAX_OUTPUT_TOKENS); "
                f"{usage.total_tokens} tokens spent",
                attempts=len(self.ledger.attempts),
                requests=self.ledger.requests,
                usage=usage,
            )
        if keep_best:
            return None  # the best answer becomes a record flagged for review
        last = next((a.errors for a in reversed(self.ledger.attempts) if a.errors), [])
        log.info(
            "no valid answer in %d attempt(s); %d tokens spent",
            len(self.ledger.attempts),
            usage.total_tokens,
        )
        return ExtractionAttemptsExhaustedError(
            attempts=len(self.ledger.attempts) or getattr(exc, "n_attempts", 0),
            last_errors=last or [f"the answer could not be used ({type(cause).__name__})"],
            usage=usage,
            requests=self.ledger.requests,
            letter_text=self.settings.log_letter_text,
        )

    def finish(self) -> DeterminationRecord:
        """The record from the accepted answer, or from the best one, flagged for review."""
        accepted = self.context.accepted
        candidate: Candidate | None = accepted or self.context.best
        if candidate is None:  # pragma: no cover - instructor returned without validating
            raise ExtractionAttemptsExhaustedError(
                len(self.ledger.attempts), ["no answer"], self.ledger.total
            )
        review = []
        form = self.context.form
        if not form.placed:
            from ..evidence.unplaced import form_unknown_note

            review.append(
                f"{form_unknown_note(form)}: every value was looked for in the whole text, "
                "none could be checked at its place"
            )
        if accepted is None:
            late = f" ({self.deadline.describe()})" if self.deadline.ran_out else ""
            review.append(
                f"the model's answers still contradicted the letter after "
                f"{len(self.ledger.attempts)} attempt(s){late}; its best answer is kept"
            )
        usage = self.ledger.total
        return build_record(
            candidate.data,
            candidate.checked,
            engine="llm",
            backend=self.backend,
            review=review,
            model=self.settings.model,
            letter_form=form.letter_form,
            prompt_version=self.prompt.version,
            prompt_hash=self.prompt.hash,
            timings_ms={"total": round((time.perf_counter() - self.started) * 1000, 3)},
            usage=usage,
            attempts=self.ledger.attempts,
            transport_retries=self.ledger.transport_retries,
            cost_usd=estimate_cost(
                self.settings.model, usage, self.settings.price_input, self.settings.price_output
            ),
        )


def extract_llm(
    text: str, *, settings: Settings, client: Any = None, backend: str = "llm"
) -> DeterminationRecord:
    """Extract one letter with the model (see :func:`imr_llm.extract`)."""
    read = copy_read(text)
    if read is not None:  # read without what a copy added (see imr_llm.inputs.copied)
        with offsets_as_given(read):
            record = extract_llm(read.text, settings=settings, client=client, backend=backend)
        return restore_spans(record, read)
    call = LetterCall(text, settings, backend)
    raw = sync_client(settings, client)
    privacy = letter_text_logging(settings.log_letter_text)  # from here on, logs are ours
    token = CURRENT_LETTER.set(call.context)
    try:
        create = instructor.patch(
            create=with_transport_retries(
                raw.chat.completions.create,
                call.ledger,
                settings.transport_retries,
                **call.transport(raw),
            ),
            mode=call.mode,
        )
        create(max_retries=Retrying(**call.reask_policy()), **call.request())
    except (InstructorRetryException, IncompleteOutputException, LLMError) as exc:
        error = call.failure(exc)
        if error is not None:
            raise error from None
    finally:
        CURRENT_LETTER.reset(token)
        privacy.reset()
    return call.finish()


async def aextract_llm(
    text: str, *, settings: Settings, client: Any = None, backend: str = "llm"
) -> DeterminationRecord:
    """The async twin of :func:`extract_llm`."""
    read = copy_read(text)
    if read is not None:
        with offsets_as_given(read):
            record = await aextract_llm(read.text, settings=settings, client=client,
                                        backend=backend)  # fmt: skip
        return restore_spans(record, read)
    call = LetterCall(text, settings, backend)
    raw = async_client(settings, client)
    privacy = letter_text_logging(settings.log_letter_text)
    token = CURRENT_LETTER.set(call.context)
    try:
        create = instructor.patch(
            create=with_async_transport_retries(
                raw.chat.completions.create,
                call.ledger,
                settings.transport_retries,
                **call.transport(raw),
            ),
            mode=call.mode,
        )
        await create(max_retries=AsyncRetrying(**call.reask_policy()), **call.request())
    except (InstructorRetryException, IncompleteOutputException, LLMError) as exc:
        error = call.failure(exc)
        if error is not None:
            raise error from None
    finally:
        CURRENT_LETTER.reset(token)
        privacy.reset()
    return call.finish()
