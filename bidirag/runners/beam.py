"""Beam runner: one DoFn per stage (DoFn.setup -> stage.setup), BatchElements for batching, and a tagged
`dead_letter` output for rejected/failed records. FnApiRunner by default (works offline); any portable
runner (Flink, Spark, Dataflow) through `run.beam.options`.

Nothing the workers need is on the driver's disk: the driver streams the already-validated log records as
JSONL to the temp location (`run.beam.temp_location`, else the `--temp_location` pipeline option, else a
local temp folder for in-process runners), which may be an object-store URI (s3://, gs://; written through
bidirag.uri). The pipeline reads them with `ReadFromText` and writes its per-record results with
`WriteToText` under the same location (Beam's own file systems; for S3 the endpoint and keys come from
`store.storage_options` as `--s3_*` options). The driver reads the results back through bidirag.uri, puts them
in log order (`_seq`, checked complete and unique) and commits as before, so write-back stays one snapshot
per epoch whatever the runner. Each stage's `resources` become Beam resource hints (`accelerator` for
num_gpus > 0, `cpu_count` for num_cpus >= 1, plus `run.beam.resource_hints`).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from bidirag.config import BeamConfig, ConfigError, Resources
from bidirag.pipeline import Pipeline
from bidirag.runners.common import RunStats, apply_stage, finish_on_driver, number
from bidirag.stages.base import Record, Stage, is_ok
from bidirag.uri import expand_options, is_remote, join, location, s3_endpoint, scheme_of

DEAD = "dead_letter"
logger = logging.getLogger(__name__)


def resource_hints(stage: str, res: Resources, cfg: BeamConfig) -> dict[str, str]:
    """Beam resource hints for one stage: `accelerator` when it asks for GPUs (Dataflow's
    `type:...;count:N;install-nvidia-driver` form), `cpu_count` when it asks for at least one whole CPU, then the
    stage's entry in `run.beam.resource_hints` (e.g. min_ram) over those."""
    hints: dict[str, str] = {}
    if res.num_gpus > 0:
        hints["accelerator"] = f"type:{cfg.gpu_type};count:{math.ceil(res.num_gpus)};install-nvidia-driver"
    if res.num_cpus >= 1:
        hints["cpu_count"] = str(math.ceil(res.num_cpus))
    hints.update({k: str(v) for k, v in cfg.resource_hints.get(stage, {}).items()})
    return hints


def _option(options: list[str], name: str) -> str | None:
    return BeamConfig(options=options).option(name)


def s3_pipeline_options(storage_options: dict | None, given: list[str]) -> list[str]:
    """Beam's S3 file system options (S3Options: --s3_endpoint_url, --s3_region_name, --s3_access_key_id,
    --s3_secret_access_key, --s3_session_token) from `store.storage_options`, for those not already in `given`.
    Credentials are passed only when the storage options name them; otherwise boto3 finds its own (AWS_*
    variables, instance roles) on each worker."""
    opts = expand_options(storage_options)
    out: dict[str, str | None] = {}
    ep = s3_endpoint(opts)
    if ep and "://" not in ep:
        ep = ("http://" if opts.get("allow_http", "").lower() == "true" else "https://") + ep
    out["s3_endpoint_url"] = ep
    out["s3_region_name"] = opts.get("aws_region") or opts.get("region")
    out["s3_access_key_id"] = opts.get("aws_access_key_id") or opts.get("access_key_id")
    out["s3_secret_access_key"] = opts.get("aws_secret_access_key") or opts.get("secret_access_key")
    out["s3_session_token"] = opts.get("aws_session_token") or opts.get("session_token")
    return [f"--{k}={v}" for k, v in out.items() if v and _option(given, k) is None]


def _beam():
    try:
        import apache_beam as beam
    except ImportError as e:
        raise RuntimeError("the beam runner needs Apache Beam: pip install apache-beam==2.77.0") from e
    return beam


def build_beam_pipeline(p, stages: list[Stage], source: str, out_dir: str, min_batch: int, max_batch: int,
                        cfg: BeamConfig | None = None):
    """Pure construction of the Beam graph on pipeline `p`: reads `source` (JSONL), writes `out_dir`/ok-*.jsonl
    and `out_dir`/dead_letter-*.jsonl (local paths or URIs Beam's file systems know)."""
    cfg = cfg or BeamConfig()
    beam = _beam()
    from apache_beam.metrics import Metrics

    class StageDoFn(beam.DoFn):
        def __init__(self, stage: Stage) -> None:
            self.stage = stage
            self.seconds = Metrics.counter("bidirag", f"{stage.name}.ms")
            self.errors = Metrics.counter("bidirag", f"{stage.name}.errors")

        def setup(self) -> None:
            self.stage.setup()

        def teardown(self) -> None:
            self.stage.teardown()

        def process(self, batch):
            stats = RunStats()
            out = apply_stage(self.stage, list(batch), stats)
            self.seconds.inc(int(stats.seconds[self.stage.name] * 1000))
            self.errors.inc(int(stats.errors.get(f"{self.stage.name}.errors", 0)))
            ok = [r for r in out if is_ok(r)]
            for r in out:
                if not is_ok(r):
                    yield beam.pvalue.TaggedOutput(DEAD, r)
            if ok:
                yield ok

    unknown = sorted(set(cfg.resource_hints) - {st.name for st in stages})
    if unknown:
        raise ConfigError(f"run.beam.resource_hints names stage(s) {unknown} that this pipeline does not have; "
                          f"use {[st.name for st in stages]}")
    recs = (p | "read" >> beam.io.ReadFromText(source) | "parse" >> beam.Map(json.loads)
            | "batch" >> beam.BatchElements(min_batch_size=min_batch, max_batch_size=max_batch))
    dead = []
    for st in stages:
        do = beam.ParDo(StageDoFn(st))
        hints = resource_hints(st.name, st.resources, cfg)
        if hints:
            try:
                do = do.with_resource_hints(**hints)
            except ValueError as e:
                raise ConfigError(f"run.beam.resource_hints.{st.name}: {e} (e.g. min_ram: 16GB, cpu_count: '4')") \
                    from None
        res = recs | f"stage-{st.name}" >> do.with_outputs(DEAD, main="ok")
        recs = res.ok
        dead.append(res[DEAD])
    ok = recs | "unbatch" >> beam.FlatMap(lambda b: b)
    (ok | "ok-json" >> beam.Map(json.dumps)
        | "write-ok" >> beam.io.WriteToText(f"{out_dir}/ok", file_name_suffix=".jsonl"))
    if dead:
        (tuple(dead) | "flatten-dead" >> beam.Flatten()
         | "dead-json" >> beam.Map(json.dumps)
         | "write-dead" >> beam.io.WriteToText(f"{out_dir}/{DEAD}", file_name_suffix=".jsonl"))
    return p


class BeamRunner:
    def __init__(self, cfg: BeamConfig | None = None, batch_size: int = 32,
                 storage_options: dict | None = None) -> None:
        self.cfg = cfg or BeamConfig()
        self.batch_size = batch_size
        self.storage_options = storage_options or {}
        self.stats = RunStats()
        self.temp_root()            # a temp location the workers cannot see fails before the job starts

    def temp_root(self) -> str | None:
        """The temp location (None = a local temp folder); a ConfigError when the workers could not see it."""
        try:
            return self.cfg.temp_root()
        except ValueError as e:
            raise ConfigError(str(e)) from None

    def _pipeline(self, remote_scheme: str | None):
        beam = _beam()
        from apache_beam.options.pipeline_options import PipelineOptions

        args = list(self.cfg.options)
        if remote_scheme in ("s3", "s3a"):
            args += s3_pipeline_options(self.storage_options, args)
        opts = PipelineOptions(args)
        if _option(args, "runner") is not None:
            return beam.Pipeline(options=opts)
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return beam.Pipeline(runner=FnApiRunner(), options=opts)

    def stream(self, pipeline: Pipeline, batches: Iterable[list[Record]]) -> Iterator[list[Record]]:
        pipeline.check_contract()
        root = self.temp_root()
        if root is None:
            work_uri = tempfile.mkdtemp(prefix="bidirag-beam-")
        else:
            work_uri = join(root, f"bidirag-beam-{uuid.uuid4().hex}")
        work = location(work_uri, self.storage_options)
        try:
            source = work / "in.jsonl"
            if not is_remote(work_uri):
                Path(work_uri).mkdir(parents=True, exist_ok=True)
            seq = 0
            with source.open("w", encoding="utf-8") as f:
                for batch in batches:
                    number(batch, seq)
                    seq += len(batch)
                    for r in batch:
                        f.write(json.dumps(r) + "\n")
            if seq == 0:
                return
            p = self._pipeline(scheme_of(work_uri) if is_remote(work_uri) else None)
            build_beam_pipeline(p, pipeline.stages, str(source), str(work / "out"),
                                self.cfg.min_batch_size, self.batch_size, self.cfg)
            result = p.run()
            result.wait_until_finish()
            self._collect_metrics(result)
            out = []
            for part in sorted((work / "out").glob("*.jsonl"), key=str):
                with part.open("r", encoding="utf-8") as f:
                    out += [json.loads(line) for line in f if line.strip()]
            out.sort(key=lambda r: r["_seq"])
            if [r["_seq"] for r in out] != list(range(seq)):
                raise RuntimeError(f"beam pipeline returned {len(out)} records for {seq} inputs "
                                   "(missing or repeated sequence numbers)")
            for s in range(0, len(out), self.batch_size):
                yield out[s:s + self.batch_size]
        finally:
            _remove(work)

    def _collect_metrics(self, result) -> None:
        try:
            for c in result.metrics().query()["counters"]:
                name = c.key.metric.name
                if name.endswith(".ms"):
                    self.stats.seconds[name[:-3]] += c.committed / 1000
                elif name.endswith(".errors"):
                    self.stats.errors[name] += c.committed
        except Exception:  # noqa: BLE001 - metrics are informative only
            pass

    def finish(self, pipeline: Pipeline, records: list[Record]) -> list[Record]:
        return finish_on_driver(pipeline, records, self.stats)


def _remove(work) -> None:
    """Delete the job's temp folder (local) or prefix (object store); best effort."""
    if isinstance(work, Path):
        shutil.rmtree(work, ignore_errors=True)
        return
    try:
        work.fs.delete_dir(str(work).split("://", 1)[1])
    except Exception as e:  # noqa: BLE001 - leftover temp objects are harmless; a bucket lifecycle rule clears them
        logger.warning("could not remove the Beam temp folder %s: %s", work, e)
