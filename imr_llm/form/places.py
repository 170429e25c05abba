"""A place in the letter: the stretch of text where one value is written, or should be."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Place:
    """Where one value sits: ``source[start:end]``, whose text is ``text``.

    ``text`` is what the letter says there, with any page furniture (a fax banner, a page
    number) that falls inside the span left out.

    ``how`` says how the place was found: ``label`` (beside its own label), ``order`` (labels
    and values printed apart, as plain pdftotext does, paired by position), ``region`` (the
    part of the letter the value belongs to, such as the case summary).
    """

    start: int
    end: int
    text: str
    how: str = "label"
    label: tuple[int, int] | None = None

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end

    @property
    def readable(self) -> bool:
        """Whether the place holds any letters or digits at all."""
        return any(ch.isalnum() for ch in self.text)
