"""Where the expert reviewer's credentials sit, in either of the two styles letters use.

Block style::

    State(s) of Licensure: California,North Carolina
    Certification(s)/Specialty: Preventive Medicine, Occupational Medicine, Public Health &
    General Preventive Medicine

Sentence style, inside the form paragraph: "The expert reviewer is Board Certified in
Occupational Medicine is licensed to practice in California."
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from ..inputs.normalise import Document
from .places import Place
from .sections import HEADING_SUMMARY
from .text import is_heading, match_label, ocr_pattern

STATES_LABEL = "State(s) of Licensure"
SPECIALTY_LABEL = "Certification(s)/Specialty"

_BOARD = ocr_pattern("Board Certified in").pattern
#: "licensed to practice in", its first word perhaps damaged beyond a pattern ("Hicansed").
_LICENSED = (
    rf"(?:{ocr_pattern('licensed').pattern}|\S{{6,10}})\s+" + ocr_pattern("to practice in").pattern
)
_AND, _IS = ocr_pattern("and").pattern, ocr_pattern("is").pattern
_SENTENCE_SPECIALTY_FIRST = re.compile(
    rf"{_BOARD}\s+(?P<spec>.+?),?\s+(?:{_AND}\s+)?(?:{_IS}\s+)?{_LICENSED}\s+"
    r"(?P<states>.+?)(?:\.(?:[\s\-–—]|$)|$)",
    re.IGNORECASE | re.DOTALL,
)
_SENTENCE_STATES_FIRST = re.compile(
    rf"{_LICENSED}\s+(?P<states>.+?),?\s+(?:{_AND}\s+)?(?:{_IS}\s+)?{_BOARD}\s+"
    r"(?P<spec>.+?)(?:\.(?:[\s\-–—]|$)|$)",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class CredentialsForm:
    """The places of the licensure states and the specialties (None: not found)."""

    states: Place | None
    specialties: Place | None
    style: str  # "block", "sentence" or "none"
    #: The lists whose label the block prints more than once ("states", "specialties"): a
    #: repeated line, after which the value read stops at the copy and may lose its rest.
    repeated: tuple[str, ...] = ()


#: A list's line that cannot be its last: it ends with a list mark or a joining word.
LIST_GOES_ON = re.compile(r"(?:[,&/]|\band)\s*$", re.IGNORECASE)


def _block_value(doc: Document, index: int, column: int, end: int, how: str) -> Place:
    """The label's value plus continuation lines (a wrapped specialty list)."""
    lines = doc.lines
    last = index
    for j in range(index + 1, end):
        line = lines[j]
        if line.blank:
            if LIST_GOES_ON.search(lines[last].text) or (
                last == index and not lines[index].text[column:].strip()
            ):
                # "Physical Medicine &" / a page break or blank line / "Rehabilitation"; or a
                # label printed with its list below it.
                continue
            break
        if (
            match_label(line.text, STATES_LABEL)
            or match_label(line.text, SPECIALTY_LABEL)
            or loose_label(line.text, STATES_LABEL) is not None
            or loose_label(line.text, SPECIALTY_LABEL) is not None
            or is_heading(line.text, HEADING_SUMMARY)
            or re.search(r"[:;]\s*\S", line.text)  # a label; a stray mark at the end is not
        ):
            break
        last = j
    start = doc.offset(index, column)
    raw = doc.text(start, lines[last].end)
    lead = len(raw) - len(raw.lstrip())
    text = raw.strip()
    return Place(start + lead, start + lead + len(text), text, how, (lines[index].start, start))


#: The credentials' form sentence up to its last word ("The Expert Reviewer has the following
#: credentials:"), found by the word before it, through OCR.
_FOLLOWING = ocr_pattern("following")
#: How far before the states' label the form sentence is looked for.
_INTRO_REACH = 200
_NOT_LETTERS = re.compile(r"[^a-z]+")


def words_before_states(doc: Document, credentials: CredentialsForm) -> bool:
    """Whether words stand between the credentials' form sentence and the states' label,
    where the letter prints only the sentence's "credentials:" ("Texas, West" above "State(s)
    of Licensure: Virginia, Oregon", "following / and Oregon and Iowa / credentials:"): a line
    of the list read out of its place, the list left to read short. OCR's damage to
    "credentials" is no word ("credenhats", "o redentials")."""
    states = credentials.states
    if credentials.style != "block" or states is None or not states.label:
        return False
    start = states.label[0]
    region = doc.text(max(0, start - _INTRO_REACH), start)
    if region.rstrip().endswith("following credentials:"):
        return False  # as printed: the common case, told without the fuzzy reading below
    matches = list(_FOLLOWING.finditer(region))
    if not matches:
        return False
    found = matches[-1]
    letters = _NOT_LETTERS.sub("", region[found.end() :].lower())
    if not letters:
        return False
    aligned = fuzz.partial_ratio_alignment("credentials", letters)
    kept = aligned.dest_end - aligned.dest_start if aligned is not None else 0
    return aligned is None or aligned.score < 60 or len(letters) - kept > 3


#: Where a label damaged past :func:`~imr_llm.form.text.match_label` may end inside the
#: credentials block: its colon read as a full stop, a comma or a bar ("Statelsi of
#: Licensure. California", "Cettiication(si/Specialty, Preventive Medicine").
_LOOSE_END = re.compile(r"[:;.,|]")


def loose_label(line: str, label: str, threshold: float = 75.0) -> int | None:
    """The column after ``label`` at the start of ``line`` read through heavier damage than
    :func:`~imr_llm.form.text.match_label` allows: its colon read as another mark. Only for
    the credentials block, whose lines are the two labelled lists and nothing else, so a
    line starting with words this like a label is that label."""
    stripped = line.lstrip()
    n = len(label)
    for m in _LOOSE_END.finditer(stripped, max(0, n - 5), n + 6):
        score = fuzz.ratio(stripped[: m.start()].lower(), label.lower(), score_cutoff=threshold)
        if score >= threshold:
            return len(line) - len(stripped) + m.end()
    return None


def read_credentials_form(doc: Document, start: int, end: int) -> CredentialsForm:
    """The credentials in lines ``[start, end)``."""
    states_at = specialty_at = None
    copies: dict[str, tuple[int, int]] = {}  # a list's label printed again: its last copy
    for i in range(start, end):
        text = doc.lines[i].text
        if hit := match_label(text, STATES_LABEL, threshold=75):
            if states_at is None:
                states_at = (i, hit.value_start)
            else:
                copies["states"] = (i, hit.value_start)
        elif hit := match_label(text, SPECIALTY_LABEL, threshold=75):
            if specialty_at is None:
                specialty_at = (i, hit.value_start)
            else:
                copies["specialties"] = (i, hit.value_start)
    if states_at is None or specialty_at is None:
        for i in range(start, end):
            text = doc.lines[i].text
            if states_at is None and (at := loose_label(text, STATES_LABEL)) is not None:
                states_at = (i, at)
            elif specialty_at is None and (at := loose_label(text, SPECIALTY_LABEL)) is not None:
                specialty_at = (i, at)
    if states_at or specialty_at:
        states = _block_value(doc, *states_at, end, "label") if states_at else None
        specialties = _block_value(doc, *specialty_at, end, "label") if specialty_at else None
        # A copy holding the same list is harmless; one holding more (the list went on past
        # the copy: "Medicine, Toxicology,\n<copy>\nPublic Health ...") or other names is not.
        first = {"states": states, "specialties": specialties}
        repeated = tuple(
            name
            for name, at in copies.items()
            if (place := first[name]) is None
            or _block_value(doc, *at, end, "label").text != place.text
        )
        return CredentialsForm(states, specialties, "block", repeated)
    if start >= end:
        return CredentialsForm(None, None, "none")
    base = doc.lines[start].start
    region = doc.text(base, doc.lines[end - 1].end)
    m = _SENTENCE_SPECIALTY_FIRST.search(region) or _SENTENCE_STATES_FIRST.search(region)
    if not m:
        return CredentialsForm(None, None, "none")

    def place(group: str) -> Place:
        s, e = base + m.start(group), base + m.end(group)
        return Place(s, e, doc.text(s, e), "sentence")

    return CredentialsForm(place("states"), place("spec"), "sentence")
