"""What a batch run has already done, so ``--resume`` and ``--retry-failed`` can carry on.

A letter is known by its identity: its resolved path and the SHA-256 of its bytes. A full record
carries both in ``metadata.source`` and ``metadata.source_sha256``; a ``--contract-only`` line has
no metadata, so those runs also keep a ledger beside the output, ``OUTPUT.done``, one JSON line
``{"source": ..., "sha256": ...}`` per record written. Lines from older runs that name a source
but no hash count by path alone.

A run killed mid-write leaves a last line without its newline. Before appending, that torn tail
is moved to ``OUTPUT.torn`` and the output cut back to its last complete line, so no record is
ever appended onto a fragment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..inputs.files import resolved_name


def sidecar(path: Path, suffix: str) -> Path:
    """``OUTPUT`` + ``suffix`` beside it (``records.jsonl.done``)."""
    return path.with_name(path.name + suffix)


def cut_torn_tail(path: Path, keep: Path | None = None) -> int:
    """Cut ``path`` back to its last complete line; the fragment goes to ``keep`` if given.

    Returns the number of bytes set aside (0 when the file ends cleanly or does not exist).
    """
    try:
        with path.open("rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return 0
    if not data or data.endswith(b"\n"):
        return 0
    cut = data.rfind(b"\n") + 1  # 0 when the whole file is one torn line
    fragment = data[cut:]
    if keep is not None:
        with keep.open("ab") as fh:
            fh.write(fragment + b"\n")
    with path.open("r+b") as fh:
        fh.truncate(cut)
    return len(fragment)


@dataclass(slots=True)
class Done:
    """Letters already in the output: by (resolved path, sha256), or by path alone (old lines)."""

    keys: set[tuple[str, str]] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)

    def __contains__(self, identity: tuple[str, str | None]) -> bool:
        path, sha = identity
        return (sha is not None and (path, sha) in self.keys) or path in self.paths

    def add(self, path: str, sha: str | None) -> None:
        if sha:
            self.keys.add((path, sha))
        else:
            self.paths.add(resolved_name(path))


def _json_lines(path: Path):
    try:
        fh = path.open(encoding="utf-8")
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                yield data


def read_done(output: Path) -> Done:
    """Every letter recorded in ``output`` or its ledger."""
    done = Done()
    ledger = sidecar(output, ".done")
    for row in _json_lines(ledger):
        if isinstance(row.get("source"), str):
            done.add(row["source"], row.get("sha256"))
    has_ledger = ledger.exists()
    for row in _json_lines(output):
        meta = row.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("source"), str):
            done.add(meta["source"], meta.get("source_sha256"))
        elif not has_ledger and isinstance(row.get("source"), str):
            done.add(row["source"], None)  # a contract-only line of a run without a ledger
    return done


def read_failures(path: Path) -> list[dict]:
    """The entries of a failures file (``OUTPUT.errors.jsonl``); torn lines are skipped."""
    return [row for row in _json_lines(path) if isinstance(row.get("source"), str)]
