"""A pipeline definition: streaming stages, then global stages. Building one has no side effects."""

from __future__ import annotations

from dataclasses import dataclass, field

from bidirag.stages.base import GlobalStage, Stage


@dataclass
class Pipeline:
    name: str
    stages: list[Stage]
    global_stages: list[GlobalStage] = field(default_factory=list)
