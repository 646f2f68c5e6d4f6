"""sentence_grounding: every answer sentence must be entailed by *one* retrieved sentence (or two adjacent ones of
the same doc). Score = min over answer sentences s of max over premises p of P(entail | p, s), where the premises
are each retrieved doc's sentences and its adjacent sentence pairs (written docs blanked, as for every check).

Doc-level grounding judges a claim against a whole 700-character doc, so an answer that recombines true words
of different sentences ("X did Y" where one sentence says X did Z and the next says W did Y) can still be
"entailed" by the doc as a whole; against a single sentence, the wrong relation between those words shows. And
the minimum, not the mean, over answer sentences: one unsupported sentence of two is a wrong doc. Cost: about 30
premises per answer sentence instead of 3, in the same batched NLI call as the other checks.

Opt-in (add it to `acceptance.checks`; `acceptance.sentence_grounding_threshold`, default 0 = only a score; the
trust model may read it as `check:sentence_grounding`). Measured 2026-12-02 (docs/results/sentence-grounding-
2026-12-02.md) and left out of the defaults: on the design split's dev answers it lifts the trust model's AUC by
+0.002 [0.000, 0.005] (gold-rule labels); on 137 read calibrate-split answers it separates read-correct from
read-wrong no better than doc-level grounding (AUC 0.59 vs 0.59). The 22M NLI model, not the premise's size,
is what misses a wrong relation.
"""

from __future__ import annotations

from collections.abc import Sequence

from bidirag.checks.base import Check, CheckContext, register
from bidirag.text import doc_sentences


def sentence_premises(docs: Sequence[str]) -> list[str]:
    """Each doc's sentences, then the adjacent pairs within one doc (never across docs)."""
    singles, pairs = [], []
    for d in docs:
        if not d.strip():
            continue
        ss = doc_sentences(d)
        singles += ss
        pairs += [a + " " + b for a, b in zip(ss, ss[1:], strict=False)]
    return singles + pairs


@register
class SentenceGrounding(Check):
    name = "sentence_grounding"
    reason_text = "an answer sentence is not entailed by any single retrieved sentence"
    threshold_field = "sentence_grounding_threshold"
    critique = True

    def request(self, ctx: CheckContext) -> None:
        ctx.request_nli(self.name, [(s, sentence_premises(d)) for s, d in zip(ctx.sentences, ctx.docs, strict=True)],
                        agg="min")

    def score(self, ctx: CheckContext) -> list[float]:
        return ctx.nli_scores(self.name)
