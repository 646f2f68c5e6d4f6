"""Deterministic fakes for unit tests ONLY (chosen by config `backend: fake`; never a default).

FakeEmbedder: hashed bag of words (sha256, never the salted hash()), L2-normalised.
FakeGenerator: first sentence of doc [1], cited as [1]; a question containing "unanswerable" gets an
uncited answer so tests can exercise the attribution check.
FakeNLI: P(entail) = share of hypothesis words found in the premise.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from bidirag.models.generator import Answer, Prompt

_WORD = re.compile(r"[a-z0-9]+")


class _Lifecycle:
    """Fakes hold no model: construction, setup and teardown do nothing."""

    def __init__(self, **_: object) -> None:
        pass

    def setup(self) -> None:
        pass

    def teardown(self) -> None:
        pass


class FakeEmbedder:
    model_id = "fake-embedder"

    def __init__(self, dim: int = 384, **_: object) -> None:
        self._dim = dim

    @property
    def dim(self) -> int:
        return self._dim

    def setup(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in _WORD.findall(t.lower()):
                h = int(hashlib.sha256(w.encode()).hexdigest()[:8], 16)
                out[i, h % self._dim] += 1.0
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n else out[i]
            if not n:
                out[i, 0] = 1.0
        return out


class FakeGenerator(_Lifecycle):
    model_id = "fake-generator"

    def __init__(self, stop_at_first_sentence: bool = False, **_: object) -> None:
        self.stop_at_first_sentence = stop_at_first_sentence   # its answers are one sentence anyway
        self.answered = 0              # prompts answered by this instance (tests count generation work)

    def forget(self, engine_cache: bool = True) -> None:
        """No memo to drop (the fake is a pure function)."""

    def answer(self, prompts: Sequence[Prompt]) -> list[Answer]:
        """`generate`'s answers; confidence: log-probability -1 per answer word the docs lack, -0.1 otherwise."""
        out = []
        for p, text in zip(prompts, self.generate(prompts), strict=True):
            have = set(_WORD.findall(" ".join(p.docs).lower()))
            lps = [-0.1 if w in have else -1.0 for w in _WORD.findall(text.lower())] or [-1.0]
            low = sorted(lps)[:3]
            out.append(Answer(text, {"lp_cite": -0.1, "lp_min": min(lps), "lp_mean3low": sum(low) / len(low),
                                     "lp_sum": sum(lps), "margin_min": 2.0 + min(lps)}))
        return out

    def reanswer(self, items) -> list[str]:
        """Self-check: the last three words of the evidence's first sentence that shares a word with the question."""
        out = []
        for question, evidence in items:
            q = set(_WORD.findall(question.lower()))
            sents = re.split(r"(?<=[.!?])\s+", evidence.strip())
            best = next((s for s in sents if set(_WORD.findall(s.lower())) & q), sents[0] if sents else "")
            out.append(" ".join(best.rstrip(".!?").split()[-3:]))
        return out

    def generate(self, prompts: Sequence[Prompt]) -> list[str]:
        self.answered += len(prompts)
        out = []
        for p in prompts:
            doc = p.docs[0] if p.docs else "No documents."
            first = re.split(r"(?<=[.!?])\s+", doc.strip())[0]
            out.append(first if "unanswerable" in p.question.lower() else f"{first} [1]")
        return out


    def complete(self, conversations, prefix: str = "") -> list[str]:
        """Distiller prompts: return the sentences of the user message that share a word with its first line."""
        out = []
        for conv in conversations:
            user = conv[-1]["content"]
            lines = [ln for ln in user.splitlines() if ln.strip()]
            q = set(_WORD.findall(lines[0].lower())) if lines else set()
            sents = [s for ln in lines[1:] for s in re.split(r"(?<=[.!?])\s+", re.sub(r"^\[\d+\]\s*|^- ", "", ln))
                     if set(_WORD.findall(s.lower())) & q and len(s) > 20]
            out.append(prefix + " ".join(dict.fromkeys(sents[:3])))
        return out


class FakeVerifier(_Lifecycle):
    """P(correct) = share of the answer's words found in the docs."""

    model_id = "fake-verifier"

    def predict(self, items) -> np.ndarray:
        out = np.zeros(len(items), dtype=np.float32)
        for i, (_q, a, docs) in enumerate(items):
            have = set(_WORD.findall(" ".join(docs).lower()))
            words = _WORD.findall(a.lower())
            out[i] = sum(w in have for w in words) / len(words) if words else 0.0
        return out


class FakeNLI(_Lifecycle):
    model_id = "fake-nli"

    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        out = np.zeros((len(pairs), 3), dtype=np.float32)
        for i, (prem, hyp) in enumerate(pairs):
            pw, hw = set(_WORD.findall(prem.lower())), _WORD.findall(hyp.lower())
            ent = sum(w in pw for w in hw) / len(hw) if hw else 0.0
            out[i] = [(1 - ent) / 2, ent, (1 - ent) / 2]
        return out
