"""Seeded text-level damage for gold letters: plain-pdftotext header layout and OCR-like noise.

Why: the extractor sees letters as ``pdftotext -layout`` text, as plain ``pdftotext`` text
(which prints a header table column by column: all left labels, then all left values, ...),
and as OCR output. The gold set only stores the clean ``-layout`` text, so this module derives
the other shapes from it, deterministically, so every rendering keeps its letter's gold label.

* :func:`raw_header_layout` reproduces the plain-pdftotext shape (checked line-for-line
  against the corpus' ``text-raw`` files).
* :func:`noisy` adds OCR-like character confusions, split/merged words, stray marks, page
  furniture (page numbers, fax banners) and a broken header table, at a ``light`` (~2 % CER)
  or ``heavy`` (~6 % CER) level. Same text + seed -> same output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random

RUN_RE = re.compile(r"\S+(?: \S+)*")  # words separated by single spaces = one table cell
GAP_SPLIT_RE = re.compile(r" {3,}")  # a real layout gap (pdftotext raw prints a new line)
HYPHEN_END_RE = re.compile(r"[A-Za-z0-9]-$")  # a line-end hyphen that pdftotext dehyphenates
COL_TOLERANCE = 3  # runs whose start columns differ by <= this belong to the same column


# --------------------------------------------------------------------------------------------
# Header table parsing (shared by the raw layout and the "broken header" noise)
# --------------------------------------------------------------------------------------------


@dataclass
class Header:
    """A ``-layout`` header table: its lines, their cells (column, text) and where it ends."""

    lines: list[str]
    cells: list[list[tuple[int, str]]]
    start: int  # index of the first table line
    end: int  # index of the first line after the table


def _runs(line: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in RUN_RE.finditer(line.expandtabs())]


def find_header(lines: Sequence[str]) -> Header | None:
    """Return the leading header table, if any.

    A header table is the first block of non-blank lines (before the first blank line) in
    which at least two lines hold a ``Label:`` cell followed by a value cell. This matches the
    MAXIMUS "Case Number: / Date Assigned: ..." block without hard-coding its labels, so
    older or variant headers are handled the same way.
    """
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    end = start
    while end < len(lines) and lines[end].strip() and "\f" not in lines[end]:
        end += 1
    block = list(lines[start:end])
    if not block or len(block) > 12:
        return None
    cells = [_runs(ln) for ln in block]
    labelled = [
        i
        for i, row in enumerate(cells)
        if len(row) >= 2 and any(t.endswith(":") for _, t in row[:-1])
    ]
    if len(labelled) < 2:
        return None
    # Lines above the first labelled row (e.g. a right-aligned "Page 1 of 3") are page
    # furniture, not table cells; leave them to the body transform.
    first = labelled[0]
    return Header(lines=block[first:], cells=cells[first:], start=start + first, end=end)


def _column_clusters(cells: list[list[tuple[int, str]]]) -> list[int]:
    """Distinct column starts, merging starts within COL_TOLERANCE of each other."""
    starts = sorted({col for row in cells for col, _ in row})
    clusters: list[int] = []
    for col in starts:
        if clusters and col - clusters[-1] <= COL_TOLERANCE:
            continue
        clusters.append(col)
    return clusters


def _column_of(col: int, clusters: list[int]) -> int:
    return min(range(len(clusters)), key=lambda i: abs(clusters[i] - col))


def header_columns(header: Header) -> list[list[str]]:
    """Cells grouped by table column (left labels, left values, right labels, ...), in order."""
    clusters = _column_clusters(header.cells)
    columns: list[list[str]] = [[] for _ in clusters]
    for row in header.cells:
        for col, text in row:
            columns[_column_of(col, clusters)].append(text)
    return [c for c in columns if c]


# --------------------------------------------------------------------------------------------
# Plain pdftotext (no -layout) shape
# --------------------------------------------------------------------------------------------


def _raw_body(lines: Sequence[str]) -> list[str]:
    """Body lines as plain pdftotext prints them.

    Compared with ``-layout``: indentation (e.g. centred headings) is gone, blank lines are
    dropped, a cell separated by a wide gap is printed on its own line, and every page ends
    with one blank line before the form feed.
    """
    out: list[str] = []
    for line in lines:
        pieces = line.split("\f")
        for i, piece in enumerate(pieces):
            if i > 0:
                # page break: pdftotext ends the page with a blank line, then "\f" opens the next
                out.append("")
                out.append("\f")
            for part in GAP_SPLIT_RE.split(piece.strip()):
                part = " ".join(part.split())
                if part:
                    out.append(part)
    # Glue form feeds to the first line of the following page, as pdftotext does, and join a
    # word hyphenated at a line end with its continuation ("anti-" + "depressants" ->
    # "antidepressants"; pdftotext also drops the hyphen of real compounds, "four-week").
    glued: list[str] = []
    pending_ff = False
    for line in out:
        if line == "\f":
            pending_ff = True
            continue
        if glued and line and not pending_ff and HYPHEN_END_RE.search(glued[-1]):
            glued[-1] = glued[-1][:-1] + line
            continue
        glued.append(("\f" + line) if pending_ff else line)
        pending_ff = False
    if pending_ff:
        glued.append("\f")
    return glued


def raw_header_layout(text: str) -> str:
    """Turn ``-layout`` text into the plain-pdftotext shape.

    The header table is printed column by column (left labels, blank line, left values,
    blank line, right labels, blank line, right values, blank line); the body loses its
    indentation and blank lines. Letters without a header table only get the body transform.
    """
    lines = text.split("\n")
    header = find_header(lines)
    out: list[str] = []
    body_from = 0
    if header is not None:
        out.extend(_raw_body(lines[: header.start]))
        for column in header_columns(header):
            out.extend(column)
            out.append("")
        body_from = header.end
    out.extend(_raw_body(lines[body_from:]))
    result = "\n".join(out)
    if not result.endswith("\f"):
        result += "\n"
    return result


# --------------------------------------------------------------------------------------------
# OCR-like noise
# --------------------------------------------------------------------------------------------

# (pattern, replacement, weight). Patterns are plain substrings; weights favour the confusions
# seen most in the corpus' OCR text (rn/m, l/1/I, e/c, cl/d, "California" -> "Califomia").
CONFUSIONS: tuple[tuple[str, str, float], ...] = (
    ("rn", "m", 6.0),
    ("m", "rn", 3.0),
    ("l", "1", 4.0),
    ("l", "I", 2.0),
    ("I", "l", 4.0),
    ("I", "1", 1.0),
    ("i", "l", 2.0),
    ("i", "í", 0.5),
    ("e", "c", 3.0),
    ("c", "e", 2.0),
    ("e", "é", 0.5),
    ("a", "o", 2.0),
    ("a", "e", 1.5),
    ("o", "0", 1.0),
    ("O", "0", 2.0),
    ("0", "O", 1.0),
    ("cl", "d", 3.0),
    ("d", "cl", 1.5),
    ("fi", "fl", 2.0),
    ("fl", "fi", 1.0),
    ("ri", "n", 2.0),
    ("h", "b", 1.5),
    ("b", "h", 1.0),
    ("n", "u", 1.5),
    ("u", "n", 1.5),
    ("t", "f", 1.0),
    ("f", "t", 0.8),
    ("r", "t", 0.8),
    ("vv", "w", 0.5),
    ("w", "vv", 0.8),
    ("S", "5", 1.0),
    ("5", "S", 0.7),
    ("B", "8", 0.8),
    ("1", "l", 1.0),
    ("1", "I", 0.7),
    ("6", "b", 0.4),
    ("8", "3", 0.4),
    (".", ",", 2.0),
    (",", ".", 1.5),
    (":", ";", 1.5),
    ("/", "l", 0.8),
    ("(", "{", 0.5),
    (")", "}", 0.5),
    ("-", "—", 0.5),
    ("'", "’", 0.8),
    ("y", "v", 0.8),
    ("g", "q", 0.5),
    ("H", "Il", 0.4),
    ("M", "IVI", 0.3),
    ("U", "Li", 0.4),
)

# Words the extractor leans on. OCR does not spare them, so neither do we: each occurrence is
# damaged with an extra probability (see Level.structural), using one of its confusable spots.
STRUCTURAL_WORDS: tuple[str, ...] = (
    "Upheld",
    "Overturned",
    "MAXIMUS",
    "California",
    "DETERMINATION",
    "DECISIONS",
    "RATIONALES",
    "CLINICAL",
    "SUMMARY",
    "Decision",
    "guideline",
    "rationale",
    "Claims",
    "Administrator",
    "Certification",
    "Specialty",
    "Licensure",
    "Reviewer",
    "Number",
    "Assigned",
    "Injury",
    "Denial",
    "Priority",
    "Application",
    "Received",
    "medically",
    "necessary",
    "Federal",
    "Services",
)

STRAY_MARKS: tuple[str, ...] = (" '", " |", " :", " .", " -", " ,", " ‘", " _", " ~", " *")
LEAD_MARKS: tuple[str, ...] = ("| ", "' ", ". ", ": ", "‘", "- ")


@dataclass(frozen=True)
class Level:
    """Noise knobs; rates are per character / word / line / page break."""

    char_rate: float  # confusion edits per character of text
    structural: float  # extra chance to damage each structural-word occurrence
    split_rate: float  # per long word: "medical" -> "medi cal"
    merge_rate: float  # per inter-word space: "the request" -> "therequest"
    stray_rate: float  # per non-blank line: trailing " '", " |", " :" ...
    lead_stray_rate: float  # per non-blank line: leading "| " ...
    page_number_rate: float  # per page break: "Page 2 of 4" at the foot of the page
    banner_rate: float  # per page break: fax banner at the top of the next page
    header_break: float  # chance to scramble the header table


LEVELS: dict[str, Level] = {
    "light": Level(
        char_rate=0.0115,
        structural=0.06,
        split_rate=0.005,
        merge_rate=0.003,
        stray_rate=0.03,
        lead_stray_rate=0.005,
        page_number_rate=0.4,
        banner_rate=0.2,
        header_break=0.5,
    ),
    "heavy": Level(
        char_rate=0.04,
        structural=0.2,
        split_rate=0.018,
        merge_rate=0.009,
        stray_rate=0.08,
        lead_stray_rate=0.02,
        page_number_rate=0.8,
        banner_rate=0.5,
        header_break=1.0,
    ),
}

PSEUDO_PAGE_LINES = (38, 48)  # non-blank lines per page when the text has no form feeds


def noisy(text: str, seed: int | str, level: str = "light") -> str:
    """Return ``text`` with seeded OCR-like damage at ``level`` ("light" or "heavy").

    Order matters: the header table is broken first (on clean structure), then characters and
    word boundaries are damaged, stray marks added, and page furniture inserted last so its
    own text stays recognisable, like real fax banners which are printed by the machine.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown noise level {level!r}; expected one of {sorted(LEVELS)}")
    lv = LEVELS[level]
    rng = Random(f"{seed}\x00{level}")
    lines = text.split("\n")
    if rng.random() < lv.header_break:
        lines = break_header(lines, rng)
    text = "\n".join(lines)
    text = damage_structural(text, rng, lv.structural)
    text = confuse_chars(text, rng, lv.char_rate)
    text = split_merge_words(text, rng, lv.split_rate, lv.merge_rate)
    text = stray_marks(text, rng, lv.stray_rate, lv.lead_stray_rate)
    text = add_furniture(text, rng, lv.page_number_rate, lv.banner_rate)
    return text


def _candidate_spots(text: str) -> list[tuple[int, str, str, float]]:
    spots: list[tuple[int, str, str, float]] = []
    for pat, rep, weight in CONFUSIONS:
        start = text.find(pat)
        while start != -1:
            spots.append((start, pat, rep, weight))
            start = text.find(pat, start + 1)
    return spots


def _apply_edits(text: str, edits: list[tuple[int, str, str]]) -> str:
    """Apply non-overlapping (position, pattern, replacement) edits right to left."""
    edits.sort(key=lambda e: e[0])
    kept: list[tuple[int, str, str]] = []
    last_end = -1
    for pos, pat, rep in edits:
        if pos >= last_end:
            kept.append((pos, pat, rep))
            last_end = pos + len(pat)
    chars = text
    for pos, pat, rep in reversed(kept):
        chars = chars[:pos] + rep + chars[pos + len(pat) :]
    return chars


def confuse_chars(text: str, rng: Random, rate: float) -> str:
    """Apply about ``rate * len(text)`` weighted glyph confusions at random spots."""
    spots = _candidate_spots(text)
    n = round(rate * len(text))
    if not spots or n <= 0:
        return text
    picks = rng.choices(spots, weights=[s[3] for s in spots], k=n)
    return _apply_edits(text, [(pos, pat, rep) for pos, pat, rep, _ in picks])


def damage_structural(text: str, rng: Random, prob: float) -> str:
    """Damage each occurrence of a structural word with probability ``prob``.

    Why separately: uniform noise rarely lands on the few words an extractor keys on, yet
    real OCR garbles them routinely ("Uphe1d", "MAXlMUS", "Califomia").
    """
    if prob <= 0:
        return text
    edits: list[tuple[int, str, str]] = []
    pattern = re.compile(r"\b(" + "|".join(STRUCTURAL_WORDS) + r")\b", re.IGNORECASE)
    for m in pattern.finditer(text):
        if rng.random() >= prob:
            continue
        word = m.group()
        local = [
            (i, pat, rep, w)
            for pat, rep, w in CONFUSIONS
            for i in range(len(word))
            if word.startswith(pat, i)
        ]
        if local:
            i, pat, rep, _ = rng.choices(local, weights=[s[3] for s in local], k=1)[0]
            edits.append((m.start() + i, pat, rep))
    return _apply_edits(text, edits)


def split_merge_words(text: str, rng: Random, split_rate: float, merge_rate: float) -> str:
    """Split long words with a space and merge neighbours by dropping the space between."""

    def split(m: re.Match[str]) -> str:
        word = m.group()
        if rng.random() >= split_rate:
            return word
        cut = rng.randint(2, len(word) - 2)
        return word[:cut] + " " + word[cut:]

    text = re.sub(r"[A-Za-z]{6,}", split, text)

    def merge(m: re.Match[str]) -> str:
        return m.group(1) if rng.random() < merge_rate else m.group()

    return re.sub(r"([A-Za-z,.]) (?=[A-Za-z])", merge, text)


def stray_marks(text: str, rng: Random, rate: float, lead_rate: float) -> str:
    """Add specks read as punctuation at line ends (and, rarer, line starts)."""
    out: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            if rng.random() < rate:
                line = line.rstrip() + rng.choice(STRAY_MARKS)
            if rng.random() < lead_rate:
                stripped = line.lstrip(" ")
                indent = line[: len(line) - len(stripped)]
                line = indent + rng.choice(LEAD_MARKS) + stripped
        out.append(line)
    return "\n".join(out)


@dataclass(frozen=True)
class FaxStamp:
    """One fax transmission: every page banner shares its date, sender number and start time."""

    date: str
    hour: int
    minute: int
    number: str
    sep: str

    @classmethod
    def draw(cls, rng: Random) -> FaxStamp:
        """Made-up but plausible banner fields (no real fax numbers)."""
        return cls(
            date=f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.choice([2016, 2017])}",
            hour=rng.randint(7, 17),
            minute=rng.randint(0, 50),
            number=f"916 {rng.randint(200, 999)} {rng.randint(1000, 9999)}",
            sep=rng.choice(["  ", "   ", " "]),
        )

    def banner(self, page: int, pages: int) -> str:
        """The line a fax machine prints on top of ``page``."""
        minute = self.minute + (page - 1) // 3
        s = self.sep
        return (
            f"{self.date}{s}{self.hour:02d}:{minute:02d}{s}FROM: MAXIMUS FEDERAL{s}"
            f"(FAX) {self.number}{s}P.{page:03d}/{pages:03d}"
        )


def _page_number(rng: Random, page: int, pages: int) -> str:
    style = rng.random()
    if style < 0.6:
        return f"Page {page} of {pages}"
    if style < 0.85:
        return f"Page {page}"
    return f"- {page} -"


def add_furniture(text: str, rng: Random, number_rate: float, banner_rate: float) -> str:
    """Insert page-number / fax-banner lines at page breaks.

    Form feeds mark the breaks when present; otherwise (seed-format letters) pseudo page
    ends are placed every PSEUDO_PAGE_LINES non-blank lines, where a printed page would end.
    """
    if number_rate <= 0 and banner_rate <= 0:
        return text
    if "\f" in text:
        pages, joiner = text.split("\f"), "\f"
    else:
        pages, joiner = _pseudo_pages(text, rng), "\n"
    # pdftotext ends the text with a form feed; the empty chunk after it is not a page.
    trailer = [pages.pop()] if len(pages) > 1 and not pages[-1].strip() else []
    total = len(pages)
    stamp = FaxStamp.draw(rng)
    out: list[str] = []
    for i, page in enumerate(pages, start=1):
        if i > 1 and rng.random() < banner_rate:
            page = stamp.banner(i, total) + "\n" + page
        if rng.random() < number_rate and page.strip():
            page = page.rstrip("\n") + "\n\n" + _page_number(rng, i, total) + "\n"
        out.append(page)
    return joiner.join(out + trailer)


def _pseudo_pages(text: str, rng: Random) -> list[str]:
    """Cut text without form feeds into page-sized chunks of non-blank lines."""
    lines = text.split("\n")
    pages: list[str] = []
    current: list[str] = []
    budget = rng.randint(*PSEUDO_PAGE_LINES)
    remaining = sum(1 for ln in lines if ln.strip())
    for line in lines:
        current.append(line)
        if line.strip():
            budget -= 1
            remaining -= 1
        if budget <= 0 and remaining > 3:
            pages.append("\n".join(current))
            current = []
            budget = rng.randint(*PSEUDO_PAGE_LINES)
    pages.append("\n".join(current))
    return pages


def break_header(lines: list[str], rng: Random) -> list[str]:
    """Scramble the header table the ways OCR does.

    One of: each value pushed to the line after its label; long labels split over two lines
    ("Date of" / "Injury:"); or the right-hand column read after the left one.
    """
    header = find_header(lines)
    if header is None:
        return lines
    start = header.start
    mode = rng.choice(["shift", "split", "columns"])
    new: list[str] = []
    if mode == "shift":
        for row in header.cells:
            new.extend(cell for _col, cell in row)
    elif mode == "split":
        for row in header.cells:
            parts = []
            for _col, cell in row:
                words = cell.split(" ")
                if cell.endswith(":") and len(words) >= 2 and rng.random() < 0.7:
                    cut = rng.randint(1, len(words) - 1)
                    parts.append(" ".join(words[:cut]))
                    new.append("  ".join(parts))
                    parts = [" ".join(words[cut:])]
                else:
                    parts.append(cell)
            new.append("  ".join(parts))
    else:
        clusters = _column_clusters(header.cells)
        mid = len(clusters) // 2 if len(clusters) >= 4 else len(clusters)
        left, right = [], []
        for row in header.cells:
            lcells = [c for col, c in row if _column_of(col, clusters) < mid]
            rcells = [c for col, c in row if _column_of(col, clusters) >= mid]
            if lcells:
                left.append("  ".join(lcells))
            if rcells:
                right.append("  ".join(rcells))
        new = left + [""] + right
    return lines[:start] + new + lines[header.end :]
