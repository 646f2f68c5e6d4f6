"""A production-like replay log from the rag_eval questions (issue #23 item 1), deterministic for a seed.

Popularity is Zipf-distributed: the questions are put in a seeded random order and the one of rank r is asked
with probability proportional to 1 / r**s (s = 1.1 by default), so a few questions come back night after night
and most are asked once. Every draw of a question asked before (this night or an earlier one) is a repeat; a
`variant_share` of the repeats is written as a case/punctuation variant ("what is x" for "What is X?"), the
rest verbatim. Each night is one shard file `nights/night-YYYY-MM-DD.jsonl` of `per_shard` lines {query_id, text,
timestamp} (ISO 8601, UTC, sorted, between 00:00 and 04:00 of that night), a log `bidirag replay <out>/nights`
reads (`--epoch-size per_shard` makes one epoch per night). Gold answers are kept out of the log, in `gold.jsonl`
({query_id, question_id, answers, kind}) for scoring written docs by the gold rule; `log.json` summarises.

    python -m bench.replay_log --out runs/replay-log          # 4 nights x 500 queries, seed 0, s 1.1
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bidirag.text import normalize_query


@dataclass(frozen=True)
class LogSpec:
    seed: int = 0
    s: float = 1.1                  # Zipf exponent of question popularity
    shards: int = 4                 # nights
    per_shard: int = 500            # queries per night
    variant_share: float = 0.3      # share of repeats written as a case/punctuation variant
    start: str = "2026-12-01"       # date of the first night (UTC)
    night_hours: float = 4.0        # queries of a night fall in [00:00, night_hours)
    unique: bool = False            # the eval stream: every query a different question, no repeats (s unused)


def _variants(text: str) -> list[str]:
    """Case/punctuation rewrites of a question that `normalize_query` maps to the same key."""
    t = text.strip()
    bare = t.rstrip("?!. ")
    out = [t.lower(), bare, bare.lower(), t.upper(), bare + " ?", bare + "??", t.replace(",", ""),
           t[:1].lower() + t[1:], bare.lower() + "?!"]
    return [v for v in dict.fromkeys(out) if v != t and normalize_query(v) == normalize_query(t)]


def variant(text: str, rng: random.Random) -> str | None:
    vs = _variants(text)
    return rng.choice(vs) if vs else None


def make_log(questions: list[dict], out: str | Path, spec: LogSpec = LogSpec()) -> dict:
    """Write the shards, `gold.jsonl` and `log.json` into `out`; `questions` are dicts {question_id, text,
    answers}. Returns the summary."""
    if not questions:
        raise ValueError("no questions to make a log from")
    rng = random.Random(spec.seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ranked = rng.sample(questions, len(questions))                 # popularity rank -> question
    if spec.unique and spec.shards * spec.per_shard > len(ranked):
        raise ValueError(f"a stream without repeats of {spec.shards} x {spec.per_shard} queries needs as many "
                         f"questions; there are {len(ranked)}")
    cum = list(itertools.accumulate(1.0 / (r + 1) ** spec.s for r in range(len(ranked))))
    seen: set[str] = set()
    kinds: Counter = Counter()
    per_night, files = [], []
    day0 = datetime.strptime(spec.start, "%Y-%m-%d").replace(tzinfo=UTC)
    with (out / "gold.jsonl").open("w", encoding="utf-8") as gold:
        for night in range(spec.shards):
            day = day0 + timedelta(days=night)
            draws = (range(night * spec.per_shard, (night + 1) * spec.per_shard) if spec.unique else
                     rng.choices(range(len(ranked)), cum_weights=cum, k=spec.per_shard))
            secs = sorted(rng.uniform(0, spec.night_hours * 3600) for _ in draws)
            (out / "nights").mkdir(exist_ok=True)
            path = out / "nights" / f"night-{day:%Y-%m-%d}.jsonl"
            counts: Counter = Counter()
            with path.open("w", encoding="utf-8") as f:
                for i, (r, sec) in enumerate(zip(draws, secs, strict=True)):
                    q = ranked[r]
                    kind, text = "first", q["text"].strip()
                    if q["question_id"] in seen:
                        kind = "repeat"
                        if rng.random() < spec.variant_share and (v := variant(text, rng)) is not None:
                            kind, text = "variant", v
                    seen.add(q["question_id"])
                    qid = f"{day:%Y%m%d}-{i:04d}"
                    ts = (day + timedelta(seconds=sec)).strftime("%Y-%m-%dT%H:%M:%SZ")
                    f.write(json.dumps({"query_id": qid, "text": text, "timestamp": ts}, ensure_ascii=False) + "\n")
                    gold.write(json.dumps({"query_id": qid, "question_id": q["question_id"],
                                           "answers": list(q["answers"]), "kind": kind}, ensure_ascii=False) + "\n")
                    counts[kind] += 1
            kinds += counts
            per_night.append({"file": path.name, "queries": spec.per_shard, **dict(counts)})
            files.append(path.name)
    total = spec.shards * spec.per_shard
    repeats = kinds["repeat"] + kinds["variant"]
    summary = {"spec": asdict(spec), "questions": len(questions), "queries": total, "files": files,
               "distinct_questions": len(seen), "kinds": dict(kinds), "repeat_share": round(repeats / total, 4),
               "variant_share_of_repeats": round(kinds["variant"] / repeats, 4) if repeats else 0.0,
               "nights": per_night}
    (out / "log.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def rag_eval_questions() -> list[dict]:
    """The SQuAD-dev rag_eval questions (needs the bigbench sdist in the cache: `bidirag data fetch squad`)."""
    from bidirag.data.squad import articles_for

    return [{"question_id": q.qid, "text": q.text, "answers": list(q.answers)}
            for a in articles_for("rag_eval") for q in a.questions]


def read_gold(out: str | Path) -> dict[str, list[str]]:
    with (Path(out) / "gold.jsonl").open(encoding="utf-8") as f:
        return {g["query_id"]: g["answers"] for g in map(json.loads, f)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    d = LogSpec()
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--s", type=float, default=d.s)
    ap.add_argument("--shards", type=int, default=d.shards)
    ap.add_argument("--per-shard", type=int, default=d.per_shard)
    ap.add_argument("--variant-share", type=float, default=d.variant_share)
    ap.add_argument("--start", default=d.start)
    ap.add_argument("--unique", action="store_true", help="the eval stream: no repeats")
    a = ap.parse_args(argv)
    spec = LogSpec(a.seed, a.s, a.shards, a.per_shard, a.variant_share, a.start, unique=a.unique)
    print(json.dumps(make_log(rag_eval_questions(), a.out, spec), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
