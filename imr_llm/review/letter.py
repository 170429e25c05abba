"""The letter as the review page shows it: pages, numbered lines, and every span highlighted.

A value can be checked only where its evidence is, so the letter is cut into what the page
draws: pages (from the input's known page starts, else from form feeds), lines numbered from
each page, and each line into runs of text, each run marked with every span that covers it (the
innermost span gives its colour). Nothing here writes markup: the runs hold the letter's own
characters (control characters made visible), and the template escapes them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .fields import colour_class, field_key, label

#: C0 controls (but tab), DEL and C1 controls: shown as a visible mark, never passed through.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def get(obj: Any, name: str) -> Any:
    """A field of a model or a dict, or None: metadata read defensively (older records)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


@dataclass(frozen=True, slots=True)
class Highlight:
    """One value's evidence span in the letter (offsets into the text given to ``extract``)."""

    start: int
    end: int
    path: str
    status: str

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Mark:
    """How a run of letter text is highlighted: the spans covering it, innermost first."""

    classes: str
    #: The paths of every value whose span covers the run, space-separated (the script reads it).
    paths: str
    #: "label: status" of each, for the tooltip.
    title: str


@dataclass(frozen=True, slots=True)
class Run:
    """A run of one line's text (unescaped) and its highlight, if any; a highlight of no text
    is a zero-width place, drawn as a thin marker."""

    text: str
    mark: Mark | None = None


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    runs: list[Run]


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    #: Whether this page's text was read by OCR (it is tagged).
    ocr: bool
    lines: list[Line]


@dataclass
class LetterView:
    """The letter, ready to draw."""

    pages: list[Page]
    #: path -> (page, line) where its span starts, for the record side.
    where: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: The longest line, in characters: the letter pane is made as wide as it (within limits).
    columns: int = 80


def page_starts(text: str, metadata: Any = None) -> list[int]:
    """Offsets where the letter's pages start: ``metadata.input.page_starts`` when the input's
    pages are known, else after every form feed (a trailing empty page is dropped)."""
    known = get(get(metadata, "input"), "page_starts")
    if isinstance(known, (list, tuple)) and all(isinstance(s, int) for s in known) and known:
        return sorted({0, *(s for s in known if 0 < s < len(text))})
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\f" and i + 1 < len(text):
            starts.append(i + 1)
    while len(starts) > 1 and not text[starts[-1] :].strip():
        starts.pop()  # the form feed pdftotext ends the last page with
    return starts


def shown(chunk: str) -> str:
    """Letter characters as the page shows them: form feeds and carriage returns dropped, other
    control characters made visible (the template escapes the rest)."""
    return _CONTROL.sub("\ufffd", chunk.replace("\f", "").replace("\r", ""))


def letter_view(
    text: str, starts: list[int], spans: list[Highlight], ocr_pages: frozenset[int] = frozenset()
) -> LetterView:
    """Cut ``text`` into pages, lines and runs, each run marked with the spans over it."""
    # Innermost first: a run takes the colour of the shortest span covering it.
    spans = sorted(spans, key=lambda s: (s.length, s.start))
    pages: list[Page] = []
    bounds = [*starts, len(text)]
    columns = 60
    for p in range(len(starts)):
        page_start, page_end = bounds[p], bounds[p + 1]
        ends: list[tuple[int, int]] = []
        pos = page_start
        while pos <= page_end:
            nl = text.find("\n", pos, page_end)
            end = page_end if nl < 0 else nl
            ends.append((pos, end))
            if nl < 0:
                break
            pos = nl + 1
        # Blank lines ending a page (pdftotext's page padding) are dropped unless a span is there.
        while len(ends) > 1:
            a, b = ends[-1]
            if text[a:b].strip() or any(s.start <= b and s.end >= a for s in spans):
                break
            ends.pop()
        lines: list[Line] = []
        for number, (a, b) in enumerate(ends, start=1):
            columns = max(columns, min(b - a, 110))
            lines.append(Line(number, _runs(text, a, b, spans)))
        pages.append(Page(p + 1, p + 1 in ocr_pages, lines))
    where = {s.path: _locate(text, starts, s.start, s.end) for s in spans}
    return LetterView(pages, where, columns)


def _runs(text: str, a: int, b: int, spans: list[Highlight]) -> list[Run]:
    """The line ``text[a:b]`` cut wherever a span starts or ends."""
    here = [s for s in spans if s.start <= b and s.end >= a]
    cuts = sorted({a, b, *(x for s in here for x in (s.start, s.end) if a < x < b)})
    runs: list[Run] = []
    for k, x in enumerate(cuts):
        for s in here:  # a zero-width place: a thin marker where it is
            if s.start == s.end == x:
                runs.append(Run("", _mark([s], point=True)))
        if k + 1 == len(cuts):
            break
        y = cuts[k + 1]
        covering = [s for s in here if s.start <= x and y <= s.end and s.length]
        runs.append(Run(shown(text[x:y]), _mark(covering) if covering else None))
    return runs


def _locate(text: str, starts: list[int], start: int, end: int) -> tuple[int, int]:
    """(page, line) where a span's text begins: its first character that is not whitespace
    (a place may start at the line break before its value), lines counted from each page."""
    chunk = text[start:end]
    offset = start + (len(chunk) - len(chunk.lstrip())) if chunk.strip() else start
    page = bisect_right(starts, offset)
    return page, text.count("\n", starts[page - 1], offset) + 1


def _mark(covering: list[Highlight], *, point: bool = False) -> Mark:
    classes = f"hl {colour_class(field_key(covering[0].path))}"
    if any(s.status == "unverified" for s in covering):
        classes += " unv"
    if point:
        classes += " pt"
    return Mark(
        classes,
        " ".join(s.path for s in covering),
        "; ".join(f"{label(s.path)}: {s.status}" for s in covering),
    )
