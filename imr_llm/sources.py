"""Read letters from files, standard input or PDFs, with typed errors for what cannot be read."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import UnreadableInputError

__all__ = ["LetterSource", "UnreadableInputError", "pdf_to_text", "read_source", "resolved_name"]


@dataclass(frozen=True, slots=True)
class LetterSource:
    """A letter's text and the name it is reported under (a path, or ``-`` for stdin).

    ``path`` (the resolved path, ``None`` for stdin) and ``sha256`` (of the bytes read) are the
    letter's stable identity: the same file named two ways is one letter, an edited file is a
    new one. ``--resume`` keys letters by both.
    """

    name: str
    text: str
    path: str | None = None
    sha256: str | None = None


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        raise UnreadableInputError("looks like a binary file, not letter text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older exports are often Windows-1252; every byte decodes, so this cannot fail.
        return data.decode("cp1252", errors="replace")


def pdf_to_text(path: Path) -> str:
    """Text of a PDF via poppler's ``pdftotext -layout``, the rendering the engines know best."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise UnreadableInputError(
            "is a PDF and pdftotext is not installed (install poppler-utils, or "
            "convert the PDF to text first)"
        )
    result = subprocess.run(
        [exe, "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UnreadableInputError(f"pdftotext failed: {message[-1] if message else ''}")
    return result.stdout.decode("utf-8", "replace")


def read_source(name: str) -> LetterSource:
    """Read one letter: a text file, a PDF, or ``-`` for standard input."""
    if name == "-":
        data = sys.stdin.buffer.read()
        return LetterSource("-", _decode(data, "<stdin>"), None, hashlib.sha256(data).hexdigest())
    path = Path(name)
    if not path.exists():
        raise UnreadableInputError("no such file")
    if path.is_dir():
        raise UnreadableInputError("is a directory (pass the letter files inside it)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableInputError(f"cannot be read ({exc.strerror})") from None
    resolved, digest = str(path.resolve()), hashlib.sha256(data).hexdigest()
    if data[:5] == b"%PDF-":
        return LetterSource(name, pdf_to_text(path), resolved, digest)
    return LetterSource(name, _decode(data, name), resolved, digest)


def resolved_name(name: str) -> str:
    """The path ``name`` stands for, resolved (``-`` stays ``-``): one file, one name."""
    if name == "-":
        return name
    try:
        return str(Path(name).resolve())
    except (OSError, RuntimeError):  # a symlink loop: keep the name as given
        return name
