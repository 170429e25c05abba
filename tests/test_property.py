"""Arbitrary text only ever yields a valid record or a documented (typed) error."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imr_llm import DeterminationRecord, ImrError, extract
from tests.letters import Letter

LETTER_LINES = str(Letter()).split("\n")
WORDS = st.sampled_from(
    [
        "Upheld", "Overturned", ":", "MAXIMUS guideline:", "Decision rationale:",
        "Claims Administrator guideline:", "CLINICAL CASE SUMMARY", "Case Number:",
        "IMR ISSUES, DECISIONS AND RATIONALES", "CM16-0213037", "11/09/2016", "\f", "\n",
        "State(s) of Licensure:", "California", "Certification(s)/Specialty:", "the",
    ]
)  # fmt: skip


def _check(text: str) -> None:
    try:
        record = extract(text, backend="rules")
    except ImrError:
        return
    assert isinstance(record, DeterminationRecord)
    # A returned record always passes validation again from its own JSON.
    DeterminationRecord.model_validate_json(record.model_dump_json())
    assert record.items


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000))
def test_any_text(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(WORDS, max_size=80).map(" ".join))
def test_label_soup(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, len(LETTER_LINES) - 1), max_size=15, unique=True),
    st.lists(st.tuples(st.integers(0, len(LETTER_LINES) - 1), WORDS), max_size=8),
)
def test_damaged_letters(deleted: list[int], inserted: list[tuple[int, str]]) -> None:
    lines = [line for i, line in enumerate(LETTER_LINES) if i not in set(deleted)]
    for position, word in inserted:
        lines.insert(min(position, len(lines)), word)
    _check("\n".join(lines))


_WHITESPACE_AND_WORDS = st.sampled_from(
    [
        " ",
        "  ",
        "\n",
        "\t",
        "\r",
        "\x0b",
        "\x0c",
        "\x1c",
        "\x1d",
        "\x1e",
        "\x1f",
        "\x85",
        "\xa0",
        "\u2003",
        "a",
        "b.",
        "é",
        "word",
    ]  # fmt: skip
)


@settings(max_examples=3000)
@given(st.lists(_WHITESPACE_AND_WORDS, max_size=40).map("".join))
def test_collapse_ws_is_split_and_join(text: str) -> None:
    """collapse_ws returns a text that is collapsed already as it is: only where splitting and
    joining it would give the same."""
    from imr_llm.form.text import collapse_ws

    assert collapse_ws(text) == " ".join(text.split())
