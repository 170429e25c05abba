"""No letter text in logs, error messages or failure reports unless it is explicitly allowed;
no key, token or cookie in a recorded cassette.

errors.py promises that ``str(error)`` and ``error.to_dict()`` hold no letter text; these tests
run extractions whose answers are rejected (the problems quote words the model copied from the
letter) and check the promise, and the log filter that withholds the same text from the logs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import openai
import pytest

from imr_llm import ExtractionAttemptsExhaustedError, Settings, extract
from imr_llm.config import LOG_LETTER_TEXT, WithholdLetterText, load_settings
from imr_llm.errors import redact_secrets, withhold_letter_text
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.oracle import ideal_answer
from tests.conftest import gold_label, gold_text

NAME = "gA01"


def passages(label: dict) -> list[str]:
    """Text from the letter an error or a log line must not repeat."""
    found = [label["case_number"]]
    for item in label["items"]:
        found.append(item["service"])
        found.append(" ".join(item["rationale"].split()[:8]))
    return [p for p in found if p]


def rejected_answer(label: dict) -> dict:
    """An answer the checks reject, quoting the letter: item 1 given item 0's service (a
    passage of the letter), and a case number one digit off."""
    bad = ideal_answer(label)
    bad["items"][-1]["service"] = label["items"][0]["service"]
    case = label["case_number"]
    bad["case_number"] = case[:-1] + ("1" if case[-1] != "1" else "2")
    return bad


@pytest.fixture(autouse=True)
def _library_logging() -> object:
    """Logging as a library user has it: the CLI (run by other tests in this process) quiets
    instructor's logger by level; undo that here so these tests see what a library user sees."""
    logger = logging.getLogger("instructor")
    level = logger.level
    logger.setLevel(logging.NOTSET)
    yield
    logger.setLevel(level)


def run_rejected(server: FakeOpenAIServer, **options) -> ExtractionAttemptsExhaustedError:
    label = gold_label(NAME)
    server.enqueue(*[Step.answer(rejected_answer(label))] * 2)
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test-0123456789abcdef")
    with pytest.raises(ExtractionAttemptsExhaustedError) as info:
        extract(
            gold_text(NAME), backend="llm", client=client, max_attempts=2, strict=True, **options
        )
    return info.value


def test_rejected_answers_leave_no_letter_text_in_errors_or_logs(
    fake_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    label = gold_label(NAME)
    assert len(label["items"]) >= 2
    with caplog.at_level(logging.DEBUG):
        err = run_rejected(fake_server)
    # The problems were real and quoted the letter (the record's attempts keep them)...
    assert "case_number" in err.problem_paths
    assert f"items[{len(label['items']) - 1}].service" in err.problem_paths
    # ...but the error says where and what kind, not what the letter says.
    report = json.dumps(err.to_dict())
    assert any("is not the item the letter names" in e for e in err.last_errors)
    for passage in passages(label):
        assert passage not in str(err), passage
        assert passage not in report, passage
    # Logs, every level: what happened (statuses, tokens, which checks failed), never text.
    logged = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    messages = "\n".join(m for _, _, m in logged)
    assert "rejected: " in messages and "case_number" in messages
    assert "prompt + " in messages  # token counts
    for passage in passages(label):
        assert passage not in messages, passage
    assert "0123456789abcdef" not in messages
    # httpcore's wire noise and openai's request dumps are gone; instructor is quiet.
    assert not [n for n, _, _ in logged if n.startswith(("httpcore", "openai", "instructor"))]


def test_instructor_lines_are_quiet_for_library_users(
    fake_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        run_rejected(fake_server)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_verbose_shows_instructor_under_our_logger_withheld(
    fake_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        run_rejected(fake_server)
    ours = [r for r in caplog.records if r.name == "imr_llm.llm.instructor"]
    assert ours and all("withheld" in r.getMessage() for r in ours)


def test_letter_text_only_with_the_explicit_opt_in(
    fake_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    label = gold_label(NAME)
    with caplog.at_level(logging.DEBUG):
        err = run_rejected(fake_server, log_letter_text=True)
    assert any(label["items"][0]["service"] in e for e in err.last_errors)
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert label["items"][0]["service"] in messages
    assert "0123456789abcdef" not in messages  # never the key, opt-in or not
    assert LOG_LETTER_TEXT.get() is None  # the opt-in ended with the extraction


def test_opt_in_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().log_letter_text is False
    monkeypatch.setenv("IMR_LLM_LOG_LETTER_TEXT", "1")
    assert load_settings().log_letter_text is True


def _record(name: str, level: int, msg: str = "Request options: {'messages': 'LETTER'}"):
    return logging.LogRecord(name, level, __file__, 1, msg, (), None)


def test_the_filter_withholds_request_bodies_and_wire_noise() -> None:
    keep = WithholdLetterText().filter
    # Outside an extraction, other code's logging is left alone.
    assert keep(_record("openai._base_client", logging.DEBUG))
    assert keep(_record("instructor.v2.retry", logging.ERROR))
    token = LOG_LETTER_TEXT.set(False)  # inside one, without the opt-in
    try:
        _withheld(keep)
    finally:
        LOG_LETTER_TEXT.reset(token)
    token = LOG_LETTER_TEXT.set(True)
    try:
        assert keep(_record("openai._base_client", logging.DEBUG))
        assert not keep(_record("httpcore.http11", logging.DEBUG))  # noise, never letter text
        assert not keep(_record("instructor.v2.retry", logging.ERROR))  # re-emitted under ours
    finally:
        LOG_LETTER_TEXT.reset(token)


def _withheld(keep) -> None:
    assert not keep(_record("openai._base_client", logging.DEBUG))
    assert not keep(_record("httpcore.http11", logging.DEBUG, "send_request_body.started"))
    assert not keep(_record("httpx", logging.DEBUG))
    assert keep(_record("httpx", logging.INFO, 'HTTP Request: POST /v1 "HTTP/1.1 200 OK"'))
    assert keep(_record("openai._base_client", logging.WARNING, "something went wrong"))
    assert not keep(_record("instructor.v2.retry", logging.ERROR, "answer 'LETTER' rejected"))


def test_the_filter_is_on_the_loggers_that_emit() -> None:
    for name in ("openai._base_client", "httpcore.http11", "httpx", "instructor.v2.retry"):
        assert any(isinstance(f, WithholdLetterText) for f in logging.getLogger(name).filters)


@pytest.mark.parametrize(
    ("problem", "withheld", "kept"),
    [
        (
            "items[1].service: 'Physical therapy x12' is not the item the letter names at this "
            "marker ('Acupuncture 6 sessions')",
            ["Physical", "therapy", "Acupuncture", "12", "6"],
            "items[1].service: … is not the item the letter names at this marker …",
        ),
        (
            "case_number: is CM16-0001235 but the letter's case number reads CM16-0001234",
            ["CM16"],
            "case_number: is … but the letter",
        ),
        (
            "reviewer.licensure_states: the letter also names New York, Ohio",
            ["New", "York", "Ohio"],
            "reviewer.licensure_states: the letter also names …",
        ),
        ("the answer is not valid JSON (JSONDecodeError)", ["JSONDecodeError"], "the answer is"),
    ],
)
def test_withhold_letter_text(problem: str, withheld: list[str], kept: str) -> None:
    shown = withhold_letter_text(problem)
    assert shown.startswith(kept)
    for word in withheld:
        assert word not in shown


def test_invalid_record_message_withholds_the_values() -> None:
    from imr_llm import InvalidRecordError

    err = InvalidRecordError(
        ["reviewer.licensure_states.0: Value error, 'Califomnia' is not a US state name",
         "decision_date: Value error, 1899-02-03 is not a plausible letter date"],
        engine="rules",
    )  # fmt: skip
    for text in (str(err), json.dumps(err.to_dict())):
        assert "Califomnia" not in text and "1899" not in text
        assert "reviewer.licensure_states.0" in text and "decision_date" in text
    assert "Califomnia" in err.problems[0]  # the caller, who holds the letter, keeps the detail


def test_unreadable_input_is_the_one_public_error() -> None:
    import imr_llm
    import imr_llm.inputs.files

    assert imr_llm.inputs.files.UnreadableInputError is imr_llm.UnreadableInputError


def test_redact_secrets() -> None:
    text = redact_secrets(
        "Incorrect API key provided: sk-proj-AbC123456789. Authorization: Bearer eyJ.abc.def "
        "api_key=hunter22 token: 'tok_998877'"
    )
    for secret in ("AbC123456789", "eyJ.abc.def", "hunter22", "tok_998877"):
        assert secret not in text
    assert "Incorrect API key provided" in text


# -- the cassette scrubber, run on a recorded exchange ------------------------------------------


def test_cassette_scrubber_removes_key_and_cookies(
    fake_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    vcr = pytest.importorskip("vcr")
    from imr_llm.testing import cassettes

    recorder = vcr.VCR(record_mode="all", **cassettes.vcr_config())
    cassettes.register(recorder)
    fake_server.enqueue(
        Step.error(
            503,
            message="overloaded; key sk-live-SECRETKEY-1234567890 was fine",
            headers={"Set-Cookie": "session=srv-cookie-4242; Path=/", "Retry-After": "0"},
        ),
        Step.answer(ideal_answer(gold_label(NAME))),
    )
    client = openai.OpenAI(
        base_url=fake_server.base_url,
        api_key="sk-live-SECRETKEY-1234567890",
        organization="org-SECRETORG42",
        project="proj_SECRETPROJ42",
        default_headers={"Cookie": "session=client-cookie-4242", "api-key": "azure-key-4242"},
    )
    path = tmp_path / "exchange.yaml"
    with recorder.use_cassette(str(path)):
        record = extract(gold_text(NAME), backend="llm", client=client)
    assert record.contract_dict() == gold_label(NAME)
    text = path.read_text()
    assert "/v1/chat/completions" in text and "recorded_against" in text  # it was recorded
    assert text.count("uri:") == 2  # the failed request and the answer
    for secret in (
        "SECRETKEY",
        "Bearer",
        "SECRETORG42",
        "SECRETPROJ42",
        "client-cookie-4242",
        "srv-cookie-4242",
        "azure-key-4242",
    ):
        assert secret not in text, secret
