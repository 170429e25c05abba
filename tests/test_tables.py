"""Folders of letters, and records as the letters and items tables (Parquet, CSV, DuckDB).

Expectations come from the corpus labels, from hand-written values, or from how a case is built;
never from the tables code itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imr_llm.cli.main import app
from imr_llm.inputs.files import expand_paths
from imr_llm.many import tables
from tests.conftest import CORPUS, REPO, requires_corpus

pa = pytest.importorskip("pyarrow", reason="pyarrow (the imr-llm[tables] extra) is not installed")
pq = pytest.importorskip("pyarrow.parquet")

runner = CliRunner()
LETTER = (REPO / "examples" / "letter.txt").read_bytes()


def _labels() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((CORPUS / "labels").glob("*.json"))}


# ----------------------------------------------------------------------------------------------
# Folders
# ----------------------------------------------------------------------------------------------


def test_a_folder_is_its_letters_at_any_depth_in_path_order(tmp_path: Path) -> None:
    root = tmp_path / "in"
    for rel in ["b/2.txt", "a.PDF", "b/1.txt", "b/c/0.text", "z.txt", "notes.docx", "img.png",
                ".hidden.txt", ".git/x.txt", "b/.cache/y.pdf"]:  # fmt: skip
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    files, empty = expand_paths([str(root), str(tmp_path / "empty"), "-", "missing.txt"])
    inside = [str(Path(f).relative_to(root)) for f in files[:5]]
    assert inside == ["a.PDF", "b/1.txt", "b/2.txt", "b/c/0.text", "z.txt"]
    assert files[5:] == ["-", "missing.txt"]  # a file or name given directly stays as given
    assert empty == [str(tmp_path / "empty")]


def test_extract_reads_a_folder_and_notes_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "in" / "deep").mkdir(parents=True)
    (tmp_path / "in" / "deep" / "b.txt").write_bytes(LETTER)
    (tmp_path / "in" / "a.txt").write_bytes(LETTER.decode().encode("utf-16"))  # a BOM'd UTF-16
    (tmp_path / "none").mkdir()
    out = tmp_path / "out.jsonl"
    folders = [str(tmp_path / "in"), str(tmp_path / "none")]
    result = runner.invoke(app, ["extract", "-b", "rules", *folders, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "holds no letter files" in result.stderr
    sources = [json.loads(line)["metadata"]["source"] for line in out.read_text().splitlines()]
    assert sources == [str(tmp_path / "in" / "a.txt"), str(tmp_path / "in" / "deep" / "b.txt")]


def test_only_empty_folders_is_a_misuse(tmp_path: Path) -> None:
    result = runner.invoke(app, ["extract", "-b", "rules", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: no letter files found")


# ----------------------------------------------------------------------------------------------
# Rows and service families
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "family"),
    [
        ("MRI of the lumbar spine without contrast", "imaging"),
        ("Pre-op labs: CBC", "lab test"),
        ("Post-op Norco 5/325mg #60, 1-2 tabs orally every 4-6 hrs as needed", "medication"),
        ("Twelve acupuncture visits with Capsaicin patch, 2 times weekly", "acupuncture"),
        ("Spine surgery evaluation for the lumbar", "evaluation"),
        ("Right knee arthroscopy with evaluation of ACL, medical meniscectomy", "surgery"),
        ("EMG/NCV of the bilateral lower extremities", "electrodiagnostic"),
        ("Chiropractic care to the low back two times a week", "chiropractic"),
        ("Additional physical therapy three times a week over two weeks", "physical therapy"),
        ("Associated surgical service: EMS/TENS unit", "equipment"),
        ("Transportation to/from all medical appointments", "home care and transport"),
        ("Left L5-S1 epidural steroid injection", "injection"),
        ("Comprehensive psychological testing", "psychological"),
        ("Gym membership", "other"),
        (None, None),
    ],
)
def test_service_families(service: str | None, family: str | None) -> None:
    assert tables.service_family(service) == family


def _record() -> dict:
    """A record as model_dump(mode="json") writes one, built by hand."""
    return {
        "case_number": "CM16-0000001",
        "date_assigned": "2016-11-09",
        "date_of_injury": None,
        "decision_date": "2016-12-09",
        "ur_denial_date": None,
        "application_received": None,
        "priority": "standard",
        "reviewer": {"licensure_states": ["California"], "specialties": ["Family Practice"]},
        "patient": {"age": 48, "sex": "male"},
        "items": [
            {
                "service": "MRI of the right shoulder",
                "original_request": None,
                "outcome": "upheld",
                "claims_administrator_guideline": None,
                "maximus_guideline": "MTUS",
                "rationale": "Not indicated.",
                "medically_necessary": False,
            },
            {
                "service": "Naproxen 500mg #60",
                "original_request": "Naproxen 500mg #90",
                "outcome": "overturned",
                "claims_administrator_guideline": "ODG",
                "maximus_guideline": "MTUS",
                "rationale": "Indicated.",
                "medically_necessary": True,
            },
        ],  # fmt: skip
        "diagnoses": [],
        "metadata": {
            "engine": "rules",
            "backend": "rules",
            "imr_llm_version": "0.1.0",
            "source": "/x/a.pdf",
            "source_sha256": "ab" * 32,
            "needs_review": True,
            "review_reasons": ["items[1].rationale unverified: ...", "second; with a semicolon"],
            "evidence": {
                "items[1].rationale": {"status": "unverified"},
                "decision_date": {"status": "exact"},
            },
            "input": {
                "kind": "pdf",
                "text_from": "mixed",
                "pages": 3,
                "ocr_pages": [2],
                "ocr_engine": "tesseract",
                "ocr_mean_confidence": 0.91,
                "page_starts": [],
            },
            "usage": {"total_tokens": 1234},
            "cost_usd": 0.01,
        },  # fmt: skip
    }


def test_a_record_as_rows() -> None:
    letter = tables.letter_row(_record())
    assert letter["file"] == "/x/a.pdf" and letter["sha256"] == "ab" * 32
    assert letter["decision_date"] == dt.date(2016, 12, 9) and letter["date_of_injury"] is None
    assert (letter["items"], letter["items_overturned"]) == (2, 1)
    assert letter["unverified_fields"] == ["items[1].rationale"]
    assert (letter["pages"], letter["ocr_pages"], letter["tokens"]) == (3, [2], 1234)
    items = tables.item_rows(_record())
    assert [(i["item"], i["outcome"], i["medically_necessary"]) for i in items] == [
        (0, "upheld", False),
        (1, "overturned", True),
    ]
    assert items[1]["original_request"] == "Naproxen 500mg #90"
    assert items[1]["unverified_fields"] == ["rationale"] and items[0]["unverified_fields"] == []
    assert {i["case_number"] for i in items} == {"CM16-0000001"}
    assert {c.name for c in tables.ITEM_COLUMNS} == set(items[0])
    assert {c.name for c in tables.LETTER_COLUMNS} == set(letter)


def test_a_contract_only_line_is_a_row_without_metadata() -> None:
    record = _record()
    del record["metadata"]
    record["source"] = "a.txt"
    row = tables.letter_row(record)
    assert row["file"] == "a.txt" and row["engine"] is None and row["needs_review"] is None


def test_parquet_and_csv_carry_the_written_schema(tmp_path: Path) -> None:
    for fmt in ("parquet", "csv"):
        folder = tmp_path / fmt
        folder.mkdir()
        with tables.TableWriter(folder, fmt) as writer:  # type: ignore[arg-type]
            writer.add(_record())
        assert writer.counts == (1, 2)
    letters = pq.read_table(tmp_path / "parquet" / "letters.parquet")
    assert letters.schema.equals(tables.letters_schema())
    types = {name: letters.schema.field(name).type for name in letters.schema.names}
    assert types["decision_date"] == pa.date32() and types["patient_age"] == pa.int16()
    assert types["review_reasons"] == pa.list_(pa.string()) and types["needs_review"] == pa.bool_()
    assert types["tokens"] == pa.int64() and types["cost_usd"] == pa.float64()
    field = letters.schema.field("needs_review")
    assert field.metadata[b"description"].decode().startswith("A person should check")
    items = pq.read_table(tmp_path / "parquet" / "items.parquet").to_pylist()
    assert [i["outcome"] for i in items] == ["upheld", "overturned"]
    with (tmp_path / "csv" / "letters.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert json.loads(rows[0]["review_reasons"]) == _record()["metadata"]["review_reasons"]
    assert (rows[0]["needs_review"], rows[0]["date_of_injury"]) == ("true", "")
    assert rows[0]["decision_date"] == "2016-12-09"


def test_docs_list_every_column_with_its_type() -> None:
    text = (REPO / "docs" / "tables.md").read_text()
    documented = re.findall(r"^\| `(\w+)` \| ([\w<>]+) \|", text, re.M)
    expected = [(c.name, c.type) for c in (*tables.LETTER_COLUMNS, *tables.ITEM_COLUMNS)]
    assert documented == expected


# ----------------------------------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------------------------------


@requires_corpus
def test_extract_writes_tables_that_match_the_labels(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["extract", "-b", "rules", str(CORPUS / "text-layout"), "-o", f"{out}/"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "records.jsonl").is_file()
    assert not (out / "errors.jsonl").exists()  # no letter failed: no failures file
    labels = _labels()
    letters = pq.read_table(out / "letters.parquet").to_pylist()
    assert sorted(Path(x["file"]).stem for x in letters) == sorted(labels)
    for row in letters:
        label = labels[Path(row["file"]).stem]
        assert row["case_number"] == label["case_number"]
        assert row["decision_date"] == dt.date.fromisoformat(label["decision_date"])
        assert row["reviewer_specialties"] == label["reviewer"]["specialties"]
        assert row["items"] == len(label["items"])
    items = pq.read_table(out / "items.parquet").to_pylist()
    assert len(items) == sum(len(x["items"]) for x in labels.values())
    for row in items:
        label = labels[Path(row["file"]).stem]["items"][row["item"]]
        assert (row["service"], row["outcome"]) == (label["service"], label["outcome"])


@requires_corpus
def test_the_docs_duckdb_query_counts_what_the_labels_say(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb", reason="duckdb is not installed")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["extract", "-b", "rules", str(CORPUS / "text-layout"), "-o", str(out),
              "--format", "parquet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    page = (REPO / "docs" / "tables.md").read_text()
    query = re.search(r"<!-- duckdb-query -->\n```sql\n(.*?)```", page, re.S).group(1)
    assert "'out/items.parquet'" in query
    query = query.replace("'out/items.parquet'", f"'{out / 'items.parquet'}'")
    got = duckdb.connect().execute(query).fetchall()
    # Per specialty (summed over families), items and overturned items, from the labels alone.
    expected: dict[str, list[int]] = {}
    for label in _labels().values():
        for specialty in label["reviewer"]["specialties"] or ["(none)"]:
            counts = expected.setdefault(specialty, [0, 0])
            counts[0] += len(label["items"])
            counts[1] += sum(i["outcome"] == "overturned" for i in label["items"])
    seen: dict[str, list[int]] = {}
    for family, specialty, items, overturned, pct, _flagged in got:
        assert family in {name for name, _ in tables.SERVICE_FAMILIES} | {"other"}
        assert pct == round(100.0 * overturned / items, 1)
        counts = seen.setdefault(specialty, [0, 0])
        counts[0] += items
        counts[1] += overturned
    assert seen == expected
    assert [row[2] for row in got] == sorted((row[2] for row in got), reverse=True)


def test_format_from_the_output_name_and_misuse(tmp_path: Path) -> None:
    letter = tmp_path / "a.txt"
    letter.write_bytes(LETTER)
    ok = runner.invoke(app, ["extract", "-b", "rules", str(letter), "-o", str(tmp_path / "t.csv")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "t.csv" / "items.csv").is_file()
    no_out = runner.invoke(app, ["extract", "-b", "rules", str(letter), "--format", "parquet"])
    assert no_out.exit_code == 2 and "needs --output" in no_out.stderr
    bad = runner.invoke(app, ["extract", "-b", "rules", str(letter), "-f", "xlsx", "-o", "x"])
    assert bad.exit_code == 2 and "unknown --format" in bad.stderr
    a_file = tmp_path / "file.parquet"
    a_file.write_text("")
    clash = runner.invoke(app, ["extract", "-b", "rules", str(letter), "-o", str(a_file)])
    assert clash.exit_code == 2 and "this is a file" in clash.stderr


def test_parquet_without_pyarrow_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    letter = tmp_path / "a.txt"
    letter.write_bytes(LETTER)
    result = runner.invoke(app, ["extract", "-b", "rules", str(letter), "-o", f"{tmp_path}/t/"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: writing Parquet needs pyarrow; install it with: pip install 'imr-llm[tables]'"
    )
    csv_ok = runner.invoke(app, ["extract", "-b", "rules", str(letter), "-o", f"{tmp_path}/c.csv"])
    assert csv_ok.exit_code == 0, csv_ok.output


def test_resume_into_a_tables_folder_keeps_each_letter_once(tmp_path: Path) -> None:
    letters = []
    for k in range(3):
        path = tmp_path / f"l{k}.txt"
        path.write_bytes(LETTER.replace(b"CM", b"CM", 1) + b"\n" * k)  # three distinct files
        letters.append(str(path))
    out = f"{tmp_path}/out/"
    first = runner.invoke(app, ["extract", "-b", "rules", *letters[:2], "-o", out])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["extract", "-b", "rules", *letters, "-o", out, "--resume"])
    assert again.exit_code == 0, again.output
    assert "2 already done" in again.stderr
    rows = pq.read_table(Path(out) / "letters.parquet").to_pylist()
    assert sorted(r["file"] for r in rows) == sorted(letters)


def test_tables_command_from_jsonl(tmp_path: Path) -> None:
    letter = tmp_path / "a.txt"
    letter.write_bytes(LETTER)
    records = tmp_path / "r.jsonl"
    result = runner.invoke(app, ["extract", "-b", "rules", str(letter), "-o", str(records)])
    assert result.exit_code == 0, result.output
    good = runner.invoke(app, ["tables", str(records), "--out", str(tmp_path / "t")])
    assert good.exit_code == 0, good.output
    assert pq.read_table(tmp_path / "t" / "letters.parquet").num_rows == 1
    with records.open("a") as fh:
        fh.write('{"not": "a record"}\n')
        fh.write("not json\n")
        fh.write('{"items": []')  # a torn last line
    mixed = runner.invoke(app, ["tables", str(records), "-o", str(tmp_path / "u"), "-f", "csv"])
    assert mixed.exit_code == 1
    assert [line.split(":")[0] for line in mixed.stderr.splitlines()[:3]] == [
        "line 2", "line 3", "line 4",
    ]  # fmt: skip
    assert "1 letter(s)" in mixed.stderr
    missing = runner.invoke(app, ["tables", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path)])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


# ----------------------------------------------------------------------------------------------
# --ray on the command line, without Ray
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["a", "--ray"], ["a", "--ray", "local"]),
        (["a", "--ray", "-o", "x/"], ["a", "--ray", "local", "-o", "x/"]),
        (["--ray", "letters/", "-o", "x/"], ["--ray", "local", "letters/", "-o", "x/"]),
        (["a", "--ray", "10.1.2.3:6379"], ["a", "--ray", "10.1.2.3:6379"]),
        (["a", "--ray", "ray://head:10001"], ["a", "--ray", "ray://head:10001"]),
        (["a", "--ray", "auto"], ["a", "--ray", "auto"]),
        (["--", "--ray"], ["--", "--ray"]),
    ],
)
def test_ray_takes_an_optional_address(args: list[str], expected: list[str]) -> None:
    from imr_llm.cli.main import _ray_address_given

    assert _ray_address_given(args) == expected


def test_ray_without_ray_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_ray(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "ray" or name.startswith("ray."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    letter = tmp_path / "a.txt"
    letter.write_bytes(LETTER)
    result = runner.invoke(app, ["extract", str(letter), "--ray", "-o", f"{tmp_path}/out/"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --ray needs Ray; install it with: pip install 'imr-llm[ray]'"
    )


def test_a_uri_without_ray_is_a_misuse() -> None:
    result = runner.invoke(app, ["extract", "-b", "rules", "s3://bucket/letters/"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: s3://bucket/letters/ is a URI; URIs are read on Ray (--ray)"
    )


def test_standard_input_on_ray_is_a_misuse() -> None:
    result = runner.invoke(app, ["extract", "-", "--ray"], input="text")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: standard input cannot be read on Ray (pass files or folders)"
    )
