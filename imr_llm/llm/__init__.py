"""The model path: instructor over any OpenAI-compatible server, grounded in the letter.

Keeping letter text out of the logs (instructor's rejected answers included) is
:class:`imr_llm.config.WithholdLetterText`'s job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr
from ..errors import ModelRequestError, OutputTruncatedError

if TYPE_CHECKING:
    from .extractor import aextract_llm, extract_llm

__all__ = ["ModelRequestError", "OutputTruncatedError", "aextract_llm", "extract_llm"]


#: The extractor's functions load on first use: it imports instructor and openai (about a
#: second), which the light submodules (prompts, pricing: the cost estimate, the eval report)
#: must not pay for.
__getattr__ = lazy_getattr(
    __name__, dict.fromkeys(("aextract_llm", "extract_llm"), "extractor"), globals()
)
