"""The deployment files parse and say what they must (no cluster here: structure only)."""

import re

import yaml

from bidirag.config import load_config
from tests.conftest import ROOT

INFRA = ROOT / "infra"


def _docs(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_rayjob_replays_with_gpu_workers():
    (job,) = _docs(INFRA / "k8s/rayjob-nightly.yaml")
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    spec = job["spec"]
    assert "bidirag replay" in spec["entrypoint"] and "production-gpu.yaml" in spec["entrypoint"]
    assert "--since" in spec["entrypoint"] and "--until" in spec["entrypoint"]
    assert spec["shutdownAfterJobFinishes"] is True
    workers = spec["rayClusterSpec"]["workerGroupSpecs"]
    limits = workers[0]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert int(limits["nvidia.com/gpu"]) >= 1
    assert spec["rayClusterSpec"]["rayVersion"] == "2.60.0"


def test_cronjob_submits_the_rayjob_nightly_and_never_overlaps():
    docs = {d["kind"]: d for d in _docs(INFRA / "k8s/nightly-cronjob.yaml")}
    cron = docs["CronJob"]
    assert len(cron["spec"]["schedule"].split()) == 5
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert "rayjob-nightly.yaml" in " ".join(container["command"])
    assert {"create"} <= set(docs["Role"]["rules"][0]["verbs"]) and docs["Role"]["rules"][0]["resources"] == ["rayjobs"]


def test_engine_configs_validate():
    gpu = load_config(ROOT / "configs/default.yaml", ROOT / "configs/production-gpu.yaml")
    assert gpu.run.runner == "ray" and gpu.models.generator.backend == "vllm"
    assert gpu.models.generator.resources.num_gpus == 1 and gpu.models.nli.resources.num_gpus > 0
    for name in ("beam-flink.yaml", "beam-dataflow.yaml"):
        cfg = load_config(ROOT / "configs/default.yaml", ROOT / "configs" / name)
        assert cfg.run.runner == "beam" and any(o.startswith("--runner=") for o in cfg.run.beam.options)
        assert all(o.startswith("--") for o in cfg.run.beam.options)


def test_single_machine_nightly_files():
    timer = (INFRA / "nightly/bidirag-nightly.timer").read_text()
    assert re.search(r"^OnCalendar=.+", timer, re.M) and "Persistent=true" in timer
    service = (INFRA / "nightly/bidirag-nightly.service").read_text()
    assert "ExecStart=/opt/bidirag/infra/nightly/bidirag-nightly.sh" in service
    script = (INFRA / "nightly/bidirag-nightly.sh").read_text()
    assert "bidirag replay" in script and "-d yesterday" in script and "set -euo pipefail" in script
    cron = [ln for ln in (INFRA / "nightly/crontab.example").read_text().splitlines() if ln and ln[0] != "#"]
    assert len(cron[0].split()[:5]) == 5 and "flock" in cron[0]
