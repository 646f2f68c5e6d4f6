r"""CALIBRATE split: which trust model to ship, judged by the reading labels of calibrate-split answers (the only
labels that see a right answer with a wrong detail). For each model: its trust on the naive verdicts (every other
check's score kept), AUC of trust among the read answers that pass every other check, and what `make calibrate`'s
rule (`calibrate.choose`: lowest threshold with >= 90% precision by the gold rule and by reading, >= 10% written)
picks. sentence_grounding scores are added where the verdicts lack them (`harness.add_missing_scores`).
    [READING=labels.jsonl] python docs/results/sentence-grounding-2026-12-02/cal_compare.py \
        VERDICTS.jsonl... -- MODEL.json...
"""
import json
import os
import sys
from pathlib import Path

from bidirag import checks
from bidirag.checks.trust import load_model
from bidirag.config import load_config
from bidirag.evaluation.calibrate import calibrate, choose, load_reading
from bidirag.evaluation.harness import add_missing_scores, rescore_trust

args = sys.argv[1:]
vfiles, models = args[:args.index("--")], args[args.index("--") + 1:]
cfg = load_config("configs/default.yaml")
V = [json.loads(x) for f in vfiles for x in Path(f).read_text().splitlines()]
labels = {}
for f in Path("runs/calibrate").glob("seed-*/examples.jsonl"):
    labels.update({e["query_id"]: e["answers"] for e in map(json.loads, f.read_text().splitlines())})
reading = load_reading(os.environ.get("READING", "docs/results/calibration-reading-2026-12-02.jsonl"))
add_missing_scores(cfg, V, Path("runs/calibrate/_seed_store"))
th = checks.thresholds(cfg.acceptance)


def auc(pos, neg):
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / max(1, len(pos) * len(neg))


out = {"split": "calibrate", "verdicts": vfiles, "answers": sum(1 for v in V if v.get("answer")), "models": {}}
for m in models:
    load_model.cache_clear()
    c = load_config("configs/default.yaml", overrides=[f"acceptance.trust_model={m}"])
    rescore_trust(c, V, Path("runs/calibrate/_seed_store"))
    read = []
    for v in V:
        if not v.get("scores") or not v.get("answer"):
            continue
        if any(v["scores"].get(k, 1.0) < t for k, t in th.items() if k != "trust"):
            continue
        lab = reading.get((v["query_id"], (v.get("clean_text") or "").strip()))
        if lab is not None:
            read.append((v["scores"]["trust"], lab))
    cal = calibrate(V, labels, th, sweep="trust", reading=reading)
    ch = choose(cal)
    out["models"][m] = {"read_passing_other_checks": len(read), "read_wrong": sum(not b for _, b in read),
                        "auc_reading": round(auc([t for t, b in read if b], [t for t, b in read if not b]), 4),
                        "choice": {k: ch.get(k) for k in ("threshold", "target_met", "accepted", "accept_rate",
                                                          "precision", "read", "reading_precision",
                                                          "reading_precision_95")},
                        "table": [r for r in cal["table"] if r["threshold"] in (0.5, 0.7, 0.8, 0.85, 0.9, 0.95)]}
print(json.dumps(out, indent=1))
