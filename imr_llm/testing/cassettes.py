"""Cassette plumbing for pytest-recording / vcrpy: matching, scrubbing, and provenance.

- Requests match on method, path and JSON body, ignoring keys that vary between runs (so a
  prompt or schema change makes replay fail until cassettes are deliberately re-recorded).
- Secrets never reach a cassette: authorization, api-key, organization and project headers and
  cookies are removed from requests and responses, and API keys or bearer tokens a server echoes
  in a response body (a 401's "Incorrect API key provided: sk-...") are redacted.
- Every cassette carries a ``meta`` block saying what it was recorded against. The shipped
  cassettes come from the local test server, whose answers are scripted from the gold labels:
  they prove the pipeline, never a model's quality.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any
from urllib.parse import urlparse

import yaml

from .._version import __version__
from ..errors import redact_secrets

#: Request keys that may differ between a recording and its replay without changing meaning.
VOLATILE_BODY_KEYS = frozenset({"model", "user", "seed", "metadata", "stream_options", "store"})
VOLATILE_MESSAGE_KEYS = frozenset({"tool_call_id", "id"})
SECRET_HEADERS = (
    "authorization",
    "api-key",
    "x-api-key",
    "openai-organization",
    "openai-project",
    "cookie",
    "set-cookie",
)
LIVE_ENDPOINT_ENV = "IMR_LLM_RECORD_BASE_URL"


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip(v)
            for k, v in value.items()
            if k not in VOLATILE_BODY_KEYS and k not in VOLATILE_MESSAGE_KEYS
        }
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def comparable_body(body: bytes | str | None) -> Any:
    """The request body as compared for matching: parsed JSON without volatile keys."""
    if body in (None, b"", ""):
        return None
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        return _strip(json.loads(text))
    except json.JSONDecodeError:
        return text


def json_body_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: raise AssertionError unless the two JSON bodies mean the same request."""
    if comparable_body(r1.body) != comparable_body(r2.body):
        raise AssertionError("JSON bodies differ (prompt, schema or letter changed?)")


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """Drop secret-bearing headers from a recorded response and redact keys in its body."""
    headers = response.get("headers") or {}
    for key in list(headers):
        if key.lower() in SECRET_HEADERS:
            del headers[key]
    body = response.get("body")
    if isinstance(body, dict) and body.get("string"):
        raw = body["string"]
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        except UnicodeDecodeError:
            return response  # binary (compressed) body: nothing textual to redact
        redacted = redact_secrets(text)
        if redacted != text:
            body["string"] = redacted.encode("utf-8") if isinstance(raw, bytes) else redacted
    return response


def recording_source() -> str:
    """What a recording made now is recorded against (host only: never a key)."""
    live = os.environ.get(LIVE_ENDPOINT_ENV)
    if live:
        return f"live endpoint {urlparse(live).hostname}"
    return (
        "local OpenAI-compatible test server (imr_llm.testing.fake_openai), "
        "answers scripted from gold labels"
    )


class ProvenanceSerializer:
    """YAML cassettes with a ``meta`` block; vcrpy itself ignores the extra key."""

    @staticmethod
    def serialize(cassette: dict[str, Any]) -> str:
        models = sorted(
            {
                json.loads(i["request"]["body"]).get("model", "?")
                for i in cassette.get("interactions", [])
                if i["request"].get("body")
            }
        )
        meta = {
            "recorded_against": recording_source(),
            "recorded_on": dt.date.today().isoformat(),
            "models": models,
            "imr_llm_version": __version__,
            "note": "Replayed offline by the test suite. Not a measure of model quality.",
        }
        return yaml.safe_dump({"meta": meta, **cassette}, sort_keys=False, allow_unicode=True)

    @staticmethod
    def deserialize(text: str) -> dict[str, Any]:
        data = yaml.safe_load(text) or {}
        data.pop("meta", None)
        return data


def vcr_config() -> dict[str, Any]:
    """The pytest-recording configuration every LLM cassette test uses."""
    return {
        "serializer": "yaml",
        "match_on": ["method", "path", "json_body"],
        "filter_headers": [(h, None) for h in SECRET_HEADERS],
        "filter_query_parameters": ["api-key", "key"],
        "before_record_response": scrub_response,
        "decode_compressed_response": True,
    }


def register(vcr: Any) -> None:
    """Register the matcher and serializer on a vcrpy ``VCR`` object."""
    vcr.register_matcher("json_body", json_body_matcher)
    vcr.register_serializer("yaml", ProvenanceSerializer)  # replaces the plain YAML one
