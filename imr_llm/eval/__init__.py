"""The eval harness: score any engine against the hand-labelled gold set.

    imr-llm eval --backend rules --gold eval/gold --out eval/runs/rules

See :func:`run_eval` (extract and score), :func:`write_report` (report.json, summary.md,
report.html, per-case diffs) and :func:`compare_reports` (paired comparison with a baseline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:
    from .compare import Comparison, compare_reports
    from .gold import Case, load_cases
    from .report import build_report, write_report
    from .runner import EvalRun, run_eval
    from .scoring import LetterScore, score_record

#: Each name's module, loaded on first use (PEP 562): a submodule such as ``eval.scoring`` (the
#: review page's item matching) or ``eval.damage`` must not load the runner, the report and the
#: engines with it.
_LAZY: dict[str, str] = {
    "Comparison": "compare",
    "compare_reports": "compare",
    "Case": "gold",
    "load_cases": "gold",
    "build_report": "report",
    "write_report": "report",
    "EvalRun": "runner",
    "run_eval": "runner",
    "LetterScore": "scoring",
    "score_record": "scoring",
}

__all__ = [
    "Case",
    "Comparison",
    "EvalRun",
    "LetterScore",
    "build_report",
    "compare_reports",
    "load_cases",
    "run_eval",
    "score_record",
    "write_report",
]


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
