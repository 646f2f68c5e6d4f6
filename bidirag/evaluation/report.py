"""eval.json + eval.md: per test group, every system's metrics (mean ± sample std over seeds), paired
bootstrap intervals against standard RAG, write-back precision two ways, and the run's provenance."""

from __future__ import annotations

import json
from pathlib import Path

from bidirag.evaluation.metrics import wilson
from bidirag.evaluation.protocol import GROUPS

RULES = """Rules: F1 / EM = generated answer (citations and the primed "According to [n]," removed) vs gold answers
(SQuAD normalisation); contains gold = a gold answer string occurs in that answer; answer coverage = a gold
answer string in the top-k retrieved texts; coverage = top-1 retrieved doc within cosine distance 0.4 (the
paper's measure; write-back of answers inflates it). Groups: reask = a write-back question asked again;
related = another question on the gold paragraph of a write-back question; unrelated = the rest. Paired
differences: per test query (same query, same seed) system minus standard RAG, pooled over seeds, 95%
percentile bootstrap interval (2,000 resamples of queries, seed 0); * = the interval excludes 0. Precision
(gold rule) = share of written docs that contain a gold answer of their query, pooled over seeds, with a
95% Wilson interval."""
METRICS = (("f1", "F1"), ("answer_contains_gold", "contains gold"), ("answer_coverage", "answer cov."),
           ("coverage", "coverage"))


def _mixed(p: dict) -> str:
    """A note when reused results were computed by other code than this invocation's."""
    other = [c for c in p.get("results_from_commits") or [] if c not in (str(p["git_commit"]), "None")]
    return f" (**results reused from other code: {', '.join(other)}**)" if other else ""


def _pct(d: dict) -> str:
    return f"{100 * d['mean']:.1f} ± {100 * d['std']:.1f}"


def _diff(b: dict) -> str:
    star = "*" if b["distinguishable"] else ""
    return f"{100 * b['mean_diff']:+.1f} [{100 * b['low']:+.1f}, {100 * b['high']:+.1f}]{star}"


def _group_tables(systems: dict) -> list[str]:
    lines = []
    for g in (*GROUPS, "all"):
        n = next(iter(systems.values()))["groups"][g]["n_per_seed"]
        lines += ["", f"### {g} ({n} test queries per seed)", "",
                  "| system | " + " | ".join(f"{t} %" for _, t in METRICS) + " | "
                  + " | ".join(f"Δ{t} vs standard (pts)" for m, t in METRICS[:3]) + " |",
                  "|---" * (1 + len(METRICS) + 3) + "|"]
        for name, m in systems.items():
            vs = m.get("vs_standard", {}).get(g)
            diffs = [(_diff(vs[k]) if vs else "–") for k, _ in METRICS[:3]]
            lines.append(f"| {name} | " + " | ".join(_pct(m["groups"][g][k]) for k, _ in METRICS) + " | "
                         + " | ".join(diffs) + " |")
    return lines


def _writeback_table(systems: dict) -> list[str]:
    lines = ["", "## Write-back", "", "| system | written per seed | share of write-back queries written % | "
             "precision, gold rule % [95% CI] | acceptance % | rejections per seed |", "|---|---|---|---|---|---|"]
    for name, m in systems.items():
        pg = m["precision_gold"]
        lo, hi = wilson(pg["correct"], pg["written"])
        prec = "–" if not pg["written"] else f"{100 * pg['share']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] " \
                                             f"({pg['correct']}/{pg['written']})"
        acc = "–" if m["acceptance_rate"] is None else f"{100 * m['acceptance_rate']:.1f}"
        rej = ", ".join(f"{c} {v:.1f}" for c, v in m["rejected_by_check"].items() if v) or "–"
        lines.append(f"| {name} | {m['written']['mean']:.1f} ± {m['written']['std']:.1f} | {_pct(m['write_share'])} "
                     f"| {prec} | {acc} | {rej} |")
    return lines


def _distinguishable(systems: dict) -> list[str]:
    real = [f"{name} {t} on {g} ({_diff(b[m])})" for name, s in systems.items()
            for g, b in s.get("vs_standard", {}).items() for m, t in METRICS[:3] if b[m]["distinguishable"]]
    return ["", "Differences from standard RAG that the intervals distinguish from 0: "
            + ("; ".join(real) if real else "none") + "."]


def _audit(a: dict | None) -> list[str]:
    if not a:
        return []
    lines = ["", "## Reading audit", "", f"{a['sampled']} of {a['from_written']} written docs sampled into "
             f"`{a['file']}` (bidirectional first)."]
    if a.get("judged"):
        lines.append(f"Judged {a['judged']}: precision by reading {100 * a['precision_reading']:.1f}%, by the gold "
                     f"rule {100 * a['precision_rule']:.1f}%; the two disagree on {a['disagreements']} docs.")
    else:
        lines.append("Not judged yet: a reader fills `judgement`/`reason` and saves `audit-judged.jsonl` beside it.")
    return lines


def _extra(p: dict) -> str:
    """How written docs joined the top-k (results from before `written_extra` existed say nothing)."""
    if "written_extra" not in p:
        return ""
    if p["written_extra"] is None:
        return " (written docs compete for it)"
    shown = {"source": " (each shown as the corpus paragraph it quotes)",
             "missing_source": " (each shown as the corpus paragraph it quotes, only where the top-k lacks it)"
             }.get(p.get("show_written"), "")
    return f" + up to {p['written_extra']} written doc(s) beside it{shown}"


def write_reports(result: dict, out: Path) -> None:
    (out / "eval.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    p = result["protocol"]
    lines = ["# bidirag evaluation", "",
             f"{p['dataset']} (digest {p['dataset_digest']}), split **{p['split']}**; seed corpus "
             f"{p['seed_corpus_paragraphs']} paragraphs; per seed {p['writeback_queries_per_seed']} write-back and "
             f"{p['test_queries_per_seed']} test queries; {p['epochs']} epoch(s); seeds {p['seeds']}; top-k "
             f"{p['top_k']}{_extra(p)}; generator {p['generator']['backend']} "
             f"{p['models']['generator']}; NLI "
             f"{p['models']['nli']}; config {p['config_hash']}; commit {p['git_commit']}{_mixed(p)}; thresholds from "
             f"{p['calibration_file'] or 'configs (no calibration file recorded)'}; "
             f"wall {p['wall_seconds'] / 60:.1f} min (the systems' runs: {p['results_wall_seconds'] / 60:.1f} min).",
             "", "## Answer quality per test group (mean ± sample std over seeds; Δ = paired, 95% bootstrap)"]
    lines += _group_tables(result["systems"]) + _distinguishable(result["systems"])
    lines += _writeback_table(result["systems"]) + _audit(result.get("audit")) + ["", RULES, ""]
    (out / "eval.md").write_text("\n".join(lines))
