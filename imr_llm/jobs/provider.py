"""The provider's files and batches API through the openai client, failures as BatchJobError.

Only the openai client's own calls are used (``files.create``, ``batches.create``,
``batches.retrieve``, ``batches.list``, ``files.content``), so OpenAI, Azure OpenAI and any
server that implements the Batch API work alike. The client retries transient failures itself
(``transport_retries`` times); what still fails is a :class:`~imr_llm.errors.BatchJobError`
saying which call and the server's own words (keys redacted).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import openai

from ..config import Settings
from ..errors import BatchJobError, ImrError
from ..llm.extractor import sync_client
from ..llm.transport import server_message

log = logging.getLogger(__name__)

#: Batch statuses after which nothing more will happen to it.
FINAL = frozenset({"completed", "failed", "expired", "cancelled"})
T = TypeVar("T")


class Provider:
    """The files and batches endpoints of one configured endpoint."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        try:
            base = sync_client(settings, client)
        except ImrError as exc:
            raise BatchJobError(f"no endpoint to send the batch to: {exc}") from None
        self.client: openai.OpenAI = base.with_options(max_retries=settings.transport_retries)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except openai.APIStatusError as exc:
            message, code = server_message(exc)
            raise BatchJobError(
                f"{what} failed: HTTP {exc.status_code}"
                + (f" ({code})" if code else "")
                + (f": {message}" if message else "")
            ) from None
        except openai.APIError as exc:
            raise BatchJobError(f"{what} failed: {type(exc).__name__}") from None

    def upload(self, name: str, data: bytes) -> str:
        """Upload a requests JSONL (purpose ``batch``); its file id."""
        obj = self._call(
            "uploading the requests", lambda: self.client.files.create(
                file=(name, data, "application/jsonl"), purpose="batch")
        )  # fmt: skip
        return obj.id

    def create(self, input_file_id: str, metadata: dict[str, str], url: str) -> Any:
        """Create the batch over an uploaded file."""
        return self._call(
            "creating the batch", lambda: self.client.batches.create(
                input_file_id=input_file_id, endpoint=url, completion_window="24h",
                metadata=metadata)
        )  # fmt: skip

    def find(self, metadata: dict[str, str]) -> Any | None:
        """A batch created earlier with this ``metadata`` (a create whose id was never saved)."""

        def look() -> Any | None:
            for batch in self.client.batches.list(limit=100):
                if (batch.metadata or {}) == metadata:
                    return batch
            return None

        return self._call("listing batches", look)

    def retrieve(self, batch_id: str) -> Any:
        return self._call(f"reading batch {batch_id}",
                          lambda: self.client.batches.retrieve(batch_id))  # fmt: skip

    def content(self, file_id: str) -> bytes:
        return self._call(f"downloading file {file_id}",
                          lambda: self.client.files.content(file_id).content)  # fmt: skip
