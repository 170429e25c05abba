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
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, NoReturn, TextIO

import click
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .. import __version__
from ..api import BACKENDS, extract, extract_source
from ..config import Settings, load_settings
from ..errors import ImrError
from ..inputs.files import (
    LETTER_SUFFIXES,
    LetterSource,
    expand_paths,
    is_uri,
    read_source,
    resolved_name,
)
from ..many.concurrent import LetterResult, iter_results
from ..many.runlog import Done, cut_torn_tail, read_done, read_failures, sidecar
from ..many.tables import FORMATS as TABLE_FORMATS
from ..many.tables import require_pyarrow, tables_from_jsonl
from ..record.schema import schema_path, schema_text, source_schema_path
from .common import (
    Command,
    Group,
    Verbose,
    bad_configuration,
    configure_logging,
    engine_line,
    err,
    failure_message,
)
from .review import review_command
from .split import split_command

app = typer.Typer(
    cls=Group,
    add_completion=False,
    no_args_is_help=True,
    help="Turn IMR final determination letters into validated, structured records.",
    pretty_exceptions_enable=False,
)
# Standard error (cli_common.err) prints no markup or emoji codes by default: file names and
# error messages are printed as written ("scan[a].txt", "items[2].rationale", ":00:").


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imr-llm {__version__}")
        raise typer.Exit()


@app.callback(context_settings={"help_option_names": ["--help", "-h"]})
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", metavar="", callback=_version, is_eager=True, help="Show version."
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", metavar="", help="Log progress details.")
    ] = False,
) -> None:
    configure_logging(verbose)


class _OutputError(Exception):
    """An output file that cannot be written: reported in one line, exit code 2.

    Local to the CLI for now; a candidate for ``imr_llm.errors``.
    """

    def __init__(self, where: str | Path, exc: OSError | str) -> None:
        reason = exc if isinstance(exc, str) else (exc.strerror or str(exc))
        super().__init__(f"cannot write {where}: {reason}")


def _check_writable(path: Path, what: str) -> None:
    """Fail early, before any letter is read, for an output that can never be written."""
    if path.is_dir():
        raise _OutputError(path, f"{what} is a folder, not a file")
    parent = path.parent
    if not parent.exists():
        raise _OutputError(path, f"folder {parent} does not exist")
    if not parent.is_dir():
        raise _OutputError(path, f"{parent} is not a folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise _OutputError(path, "permission denied")
    if not path.exists() and not os.access(parent, os.W_OK):
        raise _OutputError(path, f"no permission to create files in {parent}")
    try:
        st = os.statvfs(parent)
    except OSError:
        return
    if st.f_blocks and st.f_bavail == 0 and (not path.exists() or path.is_file()):
        raise _OutputError(path, "no space left on device")


class _Interrupts:
    """Ctrl-C (SIGINT) and SIGTERM (a job scheduler's timeout) raise KeyboardInterrupt, except
    while a record is being written: then they wait for the end of the write, so a stop never
    tears a line. ``exit_code`` is 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM).
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.holding = False
        self.pending = False
        self.exit_code = 128 + signal.SIGINT
        self.previous: dict[int, object] = {}

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handler(self, signum: int, frame: object) -> None:
        self.exit_code = 128 + signum
        if self.holding:
            self.pending = True
            return
        raise KeyboardInterrupt

    @contextmanager
    def held(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
            if self.pending:
                self.pending = False
                raise KeyboardInterrupt


@dataclass(slots=True)
class _Tally:
    """Counts for the progress lines and the summary."""

    total: int = 0
    ok: int = 0
    flagged: int = 0
    skipped: int = 0
    tokens: int = 0
    cost: float = 0.0
    engines: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def progress_line(self, failed: int) -> str:
        seen = self.ok + failed
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return (
            f"progress: {seen} of {self.total - self.skipped} letter(s): {self.ok} done "
            f"({_need_review(self.flagged)}), {failed} failed, {seen / elapsed:.1f} letters/s, "
            f"{self.tokens:,} tokens, ${self.cost:.4f} so far"
        )


def _letters(
    names: list[str],
    failures: list[LetterResult],
    identities: dict[str, tuple[str | None, str | None]],
    done: Done | None,
    tally: _Tally,
    on_skip: Callable[[str], None],
) -> Iterator[tuple[str, LetterSource]]:
    """Open files lazily; unreadable ones become failures without stopping the batch; under
    --resume a letter whose identity is already done is skipped. The text is read (a PDF's
    pages, OCR) by the worker that extracts the letter."""
    for name in names:
        try:
            source = read_source(name)
        except ImrError as exc:
            failures.append(LetterResult(-1, name, error=exc))
            continue
        identities[name] = (source.path, source.sha256)
        if done is not None and source.path is not None and (source.path, source.sha256) in done:
            tally.skipped += 1
            on_skip(name)
            continue
        yield source.name, source


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


#: A cluster address for --ray: auto, local, host:port or ray://host:port.
_ADDRESS = re.compile(r"^(auto|local|(ray://)?[\w.\-\[\]:]*:\d+)$")


def _ray_address_given(args: list[str]) -> list[str]:
    """``--ray`` takes an optional address: with none (the last argument, or followed by an
    option or a path) it means a local Ray, spelled ``local`` for the option parser."""
    out: list[str] = []
    for position, arg in enumerate(args):
        out.append(arg)
        if arg == "--":
            out.extend(args[position + 1 :])
            break
        if arg == "--ray":
            following = args[position + 1] if position + 1 < len(args) else None
            if following is None or not _ADDRESS.match(following):
                out.append("local")
    return out


class _ExtractCommand(Command):
    """``extract``, whose ``--ray`` may be given without its address."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _ray_address_given(list(args)))


@app.command("extract", cls=_ExtractCommand)
def extract_command(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Letter files (.txt or .pdf) or folders of them (read at any depth); '-' reads "
            "standard input; with --ray also URIs (s3://...).",
            show_default=False,
        ),
    ] = None,
    backend: Annotated[
        str, typer.Option("--backend", "-b", help=f"One of: {', '.join(BACKENDS)}.")
    ] = "auto",
    output_name: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Write records here: a JSONL file, or a folder (a name ending in / or "
            ".parquet or .csv) for the letters and items tables.",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="jsonl, parquet or csv (default: from --output's name, else jsonl).",
            show_default=False,
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="[ADDRESS]",
            help="Run on Ray: a local Ray on this machine, or the cluster at ADDRESS "
            "(host:port, ray://host:port, auto). Needs Ray: the imr-llm 'ray' extra.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name for the LLM backends.")] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            help="Letters in flight at once (LLM backends); with --ray, model requests in "
            "flight across the whole cluster.",
        ),
    ] = 1,
    contract_only: Annotated[
        bool,
        typer.Option(
            "--contract-only",
            metavar="",
            help="Only the contract fields, no metadata (a ledger OUTPUT.done keeps --resume "
            "working).",
        ),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            metavar="",
            help="Skip letters already in --output (same resolved path and content); append "
            "the rest.",
        ),
    ] = False,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            metavar="",
            help="Re-run only the letters in the failures file; append what succeeds and drop "
            "it from that file.",
        ),
    ] = False,
    errors: Annotated[
        Path | None,
        typer.Option(help="Write failures here as JSONL (default: OUTPUT.errors.jsonl)."),
    ] = None,
    progress_every: Annotated[
        float,
        typer.Option(
            min=0,
            help="When standard error is not a terminal: a plain progress line every this many "
            "seconds (0: after every letter).",
        ),
    ] = 10.0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", metavar="", help="No progress or summary.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            metavar="",
            help="When the model's answers run out of attempts, fail the letter with the typed "
            "error instead of returning the best record flagged needs_review.",
        ),
    ] = False,
    log_letter_text: Annotated[
        bool,
        typer.Option(
            "--log-letter-text",
            metavar="",
            help="Let --verbose logs and error messages quote the letter (off: they hold "
            "field paths, statuses and counts only).",
        ),
    ] = False,
    ocr_engine: Annotated[
        str | None,
        typer.Option(
            "--ocr-engine",
            help="OCR engine for PDF pages with no usable text layer (default: "
            "IMR_LLM_OCR_ENGINE, else the default engine).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            metavar="",
            help="Print the estimated tokens and cost of extracting these letters with the "
            "model, online and in a batch job; call no model, write nothing.",
        ),
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Extract one record per letter: pretty JSON for one file, JSON Lines for many; or the
    letters and items tables (--format parquet|csv)."""
    files = list(files or [])
    output = Path(output_name) if output_name is not None else None
    if backend not in BACKENDS:
        err.print(f"error: unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
        raise typer.Exit(2)
    if (resume or retry_failed) and output is None:
        flag = "--retry-failed" if retry_failed else "--resume"
        err.print(f"error: {flag} needs --output (the file to add to)")
        raise typer.Exit(2)
    if not files and not retry_failed:
        err.print("error: no letter files given (pass files, '-' for standard input)")
        raise typer.Exit(2)
    plan = _output_plan(output_name, fmt)
    if plan.tables:
        assert output is not None
        output = plan.records
    uris = [name for name in files if is_uri(name)]
    if uris and ray_address is None:
        err.print(f"error: {uris[0]} is a URI; URIs are read on Ray (--ray)")
        raise typer.Exit(2)
    if ray_address is not None:
        if "-" in files:
            err.print("error: standard input cannot be read on Ray (pass files or folders)")
            raise typer.Exit(2)
        _require_ray()
    given = bool(files)
    files, empty = expand_paths(files)
    for folder in empty:
        err.print(f"note: {folder} holds no letter files ({', '.join(LETTER_SUFFIXES)})")
    if given and not files and not retry_failed:
        err.print("error: no letter files found in the folders given")
        raise typer.Exit(2)
    try:
        # Without --strict the environment (IMR_LLM_STRICT) decides; the flag only turns it on.
        settings = load_settings(
            model=model,
            concurrency=concurrency,
            strict=True if strict else None,
            log_letter_text=True if log_letter_text else None,
            ocr_engine=ocr_engine,
        )
    except (ImrError, ValueError) as exc:  # a bad IMR_LLM_* value or option: one line
        err.print(bad_configuration(exc))
        raise typer.Exit(2) from None
    if dry_run:
        _dry_run(files, settings)
    if not quiet:
        err.print(engine_line(backend, settings))
    if errors is None and output is not None:
        # In a tables folder: FOLDER/errors.jsonl beside FOLDER/records.jsonl.
        errors = plan.folder / "errors.jsonl" if plan.tables else sidecar(output, ".errors.jsonl")
    appending = resume or retry_failed
    try:
        if plan.tables:
            _make_folder(plan.folder)
        for path, what in ((output, "--output"), (errors, "--errors")):
            if path is not None:
                _check_writable(path, what)
    except _OutputError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None

    # Failures of an earlier run: with --retry-failed, the letters to run.
    kept_failures: list[dict] = []
    previous: list[dict] = []
    if retry_failed:
        assert errors is not None
        if not errors.exists():
            err.print(f"error: no failures file {errors} to retry (run without --retry-failed)")
            raise typer.Exit(2)
        previous = read_failures(errors)
        kept_failures = [row for row in previous if row["source"] == "-"]
        if kept_failures and not quiet:
            err.print(f"note: {len(kept_failures)} failure(s) read from standard input kept")
        files = files + [
            str(row.get("path") or row["source"]) for row in previous if row["source"] != "-"
        ]

    # The same file named twice (or as ./a.txt and /abs/a.txt) is one letter.
    by_path: dict[str, str] = {}
    for name in files:
        by_path.setdefault(resolved_name(name), name)
    names = list(by_path.values())

    done: Done | None = None
    if appending and output is not None and (output.is_file() or not output.exists()):
        # (A device or a pipe as --output has nothing to resume and may never end: not read.)
        try:
            torn = cut_torn_tail(output, keep=sidecar(output, ".torn"))
            cut_torn_tail(sidecar(output, ".done"))
        except OSError as exc:
            err.print(f"error: {_OutputError(output, exc)}")
            raise typer.Exit(2) from None
        if torn:
            err.print(
                f"note: {output} ended in a torn line (a run stopped mid-write); "
                f"its {torn} byte(s) moved to {sidecar(output, '.torn')}"
            )
        done = read_done(output)

    pretty = (
        len(files) == 1
        and (output is None or output.suffix != ".jsonl")
        and not appending
        and not plan.tables
    )
    fn = partial(extract_source, backend=backend, settings=settings, extract_text=extract)
    failures: list[LetterResult] = []
    review_note: str | None = None
    # On Ray, folders given as URIs are listed here (the count is the progress bar's total).
    ray_inputs = _ray_inputs(names) if ray_address is not None else None
    tally = _Tally(total=len(ray_inputs) if ray_inputs is not None else len(names))
    identities: dict[str, tuple[str | None, str | None]] = {}
    interrupted = False
    write_error: _OutputError | _ClusterError | None = None

    ledger_path = sidecar(output, ".done") if output is not None else None
    out_fh: TextIO = sys.stdout
    ledger: TextIO | None = None
    try:
        if output is not None:
            out_fh = output.open("a" if appending else "w", encoding="utf-8")
            assert ledger_path is not None
            if contract_only:
                ledger = ledger_path.open("a" if appending else "w", encoding="utf-8")
            elif not appending and ledger_path.exists():
                ledger_path.unlink()  # a stale ledger would mark letters of this run done
    except OSError as exc:
        err.print(f"error: {_OutputError(output or '-', exc)}")
        raise typer.Exit(2) from None

    plain_progress = not quiet and not err.is_terminal and tally.total > 1
    show_bar = not quiet and err.is_terminal and tally.total > 1
    progress = Progress(
        TextColumn("[bold]extracting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[failed]} failed"),
        console=err,
        transient=True,
        disable=not show_bar,
    )
    last_line = time.perf_counter()

    def tick(advance: int = 1) -> None:
        nonlocal last_line
        progress.update(task, advance=advance, failed=len(failures))
        now = time.perf_counter()
        if plain_progress and now - last_line >= progress_every:
            last_line = now
            err.print(tally.progress_line(len(failures)))

    def write(text: str, name: str) -> None:
        where = output if output is not None else "standard output"
        try:
            out_fh.write(text + "\n")
            out_fh.flush()
        except OSError as exc:
            raise _OutputError(where, exc) from None
        if ledger is not None:
            path, sha = identities.get(name, (None, None))
            try:
                ledger.write(json.dumps({"source": path or name, "sha256": sha}) + "\n")
                ledger.flush()
            except OSError as exc:
                raise _OutputError(ledger_path or "", exc) from None

    interrupts = _Interrupts()
    task = progress.add_task("extract", total=tally.total, failed=0)
    settled: set[str] = set()  # letters written, failed or already done: not to retry again

    def skipped(name: str) -> None:
        settled.add(name)
        tick()

    if ray_inputs is not None:
        results: Iterator[LetterResult] = _ray_results(
            ray_inputs, ray_address, backend, settings, done, identities, tally, skipped
        )
    else:
        letters = _letters(names, failures, identities, done, tally, skipped)
        results = iter_results(fn, letters, settings.concurrency)
    try:
        # Entered only with a bar: older rich prints a blank line leaving a disabled one.
        with interrupts, progress if show_bar else nullcontext():
            for result in results:
                if result.record is None:
                    failures.append(result)
                    tick()
                    continue
                meta = result.record.metadata
                if meta is not None:
                    path, sha = identities.get(result.name, (None, None))
                    meta.source = path or result.name
                    meta.source_sha256 = sha
                    if meta.usage is not None:
                        tally.tokens += meta.usage.total_tokens
                    tally.cost += meta.cost_usd or 0.0
                if contract_only:  # exactly the contract: OUTPUT.done names each line's letter
                    data = result.record.contract_dict()
                else:
                    data = result.record.model_dump(mode="json")
                text = json.dumps(data, indent=2 if pretty else None, ensure_ascii=False)
                with interrupts.held():  # a Ctrl-C now waits for the end of the line
                    write(text, result.name)
                tally.ok += 1
                settled.add(result.name)
                engine = meta.engine if meta else "unknown"
                tally.engines[engine] = tally.engines.get(engine, 0) + 1
                if meta is not None and meta.needs_review:
                    tally.flagged += 1
                    review_note = _review_note(result.name, meta.review_reasons, contract_only)
                tick()
    except KeyboardInterrupt:
        interrupted = True
    except (_OutputError, _ClusterError) as exc:
        write_error = exc
    finally:
        for fh in (out_fh if output is not None else None, ledger):
            if fh is not None:
                try:
                    fh.close()
                except OSError as exc:  # buffered data that could not be written
                    write_error = write_error or _OutputError(output or "", exc)

    if write_error is not None:
        if output is None:
            _silence_stdout()
        err.print(f"error: {write_error}")
    for failure in failures:
        assert failure.error is not None
        said = failure_message(failure.name, failure.error)
        err.print(f"[red]failed[/red] {escape(failure.name)}: {escape(said)}", markup=True)
    if pretty and output is None and review_note is not None:
        # One letter on stdout: its JSON may be piped on, so say on stderr that it needs a look.
        err.print(review_note)
    if errors is not None:
        settled.update(f.name for f in failures)
        if retry_failed and (interrupted or write_error is not None):
            # Letters of the failures file this run never reached stay listed.
            kept_failures += [
                r
                for r in previous
                if r["source"] != "-" and str(r.get("path") or r["source"]) not in settled
            ]
        try:
            _write_failures(errors, kept_failures, failures)
        except OSError as exc:
            if write_error is None:
                err.print(f"error: {_OutputError(errors, exc)}")
            write_error = write_error or _OutputError(errors, exc)
    tables_note = ""
    if plan.tables and output is not None and write_error is None:
        tables_note, table_error = _write_tables(plan, output)
        write_error = write_error or table_error
    if not quiet:
        elapsed = time.perf_counter() - tally.started
        by_engine = ", ".join(f"{k}: {v}" for k, v in sorted(tally.engines.items())) or "none"
        extra = f", {tally.skipped} already done" if tally.skipped else ""
        todo = tally.total - tally.skipped
        if interrupted or write_error is not None:
            left = todo - tally.ok - len(failures)
            extra += f", {left} not done"
        n_failed = len(failures) + len(kept_failures)
        err.print(
            ("stopped: " if write_error else "interrupted: " if interrupted else "")
            + f"{tally.ok} of {todo} letter(s) extracted ({_need_review(tally.flagged)}), "
            f"{n_failed} failed{extra} "
            f"in {elapsed:.2f} s (engine {by_engine})"
            + (f"; failures listed in {errors}" if errors and n_failed else "")
            + ("; run again with --resume to finish" if interrupted and output else "")
            + tables_note
        )
    if write_error is not None:
        raise typer.Exit(2)
    if interrupted:
        raise typer.Exit(interrupts.exit_code)
    if failures or kept_failures:
        raise typer.Exit(1)


def _write_failures(errors: Path, kept: list[dict], failures: list[LetterResult]) -> None:
    """The failures file: the rows kept from an earlier run, then this run's failures. A run
    without any writes none, and removes one left by an earlier run (its letters were run
    again, or retried, and none failed): an empty file would only say "look here" for nothing.
    """
    if not kept and not failures:
        if errors.is_file() and not errors.is_symlink():
            errors.unlink()
        return
    with errors.open("w", encoding="utf-8") as fh:
        for row in kept:
            fh.write(json.dumps(row) + "\n")
        for failure in failures:
            assert failure.error is not None
            row = {"source": failure.name, **failure.error.to_dict()}
            if failure.name != "-":
                row["path"] = resolved_name(failure.name)  # for a retry from elsewhere
            fh.write(json.dumps(row) + "\n")


@dataclass(frozen=True, slots=True)
class _Plan:
    """What ``--output`` and ``--format`` ask for: JSON Lines, or tables in a folder (which
    also holds the records they are made from, ``records.jsonl``, for ``--resume``)."""

    format: str
    folder: Path | None = None

    @property
    def tables(self) -> bool:
        return self.format != "jsonl"

    @property
    def records(self) -> Path:
        assert self.folder is not None
        return self.folder / "records.jsonl"


def _output_plan(output: str | None, fmt: str | None) -> _Plan:
    """The output's format: ``--format``, else ``--output``'s name (``.parquet``, ``.csv``, or
    a trailing ``/`` for Parquet tables in a folder), else JSON Lines. Exit 2 for a table
    format without a folder to write to, or Parquet without pyarrow."""
    if fmt is not None and fmt not in ("jsonl", *TABLE_FORMATS):
        err.print(f"error: unknown --format {fmt!r}; choose one of: jsonl, parquet, csv")
        raise typer.Exit(2)
    if fmt is None and output is not None:
        suffix = Path(output).suffix.lower()
        if suffix in (".parquet", ".csv"):
            fmt = suffix[1:]
        elif output.endswith(("/", os.sep)):
            fmt = "parquet"
    fmt = fmt or "jsonl"
    if fmt == "jsonl":
        return _Plan(fmt)
    if output is None:
        err.print(f"error: --format {fmt} needs --output FOLDER (the tables are files in it)")
        raise typer.Exit(2)
    if fmt == "parquet":
        try:
            require_pyarrow()
        except ImrError as exc:
            err.print(f"error: {exc}")
            raise typer.Exit(2) from None
    return _Plan(fmt, Path(output))


def _make_folder(folder: Path | None) -> None:
    """The tables' folder, made if missing (its parent must exist, as for an output file)."""
    assert folder is not None
    if folder.is_dir():
        return
    if folder.exists():
        raise _OutputError(folder, "the tables go in a folder, and this is a file")
    if not folder.parent.is_dir():
        raise _OutputError(folder, f"folder {folder.parent} does not exist")
    try:
        folder.mkdir()
    except OSError as exc:
        raise _OutputError(folder, exc) from None


def _write_tables(plan: _Plan, records: Path) -> tuple[str, _OutputError | None]:
    """The letters and items tables of every record in ``records`` (this run's and, under
    --resume, the earlier runs'): a note for the summary line, or the error."""
    assert plan.folder is not None
    try:
        report = tables_from_jsonl(records, plan.folder, plan.format)  # type: ignore[arg-type]
    except OSError as exc:
        error = _OutputError(plan.folder, exc)
        err.print(f"error: {error}")
        return "", error
    for number, why in report.bad_lines:
        err.print(f"note: {records} line {number} left out of the tables: {why}")
    letters, items = report.paths
    return (
        f"; tables {letters} ({report.letters} letter(s)) and {items} ({report.items} item(s))",
        None,
    )


class _ClusterError(Exception):
    """Ray could not start, be reached, or finish the run: one line, exit code 2."""


def _require_ray() -> None:
    """Exit 2 with the install command when Ray (with Ray Data) is not installed."""
    try:
        import ray.data  # noqa: F401
    except ImportError:
        err.print("error: --ray needs Ray; install it with: pip install 'imr-llm[ray]'")
        raise typer.Exit(2) from None


def _ray_inputs(names: list[str]) -> list[dict]:
    """The run's inputs as :func:`imr_llm.many.ray.list_inputs` lists them (URIs of folders
    walked), listed once."""
    from ..many.ray import list_inputs

    return list_inputs(names)


def _ray_results(
    inputs: list[dict],
    address: str | None,
    backend: str,
    settings: Settings,
    done: Done | None,
    identities: dict[str, tuple[str | None, str | None]],
    tally: _Tally,
    on_skip: Callable[[str], None],
) -> Iterator[LetterResult]:
    """The letters' results from a Ray run (:mod:`imr_llm.many.ray`), as the local runner gives
    them: a record, or the typed error of a failure row; letters already done are skipped
    on the workers (they read the bytes the identity is made of)."""
    from ..many.ray import ClusterError, run_letters

    try:
        outcomes = run_letters(
            [], backend, settings=settings, address=address, done=done, inputs=inputs
        )
        for outcome in outcomes:
            identities[outcome.name] = (outcome.path, outcome.sha256)
            if outcome.status == "skipped":
                tally.skipped += 1
                on_skip(outcome.name)
                continue
            yield outcome.result()
    except ClusterError as exc:
        raise _ClusterError(str(exc)) from None


def _dry_run(files: list[str], settings: Settings) -> NoReturn:
    """``extract --dry-run``: the cost estimate of the letters, from their sizes alone.

    No model is called and nothing is written; unreadable letters are listed (exit 1).
    """
    from ..llm.cost import estimate

    texts: list[str] = []
    unreadable: list[tuple[str, ImrError]] = []
    seen: set[str] = set()
    for name in files:
        if resolved_name(name) in seen:
            continue
        seen.add(resolved_name(name))
        try:
            texts.append(read_source(name).text)
        except ImrError as exc:
            unreadable.append((name, exc))
    typer.echo(estimate(texts, settings).render())
    for name, exc in unreadable:
        said = failure_message(name, exc)
        err.print(f"[red]unreadable[/red] {escape(name)}: {escape(said)}", markup=True)
    if unreadable:
        err.print(f"{len(unreadable)} letter(s) could not be read and are not counted")
    raise typer.Exit(1 if unreadable else 0)


def _silence_stdout() -> None:
    """After a failed write to standard output, point it at /dev/null so the interpreter's own
    flush at exit does not print a second error."""
    try:
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


@app.command("tables", cls=Command)
def tables_command(
    records: Annotated[
        list[Path],
        typer.Argument(help="JSON Lines of records (imr-llm extract -o).", show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for letters.FMT and items.FMT.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="parquet or csv.")] = "parquet",
    verbose: Verbose = False,
) -> None:
    """Turn records (JSON Lines) into the letters and items tables, Parquet or CSV.

    Exit codes: 0 every line was a record; 1 some lines were not (each named on stderr, the
    tables hold the rest); 2 the command could not run.
    """
    if fmt not in TABLE_FORMATS:
        err.print(f"error: unknown --format {fmt!r}; choose one of: {', '.join(TABLE_FORMATS)}")
        raise typer.Exit(2)
    for path in records:
        if not path.is_file():
            why = "no such file" if not path.exists() else "not a file"
            err.print(f"error: cannot read {path}: {why}")
            raise typer.Exit(2)
    try:
        if fmt == "parquet":
            require_pyarrow()
        _make_folder(out)
        report = tables_from_jsonl(records, out, fmt)  # type: ignore[arg-type]
    except ImrError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    except _OutputError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    except OSError as exc:
        err.print(f"error: {_OutputError(out, exc)}")
        raise typer.Exit(2) from None
    for number, why in report.bad_lines:
        err.print(f"line {number}: left out: {why}")
    letters, items = report.paths
    err.print(
        f"{report.letters} letter(s) to {letters}, {report.items} item(s) to {items}"
        + (f"; {len(report.bad_lines)} line(s) left out" if report.bad_lines else "")
    )
    if report.bad_lines:
        raise typer.Exit(1)


@app.command("schema", cls=Command)
def schema_command(
    write: Annotated[
        bool,
        typer.Option("--write", metavar="", help="Regenerate the shipped schema file instead."),
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Print the JSON Schema of the determination record."""
    text = schema_text()
    if write:
        path = source_schema_path()
        if path is None:
            err.print(
                f"error: --write regenerates the schema file of a source checkout (after a "
                f"change to the models), and this installation has none: the file at "
                f"{schema_path()} belongs to the installed package, whose models it already "
                "matches. Run it in a checkout installed with pip install -e, or save the "
                "schema with: imr-llm schema > FILE"
            )
            raise typer.Exit(2)
        path.write_text(text, encoding="utf-8")
        err.print(f"wrote {path}")
        return
    sys.stdout.write(text)


@app.command("eval", cls=Command)
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
    no_cache: Annotated[
        bool, typer.Option("--no-cache", metavar="", help="Always ask the model.")
    ] = False,
    baseline: Annotated[
        Path | None, typer.Option(help="A report.json to compare with, case by case.")
    ] = None,
    fail_on_regression: Annotated[
        bool,
        typer.Option(
            "--fail-on-regression",
            metavar="",
            help="Exit 1 when a metric drops beyond its noise vs --baseline.",
        ),
    ] = False,
    tolerance: Annotated[float, typer.Option(help="Smallest drop that counts.")] = 0.0,
    from_batch: Annotated[
        Path | None,
        typer.Option(
            "--from-batch",
            help="Score the records of a collected batch job folder (imr-llm batch) instead of "
            "calling a model: the gold cases whose letters it holds.",
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Score an engine against the gold set; write report.json, summary.md, report.html."""
    from ..eval import compare_reports, run_eval, write_report

    if fail_on_regression and baseline is None:
        err.print("error: --fail-on-regression needs --baseline")
        raise typer.Exit(2)
    cache_dir = None if (no_cache or backend == "rules") else (cache or out.parent / "cache")
    records = None
    if from_batch is not None:
        from ..jobs import batch_records, job_model

        backend, cache_dir = "llm", None
        try:
            records = batch_records(from_batch)
            model = model or job_model(from_batch)
        except ImrError as exc:
            err.print(f"error: {exc}")
            raise typer.Exit(2) from None
    try:
        run = run_eval(
            gold, backend, renderings=rendering, letters=letter, model=model,
            concurrency=concurrency, cache_dir=cache_dir, records=records,
            source_note=f"collected batch job {from_batch}" if from_batch else None,
        )  # fmt: skip
        if from_batch is not None and not run.results:
            err.print(f"error: {from_batch} holds no letter of the gold set {gold}")
            raise typer.Exit(2)
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
        f"{review['wrong_values']} (besides {review['faithful_values']} faithful copies of "
        f"their rendering's text, right by the contract); answers from "
        f"{report['answers_from']}; reports in {out}"
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


# Provider batch jobs (imr-llm batch submit/status/collect): a sub-app of its own module (which
# must not import this one: see imr_llm/cli/jobs.py), registered beside the other commands.
from .jobs import batch_app  # noqa: E402

app.add_typer(batch_app, name="batch")
# One HTML review page per letter (imr-llm review): its own module, imr_llm/cli/review.py.
app.command("review", cls=Command)(review_command)
app.command("split", cls=Command)(split_command)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except SystemExit as exc:
        if exc.code in (130, 143) and threading.active_count() > 1:
            # Interrupted with model calls still in flight: their results would be dropped
            # anyway, so do not wait for them. Everything of ours is written and closed.
            sys.stderr.flush()
            sys.stdout.flush()
            os._exit(130)
        raise


if __name__ == "__main__":
    main()
