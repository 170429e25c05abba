"""Load the gold set: letters, their renderings, labels, and character error rates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError


@dataclass(frozen=True)
class Case:
    """One letter in one rendering, with its gold label."""

    letter: str
    rendering: str
    path: Path
    cer: float
    label: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.letter}/{self.rendering}"

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def load_cases(
    gold: Path,
    renderings: list[str] | None = None,
    letters: list[str] | None = None,
) -> list[Case]:
    """Every case in ``gold/manifest.json`` (or the clean letters when there is none)."""
    labels_dir = gold / "labels"
    if not labels_dir.is_dir():
        raise ConfigurationError(f"{gold} is not a gold set: it has no labels/ folder")
    manifest_path = gold / "manifest.json"
    if manifest_path.is_file():
        entries = json.loads(manifest_path.read_text(encoding="utf-8"))
    else:
        entries = [
            {"letter": p.stem, "rendering": "layout", "path": f"letters/{p.name}", "cer": 0.0}
            for p in sorted((gold / "letters").glob("*.txt"))
        ]
    labels: dict[str, dict[str, Any]] = {}
    cases: list[Case] = []
    for entry in entries:
        if renderings and entry["rendering"] not in renderings:
            continue
        if letters and entry["letter"] not in letters:
            continue
        label_path = labels_dir / f"{entry['letter']}.json"
        if not label_path.is_file():
            continue
        if entry["letter"] not in labels:
            labels[entry["letter"]] = json.loads(label_path.read_text(encoding="utf-8"))
        cases.append(
            Case(
                letter=entry["letter"],
                rendering=entry["rendering"],
                path=gold / entry["path"],
                cer=float(entry.get("cer", 0.0)),
                label=labels[entry["letter"]],
            )
        )
    if not cases:
        raise ConfigurationError(f"no gold cases matched in {gold}")
    return cases
