"""Two readers' judgements of distilled knowledge units (RUBRIC.md beside this file), combined: a unit is faithful
only if both readers say so, has its gold answer only if both say so. Prints faithfulness and gold-answer rates
with 95% Wilson intervals, the readers' agreement, and the gold rule (the unit contains a gold answer) beside them.

Usage: python combine_units.py FOLDER OUT.jsonl
FOLDER: input.jsonl (row, unit, question, gold_answers, source_paragraphs) and the readers' out-A.jsonl, out-B.jsonl.
"""
import json
import sys
from pathlib import Path

from bidirag.evaluation.audit import two_readers
from bidirag.evaluation.metrics import wilson
from bidirag.text import contains_answer

JUDGEMENTS = ("faithful", "unfaithful", "garbled")
folder, out = Path(sys.argv[1]), Path(sys.argv[2])
rows = {r["row"]: r for r in map(json.loads, (folder / "input.jsonl").read_text().splitlines())}
read = two_readers(folder, JUDGEMENTS)          # faithful only if both say so
if set(read) != set(rows):
    raise SystemExit(f"the readers did not read every row: {len(read)} of {len(rows)}")
gold = [{r["row"]: bool(r["has_gold"]) for r in map(json.loads, (folder / f).read_text().splitlines()) if r}
        for f in ("out-A.jsonl", "out-B.jsonl")]
comb = []
for k, r in rows.items():
    j = read[k]
    comb.append({"row": k, "unit": r["unit"], "question": r["question"], "gold_answers": r["gold_answers"],
                 "judgement": j["judgement"], "reader_a": j["reader_a"], "reader_b": j["reader_b"],
                 "has_gold": gold[0][k] and gold[1][k],
                 "gold_rule": contains_answer(r["unit"], r["gold_answers"] or []),
                 "reason_a": j["reason_a"], "reason_b": j["reason_b"]})
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
