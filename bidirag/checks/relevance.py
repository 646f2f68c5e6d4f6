"""relevance: cos(emb(query), emb(answer)); an answer about something else fails."""

from __future__ import annotations

import numpy as np

from bidirag.checks.base import Check, CheckContext, register


def relevance(query_vec: np.ndarray, answer_vec: np.ndarray) -> float:
    """Cosine of two embeddings (normalized here, so any embedder works)."""
    qn, an = float(np.linalg.norm(query_vec)), float(np.linalg.norm(answer_vec))
    return float(np.dot(query_vec, answer_vec) / (qn * an)) if qn and an else 0.0


@register
class Relevance(Check):
    name = "relevance"
    reason_text = "the answer is not about the question"
    threshold_field = "relevance_threshold"
    critique = True

    def score(self, ctx: CheckContext) -> list[float]:
        return [relevance(q, a) for q, a in zip(ctx.query_vectors, ctx.answer_vectors, strict=True)]
