"""`bidirag eval`: the same models and queries through each system, per seed, on a copy of one seed store.

Protocol: the `rag_eval` SQuAD articles only (disjoint from NLI training). The seed corpus is their
paragraphs. Per seed: sample queries, split 80/20 into a write-back stream and held-out test queries;
run the stream through `epochs` epochs (standard never writes, so its stream is skipped); answer the test
queries against the resulting snapshot (bidirectional also reads its experience store).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bidirag import checks
from bidirag.config import Config
from bidirag.data.querylog import batched
from bidirag.data.squad import articles_for
from bidirag.distill import run_distill
from bidirag.epoch import run_epoch
from bidirag.evaluation.calibrate import calibrate
from bidirag.evaluation.calibrate import write as write_calibration
from bidirag.evaluation.metrics import aggregate, mean_std, pollution, query_metrics
from bidirag.evaluation.report import write_reports
from bidirag.ingest import ingest
from bidirag.models import handlers
from bidirag.pipeline import Pipeline
from bidirag.runners.local import LocalRunner
from bidirag.stages.rag import Generate, Retrieve
from bidirag.store import CORPUS, EXPERIENCE, UNITS, Store

# system -> (write-back mode of its epochs, distil knowledge units from the labeled train split first)
SYSTEMS = {"standard": ("none", False), "naive": ("naive", False), "bidirectional": ("bidirectional", False),
           "writeback": ("none", True), "bidirectional+writeback": ("bidirectional", True)}


def _with(cfg: Config, **sections) -> Config:
    upd = {k: getattr(cfg, k).model_copy(update=v) for k, v in sections.items()}
    return cfg.model_copy(update=upd)


def answer_queries(cfg: Config, records: list[dict], use_experience: bool) -> tuple[list[dict], float]:
    """Retrieve + generate on the store's current snapshot, no write. Returns (records, seconds)."""
    st = Store.from_config(cfg.store, cfg.models.embedder.dim)
    pinned, exp, units = st.table(CORPUS).version, st.table(EXPERIENCE).version, st.table(UNITS).version
    top_m = cfg.experience.top_m if use_experience else 0
    pipe = Pipeline("answer", [Retrieve(cfg, pinned, exp, top_m, units), Generate(cfg)])
    t = time.perf_counter()
    out = [r for b in LocalRunner().stream(pipe, batched(iter(records), cfg.run.batch_size)) for r in b]
    return out, time.perf_counter() - t


def _sample(seed: int, n: int, questions: list) -> tuple[list, list]:
    qs = list(questions)
    random.Random(seed).shuffle(qs)
    qs = qs[:n]
    cut = int(round(0.8 * len(qs)))
    return qs[:cut], qs[cut:]


def run_eval(cfg: Config, out: str | Path, systems: list[str], seeds: list[int], n_queries: int = 100,
             epochs: int = 1, progress: bool = True, log=print) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise ValueError(f"unknown systems {unknown}; choose from {sorted(SYSTEMS)}")
    arts = articles_for("rag_eval")
    seed_store = out / "_seed_store"
    corpus = out / "seed_corpus.parquet"
    texts = [p for a in arts for p in a.paragraphs]
    srcs = [f"squad:{a.title}#{i}" for a in arts for i in range(len(a.paragraphs))]
    pq.write_table(pa.table({"text": texts, "source": srcs}), corpus)
    if seed_store.exists():
        shutil.rmtree(seed_store)
    ingest(_with(cfg, store={"uri": str(seed_store)}), corpus, progress=progress)
    questions = [q for a in arts for q in a.questions]
    runs: dict[str, list[dict]] = {s: [] for s in systems}
    for seed in seeds:
        train, test = _sample(seed, n_queries, questions)
        labels = {q.qid: list(q.answers) for q in train + test}
        log_path = out / f"seed-{seed}" / "train.jsonl"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("".join(json.dumps({"query_id": q.qid, "text": q.text}) + "\n" for q in train))
        examples = out / f"seed-{seed}" / "examples.jsonl"
        examples.write_text("".join(json.dumps({"query_id": q.qid, "question": q.text, "answers": list(q.answers)})
                                    + "\n" for q in train))
        drep_seed, distilled = None, out / f"seed-{seed}" / "_distilled"
        if any(SYSTEMS[s][1] for s in systems):   # distil once per seed; every writeback system starts from it
            if distilled.exists():
                shutil.rmtree(distilled)
            shutil.copytree(seed_store, distilled / "store")
            log(f"[eval] seed {seed}: distilling {len(train)} labeled examples into knowledge units")
            handlers.forget_outputs()
            drep_seed = run_distill(_with(cfg, store={"uri": str(distilled / "store")},
                                          run={"runs_dir": str(distilled / "runs")}),
                                    examples, run_name="distill", progress=progress)
        for system in systems:
            mode, distill = SYSTEMS[system]
            sdir = out / f"seed-{seed}" / system
            if sdir.exists():
                shutil.rmtree(sdir)
            shutil.copytree(distilled / "store" if distill else seed_store, sdir / "store")
            scfg = _with(cfg, store={"uri": str(sdir / "store")}, run={"runs_dir": str(sdir / "runs")},
                         writeback={"mode": mode})
            log(f"[eval] seed {seed} system {system}: {len(train)} write-back queries x {epochs} epoch(s), "
                f"{len(test)} test queries")
            reps, train_s, drep = [], 0.0, None
            handlers.forget_outputs()   # each system pays for its own generation: latencies comparable
            if distill:
                drep = drep_seed
                train_s += drep["wall_seconds"]
            if mode != "none":
                for _ in range(epochs):
                    rep = run_epoch(scfg, log_path, run_name="epochs", progress=progress)
                    reps.append(rep)
                    train_s += rep["wall_seconds"]
            recs = [{"query_id": q.qid, "text": q.text} for q in test]
            answered, test_s = answer_queries(scfg, recs, use_experience=mode == "bidirectional")
            per_q = [query_metrics(r, labels[r["query_id"]]) for r in answered]
            st = Store.from_config(scfg.store, cfg.models.embedder.dim)
            written = [r for r in st.table(CORPUS).to_arrow().select(["text", "query_id", "origin"]).to_pylist()
                       if r["origin"] == "writeback"]
            unit_ids = set(st.table(UNITS).to_arrow().column("doc_id").to_pylist())
            with_unit = sum(any(d["doc_id"] in unit_ids for d in r.get("retrieved", [])) for r in answered)
            generated = sum(r["generated"] for r in reps)
            accepted = sum(r["accepted"] - r["deduplicated"] for r in reps)
            res = {
                "seed": seed, **aggregate(per_q), **pollution(written, labels),
                "corpus_growth": len(written),
                "acceptance_rate": (accepted / generated) if generated else 0.0,
                "rejected_by_check": {c: sum(r["rejected_by_check"].get(c, 0) for r in reps)
                                      for c in cfg.acceptance.checks},
                "deduplicated": sum(r["deduplicated"] for r in reps),
                "train_queries": len(train) * (epochs if mode != "none" else 0),
                "test_queries": len(test),
                "writeback_seconds_per_query": train_s / max(1, len(train) * epochs) if reps else 0.0,
                "answer_seconds_per_query": test_s / max(1, len(test)),
                "throughput_qps": (len(train) * len(reps) + len(test)) / max(1e-9, train_s + test_s),
                "units_written": drep["written"] if drep else 0,
                "unit_retrieved_share": with_unit / max(1, len(answered)),
                "utility_pass_rate": drep["utility_pass_rate"] if drep else 0.0,
                "doc_gate_fallback_rate": drep["doc_gate_fallback_rate"] if drep else 0.0,
                "distill_seconds_per_example": drep["wall_seconds"] / max(1, len(train)) if drep else 0.0,
            }
            runs[system].append(res)
            (sdir / "answers.jsonl").write_text("".join(
                json.dumps({"query_id": r["query_id"], "question": r["text"], "answer": r.get("answer"),
                            "gold": labels[r["query_id"]], **m}) + "\n" for r, m in zip(answered, per_q, strict=True)))
            log(f"[eval]   coverage {res['coverage']:.2f} answer_coverage {res['answer_coverage']:.2f} "
                f"F1 {res['f1']:.3f} growth {res['corpus_growth']} pollution {res['pollution']:.2f}")
    if "standard" in runs:   # gains over standard RAG, seed by seed
        for rs in runs.values():
            for r, base in zip(rs, runs["standard"], strict=True):
                for k in ("em", "f1", "answer_coverage", "coverage"):
                    r[f"{k}_gain"] = r[k] - base[k]
    summary = {s: summarize(r) for s, r in runs.items()}
    result = {"protocol": {"dataset": "SQuAD v1.1 dev (bigbench sdist), rag_eval articles",
                           "seed_corpus_paragraphs": len(texts), "queries_per_seed": n_queries,
                           "split": "80/20 write-back/test", "epochs": epochs, "seeds": seeds,
                           "config_hash": cfg.digest(), "top_k": cfg.retrieval.top_k,
                           "thresholds": cfg.acceptance.model_dump(), "experience_top_m": cfg.experience.top_m,
                           "distill_top_k": cfg.distill.top_k, "distill_scorer": cfg.distill.scorer},
              "systems": summary, "runs": runs}
    write_reports(result, out)
    if "naive" in systems:   # naive scores every answer without rejecting: the data for calibration
        verdicts, labels_all = [], {}
        for seed in seeds:
            for f in (out / f"seed-{seed}" / "naive" / "runs").glob("*/epoch-*/verdicts.jsonl"):
                verdicts += [json.loads(x) for x in f.read_text().splitlines()]
            labels_all.update({json.loads(x)["query_id"]: json.loads(x)["answers"] for x in
                               (out / f"seed-{seed}" / "examples.jsonl").read_text().splitlines()})
        result["calibration"] = calibrate_checks(cfg, verdicts, labels_all, out)
    return result


def calibrate_checks(cfg: Config, verdicts: list[dict], labels: dict[str, list[str]], out: Path) -> dict:
    """A threshold sweep for every configured check with a correctness score (its `calibrate` flag, from the
    registry), on verdicts that scored every answer without rejecting (the naive system)."""
    res = {}
    for check in [c.name for c in checks.enabled(cfg.acceptance) if c.calibrate]:
        cal = calibrate(verdicts, labels, checks.thresholds(cfg.acceptance), sweep=check)
        write_calibration(cal, out, "calibration" if check == "grounding" else f"calibration-{check}")
        res[check] = cal
    return res


SUMMARY_KEYS = ("coverage", "answer_coverage", "em", "f1", "answer_contains_gold", "citation_precision",
                "citation_recall", "citation_f1", "corpus_growth", "acceptance_rate", "pollution",
                "writeback_seconds_per_query", "answer_seconds_per_query", "throughput_qps", "deduplicated",
                "units_written", "unit_retrieved_share", "utility_pass_rate", "doc_gate_fallback_rate",
                "distill_seconds_per_example",
                "em_gain", "f1_gain", "answer_coverage_gain", "coverage_gain")


def summarize(runs: list[dict]) -> dict:
    out = {k: mean_std([float(r[k]) for r in runs]) for k in SUMMARY_KEYS if all(k in r for r in runs)}
    names = list(dict.fromkeys(c for r in runs for c in r["rejected_by_check"]))
    out["rejected_by_check"] = {c: mean_std([float(r["rejected_by_check"].get(c, 0)) for r in runs])
                                for c in names}
    return out
