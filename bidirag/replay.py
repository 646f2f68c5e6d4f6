"""Replay production query logs epoch by epoch, resumably.

The plan is deterministic: the files (a file, a directory's *.jsonl/*.parquet, or a glob) in name order,
their records in order, filtered to the time window, cut into epochs of `epoch_size` records. Epoch k of
a plan is its shard; its completion record is the epoch manifest (`input` = "replay:<plan id>:<k>"),
written right after the commit. A re-run skips completed shards and continues with the first missing one.

`date` (the logical date of a nightly run, `--date YYYY-MM-DD`) is the UTC day [D 00:00, D+1 00:00): the same
plan as `--since/--until` of that day, so a missed night is re-run, and a finished night re-run is a no-op.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bidirag.config import Config
from bidirag.data.querylog import DeadLetter, QueryLogError, batched, is_log_file, read_log
from bidirag.driver import JobFailed
from bidirag.epoch import run_epoch
from bidirag.store import Store
from bidirag.uri import LocationError, RemotePath, is_remote, join, location

logger = logging.getLogger(__name__)


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


# an epoch number's unit, told by its size: seconds up to 1e11 (year 5138), then milliseconds, microseconds and
# nanoseconds (each 1,000 times larger); a millisecond value before 1973 would read as seconds
_EPOCH_UNITS = ((1e11, 1.0, "seconds"), (1e14, 1e3, "milliseconds"), (1e17, 1e6, "microseconds"),
                (1e20, 1e9, "nanoseconds"))


def parse_timestamp(value) -> tuple[datetime | None, str | None]:
    """A log timestamp as an aware UTC datetime, or None and the reason it cannot be read. ISO 8601 (a naive one
    is taken as UTC), or a number of seconds / milliseconds / microseconds / nanoseconds since 1970 (a JSON number
    or a string of digits), told apart by magnitude."""
    if value is None or value == "":
        return None, "no timestamp"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, f"timestamp {value!r} is a {type(value).__name__}, not an ISO 8601 string or an epoch number"
    num = value
    if isinstance(value, str):
        try:
            num = float(value.strip())
        except ValueError:
            num = None
    if num is not None:
        if num != num or abs(num) == float("inf"):
            return None, f"timestamp {value!r} is not a finite number"
        for bound, per_second, unit in _EPOCH_UNITS:
            if abs(num) < bound:
                try:
                    return datetime.fromtimestamp(num / per_second, tz=UTC), None
                except (OverflowError, OSError, ValueError) as e:
                    return None, f"timestamp {value!r} read as epoch {unit} is out of range ({e})"
        return None, f"timestamp {value!r} is too large for epoch seconds, milli-, micro- or nanoseconds"
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None, (f"timestamp {value[:60]!r} is neither ISO 8601 (e.g. 2026-11-21T08:30:00Z) nor epoch "
                      "seconds or milliseconds")
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC), None


def parse_time(value) -> datetime | None:
    return parse_timestamp(value)[0]


def day_window(day: str) -> tuple[str, str]:
    """`--date 2026-12-01` -> ("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"), the UTC day."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            raise ValueError(day)
        d = datetime.strptime(day, "%Y-%m-%d").date()
    except ValueError:
        raise QueryLogError(f"--date {day!r}: give the logical date as YYYY-MM-DD, e.g. 2026-12-01") from None
    return f"{d.isoformat()}T00:00:00Z", f"{(d + timedelta(days=1)).isoformat()}T00:00:00Z"


def plan_id(files: list[Path], since, until, epoch_size: int) -> str:
    key = [[str(f.resolve()), f.stat().st_size] for f in files] + [str(since), str(until), epoch_size]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]


def _records(files: list[Path], dead: DeadLetter, cfg: Config, since, until, skipped: list) -> Iterator[dict]:
    """Records of the plan in the window. A record whose timestamp is missing or unreadable cannot be placed in
    a window: with --since/--until it is dead-lettered with the reason (and the record, so it can be replayed
    once fixed), never counted as outside the window."""
    for f in files:
        for rec in read_log(f, dead, cfg.input.max_query_chars, cfg.input.max_line_bytes, lines=True):
            line = rec.pop("_line", -1)
            if since or until:
                t, why = parse_timestamp(rec.get("timestamp"))
                if t is None:
                    dead.add(str(f), line, f"{why}; the --since/--until window needs one", record=rec)
                    continue
                if (since and t < since) or (until and t >= until):
                    skipped[0] += 1
                    continue
            yield rec


def _dead_letter(path: Path, prefix: str, done: set[int]) -> DeadLetter:
    """The plan's dead-letter file, rebuilt on every pass over the logs (bad lines are found again), keeping the
    failed records of shards committed earlier: those shards are not run again, so this file is their only copy."""
    kept = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
                shard = int(e["source"][len(prefix):].split()[0]) if e["source"].startswith(prefix) else None
            except (ValueError, KeyError, TypeError, AttributeError, IndexError):
                continue
            if shard in done and isinstance(e.get("record"), dict):
                kept.append(e)
        path.unlink()
    dead = DeadLetter(path)
    for e in kept:
        dead.add(e["source"], e.get("line", -1), e.get("reason", "failed"), record=e["record"])
    return dead


def replay(cfg: Config, log_spec: str | Path, since: str | None = None, until: str | None = None,
           epoch_size: int = 500, progress: bool = True, spec=None, log=logger.info,
           on_report=None, date: str | None = None) -> dict:
    """Run the plan's missing shards. A shard whose epoch fails (JobFailed: too many failed records) is not
    marked done: replay.json says which shard failed and why, the failed records are in the plan's
    dead_letter.jsonl (itself a log `replay` reads), and JobFailed is raised with that summary as its report.
    `date` (YYYY-MM-DD): that UTC day as the window, so a missed night can be run again."""
    if epoch_size < 1:
        raise QueryLogError(f"--epoch-size {epoch_size}: give at least 1 (queries per epoch)")
    if date is not None:
        if since or until:
            raise QueryLogError("--date sets the time window itself (that UTC day); give --date or --since/--until, "
                                "not both")
        since, until = day_window(date)
    t_since, t_until = parse_time(since), parse_time(until)
    if (since and t_since is None) or (until and t_until is None):
        raise QueryLogError(f"cannot parse --since/--until {since!r}/{until!r}; use ISO 8601 "
                            "(e.g. 2026-11-21T00:00:00Z) or epoch seconds or milliseconds")
    store = Store.from_config(cfg.store, cfg.models.embedder.dim)
    files = plan_files(log_spec, store.storage_options)
    pid = plan_id(files, t_since, t_until, epoch_size)
    store.init()
    prefix = f"replay:{pid}:"
    done = {int(m["input"].split(":")[2].split()[0]) for m in store.manifests()
            if (m["input"] or "").startswith(prefix)}
    run_dir = location(join(cfg.run.runs_dir, f"replay-{pid}"), store.storage_options)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(cfg.model_dump(mode="json"), indent=1) + "\n")  # beside replay.json
    dead = _dead_letter(run_dir / "dead_letter.jsonl", prefix, done)
    skipped = [0]
    reports, resumed = [], sorted(done)
    if done:
        log(f"replay {pid}: {len(done)} epoch(s) already committed, resuming after shard {max(done)}")
    summary = {"plan": pid, "files": [str(f) for f in files], "date": date, "since": since, "until": until,
               "epoch_size": epoch_size, "skipped_shards": resumed, "dead_letter": str(dead.path)}

    def _write(status: str, **extra) -> dict:
        summary.update({"status": status, "epochs_run": len(reports), "outside_window": skipped[0],
                        "dead_lettered": dead.count, "written": sum(r["written"] for r in reports),
                        "reports": [r["report_dir"] for r in reports], **extra})
        (run_dir / "replay.json").write_text(json.dumps(summary, indent=1) + "\n")
        return summary

    try:
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
    except JobFailed as e:
        dead.close()
        failed = _write("failed", failed_shard=k, error=str(e), failed_report=e.report)
        raise JobFailed(f"replay {pid}: shard {k} not committed and not marked done; {e}", failed) from e
    dead.close()
    _write("ok")
    return summary
