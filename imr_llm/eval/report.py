"""Aggregate an eval run and write report.json, summary.md, report.html and per-case diffs.

Every output names the engine that produced it and where its answers came from, so a number
from the local test server or from cassettes is never mistaken for a model's quality.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import platform
import subprocess
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from statistics import median
from typing import Any

from .._version import __version__
from ..record.schema import schema_text
from .runner import CaseResult, EvalRun, answer_schema_hash
from .scoring import ALL_FIELDS, FAITHFUL_COUNT_KEYS, FLAG_COUNT_KEYS, TEXT_MATCH
from .stats import bootstrap

REPORT_VERSION = 1
CER_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("clean (0%)", -1.0, 0.0),
    ("0-2%", 0.0, 0.02),
    ("2-5%", 0.02, 0.05),
    ("5-10%", 0.05, 0.10),
    (">10%", 0.10, float("inf")),
)
CASE_METRICS = ("field_accuracy", "all_right", "outcome_accuracy", "item_f1", "text_similarity")
#: Folder of the per-case review pages, inside the run's output folder.
REVIEW_DIR = "review"
NOT_QUALITY = (
    "These answers did not come from a model: they measure the pipeline, not model quality."
)


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def git_commit(cwd: Path | None = None) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=cwd, timeout=5,
            check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _metrics(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cases": len(summaries),
        "letters": len({s["letter"] for s in summaries}),
    }
    for metric in CASE_METRICS:
        out[metric] = bootstrap([float(s[metric]) for s in summaries]).as_dict()
    out["errors"] = sum(1 for s in summaries if s["error"] is not None)
    return out


def _fields(results: list[CaseResult]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for name in ALL_FIELDS:
        kinds: dict[str, int] = {}
        scores: list[float] = []
        for r in results:
            res = r.score.fields[name]
            kinds[res.kind] = kinds.get(res.kind, 0) + 1
            scores.append(res.score)
        n = len(results)
        table[name] = {
            "accuracy": round(kinds.get("correct", 0) / n, 4) if n else None,
            "mean_score": round(sum(scores) / n, 4) if n else None,
            **{
                k: kinds.get(k, 0) for k in ("wrong", "faithful", "missed", "hallucinated", "error")
            },
        }
    return table


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _review(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Flagged against unflagged, for records and for values.

    A record is flagged when ``metadata.needs_review`` is set; a value when its own evidence is
    ``unverified``. A long value is right when it equals the clean label or, as the contract
    asks, the rendering's own text at its place (a *faithful* copy of its OCR damage, counted
    apart as ``faithful_values``); it is wrong only when it is neither. A wrong value is
    *caught* when it is flagged or its record needs review, and *silent* otherwise: the number
    that must stay near zero. Records that carry no evidence (older cached answers, engines that
    report none) count as unflagged.
    """
    records = [s for s in summaries if s["error"] is None]
    flagged = [s for s in records if s.get("needs_review")]
    unflagged = [s for s in records if not s.get("needs_review")]
    counts = dict.fromkeys((*FLAG_COUNT_KEYS, *FAITHFUL_COUNT_KEYS), 0)
    caught = silent = 0
    for s in records:
        values = s.get("values") or {}
        for key in counts:
            counts[key] += values.get(key, 0)
        if s.get("needs_review"):
            caught += values.get("wrong_flagged", 0) + values.get("wrong_unflagged", 0)
        else:
            caught += values.get("wrong_flagged", 0)
            silent += values.get("wrong_unflagged", 0)
    n_flagged = counts["right_flagged"] + counts["wrong_flagged"]
    n_unflagged = counts["right_unflagged"] + counts["wrong_unflagged"]
    wrong = counts["wrong_flagged"] + counts["wrong_unflagged"]
    return {
        "cases": len(summaries),
        "errors": len(summaries) - len(records),
        "records": len(records),
        "records_with_evidence": sum(1 for s in records if s.get("has_evidence")),
        "records_flagged": len(flagged),
        "records_unflagged": len(unflagged),
        "flagged_share": _share(len(flagged), len(records)),
        "all_right_unflagged": _share(sum(1 for s in unflagged if s["all_right"]), len(unflagged)),
        "all_right_flagged": _share(sum(1 for s in flagged if s["all_right"]), len(flagged)),
        "values": n_flagged + n_unflagged,
        "values_flagged": n_flagged,
        "accuracy_unflagged": _share(counts["right_unflagged"], n_unflagged),
        "accuracy_flagged": _share(counts["right_flagged"], n_flagged),
        "wrong_values": wrong,
        "wrong_flagged": counts["wrong_flagged"],
        "wrong_flagged_share": _share(counts["wrong_flagged"], wrong),
        "wrong_caught": caught,
        "wrong_caught_share": _share(caught, wrong),
        "wrong_silent": silent,
        "wrong_silent_share": _share(silent, wrong),
        "faithful_values": counts["faithful_flagged"] + counts["faithful_unflagged"],
        "faithful_flagged": counts["faithful_flagged"],
    }


def _usage(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = sorted(s["latency_ms"] for s in summaries)
    tokens = [s["tokens"] for s in summaries]
    costs = [s["cost_usd"] for s in summaries if s["cost_usd"] is not None]
    attempts = [s["attempts"] for s in summaries]
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else 0
    return {
        "tokens_total": sum(tokens),
        "tokens_per_letter": round(sum(tokens) / len(tokens), 1) if tokens else 0,
        "cost_usd_total": round(sum(costs), 6) if costs else None,
        "latency_ms_median": round(median(latencies), 2) if latencies else 0,
        "latency_ms_p95": round(p95, 2),
        "attempts_per_letter": round(sum(attempts) / len(attempts), 3) if attempts else 0,
        "cached_cases": sum(1 for s in summaries if s["cached"]),
    }


def _group(summaries: Iterable[dict[str, Any]], key) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in summaries:
        groups.setdefault(key(s), []).append(s)
    return groups


def cer_bucket(cer: float) -> str:
    for name, low, high in CER_BUCKETS:
        if low < cer <= high:
            return name
    return CER_BUCKETS[-1][0]


def build_report(run: EvalRun, gold: Path) -> dict[str, Any]:
    """The report as a JSON-ready dict."""
    from ..llm.prompts import load_prompt

    prompt = load_prompt(run.settings.prompt_version) if run.engine != "rules" else None
    summaries = [r.summary() for r in run.results]  # once: every table below reads these
    by_rendering = _group(summaries, lambda s: s["rendering"])
    by_bucket = _group(summaries, lambda s: cer_bucket(s["cer"]))
    by_form = _group(summaries, lambda s: s.get("letter_form") or "not an IMR letter")
    errors: dict[str, int] = {}
    for r in run.results:
        if r.error is not None:
            errors[r.error.code] = errors.get(r.error.code, 0) + 1
    return {
        "report_version": REPORT_VERSION,
        "created_at": dt.datetime.fromtimestamp(run.started_at, dt.timezone.utc).isoformat(),
        "engine": run.engine,
        "answers_from": run.source_note,
        "model": run.model,
        "deterministic": run.engine == "rules",
        "git_commit": git_commit(gold),
        "prompt_version": prompt.version if prompt else None,
        "prompt_hash": prompt.hash if prompt else None,
        "record_schema_hash": hashlib.sha256(schema_text().encode()).hexdigest()[:16],
        "answer_schema_hash": answer_schema_hash() if run.engine != "rules" else None,
        "versions": {
            "imr_llm": __version__,
            "python": platform.python_version(),
            **{name: _package_version(name) for name in ("pydantic", "instructor", "openai")},
        },
        "gold": str(gold),
        "text_match_threshold": TEXT_MATCH,
        "seconds": round(run.seconds, 3),
        "cache": {"hits": run.cache_hits, "misses": run.cache_misses},
        "metrics": _metrics(summaries),
        "fields": _fields(run.results),
        "by_rendering": {k: _metrics(v) for k, v in sorted(by_rendering.items())},
        "by_letter_form": {k: _metrics(v) for k, v in sorted(by_form.items())},
        "by_cer_bucket": {
            name: _metrics(by_bucket[name]) for name, _, _ in CER_BUCKETS if name in by_bucket
        },
        "review": {
            "all": _review(summaries),
            "by_rendering": {k: _review(v) for k, v in sorted(by_rendering.items())},
        },
        "errors": errors,
        "usage": _usage(summaries),
        "per_case": summaries,
        **run.extra,
    }


# --------------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.1%}"


def _ci(metric: dict[str, Any]) -> str:
    low, high = metric["ci95"]
    return f"{_pct(metric['mean'])} ({_pct(low)} to {_pct(high)})"


def _markdown_inline_html(text: str) -> str:
    """A line of the summary's markdown as HTML: escaped, ``code`` and **bold** rendered (not
    shown as backticks and asterisks)."""
    parts = html.escape(text).split("`")
    out = "".join(f"<code>{part}</code>" if k % 2 else part for k, part in enumerate(parts))
    bold = out.split("**")
    return "".join(f"<strong>{part}</strong>" if k % 2 else part for k, part in enumerate(bold))


def _provenance_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"- engine: **{report['engine']}**"
        + (f", model `{report['model']}`" if report["model"] else ""),  # fmt: skip
        f"- answers from: {report['answers_from']}",
        f"- git commit: `{report['git_commit']}`, imr-llm {report['versions']['imr_llm']}",
    ]
    if report["prompt_version"]:
        lines.append(f"- prompt: {report['prompt_version']} (`{report['prompt_hash']}`)")
    if "test server" in report["answers_from"] or "cassette" in report["answers_from"]:
        lines.append(f"- **{NOT_QUALITY}**")
    return lines


def _metric_rows(groups: dict[str, dict[str, Any]]) -> list[str]:
    rows = [
        "| group | cases | fields right | all fields right | outcome acc. | item F1 | text sim. "
        "| errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in groups.items():
        rows.append(
            f"| {name} | {m['cases']} | {_ci(m['field_accuracy'])} | {_ci(m['all_right'])} | "
            f"{_pct(m['outcome_accuracy']['mean'])} | {_pct(m['item_f1']['mean'])} | "
            f"{_pct(m['text_similarity']['mean'])} | {m['errors']} |"
        )
    return rows


REVIEW_NOTE = (
    "A record is flagged when it needs review (`metadata.needs_review`); a value when its own "
    "evidence is `unverified`. A long value (service, original request, guidelines, "
    "rationale) is right when it equals the clean label, or the rendering's own text at its "
    "place: a faithful copy of the rendering's OCR damage, which the record contract asks for "
    "(counted apart as faithful copies). Wrong values are neither; they are caught when "
    "flagged or in a record needing review, silent otherwise. Records without evidence (older "
    "cached answers) count as unflagged."
)


def _of(part: int, whole: int) -> str:
    return f"{part} of {whole} ({_pct(part / whole)})" if whole else f"{part} of 0"


def _rate(share: float | None, whole: int) -> str:
    return f"{_pct(share)} of {whole}" if whole else "n/a"


def _review_rows(groups: dict[str, dict[str, Any]]) -> list[str]:
    rows = [
        "| group | records | need review | with evidence | all right, unflagged records "
        "| all right, flagged records | values right, unflagged | values right, flagged "
        "| of them faithful copies | wrong values flagged | wrong values caught "
        "| wrong values silent |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in groups.items():
        n_flagged = r["values_flagged"]
        rows.append(
            f"| {name} | {r['records']} | {_of(r['records_flagged'], r['records'])} "
            f"| {r['records_with_evidence']} "
            f"| {_rate(r['all_right_unflagged'], r['records_unflagged'])} "
            f"| {_rate(r['all_right_flagged'], r['records_flagged'])} "
            f"| {_rate(r['accuracy_unflagged'], r['values'] - n_flagged)} "
            f"| {_rate(r['accuracy_flagged'], n_flagged)} "
            f"| {r.get('faithful_values', 'n/a')} "
            f"| {_of(r['wrong_flagged'], r['wrong_values'])} "
            f"| {_of(r['wrong_caught'], r['wrong_values'])} "
            f"| {_of(r['wrong_silent'], r['wrong_values'])} |"
        )
    return rows


def _review_groups(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    review = report.get("review") or {}
    if not review:
        return {}
    return {"all": review["all"], **review["by_rendering"]}


def summary_markdown(report: dict[str, Any]) -> str:
    lines = [f"# IMR extraction eval: {report['engine']}", "", *_provenance_lines(report), ""]
    lines += ["## Overall (95% bootstrap intervals over cases)", ""]
    lines += _metric_rows({"all": report["metrics"]})
    lines += ["", "## By rendering", "", *_metric_rows(report["by_rendering"])]
    if report.get("by_letter_form"):
        lines += ["", "## By letter form", "", LETTER_FORM_NOTE, ""]
        lines += _metric_rows(report["by_letter_form"])
    lines += ["", "## By character error rate", "", *_metric_rows(report["by_cer_bucket"])]
    if _review_groups(report):
        lines += ["", "## Needs review: flagged and unflagged", "", REVIEW_NOTE, ""]
        lines += _review_rows(_review_groups(report))
    lines += [
        "",
        "## Per field",
        "",
        "Long texts count as right at similarity >= "
        f"{report['text_match_threshold']:.2f} to the clean label; list fields score F1 as "
        f"sets. {FAITHFUL_FIELD_NOTE}",
        "",
        *_field_rows(report),
    ]
    u = report["usage"]
    cost = "n/a" if u["cost_usd_total"] is None else f"${u['cost_usd_total']}"
    lines += [
        "",
        "## Cost and speed",
        "",
        f"- tokens: {u['tokens_total']} in all, {u['tokens_per_letter']} per case",
        f"- cost: {cost}",
        f"- latency: median {u['latency_ms_median']} ms, p95 {u['latency_ms_p95']} ms",
        f"- attempts per case: {u['attempts_per_letter']}; cached cases: {u['cached_cases']}",
        "",
        "## Errors (counted apart from wrong answers)",
        "",
    ]
    lines += [f"- {code}: {n}" for code, n in sorted(report["errors"].items())] or ["- none"]
    return "\n".join(lines) + "\n"


FAITHFUL_FIELD_NOTE = (
    "A field is *faithful* (not right, not wrong) in a case where its only values unlike the "
    "label are faithful copies of the rendering's own text at their place."
)


def _field_rows(report: dict[str, Any]) -> list[str]:
    rows = [
        "| field | right | mean score | wrong | faithful | missed | hallucinated | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, f in report["fields"].items():
        rows.append(
            f"| {name} | {_pct(f['accuracy'])} | {_pct(f['mean_score'])} | {f['wrong']} | "
            f"{f.get('faithful', 0)} | {f['missed']} | {f['hallucinated']} | {f['error']} |"
        )
    return rows


_RENDER_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def accuracy_chart_svg(report: dict[str, Any], width: int = 640, height: int = 360) -> str:
    """An inline SVG scatter of field accuracy against character error rate, by rendering."""
    cases = report["per_case"]
    max_cer = max([c["cer"] for c in cases] + [0.05])
    left, right, top, bottom = 56, 150, 20, 44
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(cer: float) -> float:
        return left + plot_w * (cer / max_cer)

    def y(acc: float) -> float:
        return top + plot_h * (1 - acc)

    renderings = sorted({c["rendering"] for c in cases})
    colour = {r: _RENDER_COLOURS[i % len(_RENDER_COLOURS)] for i, r in enumerate(renderings)}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'role="img" aria-label="field accuracy against character error rate">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ccc"/>',
    ]
    for tick in range(0, 11, 2):
        acc = tick / 10
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(acc):.1f}" y2="{y(acc):.1f}" '
            'stroke="#eee"/>'
            f'<text x="{left - 6}" y="{y(acc) + 4:.1f}" font-size="11" text-anchor="end">'
            f"{acc:.0%}</text>"
        )
    for k in range(6):
        cer = max_cer * k / 5
        parts.append(
            f'<text x="{x(cer):.1f}" y="{top + plot_h + 16}" font-size="11" '
            f'text-anchor="middle">{cer:.1%}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" font-size="12" text-anchor="middle">'
        "character error rate of the rendering</text>"
        f'<text x="14" y="{top + plot_h / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2})">fields right</text>'
    )
    for c in cases:
        parts.append(
            f'<circle cx="{x(c["cer"]):.1f}" cy="{y(c["field_accuracy"]):.1f}" r="3.5" '
            f'fill="{colour[c["rendering"]]}" fill-opacity="0.7">'
            f"<title>{html.escape(c['case'])}: {c['field_accuracy']:.0%} at CER "
            f"{c['cer']:.1%}</title></circle>"
        )
    for i, r in enumerate(renderings):
        ly = top + 14 + 18 * i
        parts.append(
            f'<circle cx="{width - right + 16}" cy="{ly - 4}" r="5" fill="{colour[r]}"/>'
            f'<text x="{width - right + 26}" y="{ly}" font-size="12">{html.escape(r)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _markdown_table_to_html(rows: list[str]) -> str:
    out = ["<table>"]
    for k, row in enumerate(rows):
        if k == 1:
            continue
        cells = [c.strip() for c in row.strip("|").split("|")]
        tag = "th" if k == 0 else "td"
        out.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def review_page_name(letter: str, rendering: str) -> str:
    """A case's review page, relative to the run folder (written by :func:`write_report`)."""
    return f"{REVIEW_DIR}/{letter}__{rendering}.html"


def _cases_html(report: dict[str, Any]) -> str:
    """One row per case, linked to its review page (the letter beside its record, with the
    gold value beside each wrong one); a case that failed has no record and no page."""
    rows = [
        "<table><tr><th>case</th><th>letter form</th><th>CER</th><th>fields right</th>"
        "<th>needs review</th><th>error</th><th>review page</th></tr>"
    ]
    for c in report["per_case"]:
        page = review_page_name(c["letter"], c["rendering"])
        link = (
            f'<a href="{html.escape(page)}">{html.escape(c["case"])}</a>'
            if c["error"] is None
            else "none (no record)"
        )
        review = "" if c.get("needs_review") is None else ("yes" if c["needs_review"] else "no")
        rows.append(
            f"<tr><td>{html.escape(c['case'])}</td>"
            f"<td>{html.escape(c.get('letter_form') or '')}</td><td>{c['cer']:.1%}</td>"
            f"<td>{_pct(c['field_accuracy'])}</td><td>{review}</td>"
            f"<td>{html.escape(c['error'] or '')}</td><td>{link}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


LETTER_FORM_NOTE = (
    "The generation the letter-form layer recognised in each case's letter "
    "(`metadata.letter_form`; see imr_llm/form/generations.py)."
)


def _letter_form_html(report: dict[str, Any]) -> str:
    if not report.get("by_letter_form"):
        return ""
    return (
        "<h2>By letter form</h2>"
        f"<p>{_markdown_inline_html(LETTER_FORM_NOTE)}</p>"
        f"{_markdown_table_to_html(_metric_rows(report['by_letter_form']))}"
    )


def report_html(report: dict[str, Any]) -> str:
    """A self-contained page: provenance, tables and the accuracy chart; no scripts. It links
    only within itself and to each case's review page in ``review/`` beside it."""
    prov = "".join(
        f"<li>{_markdown_inline_html(line[2:])}</li>" for line in _provenance_lines(report)
    )
    field_rows = _field_rows(report)
    review = (
        "<h2>Needs review: flagged and unflagged</h2>"
        f"<p>{_markdown_inline_html(REVIEW_NOTE)}</p>"
        f"{_markdown_table_to_html(_review_rows(_review_groups(report)))}"
        if _review_groups(report)
        else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>IMR eval: {html.escape(report['engine'])}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
        "font-size:14px;text-align:left}th{background:#f0f0f0}</style></head><body>"
        f"<h1>IMR extraction eval: {html.escape(report['engine'])}</h1><ul>{prov}</ul>"
        "<p><a href='#cases'>Cases, each linked to its review page</a></p>"
        "<h2>Accuracy against character error rate</h2>"
        f"{accuracy_chart_svg(report)}"
        "<h2>Overall</h2>"
        f"{_markdown_table_to_html(_metric_rows({'all': report['metrics']}))}"
        "<h2>By rendering</h2>"
        f"{_markdown_table_to_html(_metric_rows(report['by_rendering']))}"
        f"{_letter_form_html(report)}"
        "<h2>By character error rate</h2>"
        f"{_markdown_table_to_html(_metric_rows(report['by_cer_bucket']))}"
        f"{review}"
        "<h2>Per field</h2>"
        f"<p>{_markdown_inline_html(FAITHFUL_FIELD_NOTE.replace('*', ''))}</p>"
        f"{_markdown_table_to_html(field_rows)}"
        "<h2 id='cases'>Cases</h2><p>Each case's review page shows the letter beside its record, "
        "every value at its place, and the gold value beside each wrong one.</p>"
        f"{_cases_html(report)}"
        "</body></html>\n"
    )


def case_diff_markdown(result: CaseResult) -> str:
    lines = [f"# {result.case.key} (CER {result.case.cer:.1%})", ""]
    if result.error is not None:
        lines += [f"Error ({result.error.code}): {result.error}", ""]
    meta = result.record.metadata if result.record is not None else None
    if meta is not None and meta.needs_review:
        lines += ["Needs review:", *(f"- {reason}" for reason in meta.review_reasons), ""]
    unverified = [k for k, e in (meta.evidence if meta else {}).items() if e.status == "unverified"]
    if unverified:
        lines += [f"Unverified values (paths in the record): {', '.join(sorted(unverified))}", ""]
    for diff in result.score.diffs:
        lines.append(f"## {diff['field']}")
        if "similarity" in diff:
            lines.append(f"similarity {diff['similarity']}")
        if diff.get("faithful"):
            lines.append(
                "right: a faithful copy of the rendering's own text at its place (its OCR "
                "damage kept, as the record contract asks), not the clean label"
            )
        lines += ["", f"- gold: {json.dumps(diff['gold'])}", f"- got: {json.dumps(diff['got'])}"]
        if diff.get("faithful"):
            lines.append(f"- rendering: {json.dumps(diff['rendering'])}")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_report(run: EvalRun, gold: Path, out: Path) -> dict[str, Any]:
    """Write every output into ``out``; return the report."""
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(run, gold)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(summary_markdown(report), encoding="utf-8")
    (out / "report.html").write_text(report_html(report), encoding="utf-8")
    diffs = out / "diffs"
    diffs.mkdir(exist_ok=True)
    for stale in diffs.glob("*.md"):
        stale.unlink()
    for result in run.results:
        if result.error is not None or result.score.diffs:
            name = f"{result.case.letter}__{result.case.rendering}.md"
            (diffs / name).write_text(case_diff_markdown(result), encoding="utf-8")
    write_review_pages(run, out)
    return report


def write_review_pages(run: EvalRun, out: Path) -> None:
    """``out/review/<letter>__<rendering>.html`` for every case with a record: the letter
    beside its record, with the gold value beside each wrong one (report.html links them)."""
    from ..review import record_to_html

    pages = out / REVIEW_DIR
    pages.mkdir(exist_ok=True)
    for stale in pages.glob("*.html"):
        stale.unlink()
    for result in run.results:
        if result.record is None:
            continue
        page = out / review_page_name(result.case.letter, result.case.rendering)
        text = record_to_html(
            result.record, result.case.text(), gold=result.case.label, title=result.case.key
        )
        page.write_text(text, encoding="utf-8")
