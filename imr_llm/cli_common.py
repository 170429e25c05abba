"""What every command module of the command line shares: the error console, the help flag,
logging setup and ``-v``.

It lives apart from :mod:`imr_llm.cli` so that the command modules it registers
(:mod:`imr_llm.cli_batch`, :mod:`imr_llm.cli_review`) need not import ``cli``: under
``python -m imr_llm.cli`` that import would load the command line a second time, half-built.
"""

from __future__ import annotations

import logging
from typing import Annotated

import click
import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

__all__ = ["Command", "Group", "Verbose", "configure_logging", "err"]

#: Standard error, plain: no colour guessing, no wrapping of file names, no markup by default.
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


class _PlainHelpFlag:
    """typer's rich help shows the help option's type, ``<bool>``; a flag takes no value."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class Command(_PlainHelpFlag, TyperCommand):
    """A command whose ``--help`` shows no ``<bool>``."""


class Group(_PlainHelpFlag, TyperGroup):
    """A command group whose ``--help`` shows no ``<bool>``."""


def configure_logging(verbose: bool) -> None:
    """WARNING by default, DEBUG under -v; safe to call again (before or after the command)."""
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.DEBUG if verbose else logging.WARNING)
    instructor = logging.getLogger("instructor")
    if instructor.filters or verbose:
        # A privacy filter re-emits instructor's lines quietly under our own logger: leave it be.
        instructor.setLevel(logging.NOTSET)
    else:
        # instructor logs every rejected answer at ERROR; the CLI reports each failure itself.
        instructor.setLevel(logging.CRITICAL)


def _verbose_after(value: bool) -> None:
    if value:  # -v given after the subcommand; without it, keep what came before
        configure_logging(True)


# A plain flag shows no "<bool>" in the help: an empty metavar replaces typer's type label.
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", metavar="", callback=_verbose_after, help="Log progress details."
    ),
]
