import sys, json, numpy as np
sys.path.insert(0, "/work/main")
from bidirag.training.train_trust import read_rows, feature_rows, fit_logistic, bootstrap_auc
from bidirag.training.train_verifier import is_dev, auc, precision_at
from bidirag.text import answer_agreement
rows = read_rows(["/work/main/docs/results/verifier-data/qwen-nli_train-seed7-selfcheck.answers.jsonl.gz"])
S = {json.loads(l)["query_id"]: json.loads(l)["short"] for l in open("sys.argv[1] if len(sys.argv) > 1 else "short-all.jsonl"")}
rows = [r for r in rows if r["query_id"] in S]
print(len(rows), "rows with short answers")
y = np.array([bool(r["correct"]) for r in rows], float)
dev = np.array([is_dev(r) for r in rows])
names, x = feature_rows(rows, ("align", "check"))
j = np.array([r["confidence"]["judge"] for r in rows])[:, None]
A = [answer_agreement(r["question"], S[r["query_id"]], r["clean_text"]) for r in rows]
xa = np.array([[a["agree"], a["exact"]] for a in A])
def run(X, label):
    mu, sd = X[~dev].mean(0), X[~dev].std(0); sd[sd < 1e-9] = 1
    Z = (X - mu) / sd
    c, b = fit_logistic(Z[~dev], y[~dev]); p = 1 / (1 + np.exp(-(Z[dev] @ c + b)))
    lo, hi = bootstrap_auc(y[dev], p, 1000)
    print(f"{label:26s} dev AUC {auc(y[dev], p):.3f} [{lo:.3f},{hi:.3f}] prec top 5/10/15/20/30%",
          [round(precision_at(y[dev], p, q), 3) for q in (.05, .1, .15, .2, .3)])
run(x, "align+check")
run(np.hstack([x, j]), "+judge")
run(np.hstack([x, xa]), "+agree,exact")
run(np.hstack([x, xa, j]), "+agree,exact,judge")
print("train n", (~dev).sum(), "dev n", dev.sum())
