"""The eval harness: score any engine against the hand-labelled gold set.

    imr-llm eval --backend rules --gold eval/gold --out eval/runs/rules

See :func:`run_eval` (extract and score), :func:`write_report` (report.json, summary.md,
report.html, per-case diffs) and :func:`compare_reports` (paired comparison with a baseline).
"""

from .compare import Comparison, compare_reports
from .gold import Case, load_cases
from .report import build_report, write_report
from .runner import EvalRun, run_eval
from .scoring import LetterScore, score_record

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
