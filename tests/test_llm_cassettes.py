"""The LLM path replayed from cassettes, offline (record mode "none", network blocked).

The shipped cassettes were recorded against the local test server answering from the gold
labels, so here the records must equal the labels: that proves prompting, parsing, anchor
resolution and grounding end to end over real HTTP exchanges. It says nothing about model
quality. Re-record (see README) with ``--record-mode=rewrite``: against the local server by
default, or a live endpoint when IMR_LLM_RECORD_BASE_URL is set (then the records are only
checked for validity, since a real model may differ from the labels).
"""

from __future__ import annotations

import re
from pathlib import Path

import openai
import pytest

from imr_llm import extract
from tests.conftest import CASSETTE_LETTERS, REPO, gold_label, gold_text


@pytest.mark.vcr
@pytest.mark.parametrize("name", CASSETTE_LETTERS)
def test_llm_extraction_from_cassette(
    name: str, endpoint: tuple[str, str, bool], vcr, record_mode: str
) -> None:
    base_url, key, live = endpoint
    client = openai.OpenAI(base_url=base_url, api_key=key)
    record = extract(gold_text(name), backend="llm", client=client)
    assert record.metadata is not None and record.metadata.engine == "llm"
    if not live:
        assert record.contract_dict() == gold_label(name)
    if record_mode == "none":
        assert vcr.play_count == len(vcr.data) > 0
        assert vcr.all_played


SECRET_PATTERNS = [
    re.compile(r"sk-[A-Za-z0-9_-]{8,}"),
    re.compile(r"Bearer\s+\S+", re.IGNORECASE),
    re.compile(
        r"^\s*-?\s*(authorization|api-key|x-api-key|openai-organization|openai-project"
        r"|cookie|set-cookie)\s*:",
        re.IGNORECASE | re.MULTILINE,
    ),  # fmt: skip
    re.compile(r"(local-test-key|replay)\b(?!\.)"),
]


def _cassettes() -> list[Path]:
    return sorted((REPO / "cassettes").rglob("*.yaml"))


def test_cassettes_exist_and_say_what_they_were_recorded_against() -> None:
    import yaml

    files = _cassettes()
    assert len(files) >= len(CASSETTE_LETTERS)
    for path in files:
        meta = yaml.safe_load(path.read_text())["meta"]
        assert meta["recorded_against"], path
        assert "Not a measure of model quality" in meta["note"]


@pytest.mark.parametrize("path", _cassettes(), ids=lambda p: p.name)
def test_cassette_holds_no_secrets(path: Path) -> None:
    text = path.read_text()
    for pattern in SECRET_PATTERNS:
        assert not pattern.search(text), f"{path.name}: matches {pattern.pattern}"


class _Req:
    def __init__(self, body: dict) -> None:
        import json

        self.body = json.dumps(body).encode()


def test_matcher_ignores_volatile_keys_but_not_the_prompt() -> None:
    from imr_llm.testing.cassettes import json_body_matcher

    base = {"model": "a", "messages": [{"role": "user", "content": "letter"}]}
    json_body_matcher(_Req(base), _Req({**base, "model": "b", "seed": 7}))
    with_ids = {"messages": [{"role": "tool", "tool_call_id": "x1", "content": "e"}]}
    json_body_matcher(
        _Req(with_ids), _Req({"messages": [{**with_ids["messages"][0], "tool_call_id": "y2"}]})
    )
    with pytest.raises(AssertionError):
        json_body_matcher(
            _Req(base), _Req({**base, "messages": [{"role": "user", "content": "x"}]})
        )
