"""Re-run the calibration assembly of runs/calibrate-split2 and dump every verdict with what it would write."""
import json, sys
from pathlib import Path
from bidirag.config import load_config
from bidirag.evaluation import harness
cfg = load_config("configs/default.yaml")
out = Path("runs/calibrate-split2")
design_files = ["docs/results/verifier-data/qwen-nli_train-seed7-selfcheck.answers.jsonl.gz"]
design = harness.design_verdicts(design_files)
def dump(cfg, verdicts, labels, out, reading):
    with open("/work/scratch/cal_verdicts.jsonl", "w") as f:
        for v in verdicts:
            f.write(json.dumps({k: v.get(k) for k in ("query_id", "text", "answer", "written", "scores")}, default=str) + "\n")
    json.dump(labels, open("/work/scratch/cal_labels.json", "w"))
    return {}
harness.calibrate_checks = dump
harness._calibration(cfg, out, [7, 8], ["naive"], None, None, design, design_files)
print("dumped")
