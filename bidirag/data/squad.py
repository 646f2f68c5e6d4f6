"""SQuAD v1.1 dev (from the bigbench sdist): articles, the fixed NLI/RAG article split, corpus and logs.

The 48 articles are split once by sha256 of their title: NLI training may only use the `nli_train`
articles; the RAG evaluation only the `rag_eval` articles. The split is written to
`bidirag/data/squad_split.json` and a test checks it is disjoint and complete.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from bidirag.data.bigbench import load_task

SPLIT_FILE = Path(__file__).with_name("squad_split.json")
MEMBER = "squad_shifts/squaddev_v1.1.json"


@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    answers: tuple[str, ...]
    title: str
    paragraph_index: int


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]
    questions: tuple[Question, ...]


def load_articles(root: Path | None = None) -> list[Article]:
    raw = load_task(MEMBER, root)["data"]
    out = []
    for art in raw:
        paragraphs, questions = [], []
        for pi, para in enumerate(art["paragraphs"]):
            paragraphs.append(para["context"])
            for qa in para["qas"]:
                golds = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                questions.append(Question(qa["id"], qa["question"], golds, art["title"], pi))
        out.append(Article(art["title"], tuple(paragraphs), tuple(questions)))
    return out


def compute_split(titles: list[str], n_train: int = 24) -> dict[str, list[str]]:
    """Deterministic split: the first `n_train` titles by sha256 order train the NLI model."""
    ordered = sorted(titles, key=lambda t: hashlib.sha256(t.encode()).hexdigest())
    return {"nli_train": sorted(ordered[:n_train]), "rag_eval": sorted(ordered[n_train:])}


def load_split() -> dict[str, list[str]]:
    return json.loads(SPLIT_FILE.read_text())


def articles_for(role: str, root: Path | None = None) -> list[Article]:
    """Articles of one role of the split: 'nli_train' or 'rag_eval'."""
    titles = set(load_split()[role])
    return [a for a in load_articles(root) if a.title in titles]
