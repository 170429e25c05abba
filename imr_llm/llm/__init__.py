"""The model path: instructor over any OpenAI-compatible server, grounded in the letter.

Keeping letter text out of the logs (instructor's rejected answers included) is
:class:`imr_llm.config.WithholdLetterText`'s job.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ..errors import ModelRequestError, OutputTruncatedError

if TYPE_CHECKING:
    from .extractor import aextract_llm, extract_llm

__all__ = ["ModelRequestError", "OutputTruncatedError", "aextract_llm", "extract_llm"]


def __getattr__(name: str) -> Any:
    """The extractor's functions on first use (PEP 562): it imports instructor and openai (about
    a second), which the light submodules (prompts, pricing: the cost estimate, the eval
    report) must not pay for."""
    if name not in ("aextract_llm", "extract_llm"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    __import__(f"{__name__}.extractor")
    value = getattr(sys.modules[f"{__name__}.extractor"], name)
    globals()[name] = value
    return value
