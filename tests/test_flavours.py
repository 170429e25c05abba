"""The request each mode sends, against what vLLM, llama.cpp's server and Ollama take.

The test server in a ``flavour`` answers 400 with :mod:`imr_llm.testing.flavours`' findings
when that server would refuse a request or silently drop its structured-output parts. What
each server takes was read from its documentation and source (cited in the checkers); no
live server runs here, so these tests hold the request's shape, not a model's answers.

Expected outcomes are written out below from that reading: named tool calls are forced by
OpenAI and vLLM only; llama.cpp reads ``tool_choice`` as a string and Ollama does not read it,
so ``tools`` mode is not forced there, and ``json_schema`` is the mode that works everywhere.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import openai
import pytest

from imr_llm import ModelRequestError, extract
from imr_llm.config import load_settings
from imr_llm.llm.extractor import request_body
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.flavours import (
    FLAVOURS,
    check_llamacpp,
    check_ollama,
    check_openai,
    check_request,
    check_vllm,
)
from imr_llm.testing.oracle import ideal_answer
from tests.conftest import gold_label, gold_text

NAME = "gA01"
MODES = ("tools", "json_schema", "json", "md_json")
#: (flavour, mode) pairs the server does not take as sent, and the field it names.
NOT_TAKEN = {("llamacpp", "tools"): "tool_choice", ("ollama", "tools"): "tool_choice"}

# The httpx the openai client is built on (httpx for openai 2, its own copy httpx2 for 3).
_httpx = sys.modules[openai.DefaultHttpxClient.__mro__[1].__module__.split(".")[0]]


class _Rewrite(_httpx.BaseTransport):  # type: ignore[misc,name-defined]
    """Changes each request body on its way out: a client configured the wrong way."""

    def __init__(self, change: Callable[[dict[str, Any]], None]) -> None:
        self._inner = _httpx.HTTPTransport()
        self._change = change

    def handle_request(self, request: Any) -> Any:
        body = json.loads(request.content)
        self._change(body)
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        changed = _httpx.Request(request.method, request.url, headers=headers, json=body)
        return self._inner.handle_request(changed)

    def close(self) -> None:
        self._inner.close()


def _client(server: FakeOpenAIServer, change: Callable[[dict], None] | None = None):
    http = openai.DefaultHttpxClient(transport=_Rewrite(change)) if change else None
    return openai.OpenAI(base_url=server.base_url, api_key="test", http_client=http)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_each_mode_against_each_server(flavour: str, mode: str) -> None:
    with FakeOpenAIServer(flavour=flavour) as server:
        server.enqueue(Step.answer(ideal_answer(gold_label(NAME))))
        if (flavour, mode) in NOT_TAKEN:
            with pytest.raises(ModelRequestError) as caught:
                extract(gold_text(NAME), backend="llm", client=_client(server), mode=mode)
            error = caught.value
            assert error.status == 400 and error.requests == 1  # refused once, not retried
            assert NOT_TAKEN[flavour, mode] in error.server_message
            assert f"{flavour} server" in error.server_message
            assert "json_schema" in error.server_message  # it says what to use instead
        else:
            record = extract(gold_text(NAME), backend="llm", client=_client(server), mode=mode)
            assert record.contract_dict() == gold_label(NAME)
        assert len(server.chat_requests) == 1


def _to_guided_json(body: dict) -> None:
    """The pre-v0.12 vLLM recipe: the schema in ``guided_json`` instead of response_format."""
    body["guided_json"] = body.pop("response_format")["json_schema"]["schema"]


def _schema_unwrapped(body: dict) -> None:
    """``{"type": "json_schema", "schema": ...}``: the schema not under ``json_schema``."""
    body["response_format"] = {"type": "json_schema", "schema": _schema_of(body)}


def _schema_of(body: dict) -> dict:
    return body["response_format"]["json_schema"]["schema"]


@pytest.mark.parametrize(
    ("flavour", "change", "named"),
    [
        ("vllm", _to_guided_json, "guided_json: ignored: removed in vLLM v0.12.0"),
        ("openai", _to_guided_json, "guided_json: rejected: unrecognized request argument"),
        ("llamacpp", _to_guided_json, "guided_json: ignored"),
        ("ollama", _to_guided_json, "guided_json: ignored"),
        ("openai", _schema_unwrapped, "json_schema.schema is required"),
        ("vllm", _schema_unwrapped, "response_format.json_schema: rejected"),
        ("llamacpp", _schema_unwrapped, "response_format.json_schema.schema: ignored"),
        ("ollama", _schema_unwrapped, "response_format.json_schema.schema: ignored"),
    ],
)
def test_a_wrong_shape_fails_with_a_clear_400(
    flavour: str, change: Callable[[dict], None], named: str
) -> None:
    with FakeOpenAIServer(flavour=flavour) as server:
        server.enqueue(Step.answer(ideal_answer(gold_label(NAME))))
        client = _client(server, change)
        with pytest.raises(ModelRequestError) as caught:
            extract(gold_text(NAME), backend="llm", client=client, mode="json_schema")
        assert caught.value.status == 400
        assert named in caught.value.server_message
        assert "400" in str(caught.value)


def test_the_same_wrong_shape_passes_a_server_without_a_flavour() -> None:
    """Without a flavour the test server checks nothing: the 400s above are the checkers'."""
    with FakeOpenAIServer() as server:
        server.enqueue(Step.answer(ideal_answer(gold_label(NAME))))
        record = extract(
            gold_text(NAME),
            backend="llm",
            client=_client(server, _to_guided_json),
            mode="json_schema",
        )
        assert record.contract_dict() == gold_label(NAME)
        assert "guided_json" in server.chat_requests[0].body


@pytest.mark.parametrize("mode", MODES)
def test_what_each_server_takes_of_each_mode(mode: str) -> None:
    """The table the README's recipes rest on, on the bodies the extractor builds."""
    body = request_body("letter text", load_settings(mode=mode))
    for flavour in FLAVOURS:
        problems = check_request(flavour, body)
        if (flavour, mode) in NOT_TAKEN:
            assert [p.where for p in problems] == [NOT_TAKEN[flavour, mode]]
            assert problems[0].effect == "ignored"
        else:
            assert problems == [], (flavour, mode, problems)


def test_json_schema_mode_sends_the_common_ground() -> None:
    """``response_format`` ``json_schema`` with ``name`` and ``schema``; no vLLM-only field."""
    body = request_body("letter text", load_settings(mode="json_schema"))
    assert body["response_format"]["type"] == "json_schema"
    part = body["response_format"]["json_schema"]
    assert part["name"] == "LetterAnswer" and part["schema"]["type"] == "object"
    assert "strict" not in part  # strict would make OpenAI refuse this schema (see below)
    assert not {"guided_json", "structured_outputs", "tools"} & set(body)


# -- the checkers on their own -------------------------------------------------------------


def _body(**extra: Any) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": "x"}], **extra}


def _rf(schema: dict, **extra: Any) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "A", "schema": schema, **extra}}


OBJ = {"type": "object", "properties": {"a": {"type": "string"}}}


def test_openai_strict_needs_closed_objects_with_every_property_required() -> None:
    problems = check_openai(_body(response_format=_rf(OBJ, strict=True)))
    assert sorted(p.message for p in problems) == [
        "strict needs additionalProperties: false",
        "strict needs every property required",
    ]
    closed = {**OBJ, "additionalProperties": False, "required": ["a"]}
    assert check_openai(_body(response_format=_rf(closed, strict=True))) == []
    ours = request_body("x", load_settings(mode="json_schema"))
    ours["response_format"]["json_schema"]["strict"] = True
    assert any("strict" in p.message for p in check_openai(ours))


def test_openai_schema_names_and_tool_choice() -> None:
    bad_name = _body(response_format={"type": "json_schema", "json_schema": {"schema": OBJ}})
    assert [p.where for p in check_openai(bad_name)] == ["response_format.json_schema.name"]
    spaced = _rf(OBJ)
    spaced["json_schema"]["name"] = "Letter Answer"
    assert check_openai(_body(response_format=spaced))[0].effect == "rejected"
    tools = [{"type": "function", "function": {"name": "f", "parameters": OBJ}}]
    wrong = {"type": "function", "function": {"name": "g"}}
    assert [p.where for p in check_openai(_body(tools=tools, tool_choice=wrong))] == ["tool_choice"]


def test_vllm_auto_tool_choice_needs_the_server_flags() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": OBJ}}]
    body = _body(tools=tools, tool_choice="auto")
    assert [p.effect for p in check_vllm(body)] == ["rejected"]
    assert check_vllm(body, auto_tool_choice=True) == []
    structured = _body(structured_outputs={"json": OBJ})
    assert check_vllm(structured) == []
    assert check_vllm(_body(response_format={"type": "yaml"}))[0].effect == "rejected"


def test_llamacpp_schema_limits() -> None:
    nested = {
        "$defs": {
            "B": {"type": "object", "properties": {"c": {"$ref": "#/$defs/C"}}},
            "C": {"type": "string"},
        },
        "type": "object",
        "properties": {"b": {"$ref": "#/$defs/B"}, "d": {"$ref": "#/$defs/C"}},
    }
    problems = check_llamacpp(_body(response_format=_rf(nested)))
    assert [p.where for p in problems] == [
        "response_format.json_schema.schema.properties.b.$ref"
    ]  # B holds a $ref: nested; C does not
    mixed = {**OBJ, "anyOf": [{"required": ["a"]}], "uniqueItems": True}
    wheres = {p.where for p in check_llamacpp(_body(response_format=_rf(mixed)))}
    assert wheres == {
        "response_format.json_schema.schema",
        "response_format.json_schema.schema.uniqueItems",
    }
    formats = {"type": "object", "properties": {"e": {"type": "string", "format": "email"}}}
    assert "format 'email'" in check_llamacpp(_body(response_format=_rf(formats)))[0].message
    dated = {"type": "string", "format": "date", "pattern": "^[0-9-]+$", "minLength": 10}
    assert check_llamacpp(_body(response_format=_rf(dated))) == []


def test_llamacpp_tools_and_response_format() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": OBJ}}]
    assert check_llamacpp(_body(tools=tools, tool_choice="required")) == []
    assert check_llamacpp(_body(tools=tools), jinja=False)[0].message.startswith("tools param")
    assert check_llamacpp(_body(response_format={"type": "json_object", "schema": OBJ})) == []
    assert check_llamacpp(_body(response_format={"type": "xml"}))[0].effect == "rejected"


def test_ollama_drops_what_it_does_not_read() -> None:
    assert check_ollama(_body(response_format={"type": "json_object"})) == []
    odd = check_ollama(_body(response_format={"type": "structural_tag"}))
    assert [(p.where, p.effect) for p in odd] == [("response_format.type", "ignored")]
    deep = {"type": "object", "properties": {"x": {"not": {"type": "null"}}}}
    assert check_ollama(_body(response_format=_rf(deep)))[0].where.endswith(".not")


def test_unknown_flavours_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown flavour"):
        check_request("tgi", _body())
    with pytest.raises(ValueError, match="unknown flavour"):
        FakeOpenAIServer(flavour="tgi")
