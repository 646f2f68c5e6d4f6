"""Run one Bidirectional-RAG epoch end to end and commit one snapshot.

Order of the commit: corpus merge_insert (one version) -> tag `epoch-N` -> experience merge_insert ->
tag -> manifest row -> report.json. Nothing is written to the corpus before every record of the epoch
has a verdict, so a reader never sees half an epoch.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from bidirag import checks, faults
from bidirag.config import Config
from bidirag.data.querylog import DeadLetter, batched, check_log, read_log
from bidirag.lock import writer_lock
from bidirag.models import handlers
from bidirag.runners import make_runner
from bidirag.stages.rag import model_ids
from bidirag.store import CORPUS, EXPERIENCE, UNITS, Store, now
from bidirag.text import content_id

# generator mistakes only: no novelty, and no query_safety (a critique quoting an injected query would carry
# the injection into later prompts)
CRITIQUE_CHECKS = ("content", "opinion", "relevance", "grounding", "attribution")


def corpus_row(r: dict, epoch: int, cfg: Config) -> dict:
    return {
        "doc_id": content_id(r["clean_text"]), "text": r["clean_text"], "vector": r["vector"],
        "origin": "writeback", "epoch": epoch, "query_id": r["query_id"], "query": r["text"],
        "source": None, "source_doc_ids": [d["doc_id"] for d in r["retrieved"]],
        "grounding": r["scores"]["grounding"], "attribution": r["scores"]["attribution"],
        "novelty": r["scores"]["novelty"], "model_ids": model_ids(cfg), "config_hash": cfg.digest(),
        "created_at": now(),
    }


def critique_row(r: dict, epoch: int, cfg: Config) -> dict:
    s = r["scores"]
    return {
        "doc_id": content_id(f"{r['query_id']}\n{r['answer']}\n{r['failed_check']}"),
        "query_id": r["query_id"], "query": r["text"], "answer": r["answer"],
        "failed_check": r["failed_check"], "reason": r["reason"], "grounding": s["grounding"],
        "attribution": s["attribution"], "novelty": s["novelty"], "vector": r["query_vector"],
        "epoch": epoch, "model_ids": model_ids(cfg), "config_hash": cfg.digest(), "created_at": now(),
    }


def _verdict_line(r: dict) -> str:
    keep = ("query_id", "text", "status", "failed_check", "would_fail", "reason", "answer", "clean_text",
            "scores", "cited_doc_ids", "warnings")
    out = {k: r.get(k) for k in keep}
    out["retrieved"] = [d["doc_id"] for d in r.get("retrieved", [])]
    return json.dumps(out, ensure_ascii=False)


def run_epoch(cfg: Config, queries: str | Path | Iterable[dict], run_name: str | None = None,
              progress: bool = True, builder=None, input_desc: str | None = None,
              dead: DeadLetter | None = None) -> dict:
    """One epoch. `queries` is a log file, or already-read records (then `dead` counts the bad ones)."""
    t_start = time.perf_counter()
    if builder is None:
        from pipelines.bidirectional import build as builder
    if isinstance(queries, str | Path):
        check_log(queries)            # a wrong file fails now, not after the models have loaded
    with writer_lock(cfg.store.uri, cfg.store.lock, what=f"epoch over {input_desc or queries}"):
        return _run_epoch(cfg, queries, run_name, progress, builder, input_desc, dead, t_start)


def _run_epoch(cfg, queries, run_name, progress, builder, input_desc, dead, t_start) -> dict:
    emb = handlers.embedder(cfg.models.embedder)
    store = Store.from_config(cfg.store, emb.dim)
    store.init()
    epoch = store.next_epoch()
    # a crashed attempt of this epoch may have committed already: read what it read
    pinned = store.pin_for(CORPUS, epoch)
    exp_version = store.pin_for(EXPERIENCE, epoch)
    units_version = store.table(UNITS).version
    pipeline = builder(cfg, pinned, exp_version, units_version)
    run_name = run_name or time.strftime("run-%Y%m%d-%H%M%S")
    run_dir = Path(cfg.run.runs_dir) / run_name / f"epoch-{epoch}"
    run_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(queries, str | Path):
        dead = DeadLetter(run_dir / "dead_letter.jsonl")
        records = read_log(queries, dead, cfg.input.max_query_chars, cfg.input.max_line_bytes)
        input_desc = input_desc or str(queries)
    else:
        dead = dead or DeadLetter(None)
        records = iter(queries)
        input_desc = input_desc or "records"
    dead_before = dead.count
    runner = make_runner(cfg)
    counts: Counter = Counter()
    rejected_by_check: Counter = Counter()
    candidates, critiques = [], []
    bar = tqdm(desc=f"epoch {epoch}", unit="q", disable=not progress)
    with (run_dir / "verdicts.jsonl").open("w", encoding="utf-8") as vf:
        for batch in runner.stream(pipeline, batched(records, cfg.run.batch_size)):
            for r in batch:
                counts["queries"] += 1
                counts["generated"] += int(bool(r.get("answer")))
                if r["status"] == "ok":
                    candidates.append(r)
                    continue
                if r["status"] == "rejected":
                    rejected_by_check[r["failed_check"]] += 1
                    if r["failed_check"] in CRITIQUE_CHECKS:
                        critiques.append(critique_row(r, epoch, cfg))
                else:
                    counts["failed"] += 1
                    dead.add(input_desc, r.get("_seq", -1), r.get("reason", "failed"),
                             json.dumps({"query_id": r["query_id"], "text": r["text"]}))
                vf.write(_verdict_line(r) + "\n")
            bar.update(len(batch))
            bar.set_postfix(accepted=len(candidates), dead=dead.count - dead_before)
        bar.close()
        runner.finish(pipeline, candidates)
        rows = []
        writes = cfg.writeback.mode != "none"
        for r in candidates:
            if not writes:
                r["status"] = "answered"
            elif r["status"] == "deduplicated":
                counts["deduplicated"] += 1
            else:
                rows.append(corpus_row(r, epoch, cfg))
            vf.write(_verdict_line(r) + "\n")
    if isinstance(queries, str | Path):
        dead.close()
    t = time.perf_counter()
    faults.point("before_commit")
    _, version = store.insert_new(CORPUS, rows)
    faults.point("after_commit")
    store.tag(CORPUS, f"epoch-{epoch}", version)
    _, exp_version_new = store.insert_new(EXPERIENCE, critiques)
    store.tag(EXPERIENCE, f"epoch-{epoch}", exp_version_new)
    # counted from the snapshot, so a re-run after a crash between commit and manifest reports the same
    written = store.count_epoch(CORPUS, epoch, version, origin="writeback")
    exp_written = store.count_epoch(EXPERIENCE, epoch, exp_version_new)
    runner.stage_seconds["write"] += time.perf_counter() - t
    report = {
        "epoch": epoch,
        "run": run_name,
        "input": input_desc,
        "queries": counts["queries"],
        "dead_lettered": dead.count - dead_before,
        "generated": counts["generated"],
        "failed": counts["failed"],
        "accepted": len(candidates) if writes else 0,
        "mode": cfg.writeback.mode,
        "rejected_by_check": {c: rejected_by_check.get(c, 0) for c in checks.CHECKS},
        "deduplicated": counts["deduplicated"],
        "written": written,
        "critiques_written": exp_written,
        "pinned_version": pinned,
        "snapshot_version": version,
        "tag": f"epoch-{epoch}",
        "experience_version": exp_version_new,
        "config_hash": cfg.digest(),
        "stage_seconds": {k: round(v, 2) for k, v in runner.stage_seconds.items()
                          if not k.endswith((".errors", ".retries"))},
        "stage_errors": {k: int(v) for k, v in runner.stage_seconds.items() if k.endswith((".errors", ".retries"))},
        "wall_seconds": round(time.perf_counter() - t_start, 2),
        "report_dir": str(run_dir),
    }
    store.record_manifest(epoch, version, pinned, exp_version_new, cfg.digest(), input_desc,
                          {k: report[k] for k in ("queries", "dead_lettered", "accepted", "deduplicated",
                                                  "written", "critiques_written")})
    (run_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    from bidirag.htmlreport import write_epoch_html

    report["html"] = str(write_epoch_html(store, report, checks.thresholds(cfg.acceptance)))
    return report


def format_report(rep: dict) -> str:
    rb = rep["rejected_by_check"]
    lines = [
        f"epoch {rep['epoch']} ({rep['run']}) on {rep['input']}",
        f"  queries read        {rep['queries']}  (dead-lettered {rep['dead_lettered']})",
        f"  answers generated   {rep['generated']}  (failed {rep['failed']})",
        f"  accepted            {rep['accepted']}",
        "  rejected by check   " + ", ".join(f"{c} {rb.get(c, 0)}" for c in checks.CHECKS),
        f"  deduplicated        {rep['deduplicated']}",
        f"  written             {rep['written']}  (critiques {rep['critiques_written']})",
        f"  snapshot            corpus version {rep['snapshot_version']}, tag {rep['tag']} "
        f"(pinned at start: {rep['pinned_version']})",
        "  stage seconds       " + ", ".join(f"{k} {v:.1f}" for k, v in rep["stage_seconds"].items()),
        f"  wall seconds        {rep['wall_seconds']:.1f}",
        f"  report              {rep['report_dir']}/report.json (+ report.html)",
    ]
    return "\n".join(lines)
