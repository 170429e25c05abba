"""Stage 1: turn raw letter text into lines the engines can walk, keeping offsets.

Letters reach us as ``pdftotext -layout`` output, plain ``pdftotext`` output, OCR text, or the
seed style with a blank line after every line. This stage removes the differences that carry no
meaning (line endings, form feeds, the seed's doubled blank lines, trailing spaces) while keeping
each line's offset in the *original* text, so every value an engine finds can be traced back to
the exact characters it came from.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field

from ..errors import EmptyTextError, TextTooLargeError

#: Default upper bound on input size. Real letters are 5-60 kB; see TextTooLargeError.
DEFAULT_MAX_CHARS = 400_000


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the letter.

    ``start`` is the offset of ``text[0]`` in the original input; ``page_break`` says a form
    feed came right before it, which matters because a page break may glue an item header to
    the previous rationale without a blank line, or split a header in two.
    """

    text: str
    start: int
    page_break: bool = False

    @property
    def blank(self) -> bool:
        return not self.text.strip()

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(slots=True)
class Document:
    """A letter split into meaningful lines, with the original text kept for offsets."""

    source: str
    lines: list[Line] = field(default_factory=list)
    double_spaced: bool = False
    #: Spans of the page furniture lines dropped from ``lines`` (fax banners, page numbers).
    furniture: list[tuple[int, int]] = field(default_factory=list)
    _lowered: str | None = field(default=None, repr=False, compare=False)

    def lowered(self) -> str:
        """``source.lower()``, made once: several readers search the whole letter for words."""
        if self._lowered is None:
            self._lowered = self.source.lower()
        return self._lowered

    def offset(self, line_index: int, column: int) -> int:
        """Offset in ``source`` of ``column`` on line ``line_index``."""
        return self.lines[line_index].start + column

    def text(self, start: int, end: int) -> str:
        """``source[start:end]`` with page furniture blanked out: the letter's own words in a
        stretch of it, at their own offsets (so a value read there keeps its span)."""
        chunk = self.source[start:end]
        for s, e in self.furniture:
            if s < end and e > start:
                a, b = max(s, start) - start, min(e, end) - start
                chunk = chunk[:a] + " " * (b - a) + chunk[b:]
        return chunk


def lines_from(lines: Sequence[Line], offset: int) -> int:
    """The index of the first of ``lines`` (in text order) that starts at ``offset`` or after
    it. Lines that keep their starts in a list (the fast path's) are searched in it, without a
    :class:`Line` made for each line looked at."""
    starts = getattr(lines, "starts", None)
    if starts is not None:
        return min(bisect_left(starts, offset), len(lines))
    return bisect_left(lines, offset, key=_line_start)


def _line_start(line: Line) -> int:
    return line.start


def check_input(text: object, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Reject what no engine can use, with a typed error saying why."""
    if isinstance(text, bytes):
        raise TypeError("extract() takes str; decode the bytes first (letters are UTF-8 text)")
    if not isinstance(text, str):
        raise TypeError(f"extract() takes the letter text as str, not {type(text).__name__}")
    if not text.strip():
        raise EmptyTextError()
    if len(text) > max_chars:
        raise TextTooLargeError(len(text), max_chars)
    return text


def _split_lines(text: str) -> list[Line]:
    lines: list[Line] = []
    pending_break = False
    pos = 0
    if "\f" not in text and "\r" not in text:
        # Fast path for the common case: no page breaks, Unix line ends.
        for physical in text.split("\n"):
            stripped = physical.rstrip()
            lines.append(Line(stripped, pos) if stripped else Line("", pos))
            pos += len(physical) + 1
        while lines and lines[-1].blank:
            lines.pop()
        return lines
    for physical in text.split("\n"):
        if "\f" not in physical:  # most lines: the loop below with one segment, done at once
            stripped = physical.rstrip(" \t\r\v\u00a0")
            if stripped.strip():
                lines.append(Line(stripped, pos, pending_break))
                pending_break = False
            else:
                lines.append(Line("", pos, False))
            pos += len(physical) + 1
            continue
        # A form feed starts a new page. pdftotext puts it at the start of the next page's first
        # line, but it may sit anywhere, so split on every one and remember it on the next line.
        segments = physical.split("\f")
        seg_start = pos
        for k, segment in enumerate(segments):
            if k > 0:
                pending_break = True
            stripped = segment.rstrip(" \t\r\v\u00a0")
            if stripped.strip():
                lines.append(Line(stripped, seg_start, pending_break))
                pending_break = False
            elif len(segments) == 1:
                lines.append(Line("", seg_start, False))
            seg_start += len(segment) + 1
        pos += len(physical) + 1
    while lines and lines[-1].blank:
        lines.pop()
    return lines


#: Lines that belong to the page, not the letter: page numbers, fax banners, the letterhead
#: that OCR reads from the logo. They carry no content and break item headers and rationales
#: apart, so they are dropped (and mark a page break).
_PAGE_FURNITURE = re.compile(
    r"^\s*(?:"
    # "Page 2", "Page 2 of 4", and as text tools mark a page: "--- Page 2 ---", "<<<PAGE 2>>>",
    # "=== Page 2 ===", "[Page 2]", "## Page 2", "2 | Page"
    r"[-=*#\[<~_|\s]*page\s*[:#]?\s*\d{1,3}(?:\s*(?:of|/)[\s'‘’`.,|]*\d{1,3})?[-=*#\]>~_|\s]*"
    r"|[-=*#\[<~_|\s]*\d{1,3}\s*\|\s*page[-=*#\]>~_|\s]*"
    # "- 2 -", and with OCR's marks beside its number ("- 3’-", "- 3. -"; its dashes open it)
    r"|-[\s'‘’`.,|_~]*\d{1,3}[\s'‘’`.,|_~]*-[\s'‘’`.,|_~]*"
    r"|-{2,}\s*\d{1,3}\s+of\s+\d{1,3}\s*-{2,}"  # "-- 2 of 4 --"
    r"|(?:[-=_*]\s*){3,}"  # a rule between pages, as Markdown exports write it ("---")
    r"|.*\bFROM:.*\(FAX\).*"  # fax banner
    r"|.*\(FAX\)\s*[\d\s-]{7,}.*P\.\s?\d{3}/\d{3}"  # fax banner without FROM
    r"|(?:MAXIMUS\s*\|?\s*)?Federal\s+Services\s*\|.*"  # letterhead read by OCR
    r"|MAXIMUS\s*\|?"
    r")\s*$",
    re.IGNORECASE,
)
#: A fax machine's banner: the word FAX (in capitals, as machines print it) with a time of day
#: or a page counter ("12/20/2016 10:14 FAX 9165551234 MAXIMUS p.003/007", "FAX No. 9165551234
#: P. 2/7"). Prose that mentions a fax ("faxed on 12/20/2016") has neither.
FAX_BANNER = re.compile(
    r"\bFAX\b(?=.*(?:\b\d{1,2}:\d{2}\b|\b[Pp]\.?\s?\d{1,3}\s?/\s?\d{1,3}\b))"
    r"|(?:\b\d{1,2}:\d{2}\b|\b[Pp]\.?\s?\d{1,3}\s?/\s?\d{1,3}\b).*\bFAX\b"
)
#: A fax machine's transmission line that does not say "FAX": a time of day and a page counter
#: ("01/06/2017 10:14 9165551234 -> 8005551234 Pg 2/3", "From: MAXIMUS To: 18005551234 Page 2
#: of 3 1/6/2017 10:14 AM", "Jan 06 2017 10:14AM HP Fax page 2"). A letter's sentence holds
#: no time of day and page number together.
_PAGE_COUNTER = r"\b(?:page|pg)\.?\s?\d{1,3}(?:\s?(?:/|of)\s?\d{1,3})?\b"
TRANSMISSION = re.compile(
    rf"\b\d{{1,2}}:\d{{2}}(?!\d).*{_PAGE_COUNTER}|{_PAGE_COUNTER}.*\b\d{{1,2}}:\d{{2}}(?!\d)",
    re.IGNORECASE,
)
#: A page's stamp or a fax machine's line as a re-fill leaves it inside a paragraph: a date
#: stamp in capitals ("RECEIVED JAN 06 2017", "FAXED 01/06/2017"), or a time of day and a page
#: counter close together ("10:14 9165551234 -> 8005551234 Pg 2/3").
STAMP_INSIDE = re.compile(
    r"\b(?:RECEIVED|FAXED|FILED|SCANNED)\b:?\s+(?:[A-Z][A-Za-z]{2}\w*\.?\s+\d{1,2},?\s+\d{4}"
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})"
    r"|(?:\b\d{1,2}/\d{1,2}/\d{2,4}\s+)?\b\d{1,2}:\d{2}(?!\d).{0,60}?\b(?:page|pg|p)\.?\s?\d{1,3}"
    r"\s?(?:/|of)\s?\d{1,3}\b",
    re.IGNORECASE,
)


def stamp_inside(text: str, name: bool = False) -> bool:
    """Whether ``text`` (a value) holds a page's stamp or a fax machine's line
    (:data:`STAMP_INSIDE`; the stamp's word in capitals, as stamps print it), a watermark's or
    a stamp's word alone, or a page counter. In a ``name`` (an item's service) every stamp word
    in capitals is a stamp: a letter in capitals writes "RECEIVED" in its prose, in no name."""
    return bool(_stamps(text, name))


def without_stamps(text: str) -> str | None:
    """``text`` without the stamps :func:`stamp_inside` finds in it (whitespace collapsed),
    or None where it holds none: what a value reads as if the stamp is no part of it."""
    stamps = _stamps(text)
    if not stamps:
        return None
    kept, at = [], 0
    for m in stamps:
        kept.append(text[at : m.start()])
        at = m.end()
    kept.append(text[at:])
    return " ".join("".join(kept).split()) or None


def _stamps(text: str, name: bool = False) -> list[re.Match[str]]:
    """The stamps, fax lines, stamp words and page counters in ``text``, in text order, none
    overlapping another."""
    counters = (
        [m for m in _PAGE_COUNTER_INSIDE.finditer(text) if _page_of_page(m.group())]
        if "Page" in text
        else []
    )
    # Every stamp holds a stamp word or a time of day: told by one search for the words, and
    # a look at the digits around each colon, before the pattern is tried at every character.
    if _ANY_STAMP_WORD.search(text) is None and not _has_time(text):
        return counters
    found = []
    for m in STAMP_INSIDE.finditer(text):
        word = m.group().split()[0].rstrip(":")
        if not word.isalpha() or word.isupper():
            found.append(m)
    for m in [*_LONE_STAMP.finditer(text), *counters]:
        lone = m.re is _LONE_STAMP
        if not any(m.start() < f.end() and f.start() < m.end() for f in found) and (
            not lone or name or _among_prose(text, m)
        ):
            found.append(m)
    found.sort(key=lambda m: m.start())
    return found


#: A page's counter inside a value: the document drops it as a line of its own, so one left in
#: a value ran into a line of the letter ("The request Page 4 of 5for the third item", a
#: line break lost).
#: The page count may run into the next word where a line break was lost ("of 5for").
#: "Page 2 of 5" inside a line; OCR's marks may stand in or beside its spaces ("Page,4 of 5"),
#: and the space before it may be lost ("no newPage 4 of 5 findings").
_COUNTER_GAP = r"\s+(?:[,.:;'‘’`|~_]{1,2}\s*)?|[,.:;'‘’`|~_]{1,2}\s*"
_PAGE_OF = (
    rf"(?:\b|(?<=[a-z]))Page(?:{_COUNTER_GAP})\d{{1,3}}"
    rf"(?:{_COUNTER_GAP})of(?:{_COUNTER_GAP})\d{{1,3}}(?!\d)"
)
_PAGE_COUNTER_INSIDE = re.compile(_PAGE_OF)


def _page_of_page(counter: str) -> bool:
    """Whether a "Page N of M" match counts a page of its letter: N no more than M. "Page 2"
    alone on a line over a line of the letter that starts "of 1 to 2 times" is none (the
    line is furniture; the letter's words are not)."""
    page, pages = (int(n) for n in re.findall(r"\d+", counter)[:2])
    return 0 < page <= pages


#: The words a rubber stamp or a watermark prints across a page, in capitals.
STAMP_WORDS = ("RECEIVED", "FAXED", "FILED", "SCANNED", "COPY", "CONFIDENTIAL", "DUPLICATE",
                "VOID", "DRAFT")  # fmt: skip
#: A stamp's word alone, in capitals, as a watermark or a rubber stamp prints it across the
#: page and OCR reads it into the line beneath ("7-10 days COPY for left foot fracture"). No
#: letter prints one of these words in capitals inside its prose (none of the corpora's and
#: gold set's renderings does; in lower case "copy" is once a letter's, of a record).
_LONE_STAMP = re.compile(r"\b(?:" + "|".join(STAMP_WORDS) + r")\b")
#: The same words anywhere (no word boundaries: a search four times cheaper, run on every value).
_ANY_STAMP_WORD = re.compile("|".join(STAMP_WORDS))
#: The stamp words a letter printed all in capitals also prints as its own ("THE PATIENT
#: RECEIVED PHYSICAL THERAPY"): a stamp only among words in lower case. The others are no
#: letter's words in capitals anywhere, services in capitals among them ("BIOFEEDBACK, 10
#: DUPLICATE SESSIONS").
_PROSE_WORDS = frozenset({"RECEIVED", "FAXED", "FILED", "SCANNED"})
_LOWER_WORD = re.compile(r"[a-z]{2,}")


def _among_prose(text: str, m: re.Match[str]) -> bool:
    """Whether the stamp word ``m`` stands where a letter would not print it in capitals:
    within a few words of prose in lower case, right after a colon (a header in capitals,
    "... WITHOUT CONTRAST: RECEIVED": no sentence of a letter puts it there), or (for a word
    no letter prints in capitals) anywhere."""
    if m.group() not in _PROSE_WORDS:
        return True
    if text[max(0, m.start() - 3) : m.start()].rstrip().endswith(":"):
        return True
    return bool(_LOWER_WORD.search(text, max(0, m.start() - 40), m.end() + 40))


def _has_time(text: str) -> bool:
    """Whether a colon in ``text`` has a digit before it and two after it ("10:14")."""
    at = text.find(":")
    while at >= 0:
        if text[at - 1 : at].isdigit() and text[at + 1 : at + 3].isdigit():
            return True
        at = text.find(":", at + 1)
    return False


#: Words of prose (three letters or more, lower case) a transmission line may hold.
_MACHINE_WORDS = frozenset(("page", "fax", "from"))
_PROSE_WORD = re.compile(r"\b[a-z]{3,}\b")


def _transmission_line(text: str, lowered: str) -> bool:
    """Whether ``text`` (``lowered`` its lower case) is a fax machine's transmission line:
    :data:`TRANSMISSION`, opening as a machine opens it (a date or a time, a month, "From:",
    "To:", "Fax") and closing with a number, a page counter or AM/PM, and, unlike a sentence
    that happens to give a time and a page, at most two words of prose. A line a re-fill
    made of a letter's words around such a line ("College 01/06/2017 10:14 ... Pg 2/3 of") is
    none: dropped, it would take the words with it."""
    if ":" not in text or not ("page" in lowered or "pg" in lowered):
        return False
    if TRANSMISSION.search(text) is None:
        return False
    words = lowered.split()
    first, last = words[0].strip("-=*#[<~_|:"), words[-1].strip("-=*#]>~_|.")
    if not _machine_word(first):
        return False
    if not (last[-1:].isdigit() or last in ("am", "pm", "a.m", "p.m")):
        return False
    prose = [w for w in _PROSE_WORD.findall(text) if w not in _MACHINE_WORDS]
    return len(prose) <= 2


#: How a fax machine's line may open: a month's first three letters, "From:", "To:", "Fax",
#: "Sent", "Date".
_MACHINE_OPENERS = frozenset(
    "jan feb mar apr may jun jul aug sep oct nov dec fro to fax sen dat".split()
)


def _machine_word(word: str) -> bool:
    """Whether ``word`` (lower case, marks stripped) is one a fax machine opens its line with:
    a date or a time (a digit first), a month, "From:", "To:", "Fax"..."""
    return word[:1].isdigit() or word[:3] in _MACHINE_OPENERS


def _opens_as_machine(lowered: str) -> bool:
    """Whether a line (lower case) opens as a fax machine opens its line: its first word that
    is not marks alone is a machine's (:func:`_machine_word`) or a page counter's "p."."""
    for word in lowered.split():
        first = word.strip("-=*#[<~_|:'‘’`.,()")
        if first:
            return _machine_word(first) or first[:2] == "p."
    return False


#: Page furniture as it may sit inside a line of a re-filled letter: a whole fax banner from
#: its date stamp to its page counter (which a re-fill may wrap onto the next line), "Page 2
#: of 5", "- 2 -", or a running head's "Case Number: CM16-0213037" (the header's own line is
#: left where it is: nothing of the letter stands beside it).
_INLINE_PARTS: tuple[tuple[str, str], ...] = (
    # (a word every match holds, the pattern)
    ("FAX", r"\b\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(?:\s*[AP]M)?\s+"
            r"(?:(?:[^\n]|\n(?!\s*\n)){0,60}?\s)??"
            # its page counter may be glued to the word before it ("MAXIMUSp.003/007")
            r"FAX\b(?:[^\n]|\n(?!\s*\n)){0,80}?[Pp]\.?\s?\d{1,3}\s?/\s?\d{1,3}\b"),
    ("Page", _PAGE_OF),
    ("-", r"(?<![\w/.,-])-[ \n]\d{1,3}[ \n]-(?![\w-])"),  # "- 2 -"
    ("Case", r"\bCase[ \t]+Number[ \t]*:?[ \t]*CM\d{2}-\d{7}\b"),  # a running head
)  # fmt: skip
INLINE_FURNITURE = re.compile("|".join(pattern for _, pattern in _INLINE_PARTS))
#: Each part of :data:`INLINE_FURNITURE` alone, tried only on a text holding its word (the
#: union, tried at every character, costs a scan a part).
_INLINE_COMPILED = tuple((word, re.compile(pattern)) for word, pattern in _INLINE_PARTS)


_DASH_DIGIT = re.compile(r"-[ \n]\d")


def _word_starts(text: str, word: str) -> Iterator[int]:
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + 1)


def _inline_matches(text: str) -> list[re.Match[str]]:
    """``list(INLINE_FURNITURE.finditer(text))``: each part searched where its word is
    printed, the matches in text order, none overlapping an earlier one."""
    found: list[re.Match[str]] = []
    for word, pattern in _INLINE_COMPILED:
        if word == "FAX":  # the banner starts before its word: searched, in a text with one
            if word in text:
                found.extend(pattern.finditer(text))
            continue
        # The others start with their word ("Page", "Case") or a dash that a space or line
        # break and a digit follow: tried only there.
        starts = (
            (m.start() for m in _DASH_DIGIT.finditer(text))
            if word == "-"
            else _word_starts(text, word)
        )
        for at in starts:
            m = pattern.match(text, at)
            if m is not None and (word != "Page" or _page_of_page(m.group())):
                found.append(m)
    if len(found) < 2:
        return found
    found.sort(key=lambda m: (m.start(), -m.end()))
    kept: list[re.Match[str]] = []
    for m in found:
        if not kept or m.start() >= kept[-1].end():
            kept.append(m)
    return kept


def inline_furniture(text: str) -> list[re.Match[str]]:
    """The matches of :data:`INLINE_FURNITURE` in ``text``, but for a page counter on a fax
    machine's transmission line (dropped with its line), the header's own "Case Number:
    CM..." (the first the text prints) and its line printed again whole: only a case number
    inside another line is split off as a running head."""
    found = _inline_matches(text)
    if not found:
        return found
    # A page counter inside a fax machine's transmission line ("... Page 2 of 3 1/6/2017
    # 10:14 AM") is dropped with its line: nothing to split off.
    found = [m for m in found if not _counter_in_transmission(text, m)]
    if not any(m.group().startswith("Case") for m in found):
        return found
    first = text.find("Case")
    header_line = " ".join(_line_of(text, first).split())

    def running_head_line(m: re.Match[str]) -> bool:
        # The header's line printed again whole (its OCR debris too): dropped whole as a
        # running head, nothing to split off.
        return " ".join(_line_of(text, m.start()).split()) == header_line

    return [
        m
        for m in found
        if not (m.group().startswith("Case") and (m.start() == first or running_head_line(m)))
    ]


def _counter_in_transmission(text: str, m: re.Match[str]) -> bool:
    """Whether the inline match ``m`` is a page counter on a fax machine's transmission line."""
    if "\n" in m.group() or not m.group().startswith("Page"):
        return False
    line = _line_of(text, m.start())
    return _transmission_line(line, line.lower())


def _line_of(text: str, at: int) -> str:
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return text[start : len(text) if end < 0 else end]


#: A case number with nothing of the letter around it: a page's running head, never content.
#: Before it, a few short words, whatever their spelling: "Case Number:", "IMR Case No.",
#: "MAXIMUS Federal Services", and these read through OCR damage ("Case Numbcr:", and
#: "CaseNumber:" with its space lost); no sentence of a letter ends on its own case number.
RUNNING_HEAD = re.compile(
    r"^\W*(?:[^\W_]{1,12}\W+){0,5}CM\d{2}-\d{7}\W*(?:(?:Page|of|\d{1,3})\W*)*$",
    re.IGNORECASE,
)


#: Words (lower case) one of which every furniture line holds but a rule ("---").
_LINE_HINTS = ("page", "fax", "federal services", "maximus", "- ", "pg")
#: What a rule between pages holds ("---", "===", "___", "***", "* * *").
_RULE_HINTS = ("--", "==", "__", "**", "* *")
#: Words (lower case) one of which every line :func:`is_page_furniture` accepts holds.
FURNITURE_HINTS = _LINE_HINTS + _RULE_HINTS
#: The marks a rule is made of.
_RULE_MARKS = ("-", "=", "_", "*")


def is_page_furniture(text: str) -> bool:
    """True for a line that belongs to the page rather than the letter."""
    if len(text) >= 160:
        return False
    lowered = text.lower()
    # The banner's pattern holds "FAX". A line opening with a letter's words before the
    # banner ("the first item is 12/20/2016 10:14 FAX", a re-fill's line) is no banner line:
    # dropped, it took the words with it (generated g107 at fuzz seed 91, a space lost inside
    # the banner so that it was not split off inline); the banner is split off inline or
    # flagged inside the value.
    if "FAX" in text and FAX_BANNER.search(text) and _opens_as_machine(lowered):
        return True
    if _transmission_line(text, lowered):
        return True
    if not any(hint in lowered for hint in _LINE_HINTS):
        # The common case, decided without the regex; a rule between pages ("---", "* * *")
        # is a line of its marks alone.
        last = text[-1:]
        if last.isspace():
            last = text.rstrip()[-1:]
        if last not in _RULE_MARKS:
            return False
        core = text.strip(" \t\f")
        return not core.strip("-=_* \t") and sum(ch in "-=_*" for ch in core) >= 3
    return bool(_PAGE_FURNITURE.match(text))


def _is_double_spaced(lines: list[Line]) -> bool:
    """The seed style: (nearly) every text line is followed by one blank line."""
    text_lines = 0
    followed_by_blank = 0
    for i, line in enumerate(lines):
        if line.blank:
            continue
        text_lines += 1
        if i + 1 < len(lines) and lines[i + 1].blank:
            followed_by_blank += 1
    return text_lines >= 8 and followed_by_blank >= 0.85 * text_lines


HEADER_LINE = re.compile(
    r"CM\d{2}-\d{7}|Case\s+Number|Date\s+Assigned|Decision\s+Date|Date\s+of\s+Injury"
    r"|UR\s+Denial|Priority:",
    re.IGNORECASE,
)
#: Lines from here on are the letter's body: a line repeating one of the letter's first lines
#: there is a page's running head (the case number line printed at each page's top).
_BODY_FROM = 12


#: A 2013 notice's title: printed again at a later page's top ("... (continued)"), it is the
#: page's running head.
NOTICE_TITLE = re.compile(r"notice\s+of\s+independent\s+medical\s+review\s+determination", re.I)
#: The most words a running head printing the title holds.
_TITLE_HEAD_WORDS = 14


def _title_head(lines: list[Line], index: int) -> bool:
    """Whether line ``index`` opens a page with the notice's title and little else, and no
    notice's opening follows it (its date, its first determination: then it opens another
    letter, see :mod:`imr_llm.form.letters`)."""
    line = lines[index]
    if not (
        line.page_break
        and "otice" in line.text
        and NOTICE_TITLE.search(line.text) is not None
        and len(line.text.split()) <= _TITLE_HEAD_WORDS
    ):
        return False
    after = " ".join(ln.text.lower() for ln in lines[index : index + 8])
    return "dated" not in after and "has determined" not in after


#: A page's edge line that ends a sentence or a label, starts with a label ("Claims
#: Administrator guideline: Decision based on ..."), or holds an outcome marker at its end
#: ("...: Upheld"), is the letter's own even when another page's edge line is worded the same.
_EDGE_KEEPS = re.compile(r"[.:;]\W*$|[:;][ \t]*[A-Za-z]\S*[ \t]*$|^[^:;]{1,45}[:;][ \t]+[A-Za-z]")
#: The most words a page's stamp read through OCR damage has; longer lines must repeat exactly.
_EDGE_FUZZY_WORDS = 8
#: How alike (rapidfuzz ratio of their shapes) two OCR'd readings of one stamp are.
_EDGE_FUZZY_SCORE = 90


def _edge_shape(text: str) -> str:
    """A page edge line without what changes from page to page: case, digits (page numbers,
    times), marks and spacing."""
    lowered = text.lower()
    if lowered.isascii():
        return " ".join(lowered.translate(_SHAPE).split())
    return " ".join(_NOT_LETTERS.sub(" ", lowered.translate(_SHAPE)).split())


#: Digits to "#", every other ASCII character but a letter to a space.
_SHAPE = str.maketrans(
    {chr(c): "#" if chr(c).isdigit() else " " for c in range(128) if not "a" <= chr(c) <= "z"}
)
_NOT_LETTERS = re.compile(r"[^a-z#]+")


def edge_furniture(texts: Sequence[str], breaks: Collection[int]) -> set[int]:
    """The lines that repeat at the same edge of pages and nowhere else: a stamp, a running
    title or a footer no list of furniture words knows ("RECEIVED JAN 06 2017",
    "CONFIDENTIAL", "IMR Final Determination Letter"), the first or the last line holding text
    of each page.

    ``texts``: the document's lines ("" or spaces for a blank line); ``breaks``: the indexes
    of the lines that start a page (the first page starts at 0). Lines are alike when equal
    but for case, digits and marks, or (a stamp of at most eight words read through OCR
    damage) nearly so. A page's furniture is printed on every page, or nearly: it must be
    alike at the same edge of half the pages or more (two at least), with other lines beside
    it (a page fed twice repeats its edges along with the rest), and nowhere but at a page's
    edge, where a letter's own line recurs (an item's guideline is often printed again, word
    for word, for the next item). Never taken: a line that ends a sentence or a label, starts
    with a label or holds an outcome marker (a rationale's last line, a guideline's first, an
    item header), a header line (:data:`HEADER_LINE`: the running-head rule's, which keeps the
    header's own) or the 2013 notice's title. Page numbers alone ("2", "iii"), too short to
    compare so, are told by counting up (:func:`_page_numbers`).
    """
    starts = sorted({0, *breaks})
    if len(starts) < 2:
        return set()
    edges: tuple[list[int], list[int]] = ([], [])
    # Each page's first and last lines holding text, and where its lines stop.
    pages: list[tuple[int, int, int]] = []
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else len(texts)
        first = _next_text(texts, start, stop, 1)
        if first is None:
            continue
        last = _next_text(texts, stop - 1, first - 1, -1)
        assert last is not None
        edges[0].append(first)
        edges[1].append(last)
        pages.append((first, last, stop))

    def neighbour(side: int, page: int) -> str | None:
        """The line below a page's top line, above its bottom line (None: it has one)."""
        first, last, stop = pages[page]
        if first == last:
            return None
        k = (
            _next_text(texts, first + 1, stop, 1)
            if side == 0
            else _next_text(texts, last - 1, first - 1, -1)
        )
        return None if k is None else texts[k]

    need = max(2, (len(edges[0]) + 1) // 2)
    found: set[int] = {i for side in edges for i in _page_numbers(texts, side)}
    inside: set[str] | None = None
    for side_index, side in enumerate(edges):
        shapes = [(page, i, texts[i], _edge_shape(texts[i])) for page, i in enumerate(side)]
        if not _may_repeat(shapes):
            continue  # the common case: every page's edge line worded its own way
        shapes = [
            (page, i, text, shape)
            for page, i, text, shape in shapes
            if not _EDGE_KEEPS.search(text)
            and not HEADER_LINE.search(text)
            and not NOTICE_TITLE.search(text)
        ]
        for page, i, text, shape in shapes:
            if len(shape) < 3:
                continue
            alike = 1 + sum(
                1
                for other_page, j, other, other_shape in shapes
                if j != i
                and (shape == other_shape or _alike_stamps(text, shape, other, other_shape))
                and _other_lines(neighbour(side_index, page), neighbour(side_index, other_page))
            )
            if alike < need:
                continue
            if inside is None:
                at_edges = set(edges[0]) | set(edges[1])
                inside = {
                    _edge_shape(texts[k])
                    for k in range(len(texts))
                    if k not in at_edges and texts[k].strip()
                }
            if shape not in inside:
                found.add(i)
    return found


#: A line holding a number alone ("3", or "iii"): a page's number, as a PDF's foot or head
#: prints it.
_BARE_NUMBER = re.compile(r"[ \t]*(?:\d{1,3}|[ivxIVX]{1,6})[ \t]*")
_ROMAN = {
    numeral: n
    for n, numeral in enumerate(
        "i ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi xvii xviii xix xx".split(), 1
    )
}


def _page_number(text: str) -> int | None:
    """The number a line holding it alone prints, in figures or in Roman numerals."""
    text = text.strip()
    return int(text) if text.isdigit() else _ROMAN.get(text.lower())


def _page_numbers(texts: Sequence[str], side: list[int]) -> set[int]:
    """The edge lines (``side``: one edge's line of each page) that hold the page's number
    alone, counting up page by page ("2", "3", "4" at each page's foot, or "ii", "iii"; the
    first page often has none). Too short for a stamp's shape (:func:`edge_furniture` needs
    three characters), they are told by counting up instead: two or more in a row, each one
    more than the one before. (Not by each page's place: a line of furniture dropped above
    starts a page of its own.) A number a letter prints alone on a line does not count up at
    its pages' edges."""
    numbered = [(i, _page_number(texts[i])) for i in side if _BARE_NUMBER.fullmatch(texts[i])]
    found: set[int] = set()
    for (i, v), (j, w) in zip(numbered, numbered[1:], strict=False):
        if v is not None and w == v + 1:
            found |= {i, j}
    return found


def _may_repeat(shapes: list[tuple[int, int, str, str]]) -> bool:
    """Whether two of the edge lines ``shapes`` may be alike: two shapes equal, or two lines
    short enough to be one stamp read through OCR damage (see :func:`_alike_stamps`)."""
    if len({shape for *_, shape in shapes}) < len(shapes):
        return True
    short = sum(
        1
        for *_, text, shape in shapes
        if len(shape) >= 10 and len(text.split()) <= _EDGE_FUZZY_WORDS
    )
    return short >= 2


def _other_lines(a: str | None, b: str | None) -> bool:
    """Whether two pages' lines beside their edge lines differ: furniture repeats alone, while
    a page fed twice repeats its edges along with the rest of it, and a line printed again
    right after a page break (a page of one line) has nothing beside it to tell."""
    if a is None or b is None:
        return False
    from rapidfuzz import fuzz

    return fuzz.ratio(_edge_shape(a), _edge_shape(b), score_cutoff=_SAME_SCORE) < _SAME_SCORE


#: How alike two lines are when they are one line of a page read twice (through OCR damage).
_SAME_SCORE = 80


def _next_text(texts: Sequence[str], start: int, stop: int, step: int) -> int | None:
    """The first line holding text from ``start`` towards ``stop`` (not included)."""
    for i in range(start, stop, step):
        if texts[i].strip():
            return i
    return None


def _alike_stamps(text: str, shape: str, other: str, other_shape: str) -> bool:
    """Whether two short page edge lines are one stamp read through different OCR damage."""
    if len(shape) < 10 or len(text.split()) > _EDGE_FUZZY_WORDS:
        return False
    if len(other.split()) > _EDGE_FUZZY_WORDS:
        return False
    from rapidfuzz import fuzz

    return fuzz.ratio(shape, other_shape, score_cutoff=_EDGE_FUZZY_SCORE) >= _EDGE_FUZZY_SCORE


def _drop_furniture(lines: list[Line], dropped: list[tuple[int, int]]) -> list[Line]:
    # Only a header line repeats as a running head (the case number line, a row of the header
    # table); a sentence of the letter's first lines (a 2013 notice's determination) may well
    # recur in its body.
    first = {
        " ".join(line.text.split()) for line in lines[:_BODY_FROM] if HEADER_LINE.search(line.text)
    }
    # Cheap tests first, each one a condition of what follows it: a repeated header line
    # starts with a header line's first word; a running head holds a case number's "-".
    heads = tuple({line.split(" ", 1)[0] for line in first})

    def furniture(index: int, line: Line) -> bool:
        return not line.blank and (
            is_page_furniture(line.text)
            or (
                index >= _BODY_FROM
                and (
                    (heads and line.text.lstrip().startswith(heads)
                     and " ".join(line.text.split()) in first)
                    or ("-" in line.text and RUNNING_HEAD.match(line.text) is not None)
                    or _title_head(lines, index)
                )
            )
        )  # fmt: skip

    kept = _drop_lines(lines, furniture, dropped)
    edges = edge_furniture(
        [line.text for line in kept], [i for i, line in enumerate(kept) if line.page_break]
    )
    return _drop_lines(kept, lambda index, _: index in edges, dropped) if edges else kept


def _drop_lines(
    lines: list[Line], drop: Callable[[int, Line], bool], dropped: list[tuple[int, int]]
) -> list[Line]:
    """``lines`` but those ``drop`` takes (their spans added to ``dropped``), the next line
    holding text after each marked a page break."""
    kept: list[Line] = []
    page_break = False
    for index, line in enumerate(lines):
        if drop(index, line):
            dropped.append((line.start, line.end))
            page_break = True
            continue
        if page_break and not line.blank:
            line = Line(line.text, line.start, True)
            page_break = False
        kept.append(line)
    return kept


def normalise(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> Document:
    """Split ``text`` into :class:`Line` objects, undoing the seed style's doubled spacing."""
    return document(check_input(text, max_chars))


def document(source: str) -> Document:
    """The :class:`Document` of ``source``, checked already (see :func:`normalise`)."""
    dropped: list[tuple[int, int]] = []
    lines = _drop_furniture(_split_lines(source), dropped)
    double = _is_double_spaced(lines)
    if double:
        kept: list[Line] = []
        previous_blank = True
        for line in lines:
            if line.blank and not previous_blank:
                previous_blank = True  # the blank that follows every text line: no meaning
                continue
            kept.append(line)
            previous_blank = line.blank
        lines = kept
    return Document(source=source, lines=lines, double_spaced=double, furniture=dropped)
