"""Every doc the bidirectional system wrote in an eval run on a SQuAD-format file, as reader input: shuffled, no
scores (the seventh session's prep_reading.py, for `--dataset` runs).

Usage: python prep_reading.py RUN_DIR DATASET.json|- OUT_DIR SEED [SEED ...]
Writes OUT_DIR/input.jsonl (row, question, gold_answers, gold_paragraph, doc) and OUT_DIR/key.jsonl (row, seed,
query_id, gold_rule_correct).
"""
import json
import random
import sys
from pathlib import Path

from bidirag.checks.source import quote_doc
from bidirag.evaluation.dataset import load

runs, dataset, out, seeds = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4:]
dataset = None if dataset == "-" else dataset   # "-": the default rag_eval articles
out.mkdir(parents=True, exist_ok=True)
arts, _ = load(dataset)
by_id = {q.qid: (q, a) for a in arts for q in a.questions}
rows = []
for seed in seeds:
    res = json.loads((runs / f"seed-{seed}" / "bidirectional.result.json").read_text())
    res = res.get("result", res)
    for w in res["written"]:
        q, a = by_id[w["query_id"]]
        rows.append({"seed": seed, "query_id": w["query_id"], "question": q.text, "gold_answers": list(q.answers),
                     "gold_paragraph": a.paragraphs[q.paragraph_index],
                     # a written quote is stored as the source sentence alone, the question indexing it: the reader
                     # sees both, as the rubric's two-line layout
                     "doc": w["text"] if w["text"].startswith("Question:") else quote_doc(q.text, w["text"]),
                     "gold_rule_correct": bool(w["correct"])})
random.Random(int(seeds[0])).shuffle(rows)
with (out / "input.jsonl").open("w") as fi, (out / "key.jsonl").open("w") as fk:
    for i, r in enumerate(rows):
        row = f"{'+'.join(seeds)}-{i}"
        fi.write(json.dumps({"row": row, **{k: r[k] for k in ("question", "gold_answers", "gold_paragraph", "doc")}},
                            ensure_ascii=False) + "\n")
        fk.write(json.dumps({"row": row, **{k: r[k] for k in ("seed", "query_id", "gold_rule_correct")}}) + "\n")
print(len(rows), "written docs to read")
