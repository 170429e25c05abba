"""What validation does with perfect and with scripted-wrong answers, per gold rendering.

    python benchmarks/evidence_oracle.py [--renderings ocr ocrfax] [--modes tidy seen noisy]
        [--letters gA01 gB02] [--noise-rate 0.3] [--kinds ...] [--seed 0] [--concurrency 8]
        [--cascade ocr] [--rules reflow60] [--sweep] [--summary] [--json out.json]
    python benchmarks/evidence_oracle.py --corpus ../shared/corpus ../shared/corpus-more --summary
    python benchmarks/evidence_oracle.py --modes format --renderings layout ocr --cascade
        [--instructor-modes tools json_schema json md_json] [--format-kinds date_us ...]

``--summary`` prints the rows of issue 14's table first (each with its figure, target and the
command that measures it alone) and, last, the diagnosis: every perfect answer re-asked or
flagged and every mistake that slipped unflagged, grouped by cause with the cases it hit.
Unless told otherwise it runs ``layout``, ``ocr``, ``reflow60`` and ``reflow100`` in ``seen``
and ``noisy`` modes at noise rate 0.5, the cascade on ``ocr`` and the rules engine alone
(``imr_llm.extract_many(backend="rules")``) on the re-flowed texts. ``--sweep`` adds every
mistake kind on every letter it applies to, one kind at a time, for per-kind figures the
seeded run is too small to give.

The answers come from the scripted local test server (``imr_llm.testing.oracle.GoldResponder``
behind an in-process ``FakeOpenAIServer``), never from a model, so no figure here is model
quality. They measure the pipeline: what the LLM path's validation makes of answers that are
right by construction (``tidy``: short values true, quotes of the clean label text; ``seen``:
the same but long values copied as the rendering writes them, OCR damage included), and of
answers with one scripted mistake on a seeded share of first answers (``noisy``: correct when
re-asked). Every gold letter runs in every rendering (``layout`` = clean ``pdftotext -layout``,
``raw`` = plain ``pdftotext``, ``noise-light``, ``noise-heavy``, ``ocr`` = mild OCR, ``ocrfax``
= fax-quality OCR, ``reflow60``/``reflow100`` = the clean layout text with paragraphs re-filled
to 60/100 columns, as a viewer or e-mail gives a letter copied out of it) through
``imr_llm.extract_many(backend="llm")``. ``--corpus`` takes one or more folders of real letters
(``../shared/corpus ../shared/corpus-more``: 74 letters) instead of the gold set.

Per rendering and mode: letters with a record, all-correct letters (every contract field right,
``imr_llm.eval.scoring``), "faithful" all-correct letters (a long value may also equal the
rendering's own text at its place: the contract keeps long texts as the letter gives them, OCR
damage included, while the gold label holds the clean letter's), mean item-F1 (0 without a
record), requests per letter, records flagged ``needs_review``, and letters whose correct
first answer was rejected (no mistake was injected, yet validation asked again). For
``noisy``, what became of each injected mistake:

- caught and fixed: the first answer was rejected and the final value is the true one;
- caught, unfixed: no record, or the final value is wrong but not the injected value;
- slipped, unflagged: the final record holds the injected wrong value, ``needs_review`` false;
- slipped, flagged: it holds it, ``needs_review`` true;
- no effect: never rejected, yet the final value is right (validation read past the mistake).

For a quote whose last words were borrowed from another passage, "holds the injected value"
means the record's passage is not the true one (a passage cut short or run long). The cascade
(rules first, the model only for letters the rules cannot read) runs on mild OCR with ``seen``
answers: the share of letters whose record came from the rules engine without ``needs_review``,
and how many of those are all-correct. The error lines validation sent back with each re-ask of
a correct answer are counted by kind, to show which checks reject correct answers.

``format`` (run only when named: it sweeps every kind) answers with every value right but one
written in another shape of the same meaning on each first answer (``FORMAT_KINDS`` in
``imr_llm.testing.oracle``: a date as ``11/14/2016``, ``"SC"``, ``"Upheld"``, ``"44"``, ``""``
for null, the items in another order, specialties in the model's spelling, the JSON after a
sentence or in a fence...). Each kind runs over every letter it applies to, in each instructor
mode (``tools`` and ``json_schema`` get the value deviations, ``json`` and ``md_json`` those
around the JSON), and each letter also runs with the perfect (``seen``) answer. Per kind:
requests per letter (and "extra": beyond the perfect answer's for the same letter, since
validation re-asks some right answers), letters re-asked, letters with no record, and records
that differ from the perfect-answer run's (and how many of those differ only in the
specialties' spelling). The targets (issue 16): <= 1.10 requests per letter, none failed, none
differing.

``run_benchmark(...)`` returns everything as a dict, for tests to assert figures on.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openai
from rapidfuzz import fuzz

from imr_llm import extract_many
from imr_llm.config import Settings
from imr_llm.errors import ConfigurationError
from imr_llm.eval.damage import reflow
from imr_llm.eval.gold import Case, load_cases
from imr_llm.eval.scoring import TEXT_MATCH, score_record, text_similarity
from imr_llm.form.text import similarity, squash
from imr_llm.testing.fake_openai import FakeOpenAIServer
from imr_llm.testing.oracle import (
    CONTENT_KINDS,
    DEFAULT_NOISE_RATE,
    FORMAT_KINDS,
    MISTAKE_KINDS,
    MODES,
    PLACEMENT_MISTAKE_KINDS,
    REFLOW_RENDERINGS,
    WIDER_MISTAKE_KINDS,
    GoldResponder,
    Injection,
    number_tokens,
    text_key,
)

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO / "eval" / "gold"
RENDERINGS: tuple[str, ...] = (
    "layout", "raw", "noise-light", "noise-heavy", "ocr", "ocrfax", *REFLOW_RENDERINGS,
)  # fmt: skip
RENDERING_NAMES = {
    "layout": "clean pdftotext -layout",
    "raw": "clean plain pdftotext",
    "noise-light": "light synthetic noise",
    "noise-heavy": "heavy synthetic noise",
    "ocr": "mild OCR",
    "ocrfax": "fax-quality OCR",
    **{name: f"clean layout, paragraphs re-filled to {w} columns"
       for name, w in REFLOW_RENDERINGS.items()},
}  # fmt: skip
NOT_QUALITY = (
    "Answers come from the scripted local test server (gold oracle), not from a model: "
    "no figure here is model quality."
)
#: The modes run when none are named (``format`` runs only when asked: it sweeps every kind).
DEFAULT_MODES: tuple[str, ...] = tuple(mode for mode in MODES if mode != "format")
OUTCOMES: tuple[str, ...] = (
    "caught_fixed",
    "caught_unfixed",
    "slipped_unflagged",
    "slipped_flagged",
    "no_effect",
)


# --------------------------------------------------------------------------------------------
# Reading records
# --------------------------------------------------------------------------------------------

_PATH_PART = re.compile(r"([A-Za-z_]+)(?:\[(\d+)\])?")


def value_at(record: dict[str, Any] | None, path: str) -> Any:
    """The value at ``path`` ("items[2].outcome", "reviewer.licensure_states[0]") or None."""
    value: Any = record
    for part in path.split("."):
        m = _PATH_PART.fullmatch(part)
        if m is None or not isinstance(value, dict):
            return None
        value = value.get(m.group(1))
        if m.group(2) is not None:
            k = int(m.group(2))
            value = value[k] if isinstance(value, list) and k < len(value) else None
    return value


def _same_text(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return text_similarity(str(a), str(b)) >= TEXT_MATCH


def _has_service(record: dict[str, Any], name: str) -> bool:
    return any(squash(item.get("service") or "") == squash(name) for item in record["items"])


def classify(
    injection: Injection,
    record: dict[str, Any] | None,
    needs_review: bool,
    rejected: bool,
    gold: dict[str, Any],
    seen_texts: dict[str, str],
) -> str:
    """What became of an injected mistake (one of :data:`OUTCOMES`)."""
    if record is None:
        return "caught_unfixed"
    kind = injection.kind
    if kind in ("date_shift", "dates_swapped", "case_digit", "outcome_flip"):
        holds = any(value_at(record, c.path) == c.wrong for c in injection.changes)
        right = all(value_at(record, c.path) == c.right for c in injection.changes)
    elif kind == "extra_item":
        holds = _has_service(record, injection.wrong)
        right = not holds and len(record["items"]) == len(gold["items"])
    elif kind == "invented_service":
        holds = _has_service(record, injection.wrong)
        got = value_at(record, injection.path)
        right = not holds and (
            _same_text(got, value_at(gold, injection.path))
            or _same_text(got, seen_texts.get(injection.path))
        )
    elif kind in WIDER_MISTAKE_KINDS:
        holds, right = wider_verdict(injection, record, gold, seen_texts)
    elif kind in PLACEMENT_MISTAKE_KINDS:
        holds, right = placement_verdict(injection, record, gold, seen_texts)
    else:  # borrowed_end: the passage resolved from the quote is the evidence
        got = value_at(record, injection.path)
        right = got is not None and (
            _same_text(got, value_at(gold, injection.path))
            or _same_text(got, seen_texts.get(injection.path))
        )
        holds = got is not None and not right
    if holds:
        return "slipped_flagged" if needs_review else "slipped_unflagged"
    if right:
        return "caught_fixed" if rejected else "no_effect"
    return "caught_unfixed" if rejected else ("slipped_flagged" if needs_review else
                                              "slipped_unflagged")  # fmt: skip


# --------------------------------------------------------------------------------------------
# What became of a wider mistake (issue 14)
# --------------------------------------------------------------------------------------------

_LENDER = re.compile(r"from (items\[\d+\]\.\w+)")
_ITEM_INDEX = re.compile(r"^items\[(\d+)\]")
#: Two names of one specialty: the record may keep the letter's own (OCR-damaged) spelling.
NAME_MATCH = 80.0


def _item_index(path: str) -> int:
    m = _ITEM_INDEX.match(path)
    assert m is not None, path
    return int(m.group(1))


def _truths(gold: dict[str, Any], seen_texts: dict[str, str], path: str) -> list[str]:
    """The right text at ``path``: the label's, and the rendering's own where it has one."""
    return [t for t in (value_at(gold, path), seen_texts.get(path)) if isinstance(t, str)]


def _same_name(a: str, b: str) -> bool:
    return fuzz.ratio(squash(a), squash(b)) >= NAME_MATCH


def _same_list(got: Any, true: Any) -> bool:
    """Two lists of names alike, in any order, the record's own spelling allowed."""
    got, true = list(got or []), list(true or [])
    return len(got) == len(true) and all(any(_same_name(g, t) for g in got) for t in true)


def _right_service(got: Any, truths: list[str]) -> bool:
    """A service is right when it is the letter's (or label's) text, numbers and all."""
    if not isinstance(got, str):
        return False
    return any(
        squash(got) == squash(t) or (_same_text(got, t) and number_tokens(got) == number_tokens(t))
        for t in truths
    )


def _has_any_service(record: dict[str, Any], truths: list[str]) -> bool:
    return any(_right_service(item.get("service"), truths) for item in record["items"])


def _closer(got: Any, own: list[str], lent: list[str]) -> bool:
    """``got`` is the passage's own text (or reads closer to it than to the lender's)."""
    if not isinstance(got, str) or not own:
        return False
    if any(squash(got) == squash(t) for t in own):
        return True
    to_own = max(similarity(got, t) for t in own)
    to_lent = max((similarity(got, t) for t in lent), default=0.0)
    return to_own >= TEXT_MATCH and to_own > to_lent


def wider_verdict(
    injection: Injection,
    record: dict[str, Any],
    gold: dict[str, Any],
    seen_texts: dict[str, str],
) -> tuple[bool, bool]:
    """(the record holds the injected mistake, the record is right there) for a wider kind.

    Stricter than text similarity where a small edit is the whole mistake: a service is right
    only with the letter's numbers, a borrowed passage only when it reads closer to its own
    text than to the lender's.
    """
    kind, change = injection.kind, injection.changes[0]
    if kind in ("wrong_age", "sex_flip", "priority_flip", "day_month_swapped"):
        got = value_at(record, change.path)
        return got == change.wrong, got == change.right
    if kind in ("state_added", "state_dropped"):
        got = set(value_at(record, "reviewer.licensure_states") or [])
        wrong, right = set(change.wrong), set(change.right)
        holds = bool(got & (wrong - right)) if kind == "state_added" else bool(right - got)
        return holds, got == right
    if kind == "wrong_specialty":
        got = list(value_at(record, "reviewer.specialties") or [])
        true = list(value_at(gold, "reviewer.specialties") or [])
        holds = any(squash(g) == squash(change.wrong) for g in got)
        return holds, _same_list(got, true) and not holds
    if kind in ("item_dropped", "items_merged"):
        k = _item_index(change.path)
        count_right = len(record["items"]) == len(gold["items"])
        ks = [k] if kind == "item_dropped" else [k, k + 1]
        present = all(
            _has_any_service(record, _truths(gold, seen_texts, f"items[{i}].service")) for i in ks
        )
        if kind == "item_dropped":
            return not present, present and count_right
        holds = _has_service(record, change.wrong) or len(record["items"]) < len(gold["items"])
        return holds, present and count_right and not holds
    if kind in ("service_digits", "service_number_word", "service_reworded"):
        got = value_at(record, change.path)
        holds = _has_service(record, change.wrong)
        return holds, not holds and _right_service(got, _truths(gold, seen_texts, change.path))
    if kind == "invented_original_request":
        got = value_at(record, change.path)
        return isinstance(got, str) and squash(got) == squash(change.wrong), got is None
    # borrowed_guideline, borrowed_rationale
    got = value_at(record, change.path)
    if value_at(gold, change.path) is None:  # a guideline where the letter cites none
        return got is not None, got is None
    m = _LENDER.search(injection.detail)
    lent = _truths(gold, seen_texts, m.group(1)) if m else []
    right = _closer(got, _truths(gold, seen_texts, change.path), lent)
    return got is not None and not right, right


def placement_verdict(
    injection: Injection,
    record: dict[str, Any],
    gold: dict[str, Any],
    seen_texts: dict[str, str],
) -> tuple[bool, bool]:
    """(the record holds the injected mistake, the record is right there) for a mistake of
    place or omission. A quote cut short holds when the record's passage reads closer to the
    short passage than to the whole; values exchanged hold when either place holds the
    other's; a value left out holds when the record has none."""
    kind, changes = injection.kind, injection.changes
    if kind == "year_off":
        got = value_at(record, changes[0].path)
        return got == changes[0].wrong, got == changes[0].right
    if kind == "value_left_null":
        change = changes[0]
        got = value_at(record, change.path)
        if isinstance(change.right, list):
            return not got, _same_list(got, change.right)
        return got is None, got == change.right
    holds, right = False, True
    for change in changes:
        got = value_at(record, change.path)
        truths = [*_truths(gold, seen_texts, change.path), change.right]
        if kind == "services_exchanged":
            own = _right_service(got, truths)
            holds = holds or (not own and _right_service(got, [change.wrong]))
        else:  # a quote cut short, guidelines exchanged: the passage the record resolved
            own = _closer(got, truths, [change.wrong])
            holds = holds or _closer(got, [change.wrong], truths)
        right = right and own
    return holds, right and not holds


# --------------------------------------------------------------------------------------------
# Error lines
# --------------------------------------------------------------------------------------------

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|“[^”]*”")
_INDEX = re.compile(r"\[\d+\]")
_NUMBER = re.compile(r"\d+")


def error_kind(line: str) -> str:
    """An error line with its particulars (quotes, indices, numbers) blanked, for counting."""
    line = _QUOTED.sub("'…'", line)
    line = _INDEX.sub("[#]", line)
    return _NUMBER.sub("#", line)[:160]


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def _settings(max_attempts: int) -> Settings:
    options: dict[str, Any] = {"max_attempts": max_attempts}
    if "strict" in Settings.model_fields:  # the evidence rewrite: a record when attempts run out
        options["strict"] = False
    return Settings(**options)


def _run_batch(
    server: FakeOpenAIServer,
    responder: GoldResponder,
    cases: list[Case],
    backend: str,
    settings: Settings,
    concurrency: int,
) -> list[dict[str, Any]]:
    responder.clear_log()
    server.responder = responder
    client = openai.OpenAI(base_url=server.base_url, api_key="oracle")
    texts = [case.text() for case in cases]
    results = extract_many(
        texts, backend, client=client, settings=settings, concurrency=concurrency,
        names=[case.key for case in cases],
    )  # fmt: skip
    rows: list[dict[str, Any]] = []
    for case, text, result in zip(cases, texts, results, strict=True):
        events = responder.events(text)
        record = result.record
        meta = record.metadata if record is not None else None
        contract = record.contract_dict() if record is not None else None
        score = score_record(contract, case.label)
        faithful = _faithful_all_right(score, contract, case.label, responder, text)
        injection = responder.injections.get(text_key(text))
        reasks = [e for e in events if e.reask]
        rows.append(
            {
                "case": case.key,
                "letter": case.letter,
                "rendering": case.rendering,
                "record": contract is not None,
                "engine": meta.engine if meta is not None else None,
                "error": result.error.code if result.error is not None else None,
                "error_message": str(result.error)[:2000] if result.error is not None else None,
                "all_right": score.all_right,
                "faithful": faithful,
                "item_f1": score.item_f1,
                "requests": len(events),
                "needs_review": bool(getattr(meta, "needs_review", False)),
                "review_reasons": list(getattr(meta, "review_reasons", []) or []),
                "first_rejected": bool(reasks),
                "injection": injection.to_dict() if injection is not None else None,
                "reask_errors": [list(e.errors) for e in reasks],
                "_injection": injection,
                "_contract": contract,
                "_text": text,
                "_gold": case.label,
                "diffs": score.diffs[:6],
                "_wrong_fields": []
                if faithful or contract is None
                else wrong_fields(score, contract, case.label, responder, text),
                "_evidence": {
                    path: (ev.status, ev.note or "") for path, ev in meta.evidence.items()
                }
                if meta is not None
                else {},
            }
        )
    return rows


def _set_path(record: dict[str, Any], path: str, value: Any) -> None:
    head, _, key = path.rpartition(".")
    index = int(head[head.index("[") + 1 : head.index("]")])
    record["items"][index][key] = value


def _faithful_all_right(
    score: Any, contract: dict[str, Any] | None, label: dict[str, Any], responder: Any, text: str
) -> bool:
    """All right when each long value may equal the clean label *or* the rendering's own text.

    The record contract keeps long texts (service, guidelines, rationale) as the letter gives
    them, OCR damage included; the gold label holds the clean letter's text. A record faithful
    to a damaged rendering is right, so each field counts as right when it matches either.
    """
    if contract is None:
        return False
    if score.all_right:
        return True
    try:
        seen = responder.seen(text)
    except KeyError:
        return False
    rendered = copy.deepcopy(label)
    for path, passage in seen.passages.items():
        if not passage.fallback:
            _set_path(rendered, path, passage.text)
    other = score_record(contract, rendered)
    return all(
        result.correct or other.fields[name].correct for name, result in score.fields.items()
    )


def _summarise(rows: list[dict[str, Any]], mode: str, responder: GoldResponder) -> dict[str, Any]:
    n = len(rows)
    clean = [r for r in rows if r["_injection"] is None]
    out: dict[str, Any] = {
        "letters": n,
        "with_record": sum(r["record"] for r in rows),
        "all_correct": sum(r["all_right"] for r in rows),
        "all_correct_faithful": sum(r["faithful"] for r in rows),
        "item_f1": round(sum(r["item_f1"] for r in rows) / n, 4) if n else 0.0,
        "requests_per_letter": round(sum(r["requests"] for r in rows) / n, 3) if n else 0.0,
        "needs_review": sum(r["needs_review"] for r in rows),
        "correct_first_rejected": sum(r["first_rejected"] for r in clean),
        "correct_first_answers": len(clean),
    }
    # Which checks reject correct answers: every re-ask error line of a letter with no mistake.
    kinds: Counter[str] = Counter()
    letters_by_kind: dict[str, set[str]] = {}
    for r in clean:
        for errors in r["reask_errors"]:
            for line in errors:
                kind = error_kind(line)
                kinds[kind] += 1
                letters_by_kind.setdefault(kind, set()).add(r["letter"])
    out["rejections_of_correct_answers"] = [
        {"error": kind, "lines": count, "letters": len(letters_by_kind[kind])}
        for kind, count in kinds.most_common()
    ]
    out["failed_letters"] = sorted(r["letter"] for r in rows if not r["record"])
    errors = Counter(r["error"] for r in rows if r["error"])
    out["errors"] = dict(errors.most_common())
    out["first_error"] = next((r["error_message"] for r in rows if r["error"]), None)
    if mode == "noisy":
        outcomes: Counter[str] = Counter()
        by_kind: dict[str, Counter[str]] = {}
        for r in rows:
            injection: Injection | None = r["_injection"]
            if injection is None:
                continue
            seen = responder.seen(r["_text"])
            seen_texts = {path: p.text for path, p in seen.passages.items()}
            verdict = classify(
                injection, r["_contract"], r["needs_review"], r["first_rejected"],
                r["_gold"], seen_texts,
            )  # fmt: skip
            r["verdict"] = verdict
            outcomes[verdict] += 1
            by_kind.setdefault(injection.kind, Counter())[verdict] += 1
        out["injected"] = sum(outcomes.values())
        out.update({name: outcomes[name] for name in OUTCOMES})
        out["by_kind"] = {k: dict(v) for k, v in sorted(by_kind.items())}
    return out


def _cascade(
    server: FakeOpenAIServer,
    responder: GoldResponder,
    cases: list[Case],
    settings: Settings,
    concurrency: int,
    rows_out: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    rows = _run_batch(server, responder, cases, "cascade", settings, concurrency)
    if rows_out is not None:
        rows_out += [{"mode": "cascade", **r} for r in rows]
    rules = [r for r in rows if r["engine"] == "rules"]
    unflagged = [r for r in rules if not r["needs_review"]]
    n = len(rows)
    return {
        "letters": n,
        "rules_records": len(rules),
        "rules_unflagged": len(unflagged),
        "rules_unflagged_share": round(len(unflagged) / n, 4) if n else 0.0,
        "rules_unflagged_all_correct": sum(r["all_right"] for r in unflagged),
        "rules_unflagged_all_correct_faithful": sum(r["faithful"] for r in unflagged),
        "rules_wrong_unflagged": sorted(r["letter"] for r in unflagged if not r["all_right"]),
        "rules_wrong_unflagged_faithful": sorted(
            r["letter"] for r in unflagged if not r["faithful"]
        ),
        "llm_records": sum(r["engine"] == "llm" for r in rows),
        "no_record": sum(not r["record"] for r in rows),
        "all_correct": sum(r["all_right"] for r in rows),
        "requests": sum(r["requests"] for r in rows),
    }


# --------------------------------------------------------------------------------------------
# Re-flowed cases, the rules engine alone, the per-kind sweep, the diagnosis (issue 14)
# --------------------------------------------------------------------------------------------


class ReflowCase(Case):
    """A clean layout case (``path``) whose text is re-filled to the width its ``rendering``
    names when read (:func:`imr_llm.eval.damage.reflow`); nothing is written anywhere.

    (A plain subclass: the benchmark is loaded from its file by the tests, and a dataclass
    defined in such a module cannot resolve its own annotations.)
    """

    def text(self) -> str:
        return reflow(super().text(), REFLOW_RENDERINGS[self.rendering])


def load_benchmark_cases(
    gold: Path, rendering: str, letters: Sequence[str] | None = None
) -> list[Case]:
    """The cases of one rendering: from the manifest, or re-flowed from the layout letters."""
    names = list(letters) if letters else None
    if rendering in REFLOW_RENDERINGS:
        return [
            ReflowCase(c.letter, rendering, c.path, 0.0, c.label)
            for c in load_cases(gold, ["layout"], names)
        ]
    return load_cases(gold, [rendering], names)


def wrong_fields(
    score: Any, contract: dict[str, Any], label: dict[str, Any], responder: Any, text: str
) -> list[str]:
    """The contract fields a record gets wrong under faithful scoring (a long value may be the
    rendering's own text at its place): what a wrong record got wrong."""
    rendered = copy.deepcopy(label)
    try:
        for path, passage in responder.seen(text).passages.items():
            if not passage.fallback:
                _set_path(rendered, path, passage.text)
    except KeyError:
        pass
    other = score_record(contract, rendered)
    return [
        name
        for name, result in score.fields.items()
        if not (result.correct or other.fields[name].correct)
    ]


def _rules_alone(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rules engine on its own: records, typed errors, and unflagged records' rightness."""
    n = len(rows)
    records = [r for r in rows if r["record"]]
    unflagged = [r for r in records if not r["needs_review"]]
    return {
        "letters": n,
        "records": len(records),
        "errors": dict(Counter(r["error"] for r in rows if r["error"]).most_common()),
        "all_correct": sum(r["all_right"] for r in rows),
        "all_correct_faithful": sum(r["faithful"] for r in rows),
        "unflagged": len(unflagged),
        "unflagged_right_faithful": sum(r["faithful"] for r in unflagged),
        "wrong_unflagged_faithful": sorted(r["letter"] for r in unflagged if not r["faithful"]),
    }


def _sweep(
    server: FakeOpenAIServer,
    base: GoldResponder,
    gold: Path,
    renderings: Sequence[str],
    letters: Sequence[str] | None,
    kinds: Sequence[str],
    settings: Settings,
    concurrency: int,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every mistake kind on every letter it applies to (rate 1, one kind at a time): the
    per-kind figures the seeded rate-0.5 run is too small to give. Returns the figures per
    rendering and kind, and the rows (for the diagnosis)."""
    figures: dict[str, Any] = {}
    all_rows: list[dict[str, Any]] = []
    for rendering in renderings:
        cases = load_benchmark_cases(gold, rendering, letters)
        figures[rendering] = {}
        for kind in kinds:
            responder = base.derive("noisy", noise_rate=1.0, kinds=[kind])
            rows = _run_batch(server, responder, cases, "llm", settings, concurrency)
            summary = _summarise(rows, "noisy", responder)
            figures[rendering][kind] = {
                "injected": summary["injected"],
                **{name: summary[name] for name in OUTCOMES},
                "no_record": len(summary["failed_letters"]),
            }
            all_rows += [{"mode": f"sweep:{kind}", **r} for r in rows]
    return figures, all_rows


def _evidence_at(injection: Injection, row: dict[str, Any]) -> str:
    """The evidence the record gives for the injected value: status and note, or "absent"."""
    evidence: dict[str, tuple[str, str]] = row["_evidence"]
    record = row["_contract"] or {}
    paths = [injection.path, f"{injection.path}.service"]
    wrong = injection.wrong
    for field in ("reviewer.licensure_states", "reviewer.specialties"):
        values = value_at(record, field) or []
        for k, value in enumerate(values):
            named = wrong if isinstance(wrong, list) else [wrong]
            if any(isinstance(w, str) and squash(w) == squash(value) for w in named):
                paths.insert(0, f"{field}[{k}]")
    for k, item in enumerate(record.get("items") or []):
        if isinstance(wrong, str) and squash(item.get("service") or "") == squash(wrong):
            paths.insert(0, f"items[{k}].service")
    for path in paths:
        if path in evidence:
            status, note = evidence[path]
            return f"{error_kind(path)} {status}: {error_kind(note)}"
    return "value absent, no evidence entry"


_MISSING = "missing or unreadable: "


def error_parts(message: str) -> list[str]:
    """A typed error's message as its separate causes: each part the rules engine could not
    read ("reviewer.licensure_states", "items (found 3 ...)"), or the whole message."""
    head, sep, tail = message.partition(_MISSING)
    if not sep:
        return [message]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(tail):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(tail[start:i])
            start = i + 1
    parts.append(tail[start:])
    return [f"{_MISSING}{part.strip()}" for part in parts if part.strip()]


_UNCHECKED = re.compile(r"^\d+ value\(s\) could not be checked: ")


def flag_causes(row: dict[str, Any]) -> list[str]:
    """Why a record needs review, one cause per value: each unverified value's path and note
    (the review reason lists at most six), and every other review reason."""
    causes = [error_kind(r) for r in row["review_reasons"] if not _UNCHECKED.match(r)]
    causes += [
        f"unverified {error_kind(path)} ({error_kind(note)})"
        for path, (status, note) in row["_evidence"].items()
        if status == "unverified" and not note.startswith("contradicts the letter")
    ]
    return list(dict.fromkeys(causes)) or ["(no reason given)"]


def diagnose(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Why perfect answers were re-asked or flagged, and why mistakes slipped unflagged.

    Each cause (an error line or review reason with its particulars blanked, see
    :func:`error_kind`; for a slipped mistake its kind and the evidence the record gives the
    wrong value) lists the cases it hit, ``letter/rendering``. Perfect answers are the
    ``seen`` mode's. Rules records without a flag that are wrong (in the cascade, or the rules
    engine alone) are listed by the field they get wrong; the rules engine's typed errors by
    their message.
    """
    groups: dict[str, dict[str, list[str]]] = {
        "perfect_rejected": {},
        "perfect_flagged": {},
        "slipped_unflagged": {},
        "sweep_slipped_unflagged": {},
        "rules_wrong_unflagged": {},
        "rules_errors": {},
    }

    def add(group: str, cause: str, where: str) -> None:
        cases = groups[group].setdefault(cause, [])
        if where not in cases:
            cases.append(where)

    for r in rows:
        where = f"{r['letter']}/{r['rendering']}"
        if r["mode"] == "seen":
            for errors in r["reask_errors"]:
                for line in errors:
                    add("perfect_rejected", error_kind(line), where)
            if r["needs_review"]:
                for cause in flag_causes(r):
                    add("perfect_flagged", cause, where)
        if r["mode"] in ("cascade", "rules") and r["engine"] == "rules" and not r["needs_review"]:
            for name in r["_wrong_fields"]:
                add("rules_wrong_unflagged", f"{name} wrong", f"{where} ({r['mode']})")
        if r["mode"] == "rules" and r["error"]:
            for part in error_parts(r["error_message"] or ""):
                add("rules_errors", f"{r['error']}: {error_kind(part)}", where)
        if r.get("verdict") == "slipped_unflagged":
            injection: Injection = r["_injection"]
            group = "sweep_slipped_unflagged" if r["mode"].startswith("sweep:") else (
                "slipped_unflagged")  # fmt: skip
            cause = f"{injection.kind}: {_evidence_at(injection, r)}"
            add(group, cause, f"{where} {injection.path}")
    return {
        group: [
            {"cause": cause, "count": len(cases), "cases": cases}
            for cause, cases in sorted(causes.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ]
        for group, causes in groups.items()
    }


def run_benchmark(
    renderings: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
    letters: Sequence[str] | None = None,
    *,
    gold: Path = GOLD,
    noise_rate: float = DEFAULT_NOISE_RATE,
    seed: int = 0,
    max_attempts: int = 3,
    concurrency: int = 8,
    cascade_renderings: Sequence[str] = ("ocr",),
    keep_cases: bool = False,
    kinds: Sequence[str] | None = None,
    rules_renderings: Sequence[str] = (),
    sweep: bool = False,
    instructor_modes: Sequence[str] = ("tools", "json_schema", "json", "md_json"),
    format_kinds: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run the LLM path over the gold cases with the oracle in each mode; return the figures.

    The result has ``answers_from`` (the caveat), ``settings``, ``results[rendering][mode]``
    (the figures described in the module docstring), ``cascade[rendering]``,
    ``rules[rendering]`` (the rules engine alone, for ``rules_renderings``), ``sweep`` (with
    ``sweep``: every mistake kind on every letter, per rendering and kind), ``diagnosis``
    (:func:`diagnose`) and, with ``keep_cases``, ``cases`` (one row per letter, rendering and
    mode). ``kinds`` limits the mistakes ``noisy`` injects (default: all of
    :data:`~imr_llm.testing.oracle.MISTAKE_KINDS`). With the ``format`` mode (never run unless
    asked), ``format`` holds :func:`run_format`'s figures for ``instructor_modes`` and
    ``format_kinds``.
    """
    renderings = list(renderings or RENDERINGS)
    modes = list(modes or DEFAULT_MODES)
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise ValueError(f"unknown modes {unknown}; choose from {', '.join(MODES)}")
    unknown = sorted({*renderings, *cascade_renderings, *rules_renderings} - set(RENDERINGS))
    if unknown:
        raise ValueError(f"unknown renderings {unknown}; choose from {', '.join(RENDERINGS)}")
    logging.getLogger("instructor").setLevel(logging.CRITICAL)  # per-answer noise
    settings = _settings(max_attempts)
    started = time.perf_counter()
    base = GoldResponder.from_gold_dir(
        gold, list(letters) if letters else None, renderings=sorted({*renderings,
        *cascade_renderings, *rules_renderings}), noise_rate=noise_rate, seed=seed, kinds=kinds,
    )  # fmt: skip
    report: dict[str, Any] = {
        "answers_from": NOT_QUALITY,
        "settings": {
            "renderings": renderings,
            "modes": modes,
            "letters": list(letters) if letters else "all",
            "noise_rate": noise_rate,
            "seed": seed,
            "max_attempts": max_attempts,
            "strict": getattr(settings, "strict", None),
            "kinds": list(kinds) if kinds else "all",
            "rules_renderings": list(rules_renderings),
        },
        "results": {},
        "cascade": {},
        "rules": {},
    }
    cases_out: list[dict[str, Any]] = []
    diagnosed: list[dict[str, Any]] = []
    responders = {mode: base.derive(mode) for mode in modes if mode != "format"}
    with FakeOpenAIServer() as server:
        for rendering in renderings if responders else ():
            cases = load_benchmark_cases(gold, rendering, letters)
            report["results"][rendering] = {}
            for mode in responders:
                rows = _run_batch(server, responders[mode], cases, "llm", settings, concurrency)
                report["results"][rendering][mode] = _summarise(rows, mode, responders[mode])
                diagnosed += [{"mode": mode, **r} for r in rows]
                if keep_cases:
                    cases_out += [
                        {"mode": mode, **{k: v for k, v in r.items() if not k.startswith("_")}}
                        for r in rows
                    ]
        for rendering in cascade_renderings:
            cases = load_benchmark_cases(gold, rendering, letters)
            seen = responders.get("seen") or base.derive("seen")
            report["cascade"][rendering] = _cascade(
                server, seen, cases, settings, concurrency, rows_out=diagnosed
            )
        for rendering in rules_renderings:
            cases = load_benchmark_cases(gold, rendering, letters)
            seen = responders.get("seen") or base.derive("seen")
            rows = _run_batch(server, seen, cases, "rules", settings, concurrency)
            report["rules"][rendering] = _rules_alone(rows)
            diagnosed += [{"mode": "rules", **r} for r in rows]
        if sweep:
            report["sweep"], rows = _sweep(
                server, base, gold, renderings, letters, kinds or MISTAKE_KINDS, settings,
                concurrency,
            )  # fmt: skip
            diagnosed += rows
        if "format" in modes:
            report["format"] = run_format(
                renderings, letters, gold=gold, seed=seed, max_attempts=max_attempts,
                concurrency=concurrency, instructor_modes=instructor_modes, kinds=format_kinds,
                base=base, server=server,
            )  # fmt: skip
    report["diagnosis"] = diagnose(diagnosed)
    report["seconds"] = round(time.perf_counter() - started, 1)
    if keep_cases:
        report["cases"] = cases_out
    return report


# --------------------------------------------------------------------------------------------
# Format mode: every value right, one written in another shape
# --------------------------------------------------------------------------------------------

#: The instructor modes the format mode runs in.
FORMAT_INSTRUCTOR_MODES: tuple[str, ...] = ("tools", "json_schema", "json", "md_json")
#: Modes whose answer is message content: by default they get the deviations around the JSON
#: only (the value deviations are the same in every mode and run in tools and json_schema).
CONTENT_MODES = frozenset({"json", "md_json"})
#: The targets the format mode is held to (issue 16).
FORMAT_TARGETS = {"requests_per_letter": 1.10, "failed": 0, "differ": 0}


def record_diffs(a: Any, b: Any, path: str = "") -> list[str]:
    """The contract paths where two records differ ("items[1].service", "reviewer")."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(a.keys() | b.keys()):
            out += record_diffs(a.get(key), b.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            out += record_diffs(x, y, f"{path}[{k}]")
        return out
    return [] if a == b else [path or "(record)"]


def _format_kinds_for(instructor_mode: str, kinds: Sequence[str] | None) -> list[str]:
    if kinds is not None:
        chosen = list(kinds)
    elif instructor_mode in CONTENT_MODES:
        chosen = list(CONTENT_KINDS)
    else:
        chosen = [k for k in FORMAT_KINDS if k not in CONTENT_KINDS]
    if instructor_mode not in CONTENT_MODES:
        chosen = [k for k in chosen if k not in CONTENT_KINDS]
    return chosen


def _format_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    requests = sum(r["requests"] for r in rows)
    extra = sum(max(0, r["requests"] - r.get("perfect_requests", r["requests"])) for r in rows)
    differ = [r for r in rows if r["record"] and r.get("diffs_from_perfect")]
    specialty_only = [
        r for r in differ
        if all(p.startswith("reviewer.specialties") for p in r["diffs_from_perfect"])
    ]  # fmt: skip
    return {
        "letters": n,
        "requests": requests,
        "requests_per_letter": round(requests / n, 3) if n else 0.0,
        # Requests beyond the perfect answer's for the same letter (which some letters need:
        # validation may re-ask a right answer), per letter: what the deviations cost.
        "extra_per_letter": round(extra / n, 3) if n else 0.0,
        "reasked": sum(r["requests"] > 1 for r in rows),
        "failed": sum(not r["record"] for r in rows),
        "differ": len(differ),
        "differ_specialty_only": len(specialty_only),
    }


def run_format(
    renderings: Sequence[str],
    letters: Sequence[str] | None = None,
    *,
    gold: Path = GOLD,
    seed: int = 0,
    max_attempts: int = 3,
    concurrency: int = 8,
    instructor_modes: Sequence[str] = FORMAT_INSTRUCTOR_MODES,
    kinds: Sequence[str] | None = None,
    base: GoldResponder | None = None,
    server: FakeOpenAIServer | None = None,
) -> dict[str, Any]:
    """Every deviation kind over every letter it applies to, per rendering and instructor mode.

    Each letter runs once with perfect (``seen``) answers and once per deviation kind with the
    same answer carrying that one deviation on its first request (a re-ask gets the perfect
    answer). Per kind: letters, requests per letter (and beyond the perfect answer's for the
    same letter: ``extra_per_letter``), letters re-asked, letters with no record, and records
    that differ from the perfect-answer run's (and of those, how many differ only in the
    specialties' spelling). ``rows`` lists each letter whose deviation cost a re-ask, failed,
    or changed the record, with the first error line sent back.
    """
    unknown = sorted(set(kinds or ()) - set(FORMAT_KINDS))
    if unknown:
        raise ValueError(f"unknown format kinds {unknown}; choose from {', '.join(FORMAT_KINDS)}")
    if base is None:
        base = GoldResponder.from_gold_dir(
            gold, list(letters) if letters else None, renderings=list(renderings), seed=seed
        )
    out: dict[str, Any] = {"targets": FORMAT_TARGETS, "results": {}}
    with contextlib.ExitStack() as stack:
        if server is None:
            server = stack.enter_context(FakeOpenAIServer())
        for rendering in renderings:
            cases = load_cases(gold, [rendering], list(letters) if letters else None)
            out["results"][rendering] = {}
            for instructor_mode in instructor_modes:
                settings = _settings(max_attempts).with_overrides(mode=instructor_mode)
                perfect = _run_batch(server, base.derive("seen"), cases, "llm", settings,
                                     concurrency)  # fmt: skip
                want = {r["case"]: r["_contract"] for r in perfect}
                asked = {r["case"]: r["requests"] for r in perfect}
                by_kind: dict[str, Any] = {}
                every: list[dict[str, Any]] = []
                notable: list[dict[str, Any]] = []
                for kind in _format_kinds_for(instructor_mode, kinds):
                    responder = base.derive("format", format_kinds=[kind], seed=seed)
                    rows = _run_batch(server, responder, cases, "llm", settings, concurrency)
                    rows = [r for r in rows if r["_injection"] is not None]
                    for r in rows:
                        r["perfect_requests"] = asked[r["case"]]
                        r["diffs_from_perfect"] = (
                            record_diffs(r["_contract"], want[r["case"]]) if r["record"] else []
                        )
                        if (r["requests"] > r["perfect_requests"] or not r["record"]
                                or r["diffs_from_perfect"]):  # fmt: skip
                            first = r["reask_errors"][0][:2] if r["reask_errors"] else []
                            notable.append({
                                "kind": kind, "case": r["case"], "requests": r["requests"],
                                "record": r["record"], "error": r["error"],
                                "diffs": r["diffs_from_perfect"][:4],
                                "first_error": " ".join(first)[:200] if first else None,
                                "deviation": r["injection"]["changes"][0] if r["injection"]
                                else None,
                            })  # fmt: skip
                    by_kind[kind] = _format_figures(rows)
                    every += rows
                out["results"][rendering][instructor_mode] = {
                    "perfect": _format_figures(perfect),
                    "all": _format_figures(every),
                    "by_kind": by_kind,
                    "rows": notable,
                }
    return out


def format_targets_met(figures: dict[str, Any]) -> bool:
    """Whether one run's figures (``all`` of a rendering and mode) meet :data:`FORMAT_TARGETS`."""
    return (
        figures["requests_per_letter"] <= FORMAT_TARGETS["requests_per_letter"]
        and figures["failed"] <= FORMAT_TARGETS["failed"]
        and figures["differ"] <= FORMAT_TARGETS["differ"]
    )


def _format_verdict(f: dict[str, Any], perfect: dict[str, Any]) -> str:
    if format_targets_met(f):
        return "met"
    why = []
    if f["requests_per_letter"] > FORMAT_TARGETS["requests_per_letter"]:
        why.append(f"{f['requests_per_letter']:.2f} requests/letter (perfect answers: "
                   f"{perfect['requests_per_letter']:.2f}; the deviations add "
                   f"{f['extra_per_letter']:.2f})")  # fmt: skip
    if f["failed"]:
        why.append(f"{f['failed']} failed")
    if f["differ"]:
        why.append(f"{f['differ']} records differ ({f['differ_specialty_only']} only in the "
                   "specialties' spelling)")  # fmt: skip
    return "NOT met: " + "; ".join(why)


def format_lines(report: dict[str, Any], top_rows: int = 8) -> list[str]:
    """The format mode's figures as text lines."""
    t = report["targets"]
    lines = [
        "",
        "== format: right values, one harmless deviation per first answer (targets: "
        f"<= {t['requests_per_letter']:.2f} requests/letter, {t['failed']} failed, "
        f"{t['differ']} records differing from the perfect-answer run)",
    ]
    header = (
        f"  {'kind':<20} {'letters':>7} {'req/letter':>10} {'extra':>6} {'re-asked':>8} "
        f"{'failed':>6} {'differ':>6} {'(specialty only)':>16}"
    )

    def row(name: str, f: dict[str, Any]) -> str:
        return (
            f"  {name:<20} {f['letters']:>7} {f['requests_per_letter']:>10.2f} "
            f"{f['extra_per_letter']:>6.2f} {f['reasked']:>8} {f['failed']:>6} {f['differ']:>6} "
            f"{f['differ_specialty_only']:>16}"
        )

    for rendering, by_mode in report["results"].items():
        for mode, r in by_mode.items():
            met = _format_verdict(r["all"], r["perfect"])
            lines += ["", f"-- {rendering} ({RENDERING_NAMES.get(rendering, rendering)}), "
                      f"instructor mode {mode}: targets {met}", header]  # fmt: skip
            lines.append(row("(perfect answers)", r["perfect"]))
            for kind, f in r["by_kind"].items():
                lines.append(row(kind, f))
            lines.append(row("all deviations", r["all"]))
            for entry in r["rows"][:top_rows]:
                what = "no record" if not entry["record"] else (
                    f"differs at {', '.join(entry['diffs'])}" if entry["diffs"]
                    else f"{entry['requests']} requests")  # fmt: skip
                lines.append(f"    {entry['kind']} {entry['case']}: {what}; "
                             f"{entry['first_error'] or entry['error'] or ''}"[:200])  # fmt: skip
            if len(r["rows"]) > top_rows:
                lines.append(f"    ... {len(r['rows']) - top_rows} more")
    return lines


# --------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


def format_report(report: dict[str, Any], top_errors: int = 6) -> str:
    lines = [NOT_QUALITY, ""]
    s = report["settings"]
    lines.append(
        f"max_attempts={s['max_attempts']}  noise_rate={s['noise_rate']}  seed={s['seed']}  "
        f"strict={s['strict']}  letters={s['letters']}"
    )
    header = (
        f"{'mode':<6} {'record':>13} {'all-correct':>13} {'faithful':>13} {'item-F1':>7} "
        f"{'req/letter':>10} {'needs_review':>12} {'correct 1st rejected':>20}"
    )
    for rendering, by_mode in report["results"].items():
        lines += ["", f"== {rendering} ({RENDERING_NAMES.get(rendering, rendering)})", header]
        for mode, r in by_mode.items():
            n = r["letters"]
            lines.append(
                f"{mode:<6} {_pct(r['with_record'], n):>13} {_pct(r['all_correct'], n):>13} "
                f"{_pct(r['all_correct_faithful'], n):>13} {r['item_f1']:>7.3f} "
                f"{r['requests_per_letter']:>10.2f} "
                f"{r['needs_review']:>12} "
                f"{_pct(r['correct_first_rejected'], r['correct_first_answers']):>20}"
            )
        for mode, r in by_mode.items():
            if r["errors"]:
                codes = ", ".join(f"{code} {count}" for code, count in r["errors"].items())
                lines.append(f"  {mode}: no record: {codes}; first: {r['first_error']}")
        noisy = by_mode.get("noisy")
        if noisy is not None:
            k = noisy["injected"]
            lines.append(
                f"  noisy: {k} mistakes injected; caught+fixed {noisy['caught_fixed']}, "
                f"caught unfixed {noisy['caught_unfixed']}, slipped unflagged "
                f"{noisy['slipped_unflagged']}, slipped flagged {noisy['slipped_flagged']}, "
                f"no effect {noisy['no_effect']}"
            )
            for kind, counts in noisy["by_kind"].items():
                shown = ", ".join(f"{name} {counts[name]}" for name in OUTCOMES if name in counts)
                lines.append(f"    {kind:<17} {shown}")
        for mode, r in by_mode.items():
            if r["rejections_of_correct_answers"]:
                lines.append(f"  {mode}: checks rejecting correct answers (error lines, letters):")
                for entry in r["rejections_of_correct_answers"][:top_errors]:
                    lines.append(f"    {entry['lines']:>4} {entry['letters']:>3}  {entry['error']}")
    for rendering, c in report["cascade"].items():
        lines += [
            "",
            f"== cascade on {rendering} ({RENDERING_NAMES.get(rendering, rendering)}), "
            "seen answers",
            f"rules records without needs_review: {_pct(c['rules_unflagged'], c['letters'])}, "
            f"of which all-correct: {_pct(c['rules_unflagged_all_correct'], c['rules_unflagged'])}"
            f" (faithful: "
            f"{_pct(c['rules_unflagged_all_correct_faithful'], c['rules_unflagged'])})"
            f"; model records {c['llm_records']}, no record {c['no_record']}, "
            f"all-correct overall {_pct(c['all_correct'], c['letters'])}",
        ]
        if c["rules_wrong_unflagged_faithful"]:
            lines.append(
                "  wrong rules records not flagged, faithful scoring: "
                + ", ".join(c["rules_wrong_unflagged_faithful"])
            )
        if c["rules_wrong_unflagged"]:
            lines.append(
                f"  wrong rules records not flagged: {', '.join(c['rules_wrong_unflagged'])}"
            )
    lines += format_extra(report)
    if "format" in report:
        lines += format_lines(report["format"])
    lines += ["", f"{report['seconds']} s", NOT_QUALITY]
    return "\n".join(lines)


def format_extra(report: dict[str, Any]) -> list[str]:
    """The rules engine alone and the per-kind sweep, when they ran."""
    lines: list[str] = []
    for rendering, r in report.get("rules", {}).items():
        errors = ", ".join(f"{code} {count}" for code, count in r["errors"].items())
        lines += [
            "",
            f"== rules engine alone on {rendering} ({RENDERING_NAMES.get(rendering, rendering)})",
            f"records {_pct(r['records'], r['letters'])}, all-correct "
            f"{_pct(r['all_correct'], r['letters'])} (faithful "
            f"{_pct(r['all_correct_faithful'], r['letters'])}); without needs_review "
            f"{r['unflagged']}, of which right (faithful) {r['unflagged_right_faithful']}"
            + (f"; typed errors: {errors}" if errors else ""),
        ]
        if r["wrong_unflagged_faithful"]:
            lines.append(f"  wrong and not flagged: {', '.join(r['wrong_unflagged_faithful'])}")
    for rendering, by_kind in report.get("sweep", {}).items():
        lines += ["", f"== every mistake kind on every letter, {rendering} (rate 1, one kind "
                  "at a time)", f"{'kind':<26} {'injected':>8} " + " ".join(
                      f"{name:>17}" for name in OUTCOMES)]  # fmt: skip
        for kind, counts in by_kind.items():
            lines.append(
                f"{kind:<26} {counts['injected']:>8} "
                + " ".join(f"{counts[name]:>17}" for name in OUTCOMES)
            )
    return lines


# --------------------------------------------------------------------------------------------
# The summary: the rows of issue 14's table (and what drives them)
# --------------------------------------------------------------------------------------------

#: What the table's rows need, run by ``--summary`` unless told otherwise.
SUMMARY_RENDERINGS: tuple[str, ...] = ("layout", "ocr", *REFLOW_RENDERINGS)
SUMMARY_MODES: tuple[str, ...] = ("seen", "noisy")
SUMMARY_NOISE_RATE = 0.5
SCRIPT = "python benchmarks/evidence_oracle.py"


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0


def summary_rows(report: dict[str, Any], command: str = SCRIPT) -> list[dict[str, Any]]:
    """The rows of issue 14's table this run measured, each with its figure, the target, the
    command that measures it alone (``command`` is the script with its letter options) and the
    numbers behind it (``values``). "Right" is faithful all-correct (a long value may be the
    rendering's own text at its place); perfect answers are the ``seen`` mode's.
    """
    rows: list[dict[str, Any]] = []
    results = report["results"]
    c = report["cascade"].get("ocr")
    if c is not None:
        right, kept = c["rules_unflagged_all_correct_faithful"], c["rules_unflagged"]
        n = c["letters"]
        rows.append(
            {
                "what": "cascade on mild OCR: rules records without a flag that are right",
                "figure": f"{right} of {kept} right ({100 * _share(right, kept):.1f}%); the rules "
                f"keep {kept} of {n} letters ({100 * _share(kept, n):.1f}%)",
                "target": ">= 99%, rules keep >= 60% of letters",
                "command": f"{command} --renderings ocr --modes seen --cascade ocr --summary",
                "values": {
                    "right_share": _share(right, kept),
                    "keep_share": _share(kept, n),
                    "wrong_unflagged": c["rules_wrong_unflagged_faithful"],
                },
            }
        )
    reflowed = [
        r
        for r in REFLOW_RENDERINGS
        if r in report.get("rules", {}) or (r in results and "seen" in results[r])
    ]
    if reflowed:
        rules = [report["rules"][r] for r in reflowed if r in report.get("rules", {})]
        llm = [results[r]["seen"] for r in reflowed if r in results and "seen" in results[r]]
        n = sum(r["letters"] for r in rules)
        records = sum(r["records"] for r in rules)
        right = sum(r["all_correct_faithful"] for r in rules)
        silent = sum(len(r["wrong_unflagged_faithful"]) for r in rules)
        m = sum(r["letters"] for r in llm)
        flagged = sum(r["needs_review"] for r in llm)
        rejected = sum(r["correct_first_rejected"] for r in llm)
        parts = []
        if rules:
            parts.append(
                f"rules: {100 * _share(records, n):.1f}% records ({records} of {n}), "
                f"all-correct {_share(right, n):.2f}, {silent} wrong unflagged"
            )
        if llm:
            parts.append(
                f"LLM with perfect answers: {100 * _share(flagged, m):.1f}% flagged "
                f"({flagged} of {m}), {rejected} first answers rejected"
            )
        rows.append(
            {
                "what": f"re-flowed text ({' + '.join(reflowed)})",
                "figure": "; ".join(parts),
                "target": "rules >= 95% records, all-correct >= 0.95; LLM flagged <= 5%",
                "command": f"{command} --renderings {' '.join(reflowed)} --modes seen --rules "
                f"{' '.join(reflowed)} --cascade --summary",
                "values": {
                    "rules_record_share": _share(records, n),
                    "rules_all_correct_share": _share(right, n),
                    "rules_wrong_unflagged": silent,
                    "llm_flagged_share": _share(flagged, m),
                    "llm_first_rejected": rejected,
                },
            }
        )
    perfect = {r: results[r]["seen"] for r in ("layout", "ocr") if "seen" in results.get(r, {})}
    if perfect:
        seen_cmd = f"{command} --renderings {' '.join(perfect)} --modes seen --cascade --summary"
        flagged = {r: (p["needs_review"], p["letters"]) for r, p in perfect.items()}
        rows.append(
            {
                "what": "perfect answers flagged needs_review",
                "figure": ", ".join(
                    f"{_NAMES[r]} {k} of {n} ({100 * _share(k, n):.1f}%)"
                    for r, (k, n) in flagged.items()
                ),
                "target": "layout 0, mild OCR <= 10%",
                "command": seen_cmd,
                "values": {r: _share(k, n) for r, (k, n) in flagged.items()},
            }
        )
        rejected = {
            r: (p["correct_first_rejected"], p["correct_first_answers"]) for r, p in perfect.items()
        }
        requests = sum(p["requests_per_letter"] * p["letters"] for p in perfect.values())
        letters = sum(p["letters"] for p in perfect.values())
        rows.append(
            {
                "what": "perfect first answers rejected (re-asked)",
                "figure": ", ".join(
                    f"{_NAMES[r]} {k} of {n} ({100 * _share(k, n):.1f}%)"
                    for r, (k, n) in rejected.items()
                )
                + f"; {requests / letters:.3f} requests/letter ("
                + ", ".join(
                    f"{_NAMES[r]} {p['requests_per_letter']:.3f}" for r, p in perfect.items()
                )
                + ")",
                "target": "layout 0, mild OCR <= 2%; <= 1.05 requests/letter",
                "command": seen_cmd,
                "values": {
                    **{r: _share(k, n) for r, (k, n) in rejected.items()},
                    "requests_per_letter": round(requests / letters, 4),
                },
            }
        )
    noisy = {r: results[r]["noisy"] for r in ("layout", "ocr") if "noisy" in results.get(r, {})}
    if noisy:
        injected = sum(x["injected"] for x in noisy.values())
        slipped = sum(x["slipped_unflagged"] for x in noisy.values())
        s = report["settings"]
        kinds = len(MISTAKE_KINDS) if s["kinds"] == "all" else len(s["kinds"])
        rows.append(
            {
                "what": f"wider model mistakes ({kinds} kinds, rate {s['noise_rate']}) slipping "
                "into a record unflagged",
                "figure": f"{slipped} of {injected} ({100 * _share(slipped, injected):.1f}%) on "
                + " + ".join(_NAMES[r] for r in noisy),
                "target": "<= 1%",
                "command": f"{command} --renderings {' '.join(noisy)} --modes noisy --noise-rate "
                f"{s['noise_rate']} --cascade --summary",
                "values": {
                    "slipped_unflagged": slipped,
                    "injected": injected,
                    "share": _share(slipped, injected),
                },
            }
        )
    return rows


_NAMES = {"layout": "layout", "ocr": "mild OCR"}


def format_summary(report: dict[str, Any], command: str = SCRIPT) -> str:
    """The issue-14 rows this run measured, one block each: what, figure, target, command."""
    lines = ["Issue 14's table as this run measured it (scripted answers, not a model):"]
    for row in summary_rows(report, command):
        lines += [
            f"- {row['what']}: {row['figure']}",
            f"    target: {row['target']}",
            f"    $ {row['command']}",
        ]
    return "\n".join(lines)


def format_diagnosis(report: dict[str, Any], max_cases: int = 10) -> str:
    """Why perfect answers were re-asked or flagged and mistakes slipped, grouped by cause."""
    titles = {
        "perfect_rejected": "perfect first answers rejected: the error lines sent back",
        "perfect_flagged": "perfect answers flagged: the review reasons",
        "slipped_unflagged": "mistakes slipped unflagged: kind, and the evidence the record "
        "gives the wrong value",
        "sweep_slipped_unflagged": "sweep: mistakes slipped unflagged",
        "rules_wrong_unflagged": "rules records without a flag that are wrong (faithful "
        "scoring): the field",
        "rules_errors": "rules engine alone: typed errors",
    }
    lines = ["Diagnosis (particulars blanked: '…' quoted text, # numbers):"]
    for group, title in titles.items():
        causes = report.get("diagnosis", {}).get(group) or []
        if not causes and group.startswith(("sweep", "rules")):
            continue
        cases = len({case for c in causes for case in c["cases"]})
        lines.append(f"== {title}: {cases} cases")
        for cause in causes:
            shown = cause["cases"][:max_cases]
            more = len(cause["cases"]) - len(shown)
            lines.append(f"  {cause['count']:>4}  {cause['cause']}")
            lines.append("        " + ", ".join(shown) + (f" (+{more} more)" if more else ""))
    return "\n".join(lines)


#: The corpus's renderings, by the names the gold set uses.
CORPUS_RENDERINGS = {"layout": "text-layout", "raw": "text-raw", "ocr": "text-ocr",
                     "ocrfax": "text-ocrfax"}  # fmt: skip


def corpus_as_gold(corpus: Path | Sequence[Path], dest: Path) -> Path:
    """A gold-set view of real-letter folders (``../shared/corpus``, ``../shared/corpus-more``:
    labels, layout text, renderings) in ``dest``, one set of letters from them all.

    Only links and a manifest are written: no letter text is copied. A folder without
    ``labels/`` or ``text-layout/``, or a letter name in two folders, is a
    :class:`~imr_llm.errors.ConfigurationError`.
    """
    from imr_llm.form.text import char_error_rate

    folders = [corpus] if isinstance(corpus, Path) else list(corpus)
    (dest / "letters").mkdir(parents=True, exist_ok=True)
    (dest / "labels").mkdir(exist_ok=True)
    manifest = []
    for folder in folders:
        if not (folder / "labels").is_dir() or not (folder / "text-layout").is_dir():
            raise ConfigurationError(
                f"{folder} is not a folder of real letters: it needs labels/ and text-layout/"
            )
        for label in sorted((folder / "labels").glob("*.json")):
            name = label.stem
            if (dest / "labels" / label.name).exists():
                raise ConfigurationError(f"letter {name} is in more than one corpus folder")
            (dest / "labels" / label.name).symlink_to(label.resolve())
            layout = folder / "text-layout" / f"{name}.txt"
            (dest / "letters" / f"{name}.txt").symlink_to(layout.resolve())
            clean = layout.read_text(encoding="utf-8")
            manifest.append(
                {"letter": name, "rendering": "layout", "path": f"letters/{name}.txt", "cer": 0.0}
            )
            for rendering, sub in CORPUS_RENDERINGS.items():
                path = folder / sub / f"{name}.txt"
                if rendering == "layout" or not path.is_file():
                    continue
                (dest / rendering).mkdir(exist_ok=True)
                (dest / rendering / f"{name}.txt").symlink_to(path.resolve())
                cer = char_error_rate(clean, path.read_text(encoding="utf-8"))
                entry = {"letter": name, "rendering": rendering, "path": f"{rendering}/{name}.txt"}
                manifest.append({**entry, "cer": round(cer, 4)})
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return dest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renderings", nargs="+", choices=RENDERINGS)
    parser.add_argument("--modes", nargs="+", choices=MODES)
    parser.add_argument("--letters", nargs="+", help="gold letter names (default: all)")
    parser.add_argument(
        "--noise-rate", type=float, default=None,
        help=f"share of first answers with a mistake in noisy mode (default "
        f"{DEFAULT_NOISE_RATE}; {SUMMARY_NOISE_RATE} with --summary)",
    )  # fmt: skip
    parser.add_argument(
        "--kinds", nargs="+", choices=MISTAKE_KINDS, metavar="KIND",
        help="the mistakes noisy mode may inject (default: all)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-attempts", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--cascade", nargs="*", default=["ocr"], metavar="RENDERING",
        help="renderings to run the cascade on with seen answers (default: ocr; none: skip)",
    )  # fmt: skip
    parser.add_argument(
        "--rules", nargs="*", default=None, metavar="RENDERING", choices=RENDERINGS,
        help="renderings to run the rules engine alone on (default: none; with --summary the "
        "re-flowed renderings run)",
    )  # fmt: skip
    parser.add_argument(
        "--sweep", action="store_true",
        help="also inject every mistake kind on every letter it applies to (rate 1, one kind "
        "at a time), per rendering",
    )  # fmt: skip
    parser.add_argument(
        "--summary", action="store_true",
        help="print issue 14's table rows first and the diagnosis last; unless told otherwise "
        f"runs renderings {' '.join(SUMMARY_RENDERINGS)}, modes {' '.join(SUMMARY_MODES)}, "
        f"noise rate {SUMMARY_NOISE_RATE}, and the rules engine on the re-flowed renderings",
    )  # fmt: skip
    parser.add_argument(
        "--json", metavar="PATH", help="also write the figures as JSON ('-': stdout)"
    )
    parser.add_argument("--cases", action="store_true", help="include every case in the JSON")
    parser.add_argument(
        "--corpus", type=Path, nargs="+", metavar="DIR",
        help="run on real letters instead: one or more folders such as ../shared/corpus "
        "../shared/corpus-more (labels/, text-layout/, text-raw/, text-ocr/, text-ocrfax/)",
    )  # fmt: skip
    parser.add_argument(
        "--instructor-modes", nargs="+", choices=FORMAT_INSTRUCTOR_MODES,
        default=list(FORMAT_INSTRUCTOR_MODES), help="format mode: the instructor modes to run",
    )  # fmt: skip
    parser.add_argument(
        "--format-kinds", nargs="+", choices=FORMAT_KINDS, metavar="KIND",
        help="format mode: the deviations to run (default: all that the instructor mode takes)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    renderings = args.renderings
    modes = args.modes
    noise_rate = args.noise_rate
    rules = args.rules
    if args.summary:
        renderings = renderings or list(SUMMARY_RENDERINGS)
        modes = modes or list(SUMMARY_MODES)
        noise_rate = SUMMARY_NOISE_RATE if noise_rate is None else noise_rate
        if rules is None:
            rules = [r for r in renderings if r in REFLOW_RENDERINGS]
    command = SCRIPT
    if args.corpus:
        command += " --corpus " + " ".join(str(folder) for folder in args.corpus)
    if args.letters:
        command += " --letters " + " ".join(args.letters)
    if args.seed:
        command += f" --seed {args.seed}"
    with tempfile.TemporaryDirectory() as tmp:
        gold = GOLD
        if args.corpus:
            try:
                gold = corpus_as_gold(args.corpus, Path(tmp) / "corpus")
            except ConfigurationError as exc:
                parser.error(str(exc))
            renderings = renderings or [*CORPUS_RENDERINGS, *REFLOW_RENDERINGS]
        report = run_benchmark(
            renderings, modes, args.letters, gold=gold,
            noise_rate=DEFAULT_NOISE_RATE if noise_rate is None else noise_rate,
            seed=args.seed, max_attempts=args.max_attempts, concurrency=args.concurrency,
            cascade_renderings=args.cascade, keep_cases=args.cases, kinds=args.kinds,
            rules_renderings=rules or (), sweep=args.sweep,
            instructor_modes=args.instructor_modes, format_kinds=args.format_kinds,
        )  # fmt: skip
    if args.json == "-":
        json.dump(report, sys.stdout, indent=1, default=str)
        print()
        return 0
    if args.summary:
        print(format_summary(report, command), end="\n\n")
    print(format_report(report))
    if args.summary:
        print("\n" + format_diagnosis(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
