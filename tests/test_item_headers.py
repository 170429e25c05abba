"""Item headers wrapped every way a letter or a re-filled copy of it may wrap them: the service
is read as written, by the fast path and the tolerant path alike, or the record is flagged.

Letters are built here from parts (tests/letters.py): each item's header is its service and
outcome marker re-filled at a seeded width, so that a short first line ending in a colon
("Psychological testing:", "Associated surgical service:"), a date of service alone on the
last line, or a one-word last line all occur. The expected services are the ones written in,
never the engine's own output.
"""

from __future__ import annotations

import random
import textwrap

import pytest

from imr_llm import extract
from imr_llm.errors import ImrError
from imr_llm.rules import strict
from tests.letters import Letter

SERVICES = [
    "Psychological testing: MMPI-2-RF and Beck Anxiety Inventory",
    "Associated surgical service: Vascutherm unit, 14 days rental",
    "Associated surgical service: Ultrasling",
    "Retrospective cyclobenzaprine 5mg tab #30, DOS: 11/14/2016",
    "Physical therapy 2 times a week for 6 weeks for the lumbar spine",
    "MRI of the cervical spine without contrast",
    "Acupuncture 3 times a week for 2 weeks, neck, right hand and head",
    "Norco 10/325mg #60",
    "Home health care: 4 hours a day, 5 days a week for 6 weeks",
]

PASSAGES = (
    "\nClaims Administrator guideline: Decision based on MTUS Chronic Pain Medical Treatment\n"
    "2016.\n\n"
    "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s):\n"
    "Physical Medicine.\n\n"
    "Decision rationale: {why} The request for the {nth} item is {verdict}.\n"
)
WHY = ["The guidelines support a short course only.", "The records show no new findings.",
       "A trial was completed without documented benefit.", "The dose exceeds the guidelines.",
       "Objective functional improvement is documented."]  # fmt: skip
NTH = ["first", "second", "third", "fourth"]


def _item(service: str, outcome: str, width: int, k: int, rng: random.Random) -> str:
    lines = textwrap.wrap(f"{service}: {outcome}", width, break_on_hyphens=False)
    verdict = "not medically necessary" if outcome == "Upheld" else "medically necessary"
    return "\n".join(lines) + "\n" + PASSAGES.format(why=rng.choice(WHY), nth=NTH[k],
                                                     verdict=verdict)  # fmt: skip


def _letter(seed: int) -> tuple[str, list[str]]:
    rng = random.Random(seed)
    services = rng.sample(SERVICES, rng.randint(1, 4))
    width = rng.choice([18, 24, 30, 40, 60, 100])
    items = [
        _item(s, rng.choice(["Upheld", "Overturned"]), width, k, rng)
        for k, s in enumerate(services)
    ]
    return str(Letter(items=items)), services


def _services(text: str) -> tuple[list[str], bool] | str:
    try:
        record = extract(text, backend="rules")
    except ImrError as error:
        return error.code
    assert record.metadata is not None
    return [item.service for item in record.items], record.metadata.needs_review


@pytest.mark.parametrize("seed", range(150))
def test_a_wrapped_item_header_gives_its_service_on_both_paths(seed: int) -> None:
    text, services = _letter(seed)
    fast = _services(text)
    with strict.tolerant_only():
        tolerant = _services(text)
    assert fast == tolerant
    if isinstance(fast, tuple):
        read, flagged = fast
        assert read == services or flagged, (read, services)
