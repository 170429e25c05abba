"""A response cache for eval runs: a nightly re-score of unchanged letters costs nothing.

Entries are keyed on everything that determines a model's answer: the model name, the prompt
hash, the answer-schema hash and the letter text. Any change to one of them is a miss. Only the
resulting record is stored (with its metadata: tokens, attempts), as JSON files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..record.models import DeterminationRecord


def cache_key(model: str, prompt_hash: str, schema_hash: str, letter: str) -> str:
    material = "\0".join([model, prompt_hash, schema_hash, letter])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class ResponseCache:
    """Records by key, one JSON file each, safe to share between runs."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> DeterminationRecord | None:
        path = self._path(key)
        if not path.is_file():
            self.misses += 1
            return None
        try:
            record = DeterminationRecord.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError:
            self.misses += 1  # a corrupt or stale entry is simply recomputed
            return None
        self.hits += 1
        return record

    def put(self, key: str, record: DeterminationRecord) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record.model_dump(mode="json")), encoding="utf-8")
        tmp.replace(path)
