"""What every command module of the command line shares: the error console, the help flag,
logging setup and ``-v``.

It lives apart from :mod:`imr_llm.cli.main` so that the command modules it registers
(:mod:`imr_llm.cli.jobs`, :mod:`imr_llm.cli.review`) need not import ``cli``: under
``python -m imr_llm.cli.main`` that import would load the command line a second time, half-built.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Annotated

import click
import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "Command",
    "Group",
    "Verbose",
    "bad_configuration",
    "configure_logging",
    "engine_line",
    "err",
    "failure_message",
]

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


def failure_message(name: str, error: BaseException) -> str:
    """What a "failed NAME: ..." line says after the name: the error's message, without the
    file's name when the message starts with it (a file's input errors name it)."""
    if getattr(error, "path", None) == name and hasattr(error, "reason"):
        return str(error.reason)
    return str(error)


def bad_configuration(error: BaseException) -> str:
    """``error: bad configuration: ...`` in one line, for a setting with a bad value (the
    :class:`~imr_llm.errors.ConfigurationError` of :func:`imr_llm.config.load_settings`)."""
    message = " ".join(str(error).split()).removeprefix("invalid settings: ")
    return f"error: bad configuration: {message}"


#: Variables that configure an endpoint for the openai client but name no model of this
#: project's: on their own, ``auto`` stays with the rules engine.
_OTHER_ENDPOINT_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "IMR_LLM_API_KEY")


def engine_line(backend: str, settings: Settings) -> str:
    """One line for stderr before a run: the engine, and for the model its name and the host
    the letters go to (medical letters: a user must see where they are sent)."""
    from ..api import resolve_backend

    chosen = resolve_backend(backend, settings)
    if chosen == "rules":
        if backend != "auto":
            return "engine: rules (offline)"
        found = [v for v in _OTHER_ENDPOINT_ENV if os.environ.get(v, "").strip()]
        if not found:
            return "engine: rules (offline; no model named)"
        sends = "sends" if len(found) == 1 else "send"
        return (
            f"engine: rules (offline): {' and '.join(found)} alone {sends} no letter to a "
            "model; set IMR_LLM_MODEL or IMR_LLM_BASE_URL, or pass --backend llm, to use one"
        )
    if settings.model_configured():
        where = f"model {settings.model} at {settings.endpoint_host()}"
    else:
        where = (
            f"model {settings.model}, but no endpoint: set OPENAI_API_KEY for OpenAI, or "
            "IMR_LLM_BASE_URL for another server"
        )
    if chosen == "cascade":
        return f"engine: cascade (rules first; {where} for letters the rules cannot read)"
    return f"engine: llm ({where})"
