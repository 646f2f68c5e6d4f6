"""focus: the answer's source must be the retrieved sentence the question is most about, within a margin.

Score = cos(question, source) − max cos(question, s) over the sentences s of the *other* retrieved docs (the docs
that do not hold the source; written docs are blank evidence and skipped), with the embedder's vectors. The source
is the premise the `source` check picked when it runs first; without it (not listed, or scoring saved answers) the
check finds the source itself, the same way, in the batch's one NLI call. No other doc with a sentence: 1.0; no
source: 0.0 (the `source` check rejects that record already).

Why: a question that does not single out its subject ("When did they buy this?", "What size rooms can this heat?",
"What is the door rack made out of?", asked by a crowdworker about one product review) retrieves several docs that
each answer it for a different subject; the generator answers from one, and every support check confirms the
answer *is* stated there. The written doc is true of some subject and false of the one asked about. When another
retrieved doc has a sentence that matches the question clearly better than the sentence quoted, the quote is
probably about something else than what was asked. General: it reads no question form and no domain words.

Threshold (`acceptance.focus_threshold`, −0.1) chosen on the design data only (the 15 read Amazon-review docs of
`docs/results/eval-shifts-2026-12-03/` and the 130 read calibrate-split SQuAD docs); measured on held-out sets in
`docs/results/focus-2026-12-03.md`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bidirag.checks.base import Check, CheckContext, register
from bidirag.checks.source import pick_sources, source_doc, source_pairs
from bidirag.text import doc_sentences


def competing_sentences(source: str, docs: Sequence[str]) -> list[str]:
    """The sentences of every non-blank doc that does not hold `source` (the doc found by `source_doc`)."""
    own = source_doc(source, docs)
    return [s for i, d in enumerate(docs) if i != own and d.strip() for s in doc_sentences(d)]


def focus_scores(embed, queries: Sequence[str], sources: Sequence[str | None], docs: Sequence[Sequence[str]],
                 query_vectors: np.ndarray | None = None) -> list[float]:
    """Per item: cos(question, source) − the best cos(question, sentence of another doc); one embedder call for
    every source and competing sentence of the batch."""
    texts, spans = [], []
    for src, d in zip(sources, docs, strict=True):
        if src is None:
            spans.append(None)
            continue
        comp = competing_sentences(src, d)
        spans.append((len(texts), len(comp)))
        texts += [src, *comp]
    if not any(spans):
        return [0.0] * len(sources)
    qv = query_vectors if query_vectors is not None else embed(list(queries))
    vecs = embed(texts)
    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    qv = qv / np.maximum(np.linalg.norm(qv, axis=1, keepdims=True), 1e-12)
    out = []
    for q, span in zip(qv, spans, strict=True):
        if span is None:
            out.append(0.0)
            continue
        start, n = span
        if n == 0:
            out.append(1.0)
            continue
        sims = vecs[start:start + 1 + n] @ q
        out.append(float(sims[0] - sims[1:].max()))
    return out


@register
class Focus(Check):
    name = "focus"
    reason_text = "another retrieved doc has a sentence closer to the question than the answer's source " \
                  "(the question may be about something else)"
    threshold_field = "focus_threshold"

    def validate(self, cfg) -> None:
        names = list(cfg.acceptance.checks)
        if "source" in names and names.index("source") > names.index(self.name):
            raise ValueError("the focus check reads the source the `source` check picks: list `source` before "
                             "`focus` in acceptance.checks (or leave `source` out and focus finds it itself)")

    def request(self, ctx: CheckContext) -> None:
        if "source" not in ctx._pair_requests:          # the source check is not in this batch: find it here
            pairs, ctx._cache["focus_spans"] = source_pairs(ctx.texts, ctx.docs)
            ctx.request_pairs(self.name, pairs)

    def score(self, ctx: CheckContext) -> list[float]:
        if "focus_spans" in ctx._cache:
            sources = [s for s, _ in pick_sources(ctx.pair_probs(self.name), ctx._cache.pop("focus_spans"))]
        else:
            sources = [r.get("source") for r in ctx.records]
        return focus_scores(ctx.embed, ctx.queries, sources, ctx.docs, ctx.query_vectors)
