"""Read a letter from a file, bytes or standard input: its kind, its text, and where that came from.

One reading path for the API (``extract_file``) and the CLI, so a file gives the same record
either way. What a file is, is decided from its bytes, not its name:

- a known binary signature (an image, an archive, a Word file...) is
  :class:`~imr_llm.errors.UnsupportedFileTypeError`, whatever the file is named (a PNG named
  ``.pdf`` too);
- ``%PDF-`` in the first kilobyte is a PDF (:mod:`imr_llm.inputs.pdf`), whatever its name;
- anything else is text, whatever its name (a letter's text saved as ``.pdf`` is read as the
  text it is): UTF-8 (with or without a byte-order mark), UTF-16 or UTF-32 with a byte-order
  mark, UTF-16 without one when every other byte is zero (Windows "Unicode" text), else
  Windows-1252 or Latin-1 (older exports). NUL bytes (0x00) in anything else, or control
  codes among more than one character in a hundred, mean binary content, not text
  (:class:`~imr_llm.errors.UnsupportedFileTypeError`): letter text has neither (none of the
  corpus and gold renderings, OCR'd faxes included, has a single one), random bytes have
  some 23%.

A file's errors name it as it was given (``letters/a.txt: no such file``); the letter's text
passed where a path belongs is told to call ``extract(text)``, not "File name too long".

A file over ``max_file_bytes`` is refused from its size, before it is read whole
(:class:`~imr_llm.errors.FileTooLargeError`).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

from ..errors import (
    FileTooLargeError,
    UnreadableInputError,
    UnsupportedFileTypeError,
)
from ..record.models import InputInfo
from .pdf import OcrSpan, PageOcr, read_pdf

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .ocr import OcrEngine

__all__ = [
    "LetterSource",
    "LetterText",
    "UnreadableInputError",
    "LETTER_SUFFIXES",
    "decode_text",
    "expand_paths",
    "is_uri",
    "open_source",
    "read_letter",
    "read_source",
    "resolved_name",
    "sniff",
]

Kind = Literal["text", "pdf"]

#: Signatures of files that are not letters, and what to call them in the error.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
    (b"PK\x03\x04", "a ZIP archive (or a Word, Excel or OpenDocument file, which are ZIPs)"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (.doc, .xls, .msg)"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"%!PS", "a PostScript file"),
    (b"\x7fELF", "a program"),
)
#: Where a PDF header may sit: readers accept up to a kilobyte of junk before it.
_PDF_HEADER_WITHIN = 1024
#: Byte-order marks, longest first (UTF-32 LE's starts like UTF-16 LE's).
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


@dataclass(frozen=True, slots=True)
class LetterSource:
    """A letter file's bytes, its kind and the name it is reported under (a path, or ``-``).

    ``path`` (the resolved path, ``None`` for stdin and bytes) and ``sha256`` (of the bytes) are
    the letter's stable identity: the same file named two ways is one letter, an edited file is
    a new one. ``--resume`` keys letters by both. The text is read by :meth:`read` (a PDF's
    pages may need OCR, which takes seconds, so it is not done on opening).
    """

    name: str
    data: bytes
    kind: Kind
    path: str | None = None
    sha256: str | None = None

    def read(
        self,
        ocr_engine: str | None = None,
        *,
        engine: OcrEngine | None = None,
        page_ocr: PageOcr | None = None,
    ) -> LetterText:
        """The letter's text and where it came from (see :func:`read_letter`); a file's errors
        name it."""
        try:
            return read_letter(self, ocr_engine, engine=engine, page_ocr=page_ocr)
        except UnreadableInputError as exc:
            if self.path is not None:
                exc.naming(self.name)
            raise

    @property
    def text(self) -> str:
        """The letter's text (a PDF is read again on every call: prefer :meth:`read`)."""
        return self.read().text


@dataclass(frozen=True)
class LetterText:
    """The text the engines read, with what it was read from (``info``) and, for OCR'd pages,
    each line's place and confidence (``ocr_lines``). ``unread_pages`` needed OCR that no
    installed engine could give."""

    text: str
    info: InputInfo
    ocr_lines: tuple[OcrSpan, ...] = ()
    unread_pages: tuple[int, ...] = ()


def sniff(data: bytes, name: str = "") -> Kind:
    """``pdf`` or ``text`` from the bytes, never from the name; a typed error for a known
    binary signature. (Binary content with no signature is refused when it is decoded: see
    :func:`decode_text`.)"""
    head = data[:_PDF_HEADER_WITHIN]
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            named = " (named .pdf, but not a PDF)" if name.lower().endswith(".pdf") else ""
            raise UnsupportedFileTypeError(
                f"is {what}{named}, not a letter: imr-llm reads text files and PDFs"
            )
    if b"%PDF-" in head:
        return "pdf"
    return "text"


#: Control codes (C0 but tab, line feed, vertical tab, form feed and carriage return; DEL; C1)
#: that make decoded bytes binary content when more than this share of the characters...
_BINARY_SHARE = 0.01
#: ...and more than this many: a text file with a stray byte or two is still text.
_BINARY_MIN = 8
_CONTROL_CODES = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _refuse_binary(text: str) -> None:
    """:class:`UnsupportedFileTypeError` for decoded bytes that are no text."""
    if _CONTROL_CODES.search(text) is None:  # every letter: one scan in C, no count
        return
    controls = len(_CONTROL_CODES.findall(text))
    if controls > _BINARY_MIN and controls > _BINARY_SHARE * len(text):
        raise UnsupportedFileTypeError(
            f"is binary content, not letter text or a PDF: {controls:,} of its {len(text):,} "
            "characters are control codes, which text does not have"
        )


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` when every other byte of the start is zero (ASCII in UTF-16)."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 4 or len(data) % 2:
        return None
    zeros_even = sample[0 : 2 * pairs : 2].count(0)
    zeros_odd = sample[1 : 2 * pairs : 2].count(0)
    if zeros_odd >= 0.7 * pairs and zeros_even <= 0.05 * pairs:
        return "utf-16-le"
    if zeros_even >= 0.7 * pairs and zeros_odd <= 0.05 * pairs:
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` for a letter's bytes (see the module docstring for the order).

    Raises:
        UnsupportedFileTypeError: binary content: NUL bytes outside UTF-16/32 text, or more
            control codes than text has.
    """
    text, encoding = _decode(data)
    _refuse_binary(text)
    return text, encoding


def _decode(data: bytes) -> tuple[str, str]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            # The mark declares the encoding; a damaged character is replaced, not a reason to
            # read the whole file in another encoding.
            text = data[len(bom) :].decode(encoding.removesuffix("-sig"), errors="replace")
            return text, encoding
    guessed = _utf16_without_bom(data)
    if guessed is not None:
        try:
            return data.decode(guessed), guessed
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise UnsupportedFileTypeError(
            "is binary content, not letter text or a PDF: it has NUL bytes (0x00), which text "
            "outside UTF-16 and UTF-32 never has"
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # Older exports are often Windows-1252 (curly quotes, dashes)...
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # ...or Latin-1, where every byte is a character, so this cannot fail.
        return data.decode("latin-1"), "latin-1"


def _form_feed_starts(text: str) -> list[int]:
    """Where each page of a text with form feeds starts (``pdftotext`` output); else ``[]``.

    A form feed ending the text (pdftotext ends every page with one) starts no page.
    """
    if "\f" not in text:
        return []
    starts = [0]
    position = text.find("\f")
    while position >= 0:
        if text[position + 1 :].strip():
            starts.append(position + 1)
        position = text.find("\f", position + 1)
    return starts


def read_letter(
    source: LetterSource,
    ocr_engine: str | None = None,
    *,
    engine: OcrEngine | None = None,
    page_ocr: PageOcr | None = None,
) -> LetterText:
    """The text of ``source``: a text file decoded, a PDF's pages read (OCR where needed;
    ``page_ocr`` reads those pages elsewhere, see :func:`~imr_llm.inputs.pdf.read_pdf`).

    Raises:
        UnsupportedFileTypeError: binary content that is not a PDF.
        EncryptedPdfError, CorruptPdfError: a PDF that cannot be read.
        OcrUnavailableError: no page of a PDF has a usable text layer and no OCR engine is
            installed (the message names ``pip install 'imr-llm[ocr]'``).
    """
    if source.kind == "text":
        text, encoding = decode_text(source.data)
        starts = _form_feed_starts(text)
        info = InputInfo(
            kind="text",
            encoding=encoding,
            text_from="file",
            pages=len(starts) or None,
            page_starts=starts,
        )
        return LetterText(text, info)
    pdf = read_pdf(source.data, ocr_engine_name=ocr_engine, engine=engine, page_ocr=page_ocr)
    info = InputInfo(
        kind="pdf",
        text_from=pdf.text_from,
        pages=pdf.pages,
        ocr_pages=pdf.ocr_pages,
        ocr_engine=pdf.ocr_engine,
        ocr_engine_version=pdf.ocr_engine_version,
        ocr_mean_confidence=pdf.ocr_mean_confidence,
        page_starts=pdf.page_starts,
    )
    return LetterText(pdf.text, info, tuple(pdf.ocr_lines), tuple(pdf.unread_pages))


def _read_capped(stream: BinaryIO, limit: int) -> bytes:
    """Read ``stream`` whole, or :class:`FileTooLargeError` once it passes ``limit`` bytes."""
    data = stream.read(limit + 1)
    if len(data) <= limit:
        return data
    size = len(data)
    while chunk := stream.read(1 << 20):  # count the rest without keeping it
        size += len(chunk)
    raise FileTooLargeError(size, limit)


def open_source(
    source: str | os.PathLike[str] | bytes | bytearray | memoryview,
    *,
    max_file_bytes: int,
    name: str | None = None,
) -> LetterSource:
    """A :class:`LetterSource` for a path, ``-`` (standard input) or the file's bytes.

    The size is checked before the file is read whole; the kind is sniffed from the bytes.

    Raises:
        UnreadableInputError: missing, a folder, or unreadable (permissions); a letter's text
            passed where a path belongs.
        FileTooLargeError: over ``max_file_bytes``.
        UnsupportedFileTypeError: a known binary signature (an image, an archive...).

    A file's errors name it, as given.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > max_file_bytes:
            raise FileTooLargeError(len(data), max_file_bytes)
        label = name or "<bytes>"
        return LetterSource(label, data, sniff(data, label), None, hashlib.sha256(data).hexdigest())
    if not isinstance(source, str | os.PathLike):
        raise TypeError(
            f"extract_file() takes a path or the file's bytes, not {type(source).__name__}"
        )
    text_name = os.fspath(source)
    if text_name == "-":
        data = _read_capped(sys.stdin.buffer, max_file_bytes)
        return LetterSource("-", data, sniff(data), None, hashlib.sha256(data).hexdigest())
    try:
        return _open_path(text_name, max_file_bytes, name)
    except UnreadableInputError as exc:
        if not _looks_like_text(text_name):
            exc.naming(name or text_name)
        raise


#: Longer than any file name a file system takes (a name, not a path, is at most 255 bytes).
_NAME_MAX = 255


def _looks_like_text(name: str) -> bool:
    """A "path" that is a letter's text: line breaks, or a word longer than a name can be."""
    return "\n" in name or any(len(part.encode()) > _NAME_MAX for part in name.split(os.sep))


def _not_a_path(name: str) -> UnreadableInputError:
    """The letter's text given to extract_file(): say what to call, without repeating it."""
    return UnreadableInputError(
        f"extract_file() was given text ({len(name):,} characters, "
        f"{name.count(chr(10)) + 1:,} line(s)) where a file's path or bytes belong; "
        "for a letter's text call extract(text)"
    )


def _open_path(text_name: str, max_file_bytes: int, name: str | None) -> LetterSource:
    path = Path(text_name)
    try:
        st = path.stat()
    except FileNotFoundError:
        if _looks_like_text(text_name):
            raise _not_a_path(text_name) from None
        raise UnreadableInputError("no such file") from None
    except OSError as exc:
        if _looks_like_text(text_name):
            raise _not_a_path(text_name) from None
        raise UnreadableInputError(f"cannot be read ({exc.strerror})") from None
    if path.is_dir():
        raise UnreadableInputError("is a directory (pass the letter files inside it)")
    if path.is_file() and st.st_size > max_file_bytes:
        raise FileTooLargeError(st.st_size, max_file_bytes)
    try:
        with path.open("rb") as fh:
            # A pipe or device reports no size: the read itself stops past the limit.
            data = _read_capped(fh, max_file_bytes)
    except OSError as exc:
        raise UnreadableInputError(f"cannot be read ({exc.strerror})") from None
    resolved, digest = str(path.resolve()), hashlib.sha256(data).hexdigest()
    return LetterSource(name or text_name, data, sniff(data, text_name), resolved, digest)


def read_source(name: str, *, max_file_bytes: int | None = None) -> LetterSource:
    """Open one letter for the CLI: a text file, a PDF, or ``-`` for standard input.

    ``max_file_bytes`` defaults to the setting (``IMR_LLM_MAX_FILE_BYTES``).
    """
    if max_file_bytes is None:
        from ..config import load_settings

        max_file_bytes = load_settings().max_file_bytes
    return open_source(name, max_file_bytes=max_file_bytes, name=name)


def resolved_name(name: str) -> str:
    """The path ``name`` stands for, resolved (``-`` stays ``-``): one file, one name."""
    if name == "-":
        return name
    try:
        return str(Path(name).resolve())
    except (OSError, RuntimeError):  # a symlink loop: keep the name as given
        return name


#: What a folder's letters are called: PDFs and text files, whatever the text's encoding (it is
#: read from the bytes, as for any file). Compared without regard to case (``.PDF``, ``.TXT``).
LETTER_SUFFIXES: tuple[str, ...] = (".pdf", ".txt", ".text")


def is_uri(name: str) -> bool:
    """``s3://bucket/key``, ``gs://...``, ``file:///...``: a name for a filesystem other than
    the local one (read by :mod:`imr_llm.many.ray` through pyarrow's filesystems)."""
    scheme, sep, _ = name.partition("://")
    return bool(sep) and scheme.isascii() and scheme.replace("+", "").isalnum()


def _folder_letters(folder: Path) -> list[str]:
    """The letter files under ``folder``, at any depth, sorted by their path inside it.

    Hidden files and folders (a name starting with ``.``) are left out (editor and sync
    litter, ``.git``); symbolic links to files are followed, to folders not (no loops).
    The order is the relative path's parts compared as strings, so a run over the same folder
    reads its letters in the same order on any machine.
    """
    found: list[tuple[tuple[str, ...], str]] = []
    for root, dirs, files in os.walk(folder, onerror=None, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(root)
        for name in files:
            if name.startswith(".") or not name.lower().endswith(LETTER_SUFFIXES):
                continue
            path = base / name
            found.append((path.relative_to(folder).parts, str(path)))
    found.sort()
    return [name for _, name in found]


def expand_paths(names: list[str]) -> tuple[list[str], list[str]]:
    """The letter files ``names`` stand for: a folder becomes the letters inside it (see
    :func:`_folder_letters`), anything else (a file, ``-``, a path that does not exist, a URI)
    stays as given, in the order given. Returns ``(files, empty_folders)``: folders that hold
    no letter file, for the caller to report.

    A file named directly is read whatever its name (its kind comes from its bytes); inside a
    folder only :data:`LETTER_SUFFIXES` count, so a folder's images or spreadsheets are not
    reported as failed letters.
    """
    files: list[str] = []
    empty: list[str] = []
    for name in names:
        if name != "-" and not is_uri(name) and Path(name).is_dir():
            inside = _folder_letters(Path(name))
            if not inside:
                empty.append(name)
            files.extend(inside)
        else:
            files.append(name)
    return files, empty
