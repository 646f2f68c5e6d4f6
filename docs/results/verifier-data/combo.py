import gzip, json, hashlib, sys
import numpy as np
sys.path.insert(0, "/work/main")
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score
import lexfeat, analyze_lp as A
rows = {r["query_id"]: r for r in lexfeat.rows}
LEX = {r["query_id"]: f for r, f in zip(lexfeat.rows, lexfeat.F)}
CH = A.CHECKS
def dev(r):
    t = r["gold_paragraph"].split(":", 1)[1].rsplit("#", 1)[0]
    return int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < 0.2
def run(keys, name, fn, model="lr"):
    X = np.array([fn(q) for q in keys]); y = np.array([rows[q]["correct"] for q in keys]); d = np.array([dev(rows[q]) for q in keys])
    m = (LogisticRegression(C=1.0, max_iter=5000) if model == "lr" else GradientBoostingClassifier(max_depth=2, n_estimators=150, learning_rate=0.05)).fit(X[~d], y[~d])
    p = m.predict_proba(X[d])[:, 1]; yd = y[d]; o = np.argsort(-p)
    s = " ".join(f"top{int(f*100)}% {yd[o[:max(1,int(f*len(o)))]].mean():.3f}" for f in (0.1, 0.2, 0.3, 0.5))
    print(f"{name:30s} n={len(keys)} dev={d.sum()} AUC {roc_auc_score(yd, p):.3f} {s}")
allk = list(rows)
chk = lambda q: [rows[q]["scores"][c] for c in CH]
lex = lambda q: list(LEX[q].values())
run(allk, "checks", chk)
run(allk, "lex", lex)
run(allk, "checks+lex", lambda q: chk(q) + lex(q))
run(allk, "checks+lex gbm", lambda q: chk(q) + lex(q), "gbm")
lpk = [q for q in A.keys]
lpf = lambda q: list(A.feats[q].values())
run(lpk, "checks+lex (lp subset)", lambda q: chk(q) + lex(q))
run(lpk, "checks+lex+lp", lambda q: chk(q) + lex(q) + lpf(q))
run(lpk, "checks+lex+lp gbm", lambda q: chk(q) + lex(q) + lpf(q), "gbm")
