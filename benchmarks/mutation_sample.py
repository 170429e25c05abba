"""Mutation score of the letter-form, evidence and answer modules, from a fixed random sample.

    python benchmarks/mutation_sample.py [--size 450] [--seed 7] [--rerun pending|all|none]

A full mutmut run is some 5,000 mutants and takes hours on two cores, so this script draws a
fixed-seed random sample of the mutants, stratified by module (every module under
``[tool.mutmut] only_mutate`` gets its share in proportion to its number of mutants, at least
one), runs mutmut on exactly those names (under ``nice -n 10``), and prints per module and
overall: mutants, killed, survived, timeouts, suspicious, not checked, and the score with a 95%
Wilson interval, then every survivor. Target (issue 7): >= 90% killed.

The score counts a mutant as caught when a test failed (``killed``) or the mutant ran past its
time limit (``timeout``, as mutmut's own badge does); ``survived``, ``no tests`` and
``suspicious`` count against it. Proportional allocation makes the pooled share the stratified
estimate; the Wilson interval ignores the finite-population gain, so it is slightly wide.
Survivors judged equivalent (no behaviour can tell them from the original; see
``docs/mutation.md``) are listed apart, and a second score leaves them out of the denominator,
as mutation testing usually does; the raw score is printed first.

Re-runnable: mutmut keeps each mutant's verdict in ``mutants/`` (git-ignored) and resets the
verdicts of a function whose source changed. ``--rerun pending`` (the default) sends mutmut only
the sampled mutants with no current verdict or one that is not a kill (so a survivor is tried
again after a new test); ``--rerun all`` re-tests the whole sample; ``--rerun none`` only
reports. The sample depends only on the seed, the size and the current source, so the same
command draws the same mutants until the code changes. mutmut's own output goes to
``mutants/mutation_sample.log``. Set ``IMR_LLM_SHARED`` to the shared corpus (default
``../shared``): mutmut runs the tests in a copy of the project under ``mutants/``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MUTMUT = REPO / ".venv" / "bin" / "mutmut"
LOG = REPO / "mutants" / "mutation_sample.log"

#: Verdicts that catch a mutant (mutmut's badge counts timeouts as caught too).
CAUGHT = {"killed", "timeout", "segfault", "caught by type check"}

#: Survivors judged equivalent or harmless, with why (kept in step with docs/mutation.md).
#: A mutant name carries its function and its number in that function, so an entry stays
#: right until that function is edited; the report flags entries no longer in the source.
EQUIVALENT: dict[str, str] = {
    "imr_llm.evidence.x__edge__mutmut_11": (
        "equivalent: with no words to match (n = 0) the edge becomes the whole passage instead "
        "of '', but an empty needle scores 0 either way"
    ),
    "imr_llm.evidence.x_letter_damage__mutmut_34": (
        "harmless: > instead of >= 50 differs only for a fuzzy score of exactly 50.0"
    ),
    "imr_llm.form.items.x__header_start__mutmut_57": (
        "equivalent: j + 1 <= len(lines) and j + 1 < len(lines) both always hold (j is above "
        "the marker's line)"
    ),
    "imr_llm.form.items.x__header_start__mutmut_61": (
        "harmless: differs only when j is 0, the letter's first line, which is never inside the"
        " items section the walk stays in"
    ),
    "imr_llm.form.items.x__outcome_marker__mutmut_43": (
        "equivalent: header_end_col of a marker alone on its line is never read"
    ),
    "imr_llm.form.items.x_split_partial_request__mutmut_59": (
        "harmless: the length cut-off for a partly certified request's service moves by one "
        "character (2 * len(orig) + 41 instead of + 40), a sanity bound no letter comes near"
    ),
    "imr_llm.form.reading.x__states_in__mutmut_3": (
        "equivalent: relaxed=None instead of False; canonical_state only tests it for truth"
    ),
    "imr_llm.form.reading.x_read_word__mutmut_83": (
        "harmless: > instead of >= margin differs only when two fuzzy scores are exactly 8.0 apart"
    ),
    "imr_llm.form.summary.x_read_ages__mutmut_11": (
        "harmless: the age phrase is looked for from 25 characters before 'old' instead of 24, "
        "longer than any age phrase the pattern can match needs"
    ),
    # imr_llm/evidence/
    "imr_llm.evidence.x__clean_word__mutmut_3": (
        "harmless: X is stripped from a word's ends too, which changes only a word with an "
        "upper-case X next to its digits ('5X'); it moves the damage estimate by one word"
    ),
    "imr_llm.evidence.x__cut_after__mutmut_22": (
        "harmless: the fuzzy threshold for a quote's last words moves from 88 to 89, a "
        "tuning step no letter or test lands on"
    ),
    "imr_llm.evidence.x__specialty_parts__mutmut_20": (
        "equivalent: the parts are already stripped of those marks and spaces, so strip() "
        "leaves the same parts empty"
    ),
    "imr_llm.evidence.x_align_items__mutmut_41": (
        "equivalent: one more row of zeros in the table, never read"
    ),
    "imr_llm.evidence.x__check_case_number__mutmut_34": (
        "harmless: with a number read at the label it looks for the header's first case number "
        "instead, which is the same one (Case Number is the header's first row); only the "
        "span can shrink from the label's value to the number alone"
    ),
    "imr_llm.evidence.x__check_date__mutmut_207": (
        "equivalent: a missing other date becomes 'XXXX' instead of '', and neither string "
        "equals an ISO date"
    ),
    "imr_llm.evidence.x__check_priority__mutmut_68": (
        "equivalent: the rebuilt reading's start is never read again"
    ),
    "imr_llm.evidence.x__check_passage__mutmut_142": (
        "harmless: > instead of >= EDGE_THRESHOLD differs only for a fuzzy score of exactly "
        "70.0; the spec fixes no side of the threshold"
    ),
    "imr_llm.evidence.x__edge__mutmut_59": (
        "equivalent: words found at offset 0 are then looked up fuzzily, which finds them at "
        "offset 0 with score 100: 'found elsewhere' either way"
    ),
    "imr_llm.evidence.x__edge__mutmut_72": (
        "harmless: the 'found elsewhere' fuzzy threshold moves from 88 to 89, a tuning step "
        "no letter or test lands on"
    ),
    "imr_llm.evidence.x__key_difference__mutmut_25": (
        "equivalent: zip(strict=False) on lists the line above checked to be of equal length"
    ),
    "imr_llm.evidence.x__near_any__mutmut_6": (
        "harmless: > instead of >= 70 differs only for a fuzzy score of exactly 70.0"
    ),
    "imr_llm.evidence.x__plausible__mutmut_30": (
        "equivalent: read >= latest instead of read > latest, but the same test also needs "
        "read.year > latest.year + 1, which an equal date never meets"
    ),
    "imr_llm.evidence.x_garbled_share__mutmut_11": (
        "equivalent: the fast path for plain words shrinks, and every word it no longer takes "
        "is one _clean_word accepts too, so the count is the same"
    ),
    "imr_llm.evidence.x_letter_damage__mutmut_22": (
        "equivalent: with no alignment the score is 1.0 instead of 0.0; both are below 50, "
        "so the sentence counts as fully damaged either way"
    ),
    # imr_llm/form/header.py
    "imr_llm.form.header.x__labels_in__mutmut_12": (
        "equivalent: _AFTER_LABEL can match the empty string, so its match is never None"
    ),
    "imr_llm.form.header.x_read_header_form__mutmut_44": (
        "equivalent: line_end <= 0 instead of < 0, but the line break searched from after a "
        "label is never at offset 0"
    ),
    # imr_llm/form/items.py
    "imr_llm.form.items.x__find_label__mutmut_2": (
        "harmless: the cheap pre-check looks at 41 columns instead of 40; it differs only for "
        "a label whose colon sits at exactly column 40"
    ),
    "imr_llm.form.items.x__header_start__mutmut_39": (
        "harmless: the header text used to count 'original request' mentions takes one more "
        "line, the item's first label line or a blank, which never names the original request"
    ),
    "imr_llm.form.items.x__header_start__mutmut_55": (
        "equivalent: j - 1 < len(lines) and j + 1 < len(lines) both always hold (j is above "
        "the marker's line)"
    ),
    "imr_llm.form.items.x__outcome_marker__mutmut_15": (
        "equivalent: alone=None instead of False; the flag is only ever tested for truth"
    ),
    "imr_llm.form.items.x__outcome_marker__mutmut_50": (
        "equivalent: header_end_col of a marker alone on its line is never read"
    ),
    "imr_llm.form.items.x__place__mutmut_12": (
        "equivalent: dropping the label argument; no caller passes one"
    ),
    "imr_llm.form.items.x_original_request_mentions__mutmut_22": (
        "harmless: > instead of >= 60 differs only for a fuzzy score of exactly 60.0"
    ),
    # imr_llm/form/reading.py
    "imr_llm.form.reading.x_read_word__mutmut_80": (
        "harmless: > instead of >= threshold differs only for a fuzzy score exactly on it"
    ),
    # imr_llm/form/sections.py
    "imr_llm.form.sections.x_find_sections__mutmut_54": (
        "harmless: differs only when the summary's form sentence is the letter's first line; "
        "the summary then loses the sentence's second line, which holds no value"
    ),
}

#: The hash mutmut gives each judged function's source (first 12 characters), as judged: a
#: judgement counts only while its function is unchanged (an edit renumbers its mutants).
JUDGED_AT: dict[str, str] = {
    "imr_llm.form.summary.x_read_ages": "8912ba868c4a",
    "imr_llm.form.reading.x__states_in": "eed9a424d087",
    "imr_llm.form.items.x_split_partial_request": "155eb326058a",
    "imr_llm.evidence.x__check_case_number": "2ac8f35e637b",
    "imr_llm.evidence.x__check_date": "dda5aded5e4d",
    "imr_llm.evidence.x__check_passage": "e7e392640422",
    "imr_llm.evidence.x__check_priority": "9e4dfcfaca23",
    "imr_llm.evidence.x__clean_word": "b1f543b864c5",
    "imr_llm.evidence.x__cut_after": "c1690d96d729",
    "imr_llm.evidence.x__edge": "de605a78213b",
    "imr_llm.evidence.x__key_difference": "067edf9bc75e",
    "imr_llm.evidence.x__near_any": "b1d9dd039d06",
    "imr_llm.evidence.x__plausible": "113717933afd",
    "imr_llm.evidence.x__specialty_parts": "02ec5b033f26",
    "imr_llm.evidence.x_align_items": "b33da32a7c37",
    "imr_llm.evidence.x_garbled_share": "561f1efa4840",
    "imr_llm.evidence.x_letter_damage": "5e0096ce28bd",
    "imr_llm.form.header.x__labels_in": "a0e53acf7c5e",
    "imr_llm.form.header.x_read_header_form": "d9dd20c73f25",
    "imr_llm.form.items.x__find_label": "d5612ef9be68",
    "imr_llm.form.items.x__header_start": "835643e37430",
    "imr_llm.form.items.x__outcome_marker": "230b38e132e8",
    "imr_llm.form.items.x__place": "54dd3438c4b6",
    "imr_llm.form.items.x_original_request_mentions": "22084e2efbfa",
    "imr_llm.form.reading.x_read_word": "6e930cf680a3",
    "imr_llm.form.sections.x_find_sections": "da3ba094acbc",
}


@dataclass
class Stratum:
    """One module's mutants: all of them, the sampled names, and the verdicts of those."""

    module: str
    names: list[str]
    sample: list[str] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)


def wilson(caught: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95% Wilson score interval of a share: honest near 0% and 100%, unlike p +- 2 se."""
    if n == 0:
        return 0.0, 1.0
    p = caught / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mutatable_files() -> list[Path]:
    """The files mutmut mutates, as it decides it (its config: source_paths, only_mutate)."""
    from mutmut.configuration import config
    from mutmut.utils.file_utils import walk_mutatable_files

    os.chdir(REPO)
    config()
    return sorted(walk_mutatable_files())


def current_mutants(path: Path) -> tuple[list[str], dict[str, str]]:
    """Every mutant name of one file as mutmut names it today, and each function's hash.

    The names come from mutmut's own generator on the current source, not from ``mutants/``,
    which may be older than the code.
    """
    from mutmut.mutation.file_mutation import mutate_file_contents
    from mutmut.utils.format_utils import get_mutant_name

    mutated = mutate_file_contents(str(path), path.read_text(encoding="utf-8"))
    names = [get_mutant_name(path, name) for name in mutated.mutant_names]
    return names, dict(mutated.hash_by_function_name)


def read_meta(meta: Path) -> dict:
    """One of mutmut's result files; a run in progress may be rewriting it, so retry."""
    for _ in range(10):
        try:
            return json.loads(meta.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            time.sleep(0.5)
    return json.loads(meta.read_text(encoding="utf-8"))


def cached_verdicts(path: Path, hashes: dict[str, str]) -> dict[str, str]:
    """Verdicts mutmut stored for one file, kept only where the function is unchanged."""
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.format_utils import mangled_name_from_mutant_name

    meta = REPO / "mutants" / (str(path) + ".meta")
    if not meta.exists():
        return {}
    data = read_meta(meta)
    old_hashes = data.get("hash_by_function_name", {})
    verdicts = {}
    for name, code in data["exit_code_by_key"].items():
        func = mangled_name_from_mutant_name(name).rpartition(".")[2]
        if func in hashes and old_hashes.get(func) == hashes[func]:
            verdicts[name] = status_by_exit_code[code]
    return verdicts


def draw(strata: list[Stratum], size: int, seed: int) -> None:
    """Proportional allocation by largest remainder (each module at least one), then a
    seeded draw inside each module."""
    total = sum(len(s.names) for s in strata)
    size = min(size, total)
    quotas = {s.module: size * len(s.names) / total for s in strata}
    counts = {m: max(1, int(q)) for m, q in quotas.items()}
    left = size - sum(counts.values())
    for module in sorted(quotas, key=lambda m: quotas[m] - int(quotas[m]), reverse=True):
        if left <= 0:
            break
        counts[module] += 1
        left -= 1
    rng = random.Random(seed)
    for s in strata:
        s.sample = sorted(rng.sample(sorted(s.names), min(counts[s.module], len(s.names))))


def run_mutmut(names: list[str], max_children: int) -> float:
    """Run mutmut on exactly these mutants; returns the wall time in seconds."""
    env = dict(os.environ)
    env.setdefault("IMR_LLM_SHARED", str(REPO.parent / "shared"))
    command = ["nice", "-n", "10", str(MUTMUT), "run", "--max-children", str(max_children)]
    LOG.parent.mkdir(exist_ok=True)
    start = time.monotonic()
    with LOG.open("a", encoding="utf-8") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {len(names)} mutants\n")
        log.flush()
        done = subprocess.run(command + names, cwd=REPO, env=env, stdout=log, stderr=log)
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        print(f"mutmut exited {done.returncode}; see {LOG.relative_to(REPO)}", file=sys.stderr)
    return elapsed


def durations(paths: list[Path], names: set[str]) -> list[float]:
    """Seconds mutmut spent on each of these mutants in its latest run of them."""
    out = []
    for path in paths:
        meta = REPO / "mutants" / (str(path) + ".meta")
        if meta.exists():
            data = read_meta(meta)
            out += [t for n, t in data.get("durations_by_key", {}).items() if n in names]
    return out


def row(label: str, verdicts: list[str]) -> str:
    counts = Counter(verdicts)
    n = len(verdicts)
    caught = sum(counts[v] for v in CAUGHT)
    low, high = wilson(caught, n)
    score = caught / n if n else 0.0
    other = n - caught - counts["survived"] - counts["not checked"]
    return (
        f"{label:<32} {n:>7} {counts['killed']:>6} {counts['timeout']:>7} "
        f"{counts['survived']:>8} {other:>6} {counts['not checked']:>7} "
        f"{score:>7.1%}  [{low:.1%}, {high:.1%}]"
    )


def main() -> None:
    from mutmut.utils.format_utils import get_mutant_name, mangled_name_from_mutant_name

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=450, help="mutants in the sample")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rerun", choices=["pending", "all", "none"], default="pending")
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args()

    paths = mutatable_files()
    strata: list[Stratum] = []
    hashes_by_path: dict[Path, dict[str, str]] = {}
    all_names: set[str] = set()
    for path in paths:
        names, hashes = current_mutants(path)
        hashes_by_path[path] = hashes
        all_names.update(names)
        if names:
            module = str(path.with_suffix("")).replace(os.sep, ".").removesuffix(".__init__")
            strata.append(Stratum(module, names))
    draw(strata, args.size, args.seed)
    sample = [n for s in strata for n in s.sample]

    def load() -> dict[str, str]:
        verdicts: dict[str, str] = {}
        for path in paths:
            verdicts.update(cached_verdicts(path, hashes_by_path[path]))
        return verdicts

    elapsed = 0.0
    ran: list[str] = []
    if args.rerun != "none":
        verdicts = load()
        if args.rerun == "all":
            todo = sample
        else:
            todo = [n for n in sample if verdicts.get(n, "not checked") not in CAUGHT]
        # A second pass picks up verdicts mutmut reset during the first (a changed test
        # selection resets every verdict, including those of mutants not sent to it).
        for _ in range(2):
            if not todo:
                break
            print(f"running mutmut on {len(todo)} of {len(sample)} sampled mutants ...", flush=True)
            elapsed += run_mutmut(todo, args.max_children)
            ran += todo
            verdicts = load()
            todo = [n for n in sample if verdicts.get(n, "not checked") == "not checked"]
    verdicts = load()
    for s in strata:
        s.verdicts = {n: verdicts.get(n, "not checked") for n in s.sample}

    total = sum(len(s.names) for s in strata)
    print(
        f"\nmutation sample: seed {args.seed}, {len(sample)} of {total} mutants "
        f"({len(sample) / total:.1%}), stratified by module"
    )
    if ran:
        spent = durations(paths, set(ran))
        mean = sum(spent) / len(spent) if spent else 0.0
        print(
            f"mutmut ran {len(ran)} mutants in {elapsed / 60:.1f} min wall "
            f"({args.max_children} children; {mean:.1f} s per mutant on average)"
        )
    header = (
        f"{'module':<32} {'mutants':>7} {'killed':>6} {'timeout':>7} {'survived':>8} "
        f"{'other':>6} {'unrun':>7} {'score':>7}  95% interval"
    )
    print(header)
    print("-" * len(header))
    for s in strata:
        print(row(f"{s.module} ({len(s.names)})", list(s.verdicts.values())))
    print("-" * len(header))
    everything = [v for s in strata for v in s.verdicts.values()]
    print(row(f"all ({total})", everything))
    print("(other: suspicious or no tests; unrun: no verdict yet; score: (killed + timeout) / all)")

    unrun = [n for n in sample if verdicts.get(n, "not checked") == "not checked"]
    survivors = [n for n in sample if n not in unrun and verdicts[n] not in CAUGHT]
    current = {
        get_mutant_name(path, func): h for path in paths for func, h in hashes_by_path[path].items()
    }

    def still_judged(name: str) -> bool:
        func = mangled_name_from_mutant_name(name)
        return name in EQUIVALENT and current.get(func, "")[:12] == JUDGED_AT.get(func)

    judged = [n for n in survivors if still_judged(n)]
    live = [n for n in survivors if not still_judged(n)]
    tested = len(sample) - len(judged)
    caught = len(sample) - len(survivors) - len(unrun)
    low, high = wilson(caught, tested)
    print(
        f"\nleaving out the {len(judged)} survivors judged equivalent: "
        f"{caught}/{tested} = {caught / tested if tested else 0:.1%} [{low:.1%}, {high:.1%}]"
    )
    print(f"\nsurvivors judged equivalent ({len(judged)}; why: docs/mutation.md):")
    for name in judged:
        print(f"  {name}: {EQUIVALENT[name]}")
    print(f"\nother survivors ({len(live)}; `.venv/bin/mutmut show NAME` prints the change):")
    for name in live:
        print(f"  {name}: {verdicts[name]}")
    if unrun:
        print(f"\n{len(unrun)} sampled mutants have no verdict yet (counted as not caught)")
    stale = sorted(n for n in EQUIVALENT if n not in all_names or not still_judged(n))
    if stale:
        print(f"\njudgements whose function changed since (re-judge them): {stale}")


if __name__ == "__main__":
    main()
