"""A pipeline definition: streaming stages, then global stages. Building one has no side effects."""

from __future__ import annotations

from dataclasses import dataclass, field

from bidirag.stages.base import GlobalStage, Stage, check_chain

# what the runner adds to every record before the first stage
RUNNER_FIELDS = ("status", "_idx", "_seq")


@dataclass
class Pipeline:
    name: str
    stages: list[Stage]
    global_stages: list[GlobalStage] = field(default_factory=list)
    inputs: tuple[str, ...] = ("query_id", "text")

    def check_contract(self) -> None:
        check_chain([*self.stages, *self.global_stages], (*self.inputs, *RUNNER_FIELDS))
