"""OCR of page images that have no usable text layer: one interface, two optional engines.

Why a module of its own: scanned and faxed letters reach users as PDFs without text, and the
file-input code must turn a page image into lines of text without knowing which OCR library is
installed. Every engine returns the same :class:`OcrPage` (lines in reading order, a confidence
per line and a score per character where the engine gives them, the engine's name and version
for the record's metadata).

An engine's settings (threads, language, detector size) belong to the engine object and are
fixed when it is made; no call changes process-wide state, so one engine may read pages from
several threads at once (docs/ocr.md, "Settings belong to the engine object").

Engines (neither is a core dependency; both are imported only when asked for, so ``import
imr_llm`` works with no OCR library installed):

* ``tesseract``: Debian's ``tesseract-ocr`` through pytesseract (``pip install
  'imr-llm[ocr-tesseract]'`` plus ``apt-get install tesseract-ocr``).
* ``rapidocr``: RapidOCR 3.x on onnxruntime (``pip install 'imr-llm[ocr]'``), run on the ONNX
  models that ship inside its wheel. Nothing is downloaded at run time by either engine.

Lines keep the layout of a printed line, as ``pdftotext -layout`` does: words of one row are
joined left to right and a wide gap becomes a run of spaces, so ``Case Number:   CM17-...`` stays
one line (label and value together), which is what the rules engine reads best. See docs/ocr.md
for the comparison that picked the default engine.
"""

from __future__ import annotations

import importlib
import os
import shutil
import statistics
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import ConfigurationError, OcrUnavailableError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from PIL.Image import Image

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "OcrEngine",
    "OcrLine",
    "OcrPage",
    "available_engines",
    "get_ocr_engine",
]

#: The engine ``get_ocr_engine()`` returns when no name is given (chosen in docs/ocr.md).
DEFAULT_ENGINE = "rapidocr"


@dataclass(frozen=True)
class OcrLine:
    """One printed line as the engine read it.

    ``confidence`` (0..1, None if the engine gives none) is the line's, a character-weighted
    mean over what it read. ``char_confidences``, when the engine gives them, has one score per
    character of ``text``: rapidocr's recogniser probability of each character, tesseract's
    word confidence for each character of the word. A mean hides one misread character among
    forty read well; the score of the characters under a value does not (docs/ocr.md measures
    both). Spaces the layout put between boxes were not read and score 1.0.
    """

    text: str
    confidence: float | None = None
    char_confidences: tuple[float, ...] | None = None


@dataclass(frozen=True)
class OcrPage:
    """The lines of one page image in reading order, and which engine read them."""

    lines: list[OcrLine]
    engine: str
    engine_version: str

    @property
    def text(self) -> str:
        """The page as text: its lines joined by newlines."""
        return "\n".join(line.text for line in self.lines)

    @property
    def mean_confidence(self) -> float | None:
        """Mean confidence over the lines that have one (None when no line has one)."""
        scores = [line.confidence for line in self.lines if line.confidence is not None]
        return statistics.fmean(scores) if scores else None


@runtime_checkable
class OcrEngine(Protocol):
    """What the file-input code needs of an OCR engine."""

    name: str
    version: str

    def recognise(self, image: Image) -> OcrPage:
        """Read one page image (any PIL mode) into lines in reading order."""
        ...


# --- Laying out words or text boxes as printed lines ---------------------------------------


@dataclass(frozen=True)
class _Box:
    """A recognised word or text segment: its centre, size in pixels, text and confidence."""

    x0: float
    x1: float
    cy: float
    height: float
    text: str
    confidence: float | None
    #: One score per character of ``text`` (None: the engine gives only ``confidence``).
    char_confidences: tuple[float, ...] | None = None

    def char_scores(self) -> tuple[float, ...] | None:
        """Per-character scores of ``text``: the engine's own, else the box's confidence for
        every character, else None."""
        if self.char_confidences is not None and len(self.char_confidences) == len(self.text):
            return self.char_confidences
        if self.confidence is None:
            return None
        return (self.confidence,) * len(self.text)


def _median_slope(slopes: Sequence[tuple[float, float]]) -> float:
    """The page's skew (dy/dx) as the width-weighted median of per-line slopes.

    A scan is rarely square to the page: across a 6.5 inch line a 1 degree skew moves the text
    by more than half a line at 200 dpi, so rows cannot be grouped by raw y. Each engine says
    how its lines slope (tesseract's line ids, rapidocr's quadrilaterals); the median ignores the
    odd mis-detected box.
    """
    if not slopes:
        return 0.0
    ordered = sorted(slopes)
    half = sum(w for _, w in ordered) / 2
    seen = 0.0
    for slope, weight in ordered:
        seen += weight
        if seen >= half:
            return max(-0.1, min(0.1, slope))
    return 0.0  # pragma: no cover - unreachable


def _rows(boxes: Sequence[_Box], slope: float) -> list[list[_Box]]:
    """Group boxes into printed rows, top to bottom, each row left to right.

    Boxes are compared on their centre's height with the skew taken out (``y - slope * x``): a
    box joins the nearest of the last rows when that lies within half the page's typical text
    height of the row's median, which keeps a label and its value together but consecutive
    lines apart. The tolerance is the page's, not the box's: a hyphen or a full stop is a few
    pixels tall, and measured by its own height it would start a row of its own and carry the
    next words with it ("Low Back - Lumbar ... Chapter" read as two lines).
    """

    def level(box: _Box) -> float:
        return box.cy - slope * (box.x0 + box.x1) / 2

    words = [b.height for b in boxes if len(b.text.strip()) >= 2]
    typical = statistics.median(words) if words else statistics.median(b.height for b in boxes)
    rows: list[list[_Box]] = []
    mids: list[float] = []
    for box in sorted(boxes, key=level):
        y = level(box)
        near = min(range(max(0, len(rows) - 3), len(rows)), key=lambda k: abs(y - mids[k]),
                   default=None)  # fmt: skip
        if near is not None and abs(y - mids[near]) <= 0.5 * typical + 1:
            rows[near].append(box)
            mids[near] = statistics.median(level(b) for b in rows[near])
        else:
            rows.append([box])
            mids.append(y)
    order = sorted(range(len(rows)), key=lambda k: mids[k])
    return [sorted(rows[k], key=lambda b: b.x0) for k in order]


def _char_width(boxes: Sequence[_Box]) -> float:
    """The page's typical character width (median over boxes of width / characters)."""
    widths = [(b.x1 - b.x0) / len(b.text) for b in boxes if len(b.text) >= 2]
    return statistics.median(widths) if widths else 10.0


def _layout(boxes: Sequence[_Box], slope: float = 0.0, *, word_gap: float = 1.5) -> list[OcrLine]:
    """Printed lines from boxes, keeping a row's columns apart as ``pdftotext -layout`` does.

    Within a row, a gap narrower than ``word_gap`` characters is one space (words of a phrase);
    a wider gap becomes as many spaces as characters would fit in it (at least two), so a label
    and its value, or two header columns, stay visibly separate on one line. A row is indented
    by the characters between the page's left text edge and its first box. A line's confidence
    is the character-weighted mean of its boxes' confidences.
    """
    boxes = [b for b in boxes if b.text.strip()]
    if not boxes:
        return []
    char_w = _char_width(boxes)
    left = min(b.x0 for b in boxes)
    lines: list[OcrLine] = []
    for row in _rows(boxes, slope):
        parts: list[str] = [" " * round((row[0].x0 - left) / char_w)]
        scores: list[float] | None = [1.0] * len(parts[0])
        end = row[0].x0
        for j, box in enumerate(row):
            if j:
                gap = (box.x0 - end) / char_w
                parts.append(" " if gap < word_gap else " " * max(2, round(gap)))
                if scores is not None:
                    scores.extend([1.0] * len(parts[-1]))
            lead = len(box.text) - len(box.text.lstrip())
            text = box.text.strip()
            parts.append(text)
            own = box.char_scores()
            if scores is not None and own is not None:
                scores.extend(own[lead : lead + len(text)])
            else:
                scores = None
            end = max(end, box.x1)
        scored = [(b.confidence, len(b.text)) for b in row if b.confidence is not None]
        weight = sum(n for _, n in scored)
        conf = sum(c * n for c, n in scored) / weight if weight else None
        line = "".join(parts).rstrip()
        per_char = tuple(scores[: len(line)]) if scores is not None else None
        lines.append(OcrLine(text=line, confidence=conf, char_confidences=per_char))
    return lines


# --- Engines ---------------------------------------------------------------------------------


def _import(module: str, engine: str) -> Any:
    """Import an engine's library, or say which command installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise OcrUnavailableError(
            f"the {engine} OCR engine is not installed ({module} cannot be imported); "
            f"install it with: {INSTALL[engine]}"
        ) from exc


def _threads(threads: int | None) -> int | None:
    """Threads an engine may use: the argument, else ``IMR_LLM_OCR_THREADS``, else None (the
    engine's own default, which is every core)."""
    if threads is not None:
        return max(1, int(threads))
    env = os.environ.get("IMR_LLM_OCR_THREADS", "").strip()
    return int(env) if env.isdigit() and int(env) > 0 else None


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _dpi(image: Image, default: int = 200) -> int:
    """The image's resolution from its metadata (PNG/TIFF ``dpi``), else ``default``."""
    dpi = image.info.get("dpi")
    try:
        value = round(float(dpi[0])) if dpi else default
    except (TypeError, ValueError, IndexError):
        value = default
    return value if 50 <= value <= 1200 else default


class TesseractEngine:
    """Debian's tesseract program; its words regrouped into printed rows.

    Every setting belongs to the engine object and goes to the program with each call: the
    language, the resolution, and the OpenMP thread limit, which tesseract reads only from its
    environment (``OMP_THREAD_LIMIT``). The engine gives each run its own copy of the
    environment with the limit set, never changing ``os.environ``, so threads OCR-ing pages at
    once (``extract_many``, several tasks in one worker) each get their own engine's setting.
    (Setting the variable in ``os.environ`` around the call, as this engine once did, let one
    thread's run see another's value, or none.) pytesseract is imported to check the extra is
    installed, but the program is run here: pytesseract passes no environment of its own.

    The default is one thread: Debian's build uses OpenMP, and on a page two threads were
    slower than one and burnt three times the CPU (docs/ocr.md); run pages in parallel instead.
    """

    name = "tesseract"

    def __init__(
        self, lang: str = "eng", threads: int | None = None, *, timeout_s: float = 300.0
    ) -> None:
        pytesseract = _import("pytesseract", self.name)
        cmd = getattr(getattr(pytesseract, "pytesseract", None), "tesseract_cmd", "tesseract")
        exe = shutil.which(cmd) or shutil.which("tesseract")
        if exe is None:
            raise OcrUnavailableError(
                "the tesseract OCR engine needs the tesseract program, which is not on the PATH; "
                f"install it with: {INSTALL[self.name]}"
            )
        self._exe = exe
        self.lang = lang
        self.threads = _threads(threads) or 1
        self.timeout_s = timeout_s
        self.version = self._version()

    def _env(self) -> dict[str, str]:
        """The environment of one run: the caller's, with this engine's thread limit."""
        env = dict(os.environ)
        env["OMP_THREAD_LIMIT"] = str(self.threads)
        return env

    def _version(self) -> str:
        """``tesseract --version``'s version number (the first line, ``tesseract 5.3.0``)."""
        try:
            out = subprocess.run(
                [self._exe, "--version"], capture_output=True, text=True, timeout=60,
                env=self._env(), check=False,
            )  # fmt: skip
        except OSError as exc:
            raise OcrUnavailableError(
                f"tesseract cannot be run ({exc.strerror}); install it with: {INSTALL[self.name]}"
            ) from None
        first = (out.stdout or out.stderr).strip().splitlines()[:1]
        words = first[0].split() if first else []
        return words[1].lstrip("v") if len(words) >= 2 else "unknown"

    def recognise(self, image: Image) -> OcrPage:
        """OCR one page: tesseract finds the words and lines, rows are rebuilt across columns."""
        import io

        buffer = io.BytesIO()
        page = image if image.mode in ("1", "L", "RGB") else image.convert("RGB")
        page.save(buffer, format="PNG")
        args = [self._exe, "stdin", "stdout", "-l", self.lang, "--dpi", str(_dpi(image)), "tsv"]
        try:
            out = subprocess.run(
                args, input=buffer.getvalue(), capture_output=True, timeout=self.timeout_s,
                env=self._env(), check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise OcrUnavailableError(f"tesseract could not read the page ({exc})") from None
        if out.returncode != 0:
            why = out.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise OcrUnavailableError(
                f"tesseract failed on the page (exit {out.returncode}: {why[0][:200]}); "
                f"is the '{self.lang}' language installed? {INSTALL[self.name]}"
            )
        boxes: list[_Box] = []
        lines: dict[tuple[str, str, str], list[_Box]] = {}
        for row in _tsv_words(out.stdout.decode("utf-8", "replace")):
            conf = float(row["conf"])
            word = row["text"]
            if conf < 0 or not word.strip():
                continue
            x, y = float(row["left"]), float(row["top"])
            w, h = float(row["width"]), float(row["height"])
            box = _Box(x, x + w, y + h / 2, h, word, conf / 100.0)
            boxes.append(box)
            lines.setdefault((row["block_num"], row["par_num"], row["line_num"]), []).append(box)
        return OcrPage(
            lines=_layout(boxes, _median_slope(_line_slopes(lines.values()))),
            engine=self.name,
            engine_version=self.version,
        )


def _tsv_words(tsv: str) -> list[dict[str, str]]:
    """The rows of tesseract's TSV output as dicts by column name (words have ``text``)."""
    rows = tsv.splitlines()
    if not rows:
        return []
    header = rows[0].split("\t")
    out = []
    for line in rows[1:]:
        cells = line.split("\t")
        if len(cells) == len(header):
            out.append(dict(zip(header, cells, strict=True)))
        elif len(cells) == len(header) - 1:  # a word row with an empty text cell
            out.append(dict(zip(header, [*cells, ""], strict=True)))
    return out


def _line_slopes(lines: Any) -> list[tuple[float, float]]:
    """(slope, width) of each line of three or more words, from its words' bottom edges.

    Word boxes are axis-aligned, so a skewed line shows as bottoms (baselines, mostly) that rise
    or fall from word to word; a least-squares fit over them gives the line's slope.
    """
    slopes = []
    for words in lines:
        if len(words) < 3:
            continue
        xs = [(b.x0 + b.x1) / 2 for b in words]
        ys = [b.cy + b.height / 2 for b in words]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx > 0:
            sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
            slopes.append((sxy / sxx, max(xs) - min(xs)))
    return slopes


#: Longest side, in pixels, of the image rapidocr's text detector sees (the page is scaled
#: down to it; the recogniser still reads each line from the full-resolution page). RapidOCR's
#: own default scales a 200 dpi page to 2,000 px and detects on all of it, which was half the
#: time of a page; at 896 px, letter text is still 11-13 px tall, which the detector finds as
#: well (docs/ocr.md: character error no worse on the corpus scans and faxes, time halved).
RAPIDOCR_DET_SIDE = 896

#: Gaussian blur (sigma, in pixels) rapidocr's engine gives every page before reading it. Its
#: models were trained on photos and scans with soft edges; hard edges read worse, above all a
#: fax's 1-bit strokes, which break up when the page is scaled down to the 896 px detector. On
#: the corpus pages (eval/gold/notes/ocr-speed.md) the blur lowered the character error of
#: 1-bit faxes (4.64% to 4.36%, below the old engine's 4.54%), of faxes as a PDF renderer hands
#: them over (4.71% to 4.44%), of scans (0.66% to 0.59%) and of crisp rendered pages (1.25% to
#: 1.00%), for a few milliseconds a page. 0 turns it off.
RAPIDOCR_BLUR = 0.7


class RapidOcrEngine:
    """RapidOCR 3.x on onnxruntime, run only on the models shipped inside its wheel.

    RapidOCR downloads a model it does not find; to make that impossible the engine passes the
    paths of the wheel's own detection, direction and recognition models, and reports the
    engine as not installed when they are missing (see docs/ocr.md).

    Every page is read in grey and softened with a slight blur first (:data:`RAPIDOCR_BLUR`):
    hard edges, a fax's 1-bit strokes above all, read worse.

    Settings belong to the object (threads, detector size, blur), given to onnxruntime's sessions
    when they are made; nothing process-wide changes per call, and a page may be read from
    several threads at once (onnxruntime sessions run concurrently; RapidOCR's steps keep no
    per-call state on the object). The steps are run here rather than through
    ``RapidOCR.__call__`` so that each line keeps the recogniser's per-character
    probabilities, which the call's output averages away (docs/ocr.md).
    """

    name = "rapidocr"

    def __init__(
        self,
        threads: int | None = None,
        *,
        det_side: int = RAPIDOCR_DET_SIDE,
        rec_lanes: int | None = None,
        blur: float = RAPIDOCR_BLUR,
    ) -> None:
        _import("onnxruntime", self.name)
        module = _import("rapidocr", self.name)
        from importlib.metadata import version  # here: reading metadata costs milliseconds

        self.version = version("rapidocr")
        models = _rapidocr_models(module)
        self.threads = _threads(threads)
        self.det_side = int(det_side)
        self.blur = max(0.0, float(blur))
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Det.model_path": str(models["det"]),
            "Cls.model_path": str(models["cls"]),
            "Rec.model_path": str(models["rec"]),
        }
        if self.det_side > 0:
            params["Det.limit_type"] = "max"
            params["Det.limit_side_len"] = self.det_side
        if self.threads is not None:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = self.threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        # Detection and direction: one image each, so onnxruntime's threads share the work.
        self._ocr = module.RapidOCR(params=params)
        self._ocr._load_det_model()
        self._ocr._load_cls_model()
        # Recognition: a page's lines split into ``lanes`` groups read at once, each lane on
        # one onnxruntime thread. Lines are many small images; one run on two threads was
        # barely faster than on one (docs/ocr.md), two runs on one thread each keep both
        # cores busy. ``rec_lanes=1`` reads all lines in one run on every thread (RapidOCR's
        # own way, the engine's before the speed work).
        self.lanes = max(1, rec_lanes or self.threads or _cores())
        if self.lanes > 1:
            rec_params = {**params, "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                          "EngineConfig.onnxruntime.inter_op_num_threads": 1}  # fmt: skip
            self._rec = module.RapidOCR(params=rec_params)._load_rec_model()
        else:
            self._rec = self._ocr._load_rec_model()
        from rapidocr.ch_ppocr_rec import TextRecInput
        from rapidocr.main import RapidOCRError
        from rapidocr.utils.process_img import map_boxes_to_original

        self._rec_input = TextRecInput
        self._no_text = RapidOCRError
        self._to_page = map_boxes_to_original

    def _read_lines(self, crops: list[Any]) -> list[tuple[str, float, Any]]:
        """(text, score, per-character info) of each line image, in order, read in lanes.

        Lines are dealt to the lanes in order of width, round robin, so each lane gets about
        the same number of pixels to read.
        """
        if not crops:
            return []
        order = sorted(range(len(crops)), key=lambda k: crops[k].shape[1] / crops[k].shape[0])
        lanes = [order[k :: self.lanes] for k in range(min(self.lanes, len(crops)))]

        def read(lane: list[int]) -> list[tuple[str, float, Any]]:
            out = self._rec(self._rec_input(img=[crops[k] for k in lane], return_word_box=True))
            infos = out.word_results or (None,) * len(lane)
            return list(zip(out.txts, out.scores, infos, strict=True))

        if len(lanes) == 1:
            results = [read(lanes[0])]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
                results = list(pool.map(read, lanes))
        lines: list[Any] = [None] * len(crops)
        for lane, found in zip(lanes, results, strict=True):
            for k, line in zip(lane, found, strict=True):
                lines[k] = line
        return lines

    def recognise(self, image: Image) -> OcrPage:
        """OCR one page; each detected text segment is a box, grouped into printed rows."""
        import numpy as np

        if self.blur:
            from PIL import ImageFilter

            image = image.convert("L").filter(ImageFilter.GaussianBlur(self.blur))
        pixels = np.asarray(image.convert("RGB"))
        height, width = pixels.shape[:2]
        ocr = self._ocr
        empty = OcrPage(lines=[], engine=self.name, engine_version=self.version)
        scaled, record = ocr.preprocess_img(pixels)
        try:
            crops, det = ocr.detect_and_crop(scaled, record)
            crops, _ = ocr.cls_and_rotate(crops)
        except self._no_text:  # RapidOCR's way of saying the page has no text
            return empty
        if det.boxes is None or not len(det.boxes):
            return empty
        boxes: list[_Box] = []
        slopes: list[tuple[float, float]] = []
        quads = self._to_page(np.array(det.boxes, dtype=np.float64), record, height, width)
        for quad, (text, score, info) in zip(quads, self._read_lines(crops), strict=True):
            text = str(text)
            if not text.strip() or float(score) < ocr.text_score:
                continue  # what RapidOCR's own output drops
            (x0, y0), (x1, y1), (x2, y2), (x3, y3) = (map(float, p) for p in quad)
            seg_width = ((x1 - x0) + (x2 - x3)) / 2
            seg_height = ((y3 - y0) + (y2 - y1)) / 2
            if seg_width > 0:
                slopes.append((((y1 - y0) + (y2 - y3)) / 2 / seg_width, seg_width))
            confs = getattr(info, "confs", None)
            per_char = tuple(float(c) for c in confs) if confs and len(confs) == len(text) else None
            xs, ys = (x0, x1, x2, x3), (y0, y1, y2, y3)
            boxes.append(
                _Box(min(xs), max(xs), sum(ys) / 4, max(1.0, seg_height), text, float(score),
                     per_char)
            )  # fmt: skip
        return OcrPage(
            lines=_layout(boxes, _median_slope(slopes)),
            engine=self.name,
            engine_version=self.version,
        )


def _rapidocr_models(module: Any) -> dict[str, Any]:
    """The wheel's own det/cls/rec ONNX models, or OcrUnavailableError (never a download)."""
    from pathlib import Path

    folder = Path(module.__file__).parent / "models"
    found: dict[str, Any] = {}
    for task in ("det", "cls", "rec"):
        matches = sorted(folder.glob(f"*_{task}_*.onnx"))
        if len(matches) != 1:
            raise OcrUnavailableError(
                f"the rapidocr OCR engine has no single {task} model in its wheel ({folder}); "
                f"this rapidocr version does not ship its models: {INSTALL['rapidocr']}"
            )
        found[task] = matches[0]
    return found


#: Engine name -> its class; the order is the order ``available_engines()`` reports.
ENGINES: dict[str, Callable[..., OcrEngine]] = {
    "rapidocr": RapidOcrEngine,
    "tesseract": TesseractEngine,
}

#: Engine name -> the command that installs it (named in every OcrUnavailableError).
INSTALL: dict[str, str] = {
    "rapidocr": "pip install 'imr-llm[ocr]'  (rapidocr>=3.10 with onnxruntime)",
    "tesseract": (
        "pip install 'imr-llm[ocr-tesseract]' and the tesseract program "
        "(Debian/Ubuntu: apt-get install tesseract-ocr tesseract-ocr-eng)"
    ),
}


def get_ocr_engine(name: str | None = None, *, threads: int | None = None) -> OcrEngine:
    """The OCR engine called ``name`` (None: the default), ready to use.

    ``threads`` caps the threads the engine uses on a page (default: ``IMR_LLM_OCR_THREADS``,
    else every core for rapidocr and one for tesseract, the fastest settings measured).

    Raises :class:`ConfigurationError` for a name that is not an engine and
    :class:`OcrUnavailableError`, naming the install command, when the engine is not installed.
    """
    key = (name or DEFAULT_ENGINE).strip().lower()
    if key not in ENGINES:
        raise ConfigurationError(
            f"unknown OCR engine {name!r}; the engines are: {', '.join(ENGINES)}"
        )
    return ENGINES[key](threads=threads)


def available_engines() -> list[str]:
    """The names of the engines that are installed and would load (the default first)."""
    names = sorted(ENGINES, key=lambda n: n != DEFAULT_ENGINE)
    return [n for n in names if _INSTALLED[n]()]


def _has_module(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (a model load is slow)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


#: Engine name -> a cheap check that it is installed (library importable, program present).
_INSTALLED: dict[str, Callable[[], bool]] = {
    "rapidocr": lambda: _has_module("rapidocr") and _has_module("onnxruntime"),
    "tesseract": lambda: _has_module("pytesseract") and shutil.which("tesseract") is not None,
}
