"""PDF letters: the text layer with its pages, OCR of pages without one, and every PDF error.

The PDFs are made here, by hand (a few lines of PDF syntax: pages of Courier text, an image
page, an encrypted trailer), so each test says exactly what its file holds. The corpus PDFs
(skipped when ../shared is absent) check the text layer against the corpus labels.
"""

from __future__ import annotations

import io
import json
import zlib
from bisect import bisect_right
from pathlib import Path

import pytest

import imr_llm
from imr_llm import (
    CorruptPdfError,
    EncryptedPdfError,
    OcrUnavailableError,
    UnreadableInputError,
    extract,
    extract_file,
)
from imr_llm.eval.scoring import score_record
from imr_llm.inputs import pdf as pdf_module
from imr_llm.inputs.ocr import OcrLine, OcrPage
from tests.conftest import CORPUS, gold_label, gold_text, requires_corpus

# ----------------------------------------------------------------------------------------------
# Building PDFs
# ----------------------------------------------------------------------------------------------


def _escape(line: str) -> bytes:
    raw = line.encode("cp1252")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def build_pdf(
    pages: list[list[str] | None],
    *,
    encrypt: bool = False,
    image_size: tuple[int, int] = (16, 16),
) -> bytes:
    """A PDF whose pages hold the given lines of Courier text; ``None`` is a page with only a
    grey image (a scan without a text layer). ``encrypt`` adds an /Encrypt dictionary whose
    user password is not empty, so the file cannot be opened without one."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>")
    kids: list[int] = []
    for lines in pages:
        if lines is None:
            w, h = image_size
            pixels = zlib.compress(bytes(200 for _ in range(w * h)))
            image = add(
                b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
                % (w, h, len(pixels), pixels)
            )
            content = b"q 612 0 0 792 0 0 cm /Im0 Do Q"
            resources = b"<< /XObject << /Im0 %d 0 R >> >>" % image
        else:
            body = b"BT /F1 9 Tf 11 TL 30 760 Td " + b"".join(
                b"(" + _escape(line) + b") Tj T* " for line in lines
            )
            content = body + b"ET"
            resources = b"<< /Font << /F1 %d 0 R >> >>" % font
        stream = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources %s "
                b"/Contents %d 0 R >>" % (pages_obj, resources, stream)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    encrypt_ref = b""
    if encrypt:
        secret = add(
            b"<< /Filter /Standard /V 1 /R 2 /P -44 /O <%s> /U <%s> >>" % (b"ab" * 32, b"cd" * 32)
        )
        encrypt_ref = b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (secret, b"01" * 16, b"01" * 16)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root %d 0 R%s >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, catalog, encrypt_ref, xref)
    )
    return out.getvalue()


def paged(text: str, lines_per_page: int = 60) -> list[list[str] | None]:
    """A letter's lines cut into pages (the blank lines of its layout kept)."""
    lines = text.splitlines()
    return [lines[k : k + lines_per_page] for k in range(0, len(lines), lines_per_page)]


LETTER = "gA01"  # a gold letter with a header table, four items and a partly certified one


@pytest.fixture(scope="module")
def letter_pdf() -> bytes:
    return build_pdf(paged(gold_text(LETTER)))


class FakeOcr:
    """An OCR engine that 'reads' each page as given lines (a script, not a model)."""

    name = "fake-ocr"
    version = "0.1"

    def __init__(self, pages: list[list[tuple[str, float | None]]]) -> None:
        self.pages = list(pages)
        self.sizes: list[tuple[int, int]] = []

    def recognise(self, image: object) -> OcrPage:
        self.sizes.append(image.size)  # type: ignore[attr-defined]
        lines = self.pages.pop(0)
        return OcrPage([OcrLine(t, c) for t, c in lines], self.name, self.version)


# ----------------------------------------------------------------------------------------------
# The text layer
# ----------------------------------------------------------------------------------------------


def test_a_text_pdf_gives_the_gold_record_with_pages(letter_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(letter_pdf)
    record = extract_file(path, backend="rules")
    assert record.contract_dict() == gold_label(LETTER)
    info = record.metadata.input
    expected_pages = len(paged(gold_text(LETTER)))
    assert expected_pages >= 2
    assert info.kind == "pdf" and info.text_from == "text_layer" and info.encoding is None
    assert info.pages == expected_pages and len(info.page_starts) == expected_pages
    assert info.ocr_pages == [] and info.ocr_engine is None
    assert record.metadata.source == str(path.resolve())


def test_every_span_says_the_page_its_text_is_on(letter_pdf: bytes) -> None:
    """A span's page is the page whose text holds the span's text (checked against the lines
    each page was built from, not against the page starts the code computed)."""
    record = extract_file(letter_pdf, backend="rules")
    text = pdf_module.read_pdf(letter_pdf).text
    pages = paged(gold_text(LETTER))
    spans = [ev.span for ev in record.metadata.evidence.values() if ev.span is not None]
    assert len(spans) > 20
    for span in spans:
        assert span.page is not None
        words = text[span.start : span.end].split()[:3]
        if not words:
            continue
        page_text = " ".join(" ".join(pages[span.page - 1]).split())
        assert " ".join(words) in page_text, (span, words)
    assert {span.page for span in spans} == set(range(1, len(pages) + 1))
    # metadata.spans mirrors the evidence spans, pages included.
    for path, span in record.metadata.spans.items():
        assert span.page == record.metadata.evidence[path].span.page


def test_page_text_puts_back_a_line_break_hyphen() -> None:
    assert pdf_module.page_text("anti\ufffedepressants\r\nnext\r\n") == "anti-\ndepressants\nnext"


def test_page_starts_index_the_form_feeds(letter_pdf: bytes) -> None:
    out = pdf_module.read_pdf(letter_pdf)
    assert out.page_starts[0] == 0
    for start in out.page_starts[1:]:
        assert out.text[start - 1] == "\f"
    assert out.text.count("\f") == out.pages - 1


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------


def test_an_encrypted_pdf_is_its_own_error(tmp_path: Path) -> None:
    data = build_pdf([["Case Number: CM16-0000001"] * 5], encrypt=True)
    with pytest.raises(EncryptedPdfError, match="password"):
        extract_file(data, backend="rules")


def test_a_pdf_encrypted_by_pypdf_is_refused(letter_pdf: bytes) -> None:
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(letter_pdf))
    writer.encrypt("open sesame", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(EncryptedPdfError):
        extract_file(out.getvalue(), backend="rules")


def test_a_pdf_with_only_an_owner_password_is_read(letter_pdf: bytes) -> None:
    """Permissions without a user password: every reader opens it, so do we."""
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(letter_pdf))
    writer.encrypt("", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    assert extract_file(out.getvalue(), backend="rules").contract_dict() == gold_label(LETTER)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_a_truncated_pdf_is_corrupt(letter_pdf: bytes, keep: float) -> None:
    data = letter_pdf[: int(len(letter_pdf) * keep)]
    with pytest.raises(CorruptPdfError):
        extract_file(data, backend="rules")


def test_a_damaged_pdf_is_corrupt() -> None:
    with pytest.raises(CorruptPdfError):
        extract_file(b"%PDF-1.7\n" + bytes(range(256)) * 8, backend="rules")
    with pytest.raises(CorruptPdfError):
        extract_file(build_pdf([]), backend="rules")  # a page tree with no pages


def test_a_pdf_without_pages_is_corrupt() -> None:
    import pypdfium2

    out = io.BytesIO()
    pypdfium2.PdfDocument.new().save(out)
    # (PDFium refuses it to open; what it reports as the reason depends on its earlier calls.)
    with pytest.raises(CorruptPdfError):
        extract_file(out.getvalue(), backend="rules")


def test_pdf_errors_are_unreadable_input_errors() -> None:
    for cls in (EncryptedPdfError, CorruptPdfError, OcrUnavailableError):
        assert issubclass(cls, UnreadableInputError) and issubclass(cls, imr_llm.InputError)


# ----------------------------------------------------------------------------------------------
# Pages without a usable text layer
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OCR engine installed, whatever this machine has."""

    def unavailable(name: str | None = None) -> None:
        raise OcrUnavailableError(
            "the rapidocr OCR engine is not installed; install it with: pip install 'imr-llm[ocr]'"
        )

    monkeypatch.setattr(pdf_module, "ocr_engine", unavailable)


def test_an_image_only_pdf_without_ocr_names_the_install_command(no_ocr: None) -> None:
    data = build_pdf([None, None])
    with pytest.raises(OcrUnavailableError, match=r"pip install 'imr-llm\[ocr\]'"):
        extract_file(data, backend="rules")


def test_a_missing_ocr_module_is_ocr_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    """With imr_llm.inputs.ocr not importable at all, the error still names the install command."""
    import sys

    monkeypatch.setitem(sys.modules, "imr_llm.inputs.ocr", None)
    pdf_module._engine.cache_clear()
    try:
        with pytest.raises(OcrUnavailableError, match=r"pip install 'imr-llm\[ocr\]'"):
            extract_file(build_pdf([None]), backend="rules")
    finally:
        pdf_module._engine.cache_clear()


def test_a_page_without_text_among_text_pages_flags_the_record(no_ocr: None) -> None:
    """A scanned page inside a text PDF, no OCR engine: the rest is read, the record is
    flagged naming the page and the install command."""
    pages = paged(gold_text(LETTER))
    data = build_pdf([*pages, None])
    record = extract_file(data, backend="rules")
    assert record.contract_dict() == gold_label(LETTER)
    assert record.metadata.needs_review
    reason = record.metadata.review_reasons[-1]
    assert f"page(s) {len(pages) + 1} " in reason and "pip install 'imr-llm[ocr]'" in reason


def test_a_blank_page_needs_no_ocr(no_ocr: None) -> None:
    record = extract_file(build_pdf([*paged(gold_text(LETTER)), []]), backend="rules")
    assert not record.metadata.needs_review
    assert record.metadata.input.text_from == "text_layer"


def _scripted(text: str, confidence: float = 0.97) -> list[tuple[str, float | None]]:
    return [(line, confidence) for line in text.splitlines()]


def test_scanned_pages_are_ocrd_and_recorded() -> None:
    pytest.importorskip("PIL")
    pages = paged(gold_text(LETTER))
    engine = FakeOcr([_scripted("\n".join(p)) for p in pages])
    data = build_pdf([None] * len(pages))
    out = pdf_module.read_pdf(data, engine=engine)
    assert out.ocr_pages == list(range(1, len(pages) + 1)) and out.text_from == "ocr"
    # Rendered at 200 dpi: a US Letter page (8.5 x 11 in) is 1700 x 2200 pixels.
    assert all(abs(w - 1700) <= 1 and abs(h - 2200) <= 1 for w, h in engine.sizes)
    assert len(engine.sizes) == len(pages)
    assert out.ocr_mean_confidence == pytest.approx(0.97)
    record = extract(out.text, backend="rules")
    assert record.contract_dict() == gold_label(LETTER)


def test_extract_file_records_ocr_and_flags_low_confidence_places(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One line read with low confidence: the values on it (and only those) are named."""
    pytest.importorskip("PIL")
    pages = paged(gold_text(LETTER))
    scripted = [_scripted("\n".join(p)) for p in pages]
    # The decision date's line, read poorly.
    low = next(
        (k, i) for k, page in enumerate(scripted) for i, (t, _) in enumerate(page)
        if t.startswith("Decision Date:")
    )  # fmt: skip
    scripted[low[0]][low[1]] = (scripted[low[0]][low[1]][0], 0.41)
    engine = FakeOcr(scripted)
    monkeypatch.setattr(pdf_module, "ocr_engine", lambda name=None: engine)
    record = extract_file(build_pdf([None] * len(pages)), backend="rules")
    meta = record.metadata
    assert meta.input.text_from == "ocr" and meta.input.ocr_engine == "fake-ocr"
    assert meta.input.ocr_engine_version == "0.1" and meta.input.ocr_pages == list(
        range(1, len(pages) + 1)
    )
    assert meta.needs_review
    (reason,) = [r for r in meta.review_reasons if "low confidence" in r]
    assert "decision_date (page 1, line 0.41)" in reason
    # The other header values on that line (UR denial date) are flagged too; the case number,
    # on a line read well, is not.
    assert "case_number" not in reason
    assert record.contract_dict() == gold_label(LETTER)


def test_a_text_layer_of_unmapped_glyphs_is_ocrd() -> None:
    pytest.importorskip("PIL")
    engine = FakeOcr([_scripted("Case Number: CM16-0000001\nsome words of the letter")])
    # Glyphs whose codes map to control characters, as a font without a Unicode map gives.
    data = build_pdf([["\x01\x04\x05\x06\x07\x08 Case" * 8] * 4])
    out = pdf_module.read_pdf(data, engine=engine)
    assert out.ocr_pages == [1]


def test_mixed_pages_say_mixed() -> None:
    pytest.importorskip("PIL")
    pages = paged(gold_text(LETTER))
    engine = FakeOcr([_scripted("\n".join(pages[-1]))])
    out = pdf_module.read_pdf(build_pdf([*pages[:-1], None]), engine=engine)
    assert out.text_from == "mixed" and out.ocr_pages == [len(pages)]
    assert out.sources == ["text_layer"] * (len(pages) - 1) + ["ocr"]


def test_usable_means_enough_letters_and_few_unmapped_glyphs() -> None:
    assert not pdf_module.usable("")
    assert not pdf_module.usable("Page 2 of 3")
    assert pdf_module.usable("Decision rationale: the request is not medically necessary.")
    assert not pdf_module.usable("\ufffd" * 40 + " Decision rationale: the request")


# ----------------------------------------------------------------------------------------------
# The corpus PDFs
# ----------------------------------------------------------------------------------------------


def _corpus_pdfs() -> list[Path]:
    return sorted((CORPUS / "pdf").glob("*.pdf"))


@requires_corpus
def test_every_corpus_pdf_gives_its_labelled_record_with_pages() -> None:
    """All 25 public letters through extract_file: every contract field right against the
    corpus labels, pages recorded, every evidence span with its page."""
    wrong: list[str] = []
    pdfs = _corpus_pdfs()
    assert len(pdfs) == 25
    for path in pdfs:
        label = json.loads((CORPUS / "labels" / f"{path.stem}.json").read_text())
        record = extract_file(path, backend="rules")
        info = record.metadata.input
        assert info.kind == "pdf" and info.text_from == "text_layer" and info.pages >= 2
        spans = [ev.span for ev in record.metadata.evidence.values() if ev.span is not None]
        assert spans and all(1 <= s.page <= info.pages for s in spans)
        assert [s.page for s in spans] == [bisect_right(info.page_starts, s.start) for s in spans]
        if not score_record(record.contract_dict(), label).all_right:
            wrong.append(path.stem)
    assert wrong == []


@requires_corpus
def test_corpus_pdf_text_has_pdftotexts_words_page_for_page() -> None:
    """Each page holds exactly the words of poppler's plain rendering of that page (its order
    may differ in the header table); a hyphen broken across lines is compared joined, as plain
    pdftotext prints it."""
    for path in _corpus_pdfs():
        ours = pdf_module.read_pdf(path.read_bytes())
        theirs = (CORPUS / "text-raw" / f"{path.stem}.txt").read_text()
        their_pages = [p for p in theirs.split("\f") if p.strip()]
        assert ours.pages == len(their_pages), path.stem
        ends = [*ours.page_starts[1:], len(ours.text)]
        for start, end, poppler in zip(ours.page_starts, ends, their_pages, strict=True):
            mine = ours.text[start:end]
            assert sorted(mine.replace("-\n", "").split()) == sorted(
                poppler.replace("-\n", "").split()
            ), path.stem


def _installed(engine: str) -> bool:
    from imr_llm.inputs.ocr import available_engines

    return engine in available_engines()


@pytest.mark.skipif(not _installed("tesseract"), reason="tesseract (imr-llm[ocr-tesseract]) absent")
def test_a_scanned_letter_reads_through_a_real_engine(letter_pdf: bytes) -> None:
    """The gold letter printed and scanned: its pages rendered to images and saved as an
    image-only PDF (Pillow), then read by extract_file with tesseract."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(letter_pdf)
    images = [doc[k].render(scale=200 / 72, grayscale=True).to_pil() for k in range(len(doc))]
    scan = io.BytesIO()
    images[0].save(scan, "PDF", resolution=200, save_all=True, append_images=images[1:])
    assert pdf_module.read_pdf(scan.getvalue(), engine=FakeOcr([[]] * len(images))).ocr_pages
    record = extract_file(scan.getvalue(), backend="rules", ocr_engine="tesseract")
    info = record.metadata.input
    assert info.text_from == "ocr" and info.ocr_engine == "tesseract"
    assert info.ocr_pages == list(range(1, len(images) + 1))
    assert 0.5 < info.ocr_mean_confidence <= 1
    label = gold_label(LETTER)
    assert record.case_number == label["case_number"]
    assert [i.outcome for i in record.items] == [i["outcome"] for i in label["items"]]
    assert all(ev.span.page for ev in record.metadata.evidence.values() if ev.span)


# ----------------------------------------------------------------------------------------------
# Per-character OCR scores and per-engine thresholds
# ----------------------------------------------------------------------------------------------


def test_a_lines_lowest_score_under_a_place_is_that_of_its_characters() -> None:
    # The line "Date: 11/O3/2016" at offsets 100..116; the "O" (offset 109) read at 0.31.
    chars = (0.99,) * 9 + (0.31,) + (0.98,) * 6
    line = pdf_module.OcrSpan(100, 116, 0.95, 1, chars)
    assert line.min_confidence(106, 116) == pytest.approx(0.31)  # the date
    assert line.min_confidence(100, 105) == pytest.approx(0.99)  # the label
    assert line.min_confidence(90, 104) == pytest.approx(0.99)  # starts before the line
    assert line.min_confidence(109, 109) == pytest.approx(0.31)  # an empty place: its character
    # Without per-character scores (or with scores that do not fit the line): the line's.
    assert pdf_module.OcrSpan(100, 116, 0.95, 1).min_confidence(106, 116) == 0.95
    assert pdf_module.OcrSpan(100, 116, 0.95, 1, (0.1,)).min_confidence(106, 116) == 0.95


def test_assembled_pages_keep_each_lines_character_scores() -> None:
    page = OcrPage(
        [OcrLine("ab", 0.9, (0.8, 1.0)), OcrLine("cd", 0.5)], engine="fake", engine_version="1"
    )
    out = pdf_module._assemble(["", ""], ["ocr", "ocr"], {1: page, 2: page}, engine=FakeOcr([]))
    assert out.text == "ab\ncd\n\fab\ncd"
    assert [(x.start, x.end, x.page, x.char_confidences) for x in out.ocr_lines] == [
        (0, 2, 1, (0.8, 1.0)), (3, 5, 1, None), (7, 9, 2, (0.8, 1.0)), (10, 12, 2, None),
    ]  # fmt: skip


def test_one_misread_character_flags_a_short_value_with_a_character_threshold() -> None:
    """With a character threshold, a date with one character read at 0.31 on a line whose
    confidence is 0.95 needs review; the label beside it, read well, does not; without one,
    only the line's confidence counts."""
    from imr_llm.record.builder import OcrThresholds, low_confidence_reasons, value_confidence
    from imr_llm.record.models import Evidence, Span

    chars = (0.99,) * 9 + (0.31,) + (0.98,) * 6
    lines = [pdf_module.OcrSpan(100, 116, 0.95, 2, chars)]
    evidence = {
        "decision_date": Evidence(status="exact", span=Span(start=106, end=116)),
        "label_only": Evidence(status="exact", span=Span(start=100, end=105)),
        "not_placed": Evidence(status="unverified", span=None),
    }
    score = value_confidence(106, 116, lines)
    assert (score.line, score.char, score.page) == (0.95, pytest.approx(0.31), 2)
    (reason,) = low_confidence_reasons(evidence, lines, OcrThresholds(line=0.9, char=0.5))
    assert "1 value(s)" in reason and "decision_date (page 2, character 0.31)" in reason
    assert "label_only" not in reason and "characters of short values below 0.50" in reason
    assert low_confidence_reasons(evidence, lines, OcrThresholds(line=0.9)) == []
    assert low_confidence_reasons(evidence, lines, 0.9) == []
    # A line below the line threshold flags every value on it.
    (reason,) = low_confidence_reasons(evidence, lines, OcrThresholds(line=0.96))
    assert "decision_date (page 2, line 0.95)" in reason
    assert "label_only (page 2, line 0.95)" in reason


def test_each_engine_has_its_own_threshold_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from imr_llm.config import Settings
    from imr_llm.record.builder import LOW_OCR_CONFIDENCE, OcrThresholds, ocr_thresholds

    settings = Settings(
        ocr_low_confidence_rapidocr=0.42,
        ocr_low_char_confidence_rapidocr=0.3,
        ocr_low_confidence_tesseract=0.61,
        ocr_low_char_confidence_tesseract=None,
    )
    assert ocr_thresholds("rapidocr", settings) == OcrThresholds(0.42, 0.3)
    assert ocr_thresholds("tesseract", settings) == OcrThresholds(0.61, None)
    assert ocr_thresholds("fake-ocr", settings) == OcrThresholds(LOW_OCR_CONFIDENCE, None)
    assert ocr_thresholds(None, settings) == OcrThresholds(LOW_OCR_CONFIDENCE, None)
    monkeypatch.setenv("IMR_LLM_OCR_LOW_CONFIDENCE_TESSERACT", "0.33")
    assert ocr_thresholds("tesseract").line == 0.33
    with pytest.raises(ValueError):
        Settings(ocr_low_confidence_rapidocr=1.5)


def test_extract_file_flags_with_the_engines_threshold_from_its_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scanned letter read by an engine named like a shipped one: the threshold is that
    engine's setting, taken from the settings extract_file was given."""
    pytest.importorskip("PIL")
    from imr_llm.config import Settings

    pages = paged(gold_text(LETTER))
    engine = FakeOcr([_scripted("\n".join(p), 0.6) for p in pages])
    engine.name = "tesseract"
    monkeypatch.setattr(pdf_module, "ocr_engine", lambda name=None: engine)
    data = build_pdf([None] * len(pages))
    low = extract_file(data, backend="rules", settings=Settings(ocr_low_confidence_tesseract=0.7))
    assert any("low confidence (lines below 0.70" in r for r in low.metadata.review_reasons)
    engine.pages = [_scripted("\n".join(p), 0.6) for p in pages]
    fine = extract_file(data, backend="rules", settings=Settings(ocr_low_confidence_tesseract=0.5))
    assert not any("low confidence" in r for r in fine.metadata.review_reasons)


def test_a_passage_is_not_judged_by_its_lowest_character() -> None:
    """A rationale of 120 characters with one character read at 0.2 on a line of 0.98 is not
    flagged by the character threshold (it is a passage); read on poor lines, it is."""
    from imr_llm.record.builder import PASSAGE_CHARS, OcrThresholds, low_confidence_reasons
    from imr_llm.record.models import Evidence, Span

    assert PASSAGE_CHARS < 120
    limits = OcrThresholds(line=0.9, char=0.5)
    one_bad = (0.99,) * 60 + (0.2,) + (0.99,) * 59
    evidence = {"items[0].rationale": Evidence(status="exact", span=Span(start=0, end=120))}
    lines = [pdf_module.OcrSpan(0, 120, 0.98, 1, one_bad)]
    assert low_confidence_reasons(evidence, lines, limits) == []
    short = {"items[0].service": Evidence(status="exact", span=Span(start=50, end=70))}
    assert "character 0.20" in low_confidence_reasons(short, lines, limits)[0]
    poor = [pdf_module.OcrSpan(0, 60, 0.95, 1), pdf_module.OcrSpan(61, 121, 0.4, 2)]
    (reason,) = low_confidence_reasons(evidence, poor, limits)
    assert "items[0].rationale (page 2, line 0.40)" in reason


def test_a_batch_jobs_kept_input_keeps_the_character_scores() -> None:
    """``imr-llm batch`` keeps what a letter was read from beside its text, so ``collect``
    can flag as ``extract_file`` does: the per-character scores must survive the round trip,
    and a job kept before they existed (four cells a line) still loads."""
    import json as json_module

    from imr_llm.inputs.files import LetterText
    from imr_llm.jobs.job import _ocr_span, input_json
    from imr_llm.record.models import InputInfo

    lines = (
        pdf_module.OcrSpan(0, 3, 0.9, 1, (0.95, 0.31, 1.0)),
        pdf_module.OcrSpan(4, 6, 0.8, 1),
    )
    read = LetterText("abc\nde", InputInfo(kind="pdf", text_from="ocr"), lines)
    kept = json_module.loads(input_json(read))["ocr_lines"]
    assert [_ocr_span(line) for line in kept] == list(lines)
    assert _ocr_span([0, 3, 0.9, 1]) == pdf_module.OcrSpan(0, 3, 0.9, 1)
