"""Evidence for the reviewer's credentials: licensure states and specialties.

Both are read through closed vocabularies (:mod:`imr_llm.form.vocabulary`), so a value
is the letter's own name for it, repaired through OCR damage only where one name fits.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from ..form import LetterForm
from ..form.credentials import LIST_GOES_ON
from ..form.text import (
    DOUBLED_WORD,
    name_key,
)
from ..form.vocabulary import (
    NameList,
    cut_specialty,
    read_specialties,
    read_specialty,
    read_states,
)
from .common import Checked, excerpt, letter_damage, status_of


def check_states(values: list[str], form: LetterForm, out: Checked) -> None:
    """Each state at its place in the licensure list; a part of the list that reads as no
    state leaves the list unverified, so no state the letter names is dropped unflagged."""
    path = "reviewer.licensure_states"
    place = form.credentials.states
    if place is None:
        for k in range(len(values)):
            out.put(f"{path}[{k}]", "unverified", None, "the licensure states could not be found")
        return
    names = read_states(place.text)
    named = [r.value for r in names.readings]
    unread = ", ".join(repr(u.text) for u in names.unread[:3])
    if not values:
        if named and not names.unread:
            out.wrong(path, f"is empty but the letter names {', '.join(named)}", place.span,
                      certain=True)  # fmt: skip
        elif place.readable:
            out.put(path, "unverified", place.span, f"empty; the states read {excerpt(place.text)}")
        return
    for k, state in enumerate(values):
        hit = next((r for r in names.readings if r.value == state), None)
        if hit is not None:
            span = (place.start + hit.start, place.start + hit.end)
            out.put(
                f"{path}[{k}]", status_of(hit.exact), span, "among the reviewer's licensure states"
            )
        elif names.unread:
            out.put(f"{path}[{k}]", "unverified", place.span,
                    f"the states read {excerpt(place.text)}")  # fmt: skip
        else:
            out.wrong(f"{path}[{k}]", f"{state!r} is not a state the letter names for the "
                      f"reviewer (it names {', '.join(named)})", place.span)  # fmt: skip
    missing = [state for state in named if state not in values]
    if missing and not names.unread:
        out.wrong(path, f"the letter also names {', '.join(missing)}", place.span)
    elif names.unread:
        also = f"; the letter also names {', '.join(missing)}" if missing else ""
        out.put(
            path, "unverified", place.span, f"part of the list reads as no state: {unread}{also}"
        )
    elif "states" in form.credentials.repeated:
        out.put(path, "unverified", place.span, _REPEATED)
    elif LIST_GOES_ON.search(place.text):
        out.put(path, "unverified", place.span, _GOES_ON)
    elif names.repeated:
        out.put(path, "unverified", place.span, _TWICE)
    elif _tail_read_again(place.text, names):
        out.put(path, "unverified", place.span, _TAIL_AGAIN)


def _tail_read_again(text: str, names: NameList) -> bool:
    """Whether a state is read right after one it ends ("West Virginia Virginia"), nothing
    but space between: the list's wrapped last line printed again. A list of both states
    has a comma or "and" between them."""
    readings = sorted(names.readings, key=lambda r: r.start)
    return any(
        a.value.endswith(" " + b.value) and not text[a.end : b.start].strip()
        for a, b in zip(readings, readings[1:], strict=False)
    )


#: Why a state read right after a state it ends needs a person's look.
_TAIL_AGAIN = (
    "a state is read right after a state it ends, nothing between them (a wrapped line "
    "printed again?)"
)


#: Why a list that ends with a list mark or "and" needs a person's look.
_GOES_ON = "the list ends with a list mark or 'and': its next line lost?"
#: Why a list naming one name twice needs a person's look.
_TWICE = "the list names one name twice (a repeated line?): it may hold a name not the reviewer's"
#: Why a list whose label the letter prints twice needs a person's look.
_REPEATED = "its label is printed twice (a repeated line?): the list may go on past the copy"


#: How close (rapidfuzz ratio of name keys) a value must be to a specialty the letter writes
#: to stand for it when the two are not the same known name: spellings of one name
#: ("Orthopedic" / "Orthopaedic Surgery") are this close; two different names never are
#: (tests/test_vocabulary.py checks every pair of the vocabulary).
SPELLING_THRESHOLD = 95.0


def _specialty_for(value: str, names: NameList) -> int | None:
    """The index of the letter's reading ``value`` stands for, or None."""
    own = read_specialty(value)
    key = name_key(own.value if own is not None else value)
    keys = [name_key(r.value) for r in names.readings]
    if key in keys:
        return keys.index(key)
    if own is None:
        return None
    close = [j for j, k in enumerate(keys) if fuzz.ratio(key, k) >= SPELLING_THRESHOLD]
    return close[0] if len(close) == 1 else None


def _unread_for(value: str, names: NameList) -> int | None:
    """The index of the unread part of the list ``value`` copies, or None."""
    key = name_key(value)
    close = [j for j, u in enumerate(names.unread) if fuzz.ratio(key, name_key(u.text)) >= 85]
    return close[0] if len(close) == 1 else None


def _completed(written: str, name: str) -> bool:
    """Whether ``written`` is only the start of the known ``name`` it was read as (a name
    cut at its line's end, read as the one specialty starting so), perhaps with a fragment
    of debris after it."""
    known = name_key(name)
    words = written.split()
    if len(words) > 1 and len(name_key(words[-1])) <= 2:
        words = words[:-1]  # debris where the name's end was ("Physical Medicine & Reh a.")
    key = name_key(" ".join(words))
    return key != known and known.startswith(key)


def _slips(written: str, name: str) -> bool:
    """Whether ``written`` is the known ``name`` with slips of OCR in its words: as many
    words, each at most one letter off, two in a word of eight letters or more ("Orthopaedic
    Surgcry", "Occnpational Mediclne", "Physlcal Medicine & Rehabilltotion"), marks and
    spaces aside."""
    words, known = _WORD.findall(written.lower()), _WORD.findall(name.lower())
    if len(words) != len(known):
        # A space OCR lost or added ("OccupationalMedicine"): the letters, a slip at most.
        return Levenshtein.distance("".join(words), "".join(known), score_cutoff=1) <= 1
    return all(
        Levenshtein.distance(a, b, score_cutoff=2) <= (2 if len(b) >= 8 else 1)
        for a, b in zip(words, known, strict=True)
    )


def _word_replaced(written: str, name: str) -> bool:
    """Whether ``written`` reads as the known ``name`` only with a whole word of it another
    word: as many words, one of them more letters off than it keeps (more than half its
    letters changed: "Specialty" for "Pediatric", where OCR's damage to a word, even a fax's,
    leaves most of its letters: "Prachor" for "Practice" changes three of eight). A word
    cut short ("Reh" of "Rehabilitation") or OCR's debris where a line's end was lost ("a"
    for "Medicine") is no other word: the name reads on, as the reading intends."""
    words, known = _WORD.findall(written.lower()), _WORD.findall(name.lower())
    if len(words) != len(known):
        return False
    return any(
        Levenshtein.distance(a, b) * 2 > max(len(a), len(b))
        for a, b in zip(words, known, strict=True)
        if len(b) >= 4 and len(a) > 2 and not b.startswith(a)
    )


#: A word of a name as :func:`_slips` compares them: its letters and digits, marks between
#: words aside ("Preventive.Medicine", "Public Health'& General").
_WORD = re.compile(r"[a-z0-9]+")


def check_specialties(values: list[str], form: LetterForm, out: Checked) -> list[str]:
    """Each specialty at its place; returns the values as the record keeps them.

    A value that stands for a specialty the letter writes becomes the letter's own reading
    ("occupational medicine" -> "Occupational Medicine", a damaged copy -> the known name);
    one that copies words reading as no known specialty keeps the letter's words, unverified.
    """
    path = "reviewer.specialties"
    place = form.credentials.specialties
    if place is None:
        for k in range(len(values)):
            out.put(f"{path}[{k}]", "unverified", None, "the specialties could not be found")
        return values
    names = read_specialties(place.text)
    if not values:
        if names.readings:
            out.wrong(path, f"is empty but the letter gives {excerpt(place.text, 60)}", place.span,
                      certain=True)  # fmt: skip
        elif place.readable:
            out.put(path, "unverified", place.span,
                    f"empty; the specialties read {excerpt(place.text)}")  # fmt: skip
        return values
    kept = list(values)
    doubled = [m.span() for m in DOUBLED_WORD.finditer(place.text)]  # words OCR read twice
    read_at: set[int] = set()
    copied: set[int] = set()
    for k, value in enumerate(values):
        at = f"{path}[{k}]"
        if cut_specialty(value):
            # The start of a longer specialty: right as written if the line's end was lost,
            # likely wrong as meant. A person looks.
            note = f"{excerpt(value)} is cut short: the start of a longer specialty"
            out.put(at, "unverified", place.span, note)
            start = name_key(value)
            read_at.update(
                j for j, r in enumerate(names.readings) if name_key(r.value).startswith(start)
            )
            continue
        j = _specialty_for(value, names)
        if j is not None:
            hit = names.readings[j]
            read_at.add(j)
            kept[k] = hit.value
            span = (place.start + hit.start, place.start + hit.end)
            written = place.text[hit.start : hit.end]
            if any(start < hit.end and hit.start < end for start, end in doubled):
                # A word printed twice in a row ("Emergency Emergency Medicine", read as
                # "Pediatric Emergency Medicine"; "Orthopedic Orthopedic Surgery", read as two
                # names): OCR read a word twice, and the reading of the words around it is
                # not the letter's list. The letter's own words, for a person to look at.
                kept[k] = written
                out.put(at, "unverified", span, f"{excerpt(written)} is read beside a word "
                        "printed twice in a row (a word OCR read twice?)")  # fmt: skip
                continue
            if _completed(written, hit.value) and letter_damage(form) <= 0:
                # Read as the one specialty its words start, on a letter without OCR damage
                # to lose its end: a line was lost ("Public Health & General Preventive" /
                # "Surgery", "Medicine and Neurological" lost between), and the rest may be
                # another name's. OCR's loss of a line's end ("Preventive a.") reads on.
                out.put(at, "unverified", span, f"{excerpt(hit.value)} completed from its "
                        "start on a letter without OCR damage: the rest of the name is not "
                        "printed (a line lost?)")  # fmt: skip
                continue
            if not hit.exact and _word_replaced(written, hit.value):
                # Another word in a name's place, on any letter ("Specialty: Emergency
                # Medicine", a label's word read twice, as "Pediatric Emergency Medicine").
                kept[k] = written
                out.put(at, "unverified", span, f"{excerpt(written)} reads as "
                        f"{excerpt(hit.value)} only with a word of it replaced by another: a "
                        "word that is no part of the name?")  # fmt: skip
                continue
            if not hit.exact and not _slips(written, hit.value) and letter_damage(form) <= 0:
                # Read only with more letters changed than a slip of OCR changes, on a letter
                # without OCR damage: another name, one the list does not hold ("Physiatrist"
                # is no damaged "Podiatrist"). The letter's own words, for a person to look at.
                kept[k] = written
                out.put(at, "unverified", span, f"{excerpt(written)} reads as "
                        f"{excerpt(hit.value)} only with letters changed, on a letter without "
                        "OCR damage: a name the list of specialties does not hold?")  # fmt: skip
                continue
            note = (
                "among the reviewer's specialties"
                if hit.exact
                else "among the specialties, through OCR damage"
            )
            out.put(at, status_of(hit.exact), span, note)
            continue
        j = _unread_for(value, names)
        if j is not None:
            part = names.unread[j]
            copied.add(j)
            kept[k] = part.text
            span = (place.start + part.start, place.start + part.end)
            out.put(at, "unverified", span, f"{excerpt(part.text)} reads as no known specialty")
            continue
        if names.unread:
            out.put(at, "unverified", place.span, f"the specialties read {excerpt(place.text)}")
            continue
        several = read_specialties(value).readings
        if len(several) > 1:
            message = f"{value!r} holds {len(several)} specialties; give one per entry"
        else:
            message = (f"{value!r} is not among the reviewer's specialties as the letter "
                       f"writes them ({excerpt(place.text, 60)})")  # fmt: skip
        out.wrong(at, message, place.span)
    missing = [r.value for j, r in enumerate(names.readings) if j not in read_at]
    left = [u.text for j, u in enumerate(names.unread) if j not in copied]
    if missing and not names.unread:
        out.wrong(path, f"the letter also names {', '.join(missing)}", place.span)
    elif left or (missing and names.unread):
        parts = [*missing, *(repr(u) for u in left)][:4]
        out.put(path, "unverified", place.span, f"the letter's list also holds {', '.join(parts)}")
    elif "specialties" in form.credentials.repeated:
        out.put(path, "unverified", place.span, _REPEATED)
    elif LIST_GOES_ON.search(place.text):
        out.put(path, "unverified", place.span, _GOES_ON)
    elif names.repeated:
        out.put(path, "unverified", place.span, _TWICE)
    elif tail_again(names):
        out.put(path, "unverified", place.span, "a name is the end of the one before it ("
                "\"General Preventive Medicine\", \"Preventive Medicine\"): a wrapped line "
                "printed again?")  # fmt: skip
    elif _ends_cut(place.text, names):
        out.put(path, "unverified", place.span, "the list's last name is cut short: names "
                "after it on its line may be lost")  # fmt: skip
    return kept


def tail_again(names: NameList) -> bool:
    """Whether a specialty read is the last words of the one read before it ("Neurological
    Surgery", "Surgery"): the wrapped line that held them printed again. No reviewer is listed
    with a specialty and its own last words (none of the corpora's or the gold set's lists)."""
    values = [r.value.lower() for r in sorted(names.readings, key=lambda r: r.start)]
    return any(a.endswith(" " + b) for a, b in zip(values, values[1:], strict=False))


def _ends_cut(text: str, names: NameList) -> bool:
    """Whether the list ends with a name whose end is lost ("..., Neurological" read as
    Neurological Surgery): the line's end is lost, and with it any names after."""
    if not names.readings:
        return False
    last = max(names.readings, key=lambda r: r.end)
    if last.exact or text[last.end :].strip(" .,;:"):
        return False
    written = name_key(text[last.start : last.end])
    whole = name_key(last.value)
    return written != whole and whole.startswith(written)
