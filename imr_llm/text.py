"""Text utilities shared by the rules engine, the grounding validators and the eval harness.

Everything here answers one of a few questions that all three stages ask of letter text: what a
string looks like once whitespace is normalised, whether an (OCR-damaged) line is a given label
or heading, which dates and US states a piece of text holds. Keeping the answers in one place is
what makes the rules engine, the validators and the scores agree with each other.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein


def collapse_ws(text: str) -> str:
    """Collapse every run of whitespace (newlines and form feeds too) to one space and trim.

    The record contract stores every string this way, so comparisons, grounding and scores all
    go through it.
    """
    return " ".join(text.split())  # str.split: the same whitespace as \s, several times faster


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
    # Fuzzy path: the label must end in a colon-like character near where it should.
    window = stripped[: n + 6]
    cut = -1
    for i, ch in enumerate(window):
        if ch in COLON_LIKE and i >= n - 5:
            cut = i
            break
    if cut < 0:
        return None
    score = fuzz.ratio(stripped[:cut].lower(), label.lower())
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
    return fuzz.ratio(text.upper(), heading) >= threshold


def contains_phrase(text: str, phrase: str, threshold: float = 85.0) -> bool:
    """True when ``phrase`` occurs in ``text``, exactly or as an OCR-damaged partial match."""
    if phrase.lower() in text.lower():
        return True
    if len(text) < len(phrase) * 0.6:
        return False
    return fuzz.partial_ratio(phrase.lower(), text.lower()) >= threshold


def best_word_match(word: str, choices: Iterable[str], threshold: float = 80.0) -> str | None:
    """The choice that ``word`` is an OCR-damaged spelling of, or None."""
    choices = tuple(choices)
    lowered = word.lower()
    for choice in choices:
        if lowered == choice.lower():
            return choice
    hit = process.extractOne(lowered, [c.lower() for c in choices], scorer=fuzz.ratio)
    if hit and hit[1] >= threshold:
        return choices[hit[2]]
    return None


# --------------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------------

OUTCOME_WORDS = {"upheld": "upheld", "overturned": "overturned"}


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
# US states
# --------------------------------------------------------------------------------------------

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
_STATE_KEYS = {squash(s): s for s in US_STATES}
_STATE_SQUASHED = tuple(_STATE_KEYS)


@lru_cache(maxsize=4096)
def canonical_state(name: str, threshold: float = 82.0, relaxed: bool = True) -> str | None:
    """The canonical US state name ``name`` stands for ("Califomia" -> "California"), or None."""
    key = squash(name)
    if not key:
        return None
    if key in _STATE_KEYS:
        return _STATE_KEYS[key]
    hits = process.extract(key, _STATE_SQUASHED, scorer=fuzz.ratio, limit=2)
    if not hits:
        return None
    best, runner_up = hits[0][1], hits[1][1] if len(hits) > 1 else 0.0
    if best >= threshold:
        return _STATE_KEYS[hits[0][0]]
    # Heavier damage in a long name ("Caltfomia"): read it when no other state comes close.
    if relaxed and len(key) >= 7 and best >= 70 and best - runner_up >= 15:
        return _STATE_KEYS[hits[0][0]]
    return None


_STATE_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&)\s*", re.IGNORECASE)


def split_states(text: str) -> tuple[list[str], list[str]]:
    """Split a licensure list into canonical states and the parts that are not states."""
    states: list[str] = []
    unknown: list[str] = []
    for part in _STATE_SPLIT.split(collapse_ws(text).strip(" .:")):
        part = part.strip(" .:'\"|")
        if not part:
            continue
        state = canonical_state(part)
        if state is None:
            unknown.append(part)
        elif state not in states:
            states.append(state)
    return states, unknown


# --------------------------------------------------------------------------------------------
# Specialties
# --------------------------------------------------------------------------------------------

#: Board specialties seen in IMR letters; used only to repair OCR damage when unambiguous.
KNOWN_SPECIALTIES: tuple[str, ...] = (
    "Acupuncture", "Addiction Medicine", "Allergy & Immunology", "Anesthesiology",
    "Cardiology", "Chiropractor", "Chiropractic", "Clinical Psychology", "Dermatology",
    "Emergency Medicine", "Endocrinology", "Family Practice", "Family Medicine",
    "Gastroenterology", "General Surgery", "Hand Surgery", "Hematology",
    "Hospice & Palliative Medicine", "Infectious Disease", "Internal Medicine",
    "Medical Toxicology", "Nephrology", "Neurological Surgery", "Neurology",
    "Neuromuscular Medicine", "Nuclear Medicine", "Obstetrics & Gynecology",
    "Occupational Medicine", "Ophthalmology", "Orthopaedic Surgery", "Orthopedic Surgery",
    "Otolaryngology", "Pain Medicine", "Pathology", "Physical Medicine & Rehabilitation",
    "Physical Medicine and Rehabilitation", "Physical Therapy", "Plastic Surgery", "Podiatry",
    "Podiatrist", "Preventive Medicine", "Psychiatry", "Psychology", "Pulmonary Disease",
    "Public Health & General Preventive Medicine", "Radiology", "Rheumatology",
    "Sleep Medicine", "Spine Surgery", "Sports Medicine", "Surgery", "Urology",
    "Vascular Surgery",
)  # fmt: skip
_SPECIALTY_KEYS = {squash(s): s for s in KNOWN_SPECIALTIES}
_SPECIALTY_SQUASHED = tuple(_SPECIALTY_KEYS)


def repair_specialty(name: str, threshold: float = 88.0) -> str:
    """Repair OCR damage in a specialty name when the intended name is unambiguous.

    Names we do not know are kept as written: the contract prefers a faithful value to a guess.
    """
    text = collapse_ws(name).strip(" .,;:'\"|")
    key = squash(text)
    if key in _SPECIALTY_KEYS:
        return text
    cut = cut_specialty(text)
    if len(cut) == 1:  # "Physical Medicine & Reh": the rest of its last word lost to a wrap
        return cut[0]
    hits = process.extract(key, _SPECIALTY_SQUASHED, scorer=fuzz.ratio, limit=2)
    if hits and hits[0][1] >= threshold and (len(hits) < 2 or hits[0][1] - hits[1][1] >= 5):
        return _SPECIALTY_KEYS[hits[0][0]]
    return text


def cut_specialty(name: str) -> list[str]:
    """The known specialties ``name`` is the cut-off start of ("Physical Medicine & Reh").

    OCR of a wrapped specialty list can lose the end of the line, leaving a value that reads
    cleanly yet is not a specialty. Empty when ``name`` is itself a known specialty, or the
    start of none; a start needs at least eight letters so that no short word matches.
    """
    key = squash(name)
    if len(key) < 8 or key in _SPECIALTY_KEYS:
        return []
    return [s for k, s in _SPECIALTY_KEYS.items() if k.startswith(key)]


_SPECIALTY_SPLIT = re.compile(r"\s*[,;]\s*")


def split_specialties(text: str) -> list[str]:
    """Split a specialty list on commas; "Public Health & General Preventive Medicine" is one."""
    out: list[str] = []
    for part in _SPECIALTY_SPLIT.split(collapse_ws(text).strip(" .")):
        part = part.strip(" .:'\"|")
        if part.lower().startswith("and "):
            part = part[4:]
        if part:
            fixed = repair_specialty(part)
            if fixed not in out:
                out.append(fixed)
    return out


# --------------------------------------------------------------------------------------------
# OCR-tolerant patterns for labels that sit mid-line (header tables)
# --------------------------------------------------------------------------------------------

_CONFUSABLE: dict[str, str] = {
    "a": "[aeo@áà]", "c": "[ceo(ç]", "d": "(?:d|cl)", "e": "[ecoéèê]", "g": "[gq9]",
    "h": "[hbn]", "i": "[il1!|jíì]", "l": "[l1I|i!]", "m": "(?:m|rn|nn|rri)", "n": "[nrh]",
    "o": "[o0QDóò]", "r": "[rn]", "s": "[s5$]", "t": "[tf]", "u": "[uvúü]", "y": "[yv]",
}  # fmt: skip


@lru_cache(maxsize=256)
def ocr_pattern(phrase: str) -> re.Pattern[str]:
    """A case-insensitive regex matching ``phrase`` with common OCR letter confusions.

    Used where a label is not at the start of a line (the right column of a header table), so
    line-prefix fuzzy matching cannot find it. Spaces may vanish or multiply, as OCR does.
    """
    parts: list[str] = []
    for ch in phrase:
        if ch == " ":
            parts.append(r"\s*")
        elif ch.lower() in _CONFUSABLE:
            parts.append(_CONFUSABLE[ch.lower()])
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.IGNORECASE)


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
