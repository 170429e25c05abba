"""Evidence for a letter whose form gives no places: each value looked for in the whole text.

The model path takes any IMR letter (:func:`imr_llm.form.read_any_form`). For a form the
letter-form layer recognises but does not read (``2014-documents-reviewed``,
``medical-professional-review``) or does not know at all (``unknown``: a form not seen yet, or
a letter too damaged to tell), no value has a place, so none can be checked the way
:func:`imr_llm.evidence.check_values` checks them. What can still be said is whether the value
is written in the letter at all: each value is looked for in the whole text, and its evidence
says what was found, with the span where it was found. Every such value is ``unverified`` (a
date found in the text may be another of the letter's dates), so the record needs review.

A value that is merely not found is no contradiction: the model is not asked again for it (a
scan may have damaged the one place it is written). A passage is different: the record keeps
the letter's own text, which only a quote that resolves somewhere in the letter can give, so a
quote found nowhere is sent back to the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rapidfuzz import fuzz

from ..form import LetterForm
from ..form.generations import FORM_UNKNOWN
from ..form.reading import CASE_NUMBER_FORM, read_dates
from ..form.summary import read_ages
from ..form.text import CollapsedText, collapse_ws
from ..form.vocabulary import state_named
from .anchors import split_quote
from .common import Checked, as_date
from .items import PASSAGES

_SEX_WORDS = {"male": ("male", "man", "gentleman"), "female": ("female", "woman", "lady")}
_OUTCOME_SIGNS = re.compile(
    r"\b(?P<word>upheld|overturned)\b|\b(?P<neg>not\s*)?medically\s+necessary\b", re.IGNORECASE
)


def form_unknown_note(form: LetterForm) -> str:
    """Why nothing is checked at a place: the form is not known, or known but not read."""
    if form.letter_form == FORM_UNKNOWN:
        return "the letter's form is not known"
    return f"the letter's form ({form.letter_form}) is not read"


def check_unplaced(
    data: dict[str, Any],
    form: LetterForm,
    *,
    quotes: bool = False,
    resolve: Callable[[str, int, int], tuple[str, tuple[int, int]] | None] | None = None,
) -> Checked:
    """Look for every value of contract-shaped ``data`` in the text of a letter with no places.

    With ``quotes`` the passages are quotes, replaced in ``data`` by the letter's text where
    ``resolve`` finds them; a quote found nowhere is the one error this check reports.
    """
    out = Checked()
    why = form_unknown_note(form)
    source = form.doc.source
    view = CollapsedText(source)

    def put(path: str, span: tuple[int, int] | None, what: str = "") -> None:
        if span is not None:
            out.put(path, "unverified", span, f"found in the text{what}; {why}, so it is not "
                    "checked at its place")  # fmt: skip
        else:
            out.put(path, "unverified", None, f"not found in the text; {why}")

    case = data.get("case_number")
    if case:
        m = next((m for m in CASE_NUMBER_FORM.finditer(source) if m.group(0) == case), None)
        put("case_number", m.span() if m else None)
    dates = read_dates(source)
    for name in ("date_assigned", "date_of_injury", "decision_date", "ur_denial_date",
                 "application_received"):  # fmt: skip
        value = data.get(name)
        if value is None:
            continue
        day = as_date(value)
        hit = next((r for r in dates if r.value == day), None)
        put(name, (hit.start, hit.end) if hit else None, " (as a date, not by its label)")
    priority = data.get("priority")
    if priority:
        m = re.search(rf"\b{re.escape(priority)}\b", source, re.IGNORECASE)
        put("priority", m.span() if m else None)
    reviewer = data.get("reviewer") or {}
    for k, state in enumerate(reviewer.get("licensure_states") or []):
        hit = state_named(source, state)
        put(f"reviewer.licensure_states[{k}]", (hit.start, hit.end) if hit else None)
    for k, specialty in enumerate(reviewer.get("specialties") or []):
        put(f"reviewer.specialties[{k}]", _find(view, specialty))
    patient = data.get("patient") or {}
    if patient.get("age") is not None:
        hit = next((r for r in read_ages(source) if r.value == patient["age"]), None)
        put("patient.age", (hit.start, hit.end) if hit else None)
    if patient.get("sex"):
        words = "|".join(_SEX_WORDS.get(patient["sex"], ()))
        m = re.search(rf"\b(?:{words})\b", source, re.IGNORECASE) if words else None
        put("patient.sex", m.span() if m else None)
    for k, item in enumerate(data.get("items") or []):
        _check_item(k, item, form, view, quotes, resolve, put, out)
    return out


def _find(view: CollapsedText, value: str) -> tuple[int, int] | None:
    """Where ``value`` is written (whitespace and case aside; OCR-close as a fallback)."""
    needle = collapse_ws(value)
    if not needle:
        return None
    at = view.text.find(needle)  # as written first: a service may recur in lower case
    if at < 0:
        at = view.find(needle)
    if at >= 0:
        return view.to_source(at, at + len(needle))
    if len(needle) < 6:
        return None
    hit = fuzz.partial_ratio_alignment(needle.lower(), view.lower)
    if hit is None or hit.score < 90:
        return None
    return view.to_source(hit.dest_start, hit.dest_end)


def _check_item(
    k: int,
    item: dict[str, Any],
    form: LetterForm,
    view: CollapsedText,
    quotes: bool,
    resolve: Callable[[str, int, int], tuple[str, tuple[int, int]] | None] | None,
    put: Callable[..., None],
    out: Checked,
) -> None:
    source = form.doc.source
    service = collapse_ws(item.get("service") or "")
    at = _find(view, service) if service else None
    put(f"items[{k}].service", at)
    if item.get("original_request"):
        put(f"items[{k}].original_request", _find(view, item["original_request"]))
    outcome = item.get("outcome")
    if outcome:
        # What the text right after the service says, if anything: its outcome word or its
        # "is [not] medically necessary".
        sign = _OUTCOME_SIGNS.search(source, at[1], at[1] + 300) if at else None
        if sign is None:
            put(f"items[{k}].outcome", None)
        else:
            said = (sign.group("word") or "").lower() or (
                "upheld" if sign.group("neg") else "overturned"
            )
            what = " after the service" if said == outcome else (
                f" after the service, where the text reads {sign.group(0)!r}"
            )  # fmt: skip
            put(f"items[{k}].outcome", sign.span(), what)
    for key in PASSAGES:
        value = item.get(key)
        if value is None:
            continue
        path = f"items[{k}].{key}"
        if not quotes:
            put(path, _find(view, value))
            continue
        found = _tightest(value, len(source), resolve) if resolve is not None else None
        if found is None:
            out.errors.append(f"{path}: the quote's first and last words were not found in "
                              "the letter; copy them exactly from the letter")  # fmt: skip
            out.contradicted[path] = "the quote was not found in the letter"
            out.put(path, "unverified", None, "the quote was not found in the letter")
            continue
        item[key] = found[0]
        put(path, found[1])


def _tightest(
    quote: str, size: int, resolve: Callable[[str, int, int], tuple[str, tuple[int, int]] | None]
) -> tuple[str, tuple[int, int]] | None:
    """The shortest passage the quote resolves to anywhere in the letter.

    With no place to start from, the quote's first words may open several passages ("Decision
    based on MTUS ..." opens both guidelines of an item): of the passages each opening gives,
    the shortest is the one the quote closes, not one that runs on through the next passage.
    """
    best = None
    start = 0
    step = max(len(collapse_ws(split_quote(quote)[0])), 1)  # past this opening's first words
    for _ in range(_MAX_OPENINGS):
        found = resolve(quote, start, size)
        if found is None:
            break
        span = found[1]
        if best is None or span[1] - span[0] < best[1][1] - best[1][0]:
            best = found
        start = span[0] + step
    return best


#: How many openings of one quote are tried (a phrase opening every item's guideline, at most).
_MAX_OPENINGS = 40
