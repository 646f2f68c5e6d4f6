"""Reading precision of the shipped trust model by threshold, on three article pools, all read under one protocol
(two readers, the same rubric; correct only if both say so):
  design    -- nli_train dev articles (never trained on, never evaluated): answers passing every other default check
               with trust >= 0.8, all read (docs/results/reread-2026-12-02/design-*)
  calibrate -- the evaluation's calibrate split (seeds 7, 8 naive answers of `make calibrate`), read answers
  report    -- the report split, seed 42 written docs of eval-2026-12-02-fifth-seed42 (trust >= 0.9; all read);
               REPORTED, never used for a choice
    python docs/results/sentence-grounding-2026-12-02/threshold_pools.py CAL_VERDICTS.jsonl..."""
import json
import sys
from pathlib import Path

from bidirag import checks
from bidirag.config import load_config
from bidirag.evaluation.harness import rescore_trust
from bidirag.evaluation.metrics import wilson

D = Path("docs/results/reread-2026-12-02")
cfg = load_config("configs/default.yaml")
th = {k: v for k, v in checks.thresholds(cfg.acceptance).items() if k != "trust"}
pools = {}
# design
key = [json.loads(x) for x in (D / "design-key.jsonl").read_text().splitlines()]
lab = {r["row"]: r["judgement"] == "correct" for r in map(json.loads, (D / "design-reading.jsonl").read_text()
                                                               .splitlines())}
pools["design"] = {"answers": 640, "rows": [(k["trust"], lab[k["row"]], k["gold_rule_correct"]) for k in key]}
# calibrate
V = [json.loads(x) for f in sys.argv[1:] for x in Path(f).read_text().splitlines()]
rescore_trust(cfg, V, Path("runs/calibrate/_seed_store"))
clab = {(r["query_id"], r["doc"]): r for r in map(json.loads, (D / "calibration-reading-2026-12-02-reread.jsonl")
                                                      .read_text().splitlines())}
gold = {}
for f in Path("runs/calibrate").glob("seed-*/examples.jsonl"):
    gold.update({e["query_id"]: e["answers"] for e in map(json.loads, f.read_text().splitlines())})
from bidirag.text import contains_answer  # noqa: E402

rows, unread = [], 0
for v in V:
    if not v.get("scores") or not v.get("answer"):
        continue
    if any(v["scores"].get(k, 1.0) < t for k, t in th.items()):
        continue
    r = clab.get((v["query_id"], (v.get("clean_text") or "").strip()))
    if r is None:
        unread += v["scores"]["trust"] >= 0.8
        continue
    rows.append((v["scores"]["trust"], r["judgement"] == "correct",
                 contains_answer(v["clean_text"], gold.get(v["query_id"], []))))
pools["calibrate"] = {"answers": sum(1 for v in V if v.get("answer")), "rows": rows, "unread_at_0.8": unread}
# report (seed 42, written = trust >= 0.9)
RUN = Path("runs/eval/seed-42/bidirectional/runs/epochs/epoch-1/verdicts.jsonl")
RV = {v["query_id"]: v for v in map(json.loads, RUN.read_text().splitlines())}
rl = [json.loads(x) for x in (D / "report-reading-2026-12-02-reread.jsonl").read_text().splitlines()]
rep = []
for r in rl:
    v = RV.get(r["query_id"])
    if v and v["status"] == "ok" and v["clean_text"].strip() == r["doc"]:
        rep.append((v["scores"]["trust"], r["judgement"] == "correct", None))
pools["report"] = {"answers": 200, "rows": rep}
out = {"model": "models/trust.json (shipped)", "pools": {}}
for name, p in pools.items():
    table = []
    for t in (0.8, 0.85, 0.9, 0.925, 0.95, 0.97):
        kept = [x for x in p["rows"] if x[0] >= t]
        k = sum(x[1] for x in kept)
        g = [x[2] for x in kept if x[2] is not None]
        table.append({"threshold": t, "read": len(kept), "accept_share": round(len(kept) / p["answers"], 4),
                      "reading_precision": round(k / len(kept), 4) if kept else None,
                      "reading_95": [round(x, 4) for x in wilson(k, len(kept))] if kept else None,
                      "gold_precision": round(sum(g) / len(g), 4) if g else None})
    out["pools"][name] = {"answers": p["answers"], "read": len(p["rows"]), "table": table,
                          **({"unread_at_0.8": p["unread_at_0.8"]} if "unread_at_0.8" in p else {})}
print(json.dumps(out, indent=1))
