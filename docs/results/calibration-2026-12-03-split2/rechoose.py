"""The trust threshold choice of `make calibrate` with the new sentence splitter (299055c), reading labels extended by
two readers' labels of the 40 accepted quotes whose text the splitter changed (correct only if both say so).

Inputs: the calibration run's verdicts as make calibrate assembles them (dumped by dump_cal.py: every answer, its
scores after re-scoring and the quote it would write), the committed labels and reading-unread/out-{A,B}.jsonl.
Writes calibration-reading-quote-split2.jsonl (old labels + new) and choice.json; prints the sweep rows near the
choice.

Usage: python rechoose.py VERDICTS.jsonl LABELS.json
"""
import json
import sys
from pathlib import Path

from bidirag import checks
from bidirag.config import load_config
from bidirag.evaluation.audit import two_readers
from bidirag.evaluation.calibrate import calibrate, choose, load_reading

here = Path(__file__).resolve().parent
root = here.parents[2]
old_file = root / "docs/results/quote-form-2026-12-03/calibration-reading-quote.jsonl"
key = {json.loads(x)["row"]: json.loads(x) for x in open(here / "reading-unread/key.jsonl")}
inp = {json.loads(x)["row"]: json.loads(x) for x in open(here / "reading-unread/input.jsonl")}
read = two_readers(here / "reading-unread")
assert set(read) == set(key)
new = [{"pool": "split2", "query_id": k["query_id"], "question": inp[row]["question"], "doc": k["doc"],
        "gold_answers": inp[row]["gold_answers"], **read[row]} for row, k in key.items()]
out_labels = here / "calibration-reading-quote-split2.jsonl"
with out_labels.open("w") as f:
    for line in open(old_file):
        f.write(line if line.endswith("\n") else line + "\n")
    for r in new:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(f"{len(new)} new labels, {sum(r['judgement'] == 'correct' for r in new)} correct")
verdicts = [json.loads(x) for x in open(sys.argv[1])]
labels = json.load(open(sys.argv[2]))
cfg = load_config(root / "configs/default.yaml")
th = checks.thresholds(cfg.acceptance)
res = calibrate(verdicts, labels, th, sweep="trust", reading=load_reading(out_labels))
choice = choose(res)
(here / "choice.json").write_text(json.dumps(choice, indent=1) + "\n")
for r in res["table"]:
    if 0.6 <= r["threshold"] <= 0.8:
        print(json.dumps(r))
print("choice", json.dumps(choice))
