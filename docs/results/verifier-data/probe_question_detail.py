import sys, re, numpy as np
sys.path.insert(0, "/work/main")
from bidirag.training.train_trust import read_rows, feature_rows, fit_logistic, bootstrap_auc
from bidirag.training.train_verifier import is_dev, auc, precision_at
from bidirag.text import split_sentences, content_words, stem
rows = read_rows(["/work/main/docs/results/verifier-data/qwen-nli_train-seed7-selfcheck.answers.jsonl.gz"])
TOK = re.compile(r"\b(?:\d[\d,.]*|[A-Z][\w'-]+)")
def qdetail(r):
    """share of the question's numbers/names (not sentence-initial) that the answer repeats but no retrieved sentence
    holds together with another content word of the question"""
    q = r["question"]; a = r["clean_text"]
    first = q.split()[0] if q.split() else ""
    det = {t.lower().strip(".,") for t in TOK.findall(q) if t != first}
    rep = {t for t in det if t in a.lower()}
    if not rep:
        return 0.0
    qw = {stem(w) for w in content_words(q)}
    sents = [s.lower() for d in r["docs"] for s in split_sentences(d)]
    miss = 0
    for t in rep:
        ok = any(t in s and len(qw & {stem(w) for w in content_words(s)}) >= 2 for s in sents)
        miss += not ok
    return miss / len(rep)
names, x = feature_rows(rows, ("align", "check", "conf"))
y = np.array([bool(r["correct"]) for r in rows], float)
dev = np.array([is_dev(r) for r in rows])
f = np.array([qdetail(r) for r in rows])
print("rows with an unsupported repeated detail:", int((f > 0).sum()), "correct among them", y[f > 0].mean().round(3), "overall", y.mean().round(3))
def run(X, label):
    mu, sd = X[~dev].mean(0), X[~dev].std(0); sd[sd < 1e-9] = 1
    Z = (X - mu) / sd
    c, b = fit_logistic(Z[~dev], y[~dev]); p = 1 / (1 + np.exp(-(Z[dev] @ c + b)))
    print(f"{label:18s} dev AUC {auc(y[dev], p):.3f}", [round(precision_at(y[dev], p, q), 3) for q in (.1, .2, .3)])
run(x, "shipped features")
run(np.hstack([x, f[:, None]]), "+question detail")
