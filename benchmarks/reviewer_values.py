"""The rules engine's reviewer values (licensure states, specialties) on the real letters.

    python benchmarks/reviewer_values.py [--code DIR ...] [--renderings text-layout text-ocr]

Every real letter of ``../shared/corpus`` and ``../shared/corpus-more`` (74, with labels) in
each of its four renderings (``text-layout``, ``text-raw``, ``text-ocr``, ``text-ocrfax``) goes
through ``imr_llm.extract(text, backend="rules")``. Each record's reviewer values are compared
with the label (states as a set, specialties as a list) and counted as:

- ``error``: a typed error, no record (the rules engine could not read the letter);
- ``right``: both lists equal the label (split by whether the record needs review);
- ``wrong, flagged here``: a wrong list, and a reviewer value or list is ``unverified``;
- ``wrong, flagged elsewhere``: a wrong list, the record needs review for another reason;
- ``wrong, unflagged``: a wrong list in a record that does not need review (the worst case).

With ``--code DIR`` (repeatable) each directory's ``imr_llm`` is measured in a subprocess in
turn, so that two versions of the code (a checkout of the main branch and this one) are
compared by the same script in the same run. Set ``IMR_LLM_SHARED`` for another corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("IMR_LLM_SHARED", REPO.parent / "shared"))
RENDERINGS = ("text-layout", "text-raw", "text-ocr", "text-ocrfax")
KINDS = (
    "error",
    "right, unflagged",
    "right, flagged",
    "wrong, flagged here",
    "wrong, flagged elsewhere",
    "wrong, unflagged",
)


def letters(renderings: tuple[str, ...]) -> list[tuple[str, str, Path, Path]]:
    """(letter, rendering, text path, label path) of every real letter with a label."""
    found = []
    for corpus in ("corpus", "corpus-more"):
        for label in sorted((SHARED / corpus / "labels").glob("*.json")):
            for rendering in renderings:
                text = SHARED / corpus / rendering / f"{label.stem}.txt"
                if text.is_file():
                    found.append((label.stem, rendering, text, label))
    return found


def judge(text: str, label: dict[str, Any]) -> tuple[str, str]:
    """The kind of one record (see the module docstring), and what was wrong, if anything."""
    from imr_llm import ImrError, extract

    try:
        record = extract(text, backend="rules")
    except ImrError as exc:
        return "error", type(exc).__name__
    want = label["reviewer"]
    got = record.reviewer
    right = set(got.licensure_states) == set(want["licensure_states"]) and list(
        got.specialties
    ) == list(want["specialties"])
    meta = record.metadata
    assert meta is not None
    if right:
        return ("right, flagged" if meta.needs_review else "right, unflagged"), ""
    shown = f"{got.licensure_states} {got.specialties}"
    here = any(
        path.startswith("reviewer") and ev.status == "unverified"
        for path, ev in meta.evidence.items()
    )
    if here:
        return "wrong, flagged here", shown
    return ("wrong, flagged elsewhere" if meta.needs_review else "wrong, unflagged"), shown


def measure(renderings: tuple[str, ...]) -> dict[str, Any]:
    """Counts per rendering and kind, and the wrong records by name."""
    counts: dict[str, Counter[str]] = {r: Counter() for r in renderings}
    wrong: list[str] = []
    for name, rendering, text_path, label_path in letters(renderings):
        label = json.loads(label_path.read_text(encoding="utf-8"))
        kind, shown = judge(text_path.read_text(encoding="utf-8"), label)
        counts[rendering][kind] += 1
        if kind.startswith("wrong"):
            wrong.append(f"{kind}: {name} {rendering}: {shown}")
    return {"counts": {r: dict(c) for r, c in counts.items()}, "wrong": wrong}


def report(title: str, result: dict[str, Any], renderings: tuple[str, ...]) -> None:
    print(f"\n{title}")
    print(f"  {'rendering':<13}" + "".join(f"{k:>26}" for k in KINDS))
    total: Counter[str] = Counter()
    for rendering in renderings:
        row = result["counts"].get(rendering, {})
        total.update(row)
        print(f"  {rendering:<13}" + "".join(f"{row.get(k, 0):>26}" for k in KINDS))
    print(f"  {'all':<13}" + "".join(f"{total.get(k, 0):>26}" for k in KINDS))
    for line in result["wrong"]:
        print(f"    {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", action="append", type=Path, help="a checkout to measure")
    parser.add_argument("--renderings", nargs="+", default=list(RENDERINGS))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    renderings = tuple(args.renderings)
    if not (SHARED / "corpus" / "labels").is_dir():
        print(f"no corpus at {SHARED}", file=sys.stderr)
        return 2
    if args.worker:
        print(json.dumps(measure(renderings)))
        return 0
    for code in args.code or [REPO]:
        env = {**os.environ, "PYTHONPATH": str(code.resolve()), "IMR_LLM_SHARED": str(SHARED)}
        done = subprocess.run(
            [sys.executable, __file__, "--worker", "--renderings", *renderings],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=code,
        )
        report(f"code: {code}", json.loads(done.stdout), renderings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
