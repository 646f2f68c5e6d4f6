"""Answer verifier handler: (evidence, "Question: q Answer: a") -> P(the answer is correct).

A cross-encoder bidirag trains on its generator's own answers to `nli_train` SQuAD questions, labeled by their
gold answers (`bidirag models train-verifier`): it learns that generator's failure modes (a true sentence
that does not answer, a swapped entity or date) that an NLI model entails. Its head is the NLI model's
3-way head (training starts from the shipped NLI model): correct = entailment, wrong = contradiction, so
P(correct) = p_entail / (p_entail + p_contradiction).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bidirag.models.nli import pair_probs
from bidirag.text import premise_window


def p_correct(probs: np.ndarray) -> np.ndarray:
    """P(correct) from the 3-way head (columns contradiction, entailment, neutral): entail / (entail + contra)."""
    if len(probs) == 0:
        return np.zeros(0, dtype=np.float32)
    return (probs[:, 1] / np.maximum(probs[:, 1] + probs[:, 0], 1e-9)).astype(np.float32)


def verifier_input(question: str, answer: str, docs: Sequence[str], sentences: int = 2) -> tuple[str, str]:
    """The evidence (each doc cut to its `sentences` sentences closest to question + answer) and the claim."""
    claim = f"Question: {question} Answer: {answer}"
    evidence = " | ".join(premise_window(d, f"{question} {answer}", sentences) for d in docs)
    return evidence, claim


class AnswerVerifier:
    """Cheap constructor; `setup()` loads the weights."""

    def __init__(self, path: str | Path, device: str = "cpu", max_length: int = 384, batch_size: int = 16,
                 sentences: int = 2) -> None:
        self.path, self.device, self.max_length = str(path), device, max_length
        self.batch_size, self.sentences = batch_size, sentences
        self._model = self._tok = None

    @property
    def model_id(self) -> str:
        return self.path

    def setup(self) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if not Path(self.path, "config.json").exists():
            raise FileNotFoundError(f"answer verifier not found at {self.path}: train it with `bidirag models "
                                    "train-verifier`, or take `verifier` out of acceptance.checks")
        self._tok = AutoTokenizer.from_pretrained(self.path)
        self._model = AutoModelForSequenceClassification.from_pretrained(self.path, dtype=torch.float32)
        self._model.to(self.device).eval()

    def predict(self, items: Sequence[tuple[str, str, Sequence[str]]]) -> np.ndarray:
        """P(correct) for (question, answer, docs) items, in order; batched, sorted by length inside."""
        pairs = [verifier_input(q, a, d, self.sentences) for q, a, d in items]
        return p_correct(pair_probs(self._model, self._tok, pairs, self.batch_size, self.max_length, self.device,
                                    truncation="only_first"))

    def teardown(self) -> None:
        self._model = self._tok = None
