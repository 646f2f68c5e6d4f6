"""Offline NLI training and evaluation pairs.

Label ids follow the reference cross-encoder (cross-encoder/nli-deberta-v3-base):
0 = contradiction, 1 = entailment, 2 = neutral.

Sources:
- VitaminC (bigbench `vitaminc_fact_verification`): True -> entailment, False -> contradiction,
  Neither -> neutral. Split by page title (contrastive pairs share a page), so held-out pages are unseen.
- QA-derived pairs from SQuAD v1.1 dev articles: the paragraph entails a declarative statement of the
  gold answer; the statement with the answer swapped for a same-type span of the same article
  contradicts it; the statement is neutral w.r.t. a paragraph that does not contain the answer.
  Hard cases (added for the second training stage): the answer swapped for the answer of another
  question about the same paragraph (contradiction, though the words are in the premise) and vacuous
  hypotheses -- the question itself or "The answer is X." -- (neutral).
- presuppositions_as_nli (bigbench): evaluation only.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

from bidirag.data.bigbench import load_task
from bidirag.data.squad import Article, articles_for
from bidirag.data.statements import statement
from bidirag.text import normalize_answer

LABELS = ("contradiction", "entailment", "neutral")
CONTRA, ENTAIL, NEUTRAL = 0, 1, 2
_SENT_END = re.compile(r"(?<=[.!?])\s+")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december")


@dataclass(frozen=True)
class Pair:
    premise: str
    hypothesis: str
    label: int
    source: str


def _bucket(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def vitaminc(root: Path | None = None, heldout_share: float = 0.06) -> tuple[list[Pair], list[Pair]]:
    """(train, heldout) VitaminC pairs; held out by page title."""
    task = load_task("vitaminc_fact_verification/task.json", root)
    names = {"True": ENTAIL, "False": CONTRA, "Neither": NEUTRAL}
    train, held = [], []
    for ex in task["examples"]:
        text = ex["input"].replace("\ufffd", " ")
        if "\nClaim: " not in text:
            continue
        evidence, claim = text.split("\nClaim: ", 1)
        title = evidence.split(":", 1)[0]
        label = names[max(ex["target_scores"], key=ex["target_scores"].get)]
        pair = Pair(evidence.strip(), claim.strip(), label, "vitaminc")
        (held if _bucket(title) < heldout_share else train).append(pair)
    return train, held


def presuppositions(root: Path | None = None) -> list[Pair]:
    task = load_task("presuppositions_as_nli/task.json", root)
    ids = {"contradiction": CONTRA, "entailment": ENTAIL, "neutral": NEUTRAL}
    out = []
    for ex in task["examples"]:
        m = re.match(r"Sentence 1:(.*)\nSentence 2:(.*?)\n", ex["input"], re.S)
        if not m:
            continue
        label = ids[max(ex["target_scores"], key=ex["target_scores"].get)]
        out.append(Pair(m.group(1).strip(), m.group(2).strip(), label, "presuppositions"))
    return out


def span_type(answer: str) -> str:
    a = answer.strip()
    low = a.lower()
    if re.fullmatch(r"(c\.\s*)?1\d{3}|20\d{2}", a):
        return "year"
    if any(m in low for m in _MONTHS) and re.search(r"\d", a):
        return "date"
    if re.search(r"\d", a):
        return "number"
    if a[:1].isupper():
        return "proper"
    return "phrase"


def _answer_sentence(paragraph: str, answer: str) -> str | None:
    for sent in _SENT_END.split(paragraph):
        if answer in sent and len(sent) < 400:
            return sent.strip()
    return None


def qa_pairs(articles: list[Article], seed: int = 0, source: str = "qa", hard: bool = True) -> list[Pair]:
    """Entailed / contradicted / neutral pairs from the given articles only.

    `hard` adds in-paragraph answer swaps (contradiction) and vacuous hypotheses (neutral).
    """
    rng = random.Random(seed)
    out: list[Pair] = []
    for art in articles:
        norm_paras = [normalize_answer(p) for p in art.paragraphs]
        by_type: dict[str, list[str]] = {}
        para_answers: dict[tuple[int, str], list[str]] = {}
        for q in art.questions:
            by_type.setdefault(span_type(q.answers[0]), []).append(q.answers[0])
            para_answers.setdefault((q.paragraph_index, span_type(q.answers[0])), []).append(q.answers[0])
        all_answers = [q.answers[0] for q in art.questions]
        for q in art.questions:
            gold = q.answers[0]
            para = art.paragraphs[q.paragraph_index]
            gold_norm = {normalize_answer(a) for a in q.answers}
            true_stmt = statement(q.text, gold)
            out.append(Pair(para, true_stmt, ENTAIL, source))
            sent = _answer_sentence(para, gold)
            if sent and rng.random() < 0.5:
                out.append(Pair(para, sent, ENTAIL, source))
            # contradiction: same statement with a different same-type span of this article
            pool = [a for a in by_type.get(span_type(gold), [])
                    if normalize_answer(a) not in gold_norm and normalize_answer(a) not in norm_paras[q.paragraph_index]
                    and normalize_answer(gold) not in normalize_answer(a)]
            if pool:
                wrong = rng.choice(pool)
                out.append(Pair(para, statement(q.text, wrong), CONTRA, source))
                if sent and rng.random() < 0.5:
                    out.append(Pair(para, sent.replace(gold, wrong, 1), CONTRA, source))
            # hard contradiction: swap in a same-type span that IS in this paragraph (the answer to
            # another question about it), so word presence alone never means entailment
            if hard:
                near = [a for a in para_answers.get((q.paragraph_index, span_type(gold)), [])
                        if normalize_answer(a) not in gold_norm and normalize_answer(gold) not in normalize_answer(a)
                        and normalize_answer(a) not in normalize_answer(gold)]
                if near and rng.random() < 0.5:
                    out.append(Pair(para, statement(q.text, rng.choice(near)), CONTRA, source + "_hard"))
            # neutral: a paragraph of the same article (hard) or another article that lacks the answer
            others = [p for i, p in enumerate(art.paragraphs)
                      if i != q.paragraph_index and not any(g in norm_paras[i] for g in gold_norm)]
            if others:
                out.append(Pair(rng.choice(others), true_stmt, NEUTRAL, source))
            # vacuous hypotheses assert nothing the paragraph could entail: the question itself, or a
            # bare "the answer is X" (what echo / injection answers look like)
            if hard and rng.random() < 0.25:
                vac = q.text if rng.random() < 0.5 else f"The answer is {rng.choice(all_answers)}."
                out.append(Pair(para, vac, NEUTRAL, source + "_vacuous"))
    return out


def training_set(root: Path | None = None, seed: int = 0,
                 qa_repeat: int = 1) -> tuple[list[Pair], dict[str, list[Pair]]]:
    """(train pairs, {eval name: pairs}); QA training pairs come from `nli_train` articles only.

    `qa_repeat` oversamples the QA-derived pairs (the grounding check's own distribution).
    """
    vc_train, vc_held = vitaminc(root)
    rng = random.Random(seed)
    qa_train = qa_pairs(articles_for("nli_train", root), seed=seed)
    qa_eval = qa_pairs(articles_for("rag_eval", root), seed=seed + 1, source="qa_eval", hard=False)
    hard_eval = [p for p in qa_pairs(articles_for("rag_eval", root), seed=seed + 1, source="qa_eval")
                 if p.source != "qa_eval"]
    rng.shuffle(vc_held)
    rng.shuffle(qa_eval)
    evals = {
        "vitaminc_heldout": vc_held[:2500],
        "qa_eval_articles": qa_eval[:3000],
        "qa_eval_hard_cases": hard_eval[:2000],
        "presuppositions_as_nli": presuppositions(root),
    }
    train = vc_train + qa_train * max(1, qa_repeat)
    rng.shuffle(train)
    return train, evals
