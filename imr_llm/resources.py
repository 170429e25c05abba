"""Locate the shipped data directories (``prompts/``, ``schemas/``) in any kind of install.

In a wheel they live inside the package as ``imr_llm/_data/<name>`` (hatch force-includes them);
in a source checkout or an editable install they are the top-level folders of the repository.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """The directory ``name`` ("prompts" or "schemas") as shipped with this installation."""
    packaged = Path(str(files("imr_llm"))) / "_data" / name
    if packaged.is_dir():
        return packaged
    source = _REPO_ROOT / name
    if source.is_dir():
        return source
    raise FileNotFoundError(f"imr-llm data directory {name!r} is missing from this installation")


def source_root() -> Path | None:
    """The repository this package runs from (a source checkout or an editable install): the
    folder above the package holding imr-llm's ``pyproject.toml``; None in an installed wheel,
    where that folder is site-packages."""
    pyproject = _REPO_ROOT / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    names_us = any(line.replace(" ", "") == 'name="imr-llm"' for line in text.splitlines())
    return _REPO_ROOT if names_us and (_REPO_ROOT / "schemas").is_dir() else None
