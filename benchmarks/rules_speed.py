"""Rules-engine throughput on clean letters, on one core. Prints figures; asserts nothing.

    python benchmarks/rules_speed.py [--rounds 20] [--corpus ../shared/corpus/text-layout]

Target (foundation issue): >= 1,000 letters/s. Uses the gold letters that the rules engine reads
fully, plus the shared corpus when it is present.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from imr_llm import ImrError, extract_rules

REPO = Path(__file__).resolve().parent.parent


def load(paths: list[Path]) -> list[str]:
    texts = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        try:
            extract_rules(text)
        except ImrError:
            continue
        texts.append(text)
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared/corpus/text-layout")
    args = parser.parse_args()
    paths = sorted((REPO / "eval/gold/letters").glob("*.txt"))
    if args.corpus.is_dir():
        paths += sorted(args.corpus.glob("*.txt"))
    texts = load(paths)
    chars = sum(map(len, texts))
    rates = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for text in texts:
            extract_rules(text)
        rates.append(len(texts) / (time.perf_counter() - started))
    print(f"engine: rules   letters: {len(texts)}   mean size: {chars / len(texts):,.0f} chars")
    print(
        f"throughput: median {statistics.median(rates):,.0f} letters/s, "
        f"best {max(rates):,.0f}, worst {min(rates):,.0f} over {args.rounds} rounds (one core)"
    )
    print("target: >= 1,000 letters/s")


if __name__ == "__main__":
    main()
