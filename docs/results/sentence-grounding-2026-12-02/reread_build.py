"""One blind re-reading of every written doc a reader has judged on either split, under ONE protocol (two readers,
the same rubric, rows of both splits shuffled together, the split hidden): is the calibrate split easier, or did
its earlier single reader judge differently from the report audits' two readers?
    python docs/results/sentence-grounding-2026-12-02/reread_build.py OUTDIR"""
import json
import random
import sys
from pathlib import Path

from bidirag.evaluation import dataset as ds

R = Path("docs/results")
SOURCES = {"calibrate": [R / "calibration-reading-2026-12-02.jsonl"],
           "report": [R / "eval-2026-12-02-audit-judged.jsonl", R / "eval-2026-12-02-reading-audit-judged.jsonl",
                      R / "eval-2026-12-02-selfcheck-audit-judged.jsonl",
                      R / "eval-2026-12-02-fifth-seed42-audit-judged.jsonl"]}
out = Path(sys.argv[1])
arts, _ = ds.load(None)
byq = {q.qid: (q, a) for a in arts for q in a.questions}
rows, seen = [], set()
for split, files in SOURCES.items():
    for f in files:
        for r in map(json.loads, f.read_text().splitlines()):
            key = (r["query_id"], r["doc"].strip())
            if key in seen:
                continue
            seen.add(key)
            q, a = byq[r["query_id"]]
            rows.append({"split": split, "query_id": r["query_id"], "question": q.text, "gold_answers": list(q.answers),
                         "gold_paragraph": a.paragraphs[q.paragraph_index], "doc": r["doc"].strip()})
random.Random(6).shuffle(rows)
for i, r in enumerate(rows):
    r["row"] = i
(out / "key.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
half = (len(rows) + 1) // 2
for name, part in (("part1", rows[:half]), ("part2", rows[half:])):
    (out / f"{name}.jsonl").write_text("".join(json.dumps({k: r[k] for k in ("row", "question", "gold_answers",
                                                                              "gold_paragraph", "doc")},
                                                          ensure_ascii=False) + "\n" for r in part))
print(len(rows), "rows:", sum(r["split"] == "calibrate" for r in rows), "calibrate,",
      sum(r["split"] == "report" for r in rows), "report")
