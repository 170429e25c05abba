"""The model path (instructor over any OpenAI-compatible server)."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from ..errors import ConfigurationError, NoModelConfiguredError
from ..models import DeterminationRecord


def extract_llm(
    text: str, *, settings: Settings, client: Any = None, backend: str = "llm"
) -> DeterminationRecord:
    if client is None and not settings.model_configured():
        raise NoModelConfiguredError()
    raise ConfigurationError("the LLM backend is not implemented yet")
