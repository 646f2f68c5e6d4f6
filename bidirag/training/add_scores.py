"""Add the scores of one or more checks to existing labeled answer files, without generating the answers again.

A check added after `python -m bidirag.training.verifier_data` produced its labeled answers (e.g.
`sentence_grounding`) has no score in those rows, so the trust model cannot be trained to read it. This scores
every row's answer (`clean_text`) against its retrieved `docs` with the named checks, exactly as Validate would
(the same `run_checks`, NLI pairs of a chunk in one batched call), and writes the rows with `scores[check]` set.
Checks that read the store's nearest doc or other checks' scores (novelty, trust) are refused: their inputs are
not in the rows. Progress on stderr.

    python -m bidirag.training.add_scores --checks sentence_grounding \\
        --data docs/results/verifier-data/qwen-nli_train-seed7-selfcheck.answers.jsonl.gz --out OUT.answers.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

from bidirag import checks
from bidirag.config import load_config
from bidirag.models import handlers
from bidirag.stages.validate import run_checks
from bidirag.text import cited_numbers, split_sentences
from bidirag.training.train_trust import read_rows

REFUSED = ("novelty", "trust")     # read the store's nearest doc / the other checks' scores, not in the rows


def lazy_embedder(cfg):
    """The configured embedder's `encode`, loaded on first use (most checks never embed)."""
    state = {}

    def encode(texts):
        if "emb" not in state:
            from bidirag.stages.rag import load_embedder

            state["emb"] = load_embedder(cfg)
        return state["emb"].encode(texts)
    return encode


def add_scores(rows: list[dict], names: list[str], cfg, nli, chunk: int = 64, progress=None, embed=None) -> None:
    """Set `row["scores"][name]` for every row and check name (in place). `embed`: the embedder's encode, for
    checks that compare query and answer vectors (relevance); default: the configured one, loaded if asked for."""
    embed = embed or lazy_embedder(cfg)
    bad = [n for n in names if n in REFUSED]
    if bad:
        raise ValueError(f"check(s) {bad} cannot be scored from answer rows alone (they read the store's vectors "
                         "or other checks' scores); regenerate the rows with verifier_data instead")
    for n in names:
        checks.get(n)          # unknown name: KeyError naming the registered checks
    th = {n: 0.0 for n in names}
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        texts = [r["clean_text"] for r in part]
        ctx = checks.CheckContext(
            records=[dict(r) for r in part], queries=[r["question"] for r in part], answers=[r["answer"] for r in part],
            texts=texts, sentences=[split_sentences(t) if t.strip() else [] for t in texts],
            docs=[list(r["docs"]) for r in part], cited=[cited_numbers(r["answer"]) for r in part],
            acceptance=cfg.acceptance, nli=nli, cfg=cfg, embed=embed)
        for r, rec, (s, _) in zip(part, ctx.records, run_checks(ctx, names, th), strict=True):
            r["scores"].update({k: round(v, 4) for k, v in s.items()})
            if "source" in rec:             # what the source check found (writeback.form: quote)
                r["source"] = rec["source"]
        if progress:
            progress(min(start + chunk, len(rows)), len(rows))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checks", required=True, help="comma-separated check names, e.g. sentence_grounding")
    ap.add_argument("--data", nargs="+", required=True, help="answers.jsonl[.gz] files of verifier_data")
    ap.add_argument("--out", required=True, help="output .jsonl or .jsonl.gz")
    ap.add_argument("--config", default="configs/default.yaml")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.checks.split(",") if n.strip()]
    cfg = load_config(args.config)
    try:
        rows = read_rows(args.data, need=("query_id", "question", "answer", "clean_text", "docs", "scores"))
        nli = handlers.nli(cfg.models.nli)
        t0 = time.time()

        def progress(done, total):
            print(f"\rscored {done}/{total} answers ({time.time() - t0:.0f} s)", end="", file=sys.stderr, flush=True)

        add_scores(rows, names, cfg, nli, progress=progress)
    except (ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(file=sys.stderr)
    out = Path(args.out)
    opener = gzip.open if out.suffix == ".gz" else open
    tmp = out.with_name(out.name + ".tmp")
    with opener(tmp, "wt", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    tmp.replace(out)
    print(f"wrote {len(rows)} rows with {', '.join(names)} to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
