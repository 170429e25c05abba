"""Render gold letters to degraded page images and OCR them with tesseract.

Why: production letters reach us as scanned or faxed PDFs whose text comes from OCR, so the
extractor must be scored on text with *real* OCR damage (mis-read glyphs, lost header columns,
stray marks), not only on hand-made noise. Rendering each gold letter and running tesseract on
a deliberately degraded image gives such text while keeping the letter's gold label valid.

Two severities are produced per letter:

* ``scan`` -> ``renderings/ocr/<id>.txt``: 200 dpi, slight blur, speckle, small skew, mild
  contrast loss (the corpus' ``text-ocr`` sits at roughly 1-4 % CER).
* ``fax`` -> ``renderings/ocrfax/<id>.txt``: rendered at 200 dpi, blurred, down-sampled to
  150 dpi and hard-thresholded like a fax (the corpus' ``text-ocrfax`` sits at 5-12 % CER).

All randomness comes from a seed derived from ``sha256(letter id + severity)`` so a rebuild
reproduces byte-identical images (and, with the same tesseract build, identical text).

Usage::

    python eval/scripts/render_ocr.py --letters eval/gold/letters --out eval/gold/renderings \
        [--only ID ...] [--jobs 2] [--force] [--severity scan fax] [--images DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Page geometry (inches / points). US letter with 1-inch margins like the real letters.
PAGE_W_IN = 8.5
PAGE_H_IN = 11.0
MARGIN_IN = 1.0
FONT_PT = 11.0
MIN_FONT_PT = 8.5  # never shrink below this: tesseract accuracy collapses on tiny glyphs
LINE_SPACING = 1.18  # baseline-to-baseline distance as a multiple of the font size

# Fonts tried in order. The real letters use a Times-like face (~100 characters per 6.5 inch
# line); plain DejaVu Serif must shrink to ~9pt to fit that, which makes OCR unrealistically
# hard, so its condensed cut comes first. The order is fixed (not "best installed") so that
# installing another font later does not silently change every rendering.
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts")
FONT_CANDIDATES = ("DejaVuSerifCondensed.ttf", "DejaVuSerif.ttf", "LiberationSerif-Regular.ttf")

LOST_PAGE_RATIO = 0.3  # below this share of the page's words, treat the page as lost
SEVERITY_DIRS = {"scan": "ocr", "fax": "ocrfax"}
RUN_RE = re.compile(r"\S+(?: \S+)*")  # a run of words separated by single spaces


@dataclass(frozen=True)
class Severity:
    """Degradation parameters; ranges are sampled per letter from the seeded generator."""

    name: str
    render_dpi: int
    out_dpi: int
    rotation: tuple[float, float]  # absolute degrees; sign is random
    blur: tuple[float, float]  # Gaussian radius in pixels at render_dpi
    black: tuple[float, float]  # ink level after contrast loss (0 = black)
    white: tuple[float, float]  # paper level after contrast loss (255 = white)
    noise_sigma: tuple[float, float]
    shading: float  # max +/- grey-level drift across the page (uneven illumination)
    speckle_per_mpx: tuple[float, float]  # dark specks per million pixels
    dropout_per_kink: tuple[float, float]  # ink drop-outs per 1000 ink pixels (not per page,
    # so a sparse or double-spaced page is not damaged more per glyph than a dense one)
    threshold: tuple[float, float] | None  # fax: hard binarisation level, None = greyscale


SEVERITIES: dict[str, Severity] = {
    "scan": Severity(
        name="scan",
        render_dpi=200,
        out_dpi=200,
        rotation=(0.3, 0.8),
        blur=(0.55, 0.85),
        black=(15.0, 55.0),
        white=(212.0, 240.0),
        noise_sigma=(3.0, 6.0),
        shading=3.0,
        speckle_per_mpx=(60.0, 200.0),
        dropout_per_kink=(2.0, 7.0),
        threshold=None,
    ),
    "fax": Severity(
        name="fax",
        render_dpi=200,
        out_dpi=150,
        rotation=(0.5, 1.3),
        blur=(0.9, 1.3),
        black=(30.0, 60.0),
        white=(205.0, 230.0),
        noise_sigma=(9.0, 14.0),
        shading=8.0,
        speckle_per_mpx=(400.0, 1000.0),
        dropout_per_kink=(12.0, 28.0),
        threshold=(136.0, 148.0),
    ),
}


def letter_seed(letter_id: str, severity: str) -> int:
    """Stable 64-bit seed; ``hash()`` is salted per process so it cannot be used here."""
    digest = hashlib.sha256(f"{letter_id}\x00{severity}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def find_font_path() -> Path | None:
    """Return the first available serif TrueType font, or None to fall back to Pillow's own."""
    for name in FONT_CANDIDATES:
        for base in FONT_DIRS:
            for path in Path(base).rglob(name) if Path(base).is_dir() else ():
                return path
    return None


def load_font(path: Path | None, size_px: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Load the font at a pixel size; Pillow >= 10.1 can scale its built-in font as last resort."""
    if path is not None:
        return ImageFont.truetype(str(path), size=max(1, round(size_px)))
    return ImageFont.load_default(size=max(1, round(size_px)))


def split_pages(text: str, lines_per_page: int) -> list[list[str]]:
    """Split on form feeds, then break any page that is taller than the printable area."""
    pages: list[list[str]] = []
    for chunk in text.split("\f"):
        lines = chunk.split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            continue
        for start in range(0, len(lines), lines_per_page):
            pages.append(lines[start : start + lines_per_page])
    return pages or [[""]]


def line_runs(line: str) -> list[tuple[int, str]]:
    """Runs of single-spaced words with their start column (to keep header-table columns)."""
    return [(m.start(), m.group()) for m in RUN_RE.finditer(line.expandtabs())]


@dataclass
class Typesetter:
    """Chooses font size and column width for one letter so its longest line fits the page."""

    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    size_px: float
    char_w: float
    line_h: float
    margin: float
    text_w: float

    @classmethod
    def for_text(cls, text: str, dpi: int) -> Typesetter:
        """Fit the text block: shrink the font (not below MIN_FONT_PT) before overflowing."""
        font_path = find_font_path()
        margin = MARGIN_IN * dpi
        text_w = (PAGE_W_IN - 2 * MARGIN_IN) * dpi
        lines = [ln.rstrip() for ln in text.replace("\f", "\n").split("\n")]
        longest = max((ln.strip() for ln in lines), key=len, default="")
        # Columns in -layout text are proportional to x on the page; the widest line spans
        # (roughly) the text block, so one column is text_w / widest.
        max_cols = max(80, max((len(ln.expandtabs()) for ln in lines), default=80))
        size_px = FONT_PT * dpi / 72.0
        font = load_font(font_path, size_px)
        width = font.getlength(longest) if longest else 0.0
        if width > text_w:
            size_px = max(MIN_FONT_PT * dpi / 72.0, size_px * text_w / width)
            font = load_font(font_path, size_px)
        return cls(
            font=font,
            size_px=size_px,
            char_w=text_w / max_cols,
            line_h=size_px * LINE_SPACING,
            margin=margin,
            text_w=text_w,
        )

    def lines_per_page(self, dpi: int) -> int:
        """How many text lines fit between the top and bottom margins."""
        return max(1, int((PAGE_H_IN - 2 * MARGIN_IN) * dpi // self.line_h))

    def draw_page(self, lines: Sequence[str], dpi: int) -> Image.Image:
        """Draw one page in black on white; runs keep their column so tables stay tables."""
        img = Image.new("L", (round(PAGE_W_IN * dpi), round(PAGE_H_IN * dpi)), 255)
        draw = ImageDraw.Draw(img)
        space_w = self.font.getlength(" ")
        y = self.margin
        for line in lines:
            prev_end = -1.0
            for col, run in line_runs(line):
                x = self.margin + col * self.char_w
                if prev_end >= 0:
                    x = max(x, prev_end + 2 * space_w)
                draw.text((x, y), run, font=self.font, fill=0)
                prev_end = x + self.font.getlength(run)
            y += self.line_h
        return img


def degrade(img: Image.Image, sev: Severity, rng: np.random.Generator) -> Image.Image:
    """Apply skew, blur, contrast loss, noise and specks (and fax thresholding) to a page."""
    angle = float(rng.uniform(*sev.rotation)) * (1 if rng.random() < 0.5 else -1)
    img = img.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(*sev.blur))))
    if sev.out_dpi != sev.render_dpi:
        scale = sev.out_dpi / sev.render_dpi
        size = (round(img.width * scale), round(img.height * scale))
        img = img.resize(size, resample=Image.Resampling.BILINEAR)

    arr = np.asarray(img, dtype=np.float32)
    black, white = float(rng.uniform(*sev.black)), float(rng.uniform(*sev.white))
    arr = black + (white - black) * (arr / 255.0)
    # Uneven illumination: a gentle gradient across the page, as from a lid that is not shut.
    h, w = arr.shape
    # Kept small for scans: tesseract binarises with a global Otsu threshold, and on a sparse
    # last page strong shading or grain makes it drop the whole page, not just some glyphs.
    gx = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :] * float(rng.uniform(-1, 1))
    gy = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None] * float(rng.uniform(-1, 1))
    arr = arr + (gx + gy) * sev.shading
    arr = arr + rng.normal(0.0, float(rng.uniform(*sev.noise_sigma)), arr.shape).astype(np.float32)
    _specks(arr, rng, float(rng.uniform(*sev.speckle_per_mpx)), value=black)
    _dropouts(arr, rng, float(rng.uniform(*sev.dropout_per_kink)), value=white)
    if sev.threshold is not None:
        arr = np.where(arr < float(rng.uniform(*sev.threshold)), 0.0, 255.0)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
    if sev.threshold is not None:
        out = out.convert("1")
    return out


def _specks(arr: np.ndarray, rng: np.random.Generator, per_mpx: float, value: float) -> None:
    """Stamp 1-2 px specks anywhere on the page, in place (dust, toner, scanner grain)."""
    h, w = arr.shape
    n = int(per_mpx * h * w / 1e6)
    if n > 0:
        _stamp(arr, rng, rng.integers(0, h, n), rng.integers(0, w, n), value)


def _dropouts(arr: np.ndarray, rng: np.random.Generator, per_kink: float, value: float) -> None:
    """Stamp paper-coloured specks on glyph pixels, in place: broken strokes, faded toner."""
    ys, xs = np.nonzero(arr < (arr.mean() - 40))
    n = int(per_kink * len(ys) / 1000)
    if n > 0:
        pick = rng.integers(0, len(ys), n)
        _stamp(arr, rng, ys[pick], xs[pick], value)


def _stamp(
    arr: np.ndarray, rng: np.random.Generator, ys: np.ndarray, xs: np.ndarray, value: float
) -> None:
    """Set a 1x1 or 2x2 block at each (y, x) to ``value``."""
    sizes = rng.integers(1, 3, len(ys))
    for y, x, s in zip(ys.tolist(), xs.tolist(), sizes.tolist(), strict=True):
        arr[y : y + s, x : x + s] = value


def ensure_tesseract() -> str:
    """Find tesseract; as root install it with apt-get (saying so), otherwise exit clearly."""
    exe = shutil.which("tesseract")
    if exe:
        return exe
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        cmds = [
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "tesseract-ocr", "tesseract-ocr-eng"],
        ]
        for cmd in cmds:
            print(f"render_ocr: tesseract missing, running: {' '.join(cmd)}", file=sys.stderr)
            subprocess.run(cmd, check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        exe = shutil.which("tesseract")
        if exe:
            return exe
    sys.exit(
        "render_ocr: the `tesseract` CLI is required but not installed. Install it, e.g.\n"
        "  sudo apt-get install -y tesseract-ocr tesseract-ocr-eng   (Debian/Ubuntu)\n"
        "  brew install tesseract                                    (macOS)"
    )


def ocr_page(png: Path, dpi: int, exe: str = "tesseract", extra: Sequence[str] = ()) -> str:
    """OCR one page via the CLI; one OpenMP thread each because we parallelise by letter."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    proc = subprocess.run(
        [exe, str(png), "stdout", "--dpi", str(dpi), *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"tesseract failed on {png}: {proc.stderr.strip()}")
    return proc.stdout


def render_letter(
    text: str,
    letter_id: str,
    severity: str,
    exe: str = "tesseract",
    image_dir: Path | None = None,
) -> str:
    """Render, degrade and OCR one letter; pages are joined with form feeds like pdftotext."""
    sev = SEVERITIES[severity]
    rng = np.random.default_rng(letter_seed(letter_id, severity))
    ts = Typesetter.for_text(text, sev.render_dpi)
    pages = split_pages(text, ts.lines_per_page(sev.render_dpi))
    out_pages: list[str] = []
    with tempfile.TemporaryDirectory(prefix="render-ocr-") as tmp:
        for i, lines in enumerate(pages, start=1):
            img = degrade(ts.draw_page(lines, sev.render_dpi), sev, rng)
            png = Path(tmp) / f"page{i:02d}.png"
            img.save(png, dpi=(sev.out_dpi, sev.out_dpi))
            if image_dir is not None:
                image_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(png, image_dir / f"{letter_id}.{severity}.p{i:02d}.png")
            page_text = ocr_page(png, sev.out_dpi, exe)
            expected = sum(len(ln.split()) for ln in lines)
            if len(page_text.split()) < LOST_PAGE_RATIO * expected:
                # Tesseract's global Otsu threshold sometimes drops a sparse page entirely.
                # A reader would notice a blank page, so retry with adaptive (Sauvola)
                # binarisation instead of scoring the extractor on a missing page.
                page_text = ocr_page(png, sev.out_dpi, exe, ("-c", "thresholding_method=2"))
            page_text = page_text.replace("\f", "").strip("\n")
            out_pages.append(page_text + "\n")
    return "\f".join(out_pages) + "\f"


def _job(
    path: str, severity: str, out_file: str, exe: str, image_dir: str | None
) -> tuple[str, str, float]:
    """Process-pool worker: one (letter, severity) pair; returns timing for the report."""
    start = time.perf_counter()
    src = Path(path)
    text = src.read_text(encoding="utf-8")
    result = render_letter(text, src.stem, severity, exe, Path(image_dir) if image_dir else None)
    dest = Path(out_file)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".txt.part")
    tmp.write_text(result, encoding="utf-8")
    tmp.replace(dest)  # atomic, so an interrupted run never leaves a half-written rendering
    return src.stem, severity, time.perf_counter() - start


def render_all(
    letters_dir: Path,
    out_dir: Path,
    only: Iterable[str] | None = None,
    jobs: int = 2,
    force: bool = False,
    severities: Sequence[str] = ("scan", "fax"),
    image_dir: Path | None = None,
) -> list[tuple[str, str, float]]:
    """Render every letter (or ``only``) at each severity, skipping existing outputs."""
    wanted = set(only or ())
    letters = sorted(p for p in letters_dir.glob("*.txt") if not wanted or p.stem in wanted)
    missing = wanted - {p.stem for p in letters}
    if missing:
        print(f"render_ocr: no letter file for: {', '.join(sorted(missing))}", file=sys.stderr)
    tasks = []
    for path in letters:
        for sev in severities:
            dest = out_dir / SEVERITY_DIRS[sev] / f"{path.stem}.txt"
            if dest.exists() and not force:
                continue
            tasks.append((str(path), sev, str(dest)))
    if not tasks:
        print("render_ocr: nothing to do (outputs exist; use --force to redo)", file=sys.stderr)
        return []
    exe = ensure_tesseract()
    done: list[tuple[str, str, float]] = []
    img = str(image_dir) if image_dir else None
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_job, p, s, d, exe, img) for p, s, d in tasks]
        for fut in as_completed(futures):
            letter_id, sev, secs = fut.result()
            done.append((letter_id, sev, secs))
            print(f"render_ocr: {letter_id} {sev} {secs:.1f}s", file=sys.stderr)
    return done


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--letters", type=Path, default=Path("eval/gold/letters"))
    ap.add_argument("--out", type=Path, default=Path("eval/gold/renderings"))
    ap.add_argument("--only", nargs="+", metavar="ID", help="letter ids (file stems) to render")
    ap.add_argument("--jobs", type=int, default=2, help="parallel tesseract workers")
    ap.add_argument("--force", action="store_true", help="re-render existing outputs")
    ap.add_argument("--severity", nargs="+", choices=sorted(SEVERITIES), default=["scan", "fax"])
    ap.add_argument("--images", type=Path, help="also keep the degraded page PNGs here")
    args = ap.parse_args(argv)
    if not args.letters.is_dir():
        ap.error(f"--letters {args.letters} is not a directory")
    render_all(args.letters, args.out, args.only, args.jobs, args.force, args.severity, args.images)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
