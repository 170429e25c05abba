"""The request lines of a batch job, built by instructor exactly as the online path sends them.

A batch line's ``body`` must be the body the online path would POST for the same letter and
attempt: the same prompt, answer schema, instructor mode, model, temperature and token limit.
So nothing is assembled here by hand: the first request is
:func:`imr_llm.llm.extractor.request_body` (the extractor's own instructor call with the model
call replaced by a stand-in that keeps its arguments), and a re-ask comes from the mode's own
re-ask handler in instructor's registry, given the earlier request, the answer and its
validation error, exactly as instructor's retry loop calls it between attempts. A test
captures the online requests at the test server and compares them with the batch lines.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import instructor
from instructor.v2.core.providers import Provider
from instructor.v2.core.registry import mode_registry

from ..config import Settings
from ..llm.extractor import MODES, request_body

#: The endpoint every line targets (OpenAI's Batch API and ``vllm run-batch`` alike; the
#: ``batch_url`` setting changes it, for Azure).
CHAT_URL = "/v1/chat/completions"


def mode_of(settings: Settings) -> instructor.Mode:
    """The instructor mode the settings name (as the online path maps it)."""
    return MODES[settings.mode]


def first_request(source_text: str, settings: Settings) -> dict[str, Any]:
    """The body of the first request for a letter (its normalised source text)."""
    return request_body(source_text, settings)


def reask_request(
    previous: dict[str, Any], response: Any, exception: Exception, settings: Settings
) -> dict[str, Any]:
    """The body of the re-ask after ``response`` to ``previous`` failed with ``exception``.

    This is the call instructor's retry loop makes between attempts (the mode's registered
    re-ask handler, on a copy of the request), so the validation errors reach the model in the
    same words as online.
    """
    handlers = mode_registry.get_handlers(Provider.OPENAI, mode_of(settings))
    return handlers.reask_handler(
        kwargs=copy.deepcopy(previous), response=response, exception=exception
    )


def canonical(body: dict[str, Any]) -> str:
    """The body as canonical JSON (sorted keys), for hashing and comparing."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_hash(body: dict[str, Any]) -> str:
    """SHA-256 of the canonical body: the job file keeps it to detect damaged request files."""
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """SHA-256 of a letter's text as sent: one request per distinct letter."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def custom_id(letter_hash: str, attempt: int) -> str:
    """``imr-<first 32 hex of the letter's content hash>-a<attempt>``: unique in a batch, and
    the same for the same letter and attempt in any job."""
    return f"imr-{letter_hash[:32]}-a{attempt}"


def batch_line(cid: str, body: dict[str, Any], url: str = CHAT_URL) -> str:
    """One line of a requests JSONL (OpenAI Batch API / ``vllm run-batch`` input format)."""
    return json.dumps(
        {"custom_id": cid, "method": "POST", "url": url, "body": body}, ensure_ascii=False
    )
