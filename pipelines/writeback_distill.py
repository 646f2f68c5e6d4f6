"""WriteBack-RAG: labeled examples -> retrieve -> utility gate -> document gate -> distill -> unit check
-> dedup (-> write to knowledge_units, by the driver)."""

from __future__ import annotations

from bidirag.config import Config
from bidirag.pipeline import Pipeline
from bidirag.stages.dedup import NearDuplicateFilter
from bidirag.stages.distill import Distill, DocumentGate, UnitCheck, UtilityGate
from bidirag.stages.rag import Retrieve


def build(cfg: Config, pinned_version: int, units_version: int) -> Pipeline:
    rcfg = cfg.model_copy(update={"retrieval": cfg.retrieval.model_copy(
        update={"top_k": cfg.distill.top_k, "use_units": False})})
    return Pipeline(
        name="writeback-distill",
        stages=[Retrieve(rcfg, pinned_version), UtilityGate(cfg), DocumentGate(cfg), Distill(cfg),
                UnitCheck(cfg, units_version)],
        global_stages=[NearDuplicateFilter(cfg.dedup.max_cosine)],
    )
