"""Text utilities shared by the rules engine, the grounding validators and the eval harness.

Everything here answers one of a few questions that all three stages ask of letter text: what a
string looks like once whitespace is normalised, whether an (OCR-damaged) line is a given label
or heading, which dates and US states a piece of text holds. Keeping the answers in one place is
what makes the rules engine, the validators and the scores agree with each other.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

#: A text that ends a sentence: a full stop (or "!", "?"), perhaps inside a bracket or a
#: quote, then whitespace.
ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)\]]*\s*$")
#: What may close a sentence after its full stop (the class of :data:`ENDS_SENTENCE`).
_CLOSERS = "\"'”’)]"


#: The number of a list a copy numbered a letter's items in ("2.", "(2)"), on its own: no part
#: of an item's name.
ITEM_NUMBER = re.compile(r"\(?\d{1,2}[.)]")


def ends_sentence(text: str) -> bool:
    """``bool(ENDS_SENTENCE.search(text))``: ``[.!?]``, closers, whitespace, the end; read
    from the end instead of tried at every character of a rationale."""
    return text.rstrip().rstrip(_CLOSERS)[-1:] in (".", "!", "?")


def collapse_ws(text: str) -> str:
    """Collapse every run of whitespace (newlines and form feeds too) to one space and trim.

    The record contract stores every string this way, so comparisons, grounding and scores all
    go through it. Most strings it is given are collapsed already (a value read from a letter,
    checked again by the record's validators): those are returned as they are
    (:func:`is_collapsed`, a few scans instead of a split).
    """
    if is_collapsed(text):
        return text
    return " ".join(text.split())  # str.split: the same whitespace as \s, several times faster


def is_collapsed(text: str) -> bool:
    """Whether ``text`` is ASCII whose only whitespace is single spaces inside it, so that
    :func:`collapse_ws` leaves it as it is (a non-ASCII text is not told here: False)."""
    # In ASCII text str.split() splits at the space, \t \n \x0b \x0c \r and \x1c-\x1f.
    return (
        text.isascii()
        and "\n" not in text
        and "  " not in text
        and text[:1] != " "
        and text[-1:] != " "
        and "\t" not in text
        and "\r" not in text
        and "\x0c" not in text
        and "\x0b" not in text
        and "\x1c" not in text
        and "\x1d" not in text
        and "\x1e" not in text
        and "\x1f" not in text
    )


#: Characters Python's case-insensitive matching takes for an ASCII letter (and "İ", whose
#: lower case is two characters long).
_CASE_SPECIAL = ("\u0130", "\u0131", "\u017f", "\u212a")


def case_special(text: str) -> bool:
    """Whether ``text`` holds a character a case-insensitive pattern reads as an ASCII letter
    (``İ ı ſ K``): where it does, a search narrowed by lower-cased ``str.find`` is not exact,
    and the pattern must be tried the plain way."""
    return not text.isascii() and any(ch in text for ch in _CASE_SPECIAL)


def squash(text: str) -> str:
    """Lower-case and keep only letters and digits: the key for OCR-tolerant comparisons."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def similarity(a: str, b: str) -> float:
    """Normalised similarity in [0, 1] of two texts after whitespace collapsing.

    Used for long texts (rationales, guidelines) where exact equality is too strict for OCR'd
    input but a small edit distance still means "the same passage".
    """
    a, b = collapse_ws(a), collapse_ws(b)
    if not a and not b:
        return 1.0
    return Levenshtein.normalized_similarity(a, b)


def char_error_rate(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference`` (whitespace collapsed)."""
    ref, hyp = collapse_ws(reference), collapse_ws(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return Levenshtein.distance(ref, hyp) / len(ref)


# --------------------------------------------------------------------------------------------
# Labels and headings, tolerant of light OCR damage
# --------------------------------------------------------------------------------------------

#: Characters OCR commonly reads in place of a colon after a label.
COLON_LIKE = ":;"


@dataclass(frozen=True)
class LabelHit:
    """Where a label was found on a line: ``value_start`` is the column just after it."""

    value_start: int
    score: float


def match_label(line: str, label: str, threshold: float = 80.0) -> LabelHit | None:
    """Return where ``label`` ends if ``line`` starts with it, tolerating OCR damage.

    ``label`` is written without its colon (``"Decision rationale"``). The exact, case-sensitive
    prefix is tried first because clean text is the common case and must be fast; only then is
    the text before the first colon-like character compared with rapidfuzz.
    """
    n = len(label)
    head = line[: n + 12]
    if ":" not in head and ";" not in head and label not in head:
        return None  # the common case: a line of prose, no label
    stripped = line.lstrip()
    indent = len(line) - len(stripped)
    if stripped.startswith(label):
        rest = stripped[n:]
        skip = len(rest) - len(rest.lstrip(" "))
        if rest[skip : skip + 1] in (":", ";"):
            return LabelHit(indent + n + skip + 1, 100.0)
        if not rest.strip():
            return LabelHit(indent + n, 100.0)
        if "(s)" in label and skip:
            # Its colon lost ("State(s) of Licensure California"): a label printing "(s)" is
            # the form's own, never a sentence's start.
            return LabelHit(indent + n, 100.0)
    # Fuzzy path: the label must end in a colon-like character near where it should.
    window = stripped[: n + 6]
    cut = -1
    for i, ch in enumerate(window):
        if ch in COLON_LIKE and i >= n - 5:
            cut = i
            break
    if cut < 0:
        return None
    # score_cutoff: a score below it comes back 0 (sooner); one at or above it, unchanged.
    score = fuzz.ratio(stripped[:cut].lower(), label.lower(), score_cutoff=threshold)
    if score >= threshold:
        return LabelHit(indent + cut + 1, score)
    return None


def is_heading(line: str, heading: str, threshold: float = 85.0) -> bool:
    """True when ``line`` is ``heading`` (upper-case form text), allowing OCR damage."""
    text = line.strip()
    if not text:
        return False
    if text == heading:
        return True
    if abs(len(text) - len(heading)) > max(6, len(heading) // 4):
        return False
    return fuzz.ratio(text.upper(), heading, score_cutoff=threshold) >= threshold


def contains_phrase(text: str, phrase: str, threshold: float = 85.0) -> bool:
    """True when ``phrase`` occurs in ``text``, exactly or as an OCR-damaged partial match."""
    lowered_phrase, lowered = phrase.lower(), text.lower()
    if lowered_phrase in lowered:
        return True
    if len(text) < len(phrase) * 0.6:
        return False
    return fuzz.partial_ratio(lowered_phrase, lowered, score_cutoff=threshold) >= threshold


def best_word_match(word: str, choices: Iterable[str], threshold: float = 80.0) -> str | None:
    """The choice that ``word`` is an OCR-damaged spelling of, or None."""
    choices = tuple(choices)
    lowered = word.lower()
    for choice in choices:
        if lowered == choice.lower():
            return choice
    hit = process.extractOne(
        lowered, [c.lower() for c in choices], scorer=fuzz.ratio, score_cutoff=threshold
    )
    if hit and hit[1] >= threshold:
        return choices[hit[2]]
    return None


# --------------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------------

OUTCOME_WORDS = {"upheld": "upheld", "overturned": "overturned"}


#: Two letters OCR prints for one ("Uphelcl", "Uplield", "iipheld"), read as that one in a
#: word that may be an outcome; neither outcome word holds any of the pairs, so the folding
#: cannot take a letter from a true outcome word, and a pair costs fuzzy matching two edits.
_OUTCOME_PAIRS = (("cl", "d"), ("li", "h"), ("ii", "u"))


def parse_outcome(word: str, threshold: float = 78.0) -> str | None:
    """Map an (OCR-damaged) outcome word to ``"upheld"`` / ``"overturned"``."""
    token = word.strip(" .,:;'\"|!_-").lower()
    if not token:
        return None
    if token in OUTCOME_WORDS:
        return OUTCOME_WORDS[token]
    if not 4 <= len(token) <= 13:
        return None
    hit = best_word_match(token, OUTCOME_WORDS, threshold)
    if hit is None and any(pair in token for pair, _ in _OUTCOME_PAIRS):
        for pair, letter in _OUTCOME_PAIRS:
            token = token.replace(pair, letter)
        hit = best_word_match(token, OUTCOME_WORDS, threshold)
    return OUTCOME_WORDS[hit] if hit else None


# --------------------------------------------------------------------------------------------
# Dates (read by imr_llm.form.reading, which reads them through OCR damage)
# --------------------------------------------------------------------------------------------

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Known names (US states, specialties) through OCR damage
# --------------------------------------------------------------------------------------------

#: Letters OCR prints for another, folded to one in both the text and the known names, so that
#: "lowa" is Iowa and "Califomia" California at no cost at all. Only confusions that never
#: turn one known name into another are folded (tests/test_vocabulary.py checks the keys).
_FOLD_CHARS = str.maketrans({"1": "i", "l": "i", "|": "i", "!": "i", "0": "o", "5": "s"})
_FOLD_PAIRS = (("rn", "m"), ("ri", "n"), ("cl", "d"), ("vv", "w"))
#: Marks a list separates its names with; inside a name they are OCR damage.
LIST_MARKS = ",;:/"


def name_key(text: str) -> str:
    """The form in which a written name is compared with known names through OCR damage.

    Lower case, "&" read as "and", accents dropped, only letters and digits kept (so lost or
    extra spaces and marks inside a name do not count), and the letters OCR confuses folded
    to one ("l", "1" and "|" to "i", "rn" to "m", "ri" to "n", "cl" to "d").
    """
    text = unicodedata.normalize("NFKD", text.lower().replace("&", " and "))
    key = "".join(ch for ch in text.translate(_FOLD_CHARS) if ch.isascii() and ch.isalnum())
    for pair, one in _FOLD_PAIRS:
        key = key.replace(pair, one)
    return key


@dataclass(frozen=True, slots=True)
class NameMatch:
    """A written name read as a known one.

    ``value`` is what a record keeps: the written text when it is ``exact`` (written as the
    known name, "&" and "and" alike), else the known name, with "&" where the text has one.
    ``distance`` counts the edits between the two keys (0: the same letters).
    """

    name: str
    value: str
    exact: bool
    distance: int


def _damaged_and(name: str, written: str) -> bool:
    """Whether ``written`` holds a word no word of ``name`` is that OCR made of "and": three or
    four letters starting with an "a", two edits at most from it ("ancl", "anc", "aud",
    "arid")."""
    words = set(name.lower().split())
    return any(
        3 <= len(word) <= 4 and word not in words and Levenshtein.distance(word, "and") <= 2
        for word in re.findall(r"\ba[a-z]{2,3}\b", written.lower())
    )


def _and_forms(name: str) -> tuple[str, ...]:
    """``name`` as letters print it with "and" and with "&"."""
    return tuple(dict.fromkeys((name, name.replace(" and ", " & "), name.replace(" & ", " and "))))


class Vocabulary:
    """A closed list of names (the US states, the reviewers' specialties) and how to read one.

    A written name is read as the known name with the same key (see :func:`name_key`), or,
    through heavier damage, as the one known name its key is clearly closest to: similar by
    at least 80% and 5 points ahead of any other, or for one long word (7 to 14 letters, a
    "Caltfomia") 70% and 15 points ahead. Two known names about equally close leave the text
    unread: a reading never guesses.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names: tuple[str, ...] = tuple(names)
        self._by_key: dict[str, str] = {}
        self._forms: dict[str, str] = {}
        for name in self.names:
            key = name_key(name)
            if not key or key in self._by_key:
                raise ValueError(f"{name!r} is empty or repeats {self._by_key.get(key)!r}")
            self._by_key[key] = name
            for form in _and_forms(name):
                self._forms[form] = name
        self._keys = tuple(self._by_key)
        self._sorted_keys = sorted(self._keys)
        self._near_cache: dict[str, tuple[str, int, bool] | None] = {}
        #: The longest key: no longer stretch of text can be close to a known name.
        self.longest = max((len(k) for k in self._keys), default=0)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._forms

    def match(
        self, written: str, key: str | None = None, *, fuzzy: bool = True
    ) -> NameMatch | None:
        """The known name ``written`` stands for, or None when it is none or ambiguous.

        Without ``fuzzy`` only the same letters count (no edits).
        """
        written = collapse_ws(written)
        if written in self._forms:
            return NameMatch(self._forms[written], written, True, 0)
        key = name_key(written) if key is None else key
        name = self._by_key.get(key)
        if name is not None:
            return NameMatch(name, self._styled(name, written), False, 0)
        hit = self._closest(key) if fuzzy else None
        if hit is None:
            return None
        near, distance = hit
        name = self._by_key[near]
        return NameMatch(name, self._styled(name, written), False, distance)

    def _closest(self, key: str) -> tuple[str, int] | None:
        near = self._near(key)
        if near is None or not near[2]:
            return None
        return near[0], near[1]

    def ambiguous(self, key: str) -> int | None:
        """The edits from ``key`` to the nearest known name when it is as close as a reading
        needs, yet as close to another (damage that could be either); else None."""
        near = self._near(key)
        return near[1] if near is not None and not near[2] else None

    def _near(self, key: str) -> tuple[str, int, bool] | None:
        """The known key nearest ``key`` when it is near enough to read, its distance, and
        whether it is clearly nearer than any other."""
        if len(key) < 4 or len(key) > self.longest * 1.5:
            return None
        if key not in self._near_cache:
            if len(self._near_cache) > 50_000:
                self._near_cache.clear()
            self._near_cache[key] = self._nearest(key)
        return self._near_cache[key]

    def _nearest(self, key: str) -> tuple[str, int, bool] | None:
        # A runner-up below 0.55 is clearly behind any best that can be read (>= 0.7).
        hits = process.extract(
            key, self._keys, scorer=Levenshtein.normalized_similarity, limit=2, score_cutoff=0.55
        )
        if not hits:
            return None
        best = hits[0][1]
        if _word_replaced(key, hits[0][0]):
            return None
        runner_up = hits[1][1] if len(hits) > 1 else 0.0
        long_word = 7 <= len(key) <= 14
        if best >= 0.8:
            clear = best - runner_up >= 0.05
        elif long_word and best >= 0.7:
            clear = best - runner_up >= 0.15
        else:
            return None
        return hits[0][0], Levenshtein.distance(key, hits[0][0]), clear

    def starting_with(self, key: str) -> list[str]:
        """The known names whose key starts with ``key`` (a name whose end was cut off).

        Empty when ``key`` is a known name's own key or shorter than eight letters, so that
        no short word counts as the start of a name.
        """
        if len(key) < 8 or key in self._by_key:
            return []
        found = []
        for k in self._sorted_keys[bisect_left(self._sorted_keys, key) :]:
            if not k.startswith(key):
                break
            found.append(self._by_key[k])
        return found

    @staticmethod
    def _styled(name: str, written: str) -> str:
        """``name`` with "&" for "and" where the written text has "&", or has neither (the
        connective lost or damaged: "Physical Medicine Rehabilitation", "Physical Medicine 8
        Rehabilitation"), as letters print it (26 of the 27 such names in the labels of the
        corpora and the gold set); "and" where the text has it."""
        if "&" in written:
            return name.replace(" and ", " & ")
        if " and " in name:
            # The connective's "and" is in the text when it holds more "and"s than the name's
            # other words do ("Physical Medieine andRehabilitation": glued, still "and"), or a
            # word OCR made of it ("Physical Medicine ancl Rehabilitation").
            others = name.lower().replace(" and ", " ").count("and")
            if written.lower().count("and") <= others and not _damaged_and(name, written):
                return name.replace(" and ", " & ")
        return name


US_STATES: tuple[str, ...] = (
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut",
    "Delaware", "District of Columbia", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois",
    "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts",
    "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada",
    "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota",
    "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina",
    "South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington",
    "West Virginia", "Wisconsin", "Wyoming", "Puerto Rico",
)  # fmt: skip
#: The US states as a closed vocabulary (the record keeps their canonical names).
STATES = Vocabulary(US_STATES)
#: Each state's postal code, as a copy typed into another system may list a licensure:
#: "State(s) of Licensure: CA, AZ".
POSTAL_CODES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "PR": "Puerto Rico",
}  # fmt: skip


@lru_cache(maxsize=4096)
def canonical_state(name: str) -> str | None:
    """The canonical US state name ``name`` stands for ("Califomia" -> "California"), or None."""
    hit = STATES.match(name)
    return hit.name if hit is not None else None


# --------------------------------------------------------------------------------------------
# OCR-tolerant patterns for labels that sit mid-line (header tables)
# --------------------------------------------------------------------------------------------

#: What OCR reads a letter as. The patterns are case-insensitive, so the capitals OCR reads an
#: "O" as ("D", "Q") match their small letters too: a reader that must tell "did" from "old"
#: looks at the match (:func:`imr_llm.form.summary.read_ages`).
_CONFUSABLE: dict[str, str] = {
    "a": "[aeo@áà]", "c": "[ceo(ç]", "d": "(?:d|cl)", "e": "[ecoéèê]", "g": "[gq9]",
    "h": "[hbn]", "i": "[il1!|jíì]", "l": "[l1I|i!]", "m": "(?:m|rn|nn|rri)", "n": "[nrh]",
    "o": "[o0QDóò]", "r": "[rn]", "s": "[s5$]", "t": "[tf]", "u": "[uvúü]", "y": "[yv]",
}  # fmt: skip


def is_word_char(ch: str) -> bool:
    """Whether ``ch`` is a character ``\\w`` matches (a letter, a digit or "_"): what a regex
    word boundary tells apart, for the code that finds words with ``str.find``."""
    return ch.isalnum() or ch == "_"


def word_starts(text: str, word: str) -> Iterator[int]:
    """Where ``word`` starts in ``text`` at a word's start (no letter, digit or "_" before
    it): ``str.find`` where a pattern with a leading word boundary would be tried at every
    character."""
    at = text.find(word)
    while at >= 0:
        if at == 0 or not is_word_char(text[at - 1]):
            yield at
        at = text.find(word, at + 1)


#: A word of two letters or more printed twice in a row, case aside ("2 times times a week",
#: "Emergency Emergency Medicine"): no labelled service, original request or specialty list
#: (622 names, 117 lists) prints one; OCR reading a word twice does.
DOUBLED_WORD = re.compile(r"\b([A-Za-z]{2,})\s+\1\b", re.IGNORECASE)


#: Where one sentence ends and the next begins: a full stop after two small letters or digits
#: (not "Dr."), then a capital and a small letter. An item's name holds none of a reviewer's
#: sentences.
SENTENCE_JOIN = re.compile(r"[a-z0-9)]{2}[.!?]\s+[A-Z][a-z]")


#: Words no sentence ends with ("... is not medically necessary per the"): a text that stops
#: on one lost the rest of its sentence, and a full stop standing apart after one ("MMPI-2-RF
#: and .") is OCR's mark, not a sentence's end.
DANGLING_WORDS = frozenset(
    "the a an of to for per and or with in on by at from as is are was were that which this "
    "these be not than".split()
)


#: The most letters in a row OCR damage changes in a name: more is a word of another name
#: ("Public Health & General Preventive Surgery", a line lost between "Preventive" and the
#: next specialty's last word, is 8 edits from "... Preventive Medicine" in 40 letters,
#: close enough as a ratio; "Physlcal Medicine & Rehabilltotion" changes one letter at a time).
_MOST_LETTERS_CHANGED = 4


def _word_replaced(key: str, known: str) -> bool:
    """Whether ``key`` differs from the known name's ``known`` by a run of more than
    :data:`_MOST_LETTERS_CHANGED` letters: a word replaced, not a name damaged."""
    return any(
        tag != "equal" and max(a1 - a0, b1 - b0) > _MOST_LETTERS_CHANGED
        for tag, a0, a1, b0, b1 in Levenshtein.opcodes(key, known)
    )


@lru_cache(maxsize=256)
def ocr_pattern(phrase: str, *, split: bool = False) -> re.Pattern[str]:
    """A case-insensitive regex matching ``phrase`` with common OCR letter confusions.

    Used where a label is not at the start of a line (the right column of a header table), so
    line-prefix fuzzy matching cannot find it. Spaces may vanish or multiply, as OCR does;
    with ``split``, a space may also stand inside a word, where OCR read a gap ("ol d").
    """
    parts: list[str] = []
    for ch in phrase:
        if ch == " ":
            parts.append(r"\s*")
        elif ch.lower() in _CONFUSABLE:
            parts.append(_CONFUSABLE[ch.lower()])
        else:
            parts.append(re.escape(ch))
    return re.compile(("[ ]?" if split else "").join(parts), re.IGNORECASE)


_LINE_BREAK_HYPHEN = re.compile(r"(?<=[A-Za-z])- (?=[a-z])")


def comparison_key(text: str) -> str:
    """The form in which two renderings of the same passage are compared for equality.

    Whitespace is collapsed, and a hyphen left by a line break ("anti- depressants") is joined,
    because plain ``pdftotext`` removes such hyphens while ``-layout`` keeps them: the words are
    the same, only the rendering differs.
    """
    return _LINE_BREAK_HYPHEN.sub("", collapse_ws(text))


# --------------------------------------------------------------------------------------------
# A whitespace-collapsed view of a text that remembers where each character came from
# --------------------------------------------------------------------------------------------


_NON_SPACE = re.compile(r"\S+")


class CollapsedText:
    """``collapse_ws(source)`` plus a map from each of its characters back into ``source``.

    Searching the collapsed form makes line breaks, form feeds and double spaces irrelevant (a
    passage the model quotes from one line may wrap over three in the letter), while the map
    still gives the exact span of what was found in the original text. The map is built on
    first use: many searches never need it.
    """

    __slots__ = ("source", "text", "lower", "_starts", "_offsets")

    def __init__(self, source: str) -> None:
        self.source = source
        self.text = collapse_ws(source)
        self.lower = self.text.lower()
        self._starts: list[int] | None = None
        self._offsets: list[int] = []

    def _build(self) -> list[int]:
        # For each word: where it starts in the collapsed text, and how far its source start is
        # from that. Within a word the two advance together, so one offset per word suffices.
        starts: list[int] = []
        offsets: list[int] = []
        position = 0
        for m in _NON_SPACE.finditer(self.source):
            starts.append(position)
            offsets.append(m.start() - position)
            position += m.end() - m.start() + 1
        self._starts, self._offsets = starts, offsets
        return starts

    def _source_index(self, collapsed: int) -> int:
        starts = self._starts if self._starts is not None else self._build()
        word = bisect_right(starts, collapsed) - 1
        if word < 0:
            return 0
        end_of_word = starts[word + 1] - 1 if word + 1 < len(starts) else len(self.text)
        if collapsed >= end_of_word:  # the space after a word stands for the whitespace run
            return end_of_word - 1 + self._offsets[word] + 1
        return collapsed + self._offsets[word]

    def to_source(self, start: int, end: int) -> tuple[int, int]:
        """The span in ``source`` of the collapsed span ``[start, end)``."""
        if end <= start:
            pos = self._source_index(start) if start < len(self.text) else len(self.source)
            return pos, pos
        return self._source_index(start), self._source_index(end - 1) + 1

    def find(self, needle: str, start: int = 0, end: int | None = None) -> int:
        """Case-insensitive position of ``collapse_ws(needle)``; -1 when absent."""
        return self.lower.find(
            collapse_ws(needle).lower(), start, len(self.text) if end is None else end
        )


_CONCLUSION = re.compile(
    r"medically\s+(?:necessary|appropriate|indicated)|\ba\s+medical\s+necessity", re.IGNORECASE
)
_NEGATION = re.compile(r"\b(?:not|cannot|can't|non|never|no\s+longer)\b|\bnon-|\bun$", re.I)
_NOT_CERTIFIED = re.compile(r"\b(?:non-?\s?certified|not\s+certified|not\s+recommended)\b", re.I)


def rationale_conclusion(rationale: str) -> str | None:
    """What a rationale concludes: "upheld" (not medically necessary), "overturned", or None.

    Reviewers end with a sentence such as "the request is not medically necessary" or "is
    medically necessary"; the *last* such phrase is the conclusion. None when there is none.
    """
    text = collapse_ws(rationale)
    matches = list(_CONCLUSION.finditer(text))
    if matches:
        last = matches[-1]
        # The negation sits in the few words before the phrase: "is not medically necessary",
        # "cannot be deemed medically necessary", "is not a medical necessity".
        before = text[max(0, last.start() - 24) : last.start()]
        return "upheld" if _NEGATION.search(before) else "overturned"
    if _NOT_CERTIFIED.search(text[-300:]):
        return "upheld"
    return None
