"""The model path: instructor over any OpenAI-compatible server, grounded in the letter.

Keeping letter text out of the logs (instructor's rejected answers included) is
:class:`imr_llm.config.WithholdLetterText`'s job.
"""

from ..errors import ModelRequestError, OutputTruncatedError
from .extractor import aextract_llm, extract_llm

__all__ = ["ModelRequestError", "OutputTruncatedError", "aextract_llm", "extract_llm"]
