"""Letters and pages a second, one process against Ray on this machine, in the same run.

    python benchmarks/ray_scale.py [--corpus ../shared/corpus] [--more ../shared/corpus-more]
        [--scans 3] [--ocr-engine tesseract] [--cpus 2] [--letters-per-task 8] [--json out.json]

Three kinds of input, each read twice, interleaved (one process, Ray, one process, Ray; the
scans once each, they are slow), with the rules engine:

- **text**: the corpus letters as ``pdftotext -layout`` text (``corpus/text-layout`` and
  ``corpus-more/text-layout``); pages from their form feeds;
- **text-layer PDFs**: the corpus PDFs;
- **scanned PDFs**: the first ``--scans`` corpus PDFs rendered at 200 dpi into image-only PDFs
  (as tests/test_pdf.py scans a letter), every page OCR'd with ``--ocr-engine``.

"One process" is ``extract_file`` letter after letter (the CLI at ``--concurrency 1``); "Ray"
is :func:`imr_llm.many.ray.run_letters` on a local Ray of ``--cpus`` CPUs started once before (its
start-up printed apart; both sides warmed on two letters first). Every record of both is
checked equal (times aside). Figures on a
machine shared with other work are noisy: compare the two columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _scan(pdf: bytes) -> bytes:
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    images = [doc[k].render(scale=200 / 72, grayscale=True).to_pil() for k in range(len(doc))]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


def _pages(record: dict[str, Any]) -> int:
    info = (record.get("metadata") or {}).get("input") or {}
    return int(info.get("pages") or 1)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for record in (a, b):
        (record.get("metadata") or {}).pop("timings_ms", None)
    return a == b


def _single(files: list[str], engine: str | None) -> tuple[float, list[dict[str, Any]]]:
    from imr_llm import extract_file

    started = time.perf_counter()
    records = [
        extract_file(f, backend="rules", ocr_engine=engine).model_dump(mode="json") for f in files
    ]
    return time.perf_counter() - started, records


def _ray(files: list[str], engine: str | None, per_task: int) -> tuple[float, list[dict[str, Any]]]:
    from imr_llm.config import load_settings
    from imr_llm.many import ray as imr_ray

    settings = load_settings(ocr_engine=engine)
    started = time.perf_counter()
    outcomes = sorted(
        imr_ray.run_letters(files, "rules", settings=settings, letters_per_task=per_task),
        key=lambda o: o.index,
    )
    seconds = time.perf_counter() - started
    bad = [o for o in outcomes if o.status != "ok"]
    if bad:
        raise SystemExit(f"Ray run failed letters: {[(o.name, o.error) for o in bad]}")
    return seconds, [o.record for o in outcomes]  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--more", type=Path, default=REPO.parent / "shared" / "corpus-more")
    parser.add_argument("--scans", type=int, default=3)
    parser.add_argument("--ocr-engine", default=None, help="default: the default engine")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--letters-per-task", type=int, default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from imr_llm.many import ray as imr_ray

    texts = sorted(map(str, (args.corpus / "text-layout").glob("*.txt")))
    texts += sorted(map(str, (args.more / "text-layout").glob("*.txt")))
    pdfs = sorted((args.corpus / "pdf").glob("*.pdf"))
    tmp = Path(tempfile.mkdtemp(prefix="ray-scale-"))
    scans = []
    for pdf in pdfs[: args.scans]:
        target = tmp / f"scan-{pdf.name}"
        target.write_bytes(_scan(pdf.read_bytes()))
        scans.append(str(target))
    kinds = {"text": texts, "text-layer PDFs": list(map(str, pdfs)), "scanned PDFs": scans}

    started = time.perf_counter()
    imr_ray.connect(num_cpus=args.cpus)
    startup = time.perf_counter() - started
    print(f"local Ray of {args.cpus} CPUs started in {startup:.1f} s (not counted below)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")

    # Warm both sides (imports, compiled patterns, Ray's worker processes) before timing.
    warm = [texts[0], str(pdfs[0])] if texts and pdfs else (texts or list(map(str, pdfs)))[:1]
    _single(warm, args.ocr_engine)
    _ray(warm, args.ocr_engine, args.letters_per_task)

    results: dict[str, Any] = {"ray_startup_s": round(startup, 2), "kinds": {}}
    print(f"{'input':17} {'letters':>7} {'pages':>5}  {'one process':>22}  {'Ray':>22}  equal")
    for kind, files in kinds.items():
        if not files:
            continue
        rounds = 1 if kind == "scanned PDFs" else 2
        single_s = ray_s = 0.0
        equal = True
        pages = 0
        for _ in range(rounds):
            s_time, s_records = _single(files, args.ocr_engine)
            r_time, r_records = _ray(files, args.ocr_engine, args.letters_per_task)
            single_s += s_time
            ray_s += r_time
            pages = sum(_pages(r) for r in s_records)
            equal &= all(_same(a, b) for a, b in zip(s_records, r_records, strict=True))
        single_s, ray_s = single_s / rounds, ray_s / rounds
        n = len(files)
        row = {
            "letters": n,
            "pages": pages,
            "single": {"s": round(single_s, 2), "letters_per_s": round(n / single_s, 2),
                       "pages_per_s": round(pages / single_s, 2)},
            "ray": {"s": round(ray_s, 2), "letters_per_s": round(n / ray_s, 2),
                    "pages_per_s": round(pages / ray_s, 2)},
            "records_equal": equal,
        }  # fmt: skip
        results["kinds"][kind] = row
        one = f"{n / single_s:7.2f} l/s {pages / single_s:7.2f} p/s"
        many = f"{n / ray_s:7.2f} l/s {pages / ray_s:7.2f} p/s"
        print(f"{kind:17} {n:7d} {pages:5d}  {one:>22}  {many:>22}  {equal}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
