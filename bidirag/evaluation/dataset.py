"""Evaluation datasets: any SQuAD v1.1-format file (articles -> paragraphs -> qas with answers), or by default
the SQuAD-dev `rag_eval` articles; and the fixed calibration / report split of their articles.

A malformed file fails with `DatasetError` naming the file, the JSON path of the first problem and the fix.
The split is by sha256 of the article title (the first third, in that order, calibrates; the rest reports),
so it is fixed for a given dataset without a file; for the default dataset it is also committed in
`bidirag/data/eval_split.json` (a test checks the rule reproduces it). `all` takes every article of a file on
which no threshold or model was chosen (every other dataset: nothing here was calibrated on it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from bidirag.data.squad import Article, Question, articles_for

logger = logging.getLogger(__name__)
EVAL_SPLIT_FILE = Path(__file__).resolve().parent.parent / "data" / "eval_split.json"


class EvalError(ValueError):
    """Bad input to an evaluation (the CLI prints it on one line and exits 2; nothing is written)."""


class DatasetError(EvalError):
    pass


def _need(cond: bool, path: str, where: str, what: str) -> None:
    if not cond:
        raise DatasetError(f"{path}: {where}: {what}. A SQuAD v1.1 file looks like {{\"data\": [{{\"title\": ..., "
                           "\"paragraphs\": [{\"context\": ..., \"qas\": [{\"id\": ..., \"question\": ..., "
                           "\"answers\": [{\"text\": ...}]}]}]}]}")


def load_squad_file(path: str | Path) -> list[Article]:
    """Articles of a SQuAD v1.1-format JSON file, validated. A SQuAD v2.0 file works too: its unanswerable
    questions (`is_impossible: true`) are skipped with a warning (their answers list is empty)."""
    p = str(path)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{p}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"{p}: not a UTF-8 JSON file ({e})") from None
    _need(isinstance(raw, dict) and isinstance(raw.get("data"), list) and raw["data"], p, "top level",
          "needs a non-empty list 'data'")
    out, seen_ids, titles, skipped = [], set(), set(), 0
    for ai, art in enumerate(raw["data"]):
        w = f"data[{ai}]"
        _need(isinstance(art, dict) and isinstance(art.get("title"), str) and art["title"].strip(), p, w,
              "needs a non-empty string 'title'")
        _need(art["title"] not in titles, p, w, f"title {art['title']!r} appears twice")
        titles.add(art["title"])
        _need(isinstance(art.get("paragraphs"), list) and art["paragraphs"], p, w, "needs a non-empty 'paragraphs'")
        paragraphs, questions = [], []
        for pi, para in enumerate(art["paragraphs"]):
            wp = f"{w}.paragraphs[{pi}]"
            _need(isinstance(para, dict) and isinstance(para.get("context"), str) and para["context"].strip(), p,
                  wp, "needs a non-empty string 'context'")
            _need(isinstance(para.get("qas"), list), p, wp, "needs a list 'qas'")
            paragraphs.append(para["context"])
            for qi, qa in enumerate(para["qas"]):
                wq = f"{wp}.qas[{qi}]"
                _need(isinstance(qa, dict) and isinstance(qa.get("question"), str) and qa["question"].strip(), p,
                      wq, "needs a non-empty string 'question'")
                qid = str(qa.get("id") or hashlib.sha256(f"{art['title']}|{qa['question']}".encode()).hexdigest()[:24])
                _need(qid not in seen_ids, p, wq, f"id {qid!r} appears twice")
                seen_ids.add(qid)
                if qa.get("is_impossible") is True:    # SQuAD v2.0: no gold answer to score against
                    skipped += 1
                    continue
                answers = qa.get("answers")
                _need(isinstance(answers, list) and answers and all(
                    isinstance(a, dict) and isinstance(a.get("text"), str) and a["text"].strip() for a in answers),
                    p, wq, "needs a non-empty list 'answers' of {\"text\": ...}")
                golds = tuple(dict.fromkeys(a["text"] for a in answers))
                questions.append(Question(qid, qa["question"].strip(), golds, art["title"], pi))
        out.append(Article(art["title"], tuple(paragraphs), tuple(questions)))
    _need(sum(len(a.questions) for a in out) > 0, p, "data", "holds no answerable questions")
    if skipped:
        logger.warning("%s: %d unanswerable questions (SQuAD v2.0 is_impossible) skipped: the evaluation scores "
                       "answers against gold answers", p, skipped)
    return out


def dataset_digest(articles: list[Article]) -> str:
    h = hashlib.sha256()
    for a in articles:
        h.update(json.dumps([a.title, list(a.paragraphs), [(q.qid, q.text, list(q.answers)) for q in a.questions]])
                 .encode())
    return h.hexdigest()[:16]


def split_titles(titles: list[str]) -> dict[str, list[str]]:
    """Rule: titles sorted by sha256(title); the first third (rounded up) -> calibrate, the rest -> report."""
    ordered = sorted(titles, key=lambda t: hashlib.sha256(t.encode()).hexdigest())
    k = -(-len(ordered) // 3)
    return {"calibrate": sorted(ordered[:k]), "report": sorted(ordered[k:])}


def load(dataset: str | Path | None) -> tuple[list[Article], str]:
    """(articles, description) of a SQuAD-format file, or of the default rag_eval articles."""
    if dataset is None:
        return articles_for("rag_eval"), "SQuAD v1.1 dev (bigbench sdist), rag_eval articles"
    return load_squad_file(dataset), f"SQuAD-format file {dataset}"


SPLITS = ("report", "calibrate", "all")


def split(articles: list[Article], role: str) -> list[Article]:
    """The articles of one role ('calibrate' or 'report'), or every article ('all': a dataset on which nothing
    was chosen, such as a user's own QA set; the harness refuses it for the default dataset)."""
    if role not in SPLITS:
        raise ValueError(f"unknown split role {role!r}")
    if role == "all":
        return list(articles)
    keep = set(split_titles([a.title for a in articles])[role])
    return [a for a in articles if a.title in keep]
