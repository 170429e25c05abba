"""The ``imr-llm`` command line: extract letters, print the schema, run the eval harness.

User errors (a missing file, a letter that cannot be read, a bad option) are reported as one
line naming the file and the problem, never as a traceback; the exit code says whether every
letter was extracted (0), some failed (1), or the command itself was misused (2). A record
flagged ``metadata.needs_review`` is a record, not a failure: it is written like any other and
keeps the exit code at 0; the summary line counts such records, and for a single letter printed
to standard output a one-line note on standard error names the reasons.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import __version__
from .api import BACKENDS, extract
from .batch import LetterResult, iter_results
from .config import load_settings
from .errors import ImrError
from .schema import schema_path, schema_text
from .sources import read_source

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Turn IMR final determination letters into validated, structured records.",
    pretty_exceptions_enable=False,
)
# No markup or emoji codes by default: file names and error messages are printed as written
# ("scan[a].txt", "items[2].rationale", ":00:" are not styles or emoji).
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imr-llm {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # instructor logs every rejected answer at ERROR; the CLI reports each failure itself.
        logging.getLogger("instructor").setLevel(logging.CRITICAL)


def _done_sources(output: Path) -> set[str]:
    """Files already extracted into ``output`` (for --resume)."""
    done: set[str] = set()
    if not output.exists():
        return done
    with output.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                source = (json.loads(line).get("metadata") or {}).get("source")
            except json.JSONDecodeError:
                continue  # a line cut short by an interrupted run: that letter is redone
            if source:
                done.add(source)
    return done


def _letters(names: list[str], failures: list[LetterResult]) -> Iterator[tuple[str, str]]:
    """Read files lazily; unreadable ones become failures without stopping the batch."""
    for name in names:
        try:
            source = read_source(name)
        except ImrError as exc:
            failures.append(LetterResult(-1, name, error=exc))
            continue
        yield source.name, source.text


def _need_review(n: int) -> str:
    return f"{n} needs review" if n == 1 else f"{n} need review"


def _review_note(name: str, reasons: list[str], contract_only: bool) -> str:
    """One line for stderr: the letter needs review, how many reasons, and the first one."""
    reasons = [r.strip() for r in reasons if r.strip()]
    if not reasons:
        return f"needs review: {name} (no reason given)"
    first = " ".join(reasons[0].split())  # one line, whatever the reason's own layout
    where = (
        "metadata left out by --contract-only"
        if contract_only
        else "all in metadata.review_reasons"
    )
    label = "1 reason" if len(reasons) == 1 else f"{len(reasons)} reasons, first"
    return f"needs review: {name}: {label}: {first} ({where})"


@app.command("extract")
def extract_command(
    files: Annotated[
        list[str], typer.Argument(help="Letter files (.txt or .pdf); '-' reads standard input.")
    ],
    backend: Annotated[
        str, typer.Option("--backend", "-b", help=f"One of: {', '.join(BACKENDS)}.")
    ] = "auto",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write records here (JSONL).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name for the LLM backends.")] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Letters in flight at once (LLM backends).")
    ] = 1,
    contract_only: Annotated[
        bool, typer.Option("--contract-only", help="Only the contract fields, no metadata.")
    ] = False,
    resume: Annotated[
        bool, typer.Option(help="Skip letters already in --output; append the rest.")
    ] = False,
    errors: Annotated[
        Path | None,
        typer.Option(help="Write failures here as JSONL (default: OUTPUT.errors.jsonl)."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="When the model's answers run out of attempts, fail the letter with the typed "
            "error instead of returning the best record flagged needs_review.",
        ),
    ] = False,
) -> None:
    """Extract one record per letter: pretty JSON for one file, JSON Lines for many."""
    if backend not in BACKENDS:
        err.print(f"error: unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
        raise typer.Exit(2)
    if resume and output is None:
        err.print("error: --resume needs --output (the file to resume)")
        raise typer.Exit(2)
    try:
        # Without --strict the environment (IMR_LLM_STRICT) decides; the flag only turns it on.
        settings = load_settings(
            model=model, concurrency=concurrency, strict=True if strict else None
        )
    except Exception as exc:  # pydantic ValidationError from a bad environment variable
        err.print(f"error: bad configuration: {exc}")
        raise typer.Exit(2) from None

    names = list(dict.fromkeys(files))  # the same file twice is one letter
    skipped = 0
    if resume and output is not None:
        done = _done_sources(output)
        skipped = sum(1 for n in names if n in done)
        names = [n for n in names if n not in done]

    pretty = len(files) == 1 and (output is None or output.suffix != ".jsonl") and not resume
    fn = partial(extract, backend=backend, settings=settings)  # type: ignore[arg-type]
    failures: list[LetterResult] = []
    ok = 0
    flagged = 0
    review_note: str | None = None
    engines: dict[str, int] = {}
    started = time.perf_counter()
    if errors is None and output is not None:
        errors = output.with_name(output.name + ".errors.jsonl")

    out_fh = output.open("a" if resume else "w", encoding="utf-8") if output else sys.stdout
    show_progress = not quiet and len(names) > 1
    progress = Progress(
        TextColumn("[bold]extracting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[failed]} failed"),
        console=err,
        transient=True,
        disable=not show_progress,
    )
    try:
        with progress:
            task = progress.add_task("extract", total=len(names), failed=0)
            for result in iter_results(fn, _letters(names, failures), settings.concurrency):
                if result.record is not None:
                    ok += 1
                    meta = result.record.metadata
                    engine = meta.engine if meta else "unknown"
                    engines[engine] = engines.get(engine, 0) + 1
                    if meta is not None and meta.needs_review:
                        flagged += 1
                        review_note = _review_note(result.name, meta.review_reasons, contract_only)
                    data = (
                        result.record.contract_dict()
                        if contract_only
                        else result.record.model_dump(mode="json")
                    )
                    if contract_only:
                        data["source"] = result.name
                    text = json.dumps(data, indent=2 if pretty else None, ensure_ascii=False)
                    out_fh.write(text + "\n")
                    out_fh.flush()
                else:
                    failures.append(result)
                progress.update(task, advance=1, failed=len(failures))
            # Files that could not even be read still count towards the bar.
            progress.update(task, completed=len(names))
    finally:
        if output is not None:
            out_fh.close()

    for failure in failures:
        assert failure.error is not None
        err.print(
            f"[red]failed[/red] {escape(failure.name)}: {escape(str(failure.error))}", markup=True
        )
    if pretty and output is None and review_note is not None:
        # One letter on stdout: its JSON may be piped on, so say on stderr that it needs a look.
        err.print(review_note)
    if errors is not None:
        with errors.open("w", encoding="utf-8") as fh:
            for failure in failures:
                assert failure.error is not None
                fh.write(json.dumps({"source": failure.name, **failure.error.to_dict()}) + "\n")
    if not quiet:
        elapsed = time.perf_counter() - started
        by_engine = ", ".join(f"{k}: {v}" for k, v in sorted(engines.items())) or "none"
        extra = f", {skipped} already done" if skipped else ""
        err.print(
            f"{ok} of {len(names)} letter(s) extracted ({_need_review(flagged)}), "
            f"{len(failures)} failed{extra} "
            f"in {elapsed:.2f} s (engine {by_engine})"
            + (f"; failures listed in {errors}" if errors and failures else "")
        )
    if failures:
        raise typer.Exit(1)


@app.command("schema")
def schema_command(
    write: Annotated[
        bool, typer.Option("--write", help="Regenerate the shipped schema file instead.")
    ] = False,
) -> None:
    """Print the JSON Schema of the determination record."""
    text = schema_text()
    if write:
        path = schema_path()
        path.write_text(text, encoding="utf-8")
        err.print(f"wrote {path}")
        return
    sys.stdout.write(text)


@app.command("eval")
def eval_command(
    backend: Annotated[
        str, typer.Option("--backend", "-b", help="Engine to score: rules, llm or cascade.")
    ] = "rules",
    gold: Annotated[Path, typer.Option(help="Gold set folder.")] = Path("eval/gold"),
    out: Annotated[Path, typer.Option(help="Folder for the reports.")] = Path("eval/runs/latest"),
    model: Annotated[str | None, typer.Option(help="Model name (LLM backends).")] = None,
    rendering: Annotated[
        list[str] | None, typer.Option(help="Only these renderings (repeatable).")
    ] = None,
    letter: Annotated[list[str] | None, typer.Option(help="Only these letters.")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, max=256)] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Response cache folder for model answers (default: OUT/../cache)."),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Always ask the model.")] = False,
    baseline: Annotated[
        Path | None, typer.Option(help="A report.json to compare with, case by case.")
    ] = None,
    fail_on_regression: Annotated[
        bool, typer.Option(help="Exit 1 when a metric drops beyond its noise vs --baseline.")
    ] = False,
    tolerance: Annotated[float, typer.Option(help="Smallest drop that counts.")] = 0.0,
) -> None:
    """Score an engine against the gold set; write report.json, summary.md, report.html."""
    from .eval import compare_reports, run_eval, write_report

    if fail_on_regression and baseline is None:
        err.print("error: --fail-on-regression needs --baseline")
        raise typer.Exit(2)
    cache_dir = None if (no_cache or backend == "rules") else (cache or out.parent / "cache")
    try:
        run = run_eval(
            gold, backend, renderings=rendering, letters=letter, model=model,
            concurrency=concurrency, cache_dir=cache_dir,
        )  # fmt: skip
    except ImrError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    report = write_report(run, gold, out)
    m, review = report["metrics"], report["review"]["all"]
    err.print(
        f"{report['engine']}: {m['cases']} cases ({m['letters']} letters), fields right "
        f"{m['field_accuracy']['mean']:.1%}, all fields right {m['all_right']['mean']:.1%}, "
        f"errors {m['errors']}, need review {review['records_flagged']} of "
        f"{review['records']} records, wrong values silent {review['wrong_silent']} of "
        f"{review['wrong_values']}; answers from {report['answers_from']}; reports in {out}"
    )
    if baseline is not None:
        try:
            base = json.loads(baseline.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            err.print(f"error: cannot read baseline {baseline}: {exc}")
            raise typer.Exit(2) from None
        comparison = compare_reports(base, report, tolerance)
        text = comparison.markdown()
        (out / "comparison.md").write_text(text, encoding="utf-8")
        sys.stdout.write(text)
        if comparison.regressed and fail_on_regression:
            err.print(f"regression against {baseline}: " + ", ".join(
                c.metric for c in comparison.regressed))  # fmt: skip
            raise typer.Exit(1)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
