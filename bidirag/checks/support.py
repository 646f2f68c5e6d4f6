"""support: what the answer adds to the question must be stated by one sentence of one retrieved doc. Score =
max over doc sentences of the share of the answer's new content words (by stem, not in the question) that
the sentence holds; an answer that adds nothing scores 0. Lexical, so it does not "entail" a fluent claim
whose key word (a date, a name) no source sentence has; paraphrases lose some score."""

from __future__ import annotations

from collections.abc import Sequence

from bidirag.checks.base import Check, CheckContext, register
from bidirag.text import content_words, split_sentences, stem


def support(question: str, answer: str, docs: Sequence[str]) -> float:
    q = {stem(w) for w in content_words(question)}
    new = {stem(w) for w in content_words(answer)} - q
    if not new:
        return 0.0
    best = 0.0
    for d in docs:
        for s in split_sentences(d):
            best = max(best, len(new & {stem(w) for w in content_words(s)}) / len(new))
    return best


@register
class Support(Check):
    name = "support"
    reason_text = "what the answer adds is not stated by any one sentence of the retrieved documents"
    threshold_field = "support_threshold"
    critique = True

    def score(self, ctx: CheckContext) -> list[float]:
        return [support(q, t, d) for q, t, d in zip(ctx.queries, ctx.texts, ctx.docs, strict=True)]
