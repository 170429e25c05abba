"""Letters on a Ray cluster: Ray Data over folders of letters, the records as a Dataset.

Why Ray: on one machine OCR is the wall (seconds a page), and the model path is bounded by one
process. Ray Data is the existing engine for batch document and model inference in Python, with
streaming execution, task retries when a worker dies, and readers for local files and object
stores; this module puts imr-llm's own reading and extraction inside it, unchanged, so a record
made on a cluster equals the one :func:`imr_llm.extract_file` makes on one machine.

How a run goes (``pip install 'imr-llm[ray]'``):

1. The driver lists the inputs in a stable order (:func:`list_inputs`): local files and folders
   (:func:`imr_llm.inputs.files.expand_paths`), or URIs pyarrow's filesystems read (``s3://``,
   ``gs://``, ``file://``), and makes them a Dataset (``ray.data.from_items``), a few letters a
   block.
2. ``map_batches`` runs each block as a Ray task: every letter is opened where it runs (read,
   size-checked, sniffed, its SHA-256 taken; a letter already done is skipped by identity) and
   extracted with :func:`imr_llm.api.extract_source`, the single-process path. The letter is
   the unit of work for the rules engine and the model; a batch's letters run in threads, so a
   task keeps up to ``concurrency`` model calls waiting at once.
3. The page is the unit of work for OCR: a PDF with several pages to OCR hands each page to a
   Ray task of its own (:func:`imr_llm.inputs.pdf.ocr_page`, the bytes shared through the object
   store), so a 10-page scan spreads over the cluster's workers, and the letter's task
   assembles their text exactly as :func:`imr_llm.inputs.pdf.read_pdf` does. (Ray Data's
   ``flat_map`` to pages and ``groupby`` back to letters does the same with a shuffle, a
   barrier that measured about twice as slow on 2 cores; see docs/scale.md.)
4. Model requests of every worker pass one gate, a named Ray actor (:class:`RequestGate`):
   a cluster-wide bound on requests in flight, and when the endpoint answers 429 with
   ``Retry-After``, every worker waits, not just the one told.
5. Each input ends as exactly one row: a record, a failure with its typed error's code, or
   ``skipped`` (already done). A task whose worker dies (SIGKILL, a lost node) is retried by
   Ray; a block that fails for good (an error Ray does not retry) leaves its letters to the
   driver, which writes them as failures (``internal_error``), and duplicates (a retried task
   whose first try had answered) are dropped by index, so nothing is lost or written twice.

Local paths must be readable at the same path on every node (a shared filesystem); anything
else is read through a URI. imr-llm must be installed on every node (the same version).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api import extract_source, resolve_backend, settings_for
from ..config import Settings
from ..errors import (
    FileTooLargeError,
    ImrError,
    InternalError,
    UnreadableInputError,
)
from ..inputs.files import (
    LETTER_SUFFIXES,
    LetterSource,
    LetterText,
    expand_paths,
    is_uri,
    open_source,
    read_letter,
    resolved_name,
    sniff,
)
from ..inputs.pdf import ocr_engine, ocr_page
from ..record.models import DeterminationRecord
from .concurrent import LetterResult, iter_results
from .tables import item_rows, items_schema, letter_row, letters_schema

#: The pip command that installs Ray with Ray Data (and pyarrow) for imr-llm.
RAY_INSTALL = "pip install 'imr-llm[ray]'"

try:
    import pyarrow as pa
    import ray
    import ray.data
except ImportError as exc:  # pragma: no cover - exercised where ray is absent
    raise ImportError(f"imr_llm.many.ray needs Ray; install it with: {RAY_INSTALL}") from exc

__all__ = [
    "OUTCOME_SCHEMA",
    "RAY_INSTALL",
    "ClusterError",
    "Outcome",
    "RequestGate",
    "connect",
    "extract_dataset",
    "list_inputs",
    "run_letters",
    "write_tables",
]

log = logging.getLogger(__name__)

#: The Dataset :func:`extract_dataset` returns: one row per input.
OUTCOME_SCHEMA = pa.schema(
    [
        pa.field("index", pa.int64(), metadata={"description": "The input's place in the run."}),
        pa.field("source", pa.string(), metadata={"description": "The name as given or listed."}),
        pa.field("path", pa.string(), metadata={"description": "Resolved path, or the URI."}),
        pa.field("sha256", pa.string(), metadata={"description": "SHA-256 of the bytes read."}),
        pa.field("status", pa.string(), metadata={"description": "ok, failed or skipped."}),
        pa.field("record", pa.string(), metadata={"description": "The record's JSON (ok)."}),
        pa.field("error", pa.string(), metadata={"description": "The failure row's JSON."}),
        pa.field("seconds", pa.float64(), metadata={"description": "Time spent on it."}),
    ]
)
#: Most letters in one Ray task (one block): enough that a task's start-up is small beside its
#: work; fewer when the run is short, so that a cluster's CPUs all get some.
LETTERS_PER_TASK = 8
#: Times Ray runs a page's OCR task again after its worker died. (A letters task is run again
#: as often as Ray Data's default allows: without limit for a worker that died.)
PAGE_RETRIES = 3
NAMESPACE = "imr_llm"


class ClusterError(RuntimeError):
    """Ray could not be started or reached, or lost the run: not a letter's failure (those are
    rows), the run's. The CLI reports it in one line (exit code 2)."""


# ----------------------------------------------------------------------------------------------
# Connecting
# ----------------------------------------------------------------------------------------------


def connect(address: str | None = None, *, num_cpus: int | None = None) -> bool:
    """Start a local Ray (``address`` None or ``local``) or join the cluster at ``address``;
    True when this call started or joined it (so the caller shuts it down after), False when
    Ray was already initialised.

    A local Ray binds to the loopback interface only (nothing listens on the machine's network
    address) and sends no usage statistics; both are environment settings a caller may set
    otherwise before calling.
    """
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address in (None, "local"):
            _loopback_only()
            ray.init(num_cpus=num_cpus, include_dashboard=False, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = "a local Ray" if address in (None, "local") else f"the Ray cluster at {address}"
        raise ClusterError(f"cannot start or reach {where}: {_one_line(exc)}") from None
    _quiet_ray_data()
    return True


def _loopback_only() -> None:
    """Ray gives its services the machine's network address unless told it is one machine
    (the switch Ray uses on laptops, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``): then everything
    is on 127.0.0.1. The processes Ray starts read the variable; this one read it when ``ray``
    was imported, so its constant is set too (where this Ray version has it)."""
    if os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0") != "0":
        return  # the caller asked for the machine's address
    try:
        from ray._private import ray_constants
    except ImportError:  # pragma: no cover - another layout: the variable alone decides
        return
    if hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):
        ray_constants.ENABLE_RAY_CLUSTER = False


def _quiet_ray_data() -> None:
    """Ray Data's progress bars and per-run log lines go to the console; imr-llm reports its
    own progress."""
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    if hasattr(ctx, "print_on_execution_start"):
        ctx.print_on_execution_start = False
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


# ----------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------


def _uri_of(original: str, path: str) -> str:
    scheme = original.partition("://")[0]
    return f"{scheme}://{path}"


def _list_uri(uri: str) -> list[str]:
    """The letters under a URI (a folder, at any depth, in path order), or the URI itself (a
    file, or something that cannot be listed: reading it then says why, as a failure row)."""
    import pyarrow.fs as pafs

    try:
        fs, root = pafs.FileSystem.from_uri(uri)
        info = fs.get_file_info(root)
        if info.type != pafs.FileType.Directory:
            return [uri]
        found = []
        for entry in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
            if entry.type != pafs.FileType.File:
                continue
            parts = tuple(entry.path[len(root) :].strip("/").split("/"))
            if any(p.startswith(".") for p in parts):
                continue
            if parts[-1].lower().endswith(LETTER_SUFFIXES):
                found.append((parts, _uri_of(uri, entry.path)))
    except (OSError, ValueError, pa.ArrowException) as exc:
        log.warning("cannot list %s: %s", uri, _one_line(exc))
        return [uri]
    return [name for _, name in sorted(found)]


def list_inputs(paths: Sequence[str]) -> list[dict[str, Any]]:
    """The run's inputs, in order: ``{"index", "source", "path"}`` per letter file.

    Folders are walked (local ones by :func:`~imr_llm.inputs.files.expand_paths`, URIs through
    pyarrow's filesystems); a local path is resolved here, on the driver, because a worker's
    working folder is not the driver's. The same file named twice is one input.
    """
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for given in paths:
        names = _list_uri(given) if is_uri(given) else expand_paths([given])[0]
        for name in names:
            path = name if is_uri(name) or name == "-" else resolved_name(name)
            if path in seen:
                continue
            seen.add(path)
            rows.append({"index": len(rows), "source": name, "path": path})
    return rows


def _open_uri(uri: str, name: str, max_file_bytes: int) -> LetterSource:
    """A letter read through pyarrow's filesystems, with the checks :func:`open_source` makes."""
    import hashlib

    import pyarrow.fs as pafs

    try:
        fs, path = pafs.FileSystem.from_uri(uri)
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            raise UnreadableInputError("no such file")
        if info.type == pafs.FileType.Directory:
            raise UnreadableInputError("is a folder that holds no letter files")
        if info.size is not None and info.size > max_file_bytes:
            raise FileTooLargeError(info.size, max_file_bytes)
        with fs.open_input_stream(path) as fh:
            data = fh.read(max_file_bytes + 1)
    except ImrError:
        raise
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise UnreadableInputError(f"cannot be read ({_one_line(exc)})") from None
    if len(data) > max_file_bytes:
        raise FileTooLargeError(len(data), max_file_bytes)
    return LetterSource(name, data, sniff(data, uri), uri, hashlib.sha256(data).hexdigest())


def _open(row: dict[str, Any], max_file_bytes: int) -> LetterSource:
    if is_uri(row["path"]):
        return _open_uri(row["path"], row["source"], max_file_bytes)
    return open_source(row["path"], max_file_bytes=max_file_bytes, name=row["source"])


# ----------------------------------------------------------------------------------------------
# Pages: the unit of work for OCR
# ----------------------------------------------------------------------------------------------


def _read_page(data: bytes, number: int, dpi: int, engine_name: str | None) -> Any:
    """One page's OCR, in whichever worker runs it (the engine loads once per worker). A
    typed error comes back as its failure row: exceptions with their own constructor
    arguments do not survive pickling."""
    try:
        return ocr_page(data, number, ocr_engine(engine_name), dpi)
    except ImrError as exc:
        return exc.to_dict()


_page_task = ray.remote(_read_page)


def _page_reader(engine_name: str | None, retries: int) -> Any:
    """What :func:`imr_llm.inputs.pdf.read_pdf` calls for the pages it must OCR: one Ray task a page
    when there are several, this worker for one."""

    def read(data: bytes, numbers: list[int], dpi: int) -> dict[int, Any]:
        if len(numbers) == 1:
            answers = {numbers[0]: _read_page(data, numbers[0], dpi, engine_name)}
        else:
            shared = ray.put(data)
            task = _page_task.options(max_retries=retries, retry_exceptions=False)
            refs = {n: task.remote(shared, n, dpi, engine_name) for n in numbers}
            answers = {n: ray.get(ref) for n, ref in refs.items()}
        for value in answers.values():
            if isinstance(value, dict):
                raise _error_from_row(value)
        return answers

    return read


@dataclass(frozen=True, slots=True)
class _PagedSource(LetterSource):
    """A letter whose OCR pages are read by ``reader`` (Ray tasks) when it is read."""

    reader: Any = None

    def read(
        self, ocr_engine: str | None = None, *, engine: Any = None, page_ocr: Any = None
    ) -> LetterText:
        return read_letter(self, ocr_engine, engine=engine, page_ocr=page_ocr or self.reader)


# ----------------------------------------------------------------------------------------------
# The request gate: one bound on model requests in flight for the whole cluster
# ----------------------------------------------------------------------------------------------


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class _GateActor:
    """The shared state behind :class:`RequestGate` (an async actor: waiting callers do not
    hold a thread). A lease its holder stops renewing (killed mid-request) expires after
    ``lease_s``."""

    def __init__(self, limit: int, lease_s: float) -> None:
        self.limit, self.lease_s = limit, lease_s
        self.leases: dict[str, float] = {}
        self.not_before = 0.0
        self.changed = asyncio.Condition()
        self.granted = self.peak = self.pauses = 0

    def _expire(self, now: float) -> None:
        for token in [t for t, until in self.leases.items() if until <= now]:
            del self.leases[token]

    async def acquire(self) -> str:
        async with self.changed:
            while True:
                now = time.monotonic()
                self._expire(now)
                if now >= self.not_before and len(self.leases) < self.limit:
                    token = uuid.uuid4().hex
                    self.leases[token] = now + self.lease_s
                    self.granted += 1
                    self.peak = max(self.peak, len(self.leases))
                    return token
                if now < self.not_before:
                    timeout = self.not_before - now
                else:
                    timeout = min(self.leases.values()) - now
                try:
                    await asyncio.wait_for(self.changed.wait(), timeout=max(timeout, 0.001))
                except asyncio.TimeoutError:
                    pass

    async def renew(self, tokens: list[str]) -> None:
        until = time.monotonic() + self.lease_s
        for token in tokens:
            if token in self.leases:
                self.leases[token] = until

    async def release(self, token: str) -> None:
        async with self.changed:
            self.leases.pop(token, None)
            self.changed.notify_all()

    async def pause(self, seconds: float) -> None:
        async with self.changed:
            self.not_before = max(self.not_before, time.monotonic() + seconds)
            self.pauses += 1

    async def stats(self) -> dict[str, Any]:
        return {"limit": self.limit, "in_flight": len(self.leases), "granted": self.granted,
                "peak": self.peak, "pauses": self.pauses}  # fmt: skip


class RequestGate:
    """A cluster-wide gate for model requests (see :mod:`imr_llm.llm.transport`): at most
    ``limit`` requests in flight across every worker, and a ``Retry-After`` one worker is given
    held by all. A named actor (``imr-llm-gate-<id>`` in namespace ``imr_llm``), so a worker or
    another driver can find it with ``ray.get_actor``.

    Each process holding a slot renews its leases every ``lease_s / 3`` seconds from a daemon
    thread; a worker killed mid-request stops renewing, and its slot is free again within
    ``lease_s`` seconds instead of staying taken for good.
    """

    def __init__(self, limit: int, *, lease_s: float = 6.0, name: str | None = None) -> None:
        self.name = name or f"imr-llm-gate-{uuid.uuid4().hex[:12]}"
        self.lease_s = lease_s
        self.handle = _GateActor.options(  # type: ignore[attr-defined]
            name=self.name, namespace=NAMESPACE, get_if_exists=True
        ).remote(limit, lease_s)
        self._local()

    def _local(self) -> None:
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._renewer: threading.Thread | None = None

    def __getstate__(self) -> dict[str, Any]:  # shipped to workers: the actor, not the thread
        return {"name": self.name, "lease_s": self.lease_s, "handle": self.handle}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local()

    def _renew(self) -> None:
        while True:
            time.sleep(self.lease_s / 3)
            with self._lock:
                held = list(self._held)
            if held:
                self.handle.renew.remote(held)

    def acquire(self) -> str:
        token = ray.get(self.handle.acquire.remote())
        with self._lock:
            self._held.add(token)
            if self._renewer is None:
                self._renewer = threading.Thread(target=self._renew, daemon=True,
                                                 name="imr-llm-gate-renew")  # fmt: skip
                self._renewer.start()
        return token

    def release(self, token: Any) -> None:
        with self._lock:
            self._held.discard(token)
        self.handle.release.remote(token)

    def pause(self, seconds: float) -> None:
        self.handle.pause.remote(seconds)

    def stats(self) -> dict[str, Any]:
        """``limit``, ``in_flight``, ``granted``, ``peak`` (most in flight at once), ``pauses``."""
        return ray.get(self.handle.stats.remote())


# ----------------------------------------------------------------------------------------------
# Letters: the unit of work for rules and the model
# ----------------------------------------------------------------------------------------------


def _error_from_row(row: dict[str, Any]) -> ImrError:
    from ..jobs.job import stored_error  # a failures-file row as its typed error again

    return stored_error(row)


def _row(base: dict[str, Any], status: str, **values: Any) -> dict[str, Any]:
    out = dict.fromkeys(OUTCOME_SCHEMA.names)
    out.update(index=base["index"], source=base["source"], path=base["path"], status=status)
    out["seconds"] = 0.0
    out.update(values)
    return out


def _failure(base: dict[str, Any], error: ImrError, **values: Any) -> dict[str, Any]:
    row = {"source": base["source"], **error.to_dict()}
    if base["source"] != "-":
        row["path"] = base["path"]
    return _row(base, "failed", error=json.dumps(row), **values)


def _extract_batch(
    batch: Any,
    *,
    backend: str,
    settings: Settings,
    done: frozenset[tuple[str, str]],
    done_paths: frozenset[str],
    gate: RequestGate | None,
    page_retries: int,
) -> Any:
    """One Ray task: open, skip or extract each letter of the block; one row per letter."""
    from ..llm.transport import set_request_gate

    set_request_gate(gate)  # this run's (a worker may have served another run before)
    reader = _page_reader(settings.ocr_engine, page_retries)
    rows: list[dict[str, Any]] = []
    opened: list[tuple[str, tuple[dict[str, Any], LetterSource]]] = []
    for base in batch.to_pylist():
        started = time.perf_counter()
        try:
            source = _open(base, settings.max_file_bytes)
        except ImrError as exc:
            rows.append(_failure(base, exc, seconds=time.perf_counter() - started))
            continue
        except Exception as exc:  # noqa: BLE001 - a bug must not lose the letter
            rows.append(_failure(base, InternalError(f"{type(exc).__name__}: {exc}")))
            continue
        identity = source.path or base["path"]
        if (identity, source.sha256) in done or identity in done_paths:
            rows.append(_row(base, "skipped", sha256=source.sha256))
            continue
        paged = _PagedSource(
            source.name, source.data, source.kind, source.path, source.sha256, reader
        )
        opened.append((base["source"], (base, paged)))

    def one(pair: tuple[dict[str, Any], LetterSource]) -> DeterminationRecord:
        return extract_source(pair[1], backend, settings=settings)  # type: ignore[arg-type]

    chosen = resolve_backend(backend, settings)
    threads = 1 if chosen == "rules" else max(1, min(len(opened), settings.concurrency))
    by_name = {name: pair for name, pair in opened}
    for result in iter_results(one, opened, threads):  # type: ignore[arg-type]
        base, source = by_name[result.name]
        if result.record is None:
            assert result.error is not None
            rows.append(_failure(base, result.error, sha256=source.sha256,
                                 seconds=result.seconds))  # fmt: skip
            continue
        meta = result.record.metadata
        if meta is not None:  # the identity, as the command line sets it
            meta.source = source.path or base["source"]
            meta.source_sha256 = source.sha256
        record = json.dumps(result.record.model_dump(mode="json"), ensure_ascii=False)
        rows.append(_row(base, "ok", sha256=source.sha256, record=record,
                         seconds=result.seconds))  # fmt: skip
    return pa.Table.from_pylist(rows, schema=OUTCOME_SCHEMA)


def _letters_per_task(letters: int) -> int:
    """Enough tasks that every CPU of the cluster gets several (a short run still spreads over
    its nodes), never more than :data:`LETTERS_PER_TASK` letters in one."""
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    return max(1, min(LETTERS_PER_TASK, math.ceil(letters / (4 * cpus))))


def extract_dataset(
    paths: Sequence[str],
    backend: str = "auto",
    *,
    settings: Settings | None = None,
    model: str | None = None,
    done: Any = None,
    letters_per_task: int | None = None,
    page_retries: int = PAGE_RETRIES,
    gate: RequestGate | None = None,
    **options: Any,
) -> ray.data.Dataset:
    """A ``ray.data.Dataset`` of the records of the letters at ``paths`` (lazy: it runs when
    consumed), one row per input with :data:`OUTCOME_SCHEMA`'s columns: ``status`` ``ok`` (the
    record's JSON in ``record``), ``failed`` (the failure row's JSON in ``error``: ``error``
    code, ``type``, ``message``, as ``imr-llm extract`` writes it) or ``skipped`` (already in
    ``done``).

    Args:
        paths: Files, folders, or URIs pyarrow's filesystems read (``s3://bucket/letters/``).
        backend, model, settings, options: As for :func:`imr_llm.extract_file`.
        done: Letters to skip: a set of ``(path, sha256)``, or a
            :class:`~imr_llm.many.runlog.Done` (what ``--resume`` reads from an output).
        letters_per_task: Letters in one Ray task (default: :func:`letters_per_task`).
        page_retries: Times a page's OCR task is run again after its worker died.
        gate: The cluster-wide request gate; by default one is made for a backend that may
            call the model, bounding requests in flight to ``settings.concurrency``.

    Starts a local Ray when none is running (see :func:`connect`).
    """
    settings = settings_for(settings, model, options)
    resolve_backend(backend, settings)  # a bad backend fails here, on the driver
    connect()
    return _dataset(list_inputs(paths), backend, settings, done, letters_per_task,
                    page_retries, gate)  # fmt: skip


def _dataset(
    rows: list[dict[str, Any]],
    backend: str,
    settings: Settings,
    done: Any,
    letters_per_task: int | None,
    page_retries: int,
    gate: RequestGate | None,
) -> ray.data.Dataset:
    if not rows:
        return ray.data.from_arrow(OUTCOME_SCHEMA.empty_table())
    if gate is None and resolve_backend(backend, settings) != "rules":
        gate = RequestGate(settings.concurrency)
    if isinstance(done, set | frozenset):
        keys, paths = frozenset(done), frozenset()
    else:
        keys = frozenset(getattr(done, "keys", ()) or ())
        paths = frozenset(getattr(done, "paths", ()) or ())
    per_task = max(1, letters_per_task or _letters_per_task(len(rows)))
    blocks = max(1, math.ceil(len(rows) / per_task))
    ds = ray.data.from_items(rows, override_num_blocks=blocks)
    return ds.map_batches(
        _extract_batch,
        batch_size=per_task,
        batch_format="pyarrow",
        fn_kwargs={
            "backend": backend,
            "settings": settings,
            "done": keys,
            "done_paths": paths,
            "gate": gate,
            "page_retries": page_retries,
        },
    )


# ----------------------------------------------------------------------------------------------
# The driver's side: every input ends as one outcome
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One input's end: ``status`` ``ok`` (``record``), ``failed`` (``error``, a failure row)
    or ``skipped``."""

    index: int
    name: str
    path: str | None
    sha256: str | None
    status: str
    record: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    seconds: float = 0.0

    def result(self) -> LetterResult:
        """As the local runner reports a letter (a record, or the typed error)."""
        if self.record is not None:
            record = DeterminationRecord.model_validate(self.record)
            return LetterResult(self.index, self.name, record=record, seconds=self.seconds)
        assert self.error is not None
        return LetterResult(
            self.index, self.name, error=_error_from_row(self.error), seconds=self.seconds
        )


def _outcome(row: dict[str, Any]) -> Outcome:
    return Outcome(
        index=int(row["index"]),
        name=row["source"],
        path=row["path"] if row["source"] != "-" else None,
        sha256=row["sha256"],
        status=row["status"],
        record=json.loads(row["record"]) if row["record"] else None,
        error=json.loads(row["error"]) if row["error"] else None,
        seconds=float(row["seconds"] or 0.0),
    )


def run_letters(
    names: Sequence[str],
    backend: str = "auto",
    *,
    settings: Settings,
    address: str | None = None,
    done: Any = None,
    letters_per_task: int | None = None,
    page_retries: int = PAGE_RETRIES,
    inputs: list[dict[str, Any]] | None = None,
) -> Iterator[Outcome]:
    """Run ``names`` on Ray (``address`` as for :func:`connect`) and yield each input's
    :class:`Outcome` as it completes: what ``imr-llm extract --ray`` writes.

    Exactly one outcome per input: a retried task's second answer for an input is dropped,
    and an input whose task failed on every try ends as an ``internal_error`` failure.
    ``done`` is a :class:`~imr_llm.many.runlog.Done` (or a set of ``(path, sha256)``); ``inputs``,
    what :func:`list_inputs` gave for ``names`` when the caller listed them already.
    """
    started_here = connect(address)
    try:
        rows = inputs if inputs is not None else list_inputs(names)
        ds = _dataset(rows, backend, settings, done, letters_per_task, page_retries, None)
        # A block whose task failed on every try must not stop the others: its letters are
        # written as failures below.
        ds.context.max_errored_blocks = -1
        seen: set[int] = set()
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
                for row in batch.to_pylist():
                    if row["index"] in seen:
                        continue
                    seen.add(row["index"])
                    yield _outcome(row)
        except ray.exceptions.RayError as exc:
            raise ClusterError(f"the Ray run stopped: {_one_line(exc)}") from None
        for row in rows:
            if row["index"] not in seen:
                error = InternalError(
                    "the Ray task reading it failed for good (its block was given up); run "
                    "again with --retry-failed"
                )
                yield _outcome(_failure(row, error))
    finally:
        if started_here:
            ray.shutdown()


# ----------------------------------------------------------------------------------------------
# Tables from a Dataset of records
# ----------------------------------------------------------------------------------------------


def _letters_batch(batch: Any) -> Any:
    rows = [letter_row(json.loads(r)) for r in batch.column("record").to_pylist() if r]
    return pa.Table.from_pylist(rows, schema=letters_schema())


def _items_batch(batch: Any) -> Any:
    rows = []
    for raw in batch.column("record").to_pylist():
        if raw:
            rows.extend(item_rows(json.loads(raw)))
    return pa.Table.from_pylist(rows, schema=items_schema())


def write_tables(dataset: ray.data.Dataset, folder: str | os.PathLike[str]) -> dict[str, int]:
    """Write a Dataset of :func:`extract_dataset` rows as the letters and items tables, in
    Parquet with :mod:`imr_llm.many.tables`' schema: ``FOLDER/letters/`` and ``FOLDER/items/``
    (each a folder of Parquet files, written by the workers; ``FOLDER`` may be a URI), and
    the failures as ``FOLDER/failures.jsonl``, one failure row a line, as the CLI writes them.

    The dataset is run once (materialised) for the three outputs. Returns the counts:
    ``letters``, ``items``, ``failed``, ``skipped``.
    """
    import pyarrow.fs as pafs

    where = os.fspath(folder)
    records = dataset.materialize()
    counts = {"letters": 0, "items": 0, "failed": 0, "skipped": 0}
    failures: list[str] = []
    for batch in records.select_columns(["status", "error"]).iter_batches(
        batch_format="pyarrow", batch_size=None
    ):
        statuses, errors = batch.column("status").to_pylist(), batch.column("error").to_pylist()
        for status, error in zip(statuses, errors, strict=True):
            if status in ("failed", "skipped"):
                counts[status] += 1
            if error:
                failures.append(error)
    letters = records.map_batches(_letters_batch, batch_format="pyarrow", batch_size=None)
    items = records.map_batches(_items_batch, batch_format="pyarrow", batch_size=None)
    letters.write_parquet(f"{where.rstrip('/')}/letters")
    items.write_parquet(f"{where.rstrip('/')}/items")
    counts["letters"], counts["items"] = letters.count(), items.count()
    fs, base = pafs.FileSystem.from_uri(where) if is_uri(where) else (
        pafs.LocalFileSystem(), str(Path(where).resolve()))  # fmt: skip
    with fs.open_output_stream(f"{base.rstrip('/')}/failures.jsonl") as fh:
        fh.write("".join(line + "\n" for line in failures).encode("utf-8"))
    return counts
