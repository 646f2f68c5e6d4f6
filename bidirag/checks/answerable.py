"""answerable: max over retrieved docs of the share of the question's content words (of its claim, for a
why-question) that the doc contains. A question the knowledge base does not speak about ("Which football club
undeniably has the best players?" against Super Bowl paragraphs) gets an answer from docs about something
else, and NLI may still "entail" it."""

from __future__ import annotations

from collections.abc import Sequence

from bidirag.checks.base import Check, CheckContext, register
from bidirag.data.statements import presupposition
from bidirag.text import content_words


def answerable(question: str, docs: Sequence[str]) -> float:
    """Max over docs of the share of the question's content words found in the doc; no docs -> 0,
    a question without content words -> 1 (nothing to look for)."""
    want = set(content_words(question))
    if not want:
        return 1.0
    return max((len(want & set(content_words(d))) / len(want) for d in docs), default=0.0)


@register
class Answerable(Check):
    name = "answerable"
    reason_text = "the retrieved documents do not speak about what the question asks"
    threshold_field = "answerable_threshold"
    needs_answer = False

    def score(self, ctx: CheckContext) -> list[float]:
        return [answerable(presupposition(q) or q, docs) for q, docs in zip(ctx.queries, ctx.docs, strict=True)]
