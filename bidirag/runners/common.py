"""What every runner does to a batch: run a stage, check 1:1 alignment and declared writes, turn failures
into data.

A batch that fails is retried in halves (`retry_in_halves`, an explicit work list, no recursion) down to
single records; a record that still fails gets status FAILED with the stage and error as its reason. So one
poisoned record or an out-of-memory on a big batch costs only what cannot be processed. The Ray runner
uses the same loop for timeouts and dead actors.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bidirag.stages.base import Record, Stage, Status, check_aligned, check_writes, is_ok

logger = logging.getLogger(__name__)


@dataclass
class RunStats:
    """Seconds per stage (and per stage set-up) apart from error and retry counts."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    logged: set[tuple[str, str, str]] = field(default_factory=set)   # errors already logged at WARNING

    def merge(self, other: dict) -> None:
        for k, v in other.get("seconds", {}).items():
            self.seconds[k] += v
        for k, v in other.get("errors", {}).items():
            self.errors[k] += int(v)

    def as_dict(self) -> dict:
        return {"seconds": dict(self.seconds), "errors": dict(self.errors)}


def number(batch: list[Record], start: int) -> None:
    """Tag records with their batch position and global sequence number (the order of the log)."""
    for i, r in enumerate(batch):
        r.setdefault("status", Status.OK)
        r["_idx"], r["_seq"] = i, start + i


def fail(records: list[Record], stage: str, why: str) -> None:
    for r in records:
        if is_ok(r):
            r["status"], r["failed_check"] = Status.FAILED, stage
            r["reason"] = why[:500]


Decision = Literal["halve", "resend", "fail"]


def retry_in_halves(batch: list[Record], run: Callable[[list[Record], bool], list[Record]],
                    decide: Callable[[Exception, list[Record], bool], Decision],
                    fail_reason: Callable[[Exception], str], stage: str) -> list[Record]:
    """Run `batch`; on an error, `decide` says: send the part again whole once ("resend"), split it in halves
    ("halve"; single records then fail), or fail its records now ("fail"). `run(part, first)` is told whether
    this is the first attempt of the whole batch. Outputs come back in input order."""
    work: list[tuple[list[Record], bool, bool]] = [(batch, False, True)]
    out: list[Record] = []
    while work:
        part, resent, first = work.pop(0)
        snapshot = copy.deepcopy(part)        # a failed call may have half-updated its records
        try:
            out += run(part, first)
            continue
        except Exception as e:  # noqa: BLE001 - a batch's failure becomes data
            what = decide(e, snapshot, resent)
            if what == "resend" and not resent:
                work.insert(0, (snapshot, True, False))
            elif what != "fail" and len(snapshot) > 1:
                mid = len(snapshot) // 2
                work[:0] = [(snapshot[:mid], False, False), (snapshot[mid:], False, False)]
            else:
                fail(snapshot, stage, fail_reason(e))
                out += snapshot
    return out


def _log_failure(stats: RunStats, stage: str, e: Exception, n: int) -> None:
    """A stage's exception in this process's log (a Ray actor's reaches the driver's): each distinct error once
    per runner (or actor) at WARNING, repeats at DEBUG, so an endpoint that is down does not log once per record."""
    key = (stage, type(e).__name__, str(e)[:200])
    level = logging.DEBUG if key in stats.logged else logging.WARNING
    if len(stats.logged) < 10_000:
        stats.logged.add(key)
    logger.log(level, "stage %s failed on %d record(s): %s: %s (%s)", stage, n, type(e).__name__, e,
               "retried in halves" if n > 1 else "the record fails; see its reason in the verdicts and dead letters")


def apply_stage(stage: Stage, batch: list[Record], stats: RunStats | None = None) -> list[Record]:
    stats = stats if stats is not None else RunStats()
    t = time.perf_counter()

    def run(part: list[Record], first: bool) -> list[Record]:
        out = stage.process_batch(part)
        check_aligned(stage.name, part, out)
        check_writes(stage, out)
        return out

    def decide(e: Exception, part: list[Record], resent: bool) -> Decision:
        stats.errors[f"{stage.name}.errors"] += 1
        _log_failure(stats, stage.name, e, len(part))
        if len(part) > 1:
            stats.errors[f"{stage.name}.retries"] += 1
        return "halve"

    out = retry_in_halves(batch, run, decide, lambda e: f"{stage.name} failed: {type(e).__name__}: {e}", stage.name)
    stats.seconds[stage.name] += time.perf_counter() - t
    return out


def setup_stages(stages: list[Stage], stats: RunStats) -> None:
    for st in stages:
        t = time.perf_counter()
        st.setup()
        stats.seconds[f"{st.name}.setup"] += time.perf_counter() - t


def finish_on_driver(pipeline, records: list[Record], stats: RunStats) -> list[Record]:
    """Global stages (e.g. within-job dedup) run on the driver for every runner."""
    for gs in pipeline.global_stages:
        t = time.perf_counter()
        gs.setup()
        records = gs.process_all(records)
        gs.teardown()
        stats.seconds[gs.name] += time.perf_counter() - t
    return records
