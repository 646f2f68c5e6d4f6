"""In-process runner: streams batches through the stages, times each stage, checks 1:1 alignment.

A stage that raises on a batch fails those records (status 'failed', the error as reason); the job
goes on with the next batch.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator

from bidirag.pipeline import Pipeline
from bidirag.stages.base import Record, check_aligned


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
                for i, r in enumerate(batch):
                    r.setdefault("status", "ok")
                    r["_idx"], r["_seq"] = i, seq + i
                seq += len(batch)
                for st in pipeline.stages:
                    t = time.perf_counter()
                    try:
                        out = st.process_batch(batch)
                        check_aligned(st.name, batch, out)
                        batch = out
                    except Exception as e:  # noqa: BLE001 - per-batch failure becomes data
                        for r in batch:
                            if r["status"] == "ok":
                                r["status"], r["failed_check"] = "failed", st.name
                                r["reason"] = f"{st.name} failed: {type(e).__name__}: {e}"[:500]
                    self.stage_seconds[st.name] += time.perf_counter() - t
                yield batch
        finally:
            for st in pipeline.stages:
                st.teardown()

    def finish(self, pipeline: Pipeline, records: list[Record]) -> list[Record]:
        for gs in pipeline.global_stages:
            t = time.perf_counter()
            gs.setup()
            records = gs.process_all(records)
            gs.teardown()
            self.stage_seconds[gs.name] += time.perf_counter() - t
        return records
