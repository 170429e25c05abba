"""The rules engine's self-checks: signs that it misread a letter it seemed to read fully.

A regex reader fails quietly: it returns *something* for a damaged or cut-off letter. These
checks look at the values it read for the shapes of such failures. Each check is either an
error (the value is certainly not what the letter means, so no record is returned and the
cascade asks the model) or a review flag (the record may be right, but a person should look):

=========================================  =========  ==========================================
check                                      outcome    why
=========================================  =========  ==========================================
a label inside a service ("guideline:")    error      the header walk swallowed an item's body
an outcome marker inside a service         error      two items read as one (a repeated or
                                                      stray "...: Upheld" line)
a service of several sentences             flag       may be a partly certified request worded
                                                      another way, or a rationale's tail
a service over 250 or under 3 characters   flag       no real item name is that long or short
a rationale under 40 characters            flag       a label misread mid-passage
the last rationale ends mid-sentence       flag       the letter may be cut off (a truncated
                                                      scan or a lost last page)
another rationale ends mid-word            flag       a page break or a lost header cut it
=========================================  =========  ==========================================

The count of items against the letter's decision rationales is checked while reading
(:func:`imr_llm.rules.items.read_items`): more rationales than item headers is an error.
"""

from __future__ import annotations

import re
from typing import Any

from ..form.items import marker_inside
from ..form.text import SENTENCE_JOIN, ends_sentence, ocr_pattern

_LABEL_IN_SERVICE = re.compile(
    "|".join(
        ocr_pattern(label).pattern + r"\s*[:;]"
        for label in ("Claims Administrator guideline", "MAXIMUS guideline", "Decision rationale")
    ),
    re.IGNORECASE,
)
_ENDS_WORD = re.compile(r"[\w.!?;:,)\]\"'”’%]\s*$")


#: The marks ``_ENDS_WORD`` takes for the end of a word, beside word characters.
_WORD_END_MARKS = frozenset(".!?;:,)]\"'”’%")


def ends_word(text: str) -> bool:
    """``bool(_ENDS_WORD.search(text))``: a word character or an end mark before trailing
    whitespace."""
    last = text.rstrip()[-1:]
    return bool(last) and (last.isalnum() or last == "_" or last in _WORD_END_MARKS)


def self_check(items: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Errors (``items[k].field: why``) and review reasons for the items the engine read.

    A label's match and both of :func:`marker_inside`'s patterns hold a colon or a semicolon,
    so a service without one is not searched for them; a rationale is read from its end."""
    errors: list[str] = []
    flags: list[str] = []
    for k, item in enumerate(items):
        service = item.get("service") or ""
        colon = ":" in service or ";" in service
        if colon and _LABEL_IN_SERVICE.search(service):
            errors.append(f"items[{k}].service (a label was read inside the item's name)")
        elif colon and marker_inside(service):
            errors.append(f"items[{k}].service (an outcome marker was read inside the item's name)")
        elif SENTENCE_JOIN.search(service):
            flags.append(f"items[{k}].service reads as several sentences")
        if not 3 <= len(service) <= 250:
            flags.append(f"items[{k}].service has an implausible length ({len(service)})")
        rationale = item.get("rationale") or ""
        if len(rationale) < 40:
            flags.append(f"items[{k}].rationale is implausibly short ({len(rationale)} chars)")
        last = k == len(items) - 1
        if last and rationale and not ends_sentence(rationale):
            flags.append(f"items[{k}].rationale ends mid-sentence: the letter may be cut off")
        elif rationale and not ends_word(rationale):
            flags.append(f"items[{k}].rationale ends mid-word")
    return errors, flags
