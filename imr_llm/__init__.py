"""imr-llm: California IMR final determination letters to validated, structured records.

>>> from imr_llm import extract
>>> record = extract(letter_text)            # rules engine when no model is configured
>>> record.items[0].outcome, record.items[0].medically_necessary
"""
# ruff: noqa: I001  (the re-exports below are grouped by module on purpose)

from ._version import __version__
from .api import aextract, aextract_many, extract, extract_many, extract_rules
from .batch import LetterResult
from .config import Settings
from .errors import (
    ConfigurationError,
    EmptyTextError,
    ExtractionAttemptsExhaustedError,
    ImrError,
    IncompleteLetterError,
    InputError,
    InvalidRecordError,
    LLMError,
    ModelTransportError,
    NoModelConfiguredError,
    NotAnImrLetterError,
    TextTooLargeError,
)
from .models import (
    DeterminationRecord,
    DisputedItem,
    ExtractionMetadata,
    Patient,
    Reviewer,
    TokenUsage,
)

__all__ = [
    "ConfigurationError",
    "DeterminationRecord",
    "DisputedItem",
    "EmptyTextError",
    "ExtractionAttemptsExhaustedError",
    "ExtractionMetadata",
    "ImrError",
    "IncompleteLetterError",
    "InputError",
    "InvalidRecordError",
    "LLMError",
    "ModelTransportError",
    "NoModelConfiguredError",
    "NotAnImrLetterError",
    "Patient",
    "Reviewer",
    "Settings",
    "TextTooLargeError",
    "TokenUsage",
    "__version__",
    "LetterResult",
    "aextract",
    "aextract_many",
    "extract",
    "extract_many",
    "extract_rules",
]
