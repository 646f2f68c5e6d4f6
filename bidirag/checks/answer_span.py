"""answer_span: the self-check's short answer must be a span of one retrieved corpus sentence about the question.

The self-check (`models.generator.self_check`) asks the generator again, with only the best-matching passage
sentences, for a short extractive answer. This check passes (1.0) when that short answer, SQuAD-normalised,

- holds at least one content word that the question does not (an answer, not a restatement: "Yes", "the city"
  or the question's own subject fail), and
- appears as a whole phrase in a sentence of a retrieved doc that is not a written doc (`evidence_docs`), a
  sentence that also holds at least two of the question's content-word stems (all of them when it has fewer);

else 0.0. The sentence found is the *source* of the extractive write-back form (`writeback.form: extractive`,
`extractive_doc`): the written doc is the question, the short answer and that sentence verbatim, so nothing is
written that the corpus does not say word for word except the pairing of question and answer.

Lexical and general: it reads no question template. What it cannot see: a span from the right sentence that
answers a different question than the one asked (the other checks and `trust` judge that), and answers the
corpus words differently from the generator (a paraphrased date, a unit spelled out): those are not written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bidirag.checks.base import Check, CheckContext, register
from bidirag.checks.source import quote_claim
from bidirag.text import content_words, doc_sentences, normalize_answer, stem, strip_citations

_QUOTES = "\"'“”‘’`"
_LEAD = re.compile(r"^(according to( the)? (documents?|passages?|\[\d+\])\s*,?\s*|answer\s*:\s*)", re.I)
# the extractive doc's layout; `written_claim` reads the answer line back for the gold rule
_DOC = "Question: {q}\nAnswer: {a}\nSource: {s}"
_CLAIM = re.compile(r"\AQuestion: .*?\nAnswer: (.*?)\nSource: ", re.S)


def short_span(short: str | None) -> str:
    """The short answer as written: citations, a primed lead-in, quotes and the end stop removed."""
    if not short:
        return ""
    s = strip_citations(_LEAD.sub("", short.strip().splitlines()[0] if short.strip() else "")).strip()
    return s.strip(_QUOTES).rstrip(" .;:,").strip(_QUOTES).strip()


def source_sentence(question: str, short: str | None, docs: Sequence[str]) -> str | None:
    """The retrieved sentence (verbatim) that holds the short answer as a phrase and the question's words; the
    one sharing most question stems, earliest on ties. None when the short answer is no answer or no sentence
    holds it (see the module doc)."""
    span = normalize_answer(short_span(short))
    q = {stem(w) for w in content_words(question)}
    if not span or not {stem(w) for w in content_words(span)} - q:
        return None
    need = min(2, len(q))
    best, best_ov = None, -1
    for d in docs:
        for s in doc_sentences(d) if d else ():
            if f" {span} " not in f" {normalize_answer(s)} ":
                continue
            ov = len(q & {stem(w) for w in content_words(s)})
            if ov >= need and ov > best_ov:
                best, best_ov = s, ov
    return best


def extractive_doc(question: str, short: str | None, docs: Sequence[str]) -> str | None:
    """The extractive written doc (question, short answer, source sentence verbatim), or None when there is no
    source sentence."""
    src = source_sentence(question, short, docs)
    if src is None:
        return None
    return _DOC.format(q=" ".join(question.split()), a=short_span(short), s=src)


def written_claim(text: str) -> str:
    """What a written doc claims, for the gold rule: the answer line of an extractive doc (its question and its
    verbatim source sentence are not the writer's claim), the source of a quote doc (not its question), else the
    whole text."""
    m = _CLAIM.match(text)
    if m:
        return m.group(1)
    q = quote_claim(text)
    return text if q is None else q


@register
class AnswerSpan(Check):
    name = "answer_span"
    reason_text = ("the short answer is no phrase of a retrieved sentence about the question (or it only "
                   "restates the question)")
    threshold_field = "require_answer_span"
    critique = True           # an answer the documents do not word
    calibrate = False

    def validate(self, cfg) -> None:
        if cfg is not None and not cfg.models.generator.self_check:
            raise ValueError("the answer_span check reads the self-check's short answer but "
                             "models.generator.self_check is false: set it to true, or remove answer_span from "
                             "acceptance.checks (and use writeback.form: sentence)")

    def score(self, ctx: CheckContext) -> list[float]:
        return [float(source_sentence(q, r.get("short_answer"), d) is not None)
                for q, r, d in zip(ctx.queries, ctx.records, ctx.docs, strict=True)]
