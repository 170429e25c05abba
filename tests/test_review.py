"""The review page without a browser: spans, pages, escaping, badges, gold, the command, eval.

Expected values are worked out here from the letter text and the record's own spans (where a
span starts, which page and line that is), never read back from the page generator.
"""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import CORPUS, GOLD, gold_label, gold_text, requires_corpus
from letters import ITEM_ONE, ITEM_TWO, Letter
from typer.testing import CliRunner

from imr_llm import DeterminationRecord, extract, record_to_html
from imr_llm.cli.main import app
from imr_llm.record.models import ExtractionMetadata
from imr_llm.review import page_starts


class _Page(HTMLParser):
    """What a review page holds: highlighted text per path, value rows, script and asset tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.marked: dict[str, list[str]] = {}
        self.rows: dict[str, dict[str, str]] = {}
        self.pages = 0
        self.scripts = 0
        self.external: list[str] = []
        self._marks: list[list[str]] = []  # open <mark> elements' paths
        self._row: str | None = None
        self._depth = 0
        self.row_text: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
            if a.get("src"):
                self.external.append(str(a["src"]))
        if tag in ("link", "img", "iframe") or a.get("src") or a.get("srcset"):
            self.external.append(tag)
        if tag == "section" and "page" in (a.get("class") or "").split():
            self.pages += 1
        if tag == "mark":
            self._marks.append((a.get("data-paths") or "").split())
        if tag == "div":
            if self._row is not None:
                self._depth += 1
            elif "val" in (a.get("class") or "").split() and a.get("data-path"):
                self._row = str(a["data-path"])
                self._depth = 0
                self.rows[self._row] = {k: v or "" for k, v in a.items()}
                self.row_text[self._row] = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark":
            self._marks.pop()
        if tag == "div" and self._row is not None:
            if self._depth == 0:
                self._row = None
            else:
                self._depth -= 1

    def handle_data(self, data: str) -> None:
        for paths in self._marks:
            for path in paths:
                self.marked.setdefault(path, []).append(data)
        if self._row is not None:
            self.row_text[self._row].append(data)


def _parse(page: str) -> _Page:
    parsed = _Page()
    parsed.feed(page)
    return parsed


def _shown(text: str) -> str:
    """Letter text as the page shows it inside a highlight: no line or page breaks."""
    return re.sub(r"[\n\f\r]", "", text)


def _where(text: str, start: int, end: int) -> tuple[int, int]:
    """(page, line) where a span's text begins (its first visible character): pages split at
    form feeds, lines counted from each page."""
    offset = start
    while offset < end and text[offset].isspace():
        offset += 1
    if offset == end:
        offset = start
    page_start = text.rfind("\f", 0, offset) + 1
    page = text.count("\f", 0, offset) + 1
    return page, text.count("\n", page_start, offset) + 1


def _injected_letter() -> str:
    """A letter whose rationale holds markup and whose items start on a second page."""
    item = ITEM_ONE.replace(
        "The records show a\nstable knee.",
        'The records show a\n<script>alert("x")</script> & <b>stable</b> knee.',
    )
    text = str(Letter(items=[item, ITEM_TWO]))
    heading = "\n                      IMR ISSUES"
    return text.replace(heading, "\n\f" + heading[1:])


# ---------------------------------------------------------------------------------------------
# Spans and pages
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["letters/gA06.txt", "renderings/ocr/gB04.txt", "renderings/ocrfax/gA03.txt",
     "renderings/raw/gA01.txt"],
)  # fmt: skip
def test_every_span_is_highlighted_with_the_text_it_points_at(path: str) -> None:
    text = (GOLD / path).read_text(encoding="utf-8")
    record = extract(text, backend="rules")
    assert record.metadata is not None
    parsed = _parse(record_to_html(record, text))
    spans = {p: e.span for p, e in record.metadata.evidence.items() if e.span is not None}
    assert spans
    for p, span in spans.items():
        assert "".join(parsed.marked.get(p, [])) == _shown(text[span.start : span.end]), p
        # The value row links to it and says where it starts.
        assert p in parsed.rows, p
        page, line = _where(text, span.start, span.end)
        assert f"p.\xa0{page}, l.\xa0{line}" in "".join(parsed.row_text[p]), p
    assert parsed.pages == text.rstrip("\f\n ").count("\f") + 1


def test_windows_line_ends_are_drawn_without_their_carriage_returns() -> None:
    text = gold_text("gA06").replace("\n", "\r\n")
    record = extract(text, backend="rules")
    assert record.metadata is not None
    page = record_to_html(record, text)
    assert "\r" not in page
    parsed = _parse(page)
    for p, ev in record.metadata.evidence.items():
        assert ev.span is not None
        assert "".join(parsed.marked[p]) == _shown(text[ev.span.start : ev.span.end]), p


def test_spans_index_the_text_given_to_extract() -> None:
    """The letter keeps its own offsets through normalisation: each value is at its span."""
    text = gold_text("gA01")
    record = extract(text, backend="rules")
    assert record.metadata is not None
    ev = record.metadata.evidence
    cn = ev["case_number"].span
    assert cn is not None and record.case_number in text[cn.start : cn.end]
    svc = ev["items[0].service"].span
    assert svc is not None
    assert " ".join(text[svc.start : svc.end].split()) == record.items[0].service


def test_pages_from_form_feeds_and_from_known_page_starts() -> None:
    text = "page one\nline two\fpage two\n\fpage three\n\f"
    assert page_starts(text) == [0, 18, 28]  # the trailing form feed opens no page
    meta = SimpleNamespace(input=SimpleNamespace(page_starts=[0, 9, 999]))
    assert page_starts(text, meta) == [0, 9]  # known pages win; offsets past the end dropped
    assert page_starts("no breaks") == [0]


@pytest.mark.skipif(
    "input" not in ExtractionMetadata.model_fields, reason="metadata.input has not landed yet"
)
def test_page_starts_from_the_input_and_its_source_line() -> None:
    from imr_llm.record.models import InputInfo

    text = _injected_letter().replace("\f", "")
    record = extract(text, backend="rules")
    assert record.metadata is not None
    second = text.index("                      IMR ISSUES")
    record.metadata.input = InputInfo(
        kind="pdf", text_from="mixed", pages=2, ocr_pages=[2], ocr_engine="tesseract",
        ocr_engine_version="5.3.0", ocr_mean_confidence=0.87, page_starts=[0, second],
    )  # fmt: skip
    page = record_to_html(record, text)
    assert _parse(page).pages == 2
    assert "PDF text layer and OCR, 2 pages, OCR on page 2, tesseract 5.3.0" in page
    assert "mean OCR confidence 87.0%" in page
    heads = re.findall(r'<div class="pagehead">(.*?)</div>', page)
    assert len(heads) == 2 and "OCR" not in heads[0] and 'class="ocrtag"' in heads[1]
    span = record.metadata.evidence["items[0].service"].span
    assert span is not None and span.start > second
    row = "".join(_parse(page).row_text["items[0].service"])
    assert f"p.\xa02, l.\xa0{text.count(chr(10), second, span.start) + 1}" in row


def test_empty_and_misplaced_spans() -> None:
    """A place of no width is still marked (a thin marker); a span past the text's end (a
    record drawn beside another text) is said, never drawn somewhere else."""
    from imr_llm.record.models import Span

    text = gold_text("gA01")
    record = extract(text, backend="rules")
    assert record.metadata is not None
    ev = record.metadata.evidence
    age = ev["patient.age"].span
    assert age is not None
    ev["patient.age"].span = Span(start=age.start, end=age.start)
    ev["case_number"].span = Span(start=len(text) + 5, end=len(text) + 9)
    page = record_to_html(record, text)
    parsed = _parse(page)
    assert re.search(r'<mark class="[^"]*\bpt\b[^"]*" data-paths="patient.age"', page)
    assert "patient.age" in parsed.rows
    assert "case_number" not in parsed.marked and "case_number" not in parsed.rows
    assert "span outside this text" in page


# ---------------------------------------------------------------------------------------------
# Safety: escaped text, nothing loaded
# ---------------------------------------------------------------------------------------------


def test_letter_and_record_text_are_escaped_and_nothing_is_loaded() -> None:
    text = _injected_letter()
    record = extract(text, backend="rules")
    assert "<script>" in record.items[0].rationale
    assert record.metadata is not None
    record.metadata.review_reasons = ["<img src=x onerror=alert(1)> reason"]
    record.metadata.needs_review = True
    page = record_to_html(record, text, title="<b>title</b>")
    parsed = _parse(page)
    assert parsed.scripts == 1 and not parsed.external  # only the page's own inline script
    assert '<script>alert("x")' not in page and "<b>stable" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;stable" in page
    assert "&lt;img src=x onerror=alert(1)&gt; reason" in page
    assert "&lt;b&gt;title&lt;/b&gt;" in page
    assert not re.search(r"(?i)https?:|url\(|@import", page)
    assert "default-src 'none'" in page  # the browser refuses any fetch the page might try
    # The span over the markup still holds exactly that text.
    span = record.metadata.evidence["items[0].rationale"].span
    assert span is not None
    assert "".join(parsed.marked["items[0].rationale"]) == _shown(text[span.start : span.end])


def test_control_characters_are_shown_not_passed_through() -> None:
    text = gold_text("gA01").replace("HOW THE IMR", "HOW\x00THE\x1bIMR", 1)
    record = extract(text, backend="rules")
    page = record_to_html(record, text)
    assert "\x00" not in page and "\x1b" not in page and "HOW\ufffdTHE\ufffdIMR" in page


# ---------------------------------------------------------------------------------------------
# Badges, banner, provenance, gold
# ---------------------------------------------------------------------------------------------


def test_badges_and_the_review_banner() -> None:
    text = (GOLD / "renderings/ocr/gB04.txt").read_text(encoding="utf-8")
    record = extract(text, backend="rules")
    meta = record.metadata
    assert meta is not None and meta.needs_review and meta.review_reasons
    parsed = _parse(record_to_html(record, text))
    page = record_to_html(record, text)
    assert "Needs review" in page and "No review needed" not in page
    for reason in meta.review_reasons:
        assert reason.replace("'", "&#x27;") in page
    placed = {p: ev for p, ev in meta.evidence.items() if ev.span is not None}
    for p, ev in placed.items():
        assert parsed.rows[p]["data-status"] == ev.status
        assert ev.status in "".join(parsed.row_text[p])
    unverified = [p for p, e in placed.items() if e.status == "unverified"]
    assert unverified == ["date_of_injury"]
    # gB04 is a headerless letter OCR'd: nothing in it shows it was printed without a header
    # (one lost to the scan reads the same), so its header values are flagged missing.
    missing = sorted(p for p, e in meta.evidence.items() if e.span is None)
    assert missing == sorted(
        ["case_number", "date_assigned", "decision_date", "ur_denial_date",
         "application_received", "priority"]
    )  # fmt: skip
    assert all(meta.evidence[p].note.startswith("missing:") for p in missing)
    assert f"Next to check ({1 + len(missing)})" in page


def test_a_clean_record_says_no_review_is_needed() -> None:
    text = gold_text("gA06")
    record = extract(text, backend="rules")
    assert record.metadata is not None and not record.metadata.needs_review
    page = record_to_html(record, text)
    assert "No review needed" in page and "Needs review" not in page
    assert "Next to check" not in page
    n = len(record.metadata.evidence)
    assert f"\u2713 {n} exact" in page


def test_a_record_without_evidence_says_nothing_was_checked() -> None:
    text = gold_text("gA01")
    record = DeterminationRecord.model_validate(gold_label("gA01"))
    page = record_to_html(record, text)
    assert "No evidence" in page and "<mark" not in page
    assert "unknown (the record has no metadata)" in page


def test_provenance_of_a_model_record() -> None:
    text = gold_text("gA01")
    record = extract(text, backend="rules")
    assert record.metadata is not None
    data = record.model_dump(mode="json")
    data["metadata"].update(
        engine="llm", backend="cascade", model="gpt-4o-mini", prompt_version="extract-v1",
        prompt_hash="0123456789abcdef", cost_usd=0.00123,
        usage={"prompt_tokens": 4000, "completion_tokens": 600, "total_tokens": 4600},
        source="/letters/a.txt", rules_failure="the rules record needs review: x",
    )  # fmt: skip
    page = record_to_html(DeterminationRecord.model_validate(data), text)
    for shown in ("gpt-4o-mini", "extract-v1", "0123456789ab", "4,600", "4,000 in, 600 out",
                  "$0.0012", "a.txt", "(backend cascade)",
                  "The rules engine passed this letter to the model"):  # fmt: skip
        assert shown in page, shown


def test_gold_value_beside_each_wrong_one() -> None:
    text = gold_text("gA01")
    gold = gold_label("gA01")
    record = extract(text, backend="rules")
    assert record.contract_dict() == gold  # the clean letter is read right
    page = record_to_html(record, text, gold=gold)
    assert "every value matches the gold label" in page and 'class="goldtag"' not in page

    wrong = copy.deepcopy(gold)
    wrong["decision_date"] = "2001-02-03"
    wrong["items"][0]["outcome"] = {"upheld": "overturned", "overturned": "upheld"}[
        gold["items"][0]["outcome"]
    ]
    wrong["reviewer"]["licensure_states"].append("Texas")
    parsed = _parse(record_to_html(record, text, gold=wrong))
    decision = "".join(parsed.row_text["decision_date"])
    y, m, d = wrong["decision_date"].split("-")
    assert "gold" in decision and f"{m}/{d}/{y}" in decision
    assert "wrong" in parsed.rows["decision_date"]["class"]
    outcome = "".join(parsed.row_text["items[0].outcome"])
    assert "gold" in outcome and wrong["items"][0]["outcome"].capitalize() in outcome
    assert "wrong" not in parsed.rows["case_number"]["class"]
    page = record_to_html(record, text, gold=wrong)
    assert "Licensure state missing from the record" in page and "Texas" in page
    assert "Against gold" in page and "3 wrong" in page


# ---------------------------------------------------------------------------------------------
# imr-llm review
# ---------------------------------------------------------------------------------------------


def test_review_command_writes_a_page_per_letter_and_reports_unreadable_ones(
    tmp_path: Path,
) -> None:
    a = tmp_path / "in" / "a.txt"
    a.parent.mkdir()
    a.write_text(gold_text("gA01"), encoding="utf-8")
    b = tmp_path / "b.txt"
    b.write_text(gold_text("gA06"), encoding="utf-8")
    out = tmp_path / "pages" / "deep"  # missing: created
    result = CliRunner().invoke(
        app, ["review", str(a), str(tmp_path / "missing.txt"), str(b), "--out", str(out),
              "--backend", "rules"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.html", "b.html"]
    assert "failed" in result.stderr and "missing.txt" in result.stderr
    assert "wrote 2 review page(s)" in result.stderr and "1 failed" in result.stderr
    assert "Traceback" not in result.output
    page = (out / "a.html").read_text(encoding="utf-8")
    assert "CM16-0221348" in page and "a.txt" in page


def test_review_command_needs_out_and_letters(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["review", str(tmp_path / "a.txt")])
    assert result.exit_code == 2 and "--out" in result.stderr
    result = runner.invoke(app, ["review", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no letter files given" in result.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    letter = tmp_path / "a.txt"
    letter.write_text(gold_text("gA01"), encoding="utf-8")
    result = runner.invoke(app, ["review", str(letter), "--out", str(blocker / "sub")])
    assert result.exit_code == 2 and "cannot write" in result.stderr
    result = runner.invoke(app, ["review", str(letter), "--out", str(tmp_path), "-b", "nope"])
    assert result.exit_code == 2 and "unknown backend" in result.stderr


def test_same_stem_letters_get_pages_of_their_own(tmp_path: Path) -> None:
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "letter.txt").write_text(gold_text("gA01"), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["review", str(tmp_path / "x/letter.txt"), str(tmp_path / "y/letter.txt"),
              "--out", str(out), "-b", "rules"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["letter-2.html", "letter.html"]


def test_review_command_renders_records_already_extracted(tmp_path: Path) -> None:
    letters = []
    for name in ("gA01", "gA06"):
        path = tmp_path / f"{name}.txt"
        path.write_text(gold_text(name), encoding="utf-8")
        letters.append(path)
    records = tmp_path / "records.jsonl"
    runner = CliRunner()
    result = runner.invoke(
        app, ["extract", *map(str, letters), "-b", "rules", "-o", str(records), "-q"]
    )
    assert result.exit_code == 0, result.output
    # A record the reviewer can tell apart from a fresh extraction: its engine says so.
    lines = [json.loads(line) for line in records.read_text().splitlines()]
    for line in lines:
        line["metadata"]["model"] = "from-the-earlier-run"
    records.write_text("\n".join(json.dumps(x) for x in lines) + "\n{torn", encoding="utf-8")

    out = tmp_path / "pages"
    result = runner.invoke(app, ["review", *map(str, letters), "--records", str(records),
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 line(s)" in result.stderr  # the torn line, skipped and said
    for name in ("gA01", "gA06"):
        assert "from-the-earlier-run" in (out / f"{name}.html").read_text(encoding="utf-8")

    # No files: every letter the records name.
    out2 = tmp_path / "pages2"
    result = runner.invoke(app, ["review", "--records", str(records), "--out", str(out2)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out2.iterdir()) == ["gA01.html", "gA06.html"]

    # A letter edited since: its record's spans would point at the wrong text.
    letters[0].write_text(gold_text("gA01") + "\nAn added line.\n", encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text(gold_text("gA02"), encoding="utf-8")
    result = runner.invoke(
        app, ["review", str(letters[0]), str(other), "--records", str(records), "--out",
              str(tmp_path / "pages3")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "changed since its record was extracted" in result.stderr
    assert "other.txt: no record for this letter" in result.stderr


@requires_corpus
def test_review_command_on_a_real_letter(tmp_path: Path) -> None:
    letter = next(iter(sorted((CORPUS / "text-layout").glob("*.txt"))))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["review", str(letter), "--out", str(out), "-b", "rules"])
    assert result.exit_code == 0, result.output
    page = (out / f"{letter.stem}.html").read_text(encoding="utf-8")
    assert letter.stem in page and "<mark" in page


# ---------------------------------------------------------------------------------------------
# The eval report links each case to its page
# ---------------------------------------------------------------------------------------------


def test_eval_report_links_each_case_to_its_review_page(tmp_path: Path) -> None:
    from imr_llm.eval import run_eval, write_report

    run = run_eval(GOLD, "rules", letters=["gB04"])
    report = write_report(run, GOLD, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)">', page)
    with_record = [c for c in report["per_case"] if c["error"] is None]
    assert with_record and len(links) == len(with_record)
    for case, link in zip(with_record, links, strict=True):
        assert link == f"review/{case['letter']}__{case['rendering']}.html"
        assert (tmp_path / link).is_file()
    assert len(list((tmp_path / "review").iterdir())) == len(with_record)
    # gB04's OCR rendering leaves the injury date unread: the gold value is beside it.
    ocr = (tmp_path / "review" / "gB04__ocr.html").read_text(encoding="utf-8")
    y, m, d = gold_label("gB04")["date_of_injury"].split("-")
    row = "".join(_parse(ocr).row_text["date_of_injury"])
    assert "gold" in row and f"{m}/{d}/{y}" in row
