"""Reading labels of every doc the bidirectional system wrote in one SQuADShifts run (two readers per doc, combined by
`bidirag.evaluation.audit.two_readers`: correct only if both say so), and precision by reading and by the gold rule,
with 95% Wilson intervals.

Usage: python combine.py OUT.jsonl DIR [--carry JUDGED.jsonl]
DIR: a prep_reading.py folder (input.jsonl, key.jsonl) with the readers' out-A.jsonl / out-B.jsonl. With --carry,
a row whose exact doc an earlier run's judged file already has keeps that label (label "carried"); the readers read
only the others (label "read").
"""
import json
import sys
from pathlib import Path

from bidirag.evaluation.audit import two_readers
from bidirag.evaluation.metrics import wilson

out, d = sys.argv[1], Path(sys.argv[2])
carry = {}
if "--carry" in sys.argv:
    carry = {(r["query_id"], r["doc"]): r for r in map(json.loads, open(sys.argv[sys.argv.index("--carry") + 1]))}
inp = {json.loads(x)["row"]: json.loads(x) for x in open(d / "input.jsonl")}
key = {json.loads(x)["row"]: json.loads(x) for x in open(d / "key.jsonl")}
read = two_readers(d)
rows = []
for row, r in inp.items():
    k = key[row]
    old = carry.get((k["query_id"], r["doc"]))
    if old is None and row not in read:
        raise SystemExit(f"{d}: row {row} was neither read nor carried")
    label = ({f: old[f] for f in ("judgement", "reader_a", "reader_b", "strict", "reason_a", "reason_b") if f in old}
             if old is not None else read[row])
    rows.append({"system": "bidirectional", "seed": int(k["seed"]), "query_id": k["query_id"],
                 "question": r["question"], "doc": r["doc"], "gold_answers": r["gold_answers"],
                 "gold_rule_correct": k["gold_rule_correct"], **label,
                 "label": "carried" if old is not None else "read"})
with open(out, "w") as f:
    for r in sorted(rows, key=lambda r: (r["seed"], r["query_id"])):
        f.write(json.dumps(r, ensure_ascii=False) + "\n")

n, k = len(rows), sum(r["judgement"] == "correct" for r in rows)
g = sum(r["gold_rule_correct"] for r in rows)
ci = lambda x: [round(100 * v, 1) for v in wilson(x, n)]  # noqa: E731
print(json.dumps({"written": n, "reading_correct": k, "reading_pct": round(100 * k / n, 1), "reading_ci": ci(k),
                  "gold_rule_correct": g, "gold_pct": round(100 * g / n, 1), "gold_ci": ci(g),
                  "read": sum(r["label"] == "read" for r in rows),
                  "readers_agree": sum((r["reader_a"] == "correct") == (r["reader_b"] == "correct") for r in rows
                                       if r["label"] == "read")}))
