"""Letters on Ray (imr_llm.many.ray): records equal to one process's, one outcome per input, a
cluster-wide gate on model requests, and tasks run again when their worker is killed.

One local Ray of 2 CPUs (loopback only) serves every test of the session; inputs are small.
The whole module skips where Ray is not installed.
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'imr-llm[ray]')")
pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'imr-llm[ray]')")

from imr_llm import ImrError, extract_file  # noqa: E402
from imr_llm.config import load_settings  # noqa: E402
from imr_llm.many import ray as imr_ray  # noqa: E402
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step  # noqa: E402
from imr_llm.testing.oracle import GoldResponder  # noqa: E402
from imr_llm.testing.processes import descendants, title  # noqa: E402
from tests.conftest import CORPUS, GOLD, requires_corpus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LETTER = (REPO / "examples" / "letter.txt").read_bytes()


@pytest.fixture(scope="session")
def local_ray():
    """One local Ray for the session: 2 CPUs, everything on 127.0.0.1."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    started = imr_ray.connect(num_cpus=2)
    yield
    if started:
        ray.shutdown()


def _comparable(record: dict) -> dict:
    """A record without what differs from run to run (times)."""
    meta = record.get("metadata") or {}
    meta.pop("timings_ms", None)
    for attempt in meta.get("attempts") or []:
        attempt.pop("latency_ms", None)
    return record


def _ocr_engine() -> str | None:
    from imr_llm.inputs.ocr import available_engines

    engines = available_engines()
    return "tesseract" if "tesseract" in engines else (engines[0] if engines else None)


def _scan(pdf: bytes) -> bytes:
    """A PDF's pages as images in an image-only PDF (as tests/test_pdf.py scans a letter)."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    images = [doc[k].render(scale=200 / 72, grayscale=True).to_pil() for k in range(len(doc))]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


@requires_corpus
def test_records_equal_single_process_extract_file(local_ray, tmp_path: Path) -> None:
    """Every corpus PDF and text letter (the four text renderings), and a scanned render, give
    on Ray the record extract_file gives in this process (times aside), or the same failure."""
    engine = _ocr_engine()
    inputs = sorted(map(str, (CORPUS / "pdf").glob("*.pdf")))
    for rendering in ("text-layout", "text-raw", "text-ocr", "text-ocrfax"):
        inputs += sorted(map(str, (CORPUS / rendering).glob("*.txt")))
    if engine is not None:
        smallest = min((CORPUS / "pdf").glob("*.pdf"), key=lambda p: p.stat().st_size)
        scan = tmp_path / "scan.pdf"
        scan.write_bytes(_scan(smallest.read_bytes()))
        inputs.append(str(scan))
    settings = load_settings(ocr_engine=engine)
    outcomes = list(imr_ray.run_letters(inputs, "rules", settings=settings))
    assert sorted(o.index for o in outcomes) == list(range(len(inputs)))
    by_name = {o.name: o for o in outcomes}
    for name in inputs:
        outcome = by_name[name]
        try:
            single = extract_file(name, backend="rules", ocr_engine=engine)
        except ImrError as exc:  # a rendering the rules engine cannot read: the same failure
            assert (outcome.status, outcome.error["error"]) == ("failed", exc.code), name
            assert outcome.error["message"] == str(exc)
            continue
        assert outcome.status == "ok", (name, outcome.error)
        assert _comparable(outcome.record) == _comparable(single.model_dump(mode="json")), name
    assert sum(o.status == "ok" for o in outcomes) >= 75  # most of them are records
    if engine is not None:
        scanned = by_name[str(tmp_path / "scan.pdf")].record["metadata"]["input"]
        assert scanned["text_from"] == "ocr" and len(scanned["ocr_pages"]) >= 2


def test_every_input_ends_as_one_outcome_with_its_code(local_ray, tmp_path: Path) -> None:
    good, done_one = tmp_path / "good.txt", tmp_path / "done.txt"
    good.write_bytes(LETTER)
    done_one.write_bytes(LETTER + b"\n")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n garbage")
    (tmp_path / "empty.txt").write_bytes(b"   \n")
    import hashlib

    done = {(str(done_one.resolve()), hashlib.sha256(done_one.read_bytes()).hexdigest())}
    names = [str(p) for p in sorted(tmp_path.iterdir())] + [str(tmp_path / "missing.txt")]
    outcomes = {
        Path(o.name).name: o
        for o in imr_ray.run_letters(names, "rules", settings=load_settings(), done=done)
    }
    assert len(outcomes) == len(names)
    codes = {k: (o.status, (o.error or {}).get("error")) for k, o in outcomes.items()}
    assert codes == {
        "good.txt": ("ok", None),
        "done.txt": ("skipped", None),
        "image.txt": ("failed", "unsupported_file_type"),
        "broken.pdf": ("failed", "corrupt_pdf"),
        "empty.txt": ("failed", "empty_text"),
        "missing.txt": ("failed", "unreadable_input"),
    }
    assert outcomes["missing.txt"].error["message"].endswith("missing.txt: no such file")
    assert outcomes["good.txt"].record["metadata"]["source"] == str(good.resolve())


def test_uris_are_read_through_pyarrow_filesystems(local_ray, tmp_path: Path) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "sub" / "b.txt").write_bytes(LETTER)
    (tmp_path / "in" / "a.txt").write_bytes(LETTER + b" ")
    uri = f"file://{tmp_path / 'in'}"
    outcomes = list(imr_ray.run_letters([uri], "rules", settings=load_settings()))
    assert [o.name for o in sorted(outcomes, key=lambda o: o.index)] == [
        f"{uri}/a.txt",
        f"{uri}/sub/b.txt",
    ]
    assert {o.status for o in outcomes} == {"ok"}
    assert outcomes[0].record["metadata"]["source"].startswith("file://")


def test_write_tables_from_a_dataset(local_ray, tmp_path: Path) -> None:
    import pyarrow.dataset as pads

    from imr_llm.many.tables import TableWriter

    (tmp_path / "in").mkdir()
    for k in range(3):
        (tmp_path / "in" / f"{k}.txt").write_bytes(LETTER + b"\n" * k)
    (tmp_path / "in" / "bad.txt").write_bytes(b"")
    ds = imr_ray.extract_dataset([str(tmp_path / "in")], "rules")
    counts = imr_ray.write_tables(ds, tmp_path / "out")
    per_letter = len(extract_file(str(tmp_path / "in" / "0.txt"), backend="rules").items)
    assert counts == {"letters": 3, "items": 3 * per_letter, "failed": 1, "skipped": 0}
    letters = pads.dataset(tmp_path / "out" / "letters").to_table().to_pylist()
    assert sorted(Path(r["file"]).name for r in letters) == ["0.txt", "1.txt", "2.txt"]
    failures = (tmp_path / "out" / "failures.jsonl").read_text().splitlines()
    assert [json.loads(x)["error"] for x in failures] == ["empty_text"]
    # The same rows as the single-process writer makes from the same records.
    records = [json.loads(r["record"]) for r in ds.take_all() if r["record"]]
    (tmp_path / "local").mkdir()
    with TableWriter(tmp_path / "local") as writer:
        for record in records:
            writer.add(record)
    import pyarrow.parquet as pq

    local = pq.read_table(tmp_path / "local" / "letters.parquet").to_pylist()
    assert sorted(letters, key=lambda r: r["file"]) == sorted(local, key=lambda r: r["file"])
    items = pads.dataset(tmp_path / "out" / "items").to_table().to_pylist()
    local_items = pq.read_table(tmp_path / "local" / "items.parquet").to_pylist()
    key = lambda r: (r["file"], r["item"])  # noqa: E731
    assert sorted(items, key=key) == sorted(local_items, key=key)


# ----------------------------------------------------------------------------------------------
# The model path: one gate for the cluster
# ----------------------------------------------------------------------------------------------


def _gold_letters(tmp_path: Path, n: int) -> list[str]:
    names = sorted(p.stem for p in (GOLD / "letters").glob("*.txt"))[:n]
    out = []
    for name in names:
        path = tmp_path / f"{name}.txt"
        path.write_text((GOLD / "letters" / f"{name}.txt").read_text(encoding="utf-8"))
        out.append(str(path))
    return out


def _model_settings(server: FakeOpenAIServer, concurrency: int):
    return load_settings(
        base_url=server.base_url, api_key="test-key", model="fake-model", concurrency=concurrency
    )


def _most_at_once(server: FakeOpenAIServer, delay: float) -> int:
    """Requests the server was answering at once, from when each arrived (each takes
    ``delay`` seconds to answer)."""
    starts = sorted(r.received_at for r in server.chat_requests)
    return max(sum(1 for s in starts if t - delay + 0.02 < s <= t) for t in starts)


def test_model_requests_in_flight_are_bounded_across_workers(local_ray, tmp_path: Path) -> None:
    delay = 0.4
    oracle = GoldResponder.from_gold_dir(GOLD)
    with FakeOpenAIServer(responder=lambda body: oracle(body).with_delay(delay)) as server:
        settings = _model_settings(server, concurrency=4)  # 4 threads a task, 2 tasks at once
        gate = imr_ray.RequestGate(2)
        ds = imr_ray.extract_dataset(
            _gold_letters(tmp_path, 8), "llm", settings=settings, letters_per_task=4, gate=gate
        )
        rows = ds.take_all()
        assert [r["status"] for r in rows] == ["ok"] * 8, [r["error"] for r in rows]
        assert gate.stats()["peak"] == 2
        assert _most_at_once(server, delay) == 2


def test_retry_after_pauses_every_worker(local_ray, tmp_path: Path) -> None:
    oracle = GoldResponder.from_gold_dir(GOLD)
    with FakeOpenAIServer(responder=lambda body: oracle(body).with_delay(0.2)) as server:
        server.enqueue(Step.error(429, retry_after=2.0))
        settings = _model_settings(server, concurrency=2)
        ds = imr_ray.extract_dataset(
            _gold_letters(tmp_path, 6), "llm", settings=settings, letters_per_task=3,
            gate=imr_ray.RequestGate(2),
        )  # fmt: skip
        rows = ds.take_all()
        assert [r["status"] for r in rows] == ["ok"] * 6
        told = server.chat_requests[0].received_at  # the request answered 429
        later = [r.received_at - told for r in server.chat_requests[1:]]
        # Only a request already on its way when the 429 came may arrive in the pause.
        assert sum(1 for t in later if t < 1.9) <= 1, later
        assert max(later) >= 2.0


# ----------------------------------------------------------------------------------------------
# A worker killed mid-run
# ----------------------------------------------------------------------------------------------


def _letters_worker() -> int | None:
    """A worker of this session's Ray running a letters task (a descendant of this process)."""
    for pid in descendants(os.getpid()):
        name = title(pid)
        if name.startswith("ray::") and "_extract_batch" in name:
            return pid
    return None


def test_a_worker_killed_mid_run_has_its_letters_run_again(local_ray, tmp_path: Path) -> None:
    oracle = GoldResponder.from_gold_dir(GOLD)
    with FakeOpenAIServer(responder=lambda body: oracle(body).with_delay(1.0)) as server:
        settings = _model_settings(server, concurrency=2)
        letters = _gold_letters(tmp_path, 4)
        killed: list[int] = []

        def kill_one() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                now = time.monotonic()
                # Two requests in flight (each answered a second after it came in): both
                # tasks the 2 CPUs run are waiting for an answer, so whichever is killed, its
                # letter must be asked again.
                waiting = [r for r in server.chat_requests if now - r.received_at < 0.8]
                if len(waiting) >= 2 and (pid := _letters_worker()) is not None:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.02)

        killer = threading.Thread(target=kill_one, daemon=True)
        killer.start()
        outcomes = list(imr_ray.run_letters(letters, "llm", settings=settings, letters_per_task=1))
        killer.join(timeout=5)
        assert killed, "no letters task was found running to kill"
        assert sorted(o.name for o in outcomes) == sorted(letters)  # each once
        assert {o.status for o in outcomes} == {"ok"}
        # The killed task's letter was asked again: more requests than letters.
        assert len(server.chat_requests) > len(letters)


def test_the_command_line_on_ray_then_resume(local_ray, tmp_path: Path) -> None:
    """``extract DIR --ray -o out/``: the tables, the failures file and exit code 1 for the one
    bad letter; run again with --resume: the done letters are skipped, none written twice."""
    from typer.testing import CliRunner

    from imr_llm.cli.main import app

    (tmp_path / "in" / "sub").mkdir(parents=True)
    for k in range(3):
        (tmp_path / "in" / "sub" / f"{k}.txt").write_bytes(LETTER + b"\n" * k)
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    out = f"{tmp_path}/out/"
    runner = CliRunner()
    first = runner.invoke(app, ["extract", "-b", "rules", str(tmp_path / "in"), "--ray", "-o", out])
    assert first.exit_code == 1, first.output
    assert "3 of 4 letter(s) extracted" in first.stderr and "1 failed" in first.stderr
    errors = [json.loads(x) for x in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert [(Path(e["source"]).name, e["error"]) for e in errors] == [("empty.txt", "empty_text")]
    (tmp_path / "in" / "sub" / "3.txt").write_bytes(LETTER + b"\n" * 3)
    again = runner.invoke(
        app, ["extract", "-b", "rules", str(tmp_path / "in"), "--ray", "-o", out, "--resume"]
    )
    assert again.exit_code == 1, again.output
    assert "3 already done" in again.stderr
    import pyarrow.parquet as pq

    files = [r["file"] for r in pq.read_table(tmp_path / "out" / "letters.parquet").to_pylist()]
    assert sorted(Path(f).name for f in files) == ["0.txt", "1.txt", "2.txt", "3.txt"]


def test_the_command_line_reads_a_uri_folder_on_ray(local_ray, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from imr_llm.cli.main import app

    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "a.txt").write_bytes(LETTER)
    (tmp_path / "in" / "sub" / "b.txt").write_bytes(LETTER + b" ")
    out = tmp_path / "out.jsonl"
    uri = f"file://{tmp_path / 'in'}"
    result = CliRunner().invoke(
        app, ["extract", "-b", "rules", uri, "--ray", "-o", str(out), "--progress-every", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "2 of 2 letter(s) extracted" in result.stderr
    sources = sorted(json.loads(x)["metadata"]["source"] for x in out.read_text().splitlines())
    assert sources == [f"{uri}/a.txt", f"{uri}/sub/b.txt"]
