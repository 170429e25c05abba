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

* ``line``: the lowest confidence of the OCR'd lines under it (a line's confidence is the mean
  score of its characters): what imr-llm judged before, at 0.80 for every engine;
* ``char``: the lowest score of the characters under it (rapidocr: the recogniser's
  probability of each character; tesseract: the confidence of each word).

imr-llm flags a value when a line under it is below the engine's line threshold, or, for a
short value (a place of at most ``PASSAGE_CHARS``, 80, characters), when a character is below
the engine's character threshold (``imr_llm.record.builder.OcrScore.flags``). The line threshold is
chosen first (highest F2 of the line rule alone: recall counts twice as much as precision,
since a wrong value left unflagged is the worst outcome), then the character threshold
(highest F2 of the two together; "off" is a candidate).

Per engine, over candidate thresholds, scan and fax pooled: how many values are flagged,
precision (share of flagged values that are wrong), recall (share of wrong values with a place
that are flagged; wrong values with no place, a value the record lacks, can never be flagged
this way and are counted apart), the share of right values flagged, the share of letters with
a flag, and how many wrong values the evidence check left unflagged that the flag catches.
ROC AUC (the chance a wrong value scores below a right one) says how much signal there is.

This is in-sample: 25 letters, thresholds chosen and measured on the same values, synthetic
degradation of clean PDFs. Treat the figures as a calibration, not a held-out estimate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ocr_engines  # noqa: E402  (the sibling benchmark: rendering, page cache)

from imr_llm import ImrError, extract  # noqa: E402
from imr_llm.eval.scoring import score_record  # noqa: E402
from imr_llm.inputs.pdf import _assemble  # noqa: E402
from imr_llm.record.builder import PASSAGE_CHARS, value_confidence  # noqa: E402

GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
OFF = 0.0  #: a character threshold of 0 flags nothing: the rule off


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
        line = char = None
        length = 0
        if span is not None:
            score = value_confidence(span.start, span.end, lines)
            if score is not None:
                line, char, length = score.line, score.char, span.end - span.start
        rows.append(
            {
                "engine": engine,
                "rendering": rendering,
                "letter": stem,
                "field": value.field,
                "correct": value.correct,
                "evidence_flag": bool(set(value.keys) & unverified),
                "line": line,
                "char": char,
                "length": length,
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


def flagged(row: dict, line_t: float, char_t: float) -> bool:
    """imr-llm's rule (``OcrScore.flags``) at these thresholds."""
    if row["line"] is None:
        return False
    if row["line"] < line_t:
        return True
    return row["length"] <= PASSAGE_CHARS and row["char"] < char_t


def at(rows: list[dict], line_t: float, char_t: float, letters: int) -> dict[str, Any]:
    """The flag's figures at these thresholds over ``rows``."""
    placed = [r for r in rows if r["line"] is not None]
    hit = [r for r in placed if flagged(r, line_t, char_t)]
    wrong = [r for r in placed if not r["correct"]]
    right = [r for r in placed if r["correct"]]
    tp = sum(not r["correct"] for r in hit)
    silent = [r for r in wrong if not r["evidence_flag"]]
    precision = tp / len(hit) if hit else None
    recall = tp / len(wrong) if wrong else None
    f2 = (
        5 * precision * recall / (4 * precision + recall)
        if precision is not None and recall is not None and precision + recall
        else 0.0
    )
    return {
        "line": line_t,
        "char": char_t,
        "flagged": len(hit),
        "wrong_flagged": tp,
        "precision": precision,
        "recall": recall,
        "f2": f2,
        "right_flagged": sum(r["correct"] for r in hit) / len(right) if right else None,
        "letters_flagged": len({(r["rendering"], r["letter"]) for r in hit}) / letters
        if letters
        else None,
        "silent_caught": sum(flagged(r, line_t, char_t) for r in silent),
        "silent": len(silent),
    }


def choose(rows: list[dict], letters: int) -> tuple[float, float]:
    """The line threshold with the best F2 alone, then the character threshold with the best
    F2 beside it (0.01 steps; the higher line threshold on a tie, "off" when nothing helps)."""
    steps = [k / 100 for k in range(1, 100)]
    line_t = max(steps, key=lambda t: (round(at(rows, t, OFF, letters)["f2"], 6), t))
    char_t = max(
        [OFF, *steps],
        key=lambda t: (round(at(rows, line_t, t, letters)["f2"], 6), -t),
    )
    return line_t, char_t


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _row(label: str, r: dict[str, Any]) -> str:
    return (
        f"| {label} | {r['flagged']} | {r['wrong_flagged']} | {_pct(r['precision'])} "
        f"| {_pct(r['recall'])} | {_pct(r['right_flagged'])} | {_pct(r['letters_flagged'])} "
        f"| {r['silent_caught']} of {r['silent']} |"
    )


HEAD = [
    "| flag | flagged | wrong flagged | precision | recall | right values flagged "
    "| letters flagged | wrong & unflagged by evidence, caught |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
]


def report(engine: str, rows: list[dict], letters: int, errors: int) -> tuple[str, tuple]:
    """The calibration of one engine as Markdown, and the chosen thresholds. Shares of
    letters are of the letter renderings that gave a record (a typed error gives none)."""
    records = letters - errors
    wrong = [r for r in rows if not r["correct"]]
    unplaced = sum(r["line"] is None for r in wrong)
    placed = [r for r in rows if r["line"] is not None]
    short = [r for r in placed if r["length"] <= PASSAGE_CHARS]
    areas = {
        "line, all values": auc(
            [r["line"] for r in placed if not r["correct"]],
            [r["line"] for r in placed if r["correct"]],
        ),
        "character, short values": auc(
            [r["char"] for r in short if not r["correct"]],
            [r["char"] for r in short if r["correct"]],
        ),
        "character, passages": auc(
            [r["char"] for r in placed if r not in short and not r["correct"]],
            [r["char"] for r in placed if r not in short and r["correct"]],
        ),
    }
    line_t, char_t = choose(rows, records)
    out = [
        f"### {engine}",
        "",
        f"{letters} letter renderings ({errors} gave a typed error, no values), {len(rows)} "
        f"values, {len(wrong)} wrong ({unplaced} of them with no place in the text: a value "
        "the record lacks, which no OCR score can flag).",
        "",
        "ROC AUC (chance a wrong value scores below a right one): "
        + ", ".join(f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in areas.items()),
        "",
        "Line threshold alone:",
        "",
        *HEAD,
    ]
    for t in sorted({*GRID, line_t}):
        mark = " (chosen)" if t == line_t else ""
        out.append(_row(f"line < {t:.2f}{mark}", at(rows, t, OFF, records)))
    out += ["", f"With the line threshold {line_t:.2f}, a character threshold for short values:",
            "", *HEAD]  # fmt: skip
    for t in sorted({OFF, *GRID, char_t}):
        label = "off" if t == OFF else f"char < {t:.2f}"
        mark = " (chosen)" if t == char_t else ""
        out.append(_row(f"{label}{mark}", at(rows, line_t, t, records)))
    out.append("")
    out += by_field(rows, line_t, char_t)
    return "\n".join(out), (line_t, char_t)


def by_field(rows: list[dict], line_t: float, char_t: float) -> list[str]:
    """Per scoring field at the chosen thresholds: where the flags fall."""
    out = [
        f"By field, at line < {line_t:.2f}, char < {char_t:.2f} (short values):",
        "",
        "| field | values | wrong | flagged | wrong flagged | right flagged |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in dict.fromkeys(r["field"] for r in rows):
        mine = [r for r in rows if r["field"] == name]
        hit = [r for r in mine if flagged(r, line_t, char_t)]
        out.append(
            f"| {name} | {len(mine)} | {sum(not r['correct'] for r in mine)} | {len(hit)} "
            f"| {sum(not r['correct'] for r in hit)} | {sum(r['correct'] for r in hit)} |"
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
        line_t, char_t = chosen
        for rendering in args.renderings:
            mine = [r for r in rows if r["rendering"] == rendering]
            n = len({r["letter"] for r in mine})  # renderings that gave a record
            for label, rule in (("before (line < 0.80)", (0.80, OFF)), ("chosen", chosen)):
                row = at(mine, *rule, n)
                print(
                    f"- {rendering}, {label}: precision {_pct(row['precision'])}, recall "
                    f"{_pct(row['recall'])} ({row['wrong_flagged']} of wrong values with a "
                    f"place), right values flagged {_pct(row['right_flagged'])}, letters "
                    f"flagged {_pct(row['letters_flagged'])}"
                )
        print(f"\nchosen for {engine}: line < {line_t:.2f}, char < {char_t:.2f} (short values)")
        print()
        all_rows += rows
    if args.json:
        args.json.write_text(json.dumps(all_rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
