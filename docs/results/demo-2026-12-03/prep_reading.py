"""Every doc `make demo` wrote, as reader input (shuffled; question, gold answers, gold paragraph, doc).

Usage: python prep_reading.py STORE OUT_DIR   (STORE = runs/store after `make demo`)
"""
import json
import random
import sys
from pathlib import Path

from bidirag.checks import written_claim
from bidirag.evaluation.metrics import contains_answer
from bidirag.store import CORPUS, Store
from bidirag.training.train_trust import squad_paragraphs

store, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
labels = {json.loads(x)["query_id"]: json.loads(x) for x in open("data/squad/labels.jsonl")}
queries = {json.loads(x)["query_id"]: json.loads(x)["text"] for x in open("data/squad/queries.jsonl")}
paras = squad_paragraphs()
rows = [r for r in Store(store, dim=None).table(CORPUS).to_arrow().select(["text", "query_id", "origin"]).to_pylist()
        if r["origin"] == "writeback"]
random.Random(0).shuffle(rows)
with (out / "input.jsonl").open("w") as fi, (out / "key.jsonl").open("w") as fk:
    for i, r in enumerate(rows):
        lab = labels[r["query_id"]]
        fi.write(json.dumps({"row": f"d-{i}", "question": queries[r["query_id"]], "gold_answers": lab["answers"],
                             "gold_paragraph": paras[lab["paragraph"]], "doc": r["text"]}, ensure_ascii=False) + "\n")
        fk.write(json.dumps({"row": f"d-{i}", "query_id": r["query_id"], "seed": "demo",
                             "gold_rule_correct": contains_answer(written_claim(r["text"]), lab["answers"])})
                 + "\n")
print(len(rows), "written docs to read")
