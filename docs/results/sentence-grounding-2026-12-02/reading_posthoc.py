"""sentence_grounding of every written doc a reader has judged, on one split, with the docs re-retrieved.

The committed reading audits keep question, written doc and judgement, not the retrieved docs; epoch-1 retrieval is
deterministic (top-k of the split's seed corpus, no written doc yet), so they are retrieved again from the split's
seed store (`runs/eval/_seed_store` = report split, `runs/calibrate/_seed_store` = calibrate split). Several audits
read the same doc: a doc counts as correct only if every reading of it says so. Output: JSONL rows with
sentence_grounding, grounding and the labels.
    python docs/results/sentence-grounding-2026-12-02/reading_posthoc.py report OUT.jsonl AUDIT.jsonl...
"""
import json
import sys
from pathlib import Path

from bidirag.config import load_config
from bidirag.models import handlers
from bidirag.stages.rag import load_embedder
from bidirag.store import CORPUS, Store
from bidirag.training.add_scores import add_scores

split, out, files = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
store_uri = {"report": "runs/eval/_seed_store", "calibrate": "runs/calibrate/_seed_store"}[split]
cfg = load_config("configs/default.yaml")
labels: dict[tuple[str, str], dict] = {}
for f in files:
    for a in map(json.loads, Path(f).read_text().splitlines()):
        doc = (a.get("doc") or a.get("written_doc") or "").strip()
        judge = a.get("judgement") or a.get("verdict")
        key = (a["query_id"], doc)
        row = labels.setdefault(key, {"query_id": a["query_id"], "question": a["question"], "doc": doc,
                                      "gold_rule": a.get("gold_rule_correct"), "readings": [], "files": []})
        row["readings"].append(judge)
        row["files"].append(Path(f).name)
rows = list(labels.values())
emb = load_embedder(cfg)
store = Store(store_uri, dim=emb.dim)
tbl = store.table(CORPUS)
hits = store.search(tbl, emb.encode([r["question"] for r in rows]), cfg.retrieval.top_k)
for r, h in zip(rows, hits, strict=True):
    r["docs"] = [x.text for x in h]
    r["correct"] = all(j == "correct" for j in r["readings"])
items = [{"question": r["question"], "answer": r["doc"], "clean_text": r["doc"], "docs": r["docs"], "scores": {}}
         for r in rows]
add_scores(items, ["grounding", "sentence_grounding"], cfg, handlers.nli(cfg.models.nli))
with out.open("w") as fh:
    for r, it in zip(rows, items, strict=True):
        r.update(it["scores"])
        r.pop("docs")
        fh.write(json.dumps(r) + "\n")
print(f"{len(rows)} read docs ({sum(r['correct'] for r in rows)} correct by every reading) -> {out}")
