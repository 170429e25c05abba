"""The record: its models, the one function that builds it for every engine, its checks and schema.

:mod:`~imr_llm.record.models` holds the Pydantic models (the JSON field contract);
:mod:`~imr_llm.record.builder` builds a record and its metadata from any engine's values and
their evidence; :mod:`~imr_llm.record.validation` holds the checks that need the whole record
(date order, implausible dates); :mod:`~imr_llm.record.schema` writes the JSON Schema.
"""
