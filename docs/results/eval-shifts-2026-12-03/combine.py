"""Reading labels of every written doc of the report-split eval (two readers per doc; correct only if both say so),
and precision by reading and by the gold rule per seed and pooled, with 95% Wilson intervals.

Usage: python combine.py OUT.jsonl DIR [DIR ...]   (DIR: a prep_reading.py folder with out-A.jsonl, out-B.jsonl)
"""
import json
import sys
from pathlib import Path

from bidirag.evaluation.metrics import wilson

out, dirs = sys.argv[1], [Path(d) for d in sys.argv[2:]]
rows = []
for d in dirs:
    inp = {json.loads(x)["row"]: json.loads(x) for x in open(d / "input.jsonl")}
    key = {json.loads(x)["row"]: json.loads(x) for x in open(d / "key.jsonl")}
    a = {json.loads(x)["row"]: json.loads(x) for x in open(d / "out-A.jsonl")}
    b = {json.loads(x)["row"]: json.loads(x) for x in open(d / "out-B.jsonl")}
    assert set(a) == set(b) == set(inp), f"{d}: the readers' rows differ from the input's"
    for row, r in inp.items():
        ja, jb = a[row]["judgement"], b[row]["judgement"]
        rows.append({"system": "bidirectional", "seed": int(key[row]["seed"]), "query_id": key[row]["query_id"],
                     "question": r["question"], "doc": r["doc"], "gold_answers": r["gold_answers"],
                     "gold_rule_correct": key[row]["gold_rule_correct"],
                     "judgement": "correct" if ja == jb == "correct" else (ja if ja != "correct" else jb),
                     "reader_a": ja, "reader_b": jb, "strict": bool(a[row].get("strict") or b[row].get("strict")),
                     "reason_a": a[row].get("reason"), "reason_b": b[row].get("reason")})
with open(out, "w") as f:
    for r in sorted(rows, key=lambda r: (r["seed"], r["query_id"])):
        f.write(json.dumps(r, ensure_ascii=False) + "\n")


def line(name, part):
    n = len(part)
    k = sum(r["judgement"] == "correct" for r in part)
    g = sum(r["gold_rule_correct"] for r in part)
    lenient = sum(r["judgement"] == "correct" or (r["strict"] and "correct" in (r["reader_a"], r["reader_b"]))
                  for r in part)
    agree = sum((r["reader_a"] == "correct") == (r["reader_b"] == "correct") for r in part)
    ci = lambda x: [round(100 * v, 1) for v in wilson(x, n)]  # noqa: E731
    print(json.dumps({"part": name, "written": n, "reading_correct": k, "reading_pct": round(100 * k / n, 1),
                      "reading_ci": ci(k), "gold_rule_correct": g, "gold_pct": round(100 * g / n, 1),
                      "gold_ci": ci(g), "lenient_correct": lenient, "readers_agree": agree}))


for s in sorted({r["seed"] for r in rows}):
    line(f"seed {s}", [r for r in rows if r["seed"] == s])
line("pooled", rows)
