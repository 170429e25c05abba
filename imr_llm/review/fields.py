"""What the review page calls each field and which colour it has.

Shared by both halves of the page: a highlight in the letter and its value in the record carry
the same label and colour, so a reader matches them at a glance.
"""

from __future__ import annotations

import re

from ..record.models import CONTRACT_FIELDS

#: Each field's label on the page, keyed by its path with indices dropped.
FIELD_LABELS: dict[str, str] = {
    "case_number": "Case number",
    "date_assigned": "Date assigned",
    "date_of_injury": "Date of injury",
    "decision_date": "Decision date",
    "ur_denial_date": "UR denial date",
    "application_received": "Application received",
    "priority": "Priority",
    "reviewer.licensure_states": "Licensure state",
    "reviewer.specialties": "Specialty",
    "patient.age": "Age",
    "patient.sex": "Sex",
    "items.service": "Service",
    "items.original_request": "Original request",
    "items.outcome": "Outcome",
    "items.claims_administrator_guideline": "Claims administrator guideline",
    "items.maximus_guideline": "MAXIMUS guideline",
    "items.rationale": "Decision rationale",
}

#: Each field's colour (its highlight is a light tint of it). Neighbours on the page differ in
#: hue; long passages (guidelines, rationale) get the softest tints so the text stays readable.
FIELD_COLOURS: dict[str, str] = {
    "case_number": "#3b5bdb",
    "date_assigned": "#0c8599",
    "date_of_injury": "#e8590c",
    "decision_date": "#2b8a3e",
    "ur_denial_date": "#ae3ec9",
    "application_received": "#b08800",
    "priority": "#66a80f",
    "reviewer.licensure_states": "#1c7ed6",
    "reviewer.specialties": "#7048e8",
    "patient.age": "#d6336c",
    "patient.sex": "#f76707",
    "items.service": "#1971c2",
    "items.original_request": "#5f3dc4",
    "items.outcome": "#2f9e44",
    "items.claims_administrator_guideline": "#868e96",
    "items.maximus_guideline": "#0b9fb8",
    "items.rationale": "#e0a800",
}
#: The colour of evidence for a path the page has no field for.
OTHER_COLOUR = "#868e96"
#: Tint (alpha, hex) of a highlight: stronger for short values, softer for long passages.
_TINT = {
    "items.rationale": "40",
    "items.maximus_guideline": "2a",
    "items.claims_administrator_guideline": "2a",
}
_DEFAULT_TINT = "33"

HEADER_FIELDS = tuple(f for f in CONTRACT_FIELDS if f not in ("reviewer", "patient", "items"))
ITEM_FIELDS = (
    "service",
    "original_request",
    "outcome",
    "claims_administrator_guideline",
    "maximus_guideline",
    "rationale",
)
LONG_FIELDS = frozenset({"items.claims_administrator_guideline", "items.maximus_guideline",
                         "items.rationale"})  # fmt: skip
DATE_FIELDS = frozenset(f for f in HEADER_FIELDS if f.startswith("date_") or f.endswith(
    ("_date", "_received")))  # fmt: skip
_INDEX = re.compile(r"\[\d+\]")


def field_key(path: str) -> str:
    """The field of a path, indices dropped: ``items[2].rationale`` -> ``items.rationale``."""
    return _INDEX.sub("", path)


def label(path: str) -> str:
    """A value's label on the page: ``items[1].rationale`` -> ``Item 2: decision rationale``."""
    key = field_key(path)
    text = FIELD_LABELS.get(key, path)
    m = re.match(r"items\[(\d+)\]", path)
    if m and key.startswith("items."):
        text = f"Item {int(m.group(1)) + 1}: {text.lower() if text[0] != 'M' else text}"
    return text


def colour_class(key: str) -> str:
    """The CSS class that gives a field its colour (``c0``...; ``cx`` for any other path)."""
    keys = list(FIELD_COLOURS)
    return f"c{keys.index(key)}" if key in FIELD_COLOURS else "cx"


def colour_rules() -> list[tuple[str, str, str]]:
    """(class, colour, tint) for each field's colour class, then the one for other paths: the
    page's stylesheet sets each class's colour, tint and selected shade from them."""
    rules = [
        (f"c{i}", colour, _TINT.get(key, _DEFAULT_TINT))
        for i, (key, colour) in enumerate(FIELD_COLOURS.items())
    ]
    return [*rules, ("cx", OTHER_COLOUR, _DEFAULT_TINT)]
