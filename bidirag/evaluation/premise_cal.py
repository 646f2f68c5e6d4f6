"""How well the premise check separates true from false claims, per premise window (sentences of the doc).

`python -m bidirag.evaluation.premise_cal --out docs/results/calibration-premise-<date>` writes .json/.md.
Sets (shipped NLI model, P(entail | doc or its best-matching sentences, claim) >= threshold = "passes"):
- true statements and in-article answer swaps: the `qa_eval_articles` NLI evaluation set (rag_eval articles);
- in-paragraph answer swaps: the contradiction pairs of `qa_eval_hard_cases` (the answer replaced by another
  answer of the same paragraph: every word of the false claim is in the paragraph);
- natural why-question premises: every SQuAD question whose presupposition the rules can state ("Why did
  Tesla go to Karlovac?" -> "Tesla go to Karlovac."), against its gold paragraph: the legitimate traffic the
  check can cost (0.6% of SQuAD questions carry one).
Then, at the premise threshold 0.5 and per max gap k (`text.claim_gap`: content words of the doc window between
the claim's words), the share that passes both; `suggested_max_gap` is the k with the largest margin of true
statements over in-paragraph swaps (the smallest such k), computed for window 1, the default. Last, at that
threshold and the configured max gap, per min coverage c (`text.claim_coverage`: share of the claim's content
words in the doc window), the share that passes all three: what `acceptance.premise_min_coverage` costs true
claims and what it stops.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

THRESHOLDS = (0.5, 0.6, 0.7, 0.8)
GAPS = tuple(range(13))
COVERAGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
GATE_THRESHOLD = 0.5


def premise_sets() -> dict[str, list[tuple[str, str]]]:
    from bidirag.data.squad import articles_for
    from bidirag.data.statements import presupposition
    from bidirag.training.nli_data import CONTRA, ENTAIL, training_set

    _, ev = training_set(seed=13)
    natural = [(a.paragraphs[q.paragraph_index], claim)
               for split in ("rag_eval", "nli_train") for a in articles_for(split) for q in a.questions
               if (claim := presupposition(q.text))]
    return {
        "true_statements": [(p.premise, p.hypothesis) for p in ev["qa_eval_articles"] if p.label == ENTAIL],
        "natural_why_premises": natural,
        "in_article_swaps": [(p.premise, p.hypothesis) for p in ev["qa_eval_articles"] if p.label == CONTRA],
        "in_paragraph_swaps": [(p.premise, p.hypothesis) for p in ev["qa_eval_hard_cases"] if p.label == CONTRA],
    }


def calibrate(windows=(0, 1, 2), model_dir: Path | None = None) -> dict:
    from bidirag.config import AcceptanceConfig
    from bidirag.models.nli import NLIModel
    from bidirag.paths import shipped_nli_dir
    from bidirag.text import claim_coverage, claim_gap, premise_window

    sets = premise_sets()
    model_dir = model_dir or shipped_nli_dir()
    max_gap = AcceptanceConfig().premise_max_gap
    out: dict = {"model": str(model_dir), "thresholds": list(THRESHOLDS), "gaps": list(GAPS),
                 "coverages": list(COVERAGES), "coverage_max_gap": max_gap, "windows": {}}
    for w in windows:
        model = NLIModel(model_dir, batch_size=32, premise_sentences=w)   # the model cuts each doc to w sentences
        model.setup()
        row = {}
        for name, pairs in sets.items():
            p = model.predict(pairs)[:, 1]
            windows = [premise_window(d, h, w) for d, h in pairs]
            gap = np.array([claim_gap(x, h) for x, (_, h) in zip(windows, pairs, strict=True)])
            cov = np.array([claim_coverage(x, h) for x, (_, h) in zip(windows, pairs, strict=True)])
            gated = (p >= GATE_THRESHOLD) & (gap <= max_gap)
            row[name] = {"n": len(pairs), "pass_share": {str(t): round(float(np.mean(p >= t)), 4) for t in THRESHOLDS},
                         "pass_share_max_gap": {str(k): round(float(np.mean((p >= GATE_THRESHOLD) & (gap <= k))), 4)
                                                for k in GAPS},
                         "pass_share_min_coverage": {str(c): round(float(np.mean(gated & (cov >= c - 1e-9))), 4)
                                                     for c in COVERAGES}}
        out["windows"][str(w)] = row
    if "1" in out["windows"]:
        row = out["windows"]["1"]
        margin = {k: row["true_statements"]["pass_share_max_gap"][str(k)]
                  - row["in_paragraph_swaps"]["pass_share_max_gap"][str(k)] for k in GAPS}
        out["suggested_max_gap"] = max(GAPS, key=lambda k: (round(margin[k], 4), -k))
    return out


def _table(res: dict, column: str, key: str, values, with_n: bool = False) -> list[str]:
    """One row per (window, value): the pass share of every claim set at that value of `column`."""
    sets = list(next(iter(res["windows"].values())))
    lines = [f"| window | {column} | " + " | ".join(sets) + " |", "|---|---|" + "---|" * len(sets)]
    for w, row in res["windows"].items():
        for x in values:
            lines.append(f"| {w} | {x} | " + " | ".join(
                f"{100 * v[key][str(x)]:.1f}%" + (f" (n={v['n']})" if with_n else "") for v in row.values()) + " |")
    return lines


def to_markdown(res: dict) -> str:
    lines = [f"# Premise check calibration ({res['model']})", "",
             "Share of claims that pass (P(entail) >= threshold), per premise window (0 = whole doc). True claims "
             "should pass, swapped ones should not.", ""]
    lines += _table(res, "threshold", "pass_share", res["thresholds"], with_n=True)
    lines += ["", f"Share that passes P(entail) >= {GATE_THRESHOLD} and has at most k other content words between "
              "the claim's words in the doc window (`text.claim_gap`):", ""]
    lines += _table(res, "max gap k", "pass_share_max_gap", res["gaps"])
    if "suggested_max_gap" in res:
        lines += ["", f"Largest margin of true statements over in-paragraph swaps (window 1): k = "
                      f"{res['suggested_max_gap']}."]
    lines += ["", f"Share that passes P(entail) >= {GATE_THRESHOLD}, max gap {res['coverage_max_gap']} and has at "
              "least the share c of the claim's content words in the doc window (`text.claim_coverage`):", ""]
    lines += _table(res, "min coverage c", "pass_share_min_coverage", res["coverages"])
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="path without extension; writes .json and .md")
    ap.add_argument("--windows", default="0,1,2")
    ap.add_argument("--model", default=None)
    a = ap.parse_args(argv)
    res = calibrate(tuple(int(x) for x in a.windows.split(",")), Path(a.model) if a.model else None)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out + ".json").write_text(json.dumps(res, indent=1) + "\n")
    Path(a.out + ".md").write_text(to_markdown(res))
    print(to_markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
