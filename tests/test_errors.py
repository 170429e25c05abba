"""Every documented way extract() can fail raises its typed error."""

from __future__ import annotations

import pytest

from imr_llm import (
    EmptyTextError,
    ImrError,
    IncompleteLetterError,
    NoModelConfiguredError,
    NotAnImrLetterError,
    TextTooLargeError,
    extract,
)
from imr_llm.errors import ConfigurationError
from tests.letters import Letter


@pytest.mark.parametrize("text", ["", "   \n\t\f  "])
def test_empty_text(text: str) -> None:
    with pytest.raises(EmptyTextError):
        extract(text, backend="rules")


def test_text_too_large_names_size_and_limit() -> None:
    with pytest.raises(TextTooLargeError) as info:
        extract("x" * 5000, backend="rules", max_chars=1000)
    assert info.value.size == 5000 and info.value.limit == 1000
    assert "5,000" in str(info.value)


def test_not_an_imr_letter() -> None:
    with pytest.raises(NotAnImrLetterError):
        extract("Dear customer,\nyour invoice is attached.\nRegards", backend="rules")


def test_truncated_letter_is_incomplete_with_what_is_missing() -> None:
    text = str(Letter())
    cut = text[: text.index("IMR ISSUES")]
    with pytest.raises(IncompleteLetterError) as info:
        extract(cut, backend="rules")
    assert any(m.startswith("items") for m in info.value.missing)


def test_llm_without_model_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "IMR_LLM_API_KEY", "IMR_LLM_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(NoModelConfiguredError):
        extract(str(Letter()), backend="llm")


def test_auto_uses_rules_when_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "IMR_LLM_API_KEY", "IMR_LLM_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    record = extract(str(Letter()))
    assert record.metadata is not None
    assert record.metadata.engine == "rules" and record.metadata.backend == "auto"


def test_unknown_backend() -> None:
    with pytest.raises(ConfigurationError):
        extract(str(Letter()), backend="magic")  # type: ignore[arg-type]


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        extract(b"bytes", backend="rules")  # type: ignore[arg-type]


def test_errors_are_all_imr_errors_with_codes() -> None:
    for exc in (EmptyTextError(), NotAnImrLetterError(), IncompleteLetterError(["x"])):
        assert isinstance(exc, ImrError)
        assert exc.to_dict()["error"] == exc.code
