"""The cascade hands a file's rules record to the model when the OCR read a value's place badly.

Low OCR confidence is known only once the record is set beside its input (``metadata.input``),
after the rules engine has run; a rules record flagged then is what the cascade exists to send
on, exactly as one flagged by its own self-checks.
"""

from __future__ import annotations

import asyncio

import openai
import pytest

from imr_llm import aextract_file, extract_file
from imr_llm.inputs import pdf as pdf_module
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.oracle import ideal_answer
from tests.conftest import gold_label, gold_text
from tests.test_pdf import LETTER, FakeOcr, build_pdf, paged


def _scans(confidence_of_decision_line: float) -> tuple[bytes, FakeOcr]:
    """A scanned PDF of the gold letter and an engine 'reading' its lines, the decision date's
    line at the given confidence and every other line at 0.97."""
    pages = paged(gold_text(LETTER))
    scripted = [
        [(t, confidence_of_decision_line if t.startswith("Decision Date:") else 0.97) for t in p]
        for p in pages
    ]
    return build_pdf([None] * len(pages)), FakeOcr(scripted)


@pytest.fixture
def engine_for(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    pytest.importorskip("PIL")

    def install(engine: FakeOcr) -> None:
        monkeypatch.setattr(pdf_module, "ocr_engine", lambda name=None: engine)

    return install


def test_a_well_read_scan_stays_with_the_rules(fake_server: FakeOpenAIServer, engine_for) -> None:  # type: ignore[no-untyped-def]
    data, engine = _scans(0.97)
    engine_for(engine)
    client = openai.OpenAI(base_url=fake_server.base_url, api_key="x", max_retries=0)
    record = extract_file(data, backend="cascade", client=client)
    assert record.metadata.engine == "rules" and not record.metadata.needs_review
    assert fake_server.chat_requests == []


def test_a_value_on_a_badly_read_line_sends_the_letter_to_the_model(
    fake_server: FakeOpenAIServer, engine_for
) -> None:  # type: ignore[no-untyped-def]
    data, engine = _scans(0.41)
    engine_for(engine)
    fake_server.enqueue(Step.answer(ideal_answer(gold_label(LETTER))))
    client = openai.OpenAI(base_url=fake_server.base_url, api_key="x", max_retries=0)
    record = extract_file(data, backend="cascade", client=client)
    meta = record.metadata
    assert meta.engine == "llm" and meta.backend == "cascade"
    assert len(fake_server.chat_requests) == 1
    assert "decision_date" in meta.rules_failure and "low confidence" in meta.rules_failure
    # The model's record keeps where its text came from, and still names the badly read place.
    assert meta.input is not None and meta.input.text_from == "ocr"
    assert meta.needs_review and any("low confidence" in r for r in meta.review_reasons)
    assert record.contract_dict() == gold_label(LETTER)


def test_the_rules_backend_keeps_its_flagged_record(
    fake_server: FakeOpenAIServer, engine_for
) -> None:  # type: ignore[no-untyped-def]
    data, engine = _scans(0.41)
    engine_for(engine)
    record = extract_file(data, backend="rules")
    assert record.metadata.engine == "rules" and record.metadata.needs_review
    assert fake_server.chat_requests == []


def test_the_async_twin_hands_over_too(fake_server: FakeOpenAIServer, engine_for) -> None:  # type: ignore[no-untyped-def]
    data, engine = _scans(0.41)
    engine_for(engine)
    fake_server.enqueue(Step.answer(ideal_answer(gold_label(LETTER))))

    async def run():  # type: ignore[no-untyped-def]
        client = openai.AsyncOpenAI(base_url=fake_server.base_url, api_key="x", max_retries=0)
        return await aextract_file(data, backend="cascade", client=client)

    record = asyncio.run(run())
    assert record.metadata.engine == "llm" and "low confidence" in record.metadata.rules_failure
    assert len(fake_server.chat_requests) == 1


def test_a_batch_job_records_where_a_pdf_letters_text_came_from(
    fake_server: FakeOpenAIServer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """A PDF submitted as a batch gets, at collect, what extract_file gives it: its input and
    each span's page (the job keeps them beside the letter's text)."""
    import json

    from imr_llm.config import load_settings
    from imr_llm.jobs import collect, submit
    from imr_llm.testing.oracle import GoldResponder
    from tests.conftest import GOLD

    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(build_pdf(paged(gold_text(LETTER), lines_per_page=40)))
    fake_server.responder = GoldResponder.from_gold_dir(GOLD)
    client = openai.OpenAI(base_url=fake_server.base_url, api_key="x", max_retries=0)
    folder = tmp_path / "job"
    submit([str(pdf)], folder, settings=load_settings(model="gpt-4o-mini"), client=client)
    assert collect(folder, client=client, wait=True, poll_s=0).done == 1
    (row,) = [json.loads(x) for x in (folder / "records.jsonl").read_text().splitlines()]
    meta = row["metadata"]
    assert meta["input"]["kind"] == "pdf" and meta["input"]["text_from"] == "text_layer"
    assert meta["input"]["pages"] >= 2
    pages = {ev["span"]["page"] for ev in meta["evidence"].values() if ev["span"]}
    assert 1 in pages and max(pages) >= 2
    online = extract_file(pdf, backend="rules")
    assert {p: e["span"]["page"] for p, e in meta["evidence"].items() if e["span"]} == {
        p: e.span.page for p, e in online.metadata.evidence.items() if e.span
    }
