"""`bidirag distill`: WriteBack-RAG distillation over labeled examples, i.e. the `units` job
(pipelines/writeback_distill.py) run by the driver; one knowledge_units version per run, tagged units-N."""

from __future__ import annotations

from pathlib import Path

from bidirag import jobs
from bidirag.config import Config
from bidirag.driver import JobSpec, run_job


def run_distill(cfg: Config, examples: str | Path, run_name: str | None = None, progress: bool = True,
                spec: JobSpec | None = None) -> dict:
    return run_job(cfg, spec or jobs.get("units"), examples, run_name=run_name, progress=progress)
