"""Shared fixtures: where the shared corpus lives, and small helpers for letter text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("IMR_LLM_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
GOLD = REPO / "eval" / "gold"


def corpus_available() -> bool:
    return (CORPUS / "labels").is_dir()


requires_corpus = pytest.mark.skipif(
    not corpus_available(), reason="../shared/corpus is not present beside the checkout"
)


#: Loopback only: the local OpenAI-compatible test server. Everything else stays blocked under
#: ``--block-network``.
LOOPBACK_HOSTS = [r"^127\.0\.0\.1$", r"^localhost$", r"^::1$"]


@pytest.fixture(scope="session")
def vcr_config() -> dict:
    """pytest-recording settings shared by every test (see cassettes/README.md)."""
    return {"allowed_hosts": LOOPBACK_HOSTS}
