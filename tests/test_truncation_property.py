"""Truncated and mutated real-format letters: an unflagged rules record keeps every item.

Issue 7: "every rules record returned without ``needs_review`` keeps every item the letter's
markers show and no rationale cut mid-word". The letters are the gold set's ``layout`` and
``raw`` renderings (``eval/gold/manifest.json``). Hypothesis cuts a letter at a random offset
and/or deletes, duplicates or damages lines, runs the rules engine, and whenever it returns a
record that does not need review checks it against the text it was given:

- its item count is at least the number of outcome markers in that text, counted here with a
  regex of our own ("...: Upheld" / "...: Overturned" ending a line, or the word alone on a
  line; a 2013 notice's numbered determinations and sections), not with the engine's readers;
- its last rationale ends with sentence punctuation (every gold rationale does), so a letter
  cut inside its last rationale never yields a clean-looking record;
- no rationale ends in the middle of a word of the letter.

A typed :class:`imr_llm.ImrError` (an incomplete letter, not an IMR letter...) is always fine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from imr_llm import ImrError, extract

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold"
RENDERINGS = ("layout", "raw")


def _letters() -> list[tuple[str, str, str]]:
    manifest = json.loads((GOLD / "manifest.json").read_text(encoding="utf-8"))
    out = [
        (entry["letter"], entry["rendering"], (GOLD / entry["path"]).read_text(encoding="utf-8"))
        for entry in manifest
        if entry["rendering"] in RENDERINGS
    ]
    return sorted(out)


LETTERS = _letters()
ORIGINALS = {(name, rendering): text for name, rendering, text in LETTERS}

#: An outcome marker: "<service>: Upheld" ending a line, or "Upheld" alone on its line (a page
#: break's form feed may open the line). Written here, independently of the engine's reader.
MARKER = re.compile(r"^[ \t\f]*(?:[^\n]*:[ \t]*)?(?:Upheld|Overturned)[ \t]*$", re.MULTILINE)
#: Sentence punctuation, maybe followed by a closing quote or bracket.
ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)\]]*\s*$")
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


#: A 2013 notice's item: a numbered determination ("k) MAXIMUS Federal Services, Inc. has
#: determined the request for ...", listed twice) or its own section ("k) Regarding the request
#: for ..."); the item count is the number of distinct k.
NOTICE_MARKER = re.compile(
    r"^[ \t\f]*(\d+)\)[ \t]+(?:MAXIMUS Federal Services, Inc\. has determined|Regarding the "
    r"request for)",
    re.MULTILINE,
)


def marker_count(text: str) -> int:
    return max(len(MARKER.findall(text)), len(set(NOTICE_MARKER.findall(text))))


def test_marker_regex_counts_the_gold_items() -> None:
    """On the untouched letters the regex finds exactly the labelled items (no more)."""
    for name, _rendering, text in LETTERS:
        label = json.loads((GOLD / "labels" / f"{name}.json").read_text(encoding="utf-8"))
        assert marker_count(text) == len(label["items"]), name
        assert all(ENDS_SENTENCE.search(item["rationale"]) for item in label["items"]), name


@dataclass(frozen=True)
class Mutation:
    kind: str  # "delete", "duplicate" or "replace"
    where: float  # position in the text, as a fraction of its length
    char: str = ""


def _line_at(text: str, where: float) -> tuple[list[str], int]:
    lines = text.split("\n")
    return lines, min(int(where * len(lines)), len(lines) - 1)


def apply(text: str, mutation: Mutation) -> str:
    if not text:
        return text
    if mutation.kind == "replace":
        pos = min(int(mutation.where * len(text)), len(text) - 1)
        return text[:pos] + mutation.char + text[pos + 1 :]
    lines, k = _line_at(text, mutation.where)
    if mutation.kind == "delete":
        del lines[k]
    else:
        lines.insert(k, lines[k])
    return "\n".join(lines)


mutations = st.builds(
    Mutation,
    kind=st.sampled_from(["delete", "duplicate", "replace"]),
    where=st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    char=st.sampled_from(list("lI1|0Oo.,:; e\n")),
)
letters = st.sampled_from([(name, rendering) for name, rendering, _ in LETTERS])
#: Where to cut: anywhere (mostly mid-word or mid-sentence), or at the end of a line (often a
#: sentence's or an item's end, where the engine's record may look complete).
cuts = st.tuples(
    st.sampled_from(["offset", "line"]), st.floats(min_value=0.05, max_value=1.0, allow_nan=False)
)


def cut_text(text: str, cut: tuple[str, float]) -> str:
    how, where = cut
    if how == "offset":
        return text[: int(where * len(text))]
    ends = [m.start() for m in re.finditer("\n", text)] or [len(text)]
    return text[: ends[min(int(where * len(ends)), len(ends) - 1)]]


def word_cut(original: str, text: str) -> str | None:
    """The partial word at the end of ``text`` when ``text`` is ``original`` cut mid-word."""
    if not text or len(text) >= len(original) or not original.startswith(text):
        return None
    if text[-1].isalnum() and original[len(text)].isalnum():
        return re.search(r"\w+$", text).group(0)  # type: ignore[union-attr]
    return None


def check_record(text: str, original: str) -> None:
    """The property: a typed error, a flagged record, or a record that is complete."""
    try:
        record = extract(text, backend="rules")
    except ImrError:
        return
    assert record.metadata is not None
    if record.metadata.needs_review:
        return
    markers = marker_count(text)
    assert len(record.items) >= markers, (
        f"an unflagged record with {len(record.items)} item(s) for a text showing {markers} "
        f"outcome marker(s)"
    )
    assert record.items, "an unflagged record without items"
    last = record.items[-1].rationale
    assert ENDS_SENTENCE.search(last), f"unflagged last rationale ends {last[-40:]!r}"
    partial = word_cut(original, text)
    for k, item in enumerate(record.items):
        rationale = item.rationale.rstrip()
        assert rationale, f"items[{k}] has an empty rationale"
        if partial is not None:
            # The letter was cut inside the word ending in ``partial``: no rationale ends there.
            assert not re.search(rf"(?<!\w){re.escape(partial)}$", rationale), (
                f"items[{k}].rationale ends mid-word: {rationale[-40:]!r}"
            )


@SETTINGS
@given(letter=letters, cut=cuts)
def test_truncated_letter(letter: tuple[str, str], cut: tuple[str, float]) -> None:
    original = ORIGINALS[letter]
    check_record(cut_text(original, cut), original)


def mutate(text: str, changes: list[Mutation]) -> str:
    for change in changes:
        text = apply(text, change)
    return text


@SETTINGS
@given(letter=letters, changes=st.lists(mutations, min_size=1, max_size=3))
def test_mutated_letter(letter: tuple[str, str], changes: list[Mutation]) -> None:
    original = ORIGINALS[letter]
    check_record(mutate(original, changes), original)


@SETTINGS
@given(letter=letters, changes=st.lists(mutations, max_size=2), cut=cuts)
def test_mutated_and_truncated_letter(
    letter: tuple[str, str], changes: list[Mutation], cut: tuple[str, float]
) -> None:
    original = ORIGINALS[letter]
    check_record(cut_text(mutate(original, changes), cut), original)


def test_duplicated_marker_line_example() -> None:
    original = ORIGINALS[("gA01", "layout")]
    line = "MRI of the left knee without contrast: Overturned\n"
    text = original.replace(line, line + line)
    assert marker_count(text) == 3
    check_record(text, original)


@SETTINGS
@given(letter=letters, which=st.integers(min_value=0, max_value=20))
def test_duplicated_marker_line(letter: tuple[str, str], which: int) -> None:
    original = ORIGINALS[letter]
    lines = original.split("\n")
    # A repeated "<service>: Upheld" line shows one more item. (A repeated lone "Upheld" line
    # names no service, so it is a stray word, not an item.)
    markers = [k for k, line in enumerate(lines) if MARKER.search(line) and ":" in line]
    assume(markers)
    k = markers[which % len(markers)]
    text = "\n".join([*lines[: k + 1], lines[k], *lines[k + 1 :]])
    check_record(text, original)
