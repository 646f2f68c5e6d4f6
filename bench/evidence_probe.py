"""Evidence selection without a model (issue #23 item 3): how much of each prompt doc the cut removes, and how
often the cut of the GOLD paragraph still holds a gold answer, over the rag_eval questions.

An upper bound on what evidence selection can cost in accuracy (a generator cannot copy an answer the cut
removed) and the prompt-size saving, in seconds; the end-to-end effect on answers needs the eval
(`bidirag eval --set models.generator.evidence_sentences=K`, paired against the same run without).

    python -m bench.evidence_probe --out bench/results/<date>-evidence-probe.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from bidirag.data.squad import articles_for
from bidirag.text import contains_answer, doc_sentences, select_evidence


def probe(ks=(1, 2, 3), max_doc_chars: int = 700) -> dict:
    rows = [(q, a.paragraphs[q.paragraph_index]) for a in articles_for("rag_eval") for q in a.questions]
    out = {"questions": len(rows), "max_doc_chars": max_doc_chars,
           "sentences_per_paragraph_mean": round(statistics.mean(len(doc_sentences(p)) for _, p in rows), 2)}
    full_has = [contains_answer(p[:max_doc_chars], list(q.answers)) for q, p in rows]
    out["whole_doc"] = {"chars_in_prompt_mean": round(statistics.mean(min(len(p), max_doc_chars) for _, p in rows), 1),
                        "gold_answer_kept": round(sum(full_has) / len(rows), 4)}
    for k in ks:
        cut = [select_evidence(q.text, p, k) for q, p in rows]
        kept = [contains_answer(c[:max_doc_chars], list(q.answers)) for (q, _), c in zip(rows, cut, strict=True)]
        out[f"k{k}"] = {"chars_in_prompt_mean": round(statistics.mean(min(len(c), max_doc_chars) for c in cut), 1),
                        "gold_answer_kept": round(sum(kept) / len(rows), 4)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    res = probe()
    text = json.dumps(res, indent=1)
    if a.out:
        Path(a.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
