from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bidirag.config import load_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def ray_cluster():
    """One real local Ray cluster for the whole test run (start-up takes seconds)."""
    ray = pytest.importorskip("ray")
    from bidirag.config import RayConfig
    from bidirag.runners.ray import ensure_ray

    ensure_ray(RayConfig(num_cpus=2))
    yield ray
    ray.shutdown()


@pytest.fixture
def fake_cfg(tmp_path):
    """Fake models (unit tests only) over a real LanceDB in a temp dir."""
    return load_config(ROOT / "configs/default.yaml", ROOT / "configs/test-fakes.yaml",
                       overrides=[f"store.uri={tmp_path / 'store'}", f"run.runs_dir={tmp_path / 'runs'}"])


DOCS = [
    "Warsaw is the capital and largest city of Poland. It stands on the Vistula River.",
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, completed in 1889.",
    "Nikola Tesla was a Serbian-American inventor known for alternating current systems.",
    "The Amazon rainforest covers much of the Amazon basin of South America.",
    "Super Bowl 50 was won by the Denver Broncos, who defeated the Carolina Panthers.",
]


@pytest.fixture
def corpus_file(tmp_path):
    p = tmp_path / "corpus.parquet"
    pq.write_table(pa.table({"text": DOCS, "source": [f"test#{i}" for i in range(len(DOCS))]}), p)
    return p


def answers_say(answers: list[str], golds: list[list[str]]) -> int:
    """How many answers state their gold answer in the text that would be written (the generator's own
    'According to [n],' prefix and citation markers removed, so the prefix alone counts for nothing)."""
    from bidirag.stages.rag import clean_answer
    from bidirag.text import contains_answer

    return sum(contains_answer(clean_answer(a), g) for a, g in zip(answers, golds, strict=True))


def epoch_spec(builder):
    """The epoch job with its pipeline built by `builder(cfg, pinned, experience, units)` (to inject faults)."""
    import dataclasses

    from bidirag import jobs

    return dataclasses.replace(jobs.get("epoch"), build=lambda cfg, pins: builder(
        cfg, pins["corpus"], pins["experience"], pins["units"]))


def write_log(path: Path, rows: list) -> Path:
    with path.open("wb") as f:
        for r in rows:
            f.write(r if isinstance(r, bytes) else (json.dumps(r) + "\n").encode())
    return path


@pytest.fixture
def query_log(tmp_path):
    return write_log(tmp_path / "queries.jsonl", [
        {"query_id": "q1", "text": "What is the capital of Poland?"},
        {"query_id": "q2", "text": "When was the Eiffel Tower completed?"},
        {"query_id": "q3", "text": "Who won Super Bowl 50?"},
        {"query_id": "q4", "text": "Which river flows through Warsaw, the capital of Poland?"},
        {"query_id": "q5", "text": "This one is unanswerable: who was Tesla?"},
    ])
