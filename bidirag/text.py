"""Text helpers shared by every stage: normalisation, content ids, sentences, citations, token F1."""

from __future__ import annotations

import hashlib
import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

_WS = re.compile(r"\s+")
_CITE = re.compile(r"\[(\d{1,3})\]")
_PUNCT = frozenset(string.punctuation)
# A sentence ends at . ! or ? (and any closing quotes or brackets), before white space and a capital or digit
# (after an optional opening quote or bracket) ...
# Review and forum text often runs sentences together with no space ("fits perfectly!Each side", "broke off.I
# originally"): a mark after two lower-case letters and before a capitalised word ends a sentence too (not "U.S.Army",
# "e.g.The" or "Mr.Smith": the letters before the mark are not two lower-case ones).
_SENT_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|(?<=[a-z]{2})[.!?]+(?=[A-Z][a-z]|I\b)")
# ... unless the period ends an abbreviation that usually continues the sentence: a title before a name, a month,
# a company suffix (news text: "Gov. Andrew M. Cuomo", "Dr. Lam said", "in Aug. 2014"), an initial ("John D.
# Podesta"), a dotted acronym ("U.S. Army"), or "No." before a number. Joining two sentences costs a longer
# sentence; splitting one cuts a written quote or an NLI premise in the middle of its fact.
_ABBREV = frozenset("""mr mrs ms messrs mme mlle dr prof gov sen rep gen lt col maj capt cmdr adm sgt cpl pvt rev hon
    pres supt insp det st mt ft jr sr inc corp co ltd bros jan feb mar apr jun jul aug sep sept oct nov dec vs v
    ave blvd rd dept univ approx est fig vol op cf al""".split())
_BEFORE_DOT = re.compile(r"([A-Za-z](?:[A-Za-z.]*[A-Za-z])?)\.$")
_ACRONYM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")


def _continues(before: str, after: str) -> bool:
    """True when the period that ends `before` is an abbreviation's, not a sentence's."""
    m = _BEFORE_DOT.search(before)
    if m is None:
        return False
    tok = m.group(1)
    if tok.lower() in ("no", "nos"):
        return after[:1].isdigit()
    return tok.lower() in _ABBREV or (len(tok) == 1 and tok.isupper()) or _ACRONYM.fullmatch(tok) is not None


def normalize(text: str) -> str:
    """Canonical form used for content addressing: NFKC, collapsed white space, stripped."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def content_id(text: str) -> str:
    """sha256 of the normalised text: the same content always gets the same id (never hash()/uuid4)."""
    return hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def cited_numbers(answer: str) -> list[int]:
    """Citation markers [n] in order of first appearance, without repeats."""
    seen: dict[int, None] = {}
    for m in _CITE.finditer(answer):
        seen.setdefault(int(m.group(1)), None)
    return list(seen)


def strip_citations(text: str) -> str:
    return _WS.sub(" ", _CITE.sub("", text)).replace(" .", ".").replace(" ,", ",").strip()


def _sentences(text: str) -> list[str]:
    out, start = [], 0
    for m in _SENT_END.finditer(text):
        if text[m.start()] == "." and _continues(text[start:m.start() + 1], text[m.end():]):
            continue
        out.append(text[start:m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [p for p in out if p]


def split_sentences(text: str) -> list[str]:
    """Split a text into sentences (citations removed); never returns an empty list for non-empty text. Not after
    a title, month, initial or acronym (`_continues`)."""
    clean = strip_citations(text)
    parts = _sentences(clean)
    # Fragments without a letter or digit carry nothing to ground.
    parts = [p for p in parts if any(ch.isalnum() for ch in p)]
    return parts or ([clean] if clean else [])


def normalize_answer(s: str) -> str:
    """SQuAD answer normalisation: lower, no punctuation, no articles, single spaces."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(prediction: str, golds: list[str]) -> float:
    p = normalize_answer(strip_citations(prediction))
    return float(any(p == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: list[str]) -> float:
    """Max over gold answers of SQuAD token F1."""
    pred = normalize_answer(strip_citations(prediction)).split()
    best = 0.0
    for g in golds:
        gold = normalize_answer(g).split()
        common = Counter(pred) & Counter(gold)
        same = sum(common.values())
        if not pred or not gold:
            best = max(best, float(pred == gold))
            continue
        if same == 0:
            continue
        precision, recall = same / len(pred), same / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(text: str, golds: list[str]) -> bool:
    """True if any gold answer appears in the text after SQuAD normalisation."""
    t = f" {normalize_answer(text)} "
    return any(normalize_answer(g) and f" {normalize_answer(g)} " in t for g in golds)


STOPWORDS = frozenset(
    "a an the of in on at to for and or but nor is was are were be been being by with as that this these "
    "those it its from which what who whom whose when where why how did does do done has have had can could "
    "will would shall should may might must not no than then there their they them he she his her him also "
    "into about so such very too any all some each other own same only just up out over under again further "
    "once here both few more most i me my we our you your one answer document documents according".split())


def content_words(text: str) -> list[str]:
    """Normalized words that carry content (no stop words, no citation numbers)."""
    return [w for w in normalize_answer(strip_citations(text)).split() if w not in STOPWORDS]


def premise_window(premise: str, hypothesis: str, sentences: int) -> str:
    """The `sentences` consecutive sentences of `premise` that share the most content words with
    `hypothesis` (earliest window on ties); the whole premise when it is not longer than that, or when
    `sentences` is 0. Shortens NLI inputs: a cross-encoder's cost grows with the premise's tokens."""
    if sentences <= 0:
        return premise
    sents = split_sentences(premise)
    if len(sents) <= sentences:
        return premise
    want = set(content_words(hypothesis))
    have = [set(content_words(x)) & want for x in sents]
    best, best_score = 0, -1
    for start in range(len(sents) - sentences + 1):
        score = len(set().union(*have[start:start + sentences]))
        if score > best_score:
            best, best_score = start, score
    return " ".join(sents[best:best + sentences])


_SUFFIXES = ("ing", "ed", "es", "s", "ly", "er", "est")


def stem(word: str) -> str:
    """A crude stem for matching a claim's words to a doc's ("promotes"/"promoted"/"promote" -> "promot"):
    one common suffix off (at least 3 letters stay), then the first 6 letters."""
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            word = word[:-len(suf)]
            break
    return word[:6]


def claim_coverage(text: str, claim: str) -> float:
    """Share of `claim`'s (stemmed) content words that `text` has; 1.0 for a claim without content words.
    A sentence that states a fact has all of its words; a false claim made by swapping in a span from another
    sentence of the paragraph lacks that span's words in the sentence that matches the rest."""
    need = {stem(w) for w in content_words(claim)}
    if not need:
        return 1.0
    return len(need & {stem(w) for w in content_words(text)}) / len(need)


def claim_gap(text: str, claim: str) -> int:
    """How far apart `claim`'s words sit in `text`: the number of other content words inside the shortest
    stretch of `text` that holds every (stemmed) content word of the claim that `text` has at all. 0 when the
    claim's words are contiguous; the text's length in content words when it has none of them. A fact the
    text states has its words in one clause; a claim stitched from two places of it ("oxygen therapy promotes
    the body to take up anaerobic bacteria", where "anaerobic bacteria" is another answer of the sentence)
    has a gap."""
    words = [stem(w) for w in content_words(text)]
    need = {stem(w) for w in content_words(claim)} & set(words)
    if not need:
        return len(words)
    best = len(words)
    count: dict[str, int] = {}
    lo = 0
    for hi, w in enumerate(words):
        if w in need:
            count[w] = count.get(w, 0) + 1
        while len(count) == len(need):
            inside = words[lo:hi + 1]
            best = min(best, sum(x not in need for x in inside))
            if words[lo] in count:
                count[words[lo]] -= 1
                if not count[words[lo]]:
                    del count[words[lo]]
            lo += 1
    return best


def normalize_query(text: str) -> str:
    """A query's identity for the run memo: NFKC, case-folded, punctuation dropped, white space collapsed.
    "What is X?", "what is x" and "WHAT is X ?!" are the same query; different words never are."""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = "".join(" " if (ch in _PUNCT or unicodedata.category(ch).startswith("P")) else ch for ch in t)
    return _WS.sub(" ", t).strip()


def doc_sentences(text: str) -> list[str]:
    """A retrieved doc's sentences, as written (citations and spacing untouched)."""
    parts = _sentences(text.strip())
    return parts or ([text.strip()] if text.strip() else [])


def select_evidence(question: str, doc: str, sentences: int | None) -> str:
    """Evidence selection: the `sentences` sentences of `doc` that best match the question, in the doc's own order.
    A sentence scores the question's content-word stems it holds, each weighted by how rare it is among the doc's
    sentences (log(1 + n / df)): the article's own topic words ("Eiffel Tower" in every sentence of its article)
    count less than the word that singles out the answer's sentence ("completed"). Earlier sentences win ties.
    The whole doc when `sentences` is 0/None or the doc has no more sentences than that."""
    if not sentences:
        return doc
    sents = doc_sentences(doc)
    if len(sents) <= sentences:
        return doc
    want = {stem(w) for w in content_words(question)}
    have = [want & {stem(w) for w in content_words(s)} for s in sents]
    df = Counter(w for h in have for w in h)
    weight = {w: math.log(1 + len(sents) / n) for w, n in df.items()}
    score = [sum(weight[w] for w in h) for h in have]
    keep = sorted(sorted(range(len(sents)), key=lambda i: (-score[i], i))[:sentences])
    return " ".join(sents[i] for i in keep)


def judge_evidence(question: str, answer: str, docs: Sequence[str], k: int = 3) -> str:
    """The sentences a checker needs to judge an answer: the `k` retrieved sentences sharing most content-word
    stems with the question, plus the sentence holding most of the answer's new words, in retrieval order."""
    q = {stem(w) for w in content_words(question)}
    new = {stem(w) for w in content_words(answer)} - q
    sents = [s for d in docs for s in split_sentences(d)]
    if not sents:
        return ""
    words = [{stem(w) for w in content_words(s)} for s in sents]
    qov = [len(q & w) for w in words]
    pick = set(sorted(range(len(sents)), key=lambda i: (-qov[i], i))[:k])
    pick.add(max(range(len(sents)), key=lambda i: (len(new & words[i]), qov[i], -i)))
    return " ".join(sents[i] for i in sorted(pick))


def answer_agreement(question: str, short: str, answer: str) -> dict[str, float]:
    """How far a short second answer agrees with the full answer: `agree` = share of the short answer's content
    stems (not in the question) that the full answer holds (1 when it has none), `exact` = the short answer
    (SQuAD-normalised, non-empty) is a substring of the full answer."""
    q = {stem(w) for w in content_words(question)}
    s = {stem(w) for w in content_words(short)} - q
    a = {stem(w) for w in content_words(answer)}
    return {"agree": round(len(s & a) / len(s), 4) if s else 1.0,
            "exact": float(bool(short.strip()) and normalize_answer(short) in normalize_answer(answer))}
