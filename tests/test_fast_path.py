"""The fast path (issue 17) gives exactly what the tolerant path gives, wherever it reads.

The expectation here is never the fast path's own output: it is the tolerant path's output on
the same text (:func:`imr_llm.rules.strict.tolerant_only`), over every letter the project has:
the gold set's letters and renderings, every rendering of ../shared/corpus and corpus-more, and
each of them re-flowed to 60 and 100 columns. Records, the evidence of every value (status,
span, note, and the order the entries come in), warnings, ``needs_review`` and
``review_reasons`` must be equal; so must the letter form the strict pass finds be equal to
:func:`imr_llm.form.read_form`'s, and the quick relayout test never say "settled" of a text
:func:`~imr_llm.form.relayout.relayout` would change. The readers and checks that try their
patterns only where a match can start are held equal to those patterns tried everywhere, on the
letters' own passages and on seeded variations of them.
"""

from __future__ import annotations

import dataclasses
import importlib
import random
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from imr_llm import extract
from imr_llm.errors import ImrError
from imr_llm.eval.damage import KINDS, damage, reflow
from imr_llm.form import read_form
from imr_llm.form.strict import _find_label, _match_label, strict_form
from imr_llm.inputs.normalise import normalise
from imr_llm.rules import strict
from tests.conftest import GOLD, SHARED
from tests.letters import Letter

_relayout = importlib.import_module("imr_llm.form.relayout")
_settled = importlib.import_module("imr_llm.form.settled")


@lru_cache(maxsize=1)
def _base_texts() -> tuple[tuple[str, str], ...]:
    paths = sorted((GOLD / "letters").glob("*.txt")) + sorted((GOLD / "renderings").glob("*/*.txt"))
    for corpus in ("corpus", "corpus-more"):
        for rendering in ("text-layout", "text-raw", "text-ocr", "text-ocrfax"):
            paths += sorted((SHARED / corpus / rendering).glob("*.txt"))
    return tuple((_name(p), p.read_text(encoding="utf-8")) for p in paths)


def _name(path: Path) -> str:
    return "/".join(path.parts[-3:])


@lru_cache(maxsize=1)
def _all_texts() -> tuple[tuple[str, str], ...]:
    base = _base_texts()
    reflowed = tuple(
        (f"{name}@{width}", reflow(text, width)) for name, text in base for width in (60, 100)
    )
    return base + reflowed


def _texts() -> Iterator[tuple[str, str]]:
    yield from _all_texts()


def _record(text: str) -> dict | tuple[str, str]:
    """What extract() gives, timings aside; or the typed error's kind and message."""
    try:
        record = extract(text, backend="rules")
    except ImrError as error:
        return type(error).__name__, str(error)
    data = record.model_dump(mode="json")
    assert data["metadata"] is not None
    data["metadata"].pop("timings_ms")
    data["evidence order"] = list(data["metadata"]["evidence"])
    return data


# --------------------------------------------------------------------------------------------
# The whole path
# --------------------------------------------------------------------------------------------


def test_fast_path_gives_the_tolerant_paths_record_everywhere() -> None:
    """On every letter the fast path reads, the record, its evidence and its flags are the
    tolerant path's."""
    differ, read = [], 0
    for name, text in _texts():
        try:
            fast = strict.strict_record(text, max_chars=400_000, backend="rules")
        except ImrError:
            continue  # the same checks of the input as normalise(): the same typed error
        if fast is None:
            continue
        read += 1
        with strict.tolerant_only():
            tolerant = _record(text)
        if _record(text) != tolerant:
            differ.append(name)
    assert not differ, f"the fast path differs from the tolerant path on {differ[:10]}"
    assert read >= 150  # the fast path does read (most clean and raw renderings)


_TWO_LINE_ITEM = (
    "Physical therapy twice a week for four weeks for the lumbar spine and the left knee\n"
    "with a home exercise program: Overturned\n"
)


@pytest.mark.parametrize(
    ("damaged", "why"),
    [
        # A header line printed twice: the service doubles a run of words.
        (
            lambda t: t.replace(
                _TWO_LINE_ITEM, _TWO_LINE_ITEM.replace("\nwith", "\nspine and the left knee\nwith")
            ),
            "the item header repeats a run of words",
        ),  # fmt: skip
        # A header's first line lost: the service starts inside its sentence.
        (
            lambda t: t.replace(_TWO_LINE_ITEM.split("\n")[0] + "\n", ""),
            "the item header starts inside a sentence",
        ),  # fmt: skip
        # OCR marks glued after a guideline's full stop (the space before them lost).
        (
            lambda t: t.replace("Section(s): Initial\nCare.\n", "Section(s): Initial\nCare.:\n"),
            None,
        ),  # fmt: skip
        # A rationale's last line merged into the next item's header: the tolerant path
        # finds the first rationale cut and refuses the letter.
        (
            lambda t: t.replace(
                "necessary.\n\n" + _TWO_LINE_ITEM[:20], "necessary. " + _TWO_LINE_ITEM[:20]
            ),
            "items[0].rationale",
        ),  # fmt: skip
    ],
)
def test_damage_the_fast_path_once_read_unlike_the_tolerant_path(
    damaged: Any, why: str | None
) -> None:
    """Each of these gave a record the tolerant path flags, refuses or reads otherwise, with
    no flag, found by the damage fuzz; now the fast path gives the tolerant path's result."""
    from tests.letters import ITEM_ONE

    text = str(Letter(items=[ITEM_ONE, _TWO_LINE_ITEM + ITEM_TWO_BODY]))
    assert _record(text) == _tolerant(text) and _fast(text)  # the undamaged letter: fast, equal
    bad = damaged(text)
    assert bad != text
    assert _record(bad) == _tolerant(bad)
    if why is not None:
        result = _record(bad)
        reasons = result[1] if isinstance(result, tuple) else result["metadata"]["review_reasons"]
        assert why in str(reasons)


#: The second item's passages, below a two-line header.
ITEM_TWO_BODY = (
    "\nClaims Administrator guideline: Decision based on MTUS Chronic Pain Medical Treatment\n"
    "2016.\n\n"
    "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s):\n"
    "Physical Medicine.\n\n"
    "Decision rationale: Eight visits fall within the recommended course for a new flare. The\n"
    "request is medically necessary.\n"
)


def _tolerant(text: str) -> dict | tuple[str, str]:
    with strict.tolerant_only():
        return _record(text)


#: Damaged letters the equality below is held on: a seeded, evenly spread sample of every
#: damage kind over every base text (a full sweep of 16,000 cases found none that differ).
DAMAGED_SAMPLE = 700


def test_fast_path_gives_the_tolerant_paths_record_on_damaged_letters() -> None:
    """Damage the strict pass must either read as the tolerant path does or leave to it: a
    repeated header line, a first line lost, marks glued after a guideline's full stop, a
    rationale merged into the next item's header. Each once gave a record the tolerant path
    flags or refuses, unflagged."""
    rng = random.Random(17)
    base = _base_texts()
    differ = []
    for n in range(DAMAGED_SAMPLE):
        name, text = base[rng.randrange(len(base))]
        kind = sorted(KINDS)[n % len(KINDS)]
        damaged = damage(kind, text, random.Random(f"{name}/{kind}/{n}")).text
        with strict.tolerant_only():
            tolerant = _record(damaged)
        if _record(damaged) != tolerant:
            differ.append(f"{name}/{kind}/{n}")
    assert not differ, f"the fast path differs from the tolerant path on {differ[:10]}"


def test_fast_path_reads_the_letters_as_printed() -> None:
    """Clean pdftotext output of the 2016 form takes the fast path (else it saves nothing)."""
    names = [name for name, _ in _base_texts() if "/text-layout/" in name or "letters/g" in name]
    texts = dict(_base_texts())
    taken = [n for n in names if _fast(texts[n])]
    notices = [n for n in names if "/gN" in n]
    # Every clean 2016 letter but one with a form feed inside a line; no 2013 notice (the
    # tolerant path reads those).
    assert len(taken) >= len(names) - len(notices) - 2, sorted(set(names) - set(taken))
    assert not set(taken) & set(notices)


def _fast(text: str) -> bool:
    return strict.strict_record(text, max_chars=400_000, backend="rules") is not None


def test_tolerant_only_turns_the_fast_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    text = str(Letter())
    calls: list[str] = []
    real = strict.strict_record

    def spy(*args, **kwargs):
        calls.append("fast")
        return real(*args, **kwargs)

    monkeypatch.setattr(strict, "strict_record", spy)
    with strict.tolerant_only():
        extract(text, backend="rules")
    assert calls == []
    record = extract(text, backend="rules")
    assert calls == ["fast"]
    assert record.metadata is not None and set(record.metadata.timings_ms) == {
        "normalise",
        "engine",
        "total",
    }


def test_fast_path_raises_what_normalise_raises() -> None:
    from imr_llm.errors import EmptyTextError, TextTooLargeError

    with pytest.raises(EmptyTextError):
        extract("   \n ", backend="rules")
    with pytest.raises(TextTooLargeError):
        extract(str(Letter()) + " " * 1000, backend="rules", max_chars=1000)
    with pytest.raises(TypeError):
        extract(b"bytes", backend="rules")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# The form and the quick relayout test
# --------------------------------------------------------------------------------------------


def _form_fields(form) -> dict:
    return {f.name: getattr(form, f.name) for f in dataclasses.fields(form) if f.name != "doc"}


def test_strict_form_is_read_forms_form() -> None:
    differ, found = [], 0
    for name, text in _texts():
        form = strict_form(text)
        if form is None:
            continue
        found += 1
        tolerant = read_form(normalise(text))
        same = _form_fields(form) == _form_fields(tolerant) and (
            list(form.doc.lines) == tolerant.doc.lines
            and form.doc.double_spaced == tolerant.doc.double_spaced
            and form.doc.furniture == tolerant.doc.furniture
        )
        if not same:
            differ.append(name)
    assert not differ, differ[:10]
    assert found >= 150


def _full_relayout(text: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """:func:`relayout` with none of its shortcuts: every pattern looked for everywhere."""
    with monkeypatch.context() as patch:
        patch.setattr(_relayout, "settled", lambda _text: False)
        patch.setattr(_relayout, "form_settled", lambda _text: False)
        patch.setattr(_relayout, "_matches", lambda pattern, text: list(pattern.finditer(text)))
        return _relayout.relayout(text)


def _notices() -> Iterator[tuple[str, str]]:
    """The 2013 notices in every rendering, re-flowed, and with their phrases moved: a numbered
    section run on after a sentence, a label after words on its line, a parenthesis near a
    number, a 2016 label split over two lines."""
    for name, text in _texts():
        if "Notice of Independent Medical Review" not in text and "INDEPENDENT MEDICAL" not in text:
            continue
        yield name, text
        yield f"{name}+joined", re.sub(r"\.\n+(\d\) )", r". \1", text, count=2)
        yield f"{name}+joined12", re.sub(r"\.\n+(\d\) )", r". 1\1", text, count=2)
        yield f"{name}+label", text.replace("\nCase Summary:", " Case Summary:", 1)
        yield f"{name}+parens", text.replace(" the ", " (2) 3)) the ", 3)
        yield f"{name}+2016", text.replace(" the ", " the MAXIMUS\nguideline: and ", 1)


def test_relayout_shortcuts_change_nothing_on_notices(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a letter with the notice's sign relayout skips the 2016 form's phrases where
    form_settled() says they move nothing, and tries its numbered patterns only at a ")":
    the text comes out as without either shortcut."""
    wrong, notices, moved = [], 0, 0
    for name, text in _notices():
        notices += 1
        full = _full_relayout(text, monkeypatch)
        moved += full != text
        if _relayout.relayout(text) != full:
            wrong.append(name)
    assert not wrong, wrong[:10]
    assert notices >= 40 and moved >= 10


def test_settled_only_where_relayout_moves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong, settled = [], 0
    for name, text in _texts():
        if _settled.settled(text):
            settled += 1
            if _full_relayout(text, monkeypatch) != text:
                wrong.append(name)
    assert not wrong, wrong[:10]
    assert settled >= 150


@pytest.mark.parametrize(
    "edit",
    [
        # a label after words on its line, a label split over two lines, a heading running on
        # into the text, a fax banner inside a line, the 2013 notice's sign
        lambda t: t.replace("\n\nDecision rationale:", " Decision rationale:", 1),
        lambda t: t.replace("MAXIMUS guideline:", "MAXIMUS\nguideline:", 1),
        lambda t: t.replace("CLINICAL CASE SUMMARY\n", "CLINICAL CASE SUMMARY The ", 1),
        lambda t: t.replace(
            "\nDecision rationale:",
            " 12/20/2016 10:14 FAX 9165551234 MAXIMUS p.003/007 more\nDecision rationale:",
            1,
        ),
        lambda t: "Notice of Independent Medical Review Determination\n" + t,
    ],
)
def test_settled_says_no_where_relayout_would_move(edit, monkeypatch: pytest.MonkeyPatch) -> None:
    text = str(Letter())
    assert _settled.settled(text) and _full_relayout(text, monkeypatch) == text
    changed = edit(text)
    assert _full_relayout(changed, monkeypatch) != changed or "Notice" in changed
    assert not _settled.settled(changed)


def test_relayout_still_refills_what_it_refilled() -> None:
    text = reflow(str(Letter()), 60)
    assert not _settled.settled(text)
    assert _relayout.relayout(text) != text


# --------------------------------------------------------------------------------------------
# Bounded readers and checks: each the function it stands for
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _passages() -> tuple[str, ...]:
    """Summaries, services and passages of the letters (tolerant reading), and seeded variants
    with marks, colons, labels and outcome words put in."""
    out: list[str] = []
    for _, text in _base_texts()[::3]:
        try:
            form = read_form(normalise(text))
        except ImrError:
            continue
        if form.summary is not None:
            out.append(form.summary.text)
        for item in form.items.items if form.items is not None else []:
            out.append(item.header_text)
            out.extend(p.text for p in item.passages.values() if p is not None)
    rng = random.Random(17)
    bits = [": ", "; ", ".) ", "Decision rationale: ", "MAXIMUS guideline; ", " old ", "o1d",
            "\u201d", "- ", " 48 year old ", "male", "injury on 3/4/05 ", "diagnoses of x, y. ",
            "  ", "\n", "e\t:", "\t", "medically necessary.", "Upheld", ")", " e:", "?", "'",
            "_"]  # fmt: skip
    variants = []
    for text in out[:400]:
        chars = list(text)
        for _ in range(4):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(bits))
        variants.append("".join(chars))
        variants.append(text[: rng.randrange(len(text) + 1)])
    return tuple(out + variants)


def test_bounded_summary_readers() -> None:
    """The summary readers that try their patterns only where a match can start answer as
    the patterns tried everywhere."""
    from imr_llm.form.reading import Reading, read_date
    from imr_llm.form.summary import (
        _AGED,
        _PLAIN_PHRASE,
        _SHORT_AGE,
        INJURY,
        _damaged_before,
        date_window,
        first_age,
        read_ages,
        read_injury_date,
    )
    from imr_llm.rules.summary import _DIAGNOSES, find_diagnoses

    def injury_by_pattern(text: str) -> Reading | None:  # INJURY tried at every character
        for m in INJURY.finditer(text):
            reading = read_date(date_window(text, m.end()))
            if reading is not None and reading.start <= 3:
                s = m.end() + reading.start
                exact = reading.exact and _PLAIN_PHRASE.fullmatch(m.group()) is not None
                return Reading(reading.value, exact, s, m.end() + reading.end)
        return None

    texts = (
        *_passages(),
        "an industrial \u0130njury on 3/4/05, a 48 year o\u0131d man",  # case-special letters
        "who sustained an in jnry on 3/4/05 at work",  # "injury" split by OCR
        "who reported an lnjury·that occurrecl on 3/4/05",  # look-alikes and marks
        "and was injurecl on 3/4/05, then injurcd again",
        # ages written the short way, and "age" that is no patient's
        "a 43 y/o male, beyond your 12yo",
        "a female, age 52, (Age: 9)",
        "patients over age 40",
        "a man aged 61 since 13 years old",
        "an ?? year old woman, aged 48",
    )

    def first_by_patterns(text: str) -> Reading | None:  # the age patterns tried everywhere
        found = read_ages(text)[:1]
        for pattern in (_SHORT_AGE, _AGED):
            found += [
                Reading(int(m.group("n")), True, m.start("n"), m.end("n"))
                for m in pattern.finditer(text)
                if 0 < int(m.group("n")) <= 120
            ][:1]
        first = min(found, key=lambda r: r.start, default=None)
        return None if first is None or _damaged_before(text, first.start) else first

    for text in texts:
        assert first_age(text) == first_by_patterns(text), text[:80]
        assert read_injury_date(text) == injury_by_pattern(text), text[:80]
        mine, theirs = find_diagnoses(text), _DIAGNOSES.search(text)
        assert (mine and mine.span("list")) == (theirs and theirs.span("list")), text[:80]


def test_bounded_checks() -> None:
    """The checks that read a text from its end, or search a pattern only where a match can
    be, answer as the patterns they stand for."""
    from imr_llm.evidence.common import _legible_by_words, legible
    from imr_llm.evidence.passages import LABEL_INSIDE, PASSAGE_END, label_inside, passage_ends
    from imr_llm.form.text import ENDS_SENTENCE, collapse_ws, ends_sentence
    from imr_llm.rules.selfcheck import _ENDS_WORD, ends_word

    for text in _passages():
        assert ends_sentence(text) == bool(ENDS_SENTENCE.search(text)), text[-40:]
        assert ends_word(text) == bool(_ENDS_WORD.search(text)), text[-40:]
        assert label_inside(text) == bool(LABEL_INSIDE.search(text)), text[:80]
        for end in ("", ".", ".)", ")", " .|~ ", "'", ",\u201d", "x_", ":\n"):
            ended = text + end
            assert passage_ends(ended) == bool(PASSAGE_END.search(ended.rstrip()))
        collapsed = collapse_ws(text)
        assert label_inside(collapsed) == bool(LABEL_INSIDE.search(collapsed))
        assert legible(text[:120]) == _legible_by_words(text[:120]), text[:120]


def _self_check_by_pattern(items: list[dict]) -> tuple[list[str], list[str]]:
    """The self-check as its patterns state it, each searched over the whole value."""
    from imr_llm.form.items import marker_inside
    from imr_llm.form.text import ENDS_SENTENCE, SENTENCE_JOIN
    from imr_llm.rules.selfcheck import _ENDS_WORD, _LABEL_IN_SERVICE

    errors: list[str] = []
    flags: list[str] = []
    for k, item in enumerate(items):
        service = item.get("service") or ""
        if _LABEL_IN_SERVICE.search(service):
            errors.append(f"items[{k}].service (a label was read inside the item's name)")
        elif marker_inside(service):
            errors.append(f"items[{k}].service (an outcome marker was read inside the item's name)")
        elif SENTENCE_JOIN.search(service):
            flags.append(f"items[{k}].service reads as several sentences")
        if not 3 <= len(service) <= 250:
            flags.append(f"items[{k}].service has an implausible length ({len(service)})")
        rationale = item.get("rationale") or ""
        if len(rationale) < 40:
            flags.append(f"items[{k}].rationale is implausibly short ({len(rationale)} chars)")
        if k == len(items) - 1 and rationale and not ENDS_SENTENCE.search(rationale):
            flags.append(f"items[{k}].rationale ends mid-sentence: the letter may be cut off")
        elif rationale and not _ENDS_WORD.search(rationale):
            flags.append(f"items[{k}].rationale ends mid-word")
    return errors, flags


def test_bounded_self_check() -> None:
    """The self-check, which searches a service for labels and markers only when it holds a
    colon or a semicolon and reads a rationale from its end, answers as its patterns do."""
    from imr_llm.rules.selfcheck import self_check

    texts = list(_passages())
    rng = random.Random(3)
    for _ in range(300):
        items = [
            {"service": rng.choice(texts)[:300], "rationale": rng.choice(texts)}
            for _ in range(rng.randint(1, 3))
        ]
        assert self_check(items) == _self_check_by_pattern(items)
    # Services with and without the colon every label and marker match holds.
    for service in ("MRI left knee: Overturned MRI left knee", "MRI left knee; Uphe1d again",
                    "MRI left knee Upheld", "X-ray Decision rationale: none", "X-ray Decision "
                    "rationale none", "Knee brace. Two sentences. Here", "a: b"):  # fmt: skip
        items = [{"service": service, "rationale": "Not medically necessary."}]
        assert self_check(items) == _self_check_by_pattern(items), service


def test_word_ends_are_the_patterns_classes() -> None:
    """``ends_word`` reads ``\\w`` as str.isalnum() or "_", and whitespace as str.isspace()."""
    for code in range(0x3000):
        ch = chr(code)
        assert bool(re.fullmatch(r"\w", ch)) == (ch.isalnum() or ch == "_"), hex(code)
        assert bool(re.fullmatch(r"\s", ch)) == ch.isspace(), hex(code)


def test_label_readers_are_the_tolerant_ones() -> None:
    from imr_llm.form.items import _find_label as tolerant_find_label
    from imr_llm.form.text import match_label

    labels = ("Claims Administrator guideline", "MAXIMUS guideline", "Decision rationale",
              "State(s) of Licensure", "Certification(s)/Specialty")  # fmt: skip
    lines: list[str] = []
    for _, text in _base_texts()[::2]:
        lines.extend(line for line in text.split("\n") if ":" in line or ";" in line)
    rng = random.Random(5)
    for line in lines[:3000]:
        variants = [line, "  " + line, line.replace(":", ";", 1), line.replace(" ", "", 1)]
        cut = rng.randrange(len(line) + 1)
        variants.append(line[:cut] + ":" + line[cut:])
        for variant in variants:
            assert _find_label(variant) == tolerant_find_label(variant), variant
            for label in labels:
                hit = match_label(variant, label)
                assert _match_label(variant, label) == (hit.value_start if hit else None)


def test_marker_words_pass_the_marker_prefilter() -> None:
    """Every line the tolerant marker patterns read an outcome in passes ``_may_mark``."""
    from imr_llm.form.items import _ALONE_OUTCOME, _TRAILING_OUTCOME, _strip_trailing_marks
    from imr_llm.form.strict import _may_mark, _trailing_marks
    from imr_llm.form.text import collapse_ws, parse_outcome

    rng = random.Random(11)
    words = ["Upheld", "Overturned", "upheld", "Uphe1d", "0verturned", "Overtumed", "held",
             "Uphold", "Upheid", "Overturn", "verturned", "Upheld.)", "Upheld!",
             "pheld"]  # fmt: skip
    lines = [line for _, text in _base_texts()[::2] for line in text.split("\n") if line.strip()]
    cases = []
    for line in lines[:4000]:
        cases.append(line)
        cases.append(line.rstrip() + rng.choice([": ", ", ", ". ", ":"]) + rng.choice(words)
                     + rng.choice(["", " :", " : Se", " a", " ~~", ".", " . ."]))  # fmt: skip
    cases += [f"{w}{j}" for w in words for j in ("", " : : Se", ".", " x")]
    read = 0
    for line in cases:
        m = _TRAILING_OUTCOME.search(line)
        alone = _ALONE_OUTCOME.match(line)
        if (m and parse_outcome(m.group(1))) or (alone and parse_outcome(alone.group(1))):
            read += 1
            assert _may_mark(line), line
        collapsed = collapse_ws(line)
        assert _trailing_marks(collapsed) == _strip_trailing_marks(collapsed), collapsed
    assert read > 1000


def _may_mark_reference(text: str) -> bool:
    """The marker prefilter as first written: every token split off, letters counted."""
    from imr_llm.form.strict import _JUNK

    tokens = text.split()
    k = len(tokens) - 1
    while k >= 0 and _JUNK.fullmatch(tokens[k]):
        k -= 1
    if k < 0:
        return False
    word = tokens[k].lower()
    if sum(c in word for c in "upheld") >= 4:
        return True
    counts = {c: "overturned".count(c) for c in "overturned"}
    return sum(min(word.count(c), n) for c, n in counts.items()) >= 7


def test_marker_prefilter_is_its_first_form() -> None:
    """``_may_mark``'s shortcuts (the last token alone, letter sets) answer as the plain
    count over every token does, on the letters' lines and on words made to be near-misses."""
    from imr_llm.form.strict import _may_mark

    rng = random.Random(17)
    lines = [line for _, text in _base_texts()[::3] for line in text.split("\n")]
    alphabet = "overturnedupheldOVERTUNPHLDxyz.:;!)'é İ0123"
    for line in lines[:6000]:
        assert _may_mark(line) == _may_mark_reference(line), line
    for _ in range(20000):
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        tail = rng.choice(["", " ab.", " .;", " x", " abcd", "  "])
        line = rng.choice(["", "text ", "A: "]) + word + tail
        assert _may_mark(line) == _may_mark_reference(line), line


def test_score_cutoff_keeps_every_threshold_test() -> None:
    """The fuzzy tests pass ``score_cutoff=threshold`` (rapidfuzz then stops early): a score
    at or above the cutoff comes back unchanged, and one below it fails the test either way.
    Held on the letters' lines against the form's headings and labels, and on near copies
    made to score at the thresholds."""
    from rapidfuzz import fuzz

    rng = random.Random(23)
    phrases = ["DETERMINATION", "CASE SUMMARY", "IMR ISSUES, DECISIONS AND RATIONALES",
               "decision rationale", "the independent medical review", "upheld"]  # fmt: skip
    lines = [line for _, text in _base_texts()[::4] for line in text.split("\n") if line.strip()]
    cases = [(p, line[: rng.randint(1, 80)]) for line in lines[:3000] for p in phrases[:3]]
    for phrase in phrases:
        for _ in range(500):
            copy = list(phrase)
            for _ in range(rng.randint(0, 5)):
                copy[rng.randrange(len(copy))] = rng.choice("abcdeilnorst :.")
            cases.append((phrase, "".join(copy)))
    for a, b in cases:
        for scorer in (fuzz.ratio, fuzz.partial_ratio):
            score = scorer(a, b)
            for t in (70, 75, 78, 80, 85, 88):
                assert (scorer(a, b, score_cutoff=t) >= t) == (score >= t), (a, b, t)


def test_furniture_words_are_found_where_str_find_finds_them() -> None:
    from imr_llm.form.strict import _find_word
    from imr_llm.inputs.normalise import FURNITURE_HINTS

    rng = random.Random(29)
    texts = [text.lower() for _, text in _base_texts()[::5]] + ["- ", "-", "a -- b - c-", ""]
    for lowered in texts:
        for word in FURNITURE_HINTS:
            for start in {0, len(lowered), *(rng.randrange(len(lowered) + 1) for _ in range(5))}:
                assert _find_word(lowered, word, start) == lowered.find(word, start)
