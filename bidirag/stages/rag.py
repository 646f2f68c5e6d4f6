"""Forward path stages of Bidirectional RAG: retrieve and generate (validation is `stages/validate.py`)."""

from __future__ import annotations

import json
import re

from bidirag import faults
from bidirag.config import Config
from bidirag.models import handlers
from bidirag.models.generator import Prompt
from bidirag.stages.base import Record, Stage
from bidirag.store import CORPUS, EXPERIENCE, UNITS, Store
from bidirag.text import answer_agreement, judge_evidence, select_evidence, strip_citations

_LEAD = re.compile(r"^\s*according to\s*(\[\d+\]\s*(,|and)?\s*)+,?\s*", re.I)


def clean_answer(answer: str) -> str:
    """The text that is written back: citation markers and the primed 'According to [n],' removed."""
    text = strip_citations(_LEAD.sub("", answer)).strip()
    return text[:1].upper() + text[1:]


def critique_text(c: dict) -> str:
    return f'For "{c["query"][:200]}" the answer "{clean_answer(c["answer"])[:200]}" was rejected: {c["reason"]}'


def load_embedder(cfg: Config):
    """The embedder, checked against `models.embedder.dim` (the size tables are created with)."""
    emb = handlers.embedder(cfg.models.embedder)
    if emb.dim != cfg.models.embedder.dim:
        raise ValueError(f"the embedder makes {emb.dim}-d vectors but models.embedder.dim is "
                         f"{cfg.models.embedder.dim}; set models.embedder.dim: {emb.dim} (and use a store made "
                         "with that embedder)")
    return emb


WRITTEN = "origin = 'writeback'"
NOT_WRITTEN = "origin IS NULL OR origin <> 'writeback'"


class Retrieve(Stage):
    """Top-k from the corpus snapshot pinned at the start of the epoch (batched multi-vector search); docs the
    pipeline wrote are added beside the top-k (`retrieval.written_extra`) rather than taking its places."""

    name = "retrieve"
    reads = frozenset({"text"})
    writes = frozenset({"retrieved", "query_vector"})

    def __init__(self, cfg: Config, pinned_version: int, experience_version: int | None = None,
                 critiques: int = 0, units_version: int | None = None) -> None:
        super().__init__(cfg.models.embedder.resources)
        self.cfg = cfg
        self.pinned_version = pinned_version
        self.experience_version = experience_version
        self.critiques = critiques
        self.units_version = units_version
        self._emb = None
        self._store = None

    def setup(self) -> None:
        self._emb = load_embedder(self.cfg)
        self._store = Store.from_config(self.cfg.store, self._emb.dim)
        self._corpus = self._store.pinned(CORPUS, self.pinned_version)
        self._exp = (self._store.pinned(EXPERIENCE, self.experience_version)
                     if self.critiques and self.experience_version is not None else None)
        self._units = (self._store.pinned(UNITS, self.units_version)
                       if self.cfg.retrieval.use_units and self.units_version is not None else None)
        self._has_written = self._corpus.count_rows(WRITTEN) > 0

    def process_active(self, records: list[Record]) -> None:
        qv = self._emb.encode([r["text"] for r in records])
        k, extra = self.cfg.retrieval.top_k, self.cfg.retrieval.written_extra
        cols = ("text", "origin")
        by = lambda x: (x.distance, x.doc_id)  # noqa: E731
        # the top-k: corpus paragraphs (with written docs competing when written_extra is null) and knowledge units;
        # the filter only where there are written docs to keep out (a prefilter is a pass over the table)
        apart = extra is not None and self._has_written
        # a written doc's source is read only where written docs exist and are shown as their paragraphs
        paragraphs = self.cfg.retrieval.show_written != "text" and self._has_written
        ccols = (*cols, "source_doc_ids") if paragraphs else cols
        hits = self._store.search(self._corpus, qv, k, columns=ccols, where=NOT_WRITTEN if apart else None)
        if self._units is not None:   # corpus and knowledge units merged into one top-k
            unit_hits = self._store.search(self._units, qv, k, columns=cols)
            hits = [sorted(h + u, key=by)[:k] for h, u in zip(hits, unit_hits, strict=True)]
        if apart and extra:   # written docs beside the top-k, never in its places
            # only written docs that would have entered the top-k: an unrelated query's prompt stays as it was
            written = self._store.search(self._corpus, qv, extra, columns=ccols, where=WRITTEN)
            hits = [sorted(h + [x for x in w if len(h) < k or x.distance <= h[-1].distance], key=by)
                    for h, w in zip(hits, written, strict=True)]
        shown = self._sources(hits) if paragraphs else None
        for i, (r, h, v) in enumerate(zip(records, hits, qv, strict=True)):
            r["retrieved"] = shown[i] if shown is not None else [
                {"doc_id": x.doc_id, "text": x.text, "distance": x.distance, "origin": x.extra.get("origin")}
                for x in h]
            r["query_vector"] = v.tolist()
        if self._exp is not None:
            crit = self._store.search(self._exp, qv, self.critiques, columns=("query", "answer", "reason"))
            for r, c in zip(records, crit, strict=True):
                r["warnings"] = [critique_text(x.extra) for x in c]

    def _sources(self, hits) -> list[list[dict]]:
        """`retrieval.show_written: source`: each written doc with a single source (a quote) is shown as the corpus
        paragraph it quotes, at the written doc's distance, with `via` = the written doc's id; a paragraph is shown
        once, at its nearest place. `missing_source`: the same, but a written doc whose paragraph the list already
        has is dropped (the paragraph keeps its own place), so only a paragraph the search missed is added. One
        batched lookup of the paragraphs (pinned corpus)."""
        keep_places = self.cfg.retrieval.show_written == "missing_source"
        src = lambda x: x.extra.get("source_doc_ids") or []  # noqa: E731
        want = {src(x)[0] for h in hits for x in h if x.extra.get("origin") == "writeback" and len(src(x)) == 1}
        paras = {p["doc_id"]: p for p in self._store.rows_by_id(self._corpus, list(want), ("text", "origin"))
                 if p.get("origin") != "writeback"}
        out = []
        for h in hits:
            corpus = {x.doc_id for x in h if x.extra.get("origin") != "writeback"}
            docs, seen = [], set()
            for x in h:
                p = paras.get(src(x)[0]) if x.extra.get("origin") == "writeback" and len(src(x)) == 1 else None
                if p is not None and keep_places and p["doc_id"] in corpus:
                    continue                    # the list has the paragraph at its own place
                d = ({"doc_id": p["doc_id"], "text": p["text"], "distance": x.distance, "origin": p.get("origin"),
                      "via": x.doc_id} if p is not None else
                     {"doc_id": x.doc_id, "text": x.text, "distance": x.distance, "origin": x.extra.get("origin")})
                if d["doc_id"] not in seen:
                    seen.add(d["doc_id"])
                    docs.append(d)
            out.append(docs)
        return out


# Docs made by this pipeline's generator: written answers/quotes and distilled knowledge units. Shown to the
# generator, never evidence for a new written doc (the quote form would otherwise quote a unit's generated text as
# its "source": measured in the tenth session, 34 of 69 docs one bidirectional+writeback seed wrote, 19 of them
# containing their gold answer, against 53/60 for bidirectional alone).
MADE_HERE = frozenset({"writeback", "knowledge_unit"})


def evidence_docs(acc, retrieved: list[dict]) -> list[str]:
    """The texts the checks judge an answer against: the retrieved docs in prompt order, with the docs this
    pipeline wrote or distilled (origin writeback, knowledge_unit: `MADE_HERE`) blanked unless
    `acceptance.written_docs_as_evidence`: a written doc is shown
    to the generator but never vouches for a new one (grounding, premise, support read nothing from it), so one
    wrong write cannot ground the next. Positions are kept, so citation numbers still map; citing it is still an
    honest citation (`attribution`), and an answer that only repeats it fails `novelty`, not a critique check."""
    if acc.written_docs_as_evidence:
        return [d["text"] for d in retrieved]
    return ["" if d.get("origin") in MADE_HERE else d["text"] for d in retrieved]


def prompt_docs(question: str, retrieved: list[dict], g) -> list[str]:
    """What the prompt shows of each retrieved doc: its evidence sentences for the question
    (`models.generator.evidence_sentences`, whole docs when unset), cut at `max_doc_chars`."""
    return [select_evidence(question, d["text"], g.evidence_sentences)[:g.max_doc_chars] for d in retrieved]


class Generate(Stage):
    name = "generate"
    reads = frozenset({"text", "retrieved"})
    writes = frozenset({"answer", "generator", "confidence", "short_answer"})

    def __init__(self, cfg: Config, self_check: bool | None = None) -> None:
        """`self_check`: None = `models.generator.self_check`; False where no check reads it (answering only)."""
        super().__init__(cfg.models.generator.resources)
        self.cfg = cfg
        self.self_check = cfg.models.generator.self_check if self_check is None else self_check
        self._gen = None

    def setup(self) -> None:
        self._gen = handlers.generator(self.cfg.models.generator)

    def process_active(self, records: list[Record]) -> None:
        faults.point("generate")
        g = self.cfg.models.generator
        prompts = [Prompt(r["text"], prompt_docs(r["text"], r["retrieved"], g), r.get("warnings", []))
                   for r in records]
        answers = self._gen.answer(prompts)
        checked = self._self_check(records, answers) if self.self_check else [({}, None)] * len(records)
        for r, a, (extra, short) in zip(records, answers, checked, strict=True):
            r["answer"] = a.text
            # the generator's token log-probability summary (or None) with the self-check's agreement numbers
            r["confidence"] = {**(a.confidence or {}), **extra} if extra else a.confidence
            r["short_answer"] = short
            r["generator"] = self._gen.model_id

    def _self_check(self, records: list[Record], answers) -> list[tuple[dict[str, float], str | None]]:
        # the self-check is part of the judging: it reads what the checks read (written docs blanked, see
        # `evidence_docs`), so a short answer never comes from a doc this pipeline wrote
        acc = self.cfg.acceptance
        return self_check(self._gen, [r["text"] for r in records], [clean_answer(a.text) for a in answers],
                          [evidence_docs(acc, r["retrieved"]) for r in records])


def self_check(gen, questions: list[str], texts: list[str], docs: list[list[str]]
               ) -> list[tuple[dict[str, float], str | None]]:
    """Ask again, batched, with only the passage sentences that best match the question and the answer
    (`judge_evidence`) for a short extractive answer (`ChatGenerator.reanswer`); its agreement with the full
    answer (`answer_agreement`: agree, exact) goes into `confidence` for the trust check. Empty answers are not
    asked about: ({}, None)."""
    items = [(i, q, t, judge_evidence(q, t, d)) for i, (q, t, d) in enumerate(zip(questions, texts, docs,
                                                                                   strict=True)) if t]
    out: list[tuple[dict[str, float], str | None]] = [({}, None)] * len(texts)
    shorts = gen.reanswer([(q, ev) for _, q, _, ev in items]) if items else []
    for (i, q, t, _), short in zip(items, shorts, strict=True):
        out[i] = (answer_agreement(q, short, t), short)
    return out


def model_ids(cfg: Config) -> str:
    m = cfg.models
    return json.dumps({"embedder": m.embedder.path or "all-MiniLM-L6-v2", "generator":
                       m.generator.path or m.generator.name, "nli": m.nli.path or "models/nli",
                       "backends": [m.embedder.backend, m.generator.backend, m.nli.backend]}, sort_keys=True)
