"""The rules engine beside a plain regex parser of the clean layout, timed in one run. Prints
figures; asserts nothing.

    python benchmarks/rules_speed.py [--rounds 15] [--shared ../shared] [--cpu N] [--profile]
        [--tolerant] [--fallbacks]

Two readers of the same letters:

- **project**: ``imr_llm.extract(text, backend="rules")``, the full record with its evidence,
  its checks and its review flags;
- **naive**: :func:`naive_parse` below, the compiled-regex parser of the clean ``pdftotext
  -layout`` text a user would otherwise write in an afternoon (header fields by their labels,
  the credentials lines, the age/sex phrase, items split at their ``: Upheld``/``: Overturned``
  markers and the three labels, passages collapsed), giving the same contract dict. It knows
  nothing of re-flowed lines, OCR damage, letters without the header table, the seed letters'
  spacing or the 2013 notice: that is what it is for, the baseline of speed on clean letters.

Three sets, each read by both, timed in interleaved rounds (which reader goes first alternates)
on one core (``os.sched_setaffinity`` where the platform has it):

- **clean**: ../shared/corpus and ../shared/corpus-more ``text-layout`` letters and the gold
  ``layout`` letters;
- **re-flowed**: those clean texts re-filled to 60 and to 100 columns
  (:func:`imr_llm.eval.damage.reflow`, as a viewer or an e-mail client does);
- **mild OCR**: the ``text-ocr`` renderings of both shared corpora and the gold ``ocr``
  rendering.

The ../shared sets are skipped, saying so, when absent. For each set and reader: letters/s
(median of the rounds, with min and max), the ratio project/naive (median of the per-round
ratios, with its spread), the share of letters with every field right against the labels
(:func:`imr_llm.eval.scoring.score_record`), the mean share of fields right, and for the
project how many letters are wrong without being flagged (``needs_review``, or a typed error).

Targets (issue 17, for the fast-path work): project >= 0.5x the naive rate on clean letters,
and >= 0.3x of it on mild OCR. ``--profile`` adds a cProfile summary of the rules engine on the
clean set: the top 15 functions by cumulative and by own time. ``--tolerant`` adds a third
reader to the rounds, **tolerant**: the project with its fast path turned off
(:func:`imr_llm.rules.strict.tolerant_only`), every letter read the OCR-tolerant way, as before
the fast path; its records are the project's (``tests/test_fast_path.py``), so only its rate
is printed, and the project's speed-up over it.

Under each set: how many of its letters the fast path read, and how many it left to the
tolerant reader at its letter form or at its reading (``--fallbacks`` names them).

The machine this runs on may be shared: the rounds are interleaved so that load slows both
readers alike, the figures are medians, and the spread is printed beside them.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import json
import os
import pstats
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imr_llm import ImrError, extract
from imr_llm.eval.damage import reflow
from imr_llm.eval.gold import load_cases
from imr_llm.eval.scoring import score_record
from imr_llm.rules.strict import tolerant_only

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO / "eval" / "gold"

# ----------------------------------------------------------------------------------------------
# The naive parser: compiled regexes over the clean layout, nothing else
# ----------------------------------------------------------------------------------------------

_DATE = r"(\d{1,2}/\d{1,2}/\d{4})"
_HEADER = {
    "case_number": re.compile(r"Case Number:\s*(CM\d{2}-\d{7})"),
    "date_assigned": re.compile(r"Date Assigned:\s*" + _DATE),
    "date_of_injury": re.compile(r"Date of Injury:\s*" + _DATE),
    "decision_date": re.compile(r"Decision Date:\s*" + _DATE),
    "ur_denial_date": re.compile(r"UR Denial Date:\s*" + _DATE),
    # "Application   11/03/2016" with "Received:" on the line below, in the right column.
    "application_received": re.compile(r"Application\s+" + _DATE),
}
# Without the header table: "sustained an industrial injury on 10-13-16" in the case summary.
INJURY = re.compile(r"injury on (\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})\b")
_PRIORITY = re.compile(r"Priority:\s*(Standard|Expedited)", re.IGNORECASE)
_STATES = re.compile(r"State\(s\) of Licensure:[ \t]*([^\n]*)")
_SPECIALTY = re.compile(r"Certification\(s\)/Specialty:[ \t]*((?:[^\n]*\S[^\n]*\n?)+)")
_BOARD = re.compile(
    r"Board Certified in (.+?),? (?:and )?is licensed to practice in (.+?)\.(?:\s|$)"
)
_AGE_SEX = re.compile(
    r"(\d{1,3})[ -]year[ -]old(?:[ -](male|female|man|woman|gentleman|lady))?", re.IGNORECASE
)
_SEX = {"male": "male", "man": "male", "gentleman": "male"}
_ISSUES = re.compile(r"IMR ISSUES, DECISIONS AND RATIONALES")
_INTRO = re.compile(r"set forth below:[ \t]*\n")
_MARKER = re.compile(r":\s*(Upheld|Overturned)\b")
# A blank line; or a page break after a sentence (page breaks fall inside paragraphs too).
_BREAK = re.compile(r"\n[ \t]*\n|(?<=\.)[ \t]*\n\f")
_CA = re.compile(r"Claims Administrator guideline:(.*?)(?=MAXIMUS guideline:|$)", re.DOTALL)
_MAXIMUS = re.compile(r"MAXIMUS guideline:(.*?)(?=Decision rationale:|$)", re.DOTALL)
_RATIONALE = re.compile(r"Decision rationale:(.*)", re.DOTALL)
_PARTIAL = re.compile(r"^(.*?) was the original request\..*original request, (.*?) is$")
_HEADING = re.compile(r"^[ \t]*[A-Z][A-Z ,]+$")
_LIST_SPLIT = re.compile(r"\s*,\s*|\s+and\s+")


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _iso(date: str) -> str:
    month, day, year = date.split("/")
    return dt.date(int(year), int(month), int(day)).isoformat()


def _split(text: str) -> list[str]:
    return [part for part in _LIST_SPLIT.split(_collapse(text).rstrip(".")) if part]


def _credentials(text: str) -> tuple[list[str], list[str]]:
    states, specialties = [], []
    if match := _STATES.search(text):
        states = _split(match.group(1))
    if match := _SPECIALTY.search(text):
        lines = []
        for line in match.group(1).splitlines():
            if _HEADING.match(line):
                break
            lines.append(line)
        specialties = [s for s in _collapse(" ".join(lines)).split(",") if s.strip()]
        specialties = [s.strip() for s in specialties]
    if not states and (match := _BOARD.search(_collapse(text))):
        specialties = [s.strip() for s in match.group(1).split(",")]
        states = _split(match.group(2))
    return states, specialties


def _item(header: str, body: str, outcome: str) -> dict[str, Any]:
    service, original = _collapse(header), None
    if match := _PARTIAL.match(service):
        original, service = match.group(1), match.group(2)
    ca = _CA.search(body)
    ca_text = _collapse(ca.group(1)) if ca else None
    if ca_text and "did not cite" in ca_text:
        ca_text = None
    maximus = _MAXIMUS.search(body)
    rationale = _RATIONALE.search(body)
    return {
        "service": service,
        "original_request": original,
        "outcome": outcome.lower(),
        "claims_administrator_guideline": ca_text or None,
        "maximus_guideline": _collapse(maximus.group(1)) or None if maximus else None,
        "rationale": _collapse(rationale.group(1)) if rationale else "",
    }


def _items(text: str) -> list[dict[str, Any]]:
    issues = _ISSUES.search(text)
    start = issues.end() if issues else 0
    if intro := _INTRO.search(text, start):
        start = intro.end()
    region = text[start:]
    markers = list(_MARKER.finditer(region))
    # Each item's header is the paragraph that ends at its marker.
    heads = []
    for k, marker in enumerate(markers):
        floor = markers[k - 1].end() if k else 0
        breaks = [b.end() for b in _BREAK.finditer(region, floor, marker.start())]
        heads.append(breaks[-1] if breaks else floor)
    items = []
    for k, marker in enumerate(markers):
        end = heads[k + 1] if k + 1 < len(markers) else len(region)
        header = region[heads[k] : marker.start()]
        items.append(_item(header, region[marker.end() : end], marker.group(1)))
    return items


def naive_parse(text: str) -> dict[str, Any]:
    """The contract dict of a clean ``pdftotext -layout`` letter, by plain regexes."""
    record: dict[str, Any] = {}
    for name, pattern in _HEADER.items():
        match = pattern.search(text)
        record[name] = (
            None if match is None else match.group(1) if name == "case_number" else _iso(match[1])
        )
    if record["date_of_injury"] is None and (match := INJURY.search(text)):
        month, day, year = (int(g) for g in match.groups())
        year += 0 if year > 99 else 2000 if year < 50 else 1900
        record["date_of_injury"] = dt.date(year, month, day).isoformat()
    priority = _PRIORITY.search(text)
    record["priority"] = priority.group(1).lower() if priority else None
    states, specialties = _credentials(text)
    record["reviewer"] = {"licensure_states": states, "specialties": specialties}
    age, sex = None, None
    if match := _AGE_SEX.search(text):
        age = int(match.group(1))
        word = (match.group(2) or "").lower()
        sex = _SEX.get(word, "female") if word else None
    record["patient"] = {"age": age, "sex": sex}
    record["items"] = _items(text)
    return record


# ----------------------------------------------------------------------------------------------
# The sets
# ----------------------------------------------------------------------------------------------


@dataclass
class Letter:
    name: str
    text: str
    label: dict[str, Any]


@dataclass
class Result:
    """One reader's pass over a set: its rates per round and what it read."""

    rates: list[float] = field(default_factory=list)
    records: list[dict[str, Any] | None] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)


def _folder(root: Path, rendering: str) -> list[Letter]:
    letters = []
    for path in sorted((root / rendering).glob("*.txt")):
        label = root / "labels" / f"{path.stem}.json"
        if label.is_file():
            letters.append(
                Letter(
                    f"{root.name}/{path.stem}",
                    path.read_text(encoding="utf-8"),
                    json.loads(label.read_text(encoding="utf-8")),
                )
            )
    return letters


def _gold(rendering: str) -> list[Letter]:
    return [
        Letter(f"gold/{case.letter}", case.text(), case.label)
        for case in load_cases(GOLD, renderings=[rendering])
    ]


def load_sets(shared: Path) -> dict[str, list[Letter]]:
    clean, ocr = [], []
    for corpus in ("corpus", "corpus-more"):
        root = shared / corpus
        if (root / "labels").is_dir():
            clean += _folder(root, "text-layout")
            ocr += _folder(root, "text-ocr")
        else:
            print(f"skipped: {root} is absent (its letters are not in the sets)")
    clean += _gold("layout")
    ocr += _gold("ocr")
    reflowed = [
        Letter(f"{x.name}@{width}", reflow(x.text, width), x.label)
        for width in (60, 100)
        for x in clean
    ]
    return {"clean": clean, "re-flowed": reflowed, "mild OCR": ocr}


# ----------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------


def project_read(text: str) -> tuple[dict[str, Any] | None, bool]:
    """The project's contract dict (None on a typed error) and whether it is flagged."""
    try:
        record = extract(text, backend="rules")
    except ImrError:
        return None, True
    flagged = record.metadata is not None and record.metadata.needs_review
    return record.contract_dict(), flagged


def tolerant_extract(text: str) -> None:
    """What is timed of the tolerant path: the project's record with the fast path off."""
    with tolerant_only():
        project_extract(text)


def naive_read(text: str) -> tuple[dict[str, Any] | None, bool]:
    try:
        return naive_parse(text), False
    except Exception:  # noqa: BLE001 - a naive parser's crash is a letter it did not read
        return None, False


def project_extract(text: str) -> None:
    """What is timed of the project: the record, with its evidence and flags."""
    try:
        extract(text, backend="rules")
    except ImrError:
        pass


def naive_extract(text: str) -> None:
    """What is timed of the naive parser: its contract dict."""
    try:
        naive_parse(text)
    except Exception:  # noqa: BLE001 - a crash is a letter it did not read
        pass


def timed_pass(read: Callable[[str], Any], texts: list[str]) -> float:
    """Letters per second of one pass of ``read`` over ``texts``."""
    gc.collect()
    started = time.perf_counter()
    for text in texts:
        read(text)
    return len(texts) / (time.perf_counter() - started)


def measure(letters: list[Letter], rounds: int, tolerant: bool = False) -> dict[str, Result]:
    texts = [x.text for x in letters]
    scored = {"project": project_read, "naive": naive_read}
    timed = {"project": project_extract, "naive": naive_extract}
    if tolerant:
        timed["tolerant"] = tolerant_extract
    results = {name: Result() for name in timed}
    for name, read in scored.items():  # the warm-up pass, which gives the records scored
        for text in texts:
            record, flagged = read(text)
            results[name].records.append(record)
            results[name].flagged.append(flagged)
    if tolerant:
        for text in texts:  # its warm-up
            tolerant_extract(text)
    for k in range(rounds):
        order = list(timed)[k % len(timed) :] + list(timed)[: k % len(timed)]
        for name in order:
            results[name].rates.append(timed_pass(timed[name], texts))
    return results


def spread(values: list[float], fmt: str = ",.0f") -> str:
    return f"{statistics.median(values):{fmt}} (min {min(values):{fmt}}, max {max(values):{fmt}})"


def report(set_name: str, letters: list[Letter], results: dict[str, Result]) -> None:
    print(f"\n== {set_name}: {len(letters)} letters")
    for name, result in results.items():
        if name == "tolerant":
            print(f"  {name:8} {spread(result.rates):>34} letters/s   (the project, fast path off)")
            continue
        scores = [score_record(r, x.label) for r, x in zip(result.records, letters, strict=True)]
        right = sum(s.all_right for s in scores)
        fields = statistics.fmean(s.field_accuracy for s in scores)
        line = (
            f"  {name:8} {spread(result.rates):>34} letters/s   "
            f"all fields right {right:4}/{len(letters)} ({right / len(letters):6.1%})   "
            f"fields right {fields:6.1%}"
        )
        unflagged = [
            x.name
            for x, s, f in zip(letters, scores, result.flagged, strict=True)
            if not s.all_right and not f
        ]
        if name == "project":
            line += f"   wrong and unflagged {len(unflagged)}"
        print(line)
        if name == "project" and unflagged:
            print(f"           wrong and unflagged: {', '.join(unflagged)}")
    ratios = [p / n for p, n in zip(results["project"].rates, results["naive"].rates, strict=True)]
    print(f"  project/naive rate: {spread(ratios, '.2f')}x")
    if "tolerant" in results:
        gains = [
            p / t for p, t in zip(results["project"].rates, results["tolerant"].rates, strict=True)
        ]
        print(f"  project/tolerant rate (the fast path's speed-up): {spread(gains, '.2f')}x")


def fast_path(letters: list[Letter], listed: bool) -> None:
    """How many letters the fast path reads (:mod:`imr_llm.rules.strict`); the others are
    left to the tolerant reader by the strict pass's letter form (``strict_form`` gives
    None: a heading not printed exactly, text relayout would move, a form feed inside a
    line...) or by its reading (``_read`` gives None: a value it does not read at its
    place, a 2013 notice, a failed self-check). ``listed``: name each letter left."""
    from imr_llm.form.strict import strict_form
    from imr_llm.inputs.normalise import check_input
    from imr_llm.rules.strict import _read

    left: list[tuple[str, str]] = []
    for x in letters:
        try:
            form = strict_form(check_input(x.text))
        except ImrError:
            left.append((x.name, "input"))
            continue
        if form is None:
            left.append((x.name, "form"))
        elif _read(form) is None:
            left.append((x.name, "reading"))
    by_form = sum(1 for _, why in left if why == "form")
    print(
        f"  fast path: read {len(letters) - len(left)}/{len(letters)}; left to the tolerant "
        f"reader by the strict form {by_form}, by the strict reading {len(left) - by_form}"
    )
    if listed and left:
        shown = ", ".join(f"{name} ({why})" for name, why in left[:40])
        print(
            f"           left: {shown}"
            + (f", ... ({len(left) - 40} more)" if len(left) > 40 else "")
        )


def stages(letters: list[Letter]) -> None:
    """The project's own stage timings (``metadata.timings_ms``), free of the profiler's
    overhead: normalise, the engine (form and rules), the evidence check (the rest of its
    ``total``), and building the record (the wall time of the call beyond ``total``)."""
    parts: dict[str, list[float]] = {
        "normalise": [],
        "engine": [],
        "check": [],
        "record": [],
        "wall": [],
    }
    for x in letters:
        started = time.perf_counter()
        try:
            record = extract(x.text, backend="rules")
        except ImrError:
            continue
        wall = (time.perf_counter() - started) * 1000
        assert record.metadata is not None
        t = record.metadata.timings_ms
        parts["normalise"].append(t["normalise"])
        parts["engine"].append(t["engine"])
        parts["check"].append(t["total"] - t["normalise"] - t["engine"])
        parts["record"].append(wall - t["total"])
        parts["wall"].append(wall)
    print("\n== the project's stages on the clean set, ms a letter (one pass, no profiler)")
    total = sum(parts["wall"])
    for name, values in parts.items():
        middle, mean = statistics.median(values), statistics.fmean(values)
        print(f"  {name:10} median {middle:6.2f}  mean {mean:6.2f}  {sum(values) / total:6.1%}")


def profile(letters: list[Letter], rounds: int) -> None:
    stages(letters)
    texts = [x.text for x in letters]
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        for text in texts:
            project_extract(text)
    profiler.disable()
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(key).print_stats(15)
        body = out.getvalue().replace(str(REPO) + "/", "")
        body = re.sub(r"\S*/site-packages/", "", body)
        table = body[body.index("   ncalls") :] if "   ncalls" in body else body
        print(
            f"\n== cProfile of the project on the clean set ({rounds} passes; the profiler slows "
            f"small calls most), top 15 by {key}"
        )
        print(table.rstrip())


def pin(cpu: int | None) -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    allowed = sorted(os.sched_getaffinity(0))
    chosen = cpu if cpu is not None else allowed[0]
    os.sched_setaffinity(0, {chosen})
    return f"pinned to CPU {chosen} of {len(allowed)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed passes per reader and set")
    parser.add_argument(
        "--shared",
        type=Path,
        default=Path(os.environ.get("IMR_LLM_SHARED", REPO.parent / "shared")),
        help="the shared corpora (default: ../shared, or $IMR_LLM_SHARED)",
    )
    parser.add_argument("--cpu", type=int, help="the CPU to pin to (default: the first allowed)")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the project on the clean set"
    )
    parser.add_argument(
        "--tolerant", action="store_true", help="also time the project with its fast path off"
    )
    parser.add_argument(
        "--fallbacks",
        action="store_true",
        help="name each letter the fast path leaves to the tolerant reader, and at which step",
    )
    args = parser.parse_args()
    print(f"{pin(args.cpu)}; {args.rounds} interleaved rounds; rates are letters/s")
    sets = load_sets(args.shared)
    for set_name, letters in sets.items():
        report(set_name, letters, measure(letters, args.rounds, args.tolerant))
        fast_path(letters, args.fallbacks)
    print("\ntargets (issue 17): project >= 0.5x naive on clean letters, >= 0.3x on mild OCR")
    if args.profile:
        profile(sets["clean"], max(1, args.rounds // 5))


if __name__ == "__main__":
    main()
