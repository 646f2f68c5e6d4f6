"""Report-split run with the new sentence splitter (299055c): carry the eighth session's two-reader labels to every
written doc whose (seed, query, text) is unchanged; the rest go to two readers (prep_reading layout).

Usage: python carry_and_prep.py RUNS_DIR OUT_DIR SEED [SEED ...]
Writes OUT_DIR/carried.jsonl and OUT_DIR/unread/{input,key}.jsonl.
"""
import json
import sys
from pathlib import Path

from bidirag.checks.source import quote_doc
from bidirag.evaluation.dataset import load

runs, out, seeds = Path(sys.argv[1]), Path(sys.argv[2]), [int(s) for s in sys.argv[3:]]
old = {(r["seed"], r["query_id"], r["text"]): r for r in map(json.loads, open(
    Path(__file__).resolve().parent.parent / "eval-2026-12-03-eighth-reading-judged.jsonl"))}
arts, _ = load(None)
by_id = {q.qid: (q, a) for a in arts for q in a.questions}
carried, unread = [], []
for seed in seeds:
    res = json.loads((runs / f"seed-{seed}" / "bidirectional.result.json").read_text())
    for w in res.get("result", res)["written"]:
        k = (seed, w["query_id"], w["text"])
        if k in old:
            carried.append({**old[k], "gold_rule_correct": bool(w["correct"])})
        else:
            q, a = by_id[w["query_id"]]
            unread.append({"seed": seed, "query_id": w["query_id"], "question": q.text, "gold_answers": list(q.answers),
                           "gold_paragraph": a.paragraphs[q.paragraph_index], "doc": quote_doc(q.text, w["text"]),
                           "text": w["text"], "gold_rule_correct": bool(w["correct"])})
(out / "unread").mkdir(parents=True, exist_ok=True)
with (out / "carried.jsonl").open("w") as f:
    for r in carried:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
with (out / "unread" / "input.jsonl").open("w") as fi, (out / "unread" / "key.jsonl").open("w") as fk:
    for i, r in enumerate(unread):
        row = f"n{r['seed']}-{i}"
        fi.write(json.dumps({"row": row, **{k: r[k] for k in ("question", "gold_answers", "gold_paragraph", "doc")}},
                            ensure_ascii=False) + "\n")
        fk.write(json.dumps({"row": row, **{k: r[k] for k in ("seed", "query_id", "text", "gold_rule_correct")}},
                            ensure_ascii=False) + "\n")
print(len(carried), "labels carried;", len(unread), "written docs to read")
