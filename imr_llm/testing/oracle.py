"""A scripted "perfect model": the answer a model should give for a letter whose record we know.

The local test server uses it to answer from the gold labels, so the LLM path can be exercised
end to end (and cassettes recorded) with no model. Numbers from it measure the pipeline, never
model quality: it is right by construction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..anchors import anchor_quote
from ..text import collapse_ws
from .fake_openai import Step


def _anchor(passage: str | None, words: int) -> str | None:
    return None if passage is None else anchor_quote(passage, words)


def ideal_answer(record: Mapping[str, Any], anchor_words_count: int = 4) -> dict[str, Any]:
    """The ``LetterAnswer`` payload for a contract-shaped ``record``."""
    return {
        "case_number": record["case_number"],
        "date_assigned": record["date_assigned"],
        "date_of_injury": record["date_of_injury"],
        "decision_date": record["decision_date"],
        "ur_denial_date": record["ur_denial_date"],
        "application_received": record["application_received"],
        "priority": record["priority"],
        "licensure_states": record["reviewer"]["licensure_states"],
        "specialties": record["reviewer"]["specialties"],
        "patient_age": record["patient"]["age"],
        "patient_sex": record["patient"]["sex"],
        "items": [
            {
                "service": item["service"],
                "original_request": item["original_request"],
                "outcome": item["outcome"],
                "claims_administrator_guideline": _anchor(
                    item["claims_administrator_guideline"], anchor_words_count
                ),
                "maximus_guideline": _anchor(item["maximus_guideline"], anchor_words_count),
                "rationale": _anchor(item["rationale"], anchor_words_count),
            }
            for item in record["items"]
        ],
    }


class GoldResponder:
    """Answers each request with the ideal answer for the gold letter found in its prompt."""

    def __init__(self, letters: Mapping[str, Mapping[str, Any]]) -> None:
        # Keyed on the collapsed letter text so whitespace in the prompt does not matter.
        self._by_text = {collapse_ws(text): record for text, record in letters.items()}

    @classmethod
    def from_gold_dir(cls, gold: Path, names: list[str] | None = None) -> GoldResponder:
        """Answer for every gold letter and every rendering of it listed in the manifest.

        For a messy rendering the answer still quotes the clean label, as a model that reads
        through OCR damage would: resolving those quotes fuzzily is what is being tested.
        """
        labels: dict[str, Mapping[str, Any]] = {}
        for label in sorted((gold / "labels").glob("*.json")):
            if names is None or label.stem in names:
                labels[label.stem] = json.loads(label.read_text(encoding="utf-8"))
        paths = [(name, gold / "letters" / f"{name}.txt") for name in labels]
        manifest = gold / "manifest.json"
        if manifest.is_file():
            for entry in json.loads(manifest.read_text(encoding="utf-8")):
                if entry["letter"] in labels:
                    paths.append((entry["letter"], gold / entry["path"]))
        letters = {path.read_text(encoding="utf-8"): labels[name] for name, path in paths}
        return cls(letters)

    def __call__(self, body: dict[str, Any]) -> Step | None:
        prompt = " ".join(str(m.get("content") or "") for m in body.get("messages", []))
        prompt = collapse_ws(prompt)
        for text, record in self._by_text.items():
            if text in prompt:
                return Step.answer(ideal_answer(record))
        return None
