"""Write-back precision by reading: a sample of written docs set beside their question's gold paragraph.

`audit_sample` writes `audit.jsonl` (fixed RNG; bidirectional's docs first, then the other writing systems):
one row per written doc with the question, the gold answers, the gold paragraph, the doc and the gold rule's
verdict (`gold_rule_correct`: the doc contains a gold answer). A reader fills `judgement` (correct / wrong /
not_an_answer) and a one-line `reason`, and saves the file as `audit-judged.jsonl` beside it; `agreement`
then counts how often the reading and the gold rule disagree.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

JUDGEMENTS = ("correct", "wrong", "not_an_answer")
ORDER = ("bidirectional", "bidirectional+writeback", "naive")


def audit_sample(results: dict[str, list[dict]], articles, path: Path, n: int = 60, seed: int = 0) -> dict:
    by_id = {q.qid: (q, a) for a in articles for q in a.questions}
    pool = []
    for system in [s for s in ORDER if s in results]:
        for run in results[system]:
            for w in run["written"]:
                q, art = by_id[w["query_id"]]
                pool.append({"system": system, "seed": run["seed"], "query_id": w["query_id"], "question": q.text,
                             "gold_answers": list(q.answers), "gold_paragraph": art.paragraphs[q.paragraph_index],
                             "doc": w["text"], "gold_rule_correct": bool(w["correct"]), "judgement": None,
                             "reason": None})
    rng = random.Random(seed)
    first = [p for p in pool if p["system"] == "bidirectional"]
    rest = [p for p in pool if p["system"] != "bidirectional"]
    rng.shuffle(first)
    rng.shuffle(rest)
    rows = (first + rest)[:n]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    out = {"file": path.name, "sampled": len(rows), "from_written": len(pool)}
    judged = path.with_name("audit-judged.jsonl")
    if judged.exists():
        out.update(agreement([json.loads(x) for x in judged.read_text().splitlines() if x.strip()]))
    return out


def two_readers(folder: Path, judgements: tuple[str, ...] = JUDGEMENTS) -> dict[str, dict]:
    """A reading folder judged by two readers apart (`out-A.jsonl`, `out-B.jsonl`: one line per row read, with
    `row`, `judgement`, `strict`, `reason`), combined per row: the first of `judgements` (`correct`) only if both
    say so, else the first judgement that is not. Both readers must have read the same rows, with judgements of
    `judgements`."""
    folder = Path(folder)
    a, b = ({r["row"]: r for r in (json.loads(x) for x in (folder / f).read_text().splitlines() if x.strip())}
            for f in ("out-A.jsonl", "out-B.jsonl"))
    if set(a) != set(b):
        raise ValueError(f"{folder}: the two readers read different rows ({len(a)} vs {len(b)})")
    out = {}
    for row in a:
        ja, jb, good = a[row]["judgement"], b[row]["judgement"], judgements[0]
        if ja not in judgements or jb not in judgements:
            raise ValueError(f"{folder}: row {row}: judgement must be one of {judgements}, got {ja!r} / {jb!r}")
        out[row] = {"judgement": good if ja == jb == good else (ja if ja != good else jb),
                    "reader_a": ja, "reader_b": jb, "strict": bool(a[row].get("strict") or b[row].get("strict")),
                    "reason_a": a[row].get("reason"), "reason_b": b[row].get("reason")}
    return out


def agreement(rows: list[dict]) -> dict:
    """Reading vs gold rule on judged rows: precision by each, and the disagreements."""
    judged = [r for r in rows if r.get("judgement") in JUDGEMENTS]
    bad = [r for r in rows if r.get("judgement") not in (*JUDGEMENTS, None)]
    if bad:
        raise ValueError(f"audit judgement must be one of {JUDGEMENTS}, got {bad[0].get('judgement')!r}")
    read_ok = sum(r["judgement"] == "correct" for r in judged)
    rule_ok = sum(bool(r["gold_rule_correct"]) for r in judged)
    disagree = [r for r in judged if (r["judgement"] == "correct") != bool(r["gold_rule_correct"])]
    by_system: dict[str, dict] = {}
    for r in judged:
        d = by_system.setdefault(r["system"], {"judged": 0, "correct_by_reading": 0, "correct_by_rule": 0})
        d["judged"] += 1
        d["correct_by_reading"] += r["judgement"] == "correct"
        d["correct_by_rule"] += bool(r["gold_rule_correct"])
    return {"judged": len(judged), "precision_reading": read_ok / len(judged) if judged else None,
            "precision_rule": rule_ok / len(judged) if judged else None, "disagreements": len(disagree),
            "by_system": by_system}
