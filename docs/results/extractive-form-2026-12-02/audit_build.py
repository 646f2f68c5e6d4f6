"""Reading-audit rows for the calibrate split: for every naive answer that passes all checks but trust (trust >= LOW)
and has an extractive doc, both forms (extractive doc, sentence answer). Rows whose (query_id, doc) already have a
label in LABELS are not asked again. Usage: python cal_audit_build.py RUN_DIR OUT.jsonl LABELS.jsonl [LOW]"""
import json, random, sys
from pathlib import Path
from bidirag import checks
from bidirag.config import load_config
from bidirag.evaluation import dataset as ds
from bidirag.evaluation.harness import rescore_trust, add_extractive
from bidirag.checks.answer_span import written_claim
from bidirag.stages.rag import clean_answer
from bidirag.text import contains_answer

run, outp, labels_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
low = float(sys.argv[4]) if len(sys.argv) > 4 else 0.5
known = {(r["query_id"], r["doc"].strip()) for r in map(json.loads, labels_path.read_text().splitlines())}
cfg = load_config("configs/default.yaml")
arts, _ = ds.load(None)
arts = ds.split(arts, "calibrate")
byq = {q.qid: (q, a) for a in arts for q in a.questions}
verdicts = []
for f in sorted(run.glob("seed-*/naive/runs/*/epoch-*/verdicts.jsonl")):
    verdicts += [json.loads(x) for x in f.read_text().splitlines()]
rescore_trust(cfg, verdicts, run / "_seed_store")
add_extractive(cfg, verdicts, run / "_seed_store")
th = checks.thresholds(cfg.acceptance)
rows, pairs, already = [], 0, 0
for v in verdicts:
    if not v.get("scores") or not v.get("answer") or v["query_id"] not in byq:
        continue
    if any(v["scores"].get(c, 1.0) < t for c, t in th.items() if c not in ("trust", "answer_span")):
        continue
    if v["scores"]["trust"] < low or not v.get("written"):
        continue
    pairs += 1
    q, a = byq[v["query_id"]]
    for form, doc in (("extractive", v["written"]), ("sentence", clean_answer(v["answer"]))):
        if (v["query_id"], doc.strip()) in known:
            already += 1
            continue
        rows.append({"query_id": v["query_id"], "question": q.text, "gold_answers": list(q.answers),
                     "gold_paragraph": a.paragraphs[q.paragraph_index], "doc": doc, "form": form,
                     "trust": v["scores"]["trust"],
                     "gold_rule_correct": contains_answer(written_claim(doc), list(q.answers))})
random.Random(0).shuffle(rows)
outp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
print(len(verdicts), "verdicts;", pairs, "answers with both forms at trust >=", low, ";", len(rows), "rows to read;",
      already, "already labelled")
