"""Read the header's values from their places: case number, dates and priority.

Where each value sits (beside its label, or paired by position when plain pdftotext prints
labels and values apart) is the letter form's knowledge (:mod:`imr_llm.form.header`); OCR
damage in each value is read through by :mod:`imr_llm.form.reading`.
"""

from __future__ import annotations

from ..form.header import DATE_FIELDS, HeaderForm
from ..form.reading import read_case_number, read_date, read_priority
from .findings import Findings


def read_header(form: HeaderForm) -> Findings:
    """Read the header's values from their places; a headerless letter has none, and a value
    whose place or label is there but does not read is ``unread`` (null in the record, which
    needs review)."""
    out = Findings()
    if not form.present:
        return out
    place = form.places.get("case_number")
    case = read_case_number(place.text) if place else None
    if case is None:
        # A label OCR destroyed: the case number has a form no other header value has.
        case = read_case_number(form.text, prefixed=True)
        if case is not None:
            out.put("case_number", case.value, (form.start + case.start, form.start + case.end))
        elif place is not None:
            out.unread.append("case_number")
    else:
        out.put("case_number", case.value, (place.start + case.start, place.start + case.end))
    for name in DATE_FIELDS:
        place = form.places.get(name)
        if place is None:
            if name in form.labels:
                out.unread.append(name)
            continue
        reading = read_date(place.text)
        if reading is None:
            out.unread.append(name)
        else:
            out.put(name, reading.value, (place.start + reading.start, place.start + reading.end))
    place = form.places.get("priority")
    priority = read_priority(place.text) if place else read_priority(form.text)
    if priority is not None:
        base = place.start if place else form.start
        out.put("priority", priority.value, (base + priority.start, base + priority.end))
    elif "priority" in form.labels:
        out.unread.append("priority")
    return out
