"""Accepted-at-trust>=0.675 calibration answers whose quote (new splitter) has no reading label -> reader input."""
import json
from bidirag.config import load_config
from bidirag import checks
from bidirag.evaluation.calibrate import load_reading
from bidirag.data.squad import load_articles
cfg = load_config("/work/wt10/configs/default.yaml")
th = checks.thresholds(cfg.acceptance)
reading = load_reading("/work/wt10/docs/results/quote-form-2026-12-03/calibration-reading-quote.jsonl")
byq = {q.qid: (q, a) for a in load_articles() for q in a.questions}
rows = []
for x in open("/work/scratch/cal_verdicts.jsonl"):
    v = json.loads(x)
    if not v.get("answer") or not v.get("scores") or not v.get("written"):
        continue
    sc = v["scores"]
    if all(sc.get(c, 1.0) >= t for c, t in th.items()) and (v["query_id"], v["written"].strip()) not in reading:
        q, a = byq[v["query_id"]]
        rows.append({"row": f"u-{len(rows)}", "query_id": v["query_id"], "question": q.text, "gold_answers": list(q.answers),
                     "gold_paragraph": a.paragraphs[q.paragraph_index], "doc": v["written"]})
import os
os.makedirs("/work/main/docs/results/calibration-2026-12-03-split2/reading-unread", exist_ok=True)
with open("/work/main/docs/results/calibration-2026-12-03-split2/reading-unread/input.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps({k: r[k] for k in ("row", "question", "gold_answers", "gold_paragraph", "doc")}, ensure_ascii=False) + "\n")
with open("/work/main/docs/results/calibration-2026-12-03-split2/reading-unread/key.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps({"row": r["row"], "query_id": r["query_id"], "doc": r["doc"]}, ensure_ascii=False) + "\n")
print(len(rows), "unread accepted answers")
