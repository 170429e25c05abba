"""Answers that mean the same, made the same: a model's value turned into its canonical form.

Real models, small self-hosted ones most of all, write right values in other shapes than the
answer schema asks for: a date as the letter prints it (``11/14/2016``, ``November 14, 2016``),
``"SC"`` or ``"Calif."`` for a state, ``"Upheld"``, ``"M"``, ``"44 years"``, ``""`` or ``"N/A"``
for null, the right items in another order, the JSON inside a fence or after a sentence, a
list of names as one string (``["California, Arizona"]``), an outcome with its meaning
(``"Upheld (not medically necessary)"``, ``"denied"``), a case number with its label, a
service with its marker (``"MRI of the knee: Upheld"``), keys spelled otherwise
(``"caseNumber"``), the record's nesting (``"patient": {"age": 44}``), the answer inside a
wrapper (``{"record": {...}}``). Each
would cost a re-ask, or worse (``original_request: ""`` passed the answer model and failed the
record model, leaving a letter with no record). This module turns each such value into the
canonical one before the answer model's field checks and the evidence checks run.

It decides nothing about whether a value is right: the evidence checks
(:mod:`imr_llm.evidence`) judge the canonical value against the letter exactly as they judge a
canonical answer, so a wrong date written as ``11/15/2016`` is as wrong as ``2016-11-15``. Only
transformations whose meaning is certain are made; anything else is left as written, for the
usual checks to reject with their usual message. What stays ambiguous, a two-digit year, is an
error that says which form to write (instructor sends it back to the model).

The schema the model sees is unchanged (``tests/test_answer_normalise.py`` holds it): the
lenience is in what is accepted, not in what is asked for.

Three hooks of :class:`imr_llm.llm.answer.LetterAnswer` use it, so the online path and the
batch path (which parses answers through instructor's response parser into the same model)
both go through it: :func:`answer_json` where the answer's text is parsed,
:func:`normalise_answer` before the answer's fields are validated, and :func:`answer_date` for
each date field. (A validator that runs before the fields makes pydantic check them as Python
values, strictly as instructor asks: so dates come out as dates and ages as numbers here.)
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..evidence.items import letter_order
from ..form import ItemPlace
from ..form.text import MONTHS, POSTAL_CODES, collapse_ws
from ..form.vocabulary import NameList, read_specialties, read_states

__all__ = [
    "answer_date",
    "answer_json",
    "canonical_age",
    "canonical_case_number",
    "canonical_outcome",
    "canonical_state_name",
    "canonical_word",
    "normalise_answer",
    "null_word",
    "split_names",
]

# --------------------------------------------------------------------------------------------
# JSON in message content
# --------------------------------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|Json)?[ \t]*\r?\n?(.*?)```", re.DOTALL)
#: Failed decodes tried before giving up on finding the JSON in a text (each may read the rest
#: of the text, so this bounds the work on a long answer full of braces).
_MAX_FAILED_DECODES = 64


def answer_json(text: str | bytes | bytearray) -> str | bytes | bytearray:
    """The JSON object in a model's answer text, when prose or a Markdown fence surrounds it.

    In instructor's ``json`` mode the message content is parsed as it is, so ``Here is the
    record: {...}`` or a ```json fence is not JSON; ``md_json`` mode takes a JSON span out of
    the text itself (the first in instructor 1.15, the last in 1.17). Here, for every mode: a
    text that is an object already (``{`` ... ``}``) is left to the parser as it is; otherwise
    the last fenced block holding a JSON object, else the last JSON object in the text, is the
    answer (the model's own answer comes after any example or reasoning it writes first). A
    text with no JSON object is returned unchanged, so the parser reports it as before.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            decoded = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            return text
        found = answer_json(decoded)
        return text if found is decoded else found
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        return text
    for block in reversed(_FENCE.findall(text)):
        candidate = block.strip()
        if candidate.startswith("{") and _is_object(candidate):
            return candidate
    found = _last_object(text)
    return found if found is not None else text


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _last_object(text: str) -> str | None:
    decoder = json.JSONDecoder()
    last: str | None = None
    failed = 0
    position = text.find("{")
    while position >= 0 and failed < _MAX_FAILED_DECODES:
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError:
            failed += 1
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            last = text[position:end]
        position = text.find("{", end)
    return last


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

#: Words a model writes for "the letter does not state it" in an optional field.
NULL_WORDS = frozenset(
    {"", "null", "none", "nil", "n/a", "na", "n.a.", "not applicable", "not stated", "unknown"}
)


def null_word(value: Any) -> bool:
    """Whether ``value`` is a string that means null (``""``, ``"null"``, ``"N/A"``...)."""
    return isinstance(value, str) and collapse_ws(value).lower() in NULL_WORDS


def canonical_word(value: Any, words: Sequence[str], aliases: dict[str, str] | None = None) -> Any:
    """One of ``words`` written in another case or with spaces or a full stop around it
    (``"Upheld"``, ``" OVERTURNED."``), or an alias of one (``"M"`` for male); else ``value``
    as it was (the field's check rejects it with its usual message)."""
    if not isinstance(value, str):
        return value
    key = collapse_ws(value).strip(" .").lower()
    if key in words:
        return key
    if aliases and key in aliases:
        return aliases[key]
    return value


OUTCOMES = ("upheld", "overturned")
#: What else a model writes for an item's outcome that means it for certain: the contract's
#: own definitions (Upheld: not medically necessary; Overturned: medically necessary) and the
#: decision in the words of a denial or an approval. (The outcome is then checked against the
#: item's marker in the letter, as ever.)
OUTCOME_ALIASES = {
    "not medically necessary": "upheld", "denied": "upheld", "non-certified": "upheld",
    "noncertified": "upheld", "not certified": "upheld", "denial upheld": "upheld",
    "medically necessary": "overturned", "approved": "overturned", "certified": "overturned",
    "denial overturned": "overturned",
}  # fmt: skip
#: An outcome word with a gloss after it: "Upheld (not medically necessary)", "Overturned -
#: medically necessary", "UPHELD: the request is not medically necessary".
_OUTCOME_GLOSSED = re.compile(r"(upheld|overturned)\s*(?:[(:;,-]|\s)\s*(.*?)\)?", re.DOTALL)
PRIORITIES = ("standard", "expedited")
SEXES = ("male", "female")
#: What else a model writes for the patient's sex that means it for certain.
SEX_ALIASES = {"m": "male", "f": "female", "man": "male", "woman": "female"}


def canonical_outcome(value: Any) -> Any:
    """An item's outcome from a model's words for it: the word in another case
    (:func:`canonical_word`), the word with a gloss that agrees ("Upheld (not medically
    necessary)"), or an alias (:data:`OUTCOME_ALIASES`: "denied", "medically necessary");
    else ``value`` as it was. A gloss naming the other outcome leaves the value as written."""
    word = canonical_word(value, OUTCOMES, OUTCOME_ALIASES)
    if not isinstance(word, str) or word in OUTCOMES:
        return word
    key = collapse_ws(word).strip(" .").lower()
    match = _OUTCOME_GLOSSED.fullmatch(key)
    if match is None:
        return value
    outcome, gloss = match.group(1), match.group(2).strip(" .)")
    other = OUTCOMES[1 - OUTCOMES.index(outcome)]
    if other in gloss or OUTCOME_ALIASES.get(gloss, outcome) != outcome:
        return value
    if not gloss or gloss in OUTCOME_ALIASES:
        return outcome
    if "necessary" in gloss:
        # A gloss in other words about necessity must say it as the outcome does.
        return outcome if ("not" in gloss.split()) == (outcome == "upheld") else value
    return value  # "upheld in part": not the outcome for certain


_CASE_NUMBER = re.compile(r"CM(\d{2})[-\u2010-\u2015]?(\d{7})")
#: A case number inside other words ("Case Number: CM16-0219557", "IMR CM16-0219557").
_CASE_NUMBER_INSIDE = re.compile(r"\bCM\s?(\d{2})\s?[-\u2010-\u2015]\s?(\d{7})\b")


def canonical_case_number(value: Any) -> Any:
    """``CMyy-nnnnnnn`` from the same letters and digits in another case or spacing
    (``cm16-0219557``, ``CM16 - 0219557``, ``CM16 0219557``), or the one case number written
    with words around it (``Case Number: CM16-0219557``); else ``value`` as it was."""
    if not isinstance(value, str):
        return value
    match = _CASE_NUMBER.fullmatch(re.sub(r"\s+", "", value).upper())
    if match:
        return f"CM{match.group(1)}-{match.group(2)}"
    found = {m.groups() for m in _CASE_NUMBER_INSIDE.finditer(value.upper())}
    if len(found) == 1:
        year, serial = found.pop()
        return f"CM{year}-{serial}"
    return value


_AGE = re.compile(
    r"(\d{1,3})\s*-?\s*(?:(?:years?|yrs?\.?)(?:[\s-]*old)?|y\.?\s*/?\s*o\.?)?", re.IGNORECASE
)


def canonical_age(value: Any) -> Any:
    """An age in years as a number from ``"44"``, ``"44 years"``, ``"44 yo"``,
    ``"44-year-old"`` or ``44.0``; else ``value`` as it was."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        match = _AGE.fullmatch(value.strip())
        if match:
            return int(match.group(1))
    return value


# --------------------------------------------------------------------------------------------
# States
# --------------------------------------------------------------------------------------------

#: USPS codes (:data:`~imr_llm.form.text.POSTAL_CODES`) are certain only written in capitals,
#: "SC" or "S.C.", since several are words in lower case ("in", "or", "me").
#: The traditional (GPO style manual) abbreviations, keyed without full stops or spaces in
#: lower case: "Calif.", "Calif", "N.Y.", "W. Va.". Each names one state only.
STATE_ABBREVIATIONS = {
    "ala": "Alabama", "ariz": "Arizona", "ark": "Arkansas", "cal": "California",
    "calif": "California", "colo": "Colorado", "conn": "Connecticut", "del": "Delaware",
    "fla": "Florida", "ga": "Georgia", "ill": "Illinois", "ind": "Indiana", "kan": "Kansas",
    "kans": "Kansas", "ky": "Kentucky", "la": "Louisiana", "md": "Maryland",
    "mass": "Massachusetts", "mich": "Michigan", "minn": "Minnesota", "miss": "Mississippi",
    "mo": "Missouri", "mont": "Montana", "neb": "Nebraska", "nebr": "Nebraska", "nev": "Nevada",
    "nh": "New Hampshire", "nj": "New Jersey", "nm": "New Mexico", "nmex": "New Mexico",
    "ny": "New York", "nc": "North Carolina", "nd": "North Dakota", "ndak": "North Dakota",
    "okla": "Oklahoma", "ore": "Oregon", "oreg": "Oregon", "pa": "Pennsylvania",
    "penn": "Pennsylvania", "penna": "Pennsylvania", "ri": "Rhode Island",
    "sc": "South Carolina", "sd": "South Dakota", "sdak": "South Dakota", "tenn": "Tennessee",
    "tex": "Texas", "vt": "Vermont", "va": "Virginia", "wash": "Washington",
    "wva": "West Virginia", "wis": "Wisconsin", "wisc": "Wisconsin", "wyo": "Wyoming",
    "dc": "District of Columbia",
}  # fmt: skip


def canonical_state_name(value: Any) -> Any:
    """The state's full name from its postal code (``"SC"``, ``"N.Y."``) or a traditional
    abbreviation (``"Calif."``, ``"Calif"``, ``"W. Va."``); else ``value`` as it was (full
    names, in any case or through OCR damage, are read later by the answer's own check)."""
    if not isinstance(value, str):
        return value
    written = collapse_ws(value)
    key = re.sub(r"[.\s]", "", written)
    if not key.isalpha():
        return value
    if key.isupper() and key in POSTAL_CODES:
        return POSTAL_CODES[key]
    if len(key) == 2 and "." not in written:
        return value  # "in", "Or", "Me": words, not certainly states
    return STATE_ABBREVIATIONS.get(key.lower(), value)


#: What may stand between two names a model joined into one string: a list's marks, and for
#: states "and" (no state's name holds it; a specialty's may: "Allergy and Immunology").
_LIST_MARKS = re.compile(r"\s*(?:[,;/]\s*(?:and\s+|&\s*)?)")
_MAY_JOIN = re.compile(r"[,;/&]|\band\b")
_STATE_JOINS = re.compile(r"\s*(?:[,;/&]|\band\b|,\s*and\b)\s*")


def split_names(
    values: list[Any], read: Callable[[str], NameList], joins: re.Pattern[str] = _LIST_MARKS
) -> list[Any]:
    """``values`` with each string that holds several names joined into one ("California,
    Arizona", "Family Practice; Sports Medicine") split into them, in the model's words.

    A string is split only where ``read`` (the letter's own name reader: states or
    specialties) reads it whole as two names or more, each exactly, with nothing between them
    but ``joins``; a name that holds a comma ("Endocrinology, Diabetes and Metabolism") reads
    as one and stays whole. Anything else is left as written, for the field's check.
    """
    out: list[Any] = []
    for value in values:
        if not isinstance(value, str) or not _MAY_JOIN.search(value):
            out.append(value)
            continue
        names = read(value)
        readings = names.readings
        if len(readings) < 2 or names.unread or not all(r.exact for r in readings):
            out.append(value)
            continue
        gaps = [value[a.end : b.start] for a, b in zip(readings, readings[1:], strict=False)]
        edges = value[: readings[0].start] + value[readings[-1].end :]
        if edges.strip(" .;,") or not all(joins.fullmatch(gap) for gap in gaps):
            out.append(value)
            continue
        out += [value[r.start : r.end] for r in readings]
    return out


def _name_list(value: Any) -> Any:
    """A list field's value: a string is a list of one (split later), a null word none."""
    if value is None or null_word(value):
        return []
    return [value] if isinstance(value, str) else value


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_YMD = re.compile(r"(\d{4})([/.])(\d{1,2})\2(\d{1,2})")
_NUMERIC = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")
_NUMERIC_SHORT = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{2})")
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_MONTH_FIRST = re.compile(
    _WEEKDAY + r"([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{2}|\d{4})", re.IGNORECASE
)
_DAY_FIRST = re.compile(
    _WEEKDAY + r"(\d{1,2})(?:st|nd|rd|th)?[\s-]+([a-z]+)\.?,?[\s-]+(\d{2}|\d{4})", re.IGNORECASE
)

DATE_FORM = "YYYY-MM-DD"


class AmbiguousDateError(ValueError):
    """A date whose meaning is not certain (a two-digit year); the message says what to write."""


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _two_digit_year(value: str) -> AmbiguousDateError:
    return AmbiguousDateError(
        f"{value!r} has a two-digit year; write the date as {DATE_FORM} with the year's four digits"
    )


def read_answer_date(value: str) -> dt.date | None:
    """The date a model wrote in any unambiguous form, or None for a text that is not one.

    ISO (with or without a time: ``2016-11-14T00:00:00``), ``2016/11/14``, month first with
    slashes, dashes or dots as US letters write it (``03/04/2016`` is March 4; ``14/11/2016``,
    whose first number cannot be a month, is November 14), and a month's name or its short form
    before or after the day (``November 14, 2016``, ``Nov. 14 2016``, ``14 Nov 2016``, with a
    weekday before). A two-digit year raises :class:`AmbiguousDateError`.
    """
    text = collapse_ws(value)
    if m := _ISO.fullmatch(text):
        return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _YMD.fullmatch(text):
        return _date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
    if m := _NUMERIC.fullmatch(text):
        first, second, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if first > 12 >= second:
            return _date(year, second, first)  # the first number cannot be a month
        return _date(year, first, second)
    if _NUMERIC_SHORT.fullmatch(text):
        raise _two_digit_year(value)
    for pattern, month_group, day_group in ((_MONTH_FIRST, 1, 2), (_DAY_FIRST, 2, 1)):
        m = pattern.fullmatch(text)
        if m is None:
            continue
        month = MONTHS.get(m.group(month_group).lower())
        if month is None:
            continue
        if len(m.group(3)) == 2:
            raise _two_digit_year(value)
        return _date(int(m.group(3)), month, int(m.group(day_group)))
    return None


def answer_date(value: Any) -> dt.date | None:
    """A date field's value as a date: null words are null, any unambiguous written form is
    read (:func:`read_answer_date`); anything else is an error saying which form to use."""
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if null_word(value):
        return None
    if isinstance(value, str):
        day = read_answer_date(value)
        if day is not None:
            return day
        raise ValueError(f"{value!r} is not a date; write it as {DATE_FORM}")
    raise ValueError(f"write the date as a string {DATE_FORM}, not {type(value).__name__}")


# --------------------------------------------------------------------------------------------
# The whole answer
# --------------------------------------------------------------------------------------------

#: The answer's fields (:class:`imr_llm.llm.answer.LetterAnswer`, ``ItemAnswer``; a test holds
#: them equal), as a model may spell their keys otherwise.
ANSWER_FIELDS: tuple[str, ...] = (
    "case_number", "date_assigned", "date_of_injury", "decision_date", "ur_denial_date",
    "application_received", "priority", "licensure_states", "specialties", "patient_age",
    "patient_sex", "items",
)  # fmt: skip
ITEM_FIELDS: tuple[str, ...] = (
    "service", "original_request", "outcome", "claims_administrator_guideline",
    "maximus_guideline", "rationale",
)  # fmt: skip
#: The record contract's nesting of answer fields ("patient": {"age": 44, "sex": "male"}),
#: which a model that has seen the record may write: the nested key, its fields and theirs.
_NESTED = {
    "patient": {"age": "patient_age", "sex": "patient_sex"},
    "reviewer": {"licensure_states": "licensure_states", "specialties": "specialties"},
}
_ITEM_OPTIONAL = ("original_request", "claims_administrator_guideline", "maximus_guideline")
#: Separators a model leaves on a name it split out of a list ("Family Practice;").
_SEPARATORS = " \t\n;,"
#: A board certification said around a specialty's name ("Board Certified in Family
#: Practice", "Family Practice (board-certified)"), as the 2013 notice words it.
_BOARD_CERTIFIED = re.compile(
    r"^(?:american\s+)?board[-\s]certified\s+(?:in\s+)?|\s*\(board[-\s]certified\)$",
    re.IGNORECASE,
)


def normalise_answer(
    data: Any,
    places: Sequence[ItemPlace] | None = None,
    on_reorder: Callable[[list[int]], None] | None = None,
) -> Any:
    """A copy of a raw answer (the parsed JSON object) with each value in its canonical form.

    ``places`` are the letter's item places: with them, items listed in another order than the
    letter's are put in its order when each names its own item
    (:func:`imr_llm.evidence.items.letter_order`), and ``on_reorder`` is told the answer's indices
    in letter order. Dates are left to :func:`answer_date` (the date fields' own validator, so a
    two-digit year is an error at its field). Anything not an object is returned as it is, for the
    answer model to reject.
    """
    if not isinstance(data, dict):
        return data
    out = dict(_unnested(_canonical_keys(_unwrapped(data), ANSWER_FIELDS)))
    for name in ("case_number", "priority", "patient_sex", "patient_age"):
        if name in out and null_word(out[name]):
            out[name] = None
    if "case_number" in out:
        out["case_number"] = canonical_case_number(out["case_number"])
    if "priority" in out:
        out["priority"] = canonical_word(out["priority"], PRIORITIES)
    if "patient_sex" in out:
        out["patient_sex"] = canonical_word(out["patient_sex"], SEXES, SEX_ALIASES)
    if "patient_age" in out:
        out["patient_age"] = canonical_age(out["patient_age"])
    for name in ("licensure_states", "specialties"):
        if name in out:
            out[name] = _name_list(out[name])
    if isinstance(out.get("licensure_states"), list):
        states = split_names(out["licensure_states"], read_states, _STATE_JOINS)
        out["licensure_states"] = [canonical_state_name(s) for s in states]
    if isinstance(out.get("specialties"), list):
        specialties = [_BOARD_CERTIFIED.sub("", s.strip(_SEPARATORS)) if isinstance(s, str)
                       else s for s in out["specialties"]]  # fmt: skip
        out["specialties"] = split_names(specialties, read_specialties)
    if isinstance(out.get("items"), list):
        items = [_normalise_item(item) for item in out["items"]]
        order = _letter_order(items, places)
        if order is not None:
            items = [items[k] for k in order]
            if on_reorder is not None:
                on_reorder(order)
        out["items"] = items
    return out


def _key(name: str) -> str:
    """A key as compared with the fields' names: "caseNumber", "Case Number", "case-number"
    and "case_number" alike."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _canonical_keys(data: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``data`` with each key that is a field's name in another case or spelling
    ("caseNumber", "Patient Age") under the field's own; a key the field already has, or that
    names no field, stays as written (for the schema to judge)."""
    if all(key in fields for key in data):
        return data  # the common case
    names = {_key(field): field for field in fields}
    out = {key: value for key, value in data.items() if key in fields}
    for key, value in data.items():
        field = names.get(_key(key)) if key not in fields else None
        if field is not None and field not in data and field not in out:
            out[field] = value
        elif key not in fields:
            out[key] = value
    return out


def _unnested(data: dict[str, Any]) -> dict[str, Any]:
    """The record contract's "patient" and "reviewer" objects as the answer's own fields,
    where the answer gives none of them and the object holds nothing else."""
    out = data
    for outer, inner in _NESTED.items():
        value = out.get(outer)
        if not isinstance(value, dict) or any(field in out for field in inner.values()):
            continue
        value = _canonical_keys(value, tuple(inner))
        if not set(value) <= set(inner):
            continue
        out = {key: v for key, v in out.items() if key != outer}
        out.update({inner[key]: v for key, v in value.items()})
    return out


def _unwrapped(data: dict[str, Any]) -> dict[str, Any]:
    """The answer inside a one-key wrapper ({"record": {...}}, {"determination": {...}}):
    the wrapper names no field, and the object inside names two or more."""
    if len(data) != 1:
        return data
    ((key, inner),) = data.items()
    if not isinstance(inner, dict) or _key(key) in {_key(f) for f in ANSWER_FIELDS}:
        return data
    named = {_key(f) for f in ANSWER_FIELDS} | set(_NESTED)
    return inner if sum(_key(k) in named for k in inner) >= 2 else data


def _normalise_item(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    out = dict(_canonical_keys(item, ITEM_FIELDS))
    for name in _ITEM_OPTIONAL:
        if null_word(out.get(name)):
            out[name] = None
    if "outcome" in out:
        out["outcome"] = canonical_outcome(out["outcome"])
    service, outcome = out.get("service"), out.get("outcome")
    if isinstance(service, str) and outcome in OUTCOMES:
        # The item's header line copied whole, its marker with it: "MRI of the knee: Upheld".
        match = _SERVICE_MARKER.search(service)
        if match and match.group(1).lower() == outcome and match.start() > 0:
            out["service"] = service[: match.start()]
    return out


#: An outcome marker at a service's end, as the letter prints it after the service.
_SERVICE_MARKER = re.compile(r"\s*:\s*(upheld|overturned)\.?\s*$", re.IGNORECASE)


def _letter_order(items: list[Any], places: Sequence[ItemPlace] | None) -> list[int] | None:
    if not places or len(items) < 2:
        return None
    if not all(isinstance(i, dict) and isinstance(i.get("service"), str) for i in items):
        return None
    return letter_order([i["service"] for i in items], list(places))
