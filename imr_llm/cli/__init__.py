"""The ``imr-llm`` command line: one module per group of commands.

:mod:`~imr_llm.cli.main` parses the command line and runs ``extract``, ``eval``, ``schema``,
``tables`` and the rest; :mod:`~imr_llm.cli.review` the review page's command;
:mod:`~imr_llm.cli.jobs` the provider batch jobs' commands; :mod:`~imr_llm.cli.common` what they
share (exit codes, typed errors as one line, the engine and endpoint said on stderr).
"""
