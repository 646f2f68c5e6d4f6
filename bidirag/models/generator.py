"""Generator handlers. The prompt numbers retrieved docs [1]..[k] and asks for a short cited answer.

The transformers backend decodes greedily in batches (left padding, prompts sorted by length); outputs
come back in input order. Small instruct models rarely cite on their own, so the assistant turn is
primed with a configurable prefix (default "According to [") which makes every answer name a source
that the attribution check can then verify — it does not make the citation correct.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SYSTEM = ("You answer questions using only the numbered documents. Reply with one short factual "
          "sentence and cite the document you used, for example [1] or [2].")


@dataclass
class Prompt:
    question: str
    docs: list[str]
    warnings: list[str] = field(default_factory=list)


def render_user(p: Prompt, max_doc_chars: int = 1200) -> str:
    lines = ["Documents:"]
    for i, d in enumerate(p.docs, 1):
        lines.append(f"[{i}] {d[:max_doc_chars]}")
    if p.warnings:
        lines.append("\nPast answers to similar questions were rejected; avoid these mistakes:")
        lines += [f"- {w}" for w in p.warnings]
    lines.append(f"\nQuestion: {p.question}")
    return "\n".join(lines)


class TransformersGenerator:
    """Causal LM on CPU (or the configured device) through transformers; greedy by default."""

    def __init__(self, path: str | Path, device: str = "cpu", max_new_tokens: int = 48,
                 batch_size: int = 8, answer_prefix: str = "According to [", seed: int = 0,
                 temperature: float = 0.0, max_doc_chars: int = 1200, threads: int | None = None) -> None:
        self.path = str(path)
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.answer_prefix = answer_prefix
        self.seed = seed
        self.temperature = temperature
        self.max_doc_chars = max_doc_chars
        self.threads = threads
        self._model = None
        self._tok = None
        self._memo: dict[str, str] = {}   # greedy decoding is deterministic: never decode a prompt twice

    @property
    def model_id(self) -> str:
        return Path(self.path).name

    def setup(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not Path(self.path).exists() and "/" not in self.path:
            raise FileNotFoundError(
                f"generator not found at {self.path}. Run `bidirag models prepare` (part of `make demo`) "
                "or set `models.generator.path` to an HF causal-LM folder.")
        if self.threads:
            torch.set_num_threads(self.threads)
        self._tok = AutoTokenizer.from_pretrained(self.path)
        self._tok.padding_side = "left"
        if self._tok.pad_token is None:
            self._tok.pad_token = self._tok.eos_token
        self._model = AutoModelForCausalLM.from_pretrained(self.path, dtype=torch.float32).to(self.device)
        self._model.eval()

    def render(self, p: Prompt) -> str:
        msgs = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": render_user(p, self.max_doc_chars)}]
        text = self._tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return text + self.answer_prefix

    def generate(self, prompts: Sequence[Prompt]) -> list[str]:
        import torch

        if self._model is None:
            raise RuntimeError("TransformersGenerator.setup() must be called before generate()")
        texts = [self.render(p) for p in prompts]
        out: list[str] = [""] * len(texts)
        greedy = self.temperature <= 0
        todo = [i for i in range(len(texts)) if not (greedy and texts[i] in self._memo)]
        for i in set(range(len(texts))) - set(todo):
            out[i] = self._memo[texts[i]]
        order = sorted(todo, key=lambda i: len(texts[i]))
        torch.manual_seed(self.seed)
        for s in range(0, len(order), self.batch_size):
            idx = order[s:s + self.batch_size]
            enc = self._tok([texts[i] for i in idx], return_tensors="pt", padding=True).to(self.device)
            kw = {"do_sample": False} if self.temperature <= 0 else {"do_sample": True,
                                                                      "temperature": self.temperature}
            with torch.inference_mode():
                gen = self._model.generate(**enc, max_new_tokens=self.max_new_tokens,
                                           pad_token_id=self._tok.pad_token_id, **kw)
            new = gen[:, enc["input_ids"].shape[1]:]
            for i, seq in zip(idx, self._tok.batch_decode(new, skip_special_tokens=True), strict=True):
                out[i] = finish_answer(self.answer_prefix + seq)
                if greedy and len(self._memo) < 200_000:
                    self._memo[texts[i]] = out[i]
        return out

    def teardown(self) -> None:
        self._model = None
        self._tok = None


def finish_answer(text: str) -> str:
    """Keep the first paragraph and cut a trailing unfinished sentence when a complete one exists."""
    text = text.strip().split("\n\n")[0].strip()
    if text and text[-1] not in ".!?\"'" and "." in text[:-1]:
        cut = text.rfind(". ")
        if cut > 0:
            text = text[:cut + 1]
    return text
