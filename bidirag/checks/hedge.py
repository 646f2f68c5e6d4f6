"""hedge: a claim its source hedges must keep the hedge. The sentence that states what the answer adds (the retrieved
sentence holding the largest share of the answer's new content-word stems, at least half) is read for two kinds of
hedge: an epistemic marker ("reputedly", "allegedly", "is believed", "is said to", "unofficially", "estimated",
"probably", ...) and an approximate number ("about 1300", "nearly 40%", "at least 10") whose number the answer
repeats. If the source hedges and the answer carries no such marker (nor does the question), the answer states as
fact what its source does not: score 0, else 1. A small generator drops these words ("The Hoppings is the largest
travelling fair in Europe" from "reputedly the largest"; "established in 1300" from "in about 1300"), and an NLI
model still entails the unhedged sentence. Lexical and general: the markers are ordinary English hedges, not the
wording of any test query; modal verbs ("may", "might") are left out ("May" is also a month, and a modal in the
sentence rarely governs the answer's clause).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bidirag.checks.base import Check, CheckContext, register
from bidirag.text import content_words, doc_sentences, stem

EPISTEMIC = re.compile(
    r"\b(reputedly|reportedly|allegedly|supposedly|purportedly|believed|thought to|estimated|possibly|probably|"
    r"perhaps|likely|unofficially|unconfirmed|claimed|arguably|rumou?red|presumably|apparently|speculated|"
    r"disputed|theori[sz]ed|hypothesi[sz]ed|said to)\b", re.I)
APPROX = re.compile(r"\b(about|around|approximately|roughly|nearly|almost|some|over|more than|less than|fewer than|"
                    r"at least|up to|circa|under|estimated)\s+(\d[\d,.]*)", re.I)


def support_sentence(question: str, answer: str, docs: Sequence[str]) -> str | None:
    """The retrieved sentence holding the largest share (>= 0.5) of the answer's new content-word stems, else None;
    blank docs (written docs, never evidence) are skipped; earlier sentences win ties."""
    q = {stem(w) for w in content_words(question)}
    new = {stem(w) for w in content_words(answer)} - q
    if not new:
        return None
    best, share = None, 0.0
    for d in docs:
        if not d.strip():
            continue
        for s in doc_sentences(d):
            x = len(new & {stem(w) for w in content_words(s)}) / len(new)
            if x > share:
                best, share = s, x
    return best if share >= 0.5 else None


def source_hedge(question: str, answer: str, docs: Sequence[str]) -> str | None:
    """The hedge of the answer's source sentence that the answer drops, or None."""
    s = support_sentence(question, answer, docs)
    if s is None:
        return None
    m = EPISTEMIC.search(s)
    if m and not EPISTEMIC.search(answer) and not EPISTEMIC.search(question):
        return m.group(0)
    if not APPROX.search(answer):
        for m in APPROX.finditer(s):
            if m.group(2).rstrip(".,") in answer:
                return m.group(0).rstrip(".,")
    return None


def hedge(question: str, answer: str, docs: Sequence[str]) -> float:
    return 0.0 if source_hedge(question, answer, docs) else 1.0


@register
class Hedge(Check):
    name = "hedge"
    reason_text = "the answer states as fact what its source sentence hedges"
    threshold_field = "require_hedge"
    critique = True
    calibrate = False

    def score(self, ctx: CheckContext) -> list[float]:
        return [hedge(q, t, d) if t.strip() else 1.0 for q, t, d in zip(ctx.queries, ctx.texts, ctx.docs, strict=True)]
