"""verifier: P(the answer is correct) from the answer verifier (`models.verifier`, a cross-encoder trained on
this generator's own labeled answers: `bidirag/models/verifier.py`). It judges what an NLI model does not:
whether the answer answers the question (not only whether a doc supports it)."""

from __future__ import annotations

from bidirag.checks.base import Check, CheckContext, register


@register
class Verifier(Check):
    name = "verifier"
    reason_text = "the answer verifier judges the answer wrong for this question"
    threshold_field = "verifier_threshold"
    critique = True

    def score(self, ctx: CheckContext) -> list[float]:
        from bidirag.models import handlers

        model = handlers.verifier(ctx.cfg.models.verifier)
        items = list(zip(ctx.queries, ctx.texts, ctx.docs, strict=True))
        return [float(x) for x in model.predict(items)] if items else []
