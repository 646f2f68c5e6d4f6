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
  Harder still (third stage, `extra_pairs`): the paragraph's own answer sentence with the answer swapped for
  another answer of the same paragraph (contradiction, almost every word is in the premise), and evaluative
  claims about an entity of the paragraph -- "X is the best.", "X is better than Y.", "X has the best <plural
  word of the paragraph>." -- which no factual paragraph entails (neutral).
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


def _answers_by_paragraph(art: Article) -> dict[tuple[int, str], list[str]]:
    """(paragraph index, span type) -> the first gold answers of the paragraph's questions."""
    out: dict[tuple[int, str], list[str]] = {}
    for q in art.questions:
        out.setdefault((q.paragraph_index, span_type(q.answers[0])), []).append(q.answers[0])
    return out


def _in_paragraph_swaps(para_answers: dict[tuple[int, str], list[str]], q) -> list[str]:
    """Same-type answers of other questions about q's paragraph that neither contain nor are in q's answer."""
    gold = q.answers[0]
    gold_norm = {normalize_answer(a) for a in q.answers}
    return [a for a in para_answers.get((q.paragraph_index, span_type(gold)), [])
            if normalize_answer(a) not in gold_norm and normalize_answer(gold) not in normalize_answer(a)
            and normalize_answer(a) not in normalize_answer(gold)]


def qa_pairs(articles: list[Article], seed: int = 0, source: str = "qa", hard: bool = True) -> list[Pair]:
    """Entailed / contradicted / neutral pairs from the given articles only.

    `hard` adds in-paragraph answer swaps (contradiction) and vacuous hypotheses (neutral).
    """
    rng = random.Random(seed)
    out: list[Pair] = []
    for art in articles:
        norm_paras = [normalize_answer(p) for p in art.paragraphs]
        by_type: dict[str, list[str]] = {}
        for q in art.questions:
            by_type.setdefault(span_type(q.answers[0]), []).append(q.answers[0])
        para_answers = _answers_by_paragraph(art)
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
                near = _in_paragraph_swaps(para_answers, q)
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


# words that make a paragraph itself evaluative: evaluative hypotheses are only made from paragraphs without them
_EVALUATIVE = re.compile(r"\b(best|better|greatest|greater|worst|worse|finest|superior|inferior|overrated|"
                         r"undeniabl\w*|most|favou?rite|great)\b", re.I)
_EVAL_TEMPLATES = ("{e} is the best.", "{e} is better than {f}.", "{e} has the best {w}.",
                   "{e} is undeniably the greatest of all.", "{e} is overrated.", "Nobody is better than {e}.",
                   "{e} is the most important {w} in history.", "{e} is superior to {f}.")


def extra_pairs(articles: list[Article], seed: int = 0, source: str = "qa") -> list[Pair]:
    """Third-stage pairs: in-paragraph sentence swaps (contradiction) and evaluative claims (neutral).

    Own random stream, so the first- and second-stage pairs (and the evaluation sets) are unchanged.
    """
    rng = random.Random(seed + 7919)
    out: list[Pair] = []
    for art in articles:
        para_answers = _answers_by_paragraph(art)
        entities: dict[int, list[str]] = {}
        for (i, kind), answers in para_answers.items():
            if kind == "proper":
                entities.setdefault(i, []).extend(a for a in answers if len(a.split()) <= 4)
        for q in art.questions:
            gold = q.answers[0]
            para = art.paragraphs[q.paragraph_index]
            sent = _answer_sentence(para, gold)
            near = _in_paragraph_swaps(para_answers, q)
            if sent and near:
                out.append(Pair(para, sent.replace(gold, rng.choice(near), 1), CONTRA, source + "_sentswap"))
        for i, ents in entities.items():
            para = art.paragraphs[i]
            if _EVALUATIVE.search(para):
                continue
            plurals = sorted({w for w in re.findall(r"\b[a-z]{5,}s\b", para) if not w.endswith("ss")})
            ents = sorted(set(ents))
            for e in rng.sample(ents, min(2, len(ents))):
                tpl = rng.choice(_EVAL_TEMPLATES)
                others = [x for x in ents if x != e]
                if ("{f}" in tpl and not others) or ("{w}" in tpl and not plurals):
                    continue
                hyp = tpl.format(e=e, f=rng.choice(others) if others else "", w=rng.choice(plurals) if plurals else "")
                out.append(Pair(para, hyp[:1].upper() + hyp[1:], NEUTRAL, source + "_evaluative"))
    return out


def training_set(root: Path | None = None, seed: int = 0, qa_repeat: int = 1, extra: bool = False,
                 hard: bool = True) -> tuple[list[Pair], dict[str, list[Pair]]]:
    """(train pairs, {eval name: pairs}); QA training pairs come from `nli_train` articles only.

    `qa_repeat` oversamples the QA-derived pairs (the grounding check's own distribution); `extra` adds the
    third-stage pairs (`extra_pairs`) to the training pairs. The evaluation sets always include them.
    `hard=False` leaves out the second-stage hard training pairs (how the first stage was trained).
    """
    vc_train, vc_held = vitaminc(root)
    rng = random.Random(seed)
    qa_train = qa_pairs(articles_for("nli_train", root), seed=seed, hard=hard)
    qa_eval = qa_pairs(articles_for("rag_eval", root), seed=seed + 1, source="qa_eval", hard=False)
    hard_eval = [p for p in qa_pairs(articles_for("rag_eval", root), seed=seed + 1, source="qa_eval")
                 if p.source != "qa_eval"]
    rng.shuffle(vc_held)
    rng.shuffle(qa_eval)
    extra_eval = extra_pairs(articles_for("rag_eval", root), seed=seed + 1, source="qa_eval")
    evals = {
        "vitaminc_heldout": vc_held[:2500],
        "qa_eval_articles": qa_eval[:3000],
        "qa_eval_hard_cases": hard_eval[:2000],
        "qa_eval_sentence_swaps": [p for p in extra_eval if p.source.endswith("_sentswap")][:1000],
        "qa_eval_evaluative": [p for p in extra_eval if p.source.endswith("_evaluative")][:1000],
        "presuppositions_as_nli": presuppositions(root),
    }
    if extra:
        qa_train = qa_train + extra_pairs(articles_for("nli_train", root), seed=seed)
    train = vc_train + qa_train * max(1, qa_repeat)
    rng.shuffle(train)
    return train, evals
