"""Which server is behind an endpoint, where it says so, and what that means for the mode.

``IMR_LLM_MODE=tools`` asks for the answer as a forced call of one tool (a named
``tool_choice``). OpenAI and vLLM force it; llama.cpp's server and Ollama do not read a named
``tool_choice`` (see :mod:`imr_llm.testing.flavours`, which cites their source), so the model
may answer in prose and every letter then costs its re-asks and fails. Neither server says so
in an error: this module recognises them, so the caller can warn once and name the mode that
works (``json_schema``).

How each is recognised, from what it sends back (no extra request is made):

- Ollama: its OpenAI-compatible answers carry ``"system_fingerprint": "fp_ollama"``
  (server/openai in ollama/ollama); its default port is 11434 (``OLLAMA_HOST``), so a base
  URL on that port names it before any request.
- llama.cpp's ``llama-server``: each chat completion carries a ``timings`` object
  (``prompt_n``, ``predicted_n``, ...) and a ``system_fingerprint`` of its build,
  ``b<number>-<commit>`` (tools/server/server-common.cpp). Its default port, 8080, is too
  common to name it.

Only the standard library: the command line imports this without the model client.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "FORCED_TOOL_IGNORED",
    "server_from_answer",
    "server_from_url",
    "tools_mode_warning",
    "warn_tools_mode_once",
]

log = logging.getLogger(__name__)

#: Servers that take a ``tools`` request but do not force the named tool call.
FORCED_TOOL_IGNORED: dict[str, str] = {"ollama": "Ollama", "llamacpp": "llama.cpp's server"}
OLLAMA_PORT = 11434
OLLAMA_FINGERPRINT = "fp_ollama"
_LLAMACPP_FINGERPRINT = re.compile(r"^b\d+-[0-9a-f]{6,}$")
_LLAMACPP_TIMINGS = frozenset({"prompt_n", "predicted_n"})

_warned: set[tuple[str, str]] = set()
_lock = threading.Lock()


def server_from_url(base_url: str | None) -> str | None:
    """``"ollama"`` for a base URL on Ollama's default port; else None (no telling)."""
    if not base_url:
        return None
    try:
        port = urlsplit(base_url.strip()).port
    except ValueError:
        return None
    return "ollama" if port == OLLAMA_PORT else None


def server_from_answer(answer: Any) -> str | None:
    """``"ollama"`` or ``"llamacpp"`` when a chat completion (the openai client's object, or
    its JSON as a dict) carries that server's marks; else None."""
    if isinstance(answer, Mapping):
        fingerprint, timings = answer.get("system_fingerprint"), answer.get("timings")
    else:
        fingerprint = getattr(answer, "system_fingerprint", None)
        extra = getattr(answer, "model_extra", None) or {}
        timings = extra.get("timings") if isinstance(extra, Mapping) else None
    if fingerprint == OLLAMA_FINGERPRINT:
        return "ollama"
    if isinstance(timings, Mapping) and _LLAMACPP_TIMINGS <= set(timings):
        return "llamacpp"
    if isinstance(fingerprint, str) and _LLAMACPP_FINGERPRINT.match(fingerprint):
        return "llamacpp"
    return None


def tools_mode_warning(server: str, how: str) -> str:
    """The warning for ``tools`` mode on ``server`` (recognised by ``how``)."""
    name = FORCED_TOOL_IGNORED[server]
    return (
        f"the model endpoint looks like {name} ({how}), which does not force the tool call "
        "of IMR_LLM_MODE=tools: answers may come back as prose and fail; set "
        "IMR_LLM_MODE=json_schema (the answer schema is then enforced by the server)"
    )


def warn_tools_mode_once(server: str | None, how: str, endpoint: str) -> str | None:
    """Log :func:`tools_mode_warning` at WARNING once per endpoint and server in this process
    (a batch would otherwise say it for every letter); returns the message when logged."""
    if server not in FORCED_TOOL_IGNORED:
        return None
    with _lock:
        if (endpoint, server) in _warned:
            return None
        _warned.add((endpoint, server))
    message = tools_mode_warning(server, how)
    log.warning("%s", message)
    return message
