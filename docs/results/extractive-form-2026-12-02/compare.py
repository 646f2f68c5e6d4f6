"""Calibrate split, seed(s) in RUN_DIR: accepted count, gold-rule and reading precision per trust threshold, for
(a) sentence form, old default checks (no answer_span); (b) sentence form + answer_span; (c) extractive form.
Usage: python cal_compare.py RUN_DIR SENT_LABELS.jsonl [EXTR_LABELS.jsonl]"""
import json, sys
from pathlib import Path
from bidirag import checks
from bidirag.config import load_config
from bidirag.evaluation.harness import rescore_trust, add_extractive
from bidirag.evaluation.metrics import wilson
from bidirag.checks.answer_span import written_claim
from bidirag.stages.rag import clean_answer
from bidirag.text import contains_answer

run = Path(sys.argv[1])
lab = {}
for p in sys.argv[2:]:
    for r in map(json.loads, Path(p).read_text().splitlines()):
        lab[(r["query_id"], r["doc"].strip())] = r["judgement"] == "correct"
cfg = load_config("configs/default.yaml")
verdicts = []
for f in sorted(run.glob("seed-*/naive/runs/*/epoch-*/verdicts.jsonl")):
    verdicts += [json.loads(x) for x in f.read_text().splitlines()]
gold = {}
for f in run.glob("seed-*/examples.jsonl"):
    gold.update({json.loads(x)["query_id"]: json.loads(x)["answers"] for x in f.read_text().splitlines()})
rescore_trust(cfg, verdicts, run / "_seed_store")
add_extractive(cfg, verdicts, run / "_seed_store")
th = checks.thresholds(cfg.acceptance)
rows = [v for v in verdicts if v.get("scores") and v.get("answer")]
n = len(rows)
out = {"answers": n, "variants": {}}
for name, need_span, extr in (("sentence, 12 checks", False, False), ("sentence + answer_span", True, False),
                              ("extractive (13 checks)", True, True)):
    table = []
    for t in (0.5, 0.6, 0.7, 0.75, 0.8, 0.825, 0.85, 0.875, 0.9, 0.925, 0.95):
        acc = [v for v in rows if all(v["scores"].get(c, 1.0) >= x for c, x in th.items()
                                      if c not in ("trust", "answer_span")) and v["scores"]["trust"] >= t
               and (not need_span or v.get("written"))]
        docs = [(v["query_id"], v["written"] if extr else clean_answer(v["answer"])) for v in acc]
        g = sum(contains_answer(written_claim(d), gold[q]) for q, d in docs)
        rd = [lab[(q, d.strip())] for q, d in docs if (q, d.strip()) in lab]
        table.append({"trust": t, "accepted": len(acc), "accept_rate": round(len(acc) / n, 4), "gold": g,
                      "gold_prec": round(g / len(acc), 4) if acc else None, "read": len(rd),
                      "read_ok": sum(rd), "read_prec": round(sum(rd) / len(rd), 4) if rd else None,
                      "read_95": [round(x, 4) for x in wilson(sum(rd), len(rd))] if rd else None})
    out["variants"][name] = table
print(json.dumps(out, indent=1))
