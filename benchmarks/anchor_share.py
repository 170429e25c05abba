"""How much of a record the model must type, with anchors instead of re-typed passages.

    python benchmarks/anchor_share.py

For every gold letter it builds the answer a perfect model gives (short values typed, long
passages as first/last-words anchors) and compares its JSON size with the full record's.
Target (LLM issue): <= 40% of the characters. Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from imr_llm.testing.oracle import ideal_answer

REPO = Path(__file__).resolve().parent.parent


def report(title: str, labels: list[Path]) -> None:
    shares = []
    answer_total = record_total = 0
    for label_path in labels:
        record = json.loads(label_path.read_text(encoding="utf-8"))
        answer = len(json.dumps(ideal_answer(record), ensure_ascii=False))
        full = len(json.dumps(record, ensure_ascii=False))
        shares.append(answer / full)
        answer_total += answer
        record_total += full
    print(f"{title}: {len(shares)} letters")
    print(
        f"characters the model produces / characters of the full record: "
        f"{answer_total / record_total:.1%} overall, median {statistics.median(shares):.1%}, "
        f"worst {max(shares):.1%}"
    )


def main() -> None:
    report("gold set", sorted((REPO / "eval/gold/labels").glob("*.json")))
    corpus = REPO.parent / "shared/corpus/labels"
    if corpus.is_dir():
        report("shared corpus labels", sorted(corpus.glob("*.json")))
    print("target: <= 40%")


if __name__ == "__main__":
    main()
