"""Build the messy renderings of every gold letter and the eval manifest.

Why: each gold letter (``letters/<id>.txt``, clean ``pdftotext -layout`` text) has one label
(``labels/<id>.json``). Scoring the extractor on several renderings of the *same* letter,
all sharing that label, shows how accuracy degrades with input quality (plain-pdftotext
header order, OCR-like noise, real tesseract output) instead of mixing quality and content.

Writes, under ``--gold``::

    renderings/raw/<id>.txt          plain-pdftotext shape (text_noise.raw_header_layout)
    renderings/noise-light/<id>.txt  seeded OCR-like noise, ~2 % CER (text_noise.noisy)
    renderings/noise-heavy/<id>.txt  seeded OCR-like noise, ~6 % CER
    renderings/ocr/<id>.txt          with --ocr: rendered, scanned at 200 dpi, tesseract
    renderings/ocrfax/<id>.txt       with --ocr: rendered, faxed at 150 dpi, tesseract
    manifest.json                    [{"letter", "rendering", "path", "cer"}, ...]

Text renderings are regenerated on every run (they are cheap and deterministic); OCR
renderings are only produced for missing files unless ``--force``. The manifest lists every
rendering file that exists for each current letter, including the clean ``layout`` one.

Usage::

    python eval/scripts/build_renderings.py --gold eval/gold [--ocr] [--jobs 2] [--force]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from imr_llm.form.text import char_error_rate

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling modules, not a package

import text_noise  # noqa: E402

# Rendering name -> directory under <gold>/renderings (order = manifest order).
TEXT_RENDERINGS: dict[str, Callable[[str, str], str]] = {
    "raw": lambda text, _id: text_noise.raw_header_layout(text),
    "noise-light": lambda text, letter_id: text_noise.noisy(text, letter_id, "light"),
    "noise-heavy": lambda text, letter_id: text_noise.noisy(text, letter_id, "heavy"),
}
OCR_RENDERINGS = ("ocr", "ocrfax")


def cer(clean: str, rendering: str) -> float:
    """Character error rate of a rendering against the clean letter, as the eval reads it."""
    return round(char_error_rate(clean, rendering), 4)


def write_if_changed(path: Path, text: str) -> bool:
    """Write only on change so unchanged renderings keep their mtime (and diffs stay quiet)."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def build(
    gold: Path,
    ocr: bool = False,
    jobs: int = 2,
    force: bool = False,
    only: Sequence[str] | None = None,
) -> list[dict[str, object]]:
    """Produce renderings for ``gold/letters`` and return (and write) the manifest."""
    letters_dir = gold / "letters"
    renderings = gold / "renderings"
    letters = sorted(letters_dir.glob("*.txt"))
    if not letters:
        sys.exit(f"build_renderings: no letters in {letters_dir}")
    selected = [p for p in letters if not only or p.stem in set(only)]

    changed = 0
    for path in selected:
        text = path.read_text(encoding="utf-8")
        for name, make in TEXT_RENDERINGS.items():
            changed += write_if_changed(
                renderings / name / f"{path.stem}.txt", make(text, path.stem)
            )
    print(f"build_renderings: text renderings for {len(selected)} letters ({changed} changed)")

    if ocr:
        import render_ocr  # deferred: needs Pillow/numpy and tesseract, only for --ocr

        render_ocr.render_all(
            letters_dir, renderings, only=[p.stem for p in selected], jobs=jobs, force=force
        )

    # The manifest always covers every letter, so a partial (--only) run keeps it complete.
    manifest: list[dict[str, object]] = []
    missing_labels = []
    for path in letters:
        letter_id = path.stem
        if not (gold / "labels" / f"{letter_id}.json").exists():
            missing_labels.append(letter_id)
        clean = path.read_text(encoding="utf-8")
        manifest.append(
            {"letter": letter_id, "rendering": "layout", "path": f"letters/{path.name}", "cer": 0.0}
        )
        for name in (*TEXT_RENDERINGS, *OCR_RENDERINGS):
            rpath = renderings / name / path.name
            if not rpath.exists():
                continue
            manifest.append(
                {
                    "letter": letter_id,
                    "rendering": name,
                    "path": rpath.relative_to(gold).as_posix(),
                    "cer": cer(clean, rpath.read_text(encoding="utf-8")),
                }
            )
    out = gold / "manifest.json"
    out.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"build_renderings: wrote {out} ({len(manifest)} entries, {len(letters)} letters)")
    if missing_labels:
        print(
            f"build_renderings: warning: no label for {len(missing_labels)} letter(s): "
            + ", ".join(missing_labels[:10])
            + (" ..." if len(missing_labels) > 10 else ""),
            file=sys.stderr,
        )
    _summarise(manifest)
    return manifest


def _summarise(manifest: list[dict[str, object]]) -> None:
    """Print CER min/mean/max per rendering: a quick check that noise levels are sane."""
    by_name: dict[str, list[float]] = {}
    for row in manifest:
        by_name.setdefault(str(row["rendering"]), []).append(float(str(row["cer"])))
    for name, values in by_name.items():
        mean = sum(values) / len(values)
        print(
            f"  {name:12s} n={len(values):4d}  cer min {min(values):.4f}  "
            f"mean {mean:.4f}  max {max(values):.4f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gold", type=Path, default=Path("eval/gold"))
    ap.add_argument("--ocr", action="store_true", help="also run render_ocr (tesseract)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel OCR workers")
    ap.add_argument("--force", action="store_true", help="redo existing OCR renderings")
    ap.add_argument("--only", nargs="+", metavar="ID", help="render only these letters")
    args = ap.parse_args(argv)
    build(args.gold, ocr=args.ocr, jobs=args.jobs, force=args.force, only=args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
