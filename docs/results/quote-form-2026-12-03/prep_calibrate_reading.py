"""The calibrate pool's quote docs to read: every naive answer of `make calibrate` (seeds 7, 8, quote form) that
passes the other default thresholds and has trust >= 0.5 and a source, as reader input (shuffled, no scores).

Usage: python prep_calibrate_reading.py RUNS_DIR OUT_DIR SEED   (RUNS_DIR = runs/calibrate-quote; SEED 7 or 8)
Writes OUT_DIR/input.jsonl (row, question, gold_answers, gold_paragraph, doc) and OUT_DIR/key.jsonl (row, query_id,
trust, sentence-form text).
"""
import json
import random
import sys
from pathlib import Path

from bidirag import checks
from bidirag.config import load_config
from bidirag.evaluation.dataset import load

runs, out, seed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
out.mkdir(parents=True, exist_ok=True)
cfg = load_config("configs/default.yaml", overrides=[
    "writeback.form=quote", "acceptance.require_hedge=false",
    "acceptance.checks=[query_safety, answerable, premise, question_detail, content, complete, opinion, relevance, "
    "grounding, attribution, novelty, hedge, source, trust]"])
th = {c: t for c, t in checks.thresholds(cfg.acceptance).items() if c != "trust"}
arts, _ = load(None)
para = {q.qid: (a.paragraphs[q.paragraph_index], q.answers) for a in arts for q in a.questions}
rows = []
for f in sorted(runs.glob(f"seed-{seed}/naive/runs/*/epoch-*/verdicts.jsonl")):
    for line in f.read_text().splitlines():
        v = json.loads(line)
        s = v.get("scores") or {}
        if not v.get("answer") or not v.get("source") or s.get("trust", 0) < 0.5:
            continue
        if any(s.get(c, 1.0) < t for c, t in th.items()):
            continue
        p, gold = para[v["query_id"]]
        rows.append({"query_id": v["query_id"], "question": v["text"], "gold_answers": list(gold), "gold_paragraph": p,
                     "doc": checks.quote_doc(v["text"], v["source"]), "trust": s["trust"],
                     "sentence": v.get("clean_text")})
random.Random(int(seed)).shuffle(rows)
with (out / "input.jsonl").open("w") as fi, (out / "key.jsonl").open("w") as fk:
    for i, r in enumerate(rows):
        fi.write(json.dumps({"row": f"{seed}-{i}", **{k: r[k] for k in ("question", "gold_answers", "gold_paragraph", "doc")}})
                 + "\n")
        fk.write(json.dumps({"row": f"{seed}-{i}", **{k: r[k] for k in ("query_id", "trust", "sentence", "doc")}}) + "\n")
print(len(rows), "docs to read")
