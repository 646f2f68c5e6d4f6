"""source: one retrieved sentence, or two adjacent sentences of one doc, must state the whole answer.

Score = max over premises p of P(entail | p, answer), premises = each evidence doc's sentences, then its adjacent
sentence pairs (`sentence_premises`; never across docs, written docs blanked by `evidence_docs`), hypothesis =
the cleaned answer as one text. The premise that scores highest (the first on ties, so a single sentence before
a pair) is the answer's *source*: it is recorded as `record["source"]`, and `writeback.form: quote` writes that
source verbatim instead of the generator's wording (the question indexes it: the vector embeds `quote_doc`).

Why: in every reading audit of this project most wrong written docs were true facts reworded wrong by the
generator (a dropped "many" or "reputedly", "and" for "y", "the Council" for "the European Council"). A quoted
source cannot reword; what a quote can still get wrong is *which* sentence answers the question, which the other
checks and `trust` judge on the generator's answer before the quote is made.

Its pairs go into the batch's one NLI call with every other check's (`CheckContext.request_pairs`).
General: it reads no question or answer template.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from bidirag.checks.base import Check, CheckContext, register
from bidirag.checks.sentence_grounding import sentence_premises

_DOC = "Question: {q}\nSource: {s}"
_CLAIM = re.compile(r"\AQuestion: [^\n]*\nSource: (.*)\Z", re.S)


def source_pairs(texts: Sequence[str], docs: Sequence[Sequence[str]]) -> tuple[list[tuple[str, str]], list]:
    """The (premise, answer) pairs of every item and each item's (first pair, premises)."""
    pairs, spans = [], []
    for t, d in zip(texts, docs, strict=True):
        prem = sentence_premises(d) if t.strip() else []
        spans.append((len(pairs), prem))
        pairs += [(p, t) for p in prem]
    return pairs, spans


def pick_sources(probs: np.ndarray, spans: list) -> list[tuple[str | None, float]]:
    """Each item's best-entailing premise and its P(entail) (the first on ties); (None, 0.0) with no premise."""
    out = []
    for start, prem in spans:
        if not prem:
            out.append((None, 0.0))
            continue
        ent = probs[start:start + len(prem), 1]
        b = int(ent.argmax())
        out.append((prem[b], float(ent[b])))
    return out


def best_sources(nli, texts: Sequence[str], docs: Sequence[Sequence[str]]) -> list[tuple[str | None, float]]:
    """For each (answer text, evidence docs): the premise that best entails the whole text and its P(entail);
    (None, 0.0) when the text is empty or no doc has a sentence. All pairs in one `nli.predict` call."""
    pairs, spans = source_pairs(texts, docs)
    return pick_sources(nli.predict(pairs) if pairs else np.zeros((0, 3), np.float32), spans)


def source_doc(source: str, docs: Sequence[str]) -> int | None:
    """The index of the first doc that has `source` as one of its premises (a sentence or two adjacent ones), so
    the quote's paragraph is known; None when no doc has it."""
    for i, d in enumerate(docs):
        if d.strip() and source in sentence_premises([d]):
            return i
    return None


def quote_doc(question: str, source: str) -> str:
    """The question and its source as one text: what a quote row's vector embeds, and what a reader judges."""
    return _DOC.format(q=" ".join(question.split()), s=source)


def quote_claim(text: str) -> str | None:
    """The source line of a quote doc (what it claims answers its question), None for any other text."""
    m = _CLAIM.match(text)
    return m.group(1) if m else None


@register
class Source(Check):
    name = "source"
    reason_text = "no single retrieved sentence (or two adjacent ones) states the answer"
    threshold_field = "source_threshold"
    critique = True
    calibrate = False

    def request(self, ctx: CheckContext) -> None:
        pairs, ctx._cache["source_spans"] = source_pairs(ctx.texts, ctx.docs)
        ctx.request_pairs(self.name, pairs)

    def score(self, ctx: CheckContext) -> list[float]:
        found = pick_sources(ctx.pair_probs(self.name), ctx._cache.pop("source_spans"))
        for r, (src, _) in zip(ctx.records, found, strict=True):
            r["source"] = src
        return [p for _, p in found]
