"""What each OpenAI-compatible server does with a chat-completions request body.

"OpenAI-compatible" servers share the request's outline but differ in what they do with the
parts that matter for structured output: the answer schema (``response_format``, ``tools``),
the forced tool call (``tool_choice``) and server-specific fields (vLLM's old ``guided_json``).
A server that does not understand a part rarely says so: vLLM, llama.cpp's server and Ollama
drop unknown fields without an error, so a request the server "accepts" can still come back
unconstrained. The checkers here read a request body and list, for one server, what it would
**reject** (answer 400) and what it would **ignore** in a way that loses the constraint.

They are written from each server's documentation and source, cited in each checker's
docstring, as read in November 2026; no live server was run. The local test server
(:class:`~imr_llm.testing.FakeOpenAIServer` with ``flavour=``) uses them to answer HTTP 400 with
the checker's message, so a request shape a server would silently ignore fails loudly in tests.

Harmless differences are not reported: a schema ``title`` or ``description`` a server skips,
``name`` or ``strict`` in ``response_format.json_schema`` where a server does not use them.

Only the standard library is used, as in :mod:`imr_llm.testing.fake_openai`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "FLAVOURS",
    "Flavour",
    "Problem",
    "check_llamacpp",
    "check_ollama",
    "check_openai",
    "check_request",
    "check_vllm",
    "describe",
]

Flavour = Literal["openai", "vllm", "llamacpp", "ollama"]
FLAVOURS: tuple[str, ...] = ("openai", "vllm", "llamacpp", "ollama")

#: vLLM's guided-decoding request fields, removed in v0.12.0 in favour of ``structured_outputs``.
VLLM_REMOVED_FIELDS = frozenset(
    {
        "guided_json",
        "guided_regex",
        "guided_choice",
        "guided_grammar",
        "guided_whitespace_pattern",
        "guided_decoding_backend",
    }
)

#: Top-level fields of OpenAI's chat-completions request (the API reference, November 2026).
OPENAI_FIELDS = frozenset(
    {
        "messages",
        "model",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)

#: JSON Schema keywords llama.cpp's schema-to-grammar converter skips silently
#: (grammars/README.md, "known limitations" and "unlikely to be implemented").
LLAMACPP_SKIPPED_KEYWORDS = frozenset(
    {
        "patternProperties",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "not",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "$anchor",
    }
)
#: String formats it turns into grammar rules; others are skipped.
LLAMACPP_FORMATS = frozenset({"date", "time", "date-time", "uuid"})


@dataclass(frozen=True)
class Problem:
    """One part of a request a server would reject or ignore."""

    #: Where in the body: ``"guided_json"``, ``"tool_choice"``, ``"response_format.json_schema"``.
    where: str
    #: ``"rejected"``: the server answers an error; ``"ignored"``: it drops the part silently
    #: and the answer is not constrained as the request meant.
    effect: Literal["rejected", "ignored"]
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.effect}: {self.message}"


def describe(flavour: str, problems: list[Problem]) -> str:
    """One line for an error message: the server and every problem."""
    return f"{flavour} server: " + "; ".join(str(p) for p in problems)


# ----------------------------------------------------------------------------------------------
# Shared pieces
# ----------------------------------------------------------------------------------------------


def _response_format(body: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    value = body.get("response_format")
    if not isinstance(value, Mapping):
        return None, {}
    kind = value.get("type")
    return (kind if isinstance(kind, str) else ""), value


def _json_schema_part(response_format: Mapping[str, Any]) -> Mapping[str, Any] | None:
    part = response_format.get("json_schema")
    return part if isinstance(part, Mapping) else None


def _tool_names(body: Mapping[str, Any]) -> list[str]:
    names = []
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            names.append(fn["name"])
    return names


def _schemas_in(body: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every answer schema a request carries, with where it sits."""
    kind, response_format = _response_format(body)
    if kind == "json_schema":
        part = _json_schema_part(response_format)
        schema = part.get("schema") if part is not None else None
        if isinstance(schema, Mapping):
            yield "response_format.json_schema.schema", schema
    elif kind == "json_object" and isinstance(response_format.get("schema"), Mapping):
        yield "response_format.schema", response_format["schema"]
    for i, tool in enumerate(body.get("tools") or []):
        fn = tool.get("function") if isinstance(tool, Mapping) else None
        params = fn.get("parameters") if isinstance(fn, Mapping) else None
        if isinstance(params, Mapping):
            yield f"tools[{i}].function.parameters", params


def _walk(node: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every subschema (object) under ``node``, depth first, with its JSON path."""
    if isinstance(node, Mapping):
        yield path, node
        for key, value in node.items():
            if key in ("enum", "const", "default", "examples", "required"):
                continue  # values, not schemas
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _resolve_local(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _llamacpp_schema_problems(where: str, schema: Mapping[str, Any]) -> list[Problem]:
    """What llama.cpp's JSON-Schema-to-grammar converter cannot honour in ``schema``.

    From https://github.com/ggml-org/llama.cpp/blob/master/grammars/README.md (JSON Schemas →
    GBNF, known limitations): unsupported keywords are skipped silently; ``properties`` cannot
    be mixed with ``anyOf``/``oneOf`` in one object (issue #7703); nested ``$ref``s are broken
    (issue #8073); remote ``$ref``s are not fetched by the C++ converter; ``pattern`` must be
    anchored with ``^`` and ``$``; ``minimum``/``maximum`` work for integers only; string formats
    beyond date, time, date-time and uuid are skipped (``STRING_FORMAT_RULES`` in
    common/json-schema-to-grammar.cpp).
    """
    problems: list[Problem] = []
    for path, node in _walk(schema, where):
        for keyword in sorted(LLAMACPP_SKIPPED_KEYWORDS & set(node)):
            problems.append(Problem(f"{path}.{keyword}", "ignored", "keyword not supported"))
        if "properties" in node and ("anyOf" in node or "oneOf" in node):
            problems.append(
                Problem(path, "ignored", "properties mixed with anyOf/oneOf in one object")
            )
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#"):
                problems.append(Problem(f"{path}.$ref", "rejected", "remote $ref not fetched"))
            else:
                target = _resolve_local(schema, ref)
                if target is None:
                    problems.append(Problem(f"{path}.$ref", "rejected", f"unresolvable {ref}"))
                elif any("$ref" in sub for _, sub in _walk(target, ref)):
                    problems.append(
                        Problem(f"{path}.$ref", "ignored", f"nested $ref through {ref}")
                    )
        pattern = node.get("pattern")
        if isinstance(pattern, str) and not (pattern.startswith("^") and pattern.endswith("$")):
            problems.append(Problem(f"{path}.pattern", "ignored", "pattern not anchored ^...$"))
        fmt = node.get("format")
        if node.get("type") == "string" and isinstance(fmt, str) and fmt not in LLAMACPP_FORMATS:
            problems.append(Problem(f"{path}.format", "ignored", f"format {fmt!r} not supported"))
        if node.get("type") == "number" and {"minimum", "maximum"} & set(node):
            problems.append(Problem(path, "ignored", "minimum/maximum on a number"))
    return problems


def _openai_schema_name(part: Mapping[str, Any], where: str) -> list[Problem]:
    name = part.get("name")
    if not isinstance(name, str) or not name:
        return [Problem(f"{where}.name", "rejected", "a name is required")]
    if len(name) > 64 or not all(c.isalnum() or c in "_-" for c in name):
        return [Problem(f"{where}.name", "rejected", "name must match ^[a-zA-Z0-9_-]{1,64}$")]
    return []


def _named_tool_choice(body: Mapping[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping):
        fn = choice.get("function")
        if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
            return fn["name"]
        return ""
    return None


# ----------------------------------------------------------------------------------------------
# The checkers
# ----------------------------------------------------------------------------------------------


def check_openai(body: Mapping[str, Any]) -> list[Problem]:
    """OpenAI's own API (api.openai.com).

    From https://platform.openai.com/docs/api-reference/chat/create and
    https://platform.openai.com/docs/guides/structured-outputs: an unrecognised top-level
    argument is refused with HTTP 400 (``Unrecognized request argument supplied``);
    ``response_format`` is ``text``, ``json_object`` or ``json_schema``, the last with
    ``json_schema.name`` (``^[a-zA-Z0-9_-]{1,64}$``) and ``json_schema.schema``; with
    ``strict: true`` every object must set ``additionalProperties: false`` and list all its
    properties in ``required``; a named ``tool_choice`` must name a declared tool.
    """
    problems = [
        Problem(key, "rejected", "unrecognized request argument")
        for key in sorted(set(body) - OPENAI_FIELDS)
    ]
    kind, response_format = _response_format(body)
    if kind is not None and kind not in ("text", "json_object", "json_schema"):
        problems.append(Problem("response_format.type", "rejected", f"unknown type {kind!r}"))
    if kind == "json_schema":
        part = _json_schema_part(response_format)
        where = "response_format.json_schema"
        if part is None or not isinstance(part.get("schema"), Mapping):
            problems.append(Problem(where, "rejected", "json_schema.schema is required"))
        else:
            problems += _openai_schema_name(part, where)
            if part.get("strict") is True:
                for path, node in _walk(part["schema"], f"{where}.schema"):
                    props = node.get("properties")
                    if not isinstance(props, Mapping):
                        continue
                    if node.get("additionalProperties") is not False:
                        problems.append(
                            Problem(path, "rejected", "strict needs additionalProperties: false")
                        )
                    if set(props) - set(node.get("required") or []):
                        problems.append(
                            Problem(path, "rejected", "strict needs every property required")
                        )
    named = _named_tool_choice(body)
    if named is not None and named not in _tool_names(body):
        problems.append(Problem("tool_choice", "rejected", f"no tool named {named!r}"))
    return problems


def check_vllm(body: Mapping[str, Any], *, auto_tool_choice: bool = False) -> list[Problem]:
    """vLLM's OpenAI-compatible server (``vllm serve``), v0.12 and later.

    From https://docs.vllm.ai/en/latest/features/structured_outputs/: ``guided_json``,
    ``guided_regex``, ``guided_choice``, ``guided_grammar``, ``guided_whitespace_pattern`` and
    ``guided_decoding_backend`` were removed in v0.12.0 for ``structured_outputs`` (``json``,
    ``regex``, ``choice``, ``grammar``...); ``response_format`` ``json_schema`` is accepted.
    The request models (vllm/entrypoints/openai/.../protocol.py) allow extra fields and only
    log them, so a removed field is ignored and the output is not constrained.
    ``ResponseFormat.type`` is ``text``, ``json_object``, ``json_schema`` (or
    ``structural_tag``) and ``JsonSchemaResponseFormat.name`` is required (a 400 otherwise).
    From https://docs.vllm.ai/en/latest/features/tool_calling/: named function calling works by
    default; ``tool_choice: "auto"`` needs ``--enable-auto-tool-choice`` and
    ``--tool-call-parser`` (``auto_tool_choice=True`` says the server was started so).
    vLLM's schema backends (xgrammar, guidance) cover ``$ref``/``$defs``, ``anyOf``, ``enum``,
    ``minLength``, ``minItems`` and the ``date`` format, and ``auto`` falls back to guidance
    for the rest, so the schema itself is not checked here.
    """
    removed = "removed in vLLM v0.12.0 (use structured_outputs or response_format)"
    problems = [
        Problem(key, "ignored", f"{removed}; the output is NOT constrained")
        for key in sorted(VLLM_REMOVED_FIELDS & set(body))
    ]
    kind, response_format = _response_format(body)
    if kind is not None and kind not in ("text", "json_object", "json_schema", "structural_tag"):
        problems.append(Problem("response_format.type", "rejected", f"unknown type {kind!r}"))
    if kind == "json_schema":
        part = _json_schema_part(response_format)
        where = "response_format.json_schema"
        if part is None:
            problems.append(Problem(where, "rejected", "json_schema object is required"))
        else:
            if not isinstance(part.get("name"), str):
                problems.append(Problem(f"{where}.name", "rejected", "name is required"))
            if not isinstance(part.get("schema"), Mapping):
                problems.append(Problem(f"{where}.schema", "ignored", "no schema: unconstrained"))
    structured = body.get("structured_outputs")
    if structured is not None and not isinstance(structured, Mapping):
        problems.append(Problem("structured_outputs", "rejected", "must be an object"))
    choice = body.get("tool_choice")
    if choice == "auto" and body.get("tools") and not auto_tool_choice:
        problems.append(
            Problem(
                "tool_choice",
                "rejected",
                '"auto" needs the server started with --enable-auto-tool-choice '
                "and --tool-call-parser",
            )
        )
    named = _named_tool_choice(body)
    if named is not None and named not in _tool_names(body):
        problems.append(Problem("tool_choice", "rejected", f"no tool named {named!r}"))
    return problems


def check_llamacpp(body: Mapping[str, Any], *, jinja: bool = True) -> list[Problem]:
    """llama.cpp's server (``llama-server``).

    From https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md and the
    request parsing in tools/server/server-common.cpp (``oaicompat_chat_params_parse``):
    ``response_format`` ``{"type": "json_schema", "json_schema": {"schema": ...}}`` and
    ``{"type": "json_object", "schema": ...}`` constrain the answer through a grammar (``name``
    and ``strict`` are not used; the schema is not shown to the model); another type is refused
    (``response_format type must be one of "text" or "json_object"``). ``tool_choice`` is read
    as a string (``json_value(body, "tool_choice", "auto")``) whose values are ``auto``,
    ``none`` and ``required`` (common/chat.cpp); OpenAI's named-function object does not read
    as a string and falls back to ``auto``, so the tool call is not forced. ``tools`` need the
    ``--jinja`` chat templates (the default in current builds; older ones refuse with "tools
    param requires --jinja flag"); ``jinja=False`` models such a server. Other fields are passed
    on as llama.cpp sampling parameters and unknown ones are dropped (``guided_json`` does
    nothing). The schema's limits are in :func:`_llamacpp_schema_problems`.
    """
    problems: list[Problem] = [
        Problem(key, "ignored", "not a llama.cpp parameter; the output is NOT constrained")
        for key in sorted(VLLM_REMOVED_FIELDS & set(body))
    ]
    kind, response_format = _response_format(body)
    if kind is not None and kind not in ("", "text", "json_object", "json_schema"):
        problems.append(
            Problem(
                "response_format.type",
                "rejected",
                'must be one of "text", "json_object" or "json_schema"',
            )
        )
    if kind == "json_schema":
        part = _json_schema_part(response_format)
        if part is None or not isinstance(part.get("schema"), Mapping):
            problems.append(
                Problem(
                    "response_format.json_schema.schema",
                    "ignored",
                    "no schema under json_schema: unconstrained",
                )
            )
        if "schema" in response_format:
            problems.append(
                Problem("response_format.schema", "ignored", "read only with type json_object")
            )
    if body.get("tools"):
        if not jinja:
            problems.append(Problem("tools", "rejected", "tools param requires --jinja flag"))
        named = _named_tool_choice(body)
        if named is not None:
            problems.append(
                Problem(
                    "tool_choice",
                    "ignored",
                    "a named-function object reads as 'auto': the tool call is not forced "
                    "(use IMR_LLM_MODE=json_schema)",
                )
            )
        elif body.get("tool_choice") not in (None, "auto", "none", "required"):
            problems.append(Problem("tool_choice", "rejected", "invalid tool_choice"))
    for where, schema in _schemas_in(body):
        problems += _llamacpp_schema_problems(where, schema)
    return problems


def check_ollama(body: Mapping[str, Any]) -> list[Problem]:
    """Ollama's OpenAI-compatible endpoint (``/v1/chat/completions``), v0.5.0 and later.

    From https://docs.ollama.com/api/openai-compatibility (supported request fields: no
    ``tool_choice``) and openai/openai.go (``ChatCompletionRequest``, ``FromChatRequest``):
    ``response_format`` ``json_object`` becomes ``format: "json"`` and ``json_schema`` becomes
    ``format: <json_schema.schema>`` (since v0.5.0, https://ollama.com/blog/structured-outputs);
    any other type, and a ``json_schema`` without ``schema``, leave the answer unconstrained
    without an error. Fields the struct does not declare are dropped by Go's JSON decoding
    (``tool_choice``, ``guided_json``...), so a named tool call is not forced. The schema goes
    to llama.cpp's converter (llm/llama_server.go), so it has llama.cpp's limits.
    """
    problems: list[Problem] = [
        Problem(key, "ignored", "not an Ollama field; the output is NOT constrained")
        for key in sorted(VLLM_REMOVED_FIELDS & set(body))
    ]
    kind, response_format = _response_format(body)
    if kind is not None and kind.strip().lower() not in ("", "text", "json_object", "json_schema"):
        problems.append(
            Problem("response_format.type", "ignored", f"type {kind!r} is not read: unconstrained")
        )
    if kind == "json_schema":
        part = _json_schema_part(response_format)
        if part is None or not isinstance(part.get("schema"), Mapping):
            problems.append(
                Problem(
                    "response_format.json_schema.schema",
                    "ignored",
                    "no schema under json_schema: unconstrained",
                )
            )
    if body.get("tools") and _named_tool_choice(body) is not None:
        problems.append(
            Problem(
                "tool_choice",
                "ignored",
                "not supported: the tool call is not forced (use IMR_LLM_MODE=json_schema)",
            )
        )
    for where, schema in _schemas_in(body):
        if where.startswith("response_format"):
            problems += _llamacpp_schema_problems(where, schema)
    return problems


CHECKERS: dict[str, Callable[[Mapping[str, Any]], list[Problem]]] = {
    "openai": check_openai,
    "vllm": check_vllm,
    "llamacpp": check_llamacpp,
    "ollama": check_ollama,
}


def check_request(flavour: str, body: Mapping[str, Any]) -> list[Problem]:
    """What the ``flavour`` server would reject or ignore in ``body`` (empty: it takes it)."""
    try:
        checker = CHECKERS[flavour]
    except KeyError:
        raise ValueError(
            f"unknown flavour {flavour!r}; choose one of {', '.join(FLAVOURS)}"
        ) from None
    return checker(body)
