"""Build small IMR letters for tests, one variation at a time.

The texts follow the real form (header table, form paragraph, credentials, summary, items) but
are written for the tests; each test states its expected values by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BOILERPLATE = (
    "MAXIMUS Federal Services sent the complete case file to an expert reviewer. He/she has no\n"
    "affiliation with the employer, employee, providers or the claims administrator. He/she has been\n"
    "in active clinical practice for more than five years and is currently working at least 24 hours a\n"
    "week in active practice. The expert reviewer was selected based on his/her clinical experience,\n"
    "education, background, and expertise in the same or similar specialties that evaluate and/or treat\n"
    "the medical condition and disputed items/Service. He/she is familiar with governing laws and\n"
    "regulations, including the strength of evidence hierarchy that applies to Independent Medical\n"
    "Review determinations.\n"
)

LAYOUT_HEADER = (
    "Case Number:          CM18-0101234\n"
    "Date Assigned:        03/14/2018                      Date of Injury:      07/02/2015\n"
    "Decision Date:        04/20/2018                      UR Denial Date:      02/27/2018\n"
    "Priority:             Standard                        Application          03/09/2018\n"
    "                                                      Received:\n"
)

RAW_HEADER = (
    "Case Number:\nDate Assigned:\nDecision Date:\nPriority:\n\n"
    "CM18-0101234\n03/14/2018\n04/20/2018\nStandard\n\n"
    "Date of Injury:\nUR Denial Date:\nApplication\nReceived:\n\n"
    "07/02/2015\n02/27/2018\n03/09/2018\n"
)

BLOCK_CREDENTIALS = (
    "The Expert Reviewer has the following credentials:\n"
    "State(s) of Licensure: California, Nevada\n"
    "Certification(s)/Specialty: Orthopaedic Surgery\n"
)

SUMMARY = (
    "The expert reviewer developed the following clinical case summary based on a review of the\n"
    "case file, including all medical records:\n\n"
    "The injured worker is a 52 year old female who sustained an industrial injury on 7/2/15 while\n"
    "lifting boxes. The diagnoses have included lumbar strain and left knee sprain. Treatment has\n"
    "included rest and medication. The request was for knee bracing and physical therapy.\n"
)

ITEM_ONE = (
    "Hinged knee brace, left: Upheld\n\n"
    "Claims Administrator guideline: Decision based on MTUS Knee Complaints 2004.\n\n"
    "MAXIMUS guideline: Decision based on MTUS Knee Complaints 2004, Section(s): Initial\n"
    "Care.\n\n"
    "Decision rationale: The guidelines support a brace for instability only. The records show a\n"
    "stable knee. The request is not medically necessary.\n"
)

ITEM_TWO = (
    "Physical therapy twice a week for four weeks for the lumbar spine: Overturned\n\n"
    "Claims Administrator guideline: The Claims Administrator did not cite any medical evidence\n"
    "for its decision.\n\n"
    "MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s):\n"
    "Physical Medicine.\n\n"
    "Decision rationale: Eight visits fall within the recommended course for a new flare. The\n"
    "request is medically necessary.\n"
)


@dataclass
class Letter:
    """A letter assembled from parts; ``str(letter)`` is its text."""

    header: str = LAYOUT_HEADER
    credentials: str = BLOCK_CREDENTIALS
    summary: str = SUMMARY
    items: list[str] = field(default_factory=lambda: [ITEM_ONE, ITEM_TWO])
    boilerplate: str = BOILERPLATE

    def __str__(self) -> str:
        head = self.header + "\n" if self.header else ""
        return (
            head
            + "                 HOW THE IMR FINAL DETERMINATION WAS MADE\n"
            + self.boilerplate
            + "\n"
            + self.credentials
            + "\n                                CLINICAL CASE SUMMARY\n"
            + self.summary
            + "\n                      IMR ISSUES, DECISIONS AND RATIONALES\n"
            + "The Final Determination was based on decisions for the disputed items/services "
            "set forth below:\n\n" + "\n".join(self.items)
        )


def double_space(text: str) -> str:
    """The seed style: trailing space and a blank line after every line."""
    return "".join(line + " \n\n" for line in text.split("\n"))
