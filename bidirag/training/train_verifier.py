"""Train the answer verifier (`models/verifier`) on the generator's own labeled answers.

Data: `answers.jsonl` files from `python -m bidirag.training.verifier_data` (nli_train articles only; the
evaluation's calibrate and report articles are never seen). A dev slice of whole articles (20% of titles by
sha256) picks the epoch; the model starts from the shipped NLI cross-encoder (its entailment/contradiction
head becomes correct/wrong). Saved in fp16 with `recipe.json` and `train_log.jsonl`.

    bidirag models train-verifier --data runs/vdata-a/answers.jsonl,runs/vdata-b/answers.jsonl --out models/verifier
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bidirag.models.nli import pair_probs
from bidirag.models.verifier import p_correct, verifier_input
from bidirag.paths import shipped_nli_dir

logger = logging.getLogger(__name__)


ROW_FIELDS = ("query_id", "question", "clean_text", "docs", "correct", "gold_paragraph")


def read_rows(files: Sequence[str | Path], need: Sequence[str] = (*ROW_FIELDS, "scores")) -> list[dict]:
    """Labeled answers from `verifier_data` files (.jsonl or .jsonl.gz), one per query id (the last wins); a line
    that is not JSON or lacks a field in `need` is named with its file and line."""
    rows: dict[str, dict] = {}
    for f in files:
        f = Path(f)
        opener = gzip.open if f.suffix == ".gz" else open
        with opener(f, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{f}:{n}: not JSON ({e.msg}); expected one answer per line") from e
                missing = set(need) - set(r)
                if missing:
                    raise ValueError(f"{f}:{n}: missing field(s) {sorted(missing)}: rows come from "
                                     "`python -m bidirag.training.verifier_data`")
                rows[r["query_id"]] = r
    return list(rows.values())


def is_dev(row: dict, share: float = 0.2) -> bool:
    title = row["gold_paragraph"].split(":", 1)[1].rsplit("#", 1)[0]
    return int(hashlib.sha256(title.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def auc(y: np.ndarray, s: np.ndarray) -> float:
    pos, neg = s[y == 1], s[y == 0]
    if not len(pos) or not len(neg):
        return 0.5
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def precision_at(y: np.ndarray, s: np.ndarray, share: float) -> float:
    """Precision among the `share` highest-scored answers."""
    k = max(1, int(round(share * len(s))))
    return float(y[np.argsort(-s)[:k]].mean())


def _encode(tok, rows, max_length):
    pairs = [verifier_input(r["question"], r["clean_text"], r["docs"]) for r in rows]
    return tok([p[0] for p in pairs], [p[1] for p in pairs], padding=True, truncation="only_first",
               max_length=max_length, return_tensors="pt")


def _scores(model, tok, rows, max_length, bs=32) -> np.ndarray:
    model.eval()
    pairs = [verifier_input(r["question"], r["clean_text"], r["docs"]) for r in rows]
    out = p_correct(pair_probs(model, tok, pairs, bs, max_length, truncation="only_first"))
    model.train()
    return out


def train(files: list[Path], out_dir: Path, epochs: int = 4, lr: float = 3e-5, batch_size: int = 16,
          max_length: int = 384, seed: int = 21, init: Path | None = None, log=logger.info) -> dict:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    rng = random.Random(seed)
    t0 = time.time()
    rows = read_rows(files, need=ROW_FIELDS)
    dev = [r for r in rows if is_dev(r)]
    train_rows = [r for r in rows if not is_dev(r)]
    base = Path(init) if init else shipped_nli_dir()
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, dtype=torch.float32)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * ((len(train_rows) + batch_size - 1) // batch_size)
    warm = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    y_dev = np.array([int(r["correct"]) for r in dev])
    work = out_dir.with_name(out_dir.name + ".work")
    work.mkdir(parents=True, exist_ok=True)
    logs, best = [], -1.0
    for ep in range(1, epochs + 1):
        rng.shuffle(train_rows)
        total = 0.0
        for s in range(0, len(train_rows), batch_size):
            b = train_rows[s:s + batch_size]
            y = torch.tensor([1 if r["correct"] else 0 for r in b])   # entailment column = correct
            loss = torch.nn.functional.cross_entropy(model(**_encode(tok, b, max_length)).logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            total += loss.item() * len(b)
        sc = _scores(model, tok, dev, max_length)
        rec = {"epoch": ep, "loss": round(total / len(train_rows), 4), "dev_auc": round(auc(y_dev, sc), 4),
               "dev_precision_top30": round(precision_at(y_dev, sc, 0.3), 4), "t": round(time.time() - t0, 1)}
        logs.append(rec)
        log(json.dumps(rec))
        if rec["dev_auc"] > best:
            best = rec["dev_auc"]
            model.save_pretrained(work / "best")
            tok.save_pretrained(work / "best")
    best_model = AutoModelForSequenceClassification.from_pretrained(work / "best", dtype=torch.float32)
    best_model.half().save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    recipe = {"init": str(base), "data": [str(f) for f in files], "train_answers": len(train_rows),
              "dev_answers": len(dev), "dev_rule": "20% of nli_train titles by sha256", "epochs": epochs, "lr": lr,
              "batch_size": batch_size, "max_length": max_length, "seed": seed, "best_dev_auc": best,
              "correct_share_train": round(float(np.mean([r["correct"] for r in train_rows])), 4),
              "minutes": round((time.time() - t0) / 60, 1)}
    (out_dir / "recipe.json").write_text(json.dumps(recipe, indent=1) + "\n")
    (out_dir / "train_log.jsonl").write_text("".join(json.dumps(x) + "\n" for x in logs))
    return recipe
