"""Build model handlers from config. Handlers are cached per process so stages share one loaded model."""

from __future__ import annotations

import threading

from bidirag.config import EmbedderConfig, GeneratorConfig, NLIConfig, VerifierConfig
from bidirag.models.timing import instrument

_CACHE: dict[str, object] = {}
_LOCK = threading.Lock()


def _cached(key: str, make):
    with _LOCK:
        if key not in _CACHE:
            h = make()
            h.setup()
            instrument(h, key.split(":", 1)[0])
            _CACHE[key] = h
        return _CACHE[key]


def embedder(cfg: EmbedderConfig):
    def make():
        if cfg.backend == "fake":
            from bidirag.models.fakes import FakeEmbedder

            return FakeEmbedder()
        from bidirag.models.embedder import Embedder
        from bidirag.models.prepare import embedder_dir

        return Embedder(cfg.path or embedder_dir(), device=cfg.device, batch_size=cfg.batch_size)

    return _cached("embedder:" + cfg.model_dump_json(), make)


def generator(cfg: GeneratorConfig):
    def make():
        if cfg.backend == "fake":
            from bidirag.models.fakes import FakeGenerator

            return FakeGenerator(stop_at_first_sentence=cfg.stop_at_first_sentence)
        from bidirag.models import generator as g
        from bidirag.models.prepare import generator_dir

        cls = {"transformers": g.TransformersGenerator, "vllm": g.VLLMGenerator,
               "openai": g.OpenAIGenerator}[cfg.backend]
        return cls(cfg.path or generator_dir(name=cfg.name), max_new_tokens=cfg.max_new_tokens,
                   batch_size=cfg.batch_size, answer_prefix=cfg.answer_prefix, seed=cfg.seed,
                   temperature=cfg.temperature, stop_at_first_sentence=cfg.stop_at_first_sentence,
                   max_doc_chars=cfg.max_doc_chars, device=cfg.device, dtype=cfg.dtype,
                   max_model_len=cfg.max_model_len, kv_cache_gb=cfg.kv_cache_gb,
                   prefix_caching=cfg.prefix_caching, omp_threads_bind=cfg.omp_threads_bind, endpoint=cfg.endpoint,
                   model_name=cfg.model_name, api_key_env=cfg.api_key_env,
                   request_timeout_s=cfg.request_timeout_s)

    # evidence selection and whether to self-check are the Generate stage's: neither needs another engine
    return _cached("generator:" + cfg.model_dump_json(exclude={"evidence_sentences", "self_check"}), make)


def nli(cfg: NLIConfig):
    def make():
        if cfg.backend == "fake":
            from bidirag.models.fakes import FakeNLI

            return FakeNLI()
        from bidirag.models.nli import NLIModel
        from bidirag.paths import shipped_nli_dir

        return NLIModel(cfg.path or shipped_nli_dir(), device=cfg.device, max_length=cfg.max_length,
                        label_order=cfg.label_order, batch_size=cfg.batch_size, quantize=cfg.quantize,
                        premise_sentences=cfg.premise_sentences)

    return _cached("nli:" + cfg.model_dump_json(), make)


def verifier(cfg: VerifierConfig):
    def make():
        if cfg.backend == "fake":
            from bidirag.models.fakes import FakeVerifier

            return FakeVerifier()
        from bidirag.models.verifier import AnswerVerifier
        from bidirag.paths import shipped_verifier_dir

        return AnswerVerifier(cfg.path or shipped_verifier_dir(), device=cfg.device, max_length=cfg.max_length,
                              batch_size=cfg.batch_size)

    return _cached("verifier:" + cfg.model_dump_json(), make)


def forget_outputs() -> None:
    """Drop memoised model outputs (models stay loaded), so a timed run pays for its own generation."""
    with _LOCK:
        for h in _CACHE.values():
            forget = getattr(h, "forget", None)
            if forget is not None:
                forget()


def clear() -> None:
    with _LOCK:
        for h in _CACHE.values():
            h.teardown()
        _CACHE.clear()
