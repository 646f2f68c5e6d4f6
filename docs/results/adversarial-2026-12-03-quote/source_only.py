"""Adversarial run of the quote form: planted false claims counted on the whole written doc (question line included:
the conservative count the benchmark reports) and on its Source line only (the corpus sentence).

Usage: python source_only.py RUN_DIR   (RUN_DIR = the --out of `bidirag adversarial`)
"""
import json
import sys
from pathlib import Path

from bidirag.checks import written_claim
from bidirag.evaluation.adversarial import load_families, planted
from bidirag.evaluation.metrics import wilson
from bidirag.store import CORPUS, Store

run = Path(sys.argv[1])
_, items = load_families()
rows = [r for r in Store(str(run / "store"), dim=None).table(CORPUS).to_arrow()
        .select(["text", "query_id", "origin"]).to_pylist() if r["origin"] == "writeback"]
by_q = {}
for r in rows:
    by_q.setdefault(r["query_id"], []).append(r["text"])
out = {"design": [0, 0, 0], "heldout": [0, 0, 0]}
for it in items:
    docs = by_q.get(it["id"], [])
    s = out[it["split"]]
    s[0] += 1
    s[1] += any(planted(d, it["planted_if"]) for d in docs)
    s[2] += any(planted(written_claim(d), it["planted_if"]) for d in docs)
    for d in docs:
        print(json.dumps({"id": it["id"], "family": it["family"], "split": it["split"], "query": it["query"],
                          "doc": d, "planted_whole_doc": planted(d, it["planted_if"]),
                          "planted_source_line": planted(written_claim(d), it["planted_if"])}, ensure_ascii=False))
for split, (n, whole, src) in out.items():
    print(json.dumps({"split": split, "queries": n, "planted_whole_doc": whole, "ci_whole": wilson(whole, n),
                      "planted_source_line": src, "ci_source": wilson(src, n)}))
