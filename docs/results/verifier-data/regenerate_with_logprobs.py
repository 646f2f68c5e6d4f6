"""Re-generate saved verifier answers with token logprobs (and optionally reversed doc order)."""
import gzip, json, os, sys, time
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
sys.path.insert(0, "/work/main")
if __name__ == "__main__":
    from vllm import LLM, SamplingParams
    from transformers import AutoTokenizer
    from bidirag.models.generator import Prompt, render_user, SYSTEM, finish_answer
    src, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]  # mode: same | reverse
    rows = []
    for f in src.split(","):
        op = gzip.open if f.endswith(".gz") else open
        rows += [json.loads(l) for l in op(f, "rt")]
    path = "/work/main/.cache/models/qwen2.5-coder-0.5b-instruct"
    tok = AutoTokenizer.from_pretrained(path)
    def render(q, docs):
        msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": render_user(Prompt(q, docs), 700)}]
        return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) + "According to ["
    texts = [render(r["question"], r["docs"][::-1] if mode == "reverse" else r["docs"]) for r in rows]
    llm = LLM(model=path, dtype="bfloat16", max_model_len=2048, enforce_eager=True, seed=0, enable_prefix_caching=True)
    sp = SamplingParams(temperature=0, max_tokens=48, seed=0, logprobs=1)
    done = set()
    if os.path.exists(out):
        done = {json.loads(l)["query_id"] for l in open(out)}
    t0 = time.time()
    with open(out, "a") as fo:
        for s in range(0, len(rows), 64):
            idx = [i for i in range(s, min(s + 64, len(rows))) if rows[i]["query_id"] not in done]
            if not idx:
                continue
            res = llm.generate([texts[i] for i in idx], sp, use_tqdm=False)
            for i, r in zip(idx, res):
                o = r.outputs[0]
                toks, lps, alts = [], [], []
                for tid, d in zip(o.token_ids, o.logprobs or []):
                    lp = d[tid]
                    toks.append(lp.decoded_token); lps.append(lp.logprob)
                    others = [v.logprob for k, v in d.items() if k != tid]
                    alts.append(max(others) if others else None)
                fo.write(json.dumps({"query_id": rows[i]["query_id"], "answer": finish_answer("According to [" + o.text),
                                     "same_as_saved": finish_answer("According to [" + o.text) == rows[i]["answer"],
                                     "tokens": toks, "logprobs": lps, "alt": alts}) + "\n")
            fo.flush()
            print(f"{s + len(idx)}/{len(rows)} {time.time() - t0:.0f}s", flush=True)
