"""The review page: a record beside its letter, one self-contained HTML file per letter.

A package so the page's parts can live apart: the Python modules prepare what the page shows
(the letter's pages, lines and highlighted spans; the record's values with their evidence,
banners and provenance), and template files (Jinja2) with their own CSS and script draw it.
:func:`record_to_html` is the entry point (also ``imr_llm.record_to_html``).
"""

from __future__ import annotations

# page_starts and field_key are importable from here as before, but not in __all__ (as before).
from .page import FIELD_COLOURS, FIELD_LABELS, field_key, page_starts, record_to_html  # noqa: F401

__all__ = ["FIELD_COLOURS", "FIELD_LABELS", "record_to_html"]
