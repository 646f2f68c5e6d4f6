"""Bidirectional RAG epoch: read log -> retrieve -> generate -> validate -> dedup -> write (by the driver).

`SPEC` is the job the driver runs (`bidirag run`, `bidirag replay`): corpus rows from accepted answers,
critiques (rejections by a check marked `critique`) into the experience table, both tagged `epoch-N`.
"""

from __future__ import annotations

import json
from collections import Counter

from bidirag import checks
from bidirag.config import Config
from bidirag.driver import JobSpec, JobState, Target
from bidirag.pipeline import Pipeline
from bidirag.stages.base import Status
from bidirag.stages.dedup import NearDuplicateFilter
from bidirag.stages.memo import Recall, memo_rows, settle
from bidirag.stages.rag import Generate, Retrieve, model_ids
from bidirag.stages.validate import Screen, Validate
from bidirag.store import CORPUS, EXPERIENCE, MEMO, UNITS, Store, now
from bidirag.text import content_id


def build(cfg: Config, pinned_version: int, experience_version: int | None = None,
          units_version: int | None = None) -> Pipeline:
    """`writeback.mode` picks the system: bidirectional (checks + experience + dedup), naive (scores are
    recorded but every answer passes), none (standard RAG: retrieve + generate only)."""
    mode = cfg.writeback.mode
    critiques = cfg.experience.top_m if mode == "bidirectional" else 0
    screen = mode == "bidirectional" and cfg.acceptance.screen_before_generation and checks.pre_generation(
        cfg.acceptance)
    memo = cfg.run.memo and mode != "none"      # the run memo records verdicts: nothing to record without checks
    stages = [Retrieve(cfg, pinned_version, experience_version, critiques, units_version),
              *([Screen(cfg)] if screen else []), *([Recall(cfg)] if memo else []), Generate(cfg)]
    if mode != "none":
        stages.append(Validate(cfg, pinned_version, enforce=mode == "bidirectional", screened=bool(screen)))
    dedup = [NearDuplicateFilter(cfg.dedup.max_cosine)] if mode == "bidirectional" else []
    return Pipeline(name=f"rag-{mode}", stages=stages, global_stages=dedup)


def corpus_row(r: dict, epoch: int, cfg: Config) -> dict:
    s = r["scores"]
    return {
        "doc_id": content_id(r["clean_text"]), "text": r["clean_text"], "vector": r["vector"],
        "origin": "writeback", "epoch": epoch, "query_id": r["query_id"], "query": r["text"],
        "source": None,   # a quote: the paragraph it quotes; otherwise every retrieved doc
        "source_doc_ids": [r["source_doc_id"]] if r.get("source_doc_id") else [d["doc_id"] for d in r["retrieved"]],
        "grounding": s.get("grounding"), "attribution": s.get("attribution"), "novelty": s.get("novelty"),
        "scores": json.dumps(s, sort_keys=True), "model_ids": model_ids(cfg), "config_hash": cfg.digest(),
        "created_at": now(),
    }


def critique_row(r: dict, epoch: int, cfg: Config) -> dict:
    s = r["scores"]
    return {
        "doc_id": content_id(f"{r['query_id']}\n{r['answer']}\n{r['failed_check']}"),
        "query_id": r["query_id"], "query": r["text"], "answer": r["answer"],
        "failed_check": r["failed_check"], "reason": r["reason"], "grounding": s.get("grounding"),
        "attribution": s.get("attribution"), "novelty": s.get("novelty"), "scores": json.dumps(s, sort_keys=True),
        "vector": r["query_vector"], "epoch": epoch, "model_ids": model_ids(cfg), "config_hash": cfg.digest(),
        "created_at": now(),
    }


def _critiques(st: JobState) -> list[dict]:
    """Generator mistakes only (checks marked `critique`): no novelty, no query_safety (a critique quoting an
    injected query would carry the injection into later prompts)."""
    return [critique_row(r, st.n, st.cfg) for r in st.rejected if not r.get("memo_hit")   # recorded the first time
            and r["failed_check"] in checks.registered() and checks.get(r["failed_check"]).critique]


def _pins(store: Store, n: int, cfg: Config) -> dict[str, int | None]:
    return {"corpus": store.pin_for(CORPUS, n), "experience": store.pin_for(EXPERIENCE, n),
            "units": store.table(UNITS).version}


def _count(r: dict, counts: Counter) -> None:
    counts["generated"] += int(bool(r.get("answer")) and not r.get("memo_hit"))


def _report(st: JobState) -> dict:
    writes = st.cfg.writeback.mode != "none"
    return {"epoch": st.n, "queries": st.counts["records"], "generated": st.counts["generated"],
            "accepted": len(st.candidates) if writes else 0, "mode": st.cfg.writeback.mode,
            "rejected_by_check": {c: st.rejected_by.get(c, 0) for c in st.cfg.acceptance.checks},
            "critiques_written": st.written[EXPERIENCE], "pinned_version": st.pins["corpus"],
            "snapshot_version": st.versions[CORPUS], "experience_version": st.versions[EXPERIENCE],
            "memo_hits": st.counts["memo_hits"], "memo_rows_written": st.written.get(MEMO, 0)}


SPEC = JobSpec(
    kind="epoch", what="epoch", run_prefix="run",
    build=lambda cfg, pins: build(cfg, pins["corpus"], pins["experience"], pins["units"]),
    pins=_pins,
    targets=(
        Target(CORPUS, lambda st: [corpus_row(r, st.n, st.cfg) for r in st.candidates if r["status"] == Status.OK],
               lambda store, st, v, ins: store.count_epoch(CORPUS, st.n, v, origin="writeback")),
        Target(EXPERIENCE, _critiques, lambda store, st, v, ins: store.count_epoch(EXPERIENCE, st.n, v)),
        Target(MEMO, memo_rows),
    ),
    report=_report, count=_count, writes=lambda cfg: cfg.writeback.mode != "none", settle=settle,
    verdict_fields=("query_id", "text", "status", "failed_check", "would_fail", "reason", "answer", "clean_text",
                    "confidence", "short_answer", "source", "source_doc_id",
                    "scores", "cited_doc_ids", "warnings", "retrieved", "memo_hit"),
)
