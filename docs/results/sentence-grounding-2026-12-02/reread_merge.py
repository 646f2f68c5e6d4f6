"""Merge the blind re-reading (two readers per row, rows of both splits shuffled together): per split, precision
when both readers say correct (the label), when either does (lenient), reader agreement, and agreement with the
earlier labels; writes the merged labels per split.
    python docs/results/sentence-grounding-2026-12-02/reread_merge.py AUDIT_DIR OUT_DIR"""
import json
import sys
from pathlib import Path

from bidirag.evaluation.metrics import wilson

audit, out = Path(sys.argv[1]), Path(sys.argv[2])
key = {r["row"]: r for r in map(json.loads, (audit / "key.jsonl").read_text().splitlines())}
reads: dict[int, dict] = {}
for part in ("part1", "part2"):
    for reader in ("A", "B"):
        for r in map(json.loads, (audit / f"{part}-{reader}.jsonl").read_text().splitlines()):
            reads.setdefault(r["row"], {})[reader] = r
assert set(reads) == set(key) and all(len(v) == 2 for v in reads.values()), "every row needs both readings"
R = Path("docs/results")
old = {}
for f in [R / "calibration-reading-2026-12-02.jsonl", R / "eval-2026-12-02-audit-judged.jsonl",
          R / "eval-2026-12-02-reading-audit-judged.jsonl", R / "eval-2026-12-02-selfcheck-audit-judged.jsonl",
          R / "eval-2026-12-02-fifth-seed42-audit-judged.jsonl"]:
    for r in map(json.loads, f.read_text().splitlines()):
        old.setdefault((r["query_id"], r["doc"].strip()), []).append(r["judgement"])
summary = {"protocol": "blind re-reading: rows of both splits shuffled together, split hidden; two readers per row "
                       "(separate helpers, same rubric reading-rubric.md, gold paragraph only); label correct only "
                       "if both say correct, else wrong if either says wrong, else not_an_answer", "splits": {}}
for split in ("calibrate", "report"):
    rows = []
    for i, k in key.items():
        if k["split"] != split:
            continue
        a, b = reads[i]["A"], reads[i]["B"]
        js = {a["judgement"], b["judgement"]}
        label = "correct" if js == {"correct"} else "wrong" if "wrong" in js else "not_an_answer"
        prev = old.get((k["query_id"], k["doc"]), [])
        rows.append({"query_id": k["query_id"], "question": k["question"], "doc": k["doc"],
                     "gold_answers": k["gold_answers"], "judgement": label, "reader_a": a["judgement"],
                     "reader_b": b["judgement"], "strict": bool(a.get("strict") or b.get("strict")),
                     "reason": a["reason"] if a["judgement"] != "correct" or label == "correct" else b["reason"],
                     "reason_b": b["reason"], "earlier": prev})
    n = len(rows)
    both = sum(r["judgement"] == "correct" for r in rows)
    either = sum("correct" in (r["reader_a"], r["reader_b"]) for r in rows)
    agree = sum((r["reader_a"] == "correct") == (r["reader_b"] == "correct") for r in rows)
    prev_ok = sum(all(j == "correct" for j in r["earlier"]) for r in rows)
    same_as_before = sum((r["judgement"] == "correct") == all(j == "correct" for j in r["earlier"]) for r in rows)
    summary["splits"][split] = {
        "docs": n, "correct_both": both, "precision_both": round(both / n, 4),
        "precision_both_95": [round(x, 4) for x in wilson(both, n)],
        "correct_either": either, "precision_either": round(either / n, 4),
        "precision_either_95": [round(x, 4) for x in wilson(either, n)],
        "reader_agreement": round(agree / n, 4), "earlier_labels_correct": prev_ok,
        "earlier_precision": round(prev_ok / n, 4), "agreement_with_earlier": round(same_as_before / n, 4)}
    name = f"{'calibration' if split == 'calibrate' else 'report'}-reading-2026-12-02-reread.jsonl"
    (out / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
print(json.dumps(summary, indent=1))
(out / "reread-summary.json").write_text(json.dumps(summary, indent=1) + "\n")
