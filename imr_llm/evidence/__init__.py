"""Evidence per value: check each value of a record at its own place in the letter.

A value is checked where the letter's form puts it (:mod:`imr_llm.form`): a header date beside
its own label, a service at its own item marker, a passage between its label and the next. It
is then

- ``exact``: written there as is;
- ``repaired``: written there through OCR damage that reads to it unambiguously;
- ``unverified``: its place is unreadable (or missing), so it could not be checked;
- or it **contradicts** readable text at its place: an error, which the LLM engine sends back
  to the model and the rules engine never returns.

A value written elsewhere in the letter but not at its place (two swapped header dates) is a
contradiction, and so is a value the letter never writes. Text the OCR destroyed is never a
contradiction: the model cannot fix a scan, so such a value is kept and flagged instead.

Both engines go through :func:`check_values`; the rules engine hands in passage texts it read,
the LLM engine hands in quotes ("first words ... last words") that are resolved here, at their
places, into the letter's own text.
"""

from .check import check_values
from .common import Checked, Status, ValueEvidence

__all__ = ["Checked", "Status", "ValueEvidence", "check_values"]
