"""Load the versioned prompt templates shipped in ``prompts/``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from string import Template

from ..errors import ConfigurationError
from ..resources import data_dir

DEFAULT_PROMPT_VERSION = "extract-v1"


@dataclass(frozen=True)
class Prompt:
    """A prompt version: its instructions, its letter template and a hash of both."""

    version: str
    system: str
    user_template: str

    @property
    def hash(self) -> str:
        digest = hashlib.sha256(f"{self.system}\0{self.user_template}".encode()).hexdigest()
        return digest[:16]

    def messages(self, letter: str) -> list[dict[str, str]]:
        """A fresh message list for one letter (callers may extend it freely)."""
        user = Template(self.user_template).safe_substitute(letter=letter)
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": user},
        ]


@lru_cache(maxsize=8)
def load_prompt(version: str = DEFAULT_PROMPT_VERSION) -> Prompt:
    """The prompt ``version`` as shipped with this installation."""
    folder = data_dir("prompts") / version
    if not folder.is_dir():
        available = sorted(p.name for p in data_dir("prompts").iterdir() if p.is_dir())
        raise ConfigurationError(
            f"unknown prompt version {version!r}; available: {', '.join(available)}"
        )
    return Prompt(
        version=version,
        system=(folder / "system.txt").read_text(encoding="utf-8").strip(),
        user_template=(folder / "user.txt").read_text(encoding="utf-8").strip(),
    )
