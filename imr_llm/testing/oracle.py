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
    injected (see :data:`MISTAKE_KINDS`: the classic seven, and issue 14's wider ones, each
    of which makes the answer wrong against the label: another age, sex or priority, a
    licensure state added or dropped, a wrong specialty, day and month swapped, an item dropped
    or two merged, a number or number word in a service changed, a service reworded, an
    invented original request, a guideline or rationale quoted from another item; and
    mistakes of place and omission: a rationale quoted short at either end, an item's two
    guidelines or two items' services exchanged, a stated value left out, a year off). A re-ask
    (the request carries the rejected answer) is answered correctly. Every injection is logged
    (:attr:`GoldResponder.injections`), so a benchmark can say what became of each mistake.

Besides the renderings a gold folder holds, the responder knows re-flowed ones made from the
clean layout text (:data:`REFLOW_RENDERINGS`: "reflow60", "reflow100").
``format``
    The ``seen`` answer with every value right, but on every first answer one value written
    in another shape of the same meaning, as real models write them (a date as ``11/14/2016``,
    ``"SC"`` for South Carolina, ``"Upheld"``, ``"44"``, ``""`` for null, the items in another
    order, the JSON inside a fence...: see :data:`FORMAT_KINDS`). The deviations around the
    JSON are made only where the answer is message content (instructor's ``json`` and
    ``md_json`` modes). A re-ask is answered with the ``seen`` answer, and every deviation is
    logged like a ``noisy`` mistake (:attr:`GoldResponder.injections`).

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

from ..evidence.anchors import anchor_quote
from ..form.text import US_STATES, collapse_ws, squash
from ..inputs.normalise import is_page_furniture
from .fake_openai import Step

Mode = Literal["tidy", "seen", "noisy", "format"]
#: The responder's modes (see the module docstring).
MODES: tuple[str, ...] = ("tidy", "seen", "noisy", "format")

#: The first mistakes ``noisy`` mode injected (the evidence work of issue 7).
CLASSIC_MISTAKE_KINDS: tuple[str, ...] = (
    "date_shift",  # one date moved by a few days
    "dates_swapped",  # two header dates exchanged
    "case_digit",  # one digit of the case number wrong
    "outcome_flip",  # one item's outcome reversed
    "extra_item",  # an invented item appended
    "invented_service",  # one item's service replaced by a name the letter never writes
    "borrowed_end",  # a quote whose last words come from another passage
)
#: The wider mistakes of issue 14: each one way a model gets one value of a letter wrong
#: (see :func:`wider_applicable`, :func:`inject_wider`).
WIDER_MISTAKE_KINDS: tuple[str, ...] = (
    "wrong_age",  # another age, or an age the letter does not state
    "sex_flip",  # male for female and back
    "priority_flip",  # standard for expedited and back
    "state_added",  # a licensure state the reviewer does not hold
    "state_dropped",  # one licensure state left out
    "wrong_specialty",  # a specialty the letter does not give the reviewer
    "day_month_swapped",  # a header date read day first (03/04 as April 3)
    "item_dropped",  # one item left out
    "items_merged",  # two neighbouring items answered as one
    "service_digits",  # a number in a service changed ("#30" -> "#3")
    "service_number_word",  # a number word in a service changed ("Six visits" -> "Eight")
    "service_reworded",  # the service's words reordered ("12 sessions of aquatic therapy")
    "invented_original_request",  # an original request on an ordinary item
    "borrowed_guideline",  # a guideline quoted from another item
    "borrowed_rationale",  # a rationale quoted from another item
)
#: Mistakes of place and omission: an answer whose values are the letter's, but a quote cut
#: short, two values given in each other's place, a value the letter states left out, a year
#: misread (see :func:`placement_applicable`, :func:`inject_placement`). A probe of the model
#: path found each caught (a re-ask, or a flag when the model keeps to it); these keep it so.
PLACEMENT_MISTAKE_KINDS: tuple[str, ...] = (
    "quote_ends_early",  # a rationale quoted to the end of an earlier sentence
    "quote_starts_late",  # a rationale quoted from its second sentence
    "guidelines_exchanged",  # an item's two guidelines given in each other's place
    "services_exchanged",  # two items' services exchanged, their outcomes kept
    "value_left_null",  # a value the letter states (header, patient, reviewer) left out
    "year_off",  # a header date's year one off
)
#: The mistakes ``noisy`` mode injects, one per injected first answer.
MISTAKE_KINDS: tuple[str, ...] = (
    *CLASSIC_MISTAKE_KINDS,
    *WIDER_MISTAKE_KINDS,
    *PLACEMENT_MISTAKE_KINDS,
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

    ``furniture[i]`` is true for a word on a line of page furniture (a page number, a fax
    banner: :data:`_FURNITURE`, :func:`~imr_llm.inputs.normalise.is_page_furniture`): the alignment
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
            # The package's own test too: a fax machine's banner ("12/20/2016 10:14 FAX
            # 9165551234 MAXIMUS p.004/007") between a passage's last words left them out of
            # the copy (generated g129: "... is not medically" for "... medically necessary.").
            page = bool(_FURNITURE.search(line)) or is_page_furniture(line.strip())
            furniture.extend([page] * len(line.split()))
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
    return kinds + wider_applicable(answer, seen) + placement_applicable(answer, seen)


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
    elif kind in WIDER_MISTAKE_KINDS:
        detail = inject_wider(kind, answer, seen, rng, changes, anchor_words_count, letter_text)
    elif kind in PLACEMENT_MISTAKE_KINDS:
        detail = inject_placement(kind, answer, seen, rng, changes, anchor_words_count)
    else:  # pragma: no cover - MISTAKE_KINDS and this function change together
        raise ValueError(f"unknown mistake kind {kind!r}")
    return answer, Injection(letter, rendering, kind, tuple(changes), detail)


# --------------------------------------------------------------------------------------------
# Wider mistakes for the noisy mode (issue 14)
# --------------------------------------------------------------------------------------------

#: Specialties a model might give the reviewer by mistake (board names letters print). One is
#: used only when it shares no distinctive word with a true specialty and reads unlike each:
#: "Family Practice" is no mistake for "Family Medicine".
WRONG_SPECIALTIES: tuple[str, ...] = (
    "Anesthesiology", "Chiropractic", "Dermatology", "Emergency Medicine", "Family Practice",
    "Internal Medicine", "Neurological Surgery", "Neurology", "Occupational Medicine",
    "Ophthalmology", "Orthopaedic Surgery", "Pain Medicine", "Physical Medicine & Rehabilitation",
    "Plastic Surgery", "Psychiatry", "Radiology", "Rheumatology", "Urology",
)  # fmt: skip
#: Words too common among specialty names to tell two apart.
_GENERIC_SPECIALTY_WORDS = frozenset({"medicine", "surgery", "and", "of", "general"})
#: Number words a service may spell out ("Six physical therapy visits").
NUMBER_WORDS: tuple[str, ...] = (
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "ninety",
)  # fmt: skip
#: A number word standing alone ("Synvisc-One" is a name, not a number).
_NUMBER_WORD = re.compile(r"(?<![\w-])(?:" + "|".join(NUMBER_WORDS) + r")(?![\w-])", re.I)
_NUMBER_TOKEN = re.compile(r"\d+|" + _NUMBER_WORD.pattern, re.IGNORECASE)
_DIGIT_RUN = re.compile(r"\d+")
#: A wrong age stays a plausible adult's.
AGE_RANGE: tuple[int, int] = (18, 90)


def number_tokens(text: str | None) -> list[str]:
    """The numbers ``text`` writes, digits and number words alike, lower case, in order.

    A service whose numbers differ from the letter's asks for another quantity, dose or level:
    that is what the ``service_digits`` and ``service_number_word`` mistakes change.
    """
    return [m.group(0).lower() for m in _NUMBER_TOKEN.finditer(text or "")]


def _lower_first(text: str) -> str:
    """``text`` as the middle of a sentence: its first letter lower-cased unless the first word
    is an acronym or a code ("MRI", "L5-S1")."""
    word = text.split(" ", 1)[0]
    if len(word) > 1 and (word[1].isupper() or word[1].isdigit()):
        return text
    return text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def reworded(service: str) -> str:
    """``service`` in a model's own word order, its words kept.

    "Aquatic therapy, 12 sessions" -> "12 sessions of aquatic therapy"; with more commas the
    first part moves to the end; "A for the B" -> "B A" (also " of ", " to "); else the last
    word moves to the front. A single word comes back unchanged.
    """
    text = collapse_ws(service)
    parts = text.split(", ")
    if len(parts) == 2 and all(parts):
        return _upper_first(f"{parts[1]} of {_lower_first(parts[0])}")
    if len(parts) > 2 and all(parts):
        return _upper_first(", ".join([*parts[1:], _lower_first(parts[0])]))
    for joint in (" for ", " of ", " to "):
        head, sep, tail = text.partition(joint)
        if sep and head and tail:
            tail = tail.removeprefix("the ")
            return _upper_first(f"{tail} {_lower_first(head)}")
    words = text.split(" ")
    if len(words) < 2:
        return text
    return _upper_first(" ".join([words[-1], _lower_first(" ".join(words[:-1]))]))


def _services(answer: Mapping[str, Any], seen: SeenLetter, k: int) -> tuple[str, str]:
    """Item ``k``'s service as the answer gives it and as the label writes it."""
    service = answer["items"][k]["service"]
    passage = seen.passages.get(f"items[{k}].service")
    return service, passage.label_text if passage is not None else service


def _other_numbers(new: str, service: str, label: str) -> bool:
    """True when ``new`` writes other numbers than both the answer's and the label's service
    (so the change is wrong whichever of the two the record is held to)."""
    return number_tokens(new) not in (number_tokens(service), number_tokens(label))


def _digit_changes(service: str, label: str) -> list[str]:
    """``service`` with one number changed: a digit lost ("#30" -> "#3") or changed."""
    out: list[str] = []
    for m in _DIGIT_RUN.finditer(service):
        digits = m.group(0)
        options = [digits[:-1]] if len(digits) >= 2 else []
        for pos, old in enumerate(digits):
            for new_digit in "0123456789":
                if new_digit != old and not (pos == 0 and new_digit == "0" and len(digits) > 1):
                    options.append(digits[:pos] + new_digit + digits[pos + 1 :])
        for number in options:
            new = service[: m.start()] + number + service[m.end() :]
            if _other_numbers(new, service, label):
                out.append(new)
    return list(dict.fromkeys(out))


def _number_word_changes(service: str, label: str) -> list[str]:
    """``service`` with one number word changed ("Six visits" -> "Eight visits")."""
    out: list[str] = []
    for m in _NUMBER_WORD.finditer(service):
        word = m.group(0)
        for other in NUMBER_WORDS:
            if other == word.lower():
                continue
            if word.isupper():
                other = other.upper()
            elif word[0].isupper():
                other = other.capitalize()
            new = service[: m.start()] + other + service[m.end() :]
            if _other_numbers(new, service, label):
                out.append(new)
    return out


def _rewording(service: str, label: str) -> str | None:
    new = reworded(service)
    return None if squash(new) in (squash(service), squash(label)) else new


def _specialty_words(name: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", name.lower()) if w not in _GENERIC_SPECIALTY_WORDS}


def _wrong_specialties(specialties: Sequence[str]) -> list[str]:
    return [
        name
        for name in WRONG_SPECIALTIES
        if all(
            not (_specialty_words(name) & _specialty_words(true))
            and fuzz.ratio(squash(name), squash(true)) < 70
            for true in specialties
        )
    ]


def _swappable_dates(answer: Mapping[str, Any]) -> list[str]:
    """Header dates that read as another date day first (day 1-12, day and month differ)."""
    names = []
    for name in HEADER_DATES:
        if answer[name]:
            date = dt.date.fromisoformat(answer[name])
            if date.day <= 12 and date.day != date.month:
                names.append(name)
    return names


def _borrowed_item_choices(
    answer: Mapping[str, Any], seen: SeenLetter, fields: Sequence[str]
) -> list[tuple[str, str]]:
    """(path, lender path) pairs: a passage of one item and the same passage of another item
    whose text differs (in the label and the rendering) and whose quote differs."""
    items = answer["items"]
    # Each passage's squashed texts and quote, once (passages are long; pairs are many).
    keys: dict[tuple[int, str], tuple[str, str, str] | None] = {}
    for k, item in enumerate(items):
        for name in fields:
            passage = seen.passages.get(f"items[{k}].{name}")
            keys[k, name] = None if passage is None else (
                squash(passage.text), squash(passage.label_text), squash(item[name] or "")
            )  # fmt: skip
    pairs: list[tuple[str, str]] = []
    for k in range(len(items)):
        for name in fields:
            own = keys[k, name]
            for j, other in enumerate(items):
                lender = keys[j, name]
                if j == k or lender is None or other[name] is None:
                    continue
                if own is not None and any(a == b for a, b in zip(own, lender, strict=True)):
                    continue
                pairs.append((f"items[{k}].{name}", f"items[{j}].{name}"))
    return pairs


_GUIDELINES = ("claims_administrator_guideline", "maximus_guideline")
#: Kinds whose wrong value is chosen among those the letter does (or does not) write.
_READS_LETTER = frozenset({"state_added", "wrong_specialty", "invented_original_request"})


def wider_applicable(answer: Mapping[str, Any], seen: SeenLetter) -> list[str]:
    """The wider mistake kinds that can make ``answer`` (a ``seen`` answer) wrong."""
    items = answer["items"]
    services = [_services(answer, seen, k) for k in range(len(items))]
    checks = {
        "wrong_age": True,
        "sex_flip": answer["patient_sex"] is not None,
        "priority_flip": answer["priority"] is not None,
        "state_added": True,
        "state_dropped": bool(answer["licensure_states"]),
        "wrong_specialty": bool(answer["specialties"])
        and bool(_wrong_specialties(answer["specialties"])),
        "day_month_swapped": bool(_swappable_dates(answer)),
        "item_dropped": len(items) >= 2,
        "items_merged": len(items) >= 2,
        "service_digits": any(_digit_changes(s, label) for s, label in services),
        "service_number_word": any(_number_word_changes(s, label) for s, label in services),
        "service_reworded": any(_rewording(s, label) for s, label in services),
        "invented_original_request": any(item["original_request"] is None for item in items),
        "borrowed_guideline": bool(_borrowed_item_choices(answer, seen, _GUIDELINES)),
        "borrowed_rationale": bool(_borrowed_item_choices(answer, seen, ("rationale",))),
    }
    return [kind for kind in WIDER_MISTAKE_KINDS if checks[kind]]


def inject_wider(
    kind: str,
    answer: dict[str, Any],
    seen: SeenLetter,
    rng: random.Random,
    changes: list[Change],
    anchor_words_count: int = 4,
    letter_text: str = "",
) -> str:
    """Put one mistake of a wider ``kind`` into ``answer`` (changed in place).

    The kind must be one :func:`wider_applicable` allows. Each changed value is appended to
    ``changes`` in record terms (``patient.age``, ``reviewer.licensure_states``,
    ``items[2].service``; ``items[2]`` for an item dropped or merged); returns the detail.
    """
    items = answer["items"]
    squashed_letter = squash(letter_text) if kind in _READS_LETTER else ""
    if kind == "wrong_age":
        true = answer["patient_age"]
        if true is None:
            wrong = rng.randint(25, 65)
            detail = "an age where the letter states none"
        else:
            low, high = AGE_RANGE
            options = [true + d for d in range(-10, 11) if d and low <= true + d <= high]
            digits_swapped = int(str(true)[::-1])
            if digits_swapped != true and low <= digits_swapped <= high:
                options.append(digits_swapped)
            wrong = rng.choice(options)
            detail = f"{true} -> {wrong}"
        answer["patient_age"] = wrong
        changes.append(Change("patient.age", wrong, true))
        return detail
    if kind == "sex_flip":
        true = answer["patient_sex"]
        answer["patient_sex"] = "female" if true == "male" else "male"
        changes.append(Change("patient.sex", answer["patient_sex"], true))
        return ""
    if kind == "priority_flip":
        true = answer["priority"]
        answer["priority"] = "expedited" if true == "standard" else "standard"
        changes.append(Change("priority", answer["priority"], true))
        return ""
    if kind in ("state_added", "state_dropped"):
        true_states = list(answer["licensure_states"])
        if kind == "state_added":
            others = [s for s in US_STATES if s not in true_states]
            # A model's likeliest wrong state is one the letter writes elsewhere (California).
            written = [s for s in others if squash(s) in squashed_letter]
            state = rng.choice(written or others)
            states = list(true_states)
            states.insert(rng.randint(0, len(states)), state)
            detail = f"added {state}" + (" (written elsewhere in the letter)" if written else "")
        else:
            state = rng.choice(true_states)
            states = [s for s in true_states if s != state]
            detail = f"dropped {state}"
        answer["licensure_states"] = states
        changes.append(Change("reviewer.licensure_states", states, true_states))
        return detail
    if kind == "wrong_specialty":
        specialties = answer["specialties"]
        decoys = _wrong_specialties(specialties)
        unwritten = [d for d in decoys if squash(d) not in squashed_letter]
        k = rng.randrange(len(specialties))
        true = specialties[k]
        specialties[k] = rng.choice(unwritten or decoys)
        changes.append(Change(f"reviewer.specialties[{k}]", specialties[k], true))
        return ""
    if kind == "day_month_swapped":
        name = rng.choice(_swappable_dates(answer))
        true = dt.date.fromisoformat(answer[name])
        answer[name] = dt.date(true.year, true.day, true.month).isoformat()
        changes.append(Change(name, answer[name], true.isoformat()))
        return f"{true.isoformat()} read day first"
    if kind == "item_dropped":
        k = rng.randrange(len(items))
        dropped = items.pop(k)
        changes.append(Change(f"items[{k}]", None, dropped["service"]))
        return f"item {k} of {len(items) + 1} left out"
    if kind == "items_merged":
        k = rng.randrange(len(items) - 1)
        first, second = items[k], items[k + 1]
        rationale = (
            f"{_first_words(seen.passages[f'items[{k}].rationale'].text, anchor_words_count)}"
            f" ... "
            f"{_last_words(seen.passages[f'items[{k + 1}].rationale'].text, anchor_words_count)}"
        )
        merged = {
            **first,
            "service": f"{first['service']} and {_lower_first(second['service'])}",
            "rationale": rationale,
        }
        items[k : k + 2] = [merged]
        changes.append(
            Change(f"items[{k}]", merged["service"], [first["service"], second["service"]])
        )
        return f"items {k} and {k + 1} answered as one"
    if kind in ("service_digits", "service_number_word", "service_reworded"):
        options: list[tuple[int, str]] = []
        for k in range(len(items)):
            service, label = _services(answer, seen, k)
            if kind == "service_digits":
                options += [(k, new) for new in _digit_changes(service, label)]
            elif kind == "service_number_word":
                options += [(k, new) for new in _number_word_changes(service, label)]
            elif (new := _rewording(service, label)) is not None:
                options.append((k, new))
        k, new = rng.choice(options)
        true = items[k]["service"]
        items[k]["service"] = new
        changes.append(Change(f"items[{k}].service", new, true))
        return ""
    if kind == "invented_original_request":
        k = rng.choice([k for k, item in enumerate(items) if item["original_request"] is None])
        names = [s for s in INVENTED_SERVICES if squash(s) not in squashed_letter]
        items[k]["original_request"] = rng.choice(names or list(INVENTED_SERVICES))
        changes.append(Change(f"items[{k}].original_request", items[k]["original_request"], None))
        return ""
    if kind in ("borrowed_guideline", "borrowed_rationale"):
        fields = _GUIDELINES if kind == "borrowed_guideline" else ("rationale",)
        target, lender = rng.choice(_borrowed_item_choices(answer, seen, fields))
        k, name = _item_path(target)
        j, _ = _item_path(lender)
        true = items[k][name]
        items[k][name] = items[j][name]
        changes.append(Change(target, items[k][name], true))
        return f"taken from {lender}"
    raise ValueError(f"not a wider mistake kind: {kind!r}")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Mistakes of place and omission
# --------------------------------------------------------------------------------------------

#: Where one sentence of a passage ends and the next starts: a full stop after a word, then a
#: capital ("... is not medically necessary. The request ..."); "e.g. The" and "Dr. Smith"
#: are rare enough in rationales not to matter to a test's cut.
_SENTENCE_BREAK = re.compile(r"(?<=[a-z0-9)%]\.)\s+(?=[A-Z])")
#: The values a letter states that an answer may leave out, the answer's key and the
#: record's path (the contract's names).
_REQUIRED: tuple[tuple[str, str], ...] = (
    ("case_number", "case_number"),
    *((name, name) for name in HEADER_DATES),
    ("priority", "priority"),
    ("patient_age", "patient.age"),
    ("patient_sex", "patient.sex"),
    ("licensure_states", "reviewer.licensure_states"),
    ("specialties", "reviewer.specialties"),
)


def _sentences(text: str) -> list[str]:
    return _SENTENCE_BREAK.split(collapse_ws(text))


def _long_rationales(answer: Mapping[str, Any], seen: SeenLetter) -> list[int]:
    """Items whose rationale, as the rendering writes it, has three sentences or more."""
    out = []
    for k in range(len(answer["items"])):
        passage = seen.passages.get(f"items[{k}].rationale")
        if passage is not None and len(_sentences(passage.text)) >= 3:
            out.append(k)
    return out


def _exchangeable_guidelines(answer: Mapping[str, Any], seen: SeenLetter) -> list[int]:
    """Items whose two guidelines are both given and read differently."""
    out = []
    for k, item in enumerate(answer["items"]):
        texts = [seen.passages.get(f"items[{k}].{name}") for name in _GUIDELINES]
        quotes = [item[name] for name in _GUIDELINES]
        if all(texts) and all(quotes) and quotes[0] != quotes[1]:
            a, b = (squash(t.text) for t in texts if t is not None)
            if a != b:
                out.append(k)
    return out


def _exchangeable_services(answer: Mapping[str, Any]) -> list[int]:
    """Items ``k`` whose service reads differently from item ``k + 1``'s."""
    items = answer["items"]
    return [
        k
        for k in range(len(items) - 1)
        if squash(items[k]["service"] or "") != squash(items[k + 1]["service"] or "")
    ]


def _year_off_dates(answer: Mapping[str, Any]) -> list[str]:
    """Header dates given, that exist a year either side (not the 29th of February)."""
    return [n for n in HEADER_DATES if answer[n] and not answer[n].endswith("-02-29")]


def placement_applicable(answer: Mapping[str, Any], seen: SeenLetter) -> list[str]:
    """The mistakes of place and omission that can make ``answer`` (a ``seen`` answer) wrong."""
    long = bool(_long_rationales(answer, seen))
    checks = {
        "quote_ends_early": long,
        "quote_starts_late": long,
        "guidelines_exchanged": bool(_exchangeable_guidelines(answer, seen)),
        "services_exchanged": bool(_exchangeable_services(answer)),
        "value_left_null": any(answer[key] not in (None, []) for key, _ in _REQUIRED),
        "year_off": bool(_year_off_dates(answer)),
    }
    return [kind for kind in PLACEMENT_MISTAKE_KINDS if checks[kind]]


def inject_placement(
    kind: str,
    answer: dict[str, Any],
    seen: SeenLetter,
    rng: random.Random,
    changes: list[Change],
    anchor_words_count: int = 4,
) -> str:
    """Put one mistake of place or omission of ``kind`` into ``answer`` (changed in place).

    The kind must be one :func:`placement_applicable` allows. Each changed value is appended
    to ``changes`` in record terms: for a quote, the passage the record would hold were the
    mistake kept (``wrong``) and the rendering's passage (``right``); for exchanged values,
    one change per place. Returns the detail.
    """
    items = answer["items"]
    if kind in ("quote_ends_early", "quote_starts_late"):
        k = rng.choice(_long_rationales(answer, seen))
        path = f"items[{k}].rationale"
        full = collapse_ws(seen.passages[path].text)
        sentences = _sentences(full)
        if kind == "quote_ends_early":
            kept = rng.randrange(1, len(sentences))  # at least the last sentence left out
            short = " ".join(sentences[:kept])
            detail = f"quoted to the end of sentence {kept} of {len(sentences)}"
        else:
            short = " ".join(sentences[1:])
            detail = f"quoted from sentence 2 of {len(sentences)}"
        items[k]["rationale"] = anchor_quote(short, anchor_words_count)
        changes.append(Change(path, short, full))
        return detail
    if kind == "guidelines_exchanged":
        k = rng.choice(_exchangeable_guidelines(answer, seen))
        first, second = (f"items[{k}].{name}" for name in _GUIDELINES)
        texts = {p: collapse_ws(seen.passages[p].text) for p in (first, second)}
        a, b = _GUIDELINES
        items[k][a], items[k][b] = items[k][b], items[k][a]
        changes += [Change(first, texts[second], texts[first]),
                    Change(second, texts[first], texts[second])]  # fmt: skip
        return f"item {k}'s guidelines given in each other's place"
    if kind == "services_exchanged":
        k = rng.choice(_exchangeable_services(answer))
        one, two = items[k]["service"], items[k + 1]["service"]
        items[k]["service"], items[k + 1]["service"] = two, one
        changes += [Change(f"items[{k}].service", two, one),
                    Change(f"items[{k + 1}].service", one, two)]  # fmt: skip
        return f"items {k} and {k + 1} exchanged their services"
    if kind == "value_left_null":
        key, path = rng.choice([(key, p) for key, p in _REQUIRED if answer[key] not in (None, [])])
        true = answer[key]
        answer[key] = [] if isinstance(true, list) else None
        changes.append(Change(path, answer[key], true))
        return f"{path} left out"
    if kind == "year_off":
        name = rng.choice(_year_off_dates(answer))
        true = dt.date.fromisoformat(answer[name])
        answer[name] = true.replace(year=true.year + rng.choice((-1, 1))).isoformat()
        changes.append(Change(name, answer[name], true.isoformat()))
        return f"{true.isoformat()} given as {answer[name]}"
    raise ValueError(f"not a mistake of place or omission: {kind!r}")  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Re-flowed renderings (issue 14)
# --------------------------------------------------------------------------------------------

#: Renderings made from the clean layout text with every paragraph re-filled to a width
#: (:func:`imr_llm.eval.damage.reflow`): the letter as a viewer, an e-mail or a document
#: system gives it when copied out. Their words are the layout text's, so they share its key
#: (:func:`text_key`) and its answers; a responder that knows both names the layout one.
REFLOW_RENDERINGS: dict[str, int] = {"reflow60": 60, "reflow100": 100}


def reflowed_letter(letter: GoldLetter, rendering: str) -> GoldLetter:
    """``letter`` (a clean layout text) re-flowed as ``rendering`` ("reflow60", "reflow100")."""
    from ..eval.damage import reflow  # the eval package is heavy; only this is needed

    if rendering not in REFLOW_RENDERINGS:
        raise ValueError(f"not a re-flowed rendering: {rendering!r}")
    width = REFLOW_RENDERINGS[rendering]
    return GoldLetter(letter.letter, rendering, reflow(letter.text, width), letter.record)


def reflowed_letters(
    gold: Path,
    entries: Sequence[tuple[str, str, str]],
    labels: Mapping[str, Mapping[str, Any]],
    renderings: Sequence[str],
) -> list[GoldLetter]:
    """The re-flowed renderings asked for, of every layout letter among ``entries``
    ((name, rendering, path under ``gold``) rows)."""
    wanted = [r for r in renderings if r in REFLOW_RENDERINGS]
    if not wanted:
        return []
    layouts = [
        GoldLetter(name, "layout", (gold / path).read_text(encoding="utf-8"), labels[name])
        for name, rendering, path in entries
        if rendering == "layout"
    ]
    return [reflowed_letter(letter, r) for r in wanted for letter in layouts]


# Harmless deviations for the format mode
# --------------------------------------------------------------------------------------------

#: The deviations ``format`` mode puts in a first answer: every value right, one written in
#: another shape a real model uses (see :func:`deviate_format`).
FORMAT_KINDS: tuple[str, ...] = (
    "date_us",  # a date as 11/14/2016 (month first, as US letters write it)
    "date_long",  # "November 14, 2016"
    "date_short",  # "Nov 14 2016", "Nov. 14, 2016"
    "date_time",  # "2016-11-14T00:00:00"
    "state_postal",  # "SC"
    "state_abbrev",  # "Calif.", "N.Y."
    "outcome_case",  # "Upheld", "OVERTURNED"
    "priority_case",  # "Standard"
    "sex_word",  # "Male"
    "sex_letter",  # "M", "F"
    "age_string",  # "44"
    "age_words",  # "44 years", "44 yo"
    "case_number_case",  # "cm16-0219557"
    "case_number_spacing",  # "CM16 - 0219557", "CM16 0219557"
    "null_empty",  # "" for a null optional value
    "null_word",  # "null", "N/A", "none" for a null optional value
    "null_list",  # null for an empty list
    "items_order",  # the right items in another order than the letter's
    "specialty_case",  # "occupational medicine"
    "specialty_separator",  # "Family Practice;"
    "states_joined",  # ["California, Arizona"]: the list's names in one string
    "states_string",  # "California, Arizona": a string where a list is asked for
    "specialties_joined",  # ["Family Practice; Sports Medicine"]
    "outcome_gloss",  # "Upheld (not medically necessary)", "Overturned - medically necessary"
    "outcome_decision",  # "denied", "approved", "not medically necessary"
    "case_number_label",  # "Case Number: CM16-0219557"
    "service_marker",  # "MRI of the left knee: Upheld", the header line with its marker
    "answer_wrapped",  # {"record": {...}}: the answer inside an object of one key
    "contract_nesting",  # "patient": {"age", "sex"}, "reviewer": {...}, as the record nests them
    "key_spelling",  # "caseNumber" or "Case Number" for every key, the items' too
    "json_prefix",  # a sentence, then the JSON
    "json_fence",  # the JSON in a ```json fence
    "json_fence_prose",  # a sentence, the fenced JSON, a sentence
    "json_suffix",  # the JSON, then a sentence
)
#: The deviations in the text around the JSON: only where the answer is message content
#: (instructor's ``json`` and ``md_json`` modes), not tool arguments or structured output.
CONTENT_KINDS: tuple[str, ...] = ("json_prefix", "json_fence", "json_fence_prose", "json_suffix")

#: Postal codes, written here independently of the code that reads them.
_POSTAL_CODES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH",
    "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}  # fmt: skip
#: Traditional abbreviations of the states the letters name (some states have none).
_STATE_ABBREVIATIONS = {
    "California": ("Calif.", "Calif", "Cal."), "New York": ("N.Y.",), "Texas": ("Tex.",),
    "Arizona": ("Ariz.",), "North Carolina": ("N.C.",), "South Carolina": ("S.C.",),
    "Florida": ("Fla.",), "Pennsylvania": ("Pa.", "Penn."), "Oregon": ("Ore.", "Oreg."),
    "Nevada": ("Nev.",), "West Virginia": ("W.Va.", "W. Va."), "Illinois": ("Ill.",),
    "Washington": ("Wash.",), "Colorado": ("Colo.",), "Montana": ("Mont.",),
    "Maryland": ("Md.",), "Georgia": ("Ga.",), "New Jersey": ("N.J.",),
    "Massachusetts": ("Mass.",), "Michigan": ("Mich.",), "Missouri": ("Mo.",),
    "Kentucky": ("Ky.",), "Oklahoma": ("Okla.",), "Mississippi": ("Miss.",),
    "New Hampshire": ("N.H.",), "Virginia": ("Va.",), "Kansas": ("Kans.", "Kan."),
    "New Mexico": ("N.M.", "N. Mex."), "Wyoming": ("Wyo.",), "Tennessee": ("Tenn.",),
}  # fmt: skip
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
#: An outcome in the words of the decision, written here apart from the code that reads them.
_OUTCOME_DECISIONS = {
    "upheld": ("denied", "Denied", "not medically necessary", "non-certified"),
    "overturned": ("approved", "Approved", "medically necessary", "certified"),
}
_OPTIONAL_TOP = ("case_number", *HEADER_DATES, "priority", "patient_age", "patient_sex")
_OPTIONAL_ITEM = ("original_request", "claims_administrator_guideline", "maximus_guideline")


def _put(answer: dict[str, Any], path: str, value: Any) -> Any:
    """Set the value at an answer path ("priority", "items[2].outcome", "specialties[0]");
    return the value it replaces."""
    head, _, name = path.partition(".")
    match = re.fullmatch(r"(\w+)\[(\d+)\]", head)
    if match is None:
        old, answer[head] = answer[head], value
        return old
    container = answer[match.group(1)][int(match.group(2))]
    if not name:
        old, answer[match.group(1)][int(match.group(2))] = container, value
        return old
    old, container[name] = container[name], value
    return old


def _format_targets(answer: Mapping[str, Any], kind: str) -> list[str]:
    """The answer paths ``kind`` can deviate (empty: the kind does not apply to the answer)."""
    items = answer["items"]
    if kind.startswith("date_"):
        return [name for name in HEADER_DATES if answer[name]]
    if kind == "state_postal":
        states = answer["licensure_states"]
        return [f"licensure_states[{k}]" for k, s in enumerate(states) if s in _POSTAL_CODES]
    if kind == "state_abbrev":
        states = answer["licensure_states"]
        return [f"licensure_states[{k}]" for k, s in enumerate(states)
                if s in _STATE_ABBREVIATIONS]  # fmt: skip
    if kind == "outcome_case":
        return [f"items[{k}].outcome" for k in range(len(items))]
    if kind == "priority_case":
        return ["priority"] if answer["priority"] else []
    if kind in ("sex_word", "sex_letter"):
        return ["patient_sex"] if answer["patient_sex"] else []
    if kind in ("age_string", "age_words"):
        return ["patient_age"] if answer["patient_age"] is not None else []
    if kind.startswith("case_number_"):
        return ["case_number"] if answer["case_number"] else []
    if kind in ("null_empty", "null_word"):
        top = [name for name in _OPTIONAL_TOP if answer[name] is None]
        inner = [f"items[{k}].{name}" for k, item in enumerate(items) for name in _OPTIONAL_ITEM
                 if item[name] is None]  # fmt: skip
        return top + inner
    if kind == "null_list":
        return [name for name in ("licensure_states", "specialties") if not answer[name]]
    if kind == "items_order":
        services = [squash(item["service"]) for item in items]
        return ["items"] if len(set(services)) >= 2 else []
    if kind.startswith("specialty_"):
        return [f"specialties[{k}]" for k in range(len(answer["specialties"]))]
    if kind == "states_joined":
        return ["licensure_states"] if len(answer["licensure_states"]) >= 2 else []
    if kind == "states_string":
        return ["licensure_states"] if answer["licensure_states"] else []
    if kind == "specialties_joined":
        return ["specialties"] if len(answer["specialties"]) >= 2 else []
    if kind in ("outcome_gloss", "outcome_decision"):
        return [f"items[{k}].outcome" for k in range(len(items))]
    if kind == "service_marker":
        return [f"items[{k}].service" for k in range(len(items))]
    if kind in _SHAPE_KINDS:
        return ["(answer)"]
    if kind in CONTENT_KINDS:
        return ["(answer)"]
    raise ValueError(f"unknown format kind {kind!r}")  # pragma: no cover - kept in step


def _written_date(iso: str, kind: str, rng: random.Random) -> str:
    day = dt.date.fromisoformat(iso)
    month = _MONTH_NAMES[day.month - 1]
    if kind == "date_us":
        padded = rng.random() < 0.5
        return (f"{day.month:02d}/{day.day:02d}/{day.year}" if padded
                else f"{day.month}/{day.day}/{day.year}")  # fmt: skip
    if kind == "date_long":
        return f"{month} {day.day}, {day.year}"
    if kind == "date_short":
        short = month[:3]
        return rng.choice([f"{short} {day.day} {day.year}", f"{short}. {day.day}, {day.year}"])
    return rng.choice([f"{iso}T00:00:00", f"{iso}T00:00:00Z", f"{iso} 00:00:00"])


def _content_text_for(answer: Mapping[str, Any], kind: str, rng: random.Random) -> str:
    body = json.dumps(answer, indent=rng.choice([None, 2]), ensure_ascii=False)
    if kind == "json_prefix":
        return f"Here is the extracted record:\n{body}"
    if kind == "json_fence":
        return f"```json\n{body}\n```"
    if kind == "json_fence_prose":
        return (f"Sure. Here is the determination letter as JSON:\n\n```json\n{body}\n```\n\n"
                "Let me know if anything needs changing.")  # fmt: skip
    return f"{body}\n\nAll values are taken from the letter."


def deviate_format(
    answer: Mapping[str, Any],
    rng: random.Random,
    letter: str = "",
    rendering: str = "",
    kinds: Sequence[str] | None = None,
    content: bool = False,
) -> tuple[dict[str, Any] | str, Injection] | None:
    """``answer`` (right in every value) with one value written in another shape of the same
    meaning, chosen with ``rng``: the payload (a JSON string for the deviations around the
    JSON) and what was changed. ``content`` says the answer is message content, where the
    JSON may come with prose or a fence. None when no kind applies to the answer.
    """
    allowed = [
        kind for kind in FORMAT_KINDS
        if (kinds is None or kind in kinds) and (content or kind not in CONTENT_KINDS)
        and _format_targets(answer, kind)
    ]  # fmt: skip
    if not allowed:
        return None
    kind = rng.choice(allowed)
    out: dict[str, Any] = json.loads(json.dumps(answer))
    path = rng.choice(_format_targets(out, kind))
    if kind in CONTENT_KINDS:
        text = _content_text_for(out, kind, rng)
        return text, Injection(letter, rendering, kind, (Change(path, text, None),))
    if kind in _SHAPE_KINDS:
        shaped, detail = _reshaped(out, kind, rng)
        return shaped, Injection(letter, rendering, kind, (Change(path, detail, None),), detail)
    if kind == "items_order":
        order = list(range(len(out["items"])))
        while order == sorted(order):
            rng.shuffle(order)
        right = [item["service"] for item in out["items"]]
        out["items"] = [out["items"][k] for k in order]
        wrong = [item["service"] for item in out["items"]]
        return out, Injection(letter, rendering, kind, (Change("items", wrong, right),),
                              f"letter order {order}")  # fmt: skip
    value = _value_at_answer(out, path)
    if kind.startswith("date_"):
        new: Any = _written_date(value, kind, rng)
    elif kind == "state_postal":
        new = _POSTAL_CODES[value]
    elif kind == "state_abbrev":
        new = rng.choice(_STATE_ABBREVIATIONS[value])
    elif kind in ("outcome_case", "priority_case", "sex_word"):
        new = rng.choice([value.capitalize(), value.upper()])
    elif kind == "sex_letter":
        new = value[0].upper()
    elif kind == "age_string":
        new = str(value)
    elif kind == "age_words":
        new = rng.choice([f"{value} years", f"{value} yo", f"{value} years old",
                          f"{value}-year-old"])  # fmt: skip
    elif kind == "case_number_case":
        new = value.lower()
    elif kind == "case_number_spacing":
        year, serial = value.split("-")
        new = rng.choice([f"{year} - {serial}", f"{year} {serial}", f"{year}- {serial}"])
    elif kind == "null_empty":
        new = ""
    elif kind == "null_word":
        new = rng.choice(["null", "N/A", "none", "None"])
    elif kind == "null_list":
        new = None
    elif kind == "specialty_case":
        new = value.lower() if value.lower() != value else value.upper()
    elif kind == "specialty_separator":
        new = value + rng.choice([";", ",", " ;"])
    elif kind in ("states_joined", "states_string"):
        joined = (", " if len(value) < 2 else rng.choice([", ", " and ", "; "])).join(value)
        new = [joined] if kind == "states_joined" else joined
    elif kind == "specialties_joined":
        new = [rng.choice([", ", "; "]).join(value)]
    elif kind == "outcome_gloss":
        gloss = "not medically necessary" if value == "upheld" else "medically necessary"
        new = rng.choice([f"{value.capitalize()} ({gloss})", f"{value.capitalize()} - {gloss}"])
    elif kind == "outcome_decision":
        new = rng.choice(_OUTCOME_DECISIONS[value])
    elif kind == "case_number_label":
        new = rng.choice([f"Case Number: {value}", f"IMR case {value}"])
    else:  # service_marker
        k = int(path[len("items[") : path.index("]")])
        new = f"{value}: {out['items'][k]['outcome'].capitalize()}"
    _put(out, path, new)
    return out, Injection(letter, rendering, kind, (Change(path, new, value),))


#: Kinds that change the answer's shape, not a value: its keys, their nesting, a wrapper.
_SHAPE_KINDS = ("answer_wrapped", "contract_nesting", "key_spelling")
_WRAPPERS = ("record", "determination", "answer", "imr_determination", "result")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _title(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split("_"))


def _reshaped(answer: dict[str, Any], kind: str, rng: random.Random) -> tuple[dict[str, Any], str]:
    """``answer`` in another shape of the same meaning (see :data:`_SHAPE_KINDS`), and what
    was done."""
    if kind == "answer_wrapped":
        wrapper = rng.choice(_WRAPPERS)
        return {wrapper: answer}, f"inside {{{wrapper!r}: ...}}"
    if kind == "contract_nesting":
        out = {
            k: v
            for k, v in answer.items()
            if k not in ("patient_age", "patient_sex", "licensure_states", "specialties")
        }
        out["patient"] = {"age": answer["patient_age"], "sex": answer["patient_sex"]}
        out["reviewer"] = {"licensure_states": answer["licensure_states"],
                           "specialties": answer["specialties"]}  # fmt: skip
        return out, "patient and reviewer nested as the record nests them"
    spell = rng.choice([_camel, _title])
    out = {spell(k): v for k, v in answer.items()}
    out[spell("items")] = [{spell(k): v for k, v in item.items()} for item in answer["items"]]
    return out, f"keys written as {spell('case_number')!r}"


def _value_at_answer(answer: Mapping[str, Any], path: str) -> Any:
    head, _, name = path.partition(".")
    match = re.fullmatch(r"(\w+)\[(\d+)\]", head)
    value = answer[head] if match is None else answer[match.group(1)][int(match.group(2))]
    return value[name] if name else value


def content_answer(body: Mapping[str, Any]) -> bool:
    """True when a request's answer is message content a model writes freely (instructor's
    ``json`` and ``md_json`` modes): no tools and no structured-output schema."""
    if body.get("tools") or body.get("functions"):
        return False
    response_format = body.get("response_format")
    return not (isinstance(response_format, dict) and response_format.get("type") == "json_schema")


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
        format_kinds: the deviations ``format`` mode may choose from (default all).

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
        format_kinds: Sequence[str] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if not 0.0 <= noise_rate <= 1.0:
            raise ValueError(f"noise_rate must be within [0, 1], got {noise_rate!r}")
        unknown = sorted(set(kinds or ()) - set(MISTAKE_KINDS))
        if unknown:
            raise ValueError(f"unknown mistake kinds {unknown}; known: {', '.join(MISTAKE_KINDS)}")
        unknown = sorted(set(format_kinds or ()) - set(FORMAT_KINDS))
        if unknown:
            raise ValueError(f"unknown format kinds {unknown}; known: {', '.join(FORMAT_KINDS)}")
        self.format_kinds: tuple[str, ...] | None = (
            tuple(format_kinds) if format_kinds is not None else None
        )
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
        letter; "reflow60" and "reflow100" are made from it, see :data:`REFLOW_RENDERINGS`);
        ``options`` go to the constructor (``noise_rate``, ``seed``, ``kinds``).
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
        letters += reflowed_letters(gold, entries, labels, renderings or ())
        return cls(letters, mode, **options)

    def derive(self, mode: Mode | str | None = None, **options: Any) -> GoldResponder:
        """A responder for the same letters in another mode, sharing the ``seen`` answers
        computed so far (aligning every rendering again is the slow part). Its log is new."""
        kwargs: dict[str, Any] = {
            "noise_rate": self.noise_rate,
            "seed": self.seed,
            "kinds": self.kinds,
            "anchor_words_count": self.anchor_words_count,
            "format_kinds": self.format_kinds,
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

    def answer_for(
        self, text: str, reask: bool = False, content: bool = False
    ) -> dict[str, Any] | str:
        """The answer this responder gives for ``text`` (first answer, or a re-ask's);
        ``content``: as message content (``format`` mode may then put prose around it)."""
        letter = self.lookup(text)
        if letter is None:
            raise KeyError("not a letter this responder knows")
        return self._answer(letter, reask, content)[0]

    def _format_first(
        self, letter: GoldLetter, content: bool
    ) -> tuple[dict[str, Any] | str, Injection | None]:
        seen = self._seen_for(letter)
        rng = random.Random(f"{self.seed}|format|{letter.letter}|{letter.key}")
        made = deviate_format(
            seen.answer, rng, letter.letter, letter.rendering, self.format_kinds, content
        )
        return (seen.answer, None) if made is None else made

    def _answer(
        self, letter: GoldLetter, reask: bool, content: bool = False
    ) -> tuple[dict[str, Any] | str, Injection | None]:
        if self.mode == "format" and not reask:
            return self._format_first(letter, content)
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
        answer, injection = self._answer(letter, reask, content_answer(body))
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
