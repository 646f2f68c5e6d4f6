"""Beam runner: one DoFn per stage (DoFn.setup -> stage.setup), BatchElements for batching, and a tagged
`dead_letter` output for rejected/failed records. FnApiRunner by default (works offline); any portable
runner (Flink, Spark, Dataflow) through `run.beam.options`.

The driver spills the already-validated log records to a JSONL file (streaming, constant memory), the
pipeline reads it, and its outputs are read back in log order for the epoch's commit, so write-back
stays one snapshot per epoch whatever the runner.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from bidirag.config import BeamConfig
from bidirag.pipeline import Pipeline
from bidirag.runners.common import RunStats, apply_stage, finish_on_driver, number
from bidirag.stages.base import Record, Stage, is_ok

DEAD = "dead_letter"


def _beam():
    try:
        import apache_beam as beam
    except ImportError as e:
        raise RuntimeError("the beam runner needs Apache Beam: pip install apache-beam==2.77.0") from e
    return beam


def build_beam_pipeline(p, stages: list[Stage], source: str, out_dir: str, min_batch: int, max_batch: int):
    """Pure construction of the Beam graph on pipeline `p` (no I/O until it runs)."""
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

    recs = (p | "read" >> beam.io.ReadFromText(source) | "parse" >> beam.Map(json.loads)
            | "batch" >> beam.BatchElements(min_batch_size=min_batch, max_batch_size=max_batch))
    dead = []
    for st in stages:
        res = recs | f"stage-{st.name}" >> beam.ParDo(StageDoFn(st)).with_outputs(DEAD, main="ok")
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
    def __init__(self, cfg: BeamConfig | None = None, batch_size: int = 32) -> None:
        self.cfg = cfg or BeamConfig()
        self.batch_size = batch_size
        self.stats = RunStats()

    def _pipeline(self):
        beam = _beam()
        from apache_beam.options.pipeline_options import PipelineOptions

        opts = PipelineOptions(self.cfg.options)
        if any(o.startswith("--runner") for o in self.cfg.options):
            return beam.Pipeline(options=opts)
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return beam.Pipeline(runner=FnApiRunner(), options=opts)

    def stream(self, pipeline: Pipeline, batches: Iterable[list[Record]]) -> Iterator[list[Record]]:
        pipeline.check_contract()
        work = Path(tempfile.mkdtemp(prefix="bidirag-beam-"))
        try:
            source = work / "in.jsonl"
            seq = 0
            with source.open("w", encoding="utf-8") as f:
                for batch in batches:
                    number(batch, seq)
                    seq += len(batch)
                    for r in batch:
                        f.write(json.dumps(r) + "\n")
            if seq == 0:
                return
            p = self._pipeline()
            build_beam_pipeline(p, pipeline.stages, str(source), str(work / "out"),
                                self.cfg.min_batch_size, self.batch_size)
            result = p.run()
            result.wait_until_finish()
            self._collect_metrics(result)
            out = []
            for part in sorted((work / "out").glob("*.jsonl")):
                with part.open(encoding="utf-8") as f:
                    out += [json.loads(line) for line in f if line.strip()]
            out.sort(key=lambda r: r["_seq"])
            if len(out) != seq:
                raise RuntimeError(f"beam pipeline returned {len(out)} records for {seq} inputs")
            for s in range(0, len(out), self.batch_size):
                yield out[s:s + self.batch_size]
        finally:
            shutil.rmtree(work, ignore_errors=True)

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
