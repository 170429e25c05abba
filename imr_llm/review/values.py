"""The record as the review page shows it: each value with its evidence, place and gold value.

An analyst checks a record value by value, so each value becomes a row: its label and colour
(the same as its highlight in the letter), the value as the letter writes it (dates as
MM/DD/YYYY; a null says what null means for that field), its evidence status as a badge, where
its span starts (page and line), the evidence note when it explains a flag, and, against a gold
label (the eval harness), the gold value beside a wrong one. Rows are grouped as the contract
is: header, reviewer, patient, then one box per item. Nothing here writes markup: the template
draws the rows and escapes every text in them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..record.models import DeterminationRecord
from .fields import (
    DATE_FIELDS,
    FIELD_LABELS,
    HEADER_FIELDS,
    ITEM_FIELDS,
    LONG_FIELDS,
    colour_class,
    field_key,
    label,
)
from .letter import LetterView, get

#: The evidence statuses, each with its badge's icon (also the order of the page's tally).
STATUS_ICON = {"exact": "\u2713", "repaired": "\u270e", "unverified": "\u26a0"}
OUTCOME_MEANING = {"upheld": "not medically necessary", "overturned": "medically necessary"}


@dataclass(frozen=True, slots=True)
class Shown:
    """A text as the page writes it, and how it is dressed: ``null`` (greyed, in words: a value
    the record does not have), a tooltip, and a greyed remark after it."""

    text: str
    null: bool = False
    title: str | None = None
    aside: str | None = None


def _date_words(value: str) -> str:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return ""
    return f"{day.month:02d}/{day.day:02d}/{day.year}"


def shown_value(key: str, value: Any) -> Shown:
    """A value as the page shows it; nulls say what null means for that field."""
    if value is None or value == []:
        if key == "items.claims_administrator_guideline":
            return Shown("none cited", null=True)
        if key == "items.original_request":
            return Shown("none (not a partly certified request)", null=True)
        return Shown("not stated", null=True)
    if key in DATE_FIELDS and isinstance(value, str):
        # As the letter writes it (MM/DD/YYYY), to compare at a glance; the record's ISO form
        # is the tooltip.
        us = _date_words(value)
        return Shown(us, title=value) if us else Shown(value)
    if key == "items.outcome":
        return Shown(str(value).capitalize(), aside=OUTCOME_MEANING.get(str(value)))
    if key in ("priority", "patient.sex"):
        return Shown(str(value).capitalize())
    if isinstance(value, list):
        return Shown(", ".join(str(v) for v in value))
    return Shown(str(value))


# --------------------------------------------------------------------------------------------
# Values and what gold says of them
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One value of the record, before it is drawn."""

    path: str
    key: str
    value: Any
    gold: Any = None
    wrong: bool = False
    gold_note: str | None = None  # shown instead of a gold value (a list element, no item)
    label: str | None = None
    #: A gold value the record lacks: no evidence of its own, shown as missing.
    missing: bool = False


class Gold:
    """What the gold label says about each value (the eval harness); nothing without gold."""

    def __init__(self, data: dict[str, Any], gold: Mapping[str, Any] | None) -> None:
        self.data = gold
        #: What is wrong, one label per value ("Decision date", "Item 2: rationale").
        self.wrong: list[str] = []
        self.item_match: dict[int, int] = {}
        self.missing_items: list[dict[str, Any]] = []
        if gold is None:
            return
        from ..eval.scoring import align_items  # the eval's own matching: numpy, scipy

        got_items = data.get("items") or []
        want_items = list(gold.get("items") or [])
        self.item_match = {r: c for r, c, _ in align_items(got_items, want_items)}
        matched = set(self.item_match.values())
        self.missing_items = [w for c, w in enumerate(want_items) if c not in matched]

    def scalar(self, row: Row, want: Any) -> None:
        if self.data is None:
            return
        if row.value != want:
            row.wrong, row.gold = True, want
            self.wrong.append(label(row.path))

    def element(self, row: Row, wanted: list[str]) -> None:
        from ..form.text import squash

        if self.data is None:
            return
        if squash(str(row.value)) not in {squash(w) for w in wanted}:
            row.wrong = True
            row.gold_note = "not in gold" + (
                f" (gold: {', '.join(wanted)})" if wanted else " (gold: none)"
            )
            self.wrong.append(f"{label(row.path)} {row.value}")

    def item_field(self, row: Row, k: int, name: str) -> None:
        from ..eval.scoring import TEXT_MATCH, text_similarity

        if self.data is None:
            return
        c = self.item_match.get(k)
        if c is None:
            row.wrong, row.gold_note = True, "no gold item matches this item"
            self.wrong.append(label(row.path))
            return
        want = self.data["items"][c].get(name)
        if name == "outcome":
            right = row.value == want
        else:
            right = text_similarity(row.value, want) >= TEXT_MATCH
        if not right:
            row.wrong, row.gold = True, want
            self.wrong.append(label(row.path))


def gold_dict(gold: Mapping[str, Any] | DeterminationRecord | None) -> Mapping[str, Any] | None:
    """A gold label in the contract's JSON shape, whichever way it was given."""
    if gold is None:
        return None
    if isinstance(gold, DeterminationRecord):
        return gold.contract_dict()
    return gold


def _gold_part(gold: Mapping[str, Any], path: str) -> Any:
    head, _, tail = path.partition(".")
    value = gold.get(head)
    return value.get(tail) if tail and isinstance(value, Mapping) else value


def _squash(value: str) -> str:
    from ..form.text import squash

    return squash(value)


def _groups(
    data: dict[str, Any], evidence: Mapping[str, Any], judge: Gold
) -> list[tuple[str, str, list[Row]]]:
    """(group id, title, rows) for header, reviewer, patient; items come apart."""
    header: list[Row] = []
    for name in HEADER_FIELDS:
        row = Row(name, name, data.get(name))
        if judge.data is not None:
            judge.scalar(row, judge.data.get(name))
        header.append(row)
    reviewer: list[Row] = []
    for name in ("licensure_states", "specialties"):
        base = f"reviewer.{name}"
        values = (data.get("reviewer") or {}).get(name) or []
        wanted = list(_gold_part(judge.data, base) or []) if judge.data is not None else []
        for k, value in enumerate(values):
            row = Row(f"{base}[{k}]", base, value)
            judge.element(row, wanted)
            reviewer.append(row)
        if not values or base in evidence:
            text = None if not values else f"{FIELD_LABELS[base]}s (the list)"
            row = Row(base, base, [] if not values else values, label=text)
            if not values and judge.data is not None:
                judge.scalar(row, wanted)
            reviewer.append(row)
        if judge.data is not None and values:
            have = {_squash(v) for v in values}
            for want in wanted:
                if _squash(want) not in have:
                    judge.wrong.append(f"{FIELD_LABELS[base]} {want} missing")
                    reviewer.append(
                        Row(base, base, None, gold=want, wrong=True, missing=True,
                            label=f"{FIELD_LABELS[base]} missing from the record")
                    )  # fmt: skip
    patient: list[Row] = []
    for name in ("age", "sex"):
        path = f"patient.{name}"
        row = Row(path, path, (data.get("patient") or {}).get(name))
        if judge.data is not None:
            judge.scalar(row, _gold_part(judge.data, path))
        patient.append(row)
    return [("header", "Header", header), ("reviewer", "Reviewer", reviewer),
            ("patient", "Patient", patient)]  # fmt: skip


def _item_rows(
    data: dict[str, Any], evidence: Mapping[str, Any], judge: Gold
) -> list[tuple[int, dict[str, Any], list[Row]]]:
    out = []
    for k, item in enumerate(data.get("items") or []):
        rows: list[Row] = []
        for name in ITEM_FIELDS:
            path = f"items[{k}].{name}"
            value = item.get(name)
            row = Row(path, f"items.{name}", value, label=FIELD_LABELS[f"items.{name}"])
            judge.item_field(row, k, name)
            if name == "original_request" and value is None and path not in evidence:
                if not row.wrong:
                    continue  # a whole request: nothing to show
            rows.append(row)
        out.append((k, item, rows))
    return out


# --------------------------------------------------------------------------------------------
# The rows as drawn
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Badge:
    """A badge: its kind (its CSS class is ``b-<kind>``) and its text; kind ``slot`` is the
    empty place of a row with neither a value nor evidence."""

    kind: str
    text: str = ""


def badge(status: Any) -> Badge:
    """An evidence status's badge (``no evidence`` for a status the page does not know)."""
    if status in STATUS_ICON:
        return Badge(status, f"{STATUS_ICON[status]} {status}")
    return Badge("none", "no evidence")


_MISSING = Badge("wrong", "missing")
_SLOT = Badge("slot")


@dataclass(frozen=True, slots=True)
class RowView:
    """A value's row as the template draws it."""

    #: Set when the row links to its span (the script selects both): its evidence path.
    path: str | None
    label: str
    classes: str
    colour: str
    #: The evidence status (``data-status``, which the script's "Next to check" reads).
    status: str | None
    #: The evidence note, the row's tooltip.
    tooltip: str | None
    value: Shown
    #: The evidence status's badge; ``missing`` for a gold value the record lacks.
    badge: Badge
    #: (page, line) where the span starts.
    place: tuple[int, int] | None
    #: Why there is no place, when the value has evidence ("no place found").
    place_off: str | None
    #: The gold value (or what gold says) beside a wrong value.
    gold: Shown | None
    #: The note shown under the value: why it is repaired or unverified, what a null means.
    note: str | None


def row_view(row: Row, evidence: Mapping[str, Any], letter: LetterView, text_len: int) -> RowView:
    """A value's row: its evidence read defensively (a record from an older run), linked to its
    span only when the span lies inside this text (a record drawn beside another text says so
    instead of pointing somewhere wrong)."""
    ev = None if row.missing else evidence.get(row.path)
    status = get(ev, "status")
    span = get(ev, "span")
    note = get(ev, "note")
    start, end = get(span, "start"), get(span, "end")
    placed = isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= text_len
    where = letter.where.get(row.path) if placed else None
    key = row.key
    classes = ["val"]
    if key in LONG_FIELDS or len(str(row.value or "")) > 64:
        classes.append("long")
    if row.value is None or row.value == []:
        classes.append("empty")
    if row.wrong:
        classes.append("wrong")
    linked = placed and where is not None
    if linked:
        classes.append("linked")
    place_off = None
    if where is None:
        if span is not None and not placed:
            place_off = "span outside this text"
        elif ev is not None:
            place_off = "no place found"
    if row.missing:
        shown_badge, value = _MISSING, Shown("not in the record", null=True)
    else:
        has_any = ev is not None or row.value not in (None, [])
        shown_badge, value = badge(status) if has_any else _SLOT, shown_value(key, row.value)
    gold = None
    if row.wrong:
        gold = Shown(row.gold_note) if row.gold_note is not None else shown_value(key, row.gold)
    # An exact value's note says only "at its label": kept as a tooltip. Shown: why a value is
    # repaired or unverified, and what a checked null means ("the letter says none was cited").
    shown_note = note and (status != "exact" or row.value is None)
    return RowView(
        path=row.path if linked else None,
        label=row.label or label(row.path),
        classes=" ".join(classes),
        colour=colour_class(key),
        status=status or None,
        tooltip=note or None,
        value=value,
        badge=shown_badge,
        place=where,
        place_off=place_off,
        gold=gold,
        note=note if shown_note else None,
    )


@dataclass(frozen=True, slots=True)
class GroupView:
    id: str
    title: str
    rows: list[RowView]
    #: The patient's diagnoses (from the summary; no evidence of their own).
    diagnoses: str | None = None


@dataclass(frozen=True, slots=True)
class ItemView:
    number: int
    #: The outcome as the record has it (its chip's class), as the page writes it, and what it
    #: means ("medically necessary").
    outcome: str
    outcome_text: str
    meaning: str
    rows: list[RowView]
    #: The item's own evidence status, when it has one.
    badge: Badge | None


@dataclass(frozen=True, slots=True)
class MissingItemView:
    """A gold item no item of the record matches."""

    service: str
    outcome: Shown


@dataclass
class RecordView:
    """The record side of the page, and what the banners need to know of it."""

    groups: list[GroupView]
    items: list[ItemView]
    missing_items: list[MissingItemView]
    #: Evidence for paths no row shows.
    other: list[RowView]
    #: Whether a gold label was given, and what is wrong against it.
    gold_checked: bool
    wrong: list[str]


def record_view(
    record: DeterminationRecord,
    evidence: Mapping[str, Any],
    letter: LetterView,
    text_len: int,
    gold: Mapping[str, Any] | DeterminationRecord | None,
) -> RecordView:
    """The record's rows, grouped, checked against ``gold`` when there is one."""
    data = record.model_dump(mode="json", exclude={"metadata"})
    judge = Gold(data, gold_dict(gold))
    groups = _groups(data, evidence, judge)
    items = _item_rows(data, evidence, judge)
    shown_paths: set[str] = set()
    group_views: list[GroupView] = []
    for gid, title, rows in groups:
        shown_paths.update(r.path for r in rows)
        diagnoses = data.get("diagnoses") if gid == "patient" else None
        views = [row_view(r, evidence, letter, text_len) for r in rows]
        group_views.append(
            GroupView(gid, title, views, "; ".join(diagnoses) if diagnoses else None)
        )
    item_views: list[ItemView] = []
    for k, item, rows in items:
        shown_paths.update(r.path for r in rows)
        status = get(evidence.get(f"items[{k}]"), "status")
        outcome = str(item.get("outcome") or "")
        item_views.append(
            ItemView(
                k + 1,
                outcome,
                outcome.capitalize(),
                OUTCOME_MEANING.get(outcome, ""),
                [row_view(r, evidence, letter, text_len) for r in rows],
                badge(status) if status else None,
            )
        )
    missing = [
        MissingItemView(str(w.get("service") or ""), shown_value("items.outcome", w.get("outcome")))
        for w in judge.missing_items
    ]
    judge.wrong.extend("a gold item missing" for _ in missing)
    other = [
        row_view(Row(p, field_key(p), None, label=p), evidence, letter, text_len)
        for p in evidence
        if p not in shown_paths
    ]
    return RecordView(group_views, item_views, missing, other, judge.data is not None, judge.wrong)
