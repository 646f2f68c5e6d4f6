"""opinion: share of the answer's evaluative words ("best", "better", "worst", "undeniably", ...) that a doc
the answer cites also uses; 1 when the answer has none. A knowledge base should not gain opinions its
sources do not state ("The Panthers have the best players." from a paragraph that reports their record)."""

from __future__ import annotations

from collections.abc import Sequence

from bidirag.checks.base import Check, CheckContext, register
from bidirag.text import normalize_answer

# words that make a claim a judgement rather than a fact; "most" and "great" are left out (too often factual)
EVALUATIVE = frozenset(
    "best better worst worse finest greatest superior inferior overrated underrated undeniable undeniably "
    "unquestionably indisputably indisputable favorite favourite favorites favourites perfect ideal".split())


def opinion(answer: str, docs: Sequence[str]) -> float:
    """Share of the answer's evaluative words that some of `docs` (the cited docs) also uses; none -> 1."""
    words = set(normalize_answer(answer).split()) & EVALUATIVE
    if not words:
        return 1.0
    stated = set().union(*(normalize_answer(d).split() for d in docs)) if docs else set()
    return len(words & stated) / len(words)


@register
class Opinion(Check):
    name = "opinion"
    reason_text = "the answer states a judgement (best, better, worst, ...) no cited document makes"
    threshold_field = "reject_unstated_opinions"
    critique = True
    calibrate = False

    def score(self, ctx: CheckContext) -> list[float]:
        out = []
        for text, docs, cited in zip(ctx.texts, ctx.docs, ctx.cited, strict=True):
            out.append(opinion(text, [docs[c - 1] for c in cited if 1 <= c <= len(docs)]))
        return out
