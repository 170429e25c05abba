"""The model path: instructor over any OpenAI-compatible server, grounded in the letter."""

from .extractor import OutputTruncatedError, aextract_llm, extract_llm
from .transport import ModelRequestError

__all__ = ["ModelRequestError", "OutputTruncatedError", "aextract_llm", "extract_llm"]
