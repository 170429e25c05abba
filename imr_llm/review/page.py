"""The review page around the letter and the record: heading, provenance, banners; drawn.

What a reviewer must know before trusting any value is said first, at the top: whether the
record needs review and why, how it was produced (engine, model, prompt, tokens, cost) and what
its text came from (a text file, a PDF's text layer, OCR), and, against gold, how many values
are wrong. This module gathers that from the record's metadata, which it reads defensively (a
record from an older run may lack any of it), puts it beside the letter (:mod:`.letter`) and the
record (:mod:`.values`), and has :mod:`.render` draw the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..record.models import DeterminationRecord
from .fields import colour_rules
from .letter import Highlight, get, letter_view, page_starts
from .render import render_page
from .values import STATUS_ICON, Badge, Shown, record_view

_TEXT_FROM = {
    "file": "text file",
    "text_layer": "PDF text layer",
    "ocr": "OCR",
    "mixed": "PDF text layer and OCR",
}


def _file_name(source: object) -> str:
    """A file's name for the page: the last part of a path (the whole path is a tooltip); a
    name that is not a path (an eval case, ``gA01/ocr``) as it is."""
    text = str(source)
    if text.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", text):
        return re.split(r"[\\/]", text)[-1] or text
    return text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _provenance(meta: Any, n_pages: int) -> list[tuple[str, Shown]]:
    """(label, value) pairs: how the record was produced and where the text came from."""
    if meta is None:
        return [("engine", Shown("unknown (the record has no metadata)"))]
    rows: list[tuple[str, Shown]] = []
    backend = get(meta, "backend")
    engine_aside = f"(backend {backend})" if backend and backend != get(meta, "engine") else None
    rows.append(("engine", Shown(str(get(meta, "engine") or "unknown"), aside=engine_aside)))
    form = get(meta, "letter_form")
    if form:
        from ..form.generations import DESCRIPTIONS

        described = DESCRIPTIONS.get(str(form))
        aside = f"({described})" if described else None
        rows.append(("letter form", Shown(str(form), aside=aside)))
    if get(meta, "model"):
        rows.append(("model", Shown(str(get(meta, "model")))))
    if get(meta, "prompt_version"):
        prompt_hash = get(meta, "prompt_hash")
        aside = str(prompt_hash)[:12] if prompt_hash else None
        rows.append(("prompt", Shown(str(get(meta, "prompt_version")), aside=aside)))
    usage = get(meta, "usage")
    if usage is not None:
        total = get(usage, "total_tokens") or 0
        detail = (
            f"{get(usage, 'prompt_tokens') or 0:,} in, {get(usage, 'completion_tokens') or 0:,} out"
        )
        if get(usage, "cached_tokens"):
            detail += f", {get(usage, 'cached_tokens'):,} cached"
        if get(usage, "estimated"):
            detail += ", estimated"
        attempts = get(meta, "attempts") or []
        if attempts:
            detail += f"; {_plural(len(attempts), 'attempt')}"
        rows.append(("tokens", Shown(f"{total:,}", aside=f"({detail})")))
    cost = get(meta, "cost_usd")
    if cost is not None:
        rows.append(("cost", Shown(f"${cost:,.4f}")))
    source = get(meta, "source")
    info = get(meta, "input")
    if source:
        rows.append(("file", Shown(_file_name(source), title=str(source))))
    if info is not None:
        text_from = get(info, "text_from")
        parts = [_TEXT_FROM.get(str(text_from), str(text_from or "unknown"))]
        pages = get(info, "pages")
        if pages:
            parts.append(_plural(pages, "page"))
        ocr_pages = get(info, "ocr_pages") or []
        if ocr_pages and text_from != "ocr":
            parts.append("OCR on page" + ("s " if len(ocr_pages) > 1 else " ")
                         + ", ".join(str(p) for p in ocr_pages))  # fmt: skip
        engine_name = get(info, "ocr_engine")
        if engine_name:
            version = get(info, "ocr_engine_version")
            parts.append(f"{engine_name} {version}" if version else str(engine_name))
        confidence = get(info, "ocr_mean_confidence")
        if isinstance(confidence, (int, float)):
            parts.append(f"mean OCR confidence {confidence:.1%}")
        if get(info, "encoding"):
            parts.append(f"encoding {get(info, 'encoding')}")
        rows.append(("source", Shown(", ".join(parts))))
    else:
        rows.append(("source", Shown(f"letter text, {_plural(n_pages, 'page')}")))
    rows.append(("imr-llm", Shown(str(get(meta, "imr_llm_version") or "?"))))
    return rows


@dataclass(frozen=True, slots=True)
class Banners:
    """What the banners under the heading say (``page.html.j2`` words them)."""

    #: The record needs review: why, one reason a line.
    needs_review: bool
    reasons: list[str]
    #: Otherwise, whether it carries evidence at all (else nothing in it was checked).
    has_evidence: bool
    #: Why the rules engine handed the letter to the model (the cascade).
    rules_failure: str | None
    #: Against gold: whether a label was given, and what is wrong against it.
    gold_checked: bool
    gold_wrong: list[str]


def record_to_html(
    record: DeterminationRecord,
    text: str,
    *,
    gold: Mapping[str, Any] | DeterminationRecord | None = None,
    title: str | None = None,
) -> str:
    """One self-contained HTML review page for ``record`` beside the letter ``text``.

    Args:
        record: The record, with its metadata (evidence, flags, provenance) when it has any.
        text: The letter text exactly as it was given to ``extract`` (span offsets index it).
        gold: A gold label (the contract's JSON shape, or a record): each wrong value then shows
            the gold value beside it. Used by ``imr-llm eval``.
        title: What the page is called (default: the case number and the file name).

    Returns:
        The page as a string: no network, no external assets, every text escaped.
    """
    meta = record.metadata
    evidence: Mapping[str, Any] = get(meta, "evidence") or {}

    highlights: list[Highlight] = []
    for path, ev in evidence.items():
        span = get(ev, "span")
        start, end = get(span, "start"), get(span, "end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text):
            highlights.append(Highlight(start, end, str(path), str(get(ev, "status"))))
    ocr_pages = get(get(meta, "input"), "ocr_pages") or []
    letter = letter_view(
        text,
        page_starts(text, meta),
        highlights,
        frozenset(p for p in ocr_pages if isinstance(p, int)),
    )
    values = record_view(record, evidence, letter, len(text), gold)

    counts = {s: sum(1 for e in evidence.values() if get(e, "status") == s) for s in STATUS_ICON}
    source = get(meta, "source")
    name = _file_name(source) if source else None
    heading = title or " \u00b7 ".join(
        x for x in (record.case_number or "No case number", name) if x
    )
    reasons = [str(r) for r in (get(meta, "review_reasons") or [])]
    rules_failure = get(meta, "rules_failure")
    banners = Banners(
        needs_review=meta is not None and bool(get(meta, "needs_review") or reasons),
        reasons=reasons,
        has_evidence=bool(evidence),
        rules_failure=str(rules_failure) if rules_failure else None,
        gold_checked=values.gold_checked,
        gold_wrong=values.wrong,
    )
    return render_page(
        heading=heading,
        tally=[Badge(s, f"{icon} {counts[s]} {s}") for s, icon in STATUS_ICON.items()],
        provenance=_provenance(meta, len(letter.pages)),
        warnings=[str(w) for w in (get(meta, "warnings") or [])],
        banners=banners,
        colours=colour_rules(),
        letter=letter,
        flagged=counts["unverified"] + counts["repaired"],
        record=values,
    )
