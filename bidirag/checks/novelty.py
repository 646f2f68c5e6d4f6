"""novelty (the paper's third check): 1 - max over stored docs d of cos(emb(answer), emb(d)); an empty
table -> 1. The table is the corpus snapshot pinned at the epoch start (the knowledge units for units)."""

from __future__ import annotations

from bidirag.checks.base import Check, CheckContext, register


def novelty(max_cosine: float | None) -> float:
    return 1.0 if max_cosine is None else float(1.0 - max_cosine)


@register
class Novelty(Check):
    name = "novelty"
    reason_text = "too similar to an existing document"
    threshold_field = "novelty_threshold"
    calibrate = False   # not a correctness score: no gold-precision sweep

    def score(self, ctx: CheckContext) -> list[float]:
        return [novelty(c) for c in ctx.nearest_cosine]
