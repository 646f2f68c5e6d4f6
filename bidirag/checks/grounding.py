"""grounding (the paper's first check): mean over answer sentences s of max over retrieved docs x of
P(entail | premise=x, hypothesis=s)."""

from __future__ import annotations

import numpy as np

from bidirag.checks.base import Check, CheckContext, register


def grounding(entail: np.ndarray) -> float:
    """entail: P(entail) matrix shaped (sentences, docs)."""
    if entail.size == 0:
        return 0.0
    return float(entail.max(axis=1).mean())


def grounding_scores(nli, items: list[tuple[list[str], list[str]]], aggs: list[str] | None = None) -> list[float]:
    """Grounding of many (sentences, docs) items with every (doc, sentence) pair in one batched NLI call. `aggs`
    (one per item, default "mean") says how an item's per-sentence best entailment is reduced: "mean" (grounding)
    or "min" (every sentence must be entailed)."""
    pairs, spans = [], []
    for sents, docs in items:
        docs = [d for d in docs if d.strip()]     # a blanked doc (not evidence: validate.evidence_docs) entails nothing
        spans.append((len(pairs), len(sents), len(docs)))
        pairs += [(d, s) for s in sents for d in docs]
    probs = nli.predict(pairs) if pairs else np.zeros((0, 3), np.float32)
    out = []
    for i, (start, n_s, n_d) in enumerate(spans):
        ent = probs[start:start + n_s * n_d, 1].reshape(n_s, n_d) if n_s and n_d else np.zeros((0, 0))
        if aggs and aggs[i] == "min":
            out.append(float(ent.max(axis=1).min()) if ent.size else 0.0)
        else:
            out.append(grounding(ent))
    return out


@register
class Grounding(Check):
    name = "grounding"
    reason_text = "answer not entailed by the retrieved documents"
    threshold_field = "grounding_threshold"
    critique = True

    def request(self, ctx: CheckContext) -> None:
        ctx.request_nli(self.name, [(s, d) for s, d in zip(ctx.sentences, ctx.docs, strict=True)])

    def score(self, ctx: CheckContext) -> list[float]:
        return ctx.nli_scores(self.name)
