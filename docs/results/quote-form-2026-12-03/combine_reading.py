"""Reading labels of the quote docs of both decision pools, for `make calibrate --reading`.

Usage: python combine_reading.py OUT.jsonl DESIGN_READING.jsonl DIR [DIR ...]
DIR: a reading folder of prep_calibrate_reading.py (input.jsonl, key.jsonl, out-A.jsonl, out-B.jsonl).
A doc is `correct` only if both readers say so; else the first non-correct judgement.
"""
import json
import sys
from pathlib import Path

out, design, dirs = sys.argv[1], sys.argv[2], [Path(d) for d in sys.argv[3:]]
rows = [json.loads(x) for x in open(design)]
for d in dirs:
    inp = {json.loads(x)["row"]: json.loads(x) for x in open(d / "input.jsonl")}
    key = {json.loads(x)["row"]: json.loads(x) for x in open(d / "key.jsonl")}
    a = {json.loads(x)["row"]: json.loads(x) for x in open(d / "out-A.jsonl")}
    b = {json.loads(x)["row"]: json.loads(x) for x in open(d / "out-B.jsonl")}
    assert set(a) == set(b) == set(inp), f"{d}: the readers' rows differ from the input's"
    for row, r in inp.items():
        ja, jb = a[row]["judgement"], b[row]["judgement"]
        j = "correct" if ja == jb == "correct" else (ja if ja != "correct" else jb)
        rows.append({"pool": "calibrate", "query_id": key[row]["query_id"], "question": r["question"], "doc": r["doc"],
                     "gold_answers": r["gold_answers"], "judgement": j, "reader_a": ja, "reader_b": jb,
                     "strict": bool(a[row].get("strict") or b[row].get("strict")),
                     "reason_a": a[row].get("reason"), "reason_b": b[row].get("reason"), "trust": key[row]["trust"],
                     "sentence_form": key[row]["sentence"]})
with open(out, "w") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(rows), "labels;", sum(r["judgement"] == "correct" for r in rows), "correct")
