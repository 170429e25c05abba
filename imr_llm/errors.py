"""Typed errors for every way an extraction can fail: every public error lives here.

Callers catch :class:`ImrError` to handle any documented failure; each subclass says *what* was
wrong so a batch report (or a person) can act on it without reading a traceback. The hierarchy,
with each error's stable ``code`` on the right::

    ImrError                              imr_error
    ├── InputError (also ValueError)      input_error
    │   ├── EmptyTextError                empty_text
    │   ├── TextTooLargeError             text_too_large
    │   ├── NotAnImrLetterError           not_an_imr_letter
    │   ├── MultipleLettersError          multiple_letters
    │   └── UnreadableInputError          unreadable_input
    │       ├── UnsupportedFileTypeError  unsupported_file_type
    │       ├── FileTooLargeError         file_too_large
    │       ├── EncryptedPdfError         encrypted_pdf
    │       ├── CorruptPdfError           corrupt_pdf
    │       └── OcrUnavailableError       ocr_unavailable
    ├── IncompleteLetterError             incomplete_letter
    │   └── UnsupportedLetterFormError    unsupported_letter_form
    ├── InvalidRecordError                invalid_record
    ├── InternalError                     internal_error
    ├── ConfigurationError                configuration_error
    │   ├── NoModelConfiguredError        no_model_configured
    │   └── UnknownOptionError (TypeError) unknown_option
    └── LLMError                          llm_error
        ├── ExtractionAttemptsExhaustedError  attempts_exhausted
        ├── OutputTruncatedError          output_truncated
        ├── ModelTransportError           transport_error
        ├── ModelRequestError             model_request_error
        └── BatchJobError                 batch_job_error

Every :class:`LLMError` carries ``attempts`` (answers the model gave), ``requests`` (HTTP
requests made, failed ones included) and ``usage`` (tokens spent), and ``to_dict()`` reports them.

What messages hold: field paths, counts, HTTP statuses, and the server's own error message for a
refused request (with API keys and bearer tokens redacted). They hold no letter text: the
validation problems an :class:`ExtractionAttemptsExhaustedError` reports are redacted to the
field path and the kind of problem (quoted values, numbers, dates and names withheld), unless
letter text was explicitly allowed (``log_letter_text=True`` / ``IMR_LLM_LOG_LETTER_TEXT=1``).
So ``str(error)`` and ``error.to_dict()`` are safe to log and to write to a failures file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

#: API keys (OpenAI ``sk-...`` and similar), bearer tokens and ``key=value`` secrets.
_SECRETS = (
    re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_*\-]{4,}"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=*\-]{4,}"),
    re.compile(
        r"(?i)\b(api[_-]?key|access[_-]?token|token|secret|password|authorization)"
        r"(\s*[\"']?\s*[:=]\s*[\"']?)[^\s\"',&;]{4,}"
    ),
)


def redact_secrets(text: str) -> str:
    """``text`` with API keys, bearer tokens and ``key=...`` values replaced by ``[redacted]``."""
    text = _SECRETS[0].sub(r"\1-[redacted]", text)
    text = _SECRETS[1].sub(r"\1 [redacted]", text)
    return _SECRETS[2].sub(r"\1\2[redacted]", text)


_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\([^()]*\)")
_DATA_WORD = re.compile(r"[^\s…]*(?:\d|[A-Z])[^\s…]*")
_ELLIPSES = re.compile(r"…(?:[\s,;:]*…)+")


def withhold_letter_text(problem: str) -> str:
    """A validation problem as ``path: kind``, with whatever may come from the letter withheld.

    ``"items[1].service: 'Physical therapy x12' is not the item the letter names at this marker
    ('Acupuncture')"`` becomes ``"items[1].service: … is not the item the letter names at this
    marker …"``: quoted and parenthesised text, and every word with a digit or a capital letter
    (dates, case numbers, ages, state and drug names), is replaced by ``…``. Only the lowercase
    words of the check's own sentence are left.
    """
    path, sep, message = problem.partition(": ")
    if not sep or " " in path:
        path, message = "", problem
    message = _QUOTED.sub("…", message)
    message = _DATA_WORD.sub("…", message)
    message = _ELLIPSES.sub("…", message).strip()
    return f"{path}: {message}" if path else message


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


class MultipleLettersError(InputError):
    """The text holds more than one letter: another letter's first page follows the first
    letter (a bundle scanned as one file, two texts joined), or the letter's first page is
    printed again (a page fed twice). Read as one letter it would give a record mixing both,
    wrong as a whole while each value reads exactly; :func:`imr_llm.split_letters` cuts the
    text into one text per letter. ``offset`` is where the other first page starts."""

    code = "multiple_letters"

    def __init__(self, offset: int) -> None:
        self.offset = offset
        super().__init__(
            "the text holds more than one letter: a letter's opening form text shows again at "
            f"character {offset} (a second letter, or a page of this letter printed twice); "
            "cut it into letters with imr_llm.split_letters() or imr-llm split, and extract "
            "each letter"
        )


class IncompleteLetterError(ImrError):
    """The engine recognised an IMR letter but could not read all of it.

    ``missing`` names each part it could not find that the record cannot do without
    (``"items[2].rationale"``, ``"items[0].outcome"``...). The rules engine raises this rather
    than guess an item; a header value or a reviewer's list that does not read is left out of
    the record instead, which then needs review. The cascade backend uses either as the signal
    to hand the letter to the model.
    """

    code = "incomplete_letter"

    def __init__(self, missing: Sequence[str], engine: str = "rules") -> None:
        self.missing = list(missing)
        self.engine = engine
        super().__init__(
            f"the {engine} engine could not fully read this letter; missing or unreadable: "
            + ", ".join(self.missing)
        )


class UnsupportedLetterFormError(IncompleteLetterError):
    """An IMR letter of a form (a generation of MAXIMUS letters) the rules engine does not read.

    ``letter_form`` names the form the letter-form layer recognised (``"2014-documents-reviewed"``,
    ``"medical-professional-review"``), or ``"unknown"`` for an IMR determination whose form
    is none of the known ones (or too damaged to tell). The letter *is* an IMR determination:
    the model path reads it (the cascade hands it over, as for any letter the rules engine
    cannot read, which is why this is an :class:`IncompleteLetterError`).
    """

    code = "unsupported_letter_form"

    def __init__(self, letter_form: str, found: Sequence[str] = (), engine: str = "rules") -> None:
        self.letter_form = letter_form
        self.found = list(found)
        what = (
            "an IMR determination in a form it does not know (letter form 'unknown')"
            if letter_form == "unknown"
            else f"an IMR letter of the {letter_form!r} form, which it does not read"
        )
        detail = f" (found: {', '.join(self.found)})" if self.found else ""
        super().__init__([f"the whole letter (letter form {letter_form!r})"], engine=engine)
        self.args = (
            f"the {engine} engine recognised {what}{detail}; an LLM backend "
            "(--backend llm or cascade) can read it",
        )


class InvalidRecordError(ImrError):
    """An engine produced values that do not form a valid determination record.

    The message names each problem as ``path: kind`` with the values withheld (a misread date
    or state name is letter text); ``problems`` keeps the full messages for the caller, who
    holds the letter anyway.
    """

    code = "invalid_record"

    def __init__(self, problems: Sequence[str], engine: str) -> None:
        self.problems = list(problems)
        self.engine = engine
        super().__init__(
            f"the {engine} engine produced an invalid record: "
            + "; ".join(withhold_letter_text(p) for p in self.problems)
        )


class ConfigurationError(ImrError):
    """The requested backend is not configured (no model, bad settings...)."""

    code = "configuration_error"


class NoModelConfiguredError(ConfigurationError):
    """``backend="llm"`` was asked for, but no model endpoint is configured."""

    code = "no_model_configured"

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "no model is configured: set OPENAI_API_KEY for OpenAI, or IMR_LLM_BASE_URL for "
            "another OpenAI-compatible server (vLLM, Ollama, llama.cpp: no key needed), or pass "
            "client=... to extract()" + (f" ({detail})" if detail else "")
        )


class UnknownOptionError(ConfigurationError, TypeError):
    """A keyword option that ``extract()`` and its twins do not know (a typo such as
    ``max_attemps=7`` would otherwise do nothing at all)."""

    code = "unknown_option"

    def __init__(self, option: str, known: Sequence[str] = ()) -> None:
        import difflib

        self.option = option
        close = difflib.get_close_matches(option, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        super().__init__(f"unknown option {option!r}{hint} (see imr_llm.Settings for the options)")


class UnreadableInputError(InputError):
    """A file could not be read as letter text (missing, a directory, binary, bad PDF...).

    Raised for a file, the message starts with the file's name as it was given
    (``"letters/a.txt: no such file"``); ``path`` is that name and ``reason`` the message
    without it (what a line that names the file already, like the command line's, prints).
    """

    code = "unreadable_input"
    #: The file the error is about, as given (None: bytes, standard input, or not known).
    path: str | None = None

    @property
    def reason(self) -> str:
        """The message without the file's name."""
        return str(self.__dict__.get("_reason", self))

    def naming(self, path: str) -> UnreadableInputError:
        """This error with ``path`` at the head of its message (once); returns it."""
        if self.path is None:
            self.__dict__["_reason"] = str(self)
            self.path = path
            self.args = (f"{path}: {self.__dict__['_reason']}",)
        return self


class UnsupportedFileTypeError(UnreadableInputError):
    """The file is of a type imr-llm does not read (only text files and PDFs are letters)."""

    code = "unsupported_file_type"


class FileTooLargeError(UnreadableInputError):
    """The file is over the size limit; checked from its size before it is read whole."""

    code = "file_too_large"

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"the file has {size:,} bytes, more than the limit of {limit:,} "
            "(raise max_file_bytes if this really is one letter)"
        )


class EncryptedPdfError(UnreadableInputError):
    """The PDF is encrypted with a password, so its pages cannot be read."""

    code = "encrypted_pdf"


class CorruptPdfError(UnreadableInputError):
    """The file says it is a PDF but cannot be parsed as one (truncated or damaged)."""

    code = "corrupt_pdf"


class OcrUnavailableError(UnreadableInputError):
    """Pages need OCR (no usable text layer) and the OCR engine asked for is not installed.

    The message names the install command (``pip install 'imr-llm[ocr]'`` or the engine's own).
    """

    code = "ocr_unavailable"


class LLMError(ImrError):
    """Base class of failures on the model path.

    ``attempts`` counts the answers the model gave (re-asks included), ``requests`` the HTTP
    requests made (failed ones included) and ``usage`` the tokens spent on all of them.
    """

    code = "llm_error"

    def __init__(
        self,
        message: str = "",
        *,
        attempts: int = 0,
        requests: int | None = None,
        usage: Any = None,
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.requests = requests if requests is not None else attempts
        self.usage = usage

    @property
    def total_tokens(self) -> int:
        """Tokens spent on every answer (0 when none was received)."""
        return int(getattr(self.usage, "total_tokens", 0) or 0)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["attempts"] = self.attempts
        data["requests"] = self.requests
        data["tokens"] = self.total_tokens
        usage = self.usage
        data["usage"] = usage.model_dump(mode="json") if hasattr(usage, "model_dump") else None
        return data


class ExtractionAttemptsExhaustedError(LLMError):
    """The model kept answering with invalid records until the attempts ran out.

    Carries what a caller needs to decide what to do next: how many attempts were made, the
    validation problems of the last one and the tokens spent on all of them. ``last_errors``
    holds each problem as ``path: kind`` with letter text withheld (see
    :func:`withhold_letter_text`); with ``letter_text=True`` (the ``log_letter_text`` setting)
    it holds the full messages, which quote words the model copied from the letter.
    ``problem_paths`` names the fields that failed.
    """

    code = "attempts_exhausted"

    def __init__(
        self,
        attempts: int,
        last_errors: Sequence[str],
        usage: Any = None,
        *,
        requests: int | None = None,
        letter_text: bool = False,
    ) -> None:
        full = [str(e) for e in last_errors]
        self.last_errors = full if letter_text else [withhold_letter_text(e) for e in full]
        self.problem_paths = sorted(
            {p for e in full if (p := e.partition(": ")[0]) and " " not in p}
        )
        shown = "; ".join(self.last_errors[:5])
        more = f" (+{len(self.last_errors) - 5} more)" if len(self.last_errors) > 5 else ""
        super().__init__(
            f"the model gave no valid record in {attempts} attempt(s); last errors: {shown}{more}",
            attempts=attempts,
            requests=requests,
            usage=usage,
        )

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["last_errors"] = self.last_errors
        data["problem_paths"] = self.problem_paths
        return data


class OutputTruncatedError(LLMError):
    """The model's answer was cut off (``finish_reason: length``) before it was complete."""

    code = "output_truncated"


class ModelTransportError(LLMError):
    """The model endpoint could not be reached or kept failing after transport retries."""

    code = "transport_error"


class ModelRequestError(LLMError):
    """The endpoint refused the request for a reason a retry will not fix (400, 401, 404...).

    ``status`` is the HTTP status, ``server_message`` the server's own explanation (context
    length exceeded, model not found, bad key...) with secrets redacted, ``server_code`` its
    error code when it gives one.
    """

    code = "model_request_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        server_message: str = "",
        server_code: str | None = None,
        attempts: int = 0,
        requests: int | None = None,
        usage: Any = None,
    ) -> None:
        self.status = status
        self.server_message = server_message
        self.server_code = server_code
        super().__init__(message, attempts=attempts, requests=requests, usage=usage)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["status"] = self.status
        data["server_message"] = self.server_message
        data["server_code"] = self.server_code
        return data


class BatchJobError(LLMError):
    """A provider batch job could not be submitted, read or collected (see ``imr-llm batch``).

    Raised for the job as a whole (its folder is missing or damaged, the provider refused the
    upload, the job failed or expired); a single letter's failure inside a job is that letter's
    own error, never this one.
    """

    code = "batch_job_error"


class InternalError(ImrError):
    """An unexpected failure inside imr-llm while reading one letter (a bug: please report).

    A batch reports it for that letter and goes on with the others.
    """

    code = "internal_error"
