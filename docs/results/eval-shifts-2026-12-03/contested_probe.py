"""Probe: for each written doc of a run, P(contradiction) and P(entail) of its answer against each retrieved doc that is
not the source's doc. Does contradiction from another retrieved doc separate wrong written docs from right ones?"""
import json, sys
import numpy as np
import lance
from bidirag.config import load_config
from bidirag.models import handlers
from bidirag.text import split_sentences

run, judged = sys.argv[1], sys.argv[2]
lab = {json.loads(x)["query_id"]: json.loads(x)["judgement"] for x in open(judged)}
cfg = load_config("/work/main/configs/default.yaml")
nli = handlers.nli(cfg.models.nli)
tbl = lance.dataset(f"{run}/_seed_store/corpus.lance").to_table(columns=["doc_id", "text"]).to_pylist()
text = {r["doc_id"]: r["text"] for r in tbl}
import ast
rows = []
for x in open(f"{run}/seed-42/bidirectional/runs/epochs/epoch-1/verdicts.jsonl"):
    v = json.loads(x)
    if v["status"] not in ("ok", "accepted", "written") and v["query_id"] not in lab:
        continue
    if v["query_id"] not in lab:
        continue
    ret = ast.literal_eval(v["retrieved"]) if isinstance(v["retrieved"], str) else v["retrieved"]
    src = v["source"]
    docs = [text.get(d, "") for d in ret]
    others = [d for d in docs if d and src not in d]
    sents = split_sentences(v["clean_text"])
    pairs = [(d, s) for d in others for s in sents]
    p = nli.predict(pairs) if pairs else np.zeros((0, 3))
    c = float(p[:, 0].max()) if len(p) else 0.0
    e = float(p[:, 1].max()) if len(p) else 0.0
    rows.append((lab[v["query_id"]], round(c, 3), round(e, 3), len(others), v["text"][:70]))
for r in sorted(rows, key=lambda r: -r[1]):
    print(r)
