"""Read the disputed items: header and outcome, the two guidelines, and the rationale.

Each item is anchored on its outcome marker, the one thing every item header has:
"<service>: Upheld" at the end of a line, or "Upheld" alone on the line after a header that
ends with a colon. The header text is then found by walking back from the marker; the
item's body runs from the marker to the start of the next item's header.

Walking back is where letters differ most. A header may wrap over several lines; it is usually
preceded by a blank line, but in plain ``pdftotext`` output there are no blank lines, and a page
break can glue it to the previous rationale. The rule: keep adding the line above while it does
not end a sentence (a rationale's last line does), and cross a page break only in the middle of
a sentence. A partly certified request ("X was the original request. ...") spans sentences, so
the walk continues until the sentence that names the original request is included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..normalise import Document
from ..text import collapse_ws, contains_phrase, match_label, ocr_pattern, parse_outcome
from .findings import Findings

CA_LABEL = "Claims Administrator guideline"
MAXIMUS_LABEL = "MAXIMUS guideline"
RATIONALE_LABEL = "Decision rationale"
_LABELS = (
    ("claims_administrator_guideline", CA_LABEL),
    ("maximus_guideline", MAXIMUS_LABEL),
    ("rationale", RATIONALE_LABEL),
)
NO_EVIDENCE_PHRASE = "did not cite any medical evidence"

#: "<service>: Upheld" at the end of a line; OCR may damage the colon (";", ".", ":,"), put
#: marks before the word ("_ Upheld") and leave stray marks or letters after it ("Upheld : Se").
_TRAILING_OUTCOME = re.compile(
    r"[:;.,]+\s*[_~'|-]*\s*([A-Za-z0-9][^\s:;]{3,13})(?:\s*[^\w\s]{1,3}|\s+[A-Za-z]{1,3})*\s*$"
)
_SENTENCE_END = (".", "!", "?", ":", ";")
_ORIGINAL_REQUEST = re.compile(ocr_pattern("the original request").pattern, re.IGNORECASE)
#: "X was the original request. Y was authorized ... portion of the original request, Z is".
#: Spelled with OCR confusions allowed, since a misread "was" must not hide the structure.
_PARTIAL = re.compile(
    rf"^(?P<orig>.+?)\s+\w{{2,4}}\s+{ocr_pattern('the original request').pattern}\s*[.,]?\s*"
    rf"(?P<auth>.*?){ocr_pattern('portion of the original request').pattern}\s*[,.;]?\s*"
    r"(?P<svc>.+?)(?:\s+\w{2})?\s*$",
    re.IGNORECASE | re.DOTALL,
)
#: Stray marks OCR leaves at the end of a line (": :", "~~", "|"): not part of the text.
_TRAILING_MARKS = re.compile(r"(?:\s+[^\w\s(\[]{1,3})+$")


def _strip_trailing_marks(text: str) -> str:
    # Only the tail can hold them; searching the whole passage would cost a scan per space.
    m = _TRAILING_MARKS.search(text, max(0, len(text) - 24))
    return text[: m.start()] if m else text


@dataclass(frozen=True, slots=True)
class _Marker:
    line: int  # line holding the outcome
    header_end_col: int  # where the header text ends on that line (for "alone": 0)
    outcome: str
    alone: bool  # the outcome stands alone on its line


def _find_label(text: str) -> tuple[str, int] | None:
    # Every label ends in a colon-like character within its first 40 columns; most lines of a
    # rationale have none there, so this check keeps the common case cheap.
    head = text[:40]
    if ":" not in head and ";" not in head:
        return None
    for field, label in _LABELS:
        hit = match_label(text, label)
        if hit:
            return field, hit.value_start
    return None


def _outcome_marker(doc: Document, i: int, lo: int) -> _Marker | None:
    text = doc.lines[i].text
    if not text or _find_label(text):
        return None
    m = _TRAILING_OUTCOME.search(text)
    if m and (outcome := parse_outcome(m.group(1))):
        return _Marker(i, m.start(), outcome, False)
    stripped = text.strip()
    if len(stripped) <= 16 and (outcome := parse_outcome(stripped)):
        # An outcome alone counts only after a header line that ends with a colon.
        j = i - 1
        while j >= lo and doc.lines[j].blank:
            j -= 1
        if j >= lo and doc.lines[j].text.rstrip().endswith((":", ";")):
            return _Marker(i, 0, outcome, True)
    return None


def _header_start(doc: Document, marker: _Marker, floor: int) -> int:
    """First line of the item header that ends at ``marker`` (never above ``floor``)."""
    lines = doc.lines
    first = marker.line
    if marker.alone:
        first -= 1
        while first > floor and lines[first].blank:
            first -= 1
    j = first - 1
    while j >= floor:
        if lines[j].blank:
            # Blank lines at the foot of a page mean nothing when the header continues a
            # sentence across the page break; anywhere else they end the header.
            k = j
            while k >= floor and lines[k].blank:
                k -= 1
            if not (lines[first].page_break and k >= floor and _continues(lines[k].text)):
                break
            j = k
        if not _continues(lines[j].text):
            break
        first = j
        j -= 1
    # A partly certified request: extend to the sentence naming the original request.
    header = " ".join(line.text for line in lines[first : marker.line + 1])
    mentions = _ORIGINAL_REQUEST.findall(header)
    if len(mentions) == 1:  # only "...portion of the original request, Z is": find X's sentence
        j = first - 1
        while j >= floor and not lines[j].blank:
            first = j
            if _ORIGINAL_REQUEST.search(lines[j].text):
                break
            j -= 1
    return first


def _continues(text: str) -> bool:
    """True when a line does not end a sentence, so the next line may carry it on."""
    return not text.rstrip().endswith(_SENTENCE_END)


def find_item_markers(
    doc: Document, start: int, end: int
) -> tuple[list[_Marker], dict[int, tuple[str, int]]]:
    """The outcome markers of the items in lines ``[start, end)``, and the labelled lines.

    A marker must be followed by a label before the next marker; otherwise it is a stray
    "...: Upheld" inside a rationale, and is ignored. The grounding stage uses the count of
    markers to check how many items a model reports.
    """
    markers: list[_Marker] = []
    label_lines: dict[int, tuple[str, int]] = {}
    for i in range(start, end):
        label = _find_label(doc.lines[i].text)
        if label:
            label_lines[i] = label
            continue
        marker = _outcome_marker(doc, i, start)
        if marker:
            markers.append(marker)
    kept: list[_Marker] = []
    for k, marker in enumerate(markers):
        stop = markers[k + 1].line if k + 1 < len(markers) else end
        if any(marker.line < i < stop for i in label_lines):
            kept.append(marker)
    return kept or markers, label_lines


def read_items(doc: Document, start: int, end: int) -> Findings:
    """Read every disputed item in lines ``[start, end)``."""
    out = Findings()
    markers, label_lines = find_item_markers(doc, start, end)
    if not markers:
        out.missing.append("items")
        return out

    header_starts: list[int] = []
    floor = start
    for marker in markers:
        first = _header_start(doc, marker, floor)
        header_starts.append(first)
        floor = marker.line + 1

    rationale_count = sum(1 for f, _ in label_lines.values() if f == "rationale")
    if rationale_count > len(markers):
        out.missing.append(
            f"items (found {rationale_count} decision rationales but only {len(markers)} "
            "readable item headers with an outcome)"
        )

    items: list[dict] = []
    for k, marker in enumerate(markers):
        body_end = header_starts[k + 1] if k + 1 < len(markers) else end
        item, spans, missing = _read_item(doc, marker, header_starts[k], body_end, label_lines)
        items.append(item)
        for key, span in spans.items():
            out.spans[f"items[{k}].{key}"] = span
        out.missing.extend(f"items[{k}].{m}" for m in missing)
    out.values["items"] = items
    return out


def _read_item(
    doc: Document,
    marker: _Marker,
    first: int,
    body_end: int,
    label_lines: dict[int, tuple[str, int]],
) -> tuple[dict, dict[str, tuple[int, int]], list[str]]:
    lines = doc.lines
    spans: dict[str, tuple[int, int]] = {}
    missing: list[str] = []

    # --- header ------------------------------------------------------------------------------
    if marker.alone:
        last = marker.line - 1
        while last > first and lines[last].blank:
            last -= 1
        header_parts = [line.text for line in lines[first : last + 1]]
        header_end = lines[last].end
        header = collapse_ws(" ".join(header_parts)).rstrip(" :;")
    else:
        header_parts = [line.text for line in lines[first : marker.line]]
        header_parts.append(lines[marker.line].text[: marker.header_end_col])
        header_end = doc.offset(marker.line, marker.header_end_col)
        header = collapse_ws(" ".join(header_parts))
    header_start = lines[first].start + (len(lines[first].text) - len(lines[first].text.lstrip()))

    original_request = None
    service = header
    partial = _PARTIAL.match(header) if _ORIGINAL_REQUEST.search(header) else None
    if partial:
        original_request = partial.group("orig").strip(" .,")
        service = partial.group("svc").strip(" .,")
        orig_at = doc.source.find(original_request[:20], header_start, header_end)
        if orig_at >= 0:
            spans["original_request"] = (orig_at, orig_at + len(original_request))
    if service:
        svc_at = doc.source.find(service.split(" ")[0], header_start, header_end)
        spans["service"] = (svc_at if svc_at >= 0 else header_start, header_end)
    else:
        missing.append("service")
    spans["outcome"] = (
        doc.offset(marker.line, marker.header_end_col),
        lines[marker.line].end,
    )

    # --- labelled parts of the body ------------------------------------------------------------
    found: list[tuple[int, str, int]] = []  # (line, field, column)
    for i in range(marker.line + 1, body_end):
        if i in label_lines:
            field, column = label_lines[i]
            if not any(f == field for _, f, _ in found):
                found.append((i, field, column))
    values: dict[str, str | None] = {}
    for n, (i, field, column) in enumerate(found):
        stop = found[n + 1][0] if n + 1 < len(found) else body_end
        parts = [lines[i].text[column:]] + [line.text for line in lines[i + 1 : stop]]
        text = _strip_trailing_marks(collapse_ws(" ".join(parts)))
        values[field] = text or None
        last = stop - 1
        while last > i and lines[last].blank:
            last -= 1
        spans[field] = (doc.offset(i, column), lines[last].end)

    for field, _ in _LABELS:
        if field not in values:
            missing.append(field)
    ca = values.get("claims_administrator_guideline")
    if ca and contains_phrase(ca, NO_EVIDENCE_PHRASE):
        ca = None
    if "rationale" in values and not values["rationale"]:
        missing.append("rationale")

    item = {
        "service": service,
        "original_request": original_request,
        "outcome": marker.outcome,
        "claims_administrator_guideline": ca,
        "maximus_guideline": values.get("maximus_guideline"),
        "rationale": values.get("rationale"),
    }
    return item, spans, missing
