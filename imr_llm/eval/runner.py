"""Run an engine over the gold cases and score every one.

Extraction goes through the same public API users call, so the harness measures what users
get. For the model backends a response cache (model, prompt hash, schema hash, letter) makes a
re-score of unchanged letters free.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ..api import cascade, extract
from ..config import Settings, load_settings
from ..errors import ConfigurationError, ImrError
from ..many.concurrent import iter_results
from ..record.models import DeterminationRecord
from .cache import ResponseCache, cache_key
from .gold import Case, load_cases
from .scoring import LetterScore, flag_counts, score_record

ENGINES = ("rules", "llm", "cascade")
CACHE_NOTE = "from the eval response cache"


def answer_schema_hash() -> str:
    """Hash of the JSON schema the model is asked to fill."""
    from ..llm.answer import LetterAnswer

    schema = json.dumps(LetterAnswer.model_json_schema(), sort_keys=True)
    return hashlib.sha256(schema.encode()).hexdigest()[:16]


@dataclass
class CaseResult:
    """A scored case, with what it cost."""

    case: Case
    score: LetterScore
    record: DeterminationRecord | None
    error: ImrError | None
    seconds: float
    cached: bool = False

    @property
    def letter_form(self) -> str | None:
        """The letter's generation: as its record says, else as its error names it, else as
        the letter-form layer recognises the text (an error that names none); None for a
        text that is no IMR letter."""
        meta = self.record.metadata if self.record is not None else None
        if meta is not None and meta.letter_form:
            return meta.letter_form
        named = getattr(self.error, "letter_form", None)
        if named:
            return str(named)
        from ..form import recognise_letter
        from ..inputs.normalise import normalise

        try:
            return recognise_letter(normalise(self.case.text())).form
        except ImrError:
            return None

    def summary(self) -> dict[str, Any]:
        meta = self.record.metadata if self.record is not None else None
        usage = meta.usage if meta is not None and meta.usage is not None else None
        error_usage = getattr(self.error, "usage", None)
        # Records without evidence (older cached answers) read as "nothing flagged".
        evidence = meta.evidence if meta is not None else {}
        unverified = sorted(k for k, e in evidence.items() if e.status == "unverified")
        return {
            "case": self.case.key,
            "letter": self.case.letter,
            "rendering": self.case.rendering,
            "cer": self.case.cer,
            "letter_form": self.letter_form,
            "engine": meta.engine if meta else None,
            "error": self.error.code if self.error else None,
            "error_message": str(self.error) if self.error else None,
            "field_accuracy": round(self.score.field_accuracy, 4),
            "all_right": self.score.all_right,
            "outcome_accuracy": round(self.score.outcome_accuracy, 4),
            "item_f1": round(self.score.item_f1, 4),
            "text_similarity": round(self.score.text_similarity, 4),
            "field_kinds": {k: r.kind for k, r in self.score.fields.items()},
            "needs_review": (
                None if self.record is None else bool(meta is not None and meta.needs_review)
            ),
            "review_reasons": list(meta.review_reasons) if meta is not None else [],
            "has_evidence": bool(evidence),
            "unverified": unverified,
            "values": flag_counts(self.score.values, set(unverified)),
            "tokens": (usage or error_usage).total_tokens if (usage or error_usage) else 0,
            "cost_usd": meta.cost_usd if meta else None,
            "attempts": len(meta.attempts) if meta else getattr(self.error, "attempts", 0),
            "latency_ms": round(self.seconds * 1000, 2),
            "cached": self.cached,
        }


@dataclass
class EvalRun:
    """Everything a report needs."""

    engine: str
    model: str | None
    settings: Settings
    results: list[CaseResult]
    started_at: float
    seconds: float
    source_note: str
    cache_hits: int = 0
    cache_misses: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _extractor(
    engine: str, settings: Settings, client: Any, cache: ResponseCache | None
) -> Callable[[str], DeterminationRecord]:
    if engine == "rules":
        return lambda text: extract(text, backend="rules", settings=settings)

    from ..llm.prompts import load_prompt

    prompt_hash = load_prompt(settings.prompt_version).hash
    schema_hash = answer_schema_hash()

    def llm(text: str) -> DeterminationRecord:
        key = cache_key(settings.model, prompt_hash, schema_hash, text)
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                if hit.metadata is not None:
                    hit.metadata.warnings.append(CACHE_NOTE)
                return hit
        record = extract(text, backend="llm", settings=settings, client=client)
        if cache is not None:
            cache.put(key, record)
        return record

    if engine == "llm":
        return llm

    return lambda text: cascade(text, settings, lambda: llm(text))


def _text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _collected(
    records: Mapping[str, DeterminationRecord | ImrError], text: str
) -> DeterminationRecord:
    found = records[_text_sha(text)]
    if isinstance(found, ImrError):
        raise found
    return found.model_copy(deep=True)


def run_eval(
    gold: Path,
    engine: str = "rules",
    *,
    renderings: list[str] | None = None,
    letters: list[str] | None = None,
    model: str | None = None,
    client: Any = None,
    settings: Settings | None = None,
    concurrency: int | None = None,
    cache_dir: Path | None = None,
    source_note: str | None = None,
    records: Mapping[str, DeterminationRecord | ImrError] | None = None,
) -> EvalRun:
    """Extract and score every gold case with ``engine``.

    ``records``: answers collected already (a provider batch job, ``imr-llm eval --from-batch``),
    keyed by the SHA-256 of the letter text; only the cases among them are scored and no model
    is called.
    """
    if engine not in ENGINES:
        raise ConfigurationError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    settings = settings or load_settings(model=model)
    if model:
        settings = settings.with_overrides(model=model)
    if engine != "rules" and client is None and records is None and not settings.model_configured():
        from ..errors import NoModelConfiguredError

        raise NoModelConfiguredError("the eval of a model backend needs one")
    cases = load_cases(gold, renderings, letters)
    cache = ResponseCache(cache_dir) if (cache_dir is not None and engine != "rules") else None
    fn = _extractor(engine, settings, client, cache)
    if records is not None:  # scored from a collected batch: no model call, those cases only
        cases = [c for c in cases if _text_sha(c.text()) in records]
        fn = partial(_collected, records)

    started_at = time.time()
    started = time.perf_counter()
    workers = 1 if engine == "rules" else (concurrency or settings.concurrency)
    results: list[CaseResult | None] = [None] * len(cases)
    for outcome in iter_results(fn, ((case.key, case.text()) for case in cases), workers):
        case = cases[outcome.index]
        got = outcome.record.contract_dict() if outcome.record is not None else None
        meta = outcome.record.metadata if outcome.record is not None else None
        results[outcome.index] = CaseResult(
            case=case,
            score=score_record(got, case.label, case.text()),
            record=outcome.record,
            error=outcome.error,
            seconds=outcome.seconds,
            cached=bool(meta is not None and CACHE_NOTE in meta.warnings),
        )
    note = source_note or (
        "rules engine (deterministic, offline)"
        if engine == "rules"
        else f"model {settings.model} at {settings.endpoint_host()}"  # the host: never a key
    )
    return EvalRun(
        engine=engine,
        model=None if engine == "rules" else settings.model,
        settings=settings,
        results=[r for r in results if r is not None],
        started_at=started_at,
        seconds=time.perf_counter() - started,
        source_note=note,
        cache_hits=cache.hits if cache else 0,
        cache_misses=cache.misses if cache else 0,
    )
