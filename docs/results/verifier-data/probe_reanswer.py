"""Probe: a second, extractive answer from the focused evidence; does it agree with the long answer?"""
import sys, json, os, time
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
sys.path.insert(0, "/work/main")
from bidirag.training.train_trust import read_rows
from bidirag.training.train_verifier import is_dev
from bidirag.text import judge_evidence

def main():
    from vllm import LLM, SamplingParams
    from transformers import AutoTokenizer
    rows = read_rows(["/work/main/docs/results/verifier-data/qwen-nli_train-seed7-selfcheck.answers.jsonl.gz"])
    which, out = sys.argv[1], sys.argv[2]
    if which == "dev":
        rows = [r for r in rows if is_dev(r)]
    done = {json.loads(l)["query_id"] for l in open(out)} if os.path.exists(out) else set()
    rows = [r for r in rows if r["query_id"] not in done]
    P = "/work/main/.cache/models/qwen2.5-coder-0.5b-instruct"
    tok = AutoTokenizer.from_pretrained(P)
    llm = LLM(model=P, dtype="bfloat16", max_model_len=2048, enforce_eager=True, seed=0, enable_prefix_caching=True)
    def prompt(r):
        msgs = [{"role": "system", "content": "Answer the question with a short phrase copied from the passage. Write only the phrase."},
                {"role": "user", "content": f"Passage: {judge_evidence(r['question'], r['clean_text'], r['docs'])}\n\nQuestion: {r['question']}"}]
        return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    params = SamplingParams(temperature=0.0, max_tokens=16)
    t = time.time()
    with open(out, "a") as fh:
        for b in range(0, len(rows), 64):
            batch = rows[b:b+64]
            res = llm.generate([prompt(r) for r in batch], params, use_tqdm=False)
            for r, o in zip(batch, res):
                fh.write(json.dumps({"query_id": r["query_id"], "short": o.outputs[0].text, "correct": bool(r["correct"])}) + "\n")
            fh.flush()
            print(b + len(batch), "of", len(rows), round(time.time() - t), "s", flush=True)

if __name__ == "__main__":
    main()
