"""Read the expert reviewer's licensure states and specialties from their places.

Both lists are read through their closed vocabularies (:mod:`imr_llm.form.vocabulary`), the
same reading the evidence stage checks them with. What reads as no known name is never
dropped: an unread specialty is kept as the letter writes it, and an unread part of the state
list (a record holds only state names) is named in a warning; the evidence stage flags both.
"""

from __future__ import annotations

from ..form.credentials import CredentialsForm
from ..form.vocabulary import read_specialties, read_states
from .findings import Findings


def read_reviewer(form: CredentialsForm) -> Findings:
    """Read licensure states and specialties; a list with nothing readable is ``unread`` (an
    empty list in the record, which needs review)."""
    out = Findings()
    if form.states is None:
        out.unread.append("reviewer.licensure_states")
    else:
        states = read_states(form.states.text)
        if states.unread:
            shown = ", ".join(repr(u.text) for u in states.unread[:3])
            out.warnings.append(f"unrecognised licensure state(s): {shown}")
        if states.readings:
            out.put(
                "reviewer.licensure_states", [r.value for r in states.readings], form.states.span
            )
        else:
            out.unread.append("reviewer.licensure_states")
    if form.specialties is None:
        out.unread.append("reviewer.specialties")
    else:
        specialties = read_specialties(form.specialties.text)
        found = sorted(
            [(r.start, r.value) for r in specialties.readings]
            + [(u.start, u.text) for u in specialties.unread]
        )
        if found:
            out.put("reviewer.specialties", [value for _, value in found], form.specialties.span)
        else:
            out.unread.append("reviewer.specialties")
    return out
