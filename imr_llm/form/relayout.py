"""Lay a letter's words back into the form's lines, wherever its line breaks fell.

The form layer finds headings, labels and item markers by their place on a line: a heading is a
line of its own, a passage label starts its line, an outcome marker ends one. That holds for
``pdftotext`` and for OCR of a page, but not for a letter whose paragraphs were re-filled to
another width (copied from a viewer, an e-mail or a document system): there a heading runs on
into the first sentence ("CLINICAL CASE SUMMARY The expert reviewer..."), a label is split over
two lines ("State(s)\\nof Licensure:") or sits mid-line after the previous passage, and an item
header follows the previous rationale's last sentence on the same line.

:func:`relayout` reads the letter's words instead of its lines: it finds the form's phrases with
any whitespace (a line break included) between their words, and rewrites only *whitespace*: a
line break inside a phrase becomes a space, a space before a label or after a heading becomes a
line break. Every other character stays where it was, so the rewritten text has the same length
and every offset in it is an offset in the letter as given: spans need no map back. A letter
whose phrases already sit where the form puts them is returned unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ..inputs.normalise import inline_furniture
from .settled import form_settled, settled
from .text import _CONFUSABLE, ITEM_NUMBER, parse_outcome

#: Between two words of a phrase: spaces, OCR's stray marks, and at most one line break (a
#: blank line ends a paragraph, and no phrase runs over one).
_GAP = r"[ \t|'‘’`.·,_~]*(?:\n[ \t|'‘’`.·,_~]*)?"
_GAP_TIGHT = r"[ \t]*(?:\n[ \t]*)?"


@lru_cache(maxsize=64)
def _phrase(phrase: str, upper: bool = False) -> re.Pattern[str]:
    """``phrase`` with OCR's letter confusions, any gap between words, split over two lines.

    ``upper``: a heading, matched in capitals only (OCR's digit look-alikes allowed), so the
    same words in a sentence ("the following clinical case summary") are no heading.
    """
    parts: list[str] = []
    for ch in phrase:
        if ch == " ":
            parts.append(_GAP)
        elif upper and ch.isalpha():
            alt = {"I": "[I1l|]", "O": "[O0Q]", "S": "[S5]", "B": "[B8]"}.get(ch)
            parts.append(alt or ch)
        elif ch.lower() in _CONFUSABLE:
            parts.append(_CONFUSABLE[ch.lower()])
        elif ch in "()/":
            parts.append(re.escape(ch) + "?")  # "State(s)", "Certification(s)/": OCR drops them
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), 0 if upper else re.IGNORECASE)


#: Labels that start a line of the form: split before them, join them when split.
_LINE_LABELS = (
    "State(s) of Licensure",
    "Certification(s)/Specialty",
    "Claims Administrator guideline",
    "MAXIMUS guideline",
    "Decision rationale",
)
_PASSAGE_LABELS = _LINE_LABELS[2:]
#: Header labels: joined when split over two lines; the header reader takes several a line.
_HEADER_LABELS = ("Case Number", "Date Assigned", "Date of Injury", "Decision Date",
                  "UR Denial Date", "Application Received")  # fmt: skip
HEADINGS = (
    "HOW THE IMR FINAL DETERMINATION WAS MADE",
    "CLINICAL CASE SUMMARY",
    "IMR ISSUES, DECISIONS AND RATIONALES",
)
#: Form sentences that end with a colon and are followed by a list: split after them.
_INTROS = (
    "has the following credentials",
    "set forth below",
    "including all medical records",
)
_COLON = re.compile(r"[ \t]*[:;]")
_ITEMS_INTRO_DAMAGED = re.compile(r"disputed\s+\S{5,20}\s+set\s+forth\s+\S{3,7}[ \t]*[:;]", re.I)
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]?[ \t\n]+(?:[^\w\s]{1,3}[ \t\n]+)*(?=[A-Z0-9(\"“])")
_ALONE = re.compile(r"[ \t]*[^\w\s]{0,3}[ \t]*([A-Za-z0-9][^\s:;]{3,13})[^\w\n]{0,4}[ \t]*")
_MARKER_LINE = re.compile(r"[:;][ \t]*[_~'|-]*[ \t]*([A-Za-z0-9][^\s:;]{3,13})[^\w\n]{0,4}$")


def relayout(text: str) -> str:
    """``text`` with whitespace rewritten so the form's phrases sit where the form puts them.

    Returns ``text`` itself when nothing needed moving (the common case: a letter as
    ``pdftotext`` or OCR of a page gives it, told at once by :func:`settled`).
    """
    if settled(text):
        return text
    chars: list[str] | None = None
    moved = False

    def put(pos: int, ch: str) -> None:
        nonlocal chars
        if chars is None:
            chars = list(text)
        chars[pos] = ch

    def join(m: re.Match[str]) -> bool:
        """Replace line breaks inside a phrase by spaces; True when there was one."""
        inner = text.find("\n", m.start(), m.end())
        if inner < 0:
            return False
        while inner >= 0:
            put(inner, " ")
            inner = text.find("\n", inner + 1, m.end())
        return True

    def split_before(pos: int) -> bool:
        """Start a new line at ``pos`` when text precedes it on its line."""
        line_start = text.rfind("\n", 0, pos) + 1
        if not _words(text[line_start:pos]) or text[pos - 1] not in " \t":
            return False
        put(pos - 1, "\n")
        return True

    def split_after(pos: int) -> bool:
        line_end = text.find("\n", pos)
        line_end = len(text) if line_end < 0 else line_end
        rest = text[pos:line_end]
        if not _words(rest) or not rest[:1].isspace():
            return False
        put(pos, "\n")
        return True

    # The 2016 form's phrases move nothing in a letter that fails settled() by the 2013
    # notice's sign alone (a notice as printed): only the notice's own phrases are looked for.
    form_moves = not form_settled(text)
    if form_moves:
        for label in _LINE_LABELS:
            for m in _phrase(label).finditer(text):
                colon = _COLON.match(text, m.end())
                if colon is None:
                    continue
                moved |= join(m)
                moved |= split_before(m.start())
        for heading in HEADINGS:
            for m in _phrase(heading, upper=True).finditer(text):
                moved |= join(m)
                moved |= split_before(m.start())
                moved |= split_after(m.end())
    # The 2013 notice's own phrases: its headings and labels start lines, and its numbered
    # determinations and item sections ("2) MAXIMUS Federal Services, Inc. has determined...",
    # "2) Regarding the request for ...:") each start one.
    if _NOTICE_SIGN.search(text):
        found: dict[re.Pattern[str], list[re.Match[str]]] = {}  # a pattern in both lists
        for pattern in _notice_patterns():
            found[pattern] = matches = _matches(pattern, text)
            for m in matches:
                moved |= join(m)
                moved |= split_before(m.start())
        for pattern in _notice_after():
            for m in found.get(pattern) or _matches(pattern, text):
                split_after(m.end())
    # Page furniture inside a line goes to a line of its own, where the document drops it.
    # Not a sign of re-filling by itself: an OCR'd page may run a banner into a line too.
    if form_moves:
        for m in inline_furniture(text):
            join(m)  # a banner a re-fill wrapped: one line again
            split_before(m.start())
            split_after(m.end())
    if not moved:
        return text if chars is None else "".join(chars)
    for label in _HEADER_LABELS:
        for m in _phrase(label).finditer(text):
            join(m)
    for intro in _INTROS:
        for m in _phrase(intro).finditer(text):
            colon = _COLON.match(text, m.end())
            if colon is not None:
                join(m)
                split_after(colon.end())
    for m in _ITEMS_INTRO_DAMAGED.finditer(text):  # "set forth balow:", its last word OCR'd
        split_after(m.end())
    assert chars is not None
    text = "".join(chars)
    chars = None
    _split_item_headers(text, put)
    return text if chars is None else "".join(chars)


def _split_item_headers(text: str, put: Callable[[int, str], None]) -> None:
    """Start each item header on its own line where it follows the previous passage.

    Re-filled without blank lines, an item header runs on from the previous rationale's last
    sentence ("... not medically necessary. MRI of the left knee: Upheld"). The header begins
    after the last sentence end before its marker; a partly certified request begins at the
    sentence naming the original request ("X was the original request. ... The remaining IMR
    eligible portion of the original request, Z is: Upheld").
    """
    lines = text.split("\n")
    offsets: list[int] = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    for i, line in enumerate(lines):
        m = _MARKER_LINE.search(line)
        if m is not None and parse_outcome(m.group(1)) is not None:
            marker, after = m.start(), i + 1
        elif (
            (alone := _ALONE.fullmatch(line)) is not None
            and parse_outcome(alone.group(1)) is not None
            and i > 0
            and lines[i - 1].rstrip().endswith((":", ";"))
        ):
            # The outcome alone on its line, after a header that ends with a colon.
            i, after = i - 1, i + 1
            marker = len(lines[i].rstrip()) - 1
        else:
            continue
        nxt = next((j for j in range(after, len(lines)) if lines[j].strip()), None)
        if nxt is None or not _passage_label().match(lines[nxt].lstrip()):
            continue
        # Back from the marker to the paragraph's start or the previous label's line.
        first = i
        while (
            first > 0
            and lines[first - 1].strip()
            and not _passage_label().match(lines[first].lstrip())
        ):
            first -= 1
        lo = offsets[first]
        region = text[lo : offsets[i] + marker]
        ends = [e.end() for e in _SENTENCE_END.finditer(region)]
        if not ends:
            continue
        start = ends[-1]
        if len(_ORIGINAL.findall(region[start:])) == 1:
            # "...portion of the original request, Z is": the header begins at X's sentence.
            named = [w.start() for w in _WAS_ORIGINAL.finditer(region, 0, start)]
            if named:
                start = max((e for e in ends if e <= named[-1]), default=0)
        before = max((e for e in ends if e < start), default=0)
        if start and ITEM_NUMBER.fullmatch(region[before:start].strip()):
            start = before  # "... necessary. 2. MRI of the knee": the number opens the header
        at = lo + start
        if at > 0 and text[at - 1] in " \t" and _words(text[text.rfind("\n", 0, at) + 1 : at]):
            put(at - 1, "\n")


def _words(text: str) -> bool:
    """Whether ``text`` holds a letter or a digit: OCR's stray marks alone are no text."""
    return any(ch.isalnum() for ch in text)


_ORIGINAL = re.compile(r"original\s+request", re.IGNORECASE)
_WAS_ORIGINAL = re.compile(r"\bw\S{1,2}\s+th\S\s+original\s+request", re.IGNORECASE)


#: What only a 2013 notice prints: its phrases are looked for in notices alone (a 2016 letter
#: may say "the form was dated:" or "case summary:" inside a sentence).
_NOTICE_SIGN = re.compile(
    r"Notice\s+of\s+Independent\s+Medical\s+Review\s+Determination"
    r"|INDEPENDENT\s+MEDICAL\s+REVIEW\s+DECISION\s+AND\s+RATIONALE",
    re.IGNORECASE,
)
#: Notice phrases that start a line.
_NOTICE_STARTS = (
    "INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE",
    "Medical Qualifications of the Expert Reviewer:",
    "Case Summary:",
    "Rationale for the Decision:",
    "The Claims Administrator based its decision on",
    "The Expert Reviewer based his/her decision on",
    "The Physician Reviewer based his/her decision on",
    "An application for Independent Medical Review",
    "Dated:",
)
#: Notice labels whose text follows on the next line, and the item section's heading.
_NOTICE_ENDS = (
    "INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE",
    "Medical Qualifications of the Expert Reviewer:",
    "Case Summary:",
    "Rationale for the Decision:",
)


#: How the notice's numbered determinations and item sections start ("2) ..."): a number of
#: one or two digits, then ")".
_NUMBER = r"(?<![\w.])\d{1,2}\)"


def _matches(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """``list(pattern.finditer(text))``; a numbered pattern (a number of one or two digits and
    ")" first) is tried only where a ")" is printed: Python's patterns have no fast scan for
    a start that is a class of characters, and a letter holds few parentheses."""
    if not pattern.pattern.startswith(_NUMBER):
        return list(pattern.finditer(text))
    out: list[re.Match[str]] = []
    done = 0  # matches do not overlap: the next starts at or after the last one's end
    paren = text.find(")")
    while paren >= 0:
        for start in (paren - 2, paren - 1):
            if start >= done:
                m = pattern.match(text, start)
                if m is not None:
                    out.append(m)
                    done = m.end()
        paren = text.find(")", max(paren + 1, done))
    return out


@lru_cache(maxsize=1)
def _notice_patterns() -> tuple[re.Pattern[str], ...]:
    words = ("MAXIMUS Federal Services, Inc. has determined the request for",
             "Regarding the request for")  # fmt: skip
    numbered = re.compile(
        _NUMBER
        + _GAP_TIGHT
        + "(?:"
        + "|".join(_GAP_TIGHT.join(map(re.escape, w.split())) for w in words)
        + ")"
    )
    return (numbered, *(_phrase(p, upper=p.isupper()) for p in _NOTICE_STARTS))


@lru_cache(maxsize=1)
def _notice_after() -> tuple[re.Pattern[str], ...]:
    section = re.compile(_NUMBER + r"\s+Regarding\s+the\s+request\s+for\s[^\n]*?:")
    return (section, *(_phrase(p, upper=p.isupper()) for p in _NOTICE_ENDS))


@lru_cache(maxsize=1)
def _passage_label() -> re.Pattern[str]:
    return re.compile("|".join(_phrase(lb).pattern for lb in _PASSAGE_LABELS), re.IGNORECASE)
