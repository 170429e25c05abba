"""Test helpers for imr_llm.

No real model is reachable in CI or on developer machines, so the LLM code path is
exercised against :class:`FakeOpenAIServer`, a local OpenAI-compatible HTTP server with
scripted answers and fault injection (rate limits, server errors, dropped connections,
slow answers, malformed or truncated JSON).
"""

from __future__ import annotations

from imr_llm.testing.fake_openai import (
    DEFAULT_MALFORMED_TEXT,
    DEFAULT_TRUNCATED_TEXT,
    FakeOpenAIServer,
    RecordedRequest,
    Responder,
    Step,
    StepKind,
    fake_openai_server,
)

__all__ = [
    "DEFAULT_MALFORMED_TEXT",
    "DEFAULT_TRUNCATED_TEXT",
    "FakeOpenAIServer",
    "RecordedRequest",
    "Responder",
    "Step",
    "StepKind",
    "fake_openai_server",
]
