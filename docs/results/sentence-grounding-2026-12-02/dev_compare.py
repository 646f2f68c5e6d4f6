"""Design split (nli_train dev articles, gold-rule labels): does the trust model with check:sentence_grounding rank
the generator's answers better than the shipped one? Paired bootstrap over dev answers (2000 resamples, seed 0).
    python docs/results/sentence-grounding-2026-12-02/dev_compare.py OLD.json NEW.json DATA.answers.jsonl.gz"""
import json
import sys

import numpy as np

from bidirag.checks.trust import TrustModel, features
from bidirag.training.train_verifier import auc, is_dev, precision_at, read_rows

old, new = (TrustModel(json.load(open(p))) for p in sys.argv[1:3])
rows = [r for r in read_rows(sys.argv[3:]) if is_dev(r)]
f = [features(r["question"], r["clean_text"], r["docs"], r["scores"], r.get("confidence")) for r in rows]
y = np.array([bool(r["correct"]) for r in rows])
so, sn = np.array(old.predict(f)), np.array(new.predict(f))
sg = np.array([r["scores"]["sentence_grounding"] for r in rows])
gr = np.array([r["scores"]["grounding"] for r in rows])
rng = np.random.default_rng(0)
d = []
for _ in range(2000):
    i = rng.integers(0, len(y), len(y))
    d.append(auc(y[i], sn[i]) - auc(y[i], so[i]))
out = {"split": "design (nli_train dev articles; never the evaluation's)", "dev_answers": len(y),
       "correct_share": round(float(y.mean()), 4),
       "auc": {"grounding": round(auc(y, gr), 4), "sentence_grounding": round(auc(y, sg), 4),
               "trust_shipped": round(auc(y, so), 4), "trust_with_sentence_grounding": round(auc(y, sn), 4)},
       "auc_gain_95": [round(float(np.percentile(d, 2.5)), 4), round(float(np.percentile(d, 97.5)), 4)],
       "precision_top": {name: {f"{int(100 * q)}%": round(precision_at(y, s, q), 4) for q in (0.1, 0.2, 0.3, 0.5)}
                         for name, s in (("shipped", so), ("with_sentence_grounding", sn))}}
print(json.dumps(out, indent=1))
