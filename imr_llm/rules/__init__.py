"""The deterministic rules engine: letter text to record, offline, with no model.

It is the embedded default when no model is configured, the baseline a model must beat, and the
cheap first stage of the cascade. It never guesses: when a part of the letter cannot be read it
raises :class:`~imr_llm.errors.IncompleteLetterError` naming that part.
"""

from .engine import check_is_imr_letter, read_letter, rules_record, rules_values

__all__ = ["check_is_imr_letter", "read_letter", "rules_record", "rules_values"]
