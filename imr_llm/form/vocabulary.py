"""Read a list of known names at its place: the reviewer's licensure states and specialties.

Both lists come from closed vocabularies: the US states, and the specialties of the American
Board of Medical Specialties' member boards plus the names IMR letters print
(``specialties.txt`` beside this module, with its source). Knowing every name a list can hold
is what lets a damaged list be read without guessing:

- the letter's words are matched to known names, not split on its commas, so a comma OCR lost
  ("Califomia North Carolina"), or read as a colon, semicolon or full stop, and marks or spaces
  inside a name ("Family. Practice", "InternalMedicine", "New Y ork") change nothing;
- a name written exactly as a known one is ``exact``; one read through damage to exactly one
  known name is ``repaired`` and holds that name; two known names about equally close leave
  the words unread;
- words that read as no known name are returned as unread parts, never dropped, so a caller
  can flag the list ("lowa" is Iowa; "Fonda" is no state and is reported); so is a blot
  where a name was (a redaction box "████", a smudge read as "~~~~").

:func:`read_states` and :func:`read_specialties` are the one reading both engines and the
evidence stage use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import NamedTuple

from .reading import Reading
from .text import (
    LIST_MARKS,
    POSTAL_CODES,
    STATES,
    Vocabulary,
    collapse_ws,
    comparison_key,
    name_key,
)

#: The file holding the specialty vocabulary and its source (shipped inside the package).
SPECIALTIES_FILE = "specialties.txt"

#: A word (letters and digits, any script) or an "&": the units a list is read in.
_TOKEN = re.compile(r"[^\W_]+|&")
#: Words that join the last two names of a list ("and", "&"), or belong inside a name.
_CONNECTIVES = frozenset({"and", "&"})
#: Marks trimmed from the ends of an unread part when it is shown or kept.
_EDGE_MARKS = " .,;:'\"|‘’“”*~-_()[]{}¥€"

#: Costs of a reading, in edits: the reading of a list is the one that costs least.
_REPAIR = 1.0  # a name read through damage, on top of its edits
_EDIT = 1.25  # an edit in a damaged name: a little dearer than a word left unread letter for
# letter, so that a damaged name never takes in a neighbouring word ("in Caltfomia")
_CUT = 1.5  # a name whose end was lost
_DEBRIS = 0.5  # one or two letters OCR left where the end of a name was ("Preventive a.")
_MARK_IN_NAME = 1.0  # a list mark (",", ";", ":", "/") inside a name
_OTHER_MARK = 0.25  # another mark inside a name ("Family. Practice")
_LOST_MARK = 0.5  # two names with no mark between them
_PER_ITEM = 0.01  # of two equal readings, the one with fewer items


def load_vocabulary(text: str) -> tuple[Vocabulary, dict[str, str]]:
    """The names in a vocabulary file's ``text`` and its header fields (``source-url``...).

    One name a line; ``#`` starts a comment, ``[...]`` a section. Header fields are comment
    lines ``# field: value`` before the first section.
    """
    names: list[str] = []
    header: dict[str, str] = {}
    in_header = True
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            field = re.match(r"#\s*([a-z-]+):\s*(.*)", line)
            if in_header and field:
                header[field.group(1)] = field.group(2).strip()
            continue
        if line.startswith("["):
            in_header = False
            continue
        if line:
            names.append(line)
    return Vocabulary(names), header


def _specialties() -> tuple[Vocabulary, dict[str, str]]:
    data = files(__package__).joinpath(SPECIALTIES_FILE).read_text(encoding="utf-8")
    return load_vocabulary(data)


#: The specialties as a closed vocabulary, and where the list comes from.
SPECIALTIES, SPECIALTIES_SOURCE = _specialties()


@dataclass(frozen=True, slots=True)
class Unread:
    """Words of a list that read as no known name, at ``[start, end)`` of the text read."""

    text: str
    start: int
    end: int


class NameList(NamedTuple):
    """A list read at its place: the known names it holds, and the parts that read as none.

    Spans are offsets within the text that was read. A name written twice is read once.
    """

    readings: tuple[Reading[str], ...]
    unread: tuple[Unread, ...]
    #: A name written twice (read once): a repeated line, or a list a person should look at.
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    key: str
    joins: bool  # "and" / "&"


@dataclass(frozen=True, slots=True)
class _Item:
    first: int  # token index
    last: int  # token index, inclusive
    reading: Reading[str] | None  # None: unread


def read_states(text: str) -> NameList:
    """The US states a licensure list names ("California,North Carolina").

    Each state is ``exact`` when written as its name, else ``repaired`` ("Califomia",
    "lowa", "New Y ork"); words that read as no state are unread parts.
    """
    return _read_list(text, STATES, cuts=False)


def read_specialties(text: str) -> NameList:
    """The specialties a credentials list names, each as the letter writes it.

    An exact name keeps the letter's text ("Physical Medicine & Rehabilitation"); a damaged
    one reads as its known name ("Physlcal Medicine & Rehabilltotion"); a name cut off at
    the end of its line reads as the one specialty starting so ("Physical Medicine & Reh").
    """
    return _read_list(text, SPECIALTIES, cuts=True)


def read_specialty(value: str) -> Reading[str] | None:
    """The one specialty ``value`` names on its own (a model's value), or None.

    None when it names none, several, or reads only in part.
    """
    names = read_specialties(value)
    if len(names.readings) == 1 and not names.unread:
        return names.readings[0]
    return None


def cut_specialty(name: str) -> list[str]:
    """The known specialties ``name`` is the cut-off start of ("Physical Medicine & Reh").

    OCR of a wrapped specialty list can lose the end of the line, leaving a value that reads
    cleanly yet is not a specialty. Empty when ``name`` is itself a known specialty, or the
    start of none; a start needs at least eight letters so that no short word matches.
    """
    names = SPECIALTIES.starting_with(name_key(name))
    return [n.replace(" and ", " & ") if "&" in name else n for n in names]


def state_named(text: str, state: str) -> Reading[str] | None:
    """Where ``state`` is named in ``text`` as a whole word sequence (never inside a word)."""
    for reading in read_states(text).readings:
        if reading.value == state:
            return reading
    words = list(re.finditer(r"[^\s,;]+", text))
    size = len(state.split())
    for k in range(len(words) - size + 1):
        chunk = text[words[k].start() : words[k + size - 1].end()]
        hit = STATES.match(chunk)
        if hit is not None and hit.name == state:
            return Reading(state, hit.exact, words[k].start(), words[k + size - 1].end())
    return None


# --------------------------------------------------------------------------------------------
# The reading: the cheapest way to cover the list's words with known names and unread words
# --------------------------------------------------------------------------------------------


#: A clean list's parts: the text between list marks (and a closing "and"), as written.
_CLEAN_PART = re.compile(r"(?:^|(?<=[,;]))\s*(?:and\s+)?([^,;]*?)\s*(?=[,;]|\.?\s*$)")


#: A blot: three or more marks in a row that are no list's punctuation and no stray mark OCR
#: leaves between words (those come one or two at a time): a redaction box ("████"), a
#: smudge read as "~~~~" or "####". It stands where a name was and is never skipped.
_BLOT = re.compile(r"[^\w\s,;:.'\"‘’“”|·/()&-]{3,}|_{3,}")


@lru_cache(maxsize=2048)
def _read_list(text: str, vocabulary: Vocabulary, *, cuts: bool) -> NameList:
    names = _read_clean(text, vocabulary) or _read_words(text, vocabulary, cuts)
    blots = [Unread(m.group(), m.start(), m.end()) for m in _BLOT.finditer(text)]
    if not blots:
        return names
    unread = sorted((*names.unread, *blots), key=lambda part: part.start)
    return NameList(names.readings, tuple(unread), names.repeated)


def _read_clean(text: str, vocabulary: Vocabulary) -> NameList | None:
    """The common case, fast: every part between commas is a known name written as is (a
    state perhaps as its postal code, "CA", in capitals: only in a list read so, never
    through damage, where two letters may be debris)."""
    readings: list[Reading[str]] = []
    repeated = False
    for m in _CLEAN_PART.finditer(text):
        if not m.group(1):
            continue
        written = comparison_key(m.group(1))  # a name may wrap over lines
        if written not in vocabulary:
            if vocabulary is not STATES or written not in POSTAL_CODES:
                return None
            written = POSTAL_CODES[written]
        if all(r.value != written for r in readings):
            readings.append(Reading(written, True, m.start(1), m.end(1)))
        else:
            repeated = True
    return NameList(tuple(readings), (), repeated) if readings else None


def _read_words(text: str, vocabulary: Vocabulary, cuts: bool) -> NameList:
    tokens = [
        _Token(m.start(), m.end(), name_key(m.group(0)), m.group(0).lower() in _CONNECTIVES)
        for m in _TOKEN.finditer(text)
    ]
    n = len(tokens)
    if n == 0:
        return NameList((), ())
    gaps = [text[tokens[k].end : tokens[k + 1].start] for k in range(n - 1)]
    # best[i]: the cheapest reading of tokens[:i], as (cost, items).
    best: list[tuple[float, tuple[_Item, ...]] | None] = [None] * (n + 1)
    best[0] = (0.0, ())
    for i in range(n):
        here = best[i]
        if here is None:
            continue
        cost, items = here
        token = tokens[i]
        if token.joins:  # "and" / "&" between two names
            _offer(best, i + 1, cost, items)
        else:  # the word left unread
            unread = _Item(i, i, None)
            _offer(best, i + 1, cost + max(1, len(token.key)) + _PER_ITEM, (*items, unread))
        if token.joins:
            continue
        # Two names with nothing between them: a comma lost (not after an unread word).
        lost_mark = (
            bool(items)
            and items[-1].reading is not None
            and items[-1].last == i - 1
            and not _has_list_mark(gaps[i - 1])
        )
        for j in range(i, n):
            key = "".join(t.key for t in tokens[i : j + 1])
            if len(key) > vocabulary.longest * 1.5:
                break
            # Reading through damage costs at least one repair and one edit: not worth
            # trying where the words are already read as cheaply.
            known = best[j + 1]
            fuzzy = known is None or known[0] > cost + _REPAIR + _EDIT
            found = _name_at(text, tokens, gaps, i, j, key, vocabulary, cuts, fuzzy)
            if found is None:
                edits = vocabulary.ambiguous(key) if j > i and fuzzy else None
                if edits is not None:
                    # Damage that reads as two known names alike ("Orthopoedic Surgery"):
                    # unread as a whole, not split into a word that happens to be a name.
                    price = _REPAIR + _EDIT * edits + _PER_ITEM
                    _offer(best, j + 1, cost + price, (*items, _Item(i, j, None)))
                continue
            reading, price = found
            price += _PER_ITEM + (_LOST_MARK if lost_mark else 0.0)
            _offer(best, j + 1, cost + price, (*items, _Item(i, j, reading)))
    final = best[n]
    assert final is not None  # every word can be left unread
    return _assemble(text, tokens, gaps, final[1])


def _offer(
    best: list[tuple[float, tuple[_Item, ...]] | None],
    at: int,
    cost: float,
    items: tuple[_Item, ...],
) -> None:
    current = best[at]
    if current is None or cost < current[0] - 1e-9:
        best[at] = (cost, items)


def _has_list_mark(gap: str) -> bool:
    return any(ch in LIST_MARKS for ch in gap)


def _name_at(
    text: str,
    tokens: list[_Token],
    gaps: list[str],
    i: int,
    j: int,
    key: str,
    vocabulary: Vocabulary,
    cuts: bool,
    fuzzy: bool,
) -> tuple[Reading[str], float] | None:
    """The known name tokens ``i..j`` are, with what reading them so costs; or None."""
    start, end = tokens[i].start, tokens[j].end
    written = comparison_key(text[start:end])
    inner = gaps[i:j]
    marks = sum(ch in LIST_MARKS for gap in inner for ch in gap)
    others = sum(1 for gap in inner if gap.strip() and not _has_list_mark(gap))
    hit = None if tokens[j].joins else vocabulary.match(written, key, fuzzy=fuzzy)
    if hit is not None:
        # A mark the name itself holds ("Endocrinology, Diabetes and Metabolism") is no damage.
        extra = max(0, marks - sum(ch in LIST_MARKS for ch in hit.name))
        price = extra * _MARK_IN_NAME + others * _OTHER_MARK
        if not hit.exact:
            price += (_REPAIR + _EDIT * hit.distance) if hit.distance else 0.0
        return Reading(hit.value, hit.exact, start, end), price
    if not cuts or not _ends_a_part(tokens, gaps, j):
        return None
    # The end of the name lost (to a line's end, or to debris "a." the OCR left in its
    # place): the one known name these words start.
    debris = j > i and len(tokens[j].key) <= 2
    names = vocabulary.starting_with(key[: -len(tokens[j].key)] if debris else key)
    if len(names) != 1:
        return None
    name = vocabulary.match(names[0])
    assert name is not None
    value = name.value.replace(" and ", " & ") if "&" in written else name.value
    price = _CUT + (_DEBRIS if debris else 0.0) + marks * _MARK_IN_NAME + others * _OTHER_MARK
    return Reading(value, False, start, end), price


def _ends_a_part(tokens: list[_Token], gaps: list[str], j: int) -> bool:
    """Whether token ``j`` ends a part of the list: the text's or a line's end, or a mark."""
    if j == len(tokens) - 1:
        return True
    gap = gaps[j]
    return "\n" in gap or "." in gap or _has_list_mark(gap)


def _assemble(
    text: str, tokens: list[_Token], gaps: list[str], items: tuple[_Item, ...]
) -> NameList:
    """The readings (each name once) and the unread parts (neighbouring words joined)."""
    readings: list[Reading[str]] = []
    unread: list[Unread] = []
    run: list[_Item] = []
    repeated = False

    def close() -> None:
        if run:
            start, end = tokens[run[0].first].start, tokens[run[-1].last].end
            shown = collapse_ws(text[start:end]).strip(_EDGE_MARKS)
            unread.append(Unread(shown or collapse_ws(text[start:end]), start, end))
            run.clear()

    for item in items:
        if item.reading is None:
            # Words in a row, with no list mark between them, are one unread part.
            if run and _has_list_mark(text[tokens[run[-1].last].end : tokens[item.first].start]):
                close()
            run.append(item)
            continue
        close()
        if all(r.value != item.reading.value for r in readings):
            readings.append(item.reading)
        else:
            repeated = True
    close()
    return NameList(tuple(readings), tuple(unread), repeated)
