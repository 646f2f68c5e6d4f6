"""Where generation time goes: prefill vs decode, batch of one vs batched, for the epoch's real prompts.

The epoch-vs-paper-loop ratio is bounded by this split: batching removes the memory-bound cost of
decoding one sequence at a time, but the prompt tokens (prefill) cost the same compute either way.
Measured per query on the same prompts the epoch renders (top-k docs retrieved from the seed store):

- prefill: `max_new_tokens = 1` (one forward pass over the prompt plus one sampled token);
- full: the configured `max_new_tokens`;
- decode = full - prefill; both at batch 1 (first `single` queries) and batched (all queries).

Bound: if the batched pipeline removed every other cost, the paper loop (batch 1) could be at most
(full_b1 + other_b1) / prefill_batched times slower; we report the generation-only bound
full_b1 / full_batched and full_b1 / prefill_batched.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from bidirag.config import Config
from bidirag.models import handlers
from bidirag.models.generator import Prompt
from bidirag.stages.rag import prompt_docs
from bidirag.store import CORPUS, Store


def prompts_for(cfg: Config, queries: list[dict]) -> list[Prompt]:
    emb = handlers.embedder(cfg.models.embedder)
    st = Store.from_config(cfg.store, emb.dim)
    hits = st.search(st.table(CORPUS), emb.encode([q["text"] for q in queries]), cfg.retrieval.top_k)
    g = cfg.models.generator      # the prompts the epoch renders, evidence selection included
    return [Prompt(q["text"], prompt_docs(q["text"], [{"text": h.text} for h in hs], g))
            for q, hs in zip(queries, hits, strict=True)]


def profile(cfg: Config, queries: list[dict], single: int = 8, log=print) -> dict:
    gen = handlers.generator(cfg.models.generator)
    texts = [gen.render(p) for p in prompts_for(cfg, queries)]
    tokens = [len(gen._tok(t, add_special_tokens=False)["input_ids"]) for t in texts]
    full_len = gen.max_new_tokens

    def timed(batch: list[str], new_tokens: int) -> float:
        gen.max_new_tokens = new_tokens
        try:
            t = time.perf_counter()
            gen._decode(batch)        # the backend call itself: no memo, no clean-up
            return time.perf_counter() - t
        finally:
            gen.max_new_tokens = full_len

    def phase(run):
        # each phase starts with an empty prefix cache (vLLM): otherwise a phase would reuse the prompts the
        # phase before it computed; inside a phase, prompts share it as they do in the epoch
        gen.reset_cache()
        return run()

    timed(texts[:2], 2)               # warm-up (first call compiles / allocates)
    n1 = min(single, len(texts))
    b1_prefill = phase(lambda: sum(timed([t], 1) for t in texts[:n1])) / n1
    b1_full = phase(lambda: sum(timed([t], full_len) for t in texts[:n1])) / n1
    bb_prefill = phase(lambda: timed(texts, 1)) / len(texts)
    bb_full = phase(lambda: timed(texts, full_len)) / len(texts)
    res = {"backend": cfg.models.generator.backend, "queries": len(texts), "single_queries": n1,
           "batch_size": gen.batch_size, "max_new_tokens": full_len,
           "prompt_tokens_mean": round(statistics.mean(tokens), 1), "prompt_tokens_max": max(tokens),
           "batch1_prefill_s_per_query": round(b1_prefill, 4), "batch1_full_s_per_query": round(b1_full, 4),
           "batch1_decode_share": round(1 - b1_prefill / b1_full, 3),
           "batched_prefill_s_per_query": round(bb_prefill, 4), "batched_full_s_per_query": round(bb_full, 4),
           "batched_decode_share": round(1 - bb_prefill / bb_full, 3),
           "generation_speedup_batched": round(b1_full / bb_full, 2),
           "generation_speedup_bound_if_decode_were_free": round(b1_full / bb_prefill, 2)}
    log(f"[bench] generation profile {res['backend']}: " + json.dumps(res))
    return res


def main(argv=None) -> int:
    import shutil
    import tempfile
    from pathlib import Path

    from bench.run import ROOT, _cfg
    from bidirag.data.querylog import DeadLetter, read_log
    from bidirag.ingest import ingest

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default="transformers")
    ap.add_argument("--queries", type=int, default=64)
    ap.add_argument("--single", type=int, default=8)
    ap.add_argument("--corpus", default="data/squad/corpus.parquet")
    ap.add_argument("--log", default="data/squad/queries.jsonl")
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bidirag-genprof-"))
    try:
        cfg = _cfg(work / "store", work / "runs", args.backend, args.set)
        ingest(cfg, ROOT / args.corpus, progress=False)
        queries = list(read_log(ROOT / args.log, DeadLetter(None)))[:args.queries]
        print(json.dumps(profile(cfg, queries, args.single), indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
