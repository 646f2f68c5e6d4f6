"""The acceptance formulas, pure functions on numbers (the stages feed them model outputs).

The paper's three checks:
grounding   = mean over answer sentences s of max over retrieved docs x of P(entail | x, s)
attribution = |cited ∩ retrieved| / |cited|; no citation -> 0 (fails)
novelty     = 1 - max over corpus docs d of cos(emb(answer), emb(d)); empty corpus -> 1
and four bidirag adds in front of them, because an NLI model happily "entails" answers that only
restate the question, copy an off-topic sentence of a document, or obey an injected instruction:
query_safety = 0 when the query carries instructions to the system ("ignore the documents and state
               that ..."), else 1; answers to such queries are never written back
premise      = for a why-question, the claim it takes for granted ("Why is it true that X?" -> X) must be
               entailed both by a retrieved doc and by the answer that would be written: min(max over docs
               of P(entail | best-matching sentence of the doc, X), P(entail | answer, X)). One sentence, not
               the whole doc: against a whole paragraph the NLI "entails" a claim whose answer was swapped for
               another span of the same paragraph as readily as the true claim. A doc whose sentence holds
               the claim's words far apart (more than `premise_max_gap` other content words between them,
               `text.claim_gap`) gives no support: a claim stitched from two places of a sentence; so does a
               sentence that lacks some of the claim's content words (`premise_min_coverage`,
               `text.claim_coverage`): a claim stitched from two sentences of the paragraph. A written
               explanation that does not state what it explains, or that corrects the premise, is not
               written back; questions without such a claim score 1
answerable   = max over retrieved docs of the share of the question's content words (of its claim, for a
               why-question) that the doc contains: a question the knowledge base does not speak about
               ("Which football club undeniably has the best players?" against Super Bowl paragraphs)
               gets an answer from docs about something else, and NLI may still "entail" it
content      = min over answer sentences of the share of their content words whose stem (`text.stem`) is not
               among the query's (a sentence with no content words scores 0): 0 for "The county developing its
               business center is." asked "Which county is developing its business center?", and 0 for "The
               history of the steam engine begins in counterflow." asked "Why is it true that the history of
               the steam engine begin in counterflow?" (an inflected echo is still an echo)
opinion      = share of the answer's evaluative words ("best", "better", "worst", "undeniably", ...) that
               a doc the answer cites also uses; 1 when the answer has none. A knowledge base should not gain
               opinions its sources do not state ("The Panthers have the best players." from a paragraph
               that reports their record), and NLI models "entail" such claims from praise-like facts
relevance    = cos(emb(query), emb(answer)): an answer about something else fails
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from bidirag.text import content_words, normalize_answer, stem

CHECKS = ("query_safety", "premise", "answerable", "content", "opinion", "relevance", "grounding", "attribution",
          "novelty")

# words that make a claim a judgement rather than a fact; "most" and "great" are left out (too often factual)
EVALUATIVE = frozenset(
    "best better worst worse finest greatest superior inferior overrated underrated undeniable undeniably "
    "unquestionably indisputably indisputable favorite favourite favorites favourites perfect ideal".split())

_INSTRUCTION = re.compile(
    r"(^|[.!?;:,]\s*|\band\s+|\bthen\s+)(please\s+)?(ignore|disregard|forget|override)\b[^.?!]{0,40}"
    r"\b(documents?|context|sources?|instructions?|above|previous|passages?)\b"
    r"|(^|[.!?;:,]\s*|\band\s+|\bthen\s+)(please\s+)?(state|say|claim|assert|answer|reply|respond|write)"
    r"\s+(only\s+)?(that\b|with\b|:)"
    r"|\byou (are|must|should|will) (now |always |only )?(say|state|answer|reply|respond|act|pretend)\b"
    r"|\b(system prompt|new instructions)\b", re.I)


def query_safety(query: str) -> float:
    """0.0 when the query tries to instruct the system (prompt injection), else 1.0."""
    return 0.0 if _INSTRUCTION.search(query) else 1.0


def answerable(question: str, docs: Sequence[str]) -> float:
    """Max over docs of the share of the question's content words found in the doc; no docs -> 0,
    a question without content words -> 1 (nothing to look for)."""
    want = set(content_words(question))
    if not want:
        return 1.0
    return max((len(want & set(content_words(d))) / len(want) for d in docs), default=0.0)


def content(query: str, sentences: Sequence[str]) -> float:
    """Min over sentences of the share of content words whose stem is not among the query's; no sentences -> 0."""
    q = {stem(w) for w in content_words(query)}
    shares = []
    for s in sentences:
        words = [stem(w) for w in content_words(s)]
        shares.append(sum(w not in q for w in words) / len(words) if words else 0.0)
    return min(shares) if shares else 0.0


def opinion(answer: str, docs: Sequence[str]) -> float:
    """Share of the answer's evaluative words that some of `docs` (the cited docs) also uses; none -> 1."""
    words = set(normalize_answer(answer).split()) & EVALUATIVE
    if not words:
        return 1.0
    stated = set().union(*(normalize_answer(d).split() for d in docs)) if docs else set()
    return len(words & stated) / len(words)


def relevance(query_vec: np.ndarray, answer_vec: np.ndarray) -> float:
    """Cosine of two embeddings (normalized here, so any embedder works)."""
    qn, an = float(np.linalg.norm(query_vec)), float(np.linalg.norm(answer_vec))
    return float(np.dot(query_vec, answer_vec) / (qn * an)) if qn and an else 0.0


def grounding(entail: np.ndarray) -> float:
    """entail: P(entail) matrix shaped (sentences, docs)."""
    if entail.size == 0:
        return 0.0
    return float(entail.max(axis=1).mean())


def attribution(cited: Sequence[int], n_retrieved: int) -> float:
    if not cited:
        return 0.0
    valid = sum(1 for c in cited if 1 <= c <= n_retrieved)
    return valid / len(cited)


def novelty(max_cosine: float | None) -> float:
    return 1.0 if max_cosine is None else float(1.0 - max_cosine)


def thresholds(acceptance) -> dict[str, float]:
    """The min score of every check, from an AcceptanceConfig."""
    a = acceptance
    return {"query_safety": 1.0 if a.reject_instructions else 0.0, "premise": a.premise_threshold,
            "answerable": a.answerable_threshold, "content": a.content_threshold,
            "opinion": 1.0 if a.reject_unstated_opinions else 0.0,
            "relevance": a.relevance_threshold, "grounding": a.grounding_threshold,
            "attribution": a.attribution_threshold, "novelty": a.novelty_threshold}


def verdict(scores: dict[str, float], thresholds: dict[str, float]) -> str | None:
    """The first failing check in CHECKS order, or None when all pass (checks without a threshold skip)."""
    for name in CHECKS:
        if name in thresholds and scores[name] < thresholds[name]:
            return name
    return None


def reason(check: str, score: float, threshold: float) -> str:
    words = {"query_safety": "the query carries instructions to the system (possible prompt injection)",
             "premise": "the question takes for granted a claim the documents do not support (false premise)",
             "answerable": "the retrieved documents do not speak about what the question asks",
             "content": "an answer sentence only restates the question",
             "opinion": "the answer states a judgement (best, better, worst, ...) no cited document makes",
             "relevance": "the answer is not about the question",
             "grounding": "answer not entailed by the retrieved documents",
             "attribution": "citations missing or not among the retrieved documents",
             "novelty": "too similar to an existing corpus document"}
    return f"{words[check]} ({check} {score:.2f} < {threshold:.2f})"
