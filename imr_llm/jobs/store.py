"""The job folder: a job file written atomically, and the files of each round beside it.

Everything a batch job needs lives in its folder, so nothing depends on the terminal that
submitted it: ``job.json`` (settings, letters with path and sha256, every round's batch and
file ids and request hashes, each letter's state), the letters' texts (``texts/``, what the
requests carry; keep the folder as private as the letters), each round's requests JSONL and the
results downloaded for it. Every write goes to a temporary file that is then renamed over the
old one, so a job file or results file is always whole: a collect killed at any point leaves
the folder as it was before that write or after it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BatchJobError

JOB_FILE = "job.json"
LOCK_FILE = ".lock"
FORMAT = 1


def write_atomic(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (whole or not at all).

    ``sync`` also forces it to the disk first (the job file and results: what a power cut must
    not take back); a letter's text, named by no job file yet, need not wait for the disk.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """A JSONL file, atomically."""
    write_atomic(path, "".join(line + "\n" for line in lines).encode("utf-8"))


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL file; a line that is not one is a damaged file."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise BatchJobError(f"{path}: line {number} is not JSON") from None
            if not isinstance(row, dict):
                raise BatchJobError(f"{path}: line {number} is not a JSON object")
            yield row


@dataclass
class Letter:
    """One letter file of the job: its name as given, resolved path and the sha256 of its bytes;
    ``unit`` is the hash of its text as sent (letters with the same text share one request)."""

    name: str
    path: str
    sha256: str
    unit: str


@dataclass
class Unit:
    """One distinct letter text and where it stands.

    ``answers``: ``[round, custom_id]`` of every answer received, in order; ``current``: the
    request waiting for an answer (its custom_id and the round it was last sent in);
    ``resent``: times a failed or expired line was sent again; ``state``: ``pending``,
    ``done`` (a record) or ``failed`` (``error`` is its failures-file row).
    """

    hash: str
    answers: list[list[Any]] = field(default_factory=list)
    current: list[Any] | None = None
    resent: int = 0
    sent: int = 0
    state: str = "pending"
    error: dict[str, Any] | None = None


@dataclass
class Part:
    """One batch of a round too large for one (over the provider's per-batch limits): the
    lines ``[start, end)`` of the round's requests file, and the provider's ids and status for
    them. Its results are kept in ``results_file`` until every part has finished."""

    number: int
    start: int
    end: int
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str = "built"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] | None = None

    def results_file(self, round_number: int) -> str:
        return f"round-{round_number:03d}.part-{self.number:02d}.results.jsonl"


@dataclass
class Round:
    """One batch of requests: its file, the hash of each request, and the provider's ids.

    ``status`` is the provider's batch status as last seen (``built`` before upload,
    ``offline`` when the requests are run elsewhere); ``collected`` once its results are
    applied to the letters.
    """

    number: int
    requests: dict[str, str]  # custom_id -> request hash
    input_file_id: str | None = None
    batch_id: str | None = None
    status: str = "built"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] | None = None
    collected: bool = False
    #: SHA-256 of the results file given for this round (``collect --results``), if one was.
    results_sha256: str | None = None
    #: The batches of a round over one batch's limits (None: the round is one batch, whose
    #: ids are the round's own fields).
    parts: list[Part] | None = None

    def __post_init__(self) -> None:
        if self.parts is not None:
            self.parts = [p if isinstance(p, Part) else Part(**p) for p in self.parts]

    @property
    def requests_file(self) -> str:
        return f"round-{self.number:03d}.requests.jsonl"

    @property
    def results_file(self) -> str:
        return f"round-{self.number:03d}.results.jsonl"


@dataclass
class Job:
    """The job file's content."""

    job_id: str
    created_at: float
    settings: dict[str, Any]
    offline: bool
    output: str
    letters: list[Letter]
    units: dict[str, Unit]
    rounds: list[Round] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)  # letters that never got a unit
    format: int = FORMAT

    def to_json(self) -> bytes:
        data = asdict(self)
        return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, raw: str, where: Path) -> Job:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise BatchJobError(
                    f"{where}: job format {data.get('format')!r}, this imr-llm reads {FORMAT}"
                )
            return cls(
                job_id=data["job_id"],
                created_at=data["created_at"],
                settings=data["settings"],
                offline=data["offline"],
                output=data["output"],
                letters=[Letter(**x) for x in data["letters"]],
                units={k: Unit(**v) for k, v in data["units"].items()},
                rounds=[Round(**r) for r in data["rounds"]],
                failures=list(data["failures"]),
                format=data["format"],
            )
        except BatchJobError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise BatchJobError(f"{where} is damaged ({type(exc).__name__}: {exc})") from None

    @property
    def current(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None


class JobFolder:
    """A job's folder on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def job_file(self) -> Path:
        return self.path / JOB_FILE

    def text_file(self, unit: str) -> Path:
        return self.path / "texts" / f"{unit}.txt"

    def input_file(self, unit: str) -> Path:
        """What the letter's text was read from (``metadata.input``, OCR line confidences)."""
        return self.path / "texts" / f"{unit}.input.json"

    def file(self, name: str) -> Path:
        return self.path / name

    def exists(self) -> bool:
        return self.job_file.is_file()

    def load(self) -> Job:
        if not self.path.is_dir():
            raise BatchJobError(f"no batch job folder {self.path}")
        try:
            raw = self.job_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BatchJobError(f"{self.path} holds no batch job ({JOB_FILE} is missing)") from None
        except OSError as exc:
            raise BatchJobError(f"cannot read {self.job_file}: {exc.strerror}") from None
        return Job.from_json(raw, self.job_file)

    def save(self, job: Job) -> None:
        write_atomic(self.job_file, job.to_json())

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock: two collects at once (a cron run overlapping the last) would
        both send the follow-up batch. Where there is no ``fcntl`` (Windows) nothing is held."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        try:
            fh = (self.path / LOCK_FILE).open("a")
        except OSError as exc:
            raise BatchJobError(f"cannot lock {self.path}: {exc.strerror}") from None
        with fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise BatchJobError(
                    f"another imr-llm batch command is working on {self.path}; try again when "
                    "it is done"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def text(self, unit: str) -> str:
        try:
            return self.text_file(unit).read_text(encoding="utf-8")
        except OSError:
            raise BatchJobError(f"{self.path}: the text of letter {unit[:12]} is missing") from None
