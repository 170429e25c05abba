"""A scripted "perfect model": the answer a model should give for a letter whose record we know.

The local test server uses it to answer from the gold labels, so the LLM path can be exercised
end to end (and cassettes recorded) with no model. Numbers from it measure the pipeline, never
model quality: it is right by construction (or wrong by a script, in ``noisy`` mode).

:class:`GoldResponder` answers in one of three modes:

``tidy``
    Short values true, long passages quoted from the clean label text (first and last words),
    as a model that reads through OCR damage and tidies it would quote them.
``seen``
    Short values true (case number, dates, priority, states, specialties, age, sex, outcomes),
    but every long value as the rendering writes it, OCR damage included: each label passage is
    aligned to the rendering in letter order, and the service, the original request and the
    quotes are taken from the rendering's own words there. A passage the scan destroyed (no
    acceptable alignment) falls back to the clean label text.
``noisy``
    The ``seen`` answer, but on a seeded share of *first* answers one realistic mistake is
    injected (see :data:`MISTAKE_KINDS`). A re-ask (the request carries the rejected answer) is
    answered correctly. Every injection is logged (:attr:`GoldResponder.injections`), so a
    benchmark can say what became of each mistake.

The responder finds the letter by a hash of the whitespace-collapsed text between the prompt's
``<letter>`` tags (see ``prompts/extract-v1/user.txt``), and falls back to a substring search of
the whole prompt for prompts without them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
import threading
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from ..anchors import anchor_quote
from ..text import collapse_ws, squash
from .fake_openai import Step

Mode = Literal["tidy", "seen", "noisy"]
#: The responder's modes (see the module docstring).
MODES: tuple[str, ...] = ("tidy", "seen", "noisy")

#: The mistakes ``noisy`` mode injects, one per injected first answer.
MISTAKE_KINDS: tuple[str, ...] = (
    "date_shift",  # one date moved by a few days
    "dates_swapped",  # two header dates exchanged
    "case_digit",  # one digit of the case number wrong
    "outcome_flip",  # one item's outcome reversed
    "extra_item",  # an invented item appended
    "invented_service",  # one item's service replaced by a name the letter never writes
    "borrowed_end",  # a quote whose last words come from another passage
)

#: Default share of first answers that carry a mistake in ``noisy`` mode.
DEFAULT_NOISE_RATE = 0.3

#: Long values of an item, in the order the letter writes them after the item's header.
PASSAGE_FIELDS: tuple[str, ...] = (
    "claims_administrator_guideline",
    "maximus_guideline",
    "rationale",
)
_LABELS = {
    "claims_administrator_guideline": "Claims Administrator guideline:",
    "maximus_guideline": "MAXIMUS guideline:",
    "rationale": "Decision rationale:",
}
_ITEMS_HEADING = (
    "IMR ISSUES, DECISIONS AND RATIONALES The Final Determination was based on decisions for "
    "the disputed items/services set forth below:"
)
#: The 2013 notice's words around its values (see :mod:`imr_llm.form.notice2013`).
_NOTICE_TITLE = "Notice of Independent Medical Review Determination"
_NOTICE_HEADING = "INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE"
_NOTICE_LABELS = {
    "claims_administrator_guideline": "The Claims Administrator based its decision on",
    "maximus_guideline": "The Expert Reviewer based his/her decision on",
    "rationale": "Rationale for the Decision:",
}
_PARTIAL_BEFORE = "The remaining IMR eligible portion of the original request,"
_PARTIAL_AFTER = "was the original request."

#: Services a model might invent: plausible, and checked to be absent from the letter.
INVENTED_SERVICES: tuple[str, ...] = (
    "Acupuncture, 6 sessions",
    "Lumbar epidural steroid injection at L4-L5",
    "Gabapentin 600mg #90",
    "Functional capacity evaluation",
    "Home health aide, 4 hours a day for 6 weeks",
    "Interferential unit, 30-day rental",
    "Urine drug screen",
    "Cervical traction unit for home use",
    "Aquatic therapy, 8 sessions",
    "Cyclobenzaprine 7.5mg #60",
)


def _anchor(passage: str | None, words: int) -> str | None:
    return None if passage is None else anchor_quote(passage, words)


def ideal_answer(record: Mapping[str, Any], anchor_words_count: int = 4) -> dict[str, Any]:
    """The ``LetterAnswer`` payload for a contract-shaped ``record`` (the ``tidy`` answer)."""
    return {
        "case_number": record["case_number"],
        "date_assigned": record["date_assigned"],
        "date_of_injury": record["date_of_injury"],
        "decision_date": record["decision_date"],
        "ur_denial_date": record["ur_denial_date"],
        "application_received": record["application_received"],
        "priority": record["priority"],
        "licensure_states": record["reviewer"]["licensure_states"],
        "specialties": record["reviewer"]["specialties"],
        "patient_age": record["patient"]["age"],
        "patient_sex": record["patient"]["sex"],
        "items": [
            {
                "service": item["service"],
                "original_request": item["original_request"],
                "outcome": item["outcome"],
                "claims_administrator_guideline": _anchor(
                    item["claims_administrator_guideline"], anchor_words_count
                ),
                "maximus_guideline": _anchor(item["maximus_guideline"], anchor_words_count),
                "rationale": _anchor(item["rationale"], anchor_words_count),
            }
            for item in record["items"]
        ],
    }


def text_key(text: str) -> str:
    """The key a letter is known by: a hash of its whitespace-collapsed text."""
    return hashlib.sha256(collapse_ws(text).encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------------------------
# Aligning a label passage to a rendering
# --------------------------------------------------------------------------------------------

#: Word scores of the alignment: exact (after :func:`squash`), close, loosely alike, different.
#: A rendering word left out (OCR debris, page furniture) costs less than a label word the
#: rendering lacks, and that less than a pair of different words: so a damaged word inside a
#: passage pairs with its damaged copy, while label words the scan lost are left unpaired
#: rather than paired with whatever words follow the passage.
_EXACT, _CLOSE, _LOOSE, _DIFFERENT = 1.0, 0.75, 0.25, -1.0
_GAP_RENDERING, _GAP_LABEL = -0.5, -0.75
#: Each rendering word between the cursor and the passage costs this much, so that of two
#: copies of the same wording (items citing the same guideline) the first one wins even when
#: the scan damaged it more. (A power of two: the scores stay exact in floating point.)
_LEAD = -1.0 / 16
#: A passage whose words are this poorly matched was destroyed: the answer types the label.
MIN_MATCHED_SHARE = 0.5
#: How far the alignment looks past the farthest start allowed (beyond twice the words sought).
WINDOW_SLACK_WORDS = 40
#: An exact copy of the searched words this close to the cursor (and closer than half their
#: number, so no damaged copy fits before it) is taken without alignment.
EXACT_NEAR_WORDS = 40
#: How far past the cursor a passage may start (labels, a null guideline's sentence, page
#: furniture lie between), plus the length of any passages before it that could not be placed.
SKIP_WORDS = 60
#: An unpaired rendering word at a passage's edge is taken when this much like the label word.
EDGE_RATIO = 40.0


#: Characters OCR reads for one another, folded together before words are compared.
_OCR_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "5": "s", "8": "b"})


def _word_key(word: str) -> str:
    """A word as the alignment compares it: letters and digits, lower case, OCR look-alikes
    folded ("Decisi0n" and "Decision" are the same word)."""
    key = squash(word)
    return key.replace("rn", "m").translate(_OCR_FOLD) if key else word


#: Lines that belong to the page, not the letter: page numbers and fax banners.
_FURNITURE = re.compile(
    r"(?:^|\s)Page\s+\d{1,3}(?:\s+of\s+\d{1,3})?\s*$|FROM:.*\(FAX\)|^\s*-\s*\d{1,3}\s*-\s*$",
    re.IGNORECASE,
)


class RenderingWords:
    """A rendering as whitespace-collapsed text and its words, with their character offsets.

    ``furniture[i]`` is true for a word on a page-number or fax-banner line: the alignment
    skips those for free, and a model copying a passage leaves them out.
    """

    def __init__(self, text: str) -> None:
        self.text = collapse_ws(text)
        self.words = self.text.split(" ") if self.text else []
        self.keys = [_word_key(w) for w in self.words]
        self.starts: list[int] = []
        position = 0
        for word in self.words:
            self.starts.append(position)
            position += len(word) + 1
        furniture: list[bool] = []
        for line in re.split(r"[\n\r\f\v]", text):
            furniture.extend([bool(_FURNITURE.search(line))] * len(line.split()))
        self.furniture = (
            furniture if len(furniture) == len(self.words) else [False] * len(self.words)
        )

    def end(self, index: int) -> int:
        return self.starts[index] + len(self.words[index])

    def word_at(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1


@dataclass(frozen=True)
class Aligned:
    """Where a label passage sits in a rendering (offsets into the collapsed rendering)."""

    text: str
    start: int
    end: int
    first_word: int
    last_word: int
    matched_share: float
    exact: bool


def _score_matrix(p_keys: Sequence[str], r_keys: Sequence[str]) -> np.ndarray:
    ratio = process.cdist(p_keys, r_keys, scorer=fuzz.ratio)
    return np.select(
        [ratio >= 100.0, ratio >= 80.0, ratio >= 60.0], [_EXACT, _CLOSE, _LOOSE], _DIFFERENT
    )


def _align_words(
    p_keys: Sequence[str],
    r_keys: Sequence[str],
    lead: float = _LEAD,
    furniture: Sequence[bool] | None = None,
) -> tuple[list[int], np.ndarray]:
    """Semi-global alignment of all of ``p_keys`` to a stretch of ``r_keys``.

    Trailing rendering words are free and leading ones cost ``lead`` each, so the label words
    land on the stretch that matches them best, nearer ones preferred; among equally good
    stretches the earliest wins. Rendering words marked ``furniture`` are skipped for free.
    Returns, for each label word, the rendering word it is aligned with (-1 when it has none)
    and the score matrix.
    """
    n, m = len(p_keys), len(r_keys)
    scores = _score_matrix(p_keys, r_keys)
    free = np.asarray(furniture if furniture is not None else [False] * m, dtype=bool)
    skip = np.concatenate(([0.0], np.cumsum(np.where(free, 0.0, _GAP_RENDERING))))
    table = np.empty((n + 1, m + 1))
    table[0] = np.concatenate(([0.0], np.cumsum(np.where(free, 0.0, lead))))
    for i in range(1, n + 1):
        prev = table[i - 1]
        best = np.empty(m + 1)
        best[0] = prev[0] + _GAP_LABEL
        np.maximum(prev[:-1] + scores[i - 1], prev[1:] + _GAP_LABEL, out=best[1:])
        # Moving right along the row skips a rendering word: a running maximum does it at once.
        table[i] = np.maximum.accumulate(best - skip) + skip
    mapping = [-1] * n
    i, j = n, int(np.argmax(table[n, 1:])) + 1
    while i > 0:
        if j > 0 and table[i, j] == table[i - 1, j - 1] + scores[i - 1, j - 1]:
            mapping[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif table[i, j] == table[i - 1, j] + _GAP_LABEL:
            i -= 1
        else:
            j -= 1
    return mapping, scores


def _best_cut(word: str, token: str, keep_head: bool) -> int:
    """Where to cut ``token`` so the kept part (head or tail) reads most like ``word``."""
    best_cut = len(token) if keep_head else 0
    best = Levenshtein.normalized_similarity(word, token)
    cuts = range(len(token) - 1, 0, -1) if keep_head else range(1, len(token))
    for cut in cuts:
        part = token[:cut] if keep_head else token[cut:]
        score = Levenshtein.normalized_similarity(word, part)
        if score > best:
            best, best_cut = score, cut
    return best_cut


def _has_text(word: str) -> bool:
    return any(ch.isalnum() for ch in word)


def align_passage(
    rendering: RenderingWords,
    passage: str,
    cursor: int = 0,
    *,
    before: str = "",
    after: str = "",
    max_skip: int | None = SKIP_WORDS,
) -> Aligned | None:
    """Find ``passage`` (clean label text) in ``rendering`` at or after word ``cursor``.

    ``before`` and ``after`` are the words the letter writes around the passage (its label, the
    next label, the outcome after a service); they pin the passage's ends, so its last words are
    the rendering's words at the end of *this* passage, not a similar ending further on.

    The passage (with ``before``) must start within ``max_skip`` words of the cursor, and each
    word skipped costs a little, so of two copies of the same wording the first is taken even
    when the scan damaged it more. ``max_skip=None`` searches the whole rest of the text with
    no preference for nearness (the first item, when the items heading is unreadable).

    Returns None when the passage cannot be placed: its words are too damaged, or missing where
    they should be (the scan destroyed or scrambled them).
    """
    ctx_before = collapse_ws(before).split(" ") if before.strip() else []
    body = collapse_ws(passage).split(" ")
    ctx_after = collapse_ws(after).split(" ") if after.strip() else []
    tokens = [*ctx_before, *body, *ctx_after]
    a, b = len(ctx_before), len(ctx_before) + len(body)
    total = len(rendering.words)
    if cursor >= total or not body:
        return None
    if max_skip is None:
        stop = total
    else:
        stop = min(total, cursor + max_skip + 2 * len(tokens) + WINDOW_SLACK_WORDS)

    # Clean renderings: the words are there exactly, close to the cursor; no alignment needed.
    # (An exact copy further on may be a later item's identical wording while this item's copy,
    # between the cursor and it, is damaged: that is for the alignment to weigh.)
    joined = " ".join(tokens)
    near = min(EXACT_NEAR_WORDS, len(tokens) // 2)
    close = stop if max_skip is None else min(stop, cursor + near + len(tokens))
    hit = rendering.text.find(joined, rendering.starts[cursor], rendering.end(close - 1))
    tail = hit + len(joined)
    if (
        hit >= 0
        and rendering.starts[rendering.word_at(hit)] == hit
        and rendering.text[tail : tail + 1] in ("", " ")
    ):
        first = rendering.word_at(hit) + a
        last = first + len(body) - 1
        start, end = rendering.starts[first], rendering.end(last)
        return Aligned(rendering.text[start:end], start, end, first, last, 1.0, True)

    window = rendering.words[cursor:stop]
    keys = rendering.keys[cursor:stop]
    furniture = rendering.furniture[cursor:stop]
    p_keys = [_word_key(t) for t in tokens]
    lead = 0.0 if max_skip is None else _LEAD
    mapping, scores = _align_words(p_keys, keys, lead, furniture)
    placed = [(i, mapping[i]) for i in range(a, b) if mapping[i] >= 0]
    matched = sum(1 for i, j in placed if scores[i, j] > 0)
    share = matched / len(body)
    if not placed or share < MIN_MATCHED_SHARE:
        return None
    lead_in = next(j for j in mapping if j >= 0)
    if max_skip is not None and lead_in > max_skip:
        return None  # far past where it should be: the copy meant is unreadable here

    # Label words left unpaired at the passage's edges are usually there, damaged beyond
    # recognition ("3.4n-f" for "3-in-1"): take the unpaired rendering words beside the
    # passage (never the label's or the next part's) when they look at all alike.
    used = {j for j in mapping if j >= 0}
    low = max((mapping[i] for i in range(a) if mapping[i] >= 0), default=-1)
    high = min((mapping[i] for i in range(b, len(tokens)) if mapping[i] >= 0), default=len(keys))
    (pi, first), (pj, last) = placed[0], placed[-1]
    while (
        pi > a
        and first - 1 > low
        and first - 1 not in used
        and _has_text(window[first - 1])
        and fuzz.ratio(p_keys[pi - 1], keys[first - 1]) >= EDGE_RATIO
    ):
        pi, first = pi - 1, first - 1
    while (
        pj < b - 1
        and last + 1 < high
        and last + 1 not in used
        and _has_text(window[last + 1])
        and fuzz.ratio(p_keys[pj + 1], keys[last + 1]) >= EDGE_RATIO
    ):
        pj, last = pj + 1, last + 1

    # Page numbers and fax banners inside the passage: a model copying it leaves them out.
    words = [window[j] for j in range(first, last + 1) if not furniture[j] or j in used]
    # The first and last words may carry debris glued on by OCR ("'The", "trial:Upheld"):
    # keep only the part that reads as the label's words there (all of those up to the first
    # paired one: OCR glues words too, "Lumbar.support" for "Lumbar support").
    cut = _best_cut("".join(body[: pi - a + 1]), words[0], keep_head=False)
    words[0] = words[0][cut:] or words[0]
    cut = _best_cut("".join(body[pj - a :]), words[-1], keep_head=True)
    words[-1] = words[-1][:cut] or words[-1]
    first, last = cursor + first, cursor + last
    start, end = rendering.starts[first], rendering.end(last)
    return Aligned(" ".join(words), start, end, first, last, share, False)


@dataclass(frozen=True)
class SeenPassage:
    """One long value of the ``seen`` answer: the rendering's text, or the label's fallback."""

    path: str
    label_text: str
    text: str
    aligned: Aligned | None

    @property
    def fallback(self) -> bool:
        return self.aligned is None


@dataclass
class SeenLetter:
    """The ``seen`` answer for one rendering, with the passage behind each long value."""

    answer: dict[str, Any]
    passages: dict[str, SeenPassage] = field(default_factory=dict)

    @property
    def fallbacks(self) -> list[str]:
        return [path for path, p in self.passages.items() if p.fallback]


def _outcome_word(outcome: str) -> str:
    return "Overturned" if outcome == "overturned" else "Upheld"


def seen_letter(text: str, record: Mapping[str, Any], anchor_words_count: int = 4) -> SeenLetter:
    """The answer of a model that copies long values exactly as ``text`` writes them."""
    rendering = RenderingWords(text)
    answer = ideal_answer(record, anchor_words_count)
    seen = SeenLetter(answer)
    if align_passage(rendering, _NOTICE_TITLE, 0, max_skip=40) is not None:
        return _seen_notice(rendering, record, seen, anchor_words_count)
    heading = align_passage(rendering, _ITEMS_HEADING, 0, max_skip=None)
    cursor = heading.last_word + 1 if heading is not None else 0
    # How far on the next passage may start: unbounded without the heading (the first item may
    # be anywhere), else a little, plus the words of passages that could not be placed.
    skip: int | None = SKIP_WORDS if heading is not None else None
    items = record["items"]

    def place(path: str, label_text: str, before: str = "", after: str = "") -> str:
        nonlocal cursor, skip
        hit = align_passage(
            rendering, label_text, cursor, before=before, after=after, max_skip=skip
        )
        if hit is not None:
            cursor, skip = hit.last_word + 1, SKIP_WORDS
        elif skip is not None:
            skip += len(collapse_ws(f"{before} {label_text}").split(" "))
        seen.passages[path] = SeenPassage(
            path, label_text, hit.text if hit is not None else collapse_ws(label_text), hit
        )
        return seen.passages[path].text

    for k, item in enumerate(items):
        out = answer["items"][k]
        marker = _outcome_word(item["outcome"])
        if item["original_request"]:
            out["original_request"] = place(
                f"items[{k}].original_request", item["original_request"], after=_PARTIAL_AFTER
            )
            out["service"] = place(
                f"items[{k}].service", item["service"], _PARTIAL_BEFORE, f"is: {marker}"
            )
        else:
            out["service"] = place(f"items[{k}].service", item["service"], after=marker)
        for name in PASSAGE_FIELDS:
            passage = item[name]
            if passage is None:
                continue
            if name == "rationale":
                nxt = items[k + 1] if k + 1 < len(items) else None
                after = (nxt["original_request"] or nxt["service"]) if nxt else ""
                after = " ".join(collapse_ws(after).split(" ")[:4])
            else:
                after = _LABELS[PASSAGE_FIELDS[PASSAGE_FIELDS.index(name) + 1]]
            copied = place(f"items[{k}].{name}", passage, _LABELS[name], after)
            out[name] = anchor_quote(copied, anchor_words_count)
    return seen


def _seen_notice(
    rendering: RenderingWords, record: Mapping[str, Any], seen: SeenLetter, words: int
) -> SeenLetter:
    """:func:`seen_letter` for a 2013 notice: the services in the numbered determinations under
    the decision heading, then each item's passages in its own section after the summary."""
    answer = seen.answer
    heading = align_passage(rendering, _NOTICE_HEADING, 0, max_skip=None)
    cursor = heading.last_word + 1 if heading is not None else 0

    def place(path: str, text: str, before: str, after: str, skip: int | None) -> str:
        nonlocal cursor
        hit = align_passage(rendering, text, cursor, before=before, after=after, max_skip=skip)
        if hit is not None:
            cursor = hit.last_word + 1
        seen.passages[path] = SeenPassage(
            path, text, hit.text if hit is not None else collapse_ws(text), hit
        )
        return seen.passages[path].text

    items = record["items"]
    for k, item in enumerate(items):
        verdict = "is not medically" if item["outcome"] == "upheld" else "is medically"
        answer["items"][k]["service"] = place(
            f"items[{k}].service", item["service"], "has determined the request for", verdict,
            None if heading is None and k == 0 else SKIP_WORDS,
        )  # fmt: skip
    first = True
    for k, item in enumerate(items):
        nxt = items[k + 1] if k + 1 < len(items) else None
        for n, name in enumerate(PASSAGE_FIELDS):
            passage = item[name]
            if passage is None:
                continue
            if name == "rationale":
                after = f"{k + 2}) Regarding the request for {nxt['service']}" if nxt else ""
                after = " ".join(collapse_ws(after).split(" ")[:8])
            else:
                after = _NOTICE_LABELS[PASSAGE_FIELDS[n + 1]]
            # The first section lies past the qualifications and the summary: search on.
            skip = None if first else 4 * SKIP_WORDS
            first = False
            copied = place(f"items[{k}].{name}", passage, _NOTICE_LABELS[name], after, skip)
            answer["items"][k][name] = anchor_quote(copied, words)
    return seen


# --------------------------------------------------------------------------------------------
# Mistakes for the noisy mode
# --------------------------------------------------------------------------------------------

HEADER_DATES: tuple[str, ...] = (
    "date_assigned",
    "date_of_injury",
    "decision_date",
    "ur_denial_date",
    "application_received",
)


@dataclass(frozen=True)
class Change:
    """One value a mistake changed: its record path, the wrong value and the true one."""

    path: str
    wrong: Any
    right: Any


@dataclass(frozen=True)
class Injection:
    """A mistake injected into a first answer.

    ``path``/``wrong``/``right`` describe the (first) changed value in record terms: a date or
    outcome as the record stores it, the invented service name, or for ``borrowed_end`` the
    quote sent (``right`` the correct quote). ``changes`` lists every changed value (two for
    ``dates_swapped``). ``detail`` says more where useful (which passage lent its last words).
    """

    letter: str
    rendering: str
    kind: str
    changes: tuple[Change, ...]
    detail: str = ""

    @property
    def path(self) -> str:
        return self.changes[0].path

    @property
    def wrong(self) -> Any:
        return self.changes[0].wrong

    @property
    def right(self) -> Any:
        return self.changes[0].right

    def to_dict(self) -> dict[str, Any]:
        return {
            "letter": self.letter,
            "rendering": self.rendering,
            "kind": self.kind,
            "path": self.path,
            "wrong": self.wrong,
            "right": self.right,
            "changes": [{"path": c.path, "wrong": c.wrong, "right": c.right} for c in self.changes],
            "detail": self.detail,
        }


def _applicable(answer: Mapping[str, Any], seen: SeenLetter) -> list[str]:
    dates = [name for name in HEADER_DATES if answer[name]]
    kinds = []
    if dates:
        kinds.append("date_shift")
    if len({answer[name] for name in dates}) >= 2:
        kinds.append("dates_swapped")
    if answer["case_number"]:
        kinds.append("case_digit")
    kinds += ["outcome_flip", "extra_item", "invented_service"]
    if _borrow_choices(answer, seen):
        kinds.append("borrowed_end")
    return kinds


def _last_words(text: str, n: int = 4) -> str:
    return " ".join(collapse_ws(text).split(" ")[-n:])


def _first_words(text: str, n: int = 4) -> str:
    return " ".join(collapse_ws(text).split(" ")[:n])


def _borrow_choices(answer: Mapping[str, Any], seen: SeenLetter) -> list[tuple[str, str]]:
    """(path that gets a wrong ending, path whose ending it borrows) pairs that differ."""
    pairs: list[tuple[str, str]] = []
    n = len(answer["items"])
    for k in range(n):
        candidates = [
            (f"items[{k}].rationale", f"items[{k + 1}].rationale"),
            (f"items[{k}].rationale", f"items[{k}].maximus_guideline"),
            (f"items[{k}].claims_administrator_guideline", f"items[{k}].maximus_guideline"),
            (f"items[{k}].maximus_guideline", f"items[{k}].rationale"),
        ]
        for target, lender in candidates:
            a, b = seen.passages.get(target), seen.passages.get(lender)
            if a is None or b is None:
                continue
            if squash(_last_words(a.text)) != squash(_last_words(b.text)):
                pairs.append((target, lender))
    return pairs


def _item_path(path: str) -> tuple[int, str]:
    head, _, name = path.partition(".")
    return int(head[len("items[") : -1]), name


def inject_mistake(
    answer: dict[str, Any],
    seen: SeenLetter,
    rng: random.Random,
    letter: str = "",
    rendering: str = "",
    kinds: Sequence[str] | None = None,
    anchor_words_count: int = 4,
    letter_text: str = "",
) -> tuple[dict[str, Any], Injection] | None:
    """A copy of ``answer`` (a ``seen`` answer) with one mistake, chosen with ``rng``.

    ``letter_text`` is the letter: invented service names are chosen among those it does not
    write.
    """
    answer = json.loads(json.dumps(answer))
    allowed = [k for k in _applicable(answer, seen) if kinds is None or k in kinds]
    if not allowed:
        return None
    kind = rng.choice(allowed)
    items = answer["items"]
    detail = ""
    changes: list[Change] = []

    if kind == "date_shift":
        name = rng.choice([n for n in HEADER_DATES if answer[n]])
        true = dt.date.fromisoformat(answer[name])
        shift = rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5])
        answer[name] = (true + dt.timedelta(days=shift)).isoformat()
        changes.append(Change(name, answer[name], true.isoformat()))
        detail = f"shifted by {shift:+d} days"
    elif kind == "dates_swapped":
        names = [n for n in HEADER_DATES if answer[n]]
        while True:
            x, y = rng.sample(names, 2)
            if answer[x] != answer[y]:
                break
        answer[x], answer[y] = answer[y], answer[x]
        changes += [Change(x, answer[x], answer[y]), Change(y, answer[y], answer[x])]
    elif kind == "case_digit":
        true = answer["case_number"]
        digits = [i for i, ch in enumerate(true) if ch.isdigit()][2:]  # the serial, not the year
        pos = rng.choice(digits)
        new = rng.choice([d for d in "0123456789" if d != true[pos]])
        answer["case_number"] = true[:pos] + new + true[pos + 1 :]
        changes.append(Change("case_number", answer["case_number"], true))
    elif kind == "outcome_flip":
        k = rng.randrange(len(items))
        true = items[k]["outcome"]
        items[k]["outcome"] = "upheld" if true == "overturned" else "overturned"
        changes.append(Change(f"items[{k}].outcome", items[k]["outcome"], true))
    elif kind in ("extra_item", "invented_service"):
        names = [s for s in INVENTED_SERVICES if squash(s) not in squash(letter_text)]
        invented = rng.choice(names or list(INVENTED_SERVICES))
        if kind == "extra_item":
            model = items[rng.randrange(len(items))]
            items.append(
                {
                    **model,
                    "service": invented,
                    "original_request": None,
                    "outcome": rng.choice(["upheld", "overturned"]),
                }
            )
            changes.append(Change(f"items[{len(items) - 1}]", invented, None))
            detail = "its quotes copy another item's"
        else:
            k = rng.randrange(len(items))
            true = items[k]["service"]
            items[k]["service"] = invented
            changes.append(Change(f"items[{k}].service", invented, true))
    elif kind == "borrowed_end":
        target, lender = rng.choice(_borrow_choices(answer, seen))
        k, name = _item_path(target)
        own, other = seen.passages[target].text, seen.passages[lender].text
        true = items[k][name]
        n = anchor_words_count
        items[k][name] = f"{_first_words(own, n)} ... {_last_words(other, n)}"
        changes.append(Change(target, items[k][name], true))
        detail = f"last words from {lender}: {_last_words(other, n)!r}"
    else:  # pragma: no cover - MISTAKE_KINDS and this function change together
        raise ValueError(f"unknown mistake kind {kind!r}")
    return answer, Injection(letter, rendering, kind, tuple(changes), detail)


# --------------------------------------------------------------------------------------------
# The responder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldLetter:
    """A letter text the responder knows, with its gold label and where it came from."""

    letter: str
    rendering: str
    text: str
    record: Mapping[str, Any]

    @property
    def key(self) -> str:
        return text_key(self.text)


@dataclass(frozen=True)
class OracleEvent:
    """One request the responder answered.

    ``reask`` is true when the request carries a rejected answer; ``errors`` are the
    validation error lines sent back with it (parsed from instructor's re-ask message), and
    ``injection`` the mistake put into this answer, if any.
    """

    key: str
    letter: str
    rendering: str
    reask: bool
    injection: Injection | None = None
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "letter": self.letter,
            "rendering": self.rendering,
            "reask": self.reask,
            "injection": self.injection.to_dict() if self.injection else None,
            "errors": list(self.errors),
        }


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return ""


def letter_in_prompt(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The letter between ``<letter>`` and ``</letter>`` in the first user message."""
    for message in messages:
        if message.get("role") != "user":
            continue
        content = _content_text(message.get("content"))
        start, end = content.find("<letter>"), content.rfind("</letter>")
        if 0 <= start < end:
            return content[start + len("<letter>") : end]
        return None
    return None


def is_reask(messages: Sequence[Mapping[str, Any]]) -> bool:
    """True when the request carries an earlier answer (instructor's re-ask)."""
    return any(m.get("role") in ("assistant", "tool") for m in messages)


def reask_errors(messages: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The validation error lines of the latest re-ask message, one per problem."""
    last = -1
    for i, message in enumerate(messages):
        if message.get("role") == "assistant":
            last = i
    if last < 0:
        return ()
    lines: list[str] = []
    for message in messages[last + 1 :]:
        text = _content_text(message.get("content"))
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(("Validation Error found", "Recall the function")):
                continue
            if line.startswith("For further information") or " validation error" in line:
                continue
            line = line.removeprefix("Value error, ")
            cut = line.find(" [type=")
            lines.append(line[:cut] if cut >= 0 else line)
    return tuple(lines)


class GoldResponder:
    """Answers each request with an answer for the gold letter found in its prompt.

    Args:
        letters: the texts to answer for: :class:`GoldLetter` objects, or a mapping from letter
            text to its contract-shaped record (names are then unknown).
        mode: ``"tidy"``, ``"seen"`` or ``"noisy"`` (see the module docstring).
        noise_rate: share of first answers with a mistake in ``noisy`` mode.
        seed: seeds the choice of letters, mistakes and wrong values. Decisions are drawn per
            letter text, so they do not depend on the order or concurrency of requests.
        kinds: the mistake kinds ``noisy`` mode may choose from (default all).

    Thread-safe: the server calls it from concurrent handler threads.
    """

    def __init__(
        self,
        letters: Mapping[str, Mapping[str, Any]] | Iterable[GoldLetter],
        mode: Mode | str = "tidy",
        *,
        noise_rate: float = DEFAULT_NOISE_RATE,
        seed: int = 0,
        kinds: Sequence[str] | None = None,
        anchor_words_count: int = 4,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if not 0.0 <= noise_rate <= 1.0:
            raise ValueError(f"noise_rate must be within [0, 1], got {noise_rate!r}")
        unknown = sorted(set(kinds or ()) - set(MISTAKE_KINDS))
        if unknown:
            raise ValueError(f"unknown mistake kinds {unknown}; known: {', '.join(MISTAKE_KINDS)}")
        if isinstance(letters, Mapping):
            letters = [GoldLetter("", "", text, record) for text, record in letters.items()]
        self.mode: str = mode
        self.noise_rate = noise_rate
        self.seed = seed
        self.kinds: tuple[str, ...] | None = tuple(kinds) if kinds is not None else None
        self.anchor_words_count = anchor_words_count
        self._letters: dict[str, GoldLetter] = {}
        for letter in letters:
            self._letters.setdefault(letter.key, letter)  # the first name of a text wins
        self._collapsed: list[tuple[str, str]] | None = None
        self._seen: dict[str, SeenLetter] = {}
        self._lock = threading.Lock()
        self.log: list[OracleEvent] = []
        #: The mistakes served in first answers, by letter key (:func:`text_key`).
        self.injections: dict[str, Injection] = {}

    @classmethod
    def from_gold_dir(
        cls,
        gold: Path,
        names: list[str] | None = None,
        mode: Mode | str = "tidy",
        *,
        renderings: list[str] | None = None,
        **options: Any,
    ) -> GoldResponder:
        """Answer for every gold letter and every rendering of it listed in the manifest.

        ``names`` limits the letters, ``renderings`` the renderings ("layout" is the clean
        letter); ``options`` go to the constructor (``noise_rate``, ``seed``, ``kinds``).
        """
        labels: dict[str, Mapping[str, Any]] = {}
        for label in sorted((gold / "labels").glob("*.json")):
            if names is None or label.stem in names:
                labels[label.stem] = json.loads(label.read_text(encoding="utf-8"))
        entries = [(name, "layout", f"letters/{name}.txt") for name in labels]
        manifest = gold / "manifest.json"
        if manifest.is_file():
            for entry in json.loads(manifest.read_text(encoding="utf-8")):
                if entry["letter"] in labels and entry["rendering"] != "layout":
                    entries.append((entry["letter"], entry["rendering"], entry["path"]))
        letters = [
            GoldLetter(name, rendering, (gold / path).read_text(encoding="utf-8"), labels[name])
            for name, rendering, path in entries
            if renderings is None or rendering in renderings
        ]
        return cls(letters, mode, **options)

    def derive(self, mode: Mode | str | None = None, **options: Any) -> GoldResponder:
        """A responder for the same letters in another mode, sharing the ``seen`` answers
        computed so far (aligning every rendering again is the slow part). Its log is new."""
        kwargs: dict[str, Any] = {
            "noise_rate": self.noise_rate,
            "seed": self.seed,
            "kinds": self.kinds,
            "anchor_words_count": self.anchor_words_count,
        }
        kwargs.update(options)
        other = GoldResponder(self._letters.values(), mode or self.mode, **kwargs)
        other._seen = self._seen
        other._collapsed = self._collapsed
        return other

    # -- looking letters up ------------------------------------------------------------------

    @property
    def letters(self) -> list[GoldLetter]:
        return list(self._letters.values())

    def lookup(self, text: str) -> GoldLetter | None:
        """The known letter whose text is ``text`` (whitespace aside)."""
        return self._letters.get(text_key(text))

    def _find(self, messages: Sequence[Mapping[str, Any]]) -> GoldLetter | None:
        letter = letter_in_prompt(messages)
        if letter is not None:
            found = self.lookup(letter)
            if found is not None:
                return found
        # A prompt without the tags: look for a known text anywhere in it (slow).
        if self._collapsed is None:
            self._collapsed = [(collapse_ws(x.text), key) for key, x in self._letters.items()]
        prompt = collapse_ws(" ".join(_content_text(m.get("content")) for m in messages))
        for text, key in self._collapsed:
            if text in prompt:
                return self._letters[key]
        return None

    # -- answers -----------------------------------------------------------------------------

    def seen(self, text: str) -> SeenLetter:
        """The ``seen`` answer for a known letter text (computed once, then cached)."""
        letter = self.lookup(text)
        if letter is None:
            raise KeyError("not a letter this responder knows")
        return self._seen_for(letter)

    def _seen_for(self, letter: GoldLetter) -> SeenLetter:
        cached = self._seen.get(letter.key)
        if cached is None:
            cached = seen_letter(letter.text, letter.record, self.anchor_words_count)
            self._seen[letter.key] = cached  # a race computes it twice, harmlessly
        return cached

    def _rng(self, letter: GoldLetter) -> random.Random:
        return random.Random(f"{self.seed}|{letter.letter}|{letter.key}")

    def planned_injection(self, text: str) -> Injection | None:
        """The mistake ``noisy`` mode puts in the first answer for ``text`` (None: none)."""
        letter = self.lookup(text)
        if letter is None:
            raise KeyError("not a letter this responder knows")
        return self._noisy_first(letter)[1]

    def _noisy_first(self, letter: GoldLetter) -> tuple[dict[str, Any], Injection | None]:
        seen = self._seen_for(letter)
        rng = self._rng(letter)
        if rng.random() >= self.noise_rate:
            return seen.answer, None
        made = inject_mistake(
            seen.answer, seen, rng, letter.letter, letter.rendering, self.kinds,
            self.anchor_words_count, letter.text,
        )  # fmt: skip
        return (seen.answer, None) if made is None else made

    def answer_for(self, text: str, reask: bool = False) -> dict[str, Any]:
        """The answer this responder gives for ``text`` (first answer, or a re-ask's)."""
        letter = self.lookup(text)
        if letter is None:
            raise KeyError("not a letter this responder knows")
        return self._answer(letter, reask)[0]

    def _answer(self, letter: GoldLetter, reask: bool) -> tuple[dict[str, Any], Injection | None]:
        if self.mode == "tidy":
            return ideal_answer(letter.record, self.anchor_words_count), None
        if self.mode == "seen" or reask:
            return self._seen_for(letter).answer, None
        return self._noisy_first(letter)

    def __call__(self, body: dict[str, Any]) -> Step | None:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return None
        messages = [m for m in messages if isinstance(m, dict)]
        letter = self._find(messages)
        if letter is None:
            return None
        reask = is_reask(messages)
        answer, injection = self._answer(letter, reask)
        event = OracleEvent(
            letter.key, letter.letter, letter.rendering, reask, injection,
            reask_errors(messages) if reask else (),
        )  # fmt: skip
        with self._lock:
            self.log.append(event)
            if injection is not None:
                self.injections[letter.key] = injection
        return Step.answer(answer)

    # -- the log -----------------------------------------------------------------------------

    def events(self, text: str) -> list[OracleEvent]:
        """The requests answered for ``text``, in the order they came."""
        key = text_key(text)
        with self._lock:
            return [e for e in self.log if e.key == key]

    def clear_log(self) -> None:
        """Forget the requests and injections logged so far (answers stay cached)."""
        with self._lock:
            self.log.clear()
            self.injections.clear()
