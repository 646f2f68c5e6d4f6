"""Metric functions, pure. Rules (stated in eval.md too):

- coverage (paper): top-1 retrieved doc within cosine distance < 0.4 of the query.
- answer coverage: a gold answer string occurs (SQuAD-normalised) in one of the top-k retrieved texts.
- EM / token F1: the generated answer (citations and the primed lead removed) vs the gold answers.
- citation precision / recall: relevant = retrieved docs that contain a gold answer; cited = docs the
  answer cites by [n]. Micro-averaged over queries (sums of counts), F1 from the two.
- pollution: a written doc pollutes if it contains none of its query's gold answers.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from bidirag.checks.answer_span import written_claim
from bidirag.stages.rag import clean_answer
from bidirag.text import cited_numbers, contains_answer, exact_match, token_f1

COVERAGE_DISTANCE = 0.4


def query_metrics(rec: dict, golds: Sequence[str]) -> dict:
    retrieved = rec.get("retrieved", [])
    top1 = retrieved[0]["distance"] if retrieved else 1.0
    answer = clean_answer(rec.get("answer", "") or "")
    relevant = {d["doc_id"] for d in retrieved if contains_answer(d["text"], list(golds))}
    cited = {retrieved[n - 1]["doc_id"] for n in cited_numbers(rec.get("answer", "") or "")
             if 1 <= n <= len(retrieved)}
    return {
        "coverage": float(top1 < COVERAGE_DISTANCE),
        "answer_coverage": float(bool(relevant)),
        "em": exact_match(answer, list(golds)),
        "f1": token_f1(answer, list(golds)),
        "answer_contains_gold": float(contains_answer(answer, list(golds))),
        "cited_relevant": len(cited & relevant), "cited": len(cited), "relevant": len(relevant),
    }


def aggregate(per_query: list[dict]) -> dict:
    n = len(per_query)
    if not n:
        return {}
    mean = {k: sum(q[k] for q in per_query) / n for k in
            ("coverage", "answer_coverage", "em", "f1", "answer_contains_gold")}
    cr = sum(q["cited_relevant"] for q in per_query)
    c = sum(q["cited"] for q in per_query)
    r = sum(q["relevant"] for q in per_query)
    p = cr / c if c else 0.0
    rc = cr / r if r else 0.0
    mean.update({"citation_precision": p, "citation_recall": rc,
                 "citation_f1": 2 * p * rc / (p + rc) if p + rc else 0.0, "n": n})
    return mean


def pollution(written: list[dict], labels: dict[str, list[str]]) -> dict:
    """written: corpus rows (text, query_id). Share that contain none of their query's gold answers."""
    if not written:
        return {"pollution": 0.0, "polluting": 0, "written": 0}
    bad = sum(1 for w in written if not contains_answer(written_claim(w["text"]), labels.get(w["query_id"], [])))
    return {"pollution": bad / len(written), "polluting": bad, "written": len(written)}


def mean_std(values: list[float]) -> dict:
    """Mean and *sample* standard deviation (n - 1) across seeds."""
    if not values:
        return {"mean": 0.0, "std": 0.0, "n": 0}
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values)}


def paired_bootstrap(a: Sequence[float], b: Sequence[float], resamples: int = 2000, seed: int = 0,
                     alpha: float = 0.05) -> dict:
    """Mean of the paired differences a - b with a percentile bootstrap interval (resampling pairs, fixed
    seed). `distinguishable` = the interval excludes 0."""
    import numpy as np

    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length ({len(a)} vs {len(b)})")
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if len(d) == 0:
        return {"n": 0, "mean_diff": 0.0, "low": 0.0, "high": 0.0, "distinguishable": False}
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(resamples, len(d)))].mean(axis=1)
    low, high = (float(x) for x in np.quantile(means, [alpha / 2, 1 - alpha / 2]))
    return {"n": int(len(d)), "mean_diff": float(d.mean()), "low": low, "high": high,
            "distinguishable": bool(low > 0 or high < 0), "resamples": resamples, "seed": seed}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (n = 0 -> (0, 1))."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / den
    return max(0.0, mid - half), min(1.0, mid + half)
