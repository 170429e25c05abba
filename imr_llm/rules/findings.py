"""What each rules-engine step hands back: values, where they came from, what it could not read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Findings:
    """Values found by one or more rules steps.

    ``missing`` names what a step expected but could not read and the record cannot do
    without (an item's parts, the items themselves); the engine turns a non-empty list into an
    :class:`~imr_llm.errors.IncompleteLetterError` rather than guess.

    ``unread`` names a value the letter prints at a place found but that could not be read
    (a header date OCR garbled, a licensure list of no readable state): the record leaves it
    out (null, or an empty list) and needs review, saying which. A record with the other
    values read serves better than none, as for a header whose labels were lost, where the
    values were never looked for; never a guess in its place.
    """

    values: dict[str, Any] = field(default_factory=dict)
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def put(self, key: str, value: Any, span: tuple[int, int] | None = None) -> None:
        self.values[key] = value
        if span is not None:
            self.spans[key] = span

    def merge(self, other: Findings, prefix: str = "") -> None:
        for key, value in other.values.items():
            self.values[prefix + key] = value
        for key, span in other.spans.items():
            self.spans[prefix + key] = span
        self.missing.extend(prefix + m for m in other.missing)
        self.unread.extend(prefix + m for m in other.unread)
        self.warnings.extend(other.warnings)
