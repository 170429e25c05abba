"""Fault injection for ``imr-llm extract``, end to end: real signals, torn files, full disks.

Each test drives the command as a user (or cron) would and checks what is left behind: the exit
code, one line of error and no traceback, an output file whose every line parses, a failures
file, and a ``--resume`` that finishes the job without doing a letter twice. Offline and fast:
the rules backend reads the gold letters.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imr_llm.cli import main as cli
from imr_llm.cli.main import app
from imr_llm.record.models import CONTRACT_FIELDS

GOLD = Path(__file__).resolve().parents[1] / "eval" / "gold" / "letters"
runner = CliRunner()


def _copy_letters(folder: Path, n: int) -> list[Path]:
    paths = []
    for k, src in enumerate(sorted(GOLD.glob("*.txt"))[:n]):
        path = folder / f"letter{k}.txt"
        shutil.copyfile(src, path)
        paths.append(path)
    return paths


def _cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imr_llm.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        **kwargs,  # type: ignore[arg-type]
    )


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _one_line_error(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert sum(line.startswith("error:") for line in stderr.splitlines()) == 1, stderr


@pytest.fixture
def letters(tmp_path: Path) -> list[Path]:
    return _copy_letters(tmp_path, 6)


# ----------------------------------------------------------------------------------------------
# Ctrl-C
# ----------------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
@pytest.mark.parametrize(
    ("concurrency", "sig"),
    [("1", signal.SIGINT), ("4", signal.SIGINT), ("1", signal.SIGTERM)],
    ids=["ctrl-c", "ctrl-c-threads", "sigterm"],
)
def test_ctrl_c_stops_cleanly_and_resume_finishes(
    letters: list[Path], tmp_path: Path, concurrency: str, sig: signal.Signals
) -> None:
    """A named pipe among the letters holds the run at a known point: the CLI blocks reading
    it, and the signal arrives there, as it would during a slow model call. SIGTERM (a
    scheduler's timeout) stops the same way, with exit code 143."""
    stuck = letters[4]
    stuck_text = stuck.read_bytes()
    stuck.unlink()
    os.mkfifo(stuck)
    out = tmp_path / "out.jsonl"
    args = ["extract", "-b", "rules", "--concurrency", concurrency, "-o", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "imr_llm.cli.main", *args, *map(str, letters)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        writer = None
        while writer is None:  # opening the write end succeeds once the CLI opened the read end
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            try:
                writer = os.open(stuck, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                assert exc.errno == errno.ENXIO
                time.sleep(0.02)
        time.sleep(0.5)  # let it settle into the read, and the letters in flight finish
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
        os.close(writer)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, stderr
    assert "Traceback" not in stderr
    summary = stderr.strip().splitlines()[-1]
    assert summary.startswith("interrupted: ") and "--resume" in summary, stderr
    # No letter failed, so no failures file: an empty one would only say "look here" for nothing.
    assert not (tmp_path / "out.jsonl.errors.jsonl").exists()
    before = _rows(out)  # every line whole
    assert len(before) == 4  # the four letters before the pipe: finished ones are written

    stuck.unlink()
    stuck.write_bytes(stuck_text)
    resumed = _cli(*args, "--resume", *map(str, letters))
    assert resumed.returncode == 0, resumed.stderr
    rows = _rows(out)
    assert sorted(r["metadata"]["source"] for r in rows) == sorted(map(str, letters))
    assert f"{len(before)} already done" in resumed.stderr or not before


# ----------------------------------------------------------------------------------------------
# Resume: torn tails, stable identity, every output option
# ----------------------------------------------------------------------------------------------


def test_resume_sets_a_torn_last_line_aside(letters: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    names = list(map(str, letters[:3]))
    assert runner.invoke(app, ["extract", "-b", "rules", *names, "-o", str(out)]).exit_code == 0
    data = out.read_bytes()
    out.write_bytes(data[: len(data) - 300])  # killed in the middle of the third line
    result = runner.invoke(app, ["extract", "-b", "rules", *names, "-o", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    rows = _rows(out)  # would raise on a record appended to the fragment
    assert [r["metadata"]["source"] for r in rows] == names
    assert "torn line" in result.stderr and "out.jsonl.torn" in result.stderr
    torn = (tmp_path / "out.jsonl.torn").read_bytes()
    assert data.startswith(out.read_bytes()[: -len(data.splitlines()[-1]) - 1])
    assert torn.strip() and data.splitlines()[2].startswith(torn.strip())
    assert "2 already done" in result.stderr


def test_a_file_under_two_names_is_one_letter(
    letters: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.jsonl"
    first = runner.invoke(
        app, ["extract", "-b", "rules", str(letters[0]), letters[0].name, "-o", str(out)]
    )
    assert first.exit_code == 0 and len(_rows(out)) == 1, first.output
    row = _rows(out)[0]["metadata"]
    assert row["source"] == str(letters[0].resolve()) and len(row["source_sha256"]) == 64
    again = runner.invoke(
        app,
        ["extract", "-b", "rules", f"./{letters[0].name}", letters[1].name, "-o", str(out),
         "--resume"],
    )  # fmt: skip
    assert again.exit_code == 0 and "1 already done" in again.stderr, again.output
    assert [Path(r["metadata"]["source"]).name for r in _rows(out)] == [
        "letter0.txt",
        "letter1.txt",
    ]


def test_an_edited_file_is_extracted_again(letters: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert (
        runner.invoke(app, ["extract", "-b", "rules", str(letters[0]), "-o", str(out)]).exit_code
        == 0
    )
    letters[0].write_bytes(letters[1].read_bytes())  # same name, other letter
    result = runner.invoke(
        app, ["extract", "-b", "rules", str(letters[0]), "-o", str(out), "--resume"]
    )
    assert result.exit_code == 0 and "already done" not in result.stderr
    assert len(_rows(out)) == 2


def test_contract_only_resume_uses_the_ledger(letters: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    base = ["extract", "-b", "rules", "--contract-only", "-o", str(out)]
    assert runner.invoke(app, [*base, str(letters[0]), str(letters[1])]).exit_code == 0
    assert "metadata" not in _rows(out)[0]
    ledger = _rows(tmp_path / "out.jsonl.done")
    assert [r["source"] for r in ledger] == [str(letters[0]), str(letters[1])]
    result = runner.invoke(app, [*base, "--resume", *map(str, letters[:3])])
    assert result.exit_code == 0, result.output
    assert "2 already done" in result.stderr
    ledger = _rows(tmp_path / "out.jsonl.done")  # line for line, the letter of each record
    assert [r["source"] for r in ledger] == list(map(str, letters[:3]))
    assert len(_rows(out)) == 3
    assert all(set(row) == set(CONTRACT_FIELDS) for row in _rows(out))  # exactly the contract


# ----------------------------------------------------------------------------------------------
# Output that cannot be written
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["missing folder", "a folder", "errors in a missing folder"])
def test_unwritable_output_fails_before_any_letter_is_read(
    letters: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    def never(name: str) -> None:
        raise AssertionError(f"read {name} before checking the output")

    monkeypatch.setattr(cli, "read_source", never)
    target = {
        "missing folder": ["-o", str(tmp_path / "nope" / "out.jsonl")],
        "a folder": ["-o", str(tmp_path)],
        "errors in a missing folder": [
            "-o", str(tmp_path / "out.jsonl"), "--errors", str(tmp_path / "nope" / "e.jsonl"),
        ],
    }[where]  # fmt: skip
    result = runner.invoke(app, ["extract", "-b", "rules", *map(str, letters[:2]), *target])
    assert result.exit_code == 2, result.output
    _one_line_error(result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_full_disk_is_refused_before_any_letter_is_read(
    letters: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk with no free block (as a filled-up tmpfs reports it) is caught up front."""

    def never(name: str) -> None:
        raise AssertionError(f"read {name} before checking the output")

    full = os.statvfs_result((4096, 4096, 1000, 0, 0, 100, 0, 0, 0, 255))
    monkeypatch.setattr(cli.os, "statvfs", lambda path: full)
    monkeypatch.setattr(cli, "read_source", never)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", "-b", "rules", *map(str, letters[:2]), "-o", str(out)])
    assert result.exit_code == 2, result.output
    _one_line_error(result.stderr)
    assert "no space left on device" in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_mid_run_is_one_line_and_exit_2(letters: list[Path], tmp_path: Path) -> None:
    errors = tmp_path / "errors.jsonl"  # not beside /dev/full
    names = map(str, letters[:3])
    proc = _cli("extract", "-b", "rules", *names, "-o", "/dev/full", "--errors", str(errors))
    assert proc.returncode == 2
    _one_line_error(proc.stderr)
    assert "No space left on device" in proc.stderr
    assert "0 of 3 letter(s) extracted" in proc.stderr  # nothing claimed that was not written


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_on_standard_output(letters: list[Path]) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "imr_llm.cli.main", "extract", "-b", "rules", str(letters[0])],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=60,
        )
    assert proc.returncode == 2
    _one_line_error(proc.stderr)
    assert "standard output" in proc.stderr and "Exception ignored" not in proc.stderr


def test_write_failure_through_a_failing_file(
    letters: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same path in process: a file object whose writes fail with ENOSPC."""

    class Full:
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self) -> None: ...

        def close(self) -> None: ...

    out = tmp_path / "out.jsonl"
    real_open = Path.open

    def open_(self: Path, mode: str = "r", *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self == out and mode != "r":
            return Full()
        return real_open(self, mode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", open_)
    result = runner.invoke(app, ["extract", "-b", "rules", *map(str, letters[:2]), "-o", str(out)])
    assert result.exit_code == 2, result.output
    _one_line_error(result.stderr)
    assert f"error: cannot write {out}: No space left on device" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ----------------------------------------------------------------------------------------------
# Flags, help, progress
# ----------------------------------------------------------------------------------------------


def test_verbose_after_the_subcommand(letters: list[Path]) -> None:
    for args in (["extract", "-b", "rules", str(letters[0]), "-v"], ["schema", "--verbose"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", [[], ["extract"], ["schema"], ["eval"]])
def test_help_shows_no_bool_after_flags(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=120)
    assert result.exit_code == 0
    assert "<bool>" not in result.output and "--no-resume" not in result.output


def test_plain_progress_lines_without_a_terminal(letters: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    proc = _cli(
        "extract", "-b", "rules", *map(str, letters), "-o", str(out), "--progress-every", "0"
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("progress: ")]
    assert len(lines) == len(letters)
    assert lines[-1].startswith(f"progress: {len(letters)} of {len(letters)} letter(s): ")
    for part in ("done (0 need review)", "0 failed", "letters/s", "tokens", "$0.0000 so far"):
        assert part in lines[-1]
    assert "\x1b[" not in proc.stderr  # no bar, no escape codes
    quiet = _cli(
        "extract", "-b", "rules", *map(str, letters), "-o", str(out), "-q", "--progress-every", "0"
    )
    assert quiet.stderr == ""


# ----------------------------------------------------------------------------------------------
# --retry-failed
# ----------------------------------------------------------------------------------------------


def test_retry_failed_reruns_only_the_failures(letters: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    failures = tmp_path / "out.jsonl.errors.jsonl"
    bad, worse = tmp_path / "bad.txt", tmp_path / "worse.txt"
    bad.write_text("not a letter yet")
    worse.write_text("never a letter")
    first = runner.invoke(
        app, ["extract", "-b", "rules", str(letters[0]), str(bad), str(worse), "-o", str(out)]
    )
    assert first.exit_code == 1
    assert [r["source"] for r in _rows(failures)] == [str(bad), str(worse)]

    bad.write_bytes(letters[1].read_bytes())  # fixed (say, a better scan)
    letters[0].write_text("edited since, but not listed as a failure")
    retry = runner.invoke(app, ["extract", "-b", "rules", "-o", str(out), "--retry-failed"])
    assert retry.exit_code == 1, retry.output  # worse.txt still fails
    assert "1 of 2 letter(s) extracted" in retry.stderr
    assert [Path(r["metadata"]["source"]).name for r in _rows(out)] == ["letter0.txt", "bad.txt"]
    assert [Path(r["source"]).name for r in _rows(failures)] == ["worse.txt"]

    worse.write_bytes(letters[2].read_bytes())
    again = runner.invoke(app, ["extract", "-b", "rules", "-o", str(out), "--retry-failed"])
    assert again.exit_code == 0, again.output
    assert not failures.exists() and len(_rows(out)) == 3  # nothing failed: no failures file


def test_retry_failed_needs_a_failures_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["extract", "-o", str(out), "--retry-failed"])
    assert result.exit_code == 2 and "no failures file" in result.stderr
    result = runner.invoke(app, ["extract", "--retry-failed"])
    assert result.exit_code == 2 and "needs --output" in result.stderr


# ----------------------------------------------------------------------------------------------
# The pieces underneath: an interrupted pool, torn files
# ----------------------------------------------------------------------------------------------


def test_a_stopped_batch_does_not_wait_for_letters_in_flight() -> None:
    """Ctrl-C (or closing the results early) cancels letters not started and does not wait for
    the ones in flight, which with a model could take minutes."""
    import threading

    from imr_llm.many.concurrent import iter_results
    from imr_llm.record.models import DeterminationRecord

    release = threading.Event()
    started: list[str] = []

    def fn(text: str) -> DeterminationRecord:
        started.append(text)
        if text != "fast":
            release.wait(10)
        raise ValueError(text)

    letters = [("a", "fast"), ("b", "slow"), ("c", "slow"), ("d", "never"), ("e", "never")]
    results = iter_results(fn, iter(letters), concurrency=3)
    try:
        assert next(results).name == "a"
        began = time.monotonic()
        results.close()
        assert time.monotonic() - began < 2
        assert "never" not in started[:3] and started.count("never") <= 1
    finally:
        release.set()


def test_cut_torn_tail(tmp_path: Path) -> None:
    from imr_llm.many.runlog import cut_torn_tail

    path, keep = tmp_path / "out.jsonl", tmp_path / "out.jsonl.torn"
    assert cut_torn_tail(path, keep) == 0  # no file yet
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n')
    assert cut_torn_tail(path, keep) == 0 and not keep.exists()
    path.write_bytes(b'{"a": 1}\n{"b": ')
    assert cut_torn_tail(path, keep) == 6
    assert path.read_bytes() == b'{"a": 1}\n' and keep.read_bytes() == b'{"b": \n'
    path.write_bytes(b'{"only": ')  # the very first line torn
    assert cut_torn_tail(path, keep) == 9 and path.read_bytes() == b""


def test_unreadable_files_raise_the_public_error(tmp_path: Path) -> None:
    """The one documented class, so ``except imr_llm.UnreadableInputError`` catches it."""
    import imr_llm
    from imr_llm.inputs.files import read_source

    with pytest.raises(imr_llm.UnreadableInputError, match="no such file"):
        read_source(str(tmp_path / "missing.txt"))
    with pytest.raises(imr_llm.UnreadableInputError, match="is a directory"):
        read_source(str(tmp_path))


def test_an_interrupted_retry_keeps_the_letters_it_did_not_finish(
    letters: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.jsonl"
    failures = tmp_path / "out.jsonl.errors.jsonl"
    bad = [tmp_path / f"bad{k}.txt" for k in range(3)]
    for path in bad:
        path.write_text("not a letter yet")
    first = runner.invoke(app, ["extract", "-b", "rules", *map(str, bad), "-o", str(out)])
    assert first.exit_code == 1 and len(_rows(failures)) == 3
    for path, letter in zip(bad, letters, strict=False):
        path.write_bytes(letter.read_bytes())  # all three readable now

    real = cli.extract
    stop_at = letters[1].read_text(encoding="utf-8")

    def interrupted(text: str, **kwargs: object):  # type: ignore[no-untyped-def]
        if text == stop_at:
            raise KeyboardInterrupt  # Ctrl-C while the second letter is with the model
        return real(text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "extract", interrupted)
    retry = runner.invoke(app, ["extract", "-b", "rules", "-o", str(out), "--retry-failed"])
    assert retry.exit_code == 130, retry.output
    assert "interrupted: " in retry.stderr
    assert [Path(r["metadata"]["source"]).name for r in _rows(out)] == ["bad0.txt"]
    assert sorted(Path(r["source"]).name for r in _rows(failures)) == ["bad1.txt", "bad2.txt"]

    monkeypatch.setattr(cli, "extract", real)
    again = runner.invoke(app, ["extract", "-b", "rules", "-o", str(out), "--retry-failed"])
    assert again.exit_code == 0, again.output
    assert len(_rows(out)) == 3 and not failures.exists()


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_keeps_the_bar(letters: list[Path], tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "imr_llm.cli.main", "extract", "-b", "rules", *map(str, letters),
             "-o", str(tmp_path / "out.jsonl"), "--progress-every", "0"],
            stderr=slave, stdout=subprocess.DEVNULL, check=False, timeout=60,
            env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
        )  # fmt: skip
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the writer is gone
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    seen = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0
    assert "progress: " not in seen  # the plain lines are for logs, not terminals
    assert "letter(s) extracted" in seen
