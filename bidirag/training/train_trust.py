"""Train the trust check's logistic model on the generator's own labeled answers (design split only).

Input: `answers.jsonl[.gz]` files of `python -m bidirag.training.verifier_data` (answers of the configured
generator to `nli_train` questions with every check's score, the generator's confidence and `correct` by the
gold rule). Dev = 20% of the `nli_train` articles by sha256 of the title (`train_verifier.is_dev`); the model is
fitted on the rest only, so the dev figures describe the shipped model. L2-regularised logistic regression
(Newton steps), features standardised; constant features are dropped. Output: one JSON file (features, mean,
std, coef, intercept, and provenance: data files with their sha256, dev AUC with a bootstrap interval,
precision of the top 10/20/30/50% of dev answers).

    bidirag models train-trust --data docs/results/verifier-data/*.answers.jsonl.gz --out models/trust.json
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bidirag.checks.trust import features
from bidirag.text import content_words, stem
from bidirag.training.train_verifier import auc, is_dev, precision_at, read_rows  # noqa: F401 (read_rows: API)

KINDS = ("align", "check", "conf")


def feature_rows(rows: list[dict], kinds: Sequence[str]) -> tuple[list[str], np.ndarray]:
    feats = [features(r["question"], r["clean_text"], r["docs"], r["scores"], r.get("confidence")) for r in rows]
    if "conf" in kinds:
        lacking = sum(1 for r in rows if not r.get("confidence"))
        if lacking:
            raise ValueError(f"{lacking} of {len(rows)} rows have no generator confidence; regenerate them with "
                             "`python -m bidirag.training.verifier_data` or train with --features align,check")
    names = sorted({k for f in feats for k in f if k.split(":", 1)[0] in kinds})
    names = [k for k in names if all(k in f for f in feats)]
    return names, np.array([[f[k] for k in names] for f in feats], dtype=np.float64)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """Newton's method on the L2-penalised log-likelihood (intercept not penalised)."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    pen = np.full(xb.shape[1], l2)
    pen[0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -40, 40)))
        grad = xb.T @ (p - y) + pen * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(pen)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[1:], float(w[0])


def bootstrap_auc(y: np.ndarray, s: np.ndarray, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(resamples):
        i = rng.integers(0, len(y), len(y))
        vals.append(auc(y[i], s[i]))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def generators_of(files: Sequence[str | Path]) -> list[str]:
    """The generator (model folder name) that wrote each data file, from its `meta.json` (written beside the
    answers by verifier_data, or `<name>.meta.json` beside `<name>.answers.jsonl.gz`)."""
    out = []
    for f in files:
        f = Path(f)
        for meta in (f.parent / "meta.json", f.parent / f.name.replace(".answers.jsonl.gz", ".meta.json")
                     .replace(".answers.jsonl", ".meta.json")):
            if meta.is_file() and meta != f:
                out.append(Path(json.loads(meta.read_text())["generator"]["path"] or "").name)
                break
    return sorted(set(out))


LABELS = ("gold", "strict")


def strict_labels(rows: list[dict], paragraphs: dict[str, str]) -> list[bool]:
    """`strict`: the gold rule, and nothing the answer adds to the question (content-word stems) is missing from the
    gold paragraph. A reader with the gold paragraph marks wrong what the gold rule passes when the answer carries a
    detail from another retrieved paragraph ("Bruno Mars and Mark Ronson"); this label sees those."""
    out = []
    for r in rows:
        if r["gold_paragraph"] not in paragraphs:
            raise ValueError(f"gold paragraph {r['gold_paragraph']!r} of {r['query_id']} is not in the corpus: the "
                             "strict label needs every row's gold paragraph (data/squad/corpus.parquet)")
        q = {stem(w) for w in content_words(r["question"])}
        g = {stem(w) for w in content_words(paragraphs[r["gold_paragraph"]])}
        new = {stem(w) for w in content_words(r["clean_text"])} - q
        out.append(bool(r["correct"]) and not (new - g))
    return out


def squad_paragraphs(path: str | Path = "data/squad/corpus.parquet") -> dict[str, str]:
    import pyarrow.parquet as pq

    if not Path(path).is_file():
        raise ValueError(f"{path} not found: the strict label reads the gold paragraphs from it; run "
                         "`bidirag data fetch squad` (make demo does) from the repo root")
    return {r["source"]: r["text"] for r in pq.read_table(path).to_pylist()}


def train(files: Sequence[str | Path], out: str | Path, kinds: Sequence[str] = KINDS, l2: float = 1.0,
          label: str = "gold", paragraphs: dict[str, str] | None = None) -> dict:
    t = time.perf_counter()
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown feature kind(s) {sorted(unknown)}; choose from {', '.join(KINDS)}")
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}; choose from {', '.join(LABELS)}")
    rows = read_rows(files)
    names, x = feature_rows(rows, kinds)
    y = np.array([bool(r["correct"]) for r in rows] if label == "gold" else
                 strict_labels(rows, paragraphs if paragraphs is not None else squad_paragraphs()), dtype=np.float64)
    dev = np.array([is_dev(r) for r in rows])
    if dev.all() or not dev.any():
        raise ValueError("the data must span several nli_train articles (dev = 20% of them by title)")
    keep = x[~dev].std(axis=0) > 1e-9
    names, x = [n for n, k in zip(names, keep, strict=True) if k], x[:, keep]
    mean, std = x[~dev].mean(axis=0), x[~dev].std(axis=0)
    z = (x - mean) / std
    coef, intercept = fit_logistic(z[~dev], y[~dev], l2=l2)
    s = 1.0 / (1.0 + np.exp(-(z[dev] @ coef + intercept)))
    yd = y[dev]
    lo, hi = bootstrap_auc(yd, s)
    spec = {"kind": "logistic", "features": names, "mean": mean.round(6).tolist(), "std": std.round(6).tolist(),
            "coef": coef.round(6).tolist(), "intercept": round(intercept, 6),
            "trained": {"data": [{"file": Path(f).name, "sha256": hashlib.sha256(Path(f).read_bytes()).hexdigest()}
                                 for f in files],
                        "generators": generators_of(files), "answers": len(rows), "train": int((~dev).sum()),
                        "dev": int(dev.sum()),
                        "correct_share": round(float(y.mean()), 4), "l2": l2, "feature_kinds": list(kinds),
                        "label": label,
                        "dev_rule": "20% of nli_train titles by sha256 (train_verifier.is_dev)",
                        "dev_auc": round(auc(yd, s), 4), "dev_auc_95": [round(lo, 4), round(hi, 4)],
                        "dev_precision_top": {f"{int(100 * q)}%": round(precision_at(yd, s, q), 4)
                                              for q in (0.1, 0.2, 0.3, 0.5)},
                        "seconds": round(time.perf_counter() - t, 1)}}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(spec, indent=1) + "\n")
    return spec["trained"]
