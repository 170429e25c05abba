"""What a copy of a letter adds that the letter does not print, taken out before it is read.

- **Characters that print nothing.** Text copied out of a web page, a viewer or a document
  system carries characters no one sees: soft hyphens (where a word may break), zero-width
  spaces and joiners, direction marks, a byte-order mark. Inside a word they split it for
  every pattern and every comparison, so a letter that reads perfectly on screen would have
  its values unread or flagged. Both engines read the text without them; the record's spans
  are then moved back to index the text as given
  (:func:`imr_llm.record.builder.restore_spans`), so they still point at the value in the
  caller's own string. Typographic ligatures ("ﬁ" for "fi", as some PDF text layers keep
  them) are spelled out the same way: "Certiﬁcation(s)" would hide a label.
- **E-mail quote marks.** A letter forwarded or replied to in an e-mail has "> " before
  every line, which would sit inside every value that spans lines. Where (nearly) every line
  starts so, the marks are blanked out with spaces: offsets do not move.
- **Quoted-printable.** An e-mail's raw source breaks long lines with "=" at their ends and
  escapes bytes ("=20", "=E2=80=99"); every value would hold them. Where a fifth of the lines
  end so, the text is decoded.

:func:`as_read` does all of it; both engines call :func:`copy_read` first.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import MultipleLettersError

#: Soft hyphen, zero-width space, non-joiner and joiner, left-to-right and right-to-left
#: marks, word joiner, zero-width no-break space (the byte-order mark).
INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
#: Typographic ligatures some PDF text layers keep as one character ("Certiﬁcation"), with
#: the letters each stands for.
LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
             "\ufb05": "st", "\ufb06": "st"}  # fmt: skip
_CHANGED = INVISIBLE + "".join(LIGATURES)


@dataclass(frozen=True, slots=True)
class Stripped:
    """A text as the engines read it, and where each of its characters stands in the text as
    given.

    ``origin[i]`` is the offset in the given text where character ``i`` of :attr:`text`
    starts (a ligature's letters all stand at the ligature, a decoded character at its first
    byte's escape), ``origin[len(text)]`` the given text's length; ``ends[i]`` where it ends.
    Both empty where the two texts are the same character for character."""

    text: str
    origin: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span ``[start, end)`` of :attr:`text` as a span of the text as given: from its
        first character to its last, the invisible ones between included."""
        if not self.origin:
            return start, end
        if end <= start:
            return self.origin[start], self.origin[start]
        return self.origin[start], self.ends[end - 1]


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


#: A quoted-printable escape: a soft line break ("=" ending a line), or a run of escaped bytes
#: ("=E2=80=99", "=20", "=3D").
_QP = re.compile(r"(?:=\r?\n|=[0-9A-F]{2})+")
_ESCAPE = re.compile(r"=[0-9A-F]{2}")
#: The share of lines a soft line break must end for a text to be quoted-printable: a letter's
#: own lines never end with "=", an e-mail's encoder ends every long line so.
QP_SHARE = 0.2


def decode_printable(text: str) -> Stripped:
    """``text`` decoded from quoted-printable (an e-mail's raw source: long lines broken with
    "=" at their ends, bytes escaped as "=XX"), where at least :data:`QP_SHARE` of its lines
    end with a soft break; else ``text`` itself. Each decoded character stands at its escape."""
    if "=\n" not in text and "=\r\n" not in text:
        return Stripped(text)
    breaks = text.count("=\n") + text.count("=\r\n")
    if breaks < QP_SHARE * (text.count("\n") + 1):
        return Stripped(text)
    parts: list[str] = []
    origin: list[int] = []
    ends: list[int] = []
    at = 0
    for m in _QP.finditer(text):
        parts.append(text[at : m.start()])
        origin.extend(range(at, m.start()))
        ends.extend(range(at + 1, m.start() + 1))
        # Soft breaks may fall inside a character's bytes ("=E2=80=\n=99"); each character
        # decoded stands where its first byte's escape does.
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        first: int | None = None
        for escape in _ESCAPE.finditer(text, m.start(), m.end()):
            if first is None:
                first = escape.start()
            decoded = decoder.decode(bytes.fromhex(escape.group()[1:]))
            if decoded:
                parts.append(decoded)
                origin.extend([first] * len(decoded))
                ends.extend([escape.end()] * len(decoded))
                first = None
        tail = decoder.decode(b"", final=True)
        if tail:
            parts.append(tail)
            origin.extend([first if first is not None else m.start()] * len(tail))
            ends.extend([m.end()] * len(tail))
        at = m.end()
    parts.append(text[at:])
    origin.extend(range(at, len(text)))
    ends.extend(range(at + 1, len(text) + 1))
    origin.append(len(text))
    return Stripped("".join(parts), tuple(origin), tuple(ends))


def as_read(text: str) -> Stripped:
    """``text`` as the engines read it: decoded from quoted-printable, e-mail quote marks
    blanked, characters that print nothing taken out (see the module's docstring)."""
    decoded = decode_printable(text)
    read = strip_invisible(unquote(decoded.text))
    if not decoded.origin:
        return read
    if not read.origin:
        return Stripped(read.text, decoded.origin, decoded.ends)
    origin = tuple(decoded.origin[at] for at in read.origin)
    ends = tuple(decoded.ends[end - 1] for end in read.ends)
    return Stripped(read.text, origin, ends)


def copy_read(text: object) -> Stripped | None:
    """``text`` as the engines read it (:func:`as_read`); None where it is no string or a
    copy added nothing to it, and the engines read ``text`` itself."""
    if not isinstance(text, str):
        return None
    read = as_read(text)
    return None if read.text is text else read


@contextmanager
def offsets_as_given(read: Stripped) -> Iterator[None]:
    """Report the offset of a :class:`~imr_llm.errors.MultipleLettersError` raised while
    ``read.text`` is read in the text as given, as the record's spans are
    (:func:`imr_llm.record.builder.restore_spans`)."""
    try:
        yield
    except MultipleLettersError as exc:
        raise MultipleLettersError(read.original(exc.offset, exc.offset)[0]) from None


def strip_invisible(text: str) -> Stripped:
    """``text`` without the characters of :data:`INVISIBLE` and with each ligature of
    :data:`LIGATURES` spelled out (ASCII text has none: it is returned as it is, at the cost of
    one test)."""
    if text.isascii() or not any(ch in text for ch in _CHANGED):
        return Stripped(text)
    parts: list[str] = []
    origin: list[int] = []
    for at, ch in enumerate(text):
        if ch in INVISIBLE:
            continue
        letters = LIGATURES.get(ch, ch)
        parts.append(letters)
        origin.extend([at] * len(letters))
    ends = tuple(at + 1 for at in origin)
    origin.append(len(text))
    return Stripped("".join(parts), tuple(origin), ends)
