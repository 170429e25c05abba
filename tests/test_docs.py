"""Every code block of the README and the docs site that is meant to run, run.

Blocks are read from ``README.md`` and ``docs/**/*.md`` (fenced with three backticks):

- ``python`` blocks run, in page order, in one namespace per page that starts with ``text``
  (the written gold letter gA01, which is ``examples/letter.txt``) and ``pdf_bytes``
  (``examples/letter.pdf``), the names the docs' examples use for a letter's text and a PDF's
  bytes. A block that cannot run here says so on the line before it:
  ``<!-- docs-test: skip: REASON -->``.
- ``bash``, ``sh``, ``shell`` and ``console`` blocks run when the line before them says
  ``<!-- docs-test: run -->``; every other one says ``<!-- docs-test: skip: REASON -->``, so
  no command is left unjudged.

Everything runs in a sandbox laid out like a checkout: ``examples/`` (copied), ``eval/gold``,
``eval/baselines`` and ``benchmarks/`` (links to the checkout's) and ``.venv`` (a link to the
environment running the tests), so ``. .venv/bin/activate`` and ``.venv/bin/imr-llm`` work as the
docs say. No ``IMR_LLM_*`` or ``OPENAI_*`` variable is set, so ``auto`` means the rules engine, as
on a fresh machine. A page's shell blocks run one after another as in one terminal: each under
``bash -e``, with the environment the one before left (an activated venv, exports) carried over, and
a PATH that starts without the venv, so a page that calls ``imr-llm`` before saying how to activate
the venv fails here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from imr_llm import extract_file
from tests.conftest import gold_label, gold_text

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
SHELL = {"bash", "sh", "shell", "console"}
#: The written gold letter the examples are (examples/letter.txt is its text, byte for byte).
EXAMPLE_LETTER = "gA01"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)[^\n]*$")
_MARK = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<what>run|skip)\s*(?::\s*(?P<why>.*?))?\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    mark: str | None  # "run", "skip" or None
    reason: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, each with the docs-test mark on the line before it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    k = 0
    while k < len(lines):
        opening = _FENCE.match(lines[k])
        if not opening:
            k += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        end = k + 1
        while end < len(lines) and not re.match(
            rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[end]
        ):
            end += 1
        body = [
            line[len(indent) :] if line.startswith(indent) else line for line in lines[k + 1 : end]
        ]
        before = next((lines[j] for j in range(k - 1, -1, -1) if lines[j].strip()), "")
        mark = _MARK.match(before)
        found.append(
            Block(
                page,
                k + 1,
                opening["lang"].lower(),
                "\n".join(body) + "\n",
                mark["what"] if mark else None,
                (mark["why"] or "") if mark else "",
            )
        )
        k = end + 1
    return found


ALL_BLOCKS = [b for page in PAGES for b in blocks(page)]


def test_the_collector_finds_the_blocks_the_docs_hold() -> None:
    # The README's quick start, its tour and the docs' pages all have code; an empty or
    # near-empty harvest would mean the collector, not the docs, went wrong.
    langs = {b.lang for b in ALL_BLOCKS}
    assert {"python", "bash", "text"} <= langs
    readme = [b for b in ALL_BLOCKS if b.page.name == "README.md"]
    assert any(b.mark == "run" for b in readme if b.lang == "bash")
    assert any(b.lang == "python" and b.mark != "skip" for b in readme)


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.lang in SHELL | {"python"}],
                         ids=lambda b: b.where)  # fmt: skip
def test_every_block_says_whether_it_runs_and_why_not(block: Block) -> None:
    if block.lang in SHELL:
        assert block.mark in ("run", "skip"), (
            f"{block.where}: say <!-- docs-test: run --> or <!-- docs-test: skip: REASON -->"
        )
    if block.mark == "skip":
        assert len(block.reason) >= 10, f"{block.where}: a skipped block says why"


# ----------------------------------------------------------------------------------------------
# The sandbox
# ----------------------------------------------------------------------------------------------


def _in_a_venv() -> bool:
    return sys.prefix != sys.base_prefix and (Path(sys.prefix) / "bin" / "activate").is_file()


def _clean_environment() -> dict[str, str]:
    """The caller's environment without the model settings and without the venv on PATH."""
    venv_bin = str(Path(sys.prefix) / "bin")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IMR_LLM_", "OPENAI_")) and k not in ("VIRTUAL_ENV", "PYTHONHOME")
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin
    )
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    (tmp_path / "eval").mkdir()
    for part in ("gold", "baselines"):
        (tmp_path / "eval" / part).symlink_to(REPO / "eval" / part, target_is_directory=True)
    (tmp_path / "benchmarks").symlink_to(REPO / "benchmarks", target_is_directory=True)
    if _in_a_venv():
        (tmp_path / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    return tmp_path


def _run_shell(block: Block, cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """Run one block as a user would in a terminal; return the environment it leaves."""
    env_out = cwd.parent / "env-after"
    script = f"set -eo pipefail\n{block.code}\nenv -0 > {str(env_out)!r}\n"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        pytest.fail(
            f"{block.where}: exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}"
            f"\n--- stderr\n{done.stderr[-3000:]}"
        )
    pairs = env_out.read_bytes().split(b"\0")
    return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)


RUN_PAGES = sorted(
    {b.page for b in ALL_BLOCKS if (b.lang == "python" and b.mark != "skip") or b.mark == "run"}
)


@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_the_blocks_of_a_page_run_in_order(
    page: Path, sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    todo = [
        b for b in blocks(page)
        if (b.lang == "python" and b.mark != "skip") or (b.lang in SHELL and b.mark == "run")
    ]  # fmt: skip
    if any(b.lang in SHELL for b in todo) and not _in_a_venv():
        pytest.skip("the shell blocks use .venv: run the tests from a venv")
    env = _clean_environment()
    for name in [k for k in os.environ if k.startswith(("IMR_LLM_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(sandbox)
    namespace: dict[str, object] = {
        "__name__": "__docs__",
        "text": gold_text(EXAMPLE_LETTER),
        "pdf_bytes": (REPO / "examples" / "letter.pdf").read_bytes(),
    }
    for block in todo:
        if block.lang == "python":
            try:
                exec(compile(block.code, block.where, "exec"), namespace)
            except Exception as exc:  # noqa: BLE001 - name the block that failed
                raise AssertionError(f"{block.where}: {type(exc).__name__}: {exc}") from exc
        else:
            env = _run_shell(block, sandbox, env)


# ----------------------------------------------------------------------------------------------
# The example files
# ----------------------------------------------------------------------------------------------


def test_the_example_letter_is_the_written_gold_letter() -> None:
    assert (REPO / "examples" / "letter.txt").read_text(encoding="utf-8") == gold_text(
        EXAMPLE_LETTER
    )


def test_the_example_pdf_reads_as_its_gold_label() -> None:
    """The PDF is the same written letter: its text layer gives the hand-written label."""
    record = extract_file(REPO / "examples" / "letter.pdf", backend="rules")
    assert record.metadata.input.kind == "pdf"
    assert record.metadata.input.text_from == "text_layer"
    assert record.metadata.input.pages == 2
    assert record.contract_dict() == json.loads(json.dumps(gold_label(EXAMPLE_LETTER)))
    assert not record.metadata.needs_review


def test_the_example_pdf_is_what_its_readme_says_made_it() -> None:
    from tests.test_pdf import build_pdf, paged

    made = build_pdf(paged((REPO / "examples" / "letter.txt").read_text(encoding="utf-8")))
    assert (REPO / "examples" / "letter.pdf").read_bytes() == made
