"""The rules engine's self-checks (imr_llm/rules/selfcheck.py): which misreadings are errors
(no record: the cascade asks the model) and which only flag a record for review.

The error branches are not reached by any gold, corpus or damaged letter today: the letter-form
layer refuses those letters first (a stray outcome marker or a label in an item header is seen
while the items are placed). They are the last guard should that layer change, so they are
tested here directly, and through the engine with a misreading injected where the form layer
hands over its values; a planted bug that turned one into a review flag went unnoticed before.
"""

from __future__ import annotations

from typing import Any

import pytest

from imr_llm import IncompleteLetterError, extract
from imr_llm.rules import engine, strict
from imr_llm.rules.selfcheck import self_check
from tests.letters import Letter

RATIONALE = (
    "The guidelines support a brace for instability only. The records show a stable knee. "
    "The request is not medically necessary."
)


def _item(service: str) -> dict[str, Any]:
    return {"service": service, "outcome": "upheld", "rationale": RATIONALE}


@pytest.mark.parametrize(
    "service",
    [
        "Hinged knee brace Decision rationale: the guidelines",
        "Hinged knee brace MAXIMUS guideline; Decision based on",
        "Knee brace Claims Administrator guideline: none",
        "Knee brace Decisi0n rati0nale: the",  # OCR'd label
    ],
)
def test_a_label_inside_a_service_is_an_error_not_a_flag(service: str) -> None:
    errors, flags = self_check([_item("Lumbar MRI"), _item(service)])
    assert errors == ["items[1].service (a label was read inside the item's name)"]
    assert not any("items[1].service" in flag for flag in flags)


@pytest.mark.parametrize(
    "service",
    ["Knee brace: Upheld Lumbar MRI", "Right shoulder MRI: Overtumed Right shoulder MRI"],
)
def test_an_outcome_marker_inside_a_service_is_an_error_not_a_flag(service: str) -> None:
    errors, flags = self_check([_item(service)])
    assert errors == ["items[0].service (an outcome marker was read inside the item's name)"]
    assert not any("items[0].service" in flag for flag in flags)


def test_a_plain_service_passes_both_checks() -> None:
    assert self_check([_item("Hinged knee brace, left")]) == ([], [])


def test_a_service_of_several_sentences_is_only_a_flag() -> None:
    errors, flags = self_check([_item("Knee brace. Lumbar MRI is also requested")])
    assert errors == [] and flags == ["items[0].service reads as several sentences"]


@pytest.mark.parametrize(
    ("inside", "why"),
    [
        (" Decision rationale: see below", "a label was read inside the item's name"),
        (": Overturned Lumbar MRI", "an outcome marker was read inside the item's name"),
    ],
)
def test_the_engine_refuses_a_letter_whose_service_holds_a_label_or_marker(
    monkeypatch: pytest.MonkeyPatch, inside: str, why: str
) -> None:
    """Through ``extract``: the self-check's error is an IncompleteLetterError naming the
    service (which the cascade hands to the model), never a record flagged for review."""
    real = engine.read_letter

    def misread(*args: Any, **kwargs: Any) -> Any:
        findings = real(*args, **kwargs)
        findings.values["items"][0]["service"] += inside  # the header walk swallowed it
        return findings

    text = str(Letter())
    assert extract(text, backend="rules").metadata.needs_review is False  # type: ignore[union-attr]
    monkeypatch.setattr(engine, "read_letter", misread)
    # The tolerant reader's guard; a letter as printed takes the fast path, tested below.
    with strict.tolerant_only(), pytest.raises(IncompleteLetterError) as info:
        extract(text, backend="rules")
    assert info.value.missing == [f"items[0].service ({why})"]


@pytest.mark.parametrize("inside", [" Decision rationale: see below", ": Overturned Lumbar MRI"])
def test_a_fast_path_misreading_goes_to_the_tolerant_reader(
    monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    """The fast path's self-check refuses the same misreadings; the letter is then read by the
    tolerant reader (here unharmed), so the record is its record, never the misread one."""
    real = strict._read_item

    def misread(place: Any, read: Any) -> Any:
        item = real(place, read)
        if item is not None and not read.items[1:]:
            item["service"] += inside
        return item

    text = str(Letter())
    expected = extract(text, backend="rules")
    monkeypatch.setattr(strict, "_read_item", misread)
    assert strict.strict_record(text, max_chars=10**9, backend="rules") is None
    got = extract(text, backend="rules")
    assert got.model_dump(exclude={"metadata"}) == expected.model_dump(exclude={"metadata"})
    assert got.metadata.evidence == expected.metadata.evidence  # type: ignore[union-attr]
    assert got.metadata.needs_review is False  # type: ignore[union-attr]
