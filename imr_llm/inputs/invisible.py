"""Characters that print nothing, taken out of a letter before it is read.

Text copied out of a web page, a viewer or a document system carries characters no one sees:
soft hyphens (where a word may break), zero-width spaces and joiners, direction marks, a
byte-order mark. Inside a word they split it for every pattern and every comparison, so a
letter that reads perfectly on screen would have its values unread or flagged. They carry no
letter content, so both engines read the text without them; the record's spans are then moved
back to index the text as given (:func:`imr_llm.record.builder.restore_spans`), so they still
point at the value in the caller's own string.
"""

from __future__ import annotations

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
