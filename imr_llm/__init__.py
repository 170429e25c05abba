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

import sys
from typing import TYPE_CHECKING, Any

from ._version import __version__
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
    MultipleLettersError,
    NotAnImrLetterError,
    OcrUnavailableError,
    OutputTruncatedError,
    TextTooLargeError,
    UnknownOptionError,
    UnreadableInputError,
    UnsupportedFileTypeError,
    UnsupportedLetterFormError,
)

if TYPE_CHECKING:  # type checkers and IDEs see every name as a plain import
    from .api import (
        aextract,
        aextract_file,
        aextract_many,
        extract,
        extract_file,
        extract_many,
        extract_rules,
    )
    from .many.concurrent import LetterResult
    from .config import Settings
    from .record.models import (
        DeterminationRecord,
        DisputedItem,
        ExtractionMetadata,
        InputInfo,
        Patient,
        Reviewer,
        TokenUsage,
    )
    from .review import record_to_html
    from .form.letters import split_letters

#: Public names loaded on first use, and the module each lives in. ``import imr_llm`` then costs
#: only the version and the errors (a few milliseconds): the engines, pydantic, the settings
#: (pydantic-settings, which imports asyncio) and the review page load when a name is first
#: touched, and only what that name needs (benchmarks/import_time.py prints the figures).
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "aextract",
            "aextract_file",
            "aextract_many",
            "extract",
            "extract_file",
            "extract_many",
            "extract_rules",
        ),
        "api",
    ),
    "LetterResult": "many.concurrent",
    "Settings": "config",
    **dict.fromkeys(
        (
            "DeterminationRecord",
            "DisputedItem",
            "ExtractionMetadata",
            "InputInfo",
            "Patient",
            "Reviewer",
            "TokenUsage",
        ),
        "record.models",
    ),
    "record_to_html": "review",
    "split_letters": "form.letters",
}


def __getattr__(name: str) -> Any:
    """A lazy public name (PEP 562): imported from its module once, then kept here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # __import__, not importlib.import_module: it goes through the interpreter's import
    # statement machinery, so `python -X importtime` reports the module's cost where it is paid.
    qualified = f"{__name__}.{module}"
    __import__(qualified)
    value = getattr(sys.modules[qualified], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "MultipleLettersError",
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
    "split_letters",
]
