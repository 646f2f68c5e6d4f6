"""Sentence form vs quote form on the design pool's read answers (trust >= 0.8; the same answers, two written forms).

Usage: python docs/results/quote-form-2026-12-03/compare.py > docs/results/quote-form-2026-12-03/compare.json
Reads: reread-2026-12-02/design-reading.jsonl (sentence form, two readers, trust by the current model),
quote-form-2026-12-03/design-quote-{input,reader-A,reader-B}.jsonl (quote form, two other readers),
verifier-data/...selfcheck.answers.jsonl.gz (the answers' retrieved docs, to score hedge and source).
A doc is correct only if both its readers say so.
"""
import gzip
import json
import math
from pathlib import Path

from bidirag.config import load_config
from bidirag.models import handlers
from bidirag.training.add_scores import add_scores

R = Path("docs/results")
Q = R / "quote-form-2026-12-03"
sent = [json.loads(x) for x in open(R / "reread-2026-12-02/design-reading.jsonl")]
inp = [json.loads(x) for x in open(Q / "design-quote-input.jsonl")]
ra = {json.loads(x)["row"]: json.loads(x)["judgement"] for x in open(Q / "design-quote-reader-A.jsonl")}
rb = {json.loads(x)["row"]: json.loads(x)["judgement"] for x in open(Q / "design-quote-reader-B.jsonl")}
quote_ok = {r["row"]: ra[r["row"]] == rb[r["row"]] == "correct" for r in inp}
ans = {}
for line in gzip.open(R / "verifier-data/qwen-nli_train-seed7-selfcheck.answers.jsonl.gz", "rt"):
    a = json.loads(line)
    ans.setdefault((a["query_id"], a["clean_text"]), a)
rows = [dict(ans[(s["query_id"], s["doc"])], scores=dict(ans[(s["query_id"], s["doc"])]["scores"])) for s in sent]
cfg = load_config("configs/default.yaml")
add_scores(rows, ["hedge", "source"], cfg, handlers.nli(cfg.models.nli))


def wilson(k, n, z=1.96):
    if not n:
        return None
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return [round(100 * (c - h), 1), round(100 * (c + h), 1)]


def mcnemar(b, c):
    n = b + c
    if not n:
        return 1.0
    k = min(b, c)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)


table = []
for hedge in (True, False):
    for src in (0.0, 0.5):
        for t in (0.8, 0.85, 0.9, 0.925, 0.95):
            idx = [i for i, s in enumerate(sent) if s["trust"] >= t and (not hedge or rows[i]["scores"]["hedge"] >= 1)
                   and rows[i]["scores"]["source"] >= src]
            ks = sum(sent[i]["judgement"] == "correct" for i in idx)
            kq = sum(quote_ok[i] for i in idx)
            b = sum(sent[i]["judgement"] == "correct" and not quote_ok[i] for i in idx)
            c = sum(quote_ok[i] and sent[i]["judgement"] != "correct" for i in idx)
            table.append({"hedge": hedge, "source_min": src, "trust_min": t, "n": len(idx),
                          "sentence_correct": ks, "sentence_pct": round(100 * ks / len(idx), 1), "sentence_ci": wilson(ks, len(idx)),
                          "quote_correct": kq, "quote_pct": round(100 * kq / len(idx), 1), "quote_ci": wilson(kq, len(idx)),
                          "only_sentence": b, "only_quote": c, "mcnemar_p": round(mcnemar(b, c), 5)})
same = sum(json.loads(open(Q / "design-quotes.jsonl").readlines()[i])["quote"] == rows[i]["source"] for i in range(len(rows)))
print(json.dumps({"pool": "design (dev articles of the trust model's training data; decision split)",
                  "answers_read": len(sent), "source_same_as_prototype": same, "table": table}, indent=1))
