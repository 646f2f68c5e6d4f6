"""Replay production query logs epoch by epoch, resumably.

The plan is deterministic: the files (a file, a directory's *.jsonl/*.parquet, or a glob) in name order,
their records in order, filtered to the time window, cut into epochs of `epoch_size` records. Epoch k of
a plan is its shard; its completion record is the epoch manifest (`input` = "replay:<plan id>:<k>"),
written right after the commit. A re-run skips completed shards and continues with the first missing one.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bidirag.config import Config
from bidirag.data.querylog import DeadLetter, QueryLogError, batched, is_log_file, read_log
from bidirag.epoch import run_epoch
from bidirag.store import Store
from bidirag.uri import LocationError, RemotePath, is_remote, join, location


def plan_files(spec: str | Path, options: dict | None = None) -> list[Path | RemotePath]:
    """The plan's files: a file, a folder's logs, or a glob (on an object store, a glob of names in one
    folder, e.g. 's3://bucket/logs/2026-11-*.jsonl')."""
    try:
        p = location(spec, options)
        if p.is_file():
            return [p]
        if p.is_dir():
            files = sorted((f for f in p.iterdir() if is_log_file(f) and f.is_file()), key=str)
        elif is_remote(str(spec)):
            files = sorted((f for f in p.parent.glob(p.name) if is_log_file(f) and f.is_file()), key=str)
        else:
            files = sorted(Path(f) for f in glob.glob(str(spec)) if is_log_file(Path(f)))
    except LocationError as e:
        raise QueryLogError(f"query logs {e}") from None
    if not files:
        raise QueryLogError(f"no query logs found at {spec!r} (a .jsonl/.parquet file, a folder of them, "
                            "or a quoted glob such as 'logs/2026-11-*.jsonl')")
    return files


def parse_time(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=UTC)
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def plan_id(files: list[Path], since, until, epoch_size: int) -> str:
    key = [[str(f.resolve()), f.stat().st_size] for f in files] + [str(since), str(until), epoch_size]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]


def _records(files: list[Path], dead: DeadLetter, cfg: Config, since, until, skipped: list) -> Iterator[dict]:
    for f in files:
        for rec in read_log(f, dead, cfg.input.max_query_chars, cfg.input.max_line_bytes):
            if since or until:
                t = parse_time(rec.get("timestamp"))
                if t is None or (since and t < since) or (until and t >= until):
                    skipped[0] += 1
                    continue
            yield rec


def replay(cfg: Config, log_spec: str | Path, since: str | None = None, until: str | None = None,
           epoch_size: int = 500, progress: bool = True, spec=None, log=print,
           on_report=None) -> dict:
    if epoch_size < 1:
        raise ValueError("--epoch-size must be at least 1")
    t_since, t_until = parse_time(since), parse_time(until)
    if (since and t_since is None) or (until and t_until is None):
        raise QueryLogError(f"cannot parse --since/--until {since!r}/{until!r}; use ISO 8601, "
                            "e.g. 2026-11-21T00:00:00Z")
    store = Store.from_config(cfg.store, cfg.models.embedder.dim)
    files = plan_files(log_spec, store.storage_options)
    pid = plan_id(files, t_since, t_until, epoch_size)
    store.init()
    prefix = f"replay:{pid}:"
    done = {int(m["input"].split(":")[2].split()[0]) for m in store.manifests()
            if (m["input"] or "").startswith(prefix)}
    run_dir = location(join(cfg.run.runs_dir, f"replay-{pid}"), store.storage_options)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "dead_letter.jsonl").unlink(missing_ok=True)   # rebuilt on every pass over the logs
    dead = DeadLetter(run_dir / "dead_letter.jsonl")
    skipped = [0]
    reports, resumed = [], sorted(done)
    if done:
        log(f"replay {pid}: {len(done)} epoch(s) already committed, resuming after shard {max(done)}")
    for k, batch in enumerate(batched(_records(files, dead, cfg, t_since, t_until, skipped), epoch_size)):
        if k in done:
            continue
        desc = f"{prefix}{k} " + ",".join(f.name for f in files)
        rep = run_epoch(cfg, batch, run_name=f"replay-{pid}", progress=progress, spec=spec,
                        input_desc=desc, dead=dead)
        reports.append(rep)
        if on_report is not None:
            on_report(rep)
        log(f"replay {pid}: shard {k} -> epoch {rep['epoch']}, written {rep['written']}, "
            f"snapshot v{rep['snapshot_version']}")
    dead.close()
    summary = {"plan": pid, "files": [str(f) for f in files], "since": since, "until": until,
               "epoch_size": epoch_size, "skipped_shards": resumed, "epochs_run": len(reports),
               "outside_window": skipped[0], "dead_lettered": dead.count,
               "written": sum(r["written"] for r in reports), "reports": [r["report_dir"] for r in reports]}
    (run_dir / "replay.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
