"""Letter files in, text out: encodings, file types, the size limit, and the CLI on the same path.

Every file is made here from a gold letter (``eval/gold``) or a few bytes; expected values come
from the gold labels and from the encodings Python itself writes, never from the code under test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import imr_llm
from imr_llm import (
    ConfigurationError,
    CorruptPdfError,
    FileTooLargeError,
    UnknownOptionError,
    UnreadableInputError,
    UnsupportedFileTypeError,
    aextract_file,
    extract,
    extract_file,
)
from imr_llm.cli.main import app
from imr_llm.inputs.files import decode_text, open_source, read_source
from tests.conftest import gold_label, gold_text

runner = CliRunner()
LETTER = "gA01"


@pytest.fixture(scope="module")
def text() -> str:
    # Typographic characters too, so the single-byte code page is really exercised.
    return gold_text(LETTER) + "\n“Upheld” — the reviewer’s café note\n"


# ----------------------------------------------------------------------------------------------
# Encodings
# ----------------------------------------------------------------------------------------------

ENCODINGS = [
    # (how the file is written, what metadata.input.encoding must say)
    ("utf-8", "utf-8"),
    ("utf-8-sig", "utf-8-sig"),
    ("utf-16", "utf-16-le"),  # Python writes a little-endian byte-order mark first
    ("utf-16-be-bom", "utf-16-be"),
    ("utf-16-le-nobom", "utf-16-le"),
    ("utf-32", "utf-32-le"),
    ("cp1252", "cp1252"),
]


def _encode(text: str, how: str) -> bytes:
    if how == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    if how == "utf-16-le-nobom":
        return text.encode("utf-16-le")
    return text.encode(how)


def _typographic(value: str) -> str:
    """The letter as a word processor writes it: curly apostrophes, a non-breaking space."""
    return value.replace("'", "\u2019").replace("Decision rationale:", "Decision\u00a0rationale:")


@pytest.mark.parametrize(("how", "reported"), ENCODINGS)
def test_every_common_encoding_gives_the_gold_record(
    how: str, reported: str, tmp_path: Path
) -> None:
    """Each encoding of a letter with characters beyond ASCII (in Windows-1252 too) gives the
    gold record with the same characters."""
    path = tmp_path / "letter.txt"
    letter = _typographic(gold_text(LETTER))
    assert letter != gold_text(LETTER)
    path.write_bytes(_encode(letter, how))
    record = extract_file(path, backend="rules")
    expected = json.loads(_typographic(json.dumps(gold_label(LETTER), ensure_ascii=False)))
    assert record.contract_dict() == expected
    info = record.metadata.input
    assert info.kind == "text" and info.text_from == "file" and info.encoding == reported


@pytest.mark.parametrize("how", [h for h, _ in ENCODINGS])
def test_decoding_gives_the_text_back(text: str, how: str) -> None:
    decoded, _ = decode_text(_encode(text, how))
    assert decoded == text


def test_curly_quotes_and_dashes_in_windows_1252() -> None:
    raw = "“Upheld” – the café’s".encode("cp1252")
    assert decode_text(raw) == ("“Upheld” – the café’s", "cp1252")


def test_bytes_no_code_page_maps_fall_back_to_latin_1() -> None:
    raw = b"Decision \x81 rationale \xe9"  # 0x81 is undefined in Windows-1252
    assert decode_text(raw) == ("Decision \x81 rationale é", "latin-1")


def test_utf16_is_not_called_binary(tmp_path: Path) -> None:
    """It used to be refused as 'binary' for its zero bytes."""
    path = tmp_path / "letter.txt"
    path.write_text(gold_text(LETTER), encoding="utf-16")
    assert runner.invoke(app, ["extract", "-b", "rules", str(path)]).exit_code == 0


def test_a_damaged_character_after_a_bom_is_replaced_not_misread() -> None:
    text, encoding = decode_text(b"\xef\xbb\xbfCase \xff Number")
    assert encoding == "utf-8-sig" and text == "Case \ufffd Number"


# ----------------------------------------------------------------------------------------------
# File types
# ----------------------------------------------------------------------------------------------

NOT_LETTERS = {
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG"),
    "jpeg": (b"\xff\xd8\xff\xe0" + bytes(64), "JPEG"),
    "tiff": (b"II*\x00" + bytes(64), "TIFF"),
    "gif": (b"GIF89a" + bytes(64), "GIF"),
    "docx": (b"PK\x03\x04" + bytes(64), "ZIP"),
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "Office"),
    "rtf": (b"{\\rtf1\\ansi Case Number: CM16-0000001}", "RTF"),
    "gz": (b"\x1f\x8b\x08" + bytes(64), "gzip"),
    "bin": (b"Case Number\x00\x01\x02\x03" * 20, "binary"),
}


@pytest.mark.parametrize("kind", sorted(NOT_LETTERS))
def test_files_that_are_not_letters_are_unsupported(kind: str, tmp_path: Path) -> None:
    data, named = NOT_LETTERS[kind]
    path = tmp_path / f"scan.{kind}"
    path.write_bytes(data)
    with pytest.raises(UnsupportedFileTypeError, match=named):
        extract_file(path, backend="rules")
    with pytest.raises(UnsupportedFileTypeError):
        extract_file(data, backend="rules")


def test_a_pdf_is_known_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    from tests.test_pdf import build_pdf, paged

    path = tmp_path / "letter.txt"  # a PDF with the wrong extension
    path.write_bytes(build_pdf(paged(gold_text(LETTER))))
    record = extract_file(path, backend="rules")
    assert record.metadata.input.kind == "pdf"
    assert record.contract_dict() == gold_label(LETTER)


def test_a_letter_s_text_named_pdf_is_read_as_the_text_it_is(tmp_path: Path) -> None:
    """Files are known by their bytes: a text letter saved as .pdf is text, not a corrupt PDF."""
    path = tmp_path / "letter.pdf"
    path.write_text(gold_text(LETTER))
    record = extract_file(path, backend="rules")
    assert record.metadata.input.kind == "text"
    assert record.contract_dict() == gold_label(LETTER)
    result = runner.invoke(app, ["extract", "-b", "rules", str(path)])
    assert result.exit_code == 0, result.output


def test_an_image_named_pdf_is_an_unsupported_file_not_a_corrupt_pdf(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(NOT_LETTERS["png"][0])
    with pytest.raises(UnsupportedFileTypeError, match=r"PNG image \(named \.pdf, but not a PDF\)"):
        extract_file(path, backend="rules")


def test_binary_without_nul_bytes_is_an_unsupported_file_not_a_letter_that_is_not_imr(
    tmp_path: Path,
) -> None:
    """Random bytes with no NUL decode as Latin-1 text; what makes them binary is their
    control codes (letter text has none), not the NULs alone."""
    import random

    rng = random.Random(7)
    data = bytes(rng.randrange(1, 256) for _ in range(4000))
    assert b"\x00" not in data and len(set(data)) > 200
    path = tmp_path / "blob.pdf"
    path.write_bytes(data)
    with pytest.raises(UnsupportedFileTypeError, match="control codes"):
        extract_file(path, backend="rules")
    with pytest.raises(UnsupportedFileTypeError, match="control codes"):
        extract_file(data, backend="rules")


def test_nul_bytes_are_called_nul_bytes() -> None:
    with pytest.raises(UnsupportedFileTypeError, match=r"NUL bytes \(0x00\)") as info:
        decode_text(b"Case Number\x00\x00 CM16-0000001 " * 4)
    assert "zero bytes" not in str(info.value)


def test_a_stray_control_code_or_two_leave_a_letter_text() -> None:
    text = gold_text(LETTER)
    raw = (text[:500] + "\x1a\x07" + text[500:]).encode("utf-8")  # an EOF mark, a bell
    assert decode_text(raw)[0].startswith(text[:100])


def test_a_letter_s_text_given_as_a_path_says_to_call_extract() -> None:
    text = gold_text(LETTER)
    with pytest.raises(UnreadableInputError, match=r"call extract\(text\)") as info:
        extract_file(text, backend="rules")
    message = str(info.value)
    assert "File name too long" not in message and "no such file" not in message
    assert text[:40] not in message and len(message) < 200  # no letter text repeated
    one_line = "Case Number: CM16-0000001 " * 20  # no line break, but no file name either
    with pytest.raises(UnreadableInputError, match=r"call extract\(text\)"):
        extract_file(one_line, backend="rules")


def test_a_corrupt_pdf_names_its_file(tmp_path: Path) -> None:
    from tests.test_pdf import build_pdf

    path = tmp_path / "cut.pdf"
    path.write_bytes(build_pdf([["Case Number: CM16-0000001"] * 40])[:300])
    with pytest.raises(CorruptPdfError) as info:
        extract_file(path, backend="rules")
    assert str(info.value).startswith(f"{path}: ") and info.value.path == str(path)


def test_the_cli_names_a_failed_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["extract", "-b", "rules", "nope.txt", "-o", "out.jsonl"])
    assert result.exit_code == 1
    assert "failed nope.txt: no such file\n" in result.stderr
    row = json.loads((tmp_path / "out.jsonl.errors.jsonl").read_text())
    assert row["message"] == "nope.txt: no such file" and row["source"] == "nope.txt"


def test_missing_files_and_folders_are_unreadable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(UnreadableInputError, match="no such file") as info:
        extract_file(missing)
    assert str(info.value) == f"{missing}: no such file"  # the message names the file
    assert info.value.path == str(missing) and info.value.reason == "no such file"
    with pytest.raises(UnreadableInputError, match="is a directory"):
        extract_file(tmp_path)
    with pytest.raises(TypeError):
        extract_file(12345)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# The size limit
# ----------------------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sparse file of 60 MB (no disk used) over the 50 MB default: refused from its size;
    opening it at all would be a failure of the check."""
    path = tmp_path / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(60_000_000)

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened before its size was checked")

    monkeypatch.setattr(Path, "open", no_open)
    with pytest.raises(FileTooLargeError) as info:
        extract_file(path, backend="rules")
    assert info.value.size == 60_000_000 and info.value.limit == 50_000_000
    assert "60,000,000" in str(info.value)


def test_the_limit_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "letter.txt"
    path.write_text(gold_text(LETTER))
    size = path.stat().st_size
    with pytest.raises(FileTooLargeError):
        extract_file(path, backend="rules", max_file_bytes=size - 1)
    assert extract_file(path, backend="rules", max_file_bytes=size).case_number
    monkeypatch.setenv("IMR_LLM_MAX_FILE_BYTES", str(size - 1))
    with pytest.raises(FileTooLargeError):
        extract_file(path, backend="rules")
    with pytest.raises(FileTooLargeError):
        extract_file(path.read_bytes(), backend="rules")
    with pytest.raises(ConfigurationError):
        extract_file(path, backend="rules", max_file_bytes=0)


def test_standard_input_over_the_limit_is_counted_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    class Stdin:
        buffer = io.BytesIO(b"x" * 5000)

    monkeypatch.setattr(sys, "stdin", Stdin)
    with pytest.raises(FileTooLargeError) as info:
        open_source("-", max_file_bytes=1000)
    assert info.value.size == 5000


# ----------------------------------------------------------------------------------------------
# The API
# ----------------------------------------------------------------------------------------------


def test_extract_file_takes_paths_strings_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "letter.txt"
    path.write_text(gold_text(LETTER))
    by_path = extract_file(path, backend="rules")
    by_str = extract_file(str(path), backend="rules")
    by_bytes = extract_file(path.read_bytes(), backend="rules")
    assert by_path.contract_dict() == by_str.contract_dict() == by_bytes.contract_dict()
    assert by_path.metadata.source == str(path.resolve())
    assert by_bytes.metadata.source == "<bytes>"
    assert by_path.metadata.source_sha256 == by_bytes.metadata.source_sha256
    # Same values and evidence as extract(text): the file only adds where the text came from.
    plain = extract(gold_text(LETTER), backend="rules")
    assert plain.metadata.input is None
    assert by_path.metadata.evidence.keys() == plain.metadata.evidence.keys()


def test_extract_file_checks_its_options() -> None:
    with pytest.raises(UnknownOptionError, match="max_file_byte"):
        extract_file(b"x", backend="rules", max_file_byte=10)
    with pytest.raises(ConfigurationError, match="OCR engine"):
        extract_file(b"x", backend="rules", ocr_engine="nonesuch")


async def test_aextract_file_is_the_async_twin(tmp_path: Path) -> None:
    path = tmp_path / "letter.txt"
    path.write_text(gold_text(LETTER), encoding="utf-16")
    record = await aextract_file(path, backend="rules")
    assert record.contract_dict() == gold_label(LETTER)
    assert record.metadata.input.encoding == "utf-16-le"


def test_form_feeds_in_text_give_pages_and_span_pages(tmp_path: Path) -> None:
    """pdftotext output (a form feed between pages, one at the end): pages are known."""
    plain = gold_text(LETTER).replace("\f", "")
    lines = plain.splitlines()
    half = len(lines) // 2
    text = "\n".join(lines[:half]) + "\n\f" + "\n".join(lines[half:]) + "\n\f"
    path = tmp_path / "letter.txt"
    path.write_text(text)
    record = extract_file(path, backend="rules")
    info = record.metadata.input
    second = text.index("\f") + 1
    assert info.pages == 2 and info.page_starts == [0, second]
    for ev in record.metadata.evidence.values():
        if ev.span is not None:
            assert ev.span.page == (1 if ev.span.start < second else 2)
    # A text without form feeds has no known pages.
    path.write_text(plain)
    info = extract_file(path, backend="rules").metadata.input
    assert info.pages is None and info.page_starts == []


def test_the_public_api_lists_the_file_functions() -> None:
    for name in ("extract_file", "aextract_file", "InputInfo"):
        assert name in imr_llm.__all__


# ----------------------------------------------------------------------------------------------
# The command line reads through the same path
# ----------------------------------------------------------------------------------------------


def test_cli_and_extract_file_give_the_same_record(tmp_path: Path) -> None:
    path = tmp_path / "letter.txt"
    path.write_bytes(gold_text(LETTER).encode("utf-16"))
    result = runner.invoke(app, ["extract", "-b", "rules", str(path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    direct = extract_file(path, backend="rules").model_dump(mode="json")
    assert data["metadata"]["input"] == direct["metadata"]["input"]
    assert {k: v for k, v in data.items() if k != "metadata"} == {
        k: v for k, v in direct.items() if k != "metadata"
    }


def test_cli_lists_each_input_error_in_the_failures_file(tmp_path: Path) -> None:
    from tests.test_pdf import build_pdf

    files = {
        "image.png": NOT_LETTERS["png"][0],
        "locked.pdf": build_pdf([["Case Number: CM16-0000001"] * 40], encrypt=True),
        "cut.pdf": build_pdf([["Case Number: CM16-0000001"] * 40])[:300],
        "good.txt": gold_text(LETTER).encode("cp1252", errors="replace"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    out = tmp_path / "out.jsonl"
    names = [str(tmp_path / n) for n in files]
    result = runner.invoke(app, ["extract", "-b", "rules", *names, "-o", str(out), "-q"])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl.errors.jsonl").open()]
    codes = {Path(r["source"]).name: r["error"] for r in rows}
    assert codes == {
        "image.png": "unsupported_file_type",
        "locked.pdf": "encrypted_pdf",
        "cut.pdf": "corrupt_pdf",
    }
    assert all("\n" not in r["message"] for r in rows)
    assert len(out.read_text().splitlines()) == 1


def test_cli_refuses_a_file_over_the_limit_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "letter.txt"
    path.write_text(gold_text(LETTER))
    monkeypatch.setenv("IMR_LLM_MAX_FILE_BYTES", "1000")
    result = runner.invoke(app, ["extract", "-b", "rules", str(path)])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(lines) == 1 and "more than the limit of 1,000" in lines[0]
    assert "Traceback" not in result.output


def test_cli_ocr_engine_option_reaches_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imr_llm import api

    seen: list[str | None] = []
    real = api.extract_source

    def spy(source, backend="auto", **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs["settings"].ocr_engine)
        return real(source, backend, **kwargs)

    monkeypatch.setattr("imr_llm.cli.main.extract_source", spy)
    path = tmp_path / "letter.txt"
    path.write_text(gold_text(LETTER))
    assert runner.invoke(app, ["extract", "-b", "rules", "--ocr-engine", "tesseract", str(path)])
    assert seen == ["tesseract"]
    bad = runner.invoke(app, ["extract", "-b", "rules", "--ocr-engine", "nonesuch", str(path)])
    assert bad.exit_code == 2 and "unknown OCR engine" in bad.stderr


def test_read_source_keeps_working_for_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "letter.txt"
    path.write_bytes(b"\xff\xfe" + gold_text(LETTER).encode("utf-16-le"))
    source = read_source(str(path))
    assert source.kind == "text" and source.path == str(path.resolve())
    assert source.text == gold_text(LETTER)
    assert os.fspath(path) == source.name
