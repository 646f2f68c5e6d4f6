"""Stage contract (after Curator's ProcessingStage and Haystack's warm_up).

A record is a dict. `status` is "ok" while it moves through the pipeline; a stage that rejects or fails a
record sets `status` ("rejected" / "failed") and `reason`, and later stages pass it through untouched.
`process_batch` returns exactly one record per input, in the same order; the runner checks that.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from bidirag.config import Resources

Record = dict


@dataclass(frozen=True)
class StageSpec:
    name: str
    batch_size: int
    resources: Resources


class Stage(ABC):
    name = "stage"

    def __init__(self, batch_size: int = 32, resources: Resources | None = None) -> None:
        self.batch_size = batch_size
        self.resources = resources or Resources()

    @property
    def spec(self) -> StageSpec:
        return StageSpec(self.name, self.batch_size, self.resources)

    def setup(self) -> None:
        """Load models and clients. Called once per worker before the first batch."""

    def teardown(self) -> None:
        """Release what setup() loaded."""

    def process_batch(self, batch: list[Record]) -> list[Record]:
        active = [r for r in batch if r.get("status", "ok") == "ok"]
        if active:
            self.process_active(active)
        return batch

    @abstractmethod
    def process_active(self, records: list[Record]) -> None:
        """Update the records in place (all have status ok)."""


class GlobalStage(ABC):
    """A stage that needs every record of the epoch at once (e.g. within-epoch dedup)."""

    name = "global"

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
