"""``imr-llm batch``: provider batch jobs from the command line (submit, status, collect).

A job lives in its folder (``--out DIR``), so the terminal that submitted it may close: run
``status`` or ``collect`` from anywhere, any number of times. Exit codes: 0 every letter has a
record, 1 some letters failed (listed in the failures file) or the job as a whole could not go
on (``BatchJobError``), 2 the command was misused, 3 letters are still pending (run ``collect``
again later).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from ..config import Settings, load_settings
from ..errors import BatchJobError, ImrError
from ..inputs.files import read_source, resolved_name
from ..jobs.store import JobFolder
from .common import Command, Group, Verbose, bad_configuration, err, failure_message

# The job code imports openai and instructor (about a second): only a batch command that runs
# needs it, not `imr-llm --help` nor any other command.
if TYPE_CHECKING:
    from ..jobs.job import JobReport

PENDING_EXIT = 3

batch_app = typer.Typer(
    cls=Group,
    no_args_is_help=True,
    help="Provider batch jobs (OpenAI/Azure Batch API, or vllm run-batch): about half the "
    "price, answers within 24 hours.",
)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except (ImrError, ValueError) as exc:  # a bad IMR_LLM_* value: one line
        err.print(bad_configuration(exc))
        raise typer.Exit(2) from None


def _need(n: int) -> str:
    return f"{n} needs review" if n == 1 else f"{n} need review"


def _summary(rep: JobReport) -> str:
    line = (
        f"{rep.done} of {rep.letters} letter(s) extracted ({_need(rep.flagged)}), "
        f"{rep.failed} failed, {rep.pending} pending; {rep.rounds} batch(es), "
        f"{rep.reask_rounds} follow-up; {rep.tokens:,} tokens"
    )
    if rep.cost_usd is not None:
        line += f", ${rep.cost_usd:.4f} (batch price)"
    return line


def _pending_note(rep: JobReport) -> str:
    if rep.offline_file is not None:
        return (
            f"pending: run {rep.offline_file} through your engine (e.g. vllm run-batch -i "
            f"{rep.offline_file} -o results.jsonl --model {rep.model or 'MODEL'}), then: imr-llm "
            f"batch collect {rep.folder} --results results.jsonl"
        )
    counts = rep.counts or {}
    done = f", {counts.get('completed', 0)} of {counts.get('total', 0)} answered" if counts else ""
    return (
        f"pending: round {rep.rounds}, batch {rep.batch_id or '(not sent yet)'} "
        f"{rep.round_status}{done}; run collect again later"
    )


@batch_app.command("submit", cls=Command)
def submit_command(
    files: Annotated[list[str], typer.Argument(help="Letter files (.txt or .pdf).")],
    out: Annotated[Path, typer.Option("--out", help="Job folder (created; must be new).")],
    model: Annotated[str | None, typer.Option(help="Model name sent to the endpoint.")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Records JSONL (default: DIR/records.jsonl)."),
    ] = None,
    offline_file: Annotated[
        Path | None,
        typer.Option(
            "--offline-file",
            help="Write the requests JSONL here and upload nothing (for vllm run-batch or any "
            "engine reading the Batch API format); collect with --results.",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            metavar="",
            help="A letter whose answers run out of attempts fails instead of giving its best "
            "record flagged needs_review.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            metavar="",
            help="Print the estimated tokens and cost (online and batch) and stop: no request "
            "is written or sent.",
        ),
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Build one request per letter as the online path would, and send them as a batch."""
    from ..jobs.job import submit

    settings = _settings(model=model, strict=True if strict else None)
    if dry_run:
        _dry_run(files, settings)
    if JobFolder(out).exists():
        err.print(f"error: {out} already holds a batch job (collect it, or choose a new --out)")
        raise typer.Exit(2)
    if out.exists() and not out.is_dir():
        err.print(f"error: --out {out} is not a folder")
        raise typer.Exit(2)
    try:
        rep = submit(files, out, settings=settings, offline=offline_file is not None,
                     output=output)  # fmt: skip
        if offline_file is not None and rep.offline_file is not None:
            shutil.copyfile(rep.offline_file, offline_file)
    except BatchJobError as exc:
        saved = JobFolder(out).exists()
        err.print(f"error: {exc}" + (f" (the job is saved: imr-llm batch collect {out} sends it "
                                     "again)" if saved else ""))  # fmt: skip
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"error: cannot write {offline_file}: {exc.strerror}")
        raise typer.Exit(2) from None
    sent = (
        f"requests written to {offline_file} (nothing uploaded)"
        if offline_file is not None
        else f"batch {rep.batch_id} {rep.round_status} at {settings.endpoint_host()} "
        f"(model {settings.model})"
    )
    err.print(
        f"submitted {rep.letters - rep.failed} of {rep.letters} letter(s) to job {out}: {sent}"
        + (f"; {rep.failed} could not be read, listed in {rep.errors}" if rep.failed else "")
    )
    if rep.failed:
        raise typer.Exit(1)


def _dry_run(files: list[str], settings: Settings) -> None:
    from ..llm.cost import estimate

    texts: list[str] = []
    unreadable = 0
    seen: set[str] = set()
    for name in files:
        if resolved_name(name) in seen:
            continue
        seen.add(resolved_name(name))
        try:
            source = read_source(name, max_file_bytes=settings.max_file_bytes)
            texts.append(source.read(settings.ocr_engine).text)
        except ImrError as exc:
            unreadable += 1
            said = failure_message(name, exc)
            err.print(f"[red]unreadable[/red] {escape(name)}: {escape(said)}", markup=True)
    typer.echo(estimate(texts, settings).render())
    raise typer.Exit(1 if unreadable else 0)


@batch_app.command("status", cls=Command)
def status_command(
    folder: Annotated[Path, typer.Argument(help="The job folder.")],
    verbose: Verbose = False,
) -> None:
    """Say where a job stands (asks the provider about a batch still running).

    Exit codes as collect's: 0 every letter has a record, 1 some failed, 3 some are pending.
    """
    from ..jobs.job import status

    if not JobFolder(folder).exists():
        err.print(f"error: {folder} holds no batch job")
        raise typer.Exit(2)
    try:
        rep = status(folder, settings=_settings())
    except BatchJobError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    typer.echo(_summary(rep))
    if not rep.finished:
        typer.echo(_pending_note(rep))
        raise typer.Exit(PENDING_EXIT)
    if rep.failed:
        raise typer.Exit(1)


@batch_app.command("collect", cls=Command)
def collect_command(
    folder: Annotated[Path, typer.Argument(help="The job folder.")],
    results: Annotated[
        Path | None,
        typer.Option(
            "--results",
            help="A results JSONL produced elsewhere (vllm run-batch) for the current round.",
        ),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option("--wait", metavar="", help="Keep polling until no letter is pending."),
    ] = False,
    poll_interval: Annotated[
        float, typer.Option(min=0.0, help="Seconds between polls with --wait.")
    ] = 60.0,
    timeout: Annotated[
        float | None, typer.Option(min=0.0, help="Stop waiting after this many seconds.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", metavar="", help="No summary line.")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Validate finished results as online, write records, re-ask in a follow-up batch.

    Safe to interrupt and run again: nothing is lost or written twice.
    """
    from ..jobs.job import collect

    if not JobFolder(folder).exists():
        err.print(f"error: {folder} holds no batch job")
        raise typer.Exit(2)
    if results is not None and not results.is_file():
        err.print(f"error: no results file {results}")
        raise typer.Exit(2)

    def progress(rep: JobReport) -> None:
        if not quiet:
            err.print(f"round {rep.rounds - (0 if rep.finished else 1)} collected: "
                      + _summary(rep))  # fmt: skip

    try:
        rep = collect(folder, settings=_settings(), results=results, wait=wait,
                      poll_s=poll_interval, timeout_s=timeout, on_round=progress)  # fmt: skip
    except BatchJobError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print(f"interrupted: run imr-llm batch collect {folder} again to carry on")
        raise typer.Exit(130) from None
    if not quiet:
        where = f"; records in {rep.output}" if rep.done else ""
        if rep.failed:
            where += f"; failures listed in {rep.errors}"
        err.print(_summary(rep) + f"; {rep.written} record(s) written now" + where)
        if not rep.finished:
            err.print(_pending_note(rep))
    if not rep.finished:
        raise typer.Exit(PENDING_EXIT)
    if rep.failed:
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(batch_app())
