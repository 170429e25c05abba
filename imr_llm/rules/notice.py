"""Read a 2013 notice's values from their places (:mod:`imr_llm.form.notice2013`).

The same readers as for the 2016 form turn places into values (dates, the reviewer sentence,
the case summary); what differs is what a missing value means. The notice always states its
four dates and the reviewer, so one that cannot be read is left null and the evidence stage
flags the record for review (:attr:`~imr_llm.form.LetterForm.expected`) rather than failing the
whole letter. An item's guidelines are read where its own section has them and are null
otherwise; its rationale is required by the record, so an item without one is missing and the
engine raises :class:`~imr_llm.errors.IncompleteLetterError` (the cascade asks the model).
"""

from __future__ import annotations

from ..form import LetterForm
from ..form.items import ItemPlace, marker_inside, says_no_evidence
from ..form.reading import read_case_number, read_date, read_priority
from ..form.text import collapse_ws
from .findings import Findings
from .reviewer import read_reviewer
from .summary import read_summary

_DATES = ("decision_date", "application_received", "ur_denial_date", "date_assigned")


def read_notice(form: LetterForm) -> Findings:
    """Every contract value of a 2013 notice; what the record cannot do without is missing."""
    out = Findings()
    places = form.header.places
    for name in _DATES:
        place = places.get(name)
        reading = read_date(place.text) if place is not None else None
        if place is not None and reading is not None:
            out.put(name, reading.value, (place.start + reading.start, place.start + reading.end))
    place = places.get("case_number")
    case = read_case_number(place.text) if place is not None else None
    if place is not None and case is not None:
        out.put("case_number", case.value, place.span)
    place = places.get("priority")
    priority = read_priority(place.text) if place is not None else None
    if place is not None and priority is not None:
        out.put("priority", priority.value, place.span)

    out.merge(read_reviewer(form.credentials))  # an unread list: null, flagged for review
    if form.sections.summary:
        out.merge(read_summary(form.doc, *form.sections.summary, want_injury_date=True))

    if form.items is None or not form.items.items:
        out.missing.append("items (the notice's numbered determinations)")
        return out
    if form.items.rationale_labels > len(form.items.items):
        out.missing.append(
            f"items (found {form.items.rationale_labels} rationales but only "
            f"{len(form.items.items)} readable determinations)"
        )
    values = []
    for k, place in enumerate(form.items.items):
        item, spans, missing = _read_item(place)
        values.append(item)
        for key, span in spans.items():
            out.spans[f"items[{k}].{key}"] = span
        out.missing.extend(f"items[{k}].{m}" for m in missing)
    out.values["items"] = values
    return out


def _read_item(place: ItemPlace) -> tuple[dict, dict[str, tuple[int, int]], list[str]]:
    spans = {"service": place.header.span, "outcome": place.outcome_place.span}
    missing: list[str] = []
    service = place.header_text or None
    if service is None:
        missing.append("service")
    elif marker_inside(service):
        missing.append("service (another item's outcome inside its determination)")
    if place.outcome is None:
        missing.append("outcome")
    lost = getattr(place, "lost", ())
    missing.extend(f"{name} (its label is unreadable)" for name in lost)
    values: dict[str, str | None] = {}
    for name, passage in place.passages.items():
        if passage is None:
            values[name] = None
            continue
        values[name] = collapse_ws(passage.text) or None
        spans[name] = passage.span
    if not values.get("rationale") and "rationale" not in lost:
        missing.append("rationale (the notice has no readable rationale for this item)")
    ca = values.get("claims_administrator_guideline")
    item = {
        "service": service,
        "original_request": None,
        "outcome": place.outcome.value if place.outcome else None,
        "claims_administrator_guideline": None if ca and says_no_evidence(ca) else ca,
        "maximus_guideline": values.get("maximus_guideline"),
        "rationale": values.get("rationale"),
    }
    return item, spans, missing
