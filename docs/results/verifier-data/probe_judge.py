"""Probe: does the generator, asked 'does the passage show this answer is correct?', separate right from wrong?"""
import sys, json, os, math, time, gzip
sys.path.insert(0, "/work/main")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
from bidirag.training.train_trust import read_rows
from bidirag.training.train_verifier import is_dev
from bidirag.text import content_words, split_sentences, stem
D = "/work/main/docs/results/verifier-data/"
rows = read_rows([D+"qwen-nli_train-seed7-0-800.answers.jsonl.gz", D+"qwen-nli_train-seed7-800-2200.answers.jsonl.gz"])
which = sys.argv[1]   # dev | all
out = sys.argv[2]
if which == "dev":
    rows = [r for r in rows if is_dev(r)]
done = set()
if os.path.exists(out):
    done = {json.loads(l)["query_id"] for l in open(out)}
rows = [r for r in rows if r["query_id"] not in done]
def evidence(r, k=3):
    q = {stem(w) for w in content_words(r["question"])}
    a = {stem(w) for w in content_words(r["clean_text"])} - q
    sents = [s for d in r["docs"] for s in split_sentences(d)]
    if not sents: return ""
    ss = [{stem(w) for w in content_words(s)} for s in sents]
    qov = [len(q & s) for s in ss]
    pick = sorted(range(len(sents)), key=lambda i: (-qov[i], i))[:k]
    best = max(range(len(sents)), key=lambda i: (len(a & ss[i]), qov[i], -i))
    pick = sorted(set(pick) | {best})
    return " ".join(sents[i] for i in pick)
def main():
    from vllm import LLM, SamplingParams
    from transformers import AutoTokenizer
    P = "/work/main/.cache/models/qwen2.5-coder-0.5b-instruct"
    tok = AutoTokenizer.from_pretrained(P)
    llm = LLM(model=P, dtype="bfloat16", max_model_len=2048, enforce_eager=True, seed=0, enable_prefix_caching=True)
    yes_ids = {tok.encode(w, add_special_tokens=False)[0] for w in ["yes", "Yes", " yes", " Yes", "YES"]}
    no_ids = {tok.encode(w, add_special_tokens=False)[0] for w in ["no", "No", " no", " No", "NO"]}
    def prompt(r):
        msgs = [{"role": "system", "content": "You are a careful fact checker."},
                {"role": "user", "content": f"Passage: {evidence(r)}\n\nQuestion: {r['question']}\nProposed answer: {r['clean_text']}\n\n"
                 "Using only the passage, is the proposed answer a correct answer to the question? Answer yes or no."}]
        return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    params = SamplingParams(temperature=0.0, max_tokens=1, logprobs=20)
    t = time.time()
    with open(out, "a") as fh:
        for b in range(0, len(rows), 64):
            batch = rows[b:b+64]
            res = llm.generate([prompt(r) for r in batch], params, use_tqdm=False)
            for r, o in zip(batch, res):
                step = o.outputs[0].logprobs[0]
                py = sum(math.exp(v.logprob) for k, v in step.items() if k in yes_ids)
                pn = sum(math.exp(v.logprob) for k, v in step.items() if k in no_ids)
                fh.write(json.dumps({"query_id": r["query_id"], "p_yes": py, "p_no": pn, "correct": bool(r["correct"])}) + "\n")
            fh.flush()
            print(b + len(batch), "of", len(rows), round(time.time() - t), "s", flush=True)

if __name__ == '__main__':
    main()
