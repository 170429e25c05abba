"""Read the disputed items' values from their places: service, outcome, guidelines, rationale.

Where each item sits (its header, outcome marker and labelled passages) is the letter form's
knowledge (:mod:`imr_llm.form.items`); this step only turns those places into values, and lists
what it could not read so the engine never returns a guess.
"""

from __future__ import annotations

from ..form.items import (
    ItemPlace,
    ItemsForm,
    marker_inside,
    says_no_evidence,
    split_partial_request,
)
from ..form.text import collapse_ws
from .findings import Findings


def read_items(form: ItemsForm) -> Findings:
    """Read every disputed item of the items section."""
    out = Findings()
    items = [place for place in form.items if place.header_text or place.outcome]
    if not items:
        out.missing.append("items")
        return out
    if form.rationale_labels > len(items):
        out.missing.append(
            f"items (found {form.rationale_labels} decision rationales but only {len(items)} "
            "readable item headers with an outcome)"
        )
    values: list[dict] = []
    for k, place in enumerate(items):
        item, spans, missing = _read_item(place)
        values.append(item)
        for key, span in spans.items():
            out.spans[f"items[{k}].{key}"] = span
        out.missing.extend(f"items[{k}].{m}" for m in missing)
    out.values["items"] = values
    return out


def _read_item(
    place: ItemPlace,
) -> tuple[dict, dict[str, tuple[int, int]], list[str]]:
    spans: dict[str, tuple[int, int]] = {}
    missing: list[str] = []
    header = place.header_text
    if marker_inside(header):
        missing.append("service (another item's outcome marker inside its header)")
    service: str | None = header
    original_request = None
    try:
        partial = split_partial_request(header)
    except ValueError:
        partial, service = None, None
        missing.append("service (a partly certified request worded in a way not read)")
    if partial:
        original_request, service = partial.original_request, partial.service
    if service:
        spans["service"] = place.header.span
    elif partial is None and "service" not in " ".join(missing):
        missing.append("service")
    if place.outcome is None:
        missing.append("outcome")
    spans["outcome"] = place.outcome_place.span

    values: dict[str, str | None] = {}
    for name, passage in place.passages.items():
        if passage is None:
            missing.append(name)
            continue
        values[name] = collapse_ws(passage.text) or None
        spans[name] = passage.span
    if "rationale" in values and not values["rationale"]:
        missing.append("rationale")
    ca = values.get("claims_administrator_guideline")
    if ca and says_no_evidence(ca):
        ca = None
    item = {
        "service": service,
        "original_request": original_request,
        "outcome": place.outcome.value if place.outcome else None,
        "claims_administrator_guideline": ca,
        "maximus_guideline": values.get("maximus_guideline"),
        "rationale": values.get("rationale"),
    }
    return item, spans, missing
