"""Typed errors for every way an extraction can fail.

Callers catch :class:`ImrError` to handle any documented failure; each subclass says *what* was
wrong so a batch report (or a person) can act on it without reading a traceback. Messages never
contain letter text beyond short field names, so they are safe to log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ImrError(Exception):
    """Base class of every documented imr-llm failure."""

    #: A short machine-readable tag, stable across releases, used in batch reports.
    code: str = "imr_error"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary for batch failure reports."""
        return {"error": self.code, "type": type(self).__name__, "message": str(self)}


class InputError(ImrError, ValueError):
    """The input itself cannot be processed, whatever the engine."""

    code = "input_error"


class EmptyTextError(InputError):
    """The text is empty or whitespace only."""

    code = "empty_text"

    def __init__(self) -> None:
        super().__init__("the letter text is empty (nothing but whitespace)")


class TextTooLargeError(InputError):
    """The text is larger than the configured limit.

    A real IMR letter is 5-60 kB; anything far larger is almost certainly a concatenation of
    letters or the wrong file, and would be slow and costly to send to a model.
    """

    code = "text_too_large"

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"the letter text has {size:,} characters, more than the limit of {limit:,} "
            "(raise max_chars if this really is one letter)"
        )


class NotAnImrLetterError(InputError):
    """The text does not look like an IMR final determination letter at all."""

    code = "not_an_imr_letter"

    def __init__(self, found: Sequence[str] = ()) -> None:
        self.found = list(found)
        detail = f" (found only: {', '.join(self.found)})" if self.found else ""
        super().__init__(
            "the text is not an IMR final determination letter: none of its headings, "
            f"decision markers or MAXIMUS labels were found{detail}"
        )


class IncompleteLetterError(ImrError):
    """The engine recognised an IMR letter but could not read all of it.

    ``missing`` names each part it could not find (``"reviewer.licensure_states"``,
    ``"items[2].rationale"``...). The rules engine raises this rather than return a half-filled
    record; the cascade backend uses it as the signal to hand the letter to the model.
    """

    code = "incomplete_letter"

    def __init__(self, missing: Sequence[str], engine: str = "rules") -> None:
        self.missing = list(missing)
        self.engine = engine
        super().__init__(
            f"the {engine} engine could not fully read this letter; missing or unreadable: "
            + ", ".join(self.missing)
        )


class InvalidRecordError(ImrError):
    """An engine produced values that do not form a valid determination record."""

    code = "invalid_record"

    def __init__(self, problems: Sequence[str], engine: str) -> None:
        self.problems = list(problems)
        self.engine = engine
        super().__init__(
            f"the {engine} engine produced an invalid record: " + "; ".join(self.problems)
        )


class ConfigurationError(ImrError):
    """The requested backend is not configured (no model, bad settings...)."""

    code = "configuration_error"


class NoModelConfiguredError(ConfigurationError):
    """``backend="llm"`` was asked for, but no model endpoint is configured."""

    code = "no_model_configured"

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "no model is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI "
            "server) or IMR_LLM_MODEL, or pass client=... to extract()"
            + (f" ({detail})" if detail else "")
        )


class LLMError(ImrError):
    """Base class of failures on the model path."""

    code = "llm_error"


class ExtractionAttemptsExhaustedError(LLMError):
    """The model kept answering with invalid records until the attempts ran out.

    Carries what a caller needs to decide what to do next: how many attempts were made, the
    validation errors of the last one, and the tokens spent on all of them.
    """

    code = "attempts_exhausted"

    def __init__(
        self,
        attempts: int,
        last_errors: Sequence[str],
        usage: Any = None,
    ) -> None:
        self.attempts = attempts
        self.last_errors = list(last_errors)
        self.usage = usage
        shown = "; ".join(self.last_errors[:5])
        more = f" (+{len(self.last_errors) - 5} more)" if len(self.last_errors) > 5 else ""
        super().__init__(
            f"the model gave no valid record in {attempts} attempt(s); last errors: {shown}{more}"
        )

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["attempts"] = self.attempts
        data["last_errors"] = self.last_errors
        if self.usage is not None and hasattr(self.usage, "model_dump"):
            data["usage"] = self.usage.model_dump(mode="json")
        return data


class ModelTransportError(LLMError):
    """The model endpoint could not be reached or kept failing after transport retries."""

    code = "transport_error"
