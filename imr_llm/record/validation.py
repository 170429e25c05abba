"""Record-level checks that need the whole record: date order, and what a user should know.

Date order (injury <= UR denial <= assigned <= decision) is reported as a *warning*, not an
error: real letters occasionally carry a typo in one date, and refusing the whole letter for it
would lose the other fields. The warning names both dates so a person can look.
"""

from __future__ import annotations

import datetime as dt

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


#: The review's own dates (the UR denial, the application, the assignment, the decision) fall
#: within weeks of each other; one more than this many days from the decision was misread.
REVIEW_SPAN_DAYS = 366
#: No injury in a workers' compensation review is older than this many years at its decision.
MAX_INJURY_YEARS = 70


def implausible_dates(record: DeterminationRecord, today: dt.date | None = None) -> list[str]:
    """Review reasons for dates no letter can have: after the decision, in the future, a year
    or more away from the review's other dates, an injury after the review began or older than
    anyone's working life.

    Unlike :func:`date_order_warnings` (a typo a letter may really carry), each of these is a
    value the reading got wrong, usually a digit OCR or a table rule changed: the record needs
    a person, not just a warning.
    """
    today = today or dt.date.today()
    named = {
        "date_of_injury": record.date_of_injury,
        "ur_denial_date": record.ur_denial_date,
        "application_received": record.application_received,
        "date_assigned": record.date_assigned,
        "decision_date": record.decision_date,
    }
    present = {name: value for name, value in named.items() if value is not None}
    reasons: list[str] = []
    for name, value in present.items():
        if value > today:
            reasons.append(f"{name} {value.isoformat()} is in the future")
    decision = present.get("decision_date")
    review = {k: v for k, v in present.items() if k not in ("date_of_injury", "decision_date")}
    if decision is not None:
        for name, value in review.items():
            if value > decision:
                reasons.append(
                    f"{name} {value.isoformat()} is after the decision date {decision.isoformat()}"
                )
            elif (decision - value).days > REVIEW_SPAN_DAYS:
                reasons.append(
                    f"{name} {value.isoformat()} is over a year before the decision date "
                    f"{decision.isoformat()}"
                )
    injury = present.get("date_of_injury")
    if injury is not None:
        later = [(k, v) for k, v in present.items() if k != "date_of_injury" and v < injury]
        for name, value in later:
            reasons.append(
                f"date_of_injury {injury.isoformat()} is after {name} {value.isoformat()}"
            )
        ref = decision or today
        if ref.year - injury.year > MAX_INJURY_YEARS:
            reasons.append(f"date_of_injury {injury.isoformat()} is implausibly old")
    return [f"implausible date: {reason}" for reason in reasons]
