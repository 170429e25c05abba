"""A review page: the letter beside its record, every value at its place, in one HTML file.

A record is only worth relying on once a person can check it against the letter, and a claims
analyst has seconds per letter, not minutes. :func:`record_to_html` writes one self-contained
page (inline CSS and a little inline script; no network, no external assets; a Content
Security Policy forbids any fetch) with

- the letter text on the left, page by page with line numbers, every value's evidence span
  highlighted in its field's colour (a dashed red underline where the value is unverified);
- the record on the right, grouped as header, reviewer, patient and items, each value with its
  evidence status as a badge (``exact``, ``repaired``, ``unverified``), the evidence note and
  where it is (page and line);
- a banner listing why the record needs review, and how it was produced (engine, model, prompt,
  tokens, cost, and whether the text came from a text file, a PDF's text layer or OCR);
- with ``gold`` (the eval harness), the gold value beside each value that is wrong.

Clicking a value scrolls the letter to its span and marks it; clicking a highlighted span
selects its value (clicking again cycles through values whose spans overlap there).

Span offsets index the text the engines were given (:mod:`imr_llm.normalise` keeps every line's
offset in the original text), so ``text`` must be exactly the text passed to ``extract``. Page
breaks come from ``metadata.input.page_starts`` when the input's pages are known, else from
form feeds in the text. Every piece of letter or record text is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..models import CONTRACT_FIELDS, DeterminationRecord

__all__ = ["FIELD_COLOURS", "FIELD_LABELS", "record_to_html"]

#: Each field's label on the page, keyed by its path with indices dropped.
FIELD_LABELS: dict[str, str] = {
    "case_number": "Case number",
    "date_assigned": "Date assigned",
    "date_of_injury": "Date of injury",
    "decision_date": "Decision date",
    "ur_denial_date": "UR denial date",
    "application_received": "Application received",
    "priority": "Priority",
    "reviewer.licensure_states": "Licensure state",
    "reviewer.specialties": "Specialty",
    "patient.age": "Age",
    "patient.sex": "Sex",
    "items.service": "Service",
    "items.original_request": "Original request",
    "items.outcome": "Outcome",
    "items.claims_administrator_guideline": "Claims administrator guideline",
    "items.maximus_guideline": "MAXIMUS guideline",
    "items.rationale": "Decision rationale",
}

#: Each field's colour (its highlight is a light tint of it). Neighbours on the page differ in
#: hue; long passages (guidelines, rationale) get the softest tints so the text stays readable.
FIELD_COLOURS: dict[str, str] = {
    "case_number": "#3b5bdb",
    "date_assigned": "#0c8599",
    "date_of_injury": "#e8590c",
    "decision_date": "#2b8a3e",
    "ur_denial_date": "#ae3ec9",
    "application_received": "#b08800",
    "priority": "#66a80f",
    "reviewer.licensure_states": "#1c7ed6",
    "reviewer.specialties": "#7048e8",
    "patient.age": "#d6336c",
    "patient.sex": "#f76707",
    "items.service": "#1971c2",
    "items.original_request": "#5f3dc4",
    "items.outcome": "#2f9e44",
    "items.claims_administrator_guideline": "#868e96",
    "items.maximus_guideline": "#0b9fb8",
    "items.rationale": "#e0a800",
}
_OTHER_COLOUR = "#868e96"
#: Tint (alpha, hex) of a highlight: stronger for short values, softer for long passages.
_TINT = {
    "items.rationale": "40",
    "items.maximus_guideline": "2a",
    "items.claims_administrator_guideline": "2a",
}
_DEFAULT_TINT = "33"

_HEADER_FIELDS = tuple(f for f in CONTRACT_FIELDS if f not in ("reviewer", "patient", "items"))
_ITEM_FIELDS = (
    "service",
    "original_request",
    "outcome",
    "claims_administrator_guideline",
    "maximus_guideline",
    "rationale",
)
_LONG_FIELDS = frozenset({"items.claims_administrator_guideline", "items.maximus_guideline",
                          "items.rationale"})  # fmt: skip
_DATE_FIELDS = frozenset(f for f in _HEADER_FIELDS if f.startswith("date_") or f.endswith(
    ("_date", "_received")))  # fmt: skip
_INDEX = re.compile(r"\[\d+\]")
#: C0 controls (but tab), DEL and C1 controls: shown as a visible mark, never passed through.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_STATUS_ICON = {"exact": "\u2713", "repaired": "\u270e", "unverified": "\u26a0"}
_OUTCOME_MEANING = {"upheld": "not medically necessary", "overturned": "medically necessary"}
_TEXT_FROM = {
    "file": "text file",
    "text_layer": "PDF text layer",
    "ocr": "OCR",
    "mixed": "PDF text layer and OCR",
}


def field_key(path: str) -> str:
    """The field of a path, indices dropped: ``items[2].rationale`` -> ``items.rationale``."""
    return _INDEX.sub("", path)


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _get(obj: Any, name: str) -> Any:
    """A field of a model or a dict, or None: metadata read defensively (older records)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


# --------------------------------------------------------------------------------------------
# The letter: pages, lines, highlighted spans
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Highlight:
    start: int
    end: int
    path: str
    status: str

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class _Letter:
    html: str
    #: path -> (page, line) where its span starts, for the record side.
    where: dict[str, tuple[int, int]] = field(default_factory=dict)
    pages: int = 1
    #: The longest line, in characters: the letter pane is made as wide as it (within limits).
    columns: int = 80


def page_starts(text: str, metadata: Any = None) -> list[int]:
    """Offsets where the letter's pages start: ``metadata.input.page_starts`` when the input's
    pages are known, else after every form feed (a trailing empty page is dropped)."""
    known = _get(_get(metadata, "input"), "page_starts")
    if isinstance(known, (list, tuple)) and all(isinstance(s, int) for s in known) and known:
        return sorted({0, *(s for s in known if 0 < s < len(text))})
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\f" and i + 1 < len(text):
            starts.append(i + 1)
    while len(starts) > 1 and not text[starts[-1] :].strip():
        starts.pop()  # the form feed pdftotext ends the last page with
    return starts


def _shown(chunk: str) -> str:
    """Letter characters as the page shows them: form feeds and carriage returns dropped, other
    control characters made visible, everything escaped."""
    chunk = chunk.replace("\f", "").replace("\r", "")
    return html.escape(_CONTROL.sub("\ufffd", chunk), quote=False)


def _render_letter(
    text: str, starts: list[int], spans: list[_Highlight], ocr_pages: frozenset[int] = frozenset()
) -> _Letter:
    # Innermost first: a segment takes the colour of the shortest span covering it.
    spans = sorted(spans, key=lambda s: (s.length, s.start))
    out: list[str] = []
    where: dict[str, tuple[int, int]] = {}
    bounds = [*starts, len(text)]
    n_pages = len(starts)
    columns = 60
    for p in range(n_pages):
        page_start, page_end = bounds[p], bounds[p + 1]
        lines: list[tuple[int, int]] = []
        pos = page_start
        while pos <= page_end:
            nl = text.find("\n", pos, page_end)
            end = page_end if nl < 0 else nl
            lines.append((pos, end))
            if nl < 0:
                break
            pos = nl + 1
        # Blank lines ending a page (pdftotext's page padding) are dropped unless a span is there.
        while len(lines) > 1:
            a, b = lines[-1]
            if text[a:b].strip() or any(s.start <= b and s.end >= a for s in spans):
                break
            lines.pop()
        out.append(
            f'<section class="page" id="page-{p + 1}" data-page="{p + 1}">'
            f'<div class="pagehead">Page {p + 1} of {n_pages}'
            + (
                ' <span class="ocrtag" title="this page\'s text was read by OCR">OCR</span>'
                if p + 1 in ocr_pages
                else ""
            )
            + "</div>"
        )
        for number, (a, b) in enumerate(lines, start=1):
            columns = max(columns, min(b - a, 110))
            here = [s for s in spans if s.start <= b and s.end >= a]
            cuts = sorted({a, b, *(x for s in here for x in (s.start, s.end) if a < x < b)})
            parts: list[str] = []
            for k in range(len(cuts)):
                x = cuts[k]
                for s in here:  # a zero-width place: a thin marker where it is
                    if s.start == s.end == x:
                        parts.append(_mark([s], "", point=True))
                if k + 1 == len(cuts):
                    break
                y = cuts[k + 1]
                covering = [s for s in here if s.start <= x and y <= s.end and s.length]
                chunk = _shown(text[x:y])
                if covering:
                    parts.append(_mark(covering, chunk))
                else:
                    parts.append(chunk)
            out.append(
                f'<div class="ln" id="p{p + 1}l{number}"><span class="no">{number}</span>'
                f'<span class="tx">{"".join(parts)}</span></div>'
            )
        out.append("</section>")
    for s in spans:
        where[s.path] = _locate(text, starts, s.start, s.end)
    return _Letter("".join(out), where, n_pages, columns)


def _locate(text: str, starts: list[int], start: int, end: int) -> tuple[int, int]:
    """(page, line) where a span's text begins: its first character that is not whitespace
    (a place may start at the line break before its value), lines counted from each page."""
    chunk = text[start:end]
    offset = start + (len(chunk) - len(chunk.lstrip())) if chunk.strip() else start
    page = bisect_right(starts, offset)
    return page, text.count("\n", starts[page - 1], offset) + 1


def _mark(covering: list[_Highlight], chunk: str, *, point: bool = False) -> str:
    first = covering[0]
    key = field_key(first.path)
    paths = " ".join(s.path for s in covering)
    labels = "; ".join(f"{_label(s.path)}: {s.status}" for s in covering)
    classes = f"hl {_colour_class(key)}"
    if any(s.status == "unverified" for s in covering):
        classes += " unv"
    if point:
        classes += " pt"
    return (
        f'<mark class="{classes}" data-paths="{_esc(paths)}" title="{_esc(labels)}">{chunk}</mark>'
    )


# --------------------------------------------------------------------------------------------
# The record: values, badges, gold
# --------------------------------------------------------------------------------------------


def _colour_class(key: str) -> str:
    keys = list(FIELD_COLOURS)
    return f"c{keys.index(key)}" if key in FIELD_COLOURS else "cx"


def _label(path: str) -> str:
    key = field_key(path)
    label = FIELD_LABELS.get(key, path)
    m = re.match(r"items\[(\d+)\]", path)
    if m and key.startswith("items."):
        label = f"Item {int(m.group(1)) + 1}: {label.lower() if label[0] != 'M' else label}"
    return label


def _date_words(value: str) -> str:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return ""
    return f"{day.month:02d}/{day.day:02d}/{day.year}"


def _value_html(key: str, value: Any) -> str:
    """A value as the page shows it; nulls say what null means for that field."""
    if value is None or value == []:
        if key == "items.claims_administrator_guideline":
            return '<span class="null">none cited</span>'
        if key == "items.original_request":
            return '<span class="null">none (not a partly certified request)</span>'
        return '<span class="null">not stated</span>'
    if key in _DATE_FIELDS and isinstance(value, str):
        # As the letter writes it (MM/DD/YYYY), to compare at a glance; the record's ISO form
        # is the tooltip.
        us = _date_words(value)
        return f'<span title="{_esc(value)}">{_esc(us)}</span>' if us else _esc(value)
    if key == "items.outcome":
        text = str(value).capitalize()
        extra = _OUTCOME_MEANING.get(str(value))
        return _esc(text) + (f' <span class="aside">{extra}</span>' if extra else "")
    if key in ("priority", "patient.sex"):
        return _esc(str(value).capitalize())
    if isinstance(value, list):
        return _esc(", ".join(str(v) for v in value))
    return _esc(value)


@dataclass
class _Row:
    path: str
    key: str
    value: Any
    gold: Any = None
    wrong: bool = False
    gold_note: str | None = None  # shown instead of a gold value (a list element, no item)
    label: str | None = None
    #: A gold value the record lacks: no evidence of its own, shown as missing.
    missing: bool = False


class _Gold:
    """What the gold label says about each value (the eval harness); nothing without gold."""

    def __init__(self, data: dict[str, Any], gold: Mapping[str, Any] | None) -> None:
        self.data = gold
        #: What is wrong, one label per value ("Decision date", "Item 2: rationale").
        self.wrong: list[str] = []
        self.item_match: dict[int, int] = {}
        self.missing_items: list[dict[str, Any]] = []
        if gold is None:
            return
        from ..eval.scoring import align_items  # the eval's own matching: numpy, scipy

        got_items = data.get("items") or []
        want_items = list(gold.get("items") or [])
        self.item_match = {r: c for r, c, _ in align_items(got_items, want_items)}
        matched = set(self.item_match.values())
        self.missing_items = [w for c, w in enumerate(want_items) if c not in matched]

    def scalar(self, row: _Row, want: Any) -> None:
        if self.data is None:
            return
        if row.value != want:
            row.wrong, row.gold = True, want
            self.wrong.append(_label(row.path))

    def element(self, row: _Row, wanted: list[str]) -> None:
        from ..text import squash

        if self.data is None:
            return
        if squash(str(row.value)) not in {squash(w) for w in wanted}:
            row.wrong = True
            row.gold_note = "not in gold" + (
                f" (gold: {', '.join(wanted)})" if wanted else " (gold: none)"
            )
            self.wrong.append(f"{_label(row.path)} {row.value}")

    def item_field(self, row: _Row, k: int, name: str) -> None:
        from ..eval.scoring import TEXT_MATCH, text_similarity

        if self.data is None:
            return
        c = self.item_match.get(k)
        if c is None:
            row.wrong, row.gold_note = True, "no gold item matches this item"
            self.wrong.append(_label(row.path))
            return
        want = self.data["items"][c].get(name)
        if name == "outcome":
            right = row.value == want
        else:
            right = text_similarity(row.value, want) >= TEXT_MATCH
        if not right:
            row.wrong, row.gold = True, want
            self.wrong.append(_label(row.path))


def _gold_dict(gold: Mapping[str, Any] | DeterminationRecord | None) -> Mapping[str, Any] | None:
    if gold is None:
        return None
    if isinstance(gold, DeterminationRecord):
        return gold.contract_dict()
    return gold


def _gold_part(gold: Mapping[str, Any], path: str) -> Any:
    head, _, tail = path.partition(".")
    value = gold.get(head)
    return value.get(tail) if tail and isinstance(value, Mapping) else value


def _groups(
    data: dict[str, Any], evidence: Mapping[str, Any], judge: _Gold
) -> list[tuple[str, str, list[_Row]]]:
    """(group id, title, rows) for header, reviewer, patient; items come apart."""
    header: list[_Row] = []
    for name in _HEADER_FIELDS:
        row = _Row(name, name, data.get(name))
        if judge.data is not None:
            judge.scalar(row, judge.data.get(name))
        header.append(row)
    reviewer: list[_Row] = []
    for name in ("licensure_states", "specialties"):
        base = f"reviewer.{name}"
        values = (data.get("reviewer") or {}).get(name) or []
        wanted = list(_gold_part(judge.data, base) or []) if judge.data is not None else []
        for k, value in enumerate(values):
            row = _Row(f"{base}[{k}]", base, value)
            judge.element(row, wanted)
            reviewer.append(row)
        if not values or base in evidence:
            label = None if not values else f"{FIELD_LABELS[base]}s (the list)"
            row = _Row(base, base, [] if not values else values, label=label)
            if not values and judge.data is not None:
                judge.scalar(row, wanted)
            reviewer.append(row)
        if judge.data is not None and values:
            have = {_squash(v) for v in values}
            for want in wanted:
                if _squash(want) not in have:
                    judge.wrong.append(f"{FIELD_LABELS[base]} {want} missing")
                    reviewer.append(
                        _Row(base, base, None, gold=want, wrong=True, missing=True,
                             label=f"{FIELD_LABELS[base]} missing from the record")
                    )  # fmt: skip
    patient: list[_Row] = []
    for name in ("age", "sex"):
        path = f"patient.{name}"
        row = _Row(path, path, (data.get("patient") or {}).get(name))
        if judge.data is not None:
            judge.scalar(row, _gold_part(judge.data, path))
        patient.append(row)
    return [("header", "Header", header), ("reviewer", "Reviewer", reviewer),
            ("patient", "Patient", patient)]  # fmt: skip


def _squash(value: str) -> str:
    from ..text import squash

    return squash(value)


def _badge(status: str | None) -> str:
    if status in _STATUS_ICON:
        return f'<span class="badge b-{status}">{_STATUS_ICON[status]} {status}</span>'
    return '<span class="badge b-none">no evidence</span>'


def _row_html(row: _Row, evidence: Mapping[str, Any], letter: _Letter, text_len: int) -> str:
    ev = None if row.missing else evidence.get(row.path)
    status = _get(ev, "status")
    span = _get(ev, "span")
    note = _get(ev, "note")
    start, end = _get(span, "start"), _get(span, "end")
    placed = isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= text_len
    where = letter.where.get(row.path) if placed else None
    key = row.key
    label = row.label or _label(row.path)
    classes = ["val"]
    if key in _LONG_FIELDS or len(str(row.value or "")) > 64:
        classes.append("long")
    if row.value is None or row.value == []:
        classes.append("empty")
    if row.wrong:
        classes.append("wrong")
    attrs = ""
    if placed and where is not None:
        classes.append("linked")
        attrs = (
            f' data-path="{_esc(row.path)}" tabindex="0" role="button" '
            f'aria-label="{_esc(label)}: show in the letter"'
        )
    if status:
        attrs += f' data-status="{_esc(status)}"'
    if note:
        attrs += f' title="{_esc(note)}"'
    if where is not None:
        place = f'<span class="where">p.&nbsp;{where[0]}, l.&nbsp;{where[1]}</span>'
    elif span is not None and not placed:
        place = '<span class="where off">span outside this text</span>'
    elif ev is not None:
        place = '<span class="where off">no place found</span>'
    else:
        place = '<span class="where"></span>'
    no_badge = '<span class="bslot"></span>'
    badge = _badge(status) if ev is not None or row.value not in (None, []) else no_badge
    value = _value_html(key, row.value)
    if row.missing:
        badge = '<span class="badge b-wrong">missing</span>'
        value = '<span class="null">not in the record</span>'
    gold = ""
    if row.wrong:
        shown = _esc(row.gold_note) if row.gold_note is not None else _value_html(key, row.gold)
        gold = f'<div class="gold"><span class="goldtag">gold</span> {shown}</div>'
    # An exact value's note says only "at its label": kept as a tooltip. Shown: why a value is
    # repaired or unverified, and what a checked null means ("the letter says none was cited").
    shown_note = note and (status != "exact" or row.value is None)
    note_html = f'<div class="note">{_esc(note)}</div>' if shown_note else ""
    return (
        f'<div class="{" ".join(classes)}"{attrs}>'
        f'<span class="sw {_colour_class(key)}"></span><span class="vlabel">{_esc(label)}</span>'
        f'<div class="vtext">{value}</div>{badge}{place}'
        f"{gold}{note_html}</div>"
    )


def _item_rows(
    data: dict[str, Any], evidence: Mapping[str, Any], judge: _Gold
) -> list[tuple[int, dict[str, Any], list[_Row]]]:
    out = []
    for k, item in enumerate(data.get("items") or []):
        rows: list[_Row] = []
        for name in _ITEM_FIELDS:
            path = f"items[{k}].{name}"
            value = item.get(name)
            row = _Row(path, f"items.{name}", value, label=FIELD_LABELS[f"items.{name}"])
            judge.item_field(row, k, name)
            if name == "original_request" and value is None and path not in evidence:
                if not row.wrong:
                    continue  # a whole request: nothing to show
            rows.append(row)
        out.append((k, item, rows))
    return out


# --------------------------------------------------------------------------------------------
# The page around them
# --------------------------------------------------------------------------------------------


def _file_name(source: object) -> str:
    """A file's name for the page: the last part of a path (the whole path is a tooltip); a
    name that is not a path (an eval case, ``gA01/ocr``) as it is."""
    text = str(source)
    if text.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", text):
        return re.split(r"[\\/]", text)[-1] or text
    return text


def _provenance(meta: Any, n_pages: int) -> list[tuple[str, str]]:
    """(label, escaped html) pairs: how the record was produced and where the text came from."""
    if meta is None:
        return [("engine", "unknown (the record has no metadata)")]
    rows: list[tuple[str, str]] = []
    engine = _esc(_get(meta, "engine") or "unknown")
    backend = _get(meta, "backend")
    if backend and backend != _get(meta, "engine"):
        engine += f' <span class="aside">(backend {_esc(backend)})</span>'
    rows.append(("engine", engine))
    form = _get(meta, "letter_form")
    if form:
        from ..form.generations import DESCRIPTIONS

        described = DESCRIPTIONS.get(str(form))
        aside = f' <span class="aside">({_esc(described)})</span>' if described else ""
        rows.append(("letter form", f"{_esc(form)}{aside}"))
    if _get(meta, "model"):
        rows.append(("model", _esc(_get(meta, "model"))))
    if _get(meta, "prompt_version"):
        prompt = _esc(_get(meta, "prompt_version"))
        if _get(meta, "prompt_hash"):
            prompt += f' <span class="aside">{_esc(str(_get(meta, "prompt_hash"))[:12])}</span>'
        rows.append(("prompt", prompt))
    usage = _get(meta, "usage")
    if usage is not None:
        total = _get(usage, "total_tokens") or 0
        detail = (
            f"{_get(usage, 'prompt_tokens') or 0:,} in, {_get(usage, 'completion_tokens') or 0:,}"
            " out"
        )
        if _get(usage, "cached_tokens"):
            detail += f", {_get(usage, 'cached_tokens'):,} cached"
        if _get(usage, "estimated"):
            detail += ", estimated"
        attempts = _get(meta, "attempts") or []
        if attempts:
            detail += f"; {len(attempts)} attempt{'s' if len(attempts) != 1 else ''}"
        rows.append(("tokens", f'{total:,} <span class="aside">({_esc(detail)})</span>'))
    cost = _get(meta, "cost_usd")
    if cost is not None:
        rows.append(("cost", f"${cost:,.4f}"))
    source = _get(meta, "source")
    info = _get(meta, "input")
    if source:
        rows.append(("file", f'<span title="{_esc(source)}">{_esc(_file_name(source))}</span>'))
    if info is not None:
        text_from = _get(info, "text_from")
        what = _TEXT_FROM.get(str(text_from), str(text_from or "unknown"))
        pages = _get(info, "pages")
        parts = [what]
        if pages:
            parts.append(f"{pages} page{'s' if pages != 1 else ''}")
        ocr_pages = _get(info, "ocr_pages") or []
        if ocr_pages and text_from != "ocr":
            parts.append("OCR on page" + ("s " if len(ocr_pages) > 1 else " ")
                         + ", ".join(str(p) for p in ocr_pages))  # fmt: skip
        engine_name = _get(info, "ocr_engine")
        if engine_name:
            version = _get(info, "ocr_engine_version")
            parts.append(f"{engine_name} {version}" if version else str(engine_name))
        confidence = _get(info, "ocr_mean_confidence")
        if isinstance(confidence, (int, float)):
            parts.append(f"mean OCR confidence {confidence:.1%}")
        if _get(info, "encoding"):
            parts.append(f"encoding {_get(info, 'encoding')}")
        rows.append(("source", _esc(", ".join(parts))))
    else:
        rows.append(("source", f"letter text, {n_pages} page{'s' if n_pages != 1 else ''}"))
    rows.append(("imr-llm", _esc(_get(meta, "imr_llm_version") or "?")))
    return rows


def _banner(meta: Any, evidence: Mapping[str, Any], judge: _Gold) -> str:
    reasons = [str(r) for r in (_get(meta, "review_reasons") or [])]
    parts: list[str] = []
    if meta is not None and (_get(meta, "needs_review") or reasons):
        items = "".join(f"<li>{_esc(r)}</li>" for r in reasons) or "<li>(no reason given)</li>"
        n = len(reasons)
        parts.append(
            '<div class="banner review" role="alert"><strong>Needs review</strong>'
            f" &middot; {n} reason{'s' if n != 1 else ''}: check these against the letter before "
            f"relying on the record<ul>{items}</ul></div>"
        )
    elif evidence:
        parts.append(
            '<div class="banner ok"><strong>No review needed</strong> &middot; every value was '
            "found at its place in the letter</div>"
        )
    else:
        parts.append(
            '<div class="banner none"><strong>No evidence</strong> &middot; this record carries '
            "none, so nothing in it was checked against the letter</div>"
        )
    rules_failure = _get(meta, "rules_failure")
    if rules_failure:
        parts.append(
            f'<div class="banner info">The rules engine passed this letter to the model: '
            f"{_esc(rules_failure)}</div>"
        )
    if judge.data is not None:
        if judge.wrong:
            parts.append(
                f'<div class="banner gold-banner"><strong>Against gold</strong> &middot; '
                f"{len(judge.wrong)} wrong (gold shown beside each): "
                f"{_esc(', '.join(judge.wrong))}</div>"
            )
        else:
            parts.append(
                '<div class="banner ok"><strong>Against gold</strong> &middot; every value '
                "matches the gold label</div>"
            )
    return "".join(parts)


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
    evidence: Mapping[str, Any] = _get(meta, "evidence") or {}
    data = record.model_dump(mode="json", exclude={"metadata"})
    judge = _Gold(data, _gold_dict(gold))

    highlights: list[_Highlight] = []
    for path, ev in evidence.items():
        span = _get(ev, "span")
        start, end = _get(span, "start"), _get(span, "end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text):
            highlights.append(_Highlight(start, end, str(path), str(_get(ev, "status"))))
    starts = page_starts(text, meta)
    ocr_pages = _get(_get(meta, "input"), "ocr_pages") or []
    letter = _render_letter(
        text, starts, highlights, frozenset(p for p in ocr_pages if isinstance(p, int))
    )

    groups = _groups(data, evidence, judge)
    items = _item_rows(data, evidence, judge)
    shown_paths: set[str] = set()
    body: list[str] = []
    for gid, gtitle, rows in groups:
        shown_paths.update(r.path for r in rows)
        body.append(f'<section class="group" id="g-{gid}"><h2>{gtitle}</h2>')
        body.extend(_row_html(r, evidence, letter, len(text)) for r in rows)
        if gid == "patient" and data.get("diagnoses"):
            body.append(
                '<div class="val long"><span class="sw cx"></span><span class="vlabel">Diagnoses'
                '</span><div class="vtext">'
                f'{_esc("; ".join(data["diagnoses"]))}</div><span class="badge b-none">not '
                'checked</span><span class="where off">from the summary</span></div>'
            )
        body.append("</section>")
    body.append(f'<section class="group" id="g-items"><h2>Items ({len(items)})</h2>')
    for k, item, rows in items:
        shown_paths.update(r.path for r in rows)
        outcome = str(item.get("outcome") or "")
        status = _get(evidence.get(f"items[{k}]"), "status")
        body.append(
            f'<div class="item" id="item-{k + 1}"><div class="itemhead">'
            f'<span class="itemno">Item {k + 1}</span>'
            f'<span class="chip o-{_esc(outcome)}">{_esc(outcome.capitalize())}</span>'
            f'<span class="aside">{_OUTCOME_MEANING.get(outcome, "")}</span>'
            + (_badge(status) if status else "")
            + "</div>"
        )
        body.extend(_row_html(r, evidence, letter, len(text)) for r in rows)
        body.append("</div>")
    for want in judge.missing_items:
        body.append(
            '<div class="item missing"><div class="itemhead"><span class="itemno">Gold item '
            'missing from the record</span><span class="badge b-wrong">missing</span></div>'
            f'<div class="gold"><span class="goldtag">gold</span> {_esc(want.get("service") or "")}'
            f" &middot; {_value_html('items.outcome', want.get('outcome'))}</div></div>"
        )
        judge.wrong.append("a gold item missing")
    body.append("</section>")
    others = [p for p in evidence if p not in shown_paths]
    if others:
        body.append('<section class="group" id="g-other"><h2>Other evidence</h2>')
        body.extend(
            _row_html(_Row(p, field_key(p), None, label=p), evidence, letter, len(text))
            for p in others
        )
        body.append("</section>")

    counts = {s: sum(1 for e in evidence.values() if _get(e, "status") == s) for s in _STATUS_ICON}
    tally = " ".join(
        f'<span class="badge b-{s}">{_STATUS_ICON[s]} {counts[s]} {s}</span>' for s in _STATUS_ICON
    )
    case = data.get("case_number")
    source = _get(meta, "source")
    name = _file_name(source) if source else None
    heading = title or " \u00b7 ".join(x for x in (case or "No case number", name) if x)
    provenance = "".join(
        f'<span class="prov"><span class="pk">{_esc(k)}</span> {v}</span>'
        for k, v in _provenance(meta, letter.pages)
    )
    warnings = [str(w) for w in (_get(meta, "warnings") or [])]
    warn_html = (
        f'<details class="warnings"><summary>{len(warnings)} warning'
        f"{'s' if len(warnings) != 1 else ''}</summary><ul>"
        + "".join(f"<li>{_esc(w)}</li>" for w in warnings)
        + "</ul></details>"
        if warnings
        else ""
    )
    flagged = counts["unverified"] + counts["repaired"]
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta name='referrer' content='no-referrer'>"
        f"<title>Review: {_esc(heading)}</title><style>{_css()}</style></head><body>"
        '<header class="top"><div class="titlebar">'
        f'<h1>{_esc(heading)}</h1><div class="tally">{tally}</div></div>'
        f'<div class="provline">{provenance}{warn_html}</div>'
        f'<div class="banners">{_banner(meta, evidence, judge)}</div></header>'
        f'<main><div class="pane" id="letter" style="--cols:{letter.columns}">'
        '<div class="panehead"><span>Letter text</span>'
        f'<span class="aside">{letter.pages} page{"s" if letter.pages != 1 else ""}; '
        "click a highlight to see its value</span>"
        + (
            f'<button type="button" id="next-flag" title="Go to the next repaired or unverified '
            f'value">Next to check ({flagged}) &#9656;</button>'
            if flagged
            else ""
        )
        + f"</div>{letter.html}</div>"
        '<div class="pane" id="record"><div class="panehead"><span>Record</span>'
        '<span class="aside">click a value to see it in the letter</span></div>'
        f"{''.join(body)}</div></main><script>{_JS}</script></body></html>\n"
    )


def _css() -> str:
    colours = "".join(
        f".c{i}{{--c:{c};--t:{c}{_TINT.get(k, _DEFAULT_TINT)};--s:{c}80}}"
        for i, (k, c) in enumerate(FIELD_COLOURS.items())
    )
    return (
        _CSS + colours + f".cx{{--c:{_OTHER_COLOUR};--t:{_OTHER_COLOUR}33;--s:{_OTHER_COLOUR}80}}"
    )


_CSS = """
*{box-sizing:border-box}
html,body{height:100%;margin:0}
body{display:flex;flex-direction:column;font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2328;background:#f3f4f6}
header.top{flex:0 0 auto;background:#fff;border-bottom:1px solid #d0d7de;padding:10px 18px 8px}
.titlebar{display:flex;align-items:center;gap:16px;flex-wrap:wrap}
h1{font-size:19px;margin:0;font-weight:650;letter-spacing:.01em}
.tally{display:flex;gap:6px;margin-left:auto}
.provline{display:flex;flex-wrap:wrap;gap:4px 18px;margin-top:6px;font-size:12.5px;color:#424a53}
.pk{color:#6e7781;text-transform:uppercase;font-size:10.5px;letter-spacing:.06em;margin-right:3px}
.aside{color:#6e7781;font-weight:400}
.warnings{font-size:12.5px}.warnings summary{cursor:pointer;color:#9a6700}
.warnings ul{margin:4px 0 0;padding-left:20px}
.banners{margin-top:8px;display:flex;flex-wrap:wrap;gap:6px;max-height:32vh;overflow:auto}
.banner{flex:1 1 auto;border-radius:6px;padding:6px 12px;font-size:13.5px;border:1px solid}
.banner ul{margin:4px 0 0;padding-left:22px;max-height:7.5em;overflow:auto}
.banner.review{background:#fff4e5;border-color:#f0a040;color:#5c3300}
.banner.review strong{color:#b35900}
.banner.ok{background:#e9f7ee;border-color:#7fcf97;color:#114d26}
.banner.none,.banner.info{background:#f1f3f5;border-color:#ced4da;color:#343a40}
.banner.gold-banner{background:#fdecec;border-color:#f1a7a7;color:#6b0f0f}
main{flex:1 1 auto;display:flex;min-height:0}
.pane{overflow:auto;min-width:0}
#letter{flex:0 1 calc(var(--cols) * 1ch + 124px);max-width:58%;min-width:40%;
padding:0 18px 24px;background:#e9ebef;
font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
#record{flex:1 1 0;padding:0 18px 24px;background:#fbfbfc;border-left:1px solid #d0d7de}
.panehead{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.panehead{position:sticky;top:0;z-index:2;display:flex;align-items:center;gap:10px;
padding:9px 0 7px;font-weight:600;font-size:13px;text-transform:uppercase;letter-spacing:.05em;
color:#424a53;background:inherit}
#letter .panehead{background:#e9ebef}#record .panehead{background:#fbfbfc}
.panehead .aside{text-transform:none;letter-spacing:0;font-size:12.5px}
#next-flag{margin-left:auto;font:600 12.5px system-ui,sans-serif;color:#7a4100;background:#fff4e5;
border:1px solid #f0a040;border-radius:6px;padding:4px 10px;cursor:pointer}
#next-flag:hover{background:#ffe8c7}
.page{background:#fff;border:1px solid #d8dde3;border-radius:4px;box-shadow:0 1px 3px #0000001a;
margin:0 0 18px;padding:6px 0 14px}
.pagehead{font:11.5px system-ui,sans-serif;color:#6e7781;text-align:right;padding:2px 14px 6px;
border-bottom:1px dashed #e1e4e8;margin-bottom:6px}
.ocrtag{font-weight:700;color:#7a4100;background:#fff4e5;border:1px solid #f0a040;
border-radius:3px;padding:0 4px;margin-left:4px}
.ln{display:flex;min-height:1.6em}
.no{flex:0 0 3.4em;text-align:right;padding-right:12px;color:#9aa3ab;user-select:none;
font:11.5px/1.75 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.tx{flex:1 1 auto;min-width:0;white-space:pre-wrap;overflow-wrap:anywhere;tab-size:8;
font:12px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
color:#24292f;padding-right:12px}
mark.hl{background:var(--t);color:inherit;box-shadow:inset 0 -2px 0 var(--c);cursor:pointer;
border-radius:2px}
mark.hl.unv{box-shadow:none;border-bottom:2px dashed #cf222e}
mark.hl.pt{display:inline-block;width:3px;height:1.2em;vertical-align:text-bottom;
background:var(--c)}
mark.hl.hover{background:var(--s)}
mark.hl.sel{background:var(--s);outline:1.5px solid var(--c);outline-offset:0;
box-decoration-break:clone;-webkit-box-decoration-break:clone;animation:flash .8s ease-out 1}
@keyframes flash{0%{outline-width:6px;outline-color:#ffd33d}100%{outline-width:2px}}
.group h2{font-size:12px;text-transform:uppercase;letter-spacing:.07em;color:#57606a;
margin:14px 0 6px;border-bottom:1px solid #e1e4e8;padding-bottom:3px}
.val{display:grid;grid-template-columns:11px minmax(96px,150px) minmax(0,1fr) auto 62px;
column-gap:9px;align-items:baseline;border:1px solid #e1e4e8;border-left:4px solid #e1e4e8;
border-radius:6px;background:#fff;padding:5px 10px 5px 8px;margin:0 0 5px}
.val>.sw{grid-column:1;grid-row:1}.val>.vlabel{grid-column:2;grid-row:1}
.val>.badge,.val>.bslot{grid-column:4;grid-row:1;justify-self:end}
.val>.where{grid-column:5;grid-row:1}
.val.long>.vlabel{grid-column:2/4}
.val.long .vtext{grid-column:2/-1;grid-row:2}
.val .gold,.val .note{grid-column:2/-1}
.val.linked{cursor:pointer}
.val.linked:hover{border-color:#afb8c1;border-left-color:inherit}
.val.linked:focus{outline:2px solid #0969da;outline-offset:1px}
.val[data-status=unverified]{border-left-color:#cf222e;background:#fffafa}
.val[data-status=repaired]{border-left-color:#d4a72c}
.val[data-status=exact]{border-left-color:#4ac26b}
.val.empty{padding-top:2px;padding-bottom:2px}
.val.wrong{background:#fff5f5}
.val.sel{box-shadow:0 0 0 2px #0969da;background:#f0f7ff}
.sw{width:11px;height:11px;border-radius:3px;background:var(--c);align-self:center}
.vlabel{font-weight:600;font-size:12.5px;color:#32383f}
.where{font-size:11.5px;color:#6e7781;white-space:nowrap;text-align:right}
.where.off{font-style:italic;white-space:normal}
.vtext{font-size:14px;overflow-wrap:anywhere;min-width:0}
.val.long .vtext{font-size:13px;line-height:1.5;display:-webkit-box;-webkit-line-clamp:3;
-webkit-box-orient:vertical;overflow:hidden;margin-top:2px}
.val.long.sel .vtext{display:block}
.null{color:#8c959f;font-style:italic;font-size:13px}
.note{font-size:12px;color:#6e7781;margin-top:1px}
.val[data-status=unverified] .note{color:#a40e26}
.badge{display:inline-block;font-size:11px;font-weight:600;border-radius:10px;padding:1px 8px;
border:1px solid;white-space:nowrap;line-height:1.5}
.b-exact{background:#dafbe1;color:#116329;border-color:#8ddb9e}
.b-repaired{background:#fff8c5;color:#7d4e00;border-color:#e3c04f}
.b-unverified{background:#ffebe9;color:#a40e26;border-color:#ff8182}
.b-none{background:#f1f3f5;color:#57606a;border-color:#d0d7de}
.b-wrong{background:#cf222e;color:#fff;border-color:#cf222e}
.gold{margin-top:4px;font-size:13px;background:#fff;border:1px dashed #cf222e;border-radius:4px;
padding:3px 8px;color:#1f2328}
.goldtag{font-size:10.5px;font-weight:700;text-transform:uppercase;color:#fff;background:#cf222e;
border-radius:3px;padding:0 5px;margin-right:4px}
.item{border:1px solid #d0d7de;border-radius:8px;padding:8px 8px 2px;margin:0 0 12px;
background:#f6f8fa}
.item.missing{border-style:dashed;border-color:#cf222e;padding-bottom:8px}
.itemhead{display:flex;align-items:center;gap:8px;margin:0 2px 8px}
.itemno{font-weight:700;font-size:13px;color:#24292f}
.chip{font-size:12px;font-weight:700;border-radius:4px;padding:1px 8px;color:#fff}
.o-upheld{background:#9a3412}.o-overturned{background:#1a7f37}
@media print{body{display:block;height:auto}main{display:block}.pane{overflow:visible}
.panehead{position:static}.val.long .vtext{display:block}}
"""

#: The page's only script: select a value or a span, and step through flagged values. It reads
#: the page's own attributes; it loads nothing and sends nothing.
_JS = """
(function(){
var rows={},marks={},current=null;
document.querySelectorAll('.val[data-path]').forEach(function(r){rows[r.dataset.path]=r;});
document.querySelectorAll('mark.hl').forEach(function(m){
 m.dataset.paths.split(' ').forEach(function(p){(marks[p]=marks[p]||[]).push(m);});});
function clear(){document.querySelectorAll('.sel').forEach(function(e){
 e.classList.remove('sel');});}
function select(path,from){
 clear();current=path;var row=rows[path],ms=marks[path]||[];
 if(row){row.classList.add('sel');
  if(from!=='row'){row.scrollIntoView({block:'center'});}}
 ms.forEach(function(m){m.classList.add('sel');});
 if(ms.length&&from!=='letter'){ms[0].scrollIntoView({block:'center'});}
}
Object.keys(rows).forEach(function(p){var r=rows[p];
 r.addEventListener('click',function(){select(p,'row');});
 r.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){
  e.preventDefault();select(p,'row');}});
 r.addEventListener('mouseenter',function(){(marks[p]||[]).forEach(function(m){
  m.classList.add('hover');});});
 r.addEventListener('mouseleave',function(){(marks[p]||[]).forEach(function(m){
  m.classList.remove('hover');});});
});
document.querySelectorAll('mark.hl').forEach(function(m){
 m.addEventListener('click',function(){var ps=m.dataset.paths.split(' ');
  var i=ps.indexOf(current);select(ps[(i+1)%ps.length],'letter');});});
var flagged=[].slice.call(document.querySelectorAll(
 '.val[data-path][data-status=unverified],.val[data-path][data-status=repaired]'));
flagged.sort(function(a,b){return (a.dataset.status==='unverified'?0:1)-
 (b.dataset.status==='unverified'?0:1);});
var next=document.getElementById('next-flag'),at=-1;
if(next){next.addEventListener('click',function(){if(!flagged.length){return;}
 at=(at+1)%flagged.length;select(flagged[at].dataset.path,'button');});}
document.addEventListener('keydown',function(e){if(e.key==='Escape'){clear();current=null;}});
})();
"""
