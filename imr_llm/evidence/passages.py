"""Evidence for each item's passages: the two guidelines and the rationale.

A passage is the letter's text between its label and the next; the LLM engine hands in a
quote (first words ... last words) that is resolved here into that text. A passage holding
another's label, or a guideline that does not end as guidelines do, needs a person.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from rapidfuzz import fuzz

from ..form.items import (
    NO_EVIDENCE_SENTENCE,
    UNSURE_LABEL,
    ItemPlace,
    broken_form_sentence,
    says_no_evidence,
    words_beside_no_evidence,
)
from ..form.text import (
    collapse_ws,
    comparison_key,
    is_collapsed,
    is_word_char,
    ocr_pattern,
    word_starts,
)
from ..inputs.normalise import stamp_inside
from .anchors import split_quote
from .common import EDGE_THRESHOLD, FAX_DAMAGE, Checked, excerpt, status_of, without_furniture
from .items import LABEL_NAMES, PASSAGES, Edge, header_label_inside, misread_words


def passage_edge(words: str, region: str, at_start: bool) -> Edge:
    """How well ``words`` match the start (or end) of ``region``, and whether they occur
    elsewhere in it instead."""
    needle = collapse_ws(words).lower()
    hay = region.lower()
    n = len(needle)
    edge = hay[:n] if at_start else hay[-n:] if n else ""
    score = fuzz.ratio(needle, edge) if needle else 0.0
    if score < EDGE_THRESHOLD:
        # Words the OCR split or merged shift the edge by a few characters.
        window = hay[: n + 12] if at_start else hay[-(n + 12) :]
        hit = fuzz.partial_ratio_alignment(needle, window)
        if hit is not None:
            touches = hit.dest_start <= 6 if at_start else len(window) - hit.dest_end <= 6
            if touches:
                score = max(score, hit.score)
    elsewhere = False
    if score < EDGE_THRESHOLD and len(needle) >= 8:
        pos = hay.find(needle)
        if pos < 0:
            hit = fuzz.partial_ratio_alignment(needle, hay)
            pos = hit.dest_start if hit is not None and hit.score >= 88 else -1
        elsewhere = pos >= 0
    return Edge(score, elsewhere)


def lost_end(words: str, text: str) -> bool:
    """Whether ``text`` ends with the first half or more of ``words`` (the rest lost)."""
    parts = collapse_ws(words).lower().split(" ")
    hay = text.lower()
    for k in range(len(parts) - 1, (len(parts) + 1) // 2 - 1, -1):
        prefix = " ".join(parts[:k])
        if len(prefix) >= 8 and fuzz.ratio(prefix, hay[-len(prefix) :]) >= 90:
            return True
    return False


def cut_after(text: str, words: str) -> str:
    """``text`` up to the end of the last occurrence of ``words`` (fuzzy for OCR)."""
    needle = collapse_ws(words).lower()
    pos = text.lower().rfind(needle)
    if pos >= 0:
        return text[: pos + len(needle)]
    hit = fuzz.partial_ratio_alignment(needle, text.lower())
    return text[: hit.dest_end] if hit is not None and hit.score >= 88 else text


#: The passages every item of every form states (the Claims Administrator may cite none).
_ALWAYS_STATED = frozenset({"maximus_guideline", "rationale"})


def doubt_unsure_label(k: int, key: str, place: ItemPlace, out: Checked) -> None:
    """Leave unverified a passage found beside a label whose second word is no reading of
    the label's (:data:`~imr_llm.form.items.UNSURE_LABEL`: "Decision The California MTUS
    ..."), however well it matched: its first word may be the one taken for the label's.
    Both engines ask it after :func:`check_passage`."""
    region = place.passages.get(key)
    if region is None or region.how != UNSURE_LABEL:
        return
    path = f"items[{k}].{key}"
    evidence = out.evidence.get(path)
    if evidence is not None and evidence.status != "unverified" and path not in out.contradicted:
        label = getattr(place, "label_names", LABEL_NAMES)[key]
        out.put(path, "unverified", evidence.span, f"its label '{label}:' is damaged past "
                "reading, a word other than the label's after its first (the label's word "
                "lost, the passage's first word taken for it?)")  # fmt: skip


def check_passage(
    k: int,
    key: str,
    item: dict[str, Any],
    place: ItemPlace,
    quotes: bool,
    damage: float,
    resolve: Callable[[str, int, int], tuple[str, tuple[int, int]] | None],
    out: Checked,
    stamp: str | None = None,
) -> str | None:
    """Check one passage at its place; return the text the record keeps.

    ``stamp``: the passage's last line where it opens a page and may be a page's stamp
    (:func:`imr_llm.evidence.check.trailing_stamp`). A quote that stops right before it is no
    contradiction: the letter does not say which the passage is, so it is kept unverified.
    """
    path = f"items[{k}].{key}"
    value = item.get(key)
    label = getattr(place, "label_names", LABEL_NAMES)[key]  # as the letter's form words it
    region = place.passages.get(key)
    if region is None:
        if value is None:
            if key in _ALWAYS_STATED:
                # Every item of either form states these: a null one whose label is not
                # found lost its label's line (a 2013 notice's "The Expert Reviewer based
                # his/her decision on ..." dropped, the rest read into the guideline above).
                out.put(path, "unverified", None, f"null; its label '{label}:' could not be "
                        "found, and every item states it (a line lost?)")  # fmt: skip
            return None
        if quotes:
            found = resolve(value, place.header.end, place.end)
            if found is not None:
                out.put(path, "unverified", found[1], f"its label '{label}:' is unreadable")
                return found[0]
            out.put(path, "unverified", None, f"its label '{label}:' is unreadable")
            return collapse_ws(value)
        out.put(path, "unverified", None, f"its label '{label}:' is unreadable")
        return collapse_ws(value)
    text = collapse_ws(region.text)
    no_evidence = key == "claims_administrator_guideline" and says_no_evidence(text)
    if value is None:
        if no_evidence:
            put_no_evidence(path, text, region.span, out)
        elif key == "claims_administrator_guideline" and not text:
            out.put(path, "unverified", region.span, "the guideline is empty")
        elif text:
            out.wrong(path, f"is null but the letter gives a {label} for this item", region.span)
        return None
    if no_evidence:
        out.wrong(path, "the letter says the Claims Administrator did not cite any medical "
                  "evidence for this item; use null", region.span)  # fmt: skip
        return None
    if not quotes:
        if comparison_key(value) == comparison_key(text):
            out.put(path, "exact", region.span, f"after '{label}:'")
        else:
            out.wrong(path, f"differs from the text after '{label}:'", region.span)
        return value
    first, last = (without_furniture(words) for words in split_quote(value))
    head, tail = passage_edge(first, text, True), passage_edge(last, text, False)
    if head.score >= EDGE_THRESHOLD and tail.score >= EDGE_THRESHOLD:
        exact = text.lower().startswith(collapse_ws(first).lower()) and text.lower().endswith(
            collapse_ws(last).lower()
        )
        note = f"after '{label}:', to the next label or item"
        out.put(path, status_of(exact), region.span, note)
        return text
    later = PASSAGES[PASSAGES.index(key) + 1 :]
    if (
        head.score >= EDGE_THRESHOLD
        and tail.found_elsewhere
        and any(place.passages.get(k) is None for k in later)
    ):
        # The next label is unreadable, so this place runs on into the next passage: the
        # quote's last words mark where this passage ends.
        cut = cut_after(text, last)
        out.put(path, "unverified", region.span, "the next label is unreadable; cut at the quote")
        return cut
    if head.score >= EDGE_THRESHOLD and not tail.found_elsewhere and lost_end(last, text):
        # The letter ends where the quote's last words begin: OCR lost the passage's end.
        out.put(path, "unverified", region.span, f"the {label} ends before the quote's last "
                "words (lost to OCR)")  # fmt: skip
        return text
    if head.score >= EDGE_THRESHOLD and tail.found_elsewhere and stamp:
        cut = cut_after(text, last)
        if cut and collapse_ws(f"{cut} {stamp}") == text:
            out.put(path, "unverified", region.span, f"the {label}'s last line opens a page and "
                    "may be a page's stamp; the passage is cut before it")  # fmt: skip
            return cut
    if head.score >= EDGE_THRESHOLD and tail.found_elsewhere:
        out.wrong(path, f"the quote stops short: its last words {excerpt(last)} are not where "
                  f"the {label} ends; quote its last words", region.span)  # fmt: skip
        return text
    if head.found_elsewhere and tail.score >= EDGE_THRESHOLD:
        out.wrong(path, f"the quote starts late: the {label} begins with "
                  f"{excerpt(text[: len(first) + 8])}", region.span)  # fmt: skip
        return text
    if damage >= FAX_DAMAGE or not text:
        out.put(path, "unverified", region.span, f"the {label} is too damaged to match the quote")
        return text or collapse_ws(value)
    which = "last" if head.score >= EDGE_THRESHOLD else "first"
    words = last if which == "last" else first
    out.wrong(path, f"the {which} words {excerpt(words)} are not the {which} words of this "
              f"item's {label} (they may come from another passage)", region.span)  # fmt: skip
    return text


#: Between two words of a label inside a passage: spaces, and up to two of OCR's stray marks
#: ("Claims.Administrator guideline:", a repeated line's damage).
_LABEL_GAP = r"\s*[.,_~|'‘’`·]{0,2}\s*"

#: A passage label inside a passage's text: a line repeated or merged into it.
LABEL_INSIDE = re.compile(
    "|".join(
        ocr_pattern(label).pattern.replace(r"\s*", _LABEL_GAP) + r"\s*[:;]"
        for label in (
            "Claims Administrator guideline",
            "MAXIMUS guideline",
            "Decision rationale",
            "Rationale for the Decision",
        )  # fmt: skip
    ),
    re.IGNORECASE,
)


#: How every guideline passage ends: a full stop (perhaps inside a bracket or a quote; OCR
#: reads it as a colon, a semicolon or a comma as often as not).
PASSAGE_END = re.compile(r"[.!?:;,][\"'”’)\]_~|]*$|\)$")


#: What may follow a passage's last mark (the class of :data:`PASSAGE_END`).
_PASSAGE_CLOSERS = "\"'”’)]_~|"


def passage_ends(text: str) -> bool:
    """``bool(PASSAGE_END.search(text.rstrip()))``: a ``.!?:;,`` then closers, or a ")",
    at the end; read from the end instead of tried at every character."""
    if text.rstrip().endswith(")"):
        return True
    mark = _last_mark(text)
    return mark != "" and mark in ".!?:;,"


def soft_end(text: str) -> bool:
    """Whether a passage that :func:`passage_ends` takes ends with a comma, a colon or a
    semicolon (closers aside): OCR's reading of a full stop, or a passage cut inside its
    sentence ("Decision based on MTUS Chronic Pain Medical Treatment 2016,")."""
    mark = _last_mark(text)
    return mark != "" and mark in ",;:"


#: A rationale's words: no labelled guideline holds them (0 of the 555 guidelines in the
#: labels of the corpora and the gold set, 0 read in their 554 renderings; a 2013 notice's
#: Expert Reviewer speaks of "the employee's clinical circumstance", not of these).
_ARGUES = re.compile(
    r"\b(?:this|the)\s+(?:patient|claimant|injured\s+worker)\b|\bthe\s+request\b"
    r"|\bmedical\s+necessity\b",
    re.IGNORECASE,
)


def argues(value: str) -> bool:
    """Whether a guideline holds a rationale's words (:data:`_ARGUES`)."""
    lowered = value.lower()
    if not any(w in lowered for w in ("patient", "claimant", "worker", "request", "necessity")):
        return False  # the common case, told without the pattern
    return _ARGUES.search(value) is not None


#: "Decision based on" and what follows it: every labelled guideline names the set it cites
#: there, "MTUS", "Non-MTUS" or "Other" (388, 235 and 5 of the 555 labelled guidelines'
#: sentences). Matched (lower case) only where str.find puts "based", as are the patterns
#: below at their first words: tried at every character, they cost a passage's length each.
_BASED_ON = re.compile(r"based\s+on\b(.{0,14})")
#: How the form prints the joint, lower case: what needs no closer look.
_AS_PRINTED = ("based on mtus ", "based on non-mtus ", "based on other ")
_NOT_LETTERS = re.compile(r"[^a-z]+")
#: What follows "Decision" opening a guideline's sentence: "based" in every labelled
#: guideline (OCR's "asad", "iesed" among the renderings).
_AFTER_DECISION = re.compile(r"\b[\W_]*(\S{0,8})")
#: A label of a 2013 notice's guideline ("The Claims Administrator based its decision on"), or
#: the 2016 form's "based their decision on" sentence, which opens a guideline when printed.
_BASED_DECISION = re.compile(r"based\s+(?:its|his/her|his|her|their)\s+decision\s+on\b")
#: How far into a guideline the form's "... based their decision on ..." sentence starts.
_FORM_SENTENCE_AT = 40


#: An MTUS title's year and the word after its comma (lower case), OCR's marks passed over.
_YEAR_COMMA = re.compile(r"\b(?:19|20)\d\d\)?,\s+[^a-z0-9]{0,6}?([a-z0-9]\S*)")
#: What follows an MTUS title's "<year>," in every labelled guideline ("Section(s):" 331
#: times, "and" 6, "Chapter" 5), as OCR reads their first letters ("Sectonts", "Séchonis",
#: "5ection", "Scction", "Saction"; or "tion" kept: "5eetion").
_AFTER_MTUS_YEAR = ("se", "sé", "5e", "sc", "sa", "and", "chapter", "page")


def _mtus_year_runs_on(lowered: str, start: int) -> bool:
    """Whether the MTUS sentence from ``start`` goes on after its title's "<year>," with
    another word than the sections': "Decision based on MTUS Elbow Complaints 2007, Shoulder
    (updated 11/23/16)." lost "Section(s): 326. Decision based on Non-MTUS Citation ..."
    with a line."""
    end = lowered.find("decision based", start)
    m = _YEAR_COMMA.search(lowered, start, end if end >= 0 else len(lowered))
    return m is not None and not (m.group(1).startswith(_AFTER_MTUS_YEAR) or "tion" in m.group(1))


def cites_no_set(value: str) -> bool:
    """Whether a guideline sentence names no guideline set where the form always names one:
    "Decision based on" followed by words whose letters do not start as "MTUS", "Non-MTUS" or
    "Other" do ("Decision based on Treatment 2016.": "MTUS Chronic Pain Medical" lost with its
    line), "Decision" opening a sentence with no "based" after it ("Decision 2016."), an MTUS
    title's "<year>," followed by another word than its sections' (:func:`_mtus_year_runs_on`),
    or "Citation" with no "MT" or "Non" just before it ("... page 303. Citation Official
    Disability Guidelines": "Decision based on Non-MTUS" lost). OCR's marks, digits and
    spaces in between are passed over ("based on. 1 MTUS", "Non- MT US Citation")."""
    for at in word_starts(value, "Decision"):
        if value.startswith(" based ", at + 8):
            continue  # the common case: the form's words as printed
        before = value[:at]
        if at and not (before[-1:].isspace() and before.rstrip()[-1:] in (".", ";", ":")):
            continue  # not opening a sentence
        m = _AFTER_DECISION.match(value, at + 8)
        if m is None:
            continue  # "Decisions", "Decision-making": another word
        word = _NOT_LETTERS.sub("", m.group(1).lower())
        if not word.startswith(("b", "h")) and fuzz.ratio(word[:5], "based") < 50:
            return True
    lowered = value.lower()
    for at in word_starts(lowered, "based"):
        if lowered.startswith("based on mtus ", at) and _mtus_year_runs_on(lowered, at + 14):
            return True
        if lowered.startswith(_AS_PRINTED, at):
            continue  # the common case: the form's words as printed
        m = _BASED_ON.match(lowered, at)
        if m is not None:
            letters = _NOT_LETTERS.sub("", m.group(1).replace("0", "o"))
            if letters and not letters.startswith(("m", "n", "o", "rn")):
                return True
    for at in word_starts(lowered, "citation"):
        if is_word_char(lowered[at + 8 : at + 9] or " "):
            continue
        before = _NOT_LETTERS.sub("", lowered[max(0, at - 16) : at])
        if "mt" not in before and "non" not in before:
            return True
    return False


#: The form's guideline sentence, "Decision based on {MTUS|Non-MTUS Citation|Other} ...", at
#: its joints: "based on" (after "Decision"), "Decision based on" (after a sentence's end or
#: the passage's start) and "Non-MTUS" (after "based on", before "Citation").
_BASED_ON_AT = re.compile(r"based\s+on\b")
_DECISION_BASED_ON = re.compile(r"Decision\s+based\s+on\b")
_NON_MTUS = re.compile(r"non[\s\-]*mtus\b")
_TOKEN = re.compile(r"[a-z0-9íì]+")
#: "decision" through OCR's look-alikes ("dcclslon").
_DECISION_OCR = ocr_pattern("decision")
_EDGE_MARKS = ".,:;'\"()[]{}‘’“”-_~*"
#: OCR's digits and accents for letters, in the words compared here ("Decisi0n", "Decisíon").
_LETTERS_FOR = str.maketrans({"0": "o", "1": "i", "í": "i", "ì": "i"})


def _last_word(text: str) -> str:
    """The last word of ``text`` (lower case, OCR's digits read as letters, marks at its edges
    left out, its inner marks kept: "dec!sion"), joined to the one before where OCR split it
    ("Decisi on")."""
    tokens = [t for t in (t.strip(_EDGE_MARKS) for t in text.lower().split()) if t]
    if not tokens:
        return ""
    word = tokens[-1]
    if len(word) <= 2 and len(tokens) >= 2:
        word = tokens[-2] + word
    return word.translate(_LETTERS_FOR)


def _ends_a_sentence(text: str) -> bool:
    """Whether ``text`` ends with a full stop, a semicolon, a colon or a comma, only marks
    after it."""
    for ch in reversed(text):
        if ch in ".;:,":
            return True
        if is_word_char(ch):
            return False
    return False


def form_sentence_broken(value: str) -> bool:
    """Whether a guideline breaks the form's guideline sentence at one of its joints, as a
    line lost or printed twice does: "based on" after another word than "Decision" ("...
    Citation Official based on Non-MTUS Citation Official ..."), "Decision based on" inside a
    sentence ("... 2nd Edition Decision based on Non-MTUS ..."), or "Non-MTUS" not after
    "based on" ("... 2nd Edition on Non-MTUS Citation") or not before "Citation" ("Non-MTUS
    Guidelines (ODG)"). Every labelled guideline keeps them all; OCR's damage to the words
    is read through (its look-alikes, or a rapidfuzz ratio of 65 to "decision", 60 to
    "citation")."""
    lowered = value.lower()
    if "based" not in lowered and "mtus" not in lowered:
        return False
    for at in word_starts(lowered, "based"):
        if lowered.endswith("decision ", 0, at) or _BASED_ON_AT.match(lowered, at) is None:
            continue  # the common case first: the form's words as printed
        word = _last_word(lowered[max(0, at - 16) : at])
        if fuzz.ratio(word, "decision") < 65 and not _DECISION_OCR.fullmatch(word):
            return True
    at = value.find("Decision")
    while at >= 0:
        if _DECISION_BASED_ON.match(value, at) is not None:
            before = value[:at].rstrip()
            if before and not _ends_a_sentence(before) and not before.endswith((" and", " also")):
                return True
        at = value.find("Decision", at + 1)
    for at in word_starts(lowered, "non"):
        if lowered.startswith("non-mtus citation", at) and lowered.endswith("based on ", 0, at):
            continue  # the common case: the form's words as printed
        m = _NON_MTUS.match(lowered, at)
        if m is None:
            continue
        after = _TOKEN.findall(lowered[m.end() : m.end() + 14])
        before = "".join(_TOKEN.findall(lowered[max(0, at - 12) : at]))
        if not after or fuzz.ratio(after[0], "citation") < 60:
            return True
        if fuzz.partial_ratio("basedon", before) < 70:
            return True
    return False


def label_line_again(value: str) -> bool:
    """Whether a guideline holds a label's "based its decision on" (a 2013 notice's) or the
    form's "based their decision on" sentence past its start: the label's line printed again
    ("the Postsurgical Treatment Guidelines, The Claims Administrator based its decision on
    the Postsurgical ..."); where a guideline prints the form's sentence, it opens it."""
    lowered = value.lower()
    return any(
        at > _FORM_SENTENCE_AT and _BASED_DECISION.match(lowered, at) is not None
        for at in word_starts(lowered, "based")
    )


#: A reviewer's verdict: rationales close on one, no labelled guideline holds one.
_VERDICT = re.compile(r"\b(?:is|are)\s+(?:not\s+)?medically\s+necessary\b", re.IGNORECASE)


def stops_before_cited(text: str) -> bool:
    """Whether a guideline ends before what it cites: "Section(s):" with no section named
    after it, or a guideline set's name in brackets with no chapter and no full stop after it
    ("... Official Disability Guidelines (ODG)"); the line that named it is lost or read
    elsewhere, whatever OCR did to the letter. Every labelled guideline names its sections
    after "Section(s):", and ends "(ODG)." where it cites no chapter."""
    end = text.rstrip().rstrip("\"'”’").rstrip()
    if end.endswith(")"):
        return end[-8:].lower().endswith(("(odg)", "(mtus)", "(acoem)"))
    return end[-1:] in ":;,." and end[:-1].rstrip()[-12:].lower().endswith("section(s)")


def _last_mark(text: str) -> str:
    """The last character of ``text`` before its closers (:data:`_PASSAGE_CLOSERS`) and
    trailing whitespace, or ''."""
    return text.rstrip().rstrip(_PASSAGE_CLOSERS)[-1:]


#: How long a match of ``LABEL_INSIDE`` can be in collapsed text: each letter of the longest
#: label read as its longest look-alike, a gap of a space, two marks and a space between
#: words, and a space before the colon.
_LABEL_REACH = 106
#: The last letter of each label ("guideline", "rationale", "Decision") as its pattern reads
#: it, then an optional space: what stands right before the colon of a label's match.
_LABEL_END = re.compile(r"(?i)[ecoéèênrh] ?\Z")


#: A passage label's last word with its colon, as the labels print it ("guideline:",
#: "rationale:"): no passage writes one (guidelines cite "Official Disability Guidelines:"); a
#: label's line printed again without its first words does ("Decision based on guideline:
#: Decision based on Non-MTUS ...").
_LABEL_WORD = re.compile(r"\b(?:guideline|rationale)\s?:")


def label_word_inside(value: str) -> bool:
    """Whether a passage holds a label's last word with its colon (:data:`_LABEL_WORD`)."""
    if not any(word in value for word in _LABEL_WORD_COLONS):
        return False  # the common case: "the guidelines support ..." holds no colon after
    return bool(_LABEL_WORD.search(value))


#: What every match of :data:`_LABEL_WORD` holds, told without the pattern.
_LABEL_WORD_COLONS = ("guideline:", "guideline :", "rationale:", "rationale :")


#: A guideline's "Section(s):", through OCR's look-alikes ("Sectionts):", "5ection(s):"): none
#: of the 304 labelled rationales prints it (they name a guideline's "Section 4.1" at most).
_SECTIONS = re.compile(
    ocr_pattern("Section").pattern + r"\s?[(\[{]\s?[s5]\s?[)\]}]\s?[:;]", re.IGNORECASE
)


def sections_inside(value: str) -> bool:
    """Whether a rationale holds a guideline's "Section(s):" (:data:`_SECTIONS`): a line of
    the guideline above read into it ("... in regards to this specific case, Section(s):
    Physical medicine treatment. and the clinical ...", two lines exchanged)."""
    if "(" not in value and "[" not in value and "{" not in value:
        return False  # the common case, told without the pattern
    return _SECTIONS.search(value) is not None


def label_inside(value: str) -> bool:
    """``bool(LABEL_INSIDE.search(value))``, searched only near a colon or semicolon that a
    label's last letter stands before: every match ends there and, in whitespace-collapsed
    text, is shorter than :data:`_LABEL_REACH` (the pattern, tried at every character, costs
    a scan of the whole passage)."""
    is_collapsed: bool | None = None
    for colon in ":;":
        at = value.find(colon)
        while at >= 0:
            # Before a label's colon: its last letter through its look-alikes, or whitespace
            # (one space, in collapsed text).
            if value[at - 1 : at].isspace() or _LABEL_END.search(value, max(0, at - 1), at):
                if is_collapsed is None:
                    is_collapsed = value == collapse_ws(value)
                if not is_collapsed:
                    return bool(LABEL_INSIDE.search(value))
                if _LABEL_END.search(value, max(0, at - 2), at) and LABEL_INSIDE.search(
                    value, max(0, at - _LABEL_REACH), at + 1
                ):
                    return True
            at = value.find(colon, at + 1)
    return False


#: What :func:`check_passage_ends` asks of a passage, in order, the first that holds giving the
#: reason: (which passages it asks it of: "any", "guideline" or "rationale"; the test, given the
#: value and the letter's OCR damage; the reason). A passage gets one reason at most.
_PASSAGE_END_CHECKS: tuple[tuple[str, Callable[[str, Any], bool], str], ...] = (
    ("any", lambda v, d: label_inside(v) or label_word_inside(v),
     "holds a label of the item's form (a repeated or merged line?)"),
    ("any", lambda v, d: header_label_inside(v),
     "holds a label of the letter's header table (a page's running head?)"),
    ("any", lambda v, d: stamp_inside(v),
     "holds a page's stamp, a watermark's word, a page counter or a fax machine's line (page "
     "furniture)"),
    ("guideline", lambda v, d: no_evidence_sentence_less_a_word(v),
     "reads as the form's \"The Claims Administrator did not cite any medical evidence for its "
     "decision.\" with a word lost or changed (so not read as it): a null guideline?"),
    ("guideline", lambda v, d: broken_form_sentence(v),
     "holds a sentence of the letter's form broken apart (\"... for its decision.\", "
     "\"recommendation(s) outside\"): a line out of its place?"),
    ("guideline", lambda v, d: "necessary" in v and bool(_VERDICT.search(v)),
     "states a verdict, which no guideline does (a line of the rationale read into it?)"),
    ("guideline", lambda v, d: argues(v),
     "speaks of the patient, the request or medical necessity, as rationales do and no "
     "guideline does (the rationale's label lost, its lines read into it?)"),
    ("guideline", lambda v, d: label_line_again(v),
     "holds its label's words again past its start (a label's line printed twice?)"),
    ("guideline", lambda v, d: cites_no_set(v),
     "names no guideline set where the form names one (\"Decision based on\" not followed by "
     "MTUS, Non-MTUS or Other, or \"Citation\" without Non-MTUS): a line lost?"),
    ("guideline", lambda v, d: form_sentence_broken(v),
     "breaks the form's \"Decision based on ...\" sentence at a joint (a line lost or printed "
     "twice?)"),
    ("guideline", lambda v, d: stops_before_cited(v),
     "ends before what it cites (\"Section(s):\" or a guideline's name with nothing after it): "
     "cut short, its last line lost or read elsewhere?"),
    ("guideline", lambda v, d: not passage_ends(v),
     "does not end with a full stop as every guideline does (OCR debris after it, or cut "
     "short?)"),
    ("guideline", lambda v, d: ends_on_title_year(v),
     "ends on its title's year and a comma or colon, where the form goes on with the title's "
     "sections (\"2016, Section(s): ...\") or ends with a full stop: cut short (a line lost or "
     "out of its place?), or OCR's reading of the stop"),
    ("guideline", lambda v, d: d is not None and soft_end(v) and d <= 0,
     "ends with a comma or a colon, on a letter without OCR damage to read a full stop so: cut "
     "short (a line out of its place?)"),
    ("guideline", lambda v, d: ends_repeating(v),
     "ends by repeating its last words (a repeated line?)"),
    ("rationale", lambda v, d: sections_inside(v),
     "holds a guideline's \"Section(s):\", which no rationale prints (a line of the "
     "guideline read into it, lines out of their order?)"),
    ("rationale", lambda v, d: repeats_last_sentence(v) or ends_with_lines_twice(v)
     or last_sentence_earlier(v),
     "ends by printing its last sentence twice (a repeated line?)"),
    ("guideline", lambda v, d: ends_with_tail_twice(v, guideline=True),
     "ends by printing its last words twice (a repeated line?)"),
    ("rationale", lambda v, d: ends_with_tail_twice(v),
     "ends by printing its last words twice (a repeated line?)"),
)  # fmt: skip


#: How alike (rapidfuzz ratio, lower case) a guideline must be to the no-evidence sentence to
#: be read as it with a word lost ("... did not any medical evidence ...": 97; "... did not
#: cite any evidence ...": 94); how much longer or shorter it may be, in characters.
_NO_EVIDENCE_SCORE = 85
_NO_EVIDENCE_REACH = 16
_NO_EVIDENCE_LOWER = NO_EVIDENCE_SENTENCE.lower()


def no_evidence_sentence_less_a_word(value: str) -> bool:
    """Whether a guideline is the form's no-evidence sentence with a word lost or changed,
    which :func:`~imr_llm.form.items.says_no_evidence` does not read as it ("The Claims
    Administrator did not any medical evidence for its decision."): its words kept as a cited
    guideline, where the letter meant none (a null). No guideline is the sentence's length
    and that like it: real ones name MTUS, ACOEM or ODG ("Decision based on MTUS Knee
    Complaints 2004." scores 38)."""
    if abs(len(value) - len(NO_EVIDENCE_SENTENCE)) > _NO_EVIDENCE_REACH:
        return False  # the common case: a guideline is longer or shorter than the sentence
    score = fuzz.ratio(value.lower(), _NO_EVIDENCE_LOWER, score_cutoff=_NO_EVIDENCE_SCORE)
    return score >= _NO_EVIDENCE_SCORE and not says_no_evidence(value)


#: A guideline's end on its title's year and a comma, colon or semicolon ("... Medical
#: Treatment 2016,"), OCR's marks after it passed over.
_TITLE_YEAR_END = re.compile(r"\b(?:19|20)\d\d\)?\s?[,;:][^\w\s]{0,2}$")


def ends_on_title_year(value: str) -> bool:
    """Whether a guideline ends on its title's year and a comma or colon: every labelled
    guideline goes on after "<year>," with the title's sections, or ends "<year>."; of the
    554 renderings' guidelines six end so, five on fax-quality text. A guideline's last line
    lost ("Section(s): Physical medicine treatment.", read into the rationale below when two
    lines changed places) leaves this."""
    tail = value.rstrip()[-12:]
    if tail[-1:] not in ",;:" and tail[-2:-1] not in (",", ";", ":"):
        return False  # the common case: a full stop or a closing bracket
    return _TITLE_YEAR_END.search(tail) is not None


def put_no_evidence(path: str, text: str, span: Any, out: Checked) -> None:
    """The evidence of a null Claims Administrator guideline whose passage says none was
    cited: ``exact``, or ``unverified`` where the passage holds other words beside the
    sentence (:func:`~imr_llm.form.items.words_beside_no_evidence`), whose guideline the null
    would lose."""
    if len(words_beside_no_evidence(text)) >= 2:
        out.put(path, "unverified", span, "the letter says none was cited, beside other words "
                "(a line read into it out of its place?)")  # fmt: skip
    else:
        out.put(path, "exact", span, "the letter says none was cited")


def check_passage_ends(k: int, item: dict[str, Any], out: Checked, damage: Any = None) -> None:
    """Flag a passage holding another passage's label, and a guideline that does not end as
    guidelines do (:data:`_PASSAGE_END_CHECKS`).

    Every guideline is one or more "Decision based on ..." sentences, so it ends with a full
    stop; one that does not holds text that is not the guideline (OCR debris after it, a
    word from a damaged line) or was cut short, and a person should look at it.
    """
    for key in PASSAGES:
        path = f"items[{k}].{key}"
        value = item.get(key)
        evidence = out.evidence.get(path)
        if not value or evidence is None or evidence.status == "unverified":
            continue
        kind = "rationale" if key == "rationale" else "guideline"
        for where, test, reason in _PASSAGE_END_CHECKS:
            if where in ("any", kind) and test(value, damage):
                out.put(path, "unverified", evidence.span, reason)
                break


_WORDS = re.compile(r"[^\W_]+")


def repeats_last_sentence(value: str) -> bool:
    """Whether a rationale ends with its last sentence (of four words or more) printed twice,
    perhaps with OCR debris between (case and marks aside): "... is not medically necessary. 2
    The request is not medically necessary.", a repeated last line.

    A rationale may restate its conclusion ("... is not medically necessary. Therefore, the
    request is not medically necessary."), so the whole last sentence must repeat, from its
    first word: a reviewer does not write the same sentence twice in a row."""
    text = value.rstrip()
    end = len(text) - 1
    before = max(text.rfind(".", 0, end), text.rfind("!", 0, end), text.rfind("?", 0, end))
    if before < 0:
        return False
    if _repeats_after_fragment(text, before):
        return True
    last = _WORDS.findall(text[before + 1 :].lower())
    # OCR debris between the copies (a page number, a fragment of up to two letters) reads
    # as the last sentence's first words.
    skip = 0
    while skip < min(3, len(last)) and (len(last[skip]) <= 2 or last[skip].isdigit()):
        skip += 1
    run = last[skip:]
    if len(run) < 4:
        return False
    # The sentence before must end with the run's last word (the common case: it does not).
    if _WORDS.findall(text[max(0, before - 40) : before + 1].lower())[-1:] != run[-1:]:
        return False
    start = max(0, before + 1 - 2 * (len(text) - before) - 40)
    words = _WORDS.findall(text[start : before + 1].lower())
    return words[-len(run) :] == run


def last_sentence_earlier(value: str) -> bool:
    """Whether a rationale's last sentence (five words or more, from its first word; case and
    marks aside) stands earlier in it too, whatever lies between: a page's end printed again
    after the next page's first lines ("... is medically necessary. Zolpidem 10mg #30 times 12
    was documented benefit. The request for the first item is medically necessary."), the
    two words before it with it. A reviewer may conclude twice in the same words (corpus
    CM16-0231706 concludes after each of two guidelines), after other words."""
    text = value.rstrip()
    before = _sentence_end_before(text, len(text) - 1)
    if before < 0:
        return False
    opening = text[before + 1 :].split()[:2]
    # Its first two words earlier, as printed: the common case (they are not) costs a find.
    if len(opening) < 2 or text.find(" ".join(opening), 0, before) < 0:
        return False
    last = _WORDS.findall(text[before + 1 :].lower())
    if len(last) < 5:
        return False
    earlier = _WORDS.findall(text[: before + 1].lower())
    # With the two words before it: a reviewer may restate a conclusion word for word (a
    # rationale that weighs two guidelines concludes after each), never after the same words.
    run = " " + " ".join(earlier[-2:] + last) + " "
    return run in " " + " ".join(earlier) + " "


def _sentence_end_before(text: str, at: int) -> int:
    return max(text.rfind(".", 0, at), text.rfind("!", 0, at), text.rfind("?", 0, at))


def _repeats_after_fragment(text: str, before: int) -> bool:
    """Whether the last sentence (from ``before``) was printed just before a fragment of one
    or two words ending in a stop ("... is medically necessary. guidelines. The request ...
    is medically necessary."): the tail of a line printed twice, as a page fed twice leaves
    it."""
    start = _sentence_end_before(text, before)
    if start < 0 or before - start > 40 or len(_WORDS.findall(text[start + 1 : before])) > 2:
        return False
    last = _WORDS.findall(text[before + 1 :].lower())
    if len(last) < 4:
        return False
    words = _WORDS.findall(text[max(0, start - 2 * len(text[before:]) - 40) : start + 1].lower())
    return words[-len(last) :] == last


#: The most characters three words of a guideline's name take, with their full stop.
_SHORT_TAIL = 48


def ends_with_tail_twice(value: str, *, guideline: bool = False) -> bool:
    """Whether ``value`` ends with the last words of its last sentence printed again after its
    full stop, a fragment in lower case ("... for its decision. decision.", "... is not
    medically necessary. not medically necessary."): the tail of a line printed twice. No
    sentence starts in lower case, and none repeats the one before's end. A ``guideline``
    cites names, which start in capitals: one that ends with one to three of its words
    again ("... Low Back Chapter. Chapter.") holds a short line printed twice too."""
    text = value.rstrip()
    before = _sentence_end_before(text, len(text) - 1)
    if before < 0:
        return False
    lower = text[before + 1 :].lstrip()[:1].islower()
    if not lower and (not guideline or len(text) - before > _SHORT_TAIL):
        return False  # the last sentence starts as sentences do (the common case)
    tail = _WORDS.findall(text[before + 1 :])
    if not 1 <= len(tail) <= (6 if lower else 3) or len(tail[-1]) < 3:
        return False
    if lower and not tail[0][:1].islower():
        return False
    words = _WORDS.findall(text[max(0, before - 80) : before + 1])
    return [w.lower() for w in words[-len(tail) :]] == [w.lower() for w in tail]


#: The words a rationale's end must print twice in a row to be lines printed again.
_LINES_RUN = 12
#: A sentence's end inside a run: a mark, whitespace, then more of it.
_END_INSIDE = re.compile(r"[.!?][\"'”’)\]]*\s+\S")


def ends_with_lines_twice(value: str) -> bool:
    """Whether a rationale ends with a dozen words or more, across a sentence's end, that it
    has just printed (up to three words of debris between): the end of a page or a run of
    lines printed twice ("... findings. Objective functional improvement is documented. The
    request ... is not medically necessary. 5 findings. Objective functional improvement is
    documented. The request ... is not medically necessary."). A reviewer may restate a
    conclusion word for word, in one sentence; never two sentences' worth in a row."""
    # The second copy crosses a sentence's end, so it holds the whole last sentence, and so
    # does the first: told first on the text (the common case: the last sentence printed once).
    text = value.lower()
    if not is_collapsed(text):
        text = collapse_ws(text)
    end = len(text) - 1
    start = max(text.rfind(". ", 0, end), text.rfind("! ", 0, end), text.rfind("? ", 0, end))
    if start < 0:
        return False
    misreads = 0
    if text.find(text[start + 2 :], 0, start) < 0:
        # Printed again and OCR'd again, the copy may read a word or two differently
        # ("guidclines", "medicalIy"): told by the last sentence's first words printed earlier.
        opening = " ".join(text[start + 2 :].split()[:_OPENING_WORDS])
        if len(opening) < 12 or text.find(opening, 0, start) < 0:
            return False  # the common case: the last sentence printed once
        misreads = _COPY_MISREADS
    spans = [m.span() for m in _WORDS.finditer(text)]
    words = [text[a:b] for a, b in spans]
    return any(
        _END_INSIDE.search(text, spans[second][0], spans[-1][0])
        for second in _copies_at_end(words, _LINES_RUN, _LINES_RUN - 2, misreads)
    )


#: How many of the last sentence's first words must stand earlier, as printed, for its lines
#: to be looked for printed again with words misread ("The request for" alone is common).
_OPENING_WORDS = 5
#: How many words a second copy of a rationale's lines may read differently, each a
#: misreading (:func:`~imr_llm.evidence.items.misread`), a page OCR'd twice.
_COPY_MISREADS = 2


def _same_run(first: list[str], second: list[str], misreads: int) -> bool:
    """Whether two runs of words are the same, but for up to ``misreads`` words of the second
    that are misreadings of the first's."""
    if not misreads:
        return first == second
    misreadings = misread_words(first, second)
    return misreadings is not None and misreadings <= misreads


def _copies_at_end(words: list[str], least: int, lowest: int, misreads: int = 0) -> Iterator[int]:
    """Each way ``words`` end with a run of at least ``least`` words printed just before, up
    to three words between the copies, the first copy ending at a print of the last word
    after index ``lowest`` (up to ``misreads`` words of the second copy misread,
    :func:`_same_run`): the index of the second copy's first word, nearest first."""
    size, last = len(words), words[-1]
    for j in range(size - 2, lowest, -1):
        # With misreadings, the last word may be one: the word before it then stands whole.
        if words[j] != last and not (misreads and words[j - 1] == words[-2]):
            continue
        for gap in range(4):
            run = size - (j + 1 + gap)  # the second copy: words[j + 1 + gap:]
            if (
                run >= least
                and j + 1 - run >= 0
                and _same_run(words[j + 1 - run : j + 1], words[-run:], misreads)
            ):
                yield size - run


def ends_repeating(value: str) -> bool:
    """Whether ``value`` ends with a run of at least four words that it has just printed, up
    to three words before (case and marks aside): a repeated last line, perhaps with OCR
    debris between the copies ("... strains of neck. : a Sprains and strains of neck.").

    Only guidelines are asked: a rationale may restate its last words ("... is not
    medically necessary. Therefore, the request is not medically necessary."), a guideline's
    sentences each name another source (a rationale's lines printed again are
    :func:`ends_with_lines_twice`). Only the places of the last word are tried."""
    lowered = value.lower()
    tail = _WORDS.findall(lowered[-40:])
    if not tail or lowered.count(tail[-1]) < 2:
        return False  # the last word printed once: nothing repeats (the common case)
    return next(_copies_at_end(_WORDS.findall(lowered), 4, 6), None) is not None
