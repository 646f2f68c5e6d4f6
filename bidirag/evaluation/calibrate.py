"""Threshold calibration (grounding by default): accept rate vs precision of accepted answers, per threshold.

Input: verdicts of a run that scores every answer without rejecting any (the `naive` system of `bidirag
eval`), plus gold labels. An answer is correct when it contains a gold answer (SQuAD normalisation).
For each grounding threshold t (other checks as configured): accept rate = share of answers passing,
precision = share of passing answers that are correct. Written to calibration.json / calibration.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from bidirag.stages.rag import clean_answer
from bidirag.text import contains_answer

THRESHOLDS = [round(0.025 * i, 3) for i in range(0, 40)] + [0.99]


def calibrate(verdicts: list[dict], labels: dict[str, list[str]], thresholds: dict[str, float],
              sweep: str = "grounding") -> dict:
    """Accept rate and precision when the `sweep` check's threshold varies and the others stay as given."""
    rows = [v for v in verdicts if v.get("scores") and v["query_id"] in labels and v.get("answer")]
    others = {c: t for c, t in thresholds.items() if c != sweep}
    base = [v for v in rows if all(v["scores"].get(c, 1.0) >= t for c, t in others.items())]
    correct = {v["query_id"]: contains_answer(clean_answer(v["answer"]), labels[v["query_id"]]) for v in rows}
    table = []
    for t in THRESHOLDS:
        acc = [v for v in base if v["scores"][sweep] >= t]
        prec = sum(correct[v["query_id"]] for v in acc) / len(acc) if acc else None
        table.append({"threshold": t, "accepted": len(acc), "accept_rate": len(acc) / len(rows) if rows else 0.0,
                      "precision": prec})
    rule = ", ".join(f"{c} >= {t}" for c, t in others.items())
    return {"answers": len(rows), "correct_share": sum(correct.values()) / len(rows) if rows else 0.0,
            "check": sweep,
            "rule": f"correct = the answer contains a gold answer; accepted = {sweep} >= t and the other "
                    f"checks pass ({rule})", "table": table}


def write(result: dict, out: Path, name: str = "calibration") -> None:
    (out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    check = result.get("check", "grounding").capitalize()
    lines = [f"# {check} threshold calibration", "", f"{result['answers']} scored answers; "
             f"{100 * result['correct_share']:.1f}% contain a gold answer. {result['rule']}.", "",
             "| threshold | accepted | accept rate % | precision of accepted % |", "|---|---|---|---|"]
    for r in result["table"]:
        p = "-" if r["precision"] is None else f"{100 * r['precision']:.1f}"
        lines.append(f"| {r['threshold']} | {r['accepted']} | {100 * r['accept_rate']:.1f} | {p} |")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")


def choose(result: dict, target: float = 0.90, min_accept_rate: float = 0.10) -> dict:
    """The threshold of the swept check that `make calibrate` sets: the lowest one whose accepted answers reach
    `target` precision while at least `min_accept_rate` of the answers are accepted (the most written at the
    precision asked for). When no threshold reaches the target, the one with the highest precision among those
    that keep `min_accept_rate`, marked `target_met: false`, so the shortfall is stated, not hidden."""
    from bidirag.evaluation.metrics import wilson

    ok = [r for r in result["table"] if r["precision"] is not None and r["accept_rate"] >= min_accept_rate]
    meeting = [r for r in ok if r["precision"] >= target]
    pick = min(meeting, key=lambda r: r["threshold"]) if meeting else (
        max(ok, key=lambda r: (r["precision"], r["accepted"])) if ok else None)
    if pick is None:
        raise ValueError(f"no {result['check']} threshold keeps {min_accept_rate:.0%} of the answers: nothing to "
                         "choose from; lower --min-write-share or check the calibration run")
    k = round(pick["precision"] * pick["accepted"])
    lo, hi = wilson(k, pick["accepted"])
    return {"check": result["check"], "threshold": pick["threshold"], "target_precision": target,
            "min_accept_rate": min_accept_rate, "target_met": bool(meeting), "accepted": pick["accepted"],
            "answers": result["answers"], "accept_rate": round(pick["accept_rate"], 4),
            "precision": round(pick["precision"], 4), "precision_95": [round(lo, 4), round(hi, 4)],
            "rule": f"lowest {result['check']} threshold with precision >= {target:.0%} of accepted answers and "
                    f"accept rate >= {min_accept_rate:.0%} (else the most precise with that accept rate)"}
