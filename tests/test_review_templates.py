"""The review page drawn from template files: the same page as before, loaded once, escaped.

The page's markup moved from Python strings (``imr_llm/review.py`` at :data:`BASE`) to Jinja2
templates with the CSS and script as files of their own (issue 19). The first test holds the
move to its promise: for letters of every rendering, with and without gold, and for records
built to reach every branch of the page (markup in every text that reaches it, provenance of a
model record, OCR pages, misplaced spans, gold items missing), the page parses to the same
elements, attributes and text as the page the code before the move draws. The earlier pages
are drawn here, by that code taken from git, never stored. The only difference allowed is the
Content Security Policy's ``script-src``, which now names the script's hash instead of allowing
any inline script. When the page is changed on purpose, this comparison has done its job:
delete it rather than teach it the change.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from types import ModuleType
from typing import Any

import pytest
from conftest import GOLD, REPO, gold_label, gold_text
from letters import ITEM_ONE, ITEM_TWO, Letter

from imr_llm import DeterminationRecord, extract, record_to_html
from imr_llm.errors import ImrError

#: The last commit whose review page was drawn from Python strings.
BASE = "b322599"

Render = Callable[..., str]


# ---------------------------------------------------------------------------------------------
# The page as parsed: what a browser builds from it
# ---------------------------------------------------------------------------------------------


class _Tokens(HTMLParser):
    """Start tags with their attributes, end tags and text (character references resolved,
    adjacent text joined): two pages with the same tokens build the same document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[tuple[Any, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(("start", tag, tuple(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(("start", tag, tuple(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.out.append(("end", tag))

    def handle_data(self, data: str) -> None:
        if self.out and self.out[-1][0] == "data":
            self.out[-1] = ("data", self.out[-1][1] + data)
        else:
            self.out.append(("data", data))

    def handle_decl(self, decl: str) -> None:
        self.out.append(("decl", decl))


def _tokens(page: str) -> list[tuple[Any, ...]]:
    parser = _Tokens()
    parser.feed(page)
    parser.close()
    return parser.out


def _policy(tokens: list[tuple[Any, ...]]) -> dict[str, str]:
    """The page's Content Security Policy, directive -> sources."""
    for token in tokens:
        if token[0] == "start" and token[1] == "meta":
            attrs = dict(token[2])
            if attrs.get("http-equiv") == "Content-Security-Policy":
                parts = (p.strip().split(None, 1) for p in str(attrs["content"]).split(";"))
                return {p[0]: p[1] if len(p) > 1 else "" for p in parts if p}
    raise AssertionError("the page has no Content Security Policy")


def _code(text: str) -> str:
    """A stylesheet's or script's code: its comments and surrounding whitespace dropped (the
    files the page inlines now say what they are in a comment at their top)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"(?m)^//.*\n", "", text).strip()


def _comparable(tokens: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The tokens but the Content Security Policy, with the style's and script's code alone."""
    out = []
    inside = None
    for token in tokens:
        if token[0] == "start" and token[1] == "meta":
            attrs = dict(token[2])
            if attrs.get("http-equiv") == "Content-Security-Policy":
                token = ("start", "meta", (("http-equiv", "Content-Security-Policy"),))
        if token[0] == "data" and inside in ("style", "script"):
            token = ("data", _code(token[1]))
        inside = token[1] if token[0] == "start" else None
        out.append(token)
    return out


def _script(tokens: list[tuple[Any, ...]]) -> str:
    k = next(i for i, t in enumerate(tokens) if t[:2] == ("start", "script"))
    assert tokens[k + 1][0] == "data" and tokens[k + 2] == ("end", "script")
    return str(tokens[k + 1][1])


# ---------------------------------------------------------------------------------------------
# The page before the move, drawn by its own code
# ---------------------------------------------------------------------------------------------


#: The modules the old page imported, and where they live since the package's re-layout.
_MOVED = {".models": ".record.models", ".text": ".form.text"}


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Render]:
    """``record_to_html`` as :data:`BASE` wrote it, run against today's models and scoring."""
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("needs git and the project's history (the page before the move)")
    shown = subprocess.run(
        [git, "-C", str(REPO), "show", f"{BASE}:imr_llm/review.py"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if shown.returncode != 0:
        pytest.skip(f"commit {BASE} (the page before the move) is not in this checkout")
    path = tmp_path_factory.mktemp("before") / "review_before_templates.py"
    # Its imports, pointed at where those modules live since the package's re-layout.
    source = shown.stdout
    for old, new in _MOVED.items():
        source = source.replace(f"from {old} import", f"from {new} import")
    path.write_text(source, encoding="utf-8")
    name = "imr_llm._review_before_templates"  # inside imr_llm: its relative imports resolve
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module.record_to_html
    finally:
        sys.modules.pop(name, None)


# ---------------------------------------------------------------------------------------------
# Records that reach every part of the page
# ---------------------------------------------------------------------------------------------


def _rules(text: str) -> DeterminationRecord | None:
    try:
        return extract(text, backend="rules")
    except ImrError:
        return None  # a rendering the rules engine refuses: no record, no page


def _marked_up_letter() -> str:
    """Markup and quotes in the letter (the rationale), and the items on a second page."""
    item = ITEM_ONE.replace(
        "The records show a\nstable knee.",
        "The records show a\n<script>alert(\"x\")</script> & <b>stable</b> knee's 'x'.",
    )
    text = str(Letter(items=[item, ITEM_TWO]))
    heading = "\n                      IMR ISSUES"
    return text.replace(heading, "\n\f" + heading[1:])


def _built_cases() -> Iterator[tuple[str, DeterminationRecord, str, dict[str, Any]]]:
    """Records built to reach the page's branches a rules extraction of a clean letter
    does not: every text that reaches the page carries markup."""
    from imr_llm.record.models import InputInfo, Span

    text = _marked_up_letter()
    record = extract(text, backend="rules")
    assert record.metadata is not None
    yield "marked-up letter", record, text, {"title": "<b>\"title\"</b> & 'x'"}

    data = record.model_dump(mode="json")
    data["diagnoses"] = ["<i>lumbar</i> strain", 'knee "sprain"']
    data["metadata"].update(
        engine="llm", backend="cascade", model="gpt-<4o>", prompt_version="extract-v1 <&>",
        prompt_hash="0123456789abcdef<>", cost_usd=0.00123, letter_form="2016-current",
        usage={"prompt_tokens": 4000, "completion_tokens": 600, "total_tokens": 4600,
               "cached_tokens": 1000, "estimated": True},
        attempts=[{"attempt": 1, "outcome": "invalid"}, {"attempt": 2, "outcome": "ok"}],
        source="C:\\letters\\<a>.txt",
        rules_failure="the rules record needs <b>review</b>: x", needs_review=True,
        review_reasons=["<img src=x onerror=alert(1)> reason", "it's \"quoted\""],
        warnings=["<warning> one", "two & three"], imr_llm_version="9.9<",
    )  # fmt: skip
    model = DeterminationRecord.model_validate(data)
    assert model.metadata is not None
    second = text.index("IMR ISSUES")
    model.metadata.input = InputInfo(
        kind="pdf", text_from="mixed", pages=2, ocr_pages=[2], ocr_engine="tesseract",
        ocr_engine_version="5.3.0", ocr_mean_confidence=0.87, encoding="utf-8",
        page_starts=[0, second],
    )  # fmt: skip
    yield "model record, OCR page, warnings", model, text.replace("\f", ""), {}

    ocr_only = model.model_copy(deep=True)
    assert ocr_only.metadata is not None and ocr_only.metadata.input is not None
    ocr_only.metadata.input.text_from = "ocr"
    ocr_only.metadata.source = "/letters/scan.pdf"
    ocr_only.metadata.usage = None
    ocr_only.metadata.attempts = ocr_only.metadata.attempts[:1]
    ocr_only.metadata.review_reasons = []  # flagged, yet no reason given
    yield "OCR input, posix path", ocr_only, text.replace("\f", ""), {}

    clean = gold_text("gA01")
    misplaced = extract(clean, backend="rules")
    assert misplaced.metadata is not None
    ev = misplaced.metadata.evidence
    age = ev["patient.age"].span
    assert age is not None
    ev["patient.age"].span = Span(start=age.start, end=age.start)
    ev["case_number"].span = Span(start=len(clean) + 5, end=len(clean) + 9)
    ev["date_assigned"].span = None
    ev["date_assigned"].status = "unverified"
    ev["priority"].status = "odd"  # an older record's status the page does not know
    ev["not.a.field"] = ev["decision_date"].model_copy()
    yield "misplaced spans, other evidence", misplaced, clean, {}

    no_evidence = DeterminationRecord.model_validate(gold_label("gA01"))
    yield "no metadata", no_evidence, clean, {}
    yield "no metadata, gold", no_evidence, clean, {"gold": gold_label("gA02")}

    gold = gold_label("gA01")
    wrong = copy.deepcopy(gold)
    wrong["decision_date"] = "2001-02-03"
    wrong["date_of_injury"] = "not a date"
    wrong["priority"] = None
    wrong["items"][0]["outcome"] = {"upheld": "overturned", "overturned": "upheld"}[
        gold["items"][0]["outcome"]
    ]
    wrong["items"][0]["rationale"] = "<b>another</b> rationale"
    wrong["reviewer"]["licensure_states"].append("Tex<as>")
    wrong["reviewer"]["specialties"] = ["Some <other> specialty"]
    wrong["items"].append({**gold["items"][0], "service": "A <gold> item the record lacks",
                           "outcome": None})  # fmt: skip
    wrong["items"].append({**gold["items"][0], "service": "Another one", "outcome": "upheld"})
    yield (
        "gold, wrong values and missing items",
        extract(clean, backend="rules"),
        clean,
        {"gold": wrong},
    )
    yield (
        "gold as a record",
        extract(clean, backend="rules"),
        clean,
        {"gold": DeterminationRecord.model_validate(gold)},
    )

    bare = extract(clean, backend="rules")
    bare.reviewer.licensure_states = []
    bare.reviewer.specialties = []
    bare.items[0].original_request = "<partly> certified"
    yield "empty lists, a partly certified request", bare, clean, {"gold": gold}


def _letter_cases() -> Iterator[tuple[str, DeterminationRecord, str, dict[str, Any]]]:
    """Every gold letter as written; every rendering of a few, each with its gold label."""
    for path in sorted((GOLD / "letters").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        record = _rules(text)
        if record is not None:
            yield path.stem, record, text, {}
    for name in ("gA03", "gB04", "gA11", "gN06", "seed-002"):
        for rendering in ("raw", "noise-heavy", "ocr", "ocrfax"):
            path = GOLD / "renderings" / rendering / f"{name}.txt"
            if not path.is_file():
                continue
            text = path.read_text(encoding="utf-8")
            record = _rules(text)
            if record is not None:
                yield f"{rendering}/{name}", record, text, {"gold": gold_label(name)}


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_the_page_is_the_page_drawn_before_the_templates(before: Render) -> None:
    cases = [*_letter_cases(), *_built_cases()]
    assert len(cases) > 50
    for name, record, text, kwargs in cases:
        old = _tokens(before(record, text, **kwargs))
        new = _tokens(record_to_html(record, text, **kwargs))
        assert _comparable(new) == _comparable(old), name
        old_policy, new_policy = _policy(old), _policy(new)
        assert old_policy.pop("script-src") == "'unsafe-inline'"
        assert re.fullmatch(r"'sha256-[A-Za-z0-9+/]+=*'", new_policy.pop("script-src")), name
        assert new_policy == old_policy, name


def test_the_policy_allows_the_page_s_own_script_and_nothing_else() -> None:
    """A script the page was made to carry (letter text escaped wrong) would not run: only the
    script whose hash the policy names does, and that is the page's own."""
    text = _marked_up_letter()
    page = record_to_html(extract(text, backend="rules"), text)
    tokens = _tokens(page)
    policy = _policy(tokens)
    assert policy["default-src"] == "'none'"
    assert "'unsafe-inline'" not in policy["script-src"]
    script = _script(tokens)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    assert policy["script-src"] == f"'sha256-{digest}'"
    assert sum(1 for t in tokens if t[:2] == ("start", "script")) == 1
