"""Records as two tables an analyst can query: one row per letter, one row per disputed item.

Why: the JSON Lines an extraction writes keep every value's evidence, which is what a reviewer
needs and what a spreadsheet or a SQL engine cannot use. The first thing anyone asking "which
services are overturned, by specialty, by year" does is flatten the records; this module does it
once, with a written schema, so every run's tables have the same columns and types:

- **letters** (:data:`LETTER_COLUMNS`): the letter's identity (``file``, ``sha256``: the
  resolved path or URI it was read from and the SHA-256 of its bytes, the identity ``--resume``
  uses), the header, reviewer and patient, counts of items, and how the record was made
  (engine, ``needs_review`` and its reasons, what the text was read from, tokens and cost);
- **items** (:data:`ITEM_COLUMNS`): one row per item, keyed by ``file``, ``sha256`` and
  ``item`` (its position, as in ``items[2].service``), with the letter's fields an analyst
  filters by repeated beside it, the item's fields, and ``service_family`` (see
  :func:`service_family`).

The schema is written here once (:class:`Column`: name, Arrow type, description) and is the
Parquet files' schema (each field carries its description in the file's metadata) and the CSV
files' header. Parquet needs pyarrow (``pip install 'imr-llm[tables]'``); CSV needs nothing
beyond Python, and writes list columns (``reviewer_specialties``, ``review_reasons``...) as
JSON arrays, so a value holding a comma or a semicolon survives.

A contract-only line (``--contract-only``, no metadata) gives a row whose metadata columns are
empty, ``file`` being its ``source``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigurationError

__all__ = [
    "FORMATS",
    "ITEM_COLUMNS",
    "LETTER_COLUMNS",
    "SERVICE_FAMILIES",
    "TABLES_INSTALL",
    "Column",
    "TableWriter",
    "TablesReport",
    "item_rows",
    "items_schema",
    "letter_row",
    "letters_schema",
    "require_pyarrow",
    "service_family",
    "tables_from_jsonl",
]

Format = Literal["parquet", "csv"]
#: The table formats (``jsonl`` is the records themselves, not a table).
FORMATS: tuple[str, ...] = ("parquet", "csv")
#: The pip command that brings pyarrow, named in the error when it is missing.
TABLES_INSTALL = "pip install 'imr-llm[tables]'"


@dataclass(frozen=True)
class Column:
    """One column: its name, its Arrow type (as pyarrow spells it) and what it holds."""

    name: str
    type: str
    description: str


def _c(name: str, type_: str, description: str) -> Column:
    return Column(name, type_, description)


#: Columns both tables start with: the letter's identity.
_KEY = (
    _c("file", "string", "The file the letter was read from: its resolved path, a URI, or "
       "'-' for standard input (metadata.source)."),
    _c("sha256", "string", "SHA-256 of the letter file's bytes; with file, the letter's "
       "identity (metadata.source_sha256)."),
)  # fmt: skip

LETTER_COLUMNS: tuple[Column, ...] = (
    *_KEY,
    _c("case_number", "string", "IMR case number, CMyy-nnnnnnn."),
    _c("date_assigned", "date32", "Date the case was assigned."),
    _c("date_of_injury", "date32", "Date of injury."),
    _c("decision_date", "date32", "Date of the decision."),
    _c("ur_denial_date", "date32", "Date of the utilization review denial."),
    _c("application_received", "date32", "Date the IMR application was received."),
    _c("priority", "string", "standard or expedited."),
    _c("reviewer_specialties", "list<string>", "The reviewer's board certifications."),
    _c("reviewer_licensure_states", "list<string>", "States the reviewer is licensed in."),
    _c("patient_age", "int16", "The patient's age in years, when stated."),
    _c("patient_sex", "string", "male or female, when stated in words."),
    _c("diagnoses", "list<string>", "Diagnoses the case summary lists."),
    _c("items", "int16", "Disputed items in the letter."),
    _c("items_overturned", "int16", "Items overturned (found medically necessary)."),
    _c("engine", "string", "The engine that produced the values: rules or llm."),
    _c("backend", "string", "The backend asked for: auto, rules, llm, cascade or batch."),
    _c("model", "string", "The model, for the llm engine."),
    _c("needs_review", "bool", "A person should check this record against the letter."),
    _c("review_reasons", "list<string>", "Why it needs review, one entry per reason."),
    _c("unverified_fields", "list<string>", "Fields whose evidence is unverified "
       "(their place in the letter was unreadable)."),
    _c("warnings", "list<string>", "What the extraction noticed (dates out of order...)."),
    _c("input_kind", "string", "text or pdf."),
    _c("text_from", "string", "file, text_layer, ocr or mixed."),
    _c("pages", "int16", "Pages of a PDF, or of a text with form feeds."),
    _c("ocr_pages", "list<int16>", "Pages read by OCR (1-based)."),
    _c("ocr_engine", "string", "The OCR engine that read them."),
    _c("ocr_mean_confidence", "float64", "Mean OCR line confidence, 0..1."),
    _c("tokens", "int64", "Model tokens spent on the letter, re-asks included."),
    _c("cost_usd", "float64", "Estimated model cost in US dollars."),
    _c("rules_failure", "string", "Why the rules engine handed a cascade letter to the model."),
    _c("imr_llm_version", "string", "The imr-llm version that made the record."),
)  # fmt: skip

ITEM_COLUMNS: tuple[Column, ...] = (
    *_KEY,
    _c("item", "int16", "The item's position in the letter, from 0 (as in items[0])."),
    _c("case_number", "string", "The letter's case number."),
    _c("decision_date", "date32", "The letter's decision date."),
    _c("date_assigned", "date32", "The letter's assignment date."),
    _c("priority", "string", "The letter's priority."),
    _c("reviewer_specialties", "list<string>", "The letter's reviewer specialties."),
    _c("reviewer_licensure_states", "list<string>", "The letter's reviewer licensure states."),
    _c("patient_age", "int16", "The patient's age."),
    _c("patient_sex", "string", "The patient's sex."),
    _c("service", "string", "The disputed item as the letter names it."),
    _c("service_family", "string", "A coarse family of the service from a keyword map "
       "(imr_llm.many.tables.SERVICE_FAMILIES): imaging, medication, physical therapy..."),
    _c("original_request", "string", "For a partly certified request, the original request."),
    _c("outcome", "string", "upheld (denial stands) or overturned (medically necessary)."),
    _c("medically_necessary", "bool", "True when overturned."),
    _c("claims_administrator_guideline", "string", "The Claims Administrator's guideline."),
    _c("maximus_guideline", "string", "The MAXIMUS guideline."),
    _c("rationale", "string", "The decision rationale."),
    _c("unverified_fields", "list<string>", "This item's fields whose evidence is unverified."),
    _c("engine", "string", "The letter's engine."),
    _c("needs_review", "bool", "The letter's record needs review."),
)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Service families
# ----------------------------------------------------------------------------------------------

#: ``(family, pattern)``, tried in order on the service's text (case ignored); the first that
#: matches names the family, else ``other``. The order settles the overlaps seen in real
#: letters: "Pre-op labs: CBC" is a lab test, "Post-op Norco 5/325mg" a medication,
#: "Twelve acupuncture visits with Capsaicin patch" acupuncture, "EMS/TENS unit" equipment,
#: "Transportation to/from all medical appointments" transport, "Physical therapy evaluation"
#: physical therapy, "Spine surgery evaluation" an evaluation, "Right knee arthroscopy with
#: evaluation of ACL" surgery. A coarse grouping for counting, not a coding system (no CPT).
SERVICE_FAMILIES: tuple[tuple[str, str], ...] = (
    ("psychological", r"psych|cognitive behavio|biofeedback"),
    ("lab test", r"\blabs?\b|\bcbc\b|\bcmp\b|panel|urinalysis|\bua\b|drug (screen|test)|pt/ptt"),
    ("electrodiagnostic", r"\bemg\b|\bncv\b|\bncs\b|nerve conduction|electromyo|"
     r"electroencephalo|\beeg\b|electrocardio|\bekg\b|\becg\b"),
    ("imaging", r"\bmri\b|\bmr\b|magnetic resonance|\bct\b|computed tomography|x-?rays?\b|"
     r"radiograph|ultrasound|sonogra|bone scan|arthrogram|imaging"),
    ("acupuncture", r"acupunct"),
    ("chiropractic", r"chiro|manipulation"),
    ("home care and transport", r"home (aide|health|care)|nursing|transport"),
    ("equipment", r"\bunit\b|brace|orthotic|orthosis|wheelchair|walker|\bcane\b|\bbed\b|"
     r"hearing aid|sling|\bpad\b|wrap|cushion|pillow|rental|purchase|durable medical"),
    ("physical therapy", r"physical therap|occupational therap|physiotherap|rehabilitation|"
     r"\bmodalit|stimulation|\btens\b|traction|myofascial|massage|infrared|shockwave|"
     r"heat|\bice\b|work (hardening|conditioning)"),
    ("injection", r"inject|epidural|\bblock\b|facet|neurolytic|radiofrequency|ablation"),
    ("medication", r"\d\s*(mg|mcg|ml|g|gm|grams?)\b|\d\s*%|#\s*\d|\btabs?\b|tablet|capsule|"
     r"cream|\bointment|patch|compound|supply of|\boral\b"),
    ("surgery", r"arthroscop|ectomy|plasty|otomy|fusion|repair|release|replacement|"
     r"surgeon|\bpa assist|decompression|reconstruction"),
    ("evaluation", r"evaluation|consult|office visit|follow[- ]?up|\bexam\b|examination|"
     r"clearance|assessment|\bvisit"),
    ("surgery", r"surg|operative"),
)  # fmt: skip
_FAMILY_PATTERNS = tuple((name, re.compile(pattern, re.I)) for name, pattern in SERVICE_FAMILIES)


def service_family(service: str | None) -> str | None:
    """The family of a service (see :data:`SERVICE_FAMILIES`): the first whose pattern occurs
    in it, else ``other``; None for no service."""
    if not service:
        return None
    for name, pattern in _FAMILY_PATTERNS:
        if pattern.search(service):
            return name
    return "other"


# ----------------------------------------------------------------------------------------------
# Rows
# ----------------------------------------------------------------------------------------------


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _unverified(meta: dict[str, Any], prefix: str | None = None) -> list[str]:
    """Paths whose evidence is unverified; for ``prefix`` ``items[2].``, that item's fields."""
    out = []
    for path, evidence in _dict(meta.get("evidence")).items():
        if _dict(evidence).get("status") != "unverified":
            continue
        if prefix is None:
            out.append(path)
        elif path.startswith(prefix):
            out.append(path[len(prefix) :])
    return out


_DATES = (
    "date_assigned", "date_of_injury", "decision_date", "ur_denial_date", "application_received",
)  # fmt: skip


def letter_row(record: dict[str, Any]) -> dict[str, Any]:
    """The letters-table row of a record as ``model_dump(mode="json")`` (or a contract-only
    line) gives it."""
    meta = _dict(record.get("metadata"))
    reviewer, patient = _dict(record.get("reviewer")), _dict(record.get("patient"))
    source_input = _dict(meta.get("input"))
    items = [_dict(x) for x in record.get("items") or []]
    usage = _dict(meta.get("usage"))
    return {
        "file": meta.get("source") or record.get("source"),
        "sha256": meta.get("source_sha256"),
        "case_number": record.get("case_number"),
        **{name: _date(record.get(name)) for name in _DATES},
        "priority": record.get("priority"),
        "reviewer_specialties": _strings(reviewer.get("specialties")),
        "reviewer_licensure_states": _strings(reviewer.get("licensure_states")),
        "patient_age": patient.get("age"),
        "patient_sex": patient.get("sex"),
        "diagnoses": _strings(record.get("diagnoses")),
        "items": len(items),
        "items_overturned": sum(1 for x in items if x.get("outcome") == "overturned"),
        "engine": meta.get("engine"),
        "backend": meta.get("backend"),
        "model": meta.get("model"),
        "needs_review": meta.get("needs_review") if meta else None,
        "review_reasons": _strings(meta.get("review_reasons")),
        "unverified_fields": _unverified(meta),
        "warnings": _strings(meta.get("warnings")),
        "input_kind": source_input.get("kind"),
        "text_from": source_input.get("text_from"),
        "pages": source_input.get("pages"),
        "ocr_pages": [int(p) for p in source_input.get("ocr_pages") or []],
        "ocr_engine": source_input.get("ocr_engine"),
        "ocr_mean_confidence": source_input.get("ocr_mean_confidence"),
        "tokens": usage.get("total_tokens") if usage else None,
        "cost_usd": meta.get("cost_usd"),
        "rules_failure": meta.get("rules_failure"),
        "imr_llm_version": meta.get("imr_llm_version"),
    }


def item_rows(record: dict[str, Any], letter: dict[str, Any] | None = None) -> list[dict]:
    """The items-table rows of a record (``letter``: its letters-table row, if made already)."""
    letter = letter if letter is not None else letter_row(record)
    meta = _dict(record.get("metadata"))
    shared = {
        name: letter[name]
        for name in ("file", "sha256", "case_number", "decision_date", "date_assigned",
                     "priority", "reviewer_specialties", "reviewer_licensure_states",
                     "patient_age", "patient_sex")
    }  # fmt: skip
    rows = []
    for index, raw in enumerate(record.get("items") or []):
        item = _dict(raw)
        outcome = item.get("outcome")
        rows.append({
            **shared,
            "item": index,
            "service": item.get("service"),
            "service_family": service_family(item.get("service")),
            "original_request": item.get("original_request"),
            "outcome": outcome,
            "medically_necessary": (outcome == "overturned") if outcome else None,
            "claims_administrator_guideline": item.get("claims_administrator_guideline"),
            "maximus_guideline": item.get("maximus_guideline"),
            "rationale": item.get("rationale"),
            "unverified_fields": _unverified(meta, f"items[{index}]."),
            "engine": letter["engine"],
            "needs_review": letter["needs_review"],
        })  # fmt: skip
    return rows


# ----------------------------------------------------------------------------------------------
# Schemas and writers
# ----------------------------------------------------------------------------------------------


def require_pyarrow() -> Any:
    """pyarrow, or :class:`~imr_llm.errors.ConfigurationError` naming the install command."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 - the writer's module, checked up front
    except ImportError:
        raise ConfigurationError(
            f"writing Parquet needs pyarrow; install it with: {TABLES_INSTALL}"
        ) from None
    return pyarrow


def _arrow_type(pa: Any, name: str) -> Any:
    if name.startswith("list<"):
        return pa.list_(_arrow_type(pa, name[5:-1]))
    return {"string": pa.string(), "date32": pa.date32(), "int16": pa.int16(),
            "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}[name]  # fmt: skip


def _schema(columns: tuple[Column, ...], table: str) -> Any:
    pa = require_pyarrow()
    fields = [
        pa.field(c.name, _arrow_type(pa, c.type), metadata={"description": c.description})
        for c in columns
    ]
    return pa.schema(fields, metadata={"imr_llm_table": table})


def letters_schema() -> Any:
    """The letters table's ``pyarrow.Schema`` (from :data:`LETTER_COLUMNS`)."""
    return _schema(LETTER_COLUMNS, "letters")


def items_schema() -> Any:
    """The items table's ``pyarrow.Schema`` (from :data:`ITEM_COLUMNS`)."""
    return _schema(ITEM_COLUMNS, "items")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class _Sink:
    """One table's file, written to a temporary name and renamed into place when closed, so a
    reader never sees half a table and a failed run leaves the previous one."""

    def __init__(self, folder: Path, name: str, fmt: Format, columns: tuple[Column, ...]):
        self.columns = columns
        self.path = folder / f"{name}.{fmt}"
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=f".{fmt}.tmp")
        self.tmp = Path(tmp)
        self.rows: list[dict[str, Any]] = []
        self.count = 0
        if fmt == "csv":
            self.fh: Any = os.fdopen(fd, "w", encoding="utf-8", newline="")
            self.csv = csv.writer(self.fh)
            self.csv.writerow([c.name for c in columns])
            self.parquet = None
        else:
            os.close(fd)
            pq = require_pyarrow().parquet
            self.schema = _schema(columns, name)
            self.parquet = pq.ParquetWriter(str(self.tmp), self.schema, compression="zstd")

    def add(self, row: dict[str, Any]) -> None:
        self.count += 1
        if self.parquet is None:
            self.csv.writerow([_csv_value(row.get(c.name)) for c in self.columns])
            return
        self.rows.append(row)
        if len(self.rows) >= 2000:
            self.flush()

    def flush(self) -> None:
        if self.parquet is not None and self.rows:
            pa = require_pyarrow()
            self.parquet.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self, keep: bool) -> None:
        try:
            if self.parquet is not None:
                if keep:
                    self.flush()
                self.parquet.close()
            else:
                self.fh.close()
            if keep:
                os.replace(self.tmp, self.path)
        finally:
            self.tmp.unlink(missing_ok=True)


class TableWriter:
    """Writes records as ``FOLDER/letters.FMT`` and ``FOLDER/items.FMT``.

    Use as a context manager; :meth:`add` one record (a ``model_dump(mode="json")`` dict) at a
    time. Parquet is written in row groups of 2,000 rows, so memory stays bounded for any
    number of letters. The files appear (atomically) only when the block ends without error.
    """

    def __init__(self, folder: Path, fmt: Format = "parquet") -> None:
        if fmt not in FORMATS:
            raise ConfigurationError(f"unknown table format {fmt!r}; choose one of: parquet, csv")
        if fmt == "parquet":
            require_pyarrow()
        self.folder, self.fmt = folder, fmt
        self._sinks: tuple[_Sink, _Sink] | None = None

    def __enter__(self) -> TableWriter:
        letters = _Sink(self.folder, "letters", self.fmt, LETTER_COLUMNS)
        try:
            items = _Sink(self.folder, "items", self.fmt, ITEM_COLUMNS)
        except BaseException:
            letters.close(keep=False)
            raise
        self._sinks = (letters, items)
        return self

    def add(self, record: dict[str, Any]) -> None:
        assert self._sinks is not None, "use TableWriter as a context manager"
        letters, items = self._sinks
        row = letter_row(record)
        letters.add(row)
        for item in item_rows(record, row):
            items.add(item)

    @property
    def paths(self) -> tuple[Path, Path]:
        return self.folder / f"letters.{self.fmt}", self.folder / f"items.{self.fmt}"

    @property
    def counts(self) -> tuple[int, int]:
        assert self._sinks is not None
        return self._sinks[0].count, self._sinks[1].count

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        assert self._sinks is not None
        keep = exc_type is None
        for sink in self._sinks:
            sink.close(keep)


@dataclass
class TablesReport:
    """What :func:`tables_from_jsonl` wrote, and the lines it could not use."""

    letters: int = 0
    items: int = 0
    paths: tuple[Path, ...] = ()
    bad_lines: list[tuple[int, str]] = field(default_factory=list)


def _records(path: Path, bad: list[tuple[int, str]]) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines file; a line that is not one is noted in ``bad``."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            if not line.endswith("\n"):
                bad.append((number, "the last line is cut off (a run stopped mid-write)"))
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                bad.append((number, f"not JSON ({exc.msg})"))
                continue
            if not isinstance(data, dict) or not isinstance(data.get("items"), list):
                bad.append((number, "not a record (no items list)"))
                continue
            if not (_dict(data.get("metadata")).get("source") or data.get("source")):
                bad.append((number, "a record with no source file (metadata.source)"))
                continue
            yield data


def tables_from_jsonl(
    records: Path | Iterable[Path],
    folder: Path,
    fmt: Format = "parquet",
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> TablesReport:
    """The letters and items tables of one or more JSON Lines files of records, in ``folder``.

    Lines that are not records (not JSON, no items, a torn last line) are skipped and listed in
    the report's ``bad_lines``; the tables hold the rest.
    """
    paths = [records] if isinstance(records, Path) else list(records)
    report = TablesReport()
    with TableWriter(folder, fmt) as writer:
        for path in paths:
            for record in _records(path, report.bad_lines):
                writer.add(record)
                if on_record is not None:
                    on_record(record)
        report.letters, report.items = writer.counts
    report.paths = writer.paths
    return report
