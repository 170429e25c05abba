"""OCR of page images that have no usable text layer: one interface, two optional engines.

Why a module of its own: scanned and faxed letters reach users as PDFs without text, and the
file-input code must turn a page image into lines of text without knowing which OCR library is
installed. Every engine returns the same :class:`OcrPage` (lines in reading order, a confidence
per line where the engine gives one, the engine's name and version for the record's metadata).

Engines (neither is a core dependency; both are imported only when asked for, so ``import
imr_llm`` works with no OCR library installed):

* ``tesseract``: Debian's ``tesseract-ocr`` through pytesseract (``pip install
  'imr-llm[ocr-tesseract]'`` plus ``apt-get install tesseract-ocr``).
* ``rapidocr``: ``rapidocr_onnxruntime`` 1.x, whose ONNX models ship inside the wheel
  (``pip install 'imr-llm[ocr]'``). Nothing is downloaded at run time by either engine.

Lines keep the layout of a printed line, as ``pdftotext -layout`` does: words of one row are
joined left to right and a wide gap becomes a run of spaces, so ``Case Number:   CM17-...`` stays
one line (label and value together), which is what the rules engine reads best. See docs/ocr.md
for the comparison that picked the default engine.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import ConfigurationError, OcrUnavailableError

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
    """One printed line as the engine read it; ``confidence`` is 0..1, None if not given."""

    text: str
    confidence: float | None = None


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
    """A recognised word or text segment with its axis-aligned box in pixels."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    confidence: float | None

    @property
    def height(self) -> float:
        return max(1.0, self.y1 - self.y0)


def _rows(boxes: Sequence[_Box]) -> list[list[_Box]]:
    """Group boxes into printed rows by vertical overlap; rows top to bottom, boxes left to right.

    A box joins a row when it overlaps the row's vertical extent by at least half of the smaller
    height. That tolerates the slight skew of a scan (a label and its value a few inches apart
    drift by a few pixels) while keeping consecutive lines, whose boxes barely touch, apart.
    """
    rows: list[list[_Box]] = []
    extents: list[tuple[float, float]] = []
    for box in sorted(boxes, key=lambda b: ((b.y0 + b.y1) / 2, b.x0)):
        best, best_overlap = -1, 0.0
        for i, (top, bottom) in enumerate(extents[-3:], start=max(0, len(extents) - 3)):
            overlap = min(bottom, box.y1) - max(top, box.y0)
            need = 0.5 * min(box.height, bottom - top)
            if overlap >= need and overlap > best_overlap:
                best, best_overlap = i, overlap
        if best < 0:
            rows.append([box])
            extents.append((box.y0, box.y1))
        else:
            rows[best].append(box)
            top, bottom = extents[best]
            # The row's extent follows its median box, so one tall box does not swallow the next
            # row.
            rows[best].sort(key=lambda b: b.x0)
            heights = sorted(rows[best], key=lambda b: b.height)
            mid = heights[len(heights) // 2]
            extents[best] = (
                (min(top, mid.y0), max(bottom, mid.y1))
                if len(rows[best]) < 3
                else (
                    mid.y0,
                    mid.y1,
                )
            )
    order = sorted(
        range(len(rows)), key=lambda i: statistics.median((b.y0 + b.y1) / 2 for b in rows[i])
    )
    return [sorted(rows[i], key=lambda b: b.x0) for i in order]


def _char_width(boxes: Sequence[_Box]) -> float:
    """The page's typical character width (median over boxes of width / characters)."""
    widths = [(b.x1 - b.x0) / len(b.text) for b in boxes if len(b.text) >= 2]
    return statistics.median(widths) if widths else 10.0


def _layout(boxes: Sequence[_Box], *, word_gap: float = 1.5) -> list[OcrLine]:
    """Printed lines from boxes, keeping a row's columns apart as ``pdftotext -layout`` does.

    Within a row, a gap narrower than ``word_gap`` characters is one space (words of a phrase);
    a wider gap becomes as many spaces as characters would fit in it (at least two), so a label
    and its value, or two header columns, stay visibly separate on one line. A line's confidence
    is the character-weighted mean of its boxes' confidences.
    """
    boxes = [b for b in boxes if b.text.strip()]
    if not boxes:
        return []
    char_w = _char_width(boxes)
    left = min(b.x0 for b in boxes)
    lines: list[OcrLine] = []
    for row in _rows(boxes):
        parts: list[str] = []
        indent = round((row[0].x0 - left) / char_w)
        end = row[0].x0
        for j, box in enumerate(row):
            if j:
                gap = (box.x0 - end) / char_w
                parts.append(" " if gap < word_gap else " " * max(2, round(gap)))
            parts.append(box.text.strip())
            end = max(end, box.x1)
        text = " " * indent + "".join(parts)
        scored = [(b.confidence, len(b.text)) for b in row if b.confidence is not None]
        conf = sum(c * n for c, n in scored) / sum(n for _, n in scored) if scored else None
        lines.append(OcrLine(text=text.rstrip(), confidence=conf))
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


def _threads() -> int:
    """Threads an engine may use: ``IMR_LLM_OCR_THREADS``, else the CPUs this process may use."""
    env = os.environ.get("IMR_LLM_OCR_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class TesseractEngine:
    """Debian's tesseract through pytesseract; words grouped into printed lines."""

    name = "tesseract"

    def __init__(self, lang: str = "eng", threads: int | None = None) -> None:
        self._pt = _import("pytesseract", self.name)
        exe = shutil.which(self._pt.pytesseract.tesseract_cmd) or shutil.which("tesseract")
        if exe is None:
            raise OcrUnavailableError(
                "the tesseract OCR engine needs the tesseract program, which is not on the PATH; "
                f"install it with: {INSTALL[self.name]}"
            )
        self._pt.pytesseract.tesseract_cmd = exe
        self.lang = lang
        self.threads = threads or _threads()
        self.version = str(self._pt.get_tesseract_version())

    def recognise(self, image: Image) -> OcrPage:
        """OCR one page; tesseract's own layout analysis orders the words, rows are rebuilt."""
        dpi = image.info.get("dpi", (200, 200))[0]
        os.environ.setdefault("OMP_THREAD_LIMIT", str(self.threads))
        data = self._pt.image_to_data(
            image.convert("L") if image.mode not in ("L", "1", "RGB") else image,
            lang=self.lang,
            config=f"--dpi {round(float(dpi))}",
            output_type=self._pt.Output.DICT,
        )
        boxes = []
        for i, word in enumerate(data["text"]):
            conf = float(data["conf"][i])
            if not str(word).strip() or conf < 0:
                continue
            x, y = float(data["left"][i]), float(data["top"][i])
            w, h = float(data["width"][i]), float(data["height"][i])
            boxes.append(_Box(x, y, x + w, y + h, str(word), conf / 100.0))
        return OcrPage(lines=_layout(boxes), engine=self.name, engine_version=self.version)


class RapidOcrEngine:
    """rapidocr_onnxruntime 1.x: detection, angle and recognition models shipped in the wheel."""

    name = "rapidocr"

    def __init__(self, threads: int | None = None) -> None:
        module = _import("rapidocr_onnxruntime", self.name)
        self.threads = threads or _threads()
        self.version = importlib.metadata.version("rapidocr_onnxruntime")
        self._ocr = module.RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1)

    def recognise(self, image: Image) -> OcrPage:
        """OCR one page; each detected text segment is a box, grouped into printed rows."""
        import numpy as np

        arr = np.asarray(image.convert("RGB"))
        result, _elapsed = self._ocr(arr)
        boxes = []
        for quad, text, score in result or ():
            xs = [float(p[0]) for p in quad]
            ys = [float(p[1]) for p in quad]
            boxes.append(_Box(min(xs), min(ys), max(xs), max(ys), str(text), float(score)))
        return OcrPage(lines=_layout(boxes), engine=self.name, engine_version=self.version)


#: Engine name -> its class; the order is the order ``available_engines()`` reports.
ENGINES: dict[str, Callable[[], OcrEngine]] = {
    "rapidocr": RapidOcrEngine,
    "tesseract": TesseractEngine,
}

#: Engine name -> the command that installs it (named in every OcrUnavailableError).
INSTALL: dict[str, str] = {
    "rapidocr": "pip install 'imr-llm[ocr]'",
    "tesseract": (
        "pip install 'imr-llm[ocr-tesseract]' and the tesseract program "
        "(Debian/Ubuntu: apt-get install tesseract-ocr tesseract-ocr-eng)"
    ),
}


def get_ocr_engine(name: str | None = None) -> OcrEngine:
    """The OCR engine called ``name`` (None: the default), ready to use.

    Raises :class:`ConfigurationError` for a name that is not an engine and
    :class:`OcrUnavailableError`, naming the install command, when the engine is not installed.
    """
    key = (name or DEFAULT_ENGINE).strip().lower()
    if key not in ENGINES:
        raise ConfigurationError(
            f"unknown OCR engine {name!r}; the engines are: {', '.join(ENGINES)}"
        )
    return ENGINES[key]()


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
    "rapidocr": lambda: _has_module("rapidocr_onnxruntime") and _has_module("onnxruntime"),
    "tesseract": lambda: _has_module("pytesseract") and shutil.which("tesseract") is not None,
}
