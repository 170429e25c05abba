"""Submit, follow and collect a provider batch job; every step safe to interrupt and re-run.

``submit`` reads the letters, builds one request per distinct letter text as the online path
would, writes the job folder and (unless offline) uploads the requests and creates the batch.
``collect`` downloads a finished batch's results (or reads a results file produced elsewhere),
replays each letter's answers through the online validation (:mod:`.replay`), and then:
writes records and failures as ``imr-llm extract`` does, and sends the letters whose answer was
rejected in a follow-up batch carrying the validation errors (up to ``max_attempts``), with the
lines that failed or expired sent again (up to ``transport_retries``).

Order of writes, so that an interrupted collect loses nothing and duplicates nothing when run
again: the results file is saved whole before it is used; the next round's requests file
before the job file that names it; the job file (atomically) before any record is appended;
records are appended only for letters not yet in the output (by path and sha256, as
``extract --resume``), so a collect killed while writing them just writes the rest next time;
the failures file is rewritten whole from the job file. A batch created but whose id was never
saved is found again by its metadata (job id and round) rather than created twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai.types.chat import ChatCompletion

from ..config import Settings, load_settings
from ..errors import (
    BatchJobError,
    ImrError,
    ModelRequestError,
    ModelTransportError,
    redact_secrets,
)
from ..inputs.files import LetterText, read_source, resolved_name
from ..inputs.pdf import OcrSpan
from ..llm.transport import UsageLedger
from ..many.runlog import cut_torn_tail, read_done, sidecar
from ..record.builder import attach_input
from ..record.models import DeterminationRecord, InputInfo, TokenUsage
from .provider import FINAL, Provider
from .replay import Outcome, new_call, replay
from .requests import CHAT_URL, batch_line, custom_id, first_request, request_hash, text_hash
from .results import LineResult, collect_lines
from .store import (
    Job,
    JobFolder,
    Letter,
    Part,
    Round,
    Unit,
    read_jsonl,
    write_atomic,
    write_lines,
)

log = logging.getLogger(__name__)

#: The settings a job keeps: every later round is built and validated with these, whatever
#: the environment says then. (The endpoint and key come from the environment each time and
#: are never written to the folder.)
JOB_SETTINGS = (
    "model", "mode", "temperature", "max_output_tokens", "max_chars", "prompt_version",
    "max_attempts", "transport_retries", "strict", "batch_discount", "price_input",
    "price_output", "batch_url",
)  # fmt: skip
OUTPUT = "records.jsonl"
#: OpenAI's limits on one batch's input file: requests, and bytes. A round over them is sent as
#: several batches (its parts), tracked in the same job file.
MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024


@dataclass
class JobReport:
    """Where a job stands, for the CLI's summary line and for callers."""

    folder: Path
    letters: int = 0
    done: int = 0
    flagged: int = 0
    failed: int = 0
    pending: int = 0
    rounds: int = 0
    round_status: str | None = None
    batch_id: str | None = None
    #: Batches the current round was sent in (more than one when it was over one's limits).
    batches: int = 1
    counts: dict[str, int] | None = None
    written: int = 0
    tokens: int = 0
    cost_usd: float | None = None
    output: Path | None = None
    errors: Path | None = None
    offline_file: Path | None = None
    model: str = ""

    @property
    def finished(self) -> bool:
        return self.pending == 0

    @property
    def reask_rounds(self) -> int:
        """Follow-up batches after the first (re-asks, and failed lines sent again)."""
        return max(self.rounds - 1, 0)


def job_settings(job: Job, base: Settings | None = None) -> Settings:
    """The job's own settings over the environment's (endpoint and key).

    Every setting the job keeps wins, unset ones too: prices left unset at submit stay unset
    (the price table's), whatever ``IMR_LLM_PRICE_*`` says when the job is collected, so a
    job's cost never depends on the shell that collects it.
    """
    base = base or load_settings()
    return type(base).model_validate({**base.model_dump(), **job.settings})


# ----------------------------------------------------------------------------------------------
# submit
# ----------------------------------------------------------------------------------------------


def submit(
    files: Sequence[str],
    folder: Path,
    *,
    settings: Settings | None = None,
    client: Any = None,
    offline: bool = False,
    output: Path | None = None,
) -> JobReport:
    """Build the first round of requests for ``files`` in ``folder`` and send it (or, with
    ``offline``, only write it: ``round-001.requests.jsonl``)."""
    settings = settings or load_settings()
    provider = None if offline else Provider(settings, client)  # no endpoint: fail before work
    if folder.exists() and not folder.is_dir():
        raise BatchJobError(f"{folder} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchJobError(f"cannot create {folder}: {exc.strerror}") from None
    with JobFolder(folder).locked():
        return _submit_locked(files, folder, settings, provider, output)


def _submit_locked(
    files: Sequence[str],
    folder: Path,
    settings: Settings,
    provider: Provider | None,
    output: Path | None,
) -> JobReport:
    store = JobFolder(folder)
    offline = provider is None
    if store.exists():
        raise BatchJobError(f"{folder} already holds a batch job (collect it, or use a new folder)")
    try:
        (folder / "texts").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchJobError(f"cannot create {folder}: {exc.strerror}") from None

    by_path: dict[str, str] = {}
    for name in files:
        if name == "-":
            raise BatchJobError("a batch job reads letter files, not standard input")
        by_path.setdefault(resolved_name(name), name)
    letters: list[Letter] = []
    units: dict[str, Unit] = {}
    failures: list[dict[str, Any]] = []
    lines: list[str] = []
    hashes: dict[str, str] = {}
    for path, name in by_path.items():
        try:
            source = read_source(name, max_file_bytes=settings.max_file_bytes)
            read = source.read(settings.ocr_engine)  # a PDF's pages (OCR where needed), once
            text = read.text
            unit_hash = text_hash(text)
            if unit_hash not in units:
                call = new_call(text, settings)  # input errors, as online
                body = first_request(call.doc.source, settings)
        except ImrError as exc:
            failures.append({"source": name, "path": path, **exc.to_dict()})
            continue
        letters.append(Letter(name, source.path or path, source.sha256 or "", unit_hash))
        if unit_hash in units:
            continue
        write_atomic(store.text_file(unit_hash), text.encode("utf-8"), sync=False)
        write_atomic(store.input_file(unit_hash), input_json(read), sync=False)
        cid = custom_id(unit_hash, 1)
        units[unit_hash] = Unit(unit_hash, current=[cid, 1], sent=1)
        lines.append(batch_line(cid, body, settings.batch_url))
        hashes[cid] = request_hash(body)
    try:
        parts = None if offline else _parts(lines)
    except BatchJobError:
        shutil.rmtree(folder / "texts", ignore_errors=True)
        raise
    job = Job(
        job_id=uuid.uuid4().hex,
        created_at=time.time(),
        settings={k: getattr(settings, k) for k in JOB_SETTINGS},
        offline=offline,
        # Relative: the folder's own (it may move); a file given is kept as an absolute path.
        output=OUTPUT if output is None else str(output.resolve()),
        letters=letters,
        units=units,
        failures=failures,
    )
    if units:
        first = Round(1, hashes, status="offline" if offline else "built", parts=parts)
        write_lines(store.file(first.requests_file), lines)
        job.rounds.append(first)
    store.save(job)
    if provider is not None and job.current is not None:
        _send(store, job, provider)
    _write_failures(store, job)
    return report(store, job)


def _send(store: JobFolder, job: Job, provider: Provider) -> None:
    """Upload the current round and create its batch, saving each id as soon as it exists."""
    current = job.current
    assert current is not None
    if job.offline:
        return
    if current.parts:
        _send_parts(store, job, current, provider)
        return
    if current.batch_id is not None:
        return
    metadata = {"imr_llm_job": job.job_id, "round": str(current.number)}
    if current.input_file_id is not None:
        found = provider.find(metadata)  # created before an interruption, id never saved?
        if found is not None:
            current.batch_id, current.status = found.id, found.status
            store.save(job)
            return
    else:
        data = store.file(current.requests_file).read_bytes()
        current.input_file_id = provider.upload(current.requests_file, data)
        store.save(job)
    url = str(job.settings.get("batch_url") or CHAT_URL)
    batch = provider.create(current.input_file_id, metadata, url)
    current.batch_id, current.status = batch.id, batch.status
    store.save(job)
    log.info("round %d sent: batch %s, %d request(s)", current.number, batch.id,
             len(current.requests))  # fmt: skip


def _parts(lines: list[str]) -> list[Part] | None:
    """The batches a round's request lines need, within one batch's limits (MAX_REQUESTS
    lines, MAX_BYTES bytes), in order; None when one batch holds them all."""
    ranges: list[tuple[int, int]] = []
    start = size = 0
    for index, line in enumerate(lines):
        length = len(line.encode("utf-8")) + 1
        if length > MAX_BYTES:
            raise BatchJobError(
                f"one request is {length / 2**20:,.1f} MB, over a batch's limit of "
                f"{MAX_BYTES / 2**20:,.0f} MB"
            )
        if index > start and (index - start >= MAX_REQUESTS or size + length > MAX_BYTES):
            ranges.append((start, index))
            start, size = index, 0
        size += length
    if start < len(lines):
        ranges.append((start, len(lines)))
    if len(ranges) <= 1:
        return None
    return [Part(k, a, b) for k, (a, b) in enumerate(ranges, start=1)]


def _send_parts(store: JobFolder, job: Job, current: Round, provider: Provider) -> None:
    """Upload and create each batch of a round split in parts, saving every id as soon as it
    exists (a part created but never recorded is found again by its metadata)."""
    assert current.parts is not None
    url = str(job.settings.get("batch_url") or CHAT_URL)
    lines: list[bytes] | None = None
    for part in current.parts:
        if part.batch_id is not None:
            continue
        metadata = {"imr_llm_job": job.job_id, "round": str(current.number),
                    "part": str(part.number)}  # fmt: skip
        if part.input_file_id is not None:
            found = provider.find(metadata)
            if found is not None:
                part.batch_id, part.status = found.id, found.status
                store.save(job)
                continue
        else:
            if lines is None:
                lines = store.file(current.requests_file).read_bytes().splitlines(keepends=True)
            name = current.requests_file.replace(".requests", f".part-{part.number:02d}.requests")
            part.input_file_id = provider.upload(name, b"".join(lines[part.start : part.end]))
            store.save(job)
        batch = provider.create(part.input_file_id, metadata, url)
        part.batch_id, part.status = batch.id, batch.status
        store.save(job)
        log.info("round %d part %d sent: batch %s, %d request(s)", current.number, part.number,
                 batch.id, part.end - part.start)  # fmt: skip
    _sum_parts(current)
    store.save(job)


def _sum_parts(current: Round) -> None:
    """The round's status and counts from its parts': failed if one failed, finished when all
    are, else the first unfinished part's status."""
    assert current.parts is not None
    statuses = [p.status for p in current.parts]
    if "failed" in statuses:
        current.status = "failed"
    elif all(s in FINAL for s in statuses):
        current.status = next((s for s in statuses if s != "completed"), "completed")
    else:
        current.status = next(s for s in statuses if s not in FINAL)
    known = [p.counts for p in current.parts if p.counts]
    current.counts = (
        {key: sum(c.get(key, 0) for c in known) for key in ("total", "completed", "failed")}
        if known
        else None
    )


def _batch_state(batch: Any) -> tuple[Any, dict[str, int] | None, Any, Any]:
    """What the provider says of a batch, as a round or a part keeps it: status, request
    counts, output and error files."""
    counts = batch.request_counts
    return (
        batch.status,
        {"total": counts.total, "completed": counts.completed, "failed": counts.failed}
        if counts is not None
        else None,
        batch.output_file_id,
        batch.error_file_id,
    )


def _refresh_parts(store: JobFolder, job: Job, current: Round, provider: Provider) -> None:
    """Ask the provider about every unfinished part of the round."""
    assert current.parts is not None
    changed = False
    for part in current.parts:
        if part.batch_id is None or part.status in FINAL:
            continue
        batch = provider.retrieve(part.batch_id)
        seen = _batch_state(batch)
        if seen != (part.status, part.counts, part.output_file_id, part.error_file_id):
            part.status, part.counts, part.output_file_id, part.error_file_id = seen
            changed = True
    if changed:
        _sum_parts(current)
        store.save(job)


def _parts_results(store: JobFolder, job: Job, current: Round, provider: Provider) -> bytes | None:
    """The round's results, every part's together, once every part has finished (None
    before); each part's are saved as they come, so a collect run again downloads none twice."""
    assert current.parts is not None
    if any(p.batch_id is None for p in current.parts):
        _send_parts(store, job, current, provider)  # parts built but never sent (interrupted)
        return None
    _refresh_parts(store, job, current, provider)
    if any(p.status not in FINAL for p in current.parts):
        return None
    failed = [p for p in current.parts if p.status == "failed"]
    if failed:
        raise BatchJobError(
            f"batch {failed[0].batch_id} (round {current.number}, part {failed[0].number} of "
            f"{len(current.parts)}) failed as a whole"
        )
    data = b""
    for part in current.parts:
        target = store.file(part.results_file(current.number))
        if not target.exists():
            chunk_all = b""
            for file_id in (part.output_file_id, part.error_file_id):
                if file_id:
                    chunk = provider.content(file_id)
                    chunk_all += chunk if not chunk or chunk.endswith(b"\n") else chunk + b"\n"
            write_atomic(target, chunk_all)
        data += target.read_bytes()
    return data


# ----------------------------------------------------------------------------------------------
# status and collect
# ----------------------------------------------------------------------------------------------


def status(folder: Path, *, client: Any = None, settings: Settings | None = None) -> JobReport:
    """Where the job stands; asks the provider about a batch still running."""
    store = JobFolder(folder)
    store.load()  # a missing or damaged job says so before any lock file is made
    with store.locked():
        return _status_locked(folder, client=client, settings=settings)


def _status_locked(
    folder: Path, *, client: Any = None, settings: Settings | None = None
) -> JobReport:
    store = JobFolder(folder)
    job = store.load()
    current = job.current
    if current is not None and not job.offline and not current.collected:
        provider = Provider(job_settings(job, settings), client)
        if current.parts:
            _refresh_parts(store, job, current, provider)
        elif current.batch_id is not None and current.status not in FINAL:
            _refresh(store, job, provider)
    return report(store, job)


def _refresh(store: JobFolder, job: Job, provider: Provider) -> Any:
    current = job.current
    assert current is not None and current.batch_id is not None
    batch = provider.retrieve(current.batch_id)
    seen = _batch_state(batch)
    known = (current.status, current.counts, current.output_file_id, current.error_file_id)
    if seen != known:  # a poll that finds nothing new writes nothing
        current.status, current.counts, current.output_file_id, current.error_file_id = seen
        store.save(job)
    return batch


def collect(
    folder: Path,
    *,
    client: Any = None,
    settings: Settings | None = None,
    results: Path | None = None,
    wait: bool = False,
    poll_s: float = 30.0,
    timeout_s: float | None = None,
    on_round: Callable[[JobReport], None] | None = None,
) -> JobReport:
    """Apply every finished round, send the follow-up round, write records and failures.

    With ``results`` the current round's results come from that file (``vllm run-batch`` or
    any engine writing the Batch API's output format). With ``wait`` it polls every ``poll_s``
    seconds until no letter is pending (or ``timeout_s`` passes). One command at a time works
    on a folder: another one running at the same time is a :class:`BatchJobError`.
    """
    store = JobFolder(folder)
    store.load()
    with store.locked():
        return _collect_locked(folder, client=client, settings=settings, results=results,
                               wait=wait, poll_s=poll_s, timeout_s=timeout_s,
                               on_round=on_round)  # fmt: skip


def _collect_locked(
    folder: Path,
    *,
    client: Any = None,
    settings: Settings | None = None,
    results: Path | None = None,
    wait: bool = False,
    poll_s: float = 30.0,
    timeout_s: float | None = None,
    on_round: Callable[[JobReport], None] | None = None,
) -> JobReport:
    store = JobFolder(folder)
    job = store.load()  # read again under the lock: another command may have just saved it
    settings = job_settings(job, settings)
    provider = None if job.offline else Provider(settings, client)
    started = time.monotonic()
    written = 0
    while True:
        progressed, records = _step(store, job, settings, provider, results)
        results = None  # a given results file answers one round only
        written += _write_records(store, job, settings, records)
        _write_failures(store, job)
        if progressed and on_round is not None:
            on_round(report(store, job))
        pending = any(u.state == "pending" for u in job.units.values())
        if not pending or not wait or job.offline:
            break
        if progressed:
            continue
        if timeout_s is not None and time.monotonic() - started >= timeout_s:
            break
        time.sleep(poll_s)
    out = report(store, job)
    out.written = written
    return out


def _step(
    store: JobFolder,
    job: Job,
    settings: Settings,
    provider: Provider | None,
    results: Path | None,
) -> tuple[bool, dict[str, DeterminationRecord]]:
    """Collect the current round if its results are there; True when a round was applied."""
    current = job.current
    data: bytes | None = None
    if results is not None:
        try:
            data = results.read_bytes()
        except OSError as exc:
            raise BatchJobError(f"cannot read results file {results}: {exc.strerror}") from None
        digest = hashlib.sha256(data).hexdigest()
        applied = next((r for r in job.rounds if r.results_sha256 == digest), None)
        if applied is not None:  # the same command run again: already done, nothing to do
            log.info("%s was applied to round %d already", results, applied.number)
            return False, {}
        if current is None or current.collected:
            raise BatchJobError(f"no round of {store.path} is waiting for results")
    if current is None or current.collected:
        return False, {}
    target = store.file(current.results_file)
    if data is not None:
        rows = (json.loads(x) for x in data.decode("utf-8", "replace").splitlines() if x.strip())
        try:
            given = collect_lines(r for r in rows if isinstance(r, dict))
        except json.JSONDecodeError:
            raise BatchJobError(f"{results} is not a results JSONL") from None
        if not any(cid in given for cid in current.requests):
            raise BatchJobError(
                f"{results} answers none of round {current.number}'s requests (custom_ids "
                f"such as {next(iter(current.requests))}): a file of another job?"
            )
        write_atomic(target, data)
        current.status = "results"
        current.results_sha256 = hashlib.sha256(data).hexdigest()
        store.save(job)
    elif not target.exists() and current.parts and provider is not None:
        data = _parts_results(store, job, current, provider)
        if data is None:
            return False, {}
        write_atomic(target, data)
    elif not target.exists():
        if provider is None:
            return False, {}  # offline: waiting for a results file
        if current.batch_id is None:
            _send(store, job, provider)  # a round built but never sent (interrupted)
            return False, {}
        batch = _refresh(store, job, provider)
        if batch.status not in FINAL:
            return False, {}
        if batch.status == "failed":
            problems = "; ".join(
                f"{e.code}: {e.message}" for e in (batch.errors.data or [])[:5]
            ) if batch.errors else "no reason given"  # fmt: skip
            raise BatchJobError(
                f"batch {batch.id} (round {current.number}) failed as a whole: "
                + redact_secrets(" ".join(problems.split()))[:500]
            )
        data = b""
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                chunk = provider.content(file_id)
                data += chunk if not chunk or chunk.endswith(b"\n") else chunk + b"\n"
        write_atomic(target, data)
    records = _apply(store, job, settings, current, collect_lines(read_jsonl(target)))
    if provider is not None and job.current is not current:
        _send(store, job, provider)
    return True, records


def _load_round(store: JobFolder, number: int, cache: dict) -> tuple[dict, dict]:
    """(custom_id -> request body, custom_id -> result) of a round, verified and cached."""
    if number not in cache:
        name = f"round-{number:03d}"
        bodies = {row["custom_id"]: row["body"]
                  for row in read_jsonl(store.file(f"{name}.requests.jsonl"))}  # fmt: skip
        results_path = store.file(f"{name}.results.jsonl")
        answers = collect_lines(read_jsonl(results_path)) if results_path.exists() else {}
        cache[number] = (bodies, answers)
    return cache[number]


def _answers(store: JobFolder, unit: Unit, cache: dict) -> list[tuple[dict, dict]]:
    pairs = []
    for number, cid in unit.answers:
        bodies, answers = _load_round(store, number, cache)
        result = answers.get(cid)
        if cid not in bodies or result is None or result.body is None:
            raise BatchJobError(f"round {number}: the answer to {cid} is missing from the folder")
        pairs.append((bodies[cid], result.body))
    return pairs


def _usage(pairs: list[tuple[dict, dict]]) -> TokenUsage | None:
    ledger = UsageLedger()
    for request, body in pairs:
        ledger.record(ChatCompletion.model_construct(**body), request, 0.0)
    return ledger.total if pairs else None


def _apply(
    store: JobFolder,
    job: Job,
    settings: Settings,
    current: Round,
    results: dict[str, LineResult],
) -> dict[str, DeterminationRecord]:
    """Apply a round's results to its letters; build the next round; save the job."""
    cache: dict[int, tuple[dict, dict]] = {}
    bodies, _ = _load_round(store, current.number, cache)
    for cid, expected in current.requests.items():
        if cid not in bodies or request_hash(bodies[cid]) != expected:
            raise BatchJobError(
                f"{store.file(current.requests_file)} does not hold the requests the job sent "
                f"({cid}): the folder is damaged"
            )
    cache[current.number] = (bodies, results)
    unknown = sum(1 for cid in results if cid not in current.requests)
    if unknown:
        log.warning("round %d: %d result line(s) for requests of no letter, ignored",
                    current.number, unknown)  # fmt: skip
    nxt = current.number + 1
    next_lines: list[str] = []
    next_hashes: dict[str, str] = {}
    records: dict[str, DeterminationRecord] = {}
    for unit in job.units.values():
        if unit.state != "pending" or unit.current is None or unit.current[1] != current.number:
            continue
        cid = unit.current[0]
        result = results.get(cid)
        if result is not None and result.answered:
            unit.answers.append([current.number, cid])
            outcome = _replay(store, job, settings, unit, cache)
            if outcome.reask is not None:
                body = outcome.reask
                cid = custom_id(unit.hash, len(unit.answers) + 1)
            elif outcome.record is not None:
                unit.state, unit.current = "done", None
                records[unit.hash] = outcome.record
                continue
            else:
                assert outcome.error is not None
                unit.state, unit.current, unit.error = "failed", None, outcome.error.to_dict()
                continue
        elif (result is None or result.transient) and unit.resent < settings.transport_retries:
            body = bodies[cid]
            unit.resent += 1
        else:
            unit.state, unit.current = "failed", None
            unit.error = _line_error(result, unit, _usage(_answers(store, unit, cache)))
            continue
        unit.sent += 1
        unit.current = [cid, nxt]
        next_lines.append(batch_line(cid, body, settings.batch_url))
        next_hashes[cid] = request_hash(body)
    current.collected = True
    if next_lines:
        parts = None if job.offline else _parts(next_lines)
        follow = Round(nxt, next_hashes, status="offline" if job.offline else "built", parts=parts)
        write_lines(store.file(follow.requests_file), next_lines)
        job.rounds.append(follow)
    store.save(job)
    return records


def _line_error(result: LineResult | None, unit: Unit, usage: TokenUsage | None) -> dict:
    counts = {"attempts": len(unit.answers), "requests": unit.sent, "usage": usage}
    if result is None:
        what = "no result line came back for it"
    else:
        what = f"HTTP {result.status}" if result.status else (result.code or "no response")
        what += f" ({result.message})" if result.message else ""
    if result is not None and not result.transient:
        error: ImrError = ModelRequestError(
            f"the batch endpoint refused the request: {what}",
            status=result.status or 400,
            server_message=result.message,
            server_code=result.code,
            **counts,
        )
    else:
        error = ModelTransportError(
            f"the request failed in {unit.sent} batch(es) (last: {what})", **counts
        )
    return error.to_dict()


def _replay(store: JobFolder, job: Job, settings: Settings, unit: Unit, cache: dict) -> Outcome:
    return replay(
        store.text(unit.hash), settings, _answers(store, unit, cache),
        requests=unit.sent, resent=unit.resent,
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------------------------------


def output_paths(store: JobFolder, job: Job) -> tuple[Path, Path]:
    """The records file and its failures file (a relative path is the job folder's)."""
    output = store.path / job.output
    return output, sidecar(output, ".errors.jsonl")


def _write_records(
    store: JobFolder, job: Job, settings: Settings, records: dict[str, DeterminationRecord]
) -> int:
    """Append the record of every done letter not in the output yet; the count written."""
    output, _ = output_paths(store, job)
    missing = [x for x in job.letters if job.units[x.unit].state == "done"]
    if not missing:
        return 0
    try:
        cut_torn_tail(output, keep=sidecar(output, ".torn"))
        done = read_done(output)
    except OSError as exc:
        raise BatchJobError(f"cannot read {output}: {exc.strerror}") from None
    missing = [x for x in missing if (x.path, x.sha256) not in done]
    if not missing:
        return 0
    cache: dict[int, tuple[dict, dict]] = {}
    written = 0
    try:
        with output.open("a", encoding="utf-8") as fh:
            for letter in missing:
                record = records.get(letter.unit)
                if record is None:  # written before an interruption cut it: rebuild it
                    outcome = _replay(store, job, settings, job.units[letter.unit], cache)
                    if outcome.record is None:
                        raise BatchJobError(f"{letter.name}: its answers no longer make a record")
                    record = records[letter.unit] = outcome.record
                copy = record.model_copy(deep=True)
                read = load_input(store, letter.unit)
                if read is not None:  # where its text came from, pages and OCR confidence
                    attach_input(copy, read)
                if copy.metadata is not None:
                    copy.metadata.source = letter.path
                    copy.metadata.source_sha256 = letter.sha256
                fh.write(json.dumps(copy.model_dump(mode="json"), ensure_ascii=False) + "\n")
                fh.flush()
                written += 1
    except OSError as exc:
        raise BatchJobError(f"cannot write {output}: {exc.strerror}") from None
    return written


def input_json(read: LetterText) -> bytes:
    """What a letter's text was read from, kept beside its text so ``collect`` can give the
    record the ``metadata.input``, span pages and OCR review reasons ``extract_file`` gives."""
    data = {
        "info": read.info.model_dump(mode="json"),
        "ocr_lines": [
            [x.start, x.end, x.confidence, x.page, _chars(x.char_confidences)]
            for x in read.ocr_lines
        ],
        "unread_pages": list(read.unread_pages),
    }
    return json.dumps(data).encode("utf-8")


def _chars(scores: tuple[float, ...] | None) -> list[float] | None:
    """Per-character OCR scores, rounded for the job folder (None: the engine gave none)."""
    return None if scores is None else [round(c, 4) for c in scores]


def _ocr_span(line: list[Any]) -> OcrSpan:
    """An OCR'd line as :func:`input_json` kept it (jobs before per-character scores: 4 cells)."""
    chars = line[4] if len(line) > 4 else None
    return OcrSpan(*line[:4], tuple(chars) if chars is not None else None)


def load_input(store: JobFolder, unit: str) -> LetterText | None:
    """The letter's text with what it was read from; None for jobs submitted before this was
    kept (their records simply lack ``metadata.input``)."""
    try:
        data = json.loads(store.input_file(unit).read_text(encoding="utf-8"))
        return LetterText(
            store.text(unit),
            InputInfo.model_validate(data["info"]),
            tuple(_ocr_span(line) for line in data["ocr_lines"]),
            tuple(data["unread_pages"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BatchJobError(
            f"{store.path}: the input record of letter {unit[:12]} is damaged"
        ) from exc


def _write_failures(store: JobFolder, job: Job) -> None:
    """The failures file, whole, from the job file (rows as ``imr-llm extract`` writes them)."""
    _, errors = output_paths(store, job)
    rows = list(job.failures)
    for letter in job.letters:
        unit = job.units[letter.unit]
        if unit.state == "failed" and unit.error is not None:
            rows.append({"source": letter.name, "path": letter.path, **unit.error})
    if not rows and not errors.exists():
        return
    try:
        write_lines(errors, (json.dumps(row, ensure_ascii=False) for row in rows))
    except OSError as exc:
        raise BatchJobError(f"cannot write {errors}: {exc.strerror}") from None


def report(store: JobFolder, job: Job) -> JobReport:
    """Counts by letter (a letter file, even when its text is another's too)."""
    out = JobReport(store.path, letters=len(job.letters) + len(job.failures))
    out.model = str(job.settings.get("model") or "")
    out.failed = len(job.failures)
    for letter in job.letters:
        state = job.units[letter.unit].state
        if state == "done":
            out.done += 1
        elif state == "failed":
            out.failed += 1
        else:
            out.pending += 1
    out.rounds = len(job.rounds)
    current = job.current
    if current is not None:
        out.round_status = "collected" if current.collected else current.status
        out.batch_id = current.batch_id
        if current.parts:
            ids = [p.batch_id for p in current.parts if p.batch_id]
            out.batch_id = f"{ids[0]} and {len(ids) - 1} more" if len(ids) > 1 else None
            out.batches = len(current.parts)
        out.counts = current.counts
        if job.offline and not current.collected:
            out.offline_file = store.file(current.requests_file)
    out.output, out.errors = output_paths(store, job)
    out.tokens, out.cost_usd = _totals(out.output)
    out.flagged = _flagged(out.output)
    return out


def _rows(path: Path):
    try:
        fh = path.open(encoding="utf-8")
    except OSError:
        return
    with fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("metadata"), dict):
                yield row["metadata"]


def _totals(output: Path) -> tuple[int, float | None]:
    tokens, cost, priced = 0, 0.0, False
    for meta in _rows(output):
        tokens += int((meta.get("usage") or {}).get("total_tokens") or 0)
        if meta.get("cost_usd") is not None:
            cost += float(meta["cost_usd"])
            priced = True
    return tokens, (round(cost, 6) if priced else None)


def _flagged(output: Path) -> int:
    return sum(1 for meta in _rows(output) if meta.get("needs_review"))


def batch_records(folder: Path) -> dict[str, DeterminationRecord | ImrError]:
    """Each collected letter's record (or typed error), keyed by the hash of its text
    (:func:`~imr_llm.jobs.requests.text_hash`): what ``imr-llm eval --from-batch`` scores."""
    store = JobFolder(folder)
    job = store.load()
    output, _ = output_paths(store, job)
    by_file: dict[tuple[str, str], DeterminationRecord] = {}
    try:
        with output.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    record = DeterminationRecord.model_validate_json(line)
                    meta = record.metadata
                    if meta is not None and meta.source and meta.source_sha256:
                        by_file[(meta.source, meta.source_sha256)] = record
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise BatchJobError(f"cannot read the records in {output}: {exc}") from None
    found: dict[str, DeterminationRecord | ImrError] = {}
    for letter in job.letters:
        unit = job.units[letter.unit]
        record = by_file.get((letter.path, letter.sha256))
        if record is not None:
            found[letter.unit] = record
        elif unit.state == "failed" and unit.error is not None:
            found.setdefault(letter.unit, stored_error(unit.error))
    return found


def stored_error(row: dict[str, Any]) -> ImrError:
    """A failures-file row as a typed error again (its class from ``code``)."""
    from .. import errors as errors_module

    by_code = {
        getattr(cls, "code", None): cls
        for cls in vars(errors_module).values()
        if isinstance(cls, type) and issubclass(cls, ImrError)
    }
    cls = by_code.get(row.get("error"), ImrError)
    error = ImrError.__new__(cls)
    Exception.__init__(error, row.get("message", ""))
    for key in ("attempts", "requests"):
        if key in row:
            setattr(error, key, row[key])
    if issubclass(cls, ImrError) and "usage" in row and row["usage"] is not None:
        error.usage = TokenUsage.model_validate(row["usage"])  # type: ignore[attr-defined]
    return error


def job_model(folder: Path) -> str:
    """The model a job's requests name."""
    return str(JobFolder(folder).load().settings["model"])
