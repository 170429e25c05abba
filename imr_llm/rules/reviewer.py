"""Read the expert reviewer's licensure states and specialties from their places."""

from __future__ import annotations

from ..form.credentials import CredentialsForm
from ..text import collapse_ws, split_specialties, split_states
from .findings import Findings


def read_reviewer(form: CredentialsForm) -> Findings:
    """Read licensure states and specialties; what cannot be read is listed as missing."""
    out = Findings()
    if form.states is None:
        out.missing.append("reviewer.licensure_states")
    else:
        states, unknown = split_states(form.states.text)
        if unknown or not states:
            out.missing.append("reviewer.licensure_states")
            if unknown:
                shown = ", ".join(repr(u) for u in unknown[:3])
                out.warnings.append(f"unrecognised licensure state(s): {shown}")
        else:
            out.put("reviewer.licensure_states", states, form.states.span)
    if form.specialties is None:
        out.missing.append("reviewer.specialties")
    else:
        specialties = split_specialties(collapse_ws(form.specialties.text))
        if specialties:
            out.put("reviewer.specialties", specialties, form.specialties.span)
        else:
            out.missing.append("reviewer.specialties")
    return out
