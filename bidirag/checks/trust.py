"""trust: P(the answer is correct) from a small logistic model over signals the other checks cannot use alone.

The NLI-based checks ask "is this sentence supported?"; a small generator's wrong answers are mostly supported
sentences that do not answer the question, or a sentence of the right passage with one entity or date swapped.
Three kinds of evidence separate those from correct answers, none tied to a question template:

- **Alignment** (lexical, `alignment()`): a reader finds a SQuAD-style answer in the sentence that shares most
  words with the question. `new_in_qsent` = share of the answer's new content words (by stem, not in the
  question) that this sentence holds; `qov_of_answer_sentence` = how much of the question the sentence that best
  holds the answer's new words shares; plus the question overlap of the best sentence, the share of the
  question the answer repeats and the share of the answer that is new.
- **The other checks' scores** (grounding, relevance, content, novelty, answerable, premise, ...), as numbers
  rather than pass/fail.
- **The generator's self-check** (`conf:agree`, `conf:exact`; `models.generator.self_check`): asked again with
  only the passage sentences that best match the question and the answer, the generator gives a short
  extractive answer; `agree` = share of its new words the full answer holds, `exact` = it is a substring of the
  full answer. A swapped fact or a sentence that does not answer rarely survives a second, focused reading.
- **The generator's token log-probabilities** (`models.generator.confidence`: of the cited doc number and of the
  least likely content tokens), when its backend reports them (not in the shipped model: +0.013 AUC, noise).

The weights, the feature standardisation and the features' names are in a JSON file trained by `bidirag models
train-trust` on the generator's own labeled answers to `nli_train` questions (design split; never the
evaluation's articles); the threshold is chosen on the evaluation's calibrate split (`make calibrate`).
A model whose features this configuration cannot provide is a configuration error, named at load.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from bidirag.checks.base import Check, CheckContext, register
from bidirag.text import content_words, split_sentences, stem

SELF_CHECK_FEATURES = ("conf:agree", "conf:exact")   # written by the Generate stage's self-check
ALIGNMENT_FEATURES = ("new_in_qsent", "qov_of_answer_sentence", "qsent_qov", "question_in_answer", "new_share")


def alignment(question: str, text: str, docs: Sequence[str]) -> dict[str, float]:
    """Lexical alignment of an answer with the retrieved sentence that best matches its question."""
    q = {stem(w) for w in content_words(question)}
    a = {stem(w) for w in content_words(text)}
    new = a - q
    sents = [{stem(w) for w in content_words(s)} for d in docs for s in split_sentences(d)]
    if not sents:
        return dict.fromkeys(ALIGNMENT_FEATURES, 0.0)
    qov = [len(q & s) / max(1, len(q)) for s in sents]
    qsent = max(range(len(sents)), key=lambda i: (qov[i], -i))
    ans_sent = max(range(len(sents)), key=lambda i: (len(new & sents[i]), qov[i], -i))
    return {"new_in_qsent": len(new & sents[qsent]) / len(new) if new else 0.0,
            "qov_of_answer_sentence": qov[ans_sent], "qsent_qov": qov[qsent],
            "question_in_answer": len(q & a) / max(1, len(q)), "new_share": len(new) / max(1, len(a))}


class TrustModel:
    """Logistic regression over named features: p = sigmoid(b + sum_i w_i (x_i - mean_i) / std_i)."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.features: list[str] = list(spec["features"])
        self.mean, self.std, self.coef = spec["mean"], spec["std"], spec["coef"]
        self.intercept = float(spec["intercept"])
        if not (len(self.features) == len(self.mean) == len(self.std) == len(self.coef)):
            raise ValueError("trust model: features, mean, std and coef must have the same length")

    @property
    def checks_needed(self) -> list[str]:
        return [f.removeprefix("check:") for f in self.features if f.startswith("check:")]

    @property
    def needs_confidence(self) -> bool:
        return any(f.startswith("conf:") for f in self.features)

    @property
    def needs_self_check(self) -> bool:
        return any(f in SELF_CHECK_FEATURES for f in self.features)

    def predict(self, rows: Sequence[dict[str, float]]) -> list[float]:
        out = []
        for x in rows:
            z = self.intercept + sum(c * (x[f] - m) / s for f, m, s, c in
                                     zip(self.features, self.mean, self.std, self.coef, strict=True))
            out.append(1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z)))))
        return out


@lru_cache(maxsize=8)
def load_model(path: str) -> TrustModel:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"trust model not found at {p}: train one with `bidirag models train-trust` or set "
                                "`acceptance.trust_model` (the repo ships models/trust.json)")
    return TrustModel(json.loads(p.read_text()))


def features(question: str, text: str, docs: Sequence[str], scores: dict[str, float],
             confidence: dict[str, float] | None) -> dict[str, float]:
    """Every feature a trust model may name: `align:*`, `check:*` (scores) and `conf:*` (generator)."""
    out = {f"align:{k}": v for k, v in alignment(question, text, docs).items()}
    out.update({f"check:{k}": float(v) for k, v in scores.items()})
    out.update({f"conf:{k}": float(v) for k, v in (confidence or {}).items()})
    return out


def _require_checks(model: TrustModel, available) -> None:
    missing = [c for c in model.checks_needed if c not in available]
    if missing:
        raise ValueError(f"the trust model needs the scores of check(s) {missing}: add them to "
                         "acceptance.checks, or train a model without them (`bidirag models train-trust`)")


@register
class Trust(Check):
    name = "trust"
    reason_text = "the trust model judges the answer unlikely to be correct for this question"
    threshold_field = "trust_threshold"
    config_fields = ("trust_model",)
    critique = True
    uses_scores = True      # scored after the other configured checks, from their scores

    @staticmethod
    def model(acceptance) -> TrustModel:
        from bidirag.paths import shipped_trust_model

        return load_model(str(acceptance.trust_model or shipped_trust_model()))

    def validate(self, cfg) -> None:
        import logging

        model = self.model(cfg.acceptance)
        _require_checks(model, cfg.acceptance.checks)
        if model.needs_self_check and not cfg.models.generator.self_check:
            raise ValueError("the trust model reads the generator's self-check (conf:agree, conf:exact) but "
                             "models.generator.self_check is false: set it to true, or use a model trained without "
                             "it (`bidirag models train-trust --features align,check`)")
        trained_on = model.spec.get("trained", {}).get("generators") or []
        used = Path(cfg.models.generator.path or cfg.models.generator.name).name
        if trained_on and used not in trained_on and cfg.models.generator.backend != "fake":
            logging.getLogger(__name__).warning(
                "the trust model was trained on answers of %s, not of the configured generator %s: its "
                "probabilities are not calibrated for it; retrain it (`bidirag models train-trust`)",
                ", ".join(trained_on), used)

    def score(self, ctx: CheckContext) -> list[float]:
        model = self.model(ctx.acceptance)
        _require_checks(model, ctx.scores)
        rows, judged = [], []
        conf_needed = [f for f in model.features if f.startswith("conf:")]
        for i in range(len(ctx)):
            conf = ctx.records[i].get("confidence")
            if model.needs_confidence and not conf and ctx.texts[i].strip():
                raise ValueError("the trust model needs the generator's confidence (conf:* features), which this "
                                 "generator did not report: use the vllm or transformers backend (or an "
                                 "OpenAI-compatible server that returns logprobs) with models.generator.self_check "
                                 "true, or a model trained without conf:* features")
            f = features(ctx.queries[i], ctx.texts[i], ctx.docs[i], {k: v[i] for k, v in ctx.scores.items()}, conf)
            # an answer the generator could not be asked about (empty) is not trusted
            judged.append(all(k in f for k in conf_needed))
            rows.append(f)
        scored = iter(model.predict([f for f, ok in zip(rows, judged, strict=True) if ok]))
        return [next(scored) if ok else 0.0 for ok in judged]
