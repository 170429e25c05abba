"""Evidence for each item's service, original request and outcome, and which answer
item is which of the letter's items.

A service is the letter's text at its item header: a value that differs in a number, or in a
key word the OCR did not damage, contradicts it; one whose text is damaged is kept, flagged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from ..form.items import ItemPlace, PartialRequest, marker_inside, split_partial_request
from ..form.reading import full_year
from ..form.text import (
    DANGLING_WORDS,
    DOUBLED_WORD,
    SENTENCE_JOIN,
    collapse_ws,
    is_word_char,
    parse_outcome,
    rationale_conclusion,
    squash,
)
from ..inputs.normalise import stamp_inside
from .common import (
    FAX_DAMAGE,
    SERVICE_THRESHOLD,
    Checked,
    Status,
    clean_word,
    excerpt,
    legible,
    status_of,
    without_furniture,
)

PASSAGES = ("claims_administrator_guideline", "maximus_guideline", "rationale")


LABEL_NAMES = {
    "claims_administrator_guideline": "Claims Administrator guideline",
    "maximus_guideline": "MAXIMUS guideline",
    "rationale": "Decision rationale",
}


def _similar(a: str, b: str) -> float:
    a, b = collapse_ws(a).lower(), collapse_ws(b).lower()
    if not a or not b:
        return 0.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b))


def _expected_service(place: ItemPlace) -> tuple[PartialRequest | None, bool]:
    try:
        return split_partial_request(place.header_text), True
    except ValueError:
        return None, False


def align_items(services: list[str], places: list[ItemPlace]) -> list[tuple[int, int]]:
    """Pairs (answer item, item place) in letter order, matching services to item headers.

    Equal counts pair in order. Otherwise a monotone alignment maximises the services'
    similarity to the headers (each header taken whole and as its partly certified request's
    service), so one missing or invented item does not shift every other one.
    """
    n, m = len(services), len(places)
    if n == m:
        return [(k, k) for k in range(n)]
    sim = [[0.0] * m for _ in range(n)]
    for i, service in enumerate(services):
        for j, place in enumerate(places):
            partial, _ = _expected_service(place)
            target = partial.service if partial else place.header_text
            score = max(_similar(service, target), _similar(service, place.header_text))
            sim[i][j] = score if score >= 60 else 0.0
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            take = sim[i][j] + best[i + 1][j + 1] if sim[i][j] else 0.0
            best[i][j] = max(take, best[i + 1][j], best[i][j + 1])
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if sim[i][j] and best[i][j] == sim[i][j] + best[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


#: How far a service's best item header must score above every other header for the two to be
#: taken as the same item when neither is written exactly as the other.
ORDER_MARGIN = 10.0


def letter_order(services: list[str], places: list[ItemPlace]) -> list[int] | None:
    """The answer's items in the letter's order, when each names its own, different item.

    :func:`align_items` keeps the answer's order, so the right items listed in another order
    would each be judged against a neighbour's marker. Here each service is matched to the one
    item header it names: the only header it equals (case and spacing aside); then, among the
    headers no other service has claimed, the one it resembles best by :data:`ORDER_MARGIN`
    over every other (repeated while that places more). When every service finds a different
    header and the answer lists them out of the letter's order, the answer's indices in letter
    order are returned; otherwise None, and the items are checked as given. Moving an item
    never vouches for it: each is still checked at its (now own) marker.
    """
    n = len(services)
    if n < 2 or not places:
        return None
    targets = []
    for place in places:
        partial, _ = _expected_service(place)
        targets.append((collapse_ws(partial.service if partial else place.header_text).lower(),
                        place.header_text.lower()))  # fmt: skip
    keys = [collapse_ws(service).lower() for service in services]
    chosen: list[int | None] = [None] * n
    free = set(range(len(places)))
    for i, key in enumerate(keys):
        equal = [j for j, (target, _) in enumerate(targets) if key == target]
        if len(equal) > 1 or (equal and equal[0] not in free):
            return None  # two headers alike, or two services naming one header
        if equal:
            chosen[i] = equal[0]
            free.discard(equal[0])
    scores = {
        i: {j: max(_similar(keys[i], t), _similar(keys[i], h)) for j, (t, h) in enumerate(targets)}
        for i in range(n) if chosen[i] is None
    }  # fmt: skip
    placed = True
    while placed and free and any(c is None for c in chosen):
        placed = False
        for i in range(n):
            if chosen[i] is not None:
                continue
            ranked = sorted(((scores[i][j], j) for j in free), reverse=True)
            best, j = ranked[0]
            runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
            if best >= SERVICE_THRESHOLD and best - runner_up >= ORDER_MARGIN:
                chosen[i] = j
                free.discard(j)
                placed = True
                if not free:
                    break
    if any(c is None for c in chosen):
        return None
    order = [c for c in chosen if c is not None]
    if order == sorted(order):
        return None
    return sorted(range(n), key=order.__getitem__)


#: A count or dose written as one: "12", "#60", "7.5mg", "2x" (digits inside an OCR'd word,
#: Words that make two items different however alike the rest is.
_KEY_WORDS = (
    frozenset({"left", "right", "bilateral"}),
    frozenset({"with", "without", "w/o"}),
    frozenset({"upper", "lower"}),
    frozenset({"cervical", "thoracic", "lumbar"}),
)


def _damaged_in(words: set[str], wanted: set[str]) -> bool:
    """Whether one of ``words`` (a letter's) is one of ``wanted`` as OCR damaged it: "cervicaI",
    "lurnbar". Closer than :func:`near_any` asks ("night" is no "right")."""
    folded = {w.translate(_LETTER_LIKE).replace("rn", "m") for w in words}
    return any(
        abs(len(w) - len(k)) <= 1 and fuzz.ratio(w, k, score_cutoff=85) >= 85
        for w in folded
        for k in wanted
    )


def near_any(words: set[str], group: frozenset[str]) -> bool:
    """Whether one of ``words`` is an OCR-damaged spelling of a word of ``group``."""
    return any(fuzz.ratio(w, k, score_cutoff=70) >= 70 for w in words for k in group)


#: Counts written as words: "Six visits" is 6 visits, and "Eight visits" another item.
_NUMBER_WORDS = {
    w: str(n) for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "ninety": "90"}  # fmt: skip


#: A token that holds a number: digits with what surrounds them in a dose or count ("#60",
#: "10/325mg", "2x6", "7-10"), perhaps OCR-damaged ("#6O", "l0/325mg"); or a count OCR read
#: as letters alone, where a count stands ("times B", "One (I)", "#SO").
_NUMBER_TOKEN = re.compile(
    r"[#(]?[A-Za-z|]{0,2}\d[\w./%:|-]*"
    r"|(?:(?<=#)|(?<=\()|(?<=\btimes )|(?<=\bx ))(?P<alike>[OoIlSB|]{1,3})(?![\w|])"
    r"|\b[a-z]+\b",
    re.IGNORECASE,
)


_DIGIT_LIKE = {"o": "0", "l": "1", "i": "1", "|": "1", "s": "5", "b": "8"}


#: A number token as printed, undamaged: digits, separators and a unit.
_CLEAN_NUMBER = re.compile(
    r"#?\d+(?:[.,/:x-]\d+)*(?:mg|ml|mcg|gm?|cm|mm|x|%|hrs?|th|st|nd|rd|s|'s)?", re.IGNORECASE
)


def _numbers(text: str) -> list[tuple[str, bool]]:
    """The numbers ``text`` writes, in order: each as its digits and separators ("#60" and
    "60" are both 60, "10/325mg" and "10/325 mg" both 10/325, "Six" is 6), and whether it is
    printed undamaged (a damaged one, "6O", is read through its look-alikes)."""
    out: list[tuple[str, bool]] = []
    for m in _NUMBER_TOKEN.finditer(text):
        raw = m.group(0).strip("(),.;:")
        token = raw.lower()
        if m.group("alike"):
            out.append(("".join(_DIGIT_LIKE.get(ch, ch) for ch in token), False))
        elif token in _NUMBER_WORDS:
            out.append((_NUMBER_WORDS[token], True))
        elif _is_number(raw):
            clean = bool(_CLEAN_NUMBER.fullmatch(token))
            read = token if clean else "".join(_DIGIT_LIKE.get(ch, ch) for ch in token)
            number = re.sub(r"[^0-9./x:-]", "", read).strip(".-:")
            # A date is a date however it is written: "12.13.2016", "12/13/16" and
            # "12/13/2016" are one date.
            date = _DATE_NUMBER.fullmatch(number)
            out.append((_one_date(date) if date else number, clean))
        elif _OCR_UNIT.search(token) and _is_number(_OCR_UNIT.sub("m", token)):
            # OCR's "rn" for "m" in a unit ("100rng"): the number, read through the damage.
            number = re.sub(r"[^0-9./x:-]", "", _OCR_UNIT.sub("m", token)).strip(".-:")
            out.append((number, False))
    return out


def _one_date(date: re.Match[str]) -> str:
    """A date among a name's numbers in one form: month/day/four-digit year, no leading
    zeros (a two-digit year pivoted as the letter's dates are)."""
    month, day, year = date.groups()
    full = full_year(int(year)) if len(year) == 2 else int(year)
    return f"{int(month)}/{int(day)}/{full}"


#: A date inside a name ("DOS: 12/13/16"), not inside a longer run of numbers.
_DATE_IN_NAME = re.compile(r"(?<![\d./-])(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})(?![\d./-])")


def _has_date(text: str) -> bool:
    return any(ch.isdigit() for ch in text) and _DATE_IN_NAME.search(text) is not None


def _dates_in_one_form(text: str) -> str:
    """``text`` with each date it writes in :func:`_one_date`'s form: a model that writes
    the letter's "12/13/16" as "12/13/2016" names the same item (the record keeps the
    letter's text)."""
    return _DATE_IN_NAME.sub(_one_date, text)


#: A date among a name's numbers, with any separator.
_DATE_NUMBER = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{2,4})")
#: OCR's "rn" for the "m" of a unit after digits ("100rng", "5rnl").
_OCR_UNIT = re.compile(r"(?<=\d)rn(?=[a-z]?$)")


def _is_number(token: str) -> bool:
    """Whether a token with a digit is a number ("#60", "10/325mg", "l2", "6O"), not a word
    OCR put a digit in ("1eft", "with0ut", "0f"): digits and their look-alikes outnumber the
    other letters."""
    if not any(ch.isdigit() for ch in token):
        return False
    if _CLEAN_NUMBER.fullmatch(token):
        return True
    digits = sum(ch.isdigit() or ch in _LOOK_ALIKES for ch in token)
    letters = sum(ch.isalpha() and ch not in _LOOK_ALIKES for ch in token)
    return digits > letters


#: Letters OCR prints for a digit, as they count towards a token being a number: common
#: lower-case letters ("s", "i") would make "sessi0ns" one.
_LOOK_ALIKES = frozenset("OoIl|SB")


def key_difference(value: str, written: str, damage: float) -> str:
    """Why ``value`` names another item than ``written`` (a count, a dose, a side, with or
    without), or ''.

    Numbers (digits or number words) must be the letter's: a count the letter prints cleanly
    ("#30", "for 3 weeks", "Six visits") that the value gives otherwise is another item however
    alike the rest reads, on a clean letter or an OCR'd one. A number the letter prints damaged
    ("#3O") is read through its look-alikes; one that still differs is left unsure (see
    :func:`_numbers_unsure`), not called wrong.
    """
    # A typographic dash is a hyphen: "12–18 sessions" is "12-18 sessions".
    value, written = value.translate(_DASHES), written.translate(_DASHES)
    if collapse_ws(value).lower() == collapse_ws(written).lower():
        return ""
    got, want = _numbers(value), _numbers(written)
    if [n for n, _ in got] != [n for n, _ in want]:
        if len(got) == len(want):
            for (a, _), (b, clean) in zip(got, want, strict=True):
                if a != b and clean:
                    return f"{a} where the letter has {b}"
        elif all(clean for _, clean in want) and not _split_in_letter(got, written):
            shown = ", ".join(n for n, _ in want) or "none"
            mine = ", ".join(n for n, _ in got) or "none"
            return f"its numbers ({mine}) are not the letter's ({shown})"
    # Whole words only: "with0ut" is OCR's "without", not "with".
    words_v = {
        w for w in re.findall(r"[a-z0-9/]+", value.lower()) if not any(c.isdigit() for c in w)
    }
    words_w = {
        w for w in re.findall(r"[a-z0-9/]+", written.lower()) if not any(c.isdigit() for c in w)
    }
    # For "near a side word", OCR's digits read as letters too: "1eft" is near "left".
    folded = unicodedata.normalize("NFKD", value.lower()).encode("ascii", "ignore").decode()
    near_v = {w.translate(_LETTER_LIKE) for w in re.findall(r"[a-z0-9/]+", folded)}
    for group in _KEY_WORDS:
        a, b = words_v & group, words_w & group
        if b and a != b and (a or not near_any(near_v, group)):
            if b <= a and _damaged_in(words_w - group, a - b):
                continue  # the letter prints the value's other word damaged ("cervicaI")
            # Another side, or none where the letter names one (an OCR'd "lcft" is not none).
            shown = "/".join(sorted(a)) or "no " + "/".join(sorted(group))
            return f"{shown} where the letter has {'/'.join(sorted(b))}"
    return ""


_LETTER_LIKE = str.maketrans({"0": "o", "1": "l", "5": "s", "8": "b", "|": "l"})
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—−", "-"))


#: A space or two between two digits: a number OCR split ("#6 0", "6 00mg").
_SPLIT_DIGITS = re.compile(r"(?<=\d)[ \t]{1,2}(?=\d)")


def _split_in_letter(got: list[tuple[str, bool]], written: str) -> bool:
    """Whether the value's numbers are the letter's once the digits the letter prints apart
    are joined ("Cyclobenzaprine 7.5mg #6 0" for "#60"): OCR's space inside a number, which
    the record keeps as the letter prints it."""
    if not _SPLIT_DIGITS.search(written):
        return False
    joined = _numbers(_SPLIT_DIGITS.sub("", written))
    return [n for n, _ in got] == [n for n, _ in joined]


def _numbers_unsure(value: str, written: str) -> bool:
    """Whether the letter prints a number damaged and the value's numbers differ from what its
    look-alikes read as: the count may be the letter's, or not; a person must look."""
    got, want = _numbers(value), _numbers(written)
    return [n for n, _ in got] != [n for n, _ in want] and not all(c for _, c in want)


def _ocr_marked(text: str, damage: float) -> bool:
    """Whether ``text`` (or the whole letter) shows OCR damage: only then may a value differ
    from it by more than case, spacing and punctuation."""
    return not all(clean_word(w) for w in text.split()) or damage >= 0.015


def _judge_name(value: str, written: str, damage: float) -> tuple[Status | None, str]:
    """How a service (or an original request) the answer gives reads against the letter's own
    text at its marker: a status and a note, or ``(None, why)`` for a contradiction, where
    ``why`` names the difference that makes it another item ('' when it merely reads
    otherwise). An unverified value's note is left to the caller ('').

    Equal but for case, spacing and punctuation is ``exact``; closer than
    :data:`SERVICE_THRESHOLD` is ``repaired`` (the record keeps the letter's text either way).
    A reworded or reordered name ("12 sessions of aquatic therapy" for "Aquatic therapy, 12
    sessions") is no OCR damage and a count the letter prints is never another: on a
    readable letter either is a contradiction, whatever words it shares.
    """
    differs = key_difference(value, written, damage)
    if differs:
        return None, differs
    if collapse_ws(value).lower() == collapse_ws(written).lower() or (
        squash(value) == squash(written) and squash(value)
    ):
        return "exact", ""
    if _has_date(value) and squash(_dates_in_one_form(value)) == squash(
        _dates_in_one_form(written)
    ):
        return "exact", "a date written otherwise"
    score = fuzz.ratio(collapse_ws(value).lower(), collapse_ws(written).lower())
    if _numbers_unsure(value, written) and score >= 60:
        return "unverified", ""
    if _more_words_at_an_end(value, written):
        return "unverified", (
            "the answer names more than the letter prints at the marker, whole words at an end "
            "(a line of the header lost?)"
        )
    if score >= SERVICE_THRESHOLD:
        return "repaired", "through OCR damage"
    if _ocr_marked(written, damage) and (
        fuzz.partial_ratio(value.lower(), written.lower()) >= 95
        and 0.75 <= len(value) / max(len(written), 1) <= 1.25
    ):
        return "repaired", "with stray marks around it"
    if damage >= FAX_DAMAGE and score >= 60:
        return "unverified", ""
    return None, ""


def _no_marker_doubt(place: ItemPlace) -> str:
    """Why a name read above no outcome marker at all may be cut short, or '': the line that
    held the marker is lost (or OCR left nothing of it), and the name's end may have stood on
    it ("Physical therapy ... for the lumbar" over a lost "spine: Upheld"; "Associated surgical
    service:" over a lost "Ultrasling: Upheld", its colon left). A marker OCR damaged leaves
    letters or digits where it stood; only fax-quality renderings leave none (13 of the 1,478
    items of the 554 renderings, all fax-quality)."""
    marker = getattr(place, "outcome_place", None)
    if place.outcome is not None or marker is None or any(ch.isalnum() for ch in marker.text):
        return ""
    return ("no outcome marker follows the item header (its line lost?): the name may go on "
            "past what the letter shows")  # fmt: skip


def _more_words_at_an_end(value: str, written: str) -> bool:
    """Whether ``value`` is ``written`` with whole words more before or after it ("MRI of the
    cervical spine without contrast times 6" for the letter's "MRI of the cervical spine
    without"): no OCR damage, but a line of the letter's header lost, or a name read short."""
    answer = _NAME_WORDS.findall(value.lower())
    letter = _NAME_WORDS.findall(written.lower())
    n = len(letter)
    return 0 < n < len(answer) and (answer[:n] == letter or answer[-n:] == letter)


def check_service(
    k: int,
    item: dict[str, Any],
    place: ItemPlace,
    damage: float,
    out: Checked,
    after_stamp: str | None = None,
) -> None:
    """Check the item's service (and original request) at its marker; the record keeps the
    letter's own text wherever the letter's text there is readable and agrees.

    ``after_stamp``: the item header without its first line, where that line opens a page
    and may be a page's stamp (:func:`imr_llm.evidence.check.header_after_stamp`). A name that
    is the header without it is no contradiction: which of the two the item is, the letter
    does not say, so the name is kept unverified.
    """
    path = f"items[{k}].service"
    # Page furniture a model copied with the name (a banner printed inside a header that
    # crosses a page) is no part of it: the record keeps the letter's text in any case.
    service = collapse_ws(without_furniture(item.get("service") or ""))
    original = item.get("original_request")
    if original:
        original = without_furniture(original)
    partial, readable = _expected_service(place)
    span = place.header.span
    if not place.header_text or not legible(place.header_text):
        out.put(path, "unverified", span, "the item header is unreadable")
        return
    if not readable:
        # A partly certified request in a wording not read: the service ends the header. A
        # header that starts inside its sentence lost its first line ("was the original
        # request. ..."), and the original request, which that line named, is not checked.
        tail = place.header_text[-max(len(service) + 10, 20) :]
        doubt = name_doubt(place.header_text, False, wording=False)
        if fuzz.partial_ratio(service.lower(), tail.lower()) < SERVICE_THRESHOLD:
            out.put(path, "unverified", span, "the partly certified request could not be read")
        elif doubt:
            out.put(path, "unverified", span, doubt)
        else:
            out.put(path, "repaired", span, "ends the item header (a partly certified request)")
        if original:
            out.put(f"items[{k}].original_request", "unverified", span, "the partly certified "
                    "request could not be read: its original request is not checked")  # fmt: skip
        return
    target = partial.service if partial else place.header_text
    status, note = _judge_name(service, target, damage)
    if status is None and after_stamp and partial is None:
        if _judge_name(service, after_stamp, damage)[0] is not None:
            out.put(path, "unverified", span, "the item header's first line opens a page and "
                    "may be a page's stamp; the name is the header without it")  # fmt: skip
            item["service"] = after_stamp
            return
    if status is None:
        # An item read between the fixed words of its sentence, not walked through damage: the
        # mismatch is the value's, whatever the letter's damage.
        out.wrong(path, f"{excerpt(service, 60)} is not the item the letter names at this marker "
                  f"({excerpt(target, 60)})" + (f": {note}" if note else ""), span,
                  certain=getattr(place, "fixed_sentence", False))  # fmt: skip
    elif status == "unverified":
        out.put(path, status, span, note or f"the item header reads {excerpt(target, 60)}")
    else:
        doubt = service_doubt(target, partial, place) or _no_marker_doubt(place)
        if doubt:
            out.put(path, "unverified", span, doubt)
        else:
            out.put(path, status, span, "at its item marker" + (f", {note}" if note else ""))
        item["service"] = target
    path = f"items[{k}].original_request"
    if partial is None:
        if original:
            out.wrong(path, "this item is not a partly certified request; use null", span)
        return
    if not original:
        out.wrong(path, f"the letter names the original request {excerpt(partial.original_request)}"
                  "; give it", span)  # fmt: skip
        return
    status, note = _judge_name(original, partial.original_request, damage)
    if status is None:
        shown = f" ({excerpt(partial.original_request, 60)}): {note}" if note else ""
        out.wrong(path, f"{excerpt(original, 60)} is not the original request the letter "
                  f"names{shown}", span)  # fmt: skip
    elif status == "unverified":
        out.put(path, status, span, "the original request is damaged")
    else:
        doubt = original_doubt(partial)
        if doubt:
            out.put(path, "unverified", span, doubt)
        else:
            out.put(path, status, span, "in the item header" + (f", {note}" if note else ""))
        item["original_request"] = partial.original_request


#: What no item's name holds: the letter's form sentences (a 2013 notice's "... each of the
#: treatment and/or services that were in dispute:" among them), or a rationale's conclusion.
_FORM_IN_NAME = re.compile(
    r"Final\s+Determination|set\s+forth\s+below|disputed\s+items|medically\s+necessary"
    r"|\bnot\s+medically\b|\bin\s+dispute\b|treatment\s+and/or\s+services",
    re.IGNORECASE,
)


#: A word each alternative of ``_FORM_IN_NAME`` holds (case aside): without one, no match.
_FORM_WORDS = ("final", "forth", "dispute", "medically", "and/or")


def _form_in_name(name: str) -> bool:
    """``bool(_FORM_IN_NAME.search(name))``, searched only where one of its words is."""
    if name.isascii():
        lowered = name.lower()
        if not any(word in lowered for word in _FORM_WORDS):
            return False
    return _FORM_IN_NAME.search(name) is not None


#: A run of four words or more printed again after up to three other words, or a run of three
#: printed again right after itself: a repeated line ("Right L4-L5 transforaminal Right L4-L5
#: transforaminal epidural steroid injection", "Associated surgical service: Associated
#: surgical service: Ultrasling", a run ending with a mark). No real name does either; a name
#: may repeat three words further on ("Norco 10/325 mg #60 and Norco 10/325 mg #30").
_REPEATED_RUN = re.compile(
    r"\b((?:\S+\s+){3,}?\S+)\s+(?:\S+\s+){0,3}?\1(?!\w)|\b((?:\S+\s+){2}\S+)\s+\2(?!\w)",
    re.IGNORECASE,
)


#: A word of marks no item name prints alone ("a 3 month supply of _ Lidoderm", "10 sessions
#: ·"), or an underscore anywhere ("6 visits_is"): OCR debris from the line's edge, which a
#: lost copy of the line leaves in the only one read, or a space read as a mark. Dashes,
#: slashes, "&", "+" and "#" stand alone in real names and are not among them.
_STRAY_MARK = re.compile(r"(?<!\S)[_|~‘’'`¦•·]+(?!\S)|_")


def repeated_run(name: str) -> bool:
    """``bool(_REPEATED_RUN.search(name))``, decided on the words where that is exact.

    The pattern backtracks through every run of words (~0.1-0.6 ms on an item header). For
    ASCII text whose words are single-spaced (every header and service is collapsed), what it
    matches can be said in words: a run of at least four words (its first may be the end of a
    word, from a word boundary), up to three words, then the same run again (case aside), its
    last word perhaps the start of a longer one, where no letter or digit follows; or a run of three
    words so, right after itself. Its second and third words (of a run of three, its second)
    stand whole in both places, so only pairs of words seen twice (words seen again three
    words on) are tried. Other text takes the search; a property test holds the two equal."""
    if not name.isascii() or " ".join(name.split()) != name:
        return _REPEATED_RUN.search(name) is not None
    words = name.lower().split(" ")
    at: dict[tuple[str, str], list[int]] = {}
    for k in range(1, len(words) - 1):
        at.setdefault((words[k], words[k + 1]), []).append(k)
    for places in at.values():
        for n, first in enumerate(places):
            for second in places[n + 1 :]:
                if _repeats(words, first - 1, second - 1):
                    return True
    # A run of three right after itself: only its middle word need stand whole in both.
    return any(
        words[a + 1] == words[a + 4] and _repeats(words, a, a + 3) for a in range(len(words) - 5)
    )


#: The fewest words a run must hold to be a line printed again with one word read differently.
_NEAR_RUN = 6


def near_repeat(name: str) -> bool:
    """Whether ``name`` holds a run of :data:`_NEAR_RUN` words or more printed again right
    after itself, one word of the copy read a little differently (two edits at most, a letter
    in it): a line printed twice and OCR'd twice ("Additional physical therapy three times a
    week ... Additional physical therapy three timcs a week ..."), which
    :func:`repeated_run` does not see. No name says six words again right after them."""
    words = name.lower().split()
    n = len(words)
    if n - len(set(words)) < _NEAR_RUN - 1:
        return False  # the common case: too few words printed twice for a run to be
    for j in range(_NEAR_RUN, n - _NEAR_RUN + 1):
        # The copy starts at j, right after a run of ``j - i`` words starting at i.
        for i in range(max(0, j - n // 2), j - _NEAR_RUN + 1):
            size = j - i
            if j + size > n or (words[i] != words[j] and words[i + 1] != words[j + 1]):
                continue
            misreadings = misread_words(words[i:j], words[j : j + size])
            if misreadings is not None and misreadings <= 1:
                return True
    return False


def misread(a: str, b: str) -> bool:
    """Whether ``b`` may be OCR's reading of ``a``: two edits at most, letters in both (a
    changed number is another value, not a misreading)."""
    return (
        any(ch.isalpha() for ch in a)
        and any(ch.isalpha() for ch in b)
        and Levenshtein.distance(a, b, score_cutoff=2) <= 2
    )


def misread_words(first: Sequence[str], second: Sequence[str]) -> int | None:
    """How many words of ``second`` differ from ``first``'s at the same place, each a
    :func:`misread` of it; None where the runs differ in length or a word differs otherwise."""
    if len(first) != len(second):
        return None
    odd = [(a, b) for a, b in zip(first, second, strict=True) if a != b]
    return len(odd) if all(misread(a, b) for a, b in odd) else None


def _repeats(words: list[str], a: int, b: int) -> bool:
    """Whether the run starting at word ``a`` (or inside it) is repeated from word ``b``, after
    a gap of up to three words (see :func:`repeated_run`)."""
    start, whole = words[a], words[b]
    cut = len(start) - len(whole)
    if cut < 0 or not start.endswith(whole):
        return False
    if cut == 0 and not is_word_char(start[0]):
        return False
    if cut > 0 and is_word_char(start[cut - 1]) == is_word_char(start[cut]):
        return False
    for gap in range(4):
        size = b - a - gap
        if (size < 4 and (size, gap) != (3, 0)) or b + size - 1 >= len(words):
            continue
        if any(words[a + k] != words[b + k] for k in range(1, size - 1)):
            continue
        last, there = words[a + size - 1], words[b + size - 1]
        if not there.startswith(last):
            continue
        m = len(last)
        if m == len(there) or not is_word_char(there[m]):
            return True
    return False


def name_doubt(name: str, partial: bool, *, form_2016: bool = True, wording: bool = True) -> str:
    """Why the letter's own text at an item marker may not be the item's whole name, or ''.

    A header walk that crossed into the previous passage takes its conclusion or the form's
    sentence along; a repeated line doubles a run of words; a first line lost leaves a name
    that starts inside its sentence (only a partly certified request's remaining portion
    does so on its own: "..., with open carpal tunnel release is: Overturned"); a line lost
    from a partly certified request leaves its wording in the name (:func:`wording_doubt`;
    ``wording=False`` asks about a whole header, which holds it).
    """
    doubt = _text_doubt(name) or (wording_doubt(name) if wording else "")
    if doubt:
        return doubt
    if DOUBLED_WORD.search(name):
        # OCR read a word twice ("2 times times a week", "MRI of the the knee").
        return "the item name prints a word twice in a row (a word OCR read twice?)"
    if wording and len(SENTENCE_JOIN.findall(name)) >= 2:
        # Three sentences in a name (two joins) are a passage read into it ("This worker has
        # type 2 diabetes ... obesity. The records do not include ... The arthroscopy ... is
        # medically Post-operative physical therapy 12 sessions ...", a rationale whose last
        # line was lost). A whole partly certified header holds the form's three sentences.
        return ("the item name holds several sentences (a rationale's lines read into it, its "
                "last line lost?)")  # fmt: skip
    if not any(ch.isalpha() for ch in name):
        return "the item header holds no word, only numbers or marks (its first line lost?)"
    if marker_inside(name):
        return ("the item header holds an outcome marker of its own (its line with the marker "
                "printed twice?)")  # fmt: skip
    if form_2016 and not partial and (name[:1].islower() or _CONTINUES.match(name)):
        return "the item header starts inside a sentence (its first line lost?)"
    if ends_cut_short(name):
        return ("the item header ends on a word no name ends with (\"MRI of the lumbar spine "
                "without\", \"... for the\"): its last word or line lost?")  # fmt: skip
    return ""


#: Words no item's name ends with: articles, prepositions and conjunctions, the words a
#: name's last words follow ("without contrast", "times 8"). Of the 304 labelled services none
#: ends with one. (A partly certified request's header ends "..., 6 sessions is": "is" and the
#: other verbs of :data:`~imr_llm.form.text.DANGLING_WORDS` are not among them.)
_NAME_NOT_ENDING = frozenset(
    "the a an of to for per and or with without within into including via in on by at from "
    "than times".split()
)
_LAST_WORD = re.compile(r"\b([A-Za-z]+)\s*$")


def ends_cut_short(name: str) -> bool:
    """Whether an item's name ends on a word no name ends with (:data:`_NAME_NOT_ENDING`):
    "MRI of the right shoulder without", "Ultrasound 1 times", its last word lost."""
    m = _LAST_WORD.search(name)
    return m is not None and m.group(1).lower() in _NAME_NOT_ENDING


def service_doubt(name: str, partial: PartialRequest | None, place: ItemPlace) -> str:
    """Why the service read at an item's marker (``name``: the header, or a partly certified
    request's remaining portion) may not be the item's whole name, or '': :func:`name_doubt`,
    and for a request the header names twice, :func:`twice_doubt`. Both engines ask it."""
    fixed = getattr(place, "fixed_sentence", False)
    doubt = name_doubt(name, partial is not None, form_2016=not fixed)
    if doubt or partial is None:
        return doubt
    return twice_doubt(partial) or _gap_doubt(partial)


def _gap_doubt(partial: PartialRequest) -> str:
    """Why a remaining portion that is its original request with words lost from its middle,
    right after a word no phrase ends with ("Physical therapy 2 times a lumbar spine" of
    "Physical therapy 2 times a week for 6 weeks for the lumbar spine"), may have lost a line,
    or ''. A portion may leave out a phrase ("chiropractic manipulation 6 visits" of
    "Chiropractic manipulation for the neck and back 12 visits"), never half of one; numbers
    aside, which a portion changes."""
    if _lost_middle(partial.original_request, partial.service):
        return ("the remaining portion is the original request with words lost from its "
                "middle (a line of the header lost?)")  # fmt: skip
    return ""


def _lost_middle(whole: str, part: str) -> bool:
    """Whether ``part`` is ``whole`` with words lost from its middle right after a word no
    phrase ends with (:data:`~imr_llm.form.text.DANGLING_WORDS`), numbers aside."""
    full = [w for w in _NAME_WORDS.findall(whole.lower()) if w.isalpha()]
    kept = [w for w in _NAME_WORDS.findall(part.lower()) if w.isalpha()]
    n = len(kept)
    if n < 2 or n >= len(full):
        return False
    return any(
        full[:cut] == kept[:cut]
        and full[len(full) - (n - cut) :] == kept[cut:]
        and kept[cut - 1] in DANGLING_WORDS
        for cut in range(1, n)
    )


def original_doubt(partial: PartialRequest) -> str:
    """Why a partly certified request's original request, as its header reads, may not be
    the whole of it, or ''. It opens the header's first sentence ("X was the original
    request."), so unlike the remaining portion it never starts inside one; and it is never
    the end of the remaining portion's name ("... 7-10 days for left" / "foot fracture was the
    original request. ... The original request, Acute inpatient rehabilitation ... for left
    foot fracture is:"): such a reading began below the header's first line."""
    doubt = name_doubt(partial.original_request, False)
    if doubt:
        return doubt
    if partial.closings > 1:
        return ("the header says twice that a request 'was the original request', or names "
                "it twice after 'the original request,' (a line of it printed again?)")  # fmt: skip
    original = _NAME_WORDS.findall(partial.original_request.lower())
    portion = _NAME_WORDS.findall(partial.service.lower())
    if _ends(portion, original, 1):
        return "the original request is the end of the portion's name (its first line lost?)"
    # Its words without its numbers, which a portion changes ("... Inventory times 12" of
    # "... Beck Anxiety Inventory times 6"); two words at the least ("12 visits" of "Physical
    # therapy 6 visits" could be a request's own short naming).
    original = [w for w in original if not w.isdigit()]
    portion = [w for w in portion if not w.isdigit()]
    if _ends(portion, original, 2):
        return "the original request is the end of the portion's name (its first line lost?)"
    if _lost_middle(partial.service, partial.original_request):
        # "EMG/NCV of times 12" beside the portion "EMG/NCV of the bilateral upper extremities
        # times 6": the header's first line printed again, the walk started on its copy.
        return ("the original request is the remaining portion with words lost from its "
                "middle (a line of the header lost or printed twice?)")  # fmt: skip
    return twice_doubt(partial)


def _ends(words: list[str], tail: list[str], least: int) -> bool:
    """Whether ``tail`` (``least`` words or more) is the end of ``words`` and shorter."""
    return least <= len(tail) < len(words) and words[-len(tail) :] == tail


#: How many letters and digits two namings of one request may differ by (at the least; a
#: tenth of the longer for a long one): a misprint or OCR's damage changes a few ("Trezix
#: capsule 320.5/30/16mg" named again "30.5/30/16mg", "Acute" read "A cute"); a wrapped line
#: lost or printed again changes a line's worth.
_MISPRINT_CHARACTERS = 4


def twice_doubt(partial: PartialRequest) -> str:
    """Why a header that names one request twice (:attr:`PartialRequest.same_request`) may
    have lost or gained a line in one of the namings, or '': they differ by more letters than
    a misprint or OCR does ("Home health care: 4 hours a day, 5 days a week for 6 weeks" named
    again "Home health week for 6 weeks": a wrapped line lost)."""
    if not partial.same_request:
        return ""
    original = "".join(_NAME_WORDS.findall(partial.original_request.lower()))
    portion = "".join(_NAME_WORDS.findall(partial.service.lower()))
    allowed = max(_MISPRINT_CHARACTERS, max(len(original), len(portion)) // 10)
    if Levenshtein.distance(original, portion, score_cutoff=allowed + 1) > allowed:
        return ("the header names the original request twice, and the two differ by more "
                "than a misprint (a line lost or printed twice?)")  # fmt: skip
    return ""


_NAME_WORDS = re.compile(r"[a-z0-9]+")


#: A time of day, which no item's name gives ("10:14 AM", "14:05").
_TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}(?:\s?[AaPp]\.?[Mm]\.?)?(?![\d:/])")


#: How a line that continues a name starts, and no name does: a strength or a share ("5%/
#: Dextromethorphan", "325mg #60"), a mark that joins it to words before ("/", ",", ")"), or
#: the date of service ("DOS: 11/14/2016").
#: Of the 311 labelled services, those starting with a digit start with a count ("12 sessions
#: of ...", "1 prescription of ...", "3-in-1 commode", "24-hour Holter monitor").
_CONTINUES = re.compile(
    r"\d+(?:[.,]\d+)?\s*(?:%|(?:mg|mcg|ml|gm?|cc)\b)|[/,;:)\]&]|-\s|DOS\b", re.I
)


@lru_cache(maxsize=64)
def _text_doubt(name: str) -> str:
    """The doubts of :func:`name_doubt` that its text alone decides. Each item's header is
    asked about up to three times a letter (by the engine, then for its service and its
    original request), so the answer is kept for the few names last asked about."""
    if _form_in_name(name):
        return "the item header holds the letter's form text or a rationale's conclusion"
    if repeated_run(name) or near_repeat(name):
        return "the item header repeats a run of words (a repeated line?)"
    if _STRAY_MARK.search(name):
        return "the item header holds a stray mark between its words (OCR debris?)"
    if header_label_inside(name):
        return "the item header holds a label of the letter's header table (a running head?)"
    if _pair_twice(name):
        return "the item header repeats two words right after them (a repeated line?)"
    if _end_again_after_colon(name):
        return ("the item header prints its last words again after a colon (its last line, "
                "ending with the marker's colon, printed twice?)")  # fmt: skip
    if _opens_with_outcome(name):
        return ("the item header starts with an outcome word (another marker's line read "
                "into it: a header printed twice?)")  # fmt: skip
    if stamp_inside(name, name=True) or (":" in name and _TIME_OF_DAY.search(name)):
        return ("the item header holds a page's stamp, a watermark's word, a page counter or a "
                "fax machine's line")  # fmt: skip
    if "times" in name.lower() and _FREQUENCY_CUT.search(name):
        return ("the item header gives a frequency without its unit (\"2 times a lumbar spine\": "
                "a line of it lost?)")  # fmt: skip
    return ""


#: A frequency whose unit is not next ("Physical therapy 2 times a lumbar spine" of "... 2
#: times a\nweek for 6 weeks for the\nlumbar spine", its middle line lost): every labelled
#: name that prints "times a" or "times per" goes on with a day or a week.
_FREQUENCY_CUT = re.compile(
    r"\btimes\s+(?:a|per)\s+(?!(?:day|week|month|year|hour|night|wk)s?\b)\S", re.IGNORECASE
)


def _end_again_after_colon(name: str) -> bool:
    """Whether a name ends with two words or more, after a colon, that end it before the
    colon too ("Right L4-L5 transforaminal epidural steroid injection: epidural steroid
    injection"): a header's last line, which ends with the colon of an outcome printed on the
    line below, printed twice. A name's own colon opens other words ("Associated surgical
    service: Hip pad")."""
    head, colon, tail = name.rpartition(":")
    tail = tail.strip().lower()
    return bool(colon) and len(tail.split()) >= 2 and head.rstrip().lower().endswith(tail)


def _pair_twice(name: str) -> bool:
    """Whether a name prints two words of four letters or more again right after them
    ("Functional restoration Functional restoration program, 160 hours": a wrapped line's
    first words printed again); :func:`repeated_run` asks runs of three or more."""
    words = name.lower().split()
    return any(
        words[k] == words[k + 2]
        and words[k + 1] == words[k + 3]
        and len(words[k]) >= 4
        and len(words[k + 1]) >= 4
        and words[k].isalpha()
        for k in range(len(words) - 3)
    )


def _opens_with_outcome(name: str) -> bool:
    """Whether a name's first word is an outcome word ("Upheld Psychological testing: ..."):
    no item is named so; the outcome alone on its line above a header printed again is."""
    first = name.split(None, 1)[0].strip(".,:;'\"|!_-") if name.strip() else ""
    return len(first) >= 6 and first[:1].upper() in "UO0" and parse_outcome(first) is not None


#: A label of the header table, with its colon (the spaces between its words perhaps lost:
#: "CaseNumber:", or glued to the word before it, "GuidelinesCase Number:", where the page
#: break before it was lost): no passage prints one; a page's running head that repeats the
#: header's first line ("Case Number: CM16-0213037 Date Assigned: ...") does.
_HEADER_LABEL = re.compile(
    r"(?:\b|(?<=[a-z]))(?:Date\s*Assigned|Decision\s*Date|UR\s*Denial\s*Date|Case\s*Number|Date\s*of\s*Injury"
    r"|Application\s*Received)\s*:"
)


def header_label_inside(value: str) -> bool:
    """Whether a passage holds a label of the header table (case as printed)."""
    if ":" not in value or (
        "Date" not in value and "Number" not in value and "Received" not in value
    ):
        return False  # the common case, told without the pattern
    return _HEADER_LABEL.search(value) is not None


def wording_doubt(name: str) -> str:
    """Why a name (a service, or a partly certified request's part) holds the request's own
    wording, or ''."""
    lowered = name.lower()
    # Each alternative of the pattern holds one of these (its end by string tests: an
    # end-anchored pattern is tried at every character).
    if (
        "imr" not in lowered
        and "authori" not in lowered
        and "original" not in lowered
        and " was the " not in lowered
        and not lowered.rstrip().endswith((" is", " was"))
    ):
        return ""
    if _PARTIAL_WORDING.search(name):
        return ("the item header holds a partly certified request's wording, its sentence "
                "naming the original request lost (a line lost?)")  # fmt: skip
    return ""


#: A partly certified request's own words, which no item's name holds: a name that keeps
#: them ("Norco #60 times 6 was authorized by #60 times 6 is", "Ultrasling times 6 is") is
#: what is left of the request's sentences when the one naming the original request was lost;
#: "X times 12 was the X times 12" is its first sentence with a line printed twice.
_PARTIAL_WORDING = re.compile(
    r"\bwas\s+authori[sz]ed\b|\bIMR\b|\boriginal\s+request\b|\bwas\s+the\b"
    r"|\s(?:is|was)\s*$",
    re.IGNORECASE,
)


def check_outcome(
    k: int, item: dict[str, Any], place: ItemPlace, damage: float, out: Checked
) -> None:
    path = f"items[{k}].outcome"
    outcome = item.get("outcome")
    span = place.outcome_place.span
    if place.outcome is not None:
        if place.outcome.value == outcome:
            out.put(path, status_of(place.outcome.exact), span, "at its item marker")
        else:
            out.wrong(path, f"is {outcome!r} but the letter marks this item "
                      f"{place.outcome.value.capitalize()!r}", span)  # fmt: skip
        return
    rationale = item.get("rationale")
    concluded = rationale_conclusion(rationale) if rationale else None
    if concluded is None:
        out.put(
            path, "unverified", span, "its marker and the rationale's conclusion are unreadable"
        )
    elif concluded == outcome:
        out.put(path, "repaired", span, "its marker is unreadable; the rationale concludes so")
    elif damage >= FAX_DAMAGE:
        # On fax-quality text the conclusion is read through the damage too ("is n0t" lost
        # its negation): no re-ask can fix that, so the outcome is kept and flagged.
        out.put(path, "unverified", span, "its marker is unreadable and the rationale's "
                "conclusion, read through heavy damage, does not agree")  # fmt: skip
    else:
        meaning = "not medically necessary" if concluded == "upheld" else "medically necessary"
        out.wrong(path, f"is {outcome!r} but its rationale concludes the request is {meaning}")


@dataclass(frozen=True, slots=True)
class Edge:
    score: float
    found_elsewhere: bool
