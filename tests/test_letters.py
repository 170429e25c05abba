"""A text holding more than one letter: refused by both engines, and cut into letters.

Read as one letter, a second letter's items join the first's and its opening lands in the last
rationale, with every value reading exactly where it sits: no check of single values can tell.
The expectations come from construction: texts joined here from letters known to be single
(the gold letters and their renderings, the corpus), and a page of a letter printed twice.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import openai
import pytest

import imr_llm
from imr_llm import MultipleLettersError, extract, split_letters
from imr_llm.errors import InputError
from imr_llm.eval.damage import reflow
from imr_llm.form import _sections, relaid
from imr_llm.form.letters import letter_starts, other_letter_at
from imr_llm.form.strict import strict_form
from imr_llm.inputs.normalise import document
from imr_llm.testing.fake_openai import FakeOpenAIServer
from tests.conftest import GOLD, SHARED, gold_text

GOLD_NAMES = sorted(p.stem for p in (GOLD / "letters").glob("*.txt"))
RENDERINGS = sorted(p.name for p in (GOLD / "renderings").iterdir() if p.is_dir())
CORPUS_TEXTS = sorted(SHARED.glob("corpus*/text-*/*.txt"))
requires_corpus = pytest.mark.skipif(
    not CORPUS_TEXTS, reason="../shared/corpus is not present beside the checkout"
)


def rendering(kind: str, name: str) -> str:
    return (GOLD / "renderings" / kind / f"{name}.txt").read_text(encoding="utf-8")


def join(first: str, second: str) -> str:
    """Two letters' texts one after the other, as joined files or a bundle's pages are."""
    return (first if first.endswith(("\n", "\f")) else first + "\n") + second


def is_one_letter(text: str) -> bool:
    doc = relaid(document(text))
    return other_letter_at(doc, _sections(doc)) is None


# ----------------------------------------------------------------------------------------------
# A single letter is one letter, in every rendering
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GOLD_NAMES)
def test_every_gold_letter_in_every_rendering_is_one_letter(name: str) -> None:
    texts = [gold_text(name)] + [
        rendering(kind, name)
        for kind in RENDERINGS
        if (GOLD / "renderings" / kind / f"{name}.txt").is_file()
    ]
    for text in texts:
        assert is_one_letter(text)
        assert split_letters(text) == [text]


@pytest.mark.parametrize("width", [45, 60, 100])
def test_every_gold_letter_re_flowed_is_one_letter(width: int) -> None:
    assert [n for n in GOLD_NAMES if not is_one_letter(reflow(gold_text(n), width))] == []


@requires_corpus
def test_every_corpus_letter_in_every_rendering_is_one_letter() -> None:
    two = [p.name for p in CORPUS_TEXTS if not is_one_letter(p.read_text(encoding="utf-8"))]
    assert two == []


# ----------------------------------------------------------------------------------------------
# Two letters joined: refused, and cut where the second starts
# ----------------------------------------------------------------------------------------------

PAIRS = list(itertools.islice(zip(GOLD_NAMES, GOLD_NAMES[7:] + GOLD_NAMES[:7], strict=True), 43))


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_two_gold_letters_joined_are_refused_by_the_rules_engine(first: str, second: str) -> None:
    with pytest.raises(MultipleLettersError) as caught:
        extract(join(gold_text(first), gold_text(second)), backend="rules")
    assert caught.value.code == "multiple_letters"
    assert isinstance(caught.value, InputError)
    assert caught.value.offset > len(gold_text(first)) // 2


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_two_gold_letters_joined_are_cut_back_into_the_two(first: str, second: str) -> None:
    a, b = gold_text(first), gold_text(second)
    parts = split_letters(join(a, b))
    assert [p.strip() for p in parts] == [a.strip(), b.strip()]
    assert letter_starts(join(a, b))[0] == 0


def test_three_letters_are_cut_into_three() -> None:
    a, b, c = (gold_text(n) for n in ("gA01", "gN02", "gB05"))
    assert [p.strip() for p in split_letters(join(join(a, b), c))] == [a.strip(), b.strip(),
                                                                       c.strip()]  # fmt: skip


@pytest.mark.parametrize("kind", ["ocr", "ocrfax", "raw", "noise-light"])
def test_two_damaged_letters_joined_are_refused(kind: str) -> None:
    names = [n for n in GOLD_NAMES if (GOLD / "renderings" / kind / f"{n}.txt").is_file()]
    refused = 0
    for first, second in zip(names, names[5:] + names[:5], strict=True):
        try:
            extract(join(rendering(kind, first), rendering(kind, second)), backend="rules")
        except MultipleLettersError:
            refused += 1
        except imr_llm.ImrError:
            pass
    # A notice whose title OCR destroyed may be missed; never more than one pair in ten.
    assert refused >= 0.9 * len(names)


@requires_corpus
@pytest.mark.parametrize("kind", ["layout", "raw", "ocr", "ocrfax"])
def test_two_corpus_letters_joined_are_refused(kind: str) -> None:
    paths = sorted(SHARED.glob(f"corpus*/text-{kind}/*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in paths]
    for a, b in zip(texts, texts[3:] + texts[:3], strict=True):
        with pytest.raises(MultipleLettersError):
            extract(join(a, b), backend="rules")


def test_the_model_is_not_asked_about_two_letters() -> None:
    text = join(gold_text("gA02"), gold_text("gB03"))
    with FakeOpenAIServer() as server, pytest.raises(MultipleLettersError):
        client = openai.OpenAI(base_url=server.base_url, api_key="test-key")
        extract(text, backend="llm", client=client)
    assert server.chat_requests == []


def test_the_fast_path_leaves_two_clean_letters_to_the_tolerant_reading() -> None:
    a = gold_text("gA03")
    assert strict_form(a) is not None  # the letter alone takes the fast path
    assert strict_form(join(a, gold_text("gA04"))) is None


def test_the_message_holds_no_letter_text() -> None:
    a, b = gold_text("gA05"), gold_text("gB06")
    with pytest.raises(MultipleLettersError) as caught:
        extract(join(a, b), backend="rules")
    message = str(caught.value)
    assert str(caught.value.offset) in message
    words = {w for w in (a + b).split() if len(w) > 6 and w.isalpha()}
    assert not [w for w in words if w in message and w.lower() not in {"letter's"}]


# ----------------------------------------------------------------------------------------------
# A page of the letter's start printed twice
# ----------------------------------------------------------------------------------------------


def pages(text: str) -> list[str]:
    return text.split("\f")


@pytest.mark.parametrize("name", ["gA01", "gA06", "gB02", "gB07"])
def test_the_summary_or_issues_page_printed_again_is_refused(name: str) -> None:
    text = gold_text(name)
    start = text.index("IMR ISSUES, DECISIONS AND RATIONALES")
    first_item = text.index(":", text.index("\n", text.index("set forth below") + 1))
    # The letter's issues heading and opening sentence again after its first item's header.
    again = text[start : text.index("\n", text.index("set forth below")) + 1]
    cut = text.index("\n", first_item) + 1
    with pytest.raises(MultipleLettersError):
        extract(text[:cut] + "\n" + again + "\n" + text[cut:], backend="rules")


def test_the_public_names_are_exported() -> None:
    assert "split_letters" in imr_llm.__all__
    assert "MultipleLettersError" in imr_llm.__all__
    assert Path(imr_llm.__file__).is_file()


# ----------------------------------------------------------------------------------------------
# A page of items printed twice
# ----------------------------------------------------------------------------------------------


def _item_blocks(text: str) -> list[int]:
    """Where each item starts: the paragraph holding its outcome marker ("...: Upheld", or
    the marker on a line of its own under the header)."""
    import re

    markers = [m.start() for m in re.finditer(r"(?:Upheld|Overturned)[ \t]*$", text, re.M)]
    return [max(text.rfind("\n\n", 0, at) + 2, text.rfind("\f", 0, at) + 1) for at in markers]


TWICE = ["gA01", "gA02", "gA04", "gA06", "gA07", "gB02", "gB03", "gB06", "gB07"]


@pytest.mark.parametrize("name", TWICE)
def test_an_item_printed_twice_needs_review(name: str) -> None:
    text = gold_text(name)
    start, end = _item_blocks(text)[:2]
    record = extract(text[:end] + text[start:end] + text[end:], backend="rules")
    assert record.metadata.needs_review


@pytest.mark.parametrize("name", TWICE)
def test_the_same_letter_unrepeated_needs_no_review(name: str) -> None:
    record = extract(gold_text(name), backend="rules")
    assert not record.metadata.needs_review


RATIONALE = (
    "The guidelines support an epidural steroid injection where radiculopathy is documented by "
    "examination and corroborated by imaging. Neither is documented. The request is not "
    "medically necessary."
)


def repeats(*services: str, rationales: tuple[str, ...] = ()) -> list[str]:
    from imr_llm.evidence.check import check_repeated_items
    from imr_llm.evidence.common import Checked

    out = Checked()
    texts = rationales or (RATIONALE,) * len(services)
    check_repeated_items(
        [{"service": s, "rationale": r} for s, r in zip(services, texts, strict=True)], out
    )
    return [f"{path}: {e.note}" for path, e in out.evidence.items()]


def test_an_item_repeated_is_flagged_at_the_repeat() -> None:
    assert repeats("Lumbar ESI", "Knee brace", "Lumbar ESI") == [
        "items[2].rationale: repeats items[0] word for word (a page printed twice?)"
    ]


def test_a_repeat_read_through_ocr_and_a_fragment_joined_at_the_page_edge_is_flagged() -> None:
    damaged = RATIONALE.replace("documented", "docurnented", 1).replace("imaging", "imagmg")
    assert repeats("Lumbar ESI", "Post-op Lumbar ESI", rationales=(RATIONALE, damaged)) != []


def test_requests_a_word_apart_with_one_rationale_template_are_no_repeat() -> None:
    assert repeats("Right L5-S1 epidural steroid injection",
                   "Left L5-S1 epidural steroid injection") == []  # fmt: skip
    assert repeats("Associated surgical service: Hip pad",
                   "Associated surgical service: 2 leg wraps") == []  # fmt: skip
    other = RATIONALE.replace("epidural steroid injection", "lumbar brace")
    assert repeats("Lumbar ESI", "Lumbar ESI", rationales=(RATIONALE, other)) == []


# ----------------------------------------------------------------------------------------------
# The command line
# ----------------------------------------------------------------------------------------------


def test_split_writes_one_text_per_letter_and_extract_reads_them(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from imr_llm.cli.main import app

    runner = CliRunner()
    a, b, c = gold_text("gA02"), gold_text("gB03"), gold_text("gA03")
    (tmp_path / "bundle.txt").write_text(join(a, b), encoding="utf-8")
    (tmp_path / "single.txt").write_text(c, encoding="utf-8")
    refused = runner.invoke(app, ["extract", str(tmp_path / "bundle.txt")])
    assert "multiple_letters" in refused.output or "more than one letter" in refused.output
    out = tmp_path / "out"
    result = runner.invoke(app, ["split", str(tmp_path / "bundle.txt"),
                                 str(tmp_path / "single.txt"), str(tmp_path / "none.txt"),
                                 "-o", str(out)])  # fmt: skip
    assert result.exit_code == 1  # the missing file, named
    assert "none.txt" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["bundle-1.txt", "bundle-2.txt", "single.txt"]
    assert (out / "bundle-1.txt").read_text(encoding="utf-8").strip() == a.strip()
    assert (out / "bundle-2.txt").read_text(encoding="utf-8").strip() == b.strip()
    assert (out / "single.txt").read_text(encoding="utf-8") == c
    records = tmp_path / "records.jsonl"
    done = runner.invoke(app, ["extract", str(out), "-o", str(records)])
    assert done.exit_code == 0, done.output
    assert len(records.read_text(encoding="utf-8").splitlines()) == 3


def test_split_refuses_a_file_as_its_output_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from imr_llm.cli.main import app

    (tmp_path / "a.txt").write_text(gold_text("gA02"), encoding="utf-8")
    result = CliRunner().invoke(app, ["split", str(tmp_path / "a.txt"), "-o",
                                      str(tmp_path / "a.txt")])  # fmt: skip
    assert result.exit_code == 2


def test_split_letters_takes_text_only() -> None:
    assert split_letters("") == [""]
    for bad in (b"Case Number:", None, 3):
        with pytest.raises(TypeError, match="takes the text as str"):
            split_letters(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["gN01", "gN04"])
def test_a_notice_title_repeated_at_a_page_top_is_no_second_letter(name: str) -> None:
    text = gold_text(name)
    lines = text.split("\n")
    at = len(lines) * 2 // 3  # a later page's top, far from the letter's own title
    head = "Notice of Independent Medical Review Determination (continued)"
    paged = "\n".join([*lines[:at], "\f" + head, *lines[at:]])
    assert is_one_letter(paged)
    # The head is the page's furniture: the values are the letter's.
    assert (
        extract(paged, backend="rules").contract_dict()
        == extract(text, backend="rules").contract_dict()
    )
    # Its date and first determination after it make it another notice's opening.
    assert not is_one_letter(join(text, text))
