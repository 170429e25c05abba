"""What importing imr-llm loads, and what a rules extraction pulls in (issue 17).

``import imr_llm`` loads the version and the errors only; the other public names load on first
use. A rules extraction of a clean letter with nothing configured needs no model client, no
event loop, no settings machinery and no file reading. Each case runs in a fresh interpreter,
since this test session has long imported everything. The time figures themselves are printed
by benchmarks/import_time.py, not asserted here.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys

import pytest

import imr_llm
from imr_llm import ConfigurationError, TextTooLargeError, extract
from tests.conftest import GOLD, REPO, gold_label

LETTER = GOLD / "letters" / "gA01.txt"


def _must_not() -> tuple[str, ...]:
    """What neither `import imr_llm` nor a rules extraction may load: the list
    ``benchmarks/import_time.py`` reports on, kept there once for both."""
    spec = importlib.util.spec_from_file_location(
        "import_time_bench", REPO / "benchmarks" / "import_time.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.MUST_NOT)


HEAVY = _must_not()


def _child_env(**extra: str) -> dict[str, str]:
    """This environment without any imr-llm or OpenAI variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("IMR_LLM_", "OPENAI_"))}
    return {**env, **extra}


def _modules_after(code: str, **env: str) -> dict:
    """Run ``code`` (which sets a dict ``out``) in a fresh interpreter; ``out`` comes back with
    the modules loaded by then under "modules"."""
    tail = "import json, sys\nprint(json.dumps({**out, 'modules': sorted(sys.modules)}))"
    probe = f"{code}\n{tail}"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=_child_env(**env),
        cwd=REPO,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def test_import_loads_the_version_and_the_errors_only() -> None:
    out = _modules_after("import imr_llm\nout = {}")
    ours = [m for m in out["modules"] if m.split(".")[0] == "imr_llm"]
    assert ours == ["imr_llm", "imr_llm._version", "imr_llm.errors"]
    assert _loaded(out["modules"], (*HEAVY, "pydantic", "rapidfuzz")) == []


@pytest.mark.parametrize(
    "env",
    [{}, {"OPENAI_API_KEY": "sk-not-a-real-key", "OPENAI_BASE_URL": "http://127.0.0.1:9"}],
    ids=["nothing-configured", "model-endpoint-configured"],
)
def test_a_rules_extraction_loads_no_model_client_event_loop_or_settings(
    env: dict[str, str],
) -> None:
    code = (
        "from imr_llm import extract\n"
        f"text = open({str(LETTER)!r}, encoding='utf-8').read()\n"
        "record = extract(text, backend='rules')\n"
        "out = {'record': record.contract_dict()}"
    )
    out = _modules_after(code, **env)
    assert _loaded(out["modules"], HEAVY) == []
    assert out["record"] == gold_label("gA01")  # the engine really read the letter


def test_the_command_line_starts_without_the_model_client() -> None:
    # openai and instructor take about a second to import: only a command that calls a model
    # (or a provider batch job) loads them.
    out = _modules_after("import imr_llm.cli.main\nout = {}")
    loaded = _loaded(out["modules"], ("instructor", "openai", "tenacity", "numpy", "scipy"))
    assert loaded == []
    assert _loaded(out["modules"], ("imr_llm.jobs.job", "imr_llm.llm.extractor")) == []


def test_light_submodules_do_not_load_their_package_s_heavy_parts() -> None:
    code = (
        "import imr_llm.llm.prompts, imr_llm.llm.pricing, imr_llm.jobs.store\n"
        "import imr_llm.eval.scoring, imr_llm.eval.damage\n"
        "out = {}"
    )
    out = _modules_after(code)
    assert _loaded(out["modules"], ("instructor", "openai", "asyncio", "pydantic_settings")) == []
    assert _loaded(out["modules"], ("imr_llm.eval.runner", "imr_llm.eval.report")) == []


def test_version_is_the_installed_metadata() -> None:
    assert imr_llm.__version__ == importlib.metadata.version("imr-llm")


def test_every_public_name_is_eager_or_lazy_and_resolves_to_its_module() -> None:
    eager = {n for n in imr_llm.__all__ if n in vars(imr_llm) and n not in imr_llm._LAZY}
    assert set(imr_llm._LAZY) | eager == set(imr_llm.__all__)
    assert set(imr_llm._LAZY).isdisjoint(eager)
    assert set(imr_llm.__all__) <= set(dir(imr_llm))
    for name, module in imr_llm._LAZY.items():
        home = importlib.import_module(f"imr_llm.{module}")
        assert getattr(imr_llm, name) is getattr(home, name), name


def test_star_import_gives_every_public_name() -> None:
    out = _modules_after("from imr_llm import *\nout = {'names': sorted(dir())}")
    assert set(imr_llm.__all__) <= set(out["names"])


def test_unknown_names_are_attribute_errors_and_submodules_still_import() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = imr_llm.no_such_name  # type: ignore[attr-defined]
    from imr_llm.inputs import normalise
    from imr_llm.record import models  # submodules, not lazy names

    assert models.DeterminationRecord is imr_llm.DeterminationRecord
    assert callable(normalise.normalise)


# ----------------------------------------------------------------------------------------------
# The rules path on default settings (imr_llm.api._defaults_only) behaves as Settings() does
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.upper().startswith(("IMR_LLM_", "OPENAI_")):
            monkeypatch.delenv(key)
    return monkeypatch


def test_the_defaults_the_short_path_assumes_are_those_of_settings(
    clean_env: pytest.MonkeyPatch,
) -> None:
    from imr_llm.inputs.normalise import DEFAULT_MAX_CHARS

    settings = imr_llm.Settings()
    assert settings.max_chars == DEFAULT_MAX_CHARS
    assert not settings.model_configured()


@pytest.mark.parametrize("name", ["IMR_LLM_MAX_CHARS", "imr_llm_max_chars"])
def test_a_setting_in_the_environment_still_applies_to_the_rules_path(
    clean_env: pytest.MonkeyPatch, name: str
) -> None:
    text = LETTER.read_text(encoding="utf-8")
    assert len(text) > 1000
    clean_env.setenv(name, "1000")  # the smallest max_chars allowed: the letter is longer
    with pytest.raises(TextTooLargeError):
        extract(text, backend="rules")


def test_an_invalid_setting_in_the_environment_is_still_a_configuration_error(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("IMR_LLM_MAX_ATTEMPTS", "seventy")
    with pytest.raises(ConfigurationError, match="max_attempts"):
        extract(LETTER.read_text(encoding="utf-8"), backend="rules")


@pytest.mark.parametrize(
    "env",
    [{"IMR_LLM_BASE_URL": "http://127.0.0.1:9/v1"}, {"IMR_LLM_MODEL": "gpt-4o-mini"},
     {"imr_llm_model": "gpt-4o-mini", "OPENAI_API_KEY": "sk-not-a-real-key"}],
    ids=["imr-base-url", "imr-model", "imr-model-lowercase-with-key"],
)  # fmt: skip
def test_auto_with_a_model_named_in_the_environment_still_goes_to_the_model(
    clean_env: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    import imr_llm.llm

    seen: list[str] = []

    def spy(text: str, **kwargs: object) -> object:
        seen.append(str(kwargs["backend"]))
        raise ConfigurationError("model path taken")

    clean_env.setattr(imr_llm.llm, "extract_llm", spy)
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigurationError, match="model path taken"):
        extract(LETTER.read_text(encoding="utf-8"))
    assert seen == ["auto"]


@pytest.mark.parametrize(
    "env",
    [{"OPENAI_API_KEY": "sk-not-a-real-key"}, {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
     {"OPENAI_API_KEY": "sk-not-a-real-key", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
      "IMR_LLM_API_KEY": "sk-not-a-real-key"}],
    ids=["openai-key", "openai-base-url", "keys-and-url"],
)  # fmt: skip
def test_auto_never_sends_a_letter_for_an_openai_key_alone(
    clean_env: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    """Medical letters: a key set for other tools is no consent to send them to a model."""
    import imr_llm.llm

    def spy(text: str, **kwargs: object) -> object:
        raise AssertionError("a letter went to the model path")

    clean_env.setattr(imr_llm.llm, "extract_llm", spy)
    clean_env.setattr(imr_llm.llm, "aextract_llm", spy)
    for name, value in env.items():
        clean_env.setenv(name, value)
    text = LETTER.read_text(encoding="utf-8")
    assert extract(text).metadata.engine == "rules"  # type: ignore[union-attr]
    assert extract(text, max_attempts=2).metadata.engine == "rules"  # type: ignore[union-attr]
    assert asyncio.run(imr_llm.aextract(text)).metadata.engine == "rules"  # type: ignore[union-attr]
    assert imr_llm.extract_file(LETTER).metadata.engine == "rules"  # type: ignore[union-attr]
    assert imr_llm.Settings().model_configured() and not imr_llm.Settings().model_named()
    # Named in code, the model is used: an explicit choice.
    with pytest.raises(AssertionError, match="went to the model"):
        extract(text, model="gpt-4o-mini")


def test_settings_cached_without_a_lowercase_variable_are_not_reused_with_it(
    clean_env: pytest.MonkeyPatch,
) -> None:
    from imr_llm.config import load_settings
    from imr_llm.inputs.normalise import DEFAULT_MAX_CHARS

    assert load_settings().max_chars == DEFAULT_MAX_CHARS
    clean_env.setenv("imr_llm_max_chars", "1000")  # pydantic-settings reads any case
    assert load_settings().max_chars == 1000
    clean_env.delenv("imr_llm_max_chars")
    assert load_settings().max_chars == DEFAULT_MAX_CHARS
