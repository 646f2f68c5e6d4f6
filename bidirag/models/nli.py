"""NLI cross-encoder handler: (premise, hypothesis) -> P(contradiction), P(entailment), P(neutral).

Any Hugging Face sequence-classification folder (or hub id, where a hub is reachable) works. The label
order is read from the model's `id2label` and then *verified* on known pairs at load time, so a model
whose labels are mislabeled fails loudly instead of silently inverting the grounding check.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

CANONICAL = ("contradiction", "entailment", "neutral")
# Known pairs used to verify the label order: (premise, hypothesis, expected canonical label)
PROBES = (
    ("A man is playing a guitar on a stage in front of a crowd.", "A man is playing an instrument.",
     "entailment"),
    ("A man is playing a guitar on a stage in front of a crowd.", "Nobody is playing an instrument.",
     "contradiction"),
    ("The Eiffel Tower was completed in 1889 in Paris.", "The Eiffel Tower was completed in 1889.",
     "entailment"),
    ("The Eiffel Tower was completed in 1889 in Paris.", "The Eiffel Tower was completed in 1925.",
     "contradiction"),
)


class LabelOrderError(RuntimeError):
    pass


def canonical_index(id2label: dict, override: Sequence[str] | None = None) -> list[int]:
    """For each canonical label, the model's output column. `override` names the model's labels by id."""
    names = list(override) if override else [str(id2label[i]) for i in sorted(id2label, key=int)]
    cols = {}
    for col, name in enumerate(names):
        low = name.lower()
        key = ("entailment" if "entail" in low else "contradiction" if "contra" in low
               else "neutral" if "neutral" in low else None)
        if key in cols:
            raise LabelOrderError(f"model labels {names}: {names[cols[key]]!r} and {name!r} both read as {key!r}. "
                                  "Set `models.nli.label_order` in the config to the model's label names in id order.")
        if key:
            cols[key] = col
    missing = [c for c in CANONICAL if c not in cols]
    if missing or len(names) != 3:
        raise LabelOrderError(
            f"cannot map model labels {names} to {CANONICAL} (missing {missing}). Set "
            "`models.nli.label_order` in the config to the model's label names in id order."
        )
    return [cols[c] for c in CANONICAL]


def verify_label_order(probs: np.ndarray) -> None:
    """probs: canonical-order probabilities for PROBES. Entailed probes must beat contradicted ones."""
    ent = [i for i, p in enumerate(PROBES) if p[2] == "entailment"]
    con = [i for i, p in enumerate(PROBES) if p[2] == "contradiction"]
    ok_e = probs[ent, 1].mean() > probs[con, 1].mean()
    ok_c = probs[con, 0].mean() > probs[ent, 0].mean()
    if not (ok_e and ok_c):
        raise LabelOrderError(
            "NLI label order check failed: on known pairs the model's 'entailment' column does not score "
            f"entailed pairs higher (P(entail) entailed={probs[ent, 1].mean():.2f}, "
            f"contradicted={probs[con, 1].mean():.2f}). The model's id2label is probably wrong: set "
            "`models.nli.label_order` in the config."
        )


def pair_probs(model, tok, pairs: Sequence[tuple[str, str]], batch_size: int, max_length: int,
               device: str = "cpu", truncation: str = "longest_first") -> np.ndarray:
    """Softmax of a sequence-classification cross-encoder over (premise, hypothesis) pairs, in the pairs' order
    (batched, sorted by length inside so padding stays short). Columns are the model's own label ids."""
    import torch

    out = None
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tok([pairs[i][0] for i in idx], [pairs[i][1] for i in idx], padding=True, truncation=truncation,
                  max_length=max_length, return_tensors="pt")
        with torch.inference_mode():
            logits = model(**{k: v.to(device) for k, v in enc.items()}).logits
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        if out is None:
            out = np.zeros((len(pairs), probs.shape[1]), dtype=np.float32)
        out[idx] = probs
    return out if out is not None else np.zeros((0, 3), dtype=np.float32)


class NLIModel:
    """Transformers cross-encoder on CPU (or the configured device). Cheap constructor; `setup()` loads."""

    def __init__(self, path: str | Path, device: str = "cpu", max_length: int = 256,
                 label_order: Sequence[str] | None = None, batch_size: int = 32, quantize: str = "none",
                 premise_sentences: int = 0) -> None:
        self.path = str(path)
        self.premise_sentences = premise_sentences
        self.quantize = quantize
        self.device = device
        self.max_length = max_length
        self.label_order = label_order
        self.batch_size = batch_size
        self._model = None
        self._tok = None
        self._cols: list[int] = []

    @property
    def model_id(self) -> str:
        return (self.path + ("#int8" if self.quantize == "int8" else "")
                + (f"#window{self.premise_sentences}" if self.premise_sentences else ""))

    def setup(self) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if not (Path(self.path).exists() or "/" in self.path):
            raise FileNotFoundError(
                f"NLI model not found at {self.path}. Run `make demo` (or `bidirag models prepare`) "
                "to prepare models, or set `models.nli.path` to a cross-encoder folder."
            )
        self._tok = AutoTokenizer.from_pretrained(self.path)
        self._model = AutoModelForSequenceClassification.from_pretrained(
            self.path, dtype=torch.float32).to(self.device).eval()
        if self.quantize == "int8":
            if self.device != "cpu":
                raise ValueError("models.nli.quantize=int8 is a CPU option; use device cpu or quantize none")
            self._model = torch.ao.quantization.quantize_dynamic(self._model, {torch.nn.Linear}, dtype=torch.qint8)
        self._cols = canonical_index(self._model.config.id2label, self.label_order)
        verify_label_order(self.predict([(p, h) for p, h, _ in PROBES]))

    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Canonical-order probabilities, shape (n, 3), same order as `pairs`. Sorted by length inside."""
        if self._model is None:
            raise RuntimeError("NLIModel.setup() must be called before predict()")
        if self.premise_sentences:
            from bidirag.text import premise_window

            pairs = [(premise_window(p, h, self.premise_sentences), h) for p, h in pairs]
        probs = pair_probs(self._model, self._tok, pairs, self.batch_size, self.max_length, self.device)
        return probs[:, self._cols] if len(pairs) else np.zeros((0, 3), dtype=np.float32)

    def teardown(self) -> None:
        self._model = None
        self._tok = None
