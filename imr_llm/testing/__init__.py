"""Test doubles for imr_llm: a public, documented testing API, installed with the package.

No real model is reachable in CI or on developer machines, so the LLM code path is
exercised against :class:`FakeOpenAIServer`, a local OpenAI-compatible HTTP server with
scripted answers and fault injection (rate limits, server errors with ``Retry-After`` or
``x-should-retry``, dropped connections, slow answers, malformed or truncated JSON).
Code that calls imr-llm may use it in its own tests too; it is part of the public API
(see the README, "Python API") and everything it imports is a core dependency:

- :mod:`imr_llm.testing.fake_openai`: the server and its :class:`Step` scripts (exported here);
- :mod:`imr_llm.testing.oracle`: answers scripted from gold labels (``GoldResponder``,
  ``ideal_answer``);
- :mod:`imr_llm.testing.cassettes`: vcrpy matching, secret scrubbing and provenance for
  recorded exchanges (vcrpy itself comes with the ``[test]`` extra).
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
