"""In-process runner (the embedded default): streams batches through the stages one after another."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bidirag.pipeline import Pipeline
from bidirag.runners.common import RunStats, apply_stage, finish_on_driver, number, setup_stages
from bidirag.stages.base import Record


class LocalRunner:
    def __init__(self) -> None:
        self.stats = RunStats()

    def stream(self, pipeline: Pipeline, batches: Iterable[list[Record]]) -> Iterator[list[Record]]:
        pipeline.check_contract()
        setup_stages(pipeline.stages, self.stats)
        seq = 0
        try:
            for batch in batches:
                number(batch, seq)
                seq += len(batch)
                for st in pipeline.stages:
                    batch = apply_stage(st, batch, self.stats)
                yield batch
        finally:
            for st in pipeline.stages:
                st.teardown()

    def finish(self, pipeline: Pipeline, records: list[Record]) -> list[Record]:
        return finish_on_driver(pipeline, records, self.stats)
