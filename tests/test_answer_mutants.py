"""Tests that kill mutants mutmut left alive in ``imr_llm/llm/answer.py`` (issue 7).

The letter is the test letter of ``tests/letters.py``; every expected value is read off its
text by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from imr_llm.evidence.common import Checked
from imr_llm.form import read_form
from imr_llm.inputs.normalise import normalise
from imr_llm.llm.answer import (
    Candidate,
    LetterAnswer,
    LetterContext,
    _resolver,
    answer_data,
    answer_to_candidate,
)
from tests.letters import Letter

TEXT = str(Letter())

RATIONALE_ONE = (
    "The guidelines support a brace for instability only. The records show a stable knee. "
    "The request is not medically necessary."
)
RATIONALE_TWO = (
    "Eight visits fall within the recommended course for a new flare. The request is "
    "medically necessary."
)


def _answer(**changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "case_number": "CM18-0101234",
        "date_assigned": "2018-03-14",
        "date_of_injury": "2015-07-02",
        "decision_date": "2018-04-20",
        "ur_denial_date": "2018-02-27",
        "application_received": "2018-03-09",
        "priority": "standard",
        "licensure_states": ["California", "Nevada"],
        "specialties": ["Orthopaedic Surgery"],
        "patient_age": 52,
        "patient_sex": "female",
        "items": [
            {
                "service": "Hinged knee brace, left",
                "outcome": "upheld",
                "claims_administrator_guideline": "Decision based on MTUS Knee Complaints 2004.",
                "maximus_guideline": "Decision based on MTUS ... Section(s): Initial Care.",
                "rationale": "The guidelines support a brace ... is not medically necessary.",
            },
            {
                "service": "Physical therapy twice a week for four weeks for the lumbar spine",
                "outcome": "overturned",
                "claims_administrator_guideline": None,
                "maximus_guideline": "Decision based on MTUS ... Section(s): Physical Medicine.",
                "rationale": "Eight visits fall within ... request is medically necessary.",
            },
        ],
    }
    answer.update(changes)
    return answer


def _candidate(**changes: Any) -> Candidate:
    context = LetterContext(read_form(normalise(TEXT)))
    return answer_to_candidate(LetterAnswer.model_validate(_answer(**changes)), context)


def test_a_true_answer_is_accepted_and_quotes_become_the_letters_text() -> None:
    candidate = _candidate()
    assert candidate.invalid == []
    assert candidate.checked.errors == []
    assert candidate.data["case_number"] == "CM18-0101234"
    assert candidate.data["date_of_injury"] == dt.date(2015, 7, 2)
    assert candidate.data["reviewer"] == {
        "licensure_states": ["California", "Nevada"],
        "specialties": ["Orthopaedic Surgery"],
    }
    assert candidate.data["patient"] == {"age": 52, "sex": "female"}
    first, second = candidate.data["items"]
    assert first["rationale"] == RATIONALE_ONE
    assert second["rationale"] == RATIONALE_TWO
    assert first["service"] == "Hinged knee brace, left"


def test_answer_data_has_the_record_contracts_shape() -> None:
    data = answer_data(LetterAnswer.model_validate(_answer()))
    assert list(data) == [
        "case_number", "date_assigned", "date_of_injury", "decision_date", "ur_denial_date",
        "application_received", "priority", "reviewer", "patient", "items",
    ]  # fmt: skip
    assert data["date_assigned"] == dt.date(2018, 3, 14)
    assert data["decision_date"] == dt.date(2018, 4, 20)
    assert data["ur_denial_date"] == dt.date(2018, 2, 27)
    assert data["application_received"] == dt.date(2018, 3, 9)
    assert data["priority"] == "standard"
    assert data["items"][1]["claims_administrator_guideline"] is None
    assert data["items"][0]["original_request"] is None


def test_a_case_number_not_of_the_form_is_invalid() -> None:
    candidate = _candidate(case_number="CM18-010123")
    assert "case_number: 'CM18-010123' is not of the form CMyy-nnnnnnn" in candidate.invalid
    # Spaces around a well-formed number are no problem of form.
    candidate = _candidate(case_number=" CM18-0101234 ")
    assert not any(p.startswith("case_number:") for p in candidate.invalid)
    # A missing case number is no problem of form either.
    candidate = _candidate(case_number=None)
    assert not any(p.startswith("case_number:") for p in candidate.invalid)


def test_a_state_name_that_is_no_state_is_invalid_and_others_are_canonical() -> None:
    candidate = _candidate(licensure_states=["Califomia", "Narnia"])
    assert candidate.invalid == ["reviewer.licensure_states[1]: 'Narnia' is not a US state name"]
    assert candidate.data["reviewer"]["licensure_states"] == ["California", "Narnia"]


def test_an_item_without_a_service_is_invalid() -> None:
    items = _answer()["items"]
    items[1] = {**items[1], "service": "  "}
    candidate = _candidate(items=items)
    assert "items[1].service: every item needs a service" in candidate.invalid
    assert not any(p.startswith("items[0].service") for p in candidate.invalid)


def _fake(invalid: int, errors: int) -> Candidate:
    checked = Checked()
    checked.errors = [f"e{k}" for k in range(errors)]
    return Candidate({}, checked, [f"i{k}" for k in range(invalid)])


def test_offer_keeps_the_answer_with_the_fewest_problems_latest_on_a_tie() -> None:
    context = LetterContext(read_form(normalise(TEXT)))
    assert context.best is None and context.accepted is None
    first = _fake(1, 2)
    context.offer(first)
    assert context.best is first
    # More errors: not better.
    context.offer(_fake(1, 3))
    assert context.best is first
    # A tie: the later answer (the model's latest attempt) is kept.
    tie = _fake(1, 2)
    context.offer(tie)
    assert context.best is tie
    # Fewer invalid values outweigh more contradictions.
    fewer_invalid = _fake(0, 5)
    context.offer(fewer_invalid)
    assert context.best is fewer_invalid
    # One more invalid value is worse whatever the contradictions.
    context.offer(_fake(1, 0))
    assert context.best is fewer_invalid
    fewer_errors = _fake(0, 4)
    context.offer(fewer_errors)
    assert context.best is fewer_errors


def test_resolver_finds_a_quote_between_two_offsets() -> None:
    context = LetterContext(read_form(normalise(TEXT)))
    source = context.view.source
    resolve = _resolver(context)
    start = source.index("Decision rationale: The guidelines")
    end = source.index("Physical therapy twice")
    found = resolve("The guidelines support a brace ... is not medically necessary.", start, end)
    assert found is not None
    text, span = found
    assert text == RATIONALE_ONE
    first = source.index("The guidelines support")
    last = source.index("not medically necessary.") + len("not medically necessary.")
    assert span == (first, last)


def test_resolver_reaches_the_end_of_the_letter() -> None:
    context = LetterContext(read_form(normalise(TEXT)))
    source = context.view.source
    resolve = _resolver(context)
    start = source.index("Decision rationale: Eight")
    found = resolve(
        "Eight visits fall within ... request is medically necessary.", start, len(source)
    )
    assert found is not None
    assert found[0] == RATIONALE_TWO


def test_resolver_stays_between_its_offsets() -> None:
    context = LetterContext(read_form(normalise(TEXT)))
    source = context.view.source
    resolve = _resolver(context)
    # The second item's rationale is not between the first item's offsets.
    start = source.index("Decision rationale: The guidelines")
    end = source.index("Physical therapy twice")
    assert (
        resolve("Eight visits fall within ... request is medically necessary.", start, end) is None
    )
