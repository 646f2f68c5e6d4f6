"""Reading-audit rows on the DESIGN split (nli_train dev articles: never trained on by the trust model, never in the
evaluation): the generator's answers that pass every other default check (scores the rows lack are added first,
`training.add_scores`) with shipped trust >= 0.8. A third, larger article pool for choosing the trust threshold.
    python docs/results/sentence-grounding-2026-12-02/design_read_build.py OUTDIR"""
import json
import random
import sys
from pathlib import Path

from bidirag import checks
from bidirag.checks.trust import Trust, features
from bidirag.config import load_config
from bidirag.models import handlers
from bidirag.training.add_scores import REFUSED, add_scores
from bidirag.training.train_trust import squad_paragraphs
from bidirag.training.train_verifier import is_dev, read_rows

out = Path(sys.argv[1])
cfg = load_config("configs/default.yaml")
rows = [r for r in read_rows(["docs/results/verifier-data/qwen-nli_train-seed7-selfcheck-sg.answers.jsonl.gz"])
        if is_dev(r)]
missing = [c for c in cfg.acceptance.checks if c not in REFUSED and checks.get(c).needs_answer
           and any(c not in r["scores"] for r in rows)]
add_scores(rows, missing, cfg, handlers.nli(cfg.models.nli))
model = Trust.model(cfg.acceptance)
th = checks.thresholds(cfg.acceptance)
paras = squad_paragraphs()
keep = []
for r in rows:
    r["scores"]["trust"] = model.predict([features(r["question"], r["clean_text"], r["docs"], r["scores"],
                                                   r.get("confidence"))])[0]
    if r["scores"]["trust"] >= 0.8 and all(r["scores"].get(k, 1.0) >= t for k, t in th.items() if k != "trust"):
        keep.append(r)
random.Random(7).shuffle(keep)
key = [{"row": i, "query_id": r["query_id"], "question": r["question"], "gold_answers": r["gold"],
        "gold_paragraph": paras[r["gold_paragraph"]], "doc": r["clean_text"].strip(),
        "trust": round(r["scores"]["trust"], 4),
        "gold_rule_correct": bool(r["correct"]), "scores": r["scores"]} for i, r in enumerate(keep)]
(out / "key.jsonl").write_text("".join(json.dumps(k, ensure_ascii=False) + "\n" for k in key))
half = (len(key) + 1) // 2
for name, part in (("part1", key[:half]), ("part2", key[half:])):
    (out / f"{name}.jsonl").write_text("".join(json.dumps({f: k[f] for f in ("row", "question", "gold_answers",
                                                                             "gold_paragraph", "doc")},
                                                          ensure_ascii=False) + "\n" for k in part))
print(len(rows), "dev answers;", len(missing), "checks added", missing, ";", len(key),
      "to read (trust >= 0.8, passing)")
