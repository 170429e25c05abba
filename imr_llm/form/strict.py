"""The places of a letter as printed, found by a strict pass: the fast path's letter form.

:func:`~imr_llm.form.read_form` finds places through every damage a letter can suffer: it lays
re-filled text back into lines, drops page furniture, matches labels and headings through OCR
confusions on every line. Nearly every letter as printed needs none of that, yet pays for all of
it. :func:`strict_form` finds the places of such a letter with exact tests over the whole text
(``str`` searches, a few compiled patterns) and returns **the very** :class:`LetterForm`
:func:`read_form` would return for it, or None whenever it cannot be sure, so that the
OCR-tolerant reading runs as before. It never guesses.

How it stays exact. Each step of :func:`read_form` is either skipped because a fast exact test
shows it changes nothing, or run as it is on a part of the letter:

- :func:`~imr_llm.normalise.document`: the text holds no whitespace but spaces, line feeds and
  form feeds at line starts, so its lines are the text's lines (kept in :class:`_Lines`, built
  one :class:`~imr_llm.normalise.Line` at a time where a reader asks for it); no line is page
  furniture or a running head (the lines the furniture tests could accept are found by their
  literal words and tested); the letter is not double-spaced (fewer blank lines than the
  test needs).
- :func:`~imr_llm.form.relayout.relayout`: :func:`~imr_llm.form.settled.settled`.
- :func:`~imr_llm.form.sections.find_sections`: each heading printed exactly on a line of its
  own, and no line before it (from where its search starts) close enough to be taken for it.
- The header: a header table printed as ``pdftotext -layout`` prints it is read by one pattern
  whose places are those :func:`~imr_llm.form.header.read_header_form` finds there (its labels
  match nowhere else in the table); any other header is read by that function itself.
- The credentials: :func:`~imr_llm.form.credentials.read_credentials_form` itself.
- The items: every line that can be a passage label (a colon in its first 40 columns) is tested
  as :mod:`imr_llm.form.items` tests it; the items must be laid out as the form lays them out
  (each: its outcome marker on the last line above its first label, the three labels in order);
  the marker test is run on each marker line and on every line between a marker and its
  rationale label (the only lines where a stray "...: Upheld" would be kept as an item); header
  starts come from :func:`~imr_llm.form.items._header_start` itself; the places are cut from
  the text as :func:`~imr_llm.form.items._item_place` cuts them from the lines (the same
  characters: joining a letter's lines with spaces and collapsing whitespace is collapsing the
  text between them). Any other layout is read by :func:`~imr_llm.form.items.read_items_form`.

``tests/test_fast_path.py`` holds the result equal to :func:`read_form`'s over every rendering of
the gold set and the corpora and their re-flowed versions.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from typing import overload

from ..normalise import _HEADER_LINE, _RUNNING_HEAD, Document, Line, is_page_furniture
from ..text import collapse_ws, is_heading
from . import LetterForm, Place, Sections
from .credentials import read_credentials_form
from .generations import FORM_2016, FORM_2016_NO_HEADER
from .header import HeaderForm, read_header_form
from .items import (
    _LEADING_MARKS,
    _LEADING_PASSAGE_MARKS,
    _TRAILING_NAME_MARKS,
    ItemPlace,
    ItemsForm,
    _find_label,
    _header_start,
    _Marker,
    _outcome_marker,
    _strip_label_remnant,
    _strip_trailing_marks,
    read_items_form,
)
from .reading import Reading, read_case_number, read_outcome
from .sections import HEADING_DETERMINATION, HEADING_ISSUES, HEADING_SUMMARY
from .settled import settled

# --------------------------------------------------------------------------------------------
# The text's lines, as the document's lines
# --------------------------------------------------------------------------------------------

#: Whitespace other than a space, a line feed and a form feed (every character ``str.split``
#: and ``\s`` take for whitespace), and the characters case-insensitive patterns take for an
#: ASCII letter: a text holding one is read the tolerant way.
_ODD = re.compile(
    "[\t\r\x0b\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    "\u0130\u0131\u017f\u212a]"
)
_ASCII_ODD = ("\t", "\r", "\x0b", "\x1c", "\x1d", "\x1e", "\x1f")
#: Words a line that :func:`~imr_llm.normalise.is_page_furniture` may accept holds.
_FURNITURE_WORDS = ("page", "fax", "federal services", "maximus", "- ")
#: :data:`~imr_llm.normalise._HEADER_LINE` as it matches inside one line of plain text, over
#: the lower-cased text.
_HEADER_WORDS = re.compile(
    r"cm\d{2}-\d{7}|case +number|date +assigned|decision +date|date +of +injury|ur +denial"
    r"|priority:"
)
#: From this line on a line repeating a header line is a running head
#: (:data:`~imr_llm.normalise._BODY_FROM`).
_BODY_FROM = 12


def plain(text: str) -> bool:
    """Whether ``text``'s only whitespace is spaces, line feeds and form feeds, and it holds
    no character case-insensitive patterns read as another letter."""
    if text.isascii():
        return not any(ch in text for ch in _ASCII_ODD)
    return _ODD.search(text) is None


class _Lines(Sequence[Line]):
    """The document's lines of a plain text (see :func:`plain`), made where they are asked for.

    A line of the text is a line of the document, its trailing spaces left out, except a line
    holding only a form feed (and spaces), which makes none, and the blank lines at the end.
    A form feed marks the next line holding text as a page break.
    """

    __slots__ = ("source", "phys", "starts", "index", "breaks", "n", "_made")

    def __init__(self, source: str) -> None:
        self.source = source
        self.phys = source.split("\n")
        starts = [0] * len(self.phys)
        pos = 0
        for k, line in enumerate(self.phys):
            starts[k] = pos
            pos += len(line) + 1
        self.starts = starts
        self.index: list[int] | None = None  # document line -> text line, when they differ
        self.breaks: set[int] = set()  # document lines after a page break
        self._made: dict[int, Line] = {}
        last = len(self.phys) - 1
        while last >= 0 and not self.phys[last].strip():
            last -= 1
        self.n = last + 1

    def feeds(self) -> bool:
        """Place the form feeds; False when one is not at the start of a line."""
        source = self.source
        at = source.find("\f")
        gone: list[int] = []
        pending: list[int] = []
        while at >= 0:
            if at and source[at - 1] != "\n":
                return False
            p = bisect_right(self.starts, at) - 1
            if self.phys[p][1:].strip():
                self.breaks.add(p)
            else:
                gone.append(p)
                pending.append(p)
            at = source.find("\f", at + 1)
        for p in pending:
            q = p + 1
            while q < self.n and not self.phys[q].strip():
                q += 1
            if q < self.n:
                self.breaks.add(q)
        dropped = {p for p in gone if p < self.n}
        if dropped:
            self.index = [p for p in range(self.n) if p not in dropped]
            self.breaks = {self.index.index(p) for p in self.breaks if p < self.n}
            self.n = len(self.index)
        return True

    def phys_of(self, i: int) -> int:
        return i if self.index is None else self.index[i]

    def doc_of(self, p: int) -> int:
        """The document line of text line ``p`` (of the next one, for a line it drops)."""
        if self.index is None:
            return p
        return bisect_right(self.index, p - 1)

    def text(self, i: int) -> str:
        line = self.phys[self.phys_of(i)]
        if line[:1] == "\f":
            line = line[1:]
        return line.rstrip(" ")

    def start(self, i: int) -> int:
        p = self.phys_of(i)
        return self.starts[p] + (self.phys[p][:1] == "\f")

    def end(self, i: int) -> int:
        return self.start(i) + len(self.text(i))

    def blank(self, i: int) -> bool:
        return not self.text(i)

    def line_at(self, offset: int) -> int:
        """The document line holding ``offset``."""
        return self.doc_of(bisect_right(self.starts, offset) - 1)

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> Line: ...
    @overload
    def __getitem__(self, i: slice) -> list[Line]: ...
    def __getitem__(self, i: int | slice) -> Line | list[Line]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self.n))]
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError(i)
        line = self._made.get(i)
        if line is None:
            line = Line(self.text(i), self.start(i), i in self.breaks)
            self._made[i] = line
        return line

    def __iter__(self) -> Iterator[Line]:
        return (self[k] for k in range(self.n))


def _clean_lines(lines: _Lines, lowered: str) -> bool:
    """No page furniture and no running head among the lines, and not double-spaced: the
    lines :func:`~imr_llm.normalise.document` keeps are all the text's lines."""
    source = lines.source
    suspects: set[int] = set()
    for word in _FURNITURE_WORDS:
        at = lowered.find(word)
        while at >= 0:
            suspects.add(lines.line_at(at))
            at = lowered.find(word, at + 1)
    for i in suspects:
        if i < lines.n and is_page_furniture(lines.text(i)):
            return False
    if lines.n > _BODY_FROM:
        body = lines.start(_BODY_FROM)
        first: set[str] | None = None
        for m in _HEADER_WORDS.finditer(lowered, body):
            i = lines.line_at(m.start())
            if i >= lines.n or i < _BODY_FROM:
                continue
            text = lines.text(i)
            if first is None:
                first = {
                    " ".join(lines.text(k).split())
                    for k in range(_BODY_FROM)
                    if _HEADER_LINE.search(lines.text(k))
                }
            if " ".join(text.split()) in first or _RUNNING_HEAD.match(text):
                return False
    # Double-spaced: 85% of the text lines followed by a blank one; at most every blank
    # line follows one.
    blanks = lines.phys[: _phys_end(lines)].count("")
    if " \n" in source or "\n\f" in source:
        blanks = sum(1 for k in range(lines.n) if lines.blank(k))
    return lines.n - blanks < 8 or blanks < 0.85 * (lines.n - blanks)


def _phys_end(lines: _Lines) -> int:
    return lines.phys_of(lines.n - 1) + 1 if lines.n else 0


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------

_TOLERANCE = {h: max(6, len(h) // 4) for h in (HEADING_DETERMINATION, HEADING_SUMMARY,
                                                HEADING_ISSUES)}  # fmt: skip


def _heading(lines: _Lines, heading: str, start: int) -> int | None:
    """The line of ``heading``, printed exactly on its own line, when no line from ``start``
    before it is taken for it by :func:`~imr_llm.text.is_heading`."""
    source = lines.source
    at = source.find(heading, lines.start(start) if start < lines.n else len(source))
    if at < 0:
        return None
    i = lines.line_at(at)
    if i >= lines.n or lines.text(i).strip() != heading:
        return None
    size, tolerance = len(heading), _TOLERANCE[heading]
    for k in range(start, i):
        text = lines.text(k)
        if len(text) >= size - tolerance and abs(len(text.strip()) - size) <= tolerance:
            if is_heading(text, heading):
                return None
    return i


# --------------------------------------------------------------------------------------------
# The header table as pdftotext -layout prints it
# --------------------------------------------------------------------------------------------

_DATE = r"\d{1,2}/\d{1,2}/\d{4}"
_LAYOUT_HEADER = re.compile(
    rf"(?P<l_case_number>Case Number:) +(?P<case_number>CM\d\d-\d{{7}})\n"
    rf"(?P<l_date_assigned>Date Assigned:) +(?P<date_assigned>{_DATE}) +"
    rf"(?P<l_date_of_injury>Date of Injury:) +(?P<date_of_injury>{_DATE})\n"
    rf"(?P<l_decision_date>Decision Date:) +(?P<decision_date>{_DATE}) +"
    rf"(?P<l_ur_denial_date>UR Denial Date:) +(?P<ur_denial_date>{_DATE})\n"
    rf"(?P<l_priority>Priority:) +(?P<priority>Standard|Expedited) +"
    rf"(?P<l_application_received>Application +)(?P<application_received>{_DATE})\n"
    r" +Received:\n\n*"
)
_HEADER_FIELDS = ("case_number", "date_assigned", "date_of_injury", "decision_date",
                  "ur_denial_date", "priority", "application_received")  # fmt: skip


def _layout_header(lines: _Lines, end: int) -> HeaderForm | None:
    """The header in lines ``[0, end)`` when printed as the layout prints it, else None."""
    source = lines.source
    m = _LAYOUT_HEADER.fullmatch(source, 0, lines.start(end))
    if m is None:
        return None
    stop = lines.end(end - 1)
    form = HeaderForm(0, stop, source[:stop])
    for name in _HEADER_FIELDS:
        label = m.span(f"l_{name}")
        s, e = m.span(name)
        form.places[name] = Place(s, e, source[s:e], "label", label)
        form.labels[name] = label
    return form


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------

_PASSAGE_ORDER = ("claims_administrator_guideline", "maximus_guideline", "rationale")


def _strict_items(doc: Document, lines: _Lines, start: int, end: int) -> ItemsForm | None:
    """The items in lines ``[start, end)`` laid out as the form lays them out, else None."""
    source = lines.source
    if start >= lines.n:
        return None
    # Every line a label can start: a colon in its first 40 columns.
    label_lines: dict[int, tuple[str, int]] = {}
    region = lines.start(start)
    for colon in ":;":
        at = source.find(colon, region)
        while at >= 0:
            i = lines.line_at(at)
            if i < end and i not in label_lines and at - lines.start(i) < 40:
                hit = _find_label(lines.text(i))
                if hit is not None:
                    label_lines[i] = hit
            at = source.find(colon, at + 1)
    order = sorted(label_lines)
    if not order or len(order) % 3:
        return None
    markers: list[_Marker] = []
    for k in range(0, len(order), 3):
        run = order[k : k + 3]
        if tuple(label_lines[i][0] for i in run) != _PASSAGE_ORDER:
            return None
        above = run[0] - 1
        while above >= start and lines.blank(above):
            above -= 1
        if above < start:
            return None
        marker = _outcome_marker(doc, above, start)
        if marker is None or not marker.outcome:
            return None
        # Between the marker and the rationale label no line may read as another marker.
        for i in range(above + 1, run[2]):
            if i not in label_lines and not lines.blank(i) and _outcome_marker(doc, i, start):
                return None
        markers.append(marker)
    firsts: list[int] = []
    floor = start
    for marker in markers:
        firsts.append(_header_start(doc, marker, floor))
        floor = marker.line + 1
    items: list[ItemPlace] = []
    for k, marker in enumerate(markers):
        body_end = firsts[k + 1] if k + 1 < len(markers) else end
        run = order[3 * k : 3 * k + 3]
        if body_end <= run[2]:
            return None
        items.append(_item_place(lines, marker, firsts[k], body_end, run, label_lines))
    return ItemsForm(items, len(markers), lines.start(start))


def _item_place(
    lines: _Lines,
    marker: _Marker,
    first: int,
    body_end: int,
    run: list[int],
    label_lines: dict[int, tuple[str, int]],
) -> ItemPlace:
    """:func:`imr_llm.form.items._item_place`, cutting the places from the text."""
    source = lines.source
    text = lines.text(first)
    header_start = lines.start(first) + len(text) - len(text.lstrip())
    if marker.alone:
        last = marker.line - 1
        while last > first and lines.blank(last):
            last -= 1
        header_end = lines.end(last)
    else:
        header_end = lines.start(marker.line) + marker.header_end_col
    joined = collapse_ws(source[lines.start(first) : header_end])
    header_text = _TRAILING_NAME_MARKS.sub("", _LEADING_MARKS.sub("", joined))
    header = Place(header_start, header_end, header_text, "marker")
    line_end = lines.end(marker.line)
    outcome_place = Place(header_end, line_end, source[header_end:line_end], "marker")
    word = read_outcome(outcome_place.text)
    exact = word is not None and word.exact and word.value == marker.outcome
    outcome = Reading(marker.outcome, exact, 0, len(outcome_place.text))
    passages: dict[str, Place | None] = {}
    for n, i in enumerate(run):
        name, column = label_lines[i]
        stop = run[n + 1] if n + 1 < len(run) else body_end
        last = stop - 1
        while last > i and lines.blank(last):
            last -= 1
        line_start = lines.start(i)
        value_start = line_start + column
        line_end = lines.end(last)
        kept = _strip_label_remnant(
            _strip_trailing_marks(collapse_ws(source[value_start:line_end])), name
        )
        kept = _LEADING_PASSAGE_MARKS.sub("", kept)
        rest = lines.text(i)[column:]
        lead = len(rest) - len(rest.lstrip())
        passages[name] = Place(value_start + lead, line_end, kept, "label", (line_start,
                               value_start))  # fmt: skip
    end_offset = lines.start(body_end) if body_end < lines.n else len(source)
    return ItemPlace(header, outcome, outcome_place, passages, end_offset, True)


# --------------------------------------------------------------------------------------------
# The form
# --------------------------------------------------------------------------------------------


def strict_form(text: str) -> LetterForm | None:
    """The :class:`LetterForm` :func:`~imr_llm.form.read_form` gives for ``text`` (a checked
    input), found by the strict pass; None when the letter needs the tolerant reading."""
    if not plain(text) or not settled(text):
        return None
    lines = _Lines(text)
    if not lines.feeds() or lines.n == 0:
        return None
    if not _clean_lines(lines, text.lower()):
        return None
    det = _heading(lines, HEADING_DETERMINATION, 0)
    if det is None:
        return None
    summary_at = _heading(lines, HEADING_SUMMARY, det)
    if summary_at is None:
        return None
    issues = _heading(lines, HEADING_ISSUES, summary_at)
    if issues is None or issues + 1 >= lines.n:
        return None
    if "set forth below" not in lines.text(issues + 1).lower():
        return None
    first = issues + 2
    n = lines.n
    doc = Document(source=text, lines=lines)  # type: ignore[arg-type]
    sections = Sections(
        (0, det),
        (det, summary_at),
        (summary_at + 1, issues),
        (first, n),
        ("determination heading", "case summary heading", "issues heading"),
    )
    if det == 0:
        header = HeaderForm(0, 0, "")
    else:
        header = _layout_header(lines, det) or read_header_form(doc, 0, det)
    credentials = read_credentials_form(doc, det, summary_at)
    summary = None
    if summary_at + 1 < issues:
        start, end = lines.start(summary_at + 1), lines.end(issues - 1)
        summary = Place(start, end, text[start:end], "region")
    items = _strict_items(doc, lines, first, n) or read_items_form(doc, first, n)
    has_header = bool(header.labels) or read_case_number(header.text, prefixed=True) is not None
    name = FORM_2016 if has_header else FORM_2016_NO_HEADER
    return LetterForm(doc, sections, header, credentials, summary, items, name,
                      found=sections.found)  # fmt: skip
