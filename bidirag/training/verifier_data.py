"""Answers of the configured generator to `nli_train` SQuAD questions, labeled by their gold answers.

The training data of an answer verifier (it learns this generator's own failure modes) and the design split
for acceptance thresholds: the `nli_train` articles only (bidirag/data/squad_split.json), never the
`rag_eval` articles the evaluation reports on. Each question goes through a real epoch in `naive` mode
(retrieve from a store of the nli_train paragraphs, generate, score every check, reject nothing), and
`answers.jsonl` gets one row per answer: the question, the retrieved docs, the answer, every check's
score and `correct` (the written text contains a gold answer, SQuAD normalisation).

    python -m bidirag.training.verifier_data --out runs/verifier-data --n 600 \\
        --set models.generator.path=.cache/models/qwen2.5-coder-0.5b-instruct
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bidirag.config import load_config
from bidirag.data.squad import articles_for
from bidirag.epoch import run_epoch
from bidirag.ingest import ingest
from bidirag.store import CORPUS, Store
from bidirag.text import contains_answer


def build(out: Path, n: int, seed: int, overrides: list[str], progress: bool = True, skip: int = 0) -> dict:
    """`skip`: leave out the first `skip` questions of the seed's order (a second batch disjoint from the first)."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = load_config("configs/default.yaml", overrides=[
        f"store.uri={out / 'store'}", f"run.runs_dir={out / 'runs'}", "writeback.mode=naive",
        "experience.top_m=0", "retrieval.use_units=false", *overrides])
    arts = articles_for("nli_train")
    corpus = out / "corpus.parquet"
    pq.write_table(pa.table({"text": [p for a in arts for p in a.paragraphs],
                             "source": [f"squad:{a.title}#{i}" for a in arts for i in range(len(a.paragraphs))]}),
                   corpus)
    ingest(cfg, corpus, progress=progress)
    qs = [q for a in arts for q in a.questions]
    random.Random(seed).shuffle(qs)
    qs = qs[skip:skip + n]
    log = out / "questions.jsonl"
    log.write_text("".join(json.dumps({"query_id": q.qid, "text": q.text}) + "\n" for q in qs))
    gold = {q.qid: (list(q.answers), f"squad:{q.title}#{q.paragraph_index}") for q in qs}
    t = time.perf_counter()
    rep = run_epoch(cfg, log, run_name="data", progress=progress)
    texts = Store(cfg.store.uri, dim=None).texts(CORPUS)
    rows = []
    for line in (Path(rep["report_dir"]) / "verdicts.jsonl").read_text().splitlines():
        v = json.loads(line)
        if not v.get("scores"):
            continue
        answers, para = gold[v["query_id"]]
        rows.append({"query_id": v["query_id"], "question": v["text"], "answer": v["answer"],
                     "clean_text": v["clean_text"], "docs": [texts[d] for d in v["retrieved"]], "gold": answers,
                     "gold_paragraph": para, "scores": v["scores"], "confidence": v.get("confidence"),
                     "correct": contains_answer(v["clean_text"], answers)})
    (out / "answers.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    meta = {"articles": "nli_train", "questions": len(qs), "seed": seed, "skip": skip, "answers": len(rows),
            "correct": sum(r["correct"] for r in rows), "generator": cfg.models.generator.model_dump(),
            "seconds": round(time.perf_counter() - t, 1), "overrides": overrides}
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=600)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--skip", type=int, default=0, help="start after this many questions of the seed's order")
    p.add_argument("--set", action="append", default=[])
    a = p.parse_args()
    print(json.dumps(build(Path(a.out), a.n, a.seed, a.set, skip=a.skip), indent=1))


if __name__ == "__main__":
    main()
