"""Configuration from keywords or the environment, via pydantic-settings.

The OpenAI-compatible variables keep their usual names (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``)
so an existing setup works unchanged; everything specific to imr-llm is ``IMR_LLM_*``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .normalise import DEFAULT_MAX_CHARS

InstructorModeName = Literal["tools", "json_schema", "json", "md_json"]

DEFAULT_MODEL = "gpt-4o-mini"


class Settings(BaseSettings):
    """Settings for every backend; keyword arguments to ``extract`` override them."""

    model_config = SettingsConfigDict(env_prefix="IMR_LLM_", extra="ignore", populate_by_name=True)

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "IMR_LLM_API_KEY")
    )
    base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "IMR_LLM_BASE_URL")
    )
    model: str = Field(default=DEFAULT_MODEL, description="Model name sent to the server.")
    mode: InstructorModeName = Field(
        default="tools",
        description="instructor mode: tools, json_schema, or json/md_json for servers "
        "without tool calling.",
    )
    max_attempts: int = Field(default=3, ge=1, le=10, description="Validation re-asks, total.")
    transport_retries: int = Field(default=4, ge=0, le=20)
    timeout_s: float = Field(default=120.0, gt=0)
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_output_tokens: int = Field(default=4096, ge=256)
    max_chars: int = Field(default=DEFAULT_MAX_CHARS, ge=1000)
    concurrency: int = Field(default=8, ge=1, le=256)
    prompt_version: str = Field(default="extract-v1", description="Folder under prompts/.")
    strict: bool = Field(
        default=False,
        description="Raise a typed error instead of returning a record flagged needs_review "
        "when the model's answers run out of attempts.",
    )
    price_input: float | None = Field(default=None, ge=0, description="USD per 1M input tokens.")
    price_output: float | None = Field(default=None, ge=0, description="USD per 1M output tokens.")

    def with_overrides(self, **overrides: object) -> Settings:
        """A validated copy with the non-None ``overrides`` applied."""
        values = {k: v for k, v in overrides.items() if v is not None}
        return type(self).model_validate({**self.model_dump(), **values})

    def model_configured(self) -> bool:
        """A model endpoint is configured when a key or a base URL is set.

        A base URL alone is enough: local servers (vLLM, Ollama, llama.cpp) take no key.
        """
        return self.api_key is not None or self.base_url is not None


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with non-None keyword overrides applied.

    Reading the environment through pydantic-settings costs milliseconds, more than the rules
    engine spends on a letter, so the result is cached per snapshot of the relevant variables.
    """
    base = _settings_for(_env_snapshot())
    values = {k: v for k, v in overrides.items() if v is not None}
    return base.with_overrides(**values) if values else base


def _env_snapshot() -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted((k, v) for k, v in os.environ.items() if k.startswith(("IMR_LLM_", "OPENAI_")))
    )


@lru_cache(maxsize=16)
def _settings_for(snapshot: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()
