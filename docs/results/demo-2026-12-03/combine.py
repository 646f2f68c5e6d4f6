"""Reading labels of every doc `make demo` wrote (two readers; correct only if both say so) and the summary.

Usage: python docs/results/demo-2026-12-03/combine.py > docs/results/demo-2026-12-03/summary.txt
Writes docs/results/demo-2026-12-03-judged.jsonl.
"""
import json

from bidirag.evaluation.metrics import wilson

D = "docs/results/demo-2026-12-03/"
inp = {json.loads(x)["row"]: json.loads(x) for x in open(D + "input.jsonl")}
key = {json.loads(x)["row"]: json.loads(x) for x in open(D + "key.jsonl")}
a = {json.loads(x)["row"]: json.loads(x) for x in open(D + "out-A.jsonl")}
b = {json.loads(x)["row"]: json.loads(x) for x in open(D + "out-B.jsonl")}
rows = []
for r in inp:
    ja, jb = a[r]["judgement"], b[r]["judgement"]
    rows.append({"row": r, "query_id": key[r]["query_id"], "question": inp[r]["question"], "doc": inp[r]["doc"],
                 "gold_answers": inp[r]["gold_answers"], "gold_rule_correct": key[r]["gold_rule_correct"],
                 "judgement": "correct" if ja == jb == "correct" else (ja if ja != "correct" else jb),
                 "reader_a": ja, "reader_b": jb, "reason_a": a[r]["reason"], "reason_b": b[r]["reason"]})
with open("docs/results/demo-2026-12-03-judged.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
n, k, g = len(rows), sum(r["judgement"] == "correct" for r in rows), sum(r["gold_rule_correct"] for r in rows)
print(f"written {n}; correct by reading {k} = {100 * k / n:.1f}% {[round(100 * x, 1) for x in wilson(k, n)]}; "
      f"by the gold rule {g} = {100 * g / n:.1f}% {[round(100 * x, 1) for x in wilson(g, n)]}")
for r in rows[:20]:
    print(f"- {r['judgement'].upper()}: {r['question']} -> {r['doc'].split(chr(10) + 'Source: ')[1][:160]} "
          f"({r['reason_a'][:120]})")
