"""Many letters at once: bounded concurrency, order kept, failures collected, never lost.

Each letter's outcome is either a record or the typed error that explains it; one bad letter
never stops the others. The CLI and the eval harness both run through here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ImrError, InternalError
from ..record.models import DeterminationRecord

# asyncio and the thread pool are imported where a batch runs: importing the public API (which
# names LetterResult) must not pay for them (benchmarks/import_time.py).
if TYPE_CHECKING:
    from concurrent.futures import Future

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LetterResult:
    """What happened to one letter of a batch: its record, or the error that explains why not."""

    index: int
    name: str
    record: DeterminationRecord | None = None
    error: ImrError | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.record is not None


def _settle(
    index: int,
    name: str,
    started: float,
    record: DeterminationRecord | None = None,
    exc: BaseException | None = None,
) -> LetterResult:
    """One letter's result from what its extraction returned or raised (sync or async alike)."""
    seconds = time.perf_counter() - started
    if exc is not None:
        if not isinstance(exc, ImrError):  # a batch must never lose a letter to a bug
            log.error("internal error while reading %s", name, exc_info=exc)
            exc = InternalError(f"{type(exc).__name__}: {exc}")
        return LetterResult(index, name, error=exc, seconds=seconds)
    assert record is not None
    if record.metadata is not None and name:
        record.metadata.source = name
    return LetterResult(index, name, record=record, seconds=seconds)


def _run_one(
    fn: Callable[[str], DeterminationRecord], index: int, name: str, text: str
) -> LetterResult:
    started = time.perf_counter()
    try:
        return _settle(index, name, started, record=fn(text))
    except Exception as exc:  # noqa: BLE001 - classified by _settle
        return _settle(index, name, started, exc=exc)


def iter_results(
    fn: Callable[[str], DeterminationRecord],
    letters: Iterable[tuple[str, str]],
    concurrency: int = 1,
) -> Iterator[LetterResult]:
    """Run ``fn`` over ``(name, text)`` pairs, yielding results as they complete.

    At most ``concurrency`` letters are in flight, so memory stays bounded for any batch size.
    Texts are produced lazily from ``letters`` (a generator that reads files is fine).
    """
    if concurrency <= 1:
        for index, (name, text) in enumerate(letters):
            yield _run_one(fn, index, name, text)
        return
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    iterator = enumerate(letters)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="imr-llm")
    finished = False
    pending: set[Future[LetterResult]] = set()
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < concurrency:
                try:
                    index, (name, text) = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                pending.add(pool.submit(_run_one, fn, index, name, text))
            if not pending:
                finished = True
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    except KeyboardInterrupt:
        # Ctrl-C while waiting or reading the next letter: hand over the letters that are
        # already finished, so they are written, then stop.
        for future in [f for f in pending if f.done() and not f.cancelled()]:
            pending.discard(future)
            yield future.result()
        raise
    finally:
        # Stopped early (Ctrl-C, or the caller closed the generator): letters not started are
        # cancelled and those in flight are not waited for; their results are dropped.
        pool.shutdown(wait=finished, cancel_futures=not finished)


def run_ordered(
    fn: Callable[[str], DeterminationRecord],
    texts: Sequence[str],
    concurrency: int = 1,
    names: Sequence[str] | None = None,
) -> list[LetterResult]:
    """All results, in input order."""
    names = names or [f"#{i}" for i in range(len(texts))]
    results = list(iter_results(fn, zip(names, texts, strict=True), concurrency))
    return sorted(results, key=lambda r: r.index)


async def run_ordered_async(
    fn: Callable[[str], Awaitable[DeterminationRecord]],
    texts: Sequence[str],
    concurrency: int = 8,
    names: Sequence[str] | None = None,
) -> list[LetterResult]:
    """The async twin of :func:`run_ordered`: a semaphore bounds the letters in flight."""
    import asyncio

    names = names or [f"#{i}" for i in range(len(texts))]
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(index: int, name: str, text: str) -> LetterResult:
        async with semaphore:
            started = time.perf_counter()
            try:
                return _settle(index, name, started, record=await fn(text))
            except Exception as exc:  # noqa: BLE001 - classified by _settle
                return _settle(index, name, started, exc=exc)

    return list(
        await asyncio.gather(
            *(one(i, n, t) for i, (n, t) in enumerate(zip(names, texts, strict=True)))
        )
    )


def summarise(results: Iterable[LetterResult]) -> dict[str, Any]:
    """Counts for a summary line: letters, ok, failed, and records per engine."""
    total = ok = 0
    engines: dict[str, int] = {}
    for result in results:
        total += 1
        if result.record is not None:
            ok += 1
            engine = result.record.metadata.engine if result.record.metadata else "unknown"
            engines[engine] = engines.get(engine, 0) + 1
    return {"letters": total, "ok": ok, "failed": total - ok, "engines": engines}
