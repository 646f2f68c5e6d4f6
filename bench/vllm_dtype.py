"""vLLM on this CPU: bf16 vs fp32 for the same synthetic ~400-token prompt (why `models.generator.dtype: auto`).

`python -m bench.vllm_dtype float32` then `... bfloat16` (one engine per process). Prints batch-1 s/query
(48 new tokens), prefill-only seconds (1 new token, prefix cache reset) and s/query at batch 16.
"""

import os
import sys
import time

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def main() -> None:
    from vllm import LLM, SamplingParams

    from bidirag.models.prepare import generator_dir

    dtype = sys.argv[1] if len(sys.argv) > 1 else "float32"
    llm = LLM(model=str(generator_dir()), dtype=dtype, max_model_len=2048, enforce_eager=True, seed=0)
    doc = "The Super Bowl 50 was an American football game to determine the champion. " * 25
    p = [f"Documents:\n[1] {doc}\nQuestion: who won {i}?" for i in range(16)]
    sp = SamplingParams(temperature=0, max_tokens=48)
    llm.generate(p[:1], sp, use_tqdm=False)
    t = time.time()
    llm.generate(p[1:2], sp, use_tqdm=False)
    b1 = time.time() - t
    llm.reset_prefix_cache()
    t = time.time()
    llm.generate(p[2:3], SamplingParams(temperature=0, max_tokens=1), use_tqdm=False)
    pf = time.time() - t
    llm.reset_prefix_cache()
    t = time.time()
    llm.generate(p, sp, use_tqdm=False)
    bb = (time.time() - t) / len(p)
    print(f"RESULT {dtype}: batch1 {b1:.2f} s/q, prefill-only {pf:.2f} s, batch16 {bb:.2f} s/q", flush=True)


if __name__ == "__main__":
    main()
