"""Compare a run with a committed baseline, case by case, and explain any regression."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .report import CASE_METRICS
from .stats import PairedChange, paired_change


@dataclass
class Comparison:
    changes: list[PairedChange]
    missing_cases: list[str]

    @property
    def regressed(self) -> list[PairedChange]:
        return [c for c in self.changes if c.regressed]

    def markdown(self) -> str:
        lines = [
            "| metric | baseline | now | change (95% CI) | noise | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for c in self.changes:
            low, high = c.delta.low, c.delta.high
            verdict = "REGRESSED" if c.regressed else "ok"
            lines.append(
                f"| {c.metric} | {c.baseline:.4f} | {c.current:.4f} | {c.delta.mean:+.4f} "
                f"({low:+.4f} to {high:+.4f}) | {c.noise:.4f} | {verdict} |"
            )
        for c in self.regressed:
            lines += ["", f"{c.metric} dropped on {len(c.worse_cases)} case(s):"]
            lines += [f"- {case}" for case in c.worse_cases[:50]]
        if self.missing_cases:
            lines += ["", f"{len(self.missing_cases)} baseline case(s) not in this run."]
        return "\n".join(lines) + "\n"


def compare_reports(
    baseline: dict[str, Any], current: dict[str, Any], tolerance: float = 0.0
) -> Comparison:
    """Paired comparison of every case metric (see :func:`~.stats.paired_change`)."""

    def by_case(report: dict[str, Any], metric: str) -> dict[str, float]:
        return {c["case"]: float(c[metric]) for c in report["per_case"]}

    deterministic = bool(current.get("deterministic")) and bool(baseline.get("deterministic"))
    changes = [
        paired_change(
            metric, by_case(baseline, metric), by_case(current, metric), deterministic, tolerance
        )
        for metric in CASE_METRICS
    ]
    now = {c["case"] for c in current["per_case"]}
    missing = sorted(c["case"] for c in baseline["per_case"] if c["case"] not in now)
    return Comparison(changes, missing)
