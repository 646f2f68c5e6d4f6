"""Evidence selection on the eval, paired: the same test queries answered with whole docs and with each doc cut to
its K sentences that best match the question (`models.generator.evidence_sentences`).

Both eval runs must be of the same split, seeds and sizes (so the same test queries); only the setting differs:

    make eval EVAL_SYSTEMS=standard,bidirectional                  # -> runs/eval (whole docs, the default)
    .venv/bin/bidirag eval --out runs/eval-evidence --systems standard --set models.generator.evidence_sentences=2
    .venv/bin/python -m bench.evidence_eval --base runs/eval --evidence runs/eval-evidence \
        --out bench/results/DATE-evidence-eval

Per query (system `standard`, paired by query id): F1, answer-contains-gold, answer coverage and the characters
of evidence the generator was shown; per seed: the answering phase's wall seconds. Differences are paired with a
95% bootstrap interval (2,000 resamples, seed 0) via `metrics.paired_bootstrap`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bidirag.evaluation.metrics import paired_bootstrap

METRICS = ("f1", "answer_contains_gold", "answer_coverage", "evidence_chars")


def _results(root: Path, system: str) -> dict[int, dict]:
    out = {}
    for f in sorted(root.glob(f"seed-*/{system}.result.json")):
        r = json.loads(f.read_text())
        out[int(r["seed"])] = r
    if not out:
        raise SystemExit(f"no {system} results under {root} (expected seed-N/{system}.result.json from `bidirag eval`)")
    return out


def compare(base: Path, evidence: Path, system: str = "standard") -> dict:
    a, b = _results(evidence, system), _results(base, system)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise SystemExit(f"the two runs share no seed: {sorted(a)} vs {sorted(b)}")
    pairs = []
    for s in seeds:
        qa = {q["qid"]: q for q in a[s]["per_query"]}
        qb = {q["qid"]: q for q in b[s]["per_query"]}
        if set(qa) != set(qb):
            raise SystemExit(f"seed {s}: the runs answered different test queries (different sizes or split?)")
        missing = [k for k in ("evidence_chars",) if k not in next(iter(qa.values()))]
        if missing:
            raise SystemExit(f"{evidence}: results lack {missing}; re-run the eval with this version of bidirag")
        pairs += [(qa[k], qb[k]) for k in sorted(qa)]
    res = {"system": system, "seeds": seeds, "queries": len(pairs), "paired": {}, "means": {},
           "answer_seconds": {}}
    for m in METRICS:
        res["paired"][m] = paired_bootstrap([x[m] for x, _ in pairs], [y[m] for _, y in pairs])
        res["means"][m] = {"evidence": sum(x[m] for x, _ in pairs) / len(pairs),
                           "whole": sum(y[m] for _, y in pairs) / len(pairs)}
    for name, r in (("evidence", a), ("whole", b)):
        res["answer_seconds"][name] = round(sum(r[s]["seconds"]["answer"] for s in seeds), 1)
    for name, root in (("evidence", evidence), ("whole", base)):   # what each run was (commit, settings)
        prov = root / "eval.json"
        if prov.is_file():
            p = json.loads(prov.read_text()).get("protocol", {})
            res.setdefault("protocols", {})[name] = {k: p.get(k) for k in ("generator", "git_commit", "config_hash",
                                                                          "split", "top_k", "written_extra",
                                                                          "calibration_file")}
    return res


def _split_line(res: dict) -> str:
    prot = res.get("protocols", {}).get("evidence", {})
    return (f"Reported on the **{prot.get('split', '?')}** split; thresholds from "
            f"{prot.get('calibration_file') or 'the configs'} (chosen on the calibrate split). Standard RAG writes "
            "nothing, so no threshold affects these answers. K = 2 came from the model-free evidence probe "
            "(gold-answer retention over all rag_eval questions, both splits), not from answers on this split.")


def report(res: dict) -> str:
    p, m = res["paired"], res["means"]
    lines = [f"# Evidence selection on the eval (system {res['system']}, seeds {res['seeds']}, "
             f"{res['queries']} test queries, paired)", "", _split_line(res), "",
             "| metric | whole docs | evidence selection | Δ (95% bootstrap) | distinguishable from 0 |",
             "|---|---|---|---|---|"]
    for k in METRICS:
        scale = 1 if k == "evidence_chars" else 100
        d = p[k]
        lines.append(f"| {k} | {m[k]['whole'] * scale:.1f} | {m[k]['evidence'] * scale:.1f} | "
                     f"{d['mean_diff'] * scale:+.1f} [{d['low'] * scale:+.1f}, {d['high'] * scale:+.1f}] | "
                     f"{'yes' if d['distinguishable'] else 'no'} |")
    w, e = res["answer_seconds"]["whole"], res["answer_seconds"]["evidence"]
    lines += ["", f"Answering phase wall time (all seeds): whole docs {w} s, evidence selection {e} s "
              f"({e / w:.2f}×)." if w else ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, type=Path, help="eval dir answered with whole docs")
    ap.add_argument("--evidence", required=True, type=Path, help="eval dir answered with evidence selection")
    ap.add_argument("--system", default="standard")
    ap.add_argument("--out", type=Path, help="write OUT.json and OUT.md")
    args = ap.parse_args(argv)
    res = compare(args.base, args.evidence, args.system)
    text = report(res)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str) + "\n")
        args.out.with_suffix(".md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
