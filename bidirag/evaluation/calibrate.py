"""Threshold calibration (grounding by default): accept rate vs precision of accepted answers, per threshold.

Input: verdicts of a run that scores every answer without rejecting any (the `naive` system of `bidirag
eval`), plus gold labels. An answer is correct when it contains a gold answer (SQuAD normalisation).
For each grounding threshold t (other checks as configured): accept rate = share of answers passing,
precision = share of passing answers that are correct. Written to calibration.json / calibration.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from bidirag.checks.answer_span import written_claim
from bidirag.evaluation.audit import JUDGEMENTS
from bidirag.evaluation.dataset import EvalError
from bidirag.stages.rag import clean_answer
from bidirag.text import contains_answer

THRESHOLDS = [round(0.025 * i, 3) for i in range(0, 40)] + [0.99]


READ_COVERAGE = 0.9   # share of a threshold's accepted answers that must have been read for its reading precision


def load_reading(path: str | Path) -> dict[tuple[str, str], bool]:
    """Reading labels of calibrate-split answers: JSONL rows with `query_id`, `doc` (the answer as written, i.e.
    `clean_text`) and `judgement` (`audit.JUDGEMENTS`, by a reader given the gold paragraph). Keyed by
    (query_id, doc): a label applies only to the very answer that was read, never to a regenerated one."""
    p = Path(path)
    if not p.is_file():
        raise EvalError(f"reading labels not found at {p}: give the JSONL of a reading audit of the "
                        "calibrate split (the Makefile's CALIBRATE_READING names the committed one) or leave --reading "
                        "out")
    out = {}
    for n, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            key, j = (str(r["query_id"]), str(r["doc"]).strip()), r["judgement"]
        except (ValueError, KeyError, TypeError) as e:
            raise EvalError(f"{p}:{n}: not a reading label ({e}); each line needs query_id, doc and "
                            "judgement") from None
        if j not in JUDGEMENTS:
            raise EvalError(f"{p}:{n}: judgement {j!r} is not one of {', '.join(JUDGEMENTS)}")
        out[key] = j == "correct"
    return out


def calibrate(verdicts: list[dict], labels: dict[str, list[str]], thresholds: dict[str, float],
              sweep: str = "grounding", reading: dict[tuple[str, str], bool] | None = None) -> dict:
    """Accept rate and precision when the `sweep` check's threshold varies and the others stay as given; with
    `reading` labels (`load_reading`), also the reading precision of the accepted answers that were read."""
    rows = [v for v in verdicts if v.get("scores") and v["query_id"] in labels and v.get("answer")]
    others = {c: t for c, t in thresholds.items() if c != sweep}
    base = [v for v in rows if all(v["scores"].get(c, 1.0) >= t for c, t in others.items())]
    # what would be written: the extractive doc where the caller made one (`written`), else the cleaned answer
    text = {v["query_id"]: v.get("written") or clean_answer(v["answer"]) for v in rows}
    correct = {q: contains_answer(written_claim(t), labels[q]) for q, t in text.items()}
    read = {q: reading.get((q, t.strip())) for q, t in text.items()} if reading else {}
    table = []
    for t in THRESHOLDS:
        acc = [v for v in base if v["scores"][sweep] >= t]
        prec = sum(correct[v["query_id"]] for v in acc) / len(acc) if acc else None
        row = {"threshold": t, "accepted": len(acc), "accept_rate": len(acc) / len(rows) if rows else 0.0,
               "precision": prec}
        if reading:
            labelled = [read[v["query_id"]] for v in acc if read[v["query_id"]] is not None]
            row.update({"read": len(labelled),
                        "reading_precision": sum(labelled) / len(labelled) if labelled else None})
        table.append(row)
    rule = ", ".join(f"{c} >= {t}" for c, t in others.items())
    res = {"answers": len(rows), "correct_share": sum(correct.values()) / len(rows) if rows else 0.0,
           "check": sweep,
           "rule": f"correct = the answer contains a gold answer; accepted = {sweep} >= t and the other "
                   f"checks pass ({rule})", "table": table}
    if reading:
        res["reading"] = {"labels": len(reading), "matched": sum(x is not None for x in read.values()),
                          "rule": "reading precision = share judged correct by a reader given the gold paragraph "
                                  "(every claim supported and it answers the question), of the accepted answers "
                                  "that were read"}
    return res


def write(result: dict, out: Path, name: str = "calibration") -> None:
    (out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    check = result.get("check", "grounding").capitalize()
    rd = result.get("reading")
    lines = [f"# {check} threshold calibration", "", f"{result['answers']} scored answers; "
             f"{100 * result['correct_share']:.1f}% contain a gold answer. {result['rule']}."
             + (f" {rd['rule'][0].upper()}{rd['rule'][1:]}; {rd['matched']} of these answers were read." if rd else ""),
             "", "| threshold | accepted | accept rate % | precision of accepted % |"
             + (" read | reading precision % |" if rd else ""), "|---|---|---|---|" + ("---|---|" if rd else "")]
    pct = lambda x: "-" if x is None else f"{100 * x:.1f}"  # noqa: E731
    for r in result["table"]:
        lines.append(f"| {r['threshold']} | {r['accepted']} | {100 * r['accept_rate']:.1f} | {pct(r['precision'])} |"
                     + (f" {r['read']} | {pct(r['reading_precision'])} |" if rd else ""))
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")


def choose(result: dict, target: float = 0.90, min_accept_rate: float = 0.10) -> dict:
    """The threshold of the swept check that `make calibrate` sets: the lowest one whose accepted answers reach
    `target` precision while at least `min_accept_rate` of the answers are accepted (the most written at the
    precision asked for). When no threshold reaches the target, the one with the highest precision among those
    that keep `min_accept_rate`, marked `target_met: false`, so the shortfall is stated, not hidden."""
    from bidirag.evaluation.metrics import wilson

    ok = [r for r in result["table"] if r["precision"] is not None and r["accept_rate"] >= min_accept_rate]
    both = "reading" in result     # reading labels given: precision must hold by the gold rule and by reading

    def prec(r: dict) -> float:
        if not both:
            return r["precision"]
        # a threshold with under READ_COVERAGE of its accepted answers read cannot show its reading precision
        rp = r["reading_precision"] if r["read"] >= READ_COVERAGE * r["accepted"] else None
        return min(r["precision"], rp) if rp is not None else 0.0

    meeting = [r for r in ok if prec(r) >= target]
    pick = min(meeting, key=lambda r: r["threshold"]) if meeting else (
        max(ok, key=lambda r: (prec(r), r["accepted"])) if ok else None)
    if pick is None:
        raise ValueError(f"no {result['check']} threshold keeps {min_accept_rate:.0%} of the answers: nothing to "
                         "choose from; lower --min-write-share or check the calibration run")
    k = round(pick["precision"] * pick["accepted"])
    lo, hi = wilson(k, pick["accepted"])
    out = {"check": result["check"], "threshold": pick["threshold"], "target_precision": target,
           "min_accept_rate": min_accept_rate, "target_met": bool(meeting), "accepted": pick["accepted"],
           "answers": result["answers"], "accept_rate": round(pick["accept_rate"], 4),
           "precision": round(pick["precision"], 4), "precision_95": [round(lo, 4), round(hi, 4)],
           "rule": f"lowest {result['check']} threshold with precision >= {target:.0%} of accepted answers "
                   + (f"by the gold rule and by reading (>= {READ_COVERAGE:.0%} of the accepted answers read) " if both
                      else "")
                   + f"and accept rate >= {min_accept_rate:.0%} (else the most precise with that accept rate)"}
    if both:
        kr = round((pick["reading_precision"] or 0) * pick["read"])
        rlo, rhi = wilson(kr, pick["read"])
        out.update({"read": pick["read"], "reading_precision": None if pick["reading_precision"] is None else
                    round(pick["reading_precision"], 4), "reading_precision_95": [round(rlo, 4), round(rhi, 4)]})
    return out
