"""Resolve short anchors (first and last words of a passage) to the exact text of the letter.

Guidelines and rationales are most of a record and must be verbatim, so the model is not asked
to re-type them: it quotes the first and last few words, and this module finds the passage
between them in the input. OCR'd input is the reason for the fuzzy fallback: a model quoting
"neurologic exam" may be pointing at "neurolog1c exarn" in the text, and the record must keep
what the text says, not the model's tidied copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from ..form.text import CollapsedText, collapse_ws

#: Minimum rapidfuzz partial-ratio for a fuzzy anchor match (OCR'd text).
FUZZY_THRESHOLD = 88.0
#: How far past the start an end anchor may lie, in characters: longer than any rationale.
MAX_PASSAGE_CHARS = 20_000


class AnchorError(ValueError):
    """An anchor could not be found in the letter text; the message tells the model why."""


@dataclass(frozen=True, slots=True)
class ResolvedPassage:
    """A passage found in the letter: its whitespace-normalised text and source span."""

    text: str
    start: int
    end: int
    collapsed_start: int
    collapsed_end: int
    fuzzy: bool


#: Fuzzy search scans the text in chunks of this many characters (plus the needle's length),
#: so it returns the *earliest* acceptable match rather than the best one further on.
CHUNK_CHARS = 600


def _fuzzy_in(view: CollapsedText, needle: str, start: int, end: int) -> tuple[int, int]:
    """The earliest acceptable fuzzy match within ``[start, end)``.

    rapidfuzz returns the *best* alignment; an earlier one that is merely acceptable is found by
    searching again before it, until there is none.
    """
    found = (-1, -1)
    while end - start >= len(needle) // 2:
        hit = fuzz.partial_ratio_alignment(needle, view.lower[start:end])
        if hit is None or hit.score < FUZZY_THRESHOLD:
            break
        found = (start + hit.dest_start, start + hit.dest_end)
        end = found[0] + len(needle) // 2  # look before it (allowing a little overlap)
        if end >= found[1]:
            break
    return found


def _fuzzy_earliest(view: CollapsedText, needle: str, start: int, end: int) -> tuple[int, int]:
    pos = start
    while pos < end:
        stop = min(end, pos + CHUNK_CHARS + len(needle))
        found = _fuzzy_in(view, needle, pos, stop)
        if found[0] >= 0:
            return found
        pos += CHUNK_CHARS
    return -1, -1


def _locate(
    view: CollapsedText, phrase: str, start: int, end: int, earliest: bool
) -> tuple[int, int, bool]:
    """Collapsed span of ``phrase`` in ``view`` within ``[start, end)``.

    By default an exact match wins and fuzzy matching is the fallback. With ``earliest`` an
    OCR-damaged occurrence *before* the exact one wins instead: letters repeat wording, and a
    damaged Claims Administrator guideline must not be skipped for the clean, identical MAXIMUS
    one after it. Callers try the default first and ``earliest`` when that leaves a later
    passage of the same item unresolvable.
    """
    needle = collapse_ws(phrase).lower()
    exact = view.lower.find(needle, start, end)
    if len(needle) >= 8 and (exact < 0 or earliest):
        f0, f1 = _fuzzy_earliest(view, needle, start, exact if exact >= 0 else end)
        if f0 >= 0 and (exact < 0 or f0 < exact - len(needle) // 2):
            return f0, f1, True
    if exact >= 0:
        return exact, exact + len(needle), False
    return -1, -1, False


def resolve_anchor(
    view: CollapsedText,
    first_words: str,
    last_words: str,
    search_from: int = 0,
    search_to: int | None = None,
    earliest: bool = False,
) -> ResolvedPassage:
    """The passage that starts with ``first_words`` and ends with ``last_words``.

    The search begins at ``search_from`` (a collapsed offset), so passages resolved in letter
    order never match an earlier item's identical wording. Raises :class:`AnchorError` with a
    message precise enough for a re-ask.
    """
    limit = len(view.text) if search_to is None else search_to
    if not collapse_ws(first_words) or not collapse_ws(last_words):
        raise AnchorError("anchor words must not be empty")
    s0, s1, fuzzy_start = _locate(view, first_words, search_from, limit, earliest)
    if s0 < 0:
        raise AnchorError(
            f"the first words {collapse_ws(first_words)[:60]!r} were not found in the letter "
            "(after the previous passage); copy them exactly from the letter"
        )
    e0, e1, fuzzy_end = _locate(view, last_words, s0, min(limit, s0 + MAX_PASSAGE_CHARS), earliest)
    if e0 < 0:
        raise AnchorError(
            f"the last words {collapse_ws(last_words)[:60]!r} were not found after the first "
            f"words {collapse_ws(first_words)[:40]!r}; copy them exactly from the letter"
        )
    end = max(e1, s1)
    src_start, src_end = view.to_source(s0, end)
    return ResolvedPassage(
        text=view.text[s0:end],
        start=src_start,
        end=src_end,
        collapsed_start=s0,
        collapsed_end=end,
        fuzzy=fuzzy_start or fuzzy_end,
    )


#: How a quote marks the words it leaves out: "first words ... last words".
ELLIPSES = (" ... ", " … ", "...", "…")


def split_quote(quote: str) -> tuple[str, str]:
    """The first and last words of an anchor quote ("The MTUS supports ... not medically
    necessary."). A quote without an ellipsis is the whole passage."""
    text = collapse_ws(quote)
    for mark in ELLIPSES:
        head, found, tail = text.partition(mark)
        if found and head.strip() and tail.strip():
            return head.strip(), tail.strip()
    return text, text


def anchor_words(passage: str, n: int = 4) -> tuple[str, str]:
    """The first and last ``n`` words of ``passage``."""
    words = collapse_ws(passage).split(" ")
    return " ".join(words[:n]), " ".join(words[-n:])


def anchor_quote(passage: str, n: int = 4) -> str:
    """The quote a perfect model gives for ``passage``: whole when short, else elided.

    Used by the test server's gold responder and the token benchmark.
    """
    words = collapse_ws(passage).split(" ")
    if len(words) <= 2 * n + 1:
        return " ".join(words)
    first, last = anchor_words(passage, n)
    return f"{first} ... {last}"
