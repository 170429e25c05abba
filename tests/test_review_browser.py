"""The review page in a real browser: headless Chromium driven by selenium.

Every evidence span must be highlighted (its marks hold exactly the letter text the span points
at, in a visible colour), clicking a value must scroll the letter to its span and mark it, and
clicking a highlighted span must select its value. The page must load nothing and log no error.

Skipped, saying why, where Chromium or its driver is absent (Debian: ``apt-get install chromium
chromium-driver``; ``.ci/run`` installs them) or selenium is not installed (the ``test`` extra).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, GOLD, gold_label, requires_corpus

from imr_llm import DeterminationRecord, extract, record_to_html

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')"
)
By = pytest.importorskip("selenium.webdriver.common.by").By

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser")) if p is not None), None
)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium and chromedriver are needed "
    "(Debian: apt-get install -y chromium chromium-driver)",
)

#: Flags that keep Chromium from reaching out: on a machine without a network it otherwise
#: waits on component updates, sync and QUIC, or refuses to start in a container.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="imr-review-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(browser: Any, tmp_path: Path, record: DeterminationRecord, text: str, **kw: Any) -> None:
    page = tmp_path / "page.html"
    page.write_text(record_to_html(record, text, **kw), encoding="utf-8")
    browser.get(page.as_uri())


def _shown(text: str) -> str:
    """Letter text as a highlight shows it: no line or page breaks; other controls visible."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", "\ufffd", re.sub(r"[\n\f\r]", "", text))


_MARKS = """
const out = {};
for (const m of document.querySelectorAll('mark')) {
  const bg = getComputedStyle(m).backgroundColor;
  for (const p of m.dataset.paths.split(' ')) {
    (out[p] = out[p] || {text: '', colours: []});
    out[p].text += m.textContent;
    out[p].colours.push(bg);
  }
}
return out;
"""

#: Is an element inside the visible part of its scrolling pane (and of the window)?
_VISIBLE = """
const el = arguments[0], pane = el.closest('.pane');
const r = el.getBoundingClientRect(), p = pane.getBoundingClientRect();
return r.bottom > p.top && r.top < p.bottom && r.top >= 0 && r.bottom <= window.innerHeight;
"""


def _alpha(colour: str) -> float:
    """The opacity of a computed CSS colour: ``rgb(...)`` is opaque, ``rgba(..., a)`` is a."""
    parts = re.findall(r"[\d.]+", colour)
    return float(parts[3]) if colour.startswith("rgba") and len(parts) == 4 else 1.0


def _letter(path: str) -> tuple[DeterminationRecord, str]:
    text = (GOLD / path).read_text(encoding="utf-8")
    return extract(text, backend="rules"), text


def _check_no_errors(browser: Any) -> None:
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


@pytest.mark.parametrize(
    "path", ["letters/gA06.txt", "renderings/ocr/gB04.txt", "renderings/ocrfax/gA03.txt"]
)
def test_every_span_is_highlighted(browser: Any, tmp_path: Path, path: str) -> None:
    record, text = _letter(path)
    assert record.metadata is not None
    _open(browser, tmp_path, record, text)
    marks = browser.execute_script(_MARKS)
    spans = {p: e.span for p, e in record.metadata.evidence.items() if e.span is not None}
    assert spans and set(marks) == set(spans)
    for p, span in spans.items():
        assert marks[p]["text"] == _shown(text[span.start : span.end]), p
        for colour in marks[p]["colours"]:
            assert _alpha(colour) >= 0.1, (p, colour)  # a tint one can see
    _check_no_errors(browser)


def test_clicking_a_value_marks_its_span_and_the_reverse(browser: Any, tmp_path: Path) -> None:
    record, text = _letter("letters/gA06.txt")
    assert record.metadata is not None
    _open(browser, tmp_path, record, text)
    rows = browser.find_elements(By.CSS_SELECTOR, ".val[data-path]")
    paths = [r.get_attribute("data-path") for r in rows]
    assert set(paths) == set(record.metadata.evidence)  # every value with a place is linked
    for row, path in zip(rows, paths, strict=True):
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
        row.click()
        selected = browser.find_elements(By.CSS_SELECTOR, "mark.sel")
        assert selected, path
        assert all(path in m.get_attribute("data-paths").split() for m in selected), path
        n_marks = browser.execute_script(
            "return [...document.querySelectorAll('mark')].filter("
            "m => m.dataset.paths.split(' ').includes(arguments[0])).length",
            path,
        )
        assert len(selected) == n_marks, path  # all of its span, nothing else
        assert browser.execute_script(_VISIBLE, selected[0]), f"{path}: span not scrolled to"
        assert "sel" in row.get_attribute("class").split()

    # The reverse: a highlight selects its value and brings it into view.
    browser.execute_script("document.getElementById('record').scrollTop = 0")
    last = browser.find_elements(By.CSS_SELECTOR, "mark.hl")[-1]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", last)
    last.click()
    path = last.get_attribute("data-paths").split()[0]
    row = browser.find_element(By.CSS_SELECTOR, f'.val[data-path="{path}"]')
    assert "sel" in row.get_attribute("class").split()
    assert browser.execute_script(_VISIBLE, row)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".val.sel")) == 1
    _check_no_errors(browser)


def test_every_highlight_selects_its_value(browser: Any, tmp_path: Path) -> None:
    record, text = _letter("renderings/ocr/gB04.txt")
    _open(browser, tmp_path, record, text, gold=gold_label("gB04"))
    for mark in browser.find_elements(By.CSS_SELECTOR, "mark.hl"):
        paths = mark.get_attribute("data-paths").split()
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", mark)
        browser.execute_script("arguments[0].click()", mark)  # the whole mark, wherever it wraps
        chosen = [r.get_attribute("data-path") for r in
                  browser.find_elements(By.CSS_SELECTOR, ".val.sel")]  # fmt: skip
        assert len(chosen) == 1 and chosen[0] in paths, (paths, chosen)


def test_clicking_again_steps_through_values_sharing_a_place(browser: Any, tmp_path: Path) -> None:
    record, text = _letter("letters/gA06.txt")
    _open(browser, tmp_path, record, text)
    shared = [m for m in browser.find_elements(By.CSS_SELECTOR, "mark.hl")
              if len(m.get_attribute("data-paths").split()) > 1]  # fmt: skip
    assert shared  # the specialties share the credentials line as their place
    mark = shared[0]
    paths = mark.get_attribute("data-paths").split()
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", mark)
    chosen = []
    for _ in paths:
        browser.execute_script("arguments[0].click()", mark)
        chosen.append(browser.find_element(By.CSS_SELECTOR, ".val.sel").get_attribute("data-path"))
    assert sorted(chosen) == sorted(paths)


def test_next_to_check_steps_through_flagged_values(browser: Any, tmp_path: Path) -> None:
    record, text = _letter("renderings/ocrfax/gA03.txt")
    assert record.metadata is not None and record.metadata.needs_review
    flagged = {p for p, e in record.metadata.evidence.items()
               if e.status in ("unverified", "repaired") and e.span is not None}  # fmt: skip
    _open(browser, tmp_path, record, text)
    button = browser.find_element(By.ID, "next-flag")
    seen = set()
    for _ in flagged:
        button.click()
        seen.add(browser.find_element(By.CSS_SELECTOR, ".val.sel").get_attribute("data-path"))
    assert seen == flagged
    banner = browser.find_element(By.CSS_SELECTOR, ".banner.review").text
    for reason in record.metadata.review_reasons:
        assert " ".join(reason.split()) in " ".join(banner.split())


@requires_corpus
def test_a_real_letter_renders_and_links(browser: Any, tmp_path: Path) -> None:
    letter = next(iter(sorted((CORPUS / "text-layout").glob("*.txt"))))
    text = letter.read_text(encoding="utf-8")
    record = extract(text, backend="rules")
    assert record.metadata is not None
    _open(browser, tmp_path, record, text)
    marks = browser.execute_script(_MARKS)
    for p, e in record.metadata.evidence.items():
        if e.span is not None:
            assert marks[p]["text"] == _shown(text[e.span.start : e.span.end]), p
    _check_no_errors(browser)
