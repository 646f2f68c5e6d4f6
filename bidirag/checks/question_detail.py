"""question_detail: an answer must not assert a specific detail of the question (a number or a name) that no
retrieved sentence states about what the question asks.

A false presupposition usually carries its falsehood in one detail of the question: a wrong year ("in April
1532"), a wrong person ("How did Galileo help Aristotle…"), a place the event never had. A small generator
answers by restating the question, so the false detail ends up in the answer, which the NLI checks then find
"grounded" in the paragraph that holds everything else. Detail = a number, or a capitalised word that does not
open the question. A detail the answer repeats (as a whole token) is backed when some retrieved sentence holds
it together with at least two of the question's content-word stems (the detail's own stem counts); score =
1 - the share of repeated details that are not backed (1.0 when the answer repeats none). With the default
`reject_unbacked_question_details: true` the check must pass fully: one unbacked repeated detail rejects the answer.

Lexical and general: it reads no question template, only which words of the question the documents vouch for.
Its cost on normal traffic is a rejected answer whose repeated detail the documents spell differently."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bidirag.checks.base import Check, CheckContext, register
from bidirag.text import content_words, split_sentences, stem

_DETAIL = re.compile(r"\d[\d,.]*\d|\d|[A-Z][\w'’-]*\w")
_TOKEN = re.compile(r"\d[\d,.]*\d|\d|[\w'’-]*\w")


def _tokens(text: str) -> set[str]:
    return {t.lower() for t in _TOKEN.findall(text)}


def details(question: str) -> set[str]:
    """Numbers and capitalised words of the question, lowercased; not the word that opens it."""
    words = question.split()
    first = re.sub(r"\W", "", words[0]) if words else ""
    return {t.lower() for t in _DETAIL.findall(question) if t != first}


def question_detail(question: str, answer: str, docs: Sequence[str]) -> float:
    repeated = details(question) & _tokens(answer)
    if not repeated:
        return 1.0
    qstems = {stem(w) for w in content_words(question)}
    sents = [(_tokens(s), {stem(w) for w in content_words(s)}) for d in docs for s in split_sentences(d)]
    backed = sum(any(t in toks and len(qstems & stems) >= 2 for toks, stems in sents) for t in repeated)
    return backed / len(repeated)


@register
class QuestionDetail(Check):
    name = "question_detail"
    reason_text = ("the answer repeats a detail of the question (a number or name) that no retrieved sentence "
                   "states about what the question asks")
    threshold_field = "reject_unbacked_question_details"
    critique = True           # the generator took the question's word for it
    calibrate = False

    def score(self, ctx: CheckContext) -> list[float]:
        return [question_detail(q, t, d) for q, t, d in zip(ctx.queries, ctx.texts, ctx.docs, strict=True)]
