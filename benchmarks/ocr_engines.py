"""Compare the OCR engines on the corpus PDFs rendered to page images. Prints figures; asserts
nothing. docs/ocr.md records a run and the default engine it led to.

    nice -n 10 .venv/bin/python benchmarks/ocr_engines.py [--corpus ../shared/corpus]
        [--engines rapidocr rapidocr-before tesseract] [--renderings scan fax] [--threads 2]
        [--limit N] [--cache DIR] [--json results.json]

Engines: ``rapidocr`` and ``tesseract`` as imr-llm builds them; ``rapidocr-before``, the
rapidocr engine with the settings imr-llm used before the speed work (RapidOCR's own detector
input size, every line recognised in one run, no blur), so before and
after are measured in the same run, page by page in turn, under the same load;
``rapidocr-det<N>`` / ``rapidocr-lanes<N>`` / ``rapidocr-blur<N>`` (combinable, e.g.
``rapidocr-det1280-lanes1``), the engine with one setting changed (``blur<N>``: the blur given
to every page, in tenths of a pixel; ``rapidocr-blur0`` is the engine as it was before the
blur); and
``rapidocr1`` (the older ``rapidocr_onnxruntime``) when installed. ``--threads 0`` gives each
engine its default (rapidocr every core, tesseract one thread a page).

Each page of each PDF in ``<corpus>/pdf`` is rendered with pypdfium2 at 200 dpi and degraded as
the gold OCR renderings were (``eval/scripts/render_ocr.py``, seeded per page so reruns see the
same pixels):

* ``scan``: 200 dpi greyscale, slight skew, blur, speckle and contrast loss;
* ``fax``: rendered at 200 dpi, blurred, down-sampled to 150 dpi, hard-thresholded to 1 bit.

Rendered pages are cached as PNG (``--cache``, default a folder in the system temp dir), and
every OCR'd page as JSON with its lines' and characters' scores (``<cache>/ocr/<engine>/``),
which ``benchmarks/ocr_confidence.py`` reads to calibrate the review thresholds.

Figures per engine and rendering:

* CER: character error rate against the PDF's text layer, as the sum over pages of the
  Levenshtein distance (rapidfuzz) between the OCR'd page and the text-layer page, over the
  text-layer characters. Both sides are normalised first: Unicode NFKC, then every run of
  whitespace (spaces, newlines, the layout's column gaps) becomes one space. The text layer is
  ``<corpus>/text-layout`` (pdftotext -layout of the same PDFs, one form feed per page: rows in
  the order OCR lines come out) where its page count matches, else pypdfium2's own text.
  Text the layer lacks (the MAXIMUS logo is an image) counts as OCR insertions for every engine.
* word recall: the share of the text layer's words (whitespace tokens, multiset) that the OCR
  output contains exactly, regardless of order: what the rules engine's anchors need.
* s/page: wall-clock seconds of ``recognise()`` per page (rendering and loading excluded), and
  CPU seconds per page (this process and its children, i.e. the tesseract program).
* mean confidence: the mean of the pages' ``OcrPage.mean_confidence``.
* install size: the files of the Python distributions the engine adds beyond imr-llm's own
  dependencies (importlib.metadata), plus the Debian packages it needs (dpkg Installed-Size).

The engines come from ``imr_llm.inputs.ocr``; ``rapidocr1`` (the older ``rapidocr_onnxruntime`` 1.x,
for comparison only, not offered by imr-llm) is measured when that distribution is installed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("IMR_LLM_SHARED", REPO.parent / "shared")) / "corpus"
RENDERINGS = ("scan", "fax")
#: Rendered pages (PNG) and OCR'd pages (JSON) are kept here between runs.
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "imr-llm-ocr-pages"
#: Debian packages each engine needs beyond a base system (what `apt-get install tesseract-ocr
#: tesseract-ocr-eng` added on Debian 12: the program, its library, Leptonica, the English and
#: orientation models, and two image libraries).
DEBIAN = {
    "tesseract": (
        "tesseract-ocr",
        "tesseract-ocr-eng",
        "tesseract-ocr-osd",
        "libtesseract5",
        "liblept5",
        "libopenjp2-7",
        "libwebpmux3",
    )
}
#: Python distributions each engine adds (their own requirements are followed).
DISTRIBUTIONS = {
    "rapidocr": ("rapidocr", "onnxruntime", "pillow"),
    "rapidocr-before": ("rapidocr", "onnxruntime", "pillow"),
    "rapidocr1": ("rapidocr_onnxruntime", "onnxruntime", "pillow"),
    "tesseract": ("pytesseract", "pillow"),
}


def _render_ocr() -> Any:
    """eval/scripts/render_ocr.py as a module (its degrade() and seeds made the gold set)."""
    path = REPO / "eval/scripts/render_ocr.py"
    spec = importlib.util.spec_from_file_location("render_ocr", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["render_ocr"] = module
    spec.loader.exec_module(module)
    return module


def render_pages(pdf: Path, rendering: str, cache: Path) -> list[Path]:
    """PNG paths of the PDF's pages in one rendering, rendering the missing ones."""
    import numpy as np
    import pypdfium2 as pdfium

    ro = _render_ocr()
    sev = ro.SEVERITIES[rendering]
    doc = pdfium.PdfDocument(str(pdf))
    paths = []
    try:
        for index in range(len(doc)):
            out = cache / rendering / f"{pdf.stem}.p{index + 1:02d}.png"
            paths.append(out)
            if out.exists():
                continue
            page = doc[index]
            image = page.render(scale=sev.render_dpi / 72, grayscale=True).to_pil().convert("L")
            rng = np.random.default_rng(ro.letter_seed(f"{pdf.stem}.p{index + 1}", rendering))
            degraded = ro.degrade(image, sev, rng)
            out.parent.mkdir(parents=True, exist_ok=True)
            degraded.save(out, dpi=(sev.out_dpi, sev.out_dpi))
    finally:
        doc.close()
    return paths


def text_layer(pdf: Path, corpus: Path) -> tuple[list[str], str]:
    """The PDF's text layer per page, and where it came from."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        count = len(doc)
        layout = corpus / "text-layout" / f"{pdf.stem}.txt"
        if layout.exists():
            pages = layout.read_text(encoding="utf-8").split("\f")
            if pages and not pages[-1].strip():
                pages.pop()
            if len(pages) == count:
                return pages, "pdftotext-layout"
        return [doc[i].get_textpage().get_text_bounded() for i in range(count)], "pdfium"
    finally:
        doc.close()


def normalise(text: str) -> str:
    """NFKC, then every whitespace run (newlines, column gaps) as one space, trimmed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def _requirements(dist: str) -> list[str]:
    """Names of a distribution's unconditional requirements (extras' ones left out)."""
    try:
        reqs = importlib.metadata.requires(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    names = []
    for req in reqs:
        if "extra ==" in req.replace('extra=="', 'extra == "'):
            continue
        names.append(re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0])
    return names


def _closure(roots: tuple[str, ...] | list[str]) -> set[str]:
    """The installed distributions ``roots`` need, themselves included (canonical names)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        seen.add(name)
        todo.extend(_requirements(name))
    return seen


def _dist_bytes(name: str) -> int:
    """Bytes on disk of an installed distribution's files."""
    dist = importlib.metadata.distribution(name)
    total = 0
    for file in dist.files or ():
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    return total


def _core_requirements() -> list[str]:
    """imr-llm's own dependencies, from pyproject.toml (the installed metadata may be stale)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the installed metadata will do
        return _requirements("imr-llm")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [re.split(r"[\s;<>=!~\[(]", req, maxsplit=1)[0] for req in project["dependencies"]]


def install_size(engine: str) -> tuple[int, int, list[str]]:
    """(Python bytes, Debian bytes, what was counted) that the engine adds to imr-llm."""
    core = _closure(_core_requirements())
    base = "rapidocr" if engine.startswith("rapidocr-") else engine
    added = sorted(_closure(DISTRIBUTIONS[base]) - core)
    py = sum(_dist_bytes(n) for n in added)
    deb = 0
    counted = list(added)
    for pkg in DEBIAN.get(base, ()):
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Installed-Size}", pkg],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode == 0 and out.stdout.strip().isdigit():
            deb += int(out.stdout.strip()) * 1024
            counted.append(f"deb:{pkg}")
    return py, deb, counted


class RapidOcr1:
    """rapidocr_onnxruntime 1.x, for comparison only (its wheel ships PP-OCRv4 models)."""

    name = "rapidocr1"

    def __init__(self, threads: int | None) -> None:
        from rapidocr_onnxruntime import RapidOCR

        self.version = importlib.metadata.version("rapidocr_onnxruntime")
        kwargs = {"intra_op_num_threads": threads, "inter_op_num_threads": 1} if threads else {}
        self._ocr = RapidOCR(**kwargs)

    def recognise(self, image: Any) -> Any:
        import numpy as np

        from imr_llm.inputs.ocr import OcrPage, _Box, _layout

        result, _ = self._ocr(np.asarray(image.convert("RGB")))
        boxes = []
        for quad, text, score in result or ():
            xs = [float(p[0]) for p in quad]
            ys = [float(p[1]) for p in quad]
            boxes.append(
                _Box(min(xs), max(xs), sum(ys) / 4, max(ys) - min(ys), str(text), float(score))
            )
        return OcrPage(lines=_layout(boxes), engine=self.name, engine_version=self.version)


def page_path(cache: Path, engine: str, rendering: str, letter: str, page: int) -> Path:
    """Where an OCR'd page is kept (``benchmarks/ocr_confidence.py`` reads it back)."""
    return cache / "ocr" / engine / rendering / f"{letter}.p{page:02d}.json"


def save_page(cache: Path, engine: str, rendering: str, letter: str, page: int, ocr: Any) -> None:
    """Keep an OCR'd page's lines with their confidences as JSON."""
    out = page_path(cache, engine, rendering, letter, page)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        {"text": line.text, "confidence": line.confidence,
         "chars": list(line.char_confidences) if line.char_confidences is not None else None}
        for line in ocr.lines
    ]  # fmt: skip
    data = {"engine": ocr.engine, "version": ocr.engine_version, "lines": lines}
    out.write_text(json.dumps(data), encoding="utf-8")


def load_page(cache: Path, engine: str, rendering: str, letter: str, page: int) -> Any:
    """An OCR'd page kept by :func:`save_page`, as an ``OcrPage``; None if not kept."""
    from imr_llm.inputs.ocr import OcrLine, OcrPage

    path = page_path(cache, engine, rendering, letter, page)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        OcrLine(d["text"], d["confidence"], tuple(d["chars"]) if d["chars"] is not None else None)
        for d in data["lines"]
    ]
    return OcrPage(lines=lines, engine=data["engine"], engine_version=data["version"])


def load_engine(name: str, threads: int | None) -> Any:
    """An engine by name, with ``threads`` threads (None: the engine's default).

    ``rapidocr-before`` is the rapidocr engine as imr-llm ran it before the speed work:
    RapidOCR's own detector input (the page scaled to 2,000 px, detected at that size) and
    every line recognised in one run on all threads, no blur; measured
    beside ``rapidocr`` so that before and after share the machine's load.
    """
    if name == "rapidocr1":
        return RapidOcr1(threads)
    from imr_llm.inputs.ocr import (
        RAPIDOCR_BLUR,
        RAPIDOCR_DET_SIDE,
        RapidOcrEngine,
        TesseractEngine,
    )

    if name == "rapidocr-before":
        engine = RapidOcrEngine(threads=threads, det_side=0, rec_lanes=1, blur=0)
        engine.name = name
        return engine
    variant = re.fullmatch(r"rapidocr((?:-det\d+|-lanes\d+|-blur\d+)+)", name)
    if variant:  # e.g. rapidocr-det1280, rapidocr-blur0, rapidocr-det896-lanes1
        options = dict(re.findall(r"-(det|lanes|blur)(\d+)", variant.group(1)))
        engine = RapidOcrEngine(
            threads=threads,
            det_side=int(options.get("det", RAPIDOCR_DET_SIDE)),
            rec_lanes=int(options["lanes"]) if "lanes" in options else None,
            blur=int(options["blur"]) / 10 if "blur" in options else RAPIDOCR_BLUR,
        )
        engine.name = name
        return engine

    return {"rapidocr": RapidOcrEngine, "tesseract": TesseractEngine}[name](threads=threads)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(args: argparse.Namespace) -> dict[str, Any]:
    """OCR every page with every engine in every rendering; per-page results.

    Pages are taken letter by letter, each page in every rendering by every engine in turn, so
    a run stopped early still compares the engines on the same pages. With ``--json`` every
    page's result is saved as it comes and a rerun resumes where the last one stopped.
    """
    from PIL import Image
    from rapidfuzz.distance import Levenshtein

    pdfs = sorted((args.corpus / "pdf").glob("*.pdf"))[: args.limit or None]
    if not pdfs:
        sys.exit(f"no PDFs in {args.corpus / 'pdf'}")
    results: dict[str, Any] = {"engines": {}, "pages": []}
    if args.json and args.json.exists():
        results = json.loads(args.json.read_text(encoding="utf-8"))
    done = {(p["engine"], p["rendering"], p["letter"], p["page"]) for p in results["pages"]}
    engines: dict[str, Any] = {}
    for name in args.engines:
        start = time.perf_counter()
        try:
            engine = load_engine(name, args.threads)
        except Exception as exc:  # noqa: BLE001 - report and go on with the other engines
            print(f"{name}: not measured ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        load = time.perf_counter() - start
        py, deb, counted = install_size(name)
        results["engines"][name] = {
            "version": engine.version,
            "load_s": load,
            "python_bytes": py,
            "debian_bytes": deb,
            "counted": counted,
        }
        engine.recognise(Image.new("L", (400, 100), 255))  # warm-up outside the timings
        engines[name] = engine
    for pdf in pdfs:
        layer, source = text_layer(pdf, args.corpus)
        renders = {r: render_pages(pdf, r, args.cache) for r in args.renderings}
        for index in range(len(layer)):
            want = normalise(layer[index])
            words_want = Counter(want.split())
            for rendering in args.renderings:
                image = Image.open(renders[rendering][index])
                image.load()
                for name, engine in engines.items():
                    if (name, rendering, pdf.stem, index + 1) in done:
                        continue
                    cpu, wall = _cpu(), time.perf_counter()
                    page = engine.recognise(image)
                    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
                    save_page(args.cache, name, rendering, pdf.stem, index + 1, page)
                    got = normalise(page.text)
                    row = {
                        "engine": name,
                        "rendering": rendering,
                        "letter": pdf.stem,
                        "page": index + 1,
                        "reference": source,
                        "distance": Levenshtein.distance(got, want),
                        "ref_chars": len(want),
                        "ref_words": sum(words_want.values()),
                        "words_found": sum((words_want & Counter(got.split())).values()),
                        "wall_s": wall,
                        "cpu_s": cpu,
                        "threads": args.threads,
                        "confidence": page.mean_confidence,
                    }
                    results["pages"].append(row)
                    if args.json:
                        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
                    print(
                        f"{name} {rendering} {pdf.stem} p{index + 1}: {wall:.2f}s "
                        f"cer={row['distance'] / max(1, len(want)):.3f}",
                        file=sys.stderr,
                        flush=True,
                    )
    return results


def summarise(results: dict[str, Any], threads: int | None) -> str:
    """The comparison as a Markdown table."""
    rows = [
        "| engine | version | rendering | pages | CER | word recall | s/page wall (median) "
        "| CPU s/page | mean confidence | install size |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, info in results["engines"].items():
        size = f"{info['python_bytes'] / 1e6:.0f} MB pip"
        if info["debian_bytes"]:
            size += f" + {info['debian_bytes'] / 1e6:.0f} MB Debian"
        for rendering in dict.fromkeys(p["rendering"] for p in results["pages"]):
            mine = [
                p for p in results["pages"] if p["engine"] == name and p["rendering"] == rendering
            ]
            if not mine:
                continue
            cer = sum(p["distance"] for p in mine) / sum(p["ref_chars"] for p in mine)
            recall = sum(p["words_found"] for p in mine) / sum(p["ref_words"] for p in mine)
            confs = [p["confidence"] for p in mine if p["confidence"] is not None]
            conf = f"{statistics.fmean(confs):.3f}" if confs else "-"
            rows.append(
                f"| {name} | {info['version']} | {rendering} | {len(mine)} | {cer:.2%} "
                f"| {recall:.2%} | {statistics.median(p['wall_s'] for p in mine):.2f} "
                f"| {statistics.fmean(p['cpu_s'] for p in mine):.2f} | {conf} | {size} |"
            )
    notes = [""]
    for name in results["engines"]:
        mine = [p for p in results["pages"] if p["engine"] == name and p["confidence"] is not None]
        if len(mine) >= 5:
            from scipy.stats import spearmanr

            rho = spearmanr(
                [p["confidence"] for p in mine],
                [p["distance"] / max(1, p["ref_chars"]) for p in mine],
            ).statistic
            notes.append(
                f"{name}: Spearman correlation of a page's mean confidence with its CER over "
                f"{len(mine)} pages: {rho:.2f} (more negative: confidence tells bad pages apart)"
            )
    notes += [
        "threads per engine: "
        + ", ".join(sorted({str(p.get("threads", threads) or "default") for p in results["pages"]}))
        + "; "
        f"cores available: {len(os.sched_getaffinity(0))}; load time: "
        + ", ".join(f"{n} {i['load_s']:.1f}s" for n, i in results["engines"].items()),
    ]
    return "\n".join(rows + notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--engines", nargs="+", default=["rapidocr", "rapidocr-before", "tesseract"]
    )
    parser.add_argument("--renderings", nargs="+", choices=RENDERINGS, default=list(RENDERINGS))
    parser.add_argument("--threads", type=int, default=2, help="threads per engine (0: default)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N PDFs")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", type=Path, help="also write per-page results here")
    parser.add_argument(
        "--from-json", type=Path, help="print the table of an earlier --json run (sizes redone)"
    )
    args = parser.parse_args(argv)
    args.threads = args.threads or None
    if args.from_json:
        results = json.loads(args.from_json.read_text(encoding="utf-8"))
        for name, info in results["engines"].items():
            if name in DISTRIBUTIONS and _closure(DISTRIBUTIONS[name][:1]):
                py, deb, counted = install_size(name)
                info.update(python_bytes=py, debian_bytes=deb, counted=counted)
        print(summarise(results, args.threads))
        return 0
    results = run(args)
    print(summarise(results, args.threads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
