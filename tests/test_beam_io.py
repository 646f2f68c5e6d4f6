"""The Beam runner off the driver's disk: records and results go through Beam IOs at `run.beam.temp_location`
(here the moto S3 server of tests/conftest.py, with authentication on), stage resources become Beam resource hints,
and the Flink config is a PROCESS environment Beam accepts.

Runs the in-process FnApiRunner (what the DirectRunner falls back to offline) with Beam's S3 file system
(boto3) against moto. Not covered here: a Flink or Dataflow cluster, gs:// (no emulator on the package registries).
"""

import json

import pytest

from bidirag.config import BeamConfig, ConfigError, Resources, load_config
from bidirag.runners import beam as beam_runner
from bidirag.runners.beam import BeamRunner, build_beam_pipeline, resource_hints, s3_pipeline_options
from bidirag.stages.base import Stage
from tests.conftest import BUCKET, ROOT, write_log
from tests.test_conformance import TOPICS, _run

pytest.importorskip("apache_beam")

KEY_ENV, SECRET_ENV = "BIDIRAG_TEST_BEAM_S3_KEY", "BIDIRAG_TEST_BEAM_S3_SECRET"


def _keys(s3, prefix: str) -> list[str]:
    out = s3["client"].list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in out.get("Contents", []))


def _lines(s3, key: str) -> list[dict]:
    body = s3["client"].get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return [json.loads(x) for x in body.splitlines() if x.strip()]


@pytest.mark.parametrize("runner", [None, "DirectRunner"])
def test_beam_with_temp_location_on_s3_writes_what_local_writes(tmp_path, corpus_file, s3, monkeypatch, runner):
    """The default in-process FnApiRunner, and Beam's DirectRunner (which tries Prism first and, offline, falls
    back to the FnApiRunner)."""
    monkeypatch.setenv(KEY_ENV, s3["key"])
    monkeypatch.setenv(SECRET_ENV, s3["secret"])
    local_tmp = tmp_path / "local-tmp"
    local_tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(local_tmp))       # a local spill would land here
    kept, remove = [], beam_runner._remove
    monkeypatch.setattr(beam_runner, "_remove", kept.append)      # keep the temp objects to look at them

    log = write_log(tmp_path / "q.jsonl", [{"query_id": f"q{i}", "text": f"Tell me about the {t}"}
                                           for i, t in enumerate(TOPICS)] + [b"broken line\n"])
    local = _run(tmp_path, corpus_file, log, "local")
    opts = (f"store.storage_options={{aws_endpoint: '{s3['endpoint']}', aws_region: us-east-1, "
            f"aws_access_key_id: '${{{KEY_ENV}}}', aws_secret_access_key: '${{{SECRET_ENV}}}'}}")
    extra = (opts, f"run.beam.temp_location=s3://{BUCKET}/beam-tmp") + (
        (f"run.beam.options=[--runner={runner}]",) if runner else ())
    beam = _run(tmp_path, corpus_file, log, "beam", extra=extra)

    assert local[0], "the fixture must write something for the comparison to mean anything"
    assert beam[0] == local[0] and beam[1] == local[1] and beam[2] == local[2]
    assert beam[3]["dead_lettered"] == 1
    # bidirag spills nothing locally (Beam's own runner may keep caches there, e.g. beam-requirements-cache)
    assert not list(local_tmp.glob("bidirag-beam-*"))

    # the records went in and the results came out through the bucket
    (work,) = kept
    prefix = str(work).split("://", 1)[1].split("/", 1)[1] + "/"
    keys = _keys(s3, prefix)
    assert prefix + "in.jsonl" in keys
    sent = _lines(s3, prefix + "in.jsonl")
    assert [r["_seq"] for r in sent] == list(range(len(TOPICS)))
    outs = [k for k in keys if k.startswith(prefix + "out/") and k.endswith(".jsonl")]
    assert any("/out/ok-" in k for k in outs) and any("/out/dead_letter-" in k for k in outs)
    back = [r for k in outs for r in _lines(s3, k)]
    assert sorted(r["_seq"] for r in back) == list(range(len(TOPICS)))
    assert sum(r["status"] == "rejected" for r in back) == sum(v[1] == "rejected" for v in beam[1])

    remove(work)                    # the real clean-up removes the job's prefix
    assert _keys(s3, prefix) == []


def test_beam_s3_options_are_ones_beam_accepts(monkeypatch):
    from apache_beam.options.pipeline_options import PipelineOptions, S3Options

    monkeypatch.setenv("BEAM_TEST_SECRET", "s3cr3t")
    args = s3_pipeline_options({"aws_endpoint": "127.0.0.1:9000", "allow_http": True, "aws_region": "eu-west-1",
                                "aws_access_key_id": "AK", "aws_secret_access_key": "${BEAM_TEST_SECRET}"},
                               given=["--s3_region_name=us-east-2"])
    o = PipelineOptions(args + ["--s3_region_name=us-east-2"]).view_as(S3Options)
    assert (o.s3_endpoint_url, o.s3_access_key_id, o.s3_secret_access_key) == ("http://127.0.0.1:9000", "AK", "s3cr3t")
    assert o.s3_region_name == "us-east-2"          # an option given explicitly wins
    # credentials not in the storage options are left to boto3 on each worker (env, instance roles)
    assert s3_pipeline_options({"aws_endpoint": "https://s3.example.com"}, given=[]) == [
        "--s3_endpoint_url=https://s3.example.com"]


def test_stage_resources_become_resource_hints():
    cfg = BeamConfig(gpu_type="nvidia-l4", resource_hints={"generate": {"min_ram": "16GB"}})
    assert resource_hints("retrieve", Resources(), cfg) == {}          # 0.5 CPU, no GPU: nothing to ask for
    assert resource_hints("generate", Resources(num_cpus=4, num_gpus=0.5), cfg) == {
        "accelerator": "type:nvidia-l4;count:1;install-nvidia-driver", "cpu_count": "4", "min_ram": "16GB"}
    assert resource_hints("validate", Resources(num_cpus=1.5, num_gpus=2), BeamConfig()) == {
        "accelerator": "type:nvidia-tesla-t4;count:2;install-nvidia-driver", "cpu_count": "2"}


def _stage(stage_name: str, res: Resources | None = None) -> Stage:
    class Named(Stage):
        name = stage_name

        def process_active(self, records):
            pass

    return Named(res)


def _graph(tmp_path, beam_cfg, stages=None):
    import apache_beam as beam

    (tmp_path / "in.jsonl").write_text("{}\n")

    stages = stages or [_stage("retrieve"), _stage("generate", Resources(num_cpus=2, num_gpus=1)),
                        _stage("validate")]
    p = beam.Pipeline()
    build_beam_pipeline(p, stages, str(tmp_path / "in.jsonl"), str(tmp_path / "out"), 1, 4, beam_cfg)
    return p


def test_resource_hints_reach_the_beam_graph(tmp_path):
    proto = _graph(tmp_path, BeamConfig(resource_hints={"validate": {"min_ram": "8GB"}})).to_runner_api()
    hints = {}
    for t in proto.components.transforms.values():
        if t.unique_name.startswith("stage-") and "/" in t.unique_name and t.environment_id:
            hints[t.unique_name.split("/")[0]] = dict(proto.components.environments[t.environment_id].resource_hints)
    assert hints["stage-generate"] == {"beam:resources:accelerator:v1":
                                       b"type:nvidia-tesla-t4;count:1;install-nvidia-driver",
                                       "beam:resources:cpu_count:v1": b"2"}
    assert hints["stage-validate"] == {"beam:resources:min_ram_bytes:v1": b"8000000000"}
    assert hints["stage-retrieve"] == {}


def test_bad_resource_hints_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"names stage\(s\) \['generat'\]"):
        _graph(tmp_path, BeamConfig(resource_hints={"generat": {"min_ram": "8GB"}}))
    with pytest.raises(ConfigError, match="run.beam.resource_hints.generate"):
        _graph(tmp_path, BeamConfig(resource_hints={"generate": {"min_ram": "lots"}}))
    with pytest.raises(ConfigError, match="unknown Beam resource hint"):
        load_config(ROOT / "configs/default.yaml", overrides=["run.beam.resource_hints={generate: {gpus: 1}}"])


def test_a_local_temp_location_is_refused_for_a_remote_runner():
    with pytest.raises(ConfigError, match="run.beam.temp_location"):
        load_config(ROOT / "configs/default.yaml", overrides=[
            "run.runner=beam", "run.beam.options=[--runner=FlinkRunner]"])
    with pytest.raises(ConfigError, match="cannot read the local temp location /tmp/x"):
        BeamRunner(BeamConfig(options=["--runner=DataflowRunner"], temp_location="/tmp/x"))
    assert BeamRunner(BeamConfig(options=["--runner=DirectRunner"])).temp_root() is None   # in-process: local ok
    assert BeamRunner(BeamConfig(options=["--runner=FlinkRunner", "--temp_location=s3://b/t"])).temp_root() \
        == "s3://b/t"


def test_flink_config_is_a_process_environment_beam_accepts():
    from apache_beam.options.pipeline_options import PipelineOptions, PortableOptions
    from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator
    from apache_beam.transforms.environments import ProcessEnvironment

    cfg = load_config(ROOT / "configs/default.yaml", ROOT / "configs/beam-flink.yaml")
    opts = PipelineOptions(cfg.run.beam.options)
    portable = opts.view_as(PortableOptions)
    assert portable.environment_type == "PROCESS"
    assert PipelineOptionsValidator(opts, None).validate_environment_options(portable) == []
    command = json.loads(portable.environment_config)["command"]
    assert command == "/opt/apache/beam/boot"           # Beam's SDK harness boot loader, not `python -m ...`
    env = ProcessEnvironment.from_options(portable)
    assert isinstance(env, ProcessEnvironment) and env.command == command
    # the task managers must reach the records and the store
    assert cfg.run.beam.temp_root().startswith("s3://") and cfg.store.uri.startswith("s3://")
    dataflow = load_config(ROOT / "configs/default.yaml", ROOT / "configs/beam-dataflow.yaml")
    assert dataflow.run.beam.temp_root().startswith("gs://")


def test_a_temp_location_bucket_that_is_missing_fails_before_the_job(tmp_path, corpus_file, s3, monkeypatch, capsys):
    """exit 2, one line naming the bucket, and no run folder or epoch: checked before the job starts."""
    from bidirag.cli import main
    from bidirag.store import Store

    monkeypatch.setenv(KEY_ENV, s3["key"])
    monkeypatch.setenv(SECRET_ENV, s3["secret"])
    log = write_log(tmp_path / "q.jsonl", [{"query_id": "q1", "text": "What is the capital of Poland?"}])
    args = ["--config", str(ROOT / "configs/default.yaml"), "--config", str(ROOT / "configs/test-fakes.yaml"),
            "--set", f"store.uri={tmp_path / 'store'}", "--set", f"run.runs_dir={tmp_path / 'runs'}",
            "--set", "run.runner=beam", "--set", "run.beam.temp_location=s3://no-such-beam-bucket/tmp",
            "--set", (f"store.storage_options={{aws_endpoint: '{s3['endpoint']}', aws_region: us-east-1, "
                      f"aws_access_key_id: '${{{KEY_ENV}}}', aws_secret_access_key: '${{{SECRET_ENV}}}'}}"),
            "--quiet"]
    assert main(["ingest", str(corpus_file), *args]) == 0
    capsys.readouterr()
    before = Store(tmp_path / "store", dim=None).manifests("epoch")
    assert main(["run", "--queries", str(log), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bucket 'no-such-beam-bucket' does not exist" in err, err
    assert Store(tmp_path / "store", dim=None).manifests("epoch") == before
    assert not list((tmp_path / "runs").glob("*/*"))
