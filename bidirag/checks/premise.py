"""premise: for a why-question, the claim it takes for granted ("Why is it true that X?" -> X) must be
entailed both by a retrieved doc and by the answer that would be written: min(max over docs of
P(entail | best-matching sentence of the doc, X), P(entail | answer, X)). One sentence, not the whole doc:
against a whole paragraph the NLI "entails" a claim whose answer was swapped for another span of the same
paragraph as readily as the true claim. A doc whose sentence holds the claim's words far apart (more than
`premise_max_gap` other content words between them, `text.claim_gap`) gives no support: a claim stitched
from two places of a sentence; so does a sentence that lacks some of the claim's content words
(`premise_min_coverage`, `text.claim_coverage`): a claim stitched from two sentences of the paragraph.
Questions without such a claim score 1."""

from __future__ import annotations

from bidirag.checks.base import Check, CheckContext, register
from bidirag.data.statements import presupposition
from bidirag.text import claim_coverage, claim_gap, premise_window


def supporting_windows(claim: str, docs: list[str], sentences: int, max_gap: int,
                       min_coverage: float) -> list[str]:
    """Each doc's best-matching sentence(s) for `claim`, keeping those that state it: at least `min_coverage`
    of the claim's content words (`text.claim_coverage`), sitting together (`text.claim_gap` <= max_gap; -1
    keeps all). The premise check's NLI reads only these, and no window left means no support (score 0)."""
    windows = [premise_window(d, claim, sentences) for d in docs]
    return [w for w in windows if (max_gap < 0 or claim_gap(w, claim) <= max_gap)
            and claim_coverage(w, claim) >= min_coverage - 1e-9]


@register
class Premise(Check):
    name = "premise"
    reason_text = "the question takes for granted a claim the documents do not support (false premise)"
    threshold_field = "premise_threshold"
    config_fields = ("premise_sentences", "premise_max_gap", "premise_min_coverage")
    calibrate = False   # its own calibration: bidirag.evaluation.premise_cal

    def request(self, ctx: CheckContext) -> None:
        acc = ctx.acceptance
        claims = [presupposition(q) for q in ctx.queries]
        idx = [i for i, c in enumerate(claims) if c]
        ctx._cache["premise_idx"] = idx
        ctx.request_nli("premise.docs", [
            ([claims[i]], supporting_windows(claims[i], ctx.docs[i], acc.premise_sentences, acc.premise_max_gap,
                                             acc.premise_min_coverage)) for i in idx])
        # a written explanation must state what it explains
        ctx.request_nli("premise.answer", [([claims[i]], [ctx.texts[i]] if ctx.texts[i].strip() else [])
                                           for i in idx])

    def score(self, ctx: CheckContext) -> list[float]:
        out = [1.0] * len(ctx)
        by_docs, by_answer = ctx.nli_scores("premise.docs"), ctx.nli_scores("premise.answer")
        for i, d, a in zip(ctx._cache["premise_idx"], by_docs, by_answer, strict=True):
            out[i] = min(d, a)
        return out
