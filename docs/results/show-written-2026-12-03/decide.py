"""Decide `retrieval.show_written` on the CALIBRATE split: a written quote shown as its text (the quoted sentence),
as the corpus paragraph it quotes in its place (source), or that paragraph only where the top-k lacks it
(missing_source). Never run on the report split.

Input: an eval run on the calibrate split with the text setting, e.g.
    bidirag eval --out runs/decide-show --split calibrate --systems standard,bidirectional --seeds 7,8 \\
        --set retrieval.show_written=text
Its bidirectional stores (written docs and critiques after the write-back epoch) are kept; this answers the same
test queries again on them with each other setting (the write-back epoch does not depend on the setting: one
epoch reads a snapshot pinned before any write), and prints the paired differences per test group.

    python docs/results/show-written-2026-12-03/decide.py runs/decide-show 7,8 [OUT.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bidirag.config import load_config
from bidirag.evaluation import dataset as ds
from bidirag.evaluation import harness
from bidirag.evaluation.protocol import GROUPS, sample

ROOT = Path(__file__).resolve().parents[3]
METRICS = ("f1", "answer_contains_gold", "answer_coverage")
# variant -> (show_written, critiques in the prompt); "nocrit" = the same without the experience store's critiques
VARIANTS = {"source": ("source", True), "missing_source": ("missing_source", True),
            "missing_source-nocrit": ("missing_source", False)}
MODES = tuple(VARIANTS)


def main(out: Path, seeds: list[int], dump: Path | None) -> None:
    cfg = load_config(ROOT / "configs/default.yaml")
    articles = ds.split(ds.load(None)[0], "calibrate")
    runs = {"standard": [], "text": [], **{m: [] for m in MODES}}
    for seed in seeds:
        sd = out / f"seed-{seed}"
        std = json.loads((sd / "standard.result.json").read_text())
        txt = json.loads((sd / "bidirectional.result.json").read_text())
        w, test = sample(articles, seed, txt["key"]["n_writeback"], txt["key"]["n_test"])
        runs["standard"].append(std)
        runs["text"].append(txt)
        for mode in MODES:
            cache = sd / f"bidirectional-show-{mode}.per_query.json"
            if not cache.exists():
                shown, crit = VARIANTS[mode]
                scfg = harness._with(cfg, store={"uri": str(sd / "bidirectional" / "store")},
                                     retrieval={"show_written": shown}, writeback={"mode": "bidirectional"})
                recs = [{"query_id": t.qid, "text": t.question.text} for t in test]
                answered, secs = harness.answer_queries(scfg, recs, use_experience=crit)
                per_q = harness.score_answers(scfg, test, answered)
                for q, r in zip(per_q, answered, strict=True):
                    q["via"] = sum(bool(d.get("via")) for d in r.get("retrieved", []))
                cache.write_text(json.dumps({"seconds": secs, "per_query": per_q}) + "\n")
            runs[mode].append({"per_query": json.loads(cache.read_text())["per_query"]})
    res = {}
    for a, b in (("text", "standard"), *((m, "standard") for m in MODES), *((m, "text") for m in MODES)):
        res[f"{a} - {b}"] = harness._paired(runs[a], runs[b])
    means = {s: harness._group_means([q for r in rs for q in r["per_query"]]) for s, rs in runs.items()}
    print(f"calibrate split, seeds {seeds}; means over all test queries of the seeds (n per group below)")
    for g in (*GROUPS, "all"):
        print(f"\n{g} (n = {means['standard'][g]['n']})")
        print("| | " + " | ".join(METRICS) + " |\n|---|" + "---|" * len(METRICS))
        for s in runs:
            print(f"| {s} | " + " | ".join(f"{100 * means[s][g][m]:.1f}" for m in METRICS) + " |")
        for k, v in res.items():
            print(f"| Δ {k} | " + " | ".join(
                f"{100 * v[g][m]['mean_diff']:+.1f} [{100 * v[g][m]['low']:+.1f}, {100 * v[g][m]['high']:+.1f}]"
                + ("*" if v[g][m]["distinguishable"] else "") for m in METRICS) + " |")
    for m in MODES:
        via = [q.get("via", 0) for r in runs[m] for q in r["per_query"]]
        print(f"\n{m}: {sum(1 for v in via if v)} of {len(via)} test prompts show a paragraph via a written doc")
    if dump:
        dump.write_text(json.dumps({"split": "calibrate", "seeds": seeds, "means": means, "paired": res},
                                   indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [int(x) for x in sys.argv[2].split(",")], Path(sys.argv[3]) if len(sys.argv) > 3 else None)
