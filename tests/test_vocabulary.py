"""The reviewer's specialties and licensure states, read through closed vocabularies.

Issue 14, class 4: damaged specialties were returned unflagged as written ("Pain Nespas",
"Family. Practice", "Occupational: Medicine", "Orthopeclic Surgery", "InternalMedicine"),
three specialties came back as one damaged string marked exact, and a licensure state was
dropped without a word ("lowa Montana, Califomia" gave Montana and California). Every example
below is made up in the shape real letters print; expected values are written by hand, or come
from the labels of the real and gold letters.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import tomllib
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

import imr_llm.form
from imr_llm import extract
from imr_llm.evidence.check import check_values
from imr_llm.evidence.common import Checked
from imr_llm.evidence.reviewer import SPELLING_THRESHOLD
from imr_llm.form import read_form
from imr_llm.form.text import US_STATES, canonical_state, collapse_ws, name_key
from imr_llm.form.vocabulary import (
    SPECIALTIES,
    SPECIALTIES_FILE,
    SPECIALTIES_SOURCE,
    NameList,
    cut_specialty,
    load_vocabulary,
    read_specialties,
    read_specialty,
    read_states,
)
from imr_llm.inputs.normalise import normalise
from tests.conftest import GOLD, REPO, SHARED
from tests.letters import Letter


def specialties(text: str) -> tuple[list[tuple[str, bool]], list[str]]:
    names = read_specialties(text)
    return [(r.value, r.exact) for r in names.readings], [u.text for u in names.unread]


def states(text: str) -> tuple[list[tuple[str, bool]], list[str]]:
    names = read_states(text)
    return [(r.value, r.exact) for r in names.readings], [u.text for u in names.unread]


# --------------------------------------------------------------------------------------------
# The data: ABMS specialties with their source, the names letters print
# --------------------------------------------------------------------------------------------

DATA = Path(imr_llm.form.__file__).parent / SPECIALTIES_FILE


def test_the_specialty_list_records_its_source() -> None:
    assert SPECIALTIES_SOURCE["source-url"].startswith("https://www.abms.org/")
    assert "American Board of Medical Specialties" in SPECIALTIES_SOURCE["source"]
    assert re.match(r"\d{4}-\d{2}-\d{2}\b", SPECIALTIES_SOURCE["consulted"])


def test_the_specialty_list_has_no_duplicates() -> None:
    lines = [line.strip() for line in DATA.read_text(encoding="utf-8").splitlines()]
    names = [line for line in lines if line and not line.startswith(("#", "["))]
    assert len(names) == len(set(names))
    # Nor two names that read alike ("&" for "and", case, spaces, OCR look-alikes).
    keys = [name_key(name) for name in names]
    assert len(keys) == len(set(keys))
    assert SPECIALTIES.names == tuple(names)
    # Every ABMS member board has its section.
    boards = [line for line in lines if line.startswith("[American Board of")]
    assert len(boards) == 24


def test_the_specialty_list_ships_inside_the_package() -> None:
    # Hatch puts every file of the package folder into the wheel; nothing excludes this one.
    wheel = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"][
        "build"
    ]["targets"]["wheel"]
    assert wheel["packages"] == ["imr_llm"]
    assert "exclude" not in wheel
    assert DATA.is_file() and DATA.parent.parent.name == "imr_llm"


@pytest.mark.parametrize(
    "name",
    [
        # ABMS specialties and subspecialties, as the boards write them
        "Occupational Medicine",
        "Public Health and General Preventive Medicine",
        "Physical Medicine and Rehabilitation",
        "Surgery of the Hand",
        "Hospice and Palliative Medicine",
        "Urogynecology and Reconstructive Pelvic Surgery",
        "Endocrinology, Diabetes and Metabolism",
        # what IMR letters print besides
        "Family Practice",
        "Orthopaedic Surgery",
        "Orthopedic Surgery",
        "Chiropractor",
        "Acupuncture",
        "Physical Therapy",
        "Psychology",
        "Podiatry",
        "Pain Management",
        "Physical Medicine & Rehabilitation",
        "Public Health & General Preventive Medicine",
    ],
)
def test_known_specialties(name: str) -> None:
    assert name in SPECIALTIES
    assert specialties(name) == ([(name, True)], [])


def test_names_close_enough_to_stand_for_each_other_are_spellings_of_one() -> None:
    # A model's specialty stands for the letter's when their keys are this close; only two
    # spellings of one name may be.
    close = {
        (a, b)
        for a, b in itertools.combinations(SPECIALTIES.names, 2)
        if fuzz.ratio(name_key(a), name_key(b)) >= SPELLING_THRESHOLD
    }
    assert close == {
        ("Orthopaedic Surgery", "Orthopedic Surgery"),
        ("Orthopaedic Sports Medicine", "Orthopedic Sports Medicine"),
        ("Orthopedics", "Orthopaedics"),
        ("Orthopedic Spine Surgery", "Orthopaedic Spine Surgery"),
    }


def test_a_vocabulary_refuses_two_names_that_read_alike() -> None:
    with pytest.raises(ValueError, match="repeats"):
        load_vocabulary("Allergy & Immunology\nAllergy and Immunology\n")
    with pytest.raises(ValueError, match="repeats"):
        load_vocabulary("Clinical Pathology\nCIinical Patho1ogy\n")


def test_every_state_reads_as_itself() -> None:
    for state in US_STATES:
        assert states(state) == ([(state, True)], [])
        assert canonical_state(state.upper()) == state


# --------------------------------------------------------------------------------------------
# Specialties: the damage real letters show, each read or left unread, never guessed
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "read", "unread"),
    [
        # "&" and "and" are both as written
        ("Physical Medicine & Rehabilitation", [("Physical Medicine & Rehabilitation", True)], []),
        ("Physical Medicine and Rehabilitation",
         [("Physical Medicine and Rehabilitation", True)], []),
        # commas lost, or read as a colon, a semicolon or a full stop
        ("Preventive Medicine Occupational Medicine",
         [("Preventive Medicine", True), ("Occupational Medicine", True)], []),
        ("Preventive Medicine: Occupational Medicine; Medical Toxicology. Family Practice",
         [("Preventive Medicine", True), ("Occupational Medicine", True),
          ("Medical Toxicology", True), ("Family Practice", True)], []),
        # marks inside a name
        ("Family. Practice", [("Family Practice", False)], []),
        ("Occupational: Medicine", [("Occupational Medicine", False)], []),
        ("Orthopedic Surgery, Sports, Medicine",
         [("Orthopedic Surgery", True), ("Sports Medicine", False)], []),
        ("Public Health & * General Preventive Medicine",
         [("Public Health & General Preventive Medicine", False)], []),
        # spaces lost or added
        ("InternalMedicine", [("Internal Medicine", False)], []),
        ("Inter nal Medicine, Rheuma tology",
         [("Internal Medicine", False), ("Rheumatology", False)], []),
        # a name wrapped over two lines
        ("Preventive Medicine, Public Health &\nGeneral Preventive Medicine",
         [("Preventive Medicine", True), ("Public Health & General Preventive Medicine", True)],
         []),
        # "and" before the last name
        ("Internal Medicine and Pain Medicine",
         [("Internal Medicine", True), ("Pain Medicine", True)], []),
        ("Internal Medicine, and Pain Medicine.",
         [("Internal Medicine", True), ("Pain Medicine", True)], []),
        # OCR look-alikes: the one known name it can be, in the letter's own style ("&")
        ("Orthopeclic Surgery", [("Orthopedic Surgery", False)], []),
        ("Intemal Medicine", [("Internal Medicine", False)], []),
        ("Physlcal Medicine & Rehabilltotion", [("Physical Medicine & Rehabilitation", False)], []),
        ("Anesthcs lologv, Pain Mcdicine",
         [("Anesthesiology", False), ("Pain Medicine", False)], []),
        # a name cut off at the end of its line, or where debris took its last word
        ("Physical Medicine & Reh", [("Physical Medicine & Rehabilitation", False)], []),
        ("Physical Medicine & Reh,\nPain Medicine",
         [("Physical Medicine & Rehabilitation", False), ("Pain Medicine", True)], []),
        ("Preventive a. Occupational Medicine",
         [("Preventive Medicine", False), ("Occupational Medicine", True)], []),
        # ... but not a start that runs into the next name with nothing between
        ("Physical Medicine & Reh Pain Medicine", [("Pain Medicine", True)],
         ["Physical Medicine & Reh"]),
        # ambiguous damage stays unread: as close to "Orthopaedic" as to "Orthopedic", and
        # "Occupational" starts both Occupational Medicine and Occupational Therapy
        ("Orthopoedic Surgery, Sports Medicine", [("Sports Medicine", True)],
         ["Orthopoedic Surgery"]),
        ("Occupational, Sports Medicine", [("Sports Medicine", True)], ["Occupational"]),
        # words that are no known specialty: unread, never exact, never dropped
        ("Pain Nespas", [], ["Pain Nespas"]),
        ("Andrology, Urology", [("Urology", True)], ["Andrology"]),
        ("Preventive Cardiology", [("Cardiology", True)], ["Preventive"]),
        # the three specialties in one damaged string
        ("Preventive Mecticine. Oadpetional Meckcine. Public Health & General Preventive Medicine",
         [("Preventive Medicine", False), ("Public Health & General Preventive Medicine", True)],
         ["Oadpetional Meckcine"]),
    ],
)  # fmt: skip
def test_specialty_lists(text: str, read: list[tuple[str, bool]], unread: list[str]) -> None:
    assert specialties(text) == (read, unread)


def test_a_name_is_read_once_and_each_reading_has_its_span() -> None:
    text = "Family Practice, Sports Medicine, Family Practice"
    names = read_specialties(text)
    assert [(r.value, text[r.start : r.end]) for r in names.readings] == [
        ("Family Practice", "Family Practice"),
        ("Sports Medicine", "Sports Medicine"),
    ]


def test_a_models_specialty_read_on_its_own() -> None:
    reading = read_specialty("occupational medicine")
    assert reading is not None and (reading.value, reading.exact) == (
        "Occupational Medicine",
        False,
    )
    assert read_specialty("Internal Medicine, Pain Medicine") is None  # two names
    assert read_specialty("Andrology") is None
    assert cut_specialty("Physical Medicine & Reh") == ["Physical Medicine & Rehabilitation"]


_NAMES = st.sampled_from(SPECIALTIES.names)
_JUNK = st.text(alphabet="qxzjkvw", min_size=1, max_size=6)
_SEPARATORS = st.sampled_from([", ", ",", "; ", ": ", " ", ". ", " and ", ",\n", " & "])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_NAMES, _JUNK), min_size=1, max_size=5, unique=True), st.data())
def test_no_word_is_dropped_and_no_other_text_is_exact(parts: list[str], data: Any) -> None:
    text = parts[0]
    for part in parts[1:]:
        text += data.draw(_SEPARATORS) + part
    names = read_specialties(text)
    for reading in names.readings:
        written = collapse_ws(text[reading.start : reading.end])
        if reading.exact:
            assert written == reading.value and reading.value in SPECIALTIES
        else:
            assert SPECIALTIES.match(reading.value) is not None
    # Every word is inside a reading or an unread part ("and" / "&" may join names).
    covered = [(r.start, r.end) for r in names.readings] + [(u.start, u.end) for u in names.unread]
    for word in re.finditer(r"[^\W_]+", text):
        inside = any(s <= word.start() and word.end() <= e for s, e in covered)
        assert inside or word.group(0).lower() == "and", (word.group(0), text, names)


# --------------------------------------------------------------------------------------------
# States
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "read", "unread"),
    [
        ("California,North Carolina", [("California", True), ("North Carolina", True)], []),
        # "l" for "I", a lost comma: Iowa is read, not swallowed by Montana
        ("lowa Montana, Califomia",
         [("Iowa", False), ("Montana", True), ("California", False)], []),
        ("Califomia.A nizona", [("California", False), ("Arizona", False)], []),
        ("New Y ork, New. Jersey", [("New York", False), ("New Jersey", False)], []),
        ("California and Arizona", [("California", True), ("Arizona", True)], []),
        ("Texas, Flonda Califomia", [("Texas", True), ("Florida", False), ("California", False)],
         []),
        # what reads as no state is reported, never dropped
        ("Texas, Qwzx Califomia", [("Texas", True), ("California", False)], ["Qwzx"]),
        ("Flonda, € T : .", [("Florida", False)], ["T"]),
        ("Ohio, Obio", [("Ohio", True)], ["Obio"]),
    ],
)  # fmt: skip
def test_state_lists(text: str, read: list[tuple[str, bool]], unread: list[str]) -> None:
    assert states(text) == (read, unread)


# --------------------------------------------------------------------------------------------
# The rules engine and the evidence stage read through the same reader
# --------------------------------------------------------------------------------------------


def letter(states_text: str, specialties_text: str) -> str:
    credentials = (
        "The Expert Reviewer has the following credentials:\n"
        f"State(s) of Licensure: {states_text}\n"
        f"Certification(s)/Specialty: {specialties_text}\n"
    )
    return str(Letter(credentials=credentials))


def checked(text: str, states_: list[str], specialties_: list[str]) -> tuple[Checked, dict]:
    """The reviewer's evidence and contradictions (the other values are left out)."""
    data: dict[str, Any] = {
        "reviewer": {"licensure_states": list(states_), "specialties": list(specialties_)}
    }
    out = check_values(data, read_form(normalise(text)))
    out.errors = [e for e in out.errors if e.startswith("reviewer")]
    out.contradicted = {k: v for k, v in out.contradicted.items() if k.startswith("reviewer")}
    return out, data


def reviewer_flags(out: Checked) -> dict[str, str]:
    return {
        path: ev.status
        for path, ev in out.evidence.items()
        if path.startswith("reviewer") and ev.status == "unverified"
    }


def test_the_rules_engine_reads_a_lost_comma_and_an_ocr_state() -> None:
    record = extract(letter("lowa Montana, Califomia", "Occupational: Medicine"), backend="rules")
    assert record.reviewer.licensure_states == ["Iowa", "Montana", "California"]
    assert record.reviewer.specialties == ["Occupational Medicine"]
    evidence = record.metadata.evidence
    assert [evidence[f"reviewer.licensure_states[{k}]"].status for k in range(3)] == [
        "repaired",
        "exact",
        "repaired",
    ]
    assert evidence["reviewer.specialties[0]"].status == "repaired"
    assert not record.metadata.needs_review


def test_the_rules_engine_flags_a_state_it_cannot_read() -> None:
    record = extract(letter("Texas, Qwzx Califomia", "Family Practice"), backend="rules")
    assert record.reviewer.licensure_states == ["Texas", "California"]
    assert record.metadata.needs_review
    assert record.metadata.evidence["reviewer.licensure_states"].status == "unverified"
    assert any("Qwzx" in reason for reason in record.metadata.review_reasons)


def test_the_rules_engine_keeps_an_unread_specialty_as_written_and_flags_it() -> None:
    record = extract(letter("California", "Family Practice, Pain Nespas"), backend="rules")
    assert record.reviewer.specialties == ["Family Practice", "Pain Nespas"]
    evidence = record.metadata.evidence
    assert evidence["reviewer.specialties[0]"].status == "exact"
    assert evidence["reviewer.specialties[1]"].status == "unverified"
    assert record.metadata.needs_review


def test_a_model_specialty_is_stored_as_the_letter_writes_it() -> None:
    text = letter("California", "Occupational Medicine, Family Practice")
    out, data = checked(text, ["California"], ["occupational medicine", "Family Practice;"])
    assert data["reviewer"]["specialties"] == ["Occupational Medicine", "Family Practice"]
    assert out.errors == [] and not reviewer_flags(out)
    assert out.evidence["reviewer.specialties[0]"].status == "exact"
    # Another spelling of the same name: the letter's.
    text = letter("California", "Orthopaedic Surgery")
    out, data = checked(text, ["California"], ["Orthopedic Surgery"])
    assert data["reviewer"]["specialties"] == ["Orthopaedic Surgery"]
    assert out.errors == []


def test_a_model_copying_the_letters_damage_gets_the_known_name() -> None:
    text = letter("California", "Physlcal Medicine & Rehabilltotion")
    out, data = checked(text, ["California"], ["Physlcal Medicine & Rehabilltotion"])
    assert data["reviewer"]["specialties"] == ["Physical Medicine & Rehabilitation"]
    assert out.evidence["reviewer.specialties[0]"].status == "repaired"
    assert out.errors == []


def test_a_model_copying_words_that_read_as_no_specialty_is_unverified() -> None:
    text = letter("California", "Family Practice, Pain Nespas")
    out, data = checked(text, ["California"], ["Family Practice", "Pain  Nespas"])
    assert data["reviewer"]["specialties"] == ["Family Practice", "Pain Nespas"]
    assert reviewer_flags(out) == {"reviewer.specialties[1]": "unverified"}
    # Leaving them out does not pass either: the list holds words the record does not.
    out, _ = checked(text, ["California"], ["Family Practice"])
    assert reviewer_flags(out) == {"reviewer.specialties": "unverified"}


def test_a_dropped_or_merged_specialty_on_a_clean_letter_is_a_contradiction() -> None:
    text = letter("California", "Internal Medicine, Pain Medicine")
    out, _ = checked(text, ["California"], ["Internal Medicine"])
    assert out.contradicted == {
        "reviewer.specialties": "the letter also names Pain Medicine",
    }
    out, _ = checked(text, ["California"], ["Internal Medicine, Pain Medicine"])
    assert "holds 2 specialties" in out.contradicted["reviewer.specialties[0]"]


def test_a_state_list_with_an_unread_part_is_unverified_even_when_every_value_reads() -> None:
    text = letter("Texas, Qwzx Califomia", "Family Practice")
    out, _ = checked(text, ["Texas", "California"], ["Family Practice"])
    assert out.errors == []
    assert out.evidence["reviewer.licensure_states[0]"].status == "exact"
    assert out.evidence["reviewer.licensure_states[1]"].status == "repaired"
    assert reviewer_flags(out) == {"reviewer.licensure_states": "unverified"}
    assert "'Qwzx'" in out.evidence["reviewer.licensure_states"].note
    # On a list that reads in full, a state the model left out is a contradiction.
    out, _ = checked(letter("lowa Montana, Califomia", "Family Practice"), ["Montana"], [])
    assert "the letter also names Iowa, California" in out.contradicted["reviewer.licensure_states"]


# --------------------------------------------------------------------------------------------
# The real and gold letters
# --------------------------------------------------------------------------------------------


def _cases(real: tuple[str, ...], gold: tuple[str, ...]) -> list[tuple[str, Path, Path]]:
    """(id, text, label) for every real letter (``corpus`` and ``corpus-more``) in the
    ``real`` renderings and every gold letter in the ``gold`` ones."""
    found = []
    for corpus in ("corpus", "corpus-more"):
        for label in sorted((SHARED / corpus / "labels").glob("*.json")):
            for rendering in real:
                text = SHARED / corpus / rendering / f"{label.stem}.txt"
                if text.is_file():
                    found.append((f"{label.stem}/{rendering}", text, label))
    for label in sorted((GOLD / "labels").glob("*.json")):
        for rendering in gold:
            folder = GOLD / "letters" if rendering == "layout" else GOLD / "renderings" / rendering
            text = folder / f"{label.stem}.txt"
            if text.is_file():
                found.append((f"{label.stem}/{rendering}", text, label))
    return found


def _read(text_path: Path, label_path: Path) -> list[tuple[NameList, list[str]]]:
    """Each credentials place's reading, with the label's list for it."""
    form = read_form(normalise(text_path.read_text(encoding="utf-8")))
    want = json.loads(label_path.read_text(encoding="utf-8"))["reviewer"]
    credentials = form.credentials
    out = []
    if credentials.states is not None:
        out.append((read_states(credentials.states.text), want["licensure_states"]))
    if credentials.specialties is not None:
        out.append((read_specialties(credentials.specialties.text), want["specialties"]))
    return out


LAYOUT = _cases(("text-layout",), ("layout",))
OCR = _cases(("text-ocr", "text-ocrfax"), ("ocr", "ocrfax", "noise-light", "noise-heavy"))
REAL = ("text-layout", "text-raw", "text-ocr", "text-ocrfax")


@pytest.mark.parametrize(("name", "text", "label"), LAYOUT, ids=[c[0] for c in LAYOUT])
def test_every_labelled_name_reads_exact_on_clean_text(name: str, text: Path, label: Path) -> None:
    readings = _read(text, label)
    assert len(readings) == 2, name
    for names, want in readings:
        assert [(r.value, r.exact) for r in names.readings] == [(w, True) for w in want], name
        assert names.unread == (), name


def test_the_corpus_is_covered() -> None:
    if not (SHARED / "corpus" / "labels").is_dir():
        pytest.skip("../shared/corpus is not present beside the checkout")
    assert len(_cases(("text-layout",), ())) >= 74
    assert len(_cases(REAL, ())) >= 4 * 74


@pytest.mark.parametrize(("name", "text", "label"), OCR, ids=[c[0] for c in OCR])
def test_ocr_readings_are_never_wrong_and_never_drop_a_name(
    name: str, text: Path, label: Path
) -> None:
    for names, want in _read(text, label):
        for reading in names.readings:
            # Not exact while differing from the label, and not repaired to another name.
            assert reading.value in want, (name, reading)
        missing = [w for w in want if w not in [r.value for r in names.readings]]
        assert not missing or names.unread, (name, missing)


@pytest.mark.skipif(
    not (SHARED / "corpus" / "labels").is_dir(), reason="../shared/corpus is not present"
)
def test_the_rules_engine_never_returns_wrong_reviewer_values_unflagged() -> None:
    wrong = []
    for name, text, label_path in _cases(REAL, ()):
        want = json.loads(label_path.read_text(encoding="utf-8"))["reviewer"]
        try:
            record = extract(text.read_text(encoding="utf-8"), backend="rules")
        except Exception:  # a typed error: no record, nothing wrong
            continue
        right = set(record.reviewer.licensure_states) == set(want["licensure_states"]) and list(
            record.reviewer.specialties
        ) == list(want["specialties"])
        if not right and not record.metadata.needs_review:
            wrong.append(name)
    assert wrong == []


@pytest.mark.parametrize("blot", ["\u2588\u2588\u2588\u2588", "~~~~", "####", "???", "____"])
def test_a_blot_where_a_state_was_is_an_unread_part(blot: str) -> None:
    names = read_states(f"Maryland, Kansas, {blot}")
    assert [r.value for r in names.readings] == ["Maryland", "Kansas"]
    assert [u.text for u in names.unread] == [blot]


@pytest.mark.parametrize("marks", ["Maryland, | Kansas", "Maryland,. Kansas", "Maryland ' Kansas",
                                   "Maryland, Kansas.", "Maryland, ~ Kansas"])  # fmt: skip
def test_stray_marks_between_states_are_no_blot(marks: str) -> None:
    names = read_states(marks)
    assert [r.value for r in names.readings] == ["Maryland", "Kansas"]
    assert names.unread == ()
