"""The public entry point: ``extract(text)`` picks an engine and returns a validated record.

The pipeline is text -> :mod:`~imr_llm.inputs.normalise` -> :mod:`~imr_llm.rules` or
:mod:`~imr_llm.llm` -> :mod:`~imr_llm.evidence` -> :mod:`~imr_llm.record.builder`. This
module only orchestrates: it chooses the backend, times the stages and fills the metadata.
``extract_file`` puts :mod:`~imr_llm.inputs.files` (a file's kind and text; a PDF's pages through
:mod:`~imr_llm.inputs.pdf`, OCR'd where needed) in front, and records where the text came from.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, Literal, Union

from pydantic import ValidationError

from .errors import (
    ConfigurationError,
    IncompleteLetterError,
    InvalidRecordError,
    UnknownOptionError,
)
from .evidence.check import check_values
from .inputs.copied import copy_read, offsets_as_given
from .inputs.normalise import DEFAULT_MAX_CHARS, normalise
from .many.concurrent import LetterResult, run_ordered, run_ordered_async
from .record.builder import attach_input, build_record, restore_spans
from .record.models import DeterminationRecord
from .rules import flag_unread, rules_values

# Imported where they are used, not here: the rules path needs no model client (openai), no
# file reading (sources, pdf) and, when nothing is configured, no settings object (config
# imports pydantic-settings, which imports asyncio); see _defaults_only().
if TYPE_CHECKING:
    import openai

    from .config import Settings
    from .inputs.files import LetterSource, LetterText

log = logging.getLogger(__name__)

Backend = Literal["auto", "rules", "llm", "cascade"]
BACKENDS: tuple[str, ...] = ("auto", "rules", "llm", "cascade")
#: The model client a caller may pass: sync for extract()/extract_many(), async for the twins.
Client = Union["openai.OpenAI", "openai.AsyncOpenAI"]
#: What extract_file() reads: a path (``-`` for standard input) or the file's bytes.
FileInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]
#: Environment variables that name a setting: IMR_LLM_<field> (any case, as pydantic-settings
#: reads them) and the two OpenAI names Settings also takes.
_ENV_PREFIX = "IMR_LLM_"
_OPENAI_ENV = frozenset({"OPENAI_API_KEY", "OPENAI_BASE_URL"})
#: Those whose value cannot make Settings() fail nor change the rules path: a key or a base URL
#: (any string is valid) only says where a model is.
_ENDPOINT_ENV = frozenset({"IMR_LLM_API_KEY", "IMR_LLM_BASE_URL"}) | _OPENAI_ENV
#: Of those, the ones that do not name a model, so ``auto`` still means the rules engine.
_NOT_NAMING_ENV = _ENDPOINT_ENV - {"IMR_LLM_BASE_URL"}


@lru_cache(maxsize=1)
def option_names() -> frozenset[str]:
    """The keyword options extract() and its twins accept: the fields of Settings."""
    from .config import Settings

    return frozenset(Settings.model_fields)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def resolve_backend(backend: str, settings: Settings, client: Client | None = None) -> str:
    """The engine ``auto`` stands for: the model when this project's own settings name one
    (``IMR_LLM_MODEL``, ``IMR_LLM_BASE_URL``, ``model=``, ``base_url=``) or a client is passed,
    else the rules. An ``OPENAI_API_KEY`` set for other tools is not a reason to send medical
    letters to a model (see :meth:`~imr_llm.config.Settings.model_named`)."""
    if backend not in BACKENDS:
        raise ConfigurationError(
            f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}"
        )
    if backend == "auto":
        return "llm" if (client is not None or settings.model_named()) else "rules"
    return backend


def extract_rules(
    text: str, *, max_chars: int | None = None, backend: str = "rules"
) -> DeterminationRecord:
    """Extract with the rules engine only (offline, deterministic).

    Its values go through the same evidence check as a model's: a value the check cannot
    confirm at its place, or a failed self-check, flags the record ``needs_review``. A letter
    as printed takes the fast path (:mod:`imr_llm.rules.strict`), which gives the same record.
    """
    from .rules import strict  # imported at first use: importing imr_llm stays as light

    read = copy_read(text)
    if read is not None:  # read without what a copy added; spans index the text as given
        with offsets_as_given(read):
            record = extract_rules(read.text, max_chars=max_chars, backend=backend)
        return restore_spans(record, read)
    if strict.enabled:
        fast = strict.strict_record(
            text,
            max_chars=max_chars if max_chars is not None else DEFAULT_MAX_CHARS,
            backend=backend,
        )
        if fast is not None:
            return fast
    started = time.perf_counter()
    doc = normalise(text, max_chars if max_chars is not None else DEFAULT_MAX_CHARS)
    normalised = time.perf_counter()
    data, findings, form, flags = rules_values(doc)
    engine_ms = _ms(normalised)
    checked = check_values(data, form)
    flag_unread(checked, findings.unread)
    record = build_record(
        data,
        checked,
        engine="rules",
        backend=backend,
        review=flags,
        warnings=findings.warnings,
        letter_form=form.letter_form,
        timings_ms={
            "normalise": round((normalised - started) * 1000, 3),
            "engine": engine_ms,
            "total": _ms(started),
        },
    )
    log.debug("rules engine read %d item(s) in %.2f ms", len(record.items), engine_ms)
    return record


def extract(
    text: str,
    backend: Backend = "auto",
    *,
    model: str | None = None,
    client: Client | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> DeterminationRecord:
    """Extract a validated determination record from the text of one IMR letter.

    Args:
        text: The letter as text (a PDF's text, OCR text, or plain text; for a file, see
            :func:`extract_file`).
        backend: ``"auto"`` (the model when ``IMR_LLM_MODEL`` or ``IMR_LLM_BASE_URL``, or
            ``model=`` or ``base_url=``, names one or ``client`` is given, else the rules engine),
            ``"rules"``, ``"llm"``, or ``"cascade"`` (rules first, the model only for letters
            the rules engine cannot read fully).
        model: Model name for the LLM backends (default from ``IMR_LLM_MODEL``).
        client: An ``openai.OpenAI`` client to use instead of one built from the environment
            (it is used through a copy; nothing on it is changed).
        settings: A :class:`~imr_llm.config.Settings`; other keywords override its fields
            (``max_attempts=``, ``mode=``, ``base_url=``, ``max_chars=``...). A keyword that
            is not a field of ``Settings`` raises :class:`~imr_llm.errors.UnknownOptionError`.

    Returns:
        A :class:`~imr_llm.record.models.DeterminationRecord` whose ``metadata`` says which engine
        produced it.

    Raises:
        EmptyTextError, TextTooLargeError, NotAnImrLetterError: the input cannot be used.
        IncompleteLetterError: the rules engine could not read an item of the letter, or a part
            of one (a header value or a reviewer list it cannot read is left out, flagged).
        UnknownOptionError: a keyword option that is not a setting (a typo).
        ConfigurationError: an unknown backend or an invalid setting value.
        NoModelConfiguredError: an LLM backend was asked for with no model configured.
        ExtractionAttemptsExhaustedError: the model gave no valid record within the attempts
            (with ``strict=True``).
        OutputTruncatedError, ModelTransportError, ModelRequestError: the model's answer was
            cut off, the endpoint kept failing, or it refused the request.
    """
    if _defaults_only(backend, settings, model, client, options):
        return extract_rules(text, backend=backend)
    settings = settings_for(settings, model, options)
    chosen = resolve_backend(backend, settings, client)
    if chosen == "rules":
        return extract_rules(text, max_chars=settings.max_chars, backend=backend)

    from .llm import extract_llm  # imported lazily: the rules path needs no model client

    if chosen == "llm":
        return extract_llm(text, settings=settings, client=client, backend=backend)
    return cascade(
        text,
        settings,
        lambda: extract_llm(text, settings=settings, client=client, backend=backend),
        backend,
    )


def extract_file(
    file: FileInput,
    backend: Backend = "auto",
    *,
    model: str | None = None,
    client: Client | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> DeterminationRecord:
    """Extract the record of the letter in a file: a text file or a PDF (OCR'd where needed).

    Args:
        file: A path (``-`` reads standard input) or the file's bytes. What it is comes from
            its bytes: ``%PDF-`` is a PDF; text may be UTF-8 (with or without a byte-order
            mark), UTF-16 or UTF-32 with a byte-order mark, or Windows-1252/Latin-1.
        backend, model, client, settings, options: as for :func:`extract`; ``max_file_bytes=``
            and ``ocr_engine=`` are settings too.

    Returns:
        The record, whose ``metadata.input`` says what the text came from (kind, encoding, text
        layer or OCR, pages, OCR'd pages, engine and confidence, where each page starts) and
        whose evidence spans carry their ``page`` when the pages are known.

    Raises:
        UnreadableInputError: the file is missing, a folder or cannot be read;
            its subclasses ``FileTooLargeError`` (over ``max_file_bytes``, checked before
            reading), ``UnsupportedFileTypeError`` (an image, an archive, a Word file...),
            ``EncryptedPdfError``, ``CorruptPdfError`` and ``OcrUnavailableError`` (no page has
            a usable text layer and no OCR engine is installed).
        Everything :func:`extract` raises.
    """
    from .inputs.files import open_source

    settings = settings_for(settings, model, options)
    source = open_source(file, max_file_bytes=settings.max_file_bytes)
    return extract_source(source, backend, client=client, settings=settings)


def extract_source(
    source: LetterSource,
    backend: Backend = "auto",
    *,
    client: Client | None = None,
    settings: Settings | None = None,
    extract_text: Callable[..., DeterminationRecord] | None = None,
) -> DeterminationRecord:
    """The record of an opened letter (see :func:`~imr_llm.inputs.files.open_source`); the CLI's
    path, so a file gives the same record from the command line and from
    :func:`extract_file`. ``extract_text`` replaces :func:`extract` (the CLI passes its own
    name for it, which its tests replace)."""
    if settings is None:
        from .config import load_settings

        settings = load_settings()
    started = time.perf_counter()
    letter = source.read(settings.ocr_engine)
    read_ms = _ms(started)
    run = extract_text or extract
    first = run(letter.text, backend=backend, client=client, settings=settings)
    record = _with_source(first, source, letter, read_ms, settings)
    reason = _input_handover(record, backend, settings, client)
    if reason is None:
        return record
    model_record = run(letter.text, backend="llm", client=client, settings=settings)
    return _handed_over(
        _with_source(model_record, source, letter, read_ms, settings), reason, backend
    )


def _input_handover(
    record: DeterminationRecord, backend: str, settings: Settings, client: Client | None
) -> str | None:
    """Why a cascade's rules record must go to the model after all, or None.

    The cascade decides on the text alone; only once the record is set beside its input do
    we know that the OCR read a value's place with low confidence (or a page could not be
    read). Such a rules record is exactly what the cascade exists to hand over, so it is.
    """
    meta = record.metadata
    if meta is None or meta.engine != "rules" or not meta.needs_review:
        return None
    if resolve_backend(backend, settings, client) != "cascade" or meta.input is None:
        return None
    return "the rules record needs review: " + "; ".join(meta.review_reasons)


def _with_source(
    record: DeterminationRecord,
    source: LetterSource,
    letter: LetterText,
    read_ms: float,
    settings: Settings | None = None,
) -> DeterminationRecord:
    """``record`` with where its text came from: the input, page numbers, file identity (and
    the review reasons the OCR's scores give, at the thresholds of ``settings``)."""
    attach_input(record, letter, settings=settings)
    if record.metadata is not None:
        record.metadata.source = source.path or source.name
        record.metadata.source_sha256 = source.sha256
        record.metadata.timings_ms["read"] = read_ms
    return record


async def aextract_file(
    file: FileInput,
    backend: Backend = "auto",
    *,
    model: str | None = None,
    client: Client | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> DeterminationRecord:
    """The async twin of :func:`extract_file`; reading and OCR run in a worker thread, so the
    event loop is never blocked by them. ``client`` is an ``openai.AsyncOpenAI`` if given."""
    import asyncio

    from .inputs.files import open_source

    settings = settings_for(settings, model, options)
    source = await asyncio.to_thread(open_source, file, max_file_bytes=settings.max_file_bytes)
    started = time.perf_counter()
    letter = await asyncio.to_thread(source.read, settings.ocr_engine)
    read_ms = _ms(started)
    record = await aextract(letter.text, backend, client=client, settings=settings)
    record = _with_source(record, source, letter, read_ms, settings)
    reason = _input_handover(record, backend, settings, client)
    if reason is None:
        return record
    model_record = await aextract(letter.text, "llm", client=client, settings=settings)
    return _handed_over(
        _with_source(model_record, source, letter, read_ms, settings), reason, backend
    )


def cascade(
    text: str,
    settings: Settings,
    model: Callable[[], DeterminationRecord],
    backend: str = "cascade",
) -> DeterminationRecord:
    """The rules engine first; ``model()`` when it cannot read the letter fully or its record
    needs review (a value it could not check, a failed self-check).

    The record's metadata says which engine produced it and, for the model, why the rules
    engine passed. The eval harness calls this with a cached ``model``.
    """
    reason = _rules_first(text, settings, backend)
    if isinstance(reason, DeterminationRecord):
        return reason
    return _handed_over(model(), reason, backend)


def _handed_over(record: DeterminationRecord, reason: str, backend: str) -> DeterminationRecord:
    """The model's record in a cascade, saying why the rules engine passed (sync and async)."""
    if record.metadata is not None:
        record.metadata.backend = backend
        record.metadata.rules_failure = reason
    return record


def _rules_first(text: str, settings: Settings, backend: str) -> DeterminationRecord | str:
    """The rules record when it needs no review; else why the model must read the letter."""
    try:
        record = extract_rules(text, max_chars=settings.max_chars, backend=backend)
    except (IncompleteLetterError, InvalidRecordError) as exc:
        return str(exc)
    assert record.metadata is not None
    if not record.metadata.needs_review:
        return record
    return "the rules record needs review: " + "; ".join(record.metadata.review_reasons)


async def aextract(
    text: str,
    backend: Backend = "auto",
    *,
    model: str | None = None,
    client: Client | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> DeterminationRecord:
    """The async twin of :func:`extract`; ``client`` is an ``openai.AsyncOpenAI`` if given."""
    settings = settings_for(settings, model, options)
    chosen = resolve_backend(backend, settings, client)
    if chosen == "rules":
        return extract_rules(text, max_chars=settings.max_chars, backend=backend)

    from .llm import aextract_llm

    if chosen == "llm":
        return await aextract_llm(text, settings=settings, client=client, backend=backend)
    reason = _rules_first(text, settings, backend)
    if isinstance(reason, DeterminationRecord):
        return reason
    record = await aextract_llm(text, settings=settings, client=client, backend=backend)
    return _handed_over(record, reason, backend)


def extract_many(
    texts: Sequence[str],
    backend: Backend = "auto",
    *,
    concurrency: int | None = None,
    names: Sequence[str] | None = None,
    model: str | None = None,
    client: Client | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> list[LetterResult]:
    """Extract many letters with at most ``concurrency`` in flight; results in input order.

    A letter that fails does not raise: its :class:`~imr_llm.many.concurrent.LetterResult` carries
    the typed error instead of a record, so one bad letter never costs the others.
    """
    settings = settings_for(settings, model, options)
    fn = partial(extract, backend=backend, client=client, settings=settings)
    return run_ordered(fn, texts, concurrency or settings.concurrency, names)


async def aextract_many(
    texts: Sequence[str],
    backend: Backend = "auto",
    *,
    concurrency: int | None = None,
    names: Sequence[str] | None = None,
    model: str | None = None,
    client: Client | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> list[LetterResult]:
    """The async twin of :func:`extract_many` (``client`` is an ``openai.AsyncOpenAI``)."""
    settings = settings_for(settings, model, options)
    fn = partial(aextract, backend=backend, client=client, settings=settings)
    return await run_ordered_async(fn, texts, concurrency or settings.concurrency, names)


def _defaults_only(
    backend: str,
    settings: Settings | None,
    model: str | None,
    client: Client | None,
    options: dict[str, Any],
) -> bool:
    """Whether this call reads the letter with the rules engine and default settings, known
    without building a :class:`~imr_llm.config.Settings`.

    Building one imports pydantic-settings, and with it asyncio (tens of milliseconds at the
    first call), for a path that uses one setting (``max_chars``). The answer is yes only when
    nothing can differ from ``Settings()``'s defaults: no settings, model, client or option was
    passed, and no environment variable names a setting, except a model's key or base URL (any
    string is valid there). For ``auto`` only those that name no model count so
    (``IMR_LLM_BASE_URL`` makes ``auto`` the model, so such a call is not answered here).
    Otherwise the call takes the full path, which validates everything as before.
    """
    if settings is not None or model is not None or client is not None or options:
        return False
    if backend not in ("rules", "auto"):
        return False
    named = _named_settings()
    return named <= (_ENDPOINT_ENV if backend == "rules" else _NOT_NAMING_ENV)


#: The environment's names when last looked at, and those of them that name a setting.
_ENV_SEEN: tuple[frozenset[Any], frozenset[str]] | None = None


def _named_settings() -> frozenset[str]:
    """The environment variables that name a setting (see :func:`_defaults_only`).

    Reading every name of the environment (decoding each) costs about as much as reading a
    clean letter's values, so the answer is kept while the environment's names stay the same.
    """
    global _ENV_SEEN
    data = getattr(os.environ, "_data", None)
    keys = data.keys() if isinstance(data, dict) else None
    seen = _ENV_SEEN
    if keys is not None and seen is not None and seen[0] == keys:
        return seen[1]
    named = frozenset(
        key
        for key in (k.upper() for k in os.environ)
        if key.startswith(_ENV_PREFIX) or key in _OPENAI_ENV
    )
    if keys is not None:
        _ENV_SEEN = (frozenset(keys), named)
    return named


def settings_for(settings: Settings | None, model: str | None, options: dict[str, Any]) -> Settings:
    """The settings for one call; unknown keyword options and invalid values are typed errors."""
    from .config import Settings, invalid_settings, load_settings

    names = option_names()
    for name in sorted(options):
        if name not in names:
            raise UnknownOptionError(name, sorted(names))
    if settings is not None and not isinstance(settings, Settings):
        raise ConfigurationError(
            f"settings must be an imr_llm.Settings, not {type(settings).__name__}"
        )
    try:
        if settings is None:
            return load_settings(model=model, **options)
        if model is not None or options:
            return settings.with_overrides(model=model, **options)
    except ValidationError as exc:
        raise invalid_settings(exc) from None
    return settings
