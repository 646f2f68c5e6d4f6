"""Turn a (question, answer) pair into a declarative statement, with rules only (no model).

Used to build QA-derived NLI pairs. The rules cover the common SQuAD question shapes; anything else
falls back to "<question without '?'>: <answer>." which is still a claim the paragraph entails.
"""

from __future__ import annotations

import re

AUX = {"is", "was", "are", "were", "did", "does", "do", "has", "have", "had", "can", "could",
       "will", "would", "should", "may", "might", "must"}
COPULA = {"is", "was", "are", "were"}
PREPS = {"in", "on", "at", "during", "by", "from", "to", "for", "of", "with", "after", "before",
         "since", "under", "through", "into", "about", "against", "between", "within"}
WH_PREFIX = {"when": "in", "where": "in", "why": "because of"}


def _finish(words: list[str]) -> str:
    s = " ".join(w for w in words if w).strip()
    s = re.sub(r"\s+([,.;:])", r"\1", s)
    return (s[:1].upper() + s[1:] + ".") if s else ""


def statement(question: str, answer: str) -> str:
    q = question.strip().rstrip("?").strip()
    words = q.split()
    if not words:
        return f"{answer}."
    low = [w.lower() for w in words]
    # "In what year did X happen" -> "X happen in <A>"
    if low[0] in PREPS and len(low) > 1 and low[1] in {"what", "which", "whose", "whom"}:
        j = 2
        while j < len(low) and low[j] not in AUX:
            j += 1
        if j < len(low) - 1:
            rest = words[j + 1:]
            return _finish(rest + [low[0], answer])
        return _finish([low[0].capitalize(), answer, *words[2:]])
    wh = low[0]
    if wh == "how" and len(low) > 1 and low[1] in {"many", "much", "long", "old", "far", "often", "large",
                                                   "big", "tall", "high", "few"}:
        # "How many X did Y verb" -> "Y verb <A> X"; "How many X are there" -> "There are <A> X"
        j = 2
        while j < len(low) and low[j] not in AUX:
            j += 1
        noun = words[2:j]
        if j < len(low) - 1:
            rest = words[j + 1:]
            if low[j] in COPULA and rest and rest[0].lower() == "there":
                return _finish(["there", low[j], answer, *noun, *rest[1:]])
            if low[j] in COPULA:
                return _finish([*rest, low[j], answer, *noun])
            return _finish([*rest, answer, *noun])
        return _finish([answer, *noun, *words[j:]])
    if wh in {"what", "which", "who", "whom", "whose", "when", "where", "why", "how"}:
        if len(low) > 1 and low[1] in AUX:
            aux, rest = low[1], words[2:]
            if aux in COPULA:
                if wh in WH_PREFIX:
                    return _finish([*rest, aux, WH_PREFIX[wh], answer])
                return _finish([*rest, aux, answer])
            if wh in WH_PREFIX:
                return _finish([*rest, WH_PREFIX[wh], answer])
            if wh == "how":
                return _finish([*rest, "by", answer])
            return _finish([*rest, answer])
        if wh in {"who", "what", "which"}:
            # subject question: "Who founded X" -> "<A> founded X"; "Which team won" -> "<A> won"
            j = 1
            if wh in {"what", "which"}:
                # skip the noun phrase after what/which up to the first verb-looking word
                while j < len(low) and not (low[j] in AUX or low[j].endswith("ed") or low[j].endswith("s")
                                            and j > 1):
                    j += 1
                if j >= len(low):
                    return _finish([answer, "is the", *words[1:]])
                noun = words[1:j]
                if noun:
                    return _finish([answer, "is the", *noun, "that", *words[j:]])
            return _finish([answer, *words[j:]])
    # wh-word inside the question: "X was used in what stage of Y" -> "X was used in <A> of Y"
    for i, w in enumerate(low):
        if w in {"what", "which", "when", "where", "who"} and i > 0:
            tail = words[i + 1:]
            if tail and tail[0].lower() in answer.lower():
                tail = tail[1:]
            return _finish([*words[:i], answer, *tail])
    # imperative ("Name a type of X") or anything else
    return _finish([q + ":", answer])


_WHY_TRUE = re.compile(r"^\s*why\s+(is|was)\s+it\s+(true|the case|so)\s+that\s+(.+?)\s*\??\s*$", re.I)
_WHY_DO = re.compile(r"^\s*why\s+(did|does|do)\s+(.+?)\s*\??\s*$", re.I)


def presupposition(question: str) -> str | None:
    """The claim a why-question takes for granted, when the rules can state it; else None.

    "Why is it true that X?" -> "X."; "Why did Tesla leave Edison?" -> "Tesla leave Edison." (the
    base-form verb is fine for an NLI premise check). Other questions presuppose nothing here.
    """
    m = _WHY_TRUE.match(question)
    if m:
        return _finish(m.group(3).split())
    m = _WHY_DO.match(question)
    if m and len(m.group(2).split()) >= 2:
        return _finish(m.group(2).split())
    return None
