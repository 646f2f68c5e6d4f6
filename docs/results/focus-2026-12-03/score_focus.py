"""Score the `focus` check (bidirag/checks/focus.py, the product's own function) on written docs a reader already
judged, and say what its threshold would have removed.

Each judged row gives the question and the quoted source ("Question: ...\\nSource: ..."). The run that wrote it is
not kept, so its evidence is rebuilt: the top-3 paragraphs of the dataset split by exact cosine with the project's
embedder (what the eval's retrieval does), the quote's own paragraph put in place of the third when retrieval here
missed it (the quote came from a doc the generator was shown).

    python docs/results/focus-2026-12-03/score_focus.py --dataset amazon_reviews --judged FILE.jsonl [--split all]
    python docs/results/focus-2026-12-03/score_focus.py --dataset squad --split calibrate --pool calibrate \\
        --judged docs/results/calibration-2026-12-03-split2/calibration-reading-quote-split2.jsonl
"""

import argparse
import json
from pathlib import Path

import numpy as np

from bidirag.checks.focus import focus_scores
from bidirag.evaluation.dataset import load, load_squad_file, split
from bidirag.evaluation.metrics import wilson
from bidirag.models.embedder import Embedder
from bidirag.models.prepare import embedder_dir


def run_evidence(run: Path, rows: list[dict]) -> list[list[str]]:
    """Each judged row's evidence docs from the bidirectional verdict of its seed and query (retrieved doc ids ->
    the seed corpus's texts; a doc not in it, i.e. written by the run, is blank, as `evidence_docs` makes it)."""
    from bidirag.store import CORPUS, Store

    texts = Store(run / "_seed_store", dim=None).texts(CORPUS)
    verdicts = {}
    for seed in {r["seed"] for r in rows}:
        for f in sorted((run / f"seed-{seed}" / "bidirectional" / "runs").glob("*/epoch-*/verdicts.jsonl")):
            for line in f.read_text().splitlines():
                v = json.loads(line)
                verdicts[(seed, v["query_id"])] = v
    out = []
    for r in rows:
        v = verdicts[(r["seed"], r["query_id"])]
        out.append(["" if d not in texts else texts[d] for d in v.get("retrieved") or []])
    return out


def rebuilt_evidence(emb, paras: list[str], Q, quotes: list[str]) -> tuple[list[list[str]], int]:
    """Each row's top-3 paragraphs by exact cosine, the quote's own paragraph in place of the third when the search
    missed it; and how many rows needed that."""
    P = emb.encode(paras)
    docs, moved = [], 0
    for qv, quote in zip(Q, quotes):
        top = list(np.argsort(-(P @ qv))[:3])
        if not any(quote in paras[i] for i in top):
            own = next((i for i, p in enumerate(paras) if quote in p), None)
            if own is not None:
                top[2], moved = own, moved + 1
        docs.append([paras[i] for i in top])
    return docs, moved


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True, help="squad (the rag_eval articles) or a SQuADShifts name")
    ap.add_argument("--shifts-dir", default="data/squad-shifts")
    ap.add_argument("--split", default="all")
    ap.add_argument("--judged", required=True)
    ap.add_argument("--pool", help="keep only judged rows of this pool (the calibration reading file has several)")
    ap.add_argument("--threshold", type=float, default=-0.1)
    ap.add_argument("--run", help="the eval run's --out folder: evidence = each verdict's retrieved docs (exact, as "
                                  "the pipeline saw them) instead of rebuilt; rows need seed and query_id")
    ap.add_argument("--out")
    a = ap.parse_args()
    arts = load(None)[0] if a.dataset == "squad" else load_squad_file(f"{a.shifts_dir}/{a.dataset}_v1.0.json")
    arts = split(arts, a.split) if a.split != "all" else arts
    paras = [p for art in arts for p in art.paragraphs]
    rows = [json.loads(x) for x in open(a.judged)]
    rows = [r for r in rows if a.pool is None or r.get("pool") == a.pool]
    emb = Embedder(embedder_dir())
    emb.setup()
    asked = {q.qid: q.text for art in arts for q in art.questions}
    doc = [r.get("doc") or r["text"] for r in rows]
    # a quote doc names its question; a row holding the quote alone names it by query_id
    qs = [d.split("\n", 1)[0].removeprefix("Question: ") if "\nSource: " in d else asked[r["query_id"]]
          for d, r in zip(doc, rows)]
    quotes = [d.split("\nSource: ", 1)[1] if "\nSource: " in d else d for d in doc]
    Q = emb.encode(qs)
    docs, moved = (run_evidence(Path(a.run), rows), 0) if a.run else rebuilt_evidence(emb, paras, Q, quotes)
    scores = focus_scores(emb.encode, qs, quotes, docs, Q)
    out = []
    for r, q, s in zip(rows, qs, scores):
        out.append({"question": q, "judgement": r["judgement"], "focus": round(s, 4)})
    n, c = len(out), sum(o["judgement"] == "correct" for o in out)
    kept = [o for o in out if o["focus"] >= a.threshold]
    kc = sum(o["judgement"] == "correct" for o in kept)
    lo, hi = wilson(c, n)
    klo, khi = wilson(kc, len(kept))
    print(f"{a.judged}: {n} read docs ({moved} with the quote's paragraph put back into the top-3)")
    print(f"  without focus: {c}/{n} correct = {c / n:.1%} [{lo:.1%}, {hi:.1%}]")
    print(f"  focus >= {a.threshold}: {kc}/{len(kept)} correct = {kc / max(len(kept), 1):.1%} [{klo:.1%}, {khi:.1%}]"
          f"; removed {c - kc} correct, {n - c - (len(kept) - kc)} not correct")
    for o in sorted(out, key=lambda o: o["focus"]):
        if o["focus"] < a.threshold:
            print(f"    removed: {o['judgement']:14s} {o['focus']:+.3f} {o['question']}")
    if a.out:
        with open(a.out, "w") as f:
            f.writelines(json.dumps(o) + "\n" for o in out)


if __name__ == "__main__":
    main()
