"""Bootstrap confidence intervals over letters, and paired comparisons against a baseline.

Letters are the unit of sampling: fields of one letter are not independent (one misread
section spoils several), so intervals resample whole letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_SAMPLES = 2000
SEED = 20161109  # fixed: the same scores always give the same interval


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% bootstrap interval."""

    mean: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "mean": round(self.mean, 4),
            "ci95": [round(self.low, 4), round(self.high, 4)],
            "n": self.n,
        }


def bootstrap(values: Sequence[float], samples: int = BOOTSTRAP_SAMPLES) -> Estimate:
    """Mean of ``values`` with a percentile bootstrap 95% interval."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    if data.size == 1 or np.all(data == data[0]):
        m = float(data.mean())
        return Estimate(m, m, m, int(data.size))
    rng = np.random.default_rng(SEED)
    means = data[rng.integers(0, data.size, size=(samples, data.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Estimate(float(data.mean()), float(low), float(high), int(data.size))


@dataclass(frozen=True)
class PairedChange:
    """A metric's change against a baseline over the same letters."""

    metric: str
    baseline: float
    current: float
    delta: Estimate
    noise: float
    worse_cases: list[str]

    @property
    def regressed(self) -> bool:
        return self.delta.mean < 0 and -self.delta.mean > self.noise


def paired_change(
    metric: str,
    baseline: dict[str, float],
    current: dict[str, float],
    deterministic: bool,
    tolerance: float = 0.0,
) -> PairedChange:
    """Compare per-case values of ``metric`` present in both runs.

    The noise a drop must exceed is ``tolerance`` for a deterministic engine (the rules engine
    gives the same answer every run, so any drop is real) and, for a model, the larger of that
    and the half-width of the paired bootstrap interval of the differences.
    """
    keys = sorted(set(baseline) & set(current))
    diffs = [current[k] - baseline[k] for k in keys]
    delta = bootstrap(diffs)
    half_width = (delta.high - delta.low) / 2 if keys else 0.0
    noise = tolerance if deterministic else max(tolerance, half_width)
    worse = [k for k in keys if current[k] < baseline[k] - 1e-12]
    return PairedChange(
        metric=metric,
        baseline=float(np.mean([baseline[k] for k in keys])) if keys else float("nan"),
        current=float(np.mean([current[k] for k in keys])) if keys else float("nan"),
        delta=delta,
        noise=noise,
        worse_cases=worse,
    )
