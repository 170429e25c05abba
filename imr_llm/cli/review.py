"""``imr-llm review``: one HTML review page per letter, for a person to check records quickly.

The letters are extracted with the same backend options as ``extract`` (or, with ``--records``,
records already extracted are matched to their letters by the letter's SHA-256 or resolved
path, so a batch can be reviewed without running it again), and each page is written to
``OUT/<letter name>.html`` by :func:`imr_llm.review.record_to_html`.

Failures are reported as ``extract`` reports them: one line per letter that cannot be read
or extracted, the others still written, exit code 1; a misused command exits 2 before any
letter is read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape

from ..api import BACKENDS, extract
from ..config import load_settings
from ..errors import ImrError
from ..inputs.files import read_source, resolved_name
from ..many.concurrent import iter_results
from ..record.models import DeterminationRecord
from .common import Verbose, bad_configuration, engine_line, err, failure_message


@dataclass
class _Letter:
    name: str
    text: str
    path: str | None
    sha256: str | None
    #: What the text was read from (PDF pages, OCR), when the source says so.
    info: Any = None


def _letter_text(source: Any, settings: Any) -> tuple[str, Any]:
    """The letter's text, read once, and what it was read from when the source can say so
    (a source with ``read()``: a PDF's pages and OCR); else its ``text``."""
    reader = getattr(source, "read", None)
    if callable(reader):
        letter = reader(getattr(settings, "ocr_engine", None))
        return letter.text, letter
    return source.text, None


def _attach_input(record: DeterminationRecord, letter: Any) -> None:
    """Record where the text came from (pages, OCR) as ``extract`` does, when it is known."""
    if letter is None:
        return
    from ..record import builder as record_module

    attach = getattr(record_module, "attach_input", None)
    if callable(attach):
        attach(record, letter)


@dataclass
class _Records:
    """Records of an earlier run, found by the letter's content or its resolved path."""

    by_sha: dict[str, DeterminationRecord]
    by_path: dict[str, DeterminationRecord]
    skipped: int = 0

    def find(self, letter: _Letter) -> DeterminationRecord | str:
        """The letter's record, or why there is none."""
        if letter.sha256 and letter.sha256 in self.by_sha:
            return self.by_sha[letter.sha256]
        record = self.by_path.get(letter.path or letter.name)
        if record is None:
            return "no record for this letter in --records (matched by path and SHA-256)"
        meta = record.metadata
        if meta is not None and meta.source_sha256 and meta.source_sha256 != letter.sha256:
            return (
                "the letter changed since its record was extracted (its SHA-256 differs), so "
                "the record's spans would point at the wrong text; extract it again"
            )
        return record


def _read_records(path: Path) -> _Records:
    """Records from a JSON Lines file; lines that are not records (a torn last line) are
    skipped and counted."""
    out = _Records({}, {})
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                record = DeterminationRecord.model_validate(data)
            except (ValueError, ValidationError):
                out.skipped += 1
                continue
            meta = record.metadata
            source = meta.source if meta is not None else data.get("source")
            if meta is not None and meta.source_sha256:
                out.by_sha[meta.source_sha256] = record
            if isinstance(source, str) and source:
                out.by_path[resolved_name(source)] = record
    return out


def _page_names(letters: list[str]) -> dict[str, str]:
    """``OUT`` file name per letter: its stem, made unique (a.txt and a.pdf, two folders)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for name in letters:
        stem = "stdin" if name == "-" else Path(name).stem or "letter"
        stem = re.sub(r"[^\w.-]+", "_", stem).strip("._") or "letter"
        candidate, n = stem, 2
        while candidate.lower() in used:
            candidate, n = f"{stem}-{n}", n + 1
        used.add(candidate.lower())
        names[name] = f"{candidate}.html"
    return names


def review_command(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Letter files (.txt or .pdf); '-' reads standard input. With --records and no "
            "files: every letter the records name.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Folder for the pages, one OUT/<letter>.html each (created)."
        ),
    ] = None,
    records: Annotated[
        Path | None,
        typer.Option(
            "--records",
            help="Records already extracted (extract's JSON Lines): render them instead of "
            "extracting again, matched to the letters by SHA-256 or path.",
        ),
    ] = None,
    backend: Annotated[
        str, typer.Option("--backend", "-b", help=f"One of: {', '.join(BACKENDS)}.")
    ] = "auto",
    model: Annotated[str | None, typer.Option(help="Model name for the LLM backends.")] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Letters in flight at once (LLM backends).")
    ] = 1,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            metavar="",
            help="When the model's answers run out of attempts, fail the letter instead of "
            "showing the best record flagged needs_review.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No summary.")] = False,
    verbose: Verbose = False,
) -> None:
    """Write one HTML page per letter to check its record against the letter."""
    files = list(files or [])
    if out is None:
        err.print("error: --out FOLDER is needed (the pages are written there)")
        raise typer.Exit(2)
    if backend not in BACKENDS:
        err.print(f"error: unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
        raise typer.Exit(2)
    found: _Records | None = None
    if records is not None:
        try:
            found = _read_records(records)
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            err.print(f"error: cannot read --records {records}: {reason}")
            raise typer.Exit(2) from None
        if found.skipped and not quiet:
            err.print(f"note: {found.skipped} line(s) of {records} are not records; skipped")
        if not files:
            files = sorted(found.by_path)
    if not files:
        err.print("error: no letter files given (pass files, '-' for standard input)")
        raise typer.Exit(2)
    try:
        settings = load_settings(
            model=model, concurrency=concurrency, strict=True if strict else None
        )
    except (ImrError, ValueError) as exc:  # a bad IMR_LLM_* value: one line
        err.print(bad_configuration(exc))
        raise typer.Exit(2) from None
    if found is None and not quiet:
        err.print(engine_line(backend, settings))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        err.print(f"error: cannot write {out}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    if not out.is_dir():
        err.print(f"error: cannot write {out}: not a folder")
        raise typer.Exit(2)

    by_path: dict[str, str] = {}
    for name in files:
        by_path.setdefault(resolved_name(name), name)
    names = list(by_path.values())
    pages = _page_names(names)
    failures: list[tuple[str, str]] = []
    letters: dict[str, _Letter] = {}

    def read() -> Iterator[tuple[str, str]]:
        for name in names:
            try:
                source = read_source(name)
                text, info = _letter_text(source, settings)
            except ImrError as exc:
                failures.append((name, failure_message(name, exc)))
                continue
            letters[name] = _Letter(name, text, source.path, source.sha256, info)
            yield name, text

    from ..review import record_to_html  # the page's code only when pages are written

    def write(name: str, record: DeterminationRecord) -> None:
        letter = letters[name]
        if record.metadata is not None and found is None:
            _attach_input(record, letter.info)
            record.metadata.source = letter.path or name
            record.metadata.source_sha256 = letter.sha256
        target = out / pages[name]
        try:
            target.write_text(record_to_html(record, letter.text), encoding="utf-8")
        except OSError as exc:
            err.print(f"error: cannot write {target}: {exc.strerror or exc}")
            raise typer.Exit(2) from None

    written = flagged = 0
    if found is not None:
        for name, _ in read():
            record = found.find(letters[name])
            if isinstance(record, str):
                failures.append((name, record))
                continue
            write(name, record)
            written += 1
            flagged += bool(record.metadata and record.metadata.needs_review)
    else:
        fn = partial(extract, backend=backend, settings=settings)  # type: ignore[arg-type]
        for result in iter_results(fn, read(), settings.concurrency):
            if result.record is None:
                assert result.error is not None
                failures.append((result.name, str(result.error)))
                continue
            write(result.name, result.record)
            written += 1
            meta = result.record.metadata
            flagged += bool(meta and meta.needs_review)
    for name, message in failures:
        err.print(f"[red]failed[/red] {escape(name)}: {escape(message)}", markup=True)
    if not quiet:
        need = f"{flagged} needs review" if flagged == 1 else f"{flagged} need review"
        err.print(f"wrote {written} review page(s) to {out} ({need}), {len(failures)} failed")
    if failures:
        raise typer.Exit(1)
