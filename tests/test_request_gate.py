"""The transport's request gate (imr_llm.llm.transport.set_request_gate), without Ray: asked
before every request, told after each, and told of every wait the server asks for."""

from __future__ import annotations

import threading

import pytest

from imr_llm import extract
from imr_llm.llm.transport import set_request_gate
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.oracle import GoldResponder
from tests.conftest import GOLD, gold_text


class RecordingGate:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = self.most = 0
        self.acquired: list[int] = []
        self.released: list[int] = []
        self.pauses: list[float] = []

    def acquire(self) -> int:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.acquired.append(len(self.acquired))
            return self.acquired[-1]

    def release(self, token: int) -> None:
        with self.lock:
            self.in_flight -= 1
            self.released.append(token)

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)


@pytest.fixture
def gate():
    recording = RecordingGate()
    previous = set_request_gate(recording)
    yield recording
    set_request_gate(previous)


def test_every_request_passes_the_gate_and_retry_after_is_passed_on(gate: RecordingGate) -> None:
    oracle = GoldResponder.from_gold_dir(GOLD)
    with FakeOpenAIServer(responder=oracle) as server:
        server.enqueue(Step.error(429, retry_after=0.05), Step.error(503))
        record = extract(gold_text("gA01"), backend="llm", base_url=server.base_url,
                         api_key="k", model="fake-model")  # fmt: skip
        requests = len(server.chat_requests)
    assert record.metadata is not None and record.metadata.transport_retries == 2
    assert requests == 3 and gate.acquired == [0, 1, 2] and sorted(gate.released) == [0, 1, 2]
    assert gate.pauses == [0.05]  # the 503 asked for no wait: nothing to pass on
    assert gate.in_flight == 0


async def test_the_async_path_passes_the_gate_too(gate: RecordingGate) -> None:
    from imr_llm import aextract

    oracle = GoldResponder.from_gold_dir(GOLD)
    with FakeOpenAIServer(responder=oracle) as server:
        server.enqueue(Step.error(429, retry_after=0.05))
        await aextract(gold_text("gA02"), backend="llm", base_url=server.base_url, api_key="k",
                       model="fake-model")  # fmt: skip
    assert len(gate.acquired) == 2 and len(gate.released) == 2 and gate.pauses == [0.05]
