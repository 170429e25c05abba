"""What a copy of a letter adds that the letter does not print, taken out before it is read.

- **Characters that print nothing.** Text copied out of a web page, a viewer or a document
  system carries characters no one sees: soft hyphens (where a word may break), zero-width
  spaces and joiners, direction marks, a byte-order mark. Inside a word they split it for
  every pattern and every comparison, so a letter that reads perfectly on screen would have
  its values unread or flagged. Both engines read the text without them; the record's spans
  are then moved back to index the text as given
  (:func:`imr_llm.record.builder.restore_spans`), so they still point at the value in the
  caller's own string.
- **E-mail quote marks.** A letter forwarded or replied to in an e-mail has "> " before
  every line, which would sit inside every value that spans lines. Where (nearly) every line
  starts so, the marks are blanked out with spaces: offsets do not move.

:func:`as_read` does both; both engines call it first.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

#: Soft hyphen, zero-width space, non-joiner and joiner, left-to-right and right-to-left
#: marks, word joiner, zero-width no-break space (the byte-order mark).
INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
_TABLE = dict.fromkeys(map(ord, INVISIBLE))


@dataclass(frozen=True, slots=True)
class Stripped:
    """A text without its invisible characters, and where they were.

    ``removed`` holds, for each character taken out (in order), its offset in the text
    without it and the ones before it: the place in :attr:`text` it stood before."""

    text: str
    removed: tuple[int, ...] = ()

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span ``[start, end)`` of :attr:`text` as a span of the text as given: from its
        first character to its last, the invisible ones between included."""
        if not self.removed or end <= start:
            shift = bisect_right(self.removed, start) if self.removed else 0
            return start + shift, end + shift
        first = start + bisect_right(self.removed, start)
        last = end - 1 + bisect_right(self.removed, end - 1)
        return first, last + 1


#: An e-mail quote prefix: ">" marks (nested ones too), each perhaps followed by a space, after
#: any indentation (and a page's form feed).
_QUOTE = re.compile(r"^[ \t\f]*(?:>[ \t]?)+", re.MULTILINE)
#: The share of non-blank lines that must be quoted for the text to be a quoted e-mail: a
#: letter's own lines never start with ">", a forward's own header lines may not be quoted.
QUOTED_SHARE = 0.9


def unquote(text: str) -> str:
    """``text`` with e-mail quote marks at line starts blanked out (same length), where at
    least :data:`QUOTED_SHARE` of its non-blank lines have them; else ``text`` itself."""
    if ">" not in text:
        return text
    marked = text.count("\n>") + text.count("\n >") + text.count("\n\f>") + text.startswith(">")
    if marked < 0.5 * (text.count("\n") + 1):
        return text  # the common case, told without reading the lines
    lines = [line for line in text.splitlines() if line.strip()]
    quoted = [m for m in _QUOTE.finditer(text) if ">" in m.group()]
    if not lines or len(quoted) < QUOTED_SHARE * len(lines):
        return text
    # A page's form feed before the marks stays: it still ends the page.
    return _QUOTE.sub(lambda m: re.sub(r"[^\f]", " ", m.group()), text)


def as_read(text: str) -> Stripped:
    """``text`` as the engines read it: e-mail quote marks blanked, characters that print
    nothing taken out (see the module's docstring)."""
    return strip_invisible(unquote(text))


def strip_invisible(text: str) -> Stripped:
    """``text`` without the characters of :data:`INVISIBLE` (ASCII text has none: it is
    returned as it is, at the cost of one test)."""
    if text.isascii() or not any(ch in text for ch in INVISIBLE):
        return Stripped(text)
    removed: list[int] = []
    for at, ch in enumerate(text):
        if ch in INVISIBLE:
            removed.append(at - len(removed))
    return Stripped(text.translate(_TABLE), tuple(removed))
