"""Bidirectional RAG epoch: read log -> retrieve -> generate -> validate -> dedup (-> write, by the runner)."""

from __future__ import annotations

from bidirag.config import Config
from bidirag.pipeline import Pipeline
from bidirag.stages.dedup import NearDuplicateFilter
from bidirag.stages.rag import Generate, Retrieve, Validate


def build(cfg: Config, pinned_version: int, experience_version: int | None = None,
          critiques: int = 0) -> Pipeline:
    return Pipeline(
        name="bidirectional",
        stages=[Retrieve(cfg, pinned_version, experience_version, critiques), Generate(cfg),
                Validate(cfg, pinned_version)],
        global_stages=[NearDuplicateFilter(cfg.dedup.max_cosine)],
    )
