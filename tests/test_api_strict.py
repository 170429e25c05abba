"""The public API is strict and typed: unknown options are errors, every error is exported from
one module, ``__all__`` is sorted and matches the README, and the package says it is typed."""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import sys
import typing
from pathlib import Path

import openai
import pytest

import imr_llm
from imr_llm import (
    ConfigurationError,
    ImrError,
    Settings,
    UnknownOptionError,
    aextract,
    aextract_many,
    extract,
    extract_many,
)
from imr_llm import errors as errors_module
from tests.conftest import REPO
from tests.letters import Letter

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

TEXT = str(Letter())


def _run(name: str, **options: object) -> object:
    if name == "extract":
        return extract(TEXT, backend="rules", **options)
    if name == "extract_many":
        return extract_many([TEXT], backend="rules", **options)
    if name == "aextract":
        return asyncio.run(aextract(TEXT, backend="rules", **options))
    return asyncio.run(aextract_many([TEXT], backend="rules", **options))


@pytest.mark.parametrize("name", ["extract", "aextract", "extract_many", "aextract_many"])
def test_unknown_option_is_a_typed_error_naming_it(name: str) -> None:
    with pytest.raises(UnknownOptionError) as info:
        _run(name, max_attemps=7)
    err = info.value
    assert isinstance(err, ConfigurationError) and isinstance(err, TypeError)
    assert err.option == "max_attemps" and "'max_attemps'" in str(err)
    assert "max_attempts" in str(err)  # the suggestion
    assert err.to_dict()["error"] == "unknown_option"


def test_unknown_option_with_explicit_settings_too() -> None:
    with pytest.raises(UnknownOptionError):
        extract(TEXT, backend="rules", settings=Settings(), temprature=0.2)


def test_known_options_still_work_and_bad_values_are_configuration_errors() -> None:
    record = extract(TEXT, backend="rules", max_attempts=7, strict=True, log_letter_text=False)
    assert record.metadata is not None
    with pytest.raises(ConfigurationError, match="max_attempts"):
        extract(TEXT, backend="rules", max_attempts=70)


def test_client_is_typed_as_an_openai_client() -> None:
    # openai and Settings are imported lazily by imr_llm.api (for annotations only, under
    # TYPE_CHECKING: the rules path needs neither), so the hints resolve them from here.
    for fn in (extract, aextract, extract_many, aextract_many):
        hints = typing.get_type_hints(fn, localns={"openai": openai, "Settings": Settings})
        args = set(typing.get_args(hints["client"]))
        assert {openai.OpenAI, openai.AsyncOpenAI, type(None)} <= args, fn.__name__


def test_all_is_sorted_and_every_name_is_exported() -> None:
    names = imr_llm.__all__
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(imr_llm, name), name
    assert not [n for n in names if n.startswith("_") and n != "__version__"]


def _error_classes() -> dict[str, type]:
    return {
        name: obj
        for name, obj in vars(errors_module).items()
        if inspect.isclass(obj)
        and issubclass(obj, ImrError)
        and obj.__module__ == errors_module.__name__
    }


def test_every_error_lives_in_errors_and_is_exported() -> None:
    classes = _error_classes()
    assert {"OutputTruncatedError", "ModelRequestError", "UnreadableInputError"} <= set(classes)
    for name, cls in classes.items():
        assert getattr(imr_llm, name) is cls and name in imr_llm.__all__, name
        # The module docstring draws the hierarchy: every class, with its code.
        assert re.search(rf"\b{name}\b.*\b{cls.code}\b", errors_module.__doc__ or ""), name
    codes = [cls.code for cls in classes.values()]
    assert len(codes) == len(set(codes))


def test_errors_moved_to_errors_are_still_importable_from_their_old_homes() -> None:
    from imr_llm.llm import ModelRequestError as A
    from imr_llm.llm import OutputTruncatedError as B
    from imr_llm.llm.extractor import OutputTruncatedError as C
    from imr_llm.llm.transport import ModelRequestError as D

    assert A is D is errors_module.ModelRequestError
    assert B is C is errors_module.OutputTruncatedError


def test_readme_documents_exactly_the_public_api() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- public-api -->", 1)[1].split("<!-- /public-api -->", 1)[0]
    documented = set(re.findall(r"^\s*-\s.*$|^\s{2,}.*$", block, re.MULTILINE))
    names = {n for line in documented for n in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", line)} - {
        "record",
        "error",
    }
    assert names == set(imr_llm.__all__)
    # The error table names every error.
    table = readme.split("| error (`code`) |", 1)[1].split("\n\n", 1)[0]
    for name, cls in _error_classes().items():
        if name not in ("ImrError", "InputError", "LLMError"):
            assert f"`{name}` (`{cls.code}`)" in table, name


def test_the_package_is_typed_and_the_wheel_ships_the_marker() -> None:
    assert (Path(imr_llm.__file__).parent / "py.typed").is_file()
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["imr_llm"]


#: Import names of the distributions that provide them, where the two differ.
DISTRIBUTION = {"yaml": "pyyaml"}


def _third_party_imports(path: Path) -> set[str]:
    """Top-level imports at module level (not inside functions: those are lazy)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return {n for n in found if n not in sys.stdlib_module_names and n != "imr_llm"}


def test_the_testing_api_needs_only_core_dependencies() -> None:
    import imr_llm.testing

    assert "public" in (imr_llm.testing.__doc__ or "").lower()
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    core = {
        re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower()
        for d in config["project"]["dependencies"]
    }
    lazy_ok = {"vcr"}  # cassettes.py names vcrpy only through the objects it is handed
    for path in sorted((REPO / "imr_llm" / "testing").glob("*.py")):
        for name in _third_party_imports(path) - lazy_ok:
            assert DISTRIBUTION.get(name, name).lower() in core, f"{path.name} imports {name}"
