"""Forward and backward path stages of Bidirectional RAG: retrieve, generate, validate."""

from __future__ import annotations

import json
import re

import numpy as np

from bidirag import checks, faults
from bidirag.config import Config
from bidirag.data.statements import presupposition
from bidirag.models import handlers
from bidirag.models.generator import Prompt
from bidirag.stages.base import Record, Stage
from bidirag.store import CORPUS, EXPERIENCE, UNITS, Store
from bidirag.text import cited_numbers, claim_coverage, claim_gap, premise_window, split_sentences, strip_citations

_LEAD = re.compile(r"^\s*according to\s*(\[\d+\]\s*(,|and)?\s*)+,?\s*", re.I)


def clean_answer(answer: str) -> str:
    """The text that is written back: citation markers and the primed 'According to [n],' removed."""
    text = strip_citations(_LEAD.sub("", answer)).strip()
    return text[:1].upper() + text[1:]


def grounding_scores(nli, items: list[tuple[list[str], list[str]]]) -> list[float]:
    """Grounding of many (sentences, docs) items with every (doc, sentence) pair in one batched NLI call."""
    pairs, spans = [], []
    for sents, docs in items:
        spans.append((len(pairs), len(sents), len(docs)))
        pairs += [(d, s) for s in sents for d in docs]
    probs = nli.predict(pairs) if pairs else np.zeros((0, 3), np.float32)
    out = []
    for start, n_s, n_d in spans:
        ent = probs[start:start + n_s * n_d, 1].reshape(n_s, n_d) if n_s and n_d else np.zeros((0, 0))
        out.append(checks.grounding(ent))
    return out


def supporting_windows(claim: str, docs: list[str], sentences: int, max_gap: int,
                       min_coverage: float) -> list[str]:
    """Each doc's best-matching sentence(s) for `claim`, keeping those that state it: at least `min_coverage`
    of the claim's content words (`text.claim_coverage`), sitting together (`text.claim_gap` <= max_gap; -1
    keeps all). The premise check's NLI reads only these, and no window left means no support (score 0)."""
    windows = [premise_window(d, claim, sentences) for d in docs]
    return [w for w in windows if (max_gap < 0 or claim_gap(w, claim) <= max_gap)
            and claim_coverage(w, claim) >= min_coverage - 1e-9]


def critique_text(c: dict) -> str:
    return f'For "{c["query"][:200]}" the answer "{clean_answer(c["answer"])[:200]}" was rejected: {c["reason"]}'


class Retrieve(Stage):
    """Top-k from the corpus snapshot pinned at the start of the epoch (batched multi-vector search)."""

    name = "retrieve"

    def __init__(self, cfg: Config, pinned_version: int, experience_version: int | None = None,
                 critiques: int = 0, units_version: int | None = None) -> None:
        super().__init__(cfg.models.embedder.batch_size, cfg.models.embedder.resources)
        self.cfg = cfg
        self.pinned_version = pinned_version
        self.experience_version = experience_version
        self.critiques = critiques
        self.units_version = units_version
        self._emb = None
        self._store = None

    def setup(self) -> None:
        self._emb = handlers.embedder(self.cfg.models.embedder)
        self._store = Store.from_config(self.cfg.store, self._emb.dim)
        self._corpus = self._store.pinned(CORPUS, self.pinned_version)
        self._exp = (self._store.pinned(EXPERIENCE, self.experience_version)
                     if self.critiques and self.experience_version is not None else None)
        self._units = (self._store.pinned(UNITS, self.units_version)
                       if self.cfg.retrieval.use_units and self.units_version is not None else None)

    def process_active(self, records: list[Record]) -> None:
        qv = self._emb.encode([r["text"] for r in records])
        k = self.cfg.retrieval.top_k
        hits = self._store.search(self._corpus, qv, k)
        if self._units is not None:   # corpus and knowledge units merged into one top-k
            unit_hits = self._store.search(self._units, qv, k)
            hits = [sorted(h + u, key=lambda x: (x.distance, x.doc_id))[:k]
                    for h, u in zip(hits, unit_hits, strict=True)]
        for r, h, v in zip(records, hits, qv, strict=True):
            r["retrieved"] = [{"doc_id": x.doc_id, "text": x.text, "distance": x.distance} for x in h]
            r["query_vector"] = v.tolist()
        if self._exp is not None:
            crit = self._store.search(self._exp, qv, self.critiques, columns=("query", "answer", "reason"))
            for r, c in zip(records, crit, strict=True):
                r["warnings"] = [critique_text(x.extra) for x in c]


class Generate(Stage):
    name = "generate"

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg.models.generator.batch_size, cfg.models.generator.resources)
        self.cfg = cfg
        self._gen = None

    def setup(self) -> None:
        self._gen = handlers.generator(self.cfg.models.generator)

    def process_active(self, records: list[Record]) -> None:
        faults.point("generate")
        prompts = [Prompt(r["text"], [d["text"] for d in r["retrieved"]], r.get("warnings", []))
                   for r in records]
        for r, a in zip(records, self._gen.generate(prompts), strict=True):
            r["answer"] = a
            r["generator"] = self._gen.model_id


class Validate(Stage):
    """Grounding (NLI), attribution (citations) and novelty (vs the pinned corpus), all batched."""

    name = "validate"

    def __init__(self, cfg: Config, pinned_version: int, enforce: bool = True) -> None:
        super().__init__(cfg.models.nli.batch_size, cfg.models.nli.resources)
        self.cfg = cfg
        self.pinned_version = pinned_version
        self.enforce = enforce

    def setup(self) -> None:
        self._nli = handlers.nli(self.cfg.models.nli)
        self._emb = handlers.embedder(self.cfg.models.embedder)
        self._store = Store.from_config(self.cfg.store, self._emb.dim)
        self._corpus = self._store.pinned(CORPUS, self.pinned_version)

    def process_active(self, records: list[Record]) -> None:
        faults.point("validate")
        thresholds = checks.thresholds(self.cfg.acceptance)
        texts = [clean_answer(r["answer"]) for r in records]
        sentences = [split_sentences(t) if r["answer"].strip() else [] for r, t in zip(records, texts, strict=True)]
        premises = [presupposition(r["text"]) for r in records]
        # answers, and each why-question's premise against the retrieved docs and against the answer that
        # would be written (a written explanation must state what it explains), in one NLI batch
        with_premise = [i for i, p in enumerate(premises) if p]
        acc = self.cfg.acceptance
        pw = acc.premise_sentences   # a claim is checked against the doc's best-matching sentence(s)
        scored = grounding_scores(self._nli, [
            (sents, [d["text"] for d in r["retrieved"]]) for r, sents in zip(records, sentences, strict=True)]
            + [([premises[i]], supporting_windows(premises[i], [d["text"] for d in records[i]["retrieved"]], pw,
                                                  acc.premise_max_gap, acc.premise_min_coverage))
               for i in with_premise]
            + [([premises[i]], [texts[i]] if texts[i].strip() else []) for i in with_premise])
        n, k = len(records), len(with_premise)
        grounding, by_docs, by_answer = scored[:n], scored[n:n + k], scored[n + k:]
        premise_score = {i: min(d, a) for i, d, a in zip(with_premise, by_docs, by_answer, strict=True)}
        vecs = self._emb.encode(texts)
        nearest = self._store.search(self._corpus, vecs, 1)
        for i, r in enumerate(records):
            cited = cited_numbers(r["answer"])
            cited_docs = [r["retrieved"][c - 1] for c in cited if 1 <= c <= len(r["retrieved"])]
            top = nearest[i][0] if nearest[i] else None
            qv = np.asarray(r["query_vector"], np.float32)      # set by Retrieve
            scores = {
                "query_safety": checks.query_safety(r["text"]),
                "premise": premise_score.get(i, 1.0),
                "answerable": checks.answerable(premises[i] or r["text"], [d["text"] for d in r["retrieved"]]),
                "content": checks.content(r["text"], sentences[i]),
                "opinion": checks.opinion(texts[i], [d["text"] for d in cited_docs]),
                "relevance": checks.relevance(qv, vecs[i]),
                "grounding": grounding[i],
                "attribution": checks.attribution(cited, len(r["retrieved"])),
                "novelty": checks.novelty(None if top is None else 1.0 - top.distance),
            }
            failed = checks.verdict(scores, thresholds)
            r["scores"] = {k: round(v, 4) for k, v in scores.items()}
            r["clean_text"] = texts[i]
            r["vector"] = vecs[i].tolist()
            r["cited_doc_ids"] = [d["doc_id"] for d in cited_docs]
            r["nli"] = self._nli.model_id
            r["would_fail"] = failed
            if failed and self.enforce:
                r["status"], r["failed_check"] = "rejected", failed
                r["reason"] = checks.reason(failed, scores[failed], thresholds[failed])
            else:
                r["verdict"] = "accept"


def model_ids(cfg: Config) -> str:
    m = cfg.models
    return json.dumps({"embedder": m.embedder.path or "all-MiniLM-L6-v2", "generator":
                       m.generator.path or "SmolLM2-135M-Instruct", "nli": m.nli.path or "models/nli",
                       "backends": [m.embedder.backend, m.generator.backend, m.nli.backend]}, sort_keys=True)
