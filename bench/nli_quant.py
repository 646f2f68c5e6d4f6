"""NLI speed and accuracy, fp32 vs dynamic int8 (`models.nli.quantize`), on held-out QA-derived pairs.

`python -m bench.nli_quant [--pairs 600]` prints one JSON line per variant: pairs/s at the configured
batch size and accuracy / macro-F1 on the rag_eval articles' QA-derived pairs (never trained on).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from bidirag.models.nli import NLIModel
from bidirag.paths import shipped_nli_dir
from bidirag.training.nli_data import training_set
from bidirag.training.train_nli import scores


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pairs", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args(argv)
    pairs = training_set(seed=13)[1]["qa_eval_articles"][:args.pairs]
    y = np.array([p.label for p in pairs])
    out = []
    for q in ("none", "int8"):
        m = NLIModel(shipped_nli_dir(), batch_size=args.batch_size, quantize=q)
        m.setup()
        m.predict([(p.premise, p.hypothesis) for p in pairs[:64]])       # warm
        t = time.perf_counter()
        probs = m.predict([(p.premise, p.hypothesis) for p in pairs])
        dt = time.perf_counter() - t
        res = {"quantize": q, "pairs": len(pairs), "pairs_per_second": round(len(pairs) / dt, 1),
               **scores(y, probs.argmax(1))}
        out.append(res)
        print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
