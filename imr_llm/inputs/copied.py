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
  end so, or some do and every "=" is such an escape, the text is decoded.
- **Line numbers.** A copy out of a code viewer or an editor that numbers lines has a number
  before every line, which would sit inside every value that spans lines and hide every label
  at a line's start. Where (nearly) every line is numbered, one more than the line before,
  the numbers are blanked out with spaces: offsets do not move.
- **Line breaks of other systems.** A lone carriage return (old Mac text, some exports), the
  vertical tab a word processor writes for a line break, the Unicode line and paragraph
  separators and NEL end a line as "\\n" does; each is read as "\\n" (same length: offsets
  do not move).
- **Typographic and full-width forms of ASCII characters.** A PDF's text layer may print the
  hyphen of "CM16-0224814" or "32-year-old" as the Unicode hyphen or the non-breaking hyphen,
  a word processor a minus sign; an OCR engine trained on Chinese and English (RapidOCR's
  default models) reads a colon or a bracket as its full-width form ("Upheld：", "（ICD9"). No
  label, date or case number would match; each is read as its ASCII character (same length:
  offsets do not move). An en or figure dash is read as "-" only between two letters or
  digits ("10–11–2016"), where it stands for one; a dash between words is left as it is.
- **Markdown escapes.** A letter converted to Markdown (a document converter, a notes app)
  has a backslash before the punctuation Markdown would read as markup: "Ultram 50mg \\#30",
  "\\*". A letter prints no backslash, so where every backslash stands before ASCII
  punctuation and two or more before Markdown's own characters, they are taken out (OCR's
  stray backslash, "\\/" read for a V, is left).
- **Mojibake.** A letter's UTF-8 text read as Windows-1252 (or Latin-1) on its way (an
  e-mail, an export, a web form) has each character beyond ASCII as two to four others: "â€™"
  for "’", "â€“" for "–", "Â" before a no-break space. A passage would keep them, and an age
  ("52â€“yearâ€“old") or a label beside them would not read. Each such run that is the
  Windows-1252 (or Latin-1) reading of one UTF-8 character is read as that character, twice
  where the text was misread twice; each stands where its run does.
- **Markup.** A letter saved from a web page, a webmail or a document system as HTML carries
  tags (``<br>``, ``<p>``, table cells) and entities (``&amp;`` in "Physical Medicine &amp;
  Rehabilitation"). Where the text is HTML (it opens as a page, or holds several of its tags),
  tags are read as the line breaks or spaces they print, head, style and script parts and
  comments as nothing, and entities as their characters.

:func:`as_read` does all of it; both engines call :func:`copy_read` first.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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


#: A line number a viewer or an editor prints before each line ("  12 ", "12:", "12|"), after any
#: indentation, and what follows it on its line.
_LINE_NUMBER = re.compile(r"^([ \t]*\d{1,5}(?:[ \t]|[:|.](?:[ \t]|$)|$)[ \t]?)(\f?)", re.MULTILINE)
#: The share of lines that must be numbered, and of those one more than the line before, for
#: a text to be numbered line by line: a letter numbers lists and determinations, never its
#: every line in a run.
NUMBERED_SHARE = 0.9


def unnumber(text: str) -> str:
    """``text`` with the line numbers a viewer or an editor printed before its lines blanked
    out (same length; a page's form feed after the number moves before it), where at least
    :data:`NUMBERED_SHARE` of its lines are numbered, nearly all one more than the line before;
    else ``text`` itself."""
    if not text.lstrip(" \t\f")[:1].isdigit():
        return text  # the common case: a numbered text's first line is numbered
    lines = [line for line in text.split("\n") if line.strip()]
    found = list(_LINE_NUMBER.finditer(text))
    if not lines or len(found) < NUMBERED_SHARE * len(lines):
        return text
    numbers = [int(m.group(1).strip(" \t:|.")) for m in found]
    steps = sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if b == a + 1)
    if steps < NUMBERED_SHARE * (len(numbers) - 1):
        return text
    return _LINE_NUMBER.sub(lambda m: m.group(2) + " " * len(m.group(1)), text)


#: A quoted-printable escape: a soft line break ("=" ending a line), or a run of escaped bytes
#: ("=E2=80=99", "=20", "=3D").
_QP = re.compile(r"(?:=\r?\n|=[0-9A-F]{2})+")
_ESCAPE = re.compile(r"=[0-9A-F]{2}")
#: The share of lines a soft line break must end for a text to be quoted-printable: a letter's
#: own lines never end with "=", an e-mail's encoder ends every long line so.
QP_SHARE = 0.2
#: Or, with fewer soft breaks: this many escapes at least, and no "=" that is not one.
QP_MIN_ESCAPES = 3


def _all_escapes(text: str) -> bool:
    """Whether every "=" of ``text`` is a quoted-printable escape (a soft break or two hex
    digits), as in an encoder's output, whose "=" itself is written "=3D": a letter whose
    lines are mostly short has few soft breaks, but no bare "=" either."""
    escapes = len(_ESCAPE.findall(text)) + text.count("=\n") + text.count("=\r\n")
    return escapes >= QP_MIN_ESCAPES and escapes == text.count("=")


class _Reading:
    """A reading of ``text`` built piece by piece, and where each piece stands in ``text``:
    stretches kept as they are (:meth:`keep`), and what a matched stretch reads as
    (:meth:`put`: each character of it standing at the whole stretch)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.parts: list[str] = []
        self.origin: list[int] = []
        self.ends: list[int] = []
        self.line_start = True  # whether what is read so far ends a line (spaces aside)

    def _add(self, piece: str) -> None:
        self.parts.append(piece)
        if piece.strip(" \t"):
            self.line_start = piece.rstrip(" \t").endswith("\n")

    def keep(self, start: int, end: int) -> None:
        self._add(self.text[start:end])
        self.origin.extend(range(start, end))
        self.ends.extend(range(start + 1, end + 1))

    def put(self, piece: str, start: int, end: int) -> None:
        if piece:
            self._add(piece)
            self.origin.extend([start] * len(piece))
            self.ends.extend([end] * len(piece))

    def done(self, at: int) -> Stripped:
        """The reading, the text from ``at`` on kept as it is."""
        self.keep(at, len(self.text))
        self.origin.append(len(self.text))
        return Stripped("".join(self.parts), tuple(self.origin), tuple(self.ends))


def decode_printable(text: str) -> Stripped:
    """``text`` decoded from quoted-printable (an e-mail's raw source: long lines broken with
    "=" at their ends, bytes escaped as "=XX"), where at least :data:`QP_SHARE` of its lines
    end with a soft break, or it has a soft break and every "=" in it is an escape; else
    ``text`` itself. Each decoded character stands at its escape."""
    if "=\n" not in text and "=\r\n" not in text:
        return Stripped(text)
    breaks = text.count("=\n") + text.count("=\r\n")
    if breaks < QP_SHARE * (text.count("\n") + 1) and not _all_escapes(text):
        return Stripped(text)
    read = _Reading(text)
    at = 0
    for m in _QP.finditer(text):
        read.keep(at, m.start())
        # Soft breaks may fall inside a character's bytes ("=E2=80=\n=99"); each character
        # decoded stands where its first byte's escape does.
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        first: int | None = None
        for escape in _ESCAPE.finditer(text, m.start(), m.end()):
            if first is None:
                first = escape.start()
            decoded = decoder.decode(bytes.fromhex(escape.group()[1:]))
            if decoded:
                read.put(decoded, first, escape.end())
                first = None
        tail = decoder.decode(b"", final=True)
        read.put(tail, first if first is not None else m.start(), m.end())
        at = m.end()
    return read.done(at)


#: Characters that end a line as "\\n" does, each read as "\\n": a lone carriage return, the
#: vertical tab (a word processor's manual line break), NEL, the Unicode line and paragraph
#: separators. "\\r\\n" is left as it is (the reading takes it as one line end).
_LINE_BREAKS = re.compile("\r(?!\n)|[\v\x85\u2028\u2029]")


#: Characters that always stand for an ASCII one, each to it: the Unicode hyphen, the
#: non-breaking hyphen, the minus sign and its small and full-width forms; the full-width forms
#: of ASCII's printing characters (U+FF01 to U+FF5E) and the ideographic space.
_AS_ASCII = {0x2010: "-", 0x2011: "-", 0x2212: "-", 0xFE63: "-", 0x3000: " "} | {
    code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)
}
_AS_ASCII_CHARS = "".join(map(chr, _AS_ASCII))
#: A figure dash or an en dash between two letters or digits ("10–11–2016"), standing for a
#: hyphen.
_DASH_IN_WORD = re.compile(r"(?<=[^\W_])[\u2012\u2013](?=[^\W_])")


def unify_characters(text: str) -> str:
    """``text`` with the typographic and full-width forms of ASCII characters read as those
    (:data:`_AS_ASCII`; an en or figure dash between letters or digits as "-"); the same
    length, so offsets do not move. ``text`` itself where it has none (ASCII text costs one
    test)."""
    if text.isascii():
        return text
    unified = text
    if any(ch in text for ch in _AS_ASCII_CHARS):
        unified = unified.translate(_AS_ASCII)
    if "\u2012" in unified or "\u2013" in unified:
        unified = _DASH_IN_WORD.sub("-", unified)
    return text if unified == text else unified


def unify_line_breaks(text: str) -> str:
    """``text`` with every other line-ending character (:data:`_LINE_BREAKS`) read as "\\n";
    the same length, so offsets do not move. ``text`` itself where it has none."""
    if (
        "\r" not in text
        and "\v" not in text
        and (text.isascii() or not any(ch in text for ch in "\x85\u2028\u2029"))
    ):
        return text
    unified = _LINE_BREAKS.sub("\n", text)
    return text if unified == text else unified


#: Tags that start or end a block of text a browser prints on a line of its own.
_BLOCK_TAGS = frozenset(
    "br p div pre tr li ul ol table hr h1 h2 h3 h4 h5 h6 blockquote body html section article"
    .split()
)  # fmt: skip
#: Any tag, comment, or part a browser does not print (head, style, script), whole.
_MARKUP = re.compile(
    r"<!--.*?-->|<(head|style|script)\b[^>]*>.*?</\1\s*>|<!doctype[^>]*>"
    r"|</?([a-z][a-z0-9]*)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*/?>"
    r"|&(?:#[0-9]{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});",
    re.IGNORECASE | re.DOTALL,
)
#: Tags no letter's text holds; a text with :data:`HTML_TAGS_NEEDED` of them (or opening as a
#: page) is HTML.
_HTML_TAG = re.compile(r"<(?:!doctype|html|body|br|p|div|pre|span|td|tr|table|font)\b[^>]{0,200}>",
                       re.IGNORECASE)  # fmt: skip
HTML_TAGS_NEEDED = 3


def is_markup(text: str) -> bool:
    """Whether ``text`` is HTML: it opens with a page's first tag, or holds at least
    :data:`HTML_TAGS_NEEDED` tags no letter prints ("<5/10" in a rationale is no tag)."""
    if "<" not in text:
        return False
    head = text.lstrip()[:15].lower()
    if head.startswith(("<!doctype", "<html")):
        return True
    found = 0
    for _ in _HTML_TAG.finditer(text):
        found += 1
        if found >= HTML_TAGS_NEEDED:
            return True
    return False


def _printed(name: str, text: str, end: int, line_start: bool) -> str:
    """What a tag ending at ``end`` prints: a line break for ``<br>`` or a block's edge, a space
    for a table cell, else nothing. As a browser shows them, a block's edge at a line start
    (one block closing where the next opens) breaks no line again, and no tag breaks a line
    the text breaks right after it."""
    lowered = name.lower()
    if lowered in ("td", "th"):
        return " "
    if lowered not in _BLOCK_TAGS or text.startswith(("\n", "\r\n"), end):
        return ""
    return "" if line_start and lowered != "br" else "\n"


def from_markup(text: str) -> Stripped:
    """``text`` read as the page it marks up (:func:`is_markup`): tags as the breaks or spaces
    they print, unprinted parts as nothing, entities as their characters (each standing at
    its entity); else ``text`` itself."""
    if not is_markup(text):
        return Stripped(text)
    import html  # only for a page: its entity tables cost every import otherwise

    read = _Reading(text)
    at = 0
    for m in _MARKUP.finditer(text):
        read.keep(at, m.start())
        found = m.group()
        if found.startswith("&"):
            shown = html.unescape(found)
        elif m.group(2):
            shown = _printed(m.group(2), text, m.end(), read.line_start)
        else:
            shown = ""
        read.put(shown, m.start(), m.end())
        at = m.end()
    return read.done(at)


#: A Markdown escape: a backslash before any ASCII punctuation (CommonMark's rule).
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


#: The characters a Markdown writer escapes because Markdown would read them as markup.
_MD_MARKUP = frozenset("#*_[]`<>|")
#: How many escapes of those a text must hold to be Markdown: OCR reads a stray backslash now
#: and then ("\\/" for a V, "\\S"), never two before Markdown's own characters.
MD_ESCAPES = 2


def unescape_markdown(text: str) -> Stripped:
    """``text`` without the backslashes of Markdown's escapes ("\\#30" reads "#30"), each
    character standing where its escape does, where it is Markdown's: every backslash before
    ASCII punctuation, and at least :data:`MD_ESCAPES` of them before Markdown's markup
    characters; else ``text`` itself."""
    if "\\" not in text:
        return Stripped(text)
    escapes = list(_MD_ESCAPE.finditer(text))
    if (
        len(escapes) != text.count("\\")
        or sum(m.group(1) in _MD_MARKUP for m in escapes) < MD_ESCAPES
    ):
        return Stripped(text)
    read = _Reading(text)
    at = 0
    for m in escapes:
        read.keep(at, m.start())
        read.put(m.group(1), m.start(), m.end())
        at = m.end()
    return read.done(at) if at else Stripped(text)


def _mojibake_bytes() -> dict[str, int]:
    """Each character a Windows-1252 or Latin-1 reading makes of a byte from 0x80 up, to that
    byte (bytes Windows-1252 leaves undefined read as the C1 controls Latin-1 gives them)."""
    table: dict[str, int] = {}
    for byte in range(0x80, 0x100):
        table[chr(byte)] = byte  # Latin-1's reading, and Windows-1252's above 0x9F
        with suppress(UnicodeDecodeError):
            table[bytes([byte]).decode("cp1252")] = byte
    return table


_MOJIBAKE_BYTES = _mojibake_bytes()
_CONTINUATION = "".join(re.escape(ch) for ch, b in _MOJIBAKE_BYTES.items() if b < 0xC0)
#: One UTF-8 character read byte by byte: a lead byte (0xC2 to 0xF4, "Â" to "ô" in either
#: reading) and as many continuation bytes (0x80 to 0xBF) as the lead byte says.
#: The lead bytes of the characters a letter prints beyond ASCII, as either reading shows
#: them: "Â" (U+0080 to U+00BF: a no-break space, "°", "½"), "Ã" (accented Latin letters),
#: "â" (U+2000 to U+2FFF: quotes, dashes, bullets), "ï" (a byte-order mark, full-width
#: forms), "ð" (U+10000 on). A text holding none is read as it is without the pattern's scan;
#: a run of another lead (Greek, Cyrillic) is left, as it was before this reading.
_MOJIBAKE_LEADS = ("\u00c2", "\u00c3", "\u00e2", "\u00ef", "\u00f0")
_MOJIBAKE = re.compile(
    f"[\u00c2-\u00df][{_CONTINUATION}]|[\u00e0-\u00ef][{_CONTINUATION}]{{2}}"
    f"|[\u00f0-\u00f4][{_CONTINUATION}]{{3}}"
)


def fix_mojibake(text: str) -> Stripped:
    """``text`` with each run that is a Windows-1252 or Latin-1 reading of one UTF-8
    character's bytes read as that character, standing where its run does; ``text`` itself
    where it has none (ASCII text costs one test).

    ftfy (``fix_encoding``) repairs this and more, but says nothing of where each character
    came from, and the record's spans must index the text as given; the runs are few and
    their form exact (a lead byte and its continuation bytes, decoding as UTF-8), which a
    letter's own accented words ("José", "café") never take."""
    if text.isascii() or not any(lead in text for lead in _MOJIBAKE_LEADS):
        return Stripped(text)  # the common cases: one test, or a few finds
    read: _Reading | None = None
    at = 0
    for m in _MOJIBAKE.finditer(text):
        try:
            character = bytes(_MOJIBAKE_BYTES[ch] for ch in m.group()).decode("utf-8")
        except UnicodeDecodeError:
            continue  # an overlong form or a surrogate: no character's bytes
        read = read or _Reading(text)
        read.keep(at, m.start())
        read.put(character, m.start(), m.end())
        at = m.end()
    return read.done(at) if read is not None else Stripped(text)


def _then(first: Stripped, second: Stripped) -> Stripped:
    """``second`` (a reading of ``first.text``) as a reading of the text ``first`` read."""
    if not first.origin:
        return second
    if not second.origin:
        return Stripped(second.text, first.origin, first.ends)
    origin = tuple(first.origin[at] for at in second.origin)
    ends = tuple(first.ends[end - 1] for end in second.ends)
    return Stripped(second.text, origin, ends)


def as_read(text: str) -> Stripped:
    """``text`` as the engines read it: decoded from quoted-printable, its mojibake read as
    the characters it stands for (twice misread, twice), read from its markup, Markdown's
    escapes taken out,
    line breaks of other systems read as "\\n", typographic and full-width characters as
    ASCII, line numbers and e-mail quote marks blanked,
    characters that print nothing taken out (see the module's docstring)."""
    decoded = decode_printable(text)
    for _ in range(2):  # a text misread twice holds the first misreading's runs misread again
        repaired = fix_mojibake(decoded.text)
        if not repaired.origin:
            break
        decoded = _then(decoded, repaired)
    page = _then(decoded, from_markup(decoded.text))
    page = _then(page, unescape_markdown(page.text))
    read = strip_invisible(unquote(unnumber(unify_characters(unify_line_breaks(page.text)))))
    return _then(page, read)


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
