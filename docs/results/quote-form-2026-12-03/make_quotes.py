"""Quote form on a decision pool: for each read answer, the retrieved premise (a sentence, or two adjacent
sentences of one doc) that best entails the whole cleaned answer, by the configured NLI model.

Usage: python make_quotes.py READING.jsonl ANSWERS.jsonl.gz OUT.jsonl
READING: rows with query_id, question, doc (the sentence-form text read), trust, judgement;
ANSWERS: verifier_data rows (question, clean_text, docs) of the same queries.
"""
import gzip
import json
import sys

from bidirag.checks.sentence_grounding import sentence_premises
from bidirag.config import load_config
from bidirag.models import handlers

reading, answers, out = sys.argv[1:4]
read = [json.loads(line) for line in open(reading)]
op = gzip.open if answers.endswith(".gz") else open
by_q = {}
for line in op(answers, "rt"):
    r = json.loads(line)
    by_q.setdefault((r["query_id"], r["clean_text"]), r)
nli = handlers.nli(load_config("configs/default.yaml").models.nli)
pairs, spans = [], []
for r in read:
    a = by_q[(r["query_id"], r["doc"])]
    prem = sentence_premises(a["docs"])
    spans.append((len(pairs), prem))
    pairs += [(p, r["doc"]) for p in prem]
probs = nli.predict(pairs)
with open(out, "w") as f:
    for r, (start, prem) in zip(read, spans):
        ent = probs[start:start + len(prem), 1]
        singles = [i for i, p in enumerate(prem) if i < len(prem)]
        best = int(ent.argmax())
        f.write(json.dumps({"query_id": r["query_id"], "question": r["question"], "answer": r["doc"],
                            "quote": prem[best], "quote_entail": round(float(ent[best]), 4),
                            "trust": r.get("trust"), "sentence_judgement": r["judgement"]}) + "\n")
print("wrote", len(read))
