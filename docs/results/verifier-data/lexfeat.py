import gzip, json, hashlib, math, re, sys
import numpy as np
sys.path.insert(0, "/work/main")
from sklearn.metrics import roc_auc_score
from bidirag.text import content_words, split_sentences, stem
D = "docs/results/verifier-data/"
rows = []
for f in ["qwen-nli_train-seed7-0-800.answers.jsonl.gz", "qwen-nli_train-seed7-800-2200.answers.jsonl.gz"]:
    rows += [json.loads(l) for l in gzip.open(D + f, "rt")]
def feats(r):
    q = {stem(w) for w in content_words(r["question"])}
    a = {stem(w) for w in content_words(r["clean_text"])}
    new = a - q
    sents = [s for d in r["docs"] for s in split_sentences(d)]
    ss = [{stem(w) for w in content_words(s)} for s in sents]
    qov = [len(q & s) / max(1, len(q)) for s in ss]
    order = np.argsort(qov)[::-1]
    top1 = ss[order[0]] if ss else set()
    top2 = top1 | (ss[order[1]] if len(ss) > 1 else set())
    f = {}
    f["new_n"] = len(new)
    f["new_in_top1"] = len(new & top1) / len(new) if new else 0
    f["new_in_top2"] = len(new & top2) / len(new) if new else 0
    f["q_in_answer"] = len(q & a) / max(1, len(q))
    f["top1_qov"] = qov[order[0]] if ss else 0
    # answer novelty relative to question: share of answer words that are new
    f["new_share"] = len(new) / max(1, len(a))
    # best sentence for answer: containing new words; does it overlap question?
    best = max(range(len(ss)), key=lambda i: len(new & ss[i]) + 0.01 * qov[i]) if ss else 0
    f["ans_sent_qov"] = qov[best] if ss else 0
    f["ans_sent_rank"] = -list(order).index(best) if ss else -99
    docidx = [i for i, d in enumerate(r["docs"]) for _ in split_sentences(d)]
    cited = [int(x) - 1 for x in re.findall(r"\[(\d+)\]", r["answer"])]
    f["cite_top1_doc"] = float(bool(ss) and docidx[order[0]] in cited)
    f["cite_ans_doc"] = float(bool(ss) and docidx[best] in cited)
    ql = r["question"].lower()
    numeric_q = bool(re.search(r"\b(when|what year|which year|how many|how much|how long|how old|what percentage|how far|how large|what date)\b", ql))
    who_q = bool(re.search(r"\bwho(m|se)?\b", ql))
    newraw = [w for w in content_words(r["clean_text"]) if stem(w) in new]
    has_digit = any(re.search(r"\d", w) for w in newraw)
    f["num_q"] = float(numeric_q); f["num_match"] = float(numeric_q and has_digit); f["num_miss"] = float(numeric_q and not has_digit)
    caps = set(re.findall(r"\b[A-Z][a-z]+", r["clean_text"])) - set(re.findall(r"\b[A-Z][a-z]+", r["question"]))
    f["who_miss"] = float(who_q and not caps)
    f["first_doc_top1"] = float(bool(ss) and docidx[order[0]] == 0)
    return f
F = [feats(r) for r in rows]
y = np.array([r["correct"] for r in rows])
for k in F[0]:
    v = np.array([f[k] for f in F]); print(f"{k:14s} AUC {roc_auc_score(y, v):.3f}")
