"""Calibrate each OCR engine's low-confidence threshold: does a flag predict a wrong value?
Prints figures; asserts nothing. docs/ocr.md records a run; the settings'
``ocr_low_confidence_<engine>`` defaults are the thresholds it chose.

    nice -n 10 .venv/bin/python benchmarks/ocr_confidence.py [--engines rapidocr tesseract]
        [--renderings scan fax] [--cache DIR] [--limit N] [--ocr-missing] [--json out.json]

The pages are the 25 corpus PDFs rendered as scans and faxes by ``benchmarks/ocr_engines.py``
(the gold renderings' ``degrade()``, seeded per page) and OCR'd by it: that benchmark keeps
every OCR'd page under ``<cache>/ocr/<engine>/<rendering>/``, and this one reads them back, so
the calibration costs no OCR when the engine comparison has run (``--ocr-missing`` OCRs the
pages it lacks with the engine as imr-llm builds it).

For each letter, rendering and engine, the pages are put together as ``read_pdf`` does for a
scanned PDF (every page OCR'd: the same text, lines and scores ``extract_file`` would get),
the rules engine reads the text, and ``imr_llm.eval.scoring.score_record`` scores each value
of the record against the letter's label (``<corpus>/labels``). Each value's place is its
evidence span (the first of its evidence keys with a span); under it two scores:

* ``char`` (what imr-llm uses, ``imr_llm.record.value_confidence``): the lowest per-character
  score of the characters under the value (rapidocr: the recogniser's probability of each
  character; tesseract: the confidence of each word), and for a passage (a place longer than
  ``PASSAGE_CHARS``, 80 characters) the mean of its characters' scores;
* ``charmin``: the lowest character score for every value, passages too (to show why
  passages are judged by their mean);
* ``line``: the lowest confidence of the OCR'd lines under it (each line's confidence is the
  mean over the line): what imr-llm judged before.

A value is *flagged* at threshold t when its score is below t. Per engine and signal, over
candidate thresholds: how many values are flagged, precision (share of flagged values that
are wrong), recall (share of wrong values with a place that are flagged; wrong values with no
place, a value the record lacks, can never be flagged this way and are counted apart), the
share of right values flagged, the share of letters with a flag, and how many wrong values
the evidence check left unflagged that the flag catches. ROC AUC (the chance a wrong value
scores below a right one) says how much signal there is at all. The chosen threshold is the
one with the highest F1 of the flag for wrong values (scan and fax pooled).

This is in-sample: 25 letters, thresholds chosen and measured on the same values, synthetic
degradation of clean PDFs. Treat the figures as a calibration, not a held-out estimate.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ocr_engines  # noqa: E402  (the sibling benchmark: rendering, page cache)

from imr_llm import ImrError, extract  # noqa: E402
from imr_llm.eval.scoring import score_record  # noqa: E402
from imr_llm.pdf import _assemble  # noqa: E402
from imr_llm.record import value_confidence  # noqa: E402

GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
SIGNALS = ("char", "charmin", "line")


class _Named:
    """What ``_assemble`` reads of an engine: its name and version."""

    def __init__(self, name: str, version: str) -> None:
        self.name, self.version = name, version


def letter_pages(
    args: argparse.Namespace, engine: str, rendering: str, pdf: Path, engines: dict[str, Any]
) -> list[Any] | None:
    """The letter's OCR'd pages from the cache (OCR'd now with ``--ocr-missing``), or None."""
    from PIL import Image

    count = len(ocr_engines.text_layer(pdf, args.corpus)[0])
    pages = []
    for number in range(1, count + 1):
        page = ocr_engines.load_page(args.cache, engine, rendering, pdf.stem, number)
        if page is None:
            if not args.ocr_missing:
                return None
            if engine not in engines:
                engines[engine] = ocr_engines.load_engine(engine, args.threads)
            path = ocr_engines.render_pages(pdf, rendering, args.cache)[number - 1]
            with Image.open(path) as image:
                image.load()
                page = engines[engine].recognise(image)
            ocr_engines.save_page(args.cache, engine, rendering, pdf.stem, number, page)
        pages.append(page)
    return pages


def value_rows(engine: str, rendering: str, stem: str, pages: list[Any], label: dict) -> dict:
    """Every scored value of the rules record of the OCR'd letter, with its two scores."""
    first = pages[0]
    read = _assemble(
        [""] * len(pages),
        ["ocr"] * len(pages),
        dict(enumerate(pages, start=1)),
        engine=_Named(first.engine, first.engine_version),
    )
    lines = read.ocr_lines
    line_only = [replace(line, char_confidences=None) for line in lines]
    try:
        record = extract(read.text, backend="rules")
    except ImrError as exc:
        return {"error": exc.code, "values": []}
    meta = record.metadata
    evidence = meta.evidence if meta is not None else {}
    unverified = {k for k, ev in evidence.items() if ev.status == "unverified"}
    rows = []
    for value in score_record(record.contract_dict(), label).values:
        span = next(
            (evidence[k].span for k in value.keys if k in evidence and evidence[k].span), None
        )
        char = charmin = line = None
        if span is not None:
            low = value_confidence(span.start, span.end, lines)
            char = low[0] if low else None
            mins = [
                x.min_confidence(span.start, max(span.end, span.start + 1))
                for x in lines
                if x.start < max(span.end, span.start + 1) and x.end > span.start
            ]
            charmin = min((m for m in mins if m is not None), default=None)
            low = value_confidence(span.start, span.end, line_only)
            line = low[0] if low else None
        rows.append(
            {
                "engine": engine,
                "rendering": rendering,
                "letter": stem,
                "field": value.field,
                "correct": value.correct,
                "evidence_flag": bool(set(value.keys) & unverified),
                "char": char,
                "charmin": charmin,
                "line": line,
            }  # fmt: skip
        )
    return {"error": None, "values": rows, "needs_review": bool(meta and meta.needs_review)}


def auc(scores_wrong: list[float], scores_right: list[float]) -> float | None:
    """The chance that a wrong value scores lower than a right one (ties count half)."""
    if not scores_wrong or not scores_right:
        return None
    right = sorted(scores_right)
    import bisect

    total = 0.0
    for s in scores_wrong:
        below = len(right) - bisect.bisect_right(right, s)  # right values scoring higher
        ties = bisect.bisect_right(right, s) - bisect.bisect_left(right, s)
        total += below + ties / 2
    return total / (len(scores_wrong) * len(right))


def at(rows: list[dict], signal: str, t: float, letters: int) -> dict[str, Any]:
    """The flag's figures at threshold ``t`` over ``rows``."""
    placed = [r for r in rows if r[signal] is not None]
    flagged = [r for r in placed if r[signal] < t]
    wrong = [r for r in placed if not r["correct"]]
    right = [r for r in placed if r["correct"]]
    tp = sum(not r["correct"] for r in flagged)
    silent = [r for r in wrong if not r["evidence_flag"]]
    precision = tp / len(flagged) if flagged else None
    recall = tp / len(wrong) if wrong else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else 0.0
    )
    return {
        "threshold": t,
        "flagged": len(flagged),
        "wrong_flagged": tp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "right_flagged": sum(r["correct"] for r in flagged) / len(right) if right else None,
        "letters_flagged": len({(r["rendering"], r["letter"]) for r in flagged}) / letters
        if letters
        else None,
        "silent_caught": sum(r[signal] < t for r in silent),
        "silent": len(silent),
    }


def best(rows: list[dict], signal: str, letters: int) -> dict[str, Any]:
    """The threshold (0.01 steps) with the highest F1; the higher one on a tie."""
    options = [at(rows, signal, k / 100, letters) for k in range(1, 100)]
    return max(options, key=lambda o: (round(o["f1"], 6), o["threshold"]))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def report(engine: str, rows: list[dict], letters: int, errors: int) -> tuple[str, dict]:
    """The calibration of one engine as Markdown, and the chosen thresholds."""
    wrong = [r for r in rows if not r["correct"]]
    unplaced = sum(r["char"] is None for r in wrong)
    out = [
        f"### {engine}",
        "",
        f"{letters} letter renderings ({errors} gave a typed error, no values), {len(rows)} "
        f"values, {len(wrong)} wrong ({unplaced} of them with no place in the text: a value "
        "the record lacks, which no OCR score can flag).",
        "",
    ]
    chosen: dict[str, Any] = {}
    for signal in SIGNALS:
        placed = [r for r in rows if r[signal] is not None]
        area = auc(
            [r[signal] for r in placed if not r["correct"]],
            [r[signal] for r in placed if r["correct"]],
        )
        pick = best(rows, signal, letters)
        chosen[signal] = pick
        out += [
            f"**{signal}** score: ROC AUC {area:.2f}" if area is not None else f"**{signal}**",
            "",
            "| threshold | flagged | wrong flagged | precision | recall | right values "
            "flagged | letters flagged | wrong & unflagged by evidence, caught |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        grid = sorted({*GRID, pick["threshold"]})
        for t in grid:
            row = at(rows, signal, t, letters)
            mark = " **(chosen)**" if t == pick["threshold"] else ""
            out.append(
                f"| {t:.2f}{mark} | {row['flagged']} | {row['wrong_flagged']} "
                f"| {_pct(row['precision'])} | {_pct(row['recall'])} "
                f"| {_pct(row['right_flagged'])} | {_pct(row['letters_flagged'])} "
                f"| {row['silent_caught']} of {row['silent']} |"
            )
        out.append("")
    out += by_field(rows, "char", chosen["char"]["threshold"])
    return "\n".join(out), chosen


def by_field(rows: list[dict], signal: str, t: float) -> list[str]:
    """Per scoring field at threshold ``t``: where the flags fall, right values and wrong."""
    out = [
        f"By field, {signal} score below {t:.2f}:",
        "",
        "| field | values | wrong | flagged | wrong flagged | right flagged |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(r["field"] for r in rows):
        mine = [r for r in rows if r["field"] == name]
        flagged = [r for r in mine if r[signal] is not None and r[signal] < t]
        out.append(
            f"| {name} | {len(mine)} | {sum(not r['correct'] for r in mine)} | {len(flagged)} "
            f"| {sum(not r['correct'] for r in flagged)} | {sum(r['correct'] for r in flagged)} |"
        )
    return [*out, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ocr_engines.DEFAULT_CORPUS)
    parser.add_argument("--engines", nargs="+", default=["rapidocr", "tesseract"])
    parser.add_argument(
        "--renderings", nargs="+", choices=ocr_engines.RENDERINGS, default=ocr_engines.RENDERINGS
    )
    parser.add_argument("--cache", type=Path, default=ocr_engines.DEFAULT_CACHE)
    parser.add_argument("--limit", type=int, default=0, help="only the first N PDFs")
    parser.add_argument("--threads", type=int, default=2, help="threads per engine (0: default)")
    parser.add_argument("--ocr-missing", action="store_true", help="OCR pages not in the cache")
    parser.add_argument("--json", type=Path, help="also write every value's row here")
    args = parser.parse_args(argv)
    args.threads = args.threads or None
    pdfs = sorted((args.corpus / "pdf").glob("*.pdf"))[: args.limit or None]
    folder = args.corpus / "labels"
    labels = {p.stem: json.loads((folder / f"{p.stem}.json").read_text()) for p in pdfs}
    engines: dict[str, Any] = {}
    all_rows: list[dict] = []
    print(
        "In-sample calibration on the corpus letters (thresholds chosen and measured on the "
        "same values; synthetic scans and faxes).\n"
    )
    for engine in args.engines:
        rows: list[dict] = []
        letters = errors = missing = 0
        for pdf in pdfs:
            for rendering in args.renderings:
                pages = letter_pages(args, engine, rendering, pdf, engines)
                if pages is None:
                    missing += 1
                    continue
                result = value_rows(engine, rendering, pdf.stem, pages, labels[pdf.stem])
                letters += 1
                errors += result["error"] is not None
                rows += result["values"]
        if not letters:
            print(f"### {engine}\n\nno OCR'd pages in {args.cache} (run ocr_engines.py, or "
                  "--ocr-missing)\n")  # fmt: skip
            continue
        text, chosen = report(engine, rows, letters, errors)
        print(text)
        if missing:
            print(f"({missing} letter renderings skipped: pages not in the cache)\n")
        for rendering in args.renderings:
            mine = [r for r in rows if r["rendering"] == rendering]
            n = len({r["letter"] for r in mine})
            for signal in SIGNALS:
                row = at(mine, signal, chosen[signal]["threshold"], n)
                print(
                    f"- {rendering}, {signal} < {row['threshold']:.2f}: precision "
                    f"{_pct(row['precision'])}, recall {_pct(row['recall'])}, right values "
                    f"flagged {_pct(row['right_flagged'])}, letters flagged "
                    f"{_pct(row['letters_flagged'])}"
                )
        print()
        all_rows += rows
    if args.json:
        args.json.write_text(json.dumps(all_rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
