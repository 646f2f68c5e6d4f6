"""`bidirag run`: one Bidirectional-RAG epoch, i.e. the `epoch` job (pipelines/bidirectional.py) run by the
driver, and the epoch report's text form."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bidirag import jobs
from bidirag.config import Config
from bidirag.data.querylog import DeadLetter
from bidirag.driver import JobSpec, run_job


def run_epoch(cfg: Config, queries: str | Path | Iterable[dict], run_name: str | None = None,
              progress: bool = True, spec: JobSpec | None = None, input_desc: str | None = None,
              dead: DeadLetter | None = None) -> dict:
    """One epoch. `queries` is a log file, or already-read records (then `dead` counts the bad ones)."""
    return run_job(cfg, spec or jobs.get("epoch"), queries, run_name=run_name, progress=progress,
                   input_desc=input_desc, dead=dead)


def format_report(rep: dict) -> str:
    rb = rep["rejected_by_check"]
    errors = ", ".join(f"{k} {v}" for k, v in rep.get("stage_errors", {}).items()) or "none"
    lines = [
        f"epoch {rep['epoch']} ({rep['run']}) on {rep['input']}",
        f"  queries read        {rep['queries']}  (dead-lettered {rep['dead_lettered']})",
        f"  answers generated   {rep['generated']}  (failed {rep['failed']})"
        + (f"  (memo hits {rep['memo_hits']})" if rep.get("memo_hits") else ""),
        f"  accepted            {rep['accepted']}",
        "  rejected by check   " + ", ".join(f"{c} {n}" for c, n in rb.items()),
        f"  deduplicated        {rep['deduplicated']}",
        f"  written             {rep['written']}  (critiques {rep['critiques_written']})",
        f"  snapshot            corpus version {rep['snapshot_version']}, tag {rep['tag']} "
        f"(pinned at start: {rep['pinned_version']})",
        "  stage seconds       " + ", ".join(f"{k} {v:.1f}" for k, v in rep["stage_seconds"].items()),
        f"  stage errors        {errors}",
        f"  wall seconds        {rep['wall_seconds']:.1f}",
        f"  report              {rep['report_dir']}/report.json" + (" (+ report.html)" if rep.get("html") else ""),
    ]
    return "\n".join(lines)
