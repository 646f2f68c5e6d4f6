"""The backward path's acceptance layer: run the configured checks (plugins, `bidirag/checks/`) on a batch.

Every check's NLI pairs go into one batched NLI call; vectors and the novelty search are computed once.
The first failing check, in the configured order, names the rejection; every check's score is kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from bidirag import checks, faults
from bidirag.config import Config
from bidirag.models import handlers
from bidirag.stages.base import Record, Stage, Status, reject
from bidirag.stages.rag import clean_answer, evidence_docs, load_embedder
from bidirag.store import CORPUS, Store
from bidirag.text import cited_numbers, split_sentences


def score_batch(records: list[Record], answers: list[str], docs: list[list[str]], names: Sequence[str],
                thresholds: dict[str, float], acceptance, nli, embed, nearest, cfg=None) -> checks.CheckContext:
    """Score `records` with the checks `names`; sets `scores`, `would_fail`, `clean_text`, `vector`."""
    texts = [clean_answer(a) for a in answers]
    ctx = checks.CheckContext(
        records=records, queries=[r["text"] for r in records], answers=answers, texts=texts,
        sentences=[split_sentences(t) if a.strip() else [] for a, t in zip(answers, texts, strict=True)],
        docs=docs, cited=[cited_numbers(a) for a in answers], acceptance=acceptance, nli=nli, embed=embed,
        nearest=nearest, cfg=cfg)
    for i, (r, (s, failed)) in enumerate(zip(records, run_checks(ctx, names, thresholds), strict=True)):
        r["scores"] = {k: round(v, 4) for k, v in s.items()}
        r["would_fail"] = failed
        r["clean_text"] = texts[i]
        r["vector"] = ctx.answer_vectors[i].tolist()
    return ctx


def run_checks(ctx: checks.CheckContext, names: Sequence[str],
               thresholds: dict[str, float]) -> list[tuple[dict[str, float], str | None]]:
    """Every record's scores by the checks `names` (their NLI pairs in one call) and its first failing check."""
    plugins = [checks.get(n) for n in names]
    for c in plugins:
        c.request(ctx)
    ctx.run_nli()
    scores = {c.name: c.score(ctx) for c in plugins if not c.uses_scores}
    # what later checks may read: these scores, and those a Screen stage computed before generation
    earlier = set.intersection(*[set(r.get("pre_scores") or ()) for r in ctx.records]) if ctx.records else set()
    ctx.scores = {**{n: [float(r["pre_scores"][n]) for r in ctx.records] for n in earlier}, **scores}
    for c in plugins:                       # checks that read the others' scores (trust) come last
        if c.uses_scores:
            scores[c.name] = c.score(ctx)
    scores = {c.name: scores[c.name] for c in plugins}
    out = []
    for i in range(len(ctx)):
        s = {n: float(v[i]) for n, v in scores.items()}
        out.append((s, checks.verdict(s, thresholds, names)))
    return out


def nearest_in(store: Store, table):
    def nearest(vecs):
        hits = store.search(table, vecs, 1)
        return [1.0 - h[0].distance if h else None for h in hits]
    return nearest


class CheckStage(Stage):
    """A stage that scores records with check plugins: NLI, embedder, and the pinned table novelty reads."""

    novelty_table = CORPUS

    def __init__(self, cfg: Config, pinned_version: int) -> None:
        super().__init__(cfg.models.nli.resources)
        self.cfg = cfg
        self.pinned_version = pinned_version

    def setup(self) -> None:
        for check in checks.enabled(self.cfg.acceptance):
            check.validate(self.cfg)
        self._nli = handlers.nli(self.cfg.models.nli)
        self._emb = load_embedder(self.cfg)
        self._store = Store.from_config(self.cfg.store, self._emb.dim)
        self._nearest = nearest_in(self._store, self._store.pinned(self.novelty_table, self.pinned_version))

    def score(self, records: list[Record], texts: list[str], docs: list[list[str]], names, thresholds):
        return score_batch(records, texts, docs, names, thresholds, self.cfg.acceptance, self._nli,
                           self._emb.encode, self._nearest, cfg=self.cfg)


class Screen(Stage):
    """The checks that need no answer (`checks.pre_generation`), before generation: what they reject is never
    generated. Their scores travel in `pre_scores` and Validate merges them, so verdicts are identical."""

    name = "screen"
    reads = frozenset({"text", "retrieved"})
    writes = frozenset({"pre_scores"})

    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.cfg = cfg

    def process_active(self, records: list[Record]) -> None:
        acc = self.cfg.acceptance
        names, th = checks.pre_generation(acc), checks.thresholds(acc)
        ctx = checks.CheckContext(records=records, queries=[r["text"] for r in records], answers=[""] * len(records),
                                  texts=[""] * len(records), sentences=[[] for _ in records],
                                  docs=[evidence_docs(acc, r["retrieved"]) for r in records],
                                  cited=[[] for _ in records], acceptance=acc)
        for r, (s, failed) in zip(records, run_checks(ctx, names, th), strict=True):
            r["pre_scores"] = {k: round(v, 4) for k, v in s.items()}
            if failed:
                r["scores"], r["would_fail"] = dict(r["pre_scores"]), failed
                reject(r, failed, checks.reason(failed, s[failed], th[failed]))


class Validate(CheckStage):
    """The configured acceptance checks, batched; `enforce=False` scores without rejecting (naive mode).
    Checks a Screen stage already ran are not run again: their scores come from `pre_scores`."""

    name = "validate"
    reads = frozenset({"text", "answer", "retrieved", "query_vector", "short_answer"})
    writes = frozenset({"scores", "would_fail", "clean_text", "vector", "cited_doc_ids", "nli", "source",
                        "source_doc_id"})

    def __init__(self, cfg: Config, pinned_version: int, enforce: bool = True, screened: bool = False) -> None:
        super().__init__(cfg, pinned_version)
        self.enforce = enforce
        self.screened = screened

    def process_active(self, records: list[Record]) -> None:
        faults.point("validate")
        acc = self.cfg.acceptance
        th = checks.thresholds(acc)
        pre = checks.pre_generation(acc) if self.screened else []
        docs = [evidence_docs(acc, r["retrieved"]) for r in records]
        ctx = self.score(records, [r["answer"] for r in records], docs, [n for n in acc.checks if n not in pre], th)
        for r, cited in zip(records, ctx.cited, strict=True):
            r.setdefault("source", None)    # set by the source check when it runs (writeback.form: quote)
            r.setdefault("source_doc_id", None)     # set for a quote that is written (`_quote`)
            if pre:
                merged = {**r.pop("pre_scores"), **r["scores"]}
                r["scores"] = {n: merged[n] for n in acc.checks}
                r["would_fail"] = checks.verdict(r["scores"], th, acc.checks)
            r["cited_doc_ids"] = [r["retrieved"][c - 1]["doc_id"] for c in cited if 1 <= c <= len(r["retrieved"])]
            r["nli"] = self._nli.model_id
            failed = r["would_fail"]
            if failed and self.enforce:
                reject(r, failed, checks.reason(failed, r["scores"][failed], th[failed]))
        if self.enforce and self.cfg.writeback.form == "extractive":
            self._extractive(records, docs)
        if self.enforce and self.cfg.writeback.form == "quote":
            self._quote(records, docs)

    def _quote(self, records: list[Record], docs: list[list[str]]) -> None:
        """`writeback.form: quote`: an accepted answer writes its source (the retrieved sentence the `source` check
        found to entail it best) verbatim as the doc's text; the question is kept in the row's `query` column and in
        the vector only (`checks.quote_doc` is what is embedded, in one batch), so a question's wording, false
        premise included, is never written as text nor shown to a later generator."""
        ok = [(r, d) for r, d in zip(records, docs, strict=True) if r.get("status", Status.OK) == Status.OK]
        if "source" not in self.cfg.acceptance.checks:      # not a gate here: the source is still needed
            for (r, _), (src, _) in zip(ok, checks.best_sources(self._nli, [r["clean_text"] for r, _ in ok],
                                                                 [d for _, d in ok]), strict=True):
                r["source"] = src
        todo = []
        for r, d in ok:
            if not r.get("source"):     # no retrieved sentence at all: nothing verbatim to write
                reject(r, "source", checks.reason("source", 0.0, self.cfg.acceptance.source_threshold))
                continue
            r["clean_text"] = r["source"]
            i = checks.source_doc(r["source"], d)     # the quoted paragraph: the row's one source_doc_id
            r["source_doc_id"] = r["retrieved"][i]["doc_id"] if i is not None else None
            todo.append(r)
        if todo:
            vecs = self._emb.encode([checks.quote_doc(r["text"], r["source"]) for r in todo])
            for r, v in zip(todo, vecs, strict=True):
                r["vector"] = v.tolist()

    def _extractive(self, records: list[Record], docs: list[list[str]]) -> None:
        """`writeback.form: extractive`: an accepted answer writes the question, its short answer and the source
        sentence verbatim (`checks.extractive_doc`), embedded again in one batch."""
        todo = []
        for r, d in zip(records, docs, strict=True):
            if r.get("status", Status.OK) != Status.OK:
                continue
            doc = checks.extractive_doc(r["text"], r.get("short_answer"), d)
            if doc is None:     # answer_span passed at a threshold below 1: nothing verbatim to write
                reject(r, "answer_span", checks.reason("answer_span", 0.0, 1.0))
                continue
            r["clean_text"] = doc
            todo.append(r)
        if todo:
            for r, v in zip(todo, self._emb.encode([r["clean_text"] for r in todo]), strict=True):
                r["vector"] = v.tolist()
