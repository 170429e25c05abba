"""Reading a batch's results: one outcome per custom_id, from OpenAI's or vLLM's JSONL.

A results line is ``{"id", "custom_id", "response": {"status_code", "request_id", "body"},
"error"}``. Status 200 with a body is an answer; anything else failed: a 429 or 5xx status, a
request the window did not reach (``batch_expired``, ``batch_cancelled``) or a line with no
response is transient (the request is sent again in the next round, as the online path retries
it); another 4xx is the server refusing that request for good.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import redact_secrets
from ..llm.transport import TRANSIENT_STATUS

#: ``error.code`` values of lines that were not run (or not run to the end): worth sending again.
TRANSIENT_CODES = frozenset(
    {"batch_expired", "batch_cancelled", "server_error", "internal_error", "rate_limit_exceeded",
     "timeout"}
)  # fmt: skip


@dataclass(frozen=True)
class LineResult:
    """What a results file says about one request."""

    custom_id: str
    body: dict[str, Any] | None = None  # the chat completion, when answered
    status: int | None = None
    code: str | None = None
    message: str = ""

    @property
    def answered(self) -> bool:
        return self.body is not None

    @property
    def transient(self) -> bool:
        if self.status is not None:
            return self.status in TRANSIENT_STATUS or self.status >= 500
        return self.code is None or self.code in TRANSIENT_CODES


def _message(body: Any) -> tuple[str, str | None]:
    inner = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(inner, dict):
        message, code = inner.get("message"), inner.get("code") or inner.get("type")
    else:
        message, code = inner, None
    text = " ".join(redact_secrets(str(message or "")).split())[:300]
    return text, (str(code) if code else None)


def parse_line(row: dict[str, Any]) -> LineResult | None:
    """The result of one line (None for a line with no custom_id)."""
    cid = row.get("custom_id")
    if not isinstance(cid, str):
        return None
    response = row.get("response")
    error = row.get("error")
    if isinstance(response, dict):
        if "status_code" not in response and isinstance(response.get("choices"), list):
            return LineResult(cid, body=response, status=200)  # the completion itself
        status = response.get("status_code")
        body = response.get("body")
        if status == 200 and isinstance(body, dict) and not error:
            return LineResult(cid, body=body, status=200)
        message, code = _message(body)
        return LineResult(cid, status=status if isinstance(status, int) else None,
                          code=code, message=message)  # fmt: skip
    message, code = _message(error) if error else ("the line has no response", None)
    return LineResult(cid, code=code, message=message)


def collect_lines(rows: Iterable[dict[str, Any]]) -> dict[str, LineResult]:
    """One result per custom_id; an answer wins over a failure of the same request."""
    results: dict[str, LineResult] = {}
    for row in rows:
        result = parse_line(row)
        if result is None:
            continue
        known = results.get(result.custom_id)
        if known is None or (result.answered and not known.answered):
            results[result.custom_id] = result
    return results
