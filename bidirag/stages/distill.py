"""WriteBack-RAG stages: utility gate, document gate, two-prompt distiller, unit check.

The gold answers are used only to score (gates); the distiller never sees them.
"""

from __future__ import annotations

from bidirag import checks
from bidirag.config import Config
from bidirag.models import handlers
from bidirag.models.generator import Prompt, decoding
from bidirag.stages.base import Record, Stage, reject
from bidirag.stages.rag import clean_answer
from bidirag.stages.validate import CheckStage
from bidirag.store import UNITS
from bidirag.text import contains_answer, exact_match, split_sentences, token_f1

SCORERS = {
    "f1": token_f1,
    "em": exact_match,
    "contains": lambda pred, golds: float(contains_answer(pred, golds)),
}

EXTRACT_SYSTEM = ("Copy the sentences from the documents that help answer the question. Copy them word for "
                  "word, one per line. Write nothing else.")
REWRITE_SYSTEM = ("Rewrite the evidence as one short encyclopedic paragraph that states the facts plainly. "
                  "Do not mention documents, evidence or the question.")


def score(cfg: Config, answer: str, golds: list[str]) -> float:
    return float(SCORERS[cfg.distill.scorer](clean_answer(answer), golds))


class _GeneratorStage(Stage):
    """A stage whose model is the generator (gates and distiller)."""

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg.models.generator.resources)
        self.cfg = cfg

    def setup(self) -> None:
        self._gen = handlers.generator(self.cfg.models.generator)


class UtilityGate(_GeneratorStage):
    """Answer without retrieval and with the top-K docs; keep the example if retrieval helps enough."""

    name = "utility_gate"
    reads = frozenset({"text", "answers", "retrieved"})
    writes = frozenset({"utility", "answer_without", "answer"})

    def process_active(self, records: list[Record]) -> None:
        d = self.cfg.distill
        prompts = [Prompt(r["text"], []) for r in records]
        prompts += [Prompt(r["text"], [x["text"] for x in r["retrieved"]]) for r in records]
        answers = self._gen.generate(prompts)
        n = len(records)
        for i, r in enumerate(records):
            s0, s1 = score(self.cfg, answers[i], r["answers"]), score(self.cfg, answers[n + i], r["answers"])
            r["utility"] = {"without": round(s0, 4), "with": round(s1, 4), "gain": round(s1 - s0, 4)}
            r["answer_without"], r["answer"] = answers[i], answers[n + i]
            if not (s1 - s0 > d.min_gain and s1 > d.min_with):
                reject(r, "utility", f"retrieval does not help enough (with {s1:.2f}, without {s0:.2f}; need "
                                     f"gain > {d.min_gain} and with > {d.min_with})")


class DocumentGate(_GeneratorStage):
    """Score each retrieved doc alone; keep those beating no-retrieval by the margin, else the top ranks."""

    name = "document_gate"
    reads = frozenset({"text", "answers", "retrieved", "utility"})
    writes = frozenset({"doc_scores", "kept", "doc_gate_fallback"})

    def process_active(self, records: list[Record]) -> None:
        d = self.cfg.distill
        prompts, owner = [], []
        for i, r in enumerate(records):
            for doc in r["retrieved"]:
                prompts.append(Prompt(r["text"], [doc["text"]]))
                owner.append(i)
        answers = self._gen.generate(prompts)
        per: list[list[float]] = [[] for _ in records]
        for i, a in zip(owner, answers, strict=True):
            per[i].append(score(self.cfg, a, records[i]["answers"]))
        for r, scores in zip(records, per, strict=True):
            base = r["utility"]["without"]
            keep = [j for j, s in enumerate(scores) if s - base > d.doc_margin]
            r["doc_gate_fallback"] = not keep
            keep = keep or list(range(min(d.fallback_docs, len(scores))))
            r["doc_scores"] = [round(s, 4) for s in scores]
            r["kept"] = [r["retrieved"][j] for j in keep]


class Distill(_GeneratorStage):
    """Two batched prompts: extract evidence sentences, then rewrite them into one compact passage."""

    name = "distill"
    reads = frozenset({"text", "kept"})
    writes = frozenset({"evidence", "unit"})

    def process_active(self, records: list[Record]) -> None:
        cap = self.cfg.models.generator.max_doc_chars
        extract = [[{"role": "system", "content": EXTRACT_SYSTEM},
                    {"role": "user", "content": f"Question: {r['text']}\n" + "\n".join(
                        f"[{i}] {d['text'][:cap]}" for i, d in enumerate(r["kept"], 1))}] for r in records]
        evidence = self._complete(extract)
        rewrite = [[{"role": "system", "content": REWRITE_SYSTEM},
                    {"role": "user", "content": f"Question: {r['text']}\nEvidence:\n" + "\n".join(
                        f"- {s}" for s in split_sentences(ev))}] for r, ev in zip(records, evidence, strict=True)]
        units = self._complete(rewrite)
        for r, ev, u in zip(records, evidence, units, strict=True):
            r["evidence"], r["unit"] = ev.strip(), u.strip()
            if len(r["unit"]) < 20:
                reject(r, "distill", "the distiller produced no usable passage")

    def _complete(self, convs: list[list[dict]]) -> list[str]:
        with decoding(self._gen, max_new_tokens=self.cfg.distill.max_new_tokens):
            return self._gen.complete(convs)


class UnitCheck(CheckStage):
    """The unit must be entailed by its kept docs (grounding) and new w.r.t. existing units (novelty): the same
    check plugins as answers, with the distillation's thresholds and the knowledge_units table for novelty."""

    name = "unit_check"
    reads = frozenset({"text", "unit", "kept"})
    writes = frozenset({"scores", "clean_text", "vector", "unit", "distilled"})
    novelty_table = UNITS
    CHECKS = ("grounding", "novelty")

    def _quote(self, records: list[Record]) -> list[Record]:
        """`distill.form: quote`: each sentence of the distilled passage becomes the kept-doc premise that best
        entails it (one batched NLI call for the batch), verbatim; the generated passage is kept as `distilled`.
        Returns the records that still have a unit (the others are rejected)."""
        items, owner = [], []
        for i, r in enumerate(records):
            for s in split_sentences(r["unit"]):
                items.append((s, [x["text"] for x in r["kept"]]))
                owner.append(i)
        found = checks.best_sources(self._nli, [t for t, _ in items], [k for _, k in items]) if items else []
        picked: dict[int, list[str]] = {}
        for i, (src, p) in zip(owner, found, strict=True):
            srcs = picked.setdefault(i, [])
            if src is not None and p >= self.cfg.distill.source_threshold and src not in srcs:
                srcs.append(src)
        kept = []
        for i, r in enumerate(records):
            r["distilled"] = r["unit"]
            srcs = picked.get(i) or []
            if not srcs:
                reject(r, "distill", "no kept sentence states the distilled passage (distill.form: quote)")
                continue
            order = " ".join(x["text"] for x in r["kept"])
            r["unit"] = " ".join(sorted(srcs, key=lambda t: (order.find(t), t)))
            kept.append(r)
        return kept

    def process_active(self, records: list[Record]) -> None:
        d = self.cfg.distill
        if d.form == "quote":
            records = self._quote(records)
            if not records:
                return
        th = {"grounding": d.grounding_threshold, "novelty": d.novelty_threshold}
        self.score(records, [r["unit"] for r in records], [[x["text"] for x in r["kept"]] for r in records],
                   self.CHECKS, th)
        for r in records:
            r["clean_text"] = r["unit"]
            if failed := r["would_fail"]:
                why = checks.reason(failed, r["scores"][failed], th[failed])
                reject(r, failed, why.replace("an existing document", "an existing knowledge unit"))
