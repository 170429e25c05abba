"""Public names a package loads on first use (PEP 562), for every package that has them.

``imr_llm.eval``, ``imr_llm.llm`` and ``imr_llm.jobs`` each name things whose modules are
heavy (numpy and scipy, instructor and openai) and must not be paid for by a light submodule.
Each keeps a map of those names to their modules and sets its ``__getattr__`` from
:func:`lazy_getattr`. (``imr_llm`` itself has its own, the same few lines: ``import imr_llm``
loads only its version and its errors, not this module.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, modules: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name of ``modules`` (name ->
    submodule, relative to ``package``) at first use, then keeps it in ``namespace`` (the
    package's globals), so later uses cost nothing; other names are AttributeErrors."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # __import__, not importlib.import_module: it goes through the interpreter's import
        # statement machinery, so `python -X importtime` reports the cost where it is paid.
        qualified = f"{package}.{module}"
        __import__(qualified)
        value = getattr(sys.modules[qualified], name)
        namespace[name] = value
        return value

    return __getattr__
