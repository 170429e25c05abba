"""Where the header values sit: the case number, the five dates and the priority.

Two shapes reach us. ``pdftotext -layout`` keeps each label beside its value
("Date Assigned:  11/09/2016   Date of Injury:  10/13/2016"); plain ``pdftotext`` prints the
labels of a column, then its values. So each label takes the text after it on its own line, up
to the next label; labels left with nothing there are paired, in order, with the lines that
hold no label. OCR damages labels ("Date Assignccl"), glues marks to values and may destroy a
value outright: the place is then found but unreadable, which the evidence stage reports as
such instead of looking for the value somewhere else in the letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..inputs.normalise import Document
from .places import Place
from .reading import read_case_number, read_date, read_dates, read_priority
from .text import ocr_pattern

#: (contract field, label as printed). "Application" is printed apart from "Received:".
HEADER_LABELS: tuple[tuple[str, str], ...] = (
    ("case_number", "Case Number"),
    ("date_assigned", "Date Assigned"),
    ("date_of_injury", "Date of Injury"),
    ("decision_date", "Decision Date"),
    ("ur_denial_date", "UR Denial Date"),
    ("application_received", "Application"),
    ("priority", "Priority"),
)
#: Labels whose first word OCR may lose, by what is left of them (never another label).
_SHORT_LABELS = {"ur_denial_date": "Denial Date"}
DATE_FIELDS: tuple[str, ...] = (
    "date_assigned",
    "date_of_injury",
    "decision_date",
    "ur_denial_date",
    "application_received",
)
_CONTINUATION = ocr_pattern("Received")
_AFTER_LABEL = re.compile(r"\s*[:;.,]?")


@dataclass
class HeaderForm:
    """The header region and the place of each header value found in it."""

    start: int
    end: int
    text: str
    places: dict[str, Place] = field(default_factory=dict)
    labels: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: Chunks of value text that no label claimed (a label OCR destroyed leaves one).
    unclaimed: list[Place] = field(default_factory=list)
    #: Labels printed apart from their values were paired in order, yet values were left over
    #: (a value line repeated, or a label lost): the pairing may be shifted.
    ambiguous: bool = False

    @property
    def present(self) -> bool:
        """Whether the letter has a header at all (the seed letters have none)."""
        return any(ch.isalnum() for ch in self.text)


@lru_cache(maxsize=16)
def _label_pattern(label: str) -> re.Pattern[str]:
    """``label`` through OCR damage, with stray marks between its words ("Decision: Date")."""
    return re.compile(
        ocr_pattern(label).pattern.replace(r"\s*", r"[\s:;.,|'‘’`·_~]*"), re.IGNORECASE
    )


def _labels_in(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for name, label in HEADER_LABELS:
        m = _label_pattern(label).search(text)
        if m is None and name in _SHORT_LABELS:
            # "UR" is easily lost to OCR ("i Denial Date:"); the rest names the value alone.
            m = _label_pattern(_SHORT_LABELS[name]).search(text)
        if m:
            tail = _AFTER_LABEL.match(text, m.end())
            found.append((m.start(), tail.end() if tail else m.end(), name))
    for m in _CONTINUATION.finditer(text):
        tail = _AFTER_LABEL.match(text, m.end())
        found.append((m.start(), tail.end() if tail else m.end(), ""))
    found.sort()
    # Overlapping matches: keep the first.
    kept: list[tuple[int, int, str]] = []
    for item in found:
        if kept and item[0] < kept[-1][1]:
            continue
        if (
            kept
            and not item[2]
            and kept[-1][2] == "application_received"
            and not any(ch.isalnum() for ch in text[kept[-1][1] : item[0]])
        ):
            # "Application Received:" on one line is one label; its value follows "Received:".
            kept[-1] = (kept[-1][0], item[1], kept[-1][2])
            continue
        kept.append(item)
    return kept


_LABEL_KIND = {name: "date" for name in DATE_FIELDS} | {
    "case_number": "case_number", "priority": "priority"
}  # fmt: skip


def _kind(text: str) -> str | None:
    """What kind of header value ``text`` reads as, or None when it reads as none."""
    if read_case_number(text, prefixed=True) is not None:
        return "case_number"
    if read_date(text) is not None:
        return "date"
    if read_priority(text) is not None:
        return "priority"
    return None


def _value_cells(text: str) -> list[tuple[int, int]]:
    """``text`` split into its values when several are run together on one line
    ("CM16-0213037 11/09/2016 12/09/2016 Standard", as a re-filled header gives them).

    Split only when the values read cover the whole text but for spaces and marks;
    otherwise the text is one cell, as printed.
    """
    cells: list[tuple[int, int]] = []
    case = read_case_number(text, prefixed=True)
    if case is not None:
        cells.append((case.start, case.end))
    cells.extend((d.start, d.end) for d in read_dates(text))
    priority = read_priority(text)
    if priority is not None:
        cells.append((priority.start, priority.end))
    cells.sort()
    if len(cells) < 2 or any(a[1] > b[0] for a, b in zip(cells, cells[1:], strict=False)):
        return [(0, len(text))]
    rest = list(text)
    for s, e in cells:
        rest[s:e] = " " * (e - s)
    if any(ch.isalnum() for ch in rest):
        return [(0, len(text))]
    return cells


def _chunk(text: str, start: int, end: int, base: int, how: str, label=None) -> Place:
    raw = text[start:end]
    lead = len(raw) - len(raw.lstrip())
    stripped = raw.strip()
    s = base + start + lead
    return Place(s, s + len(stripped), stripped, how, label)


def read_header_form(doc: Document, start: int, end: int) -> HeaderForm:
    """The header in lines ``[start, end)``; an empty region means a headerless letter."""
    lines = doc.lines[start:end]
    if not lines:
        return HeaderForm(0, 0, "")
    base = lines[0].start
    text = doc.text(base, lines[-1].end)
    form = HeaderForm(base, lines[-1].end, text)
    labels = _labels_in(text)
    for s, e, name in labels:
        if name:
            form.labels[name] = (base + s, base + e)

    waiting: list[tuple[str, tuple[int, int]]] = []  # labels with nothing beside them
    covered: list[tuple[int, int]] = []  # label spans and the values beside them
    for k, (s, e, name) in enumerate(labels):
        line_end = text.find("\n", e)
        line_end = len(text) if line_end < 0 else line_end
        stop = min(line_end, labels[k + 1][0] if k + 1 < len(labels) else len(text))
        covered.append((s, max(e, stop)))
        if not name:
            continue
        place = _chunk(text, e, max(e, stop), base, "label", (base + s, base + e))
        if place.readable:
            form.places[name] = place
        else:
            waiting.append((name, (base + s, base + e)))
    # What no label covers, split into chunks at line ends, wide gaps and between values run
    # together: the values of labels printed apart, and values whose label OCR destroyed.
    loose: list[Place] = []
    pos = 0
    for s, e in [*covered, (len(text), len(text))]:
        for m in re.finditer(r"[^\n]+", text[pos:s]):
            for part in re.finditer(r"\S(?:.*?\S)?(?=\s{3,}|\s*$)", m.group(0)):
                at = pos + m.start() + part.start()
                for cs, ce in _value_cells(part.group(0)):
                    chunk = _chunk(text, at + cs, at + ce, base, "order")
                    if chunk.readable:
                        loose.append(chunk)
        pos = max(pos, e)
    # Labels printed apart from their values: pair in order, each with a later value of its
    # kind (a value too damaged to know its kind may be any label's).
    used: set[int] = set()
    for name, label in waiting:
        for k, chunk in enumerate(loose):
            if k in used or chunk.start < label[1]:
                continue
            kind = _kind(chunk.text)
            if kind is not None and kind != _LABEL_KIND[name]:
                continue
            used.add(k)
            form.places[name] = Place(chunk.start, chunk.end, chunk.text, "order", label)
            break
    form.unclaimed = [chunk for k, chunk in enumerate(loose) if k not in used]
    # A value left over of a kind a label waited for: a value repeated, or its label lost (a
    # date damaged past reading is a date here: "01/24/201" left over shifted the pairing).
    waited = {_LABEL_KIND[name] for name, _ in waiting}
    form.ambiguous = any(
        (_kind(chunk.text) or ("date" if _DAMAGED_DATE.fullmatch(chunk.text) else None)) in waited
        for chunk in form.unclaimed
    )
    return form


#: What is left of a date OCR damaged past reading: its digits (or their look-alikes) and
#: separators, four digits at the least ("01/24/201", "03/O9/2O1", "03/09/2 18").
_DAMAGED_DATE = re.compile(
    r"(?=(?:\D*\d){4})[\dOoIl|]{1,4}(?:\s?[/.\-]\s?[\dOoIl|]{1,4}|\s\d{1,4}){1,3}"
)
