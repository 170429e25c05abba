"""Drawing the review page from its template files: the Jinja2 environment, loaded once.

The page's markup lives in Jinja2 templates and its stylesheet and script in files of their own
(``templates/`` and ``static/`` beside this module, shipped as package data), so each is read
and changed as what it is, not as Python strings. They are read once per process, when the
first page is drawn, through :mod:`importlib.resources` (from a wheel, a zip or a checkout alike,
never from the working directory); every later page only renders the compiled template.

Safety is the environment's: autoescape is on for every template, so every text the page
shows, letter and record alike, is escaped by Jinja2, and none is marked safe. Only the
package's own stylesheet and script go in as they are (``|safe`` in ``page.html.j2``, nowhere
else), and the page's Content Security Policy allows that one script by its SHA-256 hash: a
script smuggled in by text escaped wrong would not run.

Two conventions of the output, kept from when the page was written in Python:

- Templates are laid out for reading: a line break and the indentation after it are dropped
  when a template is loaded, so the page comes out as before, without whitespace between its
  elements (in the letter's lines any would show). A space the page needs is written inside a
  line; a line break it needs as ``{{ "\\n" }}``.
- Jinja2 escapes quotes as ``&#34;`` and ``&#39;``; the page spells them ``&quot;`` and
  ``&#x27;``, as :func:`html.escape` does and as pages written earlier did. The same characters
  either way: only the spelling changes, after escaping.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import jinja2

#: The package whose resources hold ``templates/`` and ``static/``.
_PACKAGE = "imr_llm.review"
#: The template a page is drawn from (it includes the others).
PAGE_TEMPLATE = "page.html.j2"
#: A template's line breaks and the indentation after them: layout for the reader only.
_LAYOUT = re.compile(r"\n[ \t]*")


@dataclass(frozen=True)
class _Loaded:
    template: jinja2.Template
    css: str
    script: str
    #: The script's hash, as the Content Security Policy names it (``sha256-...``).
    script_hash: str


def _read(*parts: str) -> str:
    return files(_PACKAGE).joinpath(*parts).read_text(encoding="utf-8")


@cache
def _loaded() -> _Loaded:
    """The environment with every template compiled, and the stylesheet and script: read once."""
    folder = files(_PACKAGE).joinpath("templates")
    sources = {
        entry.name: _LAYOUT.sub("", entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".j2")
    }
    env = jinja2.Environment(
        loader=jinja2.DictLoader(sources),
        autoescape=True,
        # A name the template uses that the page's data lacks is a bug: raise, never print "".
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    script = _read("static", "review.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return _Loaded(
        env.get_template(PAGE_TEMPLATE), _read("static", "review.css"), script, f"sha256-{digest}"
    )


def render_page(**context: Any) -> str:
    """The page drawn from ``page.html.j2`` with ``context`` (see :mod:`.page` for its names)."""
    loaded = _loaded()
    page = loaded.template.render(
        css=loaded.css, script=loaded.script, script_hash=loaded.script_hash, **context
    )
    return page.replace("&#34;", "&quot;").replace("&#39;", "&#x27;")
