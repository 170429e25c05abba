"""The deterministic rules engine: letter text to record, offline, with no model.

It is the embedded default when no model is configured, the baseline a model must beat, and the
cheap first stage of the cascade. It never guesses: when a part the record cannot do without
(an item, or a part of one) cannot be read it raises
:class:`~imr_llm.errors.IncompleteLetterError` naming that part; a header value or a reviewer's
list whose place does not read is left out of the record, which needs review, naming it.
"""

from .engine import check_is_imr_letter, flag_unread, read_letter, rules_record, rules_values

__all__ = ["check_is_imr_letter", "flag_unread", "read_letter", "rules_record", "rules_values"]
