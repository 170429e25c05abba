"""Provider batch jobs (imr_llm.jobs) against the local test server's files and batches API.

The server stands in for OpenAI's Batch API: answers are scripted from the gold labels (or
deliberately wrong first), lines fail or expire on a script. The tests prove that a batch asks
exactly what the online path asks, validates and grounds answers exactly as online, re-asks in
follow-up batches, and never loses or duplicates a letter when collect is interrupted. They say
nothing about a model's quality.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest

from imr_llm import extract
from imr_llm.config import load_settings
from imr_llm.errors import BatchJobError, ConfigurationError
from imr_llm.jobs import collect, status, submit
from imr_llm.jobs import job as job_module
from imr_llm.jobs.store import JobFolder
from imr_llm.testing.fake_openai import BatchPlan, FakeOpenAIServer, Step, build_completion
from imr_llm.testing.oracle import ideal_answer, is_reask, letter_in_prompt, text_key
from tests.conftest import GOLD, gold_label, gold_text

NAMES = ["gA01", "gA02", "gA03"]


def client_for(server: FakeOpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test-key")


def wrong(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer the schema rejects (an outcome that is neither upheld nor overturned)."""
    bad = json.loads(json.dumps(answer))
    bad["items"][0]["outcome"] = "modified"
    return bad


class Script:
    """Answers each letter from its gold label; letters in ``wrong_first`` get a rejected first
    answer (then the right one), those in ``always_wrong`` never a right one."""

    def __init__(self, names: list[str], wrong_first=(), always_wrong=()) -> None:
        self.by_key = {text_key(gold_text(n)): n for n in names}
        self.wrong_first, self.always_wrong = set(wrong_first), set(always_wrong)

    def __call__(self, body: dict[str, Any]) -> Step | None:
        name = self.by_key.get(text_key(letter_in_prompt(body["messages"]) or ""))
        if name is None:
            return None
        right = ideal_answer(gold_label(name))
        if name in self.always_wrong or (
            name in self.wrong_first and not is_reask(body["messages"])
        ):
            return Step.answer(wrong(right))
        return Step.answer(right)


@pytest.fixture
def letters(tmp_path: Path) -> list[str]:
    folder = tmp_path / "letters"
    folder.mkdir()
    paths = []
    for name in NAMES:
        shutil.copy(GOLD / "letters" / f"{name}.txt", folder / f"{name}.txt")
        paths.append(str(folder / f"{name}.txt"))
    return paths


def records_of(folder: Path, output: str = "records.jsonl") -> list[dict[str, Any]]:
    path = folder / output
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {Path(r["metadata"]["source"]).stem: r for r in rows}


def contract(row: dict[str, Any]) -> dict[str, Any]:
    from imr_llm.record.models import DeterminationRecord

    return DeterminationRecord.model_validate(row).contract_dict()


def settings(**options: Any):
    return load_settings(model="gpt-4o-mini", **options)


# ----------------------------------------------------------------------------------------------
# The requests are the online requests
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["tools", "json_schema", "json", "md_json"])
def test_batch_lines_are_the_online_requests(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str], mode: str
) -> None:
    """First request and re-ask: the body captured online equals the batch line's body."""
    name, path = NAMES[0], letters[0]
    right = ideal_answer(gold_label(name))
    fake_server.enqueue(Step.answer(wrong(right)), Step.answer(right))
    extract(gold_text(name), backend="llm", client=client_for(fake_server), mode=mode,
            model="gpt-4o-mini")  # fmt: skip
    online = [r.body for r in fake_server.chat_requests]
    assert len(online) == 2
    fake_server.reset()

    fake_server.enqueue(Step.answer(wrong(right)), Step.answer(right))
    folder = tmp_path / "job"
    client = client_for(fake_server)
    submit([path], folder, settings=settings(mode=mode), client=client)
    collect(folder, client=client, wait=True, poll_s=0)
    lines = [body for _batch, _cid, body in fake_server.batches.lines]
    assert len(lines) == 2
    assert lines[0] == online[0]

    def without_call_ids(body: dict[str, Any]) -> str:
        # Each answer's tool call gets a fresh random id from the server; nothing else differs.
        text = json.dumps(body, sort_keys=True)
        for message in body["messages"]:
            for call in message.get("tool_calls") or []:
                text = text.replace(call["id"], "CALL")
            if message.get("tool_call_id"):
                text = text.replace(message["tool_call_id"], "CALL")
        return text

    assert without_call_ids(lines[1]) == without_call_ids(online[1])
    assert "modified" in json.dumps(lines[1]["messages"][2:])  # the rejected answer went back


def test_custom_id_is_the_content_hash_and_attempt(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    fake_server.responder = Script(NAMES, wrong_first=["gA02"])
    client = client_for(fake_server)
    submit(letters, tmp_path / "job", settings=settings(), client=client)
    collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    ids = [cid for _b, cid, _body in fake_server.batches.lines]
    digest = {n: hashlib.sha256(gold_text(n).encode()).hexdigest()[:32] for n in NAMES}
    assert sorted(ids) == sorted(
        [f"imr-{digest[n]}-a1" for n in NAMES] + [f"imr-{digest['gA02']}-a2"]
    )


# ----------------------------------------------------------------------------------------------
# Submit, status, collect
# ----------------------------------------------------------------------------------------------


def test_submit_status_collect(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    fake_server.responder = Script(NAMES)
    fake_server.batches.enqueue(BatchPlan(polls=2, shuffle=True))
    client = client_for(fake_server)
    folder = tmp_path / "job"
    sent = submit(letters, folder, settings=settings(), client=client)
    assert sent.pending == 3 and sent.batch_id is not None and not fake_server.batches.lines == []
    job = json.loads((folder / "job.json").read_text())
    assert [x["sha256"] for x in job["letters"]] == [
        hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in letters
    ]
    assert "api_key" not in json.dumps(job) and "test-key" not in json.dumps(job)

    assert status(folder, client=client).round_status == "in_progress"
    first = collect(folder, client=client)  # second poll: still running
    assert first.pending == 3 and first.written == 0 and not (folder / "records.jsonl").exists()
    done = collect(folder, client=client)
    assert done.finished and done.done == 3 and done.written == 3 and done.rounds == 1

    rows = by_name(records_of(folder))
    for name in NAMES:
        assert contract(rows[name]) == gold_label(name)
        meta = rows[name]["metadata"]
        assert meta["engine"] == "llm" and meta["backend"] == "batch"
        assert (
            meta["source_sha256"]
            == hashlib.sha256(Path(rows[name]["metadata"]["source"]).read_bytes()).hexdigest()
        )
        assert [a["outcome"] for a in meta["attempts"]] == ["ok"]
        assert meta["usage"]["prompt_tokens"] > 0 and not meta["needs_review"]
        assert meta["evidence"]["items[0].service"]["status"] == "exact"
    # Run again: nothing new is written, nothing sent.
    batches = len(fake_server.batches.batches)
    again = collect(folder, client=client)
    assert again.written == 0 and len(records_of(folder)) == 3
    assert len(fake_server.batches.batches) == batches


def test_usage_and_cost_match_online_at_the_batch_price(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    script = Script(NAMES, wrong_first=["gA01"])
    fake_server.responder = script
    online = {
        n: extract(gold_text(n), backend="llm", client=client_for(fake_server), model="gpt-4o-mini")
        for n in NAMES
    }
    client = client_for(fake_server)
    submit(letters, tmp_path / "job", settings=settings(), client=client)
    rep = collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    assert rep.rounds == 2  # one follow-up batch for the re-ask of gA01
    rows = by_name(records_of(tmp_path / "job"))
    for name in NAMES:
        meta, want = rows[name]["metadata"], online[name].metadata
        assert want is not None
        assert meta["usage"] == want.usage.model_dump(mode="json")
        assert [a["usage"] for a in meta["attempts"]] == [
            a.usage.model_dump(mode="json") for a in want.attempts
        ]
        assert [a["outcome"] for a in meta["attempts"]] == [a.outcome for a in want.attempts]
        assert meta["attempts"][0]["errors"] == want.attempts[0].errors
        assert want.cost_usd is not None and meta["cost_usd"] == pytest.approx(
            want.cost_usd * 0.5, abs=2e-6
        )
        assert contract(rows[name]) == online[name].contract_dict()


@pytest.mark.parametrize("priced_at_submit", [False, True], ids=["table-prices", "set-prices"])
def test_a_job_keeps_the_prices_it_was_submitted_with(
    fake_server: FakeOpenAIServer,
    tmp_path: Path,
    letters: list[str],
    monkeypatch: pytest.MonkeyPatch,
    priced_at_submit: bool,
) -> None:
    """Prices unset at submit stay unset (the price table's) when another shell with
    IMR_LLM_PRICE_* set collects the job: its cost never depends on who collects it."""
    from imr_llm.llm.pricing import estimate_cost
    from imr_llm.record.models import TokenUsage

    for var in ("IMR_LLM_PRICE_INPUT", "IMR_LLM_PRICE_OUTPUT"):
        monkeypatch.delenv(var, raising=False)
    fake_server.responder = Script(NAMES)
    client = client_for(fake_server)
    prices = {"price_input": 1.0, "price_output": 2.0} if priced_at_submit else {}
    submit(letters[:1], tmp_path / "job", settings=settings(**prices), client=client)
    monkeypatch.setenv("IMR_LLM_PRICE_INPUT", "1000")  # the collecting shell's prices
    monkeypatch.setenv("IMR_LLM_PRICE_OUTPUT", "3000")
    collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    meta = records_of(tmp_path / "job")[0]["metadata"]
    usage = TokenUsage.model_validate(meta["usage"])
    online = estimate_cost("gpt-4o-mini", usage, prices.get("price_input"),
                           prices.get("price_output"))  # fmt: skip
    assert online is not None and meta["cost_usd"] == pytest.approx(online * 0.5, abs=2e-6)
    environment = estimate_cost("gpt-4o-mini", usage, 1000, 3000)
    assert environment is not None and meta["cost_usd"] < environment * 0.5 / 100


def test_answers_that_stay_wrong_end_as_online(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    """Up to max_attempts answers, then the same as online: here no valid answer at all, so the
    letter fails with ExtractionAttemptsExhaustedError."""
    fake_server.responder = Script(NAMES, always_wrong=["gA03"])
    client = client_for(fake_server)
    submit(letters, tmp_path / "job", settings=settings(max_attempts=2), client=client)
    rep = collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    assert rep.finished and rep.done == 2 and rep.failed == 1 and rep.rounds == 2
    failures = [
        json.loads(x)
        for x in (tmp_path / "job/records.jsonl.errors.jsonl").read_text().splitlines()
    ]
    assert len(failures) == 1
    row = failures[0]
    assert set(row) >= {"source", "path", "error", "type", "message"}
    assert (
        row["error"] == "attempts_exhausted" and row["type"] == "ExtractionAttemptsExhaustedError"
    )
    assert row["attempts"] == 2 and row["path"].endswith("gA03.txt")
    assert "Acupuncture" not in row["message"]  # no letter text


def test_failed_and_expired_lines_are_sent_again(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    fake_server.responder = Script(NAMES)
    target = hashlib.sha256(gold_text("gA02").encode()).hexdigest()[:32]
    fake_server.batches.enqueue(
        BatchPlan(fault=lambda cid, body: Step.error(503) if target in cid else None),
        BatchPlan(status="expired", answered=0),  # round 2: the window passes, nothing run
    )
    client = client_for(fake_server)
    submit(letters, tmp_path / "job", settings=settings(), client=client)
    rep = collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    assert rep.finished and rep.done == 3 and rep.rounds == 3
    meta = by_name(records_of(tmp_path / "job"))["gA02"]["metadata"]
    assert meta["transport_retries"] == 2 and len(meta["attempts"]) == 1


def test_refused_line_and_persistent_failures_are_typed(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    fake_server.responder = Script(NAMES)
    refused = hashlib.sha256(gold_text("gA01").encode()).hexdigest()[:32]
    flaky = hashlib.sha256(gold_text("gA02").encode()).hexdigest()[:32]

    def fault(cid: str, body: dict[str, Any]) -> Step | None:
        if refused in cid:
            return Step.error(400, message="context_length_exceeded for key sk-abcdef123456")
        return Step.drop() if flaky in cid else None

    plan = BatchPlan(fault=fault)
    fake_server.batches.enqueue(plan, plan, plan)
    client = client_for(fake_server)
    submit(letters, tmp_path / "job", settings=settings(transport_retries=1), client=client)
    rep = collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    assert rep.finished and rep.done == 1 and rep.failed == 2
    rows = {
        Path(r["path"]).stem: r
        for r in map(
            json.loads, (tmp_path / "job/records.jsonl.errors.jsonl").read_text().splitlines()
        )
    }
    assert rows["gA01"]["error"] == "model_request_error" and rows["gA01"]["status"] == 400
    assert "sk-abcdef123456" not in json.dumps(rows["gA01"])
    assert rows["gA02"]["error"] == "transport_error" and rows["gA02"]["requests"] == 2


def test_a_failed_batch_is_a_batch_job_error(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    fake_server.batches.enqueue(BatchPlan(status="failed"))
    client = client_for(fake_server)
    submit(letters, tmp_path / "job", settings=settings(), client=client)
    with pytest.raises(BatchJobError, match="failed as a whole.*scripted failure"):
        collect(tmp_path / "job", client=client)


def test_no_endpoint_is_a_batch_job_error(tmp_path: Path, letters: list[str], no_model_env) -> None:
    with pytest.raises(BatchJobError, match="no endpoint"):
        submit(letters, tmp_path / "job", settings=settings())
    assert not (tmp_path / "job").exists()


def test_same_text_twice_is_one_request_and_two_records(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    twin = tmp_path / "twin.txt"
    shutil.copy(letters[0], twin)
    missing = str(tmp_path / "nowhere.txt")
    fake_server.responder = Script(NAMES)
    client = client_for(fake_server)
    sent = submit(
        [letters[0], str(twin), letters[0], missing],
        tmp_path / "job",
        settings=settings(),
        client=client,
    )
    assert sent.letters == 3 and sent.failed == 1
    rep = collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    assert len(fake_server.batches.lines) == 1
    rows = records_of(tmp_path / "job")
    assert sorted(Path(r["metadata"]["source"]).name for r in rows) == ["gA01.txt", "twin.txt"]
    assert rep.done == 2 and rep.failed == 1
    failure = json.loads((tmp_path / "job/records.jsonl.errors.jsonl").read_text())
    assert failure["error"] == "unreadable_input" and failure["source"] == missing


# ----------------------------------------------------------------------------------------------
# Interrupted collects lose nothing and duplicate nothing
# ----------------------------------------------------------------------------------------------


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, target: Any, name: str, after: int) -> None:
    """Make ``target.name`` raise KeyboardInterrupt on its call number ``after + 1``."""
    real = getattr(target, name)
    calls = {"n": 0}

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == after + 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapped)


@pytest.mark.parametrize(
    ("target", "name", "after"),
    [
        (JobFolder, "save", 0),  # the batch's final status not saved yet
        (JobFolder, "save", 1),  # results downloaded, round 1 not saved as applied
        (JobFolder, "save", 2),  # round 1 applied, the follow-up uploaded, its file id not saved
        (JobFolder, "save", 3),  # the follow-up batch created, its id not saved
        (job_module, "_write_records", 0),  # job saved, no record written yet
        (job_module, "write_lines", 0),  # the follow-up requests file not written
    ],
)
def test_interrupted_collect_loses_and_duplicates_nothing(
    fake_server: FakeOpenAIServer,
    tmp_path: Path,
    letters: list[str],
    monkeypatch: pytest.MonkeyPatch,
    target: Any,
    name: str,
    after: int,
) -> None:
    fake_server.responder = Script(NAMES, wrong_first=["gA02", "gA03"])
    client = client_for(fake_server)
    folder = tmp_path / "job"
    submit(letters, folder, settings=settings(), client=client)
    with monkeypatch.context() as patch:
        _interrupt_at(patch, target, name, after)
        with pytest.raises(KeyboardInterrupt):
            collect(folder, client=client)
    rep = collect(folder, client=client, wait=True, poll_s=0)
    assert rep.finished and rep.done == 3 and rep.failed == 0
    rows = records_of(folder)
    assert sorted(Path(r["metadata"]["source"]).stem for r in rows) == NAMES  # once each
    for row in rows:
        assert contract(row) == gold_label(Path(row["metadata"]["source"]).stem)
    assert len(fake_server.batches.batches) == 2  # never a batch created twice
    assert (
        sorted(cid[-2:] for _b, cid, _body in fake_server.batches.lines) == ["a1"] * 3 + ["a2"] * 2
    )


def test_torn_record_line_is_set_aside_and_rewritten(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    fake_server.responder = Script(NAMES)
    client = client_for(fake_server)
    folder = tmp_path / "job"
    submit(letters, folder, settings=settings(), client=client)
    collect(folder, client=client, wait=True, poll_s=0)
    output = folder / "records.jsonl"
    lines = output.read_text().splitlines(keepends=True)
    output.write_text(lines[0] + lines[1][:50])  # killed mid-write of the second record
    rep = collect(folder, client=client)
    assert rep.written == 2
    assert sorted(Path(r["metadata"]["source"]).stem for r in records_of(folder)) == NAMES
    assert (folder / "records.jsonl.torn").exists()


def test_damaged_folder_is_a_batch_job_error(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    fake_server.responder = Script(NAMES)
    client = client_for(fake_server)
    folder = tmp_path / "job"
    submit(letters, folder, settings=settings(), client=client)
    requests = folder / "round-001.requests.jsonl"
    requests.write_text(requests.read_text().replace("gpt-4o-mini", "gpt-4o"))
    with pytest.raises(BatchJobError, match="damaged"):
        collect(folder, client=client, wait=True, poll_s=0)
    (folder / "job.json").write_text("{")
    with pytest.raises(BatchJobError, match="damaged"):
        status(folder, client=client)
    with pytest.raises(BatchJobError, match="no batch job folder"):
        status(tmp_path / "nothing", client=client)


# ----------------------------------------------------------------------------------------------
# Offline: vllm run-batch or any engine reading the same JSONL
# ----------------------------------------------------------------------------------------------


def run_elsewhere(requests: Path, results: Path, answer: Callable[[dict], Step | None]) -> None:
    """What ``vllm run-batch -i requests -o results`` does, with scripted answers."""
    rows = []
    for n, line in enumerate(requests.read_text().splitlines()):
        req = json.loads(line)
        assert req["method"] == "POST" and req["url"] == "/v1/chat/completions"
        step = answer(req["body"])
        assert step is not None
        rows.append({"id": f"vllm-{n}", "custom_id": req["custom_id"], "error": None,
                     "response": {"status_code": 200, "request_id": f"r{n}",
                                  "body": build_completion(req["body"], step)}})  # fmt: skip
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_offline_rounds_through_results_files(
    tmp_path: Path, letters: list[str], no_model_env
) -> None:
    folder = tmp_path / "job"
    script = Script(NAMES, wrong_first=["gA01"])
    rep = submit(letters, folder, settings=settings(), offline=True)
    assert rep.offline_file == folder / "round-001.requests.jsonl" and rep.pending == 3
    assert collect(folder).pending == 3  # nothing to read yet: still pending, nothing sent
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"custom_id": "imr-x-a1", "response": None, "error": None}) + "\n")
    with pytest.raises(BatchJobError, match="answers none"):
        collect(folder, results=other)
    results = tmp_path / "results-1.jsonl"
    run_elsewhere(rep.offline_file, results, script)
    second = collect(folder, results=results)
    assert second.done == 2 and second.pending == 1
    assert second.offline_file == folder / "round-002.requests.jsonl"
    again = collect(folder, results=results)  # the same command run again: already applied
    assert (again.done, again.pending, again.rounds) == (2, 1, 2)
    run_elsewhere(second.offline_file, tmp_path / "results-2.jsonl", script)
    final = collect(folder, results=tmp_path / "results-2.jsonl")
    assert final.finished and final.done == 3
    assert collect(folder, results=tmp_path / "results-2.jsonl").written == 0
    with pytest.raises(BatchJobError, match="no round"):
        collect(folder, results=other)
    rows = by_name(records_of(folder))
    assert [a["outcome"] for a in rows["gA01"]["metadata"]["attempts"]] == ["invalid", "ok"]
    assert all(contract(rows[n]) == gold_label(n) for n in NAMES)


# ----------------------------------------------------------------------------------------------
# The test server's files and batches endpoints, through the openai client's own types
# ----------------------------------------------------------------------------------------------


def test_fake_batches_api_shapes(fake_server: FakeOpenAIServer) -> None:
    client = client_for(fake_server)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    lines = [{"custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions", "body": body}
             for i in range(3)]  # fmt: skip
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    uploaded = client.files.create(file=("in.jsonl", data), purpose="batch")
    assert uploaded.object == "file" and uploaded.bytes == len(data) and uploaded.purpose == "batch"
    assert client.files.content(uploaded.id).content == data
    fake_server.enqueue(Step.answer({"a": 1}), Step.error(500))
    fake_server.batches.enqueue(BatchPlan(status="expired", answered=2, polls=1))
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h", metadata={"k": "v"})  # fmt: skip
    assert batch.status == "validating" and batch.metadata == {"k": "v"}
    assert client.batches.retrieve(batch.id).status == "in_progress"
    done = client.batches.retrieve(batch.id)
    assert done.status == "expired" and done.expired_at is not None
    assert done.request_counts is not None
    assert (
        done.request_counts.total,
        done.request_counts.completed,
        done.request_counts.failed,
    ) == (3, 1, 2)
    out = [json.loads(x) for x in client.files.content(done.output_file_id).content.splitlines()]
    errs = [json.loads(x) for x in client.files.content(done.error_file_id).content.splitlines()]
    assert out[0]["custom_id"] == "c0" and out[0]["response"]["status_code"] == 200
    assert out[0]["response"]["body"]["choices"][0]["message"]["content"] == '{"a": 1}'
    why = {
        e["custom_id"]: (e["response"] or {}).get("status_code") or e["error"]["code"] for e in errs
    }
    assert why == {"c1": 500, "c2": "batch_expired"}
    assert [b.id for b in client.batches.list()] == [batch.id]


def test_fake_batches_refuse_bad_input(fake_server: FakeOpenAIServer) -> None:
    client = client_for(fake_server)
    line = {
        "custom_id": "same",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "m"},
    }
    data = (json.dumps(line) + "\n") * 2
    uploaded = client.files.create(file=("in.jsonl", data.encode()), purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")  # fmt: skip
    failed = client.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.errors is not None
    assert failed.errors.data and failed.errors.data[0].code == "duplicate_custom_id"
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nope")


def test_batch_url_setting_for_azure(tmp_path: Path, letters: list[str], no_model_env) -> None:
    rep = submit(letters[:1], tmp_path / "job", settings=settings(batch_url="/chat/completions"),
                 offline=True)  # fmt: skip
    assert rep.offline_file is not None
    line = json.loads(rep.offline_file.read_text())
    assert line["url"] == "/chat/completions" and line["method"] == "POST"
    with pytest.raises(ConfigurationError, match="batch_url"):  # one line, as any bad setting
        settings(batch_url="/v1/embeddings")


def test_results_lines_of_openai_and_vllm() -> None:
    from imr_llm.jobs.results import collect_lines

    completion = {"id": "c", "object": "chat.completion", "choices": [], "created": 0, "model": "m"}
    rows = [
        {"custom_id": "a", "response": {"status_code": 200, "body": completion}, "error": None},
        {"custom_id": "b", "response": completion},  # a completion as the response itself
        {
            "custom_id": "c",
            "response": {"status_code": 429, "body": {"error": {"message": "slow"}}},
        },
        {"custom_id": "d", "response": {"status_code": 401, "body": {"error": {"message": "key"}}}},
        {"custom_id": "e", "response": None, "error": {"code": "batch_expired", "message": "late"}},
        {"custom_id": "e", "response": {"status_code": 200, "body": completion}},  # answer wins
        {"no": "custom_id"},
    ]
    got = collect_lines(rows)
    assert sorted(got) == ["a", "b", "c", "d", "e"]
    assert got["a"].answered and got["b"].answered and got["e"].answered
    assert got["c"].transient and got["c"].message == "slow"
    assert not got["d"].transient and got["d"].status == 401


def _shifted(answer: dict[str, Any]) -> dict[str, Any]:
    """Valid JSON of the schema, but a date the letter contradicts (a re-ask, then review)."""
    bad = json.loads(json.dumps(answer))
    bad["decision_date"] = "2016-12-09"
    return bad


@pytest.mark.parametrize("strict", [False, True])
def test_contradicted_answers_end_as_online(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str], strict: bool
) -> None:
    """Answers the letter keeps contradicting: a record flagged for review (as online, with
    the same reasons), or with strict the typed error online raises."""
    name = NAMES[0]
    stuck = Step.answer(_shifted(ideal_answer(gold_label(name))))
    fake_server.responder = lambda body: stuck
    options = {"max_attempts": 2, "strict": strict}
    online: Any
    try:
        online = extract(gold_text(name), backend="llm", client=client_for(fake_server),
                         model="gpt-4o-mini", **options)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - compared below
        online = exc
    client = client_for(fake_server)
    submit(letters[:1], tmp_path / "job", settings=settings(**options), client=client)
    rep = collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    assert rep.finished and rep.rounds == 2
    if strict:
        row = json.loads((tmp_path / "job/records.jsonl.errors.jsonl").read_text())
        assert row["error"] == online.code == "attempts_exhausted"
        assert row["message"] == str(online) and row["tokens"] == online.total_tokens
    else:
        meta = records_of(tmp_path / "job")[0]["metadata"]
        assert meta["needs_review"] and meta["review_reasons"] == online.metadata.review_reasons
        assert meta["evidence"]["decision_date"]["status"] == "unverified"
        assert [a["outcome"] for a in meta["attempts"]] == ["invalid", "invalid"]


def test_truncated_answer_is_output_truncated(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    fake_server.responder = lambda body: Step.length(ideal_answer(gold_label(NAMES[0])))
    client = client_for(fake_server)
    submit(letters[:1], tmp_path / "job", settings=settings(), client=client)
    rep = collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    assert rep.failed == 1 and rep.rounds == 1
    row = json.loads((tmp_path / "job/records.jsonl.errors.jsonl").read_text())
    assert row["error"] == "output_truncated" and row["attempts"] == 1


def test_moved_folder_and_a_refused_upload(
    fake_server: FakeOpenAIServer,
    tmp_path: Path,
    letters: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from imr_llm.jobs.provider import Provider

    fake_server.responder = Script(NAMES)
    client = client_for(fake_server)

    def refuse(self: Provider, name: str, data: bytes) -> str:
        raise BatchJobError("uploading the requests failed: HTTP 413")

    with monkeypatch.context() as patch:
        patch.setattr(Provider, "upload", refuse)
        with pytest.raises(BatchJobError, match="413"):
            submit(letters, tmp_path / "job", settings=settings(), client=client)
    assert fake_server.batches.batches == {}
    (tmp_path / "job").rename(tmp_path / "moved")
    rep = collect(tmp_path / "moved", client=client, wait=True, poll_s=0)
    assert rep.finished and rep.done == 3 and rep.output == tmp_path / "moved" / "records.jsonl"
    assert len(records_of(tmp_path / "moved")) == 3 and len(fake_server.batches.batches) == 1


def _lines_per_batch(server: FakeOpenAIServer) -> list[int]:
    counts: dict[str, int] = {}
    for batch_id, _cid, _body in server.batches.lines:
        counts[batch_id] = counts.get(batch_id, 0) + 1
    return [counts[b] for b in server.batches.batches if b in counts]


def test_a_round_over_one_batch_limit_is_sent_as_several(
    fake_server: FakeOpenAIServer,
    tmp_path: Path,
    letters: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two requests a batch (the limit injected): three letters go in two batches, the re-ask
    of one in a third; every letter gets its record, tracked in the one job folder."""
    monkeypatch.setattr(job_module, "MAX_REQUESTS", 2)
    fake_server.responder = Script(NAMES, wrong_first=["gA02"])
    client = client_for(fake_server)
    folder = tmp_path / "job"
    sent = submit(letters, folder, settings=settings(), client=client)
    assert sent.batches == 2 and len(fake_server.batches.batches) == 2
    parts = json.loads((folder / "job.json").read_text())["rounds"][0]["parts"]
    assert [(p["start"], p["end"]) for p in parts] == [(0, 2), (2, 3)]
    assert all(p["batch_id"] for p in parts)
    assert "and 1 more" in sent.batch_id
    done = collect(folder, client=client, wait=True, poll_s=0)
    assert done.finished and done.done == 3 and done.rounds == 2
    assert _lines_per_batch(fake_server) == [2, 1, 1]
    rows = by_name(records_of(folder))
    assert {name: contract(rows[name]) for name in NAMES} == {n: gold_label(n) for n in NAMES}


def test_a_round_over_one_batch_size_is_split_by_bytes(
    fake_server: FakeOpenAIServer,
    tmp_path: Path,
    letters: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submit(letters, tmp_path / "offline", settings=settings(), offline=True)
    sizes = [len(x) + 1 for x in (tmp_path / "offline" / "round-001.requests.jsonl")
             .read_bytes().splitlines()]  # fmt: skip
    monkeypatch.setattr(job_module, "MAX_BYTES", max(sizes) + 1)  # one request a batch
    fake_server.responder = Script(NAMES)
    client = client_for(fake_server)
    sent = submit(letters, tmp_path / "job", settings=settings(), client=client)
    assert sent.batches == 3
    assert collect(tmp_path / "job", client=client, wait=True, poll_s=0).done == 3
    assert _lines_per_batch(fake_server) == [1, 1, 1]
    monkeypatch.setattr(job_module, "MAX_BYTES", min(sizes) - 1)
    with pytest.raises(BatchJobError, match="one request is .* over a batch's limit"):
        submit(letters, tmp_path / "job2", settings=settings(), client=client)
    assert len(fake_server.batches.batches) == 3  # nothing more sent


def test_a_part_created_but_never_recorded_is_found_not_sent_twice(
    fake_server: FakeOpenAIServer,
    tmp_path: Path,
    letters: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(job_module, "MAX_REQUESTS", 2)
    fake_server.responder = Script(NAMES)
    client = client_for(fake_server)
    real_create = job_module.Provider.create
    calls = []

    def create_then_die(self, input_file_id, metadata, url):  # type: ignore[no-untyped-def]
        batch = real_create(self, input_file_id, metadata, url)
        calls.append(metadata)
        if len(calls) == 2:  # the second part exists at the provider; its id is never saved
            raise KeyboardInterrupt
        return batch

    monkeypatch.setattr(job_module.Provider, "create", create_then_die)
    with pytest.raises(KeyboardInterrupt):
        submit(letters, tmp_path / "job", settings=settings(), client=client)
    monkeypatch.setattr(job_module.Provider, "create", real_create)
    done = collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    assert done.done == 3 and len(records_of(tmp_path / "job")) == 3
    assert len(fake_server.batches.batches) == 2  # found by its metadata, not created again


def test_a_failed_part_is_a_batch_job_error(
    fake_server: FakeOpenAIServer,
    tmp_path: Path,
    letters: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(job_module, "MAX_REQUESTS", 2)
    fake_server.responder = Script(NAMES)
    fake_server.batches.enqueue(BatchPlan(), BatchPlan(status="failed"))
    client = client_for(fake_server)
    submit(letters, tmp_path / "job", settings=settings(), client=client)
    with pytest.raises(BatchJobError, match="part 2 of 2"):
        collect(tmp_path / "job", client=client)


@pytest.mark.parametrize("mode", ["tools", "json_schema", "json", "md_json"])
def test_offline_lines_are_taken_by_a_vllm_flavoured_server(
    tmp_path: Path, letters: list[str], mode: str
) -> None:
    """The lines vllm run-batch would read pass the test server's vLLM checks in every mode
    (run here through its batches endpoint, the same checks as its chat endpoint)."""
    with FakeOpenAIServer(flavour="vllm", responder=Script(NAMES)) as server:
        client = client_for(server)
        submit(letters, tmp_path / "job", settings=settings(mode=mode), client=client)
        rep = collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    assert rep.finished and rep.done == 3, json.loads(
        (tmp_path / "job/records.jsonl.errors.jsonl").read_text().splitlines()[0]
    )["message"]


def test_a_line_the_server_refuses_is_a_model_request_error(
    tmp_path: Path, letters: list[str]
) -> None:
    with FakeOpenAIServer(flavour="llamacpp", responder=Script(NAMES)) as server:
        client = client_for(server)
        submit(letters[:1], tmp_path / "job", settings=settings(mode="tools"), client=client)
        rep = collect(tmp_path / "job", client=client, wait=True, poll_s=0)
    assert rep.failed == 1
    row = json.loads((tmp_path / "job/records.jsonl.errors.jsonl").read_text())
    assert row["error"] == "model_request_error" and "llamacpp server" in row["message"]


def test_one_command_at_a_time_per_folder(
    fake_server: FakeOpenAIServer, tmp_path: Path, letters: list[str]
) -> None:
    fake_server.responder = Script(NAMES)
    client = client_for(fake_server)
    submit(letters, tmp_path / "job", settings=settings(), client=client)
    with JobFolder(tmp_path / "job").locked():  # a collect still running (an overlapping cron)
        with pytest.raises(BatchJobError, match="another imr-llm batch command"):
            collect(tmp_path / "job", client=client)
    assert collect(tmp_path / "job", client=client, wait=True, poll_s=0).done == 3
