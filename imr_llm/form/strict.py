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

- :func:`~imr_llm.inputs.normalise.document`: the text holds no whitespace but spaces, line
  feeds and form feeds at line starts, so its lines are the text's lines (kept in
  :class:`_Lines`, built one :class:`~imr_llm.inputs.normalise.Line` at a time where a reader
  asks for it; form feeds after the last text make none); the lines of page furniture and
  running heads (those the furniture tests could accept are found by their literal words and
  tested) are dropped as it drops them, the next line holding text marked a page break, and
  blanked out in the text the places are cut from, as
  :meth:`~imr_llm.inputs.normalise.Document.text` blanks them; the letter is double-spaced
  only where the test says so.
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
from functools import lru_cache
from itertools import accumulate, count
from operator import add
from typing import overload

from rapidfuzz import fuzz

from ..inputs.normalise import (
    FURNITURE_HINTS,
    HEADER_LINE,
    RUNNING_HEAD,
    Document,
    Line,
    edge_furniture,
    is_page_furniture,
)
from . import LetterForm, Place, Sections
from .credentials import (
    LIST_GOES_ON,
    SPECIALTY_LABEL,
    STATES_LABEL,
    CredentialsForm,
    loose_label,
    read_credentials_form,
)
from .generations import FORM_2016, FORM_2016_NO_HEADER
from .header import HeaderForm, read_header_form
from .items import (
    _LEADING_MARKS,
    _ORIGINAL_SEARCH,
    _TRAILING_NAME_MARKS,
    _TRAILING_OUTCOME,
    CA_LABEL,
    MAXIMUS_LABEL,
    RATIONALE_LABEL,
    ItemPlace,
    ItemsForm,
    _continues,
    _Marker,
    _stray_stop,
    _strip_label_remnant,
    _strip_trailing_marks,
    header_goes_on,
    line_marker,
    mentions_original_at,
    names_original,
    original_request_mentions,
    read_items_form,
    strip_leading_marks,
)
from .letters import OPENING_WORDS, START_WORDS
from .reading import Reading, read_case_number, read_outcome
from .sections import HEADING_DETERMINATION, HEADING_ISSUES, HEADING_SUMMARY, closing_start
from .settled import settled
from .text import COLON_LIKE, collapse_ws, is_heading

# --------------------------------------------------------------------------------------------
# The text's lines, as the document's lines
# --------------------------------------------------------------------------------------------

#: Whitespace other than a space, a line feed and a form feed (every character ``str.split``
#: and ``\s`` take for whitespace), and the characters case-insensitive patterns take for an
#: ASCII letter: a text holding one is read the tolerant way.
_ODD = (
    "[\t\r\x0b\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    "\u0130\u0131\u017f\u212a]"
)
_ASCII_ODD = ("\t", "\r", "\x0b", "\x1c", "\x1d", "\x1e", "\x1f")
#: Words a line :data:`~imr_llm.inputs.normalise.HEADER_LINE` matches holds (lower case): the
#: second word of each of its phrases, "cm" of a case number, "priority:".
_HEADER_LINE_WORDS = ("cm", "number", "assigned", "injury", "decision", "denial", "priority:")
#: From this line on a line repeating a header line is a running head
#: (:data:`~imr_llm.inputs.normalise._BODY_FROM`).
_BODY_FROM = 12


def plain(text: str) -> bool:
    """Whether ``text``'s only whitespace is spaces, line feeds and form feeds, and it holds
    no character case-insensitive patterns read as another letter."""
    if text.isascii():
        return not any(ch in text for ch in _ASCII_ODD)
    return re.search(_ODD, text) is None


class _Lines(Sequence[Line]):
    """The document's lines of a plain text (see :func:`plain`), as
    :func:`~imr_llm.inputs.normalise.document` makes them when it drops no page furniture.

    ``texts[i]`` and ``starts[i]`` are line ``i``'s text and offset: a line of the text, its
    trailing spaces and a form feed at its start left out. A line holding only a form feed
    makes no line and marks the next line holding text as a page break, as a form feed at a
    line's start marks that line; blank lines at the end make none; a double-spaced letter
    (the seed style) loses the blank line after each line. :class:`~imr_llm.inputs.normalise.Line`
    objects are made only where a reader asks for one.
    """

    __slots__ = ("source", "original", "texts", "starts", "breaks", "n", "double_spaced", "_made")

    def __init__(self, source: str) -> None:
        self.source = source
        #: The text as given (``source`` has page furniture blanked out, see :meth:`drop`).
        self.original = source
        phys = source.split("\n")
        self.texts = phys
        if " \n" in source or source.endswith(" "):
            self.texts = [line.rstrip(" ") for line in phys]
        self.starts = list(map(add, accumulate(map(len, phys), initial=0), count()))
        self.breaks: set[int] = set()
        self.double_spaced = False
        self._made: dict[int, Line] = {}
        last = len(phys) - 1
        while last >= 0 and not phys[last].strip():
            last -= 1
        self.n = last + 1

    def settle(self) -> bool:
        """Place the form feeds and undo double spacing; False when a form feed is not at the
        start of a line, or another one follows it."""
        source = self.source
        at = source.find("\f")
        if at < 0:
            return True
        texts = self.texts = list(self.texts)
        starts = self.starts
        gone: list[int] = []
        pending: list[int] = []
        tail = len(source.rstrip())  # form feeds after the last text make no line
        while 0 <= at < tail:
            if (at and source[at - 1] != "\n") or source[at + 1 : at + 2] == "\f":
                return False
            p = bisect_right(starts, at) - 1
            if texts[p][1:].strip():
                texts[p] = texts[p][1:]
                starts[p] += 1
                self.breaks.add(p)
            else:
                gone.append(p)
                pending.append(p)
            at = source.find("\f", at + 1)
        for p in pending:
            q = p + 1
            while q < self.n and not texts[q].strip():
                q += 1
            if q < self.n:
                self.breaks.add(q)
        kept = [p for p in gone if p < self.n]
        if kept:
            self._keep([p for p in range(self.n) if p not in set(kept)])
        return True

    def _keep(self, index: list[int]) -> None:
        """Keep the text lines ``index`` (in order) as the document's lines."""
        at = {p: i for i, p in enumerate(index)}
        self.breaks = {at[p] for p in self.breaks if p in at}
        self.texts = [self.texts[p] for p in index]
        self.starts = [self.starts[p] for p in index]
        self.n = len(index)

    def drop(self, furniture: set[int]) -> list[tuple[int, int]]:
        """:func:`imr_llm.inputs.normalise._drop_furniture`: the ``furniture`` lines go, the next
        line holding text after each is a page break, and :attr:`source` becomes the text
        with them blanked out (:meth:`~imr_llm.inputs.normalise.Document.text` of the whole text:
        places are cut from it as the tolerant reading cuts them from the lines). Returns
        the spans dropped, in order."""
        texts, starts = self.texts, self.starts
        spans = [(starts[p], starts[p] + len(texts[p])) for p in sorted(furniture)]
        for p in furniture:
            q = p + 1
            while q < self.n and q not in furniture and not texts[q].strip():
                q += 1
            if q < self.n and q not in furniture:
                self.breaks.add(q)
        self._keep([p for p in range(self.n) if p not in furniture])
        parts: list[str] = []
        at = 0
        for s, e in spans:
            parts.append(self.source[at:s])
            parts.append(" " * (e - s))
            at = e
        parts.append(self.source[at:])
        self.source = "".join(parts)
        return spans

    def undouble(self) -> None:
        """:func:`~imr_llm.inputs.normalise.document` on a double-spaced letter: the blank line
        after a text line goes."""
        texts = self.texts
        index: list[int] = []
        previous_blank = True
        for i in range(self.n):
            blank = not texts[i]
            if blank and not previous_blank:
                previous_blank = True
                continue
            index.append(i)
            previous_blank = blank
        self._keep(index)
        self.double_spaced = True

    def end(self, i: int) -> int:
        return self.starts[i] + len(self.texts[i])

    def line_at(self, offset: int) -> int:
        """The document line holding ``offset`` (which must be on one)."""
        return bisect_right(self.starts, offset) - 1

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
            line = Line(self.texts[i], self.starts[i], i in self.breaks)
            self._made[i] = line
        return line

    def __iter__(self) -> Iterator[Line]:
        return (self[k] for k in range(self.n))


def _double_spaced(lines: _Lines) -> bool:
    """:func:`imr_llm.inputs.normalise._is_double_spaced`, decided from the blank lines' count where
    it can be (every blank line follows at most one text line)."""
    texts, n = lines.texts, lines.n
    blanks = texts[:n].count("")
    text_lines = n - blanks
    if text_lines < 8 or blanks < 0.85 * text_lines:
        return False
    followed = sum(1 for i in range(n - 1) if texts[i] and not texts[i + 1])
    return followed >= 0.85 * text_lines


def _furniture(lines: _Lines, lowered: str) -> set[int]:
    """The lines :func:`~imr_llm.inputs.normalise.document` drops as page furniture or a running
    head (see :meth:`_Lines.drop`)."""
    texts = lines.texts
    found: set[int] = set()
    for word in FURNITURE_HINTS:
        if word[0] in "=_*" and word[0] not in lowered:
            continue  # a rule's mark the text never prints: told by one character's search
        at = _find_word(lowered, word, 0)
        while at >= 0:
            i = lines.line_at(at)
            text = texts[i]
            if i not in found and _may_be_furniture(text) and is_page_furniture(text):
                found.add(i)
            at = _find_word(lowered, word, lines.end(i))
    if lines.n <= _BODY_FROM:
        return found
    # A running head repeats a header line or holds a case number: either way a phrase of
    # HEADER_LINE, found by its word, then tested at the word before its line is.
    body = lines.starts[_BODY_FROM]
    first: set[str] | None = None
    for word, phrase in _HEADER_PHRASES:
        at = lowered.find(word, body)
        while at >= 0:
            if phrase(lowered, at):
                i = lines.line_at(at)
                text = texts[i]
                if first is None:
                    first = {
                        " ".join(texts[k].split())
                        for k in range(_BODY_FROM)
                        if HEADER_LINE.search(texts[k])
                    }
                if " ".join(text.split()) in first or RUNNING_HEAD.match(text):
                    found.add(i)
            at = lowered.find(word, at + 1)
    return found


def _find_word(lowered: str, word: str, start: int) -> int:
    """``lowered.find(word, start)``; "- " by its "-" (``str.find`` is slow for a needle
    ending in a space, the commonest character, and a letter has few hyphens)."""
    if word != "- ":
        return lowered.find(word, start)
    at = lowered.find("-", start)
    while at >= 0 and lowered[at + 1 : at + 2] != " ":
        at = lowered.find("-", at + 1)
    return at


def _after(lowered: str, at: int, word: str) -> bool:
    """Whether ``word`` and spaces come right before ``at``."""
    k = at
    while k > 0 and lowered[k - 1] == " ":
        k -= 1
    return k < at and lowered.startswith(word, k - len(word)) and k >= len(word)


_CASE_NUMBER = re.compile(r"cm\d{2}-\d{7}")
#: Each phrase of :data:`~imr_llm.inputs.normalise.HEADER_LINE` (lower case, within one line of
#: plain text, where whitespace is spaces): a word it holds, and a test of the phrase around
#: that word's place.
_HEADER_PHRASES = (
    ("cm", lambda s, at: _CASE_NUMBER.match(s, at) is not None),
    ("number", lambda s, at: _after(s, at, "case")),
    ("assigned", lambda s, at: _after(s, at, "date")),
    ("injury", lambda s, at: _after(s, at, "of") and _after(s, _back(s, at) - 2, "date")),
    # "decision date" found by "date", the rarer word in a letter's body.
    ("date", lambda s, at: _after(s, at, "decision")),
    ("denial", lambda s, at: _after(s, at, "ur")),
    ("priority:", lambda s, at: True),
)


def _back(lowered: str, at: int) -> int:
    """Where the spaces before ``at`` start."""
    while at > 0 and lowered[at - 1] == " ":
        at -= 1
    return at


def _may_be_furniture(text: str) -> bool:
    """Whether :func:`~imr_llm.inputs.normalise.is_page_furniture` may accept ``text``: its fax
    banner needs "FAX", a transmission line a colon (its time of day); each of its page lines
    starts with "page" or "-" (after a page marker's "=", "*", "#", "[", "<", "~" or "_"),
    holds "(FAX)" or "|", is "MAXIMUS" alone or a rule ("---")."""
    if "FAX" in text or "|" in text or "(" in text or ":" in text:
        return True
    core = text.strip().lower()
    return (
        core.lstrip("=*#[<~_ ").startswith(("page", "-"))
        or core == "maximus"
        or not core.strip("-=_* ")
    )


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------

_TOLERANCE = {h: max(6, len(h) // 4) for h in (HEADING_DETERMINATION, HEADING_SUMMARY,
                                                HEADING_ISSUES)}  # fmt: skip


def _heading(lines: _Lines, heading: str, start: int) -> int | None:
    """The line of ``heading``, printed exactly on its own line, when no line from ``start``
    before it is taken for it by :func:`~imr_llm.form.text.is_heading`."""
    source, texts = lines.source, lines.texts
    at = source.find(heading, lines.starts[start] if start < lines.n else len(source))
    if at < 0:
        return None
    i = lines.line_at(at)
    if i >= lines.n or texts[i].strip() != heading:
        return None
    size, tolerance = len(heading), _TOLERANCE[heading]
    for k in range(start, i):
        text = texts[k]
        length = len(text.lstrip()) if text[:1] == " " else len(text)  # no trailing spaces
        if abs(length - size) <= tolerance and is_heading(text, heading):
            return None
    return i


# --------------------------------------------------------------------------------------------
# The header table as pdftotext -layout prints it
# --------------------------------------------------------------------------------------------

_DATE = r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
_LAYOUT_HEADER = (
    rf"(?P<l_case_number>Case Number:) +(?P<case_number>CM[0-9]{{2}}-[0-9]{{7}})\n"
    rf"(?P<l_date_assigned>Date Assigned:) +(?P<date_assigned>{_DATE}) +"
    rf"(?P<l_date_of_injury>Date of Injury:) +(?P<date_of_injury>{_DATE})\n"
    rf"(?P<l_decision_date>Decision Date:) +(?P<decision_date>{_DATE}) +"
    rf"(?P<l_ur_denial_date>UR Denial Date:) +(?P<ur_denial_date>{_DATE})\n"
    rf"(?P<l_priority>Priority:) +(?P<priority>Standard|Expedited) +"
    rf"(?P<l_application_received>Application +)(?P<application_received>{_DATE})\n"
    r" +Received:\n\n*"
)


@lru_cache(maxsize=1)
def _layout_header_pattern() -> re.Pattern[str]:
    """:data:`_LAYOUT_HEADER`, compiled at first use (not at import)."""
    return re.compile(_LAYOUT_HEADER)


_HEADER_FIELDS = ("case_number", "date_assigned", "date_of_injury", "decision_date",
                  "ur_denial_date", "priority", "application_received")  # fmt: skip


def _layout_header(lines: _Lines, end: int) -> HeaderForm | None:
    """The header in lines ``[0, end)`` when printed as the layout prints it, else None.

    The pattern admits the header table only as ``pdftotext -layout`` prints it, where each
    label of :func:`~imr_llm.form.header.read_header_form` matches once, at its own place
    (no other text of the table has a label's letters), and takes the value beside it up to
    the next label or the line's end; "Application" takes the spaces after it, and
    "Received:" below it is the label's second line. No text is left for the labels'
    pairing by order.
    """
    source = lines.source
    m = _layout_header_pattern().fullmatch(source, 0, lines.starts[end])
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
# Labels at a line's start (imr_llm.form.text.match_label), tried only where one can be
# --------------------------------------------------------------------------------------------

_ITEM_LABELS = (
    ("claims_administrator_guideline", CA_LABEL),
    ("maximus_guideline", MAXIMUS_LABEL),
    ("rationale", RATIONALE_LABEL),
)


def _match_label(line: str, label: str, threshold: float = 80.0) -> int | None:
    """:func:`imr_llm.form.text.match_label`'s ``value_start`` (None: no match), its fuzzy
    comparison made only where a colon-like mark ends a would-be label."""
    n = len(label)
    head = line[: n + 12]
    if ":" not in head and ";" not in head and label not in head:
        return None
    stripped = line.lstrip()
    indent = len(line) - len(stripped)
    if stripped.startswith(label):
        rest = stripped[n:]
        skip = len(rest) - len(rest.lstrip(" "))
        if rest[skip : skip + 1] in (":", ";"):
            return indent + n + skip + 1
        if not rest.strip():
            return indent + n
    window = stripped[: n + 6]
    cut = -1
    for i in range(max(n - 5, 0), len(window)):
        if window[i] in COLON_LIKE:
            cut = i
            break
    if cut < 0:
        return None
    if fuzz.ratio(stripped[:cut].lower(), label.lower(), score_cutoff=threshold) >= threshold:
        return indent + cut + 1
    return None


def _find_label(text: str) -> tuple[str, int] | None:
    """:func:`imr_llm.form.items._find_label` (:func:`~imr_llm.form.text.match_label` for each
    label in turn, in one pass): a label is looked for only where the line starts with one,
    or holds a colon-like mark where one would end (every label is 17 to 30 letters long)."""
    head = text[:40]
    if ":" not in head and ";" not in head:
        return None
    stripped = text.lstrip()
    starts_label = stripped[:1] in _LABEL_INITIALS
    if (
        not starts_label
        and stripped.find(":", _LABEL_MARKS[0], _LABEL_MARKS[1]) < 0
        and stripped.find(";", _LABEL_MARKS[0], _LABEL_MARKS[1]) < 0
    ):
        return None
    indent = len(text) - len(stripped)
    for field, label in _ITEM_LABELS:
        n = len(label)
        # match_label's test of its head: text[:40] holds a colon-like mark, and n + 12 >= 29
        # covers the first 29 columns only; the colon may lie beyond them.
        if ":" not in text[: n + 12] and ";" not in text[: n + 12] and label not in text[: n + 12]:
            continue
        if starts_label and stripped.startswith(label):
            rest = stripped[n:]
            skip = len(rest) - len(rest.lstrip(" "))
            if rest[skip : skip + 1] in (":", ";"):
                return field, indent + n + skip + 1
            if not rest.strip():
                return field, indent + n
        # The first colon-like mark (COLON_LIKE is ":;") in columns [n - 5, n + 6).
        hi = min(len(stripped), n + 6)
        colon, semicolon = stripped.find(":", n - 5, hi), stripped.find(";", n - 5, hi)
        cut = semicolon if colon < 0 else colon if semicolon < 0 else min(colon, semicolon)
        if cut < 0:
            continue
        if fuzz.ratio(stripped[:cut].lower(), _LOWER_LABELS[label], score_cutoff=80.0) >= 80.0:
            return field, indent + cut + 1
    return None


_LABEL_INITIALS = frozenset(label[0] for _, label in _ITEM_LABELS)
_LOWER_LABELS = {label: label.lower() for _, label in _ITEM_LABELS}
#: Where a colon-like mark may end any of the item labels (see :func:`_label_may_match`).
_LABEL_MARKS = (
    min(len(label) for _, label in _ITEM_LABELS) - 5,
    max(len(label) for _, label in _ITEM_LABELS) + 6,
)


# --------------------------------------------------------------------------------------------
# Credentials (imr_llm.form.credentials.read_credentials_form)
# --------------------------------------------------------------------------------------------


def _credentials(lines: _Lines, start: int, end: int) -> CredentialsForm | None:
    """:func:`~imr_llm.form.credentials.read_credentials_form` in block style; None when the
    block's labels are not both found (the tolerant function reads the rest)."""
    texts = lines.texts
    states_at = specialty_at = None
    for i in range(start, end):
        text = texts[i]
        if ":" not in text and ";" not in text and "State" not in text and "Cert" not in text:
            continue  # no label, nor its colon, can be on the line
        at = _match_label(text, STATES_LABEL, threshold=75)
        if at is not None:
            if states_at is not None:
                return None  # a label printed twice: the tolerant reader flags the list
            states_at = (i, at)
            continue
        at = _match_label(text, SPECIALTY_LABEL, threshold=75)
        if at is not None:
            if specialty_at is not None:
                return None
            specialty_at = (i, at)
    if states_at is None or specialty_at is None:
        return None
    return CredentialsForm(
        _block_value(lines, *states_at, end), _block_value(lines, *specialty_at, end), "block"
    )


_LABEL_AFTER = re.compile(r"[:;]\s*\S")


def _block_value(lines: _Lines, index: int, column: int, end: int) -> Place:
    """:func:`imr_llm.form.credentials._block_value`."""
    texts = lines.texts
    last = index
    for j in range(index + 1, end):
        text = texts[j]
        if not text:
            if LIST_GOES_ON.search(texts[last]) or (
                last == index and not texts[index][column:].strip()
            ):
                continue
            break
        if (
            _match_label(text, STATES_LABEL) is not None
            or _match_label(text, SPECIALTY_LABEL) is not None
            or loose_label(text, STATES_LABEL) is not None
            or loose_label(text, SPECIALTY_LABEL) is not None
            or is_heading(text, HEADING_SUMMARY)
            or _LABEL_AFTER.search(text)
        ):
            break
        last = j
    start = lines.starts[index] + column
    raw = lines.source[start : lines.end(last)]
    lead = len(raw) - len(raw.lstrip())
    text = raw.strip()
    return Place(start + lead, start + lead + len(text), text, "label",
                 (lines.starts[index], start))  # fmt: skip


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------

_PASSAGE_ORDER = ("claims_administrator_guideline", "maximus_guideline", "rationale")


def _strict_items(lines: _Lines, start: int, end: int) -> ItemsForm | None:
    """The items in lines ``[start, end)`` laid out as the form lays them out, else None."""
    source, texts, starts = lines.source, lines.texts, lines.starts
    if start >= lines.n:
        return None
    # Every line a label can start: a colon in its first 40 columns.
    label_lines: dict[int, tuple[str, int]] = {}
    seen: set[int] = set()
    region = starts[start]
    for colon in ":;":
        at = source.find(colon, region)
        while at >= 0:
            i = bisect_right(starts, at) - 1
            if i not in seen and at - starts[i] < 40:
                seen.add(i)
                hit = _find_label(texts[i])
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
        while above >= start and not texts[above]:
            above -= 1
        if above < start:
            return None
        if above in label_lines:
            return None
        marker = _outcome_marker(lines, above, start)
        if marker is None or not marker.outcome:
            return None
        # Between the marker and the rationale label no line may read as another marker.
        for i in range(above + 1, run[2]):
            text = texts[i]
            if (
                i not in label_lines
                and text
                and _may_mark(text)
                and _outcome_marker(lines, i, start)
            ):
                return None
        markers.append(marker)
    firsts: list[int] = []
    floor = start
    for marker in markers:
        firsts.append(_header_start(lines, marker, floor))
        floor = marker.line + 1
    items: list[ItemPlace] = []
    for k, marker in enumerate(markers):
        body_end = firsts[k + 1] if k + 1 < len(markers) else end
        run = order[3 * k : 3 * k + 3]
        if body_end <= run[2]:
            return None
        # Nor in the rationale: a marker there is an item the layout does not show (a letter
        # cut right after an item's header, a header whose labels were lost); the tolerant
        # reader decides those.
        for i in range(run[2] + 1, min(body_end, lines.n)):
            text = texts[i]
            if text and _may_mark(text) and _outcome_marker(lines, i, start):
                return None
        items.append(_item_place(lines, marker, firsts[k], body_end, run, label_lines))
    return ItemsForm(items, len(markers), starts[start])


def _outcome_marker(lines: _Lines, i: int, lo: int) -> _Marker | None:
    """:func:`imr_llm.form.items._outcome_marker` for a line that is no label line (every
    label line of the items is known by then)."""
    texts = lines.texts
    text = texts[i]
    if not text:
        return None

    def above() -> str | None:
        j = i - 1
        while j >= lo and not texts[j]:
            j -= 1
        return texts[j] if j >= lo else None

    return line_marker(text, i, above)


_JUNK = re.compile(r"[A-Za-z]{1,3}[^\w\s]*|[^\w\s]+")
_OVERTURNED = tuple((c, "overturned".count(c)) for c in dict.fromkeys("overturned"))
_UPHELD_LETTERS = frozenset("upheld")
_OVERTURNED_LETTERS = frozenset("overturned")


def _may_mark(text: str) -> bool:
    """Whether :func:`_outcome_marker` may read ``text`` (plain) as a marker.

    Its outcome word is the line's last word but what OCR leaves after it (tokens of up to
    three letters and marks, which hold no outcome word), or a part of it; and
    :func:`~imr_llm.form.text.parse_outcome` reads a word as "upheld" only when it shares at
    least four of its letters with it (fuzzy ratio >= 78 of 4 to 9 letters), as "overturned"
    seven. Letters shared are counted without their order, an upper bound.

    Run on nearly every line of the items, so the common case is made cheap: a last token
    whose first four characters are letters is no junk token (a junk token's letters are
    ASCII and at most three, then marks), so only it is split off; "upheld"'s letters are
    all different, so the letters it shares are a set's; "overturned" repeats two ("e",
    "r"), so a word sharing fewer than five different letters shares at most six.
    """
    rest = text
    while True:
        parts = rest.rsplit(None, 1)
        if not parts:
            return False
        token = parts[-1]
        seen = _TOKENS_SEEN.get(token)
        if seen is None:
            if len(token) >= 4 and token[:4].isalpha():
                seen = _MAY_MARK if _may_be_outcome(token) else _NO_MARK
            elif _JUNK.fullmatch(token):
                seen = _JUNK_TOKEN
            else:
                seen = _MAY_MARK if _may_be_outcome(token) else _NO_MARK
            if len(_TOKENS_SEEN) >= _TOKENS_KEPT:
                _TOKENS_SEEN.clear()
            _TOKENS_SEEN[token] = seen
        if seen != _JUNK_TOKEN:
            return seen == _MAY_MARK
        if len(parts) == 1:
            return False
        rest = parts[0]


#: What :func:`_may_mark` found of each token it read (a line's last token is mostly one of a
#: few thousand: "necessary.", "guidelines.", "the"...): a junk token, or a word that may or
#: may not be an outcome word. Cleared when full; a thread that finds a token missing works
#: it out again.
_TOKENS_SEEN: dict[str, int] = {}
_TOKENS_KEPT = 20_000
_NO_MARK, _MAY_MARK, _JUNK_TOKEN = 0, 1, 2


def _may_be_outcome(word: str) -> bool:
    """Whether ``word`` (no junk token) shares enough letters with an outcome word."""
    word = word.lower()
    letters = set(word)
    if len(letters & _UPHELD_LETTERS) >= 4:
        return True
    if len(letters & _OVERTURNED_LETTERS) < 5:
        return False
    return sum(min(word.count(c), n) for c, n in _OVERTURNED) >= 7


def _header_start(lines: _Lines, marker: _Marker, floor: int) -> int:
    """:func:`imr_llm.form.items._header_start`."""
    texts, breaks = lines.texts, lines.breaks
    first = marker.line
    if marker.alone:
        first -= 1
        while first > floor and not texts[first]:
            first -= 1
    if (
        marker.outcome
        and not marker.alone
        and len(texts[marker.line][: marker.header_end_col].split()) <= 2
    ):
        above = first - 1
        text = texts[above].rstrip() if above >= floor else ""
        if text.endswith(":") and not _TRAILING_OUTCOME.search(text[:-1]):
            first = above
    j = first - 1
    while j >= floor:
        if not texts[j]:
            k = j
            while k >= floor and not texts[k]:
                k -= 1
            inside = j == k + 1 and texts[first].lstrip()[:1].islower()
            if not ((first in breaks or inside) and k >= floor and header_goes_on(texts[k])):
                break
            j = k
        if not header_goes_on(texts[j]) and not _stray_stop(texts[j], texts[first]):
            break
        first = j
        j -= 1
    header = " ".join(texts[first : marker.line + 1])
    mentions = original_request_mentions(header)
    if len(mentions) == 1 or (mentions and not names_original(collapse_ws(header))):
        j, found = first - 1, None
        while j >= max(floor, first - _ORIGINAL_SEARCH):
            if not texts[j]:
                if j + 1 < lines.n and not _continues(texts[j - 1] if j else ""):
                    break
            elif mentions_original_at(texts[j], texts[j + 1]):
                found = j
                break
            j -= 1
        if found is not None:
            first = found
            while True:
                k = first - 1
                while k >= floor and not texts[k]:
                    k -= 1
                if k < floor or first - 1 - k > 1 or not header_goes_on(texts[k]):
                    break
                first = k
    return first


def _trailing_marks(text: str) -> str:
    """:func:`imr_llm.form.items._strip_trailing_marks` of collapsed text. Neither of its
    patterns matches text that ends with a letter or digit in a word of more than three
    characters (they end with a mark, or a word of at most two); anything else, marks glued
    to a last full stop ("Considerations.:") included, takes the full test."""
    if text[-1:].isalnum() and len(text) - text.rfind(" ") - 1 > 3:
        return text
    return _strip_trailing_marks(text)


#: A marker's text as printed, and the outcome :func:`~imr_llm.form.reading.read_outcome`
#: reads there exactly (the colon is a mark alone; the word is the outcome's).
_CLEAN_MARKERS = {": Upheld": "upheld", ": Overturned": "overturned"}


def _item_place(
    lines: _Lines,
    marker: _Marker,
    first: int,
    body_end: int,
    run: list[int],
    label_lines: dict[int, tuple[str, int]],
) -> ItemPlace:
    """:func:`imr_llm.form.items._item_place`, cutting the places from the text: joining a
    letter's lines with spaces and collapsing whitespace is collapsing the text they span."""
    source, texts, starts = lines.source, lines.texts, lines.starts
    text = texts[first]
    header_start = starts[first] + len(text) - len(text.lstrip())
    if marker.alone:
        last = marker.line - 1
        while last > first and not texts[last]:
            last -= 1
        header_end = starts[last] + len(texts[last])
    else:
        header_end = starts[marker.line] + marker.header_end_col
    joined = collapse_ws(source[starts[first] : header_end])
    # The mark patterns match nothing where the text starts with a letter (ends with a letter
    # or digit); a digit may start a list's number.
    if not joined[:1].isalpha():
        joined = _LEADING_MARKS.sub("", joined)
    header_text = joined if joined[-1:].isalnum() else _TRAILING_NAME_MARKS.sub("", joined)
    header = Place(header_start, header_end, header_text, "marker")
    line_end = starts[marker.line] + len(texts[marker.line])
    # Cut from the text as given, as the tolerant reading cuts it (the marker may sit below
    # page furniture).
    outcome_place = Place(header_end, line_end, lines.original[header_end:line_end], "marker")
    if outcome_place.text in _CLEAN_MARKERS:  # read_outcome's reading of a clean marker
        exact = _CLEAN_MARKERS[outcome_place.text] == marker.outcome
    else:
        word = read_outcome(outcome_place.text)
        exact = word is not None and word.exact and word.value == marker.outcome
    outcome = Reading(marker.outcome, exact, 0, len(outcome_place.text))
    passages: dict[str, Place | None] = {}
    for n, i in enumerate(run):
        name, column = label_lines[i]
        stop = run[n + 1] if n + 1 < len(run) else body_end
        last = stop - 1
        while last > i and not texts[last]:
            last -= 1
        line_start = starts[i]
        value_start = line_start + column
        end = starts[last] + len(texts[last])
        kept = _strip_label_remnant(_trailing_marks(collapse_ws(source[value_start:end])), name)
        rest = texts[i][column:]
        kept = strip_leading_marks(kept, name, rest)
        lead = len(rest) - len(rest.lstrip())
        passages[name] = Place(value_start + lead, end, kept, "label", (line_start, value_start))
    end_offset = starts[body_end] if body_end < lines.n else len(source)
    return ItemPlace(header, outcome, outcome_place, passages, end_offset, True)


# --------------------------------------------------------------------------------------------
# The form
# --------------------------------------------------------------------------------------------


_HEADINGS = (HEADING_DETERMINATION, HEADING_SUMMARY, HEADING_ISSUES)


def _headings_on_own_lines(text: str) -> bool:
    """Whether each heading is printed on a line of its own where it is first printed after
    the one before it, and the items' form sentence ("... set forth below:") follows the
    last: what :func:`_heading` and :func:`strict_form` ask of the lines, told from the text
    before any line is made (an OCR'd letter mostly fails here). Not asked exactly: where it
    says no, the tolerant reading reads the letter, as it would."""
    at = 0
    for heading in _HEADINGS:
        at = text.find(heading, at)
        if at < 0:
            return False
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        if text[start : len(text) if end < 0 else end].strip() != heading:
            return False
        at += len(heading)
    return "set forth below" in text[at : at + 400].lower()


def strict_form(text: str) -> LetterForm | None:
    """The :class:`LetterForm` :func:`~imr_llm.form.read_form` gives for ``text`` (a checked
    input), found by the strict pass; None when the letter needs the tolerant reading."""
    if not plain(text):
        return None
    # Each heading is found printed exactly on its own line (_heading): without its words
    # anywhere the letter is the tolerant reading's, told before any other test.
    if not _headings_on_own_lines(text):
        return None
    lowered = text.lower()
    if not settled(text, lowered):
        return None
    lines = _Lines(text)
    if lines.n == 0 or not lines.settle():
        return None
    furniture = _furniture(lines, lowered)
    dropped = lines.drop(furniture) if furniture else []
    if lines.breaks:
        edges = edge_furniture(lines.texts[: lines.n], lines.breaks)
        if edges:
            dropped += lines.drop(edges)
    if _double_spaced(lines):
        lines.undouble()
    det = _heading(lines, HEADING_DETERMINATION, 0)
    if det is None:
        return None
    summary_at = _heading(lines, HEADING_SUMMARY, det)
    if summary_at is None:
        return None
    issues = _heading(lines, HEADING_ISSUES, summary_at)
    if issues is None or issues + 1 >= lines.n:
        return None
    if "set forth below" not in lines.texts[issues + 1].lower():
        return None
    first = issues + 2
    n = lines.n
    # Another first page (a second letter, a page fed twice), after the items start or with
    # the opening printed twice, is the tolerant reading's to find and refuse
    # (imr_llm.form.letters).
    items_at = lines.starts[first] if first < n else len(text)
    if (
        any(lowered.find(word, items_at) >= 0 for word in START_WORDS)
        or any(lowered.count(word) > 1 for word in OPENING_WORDS)
        or "notice of independent" in lowered  # a notice's title: its furniture is the tolerant's
    ):
        return None
    doc = Document(source=text, lines=lines, double_spaced=lines.double_spaced,  # type: ignore[arg-type]
                   furniture=dropped)  # fmt: skip
    blanked = lines.source  # the text with its page furniture blanked out
    items_end = closing_start(lines.texts, first, n)
    sections = Sections(
        (0, det),
        (det, summary_at),
        (summary_at + 1, issues),
        (first, items_end),
        ("determination heading", "case summary heading", "issues heading"),
    )
    if det == 0:
        header = HeaderForm(0, 0, "")
    else:
        header = _layout_header(lines, det) or read_header_form(doc, 0, det)
    credentials = _credentials(lines, det, summary_at) or read_credentials_form(
        doc, det, summary_at
    )
    summary = None
    if summary_at + 1 < issues:
        start, end = lines.starts[summary_at + 1], lines.end(issues - 1)
        summary = Place(start, end, blanked[start:end], "region")
    items = _strict_items(lines, first, items_end) or read_items_form(doc, first, items_end)
    has_header = bool(header.labels) or read_case_number(header.text, prefixed=True) is not None
    name = FORM_2016 if has_header else FORM_2016_NO_HEADER
    return LetterForm(doc, sections, header, credentials, summary, items, name,
                      found=sections.found)  # fmt: skip
