"""imr-llm: California IMR final determination letters to validated, structured records.

>>> from imr_llm import extract
>>> record = extract(letter_text)            # rules engine when no model is configured
>>> record.items[0].outcome, record.items[0].medically_necessary

Everything public is in ``__all__`` and typed (the package ships ``py.typed``); every error is
in :mod:`imr_llm.errors`, whose docstring draws their hierarchy. Test doubles for code that calls
imr-llm (a local OpenAI-compatible server, a gold-label oracle, cassette helpers) are the public
testing API in :mod:`imr_llm.testing`.
"""
# ruff: noqa: I001  (the re-exports below are grouped by module on purpose)

from ._version import __version__
from .api import (
    aextract,
    aextract_file,
    aextract_many,
    extract,
    extract_file,
    extract_many,
    extract_rules,
)
from .batch import LetterResult
from .config import Settings
from .errors import (
    BatchJobError,
    ConfigurationError,
    CorruptPdfError,
    EmptyTextError,
    EncryptedPdfError,
    ExtractionAttemptsExhaustedError,
    FileTooLargeError,
    ImrError,
    IncompleteLetterError,
    InputError,
    InternalError,
    InvalidRecordError,
    LLMError,
    ModelRequestError,
    ModelTransportError,
    NoModelConfiguredError,
    NotAnImrLetterError,
    OcrUnavailableError,
    OutputTruncatedError,
    TextTooLargeError,
    UnknownOptionError,
    UnreadableInputError,
    UnsupportedFileTypeError,
    UnsupportedLetterFormError,
)
from .models import (
    DeterminationRecord,
    DisputedItem,
    ExtractionMetadata,
    InputInfo,
    Patient,
    Reviewer,
    TokenUsage,
)
from .review import record_to_html

#: The public API, sorted; the README's "Python API" section documents each name (a test checks).
__all__ = [
    "BatchJobError",
    "ConfigurationError",
    "CorruptPdfError",
    "DeterminationRecord",
    "DisputedItem",
    "EmptyTextError",
    "EncryptedPdfError",
    "ExtractionAttemptsExhaustedError",
    "ExtractionMetadata",
    "FileTooLargeError",
    "ImrError",
    "IncompleteLetterError",
    "InputError",
    "InputInfo",
    "InternalError",
    "InvalidRecordError",
    "LLMError",
    "LetterResult",
    "ModelRequestError",
    "ModelTransportError",
    "NoModelConfiguredError",
    "NotAnImrLetterError",
    "OcrUnavailableError",
    "OutputTruncatedError",
    "Patient",
    "Reviewer",
    "Settings",
    "TextTooLargeError",
    "TokenUsage",
    "UnknownOptionError",
    "UnreadableInputError",
    "UnsupportedFileTypeError",
    "UnsupportedLetterFormError",
    "__version__",
    "aextract",
    "aextract_file",
    "aextract_many",
    "extract",
    "extract_file",
    "extract_many",
    "extract_rules",
    "record_to_html",
]
