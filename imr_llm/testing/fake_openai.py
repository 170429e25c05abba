"""A local, scriptable, OpenAI-compatible chat-completions server for tests and benchmarks.

Why this exists: no real model is reachable where the test suite runs, yet the LLM path
(``openai`` client -> ``instructor`` -> retries / rate limiting / validation) is the part
of ``imr_llm`` most likely to break. Mocking the Python client would skip the HTTP layer,
where retries, ``Retry-After`` handling, timeouts and dropped connections actually happen,
so instead tests talk real HTTP to this server on ``127.0.0.1``.

Only the standard library is used (``http.server.ThreadingHTTPServer`` running in a daemon
thread) so that the helper adds no dependencies and can ship inside the package.

Typical use::

    with fake_openai_server() as server:
        server.enqueue(Step.error(429, retry_after=0.05), Step.answer({"case_number": "X"}))
        client = OpenAI(base_url=server.base_url, api_key="test")
        ...
        assert len(server.chat_requests) == 2
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import socket
import socketserver
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

from .flavours import FLAVOURS, check_request, describe

__all__ = [
    "BatchPlan",
    "DEFAULT_MALFORMED_TEXT",
    "DEFAULT_TRUNCATED_TEXT",
    "FakeBatches",
    "FakeOpenAIServer",
    "RecordedRequest",
    "Responder",
    "Step",
    "StepKind",
    "build_completion",
    "error_body",
    "fake_openai_server",
]

StepKind = Literal["answer", "malformed", "length", "error", "drop"]
"""What a :class:`Step` makes the server do."""

JSONPayload = Mapping[str, Any] | Sequence[Any] | str
"""What a model "returns": a JSON-able object, or raw text delivered verbatim."""

DEFAULT_MALFORMED_TEXT = '{"case_number": "CM16-'
"""Not valid JSON: looks like a model that stopped mid-string, to exercise parse failures."""

DEFAULT_TRUNCATED_TEXT = '{"case_number": "CM16-0001234", "decision": "upheld", "rationale": "The'
"""Default body of :meth:`Step.length`: a plausible answer cut off by ``max_tokens``."""

_CHAT_PATH = "/v1/chat/completions"
_MODELS_PATH = "/v1/models"
_FINGERPRINT = "fake-openai"

# (type, code) per status, modelled on what api.openai.com sends, so that client code that
# inspects ``error.type`` / ``error.code`` sees realistic values.
_ERROR_DEFAULTS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    408: ("timeout", "timeout"),
    409: ("conflict", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", "bad_gateway"),
    503: ("server_error", "service_unavailable"),
    504: ("server_error", "timeout"),
}


@dataclass(frozen=True)
class Step:
    """One scripted server reaction to one chat-completion request.

    Build steps with the factory classmethods (:meth:`answer`, :meth:`malformed`,
    :meth:`length`, :meth:`error`, :meth:`drop`) rather than the constructor; the fields
    are public so tests can inspect what they queued. Frozen so a step queued twice (or
    shared between tests) cannot be mutated behind the server's back.

    ``delay`` (seconds) is honoured by every kind: the server sleeps before reacting, which
    models slow answers, client timeouts and fixed per-request latency for benchmarks.
    """

    kind: StepKind
    payload: Any = field(default=None, hash=False)
    fenced: bool = False
    status: int = 200
    retry_after: float | None = None
    message: str | None = None
    error_type: str | None = None
    error_code: str | None = None
    delay: float = 0.0
    cached_tokens: int = 0
    tool_name: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        """Reject impossible steps at enqueue time, where the mistake is easy to locate."""
        if self.kind not in ("answer", "malformed", "length", "error", "drop"):
            raise ValueError(f"unknown step kind {self.kind!r}")
        if not (self.delay >= 0 and math.isfinite(self.delay)):
            raise ValueError(f"delay must be a finite number >= 0, got {self.delay!r}")
        if self.cached_tokens < 0:
            raise ValueError(f"cached_tokens must be >= 0, got {self.cached_tokens!r}")
        if self.kind == "error" and not 400 <= self.status <= 599:
            raise ValueError(f"error steps need a 4xx/5xx status, got {self.status!r}")
        if self.kind == "answer" and not isinstance(self.payload, str):
            try:
                json.dumps(self.payload)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"answer payload is not JSON-serialisable: {exc}") from exc
        if self.retry_after is not None and not (
            self.retry_after >= 0 and math.isfinite(self.retry_after)
        ):
            raise ValueError(f"retry_after must be a finite number >= 0, got {self.retry_after}")

    # -- factories -------------------------------------------------------------------

    @classmethod
    def answer(
        cls,
        payload: JSONPayload,
        *,
        fenced: bool = False,
        delay: float = 0.0,
        cached_tokens: int = 0,
        tool_name: str | None = None,
    ) -> Step:
        """A successful answer whose JSON is ``payload`` (a str is sent verbatim).

        If the request carries ``tools`` the payload becomes the arguments of a single tool
        call (``finish_reason="tool_calls"``), otherwise the message content
        (``finish_reason="stop"``). ``fenced`` wraps *content* in a Markdown json fence, as
        some servers do in JSON mode; it is ignored for tool calls. ``tool_name`` overrides
        the function name the server would otherwise copy from the request.
        """
        return cls(
            kind="answer",
            payload=payload,
            fenced=fenced,
            delay=delay,
            cached_tokens=cached_tokens,
            tool_name=tool_name,
        )

    @classmethod
    def malformed(
        cls,
        text: str = DEFAULT_MALFORMED_TEXT,
        *,
        fenced: bool = False,
        delay: float = 0.0,
        cached_tokens: int = 0,
        tool_name: str | None = None,
    ) -> Step:
        """A "successful" answer whose content / tool arguments are not valid JSON.

        The finish reason is the normal one, so the client only notices when parsing.
        """
        return cls(
            kind="malformed",
            payload=text,
            fenced=fenced,
            delay=delay,
            cached_tokens=cached_tokens,
            tool_name=tool_name,
        )

    @classmethod
    def length(
        cls,
        payload: JSONPayload | None = None,
        *,
        fenced: bool = False,
        delay: float = 0.0,
        cached_tokens: int = 0,
        tool_name: str | None = None,
    ) -> Step:
        """An answer cut off by the token limit: ``finish_reason="length"``.

        With a ``payload`` its JSON text is cut to half its length (so it is never valid);
        without one :data:`DEFAULT_TRUNCATED_TEXT` is sent.
        """
        if payload is None:
            text = DEFAULT_TRUNCATED_TEXT
        else:
            full = _payload_text(payload)
            text = full[: max(0, min(len(full) - 1, len(full) // 2))]
        return cls(
            kind="length",
            payload=text,
            fenced=fenced,
            delay=delay,
            cached_tokens=cached_tokens,
            tool_name=tool_name,
        )

    @classmethod
    def error(
        cls,
        status: int,
        retry_after: float | None = None,
        message: str | None = None,
        *,
        error_type: str | None = None,
        code: str | None = None,
        should_retry: bool | None = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
    ) -> Step:
        """An HTTP error with an OpenAI-shaped body ``{"error": {message, type, param, code}}``.

        ``retry_after`` (seconds, fractions allowed) is sent both as ``Retry-After`` and as
        the more precise ``retry-after-ms``, which the openai client prefers; keep it small
        in tests because the client really sleeps that long. ``should_retry`` sets the
        non-standard ``x-should-retry`` header that the openai client obeys. ``error_type``
        and ``code`` default to what OpenAI sends for ``status``.
        """
        extra = dict(headers or {})
        if should_retry is not None:
            extra["x-should-retry"] = "true" if should_retry else "false"
        return cls(
            kind="error",
            status=status,
            retry_after=retry_after,
            message=message,
            error_type=error_type,
            error_code=code,
            delay=delay,
            headers=tuple(extra.items()),
        )

    @classmethod
    def drop(cls, *, delay: float = 0.0) -> Step:
        """Close the connection without sending any response (a dropped connection)."""
        return cls(kind="drop", delay=delay)

    def with_delay(self, delay: float) -> Step:
        """Return a copy that waits ``delay`` seconds first; handy inside responders."""
        return dataclasses.replace(self, delay=delay)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it, for assertions after the fact.

    ``headers`` keys are lower-cased (HTTP header names are case-insensitive, and this
    makes ``headers["authorization"]`` reliable). ``body`` is the parsed JSON object, ``{}``
    for an empty body, or ``{"_raw": text}`` when the body was not a JSON object.
    ``received_at`` is a ``time.monotonic()`` stamp, so tests can measure client-side
    waits (e.g. that a retry honoured ``Retry-After``) from the server's point of view.
    """

    path: str
    headers: dict[str, str] = field(hash=False)
    body: dict[str, Any] = field(hash=False)
    method: str = "POST"
    received_at: float = field(default=0.0, compare=False)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat ``messages`` of the request (empty if absent)."""
        messages = self.body.get("messages")
        return list(messages) if isinstance(messages, list) else []

    @property
    def model(self) -> str | None:
        """The requested model name, if any."""
        model = self.body.get("model")
        return model if isinstance(model, str) else None


Responder = Callable[[dict[str, Any]], "Step | None"]
"""Fallback called with the request body when the queue is empty. Must be thread-safe:
concurrent requests call it concurrently. Returning ``None`` means "no answer" (HTTP 500)."""


class _NoAnswer(Exception):
    """Internal: neither the queue nor the responder produced a step."""


class FakeOpenAIServer:
    """An OpenAI-compatible server on ``127.0.0.1`` with a FIFO of scripted :class:`Step`.

    Serves ``POST /v1/chat/completions`` and ``GET /v1/models`` (and the Batch API's files
    and batches routes: :attr:`batches`, a :class:`FakeBatches`); any other route answers
    404 in OpenAI's error shape. Each connection is handled in its own thread so that
    concurrent clients see concurrent latency (``delay``), which benchmarks rely on.

    Each chat request consumes the next queued step; with concurrent requests, which
    request gets which step depends on arrival order. When the queue is empty
    :attr:`responder` is asked; if there is none the request fails with HTTP 500 and
    ``x-should-retry: false`` (so a forgotten ``enqueue`` fails fast instead of being
    retried with backoff).
    """

    def __init__(
        self,
        *,
        responder: Responder | None = None,
        models: Sequence[str] = ("fake-model",),
        host: str = "127.0.0.1",
        port: int = 0,
        flavour: str | None = None,
    ) -> None:
        """Configure without binding; call :meth:`start` or use ``with``.

        ``flavour`` (``"openai"``, ``"vllm"``, ``"llamacpp"``, ``"ollama"``) makes the chat
        endpoint answer 400 with :mod:`imr_llm.testing.flavours`' findings when that server
        would reject a request or silently ignore its structured-output parts.
        """
        if flavour is not None and flavour not in FLAVOURS:
            raise ValueError(f"unknown flavour {flavour!r}; choose one of {', '.join(FLAVOURS)}")
        self.flavour = flavour
        self.responder: Responder | None = responder
        self.models: tuple[str, ...] = tuple(models)
        self._host = host
        self._requested_port = port
        self._lock = threading.Lock()
        self._queue: deque[Step] = deque()
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: The files and batches endpoints (Batch API): plans, uploads, batches, lines run.
        self.batches = FakeBatches(self)

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Bind (port 0 = pick a free port) and serve in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            raise RuntimeError("FakeOpenAIServer is already running")
        self._stopping.clear()
        httpd = _HTTPServer((self._host, self._requested_port), self)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"fake-openai:{httpd.server_address[1]}",
            daemon=True,
        )
        self._httpd, self._thread = httpd, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers and close open connections. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()  # handlers sleeping on a delay wake up and drop
        httpd.shutdown()
        httpd.close_open_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (only while running)."""
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Root URL without the ``/v1`` prefix, e.g. for raw HTTP tests of unknown routes."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as ``OpenAI(base_url=...)``: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    # -- scripting -----------------------------------------------------------------

    def enqueue(self, *steps: Step) -> None:
        """Append steps to the FIFO; each chat request consumes one."""
        for step in steps:
            if not isinstance(step, Step):
                raise TypeError(f"expected Step, got {type(step).__name__}")
        with self._lock:
            self._queue.extend(steps)

    @property
    def remaining(self) -> int:
        """How many queued steps have not been consumed yet."""
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        """Forget queued steps and recorded requests (the responder is kept)."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    # -- inspection ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only the chat-completion requests (what most assertions care about)."""
        return [r for r in self.requests if r.path == _CHAT_PATH]

    # -- internals used by the handler ---------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_step(self, body: dict[str, Any]) -> Step:
        """Pop the next queued step, else ask the responder (outside the lock, so a slow
        responder does not serialise concurrent requests)."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            responder = self.responder
        if responder is None:
            raise _NoAnswer(
                "fake-openai: no scripted answer for this request: the step queue is empty "
                "and no responder is set (call server.enqueue(...) or set server.responder)"
            )
        step = responder(body)
        if step is None:
            raise _NoAnswer("fake-openai: no scripted answer: the responder returned None")
        if not isinstance(step, Step):
            raise TypeError(f"responder must return a Step, got {type(step).__name__}")
        return step

    def _sleep(self, seconds: float) -> bool:
        """Sleep, but return ``True`` early if the server is stopping."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()


@contextlib.contextmanager
def fake_openai_server(
    *steps: Step,
    responder: Responder | None = None,
    models: Sequence[str] = ("fake-model",),
) -> Iterator[FakeOpenAIServer]:
    """Run a :class:`FakeOpenAIServer` for the ``with`` block, pre-loaded with ``steps``."""
    server = FakeOpenAIServer(responder=responder, models=models)
    server.enqueue(*steps)
    with server:
        yield server


# ----------------------------------------------------------------------------------
# Response construction (pure functions, so they are easy to reason about)
# ----------------------------------------------------------------------------------


def _payload_text(payload: Any) -> str:
    """The JSON text a model would emit for ``payload``; strings pass through verbatim."""
    return payload if isinstance(payload, str) else json.dumps(payload)


def _estimate_tokens(chars: int) -> int:
    """Rough OpenAI-ish estimate (4 chars per token) so usage is deterministic."""
    return math.ceil(chars / 4)


def _prompt_chars(body: Mapping[str, Any]) -> int:
    """Characters in all message contents (string content or text parts)."""
    total = 0
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    total += len(part["text"])
                elif isinstance(part, str):
                    total += len(part)
    return total


def _tool_target(body: Mapping[str, Any]) -> tuple[Literal["tools", "functions"], str] | None:
    """Where an answer goes: a tool call (``tools``), a legacy ``function_call``
    (``functions``), or ``None`` for plain content. The function name comes from a forced
    ``tool_choice``/``function_call`` if present, else the first declared tool."""
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        choice = body.get("tool_choice")
        if choice == "none":
            return None
        if isinstance(choice, dict):
            fn = choice.get("function")
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                return "tools", fn["name"]
        first = tools[0] if isinstance(tools[0], dict) else {}
        fn = first.get("function") if isinstance(first.get("function"), dict) else first
        name = fn.get("name") if isinstance(fn, dict) else None
        return "tools", name if isinstance(name, str) and name else "function"
    functions = body.get("functions")
    if isinstance(functions, list) and functions:
        call = body.get("function_call")
        if call == "none":
            return None
        if isinstance(call, dict) and isinstance(call.get("name"), str):
            return "functions", call["name"]
        first = functions[0] if isinstance(functions[0], dict) else {}
        name = first.get("name")
        return "functions", name if isinstance(name, str) and name else "function"
    return None


def _fence(text: str) -> str:
    return f"```json\n{text}\n```"


def build_completion(body: Mapping[str, Any], step: Step) -> dict[str, Any]:
    """The ``chat.completion`` object that ``step`` (answer/malformed/length) produces for
    a request ``body``. Public so tests can check the exact wire shape offline."""
    if step.kind not in ("answer", "malformed", "length"):
        raise ValueError(f"step kind {step.kind!r} does not produce a completion")
    text = _payload_text(step.payload)
    target = _tool_target(body)
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if target is None:
        delivered = _fence(text) if step.fenced else text
        message["content"] = delivered
        finish_reason = "stop"
    else:
        kind, name = target
        name = step.tool_name or name
        delivered = text
        if kind == "tools":
            message["tool_calls"] = [
                {
                    "id": f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {"name": name, "arguments": delivered},
                }
            ]
            finish_reason = "tool_calls"
        else:
            message["function_call"] = {"name": name, "arguments": delivered}
            finish_reason = "function_call"
    if step.kind == "length":
        finish_reason = "length"
    prompt_tokens = _estimate_tokens(_prompt_chars(body))
    completion_tokens = _estimate_tokens(len(delivered))
    model = body.get("model")
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model if isinstance(model, str) else "fake-model",
        "system_fingerprint": _FINGERPRINT,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": step.cached_tokens},
        },
    }


def error_body(
    status: int, message: str, error_type: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error envelope, which the openai client parses into ``APIStatusError``."""
    default_type, default_code = _ERROR_DEFAULTS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {
        "error": {
            "message": message,
            "type": error_type or default_type,
            "param": None,
            "code": code if code is not None else default_code,
        }
    }


def _format_seconds(seconds: float) -> str:
    """``0.05`` -> ``"0.05"``, ``2.0`` -> ``"2"`` (headers are strings)."""
    return f"{seconds:g}"


# ----------------------------------------------------------------------------------
# HTTP plumbing
# ----------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    """Thread-per-connection server that tracks open connections so ``stop()`` can close
    idle keep-alive sockets instead of leaving handler threads blocked on them."""

    daemon_threads = True
    # The default listen backlog (5) makes bursts of 16+ concurrent connects stall on
    # SYN retransmits (~1 s), which would wreck latency benchmarks.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: FakeOpenAIServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a potentially slow reverse DNS
        # lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or disconnect make writes fail; that is expected here.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests and turns :class:`Step` objects into HTTP behaviour."""

    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API; needs Content-Length
    disable_nagle_algorithm = True  # avoid Nagle/delayed-ACK stalls on small responses
    server_version = "fake-openai/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging to stderr; tests inspect ``server.requests``."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # -- routing -------------------------------------------------------------------

    def _dispatch(self) -> None:
        owner = self.server.owner
        raw = self._read_body()
        path = urlsplit(self.path).path
        body, parse_error = _parse_json_object(raw)
        headers = {key.lower(): value for key, value in self.headers.items()}
        owner._record(
            RecordedRequest(
                path=path,
                headers=headers,
                body=body,
                method=self.command,
                received_at=time.monotonic(),
            )
        )
        route = path.rstrip("/") or "/"
        if route == _CHAT_PATH and self.command == "POST":
            self._chat(body, parse_error)
        elif route == _MODELS_PATH and self.command == "GET":
            self._models()
        elif route.startswith((_FILES_PATH, _BATCHES_PATH)):
            owner.batches.handle(self, route, raw)
        else:
            self._send_error(
                404, f"fake-openai: unknown route {self.command} {path}", code="unknown_url"
            )

    def _chat(self, body: dict[str, Any], parse_error: str | None) -> None:
        owner = self.server.owner
        if parse_error is not None:
            self._send_error(400, f"fake-openai: request body is not a JSON object: {parse_error}")
            return
        if body.get("stream"):
            self._send_error(400, "fake-openai: streaming (stream=true) is not supported")
            return
        problems = check_request(owner.flavour, body) if owner.flavour else []
        if problems:  # what that server would refuse, or silently drop: said out loud
            self._send_error(400, f"fake-openai as a {describe(owner.flavour or '', problems)}")
            return
        try:
            step = owner._next_step(body)
        except Exception as exc:  # no script, or a responder bug: report it to the client
            self._send_error(500, str(exc), headers={"x-should-retry": "false"})
            return
        if owner._sleep(step.delay):
            self._drop()  # server is stopping: do not hold the client hostage
            return
        if step.kind == "drop":
            self._drop()
        elif step.kind == "error":
            self._scripted_error(step)
        else:
            self._send_json(200, build_completion(body, step))

    def _models(self) -> None:
        created = int(time.time())
        data = [
            {"id": name, "object": "model", "created": created, "owned_by": _FINGERPRINT}
            for name in self.server.owner.models
        ]
        self._send_json(200, {"object": "list", "data": data})

    # -- responses -----------------------------------------------------------------

    def _scripted_error(self, step: Step) -> None:
        headers = dict(step.headers)
        if step.retry_after is not None:
            headers["Retry-After"] = _format_seconds(step.retry_after)
            headers["retry-after-ms"] = _format_seconds(step.retry_after * 1000)
        try:
            phrase = HTTPStatus(step.status).phrase
        except ValueError:
            phrase = "error"
        message = step.message or f"fake-openai: scripted {step.status} {phrase}"
        self._send_error(
            step.status,
            message,
            error_type=step.error_type,
            code=step.error_code,
            headers=headers,
        )

    def _send_error(
        self,
        status: int,
        message: str,
        *,
        error_type: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._send_json(status, error_body(status, message, error_type, code), headers)

    def _send_json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(obj).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # client already gave up (timeout) - nothing left to tell it
            self.close_connection = True

    def _drop(self) -> None:
        """Close the socket without a byte of response, like a dead upstream would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- request parsing -----------------------------------------------------------

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Skip optional trailers up to the blank line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""


def _parse_json_object(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """Parse a request body; returns ``(body, error)`` with a recordable body either way."""
    if not raw:
        return {}, None
    text = raw.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        return {"_raw": text}, str(exc)
    if not isinstance(parsed, dict):
        return {"_raw": text}, "top-level JSON value is not an object"
    return parsed, None


# ----------------------------------------------------------------------------------
# Files and batches (OpenAI's Batch API), for provider batch jobs (``imr-llm batch``)
# ----------------------------------------------------------------------------------

_FILES_PATH = "/v1/files"
_BATCHES_PATH = "/v1/batches"
BatchStatus = Literal["completed", "expired", "failed", "cancelled"]


@dataclass(frozen=True)
class BatchPlan:
    """How the server runs one batch (queue plans with ``server.batches.enqueue``).

    Every line is answered like a chat request: by ``fault(custom_id, body)`` when it returns a
    :class:`Step`, else by the server's step queue or responder. Answers (``answer``,
    ``malformed``, ``length``) go to the output file with status 200; ``Step.error(status)``
    puts the line in the error file with that status and OpenAI's error body; ``Step.drop``
    puts it there with no response and ``error.code`` ``server_error``.

    ``polls``: retrieves that report ``in_progress`` before the final ``status``.
    ``status``: ``completed``; ``expired`` or ``cancelled`` (only the first ``answered`` lines
    are run, the rest land in the error file with ``batch_expired`` / ``batch_cancelled``, as
    OpenAI reports requests the window did not reach); ``failed`` (nothing is run; ``errors``
    are the batch's errors, as for an input file OpenAI refuses). ``shuffle`` writes the output
    in reverse order (the API does not keep input order).
    """

    status: BatchStatus = "completed"
    polls: int = 0
    answered: int | None = None
    fault: Callable[[str, dict[str, Any]], Step | None] | None = None
    errors: tuple[tuple[str, str], ...] = (("invalid_request", "fake-openai: scripted failure"),)
    shuffle: bool = False

    def __post_init__(self) -> None:
        if self.status not in ("completed", "expired", "failed", "cancelled"):
            raise ValueError(f"unknown batch status {self.status!r}")
        if self.polls < 0 or (self.answered is not None and self.answered < 0):
            raise ValueError("polls and answered must be >= 0")


class FakeBatches:
    """The files and batches endpoints of a :class:`FakeOpenAIServer` (``server.batches``).

    ``POST /v1/files`` (multipart upload), ``GET /v1/files/{id}`` and ``/content``,
    ``POST /v1/batches``, ``GET /v1/batches`` (list) and ``/v1/batches/{id}``, with JSON shaped
    like the openai package's ``FileObject`` and ``Batch`` types. A batch's input is checked as
    OpenAI checks it (JSON lines with a unique ``custom_id``, ``method`` POST, the batch's
    ``url``, a ``body`` with a ``model``); a bad input fails the batch with its errors.
    """

    def __init__(self, owner: FakeOpenAIServer) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._plans: deque[BatchPlan] = deque()
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, tuple[int, dict[str, Any]]] = {}
        #: Every batch line the server ran, as (batch id, custom_id, body).
        self.lines: list[tuple[str, str, dict[str, Any]]] = []
        #: Seconds the server spent running batch lines (benchmarks subtract it).
        self.busy_seconds = 0.0

    def enqueue(self, *plans: BatchPlan) -> None:
        """Plans for the next batches created, in order (default: completed at once)."""
        with self._lock:
            self._plans.extend(plans)

    # -- routing -------------------------------------------------------------------

    def handle(self, handler: _Handler, route: str, raw: bytes) -> None:
        parts = route.strip("/").split("/")  # ["v1", "files"|"batches", id?, action?]
        method = handler.command
        kind = parts[1]
        try:
            if kind == "files" and len(parts) == 2 and method == "POST":
                handler._send_json(200, self._upload(handler, raw))
            elif kind == "files" and len(parts) == 3 and method == "GET":
                handler._send_json(200, self._file(parts[2]))
            elif kind == "files" and len(parts) == 4 and parts[3] == "content" and method == "GET":
                self._send_bytes(handler, self._content(parts[2]))
            elif kind == "batches" and len(parts) == 2 and method == "POST":
                handler._send_json(200, self._create(json.loads(raw or b"{}")))
            elif kind == "batches" and len(parts) == 2 and method == "GET":
                data = sorted(self.batches.values(), key=lambda b: b["created_at"], reverse=True)
                handler._send_json(
                    200,
                    {"object": "list", "data": [dict(b) for b in data], "has_more": False,
                     "first_id": data[0]["id"] if data else None,
                     "last_id": data[-1]["id"] if data else None},
                )  # fmt: skip
            elif kind == "batches" and len(parts) == 3 and method == "GET":
                handler._send_json(200, self._retrieve(parts[2]))
            else:
                handler._send_error(
                    404, f"fake-openai: unknown route {method} {route}", code="unknown_url"
                )
        except KeyError as exc:
            handler._send_error(404, f"fake-openai: no such object {exc.args[0]!r}")
        except ValueError as exc:
            handler._send_error(400, f"fake-openai: {exc}")

    @staticmethod
    def _send_bytes(handler: _Handler, data: bytes) -> None:
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/octet-stream")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            handler.close_connection = True

    # -- files ---------------------------------------------------------------------

    def _new_file(self, name: str, purpose: str, data: bytes) -> dict[str, Any]:
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        obj = {
            "id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
            "filename": name, "purpose": purpose, "status": "processed", "expires_at": None,
            "status_details": None,
        }  # fmt: skip
        with self._lock:
            self.files[file_id] = obj
            self.contents[file_id] = data
        return obj

    def _upload(self, handler: _Handler, raw: bytes) -> dict[str, Any]:
        import email.parser
        import email.policy

        ctype = handler.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            raise ValueError("file uploads must be multipart/form-data")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + raw
        )
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            fields[str(name)] = (part.get_filename(), payload)
        if "file" not in fields or "purpose" not in fields:
            raise ValueError("an upload needs 'file' and 'purpose'")
        filename, data = fields["file"]
        return self._new_file(filename or "upload", fields["purpose"][1].decode(), data)

    def _file(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(self.files[file_id])

    def _content(self, file_id: str) -> bytes:
        with self._lock:
            return self.contents[file_id]

    # -- batches -------------------------------------------------------------------

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        input_id = body.get("input_file_id")
        endpoint = body.get("endpoint")
        if not isinstance(input_id, str) or endpoint != _CHAT_PATH:
            raise ValueError(f"a batch needs input_file_id and endpoint {_CHAT_PATH}")
        if body.get("completion_window") != "24h":
            raise ValueError("completion_window must be '24h'")
        data = self._content(input_id)
        with self._lock:
            plan = self._plans.popleft() if self._plans else BatchPlan()
        now = int(time.time())
        batch_id = f"batch_{uuid.uuid4().hex[:24]}"
        batch: dict[str, Any] = {
            "id": batch_id, "object": "batch", "endpoint": endpoint, "errors": None,
            "input_file_id": input_id, "completion_window": "24h", "status": "validating",
            "output_file_id": None, "error_file_id": None, "created_at": now,
            "in_progress_at": None, "expires_at": now + 86400, "finalizing_at": None,
            "completed_at": None, "failed_at": None, "expired_at": None, "cancelling_at": None,
            "cancelled_at": None, "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }  # fmt: skip
        final = self._run(batch, plan, data)
        with self._lock:
            self.batches[batch_id] = batch
            self._pending[batch_id] = (plan.polls, final)
        return dict(batch)

    def _retrieve(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self.batches[batch_id]
            if batch_id in self._pending:
                polls, final = self._pending[batch_id]
                if polls > 0:
                    self._pending[batch_id] = (polls - 1, final)
                    batch["status"] = "in_progress"
                    batch["in_progress_at"] = batch["in_progress_at"] or int(time.time())
                else:
                    del self._pending[batch_id]
                    batch.update(final)
            return dict(batch)

    def _run(self, batch: dict[str, Any], plan: BatchPlan, data: bytes) -> dict[str, Any]:
        """Run the batch's lines now; returns the fields its final status shows."""
        started = time.perf_counter()
        now = int(time.time())
        try:
            lines, problems = _read_batch_input(data, batch["endpoint"])
        except ValueError as exc:
            lines, problems = [], [("invalid_json_line", str(exc))]
        if plan.status == "failed" or problems:
            errors = problems or list(plan.errors)
            return {
                "status": "failed", "failed_at": now,
                "errors": {"object": "list", "data": [
                    {"code": c, "message": m, "line": None, "param": None} for c, m in errors]},
            }  # fmt: skip
        limit = len(lines) if plan.answered is None else plan.answered
        outputs: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        for n, (cid, body) in enumerate(lines):
            if plan.status != "completed" and n >= limit:
                code = "batch_expired" if plan.status == "expired" else "batch_cancelled"
                failures.append(_result_line(cid, error=(code, f"fake-openai: {code}")))
                continue
            with self._lock:
                self.lines.append((batch["id"], cid, body))
            step = plan.fault(cid, body) if plan.fault is not None else None
            flavour = self._owner.flavour
            problems = check_request(flavour, body) if step is None and flavour else []
            if problems:  # a line that server would refuse, as the chat endpoint refuses it
                step = Step.error(400, message=f"fake-openai as a {describe(flavour, problems)}")
            if step is None:
                try:
                    step = self._owner._next_step(body)
                except Exception as exc:  # noqa: BLE001 - no script: the line fails
                    step = Step.error(500, message=str(exc))
            if step.kind == "error":
                message = step.message or f"fake-openai: scripted {step.status}"
                answer = error_body(step.status, message, step.error_type, step.error_code)
                failures.append(_result_line(cid, status=step.status, body=answer))
            elif step.kind == "drop":
                error = ("server_error", "fake-openai: the request was dropped")
                failures.append(_result_line(cid, error=error))
            else:
                outputs.append(_result_line(cid, status=200, body=build_completion(body, step)))
        if plan.shuffle:
            outputs.reverse()
        final: dict[str, Any] = {
            "status": plan.status, "finalizing_at": now,
            "request_counts": {"total": len(lines), "completed": len(outputs),
                               "failed": len(failures)},
        }  # fmt: skip
        final[{"completed": "completed_at", "expired": "expired_at",
               "cancelled": "cancelled_at"}[plan.status]] = now  # fmt: skip
        for key, rows, purpose in (
            ("output_file_id", outputs, "batch_output"),
            ("error_file_id", failures, "batch_output"),
        ):
            if rows:
                text = "".join(json.dumps(r) + "\n" for r in rows).encode()
                final[key] = self._new_file(f"{batch['id']}_{key}.jsonl", purpose, text)["id"]
        self.busy_seconds += time.perf_counter() - started
        return final


def _result_line(
    cid: str,
    *,
    status: int | None = None,
    body: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One line of a batch's output or error file, as OpenAI writes it."""
    response = None
    if status is not None:
        request_id = f"req_{uuid.uuid4().hex[:24]}"
        response = {"status_code": status, "request_id": request_id, "body": body}
    return {
        "id": f"batch_req_{uuid.uuid4().hex[:24]}",
        "custom_id": cid,
        "response": response,
        "error": None if error is None else {"code": error[0], "message": error[1]},
    }


def _read_batch_input(data: bytes, endpoint: str) -> tuple[list[tuple[str, dict]], list]:
    """The (custom_id, body) lines of a batch input file, and the problems OpenAI would name."""
    lines: list[tuple[str, dict[str, Any]]] = []
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.decode("utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError:
            problems.append(("invalid_json_line", f"line {number} is not JSON"))
            continue
        cid = row.get("custom_id") if isinstance(row, dict) else None
        body = row.get("body") if isinstance(row, dict) else None
        if not isinstance(cid, str) or not cid:
            problems.append(("missing_required_parameter", f"line {number}: no custom_id"))
        elif cid in seen:
            problems.append(("duplicate_custom_id", f"line {number}: custom_id {cid} repeated"))
        elif row.get("method") != "POST" or row.get("url") != endpoint:
            problems.append(("invalid_url", f"line {number}: not POST {endpoint}"))
        elif not isinstance(body, dict) or not isinstance(body.get("model"), str):
            problems.append(("missing_required_parameter", f"line {number}: body has no model"))
        else:
            seen.add(cid)
            lines.append((cid, body))
    if not lines and not problems:
        problems.append(("empty_file", "the input file has no requests"))
    return lines, problems
