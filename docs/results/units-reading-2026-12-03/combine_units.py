"""Two readers' judgements of distilled knowledge units (RUBRIC.md beside this file), combined: a unit is faithful
only if both readers say so, has its gold answer only if both say so. Prints faithfulness and gold-answer rates
with 95% Wilson intervals, the readers' agreement, and the gold rule (the unit contains a gold answer) beside them.

Usage: python combine_units.py FOLDER OUT.jsonl
FOLDER: input.jsonl (row, unit, question, gold_answers, source_paragraphs) and the readers' out-A.jsonl, out-B.jsonl.
"""
import json
import sys
from pathlib import Path

from bidirag.evaluation.metrics import wilson
from bidirag.text import contains_answer

JUDGEMENTS = ("faithful", "unfaithful", "garbled")
folder, out = Path(sys.argv[1]), Path(sys.argv[2])
rows = {r["row"]: r for r in map(json.loads, (folder / "input.jsonl").read_text().splitlines())}
a, b = ({r["row"]: r for r in map(json.loads, (folder / f).read_text().splitlines()) if r}
        for f in ("out-A.jsonl", "out-B.jsonl"))
if not (set(a) == set(b) == set(rows)):
    raise SystemExit(f"the readers did not read every row: {len(a)} / {len(b)} of {len(rows)}")
for r in (*a.values(), *b.values()):
    if r["judgement"] not in JUDGEMENTS:
        raise SystemExit(f"row {r['row']}: judgement {r['judgement']!r} not in {JUDGEMENTS}")
comb = []
for k, r in rows.items():
    ja, jb = a[k]["judgement"], b[k]["judgement"]
    comb.append({"row": k, "unit": r["unit"], "question": r["question"], "gold_answers": r["gold_answers"],
                 "judgement": "faithful" if ja == jb == "faithful" else (ja if ja != "faithful" else jb),
                 "reader_a": ja, "reader_b": jb, "has_gold": bool(a[k]["has_gold"]) and bool(b[k]["has_gold"]),
                 "gold_rule": contains_answer(r["unit"], r["gold_answers"] or []),
                 "reason_a": a[k].get("reason"), "reason_b": b[k].get("reason")})
out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in comb))
n = len(comb)


def line(name, k):
    lo, hi = wilson(k, n)
    return f"{name}: {k}/{n} = {k / n:.1%} [{lo:.1%}, {hi:.1%}]"


print(line("faithful (both readers)", sum(c["judgement"] == "faithful" for c in comb)))
print("  unfaithful", sum(c["judgement"] == "unfaithful" for c in comb), "garbled",
      sum(c["judgement"] == "garbled" for c in comb))
print(line("states its gold answer (both readers)", sum(c["has_gold"] for c in comb)))
print(line("contains a gold answer (gold rule)", sum(c["gold_rule"] for c in comb)))
print(f"readers agree on the judgement for {sum(c['reader_a'] == c['reader_b'] for c in comb)}/{n}")
