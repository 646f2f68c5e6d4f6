import gzip, json, sys, hashlib, math
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
D = "docs/results/verifier-data/"
rows = {}
for f in ["qwen-nli_train-seed7-0-800.answers.jsonl.gz", "qwen-nli_train-seed7-800-2200.answers.jsonl.gz"]:
    for l in gzip.open(D + f, "rt"):
        r = json.loads(l); rows[r["query_id"]] = r
lp = {}
for l in open(sys.argv[1] if len(sys.argv) > 1 else "/work/probe/lp-same.jsonl"):
    x = json.loads(l); lp[x["query_id"]] = x
def dev(title, share=0.2):
    return int(hashlib.sha256(title.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share
CHECKS = ["query_safety", "premise", "answerable", "content", "opinion", "relevance", "grounding", "attribution", "novelty"]
def lpfeat(x):
    t, l, a = x["tokens"], x["logprobs"], x["alt"]
    # content tokens: after the first '],' / ']' token
    k = next((i + 1 for i, s in enumerate(t) if "]" in s), 0)
    c = l[k:] or l
    marg = [li - (ai if ai is not None else -20) for li, ai in zip(l[k:], a[k:])] or [0]
    return {"lp_mean": float(np.mean(c)), "lp_min": float(np.min(c)), "lp_sum": float(np.sum(c)),
            "lp_first": c[0], "lp_cite": l[0], "margin_min": float(np.min(marg)), "margin_mean": float(np.mean(marg)),
            "ntok": len(c), "lp_low_share": float(np.mean([v < -1.0 for v in c])),
            "lp_mean3low": float(np.mean(sorted(c)[:3]))}
keys = [q for q in lp if q in rows]
feats = {q: lpfeat(lp[q]) for q in keys}
y = np.array([rows[q]["correct"] for q in keys])
isdev = np.array([dev(rows[q]["gold_paragraph"].split(":", 1)[1].rsplit("#", 1)[0]) for q in keys])
print(f"n={len(keys)} correct={y.mean():.3f} dev={isdev.sum()}")
for f in feats[keys[0]]:
    v = np.array([feats[q][f] for q in keys])
    print(f"{f:14s} AUC all {roc_auc_score(y, v):.3f}")
for c in ["grounding", "relevance", "content", "novelty"]:
    v = np.array([rows[q]["scores"][c] for q in keys]); print(f"{c:14s} AUC all {roc_auc_score(y, v):.3f}")
def mat(fs):
    return np.array([[rows[q]["scores"].get(c, 1.0) for c in CHECKS if c in fs] + [feats[q][f] for f in fs if f in feats[q]] for q in keys])
def evalset(name, fs):
    X = mat(fs); m = LogisticRegression(C=1.0, max_iter=2000).fit(X[~isdev], y[~isdev])
    p = m.predict_proba(X[isdev])[:, 1]; yd = y[isdev]
    o = np.argsort(-p); out = []
    for frac in (0.1, 0.2, 0.3, 0.5):
        k = max(1, int(frac * len(o))); out.append(f"top{int(frac*100)}% {yd[o[:k]].mean():.3f}")
    print(f"{name:28s} dev AUC {roc_auc_score(yd, p):.3f} ", " ".join(out))
evalset("checks", CHECKS)
evalset("lp only", ["lp_mean", "lp_min", "lp_first", "lp_cite", "margin_min", "margin_mean", "ntok", "lp_low_share", "lp_mean3low"])
evalset("checks+lp", CHECKS + ["lp_mean", "lp_min", "lp_first", "lp_cite", "margin_min", "margin_mean", "ntok", "lp_low_share", "lp_mean3low"])
