"""Exploratory (calibrate split, seed 7): does NLI against single retrieved sentences separate read-wrong free answers
better than the doc-level grounding score? Answers passing the other default checks with trust >= 0.5 and a reading
label (calibration-reading-2026-12-02.jsonl): 64, 9 read wrong. Run from the repo root after `make calibrate` has
built runs/calibrate/_seed_store:  python docs/results/extractive-form-2026-12-02/sentence_nli_probe.py
Printed 2026-12-02 (fifth session): AUC correct>wrong  doc grounding 0.614, sentence-level min 0.727, trust 0.731."""
import json
from pathlib import Path

from bidirag import checks
from bidirag.config import load_config
from bidirag.evaluation.harness import rescore_trust
from bidirag.models import handlers
from bidirag.stages.rag import clean_answer
from bidirag.store import CORPUS, Store
from bidirag.text import doc_sentences, split_sentences

HERE = Path(__file__).parent
cfg = load_config("configs/default.yaml")
V = [json.loads(x) for x in (HERE / "calibrate-seed7-naive-verdicts.jsonl").read_text().splitlines()]
store = Path("runs/calibrate/_seed_store")
rescore_trust(cfg, V, store)
texts = {r["doc_id"]: r["text"] for r in Store(store, dim=None).table(CORPUS).to_arrow()
         .select(["doc_id", "text"]).to_pylist()}
lab = {(r["query_id"], r["doc"].strip()): r["judgement"] == "correct" for r in
       map(json.loads, Path("docs/results/calibration-reading-2026-12-02.jsonl").read_text().splitlines())}
th = checks.thresholds(cfg.acceptance)
items = []
for v in V:
    if not v.get("scores") or not v.get("answer"):
        continue
    if any(v["scores"].get(c, 1.0) < t for c, t in th.items() if c != "trust") or v["scores"]["trust"] < 0.5:
        continue
    t = clean_answer(v["answer"])
    if (v["query_id"], t.strip()) in lab:
        items.append((v, t, [texts.get(d, "") for d in v["retrieved"]], lab[(v["query_id"], t.strip())]))
nli = handlers.nli(cfg.models.nli)
nli.premise_sentences = None          # premises are single sentences (and adjacent pairs) here
pairs, spans = [], []
for v, t, docs, ok in items:
    hs = split_sentences(t)
    ps = [s for d in docs for s in doc_sentences(d)]
    ps += [a + " " + b for a, b in zip(ps, ps[1:])]
    spans.append((len(pairs), len(hs), len(ps)))
    pairs += [(p, h) for h in hs for p in ps]
probs = nli.predict(pairs)


def auc(pos, neg):
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


y = [ok for *_, ok in items]
scores = {"doc grounding": [v["scores"]["grounding"] for v, *_ in items],
          "sentence-level min": [float(probs[s:s + nh * np_, 1].reshape(nh, np_).max(axis=1).min())
                                 for s, nh, np_ in spans],
          "trust": [v["scores"]["trust"] for v, *_ in items]}
for name, s in scores.items():
    print(name, "AUC correct>wrong", round(auc([a for a, b in zip(s, y) if b], [a for a, b in zip(s, y) if not b]), 3))
print(len(items), "answers,", len(items) - sum(y), "read wrong")
