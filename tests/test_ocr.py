"""The OCR interface (imr_llm.inputs.ocr): its types, engine lookup and errors, the line layout,
and each installed engine on a page the test draws itself.

The engine tests skip, saying why, when an engine is not installed; CI installs both (.ci/run).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from imr_llm import ConfigurationError, OcrUnavailableError, UnreadableInputError
from imr_llm.inputs import ocr
from imr_llm.inputs.ocr import OcrEngine, OcrLine, OcrPage, available_engines, get_ocr_engine

# ----------------------------------------------------------------------------------------------
# The interface, with a fake engine
# ----------------------------------------------------------------------------------------------


class FakeEngine:
    """An engine that reads every image as the same two lines."""

    name = "fake"
    version = "0.0"

    def recognise(self, image: object) -> OcrPage:
        return OcrPage(
            lines=[OcrLine("Case Number:  CM16-0123456", 0.9), OcrLine("Priority: Standard", 0.7)],
            engine=self.name,
            engine_version=self.version,
        )


def test_a_fake_engine_satisfies_the_protocol() -> None:
    engine: OcrEngine = FakeEngine()
    assert isinstance(engine, OcrEngine)
    page = engine.recognise(object())
    assert page.text == "Case Number:  CM16-0123456\nPriority: Standard"
    assert page.mean_confidence == pytest.approx(0.8)
    assert (page.engine, page.engine_version) == ("fake", "0.0")


def test_mean_confidence_counts_only_lines_that_have_one() -> None:
    page = OcrPage([OcrLine("a", 0.5), OcrLine("b", None), OcrLine("c", 1.0)], "x", "1")
    assert page.mean_confidence == pytest.approx(0.75)
    assert OcrPage([OcrLine("a", None)], "x", "1").mean_confidence is None
    assert OcrPage([], "x", "1").mean_confidence is None
    assert OcrPage([], "x", "1").text == ""


def test_pages_and_lines_are_immutable() -> None:
    line = OcrLine("a", 0.5)
    with pytest.raises(AttributeError):
        line.text = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        OcrPage([line], "x", "1").engine = "y"  # type: ignore[misc]


def test_an_unknown_engine_is_a_configuration_error_listing_the_engines() -> None:
    with pytest.raises(ConfigurationError) as info:
        get_ocr_engine("abbyy")
    assert "abbyy" in str(info.value)
    assert "rapidocr" in str(info.value) and "tesseract" in str(info.value)


def test_the_package_imports_no_ocr_library() -> None:
    """``import imr_llm.inputs.ocr`` works where no OCR library is installed: imports are lazy."""
    code = (
        "import sys, imr_llm, imr_llm.inputs.ocr\n"
        "heavy = {'rapidocr', 'onnxruntime', 'pytesseract', 'cv2', 'PIL'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------------------------
# A missing engine: a clear error naming the install command
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def no_ocr_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if neither engine's library were installed (``None`` in sys.modules blocks import)."""
    for module in ("rapidocr", "onnxruntime", "pytesseract"):
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.usefixtures("no_ocr_libraries")
def test_the_default_engine_missing_names_the_extra() -> None:
    with pytest.raises(OcrUnavailableError) as info:
        get_ocr_engine()
    assert "pip install 'imr-llm[ocr]'" in str(info.value)
    assert isinstance(info.value, UnreadableInputError)
    assert info.value.to_dict()["error"] == "ocr_unavailable"


@pytest.mark.usefixtures("no_ocr_libraries")
def test_each_missing_engine_names_its_own_install_command() -> None:
    with pytest.raises(OcrUnavailableError, match=r"pip install 'imr-llm\[ocr\]'"):
        get_ocr_engine("rapidocr")
    with pytest.raises(OcrUnavailableError) as info:
        get_ocr_engine("tesseract")
    message = str(info.value)
    assert "pip install 'imr-llm[ocr-tesseract]'" in message
    assert "apt-get install tesseract-ocr" in message


@pytest.mark.usefixtures("no_ocr_libraries")
def test_no_engine_is_available_without_the_libraries() -> None:
    assert available_engines() == []


def test_tesseract_without_its_program_names_the_debian_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = SimpleNamespace(pytesseract=SimpleNamespace(tesseract_cmd="tesseract"))
    monkeypatch.setitem(sys.modules, "pytesseract", fake)
    monkeypatch.setattr(ocr.shutil, "which", lambda _name: None)
    with pytest.raises(OcrUnavailableError, match="apt-get install tesseract-ocr"):
        get_ocr_engine("tesseract")
    assert "tesseract" not in available_engines()


def test_rapidocr_without_its_shipped_models_is_unavailable_not_a_download(
    tmp_path: Path,
) -> None:
    """A rapidocr whose wheel lacks the models would download them: imr-llm refuses instead."""
    package = tmp_path / "rapidocr"
    (package / "models").mkdir(parents=True)
    module = SimpleNamespace(__file__=str(package / "__init__.py"))
    with pytest.raises(OcrUnavailableError, match="does not ship its models"):
        ocr._rapidocr_models(module)
    for name in ("PP-OCRv6_det_small.onnx", "ch_ppocr_mobile_v2.0_cls_mobile.onnx"):
        (package / "models" / name).write_bytes(b"")
    with pytest.raises(OcrUnavailableError, match="no single rec model"):
        ocr._rapidocr_models(module)
    (package / "models" / "PP-OCRv6_rec_small.onnx").write_bytes(b"")
    found = ocr._rapidocr_models(module)
    assert {task: path.name for task, path in found.items()} == {
        "det": "PP-OCRv6_det_small.onnx",
        "cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
        "rec": "PP-OCRv6_rec_small.onnx",
    }


# ----------------------------------------------------------------------------------------------
# Laying out boxes as printed lines
# ----------------------------------------------------------------------------------------------


def box(x0: float, y: float, text: str, conf: float | None = 1.0, char_w: float = 10.0):
    """A 24 px tall box whose width fits ``text`` at ``char_w`` px a character."""
    return ocr._Box(x0, x0 + char_w * len(text), y, 24.0, text, conf)


def test_layout_joins_a_row_left_to_right_and_keeps_columns_apart() -> None:
    boxes = [
        box(400, 100, "CM16-0123456"),
        box(100, 101, "Case"),
        box(150, 99, "Number:"),
        box(100, 140, "Priority:", 0.5),
        box(200, 141, "Standard", 0.9),
    ]
    lines = ocr._layout(boxes)
    # "Number:" ends at x=220; the value starts 18 characters (of 10 px) further on.
    assert [line.text for line in lines] == [
        "Case Number:" + " " * 18 + "CM16-0123456",
        "Priority: Standard",
    ]
    # Character-weighted: (0.5 * 9 + 0.9 * 8) / 17.
    assert lines[1].confidence == pytest.approx((0.5 * 9 + 0.9 * 8) / 17)


def test_layout_indents_a_row_from_the_page_left_edge() -> None:
    lines = ocr._layout([box(100, 100, "Heading"), box(140, 140, "indented")])
    assert [line.text for line in lines] == ["Heading", "    indented"]


def test_layout_follows_the_skew_of_a_scan() -> None:
    """On a page skewed by 2 % a value 1,000 px right of its label sits 20 px lower: nearer the
    next row's label than its own. With the slope taken out, rows come out right."""
    slope = 0.02
    boxes = [
        box(100, 100, "Label:"),
        box(1100, 100 + 1000 * slope, "value"),
        box(100, 125, "Next:"),
        box(1100, 125 + 1000 * slope, "other"),
    ]
    texts = [line.text.split() for line in ocr._layout(boxes, slope)]
    assert texts == [["Label:", "value"], ["Next:", "other"]]
    assert ocr._median_slope([(0.02, 900), (0.5, 10), (0.019, 800)]) == pytest.approx(0.02)


def test_a_hyphen_stays_in_its_row() -> None:
    """A hyphen's box is a few pixels tall and sits at mid-height, a word with a descender sits
    lower: both belong to the row of the words beside them, not to a row of their own (seen
    on a corpus letter: "Low Back - Lumbar ... Chapter (Online Version)." read as two lines)."""
    dash = ocr._Box(160, 168, 104.0, 3.0, "-", 0.9)
    chapter = ocr._Box(300, 370, 103.0, 30.0, "Chapter", 0.9)
    boxes = [box(100, 100, "Back"), dash, box(180, 100, "Lumbar"), chapter,
             box(380, 100, "(Online"), box(100, 130, "next"), box(150, 130, "line")]  # fmt: skip
    texts = [line.text.split() for line in ocr._layout(boxes)]
    assert texts == [["Back", "-", "Lumbar", "Chapter", "(Online"], ["next", "line"]]


def test_layout_of_nothing_is_no_lines() -> None:
    assert ocr._layout([]) == []
    assert ocr._layout([box(0, 0, "   ")]) == []


# ----------------------------------------------------------------------------------------------
# Each installed engine on a page drawn here
# ----------------------------------------------------------------------------------------------

#: What the drawn page says, row by row; columns are x offsets in pixels at 200 dpi.
PAGE_ROWS = [
    [(0, "Case Number:"), (420, "CM16-0123456")],
    [(0, "Date Assigned:"), (420, "01/05/2017"), (900, "Priority:"), (1150, "Standard")],
    [(0, "The reviewer found the requested treatment not medically necessary.")],
]


def draw_page(angle: float = 0.0):
    """A white 200 dpi image with PAGE_ROWS in an 11 pt serif, optionally rotated like a scan."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype("DejaVuSerif.ttf", 31)
    except OSError:
        font = ImageFont.load_default(size=31)
    image = Image.new("L", (1700, 420), 255)
    draw = ImageDraw.Draw(image)
    for row, runs in enumerate(PAGE_ROWS):
        for x, text in runs:
            draw.text((150 + x, 100 + 70 * row), text, font=font, fill=0)
    if angle:
        image = image.rotate(angle, fillcolor=255, expand=False)
    image.info["dpi"] = (200, 200)
    return image


@pytest.fixture(scope="module")
def engines() -> dict[str, OcrEngine]:
    return {}


def engine_or_skip(name: str, cache: dict[str, OcrEngine]) -> OcrEngine:
    if name not in cache:
        try:
            cache[name] = get_ocr_engine(name)
        except OcrUnavailableError as exc:
            pytest.skip(f"the {name} OCR engine is not installed here: {exc}")
    return cache[name]


@pytest.mark.parametrize("name", ["rapidocr", "tesseract"])
@pytest.mark.parametrize("angle", [0.0, 0.8])
def test_an_engine_reads_a_drawn_page(
    name: str, angle: float, engines: dict[str, OcrEngine]
) -> None:
    engine = engine_or_skip(name, engines)
    page = engine.recognise(draw_page(angle))
    assert (page.engine, page.engine_version) == (name, engine.version)
    lines = [line.text for line in page.lines]
    assert len(lines) == 3, lines
    # Label and value stay on one line, in that order, with the column gap kept.
    assert lines[0].split() == ["Case", "Number:", "CM16-0123456"]
    assert "   " in lines[0]
    second = lines[1].replace(" ", "")
    assert second == "DateAssigned:01/05/2017Priority:Standard", lines[1]
    assert lines[1].index("01/05/2017") < lines[1].index("Priority:")
    words = set(lines[2].replace(".", " ").split())
    assert {"reviewer", "requested", "treatment", "medically", "necessary"} <= words
    assert page.mean_confidence is not None and 0.5 <= page.mean_confidence <= 1.0
    assert all(line.confidence is None or 0.0 <= line.confidence <= 1.0 for line in page.lines)


def test_an_engine_reads_a_blank_page_as_no_lines(engines: dict[str, OcrEngine]) -> None:
    from PIL import Image

    names = available_engines()
    if not names:
        pytest.skip("no OCR engine is installed here (pip install 'imr-llm[ocr]')")
    for name in names:
        page = engine_or_skip(name, engines).recognise(Image.new("L", (800, 600), 255))
        assert page.lines == [] and page.mean_confidence is None


def test_rapidocr_never_reaches_for_its_downloader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RapidOCR fetches any model it is not given; imr-llm gives it the wheel's own."""
    engine_or_skip("rapidocr", {})
    from rapidocr.utils import download_file

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("rapidocr tried to download a file")

    monkeypatch.setattr(download_file.DownloadFile, "run", classmethod(refuse))
    engine = get_ocr_engine("rapidocr", threads=1)
    assert engine.recognise(draw_page()).lines


# ----------------------------------------------------------------------------------------------
# Per-character confidences
# ----------------------------------------------------------------------------------------------


def test_layout_keeps_each_characters_score_and_scores_layout_spaces_as_read() -> None:
    """A box's own per-character scores land under its characters; a box with only a
    confidence gives it to each of its characters; the spaces the layout puts between boxes
    were not read and score 1.0."""
    label = ocr._Box(100, 160, 100, 24.0, "Date:", 0.9, (0.9, 0.9, 0.9, 0.9, 0.9))
    value = ocr._Box(180, 280, 100, 24.0, "11/O3/2016", 0.95,
                     (1.0, 1.0, 1.0, 0.99, 0.31, 1.0, 1.0, 1.0, 1.0, 1.0))  # fmt: skip
    other = ocr._Box(100, 150, 140, 24.0, "Next", 0.6)
    first, second = ocr._layout([label, value, other])
    assert first.text == "Date:  11/O3/2016"
    assert first.char_confidences == (0.9,) * 5 + (1.0, 1.0) + value.char_confidences
    assert len(first.char_confidences) == len(first.text)
    assert second.text == "Next" and second.char_confidences == (0.6,) * 4


def test_a_line_with_a_box_of_no_score_has_no_character_scores() -> None:
    lines = ocr._layout([box(100, 100, "Case", None), box(200, 100, "Number", 0.9)])
    assert lines[0].char_confidences is None and lines[0].confidence == pytest.approx(0.9)


def test_tesseract_tsv_rows_are_read_by_column_name() -> None:
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight"
        "\tconf\ttext\n"
        "1\t1\t0\t0\t0\t0\t0\t0\t1700\t2200\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t150\t100\t90\t30\t96.5\tCase\n"
        "5\t1\t1\t1\t1\t2\t250\t100\t130\t30\t41\tNumbor:\n"
    )
    rows = ocr._tsv_words(tsv)
    assert [r["text"] for r in rows] == ["", "Case", "Numbor:"]
    assert rows[2]["conf"] == "41" and rows[2]["left"] == "250"


# ----------------------------------------------------------------------------------------------
# Settings belong to the engine object: safe when threads OCR at once
# ----------------------------------------------------------------------------------------------


def test_tesseract_passes_its_own_thread_limit_and_leaves_the_environment_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two tesseract engines with different thread limits, called from two threads at once:
    each run gets its own engine's OMP_THREAD_LIMIT, and os.environ is never changed (the
    engine once set the variable around each call, which threads could see half done)."""
    import os
    import threading

    from PIL import Image

    monkeypatch.setenv("OMP_THREAD_LIMIT", "7")
    monkeypatch.setattr(ocr, "_import", lambda module, engine: SimpleNamespace())
    monkeypatch.setattr(ocr.shutil, "which", lambda name: "/usr/bin/tesseract")
    seen: list[tuple[str, str]] = []
    barrier = threading.Barrier(2, timeout=10)
    header = "level\tblock_num\tpar_num\tline_num\tleft\ttop\twidth\theight\tconf\ttext\n"

    def fake_run(args: list[str], **kwargs: object) -> SimpleNamespace:
        env = kwargs["env"]
        assert isinstance(env, dict)
        if "--version" in args:
            return SimpleNamespace(returncode=0, stdout="tesseract 5.3.0\n", stderr="")
        barrier.wait()  # both runs are in flight together
        seen.append((env["OMP_THREAD_LIMIT"], os.environ["OMP_THREAD_LIMIT"]))
        word = f"5\t1\t1\t1\t10\t10\t50\t20\t90\tthreads{env['OMP_THREAD_LIMIT']}\n"
        return SimpleNamespace(returncode=0, stdout=(header + word).encode(), stderr=b"")

    monkeypatch.setattr(ocr.subprocess, "run", fake_run)
    one, two = ocr.TesseractEngine(threads=1), ocr.TesseractEngine(threads=2)
    assert one.version == "5.3.0"
    image = Image.new("L", (200, 100), 255)
    results: dict[int, str] = {}

    def work(engine: ocr.TesseractEngine) -> None:
        results[engine.threads] = engine.recognise(image).text

    threads = [threading.Thread(target=work, args=(e,)) for e in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {1: "threads1", 2: "threads2"}
    assert sorted(seen) == [("1", "7"), ("2", "7")]
    assert os.environ["OMP_THREAD_LIMIT"] == "7"


def draw_text_page(rows: list[str]):
    """A white 200 dpi page image with ``rows`` of text, one under the other."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype("DejaVuSerif.ttf", 31)
    except OSError:
        font = ImageFont.load_default(size=31)
    image = Image.new("L", (1700, 140 + 70 * len(rows)), 255)
    draw = ImageDraw.Draw(image)
    for k, text in enumerate(rows):
        draw.text((150, 100 + 70 * k), text, font=font, fill=0)
    image.info["dpi"] = (200, 200)
    return image


#: Four different pages, each a few lines (different words, digits, dates).
CONCURRENT_PAGES = [
    ["Case Number:   CM16-0213037", "Date Assigned:   11/09/2016", "Priority: Standard"],
    ["The reviewer is board certified in Orthopaedic Surgery.", "Licensed in California."],
    ["Aquatic therapy, 12 sessions: Upheld", "Lumbar MRI without contrast: Overturned"],
    ["Decision Date:   12/09/2016", "UR Denial Date:   11/03/2016", "Patient: 52 year old"],
]


@pytest.mark.parametrize("name", ["rapidocr", "tesseract"])
def test_pages_ocrd_at_once_from_threads_read_as_they_do_one_by_one(
    name: str, engines: dict[str, OcrEngine]
) -> None:
    """One engine object, different pages OCR'd concurrently from four threads (each page
    twice, in an order unlike the serial one): every page gives the text and scores it gives
    when the pages are read one after another."""
    from concurrent.futures import ThreadPoolExecutor

    engine = engine_or_skip(name, engines)
    images = [draw_text_page(rows) for rows in CONCURRENT_PAGES]
    serial = [engine.recognise(image) for image in images]
    assert all(page.lines for page in serial)
    jobs = [3, 1, 0, 2, 2, 0, 1, 3]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda k: engine.recognise(images[k]), jobs))
    for k, page in zip(jobs, together, strict=True):
        assert page.text == serial[k].text, (name, k)
        assert [line.confidence for line in page.lines] == pytest.approx(
            [line.confidence for line in serial[k].lines], abs=1e-4
        )


@pytest.mark.parametrize("name", ["rapidocr", "tesseract"])
def test_an_engine_gives_a_score_for_every_character(
    name: str, engines: dict[str, OcrEngine]
) -> None:
    engine = engine_or_skip(name, engines)
    page = engine.recognise(draw_page())
    for line in page.lines:
        assert line.char_confidences is not None
        assert len(line.char_confidences) == len(line.text)
        assert all(0.0 <= c <= 1.0 for c in line.char_confidences)
        assert min(line.char_confidences) <= (line.confidence or 0) + 1e-9


# ----------------------------------------------------------------------------------------------
# rapidocr reads every page softened by a slight blur
# ----------------------------------------------------------------------------------------------


def bilevel(image):
    """The drawn page as a fax holds it: every pixel black or white (threshold at mid-grey)."""
    return image.point(lambda v: 255 if v >= 128 else 0).convert("1")


@pytest.mark.parametrize("kind", ["greyscale", "fax"])
def test_rapidocr_reads_a_page_as_the_same_page_blurred_by_hand(
    kind: str, engines: dict[str, OcrEngine]
) -> None:
    """The engine's blur is the only difference between reading a page and reading it softened
    by hand (in grey) with the blur turned off; a fax page is read right through it."""
    engine = engine_or_skip("rapidocr", engines)
    from PIL import ImageFilter

    page = draw_page(0.8) if kind == "greyscale" else bilevel(draw_page(0.8))
    plain = ocr.RapidOcrEngine(blur=0)
    softened = page.convert("L").filter(ImageFilter.GaussianBlur(ocr.RAPIDOCR_BLUR))
    read = engine.recognise(page).lines
    assert read == plain.recognise(softened).lines
    assert read != plain.recognise(page).lines  # the blur did change what the models saw
    assert [line.text.split() for line in read][0] == ["Case", "Number:", "CM16-0123456"]
