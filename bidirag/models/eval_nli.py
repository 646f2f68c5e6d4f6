"""Measure an NLI cross-encoder on the held-out sets and write metrics.json (+ the model card table).

Sets: VitaminC held-out pages (2,500 fixed pairs), QA-derived pairs from the `rag_eval` SQuAD articles
(disjoint from training), bigbench presuppositions_as_nli (all 735). Also: mean P(entail) of entailed vs
contradicted QA statements, and pairs/s at batch 32 on this CPU.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from bidirag.models.nli import NLIModel
from bidirag.models.nli_data import CONTRA, ENTAIL, training_set
from bidirag.models.train_nli import scores


def evaluate(model_dir: Path, out: Path | None = None, seed: int = 13) -> dict:
    model = NLIModel(model_dir, batch_size=32)
    model.setup()   # verifies the label order on known pairs
    _, evals = training_set(seed=seed)
    metrics: dict = {"model": str(model_dir), "label_order_verified": True, "sets": {}}
    for name, pairs in evals.items():
        t = time.perf_counter()
        probs = model.predict([(p.premise, p.hypothesis) for p in pairs])
        dt = time.perf_counter() - t
        y = np.array([p.label for p in pairs])
        metrics["sets"][name] = {**scores(y, probs.argmax(1)), "seconds": round(dt, 1)}
        if name == "qa_eval_articles":
            metrics["p_entail_separation"] = {
                "entailed_mean": round(float(probs[y == ENTAIL, 1].mean()), 4),
                "contradicted_mean": round(float(probs[y == CONTRA, 1].mean()), 4),
                "n_entailed": int((y == ENTAIL).sum()), "n_contradicted": int((y == CONTRA).sum()),
            }
    bench = [(p.premise, p.hypothesis) for p in evals["qa_eval_articles"][:512]]
    t = time.perf_counter()
    model.predict(bench)
    metrics["pairs_per_second_batch32"] = round(len(bench) / (time.perf_counter() - t), 1)
    metrics["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    out = out or Path(model_dir) / "metrics.json"
    out.write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics
