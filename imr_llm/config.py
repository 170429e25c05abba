"""Configuration from keywords or the environment, via pydantic-settings.

The OpenAI-compatible variables keep their usual names (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``)
so an existing setup works unchanged; everything specific to imr-llm is ``IMR_LLM_*``.

These are medical letters, so which engine ``backend="auto"`` picks is a privacy decision: it
uses a model only when this project's own settings name one (``IMR_LLM_MODEL`` or
``IMR_LLM_BASE_URL`` in the environment, ``model=`` or ``base_url=`` in code;
:meth:`Settings.model_named`). ``OPENAI_API_KEY`` is set on many developers' machines for other
tools; on its own it never sends a letter anywhere. An explicit ``backend="llm"`` or
``"cascade"`` uses whatever endpoint the OpenAI variables configure.

A bad value, from the environment or a keyword, is one :class:`~imr_llm.errors.ConfigurationError`
naming the setting (and the variable it came from), never pydantic's multi-line report.

It also holds the privacy policy for logs: verbose logging says what happened (attempts,
statuses, timings, token counts, which checks failed) but never letter text. The openai client
logs whole requests at DEBUG, httpcore logs wire events, and instructor logs rejected answers
(which quote the letter) at ERROR; :class:`WithholdLetterText` keeps all of that out of the
logs unless ``log_letter_text=True`` (``IMR_LLM_LOG_LETTER_TEXT=1``) was set for the extraction.
instructor's own lines are re-emitted at DEBUG under ``imr_llm.llm.instructor`` instead, so a
library user sees none of them by default and a ``--verbose`` run sees them under our logger.
"""

from __future__ import annotations

import logging
import os
from contextvars import ContextVar, Token
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigurationError
from .inputs.normalise import DEFAULT_MAX_CHARS

InstructorModeName = Literal["tools", "json_schema", "json", "md_json"]

DEFAULT_MODEL = "gpt-4o-mini"
#: The endpoint the openai client calls when no base URL is set.
DEFAULT_ENDPOINT_HOST = "api.openai.com"
#: This project's own settings that name a model, as keywords and as environment variables:
#: only these let ``backend="auto"`` send a letter to a model (see the module docstring).
MODEL_NAMING_FIELDS: tuple[str, ...] = ("model", "base_url")
MODEL_NAMING_ENV: tuple[str, ...] = ("IMR_LLM_MODEL", "IMR_LLM_BASE_URL")


class Settings(BaseSettings):
    """Settings for every backend; keyword arguments to ``extract`` override them."""

    model_config = SettingsConfigDict(env_prefix="IMR_LLM_", extra="ignore", populate_by_name=True)

    #: Whether this project's own settings name a model (see :meth:`model_named`).
    _model_named: bool = PrivateAttr(default=False)

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
    timeout_s: float = Field(default=120.0, gt=0, description="Seconds for one HTTP request.")
    letter_deadline_s: float = Field(
        default=300.0,
        gt=0,
        description="Seconds one letter may take on the model path, every request, transport "
        "retry and re-ask included: each request's timeout is cut to what is left, and no "
        "retry or re-ask starts past it. Without it a hung endpoint costs timeout_s times "
        "every retry (some ten minutes) per letter.",
    )
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
    log_letter_text: bool = Field(
        default=False,
        description="Allow letter text in logs and error messages (the requests the openai "
        "client logs at DEBUG, instructor's rejected answers, the full validation problems). "
        "Off by default: logs and errors then hold field paths, counts and statuses only.",
    )
    max_file_bytes: int = Field(
        default=50_000_000,
        ge=1,
        description="Largest letter file read, in bytes; checked from the file's size before it "
        "is read whole, so a wrong file (a video, a disk image) is refused at once.",
    )
    ocr_engine: str | None = Field(
        default=None,
        description="OCR engine for PDF pages with no usable text layer (None: the default "
        "engine; see imr_llm.inputs.ocr).",
    )
    # Review thresholds of the OCR engines' scores, calibrated (in-sample, the 25 corpus
    # letters as scans and faxes) by benchmarks/ocr_confidence.py; docs/ocr.md has the tables.
    ocr_low_confidence_rapidocr: float = Field(
        default=0.94,
        ge=0,
        le=1,
        description="A value on a line rapidocr read with a confidence (the mean probability "
        "of its characters) below this needs review.",
    )
    ocr_low_char_confidence_rapidocr: float | None = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A short value (80 characters or fewer) with a character rapidocr read "
        "with a probability below this needs review (None: no character threshold).",
    )
    ocr_low_confidence_tesseract: float = Field(
        default=0.68,
        ge=0,
        le=1,
        description="A value on a line tesseract read with a confidence (the mean of its "
        "words', 0..1) below this needs review.",
    )
    ocr_low_char_confidence_tesseract: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="A short value (80 characters or fewer) with a word tesseract read with "
        "a confidence below this needs review (None, the default: no character threshold; "
        "on the corpus it flagged right values, not wrong ones).",
    )
    price_input: float | None = Field(default=None, ge=0, description="USD per 1M input tokens.")
    price_output: float | None = Field(default=None, ge=0, description="USD per 1M output tokens.")
    batch_discount: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of the online price a provider batch job saves (0.5: it costs half; "
        "OpenAI's Batch API), for the cost estimates of batch runs.",
    )
    batch_url: str = Field(
        default="/v1/chat/completions",
        pattern=r"^/\S*chat/completions$",
        description="The url of each line of a provider batch job, and the batch's endpoint: "
        "OpenAI and vllm run-batch take /v1/chat/completions; Azure OpenAI's documentation "
        "writes /chat/completions.",
    )

    @field_validator("ocr_engine")
    @classmethod
    def _known_ocr_engine(cls, value: str | None) -> str | None:
        """An OCR engine name is checked up front, not when the first scan needs it."""
        if value is None or not value.strip():
            return None
        from .inputs.ocr import (
            ENGINES,  # only when a name is given: every copy of Settings runs this
        )

        name = value.strip().lower()
        if name not in ENGINES:
            raise ValueError(f"unknown OCR engine {value!r}; the engines are: {', '.join(ENGINES)}")
        return name

    def __init__(self, **values: Any) -> None:
        """Settings from the environment, ``values`` overriding it (pydantic-settings)."""
        super().__init__(**values)
        self._model_named = _names_model(values) or _environment_names_model()

    def with_overrides(self, **overrides: object) -> Settings:
        """A validated copy with the non-None ``overrides`` applied."""
        values = {k: v for k, v in overrides.items() if v is not None}
        copy = type(self).model_validate({**self.model_dump(), **values})
        copy._model_named = self._model_named or _names_model(values)
        return copy

    def model_configured(self) -> bool:
        """A model endpoint is configured when a key or a base URL is set.

        A base URL alone is enough: local servers (vLLM, Ollama, llama.cpp) take no key. This
        is what an explicit ``backend="llm"`` needs; ``"auto"`` asks :meth:`model_named`.
        """
        return self.api_key is not None or self.base_url is not None

    def model_named(self) -> bool:
        """Whether this project's own settings name a model: ``IMR_LLM_MODEL`` or
        ``IMR_LLM_BASE_URL`` in the environment, or ``model=`` / ``base_url=`` given in code.

        Only then does ``backend="auto"`` send letters to a model. ``OPENAI_API_KEY`` or
        ``OPENAI_BASE_URL`` alone, set on many machines for other tools, does not.
        """
        return self._model_named

    def endpoint_host(self) -> str:
        """The host (and port) letters go to on the model path, for messages: never the
        scheme's user or password, a path or a query, which may hold a key."""
        return endpoint_host(self.base_url)


def _names_model(values: dict[str, Any]) -> bool:
    return any(values.get(name) is not None for name in MODEL_NAMING_FIELDS)


def _environment_names_model() -> bool:
    """``IMR_LLM_MODEL`` or ``IMR_LLM_BASE_URL`` set (in any case, as pydantic-settings reads
    them) to something other than blanks."""
    return any(
        key.upper() in MODEL_NAMING_ENV and value.strip() for key, value in os.environ.items()
    )


def endpoint_host(base_url: str | None) -> str:
    """``host[:port]`` of a base URL (:data:`DEFAULT_ENDPOINT_HOST` for none); the URL itself
    when it has no host (a typo), cut short and without anything after ``@`` or ``?``."""
    if not base_url:
        return DEFAULT_ENDPOINT_HOST
    try:
        parts = urlsplit(base_url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        host, port = None, None
    if not host:
        return base_url.strip().split("?")[0].split("@")[-1][:60] or DEFAULT_ENDPOINT_HOST
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with non-None keyword overrides applied.

    Reading the environment through pydantic-settings costs milliseconds, more than the rules
    engine spends on a letter, so the result is cached per snapshot of the relevant variables.

    Raises:
        ConfigurationError: a bad value, in one line naming the setting and, for one from the
            environment, its variable.
    """
    try:
        base = _settings_for(_env_snapshot())
    except ValidationError as exc:
        raise invalid_settings(exc, environment=True) from None
    values = {k: v for k, v in overrides.items() if v is not None}
    if not values:
        return base
    try:
        return base.with_overrides(**values)
    except ValidationError as exc:
        raise invalid_settings(exc) from None


#: Settings whose value is never repeated in a message.
_SECRET_FIELDS = frozenset({"api_key", "OPENAI_API_KEY", "IMR_LLM_API_KEY"})


def invalid_settings(exc: ValidationError, *, environment: bool = False) -> ConfigurationError:
    """One line for pydantic's report of bad setting values: each setting (with the variable a
    value from the environment came from), what was wrong and the value given (never a key's).
    pydantic's own report is four lines a value with a documentation URL."""
    problems = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        name = loc[0] if loc else "settings"
        field = name if name in Settings.model_fields else None
        if environment:
            variable = f"IMR_LLM_{name.upper()}" if field else name
            where = f"{field} (from {variable})" if field else variable
        else:
            where = name
        message = str(error["msg"]).removeprefix("Value error, ")
        given = error.get("input")
        shown = (
            f" (got {given!r})"
            if isinstance(given, str | int | float) and name not in _SECRET_FIELDS
            and len(str(given)) <= 60 and repr(given) not in message
            else ""
        )  # fmt: skip
        problems.append(f"{where}: {message}{shown}")
    return ConfigurationError("invalid settings: " + "; ".join(problems))


def _env_snapshot() -> tuple[tuple[str, str], ...]:
    """The variables Settings() may read, in any case: pydantic-settings matches names without
    regard to case, so ``imr_llm_max_chars`` must not reuse settings cached without it."""
    return tuple(
        sorted(
            (k, v) for k, v in os.environ.items() if k.upper().startswith(("IMR_LLM_", "OPENAI_"))
        )
    )


@lru_cache(maxsize=16)
def _settings_for(snapshot: tuple[tuple[str, str], ...]) -> Settings:
    return Settings()


# ----------------------------------------------------------------------------------------------
# Logging without letter text
# ----------------------------------------------------------------------------------------------

#: While an extraction runs (per thread / task): whether it allows letter text in the logs.
#: None outside any extraction, where the filter leaves other code's logging alone.
LOG_LETTER_TEXT: ContextVar[bool | None] = ContextVar("imr_llm_log_letter_text", default=None)

#: Loggers of the libraries below us that may log request bodies or answers.
THIRD_PARTY_LOGGERS = ("openai", "httpx", "httpcore", "httpx2", "httpcore2", "instructor")
_KNOWN_NAMES = (
    "openai",
    "openai._base_client",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpx2",  # openai 3 ships its own copy of httpx and httpcore under these names
    "httpcore2",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "instructor",
    "instructor.v2",
    "instructor.v2.retry",
    "instructor.auto_client",
)
_INSTRUCTOR_LOG = logging.getLogger("imr_llm.llm.instructor")
_WITHHELD = "details withheld; set IMR_LLM_LOG_LETTER_TEXT=1 to log letter text"


class WithholdLetterText(logging.Filter):
    """A logger filter for the openai, httpx, httpcore and instructor loggers.

    It acts only on records logged while an imr-llm extraction runs (in its thread or task);
    an application's own use of these libraries logs as it always did.

    Without the opt-in: openai's DEBUG records (whole requests) and httpcore's (wire events;
    dropped with the opt-in too) are dropped; httpx's INFO status lines
    (``HTTP Request: POST ... "HTTP/1.1 200 OK"``) and
    every WARNING+ from openai/httpx pass. instructor's records never pass as they are: its
    warnings and errors (rejected answers) are re-emitted at DEBUG under
    ``imr_llm.llm.instructor``, their text withheld without the opt-in; its DEBUG lines only
    with the opt-in. (``httpx2``/``httpcore2`` are the copies openai 3 ships.)
    """

    def filter(self, record: logging.LogRecord) -> bool:
        allowed = LOG_LETTER_TEXT.get()
        if allowed is None:
            return True  # not an imr-llm extraction: another caller's logging, left alone
        name = record.name
        root = name.split(".", 1)[0]
        if root == "instructor":
            if (allowed or record.levelno >= logging.WARNING) and _INSTRUCTOR_LOG.isEnabledFor(
                logging.DEBUG
            ):
                text = record.getMessage() if allowed else _WITHHELD
                _INSTRUCTOR_LOG.debug("%s %s: %s", name, record.levelname.lower(), text)
            return False
        if root in ("httpcore", "httpcore2"):
            return record.levelno >= logging.WARNING
        if record.levelno >= logging.INFO:
            return True
        return allowed  # openai / httpx DEBUG: whole requests and answers


_FILTER = WithholdLetterText()
_seen_loggers = 0


def install_log_privacy() -> None:
    """Attach :class:`WithholdLetterText` to every third-party logger that exists (and to the
    known names, created now so the libraries pick them up). A logger's filter sees only the
    records logged on that very logger, hence one per name; idempotent and cheap to repeat."""
    global _seen_loggers
    names = logging.Logger.manager.loggerDict
    if len(names) == _seen_loggers:
        return
    wanted = set(_KNOWN_NAMES) | {
        n for n in list(names) if n.split(".", 1)[0] in THIRD_PARTY_LOGGERS
    }
    for name in wanted:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    _seen_loggers = len(names)


class _Opt:
    def __init__(self, token: Token[bool | None]) -> None:
        self._token = token

    def reset(self) -> None:
        LOG_LETTER_TEXT.reset(self._token)


def letter_text_logging(allowed: bool) -> _Opt:
    """Set whether logs may hold letter text for the running extraction; ``.reset()`` after."""
    install_log_privacy()
    return _Opt(LOG_LETTER_TEXT.set(bool(allowed)))


install_log_privacy()
