"""One table row per SQuADShifts set from its `bidirag eval --dataset F --split all` run (eval.json), plus the
pooled reading labels if `reading-judged.jsonl` files exist beside it.

Usage: python summarize.py RUN_DIR [RUN_DIR ...]     (e.g. runs/eval-shifts-nyt)
"""
import json
import sys
from pathlib import Path

from bidirag.evaluation.metrics import wilson


def pct(x):
    return f"{100 * x:.1f}"


def ci(k, n):
    lo, hi = wilson(k, n)
    return f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def delta(v):
    star = "*" if v["distinguishable"] else ""
    return f"{100 * v['mean_diff']:+.1f} [{100 * v['low']:+.1f}, {100 * v['high']:+.1f}]{star}"


print("| set | paragraphs | standard F1 / contains gold / answer cov. % (all) | Δ F1 all / reask / related / unrelated"
      " | Δ contains gold all | written (share) | precision, gold rule | acceptance |")
print("|---|---|---|---|---|---|---|---|")
for d in map(Path, sys.argv[1:]):
    e = json.loads((d / "eval.json").read_text())
    p, s, b = e["protocol"], e["systems"]["standard"], e["systems"]["bidirectional"]
    g = s["groups"]["all"]
    vs = b["vs_standard"]
    pg = b["precision_gold"]
    print(f"| {d.name.removeprefix('eval-shifts-')} | {p['seed_corpus_paragraphs']} | {pct(g['f1']['mean'])} / "
          f"{pct(g['answer_contains_gold']['mean'])} / {pct(g['answer_coverage']['mean'])} | "
          + " / ".join(delta(vs[k]["f1"]) for k in ("all", "reask", "related", "unrelated")) + " | "
          f"{delta(vs['all']['answer_contains_gold'])} | {pg['written']} ({pct(b['write_share']['mean'])}%) | "
          f"{pct(pg['share']) if pg['written'] else '–'}% {ci(pg['correct'], pg['written']) if pg['written'] else ''}"
          f" ({pg['correct']}/{pg['written']}) | {pct(b['acceptance_rate'])}% |")
