"""Damage fuzz: the rules engine on seeded, ordinarily damaged letters; is anything wrong and
unflagged? Prints figures; asserts nothing.

    python benchmarks/damage_fuzz.py [--cases N] [--seeds K] [--seed S] [--kinds marks ...]
        [--letters gA01 CM16-0213037 ...] [--bases layout raw ocr] [--json out.json]
        [--show-wrong] [--case ID ...] [--generated N] [--engine rules|llm]

``--engine llm`` runs the model path instead (``backend="llm"``) against the local test
server, which answers every damaged text perfectly (the gold oracle's ``seen`` answers: long
values copied as the damaged text prints them): what slips through is the pipeline's checks
letting a damaged letter's wrong reading pass, never a model's mistake, and no figure of it is
a model's quality. Cases are scored as the rules engine's are.

Cases. Every letter of the gold set (``eval/gold``) and of ``../shared/corpus`` and
``../shared/corpus-more`` (skipped when absent), in three *base* renderings (``layout``: clean
``pdftotext -layout``; ``raw``: plain ``pdftotext``, header labels apart from their values;
``ocr``: mild OCR), crossed with every damage kind of :mod:`imr_llm.eval.damage` and ``--seeds``
seed rounds (seeded kinds get a case per round, the re-flows and blank-line removal one case in
all). ``--cases N`` takes an evenly spread, seeded sample of N cases from the grid (more rounds
are added when it is smaller). A case's id, ``source/letter/base/kind/seed``, reproduces it:
the damage's ``random.Random`` is seeded with the id (``--case ID`` runs one and shows what the
damage did and which values came out wrong). Beside the damaged cases, each base text runs
undamaged once, the *control* (kind ``none``): a base the engine already reads wrong makes its
damaged cases wrong too, and the report says how many wrong cases had a wrong control.

Each case runs ``imr_llm.extract(text, backend="rules")`` and ends in one of:

- ``typed_error``: an :class:`imr_llm.ImrError` (its ``code`` is counted);
- ``flagged_right`` / ``flagged_wrong``: a record with ``metadata.needs_review`` true;
- ``right``: unflagged, every value right;
- ``wrong_unflagged``: unflagged, some value wrong: the outcome the project promises never to
  give;
- ``untyped``: any other exception, a bug, reported loudly.

What "right" means (it must never flatter the engine; when in doubt a value is wrong):

- Short values equal the label exactly: case number, the five dates, priority, age, sex, each
  item's outcome, the item count; licensure states as a multiset of exact names. Specialties
  are compared as the eval harness compares them (``imr_llm.eval.scoring``: sets of
  lower-cased letters and digits), since the contract lets OCR damage be repaired there. The
  label is the truth whatever the damage did: a dropped header line or a cut letter leaves
  the engine a value it cannot know, so the record must be flagged (or refused), not guessed.
- Items are paired in letter order when the counts agree (Hungarian matching on the service,
  as the harness does, only to report fields when they do not).
- A long value (service, original request, both guidelines, rationale) is right when its
  :func:`imr_llm.form.text.comparison_key` equals the label's, or equals the *faithful copy*: what
  the label's passage reads in the damaged text. The passage is first placed in the base
  rendering with the gold oracle's word alignment (``imr_llm.testing.oracle.seen_letter``, the
  evidence benchmark's notion of "faithful": on OCR'd bases it leaves out page-number and fax
  lines and the OCR debris glued to the edge words). Then the damage's edits that fall inside
  the passage are applied, by role (:mod:`imr_llm.eval.damage`):

  - changed characters (look-alikes, marks, spacing, moved line breaks) are kept: a value
    that copies the damage is right, and so is one that repairs it to the label;
  - page furniture never belongs to a value: a banner, page number or repeated header line
    inside a rationale or a service is wrong;
  - an encoded character (quoted-printable's "=3D") is the letter's own: the value must hold
    the character, not its escape;
  - a dropped or repeated line inside a guideline or rationale is the text given and is
    accepted, but inside a service or an original request it is wrong (a service is a name
    the letter states once); a repeated line holding a form label (a guideline label,
    "Decision rationale", an outcome marker) never belongs to a value;
  - text lost to truncation leaves no faithful copy: only the label is right;
  - text inserted right after a guideline or rationale, before the next part (a repeated
    last line), may belong to it: the copies with and without it are both accepted;
  - a stray mark at a value's edge is never part of it: words of marks alone at either end
    are left out of the faithful copy, and a mark the damage put beside a passage stays
    outside it, so "~ Decision based on ..." and "~Decision based on ..." are wrong;
  - an edit that replaces text across a passage's edge leaves no telling which part is the
    value: only the label is right then.

  On an OCR'd base the alignment may draw a passage's edge a little differently from where
  the letter's form puts it, so a value is also right when it is the faithful copy plus OCR
  debris the *base* prints right beside it: up to three characters glued to the edge word
  ("‘The", "(CCT).."), or one split-off piece of a word of up to four characters with a
  letter in it ("A ccording", "R148CIM. pdf."). Never a word of marks alone, never a longer
  word, and never when a damage edit falls near that edge (moved whitespace aside, and pieces
  of the copy holding no letter or digit: quote marks, characters that print nothing). A
  passage the alignment cannot place is right only when it equals the label.

Figures: per kind and overall, the six outcomes; per base; for wrong-unflagged cases, the
fields that were wrong and the zones the damage fell in; and every wrong-unflagged case by id
(values with ``--show-wrong``: they are letter text). ``run_benchmark(...)`` returns it all as a
dict for tests.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from imr_llm import ImrError, extract
from imr_llm.eval.damage import (
    EXTRA_KINDS,
    KINDS,
    ROLE_ENCODED,
    ROLE_EXTRA,
    ROLE_FURNITURE,
    ROLE_LOST,
    ROLE_TEXT,
    UNSEEDED_KINDS,
    Damage,
    Edit,
    damage,
)
from imr_llm.eval.gold import load_cases
from imr_llm.eval.scoring import SCALAR_FIELDS, align_items
from imr_llm.form.text import collapse_ws, comparison_key, squash
from imr_llm.inputs.normalise import RUNNING_HEAD, inline_furniture, is_page_furniture
from imr_llm.record.models import ITEM_CONTRACT_FIELDS, DeterminationRecord
from imr_llm.testing.oracle import seen_letter

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO / "eval" / "gold"
SHARED = Path(os.environ.get("IMR_LLM_SHARED", REPO.parent / "shared"))
SHARED_SOURCES: tuple[str, ...] = ("corpus", "corpus-more")
BASES: tuple[str, ...] = ("layout", "raw", "ocr")
#: The folder of each base rendering: in the gold set's manifest, in ../shared.
GOLD_RENDERING = {"layout": "layout", "raw": "raw", "ocr": "ocr"}
SHARED_RENDERING = {"layout": "text-layout", "raw": "text-raw", "ocr": "text-ocr"}
DEFAULT_SEEDS = 2
CONTROL = "none"
OUTCOMES: tuple[str, ...] = (
    "typed_error",
    "flagged_right",
    "flagged_wrong",
    "right",
    "wrong_unflagged",
    "untyped",
)
LONG_FIELDS: tuple[str, ...] = tuple(f for f in ITEM_CONTRACT_FIELDS if f != "outcome")
#: Long values that name something (a service, the original request): read once, exactly.
NAME_FIELDS: frozenset[str] = frozenset({"service", "original_request"})
#: A repeated line holding one of these is form text, never part of a value.
_FORM_LABEL = re.compile(
    r"(?i)guideline\s*[:;]|decision\s+rationale|[:;]\s*(?:upheld|overturned)\b"
    r"|^\s*(?:upheld|overturned)\s*$",
    re.MULTILINE,
)


# --------------------------------------------------------------------------------------------
# Letters and their base renderings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    """One labelled letter and the files of its base renderings."""

    source: str  # gold | corpus | corpus-more | generated
    name: str
    label: dict[str, Any]
    paths: dict[str, Path]


#: Where generated letters' texts are written for the run (removed at exit).
_GENERATED_DIR: tempfile.TemporaryDirectory[str] | None = None


def generated_letters(numbers: Iterable[int]) -> list[Letter]:
    """Letters built by the generator of ``tests/test_generated_letters.py`` (seeded parts:
    headers in the layout, raw or seed style or re-filled whole, credentials lists and
    sentences, summaries, wrapped item headers, partly certified requests, page breaks with
    furniture), each with its label as written. Their one base is named ``layout``."""
    global _GENERATED_DIR
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.test_generated_letters import generated_letter

    if _GENERATED_DIR is None:
        _GENERATED_DIR = tempfile.TemporaryDirectory(prefix="imr-llm-generated-")
    out = []
    for n in numbers:
        text, label = generated_letter(n)
        path = Path(_GENERATED_DIR.name) / f"g{n}.txt"
        path.write_text(text, encoding="utf-8")
        out.append(Letter("generated", f"g{n}", label, {"layout": path}))
    return out


def load_letters(
    letters: Sequence[str] | None = None, shared: Path | None = None, generated: int = 0
) -> list[Letter]:
    """The gold letters, then those of ``shared``'s corpora that are present, then
    ``generated`` generated letters (:func:`generated_letters`)."""
    out: list[Letter] = []
    by_name: dict[str, Letter] = {}
    for case in load_cases(GOLD, renderings=list(GOLD_RENDERING.values())):
        if letters and case.letter not in letters:
            continue
        letter = by_name.get(case.letter)
        if letter is None:
            letter = by_name[case.letter] = Letter("gold", case.letter, case.label, {})
            out.append(letter)
        base = next(b for b, r in GOLD_RENDERING.items() if r == case.rendering)
        letter.paths[base] = case.path
    shared = SHARED if shared is None else shared
    for source in SHARED_SOURCES:
        labels = shared / source / "labels"
        if not labels.is_dir():
            continue
        for path in sorted(labels.glob("*.json")):
            if letters and path.stem not in letters:
                continue
            paths = {
                base: shared / source / folder / f"{path.stem}.txt"
                for base, folder in SHARED_RENDERING.items()
            }
            paths = {base: p for base, p in paths.items() if p.is_file()}
            label = json.loads(path.read_text(encoding="utf-8"))
            out.append(Letter(source, path.stem, label, paths))
    if generated:
        out += [x for x in generated_letters(range(generated)) if not letters or x.name in letters]
    return out


# --------------------------------------------------------------------------------------------
# Where each long value sits in a base rendering
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A label passage's place in a base text: ``start``-``end`` (offsets of its first and last
    words), ``skip`` (word ranges inside it that are page furniture the oracle leaves out),
    ``edges`` (OCR debris cut off the edge words), ``gap_end`` (where the next word that is
    not marks alone starts)."""

    start: int
    end: int
    skip: tuple[tuple[int, int], ...]
    edges: tuple[tuple[int, int], ...]
    gap_end: int


def _span(words: list[re.Match[str]], first: int, last: int, copied: str, size: int) -> Span | None:
    """The span of the oracle's aligned words ``first``..``last`` whose copy is ``copied``;
    None when the copy cannot be matched word for word (then only the label is right)."""
    window = words[first : last + 1]
    kept = copied.split(" ")
    if not window or not kept or not kept[0]:
        return None
    head = tail = 0
    skip: list[tuple[int, int]] = []
    if len(window) == 1:
        if len(kept) != 1 or kept[0] not in window[0].group():
            return None
        head = window[0].group().find(kept[0])
        tail = len(window[0].group()) - head - len(kept[0])
    else:
        if len(kept) < 2:
            return None
        w0, wn = window[0].group(), window[-1].group()
        if not w0.endswith(kept[0]) or not wn.startswith(kept[-1]):
            return None
        head, tail = len(w0) - len(kept[0]), len(wn) - len(kept[-1])
        j = 1
        for m in window[1:-1]:
            if j < len(kept) - 1 and m.group() == kept[j]:
                j += 1
            else:
                skip.append((m.start(), m.end()))
        if j != len(kept) - 1:
            return None
    start, end = window[0].start(), window[-1].end()
    edges = tuple(r for r in ((start, start + head), (end - tail, end)) if r[0] < r[1])
    after = (m for m in words[last + 1 :] if any(ch.isalnum() for ch in m.group()))
    gap_end = next((m.start() for m in after), size)  # marks alone are debris, not the next part
    return Span(start, end, tuple(skip), edges, gap_end)


def passage_spans(text: str, label: dict[str, Any]) -> dict[str, Span | None]:
    """Each long value of ``label`` ("items[2].rationale") placed in ``text``, or None."""
    words = list(re.finditer(r"\S+", text))
    seen = seen_letter(text, label)
    if len(collapse_ws(text).split(" ")) != len(words):
        return dict.fromkeys(seen.passages)  # word counts disagree: place nothing
    out: dict[str, Span | None] = {}
    furniture = _furniture_lines(text)
    for path, passage in seen.passages.items():
        hit = passage.aligned
        span = (
            None
            if hit is None
            else _span(words, hit.first_word, hit.last_word, passage.text, len(text))
        )
        if span is not None and furniture:
            # Page furniture inside the passage (a banner or running head where a page broke
            # it) is never part of the value, whatever the oracle's copy kept of it.
            extra = [
                (m.start(), m.end())
                for m in words[hit.first_word + 1 : hit.last_word]  # type: ignore[union-attr]
                if any(a <= m.start() < b for a, b in furniture)
            ]
            span = replace(span, skip=tuple(sorted(set(span.skip) | set(extra))))
        out[path] = span
    return out


def _furniture_lines(text: str) -> list[tuple[int, int]]:
    """Where the lines of page furniture are in ``text``: page numbers, fax banners, page
    markers, and running heads (a case number alone, or the header's first line again)."""
    # Furniture the normaliser splits off inside a line (a fax banner after a rationale's last
    # words, "Page 4 of 5" where a page broke a sentence): only its own words, so that the
    # line's words of the letter stay in the copy.
    inline = [(m.start(), m.end()) for m in inline_furniture(text)]
    out: list[tuple[int, int]] = []
    first_case = text.find("Case Number")
    header_line = None
    if first_case >= 0:
        end = text.find("\n", first_case)
        header_line = " ".join(text[first_case : len(text) if end < 0 else end].split())
    at = 0
    for line in text.split("\n"):
        core = line.strip(" \f")
        if core and (
            is_page_furniture(core)
            or RUNNING_HEAD.match(core)
            or (at > first_case >= 0 and " ".join(core.split()) == header_line)
        ):
            inside = [(a, b) for a, b in inline if at <= a < at + len(line) or a < at < b]
            out.extend(inside or [(at, at + len(line))])
        at += len(line) + 1
    out.extend(span for span in inline if not any(a <= span[0] < b for a, b in out))
    return sorted(out)


def _faithful(
    text: str, span: Span, edits: Sequence[Edit], name: str, *, extend: bool
) -> str | None:
    """What the passage at ``span`` of ``text`` reads once ``edits`` are applied, by the rules
    of the module docstring; None when it has no faithful copy (only the label is right)."""
    allowed = {ROLE_TEXT} if name in NAME_FIELDS else {ROLE_TEXT, ROLE_LOST, ROLE_EXTRA}
    s, e = span.start, span.end
    ops: list[tuple[int, int, str]] = []
    for edit in edits:
        if edit.role in (ROLE_FURNITURE, ROLE_ENCODED):
            # Page furniture is never part of a value: the text without it is right; an
            # encoded character is the letter's own: the text as it was is right.
            continue
        a, b = edit.start, edit.end
        if a == b:
            if s < a < e or (extend and e <= a <= span.gap_end):
                if edit.role not in allowed:
                    return None
                if edit.role == ROLE_EXTRA and _FORM_LABEL.search(edit.new):
                    return None
                ops.append((a, a, edit.new))
            continue
        lo, hi = max(a, s), min(b, e)
        if lo >= hi:
            continue
        if edit.role not in allowed:
            return None
        if (lo, hi) == (a, b):
            ops.append((a, b, edit.new))
        elif not edit.new:
            ops.append((lo, hi, ""))  # a deletion reaching past the passage: its part inside
        elif not edit.new.strip() and not text[a:b].strip():
            ops.append((lo, hi, " "))  # whitespace across the passage's edge
        else:
            return None  # a replacement across the edge: no telling which part is the value
    # An edit inside furniture the passage skips (a look-alike in a running head) changes
    # no word of the value: the furniture is left out whatever it reads.
    ops = [
        (x, y, new)
        for x, y, new in ops
        if not any((a <= x < y <= b) or (a < x == y < b) for a, b in span.skip)
    ]
    for a, b in (*span.skip, *span.edges):
        if any(x < b and a < y or (x == y and a < x < b) for x, y, _ in ops):
            return None
        ops.append((a, b, ""))
    ops.sort(key=lambda op: (op[0], op[1]))
    stop = max([e, *(a for a, b, _ in ops if a == b)])
    out: list[str] = []
    position = s
    for a, b, new in ops:
        if a < position:
            return None
        out.append(text[position:a])
        out.append(new)
        position = b
    out.append(text[position:stop])
    copy = collapse_ws("".join(out))
    return copy or None


def strip_edge_marks(text: str) -> str:
    """``text`` without the words of marks alone ("~", "_", "'") at its ends: a stray mark
    beside a passage is never part of its value."""
    words = text.split(" ")
    while words and not any(ch.isalnum() for ch in words[0]):
        words.pop(0)
    while words and not any(ch.isalnum() for ch in words[-1]):
        words.pop()
    return " ".join(words)


def accepted_values(
    text: str, span: Span | None, edits: Sequence[Edit], name: str, label_value: str
) -> set[str]:
    """Comparison keys a long value may have to count as right: the label's, and the faithful
    copy's (with and without what was inserted right after a guideline or rationale)."""
    keys = {comparison_key(label_value)}
    if span is None:
        return keys
    for extend in (False, True) if name not in NAME_FIELDS else (False,):
        copy = _faithful(text, span, edits, name, extend=extend)
        if copy is not None and strip_edge_marks(copy):
            keys.add(comparison_key(strip_edge_marks(copy)))
    return keys


#: OCR debris of an OCR'd base beside a passage, which a faithful copy may keep: characters
#: glued to the passage's edge word ("‘The", "(CCT).."), at most this many...
GLUED_CHARS = 3
#: ... or one piece of a split word with a letter in it ("A ccording", "R148CIM. pdf."), at
#: most this many characters, on each side.
FRAGMENT_CHARS = 4
#: How far from a passage's edges a damage edit makes its OCR debris unknowable.
FRAGMENT_REACH = 40


def _fragment_ok(piece: str, context: str, at_end: bool) -> bool:
    """``piece``, from a value's edge, is OCR debris the base prints right beside the
    passage: ``context`` is the base text before (``at_end``) or after the passage. A word of
    marks alone (". Decision", "_ Electrical", ": ~") or a whole word of garble ("Leaves")
    is not: those are never part of a value."""
    if not piece:
        return True
    glued = not (piece.endswith(" ") if at_end else piece.startswith(" "))
    word = piece.strip()
    if " " in word:
        return False
    if glued:
        if len(word) > GLUED_CHARS:
            return False
        return context.endswith(word) if at_end else context.startswith(word)
    if len(word) > FRAGMENT_CHARS or not any(ch.isalpha() for ch in word):
        return False
    near = context.rstrip() if at_end else context.lstrip()
    if near == context:
        return False  # the base has no space there: not a separate piece
    return (
        near.endswith(word) and (len(near) == len(word) or near[-len(word) - 1].isspace())
        if at_end
        else near.startswith(word) and (len(near) == len(word) or near[len(word)].isspace())
    )


#: A form label: what separates one value's text from the next.
_LABEL_BETWEEN = re.compile(
    r"guideline\s*[:;]|rationale\s*[:;]|Rationale for the Decision|based (?:its|his/her) decision",
    re.IGNORECASE,
)


_ALNUM = re.compile(r"[^\W_]")


def with_ocr_fragments(
    value: str, text: str, span: Span | None, edits: Sequence[Edit], name: str
) -> bool:
    """On an OCR'd base: ``value`` is the passage's faithful copy plus OCR debris the base
    prints right beside it (see :func:`_fragment_ok`), where the oracle's alignment drew the
    passage's edge a little differently ("A ccording" where the aligned copy starts at
    "ccording"). Only base text counts, never damage: no edit but moved whitespace may fall
    near an edge where debris is taken."""
    if span is None:
        return False
    head = span.edges[0][1] if span.edges and span.edges[0][0] == span.start else span.start
    tail = span.edges[-1][0] if span.edges and span.edges[-1][1] == span.end else span.end
    near: list[tuple[int, int]] = []  # edits near an edge, beside the passage
    # An edit inside the passage's own label near its head moves where a reader starts the
    # value: any fragment there is then unknowable, however far from the edge.
    window = max(0, head - FRAGMENT_REACH)
    labels = [m.span() for m in _LABEL_BETWEEN.finditer(text, window, head)]
    in_label = False
    for edit in edits:
        if not edit.new.strip() and not text[edit.start : edit.end].strip():
            continue
        if edit.role == ROLE_ENCODED or (
            edit.role == ROLE_FURNITURE and edit.start == edit.end and not _ALNUM.search(edit.new)
        ):
            continue  # encoded characters, quote marks, invisible characters: never debris
        a, b = edit.start, max(edit.end, edit.start + 1)
        # An edit on the far side of a form label (the passage's own, or the next one's) is in
        # another value: it cannot put debris beside this passage's edge.
        if a < head and b > head - FRAGMENT_REACH and not _LABEL_BETWEEN.search(text[b:head]):
            near.append((a, b))
            in_label = in_label or any(a < y and x < b for x, y in labels)
        if tail - 1 < a < tail + FRAGMENT_REACH and not _LABEL_BETWEEN.search(text[tail:a]):
            near.append((a, b))
    core = _faithful(text, span, edits, name, extend=False)
    if core is None or not strip_edge_marks(core):
        return False
    got, key = comparison_key(value), comparison_key(strip_edge_marks(core))
    at = got.find(key)
    while at >= 0:
        before, after = got[:at], got[at + len(key) :]
        # Debris is taken on a side only where no edit fell between it and the passage's edge
        # (a space's width beside it): an edit after the passage says nothing of a fragment
        # before it, nor one a word further off ("The original rcquest, A cute ...": "A" is
        # the base's own).
        low, high = head - len(before) - 1, tail + len(after) + 1
        if (before and (in_label or any(a < head and b > low for a, b in near))) or (
            after and any(tail - 1 <= a < high for a, _ in near)
        ):
            at = got.find(key, at + 1)
            continue
        if _fragment_ok(
            before, text[max(0, head - FRAGMENT_REACH) : head], at_end=True
        ) and _fragment_ok(after, text[tail : tail + FRAGMENT_REACH], at_end=False):
            return True
        at = got.find(key, at + 1)
    return False


# --------------------------------------------------------------------------------------------
# Comparing a record with its label
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wrong:
    """One wrong value: its field ("items.rationale"), path, what the record had, what the
    label has, and for a long value the faithful copy of the damaged text when it differs."""

    field: str
    path: str
    got: Any
    want: Any
    faithful: str | None = None


def _get(record: dict[str, Any], path: str) -> Any:
    head, _, tail = path.partition(".")
    value = record.get(head)
    return value.get(tail) if tail and isinstance(value, dict) else value


def compare(
    got: dict[str, Any],
    label: dict[str, Any],
    base_text: str,
    spans: dict[str, Span | None],
    edits: Sequence[Edit],
    ocr: bool = False,
) -> list[Wrong]:
    """Every value of the contract record ``got`` that is not right (see the docstring);
    ``ocr``: the base is OCR'd, so a passage may carry OCR debris from beside it."""
    wrong: list[Wrong] = []
    for name in SCALAR_FIELDS:
        if _get(got, name) != _get(label, name):
            wrong.append(Wrong(name, name, _get(got, name), _get(label, name)))
    name = "reviewer.licensure_states"
    if sorted(_get(got, name) or []) != sorted(_get(label, name) or []):
        wrong.append(Wrong(name, name, _get(got, name), _get(label, name)))
    name = "reviewer.specialties"
    if {squash(s) for s in _get(got, name) or []} != {squash(s) for s in _get(label, name) or []}:
        wrong.append(Wrong(name, name, _get(got, name), _get(label, name)))
    got_items, want_items = got.get("items") or [], label.get("items") or []
    if len(got_items) == len(want_items):
        pairs = [(k, k) for k in range(len(want_items))]
    else:
        wrong.append(Wrong("items.count", "items", len(got_items), len(want_items)))
        pairs = [(r, c) for r, c, _ in align_items(got_items, want_items)]
    for r, c in pairs:
        g, w = got_items[r], want_items[c]
        if g["outcome"] != w["outcome"]:
            wrong.append(Wrong("items.outcome", f"items[{c}].outcome", g["outcome"], w["outcome"]))
        for name in LONG_FIELDS:
            path = f"items[{c}].{name}"
            value, want = g.get(name), w.get(name)
            if want is None:
                right = value is None
            else:
                span = spans.get(path)
                keys = accepted_values(base_text, span, edits, name, want)
                right = value is not None and (
                    comparison_key(value) in keys
                    or (ocr and with_ocr_fragments(value, base_text, span, edits, name))
                )
            if not right:
                copy = None
                if want is not None and spans.get(path) is not None:
                    copy = _faithful(base_text, spans[path], edits, name, extend=False)
                    copy = strip_edge_marks(copy) if copy else None
                    if copy is not None and comparison_key(copy) == comparison_key(want):
                        copy = None
                wrong.append(Wrong(f"items.{name}", path, value, want, copy))
    return wrong


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseSpec:
    """One case of the grid: a letter, a base rendering, a damage kind, a seed."""

    letter: Letter
    base: str
    kind: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.letter.source}/{self.letter.name}/{self.base}/{self.kind}/{self.seed}"


@dataclass
class CaseResult:
    """What one case ended as, and why."""

    id: str
    kind: str
    base: str
    source: str
    outcome: str
    code: str | None = None
    wrong: list[Wrong] = field(default_factory=list)
    zones: tuple[str, ...] = ()
    note: str = ""
    touched: tuple[str, ...] = ()  # long values the damage's edits fell inside
    reasons: list[str] = field(default_factory=list)


class Bases:
    """Base texts and their passage spans, read and aligned once each."""

    def __init__(self) -> None:
        self._texts: dict[tuple[str, str], str] = {}
        self._spans: dict[tuple[str, str], dict[str, Span | None]] = {}

    def text(self, letter: Letter, base: str) -> str:
        key = (letter.name, base)
        if key not in self._texts:
            self._texts[key] = letter.paths[base].read_text(encoding="utf-8")
        return self._texts[key]

    def spans(self, letter: Letter, base: str) -> dict[str, Span | None]:
        key = (letter.name, base)
        if key not in self._spans:
            self._spans[key] = passage_spans(self.text(letter, base), letter.label)
        return self._spans[key]


def make_damage(spec: CaseSpec, text: str) -> Damage:
    """The case's damage: ``spec.kind`` applied with a generator seeded by the case id."""
    if spec.kind == CONTROL:
        return Damage(CONTROL, text, ())
    return damage(spec.kind, text, random.Random(spec.id))


def _touched(spans: dict[str, Span | None], edits: Iterable[Edit]) -> tuple[str, ...]:
    out = []
    for path, span in spans.items():
        if span is None:
            continue
        if any(
            (a < span.end and span.start < b) or (a == b and span.start < a < span.end)
            for a, b in ((edit.start, edit.end) for edit in edits)
        ):
            out.append(path)
    return tuple(out)


#: The readers a run may use: the rules engine, or the model path with perfect answers.
ENGINES = ("rules", "llm")


@contextmanager
def _rules() -> Iterator[Callable[[str], DeterminationRecord]]:
    yield rules_read


@contextmanager
def model_reader(
    specs: Sequence[CaseSpec], bases: Bases
) -> Iterator[Callable[[str], DeterminationRecord]]:
    """A reader that runs the model path (``backend="llm"``) against the local test server,
    which answers each damaged text perfectly: the gold oracle's ``seen`` answers, long values
    copied as the damaged text prints them (:class:`imr_llm.testing.oracle.GoldResponder`).
    What it measures is the pipeline's checks of right answers on damaged letters, never a
    model's quality. Every case's text is known to the server before the first request."""
    import openai  # the model path's dependencies, loaded only for this reader

    from imr_llm.config import Settings
    from imr_llm.testing.fake_openai import FakeOpenAIServer
    from imr_llm.testing.oracle import GoldResponder

    texts: dict[str, dict[str, Any]] = {}
    for spec in specs:
        texts[make_damage(spec, bases.text(spec.letter, spec.base)).text] = spec.letter.label
    settings = Settings(max_attempts=3, strict=False)
    with FakeOpenAIServer() as server:
        server.responder = GoldResponder(texts, mode="seen")
        client = openai.OpenAI(base_url=server.base_url, api_key="oracle")
        yield lambda text: extract(text, backend="llm", client=client, settings=settings)


def rules_read(text: str) -> DeterminationRecord:
    """The rules engine's record of ``text`` (the default reader of :func:`run_case`)."""
    return extract(text, backend="rules")


def run_case(
    spec: CaseSpec, bases: Bases, read: Callable[[str], DeterminationRecord] = rules_read
) -> CaseResult:
    """Damage the base text, read it with ``read`` (the rules engine unless told), classify
    the result."""
    text = bases.text(spec.letter, spec.base)
    spans = bases.spans(spec.letter, spec.base)
    dmg = make_damage(spec, text)
    result = CaseResult(
        spec.id, spec.kind, spec.base, spec.letter.source, "right",
        zones=dmg.zones, note=dmg.note, touched=_touched(spans, dmg.edits),
    )  # fmt: skip
    try:
        record = read(dmg.text)
    except ImrError as error:
        result.outcome, result.code = "typed_error", error.code
        return result
    except Exception as error:  # noqa: BLE001 - an untyped exception is a bug to report
        result.outcome, result.code = "untyped", f"{type(error).__name__}: {error}"[:200]
        return result
    result.wrong = compare(
        record.contract_dict(), spec.letter.label, text, spans, dmg.edits, spec.base == "ocr"
    )
    flagged = record.metadata is not None and record.metadata.needs_review
    if flagged:
        result.reasons = list(record.metadata.review_reasons)  # type: ignore[union-attr]
        result.outcome = "flagged_wrong" if result.wrong else "flagged_right"
    else:
        result.outcome = "wrong_unflagged" if result.wrong else "right"
    return result


def case_grid(
    letters: Sequence[Letter],
    kinds: Sequence[str],
    bases: Sequence[str],
    seeds: int,
    first_seed: int = 0,
) -> list[CaseSpec]:
    """Every (base, letter, kind, seed): seed rounds outermost, unseeded kinds once."""
    out: list[CaseSpec] = []
    for seed in range(first_seed, first_seed + seeds):
        for base in bases:
            for letter in letters:
                if base not in letter.paths:
                    continue
                for kind in kinds:
                    if kind in UNSEEDED_KINDS and seed != first_seed:
                        continue
                    out.append(CaseSpec(letter, base, kind, seed))
    return out


def select_cases(
    letters: Sequence[Letter],
    kinds: Sequence[str],
    bases: Sequence[str],
    *,
    cases: int | None = None,
    seeds: int = DEFAULT_SEEDS,
    first_seed: int = 0,
) -> list[CaseSpec]:
    """The grid of ``seeds`` rounds, or an evenly spread seeded sample of ``cases`` from it
    (with as many rounds as it takes to have that many)."""
    grid = case_grid(letters, kinds, bases, seeds, first_seed)
    if cases is None:
        return grid
    rounds = seeds
    while len(grid) < cases and any(k not in UNSEEDED_KINDS for k in kinds) and grid:
        rounds += 1
        grid = case_grid(letters, kinds, bases, rounds, first_seed)
    if cases >= len(grid):
        return grid
    picked = sorted(random.Random(first_seed).sample(range(len(grid)), cases))
    return [grid[k] for k in picked]


def parse_case_id(case_id: str, letters: Sequence[Letter]) -> CaseSpec:
    source, name, base, kind, seed = case_id.split("/")
    letter = next((x for x in letters if x.name == name and x.source == source), None)
    if letter is None or base not in letter.paths:
        raise SystemExit(f"no letter {source}/{name} with a {base} rendering")
    if kind != CONTROL and kind not in KINDS and kind not in EXTRA_KINDS:
        raise SystemExit(f"unknown kind {kind!r}")
    return CaseSpec(letter, base, kind, int(seed))


# --------------------------------------------------------------------------------------------
# A rough diagnosis of wrong-unflagged cases
# --------------------------------------------------------------------------------------------

_FURNITURE_TEXT = re.compile(r"FAX|[@pP]\.?0\d\d/0\d\d|Page \d|CM\d\d-\d{7}|Case Number")
_DATES = frozenset(
    {"date_assigned", "date_of_injury", "decision_date", "ur_denial_date", "application_received"}
)
_NAMES = re.compile(r"\.(?:service|original_request)$")
_MARK_START = re.compile(r"[^A-Za-z0-9(\"]")


def diagnose(result: CaseResult, control_wrong: Collection[str] = ()) -> str:
    """A rough category for a wrong-unflagged case, from its kind and its wrong values: what
    the engine did wrong, in words a fix can start from. ``control_wrong``: the paths the
    engine already reads wrong on the undamaged base. Heuristic; the case list is the truth."""
    kind, wrong = result.kind, result.wrong
    paths = {w.path for w in wrong}
    if paths and paths <= set(control_wrong):
        return "control: the undamaged base is already read wrong on these values"
    fields = {re.sub(r"\[\d+\]", "", w.path) for w in wrong}
    if kind == "truncate":
        if "items" in fields:
            return "truncate: items after the cut lost, the rest looks complete, no flag"
        if fields == {"items.rationale"}:
            return "truncate: the last rationale cut short, no flag"
    furniture = sorted(
        {
            "guideline" if "guideline" in w.field else w.field.removeprefix("items.")
            for w in wrong
            if isinstance(w.got, str)
            and _FURNITURE_TEXT.search(w.got)
            and not _FURNITURE_TEXT.search(str(w.want))
        }
    )
    if furniture:
        return f"{kind}: page furniture kept inside {'/'.join(furniture)} values"
    if fields & _DATES and fields <= _DATES | {"patient.age", "patient.sex"}:
        if result.base == "raw":
            return f"{kind}: plain-pdftotext header, dates paired with the wrong labels, no flag"
        return f"{kind}: a header date wrong or missing, no flag"
    if any(re.search(r"guideline\s*[:;]", str(w.got), re.IGNORECASE) for w in wrong):
        return f"{kind}: a repeated guideline line, label and all, kept inside the guideline"
    if fields <= {"patient.age", "patient.sex", "date_of_injury"}:
        return f"{kind}: age / sex / injury date null, no flag"
    if fields == {"case_number"}:
        return f"{kind}: case number null, no flag"
    if fields == {"reviewer.specialties"}:
        return f"{kind}: a specialty damaged or split into non-specialties, unflagged"
    if all(
        _NAMES.search(w.path)
        and isinstance(w.got, str)
        and isinstance(w.want, str)
        and w.want in w.got
        and not re.sub(r"\W", "", w.got.replace(w.want, "", 1))
        for w in wrong
    ):
        return f"{kind}: a service keeps the marker's colon or a stray mark beside it"
    if all(
        isinstance(w.got, str) and _MARK_START.match(w.got) and not _MARK_START.match(str(w.want))
        for w in wrong
    ):
        return f"{kind}: a stray mark at a passage's start kept in the value"
    if any(_NAMES.search(w.path) for w in wrong):
        return f"{kind}: a service or original request wrong (other)"
    return f"{kind}: other ({', '.join(sorted(fields))})"


# --------------------------------------------------------------------------------------------
# The run and its report
# --------------------------------------------------------------------------------------------


def _tally(results: Iterable[CaseResult]) -> dict[str, int]:
    out = dict.fromkeys(OUTCOMES, 0)
    out["cases"] = 0
    for r in results:
        out[r.outcome] += 1
        out["cases"] += 1
    return out


@contextmanager
def _quiet_engine() -> Iterator[None]:
    """The engine's warnings silenced for the run (thousands of damaged letters), and the
    logger's level put back after, so a caller's logging (a test's) is left as it was."""
    logger = logging.getLogger("imr_llm")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def run_benchmark(
    *,
    cases: int | None = None,
    seeds: int = DEFAULT_SEEDS,
    first_seed: int = 0,
    kinds: Sequence[str] | None = None,
    letters: Sequence[str] | None = None,
    bases: Sequence[str] | None = None,
    shared: Path | None = None,
    control: bool = True,
    values: bool = False,
    generated: int = 0,
    engine: str = "rules",
) -> dict[str, Any]:
    """Run the fuzz and return its figures (see the module docstring). ``values``: keep the
    got/want values of wrong cases (letter text) in the report; ``generated``: add that many
    generated letters (:func:`generated_letters`); ``engine``: "rules", or "llm" for the model
    path answered perfectly by the local test server (:func:`model_reader`)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    with _quiet_engine():
        return _run(
            cases, seeds, first_seed, kinds, letters, bases, shared, control, values, generated,
            engine,
        )  # fmt: skip


def _run(
    cases: int | None,
    seeds: int,
    first_seed: int,
    kinds: Sequence[str] | None,
    letters: Sequence[str] | None,
    bases: Sequence[str] | None,
    shared: Path | None,
    control: bool,
    values: bool,
    generated: int = 0,
    engine: str = "rules",
) -> dict[str, Any]:
    kinds = list(kinds or KINDS)
    bases = list(bases or BASES)
    all_letters = load_letters(letters, shared, generated)
    specs = select_cases(all_letters, kinds, bases, cases=cases, seeds=seeds, first_seed=first_seed)
    store = Bases()
    started = time.process_time()
    control_specs: list[CaseSpec] = []
    if control:
        for key in dict.fromkeys((s.letter.source, s.letter.name, s.base) for s in specs):
            letter = next(x for x in all_letters if (x.source, x.name) == key[:2])
            control_specs.append(CaseSpec(letter, key[2], CONTROL, 0))
    with model_reader(control_specs + specs, store) if engine == "llm" else _rules() as read:
        controls = {
            (c.letter.source, c.letter.name, c.base): run_case(c, store, read)
            for c in control_specs
        }
        results = [run_case(spec, store, read) for spec in specs]
    cpu = time.process_time() - started

    def base_wrong(r: CaseResult) -> bool:
        source, name, base = r.id.split("/")[:3]
        c = controls.get((source, name, base))
        return c is not None and c.outcome in ("wrong_unflagged", "flagged_wrong", "untyped")

    by_kind = {k: _tally(r for r in results if r.kind == k) for k in kinds}
    by_base = {b: _tally(r for r in results if r.base == b) for b in bases}
    by_source = {
        s: _tally(r for r in results if r.source == s)
        for s in dict.fromkeys(x.source for x in all_letters)
    }
    wrong = [r for r in results if r.outcome == "wrong_unflagged"]
    overall = _tally(results)
    for tallies, attr in ((by_kind, "kind"), (by_base, "base"), (by_source, "source")):
        for key, tally in tallies.items():
            tally["wrong_unflagged_base_wrong"] = sum(
                base_wrong(r) for r in wrong if getattr(r, attr) == key
            )
    overall["wrong_unflagged_base_wrong"] = sum(base_wrong(r) for r in wrong)
    fields: Counter[str] = Counter()
    fields_by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    zones: Counter[str] = Counter()
    for r in wrong:
        names = set(w.field for w in r.wrong)
        fields.update(names)
        fields_by_kind[r.kind].update(names)
        zones.update(r.zones)
    diagnosis: dict[str, list[str]] = defaultdict(list)
    for r in wrong:
        source, name, base = r.id.split("/")[:3]
        control = controls.get((source, name, base))
        seen = [w.path for w in control.wrong] if control is not None else []
        diagnosis[diagnose(r, seen)].append(r.id)
    codes = Counter(r.code for r in results if r.outcome == "typed_error")
    untyped = [{"id": r.id, "error": r.code} for r in results if r.outcome == "untyped"]

    def describe(r: CaseResult) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": r.id, "kind": r.kind, "note": r.note, "zones": list(r.zones),
            "touched": list(r.touched), "base_wrong": base_wrong(r),
            "fields": [w.path for w in r.wrong],
        }  # fmt: skip
        if values:
            out["values"] = [
                {"path": w.path, "got": w.got, "want": w.want, "faithful": w.faithful}
                for w in r.wrong
            ]
        return out

    return {
        "engine": engine,
        "cases": len(results),
        "cpu_seconds": round(cpu, 1),
        "letters": dict(Counter(x.source for x in all_letters)),
        "kinds": kinds,
        "bases": bases,
        "seeds": [first_seed, first_seed + max(s.seed for s in specs) - first_seed + 1]
        if specs
        else [],
        "overall": overall,
        "by_kind": by_kind,
        "by_base": by_base,
        "by_source": by_source,
        "control": {
            "by_base": {b: _tally(c for k, c in controls.items() if k[2] == b) for b in bases},
            "wrong": [describe(c) for c in controls.values() if c.wrong or c.outcome == "untyped"],
        },
        "wrong_fields": dict(fields.most_common()),
        "wrong_fields_by_kind": {k: dict(v.most_common()) for k, v in fields_by_kind.items()},
        "wrong_zones": dict(zones.most_common()),
        "typed_error_codes": dict(codes.most_common()),
        "untyped": untyped,
        "wrong_unflagged": [describe(r) for r in wrong],
        "diagnosis": {
            k: {"cases": len(v), "ids": v}
            for k, v in sorted(diagnosis.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        },
    }


def _row(name: str, t: dict[str, int]) -> str:
    n = t["cases"] or 1
    return (
        f"{name:<15} {t['cases']:>6} {t['typed_error']:>6} {t['flagged_right']:>7} "
        f"{t['flagged_wrong']:>7} {t['right']:>6} {t['wrong_unflagged']:>6} "
        f"{100 * t['wrong_unflagged'] / n:>6.2f}% {t.get('wrong_unflagged_base_wrong', 0):>5} "
        f"{t['untyped']:>5}"
    )


def format_report(report: dict[str, Any], show_values: bool = False) -> str:
    head = (
        f"{'':<15} {'cases':>6} {'typed':>6} {'flag-ok':>7} {'flag-x':>7} {'right':>6} "
        f"{'WRONG':>6} {'wrong%':>7} {'ctl-x':>5} {'UNTYP':>5}"
    )
    engine = (
        "rules engine"
        if report.get("engine", "rules") == "rules"
        else "model path, answered perfectly by the local test server (not a model's quality)"
    )
    lines = [
        f"damage fuzz, {engine}: {report['cases']} cases, {report['cpu_seconds']} s CPU; "
        f"letters {report['letters']}; bases {', '.join(report['bases'])}; seeds "
        f"{report['seeds']}",
        "WRONG = wrong values and no needs_review flag; ctl-x = of those, cases whose undamaged "
        "base the engine already reads wrong; UNTYP = untyped exceptions (bugs)",
        "",
        head,
    ]
    lines += [_row(k, t) for k, t in report["by_kind"].items()]
    lines.append(_row("overall", report["overall"]))
    lines += ["", "per base:", head]
    lines += [_row(b, t) for b, t in report["by_base"].items()]
    lines += ["", "per source:", head]
    lines += [_row(s, t) for s, t in report["by_source"].items()]
    lines += ["", "control (each base undamaged):", head]
    lines += [_row(b, t) for b, t in report["control"]["by_base"].items()]
    if report["typed_error_codes"]:
        lines += ["", "typed error codes: " + ", ".join(
            f"{c} {n}" for c, n in report["typed_error_codes"].items()
        )]  # fmt: skip
    if report["untyped"]:
        lines += ["", f"UNTYPED EXCEPTIONS ({len(report['untyped'])}), bugs:"]
        lines += [f"  {u['id']}: {u['error']}" for u in report["untyped"]]
    if report["wrong_fields"]:
        lines += ["", "wrong-unflagged cases per wrong field:"]
        lines += [f"  {f:<40} {n}" for f, n in report["wrong_fields"].items()]
        lines += ["", "wrong-unflagged cases per field, by kind:"]
        for kind, counts in report["wrong_fields_by_kind"].items():
            lines.append(f"  {kind:<15} " + ", ".join(f"{f} {n}" for f, n in counts.items()))
        lines += ["", "zones the damage fell in (wrong-unflagged cases): " + ", ".join(
            f"{z} {n}" for z, n in report["wrong_zones"].items()
        )]  # fmt: skip
    if report["diagnosis"]:
        lines += ["", "rough diagnosis of the wrong-unflagged cases (heuristic; see the list):"]
        lines += [
            f"  {d['cases']:>4}  {name}   e.g. {', '.join(d['ids'][:2])}"
            for name, d in report["diagnosis"].items()
        ]
    if report["control"]["wrong"]:
        lines += ["", "controls read wrong (undamaged base):"]
        lines += _case_lines(report["control"]["wrong"], show_values)
    if report["wrong_unflagged"]:
        lines += ["", f"wrong-unflagged cases ({len(report['wrong_unflagged'])}):"]
        lines += _case_lines(report["wrong_unflagged"], show_values)
    return "\n".join(lines)


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pair(got: Any, want: Any, limit: int = 160) -> tuple[str, str]:
    """``got`` and ``want`` shown short; two long strings around where they first differ."""
    if not (isinstance(got, str) and isinstance(want, str)) or max(len(got), len(want)) <= limit:
        return _short(got, limit), _short(want, limit)
    at = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
    if at is None:
        at = min(len(got), len(want))
    lo = max(0, at - limit // 3)

    def cut(text: str) -> str:
        part = text[lo : lo + limit]
        return (
            ("..." if lo else "")
            + json.dumps(part, ensure_ascii=False)
            + ("..." if lo + limit < len(text) else "")
        )

    return cut(got), cut(want)


def _value_lines(
    path: str, got: Any, want: Any, faithful: str | None, limit: int, indent: int = 6
) -> list[str]:
    """A wrong value, shown where it differs: from the faithful copy of the damaged text when
    there is one (the label's text, else)."""
    pad = " " * indent
    shown_got, shown_want = _pair(got, faithful if faithful is not None else want, limit)
    label = "text" if faithful is not None else "want"
    return [f"{pad}{path}: got  {shown_got}", f"{pad}{' ' * len(path)}  {label} {shown_want}"]


def _case_lines(cases: list[dict[str, Any]], show_values: bool) -> list[str]:
    out = []
    for c in cases:
        extra = f" [{c['note']}]" if c.get("note") else ""
        where = f" zones={','.join(c['zones'])}" if c.get("zones") else ""
        base = " (control wrong)" if c.get("base_wrong") else ""
        out.append(f"  {c['id']}{extra}{where}{base}: {', '.join(c['fields'])}")
        if show_values:
            for v in c.get("values", []):
                out.extend(_value_lines(v["path"], v["got"], v["want"], v.get("faithful"), 160))
    return out


def show_case(case_id: str, shared: Path | None = None, engine: str = "rules") -> str:
    """One case in full: the damage's edits (with the text around them) and its result, read
    by ``engine`` (see :data:`ENGINES`)."""
    source, name = case_id.split("/")[:2]
    if source == "generated":
        letters = generated_letters([int(name.removeprefix("g"))])
    else:
        letters = load_letters(None, shared)
    spec = parse_case_id(case_id, letters)
    store = Bases()
    text = store.text(spec.letter, spec.base)
    dmg = make_damage(spec, text)
    with _quiet_engine(), model_reader([spec], store) if engine == "llm" else _rules() as read:
        result = run_case(spec, store, read)
    lines = [f"{case_id}: {result.outcome}" + (f" ({result.code})" if result.code else "")]
    if engine == "llm":
        lines[0] += " (model path, perfect answers from the local test server)"
    if dmg.note:
        lines.append(f"  variant: {dmg.note}")
    for edit in dmg.edits[:12]:
        before = text[max(0, edit.start - 40) : edit.start]
        lines.append(
            f"  {edit.role:<9} {edit.zone:<12} @{edit.start}: {_short(before)} "
            f"[{_short(text[edit.start : edit.end])} -> {_short(edit.new)}]"
        )
    if len(dmg.edits) > 12:
        lines.append(f"  ... {len(dmg.edits) - 12} more edits")
    if result.touched:
        lines.append(f"  edits inside: {', '.join(result.touched)}")
    for reason in result.reasons:
        lines.append(f"  review reason: {reason}")
    for w in result.wrong:
        lines.extend(_value_lines(w.path, w.got, w.want, w.faithful, 300, indent=2))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, help="an evenly spread sample of N cases")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="seed rounds")
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--kinds", nargs="+", choices=[*KINDS, *EXTRA_KINDS],
                        help="damage kinds (default: KINDS; EXTRA_KINDS on request)")  # fmt: skip
    parser.add_argument("--letters", nargs="+", help="letter names (default: all)")
    parser.add_argument("--bases", nargs="+", choices=BASES)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument(
        "--show-wrong", action="store_true",
        help="print the wrong values of wrong-unflagged cases (letter text)",
    )  # fmt: skip
    parser.add_argument("--case", nargs="+", metavar="ID", help="show these cases in full")
    parser.add_argument(
        "--engine", choices=ENGINES, default="rules",
        help="the rules engine, or the model path answered perfectly by the local test server "
        "(the gold oracle: the pipeline's checks, never a model's quality)",
    )  # fmt: skip
    parser.add_argument(
        "--generated", type=int, default=0, metavar="N",
        help="add N generated letters (tests/test_generated_letters.py), one base each",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.case:
        for case_id in args.case:
            print(show_case(case_id, engine=args.engine))
        return 0
    report = run_benchmark(
        cases=args.cases, seeds=args.seeds, first_seed=args.seed, kinds=args.kinds,
        letters=args.letters, bases=args.bases, values=args.show_wrong,
        generated=args.generated, engine=args.engine,
    )  # fmt: skip
    print(format_report(report, args.show_wrong))
    if args.json:
        Path(args.json).write_text(
            json.dumps(report, indent=1, default=str, ensure_ascii=False), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
