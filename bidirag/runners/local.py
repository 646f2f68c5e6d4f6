"""In-process runner (the embedded default): streams batches through the stages one after another."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator

from bidirag.pipeline import Pipeline
from bidirag.runners.common import apply_stage, finish_on_driver, number
from bidirag.stages.base import Record


class LocalRunner:
    def __init__(self) -> None:
        self.stage_seconds: dict[str, float] = defaultdict(float)

    def stream(self, pipeline: Pipeline, batches: Iterable[list[Record]]) -> Iterator[list[Record]]:
        for st in pipeline.stages:
            t = time.perf_counter()
            st.setup()
            self.stage_seconds[f"{st.name}.setup"] += time.perf_counter() - t
        seq = 0
        try:
            for batch in batches:
                number(batch, seq)
                seq += len(batch)
                for st in pipeline.stages:
                    batch = apply_stage(st, batch, self.stage_seconds)
                yield batch
        finally:
            for st in pipeline.stages:
                st.teardown()

    def finish(self, pipeline: Pipeline, records: list[Record]) -> list[Record]:
        return finish_on_driver(pipeline, records, self.stage_seconds)
