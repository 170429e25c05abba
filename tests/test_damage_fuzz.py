"""The damage kinds of ``imr_llm.eval.damage`` and the damage-fuzz benchmark (issue 14).

Each kind is checked on a hand-written letter for what it says it does (look-alikes never turn
a digit into another digit, marks add no letter or digit, a re-flow keeps every word in order,
a truncation is a prefix, furniture inserts page lines and nothing else...). The benchmark's
notion of a right value is checked on hand-made edits whose right answer is known by
construction (a banner inside a rationale is never part of it, a look-alike copied from the
text is). Then a seeded sample of the benchmark runs the rules engine: no untyped exception
ever, and, once the engine meets issue 14, no record wrong without a flag.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import random
import re
import sys
from collections import Counter
from typing import Any

import pytest
from rapidfuzz.distance import Levenshtein

from imr_llm.eval.damage import (
    DIGIT_LOOKALIKES,
    EXTRA_KINDS,
    KINDS,
    LOOKALIKES,
    ROLE_FURNITURE,
    ROLE_LOST,
    ROLE_TEXT,
    ROLES,
    STAMP_WORDS,
    TRUNCATIONS,
    UNSEEDED_KINDS,
    Edit,
    apply_edits,
    damage,
    reflow,
    whitespace_edits,
)
from tests.conftest import REPO

#: A letter written for these tests in the layout of a real one (no real letter's text).
LETTER = """\
Case Number:          CM16-0000001
Date Assigned:        11/09/2016                      Date of Injury:      10/13/2016
Decision Date:        12/09/2016                      UR Denial Date:      11/03/2016
Priority:             Standard                        Application          11/03/2016
                                                      Received:

                 HOW THE IMR FINAL DETERMINATION WAS MADE
MAXIMUS Federal Services sent the complete case file to an expert reviewer. He/she has no
affiliation with the employer, employee, providers or the claims administrator.

The Expert Reviewer has the following credentials:
State(s) of Licensure: California,Oregon
Certification(s)/Specialty: Family Practice

                                CLINICAL CASE SUMMARY
The expert reviewer developed the following clinical case summary based on a review of the
case file, including all medical records:

The injured worker is a 34 year old male who sustained an industrial injury on 10-13-16. He
was evaluated on 10-19-16 for knee pain after a fall at work.

                      IMR ISSUES, DECISIONS AND RATIONALES
The Final Determination was based on decisions for the disputed items/services set forth below:

MRI of the left knee without contrast: Upheld

Claims Administrator guideline: Decision based on MTUS Knee Complaints 2004.

MAXIMUS guideline: Decision based on MTUS Knee Complaints 2004, Section(s):
Special Studies.

Decision rationale: The guidelines support imaging of the knee when red flags are present or
when surgery is considered. None are documented in the records reviewed. The worker has not
tried physical therapy. Therefore the request is not medically necessary.
"""

#: The record of LETTER, written by hand from it.
LABEL: dict[str, Any] = {
    "case_number": "CM16-0000001",
    "date_assigned": "2016-11-09",
    "date_of_injury": "2016-10-13",
    "decision_date": "2016-12-09",
    "ur_denial_date": "2016-11-03",
    "application_received": "2016-11-03",
    "priority": "standard",
    "reviewer": {"licensure_states": ["California", "Oregon"], "specialties": ["Family Practice"]},
    "patient": {"age": 34, "sex": "male"},
    "items": [
        {
            "service": "MRI of the left knee without contrast",
            "original_request": None,
            "outcome": "upheld",
            "claims_administrator_guideline": "Decision based on MTUS Knee Complaints 2004.",
            "maximus_guideline": "Decision based on MTUS Knee Complaints 2004, Section(s): "
            "Special Studies.",
            "rationale": "The guidelines support imaging of the knee when red flags are present "
            "or when surgery is considered. None are documented in the records reviewed. The "
            "worker has not tried physical therapy. Therefore the request is not medically "
            "necessary.",
        }
    ],
}
SEEDS = range(60)


def _alnum(text: str) -> list[str]:
    return [ch for ch in text if ch.isalnum()]


def _each(kind: str, text: str = LETTER) -> list[Any]:
    return [damage(kind, text, random.Random(seed)) for seed in SEEDS]


# --------------------------------------------------------------------------------------------
# Every kind
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted([*KINDS, *EXTRA_KINDS]))
def test_each_kind_is_seeded_and_its_edits_rebuild_its_text(kind: str) -> None:
    for seed in range(20):
        first = damage(kind, LETTER, random.Random(seed))
        again = damage(kind, LETTER, random.Random(seed))
        assert first == again
        assert first.kind == kind
        assert first.text != LETTER
        assert apply_edits(LETTER, first.edits) == first.text
        ends = [e.end for e in first.edits]
        starts = [e.start for e in first.edits]
        assert all(a <= b for a, b in zip(ends, starts[1:], strict=False))  # sorted, apart
        assert all(e.role in ROLES for e in first.edits)


def test_unseeded_kinds_ignore_the_seed_and_seeded_ones_vary() -> None:
    for kind in KINDS:
        texts = {damage(kind, LETTER, random.Random(seed)).text for seed in range(12)}
        assert (len(texts) == 1) == (kind in UNSEEDED_KINDS), kind


def test_swapped_lines_are_two_adjacent_lines_in_each_others_place() -> None:
    lines = LETTER.split("\n")
    for seed in range(20):
        got = damage("swap_lines", LETTER, random.Random(seed)).text.split("\n")
        assert sorted(got) == sorted(lines)
        moved = [k for k, (a, b) in enumerate(zip(lines, got, strict=True)) if a != b]
        assert len(moved) == 2 and moved[1] == moved[0] + 1
        assert got[moved[0]] == lines[moved[1]] and got[moved[1]] == lines[moved[0]]
    assert "swap_lines" not in KINDS  # on request: not in the default grid


def test_a_watermark_is_one_stamp_word_put_between_words_of_a_few_lines() -> None:
    for seed in range(20):
        got = damage("watermark", LETTER, random.Random(seed))
        assert 1 <= len(got.edits) <= 3
        assert all(e.role == ROLE_FURNITURE and e.new == " " + got.note for e in got.edits)
        assert got.note in STAMP_WORDS
        # Each word stands between two of the line's words, and taking it out gives the letter.
        assert re.search(rf"\S {got.note} \S", got.text)
        assert got.text.replace(" " + got.note, "") == LETTER
    assert "watermark" not in KINDS  # on request: not in the default grid


@pytest.mark.parametrize("kind", ["drop_char", "split_word"])
def test_a_character_lost_or_a_gap_read_inside_a_few_words(kind: str) -> None:
    for seed in range(20):
        got = damage(kind, LETTER, random.Random(seed))
        assert 1 <= len(got.edits) <= 3
        for e in got.edits:
            assert e.role == ROLE_TEXT
            # Inside a word: a letter or a digit on each side of the place.
            assert LETTER[e.start - 1].isalnum() and LETTER[e.start].isalnum()
            if kind == "drop_char":
                assert (e.end - e.start, e.new) == (1, "")
            else:
                assert (e.start, e.new) == (e.end, " ")
        assert len(got.text) - len(LETTER) == len(got.edits) * (1 if kind == "split_word" else -1)
        assert kind not in KINDS  # on request: not in the default grid


def test_a_split_number_has_a_gap_between_two_of_its_digits() -> None:
    for seed in range(20):
        got = damage("split_number", LETTER, random.Random(seed))
        assert 1 <= len(got.edits) <= 3
        for e in got.edits:
            assert e.role == ROLE_TEXT and e.start == e.end and e.new in (" ", "  ")
            assert LETTER[e.start - 1].isdigit() and LETTER[e.start].isdigit()
        assert got.text.replace(" ", "") == LETTER.replace(" ", "")
        assert "split_number" not in KINDS  # on request: not in the default grid


LABEL_ENDS = ("Number", "Assigned", "Injury", "Date", "Priority", "Licensure", "Specialty",
              "guideline", "rationale")  # fmt: skip


def test_a_lost_colon_is_a_labels_and_nothing_else() -> None:
    for seed in range(20):
        got = damage("colon_lost", LETTER, random.Random(seed))
        assert 1 <= len(got.edits) <= 3
        for e in got.edits:
            assert e.role == ROLE_TEXT and LETTER[e.start : e.end] == ":" and e.new == ""
            line = LETTER[LETTER.rfind("\n", 0, e.start) + 1 : e.start]
            assert line.strip().endswith(LABEL_ENDS)
        assert "colon_lost" not in KINDS


@pytest.mark.parametrize(("kind", "like"), [("reread_line", "duplicate_line"),
                                           ("reread_page", "duplicate_page")])  # fmt: skip
def test_a_reread_copy_is_the_duplicate_with_look_alikes_in_it(kind: str, like: str) -> None:
    misread = 0
    for seed in range(20):
        got = damage(kind, LETTER, random.Random(seed))
        plain = damage(like, LETTER, random.Random(seed))
        [edit], [copy] = got.edits, plain.edits
        assert (edit.start, edit.end, edit.role) == (copy.start, copy.end, copy.role)
        # The same copy, but for look-alikes (one for a line, up to six for a page).
        changed = Levenshtein.distance(edit.new, copy.new)
        assert changed <= (2 if kind == "reread_line" else 12)
        misread += changed > 0
    assert misread >= 15  # a copy without a letter a look-alike stands for is rare
    assert kind not in KINDS


def _paged(text: str, pages: int = 3) -> str:
    """``text`` with form feeds at the line starts that cut it into ``pages`` pages."""
    lines = text.split("\n")
    size = -(-len(lines) // pages)
    return "\n".join(("\f" if k and k % size == 0 else "") + line for k, line in enumerate(lines))


def test_a_lost_page_is_one_whole_page_after_the_first() -> None:
    paged = _paged(LETTER)
    starts = [0] + [m.end() for m in re.finditer("\f", paged)]
    pages = list(zip(starts, [*starts[1:], len(paged)], strict=True))
    lost = set()
    for seed in range(20):
        got = damage("drop_page", paged, random.Random(seed))
        [edit] = got.edits
        assert edit.role == "cut" and edit.new == ""
        assert (edit.start, edit.end) in pages[1:]
        assert got.text == paged[: edit.start] + paged[edit.end :]
        lost.add(edit.start)
    assert len(lost) == 2  # either page after the first
    assert not damage("drop_page", "one page only\n", random.Random(0)).edits
    assert "drop_page" not in KINDS


def test_swapped_pages_are_two_neighbours_in_each_others_place() -> None:
    paged = _paged(LETTER)
    pages = paged.split("\f")
    for seed in range(20):
        got = damage("swap_pages", paged, random.Random(seed))
        [edit] = got.edits
        assert edit.role == "text"
        assert sorted(got.text.replace("\f", "\n").split("\n")) == sorted(
            paged.replace("\f", "\n").split("\n")
        )
        # The words of two pages next to each other exchanged, the others in their place.
        words = [p.split() for p in pages]
        swaps = [words[:k] + [words[k + 1], words[k]] + words[k + 2 :] for k in range(2)]
        assert got.text.split() in [sum(w, []) for w in swaps]
    assert "swap_pages" not in KINDS


def test_glued_lines_lose_the_break_and_nothing_else() -> None:
    for seed in range(20):
        got = damage("glue_lines", LETTER, random.Random(seed))
        [edit] = got.edits
        assert LETTER[edit.start] == "\n" and not LETTER[edit.start : edit.end].strip()
        assert got.text.split() != LETTER.split()  # two words run together
        assert "".join(got.text.split()) == "".join(LETTER.split())


def test_a_dropped_word_takes_its_space_and_nothing_else() -> None:
    for seed in range(20):
        got = damage("drop_word", LETTER, random.Random(seed))
        assert 1 <= len(got.edits) <= 3
        for e in got.edits:
            lost = LETTER[e.start : e.end]
            assert e.role == ROLE_LOST and lost[:1].isspace() and len(lost.split()) == 1
        assert len(got.text.split()) == len(LETTER.split()) - len(got.edits)


def test_a_cropped_page_cuts_its_lines_at_one_column() -> None:
    for seed in range(10):
        got = damage("crop_right", LETTER, random.Random(seed))
        column = int(got.note.split()[-1])
        assert got.edits and all(e.role == ROLE_LOST for e in got.edits)
        for e in got.edits:
            line_start = LETTER.rfind("\n", 0, e.start) + 1
            assert e.start - line_start == column
        assert max(len(line) for line in got.text.split("\f")[0].split("\n")) <= max(
            len(line.rstrip()) for line in LETTER.split("\n")
        )


def test_a_page_cropped_at_its_left_loses_its_lines_first_characters() -> None:
    for seed in range(10):
        got = damage("crop_left", LETTER, random.Random(seed))
        width = int(got.note.split()[0])
        assert got.edits
        for e in got.edits:
            line_start = LETTER.rfind("\n", 0, e.start) + 1
            assert e.start - line_start == (1 if LETTER[line_start] == "\f" else 0)
            assert e.end - e.start <= width and "\n" not in LETTER[e.start : e.end]
            assert e.role == (ROLE_LOST if LETTER[e.start : e.end].strip() else "text")


def test_a_repeated_word_is_a_whole_word_printed_again_after_itself() -> None:
    for seed in range(20):
        got = damage("repeat_word", LETTER, random.Random(seed))
        assert 1 <= len(got.edits) <= 3
        for e in got.edits:
            word = e.new[1:]
            assert e.start == e.end and e.new == " " + word and word.isalpha()
            assert LETTER[e.start - len(word) : e.start] == word
            assert not LETTER[e.start : e.start + 1].isalnum()
            assert not LETTER[e.start - len(word) - 1 : e.start - len(word)].isalnum()


def test_mojibake_misreads_every_character_beyond_ascii_and_nothing_else() -> None:
    text = LETTER.replace("Decision rationale:", "Decision rationale: The patient’s 5°", 1)
    for seed in range(5):
        got = damage("mojibake", text, random.Random(seed))
        assert "\u00e2\u20ac\u2122" in got.text and "\u00c2\u00b0" in got.text
        assert "\u2019" not in got.text
        assert 1 <= got.text.count("\u00c2\u00a0") <= 3
        assert got.text.encode("cp1252").decode("utf-8").replace("\u00a0", " ") == text


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown damage kind"):
        damage("smudge", LETTER, random.Random(0))


def test_local_damage_falls_on_every_part_of_the_letter() -> None:
    zones: Counter[str] = Counter()
    for kind in ("lookalike", "marks", "drop_line", "spaces"):
        for dmg in _each(kind):
            zones.update(e.zone for e in dmg.edits)
    for zone in ("header", "credentials", "summary", "item_header", "guideline", "rationale"):
        assert zones[zone] > 0, zone


# --------------------------------------------------------------------------------------------
# Kind by kind
# --------------------------------------------------------------------------------------------


def test_lookalike_tables_never_map_a_digit_to_a_digit() -> None:
    for source, targets in DIGIT_LOOKALIKES.items():
        assert source.isdigit()
        assert all(not any(ch.isdigit() for ch in t) for t in targets)


def test_lookalike_reads_a_few_characters_as_their_lookalikes_never_digit_for_digit() -> None:
    text = LETTER + "Dates 10/14/2016, 01/05/2017 and 8 of 15 visits, #180 tablets.\n"
    digits_read_as_letters = 0
    for seed in range(300):
        dmg = damage("lookalike", text, random.Random(seed))
        assert 1 <= len(dmg.edits) <= 3
        for edit in dmg.edits:
            old = text[edit.start : edit.end]
            assert edit.role == ROLE_TEXT
            assert edit.new in LOOKALIKES[old]
            if old.isdigit():
                assert not any(ch.isdigit() for ch in edit.new)
                digits_read_as_letters += 1
    assert digits_read_as_letters > 0  # dates do get "1O/14/2016"


def test_marks_add_marks_and_never_a_letter_or_digit() -> None:
    age_marked = header_ruled = 0
    for dmg in _each("marks"):
        assert _alnum(dmg.text) == _alnum(LETTER)
        assert dmg.text.split() != LETTER.split()
        age_marked += "34 year old" not in dmg.text and bool(
            re.search(r"34\S+year\S*old", dmg.text)
        )
        header_ruled += any("|" in e.new and e.zone == "header" for e in dmg.edits)
    assert age_marked > 0  # "34'year‘old"
    assert header_ruled > 0  # "Date | |of Injury:", "UR Denial Date: || 11/03/2016"


def test_drop_line_removes_one_line() -> None:
    lines = LETTER.split("\n")
    for dmg in _each("drop_line"):
        (edit,) = dmg.edits
        assert edit.role == ROLE_LOST
        dropped = LETTER[edit.start : edit.end]
        assert dropped.endswith("\n") and dropped.strip() and dropped.count("\n") == 1
        k = lines.index(dropped[:-1])
        assert dmg.text.split("\n") == lines[:k] + lines[k + 1 :]


def test_duplicate_line_prints_one_line_twice() -> None:
    for dmg in _each("duplicate_line"):
        (edit,) = dmg.edits
        line = edit.new.rstrip("\n")
        assert line.strip() and line in LETTER.split("\n")
        assert f"{line}\n{line}\n" in dmg.text
        assert dmg.text.replace(f"{line}\n{line}\n", f"{line}\n", 1) == LETTER


def test_duplicate_page_prints_a_page_or_the_whole_letter_again() -> None:
    pages = [p for p in LETTER.split("\f") if p.strip()]
    notes = set()
    for dmg in _each("duplicate_page"):
        (edit,) = dmg.edits
        assert edit.start == edit.end and edit.role == "extra"
        notes.add(dmg.note)
        if dmg.note == "letter":
            assert dmg.text == LETTER + "\n" + LETTER
        else:
            copy = edit.new.rstrip("\n\f")
            assert any(copy == p.rstrip("\n\f") for p in pages) or copy in LETTER
            assert dmg.text[: edit.start] + dmg.text[edit.start + len(edit.new) :] == LETTER
    assert notes == {"page", "letter"}


def test_invisible_puts_characters_that_print_nothing_inside_words() -> None:
    from imr_llm.eval.damage import INVISIBLE

    for dmg in _each("invisible"):
        assert dmg.edits and all(e.role == "furniture" and e.new in INVISIBLE for e in dmg.edits)
        assert "".join(ch for ch in dmg.text if ch not in INVISIBLE) == LETTER
        for e in dmg.edits:
            assert LETTER[e.start - 1 : e.start + 1].isalpha()  # between two letters


def test_email_quote_quotes_every_line() -> None:
    for dmg in _each("email_quote"):
        lines = [line.lstrip("\f") for line in dmg.text.removesuffix("\n").split("\n")]
        assert all(line.startswith(">") for line in lines), [ln for ln in lines if ln[:1] != ">"]
        assert all(e.role == "furniture" for e in dmg.edits)
        assert dmg.text.replace(">", " ").split() == LETTER.split()


def test_quoted_printable_writes_the_letter_as_quopri_does() -> None:
    import quopri

    letter = LETTER.replace("knee", "kn\u00e9e").replace("Final", "Final =", 1) + "\f"
    (dmg,) = {damage("quoted_printable", letter, random.Random(seed)) for seed in range(3)}
    assert dmg.text == quopri.encodestring(letter.encode("utf-8")).decode("ascii")
    assert quopri.decodestring(dmg.text.encode()).decode("utf-8") == letter
    assert {e.role for e in dmg.edits} == {"furniture", "encoded"}


def test_merge_lines_joins_two_lines_and_keeps_every_word() -> None:
    for dmg in _each("merge_lines"):
        assert dmg.text.split() == LETTER.split()
        assert dmg.text.count("\n") == LETTER.count("\n") - 1


def test_truncate_cuts_the_letter_short_in_each_way() -> None:
    modes: Counter[str] = Counter()
    for dmg in _each("truncate"):
        assert len(dmg.text) < len(LETTER) and LETTER.startswith(dmg.text)
        modes[dmg.note] += 1
        if dmg.note == "full_stop":
            assert dmg.text.endswith(".")
            assert dmg.text.rfind("Decision rationale") > dmg.text.rfind("MAXIMUS guideline")
        elif dmg.note == "after_header":
            assert dmg.text.endswith("without contrast: Upheld\n")
    assert set(modes) == set(TRUNCATIONS)


@pytest.mark.parametrize("width", [60, 100])
def test_reflow_keeps_every_word_in_order_within_the_width(width: int) -> None:
    dmg = damage(f"reflow{width}", LETTER, random.Random(0))
    assert dmg.text == reflow(LETTER, width)
    assert dmg.text.split() == LETTER.split()
    paragraphs = [p.split("\n") for p in dmg.text.rstrip("\n").split("\n\n")]
    originals = [p.split() for p in re.split(r"\n[ \t\f]*\n", LETTER) if p.strip()]
    assert [" ".join(p).split() for p in paragraphs] == originals  # paragraphs kept apart
    for lines in paragraphs:
        for line, following in zip(lines, lines[1:], strict=False):
            assert len(line) <= width or " " not in line
            assert len(line) + 1 + len(following.split()[0]) > width  # filled greedily


def test_furniture_inserts_page_lines_at_line_starts_and_nothing_else() -> None:
    seen = Counter()
    for dmg in _each("furniture"):
        assert all(e.role == ROLE_FURNITURE and e.start == e.end for e in dmg.edits)
        assert all(e.start > 0 and LETTER[e.start - 1] == "\n" for e in dmg.edits)
        inserted = "".join(e.new for e in dmg.edits)
        assert re.search(r"FAX|Page \d|CM16-0000001", inserted)
        seen["banner"] += "FAX" in inserted
        seen["page"] += bool(re.search(r"Page \d", inserted))
        seen["top"] += "CM16-0000001" in inserted
        seen["feed"] += "\f" in inserted
    assert all(seen[k] > 0 for k in ("banner", "page", "top", "feed")), seen


def test_no_blank_lines_removes_blank_lines_only() -> None:
    dmg = damage("no_blank_lines", LETTER, random.Random(0))
    assert all(line.strip() for line in dmg.text.rstrip("\n").split("\n"))
    assert dmg.text.split("\n") == [line for line in LETTER.split("\n")[:-1] if line.strip()] + [""]


def test_spaces_doubles_or_loses_single_spaces_between_words() -> None:
    kinds = Counter()
    for dmg in _each("spaces"):
        assert _alnum(dmg.text) == _alnum(LETTER)
        for edit in dmg.edits:
            assert LETTER[edit.start : edit.end] == " " and edit.new in ("", "  ")
            kinds[edit.new] += 1
    assert kinds[""] > 0 and kinds["  "] > 0


def test_whitespace_edits_refuse_texts_with_other_words() -> None:
    assert apply_edits("a  b\nc", whitespace_edits("a  b\nc", "a b c")) == "a b c"
    with pytest.raises(ValueError):
        whitespace_edits("a b", "a c")


# --------------------------------------------------------------------------------------------
# What the benchmark counts as right
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "damage_fuzz_bench", REPO / "benchmarks" / "damage_fuzz.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def spans(bench: Any) -> dict[str, Any]:
    return bench.passage_spans(LETTER, LABEL)


def _record(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(LABEL)
    for path, value in changes.items():
        if path.startswith("items."):
            record["items"][0][path.split(".")[1]] = value
        elif "." in path:
            head, tail = path.split(".")
            record[head][tail] = value
        else:
            record[path] = value
    return record


def _at(text: str, needle: str) -> int:
    at = text.index(needle)
    assert text.index(needle) == text.rindex(needle)
    return at


def test_the_passages_are_placed_where_the_letter_has_them(
    bench: Any, spans: dict[str, Any]
) -> None:
    for name in ("service", "claims_administrator_guideline", "maximus_guideline", "rationale"):
        span = spans[f"items[0].{name}"]
        copied = bench._faithful(LETTER, span, (), name, extend=False)
        assert copied == LABEL["items"][0][name]


def test_an_untouched_record_is_right_and_each_wrong_value_is_named(
    bench: Any, spans: dict[str, Any]
) -> None:
    assert bench.compare(LABEL, LABEL, LETTER, spans, ()) == []
    wrong = bench.compare(
        _record(**{"patient.age": None, "ur_denial_date": "2016-11-04"}), LABEL, LETTER, spans, ()
    )
    assert sorted(w.field for w in wrong) == ["patient.age", "ur_denial_date"]
    extra = copy.deepcopy(LABEL)
    extra["items"].append(dict(LABEL["items"][0], service="Physical therapy"))
    assert [w.field for w in bench.compare(extra, LABEL, LETTER, spans, ())] == ["items.count"]
    swapped = _record(**{"reviewer.licensure_states": ["Oregon", "California"]})
    assert bench.compare(swapped, LABEL, LETTER, spans, ()) == []
    repaired = _record(**{"reviewer.specialties": ["family practice"]})
    assert bench.compare(repaired, LABEL, LETTER, spans, ()) == []  # as the harness compares


def test_a_lookalike_copied_from_the_text_is_right_and_so_is_the_label(
    bench: Any, spans: dict[str, Any]
) -> None:
    at = _at(LETTER, "None are documented") + 1
    edits = (Edit(at, at + 1, "0", ROLE_TEXT),)
    damaged = LABEL["items"][0]["rationale"].replace("None are", "N0ne are")
    for value in (damaged, LABEL["items"][0]["rationale"]):
        record = _record(**{"items.rationale": value})
        assert bench.compare(record, LABEL, LETTER, spans, edits) == []
    other = LABEL["items"][0]["rationale"].replace("None are", "Nome are")
    assert bench.compare(_record(**{"items.rationale": other}), LABEL, LETTER, spans, edits)


def test_page_furniture_inside_a_value_is_wrong(bench: Any, spans: dict[str, Any]) -> None:
    banner = "12/20/2016 10:14 FAX 9165551234 MAXIMUS p.003/007"
    at = _at(LETTER, "when surgery is considered")
    edits = (Edit(at, at, banner + "\n", ROLE_FURNITURE),)
    rationale = LABEL["items"][0]["rationale"]
    with_banner = rationale.replace("or when", f"or {banner} when")
    wrong = bench.compare(_record(**{"items.rationale": with_banner}), LABEL, LETTER, spans, edits)
    assert [w.path for w in wrong] == ["items[0].rationale"]
    assert bench.compare(_record(), LABEL, LETTER, spans, edits) == []


def _generated(bench: Any, number: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Generated letter ``number``'s text, label and passage spans."""
    from tests.test_generated_letters import generated_letter

    text, label = generated_letter(number)
    return text, label, bench.passage_spans(text, label)


def test_furniture_in_the_base_text_inside_a_passage_is_no_part_of_its_faithful_copy(
    bench: Any,
) -> None:
    # A generated letter whose third rationale a page broke, the running head (the header's
    # first line) printed there: the oracle's copy keeps those words, the faithful copy not.
    text, label, places = _generated(bench, 367)
    span = places["items[2].rationale"]
    inside = text[span.start : span.end]
    assert "CM18-0101234" in inside
    head = inside.index("Case Number") + span.start
    assert any(a <= head < b for a, b in span.skip)
    assert bench.compare(label, label, text, places, ()) == []


@pytest.mark.parametrize(
    ("number", "path"),
    [
        (125, "items[0].rationale"),  # "... is medically necessary. 12/20/2016 10:14 FAX ..."
        (235, "items[1].service"),  # "12/20/2016 10:14 FAX ... p.003/007 times 6"
        (267, "items[1].maximus_guideline"),  # "MTUS 12/20/2016 10:14\nFAX ... ACOEM ..."
        (374, "items[0].rationale"),  # "Objective Page 4 of 5 functional improvement"
    ],
)
def test_furniture_sharing_a_line_with_a_passage_leaves_the_lines_words_in_its_copy(
    bench: Any, number: int, path: str
) -> None:
    # A fax banner or page counter inside a line of a passage: only its own words are
    # furniture. The whole line was taken for it ("is necessary." the copy of "is medically
    # necessary. <banner>"), so a right record was counted wrong at many seeds.
    text, label, places = _generated(bench, number)
    k, name = int(path[6 : path.index("]")]), path.rsplit(".", 1)[1]
    copied = bench._faithful(text, places[path], (), name, extend=False)
    assert copied == label["items"][k][name]


def test_a_fax_banner_a_page_break_put_inside_a_passage_leaves_its_end_in_the_copy(
    bench: Any,
) -> None:
    # Generated g129: "... is not medically" / <page break, fax banner line> / "necessary.".
    # The test server's seen copy (and so the faithful copy) stopped at "medically": its own
    # furniture test knew no fax machine's banner. A right record was counted wrong at fuzz
    # seeds 61 and 81.
    text, label, places = _generated(bench, 129)
    assert "FAX 9165551234" in text[places["items[0].rationale"].start :]
    copied = bench._faithful(text, places["items[0].rationale"], (), "rationale", extend=False)
    assert copied == label["items"][0]["rationale"]


def test_a_lookalike_inside_furniture_a_passage_skips_leaves_its_copy_as_it_was(
    bench: Any,
) -> None:
    # "Case Numbcr: CM18-0101234", a running head inside a passage read with a look-alike:
    # no word of the value changed, but the copy was given up (only the label right), so a
    # record keeping the passage's own look-alike elsewhere counted as wrong (generated g74
    # at fuzz seed 7).
    text, label, places = _generated(bench, 367)
    span = places["items[2].rationale"]
    at = text.index("Case Number", span.start) + len("Case Numb")
    assert text[at] == "e" and at < span.end
    edits = (Edit(at, at + 1, "c", ROLE_TEXT),)
    copied = bench._faithful(text, span, edits, "rationale", extend=False)
    assert copied == label["items"][2]["rationale"]


def test_a_line_lost_inside_a_service_leaves_only_the_label_right(
    bench: Any, spans: dict[str, Any]
) -> None:
    # The service wrapped over two lines, and the scan lost the first.
    letter = LETTER.replace(
        "MRI of the left knee without contrast: Upheld",
        "MRI of the left\nknee without contrast: Upheld",
    )
    places = bench.passage_spans(letter, LABEL)
    at = _at(letter, "MRI of the left\n")
    edits = (Edit(at, at + len("MRI of the left\n"), "", ROLE_LOST),)
    short = _record(**{"items.service": "knee without contrast"})
    assert [w.path for w in bench.compare(short, LABEL, letter, places, edits)] == [
        "items[0].service"
    ]
    # In a rationale the same loss is the text given.
    at = _at(LETTER, "tried physical therapy. ")
    line_start = LETTER.rindex("\n", 0, at) + 1
    line_end = LETTER.index("\n", at) + 1
    edits = (Edit(line_start, line_end, "", ROLE_LOST),)
    kept = " ".join(
        (LETTER[spans["items[0].rationale"].start : line_start] + LETTER[line_end:]).split()
    )
    assert bench.compare(_record(**{"items.rationale": kept}), LABEL, LETTER, spans, edits) == []


def test_a_stray_mark_at_a_values_edge_is_wrong(bench: Any, spans: dict[str, Any]) -> None:
    at = _at(LETTER, " Decision based on MTUS Knee Complaints 2004.\n")
    edits = (Edit(at, at, " ~", ROLE_TEXT),)
    guideline = LABEL["items"][0]["claims_administrator_guideline"]
    marked = _record(**{"items.claims_administrator_guideline": f"~ {guideline}"})
    assert [w.path for w in bench.compare(marked, LABEL, LETTER, spans, edits)] == [
        "items[0].claims_administrator_guideline"
    ]
    assert bench.compare(_record(), LABEL, LETTER, spans, edits) == []


def test_a_cut_passage_is_never_right(bench: Any, spans: dict[str, Any]) -> None:
    at = _at(LETTER, " The worker has not")
    edits = (Edit(at, len(LETTER), "", "cut"),)
    cut = " ".join(LETTER[spans["items[0].rationale"].start : at].split())
    assert bench.compare(_record(**{"items.rationale": cut}), LABEL, LETTER, spans, edits)


def test_a_case_id_reproduces_its_damage(bench: Any) -> None:
    letters = bench.load_letters(["gA01"])
    spec = bench.parse_case_id("gold/gA01/layout/marks/3", letters)
    assert spec.id == "gold/gA01/layout/marks/3"
    text = bench.Bases().text(spec.letter, spec.base)
    assert bench.make_damage(spec, text) == bench.make_damage(spec, text)
    assert bench.make_damage(spec, text).text != text


def test_a_case_shown_with_the_model_path_is_read_by_it(
    bench: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --case ignored --engine: a model-path case was shown as the rules engine read it.
    from contextlib import contextmanager

    read: list[str] = []

    @contextmanager
    def reader(specs: Any, store: Any) -> Any:
        def model(text: str) -> Any:
            read.append(text)
            return bench.rules_read(text)

        yield model

    monkeypatch.setattr(bench, "model_reader", reader)
    shown = bench.show_case("gold/gA01/layout/marks/3", engine="llm")
    assert read and "model path" in shown.splitlines()[0]
    read.clear()
    assert "model path" not in bench.show_case("gold/gA01/layout/marks/3").splitlines()[0]
    assert not read


# --------------------------------------------------------------------------------------------
# The seeded sample
# --------------------------------------------------------------------------------------------

#: The CI sample: gold letters, plus ../shared's when present (a few seconds of CPU).
SAMPLE_CASES = 600


@pytest.fixture(scope="module")
def sample(bench: Any) -> dict[str, Any]:
    return bench.run_benchmark(cases=SAMPLE_CASES, first_seed=14, control=False)


def test_the_sample_covers_every_kind_and_base(sample: dict[str, Any]) -> None:
    assert sample["cases"] == SAMPLE_CASES
    assert all(sample["by_kind"][kind]["cases"] > 0 for kind in KINDS)
    assert all(t["cases"] > 0 for t in sample["by_base"].values())


def test_the_sample_raises_no_untyped_exception(sample: dict[str, Any]) -> None:
    assert sample["untyped"] == []


#: A letter cut at a full stop ending a rationale's conclusion ("... is not medically
#: necessary.") reads, word for word, like a complete letter with fewer items or a shorter
#: last rationale: nothing left in the text shows the cut (letters of this form print nothing
#: after their last rationale). Every other case, the other truncations included, must be
#: right, flagged or a typed error; these are held to the count this seed gives.
BLIND_SPOT_CASES = 4


def test_the_sample_has_no_record_wrong_without_a_flag(sample: dict[str, Any]) -> None:
    wrong = sample["wrong_unflagged"]
    blind = [c for c in wrong if c["kind"] == "truncate" and c["note"] == "full_stop"]
    assert [c["id"] for c in wrong if c not in blind] == []
    assert len(blind) <= BLIND_SPOT_CASES, [c["id"] for c in blind]


#: The model path's sample: perfect answers from the local test server (the gold oracle, no
#: model) on damaged letters, generated letters among them, scored as the rules engine's are.
#: At this seed the session-start code (c46d313) let one through (a line lost from a generated
#: letter's item header).
MODEL_SAMPLE_CASES = 400


def test_the_model_path_sample_has_no_record_wrong_without_a_flag(bench: Any) -> None:
    # The model-path probe of this benchmark found ten classes of silent wrong record on
    # damaged letters the rules engine's own sample never reached (a service cut at a lost
    # marker line kept as "repaired", guidelines that lost a line): what its checks let
    # through when the answers are right and the letter is damaged.
    report = bench.run_benchmark(
        cases=MODEL_SAMPLE_CASES, first_seed=31, control=False, engine="llm", generated=200
    )
    assert report["engine"] == "llm" and report["cases"] == MODEL_SAMPLE_CASES
    assert report["untyped"] == []
    wrong = report["wrong_unflagged"]
    blind = [c for c in wrong if c["kind"] == "truncate" and c["note"] == "full_stop"]
    assert [c["id"] for c in wrong if c not in blind] == []
    assert len(blind) <= BLIND_SPOT_CASES, [c["id"] for c in blind]


def test_an_unknown_engine_is_refused(bench: Any) -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        bench.run_benchmark(cases=1, engine="regex")


def test_the_diagnosis_names_what_went_wrong(bench: Any) -> None:
    banner = "12/20/2016 10:14 FAX 9165551234 MAXIMUS p.003/007"
    rationale = LABEL["items"][0]["rationale"]
    furniture = bench.CaseResult(
        "gold/x/layout/furniture/0", "furniture", "layout", "gold", "wrong_unflagged",
        wrong=[bench.Wrong("items.rationale", "items[0].rationale", f"{rationale} {banner}",
                           rationale)],
    )  # fmt: skip
    assert bench.diagnose(furniture) == "furniture: page furniture kept inside rationale values"
    age = bench.CaseResult(
        "gold/x/layout/marks/0", "marks", "layout", "gold", "wrong_unflagged",
        wrong=[bench.Wrong("patient.age", "patient.age", None, 34)],
    )  # fmt: skip
    assert bench.diagnose(age) == "marks: age / sex / injury date null, no flag"
    assert bench.diagnose(age, ["patient.age"]).startswith("control:")


def test_a_run_leaves_the_callers_logging_as_it_was(bench: Any) -> None:
    logger = logging.getLogger("imr_llm")
    before = logger.level
    bench.run_benchmark(cases=2, kinds=["spaces"], bases=["layout"], control=False)
    assert logger.level == before


def test_an_ocr_fragment_stands_where_an_edit_fell_a_word_away_outside_a_label(
    bench: Any,
) -> None:
    # "The original rcquest, A cute inpatient ...": OCR split "Acute", the oracle's copy of
    # the service starts at "cute", and a look-alike fell in the word before. That edit is
    # not the fragment "A" nor beside it, nor in a label: "A" is the base's own (corpus-more
    # CM16-0229336's OCR rendering at fuzz seed 11 counted a right record as wrong).
    text = "leaving it IMR eligible. The original request, A cute inpatient rehabilitation: Upheld"
    start = text.index("cute")
    end = text.index(": Upheld")
    span = bench.Span(start, end, (), (), end)
    value = "A cute inpatient rehabilitation"
    fragments = bench.with_ocr_fragments
    word_before = text.index("request") + 2
    assert fragments(
        value, text, span, (Edit(word_before, word_before + 1, "c", ROLE_TEXT),), "service"
    )
    # ... but not where the edit is the fragment, or the space beside it
    fragment = start - 2
    assert not fragments(
        value, text, span, (Edit(fragment, fragment + 1, "4", ROLE_TEXT),), "service"
    )
    assert not fragments(
        value, text, span, (Edit(start - 1, start - 1, "~", ROLE_TEXT),), "service"
    )


def test_an_ocr_fragment_at_one_edge_stands_where_an_edit_fell_near_the_other(
    bench: Any,
) -> None:
    # An OCR'd base splits the rationale's first word ("T he"): the engine copies "T" with it,
    # the oracle's alignment starts at "he". A damage edit near the rationale's end says
    # nothing of that fragment; one near its start does.
    letter = LETTER.replace(
        "Decision rationale: The guidelines", "Decision rationale: T he guidelines"
    )
    places = bench.passage_spans(letter, LABEL)
    span = places["items[0].rationale"]
    core = bench._faithful(letter, span, (), "rationale", extend=False)
    value = "T he " + core if core.startswith("guidelines") else "T " + core
    end = span.end
    near_end = (Edit(end, end, " x", ROLE_TEXT),)  # inserted right after it
    near_start = (Edit(span.start - 12, span.start - 11, "x", ROLE_TEXT),)
    fragments = bench.with_ocr_fragments
    assert fragments(value, letter, span, (), "rationale")
    assert fragments(value, letter, span, near_end, "rationale") == core.startswith("he")
    assert not fragments(value, letter, span, near_start, "rationale")
