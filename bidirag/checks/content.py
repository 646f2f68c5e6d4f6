"""content: min over answer sentences of the share of their content words whose stem (`text.stem`) is not
among the query's (a sentence with no content words scores 0): 0 for "The county developing its business
center is." asked "Which county is developing its business center?", and 0 for an inflected echo of the
question ("...begins in counterflow." for "...begin in counterflow?")."""

from __future__ import annotations

from collections.abc import Sequence

from bidirag.checks.base import Check, CheckContext, register
from bidirag.text import content_words, stem


def content(query: str, sentences: Sequence[str]) -> float:
    """Min over sentences of the share of content words whose stem is not among the query's; no sentences -> 0."""
    q = {stem(w) for w in content_words(query)}
    shares = []
    for s in sentences:
        words = [stem(w) for w in content_words(s)]
        shares.append(sum(w not in q for w in words) / len(words) if words else 0.0)
    return min(shares) if shares else 0.0


@register
class Content(Check):
    name = "content"
    reason_text = "an answer sentence only restates the question"
    threshold_field = "content_threshold"
    critique = True

    def score(self, ctx: CheckContext) -> list[float]:
        return [content(q, s) for q, s in zip(ctx.queries, ctx.sentences, strict=True)]
