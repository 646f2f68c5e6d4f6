"""attribution (the paper's second check): |cited ∩ retrieved| / |cited|; no citation -> 0 (fails)."""

from __future__ import annotations

from collections.abc import Sequence

from bidirag.checks.base import Check, CheckContext, register


def attribution(cited: Sequence[int], n_retrieved: int) -> float:
    if not cited:
        return 0.0
    valid = sum(1 for c in cited if 1 <= c <= n_retrieved)
    return valid / len(cited)


@register
class Attribution(Check):
    name = "attribution"
    reason_text = "citations missing or not among the retrieved documents"
    threshold_field = "attribution_threshold"
    critique = True
    calibrate = False   # not a correctness score: no gold-precision sweep

    def score(self, ctx: CheckContext) -> list[float]:
        return [attribution(c, len(d)) for c, d in zip(ctx.cited, ctx.docs, strict=True)]
