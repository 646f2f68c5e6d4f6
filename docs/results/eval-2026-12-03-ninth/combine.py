"""All written docs of the ninth-session report run, judged: carried eighth-session labels plus the two readers' labels
of the docs the new splitter changed (correct only if both say so); precision per seed and pooled, Wilson 95%.

Usage: python combine.py   (after carry_and_prep.py RUNS OUT 42 43 44 and the readers' unread/out-{A,B}.jsonl)
"""
import json
from pathlib import Path

from bidirag.evaluation.audit import two_readers
from bidirag.evaluation.metrics import wilson

here = Path(__file__).resolve().parent
rows = [json.loads(x) for x in open(here / "carried.jsonl")]
key = {json.loads(x)["row"]: json.loads(x) for x in open(here / "unread/key.jsonl")}
read = two_readers(here / "unread")
assert set(read) == set(key)
for row, k in key.items():
    lab = read[row]
    rows.append({"seed": k["seed"], "query_id": k["query_id"], "text": k["text"],
                 "gold_rule_correct": k["gold_rule_correct"],
                 **{f: lab[f] for f in ("judgement", "reader_a", "reader_b", "reason_a", "reason_b")}})
with open(here.parent / "eval-2026-12-03-ninth-reading-judged.jsonl", "w") as f:
    for r in sorted(rows, key=lambda r: (r["seed"], r["query_id"])):
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
for name, part in [*((f"seed {s}", [r for r in rows if r["seed"] == s]) for s in (42, 43, 44)), ("pooled", rows)]:
    n, k, g = len(part), sum(r["judgement"] == "correct" for r in part), sum(r["gold_rule_correct"] for r in part)
    print(json.dumps({"part": name, "written": n, "reading_correct": k, "reading_pct": round(100 * k / n, 1),
                      "reading_ci": [round(100 * v, 1) for v in wilson(k, n)], "gold_rule_correct": g,
                      "gold_pct": round(100 * g / n, 1), "gold_ci": [round(100 * v, 1) for v in wilson(g, n)]}))
