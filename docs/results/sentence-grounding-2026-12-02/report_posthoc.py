"""REPORT split, seed 42 -- not used to choose anything. The bidirectional write-back epoch of
eval-2026-12-02-fifth-seed42 (commit e90cf7b, default config then) wrote 34 docs, every one read by two readers
(eval-2026-12-02-fifth-seed42-audit-judged.jsonl). Which of them would a sentence_grounding gate keep? Epoch-1
answers do not depend on the acceptance settings (greedy decoding, the same prompts; dedup removed none that
epoch), and a gate only removes writes, so the kept set is exactly what the pipeline with the gate writes in that
epoch. Thresholds printed as a table for the record; the one used is chosen on the calibrate split.
    python docs/results/sentence-grounding-2026-12-02/report_posthoc.py"""
import json
from pathlib import Path

from bidirag.config import load_config
from bidirag.evaluation.harness import add_missing_scores
from bidirag.evaluation.metrics import wilson

V = [json.loads(x) for x in Path("runs/eval/seed-42/bidirectional/runs/epochs/epoch-1/verdicts.jsonl")
     .read_text().splitlines()]
audit = {a["query_id"]: a for a in map(json.loads, Path("docs/results/eval-2026-12-02-fifth-seed42-audit-judged.jsonl")
                                        .read_text().splitlines())}
cfg = load_config("configs/default.yaml")
add_missing_scores(cfg, V, Path("runs/eval/_seed_store"))
ok = [v for v in V if v["status"] == "ok"]
assert len(ok) == 34 and all(v["query_id"] in audit for v in ok)
rows = [{"query_id": v["query_id"], "question": v["text"], "doc": v["clean_text"],
         "sentence_grounding": v["scores"]["sentence_grounding"], "grounding": v["scores"]["grounding"],
         "trust": v["scores"]["trust"], "reading": audit[v["query_id"]]["judgement"],
         "gold_rule": audit[v["query_id"]]["gold_rule_correct"]} for v in ok]
rows.sort(key=lambda r: r["sentence_grounding"])
for r in rows:
    print(f"{r['sentence_grounding']:.3f} {r['reading']:>13} gold={int(r['gold_rule'])} | {r['question'][:60]} -> "
          f"{r['doc'][:70]}")
table = []
for t in [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]:
    kept = [r for r in rows if r["sentence_grounding"] >= t]
    k_read = sum(r["reading"] == "correct" for r in kept)
    k_gold = sum(r["gold_rule"] for r in kept)
    table.append({"threshold": t, "written": len(kept), "write_share": round(len(kept) / 200, 3),
                  "reading_correct": k_read, "reading_precision": round(k_read / len(kept), 4) if kept else None,
                  "reading_95": [round(x, 4) for x in wilson(k_read, len(kept))] if kept else None,
                  "gold_correct": k_gold, "gold_precision": round(k_gold / len(kept), 4) if kept else None,
                  "gold_95": [round(x, 4) for x in wilson(k_gold, len(kept))] if kept else None})
print(json.dumps(table, indent=0))
out = Path(__file__).with_name("report-posthoc.json")
out.write_text(json.dumps({"split": "report (seed 42); not used for any choice", "source_run": "e90cf7b eval seed 42",
                           "writeback_queries": 200, "rows": rows, "table": table}, indent=1) + "\n")
