import sys, json, re, numpy as np
sys.path.insert(0, "/work/main")
from bidirag.training.train_trust import read_rows, feature_rows, fit_logistic, bootstrap_auc
from bidirag.training.train_verifier import is_dev, auc, precision_at
from bidirag.text import content_words, split_sentences, stem
D="/work/main/docs/results/verifier-data/"
rows = read_rows([D+"qwen-nli_train-seed7-0-800.answers.jsonl.gz", D+"qwen-nli_train-seed7-800-2200.answers.jsonl.gz"])
NUMQ = re.compile(r"\b(when|what year|which year|how many|how much|how long|how old|how high|how tall|how far|how large|how big|what percentage|what percent|what date|what century|what decade)\b", re.I)
def facts(text, question):
    qs = {stem(w) for w in content_words(question)}
    toks = re.findall(r"\b(?:\d[\d,.]*|[A-Z][\w'-]+)", text)
    first = text.split()[0] if text.split() else ""
    out = set()
    for t in toks:
        if t == first and not t[0].isdigit(): continue
        s = stem(t.lower().strip(".,"))
        if s and s not in qs and t.lower() not in {w.lower() for w in question.split()}:
            out.add(s)
    return out
def extra(r):
    q = {stem(w) for w in content_words(r["question"])}
    sents = [s for d in r["docs"] for s in split_sentences(d)]
    ss = [{stem(w) for w in content_words(s)} | {stem(t.lower()) for t in re.findall(r"\d[\d,.]*", s)} for s in sents]
    f = {}
    fa = facts(r["clean_text"], r["question"])
    if not ss:
        return {"x:fact_in_qsent":0,"x:fact_any":0,"x:num_miss":0,"x:fact_n":0, "x:fact_qov_min":0}
    qov = [len(q & s) / max(1, len(q)) for s in ss]
    order = np.argsort(qov)[::-1]
    qs1 = ss[order[0]]
    f["x:fact_n"] = min(len(fa), 3)
    f["x:fact_in_qsent"] = len(fa & qs1) / len(fa) if fa else 1.0
    alls = set().union(*ss)
    f["x:fact_any"] = len(fa & alls) / len(fa) if fa else 1.0
    # for each fact: best question overlap among sentences holding it, relative to the top
    if fa:
        vals = []
        for t in fa:
            holders = [qov[i] for i in range(len(ss)) if t in ss[i]]
            vals.append(max(holders) if holders else 0.0)
        f["x:fact_qov_min"] = min(vals) / max(qov[order[0]], 1e-6)
    else:
        f["x:fact_qov_min"] = 1.0
    numq = bool(NUMQ.search(r["question"]))
    f["x:num_miss"] = float(numq and not re.search(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|century|centuries)\b", r["clean_text"], re.I))
    return f
names, x = feature_rows(rows, ("align","check"))
E = [extra(r) for r in rows]
en = sorted(E[0])
xe = np.array([[e[k] for k in en] for e in E])
y = np.array([bool(r["correct"]) for r in rows], float)
dev = np.array([is_dev(r) for r in rows])
for k, col in zip(en, xe.T):
    print(f"{k:20s} dev AUC {auc(y[dev], col[dev]):.3f} mean {col.mean():.3f}")
def run(X, label):
    keep = X[~dev].std(0) > 1e-9; X = X[:, keep]
    m, s = X[~dev].mean(0), X[~dev].std(0); Z = (X-m)/s
    c, b = fit_logistic(Z[~dev], y[~dev], l2=1.0)
    p = 1/(1+np.exp(-(Z[dev]@c+b)))
    lo, hi = bootstrap_auc(y[dev], p, 1000)
    print(f"{label:30s} AUC {auc(y[dev],p):.3f} [{lo:.3f},{hi:.3f}] top10 {precision_at(y[dev],p,.1):.3f} top15 {precision_at(y[dev],p,.15):.3f} top20 {precision_at(y[dev],p,.2):.3f} top30 {precision_at(y[dev],p,.3):.3f}")
    return c
run(x, "base")
for k in en:
    run(np.hstack([x, xe[:, [en.index(k)]]]), "base+"+k)
c = run(np.hstack([x, xe]), "base+all")
print(dict(zip(en, c[-len(en):].round(3))))
