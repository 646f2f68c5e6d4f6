"""Where prepared models and data live. One cache directory, configurable, git-ignored by default."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "BIDIRAG_CACHE"


def cache_dir() -> Path:
    """`$BIDIRAG_CACHE`, else `./.cache` (the repo's own, ignored by git)."""
    return Path(os.environ.get(CACHE_ENV, ".cache")).resolve()


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def shipped_verifier_dir() -> Path:
    """The answer verifier trained by `bidirag models train-verifier` and shipped in the repo."""
    return repo_root() / "models" / "verifier"


def shipped_trust_model() -> Path:
    """The trust check's logistic model trained by `bidirag models train-trust` and shipped in the repo."""
    return repo_root() / "models" / "trust.json"


def shipped_nli_dir() -> Path:
    """The NLI cross-encoder trained by `bidirag models train-nli` and shipped in the repo."""
    return repo_root() / "models" / "nli"
