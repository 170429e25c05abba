"""A PDF's letter text, page by page: the text layer where it is usable, OCR where it is not.

Why pypdfium2 (PDFium, pip-only, no system binary): over the 25 corpus PDFs its plain text
(``get_text_range``) gives rules records as right as poppler's ``pdftotext`` renderings the
engines were built on (every field of every letter), about forty times faster than pdfplumber,
whose ``layout=True`` text also read one letter worse; ``benchmarks/pdf_pages.py`` prints the
comparison. PDFium writes a word hyphenated across a line break as ``anti\\ufffedepressants``
(the break removed); it is put back as ``anti-`` + newline, as ``pdftotext -layout`` prints it.

Pages are joined with a form feed, as ``pdftotext`` does, and :attr:`PdfText.page_starts` keeps
where each page starts in the joined text, so every evidence span can say its page.

A page's text layer is *usable* when it has at least :data:`MIN_PAGE_CHARS` letters or digits
and no more than :data:`MAX_JUNK_SHARE` of its characters are unmapped glyphs (U+FFFD, private
use, control characters: a font without a Unicode map). A page without one that shows an image
(a scan, a fax) or whose text is mostly unmapped glyphs is rendered at :data:`OCR_DPI` and read
by an engine from :mod:`imr_llm.inputs.ocr`; a page with little text and no image (blank, or a page
number alone) keeps what it has.

PDFium is not thread-safe, so every call into it holds one lock; OCR runs outside it, one page
at a time (an engine uses every core for a page).
"""

from __future__ import annotations

import logging
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from ..errors import CorruptPdfError, EncryptedPdfError, OcrUnavailableError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .ocr import OcrEngine, OcrPage

log = logging.getLogger(__name__)

#: The pip command that installs the default OCR engine (named in every OcrUnavailableError).
OCR_INSTALL = "pip install 'imr-llm[ocr]'"
#: Letters and digits a page's text layer needs to count as usable (a page number, a fax
#: banner or a scanner's stamp over a scanned image has fewer; a letter's shortest last page,
#: a few lines of a rationale and the signature, has hundreds).
MIN_PAGE_CHARS = 32
#: Most unmapped glyphs a usable text layer may have, as a share of its non-space characters.
MAX_JUNK_SHARE = 0.1
#: Resolution pages are rendered at for OCR. On corpus pages read as scans, 200 dpi gave both
#: engines a character error rate no higher than 300 dpi, and as fast or faster (tesseract
#: 9.1 against 11.0 s a page on a busy 2-core machine; ``benchmarks/pdf_pages.py --dpi``). It
#: is also what the gold OCR renderings used, and a fax's own resolution.
OCR_DPI = 200

PageSource = Literal["text_layer", "ocr", "blank", "unread"]


@dataclass(frozen=True, slots=True)
class OcrSpan:
    """One line the OCR engine read: ``text[start:end]`` of the letter, with its confidence.

    ``char_confidences`` (when the engine gives them) has one score per character of the line,
    so a value's place can be judged by the characters under it, not the line's mean.
    """

    start: int
    end: int
    confidence: float | None
    page: int
    char_confidences: tuple[float, ...] | None = None

    def scores(self, start: int, end: int) -> tuple[float, ...] | None:
        """The scores of the line's characters in the letter's ``[start, end)``: per character
        where the engine gives them, else the line's confidence for each (None if neither).
        An empty place inside the line gives the score of the character there."""
        lo, hi = max(start, self.start) - self.start, min(end, self.end) - self.start
        if hi <= lo:
            lo = min(max(lo, 0), max(self.end - self.start - 1, 0))
            hi = lo + 1
        chars = self.char_confidences
        if chars is not None and len(chars) == self.end - self.start:
            return chars[lo:hi] or None
        return None if self.confidence is None else (self.confidence,) * (hi - lo)

    def min_confidence(self, start: int, end: int) -> float | None:
        """The lowest of :meth:`scores` (None without any)."""
        found = self.scores(start, end)
        return min(found) if found else None


@dataclass(frozen=True)
class PdfText:
    """A PDF's text with its pages: where each starts, which were OCR'd and how well.

    ``unread_pages`` are pages that needed OCR when no engine was available (their text layer,
    if any, is kept); a record read from them needs review.
    """

    text: str
    page_starts: list[int]
    sources: list[PageSource]
    ocr_lines: list[OcrSpan] = field(default_factory=list)
    ocr_engine: str | None = None
    ocr_engine_version: str | None = None
    unread_pages: list[int] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return len(self.page_starts)

    @property
    def ocr_pages(self) -> list[int]:
        return [k for k, s in enumerate(self.sources, start=1) if s == "ocr"]

    @property
    def text_from(self) -> Literal["text_layer", "ocr", "mixed"]:
        """``ocr`` when every page with text was OCR'd, ``text_layer`` when none was."""
        read = {s for s in self.sources if s in ("text_layer", "ocr", "unread")}
        if read == {"ocr"}:
            return "ocr"
        return "mixed" if "ocr" in read else "text_layer"

    @property
    def ocr_mean_confidence(self) -> float | None:
        """Mean confidence over the OCR'd lines that have one (None without any)."""
        scores = [line.confidence for line in self.ocr_lines if line.confidence is not None]
        return round(statistics.fmean(scores), 4) if scores else None


#: One lock for every call into PDFium (it is not thread-safe).
_PDFIUM = threading.Lock()
#: One page OCR'd at a time: each engine already uses every core for one page, and an engine
#: object is shared between the threads of a batch (its models load once).
_OCR = threading.Lock()


def _pdfium() -> Any:
    import pypdfium2

    return pypdfium2


def page_text(raw: str) -> str:
    """A page's text as PDFium gives it, in the line form ``pdftotext`` prints.

    Line ends become ``\\n``; a hyphen PDFium marks as a line-break hyphen (U+FFFE, the break
    removed) becomes ``-`` and a line break again; NULs are dropped.
    """
    return (
        raw.replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\ufffe", "-\n")
        .replace("\x00", "")
        .rstrip()
    )


def _junk(text: str) -> int:
    """Unmapped glyphs: U+FFFD, private-use and control characters (a font with no Unicode map)."""
    return sum(
        ch == "\ufffd" or "\ue000" <= ch <= "\uf8ff" or (ord(ch) < 32 and ch not in "\t\n\f")
        for ch in text
    )


def _junk_heavy(text: str) -> bool:
    visible = sum(not ch.isspace() for ch in text)
    return _junk(text) > MAX_JUNK_SHARE * visible


def usable(text: str) -> bool:
    """Whether a page's text layer carries its text (see the module docstring)."""
    return sum(ch.isalnum() for ch in text) >= MIN_PAGE_CHARS and not _junk_heavy(text)


def _needs_ocr(page: Any, text: str) -> bool:
    """A page without a usable text layer that shows an image (a scan) or unmapped glyphs.

    A page with little text and no image (a blank page, one with only a page number) has
    nothing more to read, so it keeps its text layer.
    """
    if usable(text):
        return False
    if text and _junk_heavy(text):
        return True
    pdfium = _pdfium()
    images = page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=4)
    return next(iter(images), None) is not None


def _open(data: bytes) -> Any:
    """The PDFium document for ``data``, or the typed error saying why it cannot be read."""
    pdfium = _pdfium()
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)  # pypdfium2 4.20 gives only the message
        if code == 4 or (code is None and "password" in str(exc).lower()):  # FPDF_ERR_PASSWORD
            raise EncryptedPdfError(
                "the PDF is encrypted with a password; save an unprotected copy and read that"
            ) from None
        if code == 0:  # refused, with no reason given (no pages...)
            raise CorruptPdfError("the PDF cannot be parsed (no pages PDFium can read)") from None
        why = str(exc).rpartition("PDFium: ")[2].rstrip(").") or "unknown error"
        raise CorruptPdfError(f"the PDF cannot be parsed, truncated or damaged ({why})") from None
    if len(doc) == 0:
        doc.close()
        raise CorruptPdfError("the PDF has no pages")
    return doc


def _render(page: Any, dpi: int) -> Any:
    """The page as a greyscale PIL image at ``dpi`` (its ``info['dpi']`` says so)."""
    try:
        image = page.render(scale=dpi / 72, grayscale=True).to_pil()
    except ImportError as exc:  # pillow, which the [ocr] extra installs
        raise OcrUnavailableError(
            f"rendering PDF pages for OCR needs Pillow; install OCR support with: {OCR_INSTALL}"
        ) from exc
    image.info["dpi"] = (dpi, dpi)
    return image


@lru_cache(maxsize=4)
def _engine(name: str | None) -> OcrEngine:
    """The OCR engine, loaded once per name (loading models takes seconds)."""
    try:
        from .ocr import get_ocr_engine
    except ImportError as exc:  # pragma: no cover - the module ships with the package
        raise OcrUnavailableError(f"OCR is not available; install it with: {OCR_INSTALL}") from exc
    return get_ocr_engine(name)


_ENGINE_LOCK = threading.Lock()


def ocr_engine(name: str | None = None) -> OcrEngine:
    """The OCR engine ``name`` (None: the default), or :class:`OcrUnavailableError`."""
    with _ENGINE_LOCK:
        return _engine(name)


def read_pdf(
    data: bytes,
    *,
    ocr_engine_name: str | None = None,
    engine: OcrEngine | None = None,
    ocr_all: bool = False,
    dpi: int = OCR_DPI,
    page_ocr: PageOcr | None = None,
) -> PdfText:
    """The letter text of the PDF ``data``, page by page.

    Args:
        data: The PDF's bytes.
        ocr_engine_name: The OCR engine for pages without a usable text layer (None: default).
        engine: An engine object to use instead (tests, benchmarks).
        ocr_all: OCR every page, text layer or not (benchmarks of the OCR path).
        dpi: Resolution pages are rendered at for OCR.
        page_ocr: Reads the pages that need OCR instead of this process, one page at a time
            (:mod:`imr_llm.many.ray` spreads them over a cluster's workers); called as
            ``page_ocr(data, numbers, dpi)``, it returns each page's :class:`OcrPage`.

    Raises:
        EncryptedPdfError: the PDF needs a password.
        CorruptPdfError: the PDF cannot be parsed, or a page cannot be loaded.
        OcrUnavailableError: no page has a usable text layer and no OCR engine is installed.
    """
    with _PDFIUM:
        doc = _open(data)
        try:
            texts, needs_ocr = _text_layer(doc, ocr_all)
        finally:
            doc.close()
    if not needs_ocr:
        return _assemble(texts, ["text_layer" if t else "blank" for t in texts], {})
    if page_ocr is not None and engine is None:
        try:
            read = page_ocr(data, needs_ocr, dpi)
        except OcrUnavailableError:
            if not any(usable(t) for t in texts):
                raise
            return _unread(texts, needs_ocr)
        first = read[needs_ocr[0]]
        sources = [
            "ocr" if k in read else ("text_layer" if t else "blank")
            for k, t in enumerate(texts, start=1)
        ]
        return _assemble(texts, sources, read, engine=_Named(first.engine, first.engine_version))
    if engine is None:
        try:
            engine = ocr_engine(ocr_engine_name)
        except OcrUnavailableError:
            if any(usable(t) for t in texts):
                return _unread(texts, needs_ocr)
            raise
    pages = _ocr_pages(data, needs_ocr, engine, dpi)
    sources = [
        "ocr" if k in pages else ("text_layer" if t else "blank")
        for k, t in enumerate(texts, start=1)
    ]
    return _assemble(texts, sources, pages, engine=engine)


#: What ``read_pdf(page_ocr=...)`` calls: ``(pdf bytes, 1-based page numbers, dpi)`` to each
#: page's OCR result.
PageOcr = Callable[[bytes, list[int], int], "dict[int, OcrPage]"]


@dataclass(frozen=True)
class _Named:
    """The engine's name and version, as pages read elsewhere report them."""

    name: str
    version: str


def _unread(texts: list[str], needs_ocr: list[int]) -> PdfText:
    """Other pages have text: read what there is, and flag the record for review."""
    log.warning("pages %s need OCR and no OCR engine is installed", needs_ocr)
    sources: list[PageSource] = [
        "unread" if k in needs_ocr else ("text_layer" if t else "blank")
        for k, t in enumerate(texts, start=1)
    ]
    return _assemble(texts, sources, {}, unread=needs_ocr)


def ocr_page(data: bytes, number: int, engine: OcrEngine, dpi: int = OCR_DPI) -> OcrPage:
    """Render page ``number`` (1-based) of the PDF ``data`` and read it with ``engine``: one
    page, as :func:`read_pdf` reads each page that needs OCR (the unit of work a cluster
    spreads)."""
    return _ocr_pages(data, [number], engine, dpi)[number]


def _text_layer(doc: Any, ocr_all: bool) -> tuple[list[str], list[int]]:
    """Each page's text layer, and the pages (1-based) that need OCR."""
    pdfium = _pdfium()
    texts: list[str] = []
    needs_ocr: list[int] = []
    for index in range(len(doc)):
        try:
            page = doc[index]
            textpage = page.get_textpage()
            text = page_text(textpage.get_text_range())
            textpage.close()
            if ocr_all or _needs_ocr(page, text):
                needs_ocr.append(index + 1)
            page.close()
        except pdfium.PdfiumError as exc:
            raise CorruptPdfError(f"page {index + 1} of the PDF cannot be read: {exc}") from None
        texts.append(text)
    return texts, needs_ocr


def _ocr_pages(data: bytes, numbers: list[int], engine: OcrEngine, dpi: int) -> dict[int, OcrPage]:
    """OCR the pages ``numbers`` (1-based): each rendered under the PDFium lock, read outside."""
    out: dict[int, OcrPage] = {}
    for number in numbers:
        with _PDFIUM:
            doc = _open(data)
            try:
                page = doc[number - 1]
                image = _render(page, dpi)
                page.close()
            finally:
                doc.close()
        with _OCR:
            out[number] = engine.recognise(image)
        log.debug("OCR'd page %d with %s", number, engine.name)
    return out


def _assemble(
    texts: list[str],
    sources: list[PageSource],
    ocr: dict[int, OcrPage],
    *,
    engine: OcrEngine | _Named | None = None,
    unread: list[int] | None = None,
) -> PdfText:
    """Join the pages with form feeds, keeping where each page and each OCR'd line starts."""
    parts: list[str] = []
    starts: list[int] = []
    lines: list[OcrSpan] = []
    position = 0
    for number, (text, source) in enumerate(zip(texts, sources, strict=True), start=1):
        if number > 1:
            parts.append("\n\f")
            position += 2
        starts.append(position)
        if source == "ocr":
            page = ocr[number]
            chunks: list[str] = []
            offset = position
            for k, line in enumerate(page.lines):
                if k:
                    offset += 1
                lines.append(
                    OcrSpan(offset, offset + len(line.text), line.confidence, number,
                            line.char_confidences)
                )  # fmt: skip
                chunks.append(line.text)
                offset += len(line.text)
            text = "\n".join(chunks)
        parts.append(text)
        position += len(text)
    return PdfText(
        text="".join(parts),
        page_starts=starts,
        sources=sources,
        ocr_lines=lines,
        ocr_engine=engine.name if engine is not None and ocr else None,
        ocr_engine_version=engine.version if engine is not None and ocr else None,
        unread_pages=list(unread or []),
    )
