"""Seeded damage of the kinds real letters suffer, for the damage-fuzz benchmark and tests.

Letters reach users copied out of viewers, e-mails and document systems as well as scanned and
faxed; each kind of damage here is one such thing done to a letter's text. Every function is
deterministic for the same text (and seed, where it takes one), so a case can be reproduced
from its name alone.
"""

from __future__ import annotations

import re
import textwrap

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v\r]*\n")


def reflow(text: str, width: int) -> str:
    """``text`` with every paragraph re-filled to ``width`` columns, as a viewer or an e-mail
    client does when the letter is copied out of it.

    A paragraph is a block between blank lines; its words are joined with single spaces (line
    breaks, column gaps and form feeds inside it are lost) and wrapped greedily, never breaking
    a word. Paragraphs stay apart, separated by one blank line.
    """
    paragraphs = [" ".join(block.split()) for block in _PARAGRAPH_BREAK.split(text)]
    return (
        "\n\n".join(
            textwrap.fill(p, width, break_long_words=False, break_on_hyphens=False)
            for p in paragraphs
            if p
        )
        + "\n"
    )
