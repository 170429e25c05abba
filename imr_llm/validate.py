"""Record-level checks that need the whole record: date order, and what a user should know.

Date order (injury <= UR denial <= assigned <= decision) is reported as a *warning*, not an
error: real letters occasionally carry a typo in one date, and refusing the whole letter for it
would lose the other fields. The warning names both dates so a person can look.
"""

from __future__ import annotations

from .models import DeterminationRecord


def date_order_warnings(record: DeterminationRecord) -> list[str]:
    """One warning for each pair of present dates that is out of the expected order."""
    present = [(name, value) for name, value in record.dates_in_order() if value is not None]
    warnings: list[str] = []
    for (a_name, a), (b_name, b) in zip(present, present[1:], strict=False):
        if a > b:
            warnings.append(
                f"date order: {a_name} {a.isoformat()} is after {b_name} {b.isoformat()}"
            )
    if record.application_received and record.decision_date:
        if record.application_received > record.decision_date:
            warnings.append(
                "date order: application_received "
                f"{record.application_received.isoformat()} is after decision_date "
                f"{record.decision_date.isoformat()}"
            )
    return warnings
