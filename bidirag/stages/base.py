"""Stage contract (after Curator's ProcessingStage and Haystack's warm_up).

A record is a dict. Its `status` (a `Status`) is OK while it moves through the pipeline; a stage that
rejects or fails a record sets `status` and `reason`, and later stages pass it through untouched.
`process_batch` returns exactly one record per input, in the same order. Each stage declares the fields it
`reads` and `writes`: the runner checks the chain once before the first batch (every read is written by an
earlier stage or is an input field) and checks each batch's OK records for the declared writes, as it
checks the 1:1 alignment.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from enum import StrEnum
from typing import ClassVar

from bidirag.config import Resources

Record = dict


class Status(StrEnum):
    OK = "ok"
    REJECTED = "rejected"           # a check said no (reason + failed_check)
    FAILED = "failed"               # a stage raised on it (reason names the stage and error)
    DEDUPLICATED = "deduplicated"   # a near-duplicate of another candidate of the same job
    ANSWERED = "answered"           # standard RAG: answered, nothing is written
    MEMO = "memo"                   # answered and judged before (run memo): skips generation and checks; the
                                    # driver's `settle` gives it its recorded verdict before it is counted


def is_ok(r: Record) -> bool:
    return r.get("status", Status.OK) == Status.OK


def reject(r: Record, check: str, reason: str) -> None:
    r["status"], r["failed_check"], r["reason"] = Status.REJECTED, check, reason


class ContractError(RuntimeError):
    pass


class Stage(ABC):
    name: ClassVar[str] = "stage"
    reads: ClassVar[frozenset[str]] = frozenset()
    writes: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, resources: Resources | None = None) -> None:
        self.resources = resources or Resources()

    def setup(self) -> None:
        """Load models and clients. Called once per worker before the first batch."""

    def teardown(self) -> None:
        """Release what setup() loaded."""

    def process_batch(self, batch: list[Record]) -> list[Record]:
        active = [r for r in batch if is_ok(r)]
        if active:
            self.process_active(active)
        return batch

    @abstractmethod
    def process_active(self, records: list[Record]) -> None:
        """Update the records in place (all have status OK)."""


class GlobalStage(ABC):
    """A stage that needs every record of the job at once (e.g. within-job dedup)."""

    name: ClassVar[str] = "global"
    reads: ClassVar[frozenset[str]] = frozenset()

    def setup(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    @abstractmethod
    def process_all(self, records: list[Record]) -> list[Record]:
        ...


class AlignmentError(RuntimeError):
    pass


def check_aligned(stage: str, before: list[Record], after: list[Record]) -> None:
    """One output per input, same order (rows carry `_idx`, their position in the batch)."""
    if len(before) != len(after) or any(a.get("_idx") != b.get("_idx") for a, b in
                                        zip(before, after, strict=True)):
        raise AlignmentError(f"stage {stage!r} returned {len(after)} records for {len(before)} inputs or "
                             "changed their order; a stage must return one record per input, in order")


def check_chain(stages: Iterable[Stage | GlobalStage], inputs: Iterable[str]) -> None:
    """Every field a stage reads is an input field or written by an earlier stage (checked once per run)."""
    have = set(inputs)
    for st in stages:
        missing = set(st.reads) - have
        if missing:
            raise ContractError(f"stage {st.name!r} reads {sorted(missing)}, which no earlier stage writes and "
                                f"the input does not carry (input fields: {sorted(set(inputs))})")
        have |= set(getattr(st, "writes", ()))


def check_writes(stage: Stage, records: list[Record]) -> None:
    """An OK record leaving a stage carries every field the stage declares it writes."""
    for r in records:
        if is_ok(r):
            missing = [f for f in stage.writes if f not in r]
            if missing:
                raise ContractError(f"stage {stage.name!r} declares it writes {sorted(stage.writes)} but left "
                                    f"{missing} unset on record {r.get('query_id')!r}")
