"""Bidirectional RAG epoch: read log -> retrieve -> generate -> validate -> dedup (-> write, by the runner)."""

from __future__ import annotations

from bidirag.config import Config
from bidirag.pipeline import Pipeline
from bidirag.stages.dedup import NearDuplicateFilter
from bidirag.stages.rag import Generate, Retrieve, Validate


def build(cfg: Config, pinned_version: int, experience_version: int | None = None,
          units_version: int | None = None) -> Pipeline:
    """`writeback.mode` picks the system: bidirectional (checks + experience + dedup), naive (scores are
    recorded but every answer passes), none (standard RAG: retrieve + generate only)."""
    mode = cfg.writeback.mode
    critiques = cfg.experience.top_m if mode == "bidirectional" else 0
    stages = [Retrieve(cfg, pinned_version, experience_version, critiques, units_version), Generate(cfg)]
    if mode != "none":
        stages.append(Validate(cfg, pinned_version, enforce=mode == "bidirectional"))
    dedup = [NearDuplicateFilter(cfg.dedup.max_cosine)] if mode == "bidirectional" else []
    return Pipeline(name=f"rag-{mode}", stages=stages, global_stages=dedup)
