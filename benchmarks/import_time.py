"""What importing imr-llm costs, and what a rules extraction pulls in. Prints figures; asserts
nothing.

    python benchmarks/import_time.py [--runs 15] [--top 15] [--baseline DIR]

Each figure is the median over ``--runs`` fresh interpreters, the statements interleaved round
by round so a busy machine slows them alike (min and max are printed as the spread):

- ``import imr_llm``: the cumulative time ``python -X importtime`` gives the ``imr_llm`` line
  (target, issue 17: <= 100 ms). Public names load on first use (imr_llm.__getattr__), so this
  is the version and the errors.
- ``from imr_llm import extract``: what a program that calls extract() pays before its first
  letter (the import lines of imr_llm and of imr_llm.api with everything they import).
- wall time of each statement, and of importing and reading one letter with the rules engine,
  beside ``python -c pass`` (the interpreter's own start).
- the modules that import spends most on (median self time), and the modules a rules
  extraction of a clean letter brings in, with the heavy ones it must not (the model client,
  asyncio, pydantic-settings, numpy/scipy, file reading and OCR).

The children run with no IMR_LLM_* or OPENAI_* variable in their environment: with none, the
rules engine runs on default settings without building a Settings object (imr_llm.api).
``--baseline DIR`` also times ``import imr_llm`` from another checkout's source tree (e.g. ``git
archive main | tar -x -C DIR``; imported through PYTHONPATH, with this environment's packages),
in the same interleaved rounds, for a before/after on one busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LETTER = REPO / "eval/gold/letters/gA01.txt"

#: Imports a rules extraction must not bring in: the model path, the event loop, the settings
#: machinery (default settings need none), the eval's numerics, file reading and OCR.
MUST_NOT = (
    "instructor",
    "openai",
    "tenacity",
    "httpx",
    "asyncio",
    "pydantic_settings",
    "numpy",
    "scipy",
    "imr_llm.config",
    "imr_llm.inputs.files",
    "imr_llm.inputs.pdf",
    "imr_llm.inputs.ocr",
    "imr_llm.jobs",
    "imr_llm.llm",
    "imr_llm.eval",
    "imr_llm.review",
)

RULES = "+ rules extract of one letter"
STATEMENTS: dict[str, str] = {
    "pass": "pass",
    "import imr_llm": "import imr_llm",
    "from imr_llm import extract": "from imr_llm import extract",
    RULES: (
        "from imr_llm import extract\n"
        f"extract(open({str(LETTER)!r}, encoding='utf-8').read(), backend='rules')"
    ),
}

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")

PROBE = f"""
import json, sys
text = open({str(LETTER)!r}, encoding="utf-8").read()
before = set(sys.modules)
from imr_llm import extract
imported = set(sys.modules)
extract(text, backend="rules")
after = set(sys.modules)
print(json.dumps({{"import": sorted(imported - before), "call": sorted(after - imported),
                  "all": sorted(after)}}))
"""


def clean_env() -> dict[str, str]:
    """The environment without settings for imr-llm, so every child runs on the defaults."""
    return {
        k: v for k, v in os.environ.items() if not k.upper().startswith(("IMR_LLM_", "OPENAI_"))
    }


def parse(stderr: str) -> list[tuple[int, int, int, str]]:
    """(level, self us, cumulative us, module) for each line ``-X importtime`` printed."""
    rows = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            level = (len(match.group(3)) - 1) // 2
            rows.append((level, int(match.group(1)), int(match.group(2)), match.group(4)))
    return rows


def package_ms(rows: list[tuple[int, int, int, str]]) -> float:
    """Milliseconds of the top-level imr_llm import lines (imr_llm, and imr_llm.api when a name
    from it loaded the module afterwards)."""
    return sum(c for lv, _, c, m in rows if lv == 0 and m.split(".")[0] == "imr_llm") / 1e3


def run(code: str, env: dict[str, str]) -> tuple[float, list[tuple[int, int, int, str]]]:
    """Wall seconds of a fresh interpreter running ``code``, and its import lines."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),  # not a folder holding an imr_llm/ of its own
        check=True,
    )
    return time.perf_counter() - started, parse(done.stderr)


def spread(values: list[float], unit: float = 1.0) -> str:
    values = [v * unit for v in values]
    return (
        f"median {statistics.median(values):7.1f} ms  "
        f"(min {min(values):6.1f}, max {max(values):6.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per statement")
    parser.add_argument("--top", type=int, default=15, help="modules listed by self time")
    parser.add_argument(
        "--baseline", type=Path, help="another source tree whose import to time alongside"
    )
    args = parser.parse_args()
    env = clean_env()
    statements = dict(STATEMENTS)
    envs = dict.fromkeys(statements, env)
    if args.baseline is not None:
        before = {**env, "PYTHONPATH": str(args.baseline.resolve())}
        for label in ("import imr_llm", "from imr_llm import extract", RULES):
            statements[f"baseline: {label}"] = STATEMENTS[label]
            envs[f"baseline: {label}"] = before

    walls: dict[str, list[float]] = defaultdict(list)
    cumulative: dict[str, list[float]] = defaultdict(list)
    self_us: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for _ in range(args.runs):
        for label, code in statements.items():
            wall, rows = run(code, envs[label])
            walls[label].append(wall)
            cumulative[label].append(package_ms(rows))
            if label in ("import imr_llm", "from imr_llm import extract"):
                # Everything imported after the interpreter's start-up (the `site` line).
                names = [m for _, _, _, m in rows]
                start = names.index("site") + 1 if "site" in names else 0
                for _, own, _, module in rows[start:]:
                    self_us[label][module].append(own)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.runs} fresh processes")
    print("\n== -X importtime, cumulative ms of the imr_llm import lines")
    for label in statements:
        if label.endswith(("import imr_llm", "import extract")):
            target = "   target <= 100 ms" if label == "import imr_llm" else ""
            print(f"{label:40} {spread(cumulative[label])}{target}")
    print("\n== wall time of `python -c ...` (interpreter start included), and over `pass`")
    base = statistics.median(walls["pass"])
    for label in statements:
        over = statistics.median(walls[label]) - base
        extra = "" if label == "pass" else f"   +{over * 1e3:.1f} ms"
        print(f"{label:40} {spread(walls[label], 1e3)}{extra}")

    for label in ("import imr_llm", "from imr_llm import extract"):
        medians = {m: statistics.median(v) for m, v in self_us[label].items()}
        top = sorted(medians.items(), key=lambda kv: -kv[1])[: args.top]
        print(f"\n== {label}: top {len(top)} modules by median self time")
        for module, us in top:
            print(f"  {us / 1e3:7.2f} ms  {module}")

    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
        check=True,
    )
    probe = json.loads(done.stdout)
    ours = [m for m in probe["import"] if m.split(".")[0] == "imr_llm"]
    others = sorted({m.split(".")[0] for m in probe["import"]} - {"imr_llm"})
    print("\n== a rules extraction of one clean letter (eval/gold/letters/gA01.txt)")
    print(f"imr_llm modules imported by `from imr_llm import extract` ({len(ours)}):")
    print("  " + ", ".join(ours))
    print(f"other top-level packages it imports ({len(others)}):")
    print("  " + ", ".join(others))
    print("imported by the call itself: " + (", ".join(probe["call"]) or "nothing"))
    present = set(probe["all"])
    pulled = [m for m in MUST_NOT if any(p == m or p.startswith(m + ".") for p in present)]
    print("must not be imported: " + ", ".join(MUST_NOT))
    print("  imported after all: " + (", ".join(pulled) if pulled else "none"))


if __name__ == "__main__":
    main()
