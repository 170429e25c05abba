"""``imr-llm split``: cut files that hold several letters into one text file per letter.

A bundle scanned as one PDF, or texts joined into one file, is refused by ``extract`` with
``multiple_letters`` (:class:`~imr_llm.errors.MultipleLettersError`): read as one letter, it
would give one record mixing both. This command reads each file as ``extract`` reads it (text,
PDF, scans through OCR), cuts its text with :func:`imr_llm.split_letters`, and writes
``OUT/<name>.txt`` for a file of one letter and ``OUT/<name>-1.txt``, ``-2.txt``... for a file
of several, ready for ``imr-llm extract OUT``.

Exit codes: 0 every file was read; 1 some could not be (each named on stderr, the others
written); 2 the command could not run (no output folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import ImrError
from ..form.letters import split_letters
from ..inputs.files import expand_paths, read_source
from .common import Verbose, err, failure_message


def split_command(
    files: Annotated[
        list[str],
        typer.Argument(help="Letter files or folders (text, PDF, scans).", show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the letters' texts.")],
    ocr_engine: Annotated[
        str | None, typer.Option("--ocr-engine", help="OCR engine for scanned pages.")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Cut files holding several letters (a bundle scanned as one PDF) into one text per letter.

    Exit codes: 0 every file was read; 1 some could not be (each named on stderr, the others
    written); 2 the command could not run.
    """
    if out.exists() and not out.is_dir():
        err.print(f"error: {out} is a file; the letters go in a folder")
        raise typer.Exit(2)
    if not out.parent.is_dir():
        err.print(f"error: folder {out.parent} does not exist")
        raise typer.Exit(2)
    out.mkdir(exist_ok=True)
    names, empty = expand_paths(files)
    for folder in empty:
        err.print(f"{folder}: no letter files in this folder")
    failed = written = several = 0
    for name in names:
        try:
            text = read_source(name).read(ocr_engine).text
        except ImrError as exc:
            err.print(f"failed {name}: {failure_message(name, exc)}")
            failed += 1
            continue
        letters = split_letters(text)
        stem = Path(name).stem if name != "-" else "stdin"
        parts = [f"{stem}.txt"] if len(letters) == 1 else [
            f"{stem}-{k}.txt" for k in range(1, len(letters) + 1)
        ]  # fmt: skip
        several += len(letters) > 1
        for part, letter in zip(parts, letters, strict=True):
            (out / part).write_text(letter, encoding="utf-8")
            written += 1
        if verbose and len(letters) > 1:
            err.print(f"{name}: {len(letters)} letters")
    err.print(
        f"{written} letter(s) from {len(names) - failed} file(s) to {out}"
        f" ({several} file(s) held several)" + (f"; {failed} failed" if failed else "")
    )
    if failed or empty:
        raise typer.Exit(1)
