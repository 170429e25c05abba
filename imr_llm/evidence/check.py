"""Check a whole record: every value at its place, then what the letter as a whole says.

One entry point for both engines (:func:`check_values`), then the checks only the whole
letter can make: values a letter of its form always states, a last rationale that ends
without its conclusion (a letter cut short), structure errors on fax-quality text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from ..form import LetterForm, Place
from ..form.credentials import words_before_states
from ..form.header import DATE_FIELDS
from ..form.items import ItemPlace, original_request_mentions
from ..form.sections import ITEM_LINE
from ..form.summary import (
    dates_an_injury,
    injury_undated,
    read_sex,
    starts_inside_sentence,
    states_age,
)
from ..form.text import (
    DANGLING_WORDS,
    collapse_ws,
    ends_sentence,
    is_collapsed,
    ocr_pattern,
    word_starts,
)
from ..inputs.normalise import Line, is_page_furniture, lines_from, without_stamps
from .common import FAX_DAMAGE, Checked, as_date, excerpt, letter_damage
from .header import check_case_number, check_date, check_priority
from .items import PASSAGES, align_items, check_outcome, check_service, misread_words
from .passages import (
    check_passage,
    check_passage_ends,
    doubt_unsure_label,
    label_inside,
    passage_ends,
)
from .patient import check_patient
from .reviewer import check_specialties, check_states


def check_items(
    items: list[dict[str, Any]],
    form: LetterForm,
    quotes: bool,
    damage: float,
    resolve: Callable[[str, int, int], tuple[str, tuple[int, int]] | None],
    out: Checked,
) -> None:
    places = form.items.items if form.items is not None else []
    rationales = form.items.rationale_labels if form.items is not None else 0
    if not places:
        for k, item in enumerate(items):
            for key in ("service", "outcome", *PASSAGES):
                if item.get(key) is not None:
                    out.put(f"items[{k}].{key}", "unverified", None,
                            "the letter's items could not be read")  # fmt: skip
        return
    pairs = align_items([collapse_ws(i.get("service") or "") for i in items], places)
    matched = {a for a, _ in pairs}
    matched_places = {p for _, p in pairs}
    for k, item in enumerate(items):
        if k in matched:
            continue
        if max(rationales, len(places)) >= len(items):
            for key in ("service", "outcome", *PASSAGES):
                if item.get(key) is not None:
                    out.put(f"items[{k}].{key}", "unverified", None,
                            "this item's place in the letter is unreadable")  # fmt: skip
        else:
            out.wrong(f"items[{k}]", f"the letter shows {len(places)} item(s); "
                      f"{excerpt(item.get('service') or '', 60)} is not one of them")  # fmt: skip
    if rationales > len(places) and "items" not in out.evidence:
        # The rules engine refuses such a letter (IncompleteLetterError); a model's answer is
        # kept, but it cannot be checked whole: the item whose rationale has no determination
        # may be one the answer lacks, or a copy of one it has (a page printed twice).
        out.put("items", "unverified", None, f"the letter shows {rationales} rationales but "
                f"only {len(places)} readable decided items: an item lost, or a page printed "
                "twice?")  # fmt: skip
    missed = [j for j in range(len(places)) if j not in matched_places]
    if missed:
        names = "; ".join(excerpt(places[j].header_text, 50) for j in missed[:3])
        out.wrong("items", f"the letter shows {len(places)} decided items but the answer has "
                  f"{len(items)}; missing: {names}")  # fmt: skip
    for k, j in pairs:
        item, place = items[k], places[j]
        after_stamp = header_after_stamp(form, place) or without_stamps(place.header_text)
        check_service(k, item, place, damage, out, after_stamp)
        for key in PASSAGES:
            region = place.passages.get(key)
            stamp = trailing_stamp(form, region) or last_stamp(region) if quotes else None
            item[key] = check_passage(k, key, item, place, quotes, damage, resolve, out, stamp)
            doubt_unsure_label(k, key, place, out)
        check_outcome(k, item, place, damage, out)
        check_passage_ends(k, item, out, damage)


def no_resolver(_quote: str, _start: int, _end: int) -> None:
    return None


def check_values(
    data: dict[str, Any],
    form: LetterForm,
    *,
    quotes: bool = False,
    resolve: Callable[[str, int, int], tuple[str, tuple[int, int]] | None] | None = None,
) -> Checked:
    """Check every value of contract-shaped ``data`` at its place in the letter.

    With ``quotes`` the items' passages are quotes ("first words ... last words") and are
    replaced, in ``data``, by the letter's text at their places; ``resolve(quote, start, end)``
    locates a quote whose label is unreadable. Contradictions are listed in ``errors``, one
    line per problem, precise enough to send back to a model.
    """
    if not form.placed:
        from .unplaced import check_unplaced

        return check_unplaced(data, form, quotes=quotes, resolve=resolve)
    out = Checked()
    damage: Any = LazyDamage(form)  # compared like a float, computed on first use
    check_case_number(data.get("case_number"), form, damage, out)
    for name in DATE_FIELDS:
        value = data.get(name)
        check_date(name, None if value is None else as_date(value), data, form, damage, out)
    check_priority(data.get("priority"), form, out)
    reviewer = data.get("reviewer") or {}
    check_states(list(reviewer.get("licensure_states") or []), form, out)
    specialties = check_specialties(list(reviewer.get("specialties") or []), form, out)
    if reviewer.get("specialties"):
        reviewer["specialties"] = specialties  # the letter's own readings
    check_patient(data.get("patient") or {}, form, damage, out)
    check_items(data.get("items") or [], form, quotes, damage, resolve or no_resolver, out)
    check_whole_letter(data, form, damage, out)
    return out


def check_whole_letter(data: dict[str, Any], form: LetterForm, damage: Any, out: Checked) -> None:
    """The checks only the whole letter can make, after every value's own (both engines call
    it: :func:`check_values`, and the rules engine's fast path): values its form always
    states, a letter cut off, items repeated, pages out of order, page tops and lines out of
    place inside values; then, on fax-quality text, contradictions of structure demoted."""
    items = data.get("items") or []
    check_expected(data, form, out)
    if form.letter_form.startswith("2016"):
        check_required(data, form, out)
    if form.letter_form.startswith(("2016", "2013")):
        # The 2013 notice's rationales end with the same conclusion ("The request for ... is
        # not medically necessary and appropriate.").
        check_letter_end(items, form, out)
        check_rationale_ends(items, out)
    check_repeated_items(items, out)
    check_services_printed_longer(items, form, out)
    check_item_pages(form, out)
    check_page_joins(items, form, out)
    check_page_tops(form, out)
    check_cropped_pages(form, out)
    check_lost_characters(form, out)
    check_item_gaps(form, out)
    check_credentials_gap(form, out)
    if out.contradicted and damage >= FAX_DAMAGE:
        demote_structure(out)


#: How a letter's last rationale ends: with the reviewer's conclusion ("...is not medically
#: necessary", "...a medical necessity"), or with the form paragraph on weaning or tapering
#: that follows an opioid denial. Letters of this form print nothing after it. Each phrase is
#: (its first word, the whole), matched with spaces and marks taken out ("medi cally .
#: nccessary" is still one) and loosely, since a fax garbles it ("mecically neodsa'y" scores 72
#: against the whole); its first word must then be there too, since "generally necessary"
#: (56 for the word) or "usually not necessary" score as high as a fax's damage on the whole.
#: A sentence that only says something is "necessary", "appropriate" or "clinically obvious"
#: is no conclusion: a cut at such a full stop inside a rationale would read as complete.
CONCLUSION_PHRASES = (("medically", "medicallynecessary"), ("medical", "medicalnecessity"))
#: "Medical necessity" is a conclusion only as a verdict: "is not a medical necessity", or
#: followed by what was (not) shown of it ("Medical necessity has not been established").
#: Rationales print it inside their reasoning too ("to determine the medical necessity of a
#: shoulder MRI", "medical needs" read loosely), where a cut would pass for a complete letter.
#: Every complete letter of the corpora and the gold set that ends on it prints "a medical
#: necessity"; the verbs are those such verdicts use. Both are looked for in the letters-only
#: text (as the phrase is matched there): the letter "a" right before the phrase, a verb's
#: stem anywhere after it.
_VERDICT_STEMS = ("establish", "demonstrat", "support", "substantiat", "shown", "document",
                  "provided", "warrant", "proven")  # fmt: skip
#: The weaning paragraph's words, matched as whole words whose first letter is the word's own
#: or its look-alike: "meaning", which rationales print, scores 86 against "weaning".
CONCLUSION_WORDS = ("weaning", "tapering")
_FIRST_LETTERS = {"w": "wv", "t": "tf"}
#: The paragraph's last sentence names weaning ("... regarding the most appropriate method
#: for weaning and terminating opioids ...", where OCR may read the commas before it as full
#: stops), or advises a taper ("a gradual taper is advised", "... is recommended"), through
#: OCR's look-alikes. A sentence of the reasoning that names tapering ("... the indications
#: for tapering or on effectiveness of various tapering methods in the patient population
#: receiving chronic opioid treatment.") is no conclusion: a letter cut after it would read
#: as complete.
_ADVICE = re.compile(
    "|".join(ocr_pattern(word).pattern for word in ("advis", "consult", "recommended")),
    re.IGNORECASE,
)
#: Scores (rapidfuzz, 0-100) at which a phrase, its first word and a word above count as
#: printed: the lowest last sentence of a complete letter on any corpus or gold rendering
#: (ocrfax) scores 72 on the whole phrase and 67 on its word ("motkcally"); "clinically"
#: scores 63.
PHRASE_SCORE = 70
FIRST_WORD_SCORE = 65
WORD_SCORE = 80


#: Where a sentence ends: ``.!?``, closing quotes or brackets, then whitespace ("320.5" and
#: "e.g" inside a sentence end none).
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+")
_NOT_LETTERS = re.compile(r"[^a-z]+")
_WORD = re.compile(r"[a-z]+")


def last_sentence(rationale: str) -> str:
    """A rationale's last sentence, whitespace collapsed: what follows the last sentence end
    before its final mark (within its last 600 characters; those when there is none)."""
    tail = _collapsed_tail(rationale, 600)
    # The last end: at the last mark where the pattern matches (matches cannot overlap: what
    # follows a mark is no mark), read back from the end rather than tried at every character.
    limit = max(0, len(tail) - 1)
    at = limit
    while True:
        at = max(tail.rfind(".", 0, at), tail.rfind("!", 0, at), tail.rfind("?", 0, at))
        if at < 0:
            return tail
        m = _SENTENCE_END.match(tail, at, limit)
        if m is not None:
            return tail[m.end() :]


def _collapsed_tail(text: str, size: int) -> str:
    """``collapse_ws(text)[-size:]``, collapsing only as much of the end as it takes: the
    collapsed end of a text is the end of its collapsed whole once it is ``size`` long."""
    window = text[-2 * size :]
    stripped = window.strip(" ")
    if is_collapsed(stripped) and (len(stripped) > size or len(text) <= 2 * size):
        return stripped[-size:]  # single spaces its only whitespace: collapsed already
    raw = 2 * size
    while raw < len(text):
        tail = collapse_ws(text[-raw:])
        if len(tail) > size:
            return tail[-size:]
        raw *= 2
    return collapse_ws(text)[-size:]


def states_conclusion(sentence: str) -> bool:
    """Whether ``sentence`` states a reviewer's conclusion (through OCR damage): it prints
    one of :data:`CONCLUSION_PHRASES` or :data:`CONCLUSION_WORDS` (see there)."""
    lowered = sentence.lower()
    if "medically necessary" in lowered:
        return True  # as printed: the common case, without the fuzzy matching below
    squashed = _NOT_LETTERS.sub("", lowered)
    at = squashed.find(_NECESSITY)
    while at >= 0:
        if _verdict(_NECESSITY, squashed, at, at + len(_NECESSITY)):
            return True
        at = squashed.find(_NECESSITY, at + 1)
    # Said inside the reasoning: not to be read loosely as "medically necessary" either.
    squashed = squashed.replace(_NECESSITY, "_")
    if any(phrase in squashed for _, phrase in CONCLUSION_PHRASES):
        return True
    aligned = {
        phrase: fuzz.partial_ratio_alignment(phrase, squashed, score_cutoff=PHRASE_SCORE)
        for _, phrase in CONCLUSION_PHRASES
    }
    necessity = aligned[_NECESSITY]
    for first, phrase in CONCLUSION_PHRASES:
        found = aligned[phrase]
        if found is None:
            continue
        # The aligned text starts at the phrase's first word, give or take a few letters
        # (the alignment may leave out a garbled start: "meachcally" aligns from "cally").
        if not any(
            fuzz.ratio(first, squashed[start : start + size], score_cutoff=FIRST_WORD_SCORE)
            for start in range(max(0, found.dest_start - 5), found.dest_start + 2)
            for size in range(len(first) - 1, len(first) + 3)
        ):
            continue
        # Damaged words read closer to "medical necessity" are that phrase ("medicai
        # necessty"), and must be said as a verdict.
        said = phrase
        if (
            necessity is not None
            and necessity.score > found.score
            and necessity.dest_start < found.dest_end
            and found.dest_start < necessity.dest_end
        ):
            said = _NECESSITY
        if _verdict(said, squashed, found.dest_start, found.dest_end):
            return True
    # A reference in brackets names a section, it advises nothing: "(See Section 4.1,
    # Indications for Tapering Opioids) Additional testing ..." is a cut inside a quotation.
    advice = _BRACKETED.sub(" ", lowered)
    said = {
        known
        for word in _WORD.findall(advice)
        for known in CONCLUSION_WORDS
        if word[:1] in _FIRST_LETTERS[known[0]] and fuzz.ratio(word, known, score_cutoff=WORD_SCORE)
    }
    return "weaning" in said or (bool(said) and _ADVICE.search(advice) is not None)


_BRACKETED = re.compile(r"\([^()]*\)")


_NECESSITY = CONCLUSION_PHRASES[1][1]


def _verdict(phrase: str, squashed: str, start: int, end: int) -> bool:
    """Whether ``phrase`` at ``squashed[start:end]`` is said as a verdict: always for
    "medically necessary"; for "medical necessity", see :data:`_VERDICT_STEMS`."""
    if phrase != _NECESSITY:
        return True
    after = squashed[end:]
    return squashed[start - 1 : start] == "a" or any(stem in after for stem in _VERDICT_STEMS)


#: A clause that opens a sentence and leaves its verdict to the main clause after the comma:
#: "Although the surgery has been found to be medically necessary, the planned procedure is
#: arthroscopic." concludes nothing, and is what a cut inside a rationale leaves. Causal
#: openers ("As the surgery is not medically necessary, the ancillary service is not
#: either") are no such clause: their main clause concludes too.
_LEADING_CLAUSE = re.compile(
    r"\W*(?:although|though|even though|even if|while|whereas|if|unless|whether)\b[^,;]*[,;]",
    re.IGNORECASE,
)


def rationale_concludes(rationale: str) -> bool:
    """Whether a rationale's last sentence states a conclusion (through OCR damage), in its
    main clause. A last "sentence" of a word or two is a mark OCR put inside one ("is not
    medically . nccessary."): the words before it are read with it."""
    last = last_sentence(rationale)
    if len(last.split()) < 3:
        last = _collapsed_tail(rationale, 160)
    clause = _LEADING_CLAUSE.match(last)
    return states_conclusion(last[clause.end() :] if clause else last)


#: A sentence's end inside a text: the mark, closing quotes or brackets, whitespace, and the
#: next sentence's first letter or opening mark.
_INNER_END = re.compile(r"[.!?][\"'”’)\]]*\s+[\"“(]?[A-Z]")
#: A verdict that gives its reason in its own sentence: opened by a causal word ("As the
#: requested surgical intervention is not medically necessary, the requested ancillary
#: service is not medically necessary."), or saying "because" or "since". OCR may take the
#: word ("A's the requested ..."): a verdict drawn from another one, both stated on either
#: side of the sentence's first comma, is reasoned too.
_REASONED = re.compile(r"\W*(?:as|because|since|given|inasmuch)\b|.*\b(?:because|since)\b",
                       re.IGNORECASE)  # fmt: skip
#: Longer than this, a rationale of one sentence is a long argument, not a verdict alone.
_VERDICT_ALONE = 400


def verdict_alone(rationale: str) -> bool:
    """Whether a rationale is one sentence that states a verdict and no reason for it.

    Reviewers open many rationales with their verdict ("The request for an MRI of the lumbar
    spine is not medically necessary.") and then argue it, often closing on it again; a letter
    cut right after that first sentence ends with a conclusion, as a whole letter does. The
    letters print no rationale of one sentence but the verdict that follows from another
    item's, which says so ("As the requested surgical intervention is not medically
    necessary, ...").
    """
    if len(rationale) > 4 * _VERDICT_ALONE:
        return False  # the common case: a rationale of many lines, whatever its spacing
    text = rationale if is_collapsed(rationale) else collapse_ws(rationale)
    if len(text) > _VERDICT_ALONE or _INNER_END.search(text) or _REASONED.match(text):
        return False
    if not states_conclusion(text):
        return False
    reason, comma, verdict = text.partition(",")
    return not (
        comma
        and states_conclusion(reason)
        and _VERB.search(verdict)  # a clause, not the list "medically appropriate, or indicated"
        and states_conclusion(verdict)
    )


_VERB = re.compile(r"\b(?:is|are|was|were|be)\b", re.IGNORECASE)


def check_letter_end(items: list[dict[str, Any]], form: LetterForm, out: Checked) -> None:
    """Flag a letter that may be cut off: its last rationale does not end with a conclusion.

    A scan that lost its last page, or text cut short by a copy, ends inside a rationale,
    often at a full stop, where nothing else shows that the rest (and any items after it) is
    missing.
    """
    places = form.items.items if form.items is not None else []
    if not items or not places:
        return
    k = len(items) - 1
    path = f"items[{k}].rationale"
    rationale = items[k].get("rationale")
    evidence = out.evidence.get(path)
    if not rationale or (evidence is not None and evidence.status == "unverified"):
        return
    if not rationale_concludes(rationale) or (not passage_ends(rationale) and dangles(rationale)):
        out.put(path, "unverified", evidence.span if evidence else None,
                "the letter may be cut off: its last rationale ends without a conclusion "
                "(items after it may be missing)")  # fmt: skip
    elif verdict_alone(rationale):
        out.put(path, "unverified", evidence.span if evidence else None,
                "the letter may be cut off: its last rationale is a verdict alone, "
                "one sentence giving no reason (reasons and items may be missing)")  # fmt: skip
    elif not passage_ends(rationale) and stops_inside_a_word(rationale, form.doc.lowered()):
        out.put(path, "unverified", evidence.span if evidence else None,
                "the letter may be cut off: its last rationale stops without a full stop on a "
                "word the letter prints nowhere else (a word cut short?)")  # fmt: skip


_LAST_WORD = re.compile(r"[^\W_]+$")


def stops_inside_a_word(rationale: str, lowered: str) -> bool:
    """Whether ``rationale`` (not ending with a mark) ends on a piece of a word: a word the
    letter (``lowered``: its whole text, lower case) prints nowhere else as a whole word.

    A letter cut inside its last word ("... is not medically nece", "... the r") still holds
    the conclusion the loose match of :func:`rationale_concludes` looks for, and nothing else
    shows the cut. A complete last word is printed elsewhere in the letter: its conclusion's
    "necessary" in the case summary's account of the utilization review and in every other
    rationale, "time" or "patient" across the letter. A last word OCR damaged past its other
    copies ("at this Ome") is flagged too: that record's end is not read, as a cut's is not.
    """
    found = _LAST_WORD.search(rationale.rstrip())
    if found is None:
        return False
    word = found.group().lower()
    if not word.isalpha():
        return False  # a number or a code, which may well be printed once ("... #60")
    copies = re.finditer(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", lowered)
    return next(copies, None) is None or next(copies, None) is None  # printed once at most


def _ends_naming_original(rationale: str) -> bool:
    """Whether a rationale ends with "X was the original request.": a partly certified
    request's header opens so; a rationale that restates it goes on to argue (corpus
    CM16-0229336, CM17-0007300), so one that ends on it holds the next item's first line."""
    tail = rationale.rstrip()[-40:]
    if not tail.endswith("."):
        return False
    last = tail[tail.rfind(" ") + 1 : -1].lower()
    if last != "request" and fuzz.ratio(last, "request") < 80:
        return False  # the common case: a rationale ends "... medically necessary."
    mentions = original_request_mentions(tail)
    return bool(mentions) and not tail[mentions[-1][1] :].strip(" .")


def _header_line_after(rationale: str) -> bool:
    """Whether a rationale ending in a colon ends with words after its last full stop that
    state no conclusion ("... not medically necessary. Psychological testing: MMPI-2-RF and
    Beck Anxiety Inventory:"): no rationale ends so, an item's header printed again does. A
    conclusion whose full stop OCR read as a colon ("... is not medically necessary:") is
    none."""
    text = rationale.rstrip()
    stop = _last_stop(text)
    tail = text[stop + 2 :] if stop >= 0 else text
    return len(tail.split()) >= 2 and not rationale_concludes(tail)


def _last_stop(text: str) -> int:
    """Where the last sentence of ``text`` (stripped) begins: the offset of the full stop or
    question mark and space before it, or -1."""
    return max(text.rfind(". ", 0, len(text) - 1), text.rfind("? ", 0, len(text) - 1))


def _fragment_after_conclusion(rationale: str) -> bool:
    """Whether a rationale ends with a word or two after its concluding sentence ("... is not
    medically necessary. Tramadol ."): the first words of the next item's header, split from
    it where a stray mark read as a full stop, or a line's fragment; a reviewer's last
    sentence is the conclusion."""
    text = rationale.rstrip()
    stop = _last_stop(text)
    if stop < 0 or len(text) - stop > 40:
        return False  # the common case: the last sentence is longer than a fragment
    if text[stop - 1 : stop].isspace():
        return False  # OCR's mark inside the conclusion ("not medically necessary . as written.")
    words = _FRAGMENT_WORD.findall(text[stop + 2 :])
    return 0 < len(words) <= 2 and rationale_concludes(text[: stop + 1])


_FRAGMENT_WORD = re.compile(r"[^\W_]{2,}")


#: A rationale's end that is the next item's header read into it: the test, and the reason.
_HEADER_TAILS: tuple[tuple[Callable[[str], bool], str], ...] = (
    (_ends_naming_original, "ends with '... was the original request.', the first sentence of "
     "the next item's header (read into it?)"),
    (lambda r: r.rstrip().endswith(":") and _header_line_after(r), "ends with a line ending in "
     "a colon after its conclusion (an item's header read into it?)"),
    (_fragment_after_conclusion, "ends with a word or two after its conclusion (the next "
     "item's first words, or a line's fragment, read into it?)"),
)  # fmt: skip


#: A word of a service as :func:`longer_copies` compares them: letters and digits, with the
#: marks inside a word ("L4-5", "7.5mg", "X-ray"), or a count ("#60"); other marks and case
#: are not compared ("per day, 5 days" and "per day 5 days" are the same words).
_SERVICE_WORD = re.compile(r"[^\W_]+(?:[-'./][^\W_]+)*|#\d+")
#: How many words a copy of a service may have more inside it, and how many such copies, all
#: the same, the letter must print for :func:`check_services_printed_longer` to flag it.
_MORE_WORDS = 2
_LONGER_COPIES = 2


def longer_copies(service: str, lowered: str) -> tuple[str, int]:
    """The longest-printed copy of ``service`` in the letter (``lowered``: its whole text,
    lower case) that holds its words in order with one or two words more between its first
    and its last, and how many times the letter prints that copy ("", 0 when none).

    Each place the service's first word starts is read for the copy: a few words after it,
    not the whole letter."""
    words = _SERVICE_WORD.findall(service.lower())
    if len(words) < 2:
        return "", 0
    first, last, reach = words[0], words[-1], len(service) + 40
    copies: dict[tuple[str, ...], int] = {}
    for at in word_starts(lowered, first):
        # A copy holds the service's last word within reach: most places of its first word
        # ("mri", "physical") start no copy, told without reading their words.
        if lowered.find(last, at + 1, at + reach) > 0:
            copy = _with_words_inside(words, _SERVICE_WORD.findall(lowered, at, at + reach))
            if copy is not None:
                copies[copy] = copies.get(copy, 0) + 1
    if not copies:
        return "", 0
    copy, count = max(copies.items(), key=lambda pair: pair[1])
    return " ".join(copy), count


def _with_words_inside(words: list[str], printed: list[str]) -> tuple[str, ...] | None:
    """The start of ``printed`` that is ``words`` with 1 to :data:`_MORE_WORDS` words more
    between the first and the last (None otherwise: the same words, or others)."""
    if not printed or printed[0] != words[0] or printed[: len(words)] == words:
        return None  # another word, or the service as it is (the common case)
    k, j, more = 1, 1, 0
    while k < len(words):
        if j >= len(printed):
            return None
        if printed[j] == words[k]:
            k += 1
        elif more == _MORE_WORDS:
            return None
        else:
            more += 1
        j += 1
    return tuple(printed[:j]) if more else None


def check_services_printed_longer(
    items: list[dict[str, Any]], form: LetterForm, out: Checked
) -> None:
    """Flag a service the letter prints elsewhere, at least twice and the same each time,
    with a word or two more inside it: "MRI of left shoulder" in its header, "MRI of the
    left shoulder" in the case summary and in the rationale's conclusion. The header lost
    the word (a word dropped, a line's part lost), and its words still read as a service.

    A restatement may add a word ("EMG testing of the left upper extremity", corpus
    CM16-0247287; "home health care for 4 hours", gold gB09), but then only once: no letter
    of the corpora or the gold set prints a longer copy twice.
    """
    for k, item in enumerate(items):
        path = f"items[{k}].service"
        service = item.get("service")
        evidence = out.evidence.get(path)
        if not service or evidence is None or evidence.status == "unverified":
            continue
        copy, count = longer_copies(service, form.doc.lowered())
        if count >= _LONGER_COPIES:
            out.put(path, "unverified", evidence.span,
                    f"the letter prints it {count} times with more words inside "
                    f"({excerpt(copy, 60)}): a word lost from the item's header?")  # fmt: skip


def check_rationale_ends(items: list[dict[str, Any]], out: Checked) -> None:
    """Flag a rationale before the last that stops inside a sentence: no full stop at its end
    and no conclusion in its last words ("... The request for"); and any rationale that ends
    with a header-like line after its conclusion (:func:`_header_line_after`). Every
    rationale closes on its conclusion; one that stops so lost its last line, or had it read
    into another passage, while the rest reads as written. (The last one's end is otherwise
    :func:`check_letter_end`'s.)"""
    for k, item in enumerate(items):
        rationale = item.get("rationale")
        if not rationale:
            continue
        path = f"items[{k}].rationale"
        evidence = out.evidence.get(path)
        if evidence is not None and evidence.status == "unverified":
            continue
        tail = next((why for test, why in _HEADER_TAILS if test(rationale)), "")
        if tail:
            if evidence is not None:
                out.put(path, "unverified", evidence.span, tail)
            continue
        if k == len(items) - 1 or passage_ends(rationale):
            continue  # the common case: a rationale that ends as a sentence does
        if not rationale_concludes(rationale):
            out.put(path, "unverified", evidence.span if evidence else None,
                    "ends inside a sentence, without its conclusion (its last line lost or "
                    "read elsewhere?)")  # fmt: skip
        elif dangles(rationale):
            out.put(path, "unverified", evidence.span if evidence else None,
                    "ends inside a sentence, on a word no sentence ends with (its last line "
                    "lost or read elsewhere?)")  # fmt: skip


def dangles(rationale: str) -> bool:
    """Whether ``rationale`` (not ending as a sentence does) stops on a word no sentence ends
    with (:data:`~imr_llm.form.text.DANGLING_WORDS`), its conclusion's words before it or
    not: a rationale so stopped lost the rest of its sentence ("... is not medically necessary
    per the")."""
    words = rationale.rstrip().rsplit(None, 1)
    return bool(words) and words[-1].lower() in DANGLING_WORDS


_LABEL_WORD_PIECES = ("guidel", "uideli", "deline", "rational", "ationale", "tionale")


def _holds_label_word(text: str) -> bool:
    lowered = text.lower()
    return any(piece in lowered for piece in _LABEL_WORD_PIECES)


def check_item_pages(form: LetterForm, out: Checked) -> None:
    """Flag a letter whose pages of items are out of order or lost, where every value the
    record has still reads exactly: its header or its case summary holds an item's passage
    label ("Decision rationale:", a page of items read before the letter's first page or the
    summary's last one; the header's an outcome marker too), or its items start with the end
    of a rationale no item holds (the page before it lost). Neither part ever prints an
    item's labels, and the items' opening sentence is followed by an item."""
    if not form.letter_form.startswith("2016"):
        return
    first, last = form.sections.header
    if last > first:
        lines = form.doc.lines
        head = form.doc.source[lines[first].start : lines[last - 1].end]
        if ITEM_LINE.search(head):
            out.put("items", "unverified", None, "the header holds an item's passage label or "
                    "outcome marker: pages out of order? (items may be missing)")  # fmt: skip
            return
    summary = form.summary
    # A label's last word survives OCR in one of these pieces; collapsed, the label is looked
    # for only near the summary's colons (see label_inside).
    if (
        summary is not None
        and _holds_label_word(summary.text)
        and label_inside(collapse_ws(summary.text))
    ):
        out.put("items", "unverified", None, "the case summary holds an item's passage label: "
                "pages out of order? (items may be missing)")  # fmt: skip
        return
    if form.items is not None and form.items.items:
        before = form.doc.text(form.items.start, form.items.items[0].header.start)
        if len(before) > 40 and rationale_concludes(before):
            out.put("items", "unverified", None, "the items start with the end of a rationale "
                    "no item holds: a page lost before it? (items may be missing)")  # fmt: skip


#: A line's end on a sentence's end, closing marks or OCR's marks after it.
_STOP_BEFORE_BREAK = re.compile(r"[.!?][^\w]{0,6}$")
#: A page's first word in lower case: two letters or more, not OCR's "l" for a capital "I"
#: ("ln addition", "lt is").
_LOWER_WORD = re.compile(r"[a-km-z][a-z]+\b")


def check_page_joins(items: list[dict[str, Any]], form: LetterForm, out: Checked) -> None:
    """Flag an item where the text goes on from one page to the next as no letter does: a
    page lost (a scan or a fax that dropped one) or pages out of order, where every value the
    record has still reads exactly and the item count is simply short.

    Three joins give it away (none is on any page break of the corpora and the gold set):
    a passage whose sentence ends at a page's foot and whose next page opens in lower case
    (the rest of another item's sentence); a rationale before the last that states no
    conclusion and stops where a page ends (its conclusion was on the page lost, and any
    items between); a rationale whose conclusion names a dose or a count its item does not
    hold (another item's conclusion, read on from the page after a lost one).
    """
    places = form.items.items if form.items is not None else []
    if not form.letter_form.startswith("2016") or "\f" not in form.doc.source:
        return
    source = form.doc.source
    for k, (item, place) in enumerate(zip(items, places, strict=False)):
        rationale = place.passages.get("rationale")
        reason = ""
        for key, passage in place.passages.items():
            if passage is not None and _opens_page_in_lower_case(form, passage):
                _doubt(out, f"items[{k}].{key}", _LOWER_CASE_PAGE)
        text = item.get("rationale")
        if not text or rationale is None or len(items) != len(places):
            continue  # an item another engine read apart from the letter's is not this one
        if (
            k + 1 < len(places)
            and source.find("\f", rationale.end, places[k + 1].outcome_place.start) >= 0
            and not rationale_concludes(text)
        ):
            reason = ("states no conclusion and stops where a page ends: a page lost after it? "
                      "(its conclusion and items may be missing)")  # fmt: skip
        elif source.find("\f", rationale.start, rationale.end) >= 0 and concludes_on_other_doses(
            text, " ".join(str(item.get(key) or "") for key in ("service", "original_request"))
        ):
            reason = ("its conclusion names a dose or a count its item does not hold, across a "
                      "page break: another item's conclusion, a page lost before it? (items "
                      "may be missing)")  # fmt: skip
        if reason:
            _doubt(out, f"items[{k}].rationale", reason)


_LOWER_CASE_PAGE = ("a sentence ends at a page's foot and the next page opens in lower case: a "
                    "page lost or out of order here? (items may be missing)")  # fmt: skip


def _doubt(out: Checked, path: str, reason: str) -> None:
    """Mark ``path`` unverified for ``reason``, at its span, unless it already is (the first
    reason found stands)."""
    evidence = out.evidence.get(path)
    if evidence is None or evidence.status != "unverified":
        out.put(path, "unverified", evidence.span if evidence else None, reason)


def _opens_page_in_lower_case(form: LetterForm, passage: Place) -> bool:
    """Whether ``passage`` holds a page break where a sentence ends at the page's foot and the
    next page opens with a word in lower case (page furniture, blank lines and OCR's marks
    after the full stop aside; a stop after a word no sentence ends with is OCR's mark)."""
    source = form.doc.source
    at = source.find("\f", passage.start, passage.end)
    while at >= 0:
        foot = _text_line_beside(source, at, passage.start, -1)
        top = _text_line_beside(source, at + 1, passage.end, 1)
        ends = _STOP_BEFORE_BREAK.search(foot) and not _stops_on_a_dangling_word(foot)
        if ends and _LOWER_WORD.match(top):
            return True
        at = source.find("\f", at + 1, passage.end)
    return False


def _stops_on_a_dangling_word(line: str) -> bool:
    """Whether ``line``'s last word, its marks aside, is one no sentence ends with ("... the
    type of." on a fax: OCR's mark after a word the sentence goes on from)."""
    words = _FRAGMENT_WORD.findall(line[-40:].lower())
    return bool(words) and words[-1] in DANGLING_WORDS


def _text_line_beside(source: str, at: int, limit: int, step: int) -> str:
    """The first line of words (stripped; not page furniture) from ``at`` towards ``limit``:
    backwards for ``step`` -1, forwards for 1 ("" when none within a few lines)."""
    for _ in range(6):
        if step < 0:
            newline = source.rfind("\n", limit, at)
            line, at = source[max(newline + 1, limit) : at], newline
            ended = newline < 0
        else:
            newline = source.find("\n", at, limit)
            line, at = source[at : limit if newline < 0 else newline], newline + 1
            ended = newline < 0
        line = line.strip()
        if line and not is_page_furniture(line):
            return line
        if ended:
            return ""
    return ""


#: A dose or a count as a conclusion names it: "#60", "10/325mg", "5%", "120 grams".
_DOSE = re.compile(
    r"#\s?\d+|\b\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?\s?(?:mg|mcg|ml|gm|g|grams?|%)(?![^\W_])",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")


def concludes_on_other_doses(rationale: str, item_text: str) -> bool:
    """Whether ``rationale``'s last sentence states a verdict naming a dose or a count
    (:data:`_DOSE`) whose digits ``item_text`` (its service and original request) does not
    hold, one digit misread aside where both have two or more ("#990" for "#90")."""
    last = last_sentence(rationale)
    if "necess" not in last.lower():
        return False
    held = set(_DIGITS.findall(item_text))
    for dose in _DOSE.finditer(last):
        for digits in _DIGITS.findall(dose.group()):
            if digits in held:
                continue
            if len(digits) < 2 or not any(
                len(h) >= 2 and Levenshtein.distance(digits, h) <= 1 for h in held
            ):
                return True
    return False


#: A line of words: three letters or more, twice (OCR's marks and a page's debris are none).
_WORDS_LINE = re.compile(r"[A-Za-z]{3,}\W+(?:\w+\W+)*?[A-Za-z]{3,}")


def check_item_gaps(form: LetterForm, out: Checked) -> None:
    """Flag an item whose outcome marker and first label have a line of words between them.

    The letters print nothing there (a page's furniture, dropped before, and OCR's marks
    aside). A line there is a line out of its place: OCR's reading order or a copy that put a
    passage's second line above its label, so the passage reads on without it, each sentence
    whole.
    """
    if form.items is None or not form.letter_form.startswith("2016"):
        return  # the 2013 notice lists its determinations apart from their passages
    lines = form.doc.lines
    for k, place in enumerate(form.items.items):
        labels = [
            (p.label[0], key) for key, p in place.passages.items() if p is not None and p.label
        ]
        if not labels:
            continue
        first, key = min(labels)
        i = lines_from(lines, place.outcome_place.end)
        while i < len(lines) and lines[i].start < first:
            if _WORDS_LINE.search(lines[i].text):
                _doubt(out, f"items[{k}].{key}", "a line of words stands between the item's "
                       "outcome and this label (a line of the passage out of its "
                       "place?)")  # fmt: skip
                break
            i += 1


def check_credentials_gap(form: LetterForm, out: Checked) -> None:
    """Flag the licensure states where words stand between the credentials' form sentence and
    their label (:func:`~imr_llm.form.credentials.words_before_states`): a line of the list
    read above its label, the list read short, each state in it still a state."""
    if form.credentials is None or not words_before_states(form.doc, form.credentials):
        return
    _doubt(out, "reviewer.licensure_states", "words stand between the credentials' form "
           "sentence and this label (a line of the list out of its place?)")  # fmt: skip


#: An item value's path: its service, original request or a passage.
_ITEM_PATH = re.compile(r"items\[\d+\]\.")
#: A line of a paragraph that ends it or a list's entry, or a label.
_ENDS_LINE = re.compile(r"[.:;!?]\W*$")
#: How short, against the value's full lines, a page's first line is when it cannot be a
#: wrapped line of the value it sits in.
_SHORT_TOP = 0.6


#: How many lines at a page's right edge must end inside a word for the page to read as
#: cropped (:func:`cropped_lines`). None of the 554 renderings and 4,000 generated letters
#: reads as cropped; of the renderings with a page cropped 2 to 8 columns short (the damage
#: fuzz's ``crop_right``, three seeds each) 38% do.
_CROPPED_CUTS = 2


def _cut_inside_a_word(lowered: str, word: str) -> str:
    """``word`` (a line's last, lower case) when it reads as a longer word cut short: three
    letters or more, printed once in the letter (``lowered``) as a word of its own, and the
    start of a longer word the letter prints ("therap" of "therapy") but never of that word
    with an ending (:data:`_ENDINGS`); else ''."""
    if len(word) < 3 or not word.isalpha():
        return ""
    n, whole, longer = len(word), 0, False
    for hit in word_starts(lowered, word):
        if lowered[hit + n : hit + n + 1].isalpha():
            rest = lowered[hit + n : hit + n + 6]
            stop = next((k for k, ch in enumerate(rest) if not ch.isalpha()), len(rest))
            ending = rest[:stop]
            if ending in _ENDINGS or (ending[-1:] == "s" and ending[:-1] in _ENDINGS):
                return ""  # a word with an ending ("items" of "item", "treatments" of "treat")
            longer = True
        else:
            whole += 1
            if whole > 1:
                return ""  # printed elsewhere as a word of its own
    return word if longer else ""


#: Endings that make a word of another ("items", "requested", "treatment", "medically"): a
#: line ending on the shorter is no word cut short.
_ENDINGS = frozenset(("s", "es", "d", "ed", "ing", "ment", "ly", "er", "ers", "al"))


def cropped_lines(source: str, lowered: str) -> list[tuple[int, int, str]]:
    """The lines at the right edge of each page that reads as cropped, with a word cut there.

    A page scanned askew or cropped loses what stood beyond a column: its longest lines all
    end at that column, several inside a word ("physical therap", "rehabilita"), where a
    printed page's lines end at a word's end (or a hyphen). Lines are those of ``source``
    between form feeds; each of a cropped page's lines within a character of its longest is
    returned (``start``, ``end``, one word cut on that page)."""
    out: list[tuple[int, int, str]] = []
    seen: dict[str, str] = {}
    page_start = 0
    for page in source.split("\f"):
        lines = page.split("\n")
        sizes = [len(line.rstrip()) for line in lines]
        widest = max(sizes)
        edge = [i for i, size in enumerate(sizes) if size >= widest - 1] if widest > 1 else []
        if len(edge) >= _CROPPED_CUTS:
            cuts = []
            for i in edge:
                line = lines[i][: sizes[i]]
                last = line[line.rfind(" ") + 1 :].lower()
                if last not in seen:
                    seen[last] = _cut_inside_a_word(lowered, last)
                if seen[last]:
                    cuts.append(seen[last])
            if len(cuts) >= _CROPPED_CUTS:
                starts = list(accumulate(map((1).__add__, map(len, lines)), initial=page_start))
                out.extend((starts[i], starts[i] + sizes[i], cuts[0]) for i in edge)
        page_start += len(page) + 1
    return out


#: How many lines of a page, at its left margin, must open on the tail of a word for the
#: page to read as cropped at its left edge, and what share of its margin lines at least:
#: none of the 554 renderings and their re-flows to 60 and 100 columns (1,662 texts) reads
#: so, and of 554 texts with one page cropped by one to three columns (the fuzz's
#: ``crop_left``), 499 do (a page cropped by one column keeps many a line's first word
#: whole: "he" of "the"). A re-filled text has a line's start at every word: three such
#: words in a hundred lines are chance, not a crop.
_LEFT_CUTS = 3
_LEFT_SHARE = 0.1
#: Words that open many a line of a letter (the form's paragraph, the words every summary and
#: rationale prints): each is printed whole elsewhere in nearly every letter, so it is no
#: cut tail, and not asking saves most of the look-ups (a cut that leaves one of them, "case"
#: of "showcase", is not counted: the page needs three others).
_LINE_OPENERS = frozenset(
    "the and that this was with for not has had are his her its who which when there would "
    "were been have over above out such least non patient patients maximus affiliation case "
    "week education regulations clinical how imr review reviewer experience file active mri "
    "treatment treatments therapy physical recommendation recommended recommend medically "
    "medical injured injury request requested pain necessary necessity included including "
    "documentation documented medication medications lumbar cervical shoulder spine worker "
    "improvement conservative weeks sessions visits noted imaging findings right left original "
    "motion indicated indicates complained decreased tenderness guidelines evidence previously "
    "chronic range surgery testing dated functional without odg bilateral nerve submitted "
    "authorization evaluation additional appropriate symptoms diagnosis diagnoses".split()
)
#: A line's first word where the line starts at the margin (three letters or more), and any
#: line's start at the margin.
_MARGIN_WORD = re.compile(r"^[A-Za-z]{3,}(?![A-Za-z])", re.MULTILINE)
_MARGIN = re.compile(r"^\S", re.MULTILINE)


def _tail_of_a_word(lowered: str, word: str, here: int) -> bool:
    """Whether ``word`` (a line's first, lower case, three letters or more, at ``here``)
    reads as a longer word's tail, its start lost: printed in the letter (``lowered``) as a
    word of its own only here, and at the end of a longer word elsewhere ("ardiography" of
    "echocardiography", "aims" of "claims"). A common word is printed whole early in the
    letter: the first such copy answers, without reading on."""
    if word in _LINE_OPENERS:
        return False
    n, inside = len(word), False
    at = lowered.find(word)
    while at >= 0:
        if not lowered[at + n : at + n + 1].isalpha():
            if at and lowered[at - 1].isalpha():
                inside = True
            elif at != here:
                return False  # a word of its own elsewhere too
        at = lowered.find(word, at + 1)
    return inside


def cropped_left_lines(source: str, lowered: str) -> list[tuple[int, str]]:
    """Where the text of each line starts, on each page that reads as cropped at its left,
    with a word cut on that page.

    A page scanned askew or cropped at its left loses what stood before a column: the lines
    that start at the margin open on the tails of words ("aims Administrator guideline:",
    "RI of the right foot", "ardiography"), where a printed line opens on a whole word. A
    page with :data:`_LEFT_CUTS` or more such lines is cropped; where each of its lines'
    text starts is returned (``start``, one word cut on that page): a line that lost a whole
    word and the space after it ("MRI (magnetic ..." cut to " (magnetic ...") starts after
    a space now, and lost its start all the same."""
    out: list[tuple[int, str]] = []
    seen: dict[str, bool] = {}
    page_start = 0
    for page in source.split("\f"):
        cuts: list[str] = []
        for m in _MARGIN_WORD.finditer(page):
            first = m.group()
            if first[0].isupper() and not first.isupper():
                continue  # a capital and small letters: a word's start, never a cut's tail
            word = first.lower()
            tail = seen.get(word)
            if tail is None:
                tail = seen[word] = _tail_of_a_word(lowered, word, page_start + m.start())
            if tail:
                cuts.append(first)
        if len(cuts) >= _LEFT_CUTS and len(cuts) >= _LEFT_SHARE * len(_MARGIN.findall(page)):
            at = page_start
            for line in page.split("\n"):
                text = line.lstrip()
                if text:
                    out.append((at + len(line) - len(text), cuts[0]))
                at += len(line) + 1
        page_start += len(page) + 1
    return out


def check_cropped_pages(form: LetterForm, out: Checked) -> None:
    """Flag every value that reaches a cropped page's right edge (:func:`cropped_lines`): the
    words it had beyond the column are lost, and what is left reads as a whole value
    ("Acute inpatient rehabilitation physical therap and occupational therapy ..."; a header
    line losing its last words: a service ending early); and every value that starts at, or
    runs over, the start of a line of a page cropped at its left (:func:`cropped_left_lines`):
    its first letters, or a line's, are lost ("RI of the right foot" of "MRI ...")."""
    doc = form.doc
    lefts = cropped_left_lines(doc.source, doc.lowered())
    if lefts:

        def left_cut(a: int, b: int) -> str:
            hit = next((cut for start, cut in lefts if a <= start < b), None)
            return "" if hit is None else (
                f"its page's lines start cut at the left edge, inside words "
                f"({excerpt(hit, 20)}): a cropped scan, its first letters lost?"
            )  # fmt: skip

        _flag_spans(out, left_cut)
    edges = cropped_lines(doc.source, doc.lowered())
    if edges:

        def right_cut(a: int, b: int) -> str:
            # The value reaches the line's end, where the column cut it (an age at the line's
            # start is whole).
            hit = next((cut for _, e, cut in edges if a < e <= b + 1), None)
            return "" if hit is None else (
                f"its page's lines end cut at one column, inside words ({excerpt(hit, 20)}): "
                "a cropped scan, words lost at the page's right edge?"
            )  # fmt: skip

        _flag_spans(out, right_cut)


def _flag_spans(out: Checked, reason: Callable[[int, int], str]) -> None:
    """Mark unverified every value checked so far, not already unverified, whose span
    ``[a, b)`` ``reason`` gives a reason for (the page-wide checks: a cropped page, a lost
    character)."""
    for path, found in list(out.evidence.items()):
        if found.status == "unverified" or found.span is None:
            continue
        why = reason(*found.span)
        if why:
            out.put(path, "unverified", found.span, why)


#: What a text decoding writes for bytes it could not read (U+FFFD).
REPLACEMENT = "\ufffd"


def check_lost_characters(form: LetterForm, out: Checked) -> None:
    """Flag every value whose place holds the replacement character "�" (U+FFFD): a
    decoding along the letter's way (an e-mail, an export, a Windows-1252 reading of UTF-8
    text: "unremarkableâ€�") lost a character there, and what the value reads may not be
    what the letter printed. No letter prints it."""
    source = form.doc.source
    if REPLACEMENT not in source:
        return  # the common case: one find
    note = ("its place holds '\ufffd' (U+FFFD), a character a text decoding could not read: "
            "lost there")  # fmt: skip
    _flag_spans(out, lambda a, b: note if REPLACEMENT in source[a:b] else "")


def check_page_tops(form: LetterForm, out: Checked) -> None:
    """Flag an item value holding a short line that opens a page and does not end there.

    A stamp, a fax header or a title printed on one page only ("RECEIVED JAN 06 2017") sits
    at the page's top, between an item header's lines or a passage's; printed on several
    pages it is page furniture (:func:`~imr_llm.inputs.normalise.edge_furniture`), but once it
    has nothing to be told by. Its shape gives it away: a wrapped line of a paragraph runs to
    the margin, and a short line ends its paragraph (a full stop, a colon) or the value. A
    value read exactly that holds such a line may hold the page's words: it needs review.
    Only pages a form feed starts are looked at: a page break found at a page number inside a
    re-filled line opens no printed line, and what follows it is the rest of a line.
    """
    doc = form.doc
    source = doc.source
    at = source.find("\f")
    if at < 0:
        return
    lines = doc.lines
    # The first line holding text of each page a form feed starts (page furniture may stand
    # before it), if it does not end there.
    tops: list[int] = []
    while at >= 0:
        i = _text_line(lines, lines_from(lines, at + 1))
        if i is not None and lines[i].page_break and not _ENDS_LINE.search(lines[i].text):
            tops.append(i)
        at = source.find("\f", at + 1)
    if not tops:
        return
    values = [
        (path, found)
        for path, found in out.evidence.items()
        if path.startswith("items[")
        and found.status != "unverified"
        and found.span is not None
        and _ITEM_PATH.match(path)
    ]
    for i in dict.fromkeys(tops):
        line = lines[i]
        after = _text_line(lines, i + 1)
        if after is None:
            continue
        for path, found in values:
            s, e = found.span  # type: ignore[misc]
            if not (s <= line.start and line.end < e) or lines[after].start >= e:
                continue  # not inside the value, or its last line: a short one ends it
            if len(line.text.strip()) < _SHORT_TOP * _full_width(lines, i, s, e):
                out.put(path, "unverified", found.span, "a short line opens a page inside the "
                        "value and does not end it: a page's stamp or heading?")  # fmt: skip


def _text_line(lines: Sequence[Line], i: int, step: int = 1) -> int | None:
    """The first of ``lines`` holding text from ``i`` on (back towards the first with ``step``
    -1), or None."""
    while 0 <= i < len(lines):
        if not lines[i].blank:
            return i
        i += step
    return None


#: How many lines either side of a page's first line tell how long a value's lines are.
_AROUND = 4


def header_after_stamp(form: LetterForm, place: ItemPlace) -> str | None:
    """The item header without its first line, where that line opens a page after a form feed
    and is short beside the header's other lines (see :func:`check_page_tops`): a stamp
    printed once, before an item header at a page's top, is read as the header's first line.
    None otherwise."""
    doc = form.doc
    source = doc.source
    if "\f" not in source:
        return None
    lines = doc.lines
    header = place.header
    i = lines_from(lines, header.start + 1) - 1
    if i < 0 or not lines[i].page_break or _ENDS_LINE.search(lines[i].text):
        return None
    before = lines[i - 1].end if i else 0
    if "\f" not in source[before : lines[i].start]:
        return None
    after = _text_line(lines, i + 1)
    if after is None or lines[after].start >= header.end:
        return None
    if len(lines[i].text.strip()) >= _SHORT_TOP * _full_width(lines, i, header.start, header.end):
        return None
    return collapse_ws(doc.text(lines[after].start, header.end)).strip(" :;") or None


def trailing_stamp(form: LetterForm, region: Place | None) -> str | None:
    """The last line of a passage's ``region`` where it opens a page after a form feed, ends
    no sentence, and the line before it ends one: a stamp printed once at a page's top, after
    a passage that ended at the foot of the page before. None otherwise."""
    doc = form.doc
    source = doc.source
    if region is None or "\f" not in source[region.start : region.end]:
        return None
    lines = doc.lines
    i = lines_from(lines, region.end) - 1
    if i < 1 or not lines[i].page_break or _ENDS_LINE.search(lines[i].text):
        return None
    j = _text_line(lines, i - 1, -1) or 0
    if lines[i].start <= region.start or "\f" not in source[lines[j].end : lines[i].start]:
        return None
    if not ends_sentence(lines[j].text):
        return None
    return collapse_ws(lines[i].text) or None


def last_stamp(region: Place | None) -> str | None:
    """A stamp a re-fill ran into the end of a passage's ``region`` (:func:`stamp_inside`):
    its text, where nothing of the passage follows it. None otherwise."""
    if region is None:
        return None
    text = collapse_ws(region.text)
    rest = without_stamps(text)
    if rest is None or not text.startswith(rest):
        return None
    return text[len(rest) :].strip() or None


def _full_width(lines: Sequence[Line], at: int, start: int, end: int) -> int:
    """How long a value's full lines are around its line ``at``: the upper median of the
    lengths of its lines holding text (those holding ``[start, end)``) up to four lines
    either side (a letter's parts may be wrapped at different widths, and a plain
    ``pdftotext`` rendering joins some lines into very long ones)."""
    first = max(lines_from(lines, start + 1) - 1, at - _AROUND, 0)
    last = min(lines_from(lines, end), at + _AROUND + 1)
    sizes = sorted(size for k in range(first, last) if (size := len(lines[k].text.strip())))
    return sizes[len(sizes) // 2] if sizes else 0


#: How alike (rapidfuzz partial ratio, case aside) two items' rationales are when one is the
#: other printed again, through the OCR differences of two scans of one page.
REPEAT_SCORE = 95
_NAME_KEY = re.compile(r"[^a-z0-9]+")


def check_repeated_items(items: list[dict[str, Any]], out: Checked) -> None:
    """Flag an item that repeats an earlier one, service and rationale: a page of items
    printed twice (fed twice through a scanner, a file joined to itself) gives the letter its
    items again, each reading exactly at its place. A letter never decides one request twice
    in the same words.

    The services must be the same words (marks and case aside), or the same but for one or two
    words OCR read differently in one copy, or the later one end with the
    earlier one's (a line fragment joined at the page's edge), and one rationale must read
    within the other (a page's edge may cut one, or join the next page's first words to it):
    letters decide requests whose names differ in one word side by side ("Right L5-S1
    epidural steroid injection", "Left ..."; "Associated surgical service: Hip pad", "...: 2
    leg wraps") with one rationale template, and those are no repeat."""
    services = [_NAME_KEY.sub(" ", str(item.get("service") or "").lower()).strip()
                for item in items]  # fmt: skip
    for k in range(1, len(items)):
        service = services[k]
        for j in range(k):
            other = services[j]
            if not other or not (
                service == other or service.endswith(" " + other) or _read_twice(service, other)
            ):
                continue  # the common case: no two services alike, no rationale compared
            rationale = collapse_ws(str(items[k].get("rationale") or "")).lower()
            earlier = collapse_ws(str(items[j].get("rationale") or "")).lower()
            if rationale and fuzz.partial_ratio(rationale, earlier, score_cutoff=REPEAT_SCORE):
                path = f"items[{k}].rationale"
                evidence = out.evidence.get(path)
                out.put(path, "unverified", evidence.span if evidence else None,
                        f"repeats items[{j}] word for word (a page printed twice?)")  # fmt: skip
                break


def _read_twice(service: str, other: str) -> bool:
    """Whether two services are one name OCR'd twice: the same words but one or two, each a
    misreading of the other's (:func:`~imr_llm.evidence.items.misread_words`: "comprehensive
    psyehological testing"). Names that differ in a word of their own ("right"/"left", a
    count) are not."""
    words = service.split()
    misreadings = misread_words(words, other.split())
    return misreadings is not None and 0 < misreadings <= 2 and misreadings < len(words)


#: Header values every letter with a header table gives, by the label it prints.
_HEADER_REQUIRED = {
    "case_number": "Case Number",
    "date_assigned": "Date Assigned",
    "date_of_injury": "Date of Injury",
    "decision_date": "Decision Date",
    "ur_denial_date": "UR Denial Date",
    "application_received": "Application Received",
    "priority": "Priority",
}


#: The review's own dates in the order a review takes them: the Utilization Review denial, the
#: application for review, its assignment, the decision. Every labelled letter keeps it.
_REVIEW_ORDER = ("ur_denial_date", "application_received", "date_assigned", "decision_date")


def check_paired_order(data: dict[str, Any], form: LetterForm, out: Checked) -> None:
    """Flag header dates paired with their labels by position that break the review's order.

    Where labels and values are printed apart (plain pdftotext's layout), each value goes to
    the label in its place in the run: OCR or a copy that read two value lines in another order
    gives each date the other's label, and every date still reads exactly. Beside its own label
    a date out of order is the letter's own (a warning, :func:`~imr_llm.record.validation.
    date_order_warnings`); paired by position it is more likely paired wrong.
    """
    places = form.header.places
    present: list[tuple[str, dt.date]] = []
    for path in _REVIEW_ORDER:
        value = data.get(path)
        if value is not None:
            present.append((path, as_date(value)))
    for (first, a), (then, b) in zip(present, present[1:], strict=False):
        if a <= b:
            continue
        if not any(getattr(places.get(path), "how", "") == "order" for path in (first, then)):
            continue
        for path in (first, then):
            place = places.get(path)
            out.put(path, "unverified", place.span if place else None, f"{first} {a.isoformat()} "
                    f"is after {then} {b.isoformat()}, and the header prints its labels apart "
                    "from its values: two values may have changed places")  # fmt: skip


def check_required(data: dict[str, Any], form: LetterForm, out: Checked) -> None:
    """Flag a value the letter always gives that is missing from ``data``.

    A dropped line, a header the OCR garbled or a summary sentence it broke leaves a value
    null with nothing else to show for it; such a record must not pass as complete. Values
    already judged (a contradiction, an unreadable place) keep their own evidence.
    """
    header = form.header
    if header.ambiguous:
        for path in _HEADER_REQUIRED:
            place = header.places.get(path)
            evidence = out.evidence.get(path)
            if (
                place is not None
                and place.how == "order"
                and evidence is not None
                and (evidence.status != "unverified")
            ):
                out.put(path, "unverified", evidence.span, "its label is printed apart from its "
                        "value, and the header holds more values than labels: the pairing may "
                        "be shifted")  # fmt: skip
    check_paired_order(data, form, out)
    if header.present:
        for path, label in _HEADER_REQUIRED.items():
            if data.get(path) is None and path not in out.evidence:
                place = header.places.get(path)
                out.put(path, "unverified", place.span if place else (header.start, header.end),
                        f"missing: every letter's header gives its {label}, and it could not "
                        "be read here")  # fmt: skip
    elif not form.doc.double_spaced:
        # Only the seed variant (a blank line after every line) is printed without a header;
        # any other letter of this form had one, which the scan or the OCR lost.
        for path, label in _HEADER_REQUIRED.items():
            if data.get(path) is None and path not in out.evidence:
                note = (f"missing: the letter shows no header table, where letters of this "
                        f"form print the {label} (lost to the scan?)")  # fmt: skip
                out.put(path, "unverified", None, note)
    reviewer = data.get("reviewer") or {}
    if form.sections.credentials is not None:
        for key, what in (("licensure_states", "licensure states"),
                          ("specialties", "certifications/specialties")):  # fmt: skip
            path = f"reviewer.{key}"
            if not reviewer.get(key) and path not in out.evidence:
                place = getattr(form.credentials, "states" if key == "licensure_states" else key)
                out.put(path, "unverified", place.span if place else None,
                        f"missing: every letter names the reviewer's {what}")  # fmt: skip
    summary = form.summary
    patient = data.get("patient") or {}
    if summary is None:
        # Every letter of this form has a case summary: one not found (a heading and its form
        # sentence both lost) leaves the age and sex unchecked, not absent.
        for key in ("age", "sex"):
            path = f"patient.{key}"
            if patient.get(key) is None and path not in out.evidence:
                out.put(path, "unverified", None, "missing: the case summary could not be found")
        return
    # Age and sex where the summary states them: several real letters do not ("The applicant
    # is a represented employee who..."), so a null is flagged only where an age phrase or a
    # sex word is there and could not be read.
    if patient.get("age") is None and "patient.age" not in out.evidence:
        if states_age(summary.text):
            out.put("patient.age", "unverified", summary.span,
                    "missing: the case summary states an age that could not be read")  # fmt: skip
    if patient.get("sex") is None and "patient.sex" not in out.evidence:
        stated = read_sex(summary.text)
        if stated is not None:
            span = (summary.start + stated.start, summary.start + stated.end)
            out.put("patient.sex", "unverified", span,
                    "missing: the case summary states the sex in words")  # fmt: skip
    if (
        not header.present
        and data.get("date_of_injury") is None
        and "date_of_injury" not in out.evidence
    ):
        # Without a header table the summary alone dates the injury; a date written in its
        # sentence that could not be read as the injury's is a damaged phrase, not none, and
        # an opening sentence that names the injury and runs on undated lost its date's line.
        note = (
            "missing: the case summary writes a date beside the injury that could not be read "
            "as its date"
            if dates_an_injury(summary.text)
            else "missing: the case summary's first sentence names the injury without its date "
            "(a line lost?)"
            if injury_undated(summary.text)
            else ""
        )
        if note:
            out.put("date_of_injury", "unverified", summary.span, note)
    if starts_inside_sentence(summary.text):
        # The account's first line is lost: the values its first sentence states go with it.
        lost = {"patient.age": patient.get("age"), "patient.sex": patient.get("sex")}
        if not header.present:
            lost["date_of_injury"] = data.get("date_of_injury")
        for path, value in lost.items():
            if value is None and path not in out.evidence:
                note = ("missing: the case summary starts inside a sentence (its first line "
                        "lost?), where letters state it")  # fmt: skip
                out.put(path, "unverified", summary.span, note)
    if header.present:
        # The 2016-2017 letter with its header table states both in the summary's first
        # sentence ("The injured worker is a 48 year old male..."; every real letter of the
        # corpus does): a null there is a sentence lost or garbled, and a person must look.
        for key, what in (("age", "age"), ("sex", "sex")):
            path = f"patient.{key}"
            if patient.get(key) is None and path not in out.evidence:
                out.put(path, "unverified", summary.span, f"missing: no {what} was found in the "
                        "case summary, where letters of this form state it")  # fmt: skip


def check_expected(data: dict[str, Any], form: LetterForm, out: Checked) -> None:
    """A value the letter's form always states, null here with nothing said about it: its
    place was not found, so the null is unchecked and a person must look."""
    for path in sorted(form.expected):
        head, _, tail = path.partition(".")
        value = (data.get(head) or {}).get(tail) if tail else data.get(head)
        if value in (None, []) and path not in out.evidence:
            out.put(path, "unverified", None, f"null; a {form.letter_form} letter always "
                    "states it, but its place was not found")  # fmt: skip
    places = form.items.items if form.items is not None else []
    for k, item in enumerate(data.get("items") or []):
        lost = getattr(places[k], "lost", ()) if k < len(places) else ()
        for key in lost:
            path = f"items[{k}].{key}"
            if item.get(key) is None and path not in out.evidence:
                out.put(path, "unverified", None, "null; its label seems to be there but is "
                        "unreadable")  # fmt: skip


class LazyDamage:
    """The letter's estimated damage, computed only when a check first needs it.

    On a clean letter whose values all read at their places no check asks, and the estimate
    (a scan of every word) is the evidence stage's largest cost.
    """

    __slots__ = ("_form", "_value")

    def __init__(self, form: LetterForm) -> None:
        self._form = form
        self._value: float | None = None

    def __float__(self) -> float:
        if self._value is None:
            self._value = letter_damage(self._form)
        return self._value

    def __ge__(self, other: float) -> bool:
        return float(self) >= other

    def __gt__(self, other: float) -> bool:
        return float(self) > other

    def __le__(self, other: float) -> bool:
        return float(self) <= other

    def __lt__(self, other: float) -> bool:
        return float(self) < other


def demote_structure(out: Checked) -> None:
    """On fax-quality text, an item's structure (where its header, passages and boundaries
    are) is itself read through heavy damage: a mismatch there may be the reading's fault, not
    the value's. Such values are kept and flagged instead of re-asked; an outcome that
    contradicts a marker read exactly stays an error, and so does a value left out that the
    letter states (``Checked.certain``): no misreading explains an answer's null where the
    letter reads an age, a sex, states or specialties, and a re-ask is what fills it."""
    for path in list(out.contradicted):
        if not path.startswith(("items", "patient", "reviewer")) or path.endswith(".outcome"):
            continue
        if path in out.certain:
            continue
        message = out.contradicted.pop(path)
        out.errors = [e for e in out.errors if not e.startswith(f"{path}: ")]
        span = out.evidence[path].span if path in out.evidence else None
        out.put(path, "unverified", span, f"does not match the damaged letter: {message}")
