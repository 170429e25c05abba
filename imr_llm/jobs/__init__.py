"""Provider batch jobs: the same extraction as online, through a Batch API at about half price.

``submit`` builds one request per letter exactly as the online path would and sends it as a
batch (OpenAI's or Azure's Batch API, or a JSONL for ``vllm run-batch``); ``collect`` validates
and grounds each answer as online, re-asks rejected answers in follow-up batches, and writes
records and failures as ``imr-llm extract`` does. See ``imr-llm batch --help`` and the README's
"Batch jobs" section. (``imr_llm.many.concurrent`` is another thing: the concurrent online runner.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:
    from .job import JobReport, batch_records, collect, job_model, status, submit

__all__ = ["JobReport", "batch_records", "collect", "job_model", "status", "submit"]


#: The names above load from .job on first use: .job imports openai and instructor (a second
#: or more), which a light submodule (``imr_llm.jobs.store``, which the CLI imports to list its
#: commands) must not pay for.
__getattr__ = lazy_getattr(__name__, dict.fromkeys(__all__, "job"), globals())
