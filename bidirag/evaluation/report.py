"""eval.json + eval.md (a Table I-like table plus the answer-based columns)."""

from __future__ import annotations

import json
from pathlib import Path

RULES = """Rules: coverage = share of test queries whose top-1 retrieved doc is within cosine distance 0.4
(the paper's measure; write-back of answers inflates it); answer coverage = a gold answer string in the
top-k retrieved texts; EM/F1 = generated answer (citations and the primed "According to [n]," removed)
vs gold answers (SQuAD normalisation); citation P/R/F1 = cited retrieved docs vs retrieved docs that
contain a gold answer, micro-averaged; pollution = share of written docs that contain none of their
query's gold answers; growth = docs written; acceptance = written / generated on the write-back stream."""


def _ms(d: dict, pct: bool = False, digits: int = 2) -> str:
    f = 100.0 if pct else 1.0
    return f"{d['mean'] * f:.{digits}f} ± {d['std'] * f:.{digits}f}"


def write_reports(result: dict, out: Path) -> None:
    (out / "eval.json").write_text(json.dumps(result, indent=1) + "\n")
    p = result["protocol"]
    lines = [
        "# bidirag evaluation",
        "",
        f"{p['dataset']}; seed corpus {p['seed_corpus_paragraphs']} paragraphs; {p['queries_per_seed']} "
        f"queries per seed ({p['split']}), {p['epochs']} epoch(s); seeds {p['seeds']}; top-k {p['top_k']}; "
        f"config {p['config_hash']}. Mean ± std over seeds.",
        "",
        "| system | coverage % | answer cov. % | EM % | F1 % | citation F1 % | growth (docs) | acceptance % "
        "| pollution % | s/query (write-back) | s/query (answer) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in result["systems"].items():
        lines.append(
            f"| {name} | {_ms(m['coverage'], True, 1)} | {_ms(m['answer_coverage'], True, 1)} | "
            f"{_ms(m['em'], True, 1)} | {_ms(m['f1'], True, 1)} | {_ms(m['citation_f1'], True, 1)} | "
            f"{_ms(m['corpus_growth'], digits=1)} | {_ms(m['acceptance_rate'], True, 1)} | "
            f"{_ms(m['pollution'], True, 1)} | {_ms(m['writeback_seconds_per_query'])} | "
            f"{_ms(m['answer_seconds_per_query'])} |")
    lines += ["", "Rejections by check (write-back stream, mean per seed):", ""]
    for name, m in result["systems"].items():
        rb = m["rejected_by_check"]
        lines.append(f"- {name}: " + ", ".join(f"{c} {rb[c]['mean']:.1f}" for c in rb)
                     + f", deduplicated {m['deduplicated']['mean']:.1f}")
    if any(m.get("units_written", {}).get("mean") for m in result["systems"].values()) or any(
            "f1_gain" in m for m in result["systems"].values()):
        lines += ["", f"Gains over standard RAG (same seed), knowledge units distilled with k={p.get('distill_top_k')}"
                  f" ({p.get('distill_scorer')} scorer), answered with k={p['top_k']}:", "",
                  "| system | EM gain (pts) | F1 gain (pts) | answer coverage gain (pts) | units written | "
                  "test queries with a unit in top-k % | utility-gate pass % | doc-gate fallback % | "
                  "distil s/example |", "|---|---|---|---|---|---|---|---|---|"]
        for name, m in result["systems"].items():
            if "f1_gain" not in m:
                continue
            lines.append(f"| {name} | {_ms(m['em_gain'], True, 2)} | {_ms(m['f1_gain'], True, 2)} | "
                         f"{_ms(m['answer_coverage_gain'], True, 1)} | {_ms(m['units_written'], digits=1)} | "
                         f"{_ms(m['unit_retrieved_share'], True, 1)} | "
                         f"{_ms(m['utility_pass_rate'], True, 1)} | {_ms(m['doc_gate_fallback_rate'], True, 1)} | "
                         f"{_ms(m['distill_seconds_per_example'])} |")
    lines += ["", RULES, ""]
    (out / "eval.md").write_text("\n".join(lines))
