"""One driver for every job (after datatrove's executor base): a job is a `JobSpec`, handed to `run_job`.

The driver owns a job's life: writer lock, store, job number, pinned snapshots, run folder, dead letters,
the runner's stream and `finish`, counting, `verdicts.jsonl`, the failed-share limit, one commit per target
table (fault points `before_commit` / `after_commit` around the first), tags, manifest and `report.json`.
A spec says only what to run: its pipeline builder, what to pin, which rows go to which table. Specs live in
`pipelines/` and are found by name through the `bidirag.jobs` entry points (`bidirag.jobs`); this package
never imports `pipelines/`. The HTML report is rendered by the caller after the commit, never inside it.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from bidirag import faults
from bidirag.config import Config
from bidirag.data.querylog import DeadLetter, QueryLogError, batched, check_log, read_log
from bidirag.lock import writer_lock
from bidirag.pipeline import Pipeline
from bidirag.release import job_base, manifest_figures, prepare_base
from bidirag.runners import make_runner
from bidirag.stages.base import Status
from bidirag.store import Store
from bidirag.uri import RemotePath, join, location


class JobFailed(RuntimeError):
    """A whole-job failure: nothing was committed; the report says why."""

    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class JobState:
    """What a running job knows; specs' row builders and report hooks read it."""

    cfg: Config
    n: int
    run_name: str
    run_dir: Path | RemotePath
    input_desc: str
    pins: dict[str, int | None]
    counts: Counter = field(default_factory=Counter)
    rejected_by: Counter = field(default_factory=Counter)
    candidates: list[dict] = field(default_factory=list)   # OK after the streaming stages
    rejected: list[dict] = field(default_factory=list)     # REJECTED records (critiques come from these)
    versions: dict[str, int] = field(default_factory=dict)  # table -> version after the commit
    written: dict[str, int] = field(default_factory=dict)   # table -> rows of this job in that version
    extra: dict = field(default_factory=dict)               # the spec's own per-job state (e.g. its memo)


@dataclass(frozen=True)
class Target:
    """A table a job writes: its rows, and how many rows of this job its new version holds."""

    table: str
    rows: Callable[[JobState], list[dict]]
    count: Callable[[Store, JobState, int, int], int] = lambda store, st, version, inserted: inserted


@dataclass(frozen=True)
class JobSpec:
    kind: str                                   # manifest kind and tag prefix: epoch -> epoch-N
    what: str                                   # for messages: "epoch", "distillation"
    build: Callable[[Config, dict[str, int | None]], Pipeline]
    pins: Callable[[Store, int, Config], dict[str, int | None]]
    targets: tuple[Target, ...]                 # the first is the job's main table (manifest, report)
    report: Callable[[JobState], dict]          # the spec's own report keys
    verdict_fields: tuple[str, ...] = ("query_id", "text", "status", "failed_check", "reason", "scores")
    count: Callable[[dict, Counter], None] = lambda r, counts: None
    inputs: Callable[[Iterator[dict], DeadLetter, str], Iterator[dict]] = lambda it, dead, src: it
    writes: Callable[[Config], bool] = lambda cfg: True
    run_prefix: str = "run"
    require_records: bool = False               # an input with no usable record is an error, not an empty job
    # called on every record as it leaves the pipeline, in log order, before it is counted and sorted: a spec
    # may settle records its pipeline deferred (the run memo gives a MEMO record its recorded verdict)
    settle: Callable[[JobState, dict], None] = lambda st, r: None


def run_job(cfg: Config, spec: JobSpec, source: str | Path | Iterable[dict], run_name: str | None = None,
            progress: bool = True, input_desc: str | None = None, dead: DeadLetter | None = None) -> dict:
    """Run one job and commit it. `source` is a log file, or already-read records (`dead` counts bad ones)."""
    t0 = time.perf_counter()
    store = Store.from_config(cfg.store, cfg.models.embedder.dim)
    if _is_file(source):
        source = location(source, store.storage_options)
        check_log(source)            # a wrong file fails now, not after the models have loaded
    location(cfg.run.runs_dir, store.storage_options).mkdir(parents=True, exist_ok=True)   # reachable?
    if cfg.run.runner == "beam" and cfg.run.beam.temp_root():    # where Beam's workers read and write: reachable?
        location(cfg.run.beam.temp_root(), store.storage_options).mkdir(parents=True, exist_ok=True)
    with writer_lock(cfg.store.uri, cfg.store.lock, what=f"{spec.what} over {input_desc or source}"):
        store.init()
        prepare_base(store, job_base(store, cfg.run.base, input_desc))   # production (or run.base), not a rejected head
        st = _start(cfg, spec, store, source, run_name, input_desc)
        dead, owned = _dead_letter(st, source, dead)
        records = _records(cfg, spec, st, source, dead)
        dead_before = dead.count if not owned else 0
        runner = make_runner(cfg)
        _stream(spec, st, runner, records, dead, progress)
        if owned:
            dead.close()
        st.counts["dead_lettered"] = dead.count - dead_before
        if spec.require_records and not st.counts["records"] and st.counts["dead_lettered"]:
            raise QueryLogError(f"{st.input_desc}: no usable records ({st.counts['dead_lettered']} dead-lettered, "
                                f"see {st.run_dir / 'dead_letter.jsonl'}); see the reasons there")
        _check_failed_share(spec, st, dead)
        _commit(spec, store, st)
        return _finish(spec, store, st, runner, t0)


def _start(cfg: Config, spec: JobSpec, store: Store, source, run_name: str | None, input_desc: str | None) -> JobState:
    n = store.next_epoch(spec.kind)
    pins = spec.pins(store, n, cfg)            # a crashed attempt of this job may have committed: same pins
    run_name = run_name or time.strftime(f"{spec.run_prefix}-%Y%m%d-%H%M%S")
    run_dir = location(join(cfg.run.runs_dir, run_name, f"{spec.kind}-{n}"), store.storage_options)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(cfg.model_dump(mode="json"), indent=1) + "\n")
    desc = input_desc or (str(source) if _is_file(source) else "records")
    return JobState(cfg, n, run_name, run_dir, desc, pins)


def _is_file(source) -> bool:
    return isinstance(source, str | Path | RemotePath)


def _dead_letter(st: JobState, source, dead: DeadLetter | None) -> tuple[DeadLetter, bool]:
    if _is_file(source):
        return DeadLetter(st.run_dir / "dead_letter.jsonl"), True
    return dead or DeadLetter(None), False


def _records(cfg: Config, spec: JobSpec, st: JobState, source, dead: DeadLetter) -> Iterator[dict]:
    if _is_file(source):
        it = read_log(source, dead, cfg.input.max_query_chars, cfg.input.max_line_bytes)
    else:
        it = iter(source)
    return spec.inputs(it, dead, st.input_desc)


def _verdict_line(spec: JobSpec, r: dict) -> str:
    out = {k: r.get(k) for k in spec.verdict_fields}
    for k in ("retrieved", "kept"):
        if k in spec.verdict_fields:
            out[k] = [d["doc_id"] for d in r.get(k) or []]
    return json.dumps(out, ensure_ascii=False)


def _stream(spec: JobSpec, st: JobState, runner, records: Iterator[dict], dead: DeadLetter, progress: bool) -> None:
    """Run the pipeline; sort every record into candidates / rejected / failed; write the verdicts."""
    pipeline = spec.build(st.cfg, st.pins)
    bar = tqdm(desc=f"{spec.kind} {st.n}", unit="rec", disable=not progress)
    with (st.run_dir / "verdicts.jsonl").open("w", encoding="utf-8") as vf:
        for batch in runner.stream(pipeline, batched(records, st.cfg.run.batch_size)):
            for r in batch:
                spec.settle(st, r)
                st.counts["records"] += 1
                spec.count(r, st.counts)
                if r["status"] == Status.OK:
                    st.candidates.append(r)
                    continue
                if r["status"] == Status.REJECTED:
                    st.rejected_by[r["failed_check"]] += 1
                    st.rejected.append(r)
                else:
                    st.counts["failed"] += 1
                    keep = {k: r[k] for k in ("query_id", "text", "answers", "timestamp") if k in r}
                    dead.add(st.input_desc, r.get("_seq", -1), r.get("reason", "failed"), record=keep)
                vf.write(_verdict_line(spec, r) + "\n")
            bar.update(len(batch))
            bar.set_postfix(candidates=len(st.candidates), failed=st.counts["failed"])
        bar.close()
        runner.finish(pipeline, st.candidates)
        writes = spec.writes(st.cfg)
        for r in st.candidates:
            if not writes:
                r["status"] = Status.ANSWERED
            st.counts["deduplicated"] += r["status"] == Status.DEDUPLICATED
            vf.write(_verdict_line(spec, r) + "\n")


def _check_failed_share(spec: JobSpec, st: JobState, dead: DeadLetter) -> None:
    total, failed = st.counts["records"], st.counts["failed"]
    limit = st.cfg.run.max_failed_share
    if total and failed / total > limit:
        where = (f"are in {dead.path} (a log `bidirag replay --log` reads back)" if dead.path else
                 "were not written (the caller gave no dead-letter file)")
        msg = (f"{spec.what} {st.n}: {failed} of {total} records failed ({100 * failed / total:.0f}% > "
               f"run.max_failed_share {100 * limit:.0f}%); nothing was committed. The failed records and their "
               f"reasons {where}; fix the cause (often a model endpoint or path) and run again.")
        report = {"status": "failed", "error": msg, "records": total, "failed": failed,
                  "dead_letter": str(dead.path) if dead.path else None, "report_dir": str(st.run_dir)}
        (st.run_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n")
        raise JobFailed(msg, report)


def _commit(spec: JobSpec, store: Store, st: JobState) -> None:
    """One insert-if-absent per target table, each tagged `<kind>-N`; the first is framed by fault points.
    (A job that does not write has marked its candidates ANSWERED in `_stream`; row builders take OK ones.)"""
    for i, target in enumerate(spec.targets):
        rows = target.rows(st)
        if i == 0:
            faults.point("before_commit")
        inserted, version = store.insert_new(target.table, rows)
        if i == 0:
            faults.point("after_commit")
        store.tag(target.table, f"{spec.kind}-{st.n}", version)
        st.versions[target.table] = version
        # counted from the snapshot, so a re-run after a crash between commit and manifest reports the same
        st.written[target.table] = target.count(store, st, version, inserted)


def _finish(spec: JobSpec, store: Store, st: JobState, runner, t0: float) -> dict:
    main = spec.targets[0].table
    report = {"job": spec.kind, "run": st.run_name, "input": st.input_desc, "records": st.counts["records"],
              "dead_lettered": st.counts["dead_lettered"], "failed": st.counts["failed"],
              "deduplicated": st.counts["deduplicated"], "written": st.written[main],
              "tag": f"{spec.kind}-{st.n}", "config_hash": st.cfg.digest(), **spec.report(st),
              "stage_seconds": {k: round(v, 2) for k, v in runner.stats.seconds.items()},
              "stage_errors": dict(runner.stats.errors)}
    report["wall_seconds"] = round(time.perf_counter() - t0, 2)
    report["report_dir"] = str(st.run_dir)
    counts = {k: report[k] for k in ("records", "dead_lettered", "failed", "deduplicated", "written")}
    counts.update(manifest_figures(report))    # every report number: what `promote --require` checks
    others = [t.table for t in spec.targets[1:]]
    store.record_manifest(st.n, st.versions[main], st.pins.get("corpus") or -1,
                          st.versions[others[0]] if others else -1, st.cfg.digest(), st.input_desc,
                          counts, kind=spec.kind)
    (st.run_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    return report
