"""The repeated-run and form-text tests of an item header (``evidence.items``) answer as the
patterns they stand in for, whose search they skip where no match can be.

Expected answers come from the pattern itself (``_REPEATED_RUN.search``), which is the
specification; the shortcut is a speed-up only.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from imr_llm.evidence.items import _FORM_IN_NAME, _REPEATED_RUN, _form_in_name, repeated_run

#: Few words, so that runs repeat often; brackets and marks where the pattern's ``\\b`` matters.
WORDS = st.sampled_from(
    ["knee", "Knee", "MRI", "left", "(left", "left)", "x", "of", "the", "12", "#12", "-", "and"]
)
SPACES = st.sampled_from([" ", "  ", "\n", " \n "])


@st.composite
def headers(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORDS, min_size=0, max_size=14))
    out = ""
    for word in words:
        out += word + draw(SPACES)
    return out.strip() if draw(st.booleans()) else out


@settings(max_examples=3000, deadline=None)
@given(headers())
def test_the_shortcut_answers_as_the_pattern(name: str) -> None:
    assert repeated_run(name) == bool(_REPEATED_RUN.search(name))


#: Words whose starts and ends meet word boundaries in every way: a word inside another, after
#: a bracket or a hyphen, before a mark, case changed, an underscore (a word character).
EDGE_WORDS = st.sampled_from(
    ["knee", "Knee", "knees", "aknee", "(knee", "knee)", "knee-", "-knee", "a-knee", "_knee",
     "knee_",
     "MRI", "mri,", "of", "x", "(", "-", "12", "#12", "12b"]
)  # fmt: skip


@settings(max_examples=20000, deadline=None)
@given(st.lists(EDGE_WORDS, max_size=16))
def test_the_word_reading_answers_as_the_pattern_on_single_spaced_text(words: list[str]) -> None:
    """Headers are single-spaced: there the answer is read from the words, not searched."""
    name = " ".join(words)
    assert repeated_run(name) == bool(_REPEATED_RUN.search(name)), name


def test_the_cases_the_shortcut_must_not_miss() -> None:
    for name in [
        "Right shoulder arthroscopic repair Right shoulder arthroscopic repair and debridement",
        "(left knee brace hinged and left knee brace hinged",  # the run starts inside "(left"
        "Knee MRI of the LEFT knee MRI OF THE left",  # case aside
        "Lumbar epidural steroid injection x lumbar epidural steroid injection",
        "Right L4-L5 transforaminal Right L4-L5 transforaminal epidural steroid injection",
        "knee MRI of knee MRI of",  # a run of three, right after itself: a repeated line
        "(left knee MRI left knee MRI,",  # ... its first inside "(left", its last before a mark
        # a run that ends with a mark (a wrapped header's first line, printed twice)
        "Associated surgical service: Associated surgical service: Ultrasling",
        "Home health care, Home health care, 4 hours a day",
    ]:
        assert bool(_REPEATED_RUN.search(name)), name
        assert repeated_run(name), name
    assert not repeated_run("Physical therapy twice a week for four weeks for the lumbar spine")
    for name in [
        "aknee MRI of the knee MRI of the",  # "knee" inside "aknee" starts at no word boundary
        "knee MRI of the knee MRI of thereafter",  # "the" begins a longer word: no boundary
        "knee MRI of the a b c d knee MRI of the",  # four words between the runs
        "knee MRI of x knee MRI of",  # a run of three words, further on
        "Norco 10/325 mg #60 and Norco 10/325 mg #30",
        "aknee MRI of knee MRI of",  # "knee" inside "aknee": no boundary
        "knee MRI of: knee MRI of:s",  # a letter right after the run's last mark
    ]:
        assert not _REPEATED_RUN.search(name), name
        assert not repeated_run(name), name


FORM_WORDS = st.sampled_from(
    ["Final", "determination", "set", "forth", "below", "disputed", "items", "medically",
     "necessary", "not", "knee", "MRI"]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(FORM_WORDS, max_size=8), st.lists(SPACES, min_size=8, max_size=8))
def test_the_form_text_shortcut_answers_as_the_pattern(words: list[str], gaps: list[str]) -> None:
    name = "".join(w + g for w, g in zip(words, gaps, strict=False))
    assert _form_in_name(name) == bool(_FORM_IN_NAME.search(name))
