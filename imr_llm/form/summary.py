"""What the clinical case summary states, and where: age, sex, date of injury.

These are free-text sentences, so the readers are narrow: a value is read only where a familiar
phrase states it ("a 59 year old male", "sustained an industrial injury on 6/19/07"). OCR
damage is tolerated in the phrase's words ("41 yeer o1d") and digits ("4B year old").
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from .reading import Reading, read_date
from .text import case_special, ocr_pattern

#: "year" and "old" may hold a gap OCR read inside them ("25 ye ar old", "40 year ol d female").
_YEAR, _OLD = ocr_pattern("year", split=True).pattern, ocr_pattern("old", split=True).pattern
#: Where "old" ends: at a word's end, or where OCR lost the space before the sex word
#: ("36-year-oldfemale").
_OLD_END = r"(?:\b|(?=(?:fe)?male\b|(?:wo)?man\b|gentleman\b|lady\b))"
#: Between the words of an age phrase: a space or hyphen (a typographic dash too), and the
#: marks OCR puts between words ("34'year‘old", "60 year.old", "52-year·old", "52–year–old").
_JOIN = r"(?:\s*[-–—'‘’`.·,_~|]{0,2}\s*)"
_AGE = re.compile(
    rf"(?:(?<![\w/.-])|(?<=\ba)|(?<=\ba[.,'’‘]))(?P<n>[0-9OoIlSB]{{1,3}}){_JOIN}"
    rf"(?:{_YEAR}|yr|[a-z]{{1,5}})s?{_JOIN}"
    rf"{_OLD}{_OLD_END}",
    re.IGNORECASE,
)
#: The oldest age a summary's number is read as.
MAX_AGE = 120
_AGE_EXACT = re.compile(r"\d{1,3}\s*[-–— ]?\s*(?:year|yr)s?\s*[-–— ]?\s*old", re.IGNORECASE)
#: An age phrase whose number OCR destroyed: "a ?? year old".
_AGE_DAMAGED = re.compile(rf"\S{{1,4}}{_JOIN}{_YEAR}s?{_JOIN}{_OLD}{_OLD_END}", re.IGNORECASE)
#: The words every age phrase holds after its number.
_YEAR_OLD = re.compile(rf"{_YEAR}s?{_JOIN}{_OLD}{_OLD_END}", re.IGNORECASE)
_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "S": "5", "B": "8"})

SEX_WORDS = {
    "male": "male", "female": "female", "man": "male", "woman": "female",
    "gentleman": "male", "lady": "female",
}  # fmt: skip
#: Damaged spellings are read only for the long words: "rnale", "fernale"; "men" is no "man".
_SEX_OCR = re.compile(
    r"(?<![A-Za-z])(?:"
    + "|".join(ocr_pattern(w).pattern for w in ("female", "male"))
    + r")(?![A-Za-z])",
    re.IGNORECASE,
)
_SEX_CLEAN = re.compile(
    r"\b(?P<w>male|female)\b|\b(?:a|the|old)\s+(?P<n>man|woman|gentleman|lady)\b", re.IGNORECASE
)
#: From an age's number to its "old": a few characters, line breaks among them (a re-filled or
#: double-spaced summary breaks "52 / year old" anywhere).
_TO_OLD = r"(?:[^\n]|\n(?!\s*\n\s*\n)){0,24}?"
#: The sex words, each perhaps with a gap OCR read inside it ("fe male", "fem ale", "wo man"):
#: "fe" is no word skipped before "male".
_SEX_AFTER_AGE = r"(?P<w>f ?e ?m ?a ?l ?e|m ?a ?l ?e|w ?o ?m ?a ?n|m ?a ?n|gentleman|lady)"
_AFTER_AGE = re.compile(
    rf"{_TO_OLD}{_OLD}\s+(?:[a-z]+\s+){{0,2}}?{_SEX_AFTER_AGE}\b",
    re.IGNORECASE,
)
#: "ed" as OCR may read it: "ecl", "cd", "ccl".
_ED = r"[ec](?:d|cl)"
#: "injured" and "injury" with a letter lost ("injure", "inured", "njured", "inury").
_LOST_LETTER = "|".join(
    sorted({w[:k] + w[k + 1 :] for w in ("injured", "injury") for k in range(len(w))})
)
INJURY = re.compile(
    # "injury" as OCR may split it ("inj nry"), and the ways a summary dates it ("injury on",
    # "injury that occurred on", "date of injury of"); OCR's marks may stand between the words
    # ("an injury·that occurred on"), and its look-alikes in them ("lnjury", "injurecl",
    # "injurcd", "occurrecl"); "injured" split too ("in jured", "injur ed"), its "r" kept so
    # that "in June d..." is none, or with a letter lost.
    rf"(?:[il1|]njur(?:y|ies|{_ED})|[il1|]n\s?j\s?[uvn]\s?[rn]\s?[yv]"
    rf"|[il1|]n\s?j\s?u\s?r\s?[ec]\s?(?:d|cl)|(?<![A-Za-z])(?:{_LOST_LETTER})(?![A-Za-z])"
    r"|date\s+of\s+injury|DOI"
    rf"|industrial\s+\S{{4,8}}(?=\s+on\b)){_JOIN}"
    rf"(?:(?:that|which)?{_JOIN}(?:occurr?e(?:d|cl)|happen(?:e|c)(?:d|cl)){_JOIN})?"
    r"(?:on|of|dated|date|was|is|:)?\s*(?:on\s+|of\s+)?",
    re.IGNORECASE,
)


#: The sex word after an age run into the next word, the space between them lost ("a 76 year
#: old ladywho reported"): read only before the words a summary's first sentence goes on with,
#: so that "a 45 year old manual laborer" is no man.
_AFTER_AGE_GLUED = re.compile(
    rf"{_TO_OLD}{_OLD}\s+(?P<w>female|male|woman|man|gentleman|lady)"
    r"(?=(?:who|with|that|whose|and|was|has|had|is|presenting|complaining)\b)",
    re.IGNORECASE,
)
_OLD_WORD = re.compile(_OLD + _OLD_END, re.IGNORECASE)
#: The sex word glued to "old" where OCR lost the space ("36-year-oldfemale", "oldlady").
_SEX_GLUED_TO_OLD = re.compile(
    rf"{_TO_OLD}{_OLD}(?P<w>female|male|woman|man|gentleman|lady)\b", re.IGNORECASE
)


def read_ages(text: str) -> list[Reading[int]]:
    """Every age phrase in ``text`` whose number can be read ("48 year old", "4B-year-old").

    The phrase is looked for only just before each "old": the number's character class
    (digits and what OCR makes of them) would otherwise start a match at every letter o or l.
    """
    out: list[Reading[int]] = []
    seen: set[int] = set()
    for old in _OLD_WORD.finditer(text):
        if old.group()[0] in "dq":
            continue  # OCR reads a capital O as D or Q, never a small o as d ("60, but did")
        lo = max(0, old.start() - 24)
        for m in _AGE.finditer(text, lo, old.end()):
            if m.end() != old.end() or m.start("n") in seen:
                continue
            if (
                m.start("n")
                and text[m.start("n") - 1].isalpha()
                and not any(ch.isdigit() for ch in m.group("n"))
            ):
                # Run into "a" ("a52 year old") a number has a digit: "all VOID" (a stamp's
                # word after "all") is no "a 11 V OID", "isa Al year" no "1 year".
                continue
            digits = m.group("n").translate(_DIGITS)
            if not digits.isdigit() or not 0 < int(digits) <= MAX_AGE:
                continue
            seen.add(m.start("n"))
            exact = bool(_AGE_EXACT.fullmatch(m.group(0)))
            out.append(Reading(int(digits), exact, m.start("n"), m.end("n")))
            break
    return out


def has_damaged_age(text: str) -> bool:
    """Whether ``text`` holds an age phrase whose number could not be read, where no readable
    one comes before it (:func:`first_age` is then None)."""
    return bool(_AGE_DAMAGED.search(text)) and first_age(text) is None


def _damaged_before(text: str, end: int) -> bool:
    """Whether an age phrase whose number cannot be read ("a ██ year old", "a ?? year old")
    ends by ``end``: the summary's first age is then unreadable, and a later one ("since 13
    years old") is another's."""
    if end <= 0:
        return False
    # Every such phrase holds "year ... old": found by those words first (the damaged pattern
    # starts with any four characters, and would be tried at every one).
    phrase = _YEAR_OLD.search(text, 0, end)
    while phrase is not None:
        m = _AGE_DAMAGED.search(text, max(0, phrase.start() - 12), phrase.end())
        if m is not None and m.end() <= end:
            return True
        phrase = _YEAR_OLD.search(text, phrase.end(), end)
    return False


_AGE_WORDS = re.compile(
    rf"{_YEAR}s?{_JOIN}{_OLD}{_OLD_END}|\b(?:y/?o|yrs?\.?\s+old|age[ds]?\s+\S{{1,3}}\b)"
    # "old" with a letter OCR lost, before the sex word that follows an age ("63 year od male").
    rf"|\b\d{{1,3}}{_JOIN}{_YEAR}s?{_JOIN}[a-z]{{1,4}}\s+{_SEX_AFTER_AGE}\b",
    re.IGNORECASE,
)


def states_age(text: str) -> bool:
    """Whether ``text`` states an age at all ("48 year old", "a ??-year-old", "y/o"), read
    or not: where it does, a missing age is a value lost, not one the letter lacks."""
    return bool(_AGE_WORDS.search(text))


#: The form sentence a case summary opens with ("...based on a review of the case file,
#: including all medical records:"), up to its colon (OCR may print a semicolon).
_SUMMARY_INTRO = re.compile(r"medical\s+records\s*[:;]")


def starts_inside_sentence(text: str) -> bool:
    """Whether the case summary's account (after its opening form sentence) starts inside a
    sentence: with a lower-case letter or a digit ("2012. She was seen..."), where a line was
    lost. Every letter's account starts with a sentence ("The injured worker is a 66 year old
    female who sustained an industrial injury on November 2, 2012."), so the values that
    sentence states may be the ones lost with it. A mark first (OCR debris) says nothing."""
    intro = _SUMMARY_INTRO.search(text, 0, 400)
    rest = text[intro.end() :] if intro is not None else text
    first = rest.lstrip()[:1]
    return first.isdigit() or (first.isascii() and first.islower())


def read_sex(text: str, near: int = 0) -> Reading[str] | None:
    """The first sex word (male/female, a man/woman...) at or after offset ``near``.

    Right after an age phrase any of the words counts ("a 64 year old man").
    """
    if near:
        after = _AFTER_AGE.match(text, near)
        if after is not None:
            word = after.group("w").lower()
            whole = word.replace(" ", "")
            return Reading(SEX_WORDS[whole], whole == word, after.start("w"), after.end("w"))
        glued = _AFTER_AGE_GLUED.match(text, near) or _SEX_GLUED_TO_OLD.match(text, near)
        if glued is not None:
            word = glued.group("w").lower()
            return Reading(SEX_WORDS[word], False, glued.start("w"), glued.end("w"))
    clean = _SEX_CLEAN.search(text, near)
    damaged = _SEX_OCR.search(text, near, clean.start() if clean else len(text))
    if damaged is not None:
        # OCR writes m as rn ("rnale"): compare with both words after undoing that.
        word = re.sub(r"[^a-z]", "", damaged.group(0).lower().replace("rn", "m"))
        value = "female" if fuzz.ratio(word, "female") > fuzz.ratio(word, "male") else "male"
        return Reading(value, False, damaged.start(), damaged.end())
    if clean is None:
        return None
    group = "w" if clean.group("w") else "n"
    return Reading(
        SEX_WORDS[clean.group(group).lower()], True, clean.start(group), clean.end(group)
    )


_WS_RUN = re.compile(r"\s\s")


def date_window(text: str, start: int, size: int = 24) -> str:
    """The text from ``start`` holding ``size`` characters when each run of whitespace counts
    as one: where a date that follows its phrase may be. A page break inside the date (the
    furniture blanked to spaces, a form feed: "November 2, <form feed, spaces> 2012") leaves
    it there, as a line break does."""
    end = min(len(text), start + size)
    if _WS_RUN.search(text, start, end) is None:
        return text[start:end]  # no run of whitespace: the plain slice
    j, n, length = start, 0, len(text)
    while j < length and n < size:
        if text[j].isspace():
            while j < length and text[j].isspace():
                j += 1
        else:
            j += 1
        n += 1
    return text[start:j]


#: The words that open an injury's account: the noun "injury" (or "injuries") as OCR may print
#: it ("lnjury", "inj ury", "injnry"), and the words around it that still stand where OCR lost
#: it ("who sustained an industrial on 9/8/15").
#: "injur" as OCR may print it ("lnjur", "inj ur", "injnr"), the stem both injury patterns share.
_INJUR = r"[il1|]n\s?j\s?[uvn]\s?[rn]\s?"
_INJURY_NOUN = re.compile(rf"{_INJUR}(?:y|ies)\b|\bsustained\b|\bindustrial\b", re.IGNORECASE)
#: How far into its sentence after "injury" a date that dates it is looked for.
_INJURY_REACH = 80
#: A sentence's end: a full stop, a semicolon or a colon, then whitespace.
_SENTENCE_STOP = re.compile(r"[.;:](?:\s|$)")


def dates_an_injury(text: str) -> bool:
    """Whether a summary writes a date in the sentence of an "injury", after the word ("an
    injury tbat occurred on 08/18/2015", "industrial injuries of 3/4/2012"), whether or not
    :func:`read_injury_date` could read its phrase: where the date of injury comes from the
    summary alone, a null one next to such a sentence needs a person. "A work-related injury.
    According to the report dated 10/12/2016" dates the report, not the injury."""
    for m in _INJURY_NOUN.finditer(text):
        window = date_window(text, m.end(), _INJURY_REACH)
        stop = _SENTENCE_STOP.search(window)
        if read_date(window[: stop.start()] if stop else window) is not None:
            return True
    return False


#: The word "injury" (or "injured", "injuries") through OCR's look-alikes and gaps.
_INJURY_WORD = re.compile(rf"{_INJUR}(?:y|ies|{_ED})\b|\bsustained\b", re.IGNORECASE)


def injury_undated(text: str) -> bool:
    """Whether the account's first sentence names the injury ("... female who was injured",
    "... who sustained an industrial injury", "... who sustained an") but dates nothing:
    every headerless letter's account opens with the worker, the injury and its date ("The
    injured worker is a 59 year old male, who sustained an industrial injury on 6/19/07."),
    so a first sentence that names the injury without a date has lost the date (a dropped
    line runs the sentence into the next: "who was injured included lumbar strain"), where
    words follow the injury's. "The injured worker" names the worker, not the injury."""
    intro = _SUMMARY_INTRO.search(text, 0, 400)
    account = " ".join(text[intro.end() if intro is not None else 0 :].split())
    stop = _FIRST_SENTENCE_END.search(account)
    sentence = account[: stop.start() if stop else len(account)]
    named = [m for m in _INJURY_WORD.finditer(sentence)
             if not _WORKER_AFTER.match(sentence, m.end())]  # fmt: skip
    # "... following a work-related injury." ends with the injury: a letter that states no
    # date (gold gB13), not a phrase a lost line cut.
    return (
        bool(named)
        and _WORD.search(sentence, named[-1].end()) is not None
        and (read_date(sentence) is None)
    )


_WORD = re.compile(r"[A-Za-z]{2,}")
#: A sentence's end: a full stop and a capital.
_FIRST_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z])")
#: "injured" naming the worker ("The injured worker", "the injured employee").
_WORKER_AFTER = re.compile(r"\s+(?:worker|employee|party|patient|applicant|individual)\b",
                           re.IGNORECASE)  # fmt: skip


def read_injury_date(text: str) -> Reading | None:
    """The date of injury a summary states ("sustained an industrial injury on 6/19/07").

    ``INJURY`` is tried only where a match can start, not at every character: each of its
    alternatives starts with one of :data:`_INJURY_START` (case aside), so the first of those
    at or after a position where the pattern matches is where ``finditer`` would find its
    next match (``tests/test_fast_path.py`` holds the two equal)."""
    lowered = None if case_special(text) else text.lower()
    pos = 0
    while True:
        if lowered is None:
            m = INJURY.search(text, pos)
        else:
            m = None
            at = _next_injury_word(lowered, pos)
            while at >= 0:
                m = INJURY.match(text, at)
                if m is not None:
                    break
                at = _next_injury_word(lowered, at + 1)
        if m is None:
            return None
        reading = read_date(date_window(text, m.end()))
        if reading is not None and reading.start <= 3:
            s = m.end() + reading.start
            # Read through OCR's marks or look-alikes in its phrase: repaired, not exact.
            exact = reading.exact and _PLAIN_PHRASE.fullmatch(m.group()) is not None
            return Reading(reading.value, exact, s, m.end() + reading.end)
        pos = m.end()


#: Where an alternative of ``INJURY`` can start (lower-cased text): "injury" whole or as OCR
#: splits or damages it ("inj nry", "lnjury", "njured", "inured"), "date of injury", "DOI",
#: "industrial ...".
#: Kept beside ``INJURY``'s alternatives; a test over every letter holds the reading equal to
#: ``INJURY.finditer``'s.
_INJURY_START = re.compile(r"[il1|]n\s?j|(?<![a-z])(?:nj|ij|inu)|date|doi|industrial")
#: ``INJURY`` as the letter prints it, none of OCR's marks or look-alikes in it.
_PLAIN_PHRASE = re.compile(
    r"(?:injur(?:y|ies|ed)|date\s+of\s+injury|DOI|industrial\s+\S{4,8})\s*"
    r"(?:(?:that\s+|which\s+)?(?:occurred|happened)\s+)?"
    r"(?:on|of|dated|date|was|is|:)?\s*(?:on\s+|of\s+)?",
    re.IGNORECASE,
)


def _next_injury_word(lowered: str, pos: int) -> int:
    m = _INJURY_START.search(lowered, pos)
    return m.start() if m is not None else -1


def first_age(text: str) -> Reading[int] | None:
    """The age the summary states first: ``read_ages(text)[0]``, or an age written the short
    way ("43 y/o") where that comes first; or None. None too where an age phrase whose number
    cannot be read comes before it ("is a ██ year old male ... since 13 years old"): the
    summary's age is then unreadable, not the later one.

    :func:`read_ages` reads one age per "old"-like word, in text order, looking only before
    the word. So its first reading is its first reading of the text up to the first
    whitespace after some "old": tried up to each literal "old" in turn (a damaged "o1d"
    before it is inside that prefix), and on the whole text when none gives one.
    """
    first = _first_readable_age(text)
    short = _first_short_age(text)
    if short is not None and (first is None or short.start < first.start):
        first = short
    if first is None or _damaged_before(text, first.start):
        # An age in words ("a forty-eight year old male") reads as a phrase whose number is
        # unreadable; looked for only then, so a letter with a numeric age pays nothing.
        worded = _first_word_age(text)
        if worded is not None and (first is None or worded.start < first.start):
            return None if _damaged_before(text, worded.start) else worded
        return None
    return first


_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
         "seventy": 70, "eighty": 80, "ninety": 90}  # fmt: skip
_ONES = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9}  # fmt: skip
_TEENS = {"eighteen": 18, "nineteen": 19}
#: An age in words: "forty-eight year old", "a Fifty two-year-old", "nineteen years old".
_WORD_AGE = re.compile(
    rf"(?<![A-Za-z-])(?P<n>(?P<t>{'|'.join(_TENS)})(?:[- ](?P<o>{'|'.join(_ONES)}))?"
    rf"|(?P<teen>{'|'.join(_TEENS)})){_JOIN}{_YEAR}s?{_JOIN}{_OLD}{_OLD_END}",
    re.IGNORECASE,
)


def _first_word_age(text: str) -> Reading[int] | None:
    """The first age written in words, or None; ``exact`` where its words are plain."""
    m = _WORD_AGE.search(text)
    if m is None:
        return None
    if m.group("teen"):
        value = _TEENS[m.group("teen").lower()]
    else:
        value = _TENS[m.group("t").lower()] + (_ONES[m.group("o").lower()] if m.group("o") else 0)
    phrase = m.group(0)[len(m.group("n")) :]
    exact = _PLAIN_YEAR_OLD.fullmatch(phrase) is not None
    return Reading(value, exact, m.start("n"), m.end("n"))


_PLAIN_YEAR_OLD = re.compile(r"[- ](?:year|yr)s?[- ]old", re.IGNORECASE)


#: An age written the short way summaries also write it: "a 43 y/o male", "43 y.o.", "43yo";
#: tried just before each "y/o", "y.o" or "yo". Read with plain digits only (what OCR makes of a
#: digit is read in the long phrase).
_SHORT_AGE = re.compile(r"(?<![\w/.-])(?P<n>\d{1,3})\s?-?\s?(?:y/o|y\.o\.?|yo)(?![\w/])", re.I)
_SHORT_AGE_WORDS = ("y/o", "y.o", "yo")
#: An age given after the word ("a male aged 52", "female, age 52", "(age 52)", "Age: 52"),
#: tried at each "age": "age" alone only after a comma or a bracket, where it is the patient's
#: ("patients over age 40" is a guideline's).
_AGED = re.compile(
    r"(?:(?<![A-Za-z])aged\s*:?|(?<![A-Za-z])age\s*:|(?<=[,(])age|(?<=[,(]\s)age)"
    r"\s*(?P<n>\d{1,3})(?![\d/.,-]\d)\b",
    re.IGNORECASE,
)


def _first_short_age(text: str) -> Reading[int] | None:
    """The first age written the short way (:data:`_SHORT_AGE`, :data:`_AGED`), or None.
    Each pattern is tried only where its word is (a pattern searched through a summary costs
    tens of microseconds)."""
    lowered = text.lower()
    found: list[re.Match[str]] = []
    for word in _SHORT_AGE_WORDS:
        at = lowered.find(word)
        while at >= 0:
            # "yo" inside a word ("your", "beyond") is none: a digit or a space comes before.
            if at and (lowered[at - 1].isdigit() or lowered[at - 1] in " -"):
                m = _SHORT_AGE.search(text, max(0, at - 6), at + len(word) + 1)
                if m is not None:
                    found.append(m)
            at = lowered.find(word, at + 1)
    at = lowered.find("age")
    while at >= 0:
        if at == 0 or not lowered[at - 1].isalpha():
            m = _AGED.match(text, at)  # its look-behinds read what comes before "age"
            if m is not None:
                found.append(m)
        at = lowered.find("age", at + 3)
    for m in sorted(found, key=lambda m: m.start("n")):
        if 0 < int(m.group("n")) <= MAX_AGE:
            return Reading(int(m.group("n")), True, m.start("n"), m.end("n"))
    return None


def _first_readable_age(text: str) -> Reading[int] | None:
    """``read_ages(text)[0]``, or None (see :func:`first_age`)."""
    if not case_special(text):
        lowered = text.lower()
        at = lowered.find("old")
        while at >= 0:
            cut = at + 3
            while cut < len(text) and not text[cut].isspace():
                cut += 1
            ages = read_ages(text[: cut + 1])
            if ages:
                return ages[0]
            at = lowered.find("old", cut)
    ages = read_ages(text)
    return ages[0] if ages else None


def garbled_after_age(text: str, age_end: int) -> tuple[int, int] | None:
    """The span of the word after an age phrase when OCR garbled it ("59 year old “Tye?"):
    where the sex would be stated, unreadable."""
    m = re.match(rf"{_TO_OLD}{_OLD}\s+(\S+)", text[age_end:], re.IGNORECASE)
    if m is None:
        return None
    word = m.group(1)
    if re.fullmatch(r"[a-z]+[,.;]?", word) and not _damaged_sex_word(word.rstrip(",.;")):
        return None  # a plain word ("who", "with"): no sex stated there
    return age_end + m.start(1), age_end + m.end(1)


#: "male" and "lady" with a letter lost ("mae", "ldy"): no word a summary writes after an age.
_SEX_WORD_LESS_A_LETTER = frozenset(
    name[:k] + name[k + 1 :] for name in ("male", "lady") for k in range(len(name))
)


def _damaged_sex_word(word: str) -> bool:
    """Whether a plain word is a sex noun through OCR damage ("gentlcman", "wornan", "mae"):
    close to one, and none of them."""
    lowered = word.lower()
    if lowered in _SEX_WORD_LESS_A_LETTER:
        return True
    if lowered in SEX_WORDS or len(lowered) < 4:
        return False
    undone = lowered.replace("rn", "m").replace("cl", "d").replace("vv", "w")  # OCR's pairs
    return undone in SEX_WORDS or any(
        fuzz.ratio(lowered, name) >= 80 for name in SEX_WORDS if len(name) >= 4
    )


#: Words that may follow "injured on" / "injury on" where no date follows ("on the job", "on
#: or about 6/19/2007", a month's name).
_AFTER_INJURED_ON = frozenset(
    "the a an or about around approximately his her their duty".split()
    + "january february march april may june july august".split()
    + "september october november december".split()
    + "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def damaged_injury_date(text: str) -> tuple[int, int] | None:
    """The span of an injury date the summary states but OCR made unreadable ("on 1/14/2915",
    "on “Tye? : .")."""
    if read_injury_date(text) is not None:
        return None
    for m in INJURY.finditer(text):
        junk = re.match(r"\s*(\S+)", text[m.end() : m.end() + 30])
        if junk is not None and re.search(r"\bon\s*$", m.group(0), re.IGNORECASE):
            word = junk.group(1)
            if not re.fullmatch(r"[A-Za-z]+[,.;]?", word) or (
                word.lower().rstrip(",.;") not in _AFTER_INJURED_ON
            ):
                # A damaged date, or none where one must follow ("injury on" / its line lost /
                # "while lifting boxes").
                return m.end() + junk.start(1), m.end() + junk.end(1)
        after = re.match(r"[^\n.]{0,12}?(\S*\d\S*(?:\s+\S*\d\S*)?)", text[m.end() : m.end() + 30])
        if after is not None and sum(ch.isdigit() for ch in after.group(1)) >= 3:
            return m.end() + after.start(1), m.end() + after.end(1)
    return None
