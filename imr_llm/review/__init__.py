"""A review page: the letter beside its record, every value at its place, in one HTML file.

A record is only worth relying on once a person can check it against the letter, and a claims
analyst has seconds per letter, not minutes. :func:`record_to_html` writes one self-contained
page (inline CSS and a little inline script; no network, no external assets; a Content
Security Policy forbids any fetch and allows only the page's own script) with

- the letter text on the left, page by page with line numbers, every value's evidence span
  highlighted in its field's colour (a dashed red underline where the value is unverified);
- the record on the right, grouped as header, reviewer, patient and items, each value with its
  evidence status as a badge (``exact``, ``repaired``, ``unverified``), the evidence note and
  where it is (page and line);
- a banner listing why the record needs review, and how it was produced (engine, model, prompt,
  tokens, cost, and whether the text came from a text file, a PDF's text layer or OCR);
- with ``gold`` (the eval harness), the gold value beside each value that is wrong.

Clicking a value scrolls the letter to its span and marks it; clicking a highlighted span
selects its value (clicking again cycles through values whose spans overlap there).

Span offsets index the text the engines were given (:mod:`imr_llm.inputs.normalise` keeps every
line's offset in the original text), so ``text`` must be exactly the text passed to ``extract``.
Page breaks come from ``metadata.input.page_starts`` when the input's pages are known, else from
form feeds in the text. Every piece of letter or record text is HTML-escaped.

The Python modules only prepare what the page shows, and the page is drawn from template files,
so the markup, its style and its script are each read and changed as what they are:

- :mod:`.fields`: each field's label and colour, shared by the letter's highlights and the rows;
- :mod:`.letter`: the letter cut into pages, numbered lines and highlighted runs;
- :mod:`.values`: the record's values as rows, with evidence, place and gold;
- :mod:`.page`: the page around them (heading, provenance, banners) and :func:`record_to_html`;
- :mod:`.render`: the Jinja2 environment (autoescape on), loaded once, with ``templates/`` and
  ``static/`` (the stylesheet and script, inlined into each page).
"""

from __future__ import annotations

# page_starts and field_key are importable from here as before, but not in __all__ (as before).
from .fields import FIELD_COLOURS, FIELD_LABELS, field_key  # noqa: F401
from .letter import page_starts  # noqa: F401
from .page import record_to_html

__all__ = ["FIELD_COLOURS", "FIELD_LABELS", "record_to_html"]
