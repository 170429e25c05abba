"""PDF pages per second, text layer and OCR, and what the engines make of each. Prints figures.

    python benchmarks/pdf_pages.py [--corpus ../shared/corpus] [--rounds 3] [--letters N]
        [--ocr ENGINE ...] [--no-ocr] [--dpi 200] [--json out.json]

Over the corpus PDFs (``corpus/pdf``, scored against ``corpus/labels``):

1. **Text-layer libraries.** The letter text each library gives, read by the rules engine and
   scored with ``imr_llm.eval.scoring``: letters with every contract field right, fields right,
   errors, records needing review, and the seconds the text took. pypdfium2 as imr-llm uses it
   (``imr_llm.inputs.pdf.read_pdf``), pypdfium2's ``get_text_range`` untouched, and pdfplumber's
   ``extract_text()`` plain and with ``layout=True`` (when pdfplumber is installed); poppler's
   ``pdftotext -layout`` and plain renderings (``corpus/text-layout``, ``text-raw``) are the
   reference the engines were built on (read from files: no time).
2. **Text layer end to end.** ``extract_file(pdf, backend="rules")``: pages and letters per
   second on one core, reading included.
3. **OCR** (for each installed engine, or those named with ``--ocr``): every page rendered at
   ``--dpi`` and OCR'd as if the PDF were a scan (``read_pdf(..., ocr_all=True)``): pages per
   second, mean line confidence, character error rate against the text layer (whitespace
   collapsed; the header table's reading order may differ, which counts as errors), the rules
   engine's scores, and the cascade's with the gold oracle on the local test server in ``seen``
   mode (as ``benchmarks/evidence_oracle.py`` runs it). The oracle's answers are scripted from
   the labels: those figures measure the pipeline, never a model. The rules figures include
   the review reasons ``extract_file`` adds for low OCR confidence at a value's place, and
   count the letters not all right that nothing flagged; the cascade runs as ``extract_file``
   runs it, so a rules record flagged for low OCR confidence goes to the model.

Measured (2-core machine, 25 letters, 59 pages, 2026-11-23): text layer 0.16 s for every page
(pdfplumber 8.7 s), extract_file rules 281 pages/s; tesseract 5.3.0 at 200 dpi 2.0 s a page,
rules 25/25 letters all right; rapidocr 3.10.0 5.9 s a page, rules 22/25 (all three wrong ones
flagged for low OCR confidence), cascade 20 unflagged rules records, all right.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from imr_llm import ImrError, extract, extract_file
from imr_llm.eval.scoring import score_record
from imr_llm.inputs.files import LetterText
from imr_llm.inputs.pdf import OCR_DPI, PdfText, read_pdf
from imr_llm.record.builder import attach_input
from imr_llm.record.models import InputInfo

REPO = Path(__file__).resolve().parent.parent
NOT_QUALITY = (
    "cascade answers come from the scripted local test server (gold oracle, seen mode), not "
    "from a model: no cascade figure here is model quality"
)


def _pdfium_untouched(data: bytes) -> str:
    import pypdfium2

    doc = pypdfium2.PdfDocument(data)
    try:
        return "\f".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def _plumber(layout: bool) -> Callable[[bytes], str]:
    def read(data: bytes) -> str:
        import io

        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return "\f".join(page.extract_text(layout=layout) or "" for page in pdf.pages)

    return read


def _have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def score_texts(
    texts: dict[str, str], labels: dict[str, dict], ocr: dict[str, PdfText] | None = None
) -> dict[str, Any]:
    """The rules engine over ``texts`` (by letter), scored against ``labels``; with ``ocr``,
    each record also gets the OCR's review reasons, as ``extract_file`` gives them."""
    all_right = fields = total = errors = review = low = silent = 0
    wrong: list[str] = []
    for stem, text in texts.items():
        try:
            record = extract(text, backend="rules")
            if ocr is not None:
                before = len(record.metadata.review_reasons) if record.metadata else 0
                attach_input(record, _letter(ocr[stem]))
                low += bool(record.metadata and len(record.metadata.review_reasons) > before)
        except ImrError as exc:
            errors += 1
            wrong.append(f"{stem} ({exc.code})")
            score = score_record(None, labels[stem])
        else:
            score = score_record(record.contract_dict(), labels[stem])
            flagged = bool(record.metadata and record.metadata.needs_review)
            review += flagged
            if not score.all_right:
                wrong.append(stem)
                silent += not flagged
        all_right += score.all_right
        fields += sum(r.correct for r in score.fields.values())
        total += len(score.fields)
    return {
        "letters": len(texts),
        "all_right": all_right,
        "fields_right": fields,
        "fields": total,
        "errors": errors,
        "needs_review": review,
        "low_ocr_confidence": low,
        "wrong_unflagged": silent,
        "wrong": wrong,
    }


def _letter(out: PdfText) -> LetterText:
    info = InputInfo(
        kind="pdf", text_from=out.text_from, pages=out.pages, ocr_pages=out.ocr_pages,
        page_starts=out.page_starts, ocr_mean_confidence=out.ocr_mean_confidence,
        ocr_engine=out.ocr_engine,  # the engine's own review thresholds apply
    )  # fmt: skip
    return LetterText(out.text, info, tuple(out.ocr_lines))


def _timed(fn: Callable[[bytes], str], pdfs: dict[str, bytes], rounds: int) -> tuple[dict, float]:
    best = float("inf")
    texts: dict[str, str] = {}
    for _ in range(rounds):
        started = time.perf_counter()
        texts = {stem: fn(data) for stem, data in pdfs.items()}
        best = min(best, time.perf_counter() - started)
    return texts, best


def text_layer_libraries(
    pdfs: dict[str, bytes], labels: dict[str, dict], corpus: Path, rounds: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    readers: list[tuple[str, Callable[[bytes], str], int]] = [
        ("pypdfium2, as imr-llm reads it", lambda d: read_pdf(d).text, rounds),
        ("pypdfium2 get_text_range, untouched", _pdfium_untouched, rounds),
    ]
    if _have("pdfplumber"):
        readers += [
            ("pdfplumber extract_text()", _plumber(False), 1),
            ("pdfplumber extract_text(layout=True)", _plumber(True), 1),
        ]
    else:
        rows.append({"library": "pdfplumber", "skipped": "not installed"})
    for name, fn, n in readers:
        texts, seconds = _timed(fn, pdfs, n)
        rows.append({"library": name, "seconds": round(seconds, 3), **score_texts(texts, labels)})
    for rendering, name in (("text-layout", "pdftotext -layout"), ("text-raw", "pdftotext")):
        folder = corpus / rendering
        if folder.is_dir():
            texts = {s: (folder / f"{s}.txt").read_text(encoding="utf-8") for s in pdfs}
            rows.append(
                {"library": f"poppler {name} (reference)", "seconds": None}
                | score_texts(texts, labels)
            )
    return rows


def end_to_end(paths: list[Path], pages: int, rounds: int) -> dict[str, Any]:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for path in paths:
            extract_file(path, backend="rules")
        best = min(best, time.perf_counter() - started)
    return {
        "letters": len(paths),
        "pages": pages,
        "seconds": round(best, 3),
        "pages_per_s": round(pages / best, 1),
        "letters_per_s": round(len(paths) / best, 1),
    }


def _cer(ocr: str, reference: str) -> float:
    from rapidfuzz.distance import Levenshtein

    a, b = " ".join(ocr.split()), " ".join(reference.replace("-\n", "").split())
    return Levenshtein.distance(a, b) / max(len(b), 1)


class _AlreadyRead:
    """A letter source whose text was read (and OCR'd) once already: the cascade then runs as
    ``extract_file`` runs it, OCR review reasons and hand-over included, without a second OCR."""

    def __init__(self, name: str, letter: LetterText) -> None:
        self.name, self.path, self.sha256, self._letter = name, None, None, letter

    def read(self, *_args: Any, **_kwargs: Any) -> LetterText:
        return self._letter


def _cascade(
    texts: dict[str, str], labels: dict[str, dict], read: dict[str, PdfText]
) -> dict[str, Any]:
    import openai

    from imr_llm.api import extract_source
    from imr_llm.config import Settings
    from imr_llm.testing.fake_openai import FakeOpenAIServer
    from imr_llm.testing.oracle import GoldLetter, GoldResponder

    logging.getLogger("instructor").setLevel(logging.CRITICAL)
    letters = [GoldLetter(stem, "pdf-ocr", text, labels[stem]) for stem, text in texts.items()]
    responder = GoldResponder(letters, "seen")
    stems = list(texts)
    out = {"letters": len(stems), "rules_unflagged": 0, "llm": 0, "no_record": 0}
    out |= {"all_right": 0, "needs_review": 0, "rules_unflagged_all_right": 0}
    settings = Settings(max_attempts=3, strict=False)
    with FakeOpenAIServer(responder=responder) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="oracle")
        for stem in stems:
            source = _AlreadyRead(stem, _letter(read[stem]))
            try:
                record = extract_source(source, "cascade", client=client, settings=settings)  # type: ignore[arg-type]
            except ImrError:
                out["no_record"] += 1
                continue
            assert record.metadata is not None
            right = score_record(record.contract_dict(), labels[stem]).all_right
            out["all_right"] += right
            out["needs_review"] += record.metadata.needs_review
            if record.metadata.engine == "llm":
                out["llm"] += 1
            elif not record.metadata.needs_review:
                out["rules_unflagged"] += 1
                out["rules_unflagged_all_right"] += right
    return out


def ocr_engine_figures(
    name: str,
    pdfs: dict[str, bytes],
    labels: dict[str, dict],
    layer: dict[str, str],
    dpi: int,
) -> dict[str, Any]:
    from imr_llm.inputs.ocr import get_ocr_engine

    engine = get_ocr_engine(name)
    texts: dict[str, str] = {}
    read: dict[str, PdfText] = {}
    confidences: list[float] = []
    pages = 0
    cers: list[float] = []
    started = time.perf_counter()
    for stem, data in pdfs.items():
        out = read_pdf(data, engine=engine, ocr_all=True, dpi=dpi)
        texts[stem] = out.text
        read[stem] = out
        pages += out.pages
        confidences += [line.confidence for line in out.ocr_lines if line.confidence is not None]
        cers.append(_cer(out.text, layer[stem]))
        print(f"  {name}: {stem} {out.pages} page(s) OCR'd", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    return {
        "engine": name,
        "version": engine.version,
        "dpi": dpi,
        "pages": pages,
        "seconds": round(seconds, 1),
        "pages_per_s": round(pages / seconds, 3),
        "seconds_per_page": round(seconds / pages, 2),
        "mean_confidence": round(statistics.fmean(confidences), 4) if confidences else None,
        "cer_vs_text_layer_mean": round(statistics.fmean(cers), 4),
        "cer_vs_text_layer_max": round(max(cers), 4),
        "rules": score_texts(texts, labels, read),
        "cascade_oracle_seen": _cascade(texts, labels, read),
    }


def run(
    args: argparse.Namespace,
    on_text: Callable[[dict[str, Any]], None] | None = None,
    on_engine: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every figure as a dict; ``on_text`` and ``on_engine`` are called as each part is done."""
    corpus: Path = args.corpus
    paths = sorted((corpus / "pdf").glob("*.pdf"))[: args.letters or None]
    if not paths:
        raise SystemExit(f"no PDFs in {corpus / 'pdf'}")
    pdfs = {p.stem: p.read_bytes() for p in paths}
    labels = {
        s: json.loads((corpus / "labels" / f"{s}.json").read_text(encoding="utf-8")) for s in pdfs
    }
    layer_pdfs = {s: read_pdf(d) for s, d in pdfs.items()}
    pages = sum(x.pages for x in layer_pdfs.values())
    report: dict[str, Any] = {"letters": len(pdfs), "pages": pages, "cascade_note": NOT_QUALITY}
    report["text_layer_libraries"] = text_layer_libraries(pdfs, labels, corpus, args.rounds)
    report["text_layer_end_to_end"] = end_to_end(paths, pages, args.rounds)
    report["ocr"] = []
    if on_text is not None:
        on_text(report)
    if not args.no_ocr:
        from imr_llm.inputs.ocr import available_engines

        engines = args.ocr or available_engines()
        if not engines:
            report["ocr_skipped"] = "no OCR engine installed (pip install 'imr-llm[ocr]')"
        layer = {s: x.text for s, x in layer_pdfs.items()}
        for name in engines:
            row = ocr_engine_figures(name, pdfs, labels, layer, args.dpi)
            report["ocr"].append(row)
            if on_engine is not None:
                on_engine(report, row)
    return report


def render(report: dict[str, Any]) -> str:
    lines = [f"corpus: {report['letters']} PDF letters, {report['pages']} pages", ""]
    lines.append("== text-layer libraries, read by the rules engine")
    lines.append(
        f"{'library':42s} {'seconds':>8s} {'pages/s':>8s} {'all-right':>10s} {'fields':>9s}"
        f" {'errors':>6s} {'review':>6s}"
    )
    for row in report["text_layer_libraries"]:
        if "skipped" in row:
            lines.append(f"{row['library']:42s} skipped: {row['skipped']}")
            continue
        secs = row["seconds"]
        rate = f"{report['pages'] / secs:8.0f}" if secs else f"{'-':>8s}"
        lines.append(
            f"{row['library']:42s} {secs if secs is not None else '-':>8} {rate} "
            f"{row['all_right']:>4}/{row['letters']:<5} {row['fields_right']:>4}/{row['fields']:<4}"
            f" {row['errors']:>6} {row['needs_review']:>6}"
        )
        if row["wrong"]:
            lines.append(f"{'':42s} not all right: {', '.join(row['wrong'])}")
    e2e = report["text_layer_end_to_end"]
    lines += [
        "",
        "== text layer end to end: extract_file(pdf, backend='rules'), one core",
        f"{e2e['pages']} pages, {e2e['letters']} letters in {e2e['seconds']} s: "
        f"{e2e['pages_per_s']} pages/s, {e2e['letters_per_s']} letters/s",
    ]
    return "\n".join(lines)


def render_ocr(report: dict[str, Any], row: dict[str, Any]) -> str:
    rules, cascade = row["rules"], row["cascade_oracle_seen"]
    return "\n".join(
        [
            "",
            f"== OCR with {row['engine']} {row['version']} at {row['dpi']} dpi, every page "
            f"(the PDFs read as scans), {os.cpu_count()} CPU(s)",
            f"{row['pages']} pages in {row['seconds']} s: {row['pages_per_s']} pages/s "
            f"({row['seconds_per_page']} s a page); mean line confidence "
            f"{row['mean_confidence']}; CER against the text layer: mean "
            f"{row['cer_vs_text_layer_mean']:.2%}, worst {row['cer_vs_text_layer_max']:.2%}",
            f"rules: {rules['all_right']}/{rules['letters']} letters all right, "
            f"{rules['fields_right']}/{rules['fields']} fields, {rules['errors']} errors, "
            f"{rules['needs_review']} need review ({rules['low_ocr_confidence']} for low OCR "
            f"confidence at a value); not all right: {', '.join(rules['wrong']) or 'none'} "
            f"({rules['wrong_unflagged']} of them not flagged)",
            f"cascade (oracle, seen): {cascade['all_right']}/{cascade['letters']} letters all "
            f"right; {cascade['rules_unflagged']} by the rules unflagged "
            f"({cascade['rules_unflagged_all_right']} all right), {cascade['llm']} by the "
            f"model path, {cascade['no_record']} without a record, {cascade['needs_review']} "
            "need review",
            f"({report['cascade_note']})",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--rounds", type=int, default=3, help="best of N for the fast readers")
    parser.add_argument("--letters", type=int, default=0, help="only the first N PDFs")
    parser.add_argument("--ocr", nargs="*", help="OCR engines (default: every installed one)")
    parser.add_argument("--no-ocr", action="store_true", help="text layer only")
    parser.add_argument("--dpi", type=int, default=OCR_DPI)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    report = run(
        args,
        on_text=lambda r: print(render(r), flush=True),
        on_engine=lambda r, row: print(render_ocr(r, row), flush=True),
    )
    if report.get("ocr_skipped"):
        print(f"\n== OCR: skipped, {report['ocr_skipped']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
