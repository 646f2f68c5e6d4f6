"""Run WriteBack-RAG distillation over labeled examples; one knowledge_units version per run, tagged units-N."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from bidirag.config import Config
from bidirag.data.querylog import DeadLetter, QueryLogError, batched, read_log
from bidirag.lock import writer_lock
from bidirag.models import handlers
from bidirag.runners import make_runner
from bidirag.stages.rag import model_ids
from bidirag.store import CORPUS, UNITS, Store, now
from bidirag.text import content_id

GATES = ("utility", "distill", "grounding", "novelty")


def unit_row(r: dict, run: int, cfg: Config) -> dict:
    return {"doc_id": content_id(r["unit"]), "text": r["unit"], "vector": r["vector"], "origin": "knowledge_unit",
            "run": run, "example_id": r["query_id"], "question": r["text"],
            "source_doc_ids": [d["doc_id"] for d in r["kept"]], "evidence": r["evidence"],
            "utility_without": r["utility"]["without"], "utility_with": r["utility"]["with"],
            "grounding": r["scores"]["grounding"], "novelty": r["scores"]["novelty"],
            "model_ids": model_ids(cfg), "config_hash": cfg.digest(), "created_at": now()}


def run_distill(cfg: Config, examples: str | Path, run_name: str | None = None, progress: bool = True,
                builder=None) -> dict:
    with writer_lock(cfg.store.uri, cfg.store.lock, what=f"distillation of {examples}"):
        return _run_distill(cfg, examples, run_name, progress, builder)


def _run_distill(cfg: Config, examples, run_name, progress, builder) -> dict:
    t0 = time.perf_counter()
    if builder is None:
        from pipelines.writeback_distill import build as builder
    store = Store(cfg.store.uri, dim=handlers.embedder(cfg.models.embedder).dim)
    store.init()
    run = store.next_epoch("units")
    pinned, units_version = store.table(CORPUS).version, store.table(UNITS).version
    pipeline = builder(cfg, pinned, units_version)
    run_dir = Path(cfg.run.runs_dir) / (run_name or time.strftime("distill-%Y%m%d-%H%M%S")) / f"units-{run}"
    run_dir.mkdir(parents=True, exist_ok=True)
    dead = DeadLetter(run_dir / "dead_letter.jsonl")
    records = read_log(examples, dead, cfg.input.max_query_chars, cfg.input.max_line_bytes)
    runner = make_runner(cfg)
    counts: Counter = Counter()
    rejected: Counter = Counter()
    cands = []
    bar = tqdm(desc=f"distill run {run}", unit="ex", disable=not progress)
    with (run_dir / "verdicts.jsonl").open("w", encoding="utf-8") as vf:
        def labeled_only(it):
            for rec in it:
                if "answers" not in rec:
                    dead.add(str(examples), -1, "labeled example without 'answers'", json.dumps(rec))
                    continue
                yield rec

        for batch in runner.stream(pipeline, batched(labeled_only(records), cfg.run.batch_size)):
            for r in batch:
                counts["examples"] += 1
                counts["utility_pass"] += int("utility" in r and r.get("failed_check") != "utility")
                counts["doc_gate_fallback"] += int(bool(r.get("doc_gate_fallback")))
                if r["status"] == "ok":
                    cands.append(r)
                    continue
                if r["status"] == "rejected":
                    rejected[r["failed_check"]] += 1
                else:
                    counts["failed"] += 1
                vf.write(json.dumps(_verdict(r), ensure_ascii=False) + "\n")
            bar.update(len(batch))
        bar.close()
        runner.finish(pipeline, cands)
        rows = []
        for r in cands:
            if r["status"] == "deduplicated":
                counts["deduplicated"] += 1
            else:
                rows.append(unit_row(r, run, cfg))
            vf.write(json.dumps(_verdict(r), ensure_ascii=False) + "\n")
    dead.close()
    if counts["examples"] == 0 and dead.count:
        raise QueryLogError(f"{examples}: no usable labeled examples ({dead.count} dead-lettered, see "
                            f"{run_dir / 'dead_letter.jsonl'}); each line needs a question and 'answers'")
    written, version = store.insert_new(UNITS, rows)
    store.tag(UNITS, f"units-{run}", version)
    n = max(1, counts["examples"])
    report = {"run": run, "examples": counts["examples"], "dead_lettered": dead.count, "failed": counts["failed"],
              "utility_pass_rate": counts["utility_pass"] / n,
              "doc_gate_fallback_rate": counts["doc_gate_fallback"] / max(1, counts["utility_pass"]),
              "rejected_by_check": {g: rejected.get(g, 0) for g in GATES}, "distilled": len(cands),
              "deduplicated": counts["deduplicated"], "written": written, "units_version": version,
              "tag": f"units-{run}", "pinned_corpus_version": pinned,
              "stage_seconds": {k: round(v, 2) for k, v in runner.stage_seconds.items()
                                if not k.endswith((".errors", ".retries"))},
              "wall_seconds": round(time.perf_counter() - t0, 2), "report_dir": str(run_dir)}
    store.record_manifest(run, version, pinned, -1, cfg.digest(), str(examples),
                          {k: report[k] for k in ("examples", "written", "deduplicated")}, kind="units")
    (run_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _verdict(r: dict) -> dict:
    keep = ("query_id", "text", "status", "failed_check", "reason", "utility", "doc_scores", "evidence", "unit",
            "scores")
    out = {k: r.get(k) for k in keep}
    out["kept"] = [d["doc_id"] for d in r.get("kept", [])]
    return out
