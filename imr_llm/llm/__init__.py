"""The model path: instructor over any OpenAI-compatible server, grounded in the letter."""

import logging

from .extractor import OutputTruncatedError, aextract_llm, extract_llm
from .transport import ModelRequestError

__all__ = ["ModelRequestError", "OutputTruncatedError", "aextract_llm", "extract_llm"]


class _WithholdLetterText(logging.Filter):
    """Keep letter text out of instructor's log records.

    instructor logs each rejected answer's validation errors, and ours quote short values from
    the letter (a service name, a date). The records keep their level and event; the details
    are withheld here because the typed error raised to the caller carries them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            record.msg = "instructor: answer rejected or retries exhausted (details withheld)"
            record.args = ()
        return True


for _name in ("instructor.v2.retry", "instructor.v2"):
    logging.getLogger(_name).addFilter(_WithholdLetterText())
