"""The acceptance formulas, pure functions on numbers (the stages feed them model outputs).

grounding   = mean over answer sentences s of max over retrieved docs x of P(entail | x, s)
attribution = |cited ∩ retrieved| / |cited|; no citation -> 0 (fails)
novelty     = 1 - max over corpus docs d of cos(emb(answer), emb(d)); empty corpus -> 1
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CHECKS = ("grounding", "attribution", "novelty")


def grounding(entail: np.ndarray) -> float:
    """entail: P(entail) matrix shaped (sentences, docs)."""
    if entail.size == 0:
        return 0.0
    return float(entail.max(axis=1).mean())


def attribution(cited: Sequence[int], n_retrieved: int) -> float:
    if not cited:
        return 0.0
    valid = sum(1 for c in cited if 1 <= c <= n_retrieved)
    return valid / len(cited)


def novelty(max_cosine: float | None) -> float:
    return 1.0 if max_cosine is None else float(1.0 - max_cosine)


def verdict(scores: dict[str, float], thresholds: dict[str, float]) -> str | None:
    """The first failing check in CHECKS order, or None when all pass."""
    for name in CHECKS:
        if scores[name] < thresholds[name]:
            return name
    return None


def reason(check: str, score: float, threshold: float) -> str:
    words = {"grounding": "answer not entailed by the retrieved documents",
             "attribution": "citations missing or not among the retrieved documents",
             "novelty": "too similar to an existing corpus document"}
    return f"{words[check]} ({check} {score:.2f} < {threshold:.2f})"
