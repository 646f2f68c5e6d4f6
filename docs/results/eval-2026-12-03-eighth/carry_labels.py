"""Carry reading labels to a new eval run's written docs where the same question-source pairing was read before.

A quote doc is judged as (its query, its Source sentence): a label read on `quote_doc(question, source)` applies to
any written row with the same seed, query_id and text (= source). Rows with no label are listed for reading.

Usage: python carry_labels.py RUN_DIR LABELS.jsonl OUT.jsonl
  RUN_DIR: an eval --out folder (seed-*/bidirectional.result.json); LABELS: a *-reading-judged.jsonl
Prints precision by reading (labelled rows) and by the gold rule, per seed and pooled, with Wilson intervals.
"""
import json
import sys
from pathlib import Path

from bidirag.checks import quote_claim
from bidirag.evaluation.metrics import wilson

run, labels_file, out = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
labels = {}
for x in open(labels_file):
    r = json.loads(x)
    labels[(int(r["seed"]), r["query_id"], quote_claim(r["doc"]) or r["doc"])] = r
rows, unread = [], []
for f in sorted(run.glob("seed-*/bidirectional.result.json")):
    res = json.loads(f.read_text())
    for w in res["written"]:
        lab = labels.get((int(res["seed"]), w["query_id"], quote_claim(w["text"]) or w["text"]))
        row = {"seed": res["seed"], "query_id": w["query_id"], "text": w["text"], "gold_rule_correct": w["correct"],
               "judgement": lab["judgement"] if lab else None}
        rows.append(row)
        if lab is None:
            unread.append(row)
with open(out, "w") as fh:
    for r in rows:
        fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def line(name, part):
    n = len(part)
    read = [r for r in part if r["judgement"] is not None]
    k = sum(r["judgement"] == "correct" for r in read)
    g = sum(r["gold_rule_correct"] for r in part)
    ci = lambda x, m: [round(100 * v, 1) for v in wilson(x, m)] if m else None  # noqa: E731
    print(json.dumps({"part": name, "written": n, "read": len(read), "reading_correct": k,
                      "reading_pct": round(100 * k / len(read), 1) if read else None, "reading_ci": ci(k, len(read)),
                      "gold_rule_correct": g, "gold_pct": round(100 * g / n, 1) if n else None, "gold_ci": ci(g, n)}))


for s in sorted({r["seed"] for r in rows}):
    line(f"seed {s}", [r for r in rows if r["seed"] == s])
line("pooled", rows)
print(f"{len(unread)} written docs without a label (to be read)")
