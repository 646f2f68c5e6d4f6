"""WriteBack-RAG: labeled examples -> retrieve -> utility gate -> document gate -> distill -> unit check
-> dedup -> write to knowledge_units (by the driver, tag `units-N`). `SPEC` is the job (`bidirag distill`)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

from bidirag.config import Config
from bidirag.data.querylog import DeadLetter
from bidirag.driver import JobSpec, JobState, Target
from bidirag.pipeline import Pipeline
from bidirag.stages.base import Status
from bidirag.stages.dedup import NearDuplicateFilter
from bidirag.stages.distill import Distill, DocumentGate, UnitCheck, UtilityGate
from bidirag.stages.rag import Retrieve, model_ids
from bidirag.store import CORPUS, UNITS, now
from bidirag.text import content_id

GATES = ("utility", "distill", "grounding", "novelty")


def build(cfg: Config, pinned_version: int, units_version: int) -> Pipeline:
    rcfg = cfg.model_copy(update={"retrieval": cfg.retrieval.model_copy(
        update={"top_k": cfg.distill.top_k, "use_units": False})})
    return Pipeline(
        name="writeback-distill",
        stages=[Retrieve(rcfg, pinned_version), UtilityGate(cfg), DocumentGate(cfg), Distill(cfg),
                UnitCheck(cfg, units_version)],
        global_stages=[NearDuplicateFilter(cfg.dedup.max_cosine)],
        inputs=("query_id", "text", "answers"),
    )


def unit_row(r: dict, run: int, cfg: Config) -> dict:
    return {"doc_id": content_id(r["unit"]), "text": r["unit"], "vector": r["vector"], "origin": "knowledge_unit",
            "run": run, "example_id": r["query_id"], "question": r["text"],
            "source_doc_ids": [d["doc_id"] for d in r["kept"]], "evidence": r["evidence"],
            "utility_without": r["utility"]["without"], "utility_with": r["utility"]["with"],
            "grounding": r["scores"]["grounding"], "novelty": r["scores"]["novelty"],
            "scores": json.dumps(r["scores"], sort_keys=True),
            "model_ids": model_ids(cfg), "config_hash": cfg.digest(), "created_at": now()}


def labeled_only(it: Iterator[dict], dead: DeadLetter, source: str) -> Iterator[dict]:
    for rec in it:
        if "answers" not in rec:
            dead.add(source, -1, "labeled example without 'answers'", json.dumps(rec))
            continue
        yield rec


def _count(r: dict, counts: Counter) -> None:
    counts["utility_pass"] += int("utility" in r and r.get("failed_check") != "utility")
    counts["doc_gate_fallback"] += int(bool(r.get("doc_gate_fallback")))


def _report(st: JobState) -> dict:
    c, n = st.counts, max(1, st.counts["records"])
    return {"examples": c["records"], "utility_pass_rate": c["utility_pass"] / n,
            "doc_gate_fallback_rate": c["doc_gate_fallback"] / max(1, c["utility_pass"]),
            "rejected_by_check": {g: st.rejected_by.get(g, 0) for g in GATES}, "distilled": len(st.candidates),
            "units_version": st.versions[UNITS], "pinned_corpus_version": st.pins["corpus"]}


SPEC = JobSpec(
    kind="units", what="distillation", run_prefix="distill",
    build=lambda cfg, pins: build(cfg, pins["corpus"], pins["units"]),
    pins=lambda store, n, cfg: {"corpus": store.table(CORPUS).version, "units": store.table(UNITS).version},
    targets=(Target(UNITS, lambda st: [unit_row(r, st.n, st.cfg) for r in st.candidates
                                       if r["status"] == Status.OK]),),
    report=_report, count=_count, inputs=labeled_only, require_records=True,
    verdict_fields=("query_id", "text", "status", "failed_check", "reason", "utility", "doc_scores", "evidence",
                    "unit", "scores", "kept"),
)


