"""What every runner does to a batch: run a stage, check 1:1 alignment, turn failures into data.

A batch that raises is retried in halves (an explicit work list, no recursion) down to single records;
a record that still fails gets status 'failed' with the stage and error as its reason. So one poisoned
record or an out-of-memory on a big batch costs only what cannot be processed.
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict

from bidirag.stages.base import Record, Stage, check_aligned


def number(batch: list[Record], start: int) -> None:
    """Tag records with their batch position and global sequence number (the order of the log)."""
    for i, r in enumerate(batch):
        r.setdefault("status", "ok")
        r["_idx"], r["_seq"] = i, start + i


def _fail(records: list[Record], stage: str, err: BaseException) -> None:
    for r in records:
        if r.get("status", "ok") == "ok":
            r["status"], r["failed_check"] = "failed", stage
            r["reason"] = f"{stage} failed: {type(err).__name__}: {err}"[:500]


def apply_stage(stage: Stage, batch: list[Record], stats: dict | None = None) -> list[Record]:
    stats = stats if stats is not None else defaultdict(float)
    t = time.perf_counter()
    work = [batch]
    done: dict[int, Record] = {}
    while work:
        part = work.pop()
        snapshot = copy.deepcopy(part)        # a failed call may have half-updated its records
        try:
            out = stage.process_batch(part)
            check_aligned(stage.name, part, out)
            for r in out:
                done[r["_seq"]] = r
        except Exception as e:  # noqa: BLE001 - per-batch failure becomes data
            stats[f"{stage.name}.errors"] += 1
            if len(snapshot) > 1:
                mid = len(snapshot) // 2
                work += [snapshot[mid:], snapshot[:mid]]
                stats[f"{stage.name}.retries"] += 1
            else:
                _fail(snapshot, stage.name, e)
                done[snapshot[0]["_seq"]] = snapshot[0]
    stats[stage.name] += time.perf_counter() - t
    return [done[r["_seq"]] for r in batch]


def finish_on_driver(pipeline, records: list[Record], stats: dict) -> list[Record]:
    """Global stages (e.g. within-epoch dedup) run on the driver for every runner."""
    for gs in pipeline.global_stages:
        t = time.perf_counter()
        gs.setup()
        records = gs.process_all(records)
        gs.teardown()
        stats[gs.name] += time.perf_counter() - t
    return records
