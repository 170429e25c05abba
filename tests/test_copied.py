"""What a copy adds to a letter: characters that print nothing (soft hyphens, zero-width spaces
and joiners, direction marks, a byte-order mark), e-mail quote marks, quoted-printable, mojibake
and HTML markup are read past by both engines, and the record's spans index the text as given.

Expectations come from construction: the gold letters with such characters put inside their
words at seeded places, against the record of the letter without them.
"""

from __future__ import annotations

import html
import random
import re
from collections.abc import Callable

import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imr_llm import extract
from imr_llm.inputs.copied import INVISIBLE, fix_mojibake, strip_invisible, unnumber, unquote
from imr_llm.testing.fake_openai import FakeOpenAIServer, Step
from imr_llm.testing.oracle import ideal_answer
from tests.conftest import SHARED, gold_label, gold_text


def sprinkle(text: str, seed: int, share: float = 0.02) -> str:
    """``text`` with invisible characters put between letters of its words."""
    rng = random.Random(seed)
    out = []
    for k, ch in enumerate(text):
        out.append(ch)
        if ch.isalpha() and text[k + 1 : k + 2].isalpha() and rng.random() < share:
            out.append(rng.choice(INVISIBLE))
    return "".join(out)


def without(text: str) -> str:
    return "".join(ch for ch in text if ch not in INVISIBLE)


def words(text: str) -> str:
    """``text``'s words, one space between them: a span's text, its line breaks and the marks
    blanked out of them aside."""
    return " ".join(text.split())


def assert_same_with_spans_into(  # type: ignore[no-untyped-def]
    record,
    clean,
    given_text: str,
    clean_text: str,
    read: Callable[[str], str] = without,
    key: Callable[[str], str] = str,
) -> None:
    """``record`` is ``clean``'s, and each of its spans holds in ``given_text`` what the clean
    span holds in ``clean_text``, once ``read`` as the engines read it (both sides compared
    through ``key``: spacing aside, for a page whose lines a browser lays out)."""
    assert record.contract_dict() == clean.contract_dict()
    assert record.metadata.needs_review == clean.metadata.needs_review
    for path, evidence in clean.metadata.evidence.items():
        moved = record.metadata.evidence[path]
        assert moved.status == evidence.status, path
        if evidence.span is None:
            assert moved.span is None
            continue
        assert moved.span is not None
        here = given_text[moved.span.start : moved.span.end]
        assert read(here) == key(clean_text[evidence.span.start : evidence.span.end]), path
        assert here[:1] not in INVISIBLE and here[-1:] not in INVISIBLE, path


@pytest.mark.parametrize("name", ["gA01", "gA06", "gB02", "gN03", "seed-001"])
def test_the_rules_engine_reads_past_invisible_characters(name: str) -> None:
    clean_text = gold_text(name)
    text = sprinkle(clean_text, seed=len(name))
    assert text != clean_text
    record = extract(text, backend="rules")
    assert_same_with_spans_into(record, extract(clean_text, backend="rules"), text, clean_text)


def typographic(text: str, seed: int) -> str:
    """``text`` as a PDF's text layer or a Chinese-and-English OCR model may print it: each
    hyphen inside a word a Unicode, non-breaking or minus-sign hyphen, each hyphen between
    digits an en dash, colons and brackets their full-width forms, at seeded places."""
    rng = random.Random(seed)

    def hyphen(m: re.Match[str]) -> str:
        if m.group(1).isdigit() and m.group(2).isdigit():
            return m.group(1) + rng.choice(["\u2013", "\u2012", "-"]) + m.group(2)
        return m.group(1) + rng.choice(["\u2010", "\u2011", "\u2212", "-"]) + m.group(2)

    text = re.sub(r"(\w)-(?=(\w))", lambda m: hyphen(m)[:-1], text)
    wide = {":": "\uff1a", "(": "\uff08", ")": "\uff09"}
    return "".join(wide[ch] if ch in wide and rng.random() < 0.3 else ch for ch in text)


def test_typographic_forms_of_ascii_are_read_as_ascii() -> None:
    from imr_llm.inputs.copied import unify_characters

    given_text = ("CM16\u20100224814 32\u2011year\u2011old \uff08ICD9\uff09 Upheld\uff1a "
                  "10\u201311\u20132016")  # fmt: skip
    assert unify_characters(given_text) == "CM16-0224814 32-year-old (ICD9) Upheld: 10-11-2016"
    # A dash between words stands for one, and stays.
    assert unify_characters("the knee \u2013 and the hip") == "the knee \u2013 and the hip"
    assert unify_characters("plain") == "plain"


@pytest.mark.parametrize("name", ["gA01", "gA06", "gB02", "gN03", "seed-001"])
def test_the_rules_engine_reads_typographic_hyphens_and_full_width_marks(name: str) -> None:
    clean_text = gold_text(name)
    text = typographic(clean_text, seed=len(name))
    assert text != clean_text and len(text) == len(clean_text)
    record = extract(text, backend="rules")
    assert_same_with_spans_into(record, extract(clean_text, backend="rules"), text, clean_text,
                                read=lambda s: s.translate(_ASCII))  # fmt: skip


_ASCII = {0x2010: "-", 0x2011: "-", 0x2212: "-", 0x2013: "-", 0x2012: "-", 0xFF1A: ":",
          0xFF08: "(", 0xFF09: ")"}  # fmt: skip


@pytest.mark.parametrize("name", ["gA02", "gN04"])
def test_the_model_path_reads_past_invisible_characters(name: str) -> None:
    clean_text = gold_text(name)
    text = sprinkle(clean_text, seed=7)
    records = []
    for letter in (clean_text, text):
        with FakeOpenAIServer() as server:
            server.enqueue(Step.answer(ideal_answer(gold_label(name))))
            client = openai.OpenAI(base_url=server.base_url, api_key="test-key")
            records.append(extract(letter, backend="llm", client=client))
            sent = server.chat_requests[0]
            assert not any(ch in str(sent) for ch in INVISIBLE)  # the model reads them never
    clean, record = records
    assert_same_with_spans_into(record, clean, text, clean_text)


def test_a_letter_with_a_byte_order_mark_has_its_spans_one_further() -> None:
    clean_text = gold_text("gA03")
    clean = extract(clean_text, backend="rules")
    record = extract("\ufeff" + clean_text, backend="rules")
    assert record.metadata.spans.keys() == clean.metadata.spans.keys() != set()
    for path, clean_span in clean.metadata.spans.items():
        span = record.metadata.spans[path]
        assert (span.start, span.end) == (clean_span.start + 1, clean_span.end + 1), path


@given(st.text(alphabet=st.sampled_from("ab \n" + INVISIBLE), max_size=40), st.data())
def test_a_span_of_the_stripped_text_maps_to_the_same_characters(text: str, data) -> None:  # type: ignore[no-untyped-def]
    stripped = strip_invisible(text)
    assert stripped.text == without(text)
    n = len(stripped.text)
    start = data.draw(st.integers(0, n))
    end = data.draw(st.integers(start, n))
    a, b = stripped.original(start, end)
    assert without(text[a:b]) == stripped.text[start:end]
    if end > start:
        assert text[a] not in INVISIBLE and text[b - 1] not in INVISIBLE


def assert_blanked_copy_reads_as_letter(
    clean_text: str, text: str, blank: Callable[[str], str]
) -> None:
    """``text``, a copy of ``clean_text`` with marks added before its lines, reads as the
    letter: ``blank`` blanks the marks out (same length), and the record's values and spans
    are the clean letter's, spans pointing into the copy."""
    blanked = blank(text)
    assert len(blanked) == len(text) and blanked != text
    record, clean = extract(text, backend="rules"), extract(clean_text, backend="rules")
    assert_same_with_spans_into(record, clean, blanked, clean_text, read=words, key=words)


def quote(text: str, prefix: str = "> ") -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in text.split("\n"))


@pytest.mark.parametrize(("name", "prefix"), [("gA01", "> "), ("gB04", ">> "), ("gN01", "> > ")])
def test_a_letter_quoted_in_an_e_mail_reads_as_the_letter(name: str, prefix: str) -> None:
    clean_text = gold_text(name)
    assert_blanked_copy_reads_as_letter(clean_text, quote(clean_text, prefix), unquote)


def test_the_model_reads_a_quoted_letter_without_its_quote_marks() -> None:
    text = quote(gold_text("gA02"))
    with FakeOpenAIServer() as server:
        server.enqueue(Step.answer(ideal_answer(gold_label("gA02"))))
        client = openai.OpenAI(base_url=server.base_url, api_key="test-key")
        record = extract(text, backend="llm", client=client)
        assert "\\n> " not in str(server.chat_requests[0]) and "\n> " not in str(
            server.chat_requests[0]
        )
    assert record.contract_dict() == gold_label("gA02")
    assert not record.metadata.needs_review


def test_a_few_lines_starting_with_a_mark_are_no_quote() -> None:
    text = gold_text("gA03")
    lines = text.split("\n")
    marked = "\n".join("> " + line if k % 3 == 0 else line for k, line in enumerate(lines))
    assert unquote(marked) == marked
    assert unquote(text) is text
    assert len(unquote(quote(text))) == len(quote(text))


def numbered(text: str, style: str = "{n:>3} ") -> str:
    """``text`` as a viewer numbering its lines copies it (blank lines numbered too)."""
    return "\n".join(style.format(n=k + 1) + line for k, line in enumerate(text.split("\n")))


@pytest.mark.parametrize("name", ["gA01", "gB05", "seed-001", "gN02"])
@pytest.mark.parametrize("style", ["{n:>3} ", "{n}: ", "{n:>4}| ", "{n}\t"])
def test_a_letter_copied_with_its_line_numbers_reads_as_the_letter(name: str, style: str) -> None:
    clean_text = gold_text(name)
    assert_blanked_copy_reads_as_letter(clean_text, numbered(clean_text, style), unnumber)


def test_numbered_lists_and_determinations_are_no_line_numbers() -> None:
    text = gold_text("gN02")
    assert unnumber(text) is text
    listed = "\n".join(f"{k + 1}) {line}" if k % 2 else line
                       for k, line in enumerate(text.split("\n")))  # fmt: skip
    assert unnumber(listed) == listed
    # Every line numbered, but not in a run: a column of figures, not a viewer's numbers.
    figures = "\n".join(f"{(k * 7) % 50} {line}" for k, line in enumerate(text.split("\n")))
    assert unnumber(figures) == figures


def test_two_quoted_letters_with_invisible_characters_are_refused_and_cut_where_given() -> None:
    from imr_llm import MultipleLettersError, split_letters

    a, b = sprinkle(gold_text("gA01"), seed=3), sprinkle(gold_text("gB05"), seed=4)
    text = quote(a + "\n" + b)
    with pytest.raises(MultipleLettersError) as caught:
        extract(text, backend="rules")
    first, second = split_letters(text)
    assert first + second == text
    assert caught.value.offset >= len(first) - 1  # the second opening, in the given text
    assert without(unquote(second)).split() == gold_text("gB05").split()


def test_ligatures_are_read_as_their_letters_and_spans_index_the_given_text() -> None:
    from imr_llm.inputs.copied import LIGATURES

    def spelled(text: str) -> str:
        return "".join(LIGATURES.get(ch, ch) for ch in text)

    for name in ("gA05", "gB07", "gN01", "seed-002"):
        clean_text = gold_text(name)
        text = clean_text.replace("fi", "\ufb01").replace("fl", "\ufb02").replace("ff", "\ufb00")
        assert text != clean_text
        record, clean = extract(text, backend="rules"), extract(clean_text, backend="rules")
        assert_same_with_spans_into(record, clean, text, clean_text, read=spelled)


@pytest.mark.parametrize("name", ["gA04", "gB09", "gN02", "seed-003"])
def test_an_e_mail_source_in_quoted_printable_reads_as_the_letter(name: str) -> None:
    import quopri

    # Characters of several bytes too: no-break spaces, as a mail client writes them.
    clean_text = gold_text(name).replace(" the ", " the\u00a0", 5)
    text = quopri.encodestring(clean_text.encode("utf-8")).decode("ascii")
    assert "=\n" in text and "=C2=A0" in text
    record, clean = extract(text, backend="rules"), extract(clean_text, backend="rules")

    def decoded(given: str) -> str:
        return quopri.decodestring(given.encode()).decode()

    assert_same_with_spans_into(record, clean, text, clean_text, read=decoded)


#: What a Markdown writer escapes: punctuation it would otherwise read as markup.
_MD_SPECIAL = re.compile(r"([#*_\[\]<>`])")


@pytest.mark.parametrize("name", ["gA06", "gB03", "gN04"])
def test_a_letter_converted_to_markdown_reads_without_its_escapes(name: str) -> None:
    clean_text = gold_text(name)
    text = _MD_SPECIAL.sub(r"\\\1", clean_text)
    assert text.count("\\") >= 3  # each letter has a "#", "*", "_" or a bracket
    record, clean = extract(text, backend="rules"), extract(clean_text, backend="rules")
    assert_same_with_spans_into(
        record, clean, text, clean_text, read=lambda given: re.sub(r"\\(.)", r"\1", given)
    )


@pytest.mark.parametrize(
    "stray",
    ["MRI of the \\/ertebrae", "Section(s): \\Special Studies", "Norco \\#60 as \\needed"],
)
def test_a_stray_backslash_ocr_read_is_no_markdown(stray: str) -> None:
    from imr_llm.inputs.copied import unescape_markdown

    # One escape of Markdown's own characters at most, or a backslash before a letter: OCR's.
    text = gold_text("gA06").replace("Gabapentin", stray, 1)
    assert text != gold_text("gA06")
    assert unescape_markdown(text).text is text


def _as_markdown(text: str) -> str:
    """The letter as a document converter writes it in Markdown: the header table's rows as a
    table's, headings marked "## ", the item's labels in bold."""
    lines = text.split("\n")
    first = next(k for k, line in enumerate(lines) if line.strip().isupper() and k > 2)
    rows = [[c for c in re.split(r" {2,}", line.strip()) if c] for line in lines[:first]]
    table = [f"| {' | '.join(cells)} |" for cells in rows if cells]
    table.insert(1, "|" + "---|" * len(rows[0]))
    rest = "\n".join(lines[first:])
    rest = re.sub(r"(?m)^[ \t]*([A-Z][A-Z ,]{8,}[A-Z])[ \t]*$", r"## \1", rest)
    rest = re.sub(r"(Claims Administrator guideline:|MAXIMUS guideline:|Decision rationale:)",
                  r"**\1**", rest)  # fmt: skip
    return "\n".join(table) + "\n\n" + rest


@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="../shared is absent")
@pytest.mark.parametrize("name", ["CM16-0231706", "CM17-0010420", "CM16-0234464"])
def test_a_letter_converted_to_markdown_reads_as_the_letter(name: str) -> None:
    clean_text = (SHARED / "corpus" / "text-layout" / f"{name}.txt").read_text(encoding="utf-8")
    text = _as_markdown(clean_text)
    assert text.count("|") > 8 and "\n## " in text and "**Decision rationale:**" in text
    record, clean = extract(text, backend="rules"), extract(clean_text, backend="rules")
    assert record.contract_dict() == clean.contract_dict()
    assert not record.metadata.needs_review


def test_a_letter_with_an_equals_sign_is_not_taken_for_quoted_printable() -> None:
    from imr_llm.inputs.copied import decode_printable

    text = gold_text("gA01").replace("\n", " =\n", 2)
    assert decode_printable(text).text is text


def _as_page(text: str) -> str:
    """The letter saved as a web page: each line a paragraph, spaces runs as entities."""
    body = "".join(
        f"<p>{html.escape(line).replace('  ', '&nbsp; ')}</p>\n" if line.strip() else "<br>\n"
        for line in text.replace("\f", "").split("\n")
    )
    return f"<!DOCTYPE html>\n<html><head><title>IMR</title></head><body>\n{body}</body></html>"


def _page_text(given: str) -> str:
    """What a browser shows of a piece of the page, spacing aside (tags out, entities read)."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", given)).split())


@pytest.mark.parametrize("name", ["gA05", "gB03", "gN02", "seed-004"])
def test_a_letter_saved_as_a_web_page_reads_as_the_letter_with_spans_into_the_page(
    name: str,
) -> None:
    clean_text = gold_text(name)
    text = _as_page(clean_text)
    record = extract(text, backend="rules")
    clean_text = clean_text.replace("\f", "")
    clean = extract(clean_text, backend="rules")
    assert_same_with_spans_into(record, clean, text, clean_text, read=_page_text, key=words)
    for span in record.metadata.spans.values():  # a value starts at its words, not a tag
        assert not text[span.start : span.end].startswith(("<", "&nbsp;")), span


def test_the_model_reads_a_web_page_letter_without_its_tags() -> None:
    text = _as_page(gold_text("gB06"))
    with FakeOpenAIServer() as server:
        server.enqueue(Step.answer(ideal_answer(gold_label("gB06"))))
        client = openai.OpenAI(base_url=server.base_url, api_key="test-key")
        record = extract(text, backend="llm", client=client)
        sent = str(server.chat_requests[0])
        assert "<p>" not in sent and "&nbsp;" not in sent and "<!DOCTYPE" not in sent
    assert record.contract_dict() == gold_label("gB06")
    assert not record.metadata.needs_review


def test_a_letter_with_angle_brackets_and_ampersands_is_not_taken_for_a_page() -> None:
    from imr_llm.inputs.copied import as_read

    text = gold_text("gA01").replace("pain", "pain <5/10 & <br>ief", 2)
    assert text.count("<br>") == 2
    assert as_read(text).text is text


@pytest.mark.parametrize("name", ["gA02", "gB05", "gA09"])
def test_a_raw_rendering_saved_with_each_line_a_table_row_reads_as_it(name: str) -> None:
    from tests.conftest import GOLD

    raw = (GOLD / "renderings" / "raw" / f"{name}.txt").read_text(encoding="utf-8")
    rows = "\n".join(
        f"<tr><td>{html.escape(line)}</td></tr>" for line in raw.replace("\f", "").split("\n")
    )
    text = f"<html><body><table>\n{rows}\n</table></body></html>"
    record = extract(text, backend="rules")
    clean = extract(raw.replace("\f", ""), backend="rules")
    assert record.contract_dict() == clean.contract_dict()
    assert record.metadata.needs_review == clean.metadata.needs_review


def test_a_quoted_printable_source_with_few_long_lines_is_decoded() -> None:
    import quopri

    from imr_llm.eval.damage import reflow

    # Short lines (a re-fill to 60 columns), so few soft breaks; one long line and escapes.
    clean_text = reflow(gold_text("gA03"), 60).replace(" the ", " the\u00a0")
    clean_text = clean_text.replace("\n\n", "\n\n" + "x " * 45 + "\n\n", 1)
    text = quopri.encodestring(clean_text.encode("utf-8")).decode("ascii")
    assert 0 < text.count("=\n") < 0.2 * text.count("\n")
    record, clean = extract(text, backend="rules"), extract(clean_text, backend="rules")
    assert record.contract_dict() == clean.contract_dict()


def _typographic(text: str) -> str:
    """``text`` as a word processor prints it: curly apostrophes, no-break spaces after
    "the", en dashes in ranges of numbers ("3–6")."""
    text = text.replace("'", "\u2019").replace(" the ", " the\u00a0")
    return re.sub(r"(?<=\d)-(?=\d+ )", "\u2013", text)


def _misread(text: str, codec: str) -> str:
    """``text``'s UTF-8 bytes read as ``codec`` (Windows-1252 with bytes it leaves undefined
    kept as Latin-1 reads them, as lenient decoders do)."""
    data = text.encode("utf-8")
    if codec == "latin-1":
        return data.decode("latin-1")
    return "".join(
        bytes([b]).decode("cp1252", errors="strict") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
        else chr(b)
        for b in data
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "codec"),
    [("gA06", "cp1252"), ("gB03", "latin-1"), ("gN02", "cp1252"), ("seed-001", "cp1252")],
)
def test_mojibake_reads_as_the_characters_it_stands_for(name: str, codec: str) -> None:
    # A letter's UTF-8 text read as Windows-1252 on its way ("patientâ€™s", "Â" before each
    # no-break space): the same record as the letter, spans into the text as given. Before,
    # every passage kept the runs, unflagged.
    clean_text = _typographic(gold_text(name))
    text = _misread(clean_text, codec)
    assert "\u00c2\u00a0" in text  # each no-break space misread
    record, clean = extract(text, backend="rules"), extract(clean_text, backend="rules")

    def read(given: str) -> str:
        return fix_mojibake(given).text

    assert_same_with_spans_into(record, clean, text, clean_text, read=read)


def test_mojibake_misread_twice_reads_as_the_letter() -> None:
    clean_text = _typographic(gold_text("gA02"))
    text = _misread(_misread(clean_text, "cp1252"), "cp1252")
    assert "\u00c3\u00a2\u00e2\u201a\u00ac\u00e2\u201e\u00a2" in text  # "’" misread twice
    assert (
        extract(text, backend="rules").contract_dict()
        == extract(clean_text, backend="rules").contract_dict()
    )


@pytest.mark.parametrize("word", ["José", "café", "Müller", "naïve", "½ tablet", "Ångström"])
def test_accented_words_are_no_mojibake(word: str) -> None:
    text = f"The patient {word} was seen by Dr. Hernández on 3/4/2016 – “stable”."
    assert fix_mojibake(text).text == text
    assert fix_mojibake(text).origin == ()


def test_a_character_a_decoding_lost_flags_the_value_holding_it() -> None:
    # Windows-1252 leaves 0x9D undefined: a decoder that writes U+FFFD for it turns the
    # closing quote into "â€\ufffd", which no reading can take back. The value holding it
    # needs review; every other value is read as before.
    clean_text = gold_text("gA06")
    at = clean_text.index("Decision rationale:") + len("Decision rationale:")
    end = clean_text.index(".", at)
    text = clean_text[:end] + " \u00e2\u20ac\ufffd" + clean_text[end:]
    record = extract(text, backend="rules")
    path = "items[0].rationale"
    assert record.metadata is not None and record.metadata.needs_review
    assert record.metadata.evidence[path].status == "unverified"
    assert "U+FFFD" in (record.metadata.evidence[path].note or "")
    clean = extract(clean_text, backend="rules")
    assert {p for p, e in record.metadata.evidence.items() if e.status == "unverified"} == {
        p for p, e in clean.metadata.evidence.items() if e.status == "unverified"
    } | {path}


def test_the_model_reads_a_misread_letter_as_the_letter() -> None:
    # The model is sent the letter read back from its mojibake, and its perfect answer is
    # checked against that reading: the record of the letter as printed, no review.
    clean_text = _typographic(gold_text("gA02"))
    records = []
    for text in (clean_text, _misread(clean_text, "cp1252")):
        with FakeOpenAIServer() as server:
            server.enqueue(Step.answer(ideal_answer(gold_label("gA02"))))
            client = openai.OpenAI(base_url=server.base_url, api_key="test-key")
            records.append(extract(text, backend="llm", client=client))
            assert "\u00c2\u00a0" not in str(server.chat_requests[0])
    assert records[1].contract_dict() == records[0].contract_dict()
    assert not records[1].metadata.needs_review
