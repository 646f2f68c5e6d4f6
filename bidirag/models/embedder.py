"""Sentence embedder handler (sentence-transformers); vectors are L2-normalised so cosine = dot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


class Embedder:
    def __init__(self, path: str | Path, device: str = "cpu", batch_size: int = 64) -> None:
        self.path = str(path)
        self.device = device
        self.batch_size = batch_size
        self._model = None

    @property
    def model_id(self) -> str:
        return Path(self.path).parent.name if Path(self.path).name == "model" else self.path

    @property
    def dim(self) -> int:
        if self._model is None:
            raise RuntimeError("Embedder.setup() must be called first")
        return int(self._model.get_embedding_dimension())

    def setup(self) -> None:
        from sentence_transformers import SentenceTransformer

        if not (Path(self.path).exists() or "/" in self.path):
            raise FileNotFoundError(f"embedder not found at {self.path}; set `models.embedder.path`.")
        self._model = SentenceTransformer(self.path, device=self.device)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("Embedder.setup() must be called first")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False)
        return vecs.astype(np.float32)

    def teardown(self) -> None:
        self._model = None
