"""A letter's answers so far, validated and grounded exactly as online: record, error or re-ask.

The online path validates each answer as it arrives, inside instructor's retry loop. A batch
gets one answer per letter per round, so after each round the letter's answers are replayed in
order through the same pieces: the extractor's own per-letter call (prompt, letter form, usage
ledger, best answer so far), instructor's response parser for the mode (which runs
:class:`~imr_llm.llm.answer.LetterAnswer` and its evidence checks), the same attempt limit, the
same typed errors, and :func:`imr_llm.record.builder.build_record` through the same ``finish``. A
replay is a pure function of the letter and its answers, so running it again after an interruption
gives the same record, error or re-ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from instructor.core import IncompleteOutputException
from instructor.processing.response import process_response
from openai.types.chat import ChatCompletion
from pydantic import ValidationError as PydanticValidationError

from ..config import Settings
from ..errors import ImrError
from ..llm.answer import CURRENT_LETTER
from ..llm.extractor import ANSWER_ERRORS, LetterCall, describe_answer_error, prepared_answer_model
from ..record.models import DeterminationRecord
from .requests import mode_of, reask_request

BACKEND = "batch"


@dataclass
class Outcome:
    """Where a letter stands after its answers: a ``record``, an ``error``, or the ``reask``
    request body of its next attempt."""

    record: DeterminationRecord | None = None
    error: ImrError | None = None
    reask: dict[str, Any] | None = None


def new_call(text: str, settings: Settings) -> LetterCall:
    """The online path's per-letter call for ``text`` (raises the input errors it raises)."""
    return LetterCall(text, settings, BACKEND)


def replay(
    text: str,
    settings: Settings,
    answers: Sequence[tuple[dict[str, Any], dict[str, Any]]],
    *,
    requests: int,
    resent: int,
) -> Outcome:
    """Validate ``answers`` (``(request body, chat completion body)`` in attempt order).

    ``requests`` counts the lines sent for the letter and ``resent`` those sent again after a
    failed line (the batch twin of a transport retry); both go into the record or error.
    """
    call = new_call(text, settings)
    call.ledger.requests = requests
    call.ledger.transport_retries = resent
    mode = mode_of(settings)
    token = CURRENT_LETTER.set(call.context)
    try:
        for number, (request, body) in enumerate(answers, 1):
            try:
                response = ChatCompletion.model_validate(body)
            except PydanticValidationError:
                response = ChatCompletion.model_construct(**body)
            call.ledger.record(response, request, 0.0)
            try:
                process_response(
                    response,
                    response_model=prepared_answer_model(),
                    stream=False,
                    strict=True,
                    mode=mode,
                )
            except IncompleteOutputException as exc:
                return _finish(call, settings, exc)
            except ANSWER_ERRORS as exc:
                call.ledger.mark_invalid(describe_answer_error(exc))
                if number >= settings.max_attempts:
                    return _finish(call, settings, exc)
                if number == len(answers):
                    return Outcome(reask=reask_request(request, response, exc, settings))
                continue
            return _finish(call, settings, None)
    finally:
        CURRENT_LETTER.reset(token)
    raise ValueError("replay needs at least one answer")  # pragma: no cover - caller's bug


def _finish(call: LetterCall, settings: Settings, exc: Exception | None) -> Outcome:
    if exc is not None:
        error = call.failure(exc)
        if error is not None:
            return Outcome(error=error)
    record = call.finish()
    meta = record.metadata
    if meta is not None:
        meta.timings_ms = {}  # a batch has no per-letter latency worth reporting
        if meta.cost_usd is not None:
            meta.cost_usd = round(meta.cost_usd * (1 - settings.batch_discount), 6)
    return Outcome(record=record)
