"""The package's version: the one place it is written.

A literal, not ``importlib.metadata.version("imr-llm")``: reading the installed metadata costs
tens of milliseconds at every ``import imr_llm``. The build reads the version from here too
(pyproject.toml, ``[tool.hatch.version]``), so the literal and the installed metadata cannot
differ; a test holds them equal.
"""

__version__ = "0.1.0"
