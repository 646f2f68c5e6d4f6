"""Measure an NLI cross-encoder on the held-out sets and write metrics.json (+ the model card table).

Sets: VitaminC held-out pages (2,500 fixed pairs), QA-derived pairs from the `rag_eval` SQuAD articles
(disjoint from training), bigbench presuppositions_as_nli (all 735). Also: mean P(entail) of entailed vs
contradicted QA statements, and pairs/s at batch 32 on this CPU.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from bidirag.models.nli import NLIModel
from bidirag.training.nli_data import CONTRA, ENTAIL, training_set
from bidirag.training.train_nli import scores


def evaluate(model_dir: Path, out: Path | None = None, seed: int = 13, premise_sentences: int = 0,
             sets: list[str] | None = None) -> dict:
    """`sets`: measure only these sets (and no speed, no model card)."""
    _, evals = training_set(seed=seed)
    if sets:
        unknown = [s for s in sets if s not in evals]
        if unknown:
            raise KeyError(f"unknown NLI evaluation set(s) {unknown}; known: {sorted(evals)}")
        evals = {k: v for k, v in evals.items() if k in sets}
    model = NLIModel(model_dir, batch_size=32, premise_sentences=premise_sentences)
    model.setup()   # verifies the label order on known pairs
    metrics: dict = {"model": str(model_dir), "label_order_verified": True, "premise_sentences": premise_sentences,
                     "sets": {}}
    for name, pairs in evals.items():
        t = time.perf_counter()
        probs = model.predict([(p.premise, p.hypothesis) for p in pairs])
        dt = time.perf_counter() - t
        y = np.array([p.label for p in pairs])
        metrics["sets"][name] = {**scores(y, probs.argmax(1)), "seconds": round(dt, 1)}
        if name == "qa_eval_articles":
            metrics["p_entail_separation"] = {
                "entailed_mean": round(float(probs[y == ENTAIL, 1].mean()), 4),
                "contradicted_mean": round(float(probs[y == CONTRA, 1].mean()), 4),
                "n_entailed": int((y == ENTAIL).sum()), "n_contradicted": int((y == CONTRA).sum()),
            }
    metrics["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if sets:
        metrics["sets_measured"] = list(evals)
        out = out or Path(model_dir) / "metrics-partial.json"
        out.write_text(json.dumps(metrics, indent=1) + "\n")
        return metrics
    bench = [(p.premise, p.hypothesis) for p in evals["qa_eval_articles"][:512]]
    t = time.perf_counter()
    model.predict(bench)
    metrics["pairs_per_second_batch32"] = round(len(bench) / (time.perf_counter() - t), 1)
    out = out or Path(model_dir) / "metrics.json"
    out.write_text(json.dumps(metrics, indent=1) + "\n")
    if (Path(model_dir) / "recipe.json").exists() and not premise_sentences:   # the card shows whole premises
        write_card(Path(model_dir), metrics)
    return metrics


CARD = """# bidirag NLI cross-encoder (models/nli)

A 3-class NLI cross-encoder (labels in id order: {labels}) trained by bidirag itself, offline, because no
usable entailment model can be downloaded here. Used by the grounding check (`models.nli.path` default).
Production users can point `models.nli.path` at any HF NLI cross-encoder instead.

- Base: {base}. fp16 safetensors + tokenizer, {size_mb:.1f} MB. Loads with transformers
  `AutoModelForSequenceClassification` or sentence-transformers `CrossEncoder`.
- Label order is read from `config.json` (`id2label`) and verified at load time on known pairs.

## Training data (offline only)
- VitaminC (bigbench==1.0.0 `vitaminc_fact_verification`, CC BY-SA): True -> entailment, False ->
  contradiction, Neither -> neutral; pages hashed into train / held-out (held-out pages never trained on).
- QA-derived pairs from SQuAD v1.1 dev (CC BY-SA 4.0) **training articles only** (`nli_train` in
  `bidirag/data/squad_split.json`; disjoint from the RAG evaluation articles, checked by
  `tests/test_squad_split.py`): paragraph vs a rule-made declarative statement of the gold answer ->
  entailment; the statement with the answer swapped for another same-type span of the article ->
  contradiction; the statement vs another paragraph without the answer -> neutral.{hard}

## Recipe (reproduce, in order:)
{reproduce}

{recipe}

Training log: `train_log.jsonl` (every stage; loss every 50 steps, dev accuracy every 500 and at the end).

## Metrics (`bidirag models eval-nli`, written to metrics.json; measured {measured_at})
| set | n | accuracy | macro-F1 |
|---|---|---|---|
{rows}

P(entail) separation on held-out QA statements (rag_eval articles): entailed mean
{sep_e:.3f} vs contradicted mean {sep_c:.3f}.
Speed on this 2-core CPU: {pps:.1f} pairs/s at batch 32.
Targets were >= 85% on held-out QA-derived pairs and >= 70% on VitaminC 3-class; see the README for what
limited the result.
"""


HARD = """
- Later stages (`--init`) add harder QA-derived pairs from the same training articles: the statement with the
  answer swapped for another answer *of the same paragraph* -> contradiction, and vacuous hypotheses (the
  question itself, or a bare "The answer is X.") -> neutral; `--qa-repeat` oversamples the QA pairs.
  `--extra-pairs` (third stage) adds the paragraph's own answer sentence with the answer swapped for another
  answer of the same paragraph -> contradiction, and evaluative claims about an entity of the paragraph
  ("X is the best.", "X is better than Y.") -> neutral."""


def reproduce_commands(recipe: dict) -> list[str]:
    """One `bidirag models train-nli` command per stage, first stage first."""
    stages = []
    r: dict | None = recipe
    while r:
        stages.append(r)
        r = r.get("previous_stage")
    cmds = []
    for i, st in enumerate(reversed(stages)):
        cmd = f"bidirag models train-nli --max-steps {st['max_steps']} --seed {st['seed']} --lr {st['lr']:g}"
        if st.get("qa_repeat", 1) != 1:
            cmd += f" --qa-repeat {st['qa_repeat']}"
        # hard pairs and --qa-repeat arrived together (commit e883364): an older recipe without either
        # was trained without hard pairs
        if not st.get("hard_pairs", "qa_repeat" in st):
            cmd += " --no-hard-pairs"
        if st.get("extra_pairs"):
            cmd += " --extra-pairs"
        if i > 0:
            cmd += " --init models/nli --out /tmp/nli-next  # then replace models/nli with /tmp/nli-next"
        cmds.append(cmd)
    return cmds


def write_card(model_dir: Path, metrics: dict) -> Path:
    recipe = json.loads((Path(model_dir) / "recipe.json").read_text())
    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    labels = [cfg["id2label"][str(i)] for i in range(len(cfg["id2label"]))]
    size = sum(f.stat().st_size for f in Path(model_dir).iterdir() if f.is_file()) / 1e6
    rows = "\n".join(f"| {k} | {v['n']} | {100 * v['accuracy']:.1f}% | {100 * v['macro_f1']:.1f}% |"
                     for k, v in metrics["sets"].items())
    text = CARD.format(labels=", ".join(labels), base=recipe["base"], size_mb=size,
                       hard=HARD if "previous_stage" in recipe else "",
                       reproduce="\n".join(f"{i}. `{c}`" for i, c in enumerate(reproduce_commands(recipe), 1)),
                       recipe="\n".join(f"- {k}: {v}" for k, v in recipe.items()),
                       measured_at=metrics["measured_at"], rows=rows,
                       sep_e=metrics["p_entail_separation"]["entailed_mean"],
                       sep_c=metrics["p_entail_separation"]["contradicted_mean"],
                       pps=metrics["pairs_per_second_batch32"])
    out = Path(model_dir) / "README.md"
    out.write_text(text)
    return out
